"""Meshes, partition specs, sharded arrays, jit with shardings, eager ops on sharded arrays,
with_sharding_constraint (8 CPU devices, set by conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.sharding import Mesh, NamedSharding, P, SingleDeviceSharding

pytestmark = pytest.mark.skipif(ec.device_count() < 8, reason="needs 8 devices (EMBER_NUM_CPU_DEVICES=8)")

X = np.arange(32, dtype=np.float32).reshape(8, 4)


@pytest.fixture(scope="module")
def mesh():
    return ec.make_mesh((4, 2), ("data", "model"))


def test_mesh_and_specs(mesh):
    assert mesh.shape == {"data": 4, "model": 2} and mesh.size == 8
    assert mesh.device_ids.tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    with pytest.raises(ValueError, match="needs 3 devices, got 8"):
        ec.make_mesh((3,), ("x",))
    with pytest.raises(ValueError, match="names axis 'batch', which is not an axis"):
        NamedSharding(mesh, P("batch"))
    with pytest.raises(ValueError, match="uses mesh axis 'data' more than once"):
        NamedSharding(mesh, P("data", "data"))
    with pytest.raises(TypeError, match="PartitionSpec entries must be"):
        P(1)


def test_devices_indices_map_and_shard_shape(mesh):
    s = NamedSharding(mesh, P("data", "model"))
    index_map = s.devices_indices_map((8, 4))
    assert index_map[ec.devices()[3]] == (slice(2, 4), slice(2, 4))
    assert s.shard_shape((8, 4)) == (2, 2)
    r = NamedSharding(mesh, P(None, "model"))
    assert r.shard_shape((8, 4)) == (8, 2) and not r.is_fully_replicated
    assert NamedSharding(mesh, P()).is_fully_replicated
    with pytest.raises(ValueError, match="dimension 0 of size 6 is not divisible by the 4 shards"):
        s.devices_indices_map((6, 4))


def test_device_put_shards_and_reads_back(mesh):
    s = NamedSharding(mesh, P("data", "model"))
    x = ec.device_put(X, s)
    assert x.sharding == s and len(x.addressable_shards) == 8 and not x.is_fully_replicated
    np.testing.assert_array_equal(np.asarray(x), X)
    shard = x.addressable_shards[3]
    np.testing.assert_array_equal(np.asarray(shard.data), X[shard.index])
    assert shard.data.shape == (2, 2)
    # resharding an existing array
    y = ec.device_put(x, NamedSharding(mesh, P(None, "model")))
    np.testing.assert_array_equal(np.asarray(y), X)
    assert y.addressable_shards[0].data.shape == (8, 2)


def test_eager_ops_on_sharded_arrays_follow_propagation(mesh):
    x = ec.device_put(X, NamedSharding(mesh, P("data")))
    y = x * 2 + 1
    np.testing.assert_array_equal(np.asarray(y), X * 2 + 1)
    assert y.sharding.num_devices == 8
    np.testing.assert_array_equal(np.asarray(jnp.sum(x, axis=0)), X.sum(0))


def test_jit_with_in_and_out_shardings(mesh):
    rows, cols = NamedSharding(mesh, P("data", None)), NamedSharding(mesh, P(None, "model"))
    w = np.ones((4, 6), np.float32)
    f = ec.jit(lambda a, b: a @ b, in_shardings=(rows, cols), out_shardings=NamedSharding(mesh, P("data", "model")))
    out = f(X, w)
    assert out.sharding == NamedSharding(mesh, P("data", "model"))
    np.testing.assert_allclose(np.asarray(out), X @ w)
    g = ec.jit(lambda a: a.sum(0), out_shardings=NamedSharding(mesh, P()))
    r = g(ec.device_put(X, rows))
    assert r.is_fully_replicated
    np.testing.assert_allclose(np.asarray(r), X.sum(0))


def test_grad_of_sharded_program(mesh):
    x = ec.device_put(X, NamedSharding(mesh, P("data")))
    g = ec.jit(ec.grad(lambda a: jnp.sum(a * a)))(x)
    np.testing.assert_allclose(np.asarray(g), 2 * X)


def test_with_sharding_constraint(mesh):
    f = ec.jit(lambda a: lax.with_sharding_constraint(a * 2, NamedSharding(mesh, P("model", None))))
    out = f(X)
    np.testing.assert_array_equal(np.asarray(out), 2 * X)
    assert out.addressable_shards[0].data.shape == (4, 4)
    with mesh:
        out2 = ec.jit(lambda a: lax.with_sharding_constraint(a, P("data")))(X)
    assert out2.addressable_shards[0].data.shape == (2, 4)
    g = ec.grad(lambda a: jnp.sum(lax.with_sharding_constraint(a * a, NamedSharding(mesh, P("data")))))(X)
    np.testing.assert_allclose(np.asarray(g), 2 * X)


def test_incompatible_devices_are_rejected(mesh):
    other = Mesh(np.array(ec.devices()[::-1], dtype=object).reshape(4, 2), ("data", "model"))
    a = ec.device_put(X, NamedSharding(mesh, P("data")))
    b = ec.device_put(X, NamedSharding(other, P("data")))
    with pytest.raises(ValueError, match="incompatible devices"):
        ec.jit(lambda u, v: u + v)(a, b)


def test_single_device_placement_and_committed_arrays():
    d3 = ec.devices()[3]
    x = ec.device_put(np.float32([1, 2]), d3)
    assert x.sharding == SingleDeviceSharding(d3) and x.committed
    assert (x + 1).device == d3 and ec.jit(lambda v: v * 2)(x).device == d3


def test_donation_of_sharded_arrays(mesh):
    s = NamedSharding(mesh, P("data"))
    x = ec.device_put(X, s)
    f = ec.jit(lambda a: a + 1, in_shardings=s, out_shardings=s, donate_argnums=0)
    y = f(x)
    np.testing.assert_array_equal(np.asarray(y), X + 1)
    assert x.is_deleted()


def test_make_array_from_callback_and_single_device_arrays(mesh):
    s = NamedSharding(mesh, P("data", "model"))
    x = ec.make_array_from_callback((8, 4), s, lambda index: X[index])
    np.testing.assert_array_equal(np.asarray(x), X)
    pieces = [ec.device_put(X[s.devices_indices_map((8, 4))[d]], d) for d in mesh.devices.flat]
    y = ec.make_array_from_single_device_arrays((8, 4), s, pieces)
    np.testing.assert_array_equal(np.asarray(y), X)
    z = ec.make_array_from_process_local_data(NamedSharding(mesh, P("data")), X)
    np.testing.assert_array_equal(np.asarray(z), X)


@pytest.mark.parametrize("lhs_spec,rhs_spec", [
    (P("data", None), P(None, None)),      # rows of lhs
    (P(None, "model"), P("model", None)),  # the contracted dimension: XLA inserts a reduction
    (P(None, None), P(None, "model")),     # columns of rhs
    (P("data", "model"), P("model", None)),  # both axes at once
])
def test_matmul_sharded_along_each_axis(mesh, lhs_spec, rhs_spec):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(8, 6)).astype(np.float32)
    b = rng.normal(size=(6, 4)).astype(np.float32)
    f = ec.jit(lambda u, v: u @ v, in_shardings=(NamedSharding(mesh, lhs_spec), NamedSharding(mesh, rhs_spec)))
    np.testing.assert_allclose(np.asarray(f(a, b)), a @ b, rtol=1e-5, atol=1e-5)


def _mlp_problem():
    rng = np.random.default_rng(1)
    params = {"w1": rng.normal(0, 0.5, (4, 16)).astype(np.float32), "b1": np.zeros(16, np.float32),
              "w2": rng.normal(0, 0.5, (16, 2)).astype(np.float32), "b2": np.zeros(2, np.float32)}
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)

    def loss(p, x, y):
        h = jnp.tanh(x @ p["w1"] + p["b1"])
        return jnp.mean((h @ p["w2"] + p["b2"] - y) ** 2)

    def step(p, x, y):
        g = ec.grad(loss)(p, x, y)
        return ec.tree.map(lambda a, b: a - 0.1 * b, p, g)

    return params, x, y, step


def test_mlp_step_data_parallel_and_tensor_parallel_match_unsharded(mesh):
    params, x, y, step = _mlp_problem()
    expected = ec.jit(step)(params, x, y)
    replicated = NamedSharding(mesh, P())
    # data parallel: the batch split over all 8 devices, parameters replicated
    flat = ec.make_mesh((8,), ("batch",))
    dp = ec.jit(step, in_shardings=(NamedSharding(flat, P()), NamedSharding(flat, P("batch")),
                                    NamedSharding(flat, P("batch"))), out_shardings=NamedSharding(flat, P()))
    got = dp(params, x, y)
    for k in params:
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(expected[k]), rtol=1e-5, atol=1e-6)
    # Megatron-style tensor parallel: w1 split by columns, w2 by rows over "model"; batch over "data"
    tp_params = {"w1": NamedSharding(mesh, P(None, "model")), "b1": NamedSharding(mesh, P("model")),
                 "w2": NamedSharding(mesh, P("model", None)), "b2": replicated}
    tp = ec.jit(step, in_shardings=(tp_params, NamedSharding(mesh, P("data")), NamedSharding(mesh, P("data"))),
                out_shardings=tp_params)
    got = tp(params, x, y)
    assert got["w1"].sharding == tp_params["w1"] and got["w2"].addressable_shards[0].data.shape == (8, 2)
    for k in params:
        np.testing.assert_allclose(np.asarray(got[k]), np.asarray(expected[k]), rtol=1e-5, atol=1e-6)


def test_visualize_array_sharding(mesh, capsys):
    x = ec.device_put(np.ones((8, 8), np.float32), NamedSharding(mesh, P("data", "model")))
    table = ec.debug.visualize_array_sharding(x)
    assert table.count("dev ") == 8 and "dev 7" in table
    assert "dev 0-7" in ec.debug.visualize_array_sharding(ec.device_put(np.ones(4, np.float32), NamedSharding(mesh, P())))
    assert capsys.readouterr().out.count("+") > 4


def test_repeated_spmd_calls_with_consts_unused_and_single_device_arguments(mesh):
    # the C++ dispatcher's cache-hit path: arguments that must be resharded go through the
    # fallback, consts and pruned arguments are counted right (a regression: it passed too few)
    rep = NamedSharding(mesh, P())
    w = ec.device_put(np.ones((4, 4), np.float32), rep)
    unused = ec.device_put(np.ones(3, np.float32), rep)
    c = jnp.arange(4.0)
    f = ec.jit(lambda w, u, x: (x @ w) * c)
    x = jnp.ones((1, 4))
    for _ in range(3):
        np.testing.assert_allclose(np.asarray(f(w, unused, x)), [[0.0, 4.0, 8.0, 12.0]])


@pytest.mark.parametrize("limit", [0, 1 << 20])
def test_spmd_programs_with_embedded_and_argument_consts(mesh, limit):
    """Closed-over arrays passed as replicated arguments (limit 0) or written into the SPMD
    program (the default) give the same numbers, on the first call and on C++ cache hits."""
    x_sharded = ec.device_put(X, NamedSharding(mesh, P("data", None)))
    c, m = jnp.arange(4.0), jnp.asarray(np.eye(4, dtype=np.float32) * 2)
    saved = ec.config.read("embedded_constants_max_bytes")
    try:
        ec.config.update("embedded_constants_max_bytes", limit)
        f = ec.jit(lambda x: (x @ m) * c)
        for _ in range(3):
            np.testing.assert_allclose(np.asarray(f(x_sharded)), (X @ (np.eye(4) * 2)) * np.arange(4.0))
    finally:
        ec.config.update("embedded_constants_max_bytes", saved)


def test_is_fully_replicated_is_a_property_and_is_equivalent_to(mesh):
    replicated, rows = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
    assert replicated.is_fully_replicated is True and rows.is_fully_replicated is False
    assert SingleDeviceSharding(ec.devices()[0]).is_fully_replicated is True
    assert rows.is_equivalent_to(NamedSharding(mesh, P("data", None)), 2)
    assert not rows.is_equivalent_to(NamedSharding(mesh, P("model")), 2)
    assert not rows.is_equivalent_to(replicated, 2)
    one = ec.make_mesh((1,), ("x",), devices=ec.devices()[:1])
    assert NamedSharding(one, P("x")).is_equivalent_to(SingleDeviceSharding(ec.devices()[0]), 1)
    assert not replicated.is_equivalent_to(SingleDeviceSharding(ec.devices()[0]), 1)  # other devices
    with pytest.raises(TypeError, match="other must be a Sharding"):
        rows.is_equivalent_to(P("data"), 2)


@pytest.mark.parametrize("spec", [P("data", "model"), P(("data", "model")), P(("model", "data")), P(None, "data"),
                                  P("model", "data"), P()])
def test_propagated_output_shardings_are_named_over_the_programs_mesh(mesh, spec):
    want = NamedSharding(mesh, spec)
    y = ec.jit(lambda x: lax.with_sharding_constraint(x * 2, want) + 1)(jnp.asarray(X))
    assert isinstance(y.sharding, NamedSharding) and y.sharding == want, y.sharding
    assert y.sharding.is_equivalent_to(want, 2)
    np.testing.assert_array_equal(np.asarray(y), X * 2 + 1)


def test_propagated_output_sharding_from_the_inputs_mesh(mesh):
    x = ec.device_put(X, NamedSharding(mesh, P("data", "model")))
    total = ec.jit(lambda a: a.sum(0))(x)  # XLA keeps the "model" split of the surviving dimension
    assert isinstance(total.sharding, NamedSharding) and total.sharding.mesh == mesh
    index_map = total.sharding.devices_indices_map((4,))
    for shard in total.addressable_shards:  # the named layout describes where the data really is
        assert shard.index == index_map[shard.device]
        np.testing.assert_array_equal(np.asarray(shard.data), X.sum(0)[shard.index])
    np.testing.assert_array_equal(np.asarray(total), X.sum(0))
