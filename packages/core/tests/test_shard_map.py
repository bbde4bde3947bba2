"""shard_map: per-device programs with collectives over mesh axes; grads, vmap, pmap."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.sharding import P

pytestmark = pytest.mark.skipif(ec.device_count() < 8, reason="needs 8 devices (EMBER_NUM_CPU_DEVICES=8)")

X = np.arange(32, dtype=np.float32).reshape(8, 4)


@pytest.fixture(scope="module")
def mesh():
    return ec.make_mesh((4, 2), ("data", "model"))


def test_psum_and_axis_index(mesh):
    def body(s):
        return lax.psum(s, "data") + lax.convert_element_type(lax.axis_index("model"), np.float32)

    f = ec.shard_map(body, mesh=mesh, in_specs=P("data", "model"), out_specs=P(None, "model"))
    expected = X.reshape(4, 2, 4).sum(0) + np.repeat([0.0, 1.0], 2)[None, :]
    np.testing.assert_allclose(np.asarray(f(X)), expected)
    np.testing.assert_allclose(np.asarray(ec.jit(f)(X)), expected)


def test_gather_scatter_permute_all_to_all(mesh):
    gather = ec.shard_map(lambda s: lax.all_gather(s, "data", tiled=True), mesh=mesh, in_specs=P("data"), out_specs=P())
    np.testing.assert_array_equal(np.asarray(gather(X)), X)
    stacked = ec.shard_map(lambda s: lax.all_gather(s, "data"), mesh=mesh, in_specs=P("data"), out_specs=P())
    assert stacked(X).shape == (4, 2, 4)
    scatter = ec.shard_map(lambda s: lax.psum_scatter(s, "data", tiled=True), mesh=mesh, in_specs=P(), out_specs=P("data"))
    np.testing.assert_allclose(np.asarray(scatter(X)), 4 * X)
    shift = ec.shard_map(lambda s: lax.ppermute(s, "data", [(i, (i + 1) % 4) for i in range(4)]), mesh=mesh,
                         in_specs=P("data"), out_specs=P("data"))
    np.testing.assert_array_equal(np.asarray(shift(X)), np.roll(X, 2, axis=0))
    a2a = ec.shard_map(lambda s: lax.all_to_all(s, "data", 1, 0, tiled=True), mesh=mesh, in_specs=P("data"),
                       out_specs=P("data"))
    out = np.asarray(a2a(np.arange(64, dtype=np.float32).reshape(8, 8)))
    assert out.shape == (32, 2)


def test_gradients_through_shard_map(mesh):
    def loss(w):
        return jnp.sum(ec.shard_map(lambda s: lax.psum(s * s, "data"), mesh=mesh, in_specs=P("data"), out_specs=P())(w))

    np.testing.assert_allclose(np.asarray(ec.grad(loss)(X)), 2 * X)
    np.testing.assert_allclose(np.asarray(ec.jit(ec.grad(loss))(X)), 2 * X)

    def replicated_input(c):  # a P() input: its gradient is summed over the devices
        f = ec.shard_map(lambda xs, cs: (jnp.sum(xs) * cs)[None], mesh=mesh, in_specs=(P("data"), P()),
                         out_specs=P("data"))
        return jnp.sum(f(X, c))

    g = ec.grad(replicated_input)(np.float32(1.0))
    assert abs(float(g) - X.sum()) < 1e-3


def test_data_parallel_training_step_matches_single_device(mesh):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 1)).astype(np.float32)
    y = rng.normal(size=(8, 1)).astype(np.float32)

    def local_loss(w, xs, ys):
        return jnp.sum((xs @ w - ys) ** 2) / 8

    def step(w, xs, ys):
        g = ec.grad(local_loss)(w, xs, ys)
        return w - 0.1 * lax.psum(g, "data")

    sharded = ec.jit(ec.shard_map(step, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=P()))
    reference = w - 0.1 * ec.grad(local_loss)(w, X, y)
    np.testing.assert_allclose(np.asarray(sharded(w, X, y)), np.asarray(reference), rtol=1e-5)


def test_vmap_of_shard_map(mesh):
    f = ec.shard_map(lambda s: lax.psum(s, "data"), mesh=mesh, in_specs=P("data"), out_specs=P())
    batch = np.stack([X, 2 * X])
    out = ec.vmap(f)(batch)
    np.testing.assert_allclose(np.asarray(out)[1], 2 * X.reshape(4, 2, 4).sum(0))


def test_pmap():
    pm = ec.pmap(lambda v: v * 2 + lax.psum(v, "i"), axis_name="i", devices=ec.devices()[:4])
    np.testing.assert_array_equal(np.asarray(pm(np.arange(4, dtype=np.float32))), [6, 8, 10, 12])


def test_errors(mesh):
    with pytest.raises(ValueError, match="dimension 0 \\(size 6\\) is not divisible by the 4 shards"):
        ec.shard_map(lambda s: s, mesh=mesh, in_specs=P("data"), out_specs=P("data"))(np.ones((6, 2), np.float32))
    with pytest.raises(NameError, match="axis 'nope' is not an axis of the shard_map mesh"):
        ec.shard_map(lambda s: lax.psum(s, "nope"), mesh=mesh, in_specs=P("data"), out_specs=P())(X)
