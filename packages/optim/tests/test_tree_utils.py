"""Tree utilities and state lookups."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.core.random as random
import ember.optim as eo

T = eo.tree_utils
A = {"x": jnp.asarray([3.0, -4.0]), "y": [jnp.asarray([[1.0, 2.0]])]}
B = {"x": jnp.asarray([1.0, 1.0]), "y": [jnp.asarray([[0.5, -1.0]])]}


def _np(tree):
    return {"x": np.asarray(tree["x"]), "y": np.asarray(tree["y"][0])}


def test_tree_math():
    assert float(T.tree_l2_norm(A)) == pytest.approx(np.sqrt(30.0))
    assert float(T.tree_norm(A, squared=True)) == pytest.approx(30.0)
    assert float(T.tree_norm(A, ord=1)) == pytest.approx(10.0)
    assert float(T.tree_norm(A, ord="inf")) == pytest.approx(4.0)
    assert float(eo.global_norm(A)) == pytest.approx(np.sqrt(30.0))
    assert float(T.tree_vdot(A, B)) == pytest.approx(3 - 4 + 0.5 - 2)
    assert float(T.tree_sum(A)) == pytest.approx(2.0)
    assert float(T.tree_max(A)) == 3.0 and float(T.tree_min(A)) == -4.0
    assert T.tree_size(A) == 4
    np.testing.assert_allclose(_np(T.tree_add(A, B, A))["x"], [7.0, -7.0])
    np.testing.assert_allclose(_np(T.tree_sub(A, B))["y"], [[0.5, 3.0]])
    np.testing.assert_allclose(_np(T.tree_mul(A, B))["x"], [3.0, -4.0])
    np.testing.assert_allclose(_np(T.tree_div(A, B))["y"], [[2.0, -2.0]])
    np.testing.assert_allclose(_np(T.tree_scalar_mul(2.0, A))["x"], [6.0, -8.0])
    np.testing.assert_allclose(_np(T.tree_add_scale(A, 0.5, B))["x"], [3.5, -3.5])
    np.testing.assert_allclose(_np(T.tree_clip(A, -1.0, 1.0))["x"], [1.0, -1.0])
    np.testing.assert_allclose(_np(T.tree_where(True, A, B))["x"], [3.0, -4.0])
    assert T.tree_zeros_like(A)["y"][0].tolist() == [[0.0, 0.0]]
    assert T.tree_ones_like(A, dtype=jnp.int32)["x"].dtype == jnp.int32
    assert T.tree_full_like(A, 7.0)["x"].tolist() == [7.0, 7.0]
    assert bool(T.tree_allclose(A, A)) and not bool(T.tree_allclose(A, B))
    assert T.tree_batch_shape(A, (3,))["x"].shape == (3, 2)


def test_moments_and_bias_correction():
    m = T.tree_update_moment(A, B, 0.9, 1)
    np.testing.assert_allclose(_np(m)["x"], 0.1 * np.asarray([3.0, -4.0]) + 0.9, rtol=1e-6)
    v = T.tree_update_moment_per_elem_norm(A, B, 0.9, 2)
    np.testing.assert_allclose(_np(v)["x"], 0.1 * np.asarray([9.0, 16.0]) + 0.9, rtol=1e-6)
    u = T.tree_update_infinity_moment(A, B, 0.5, 0.0)
    np.testing.assert_allclose(_np(u)["x"], [3.0, 4.0])
    c = T.tree_bias_correction(A, 0.5, jnp.asarray(1))
    np.testing.assert_allclose(_np(c)["x"], [6.0, -8.0])


def test_casting_and_dtypes():
    mixed = {"a": jnp.ones(2, jnp.bfloat16), "b": jnp.ones(2, jnp.float32)}
    assert T.tree_dtype(mixed, "highest") == jnp.float32
    assert T.tree_dtype(mixed, "lowest") == jnp.bfloat16
    with pytest.raises(ValueError, match=r"\['b'\]: float32"):
        T.tree_dtype(mixed)
    assert T.tree_cast(mixed, jnp.float32)["a"].dtype == jnp.float32
    assert T.tree_cast_like(mixed, {"a": jnp.ones(2), "b": jnp.ones(2, jnp.bfloat16)})["b"].dtype == jnp.bfloat16


def test_random_trees():
    key = random.PRNGKey(0)
    r = T.tree_random_like(key, A)
    assert r["x"].shape == (2,) and r["y"][0].shape == (1, 2)
    np.testing.assert_array_equal(np.asarray(T.tree_random_like(key, A)["x"]), np.asarray(r["x"]))
    keys = T.tree_split_key_like(key, A)
    assert not np.array_equal(np.asarray(keys["x"]), np.asarray(keys["y"][0]))


def test_tree_get_set_and_map_params():
    opt = eo.inject_hyperparams(eo.adam)(learning_rate=0.1)
    state = opt.init({"w": jnp.zeros(3)})
    assert float(T.tree_get(state, "learning_rate")) == pytest.approx(0.1)
    assert T.tree_get(state, "missing", default="none") == "none"
    assert int(T.tree_get(state, "ScaleByAdamState").count) == 0
    with pytest.raises(KeyError, match="several"):
        T.tree_get(state, "count")
    paths = [p for p, _ in T.tree_get_all_with_path(state, "count")]
    assert len(paths) == 2
    new = T.tree_set(state, learning_rate=jnp.asarray(0.5))
    assert float(T.tree_get(new, "learning_rate")) == 0.5
    with pytest.raises(KeyError, match="no value"):
        T.tree_set(state, missing=1.0)
    adam = eo.adam(0.1)
    s = adam.init({"w": jnp.ones(2)})
    doubled = eo.tree_map_params(adam, lambda x: x + 1.0, s, transform_non_params=lambda x: x)
    assert doubled[0].mu["w"].tolist() == [1.0, 1.0] and int(doubled[0].count) == 0


def test_numerics():
    assert float(eo.safe_norm(jnp.zeros(3), 0.5)) == 0.5
    assert float(eo.safe_norm(jnp.asarray([3.0, 4.0]), 0.5)) == pytest.approx(5.0)
    assert float(eo.safe_root_mean_squares(jnp.zeros(3), 0.25)) == 0.25
    assert int(eo.safe_increment(jnp.asarray(np.iinfo(np.int32).max, jnp.int32))) == np.iinfo(np.int32).max
    ev, vec = eo.power_iteration(jnp.asarray([[2.0, 0.0], [0.0, 5.0]]))
    assert float(ev) == pytest.approx(5.0, rel=1e-4)
    assert abs(float(vec[1])) == pytest.approx(1.0, rel=1e-3)
