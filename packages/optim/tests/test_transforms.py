"""Single transforms: clipping, constraints, moments and scalings, against their formulas."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo

U = {"w": np.asarray([[3.0, -4.0], [0.5, 1.0]], np.float32), "b": np.asarray([1.0, np.nan, -2.0], np.float32)}
P = {"w": np.asarray([[1.0, 2.0], [-1.0, 0.5]], np.float32), "b": np.asarray([0.5, 1.0, 0.1], np.float32)}


def _clean(tree):
    return {k: np.nan_to_num(v) for k, v in tree.items()}


def _apply(tx, updates, params=None, steps=1):
    state = tx.init(params if params is not None else updates)
    for _ in range(steps):
        out, state = tx.update(updates, state, params)
    return {k: np.asarray(v) for k, v in out.items()}, state


def test_clip_family():
    u = _clean(U)
    got, _ = _apply(eo.clip(1.5), u)
    np.testing.assert_allclose(got["w"], np.clip(u["w"], -1.5, 1.5))
    norm = np.sqrt(sum((v.astype(np.float64) ** 2).sum() for v in u.values()))
    got, _ = _apply(eo.clip_by_global_norm(2.0), u)
    np.testing.assert_allclose(got["w"], u["w"] * 2.0 / norm, rtol=1e-6)
    got, _ = _apply(eo.clip_by_global_norm(100.0), u)          # below the threshold: unchanged
    np.testing.assert_allclose(got["w"], u["w"])
    got, _ = _apply(eo.clip_by_block_rms(1.0), u)
    rms = np.sqrt(np.mean(u["w"] ** 2))
    np.testing.assert_allclose(got["w"], u["w"] / max(1.0, rms), rtol=1e-6)


def test_adaptive_grad_clip_is_unitwise():
    u, p = _clean(U), P
    got, _ = _apply(eo.adaptive_grad_clip(0.5, eps=1e-3), u, p)
    # rank 2: one unit per output column (norm over axis 0)
    g_norm = np.linalg.norm(u["w"], axis=0, keepdims=True)
    max_norm = 0.5 * np.maximum(np.linalg.norm(p["w"], axis=0, keepdims=True), 1e-3)
    expected = np.where(g_norm < max_norm, u["w"], u["w"] * max_norm / g_norm)
    np.testing.assert_allclose(got["w"], expected, rtol=1e-5)


def test_constraints_and_centralize():
    got, state = _apply(eo.zero_nans(), U)
    assert not np.isnan(got["b"]).any() and got["b"][1] == 0.0
    assert bool(state.found_nan["b"]) and not bool(state.found_nan["w"])
    u = {"w": np.asarray([[-3.0, 1.0], [0.2, -0.1]], np.float32)}
    got, _ = _apply(eo.keep_params_nonnegative(), u, {"w": np.asarray([[1.0, 1.0], [0.1, 0.1]], np.float32)})
    np.testing.assert_allclose(got["w"], [[-1.0, 1.0], [0.2, -0.1]])
    got, _ = _apply(eo.centralize(), _clean(U))
    np.testing.assert_allclose(got["w"], _clean(U)["w"] - _clean(U)["w"].mean(axis=1, keepdims=True))
    np.testing.assert_allclose(got["b"], _clean(U)["b"])       # rank 1 unchanged


def test_norm_scalings():
    u, p = _clean(U), P
    got, _ = _apply(eo.normalize_by_update_norm(scale_factor=2.0, eps=0.0), u)
    norm = np.sqrt(sum((v.astype(np.float64) ** 2).sum() for v in u.values()))
    np.testing.assert_allclose(got["w"], 2.0 * u["w"] / norm, rtol=1e-6)
    got, _ = _apply(eo.scale_by_param_block_norm(), u, p)
    np.testing.assert_allclose(got["w"], u["w"] * np.linalg.norm(p["w"]), rtol=1e-6)
    got, _ = _apply(eo.scale_by_param_block_rms(), u, p)
    np.testing.assert_allclose(got["b"], u["b"] * np.sqrt(np.mean(p["b"] ** 2)), rtol=1e-6)
    got, _ = _apply(eo.scale_by_trust_ratio(trust_coefficient=0.5), u, p)
    np.testing.assert_allclose(got["w"], u["w"] * 0.5 * np.linalg.norm(p["w"]) / np.linalg.norm(u["w"]), rtol=1e-6)
    got, _ = _apply(eo.scale_by_sign(), u)
    np.testing.assert_allclose(got["w"], np.sign(u["w"]))


def test_moment_transforms():
    u = _clean(U)
    got, state = _apply(eo.ema(0.5), u, steps=2)          # debiased EMA of a constant is the constant
    np.testing.assert_allclose(got["w"], u["w"], rtol=1e-6)
    assert int(state.count) == 2
    got, _ = _apply(eo.ema(0.5, debias=False), u, steps=2)
    np.testing.assert_allclose(got["w"], 0.75 * u["w"], rtol=1e-6)
    got, _ = _apply(eo.trace(0.5, nesterov=True), u, steps=2)   # t2 = 1.5 g; out = g + 0.5 t2
    np.testing.assert_allclose(got["w"], 1.75 * u["w"], rtol=1e-6)
    got, _ = _apply(eo.scale_by_rms(decay=0.5, eps=0.0, bias_correction=True), u, steps=2)
    np.testing.assert_allclose(got["w"], np.sign(u["w"]), rtol=1e-5)     # bias-corrected: |g| / sqrt(g^2)
    got, _ = _apply(eo.scale_by_stddev(decay=0.9, eps=1e-8), u)   # v - m^2 = 0.1 g^2 - 0.01 g^2
    np.testing.assert_allclose(got["w"], u["w"] / np.sqrt(0.09 * u["w"] ** 2 + 1e-8), rtol=1e-5)
    got, _ = _apply(eo.scale_by_rss(initial_accumulator_value=0.0, eps=0.0), u)
    np.testing.assert_allclose(got["w"], np.sign(u["w"]), rtol=1e-6)


def test_scale_by_schedule_and_learning_rate():
    tx = eo.scale_by_schedule(lambda c: 1.0 / (c + 1.0))
    got, state = _apply(tx, _clean(U), steps=3)
    np.testing.assert_allclose(got["w"], _clean(U)["w"] / 3.0, rtol=1e-6)
    assert int(state.count) == 3
    got, _ = _apply(eo.scale_by_learning_rate(0.5, flip_sign=False), _clean(U))
    np.testing.assert_allclose(got["w"], 0.5 * _clean(U)["w"])
    assert eo.scale_by_learning_rate(None).update({"a": 1.0}, eo.EmptyState())[0] == {"a": 1.0}


def test_add_decayed_weights_and_noise():
    u, p = _clean(U), P
    got, _ = _apply(eo.add_decayed_weights(0.1), u, p)
    np.testing.assert_allclose(got["w"], u["w"] + 0.1 * p["w"], rtol=1e-6)
    got, _ = _apply(eo.add_decayed_weights(0.1, mask=lambda t: {k: v.ndim > 1 for k, v in t.items()}), u, p)
    np.testing.assert_allclose(got["b"], u["b"])
    np.testing.assert_allclose(got["w"], u["w"] + 0.1 * p["w"], rtol=1e-6)
    tx = eo.add_noise(0.01, 0.55, key=0)
    a, _ = _apply(tx, {"x": np.zeros(1000, np.float32)})
    b, _ = _apply(tx, {"x": np.zeros(1000, np.float32)})
    np.testing.assert_array_equal(a["x"], b["x"])                   # the key makes it reproducible
    assert 0.08 < a["x"].std() < 0.12


def test_factored_rms_state_shapes():
    tx = eo.scale_by_factored_rms(min_dim_size_to_factor=2)
    params = {"m": jnp.ones((3, 4)), "v": jnp.ones(5)}
    state = tx.init(params)
    assert state.v_row["m"].shape == (3,) and state.v_col["m"].shape == (4,) and state.v["m"].shape == (1,)
    assert state.v["v"].shape == (5,)
    u, state = tx.update({"m": jnp.full((3, 4), 2.0), "v": jnp.full(5, 2.0)}, state, params)
    np.testing.assert_allclose(np.asarray(u["m"]), 1.0, rtol=1e-5)    # |g| / sqrt(g^2) on the first step
    np.testing.assert_allclose(np.asarray(u["v"]), 1.0, rtol=1e-5)


def test_base_transformations():
    u = _clean(U)
    assert _apply(eo.identity(), u)[0]["w"].tolist() == u["w"].tolist()
    assert np.all(_apply(eo.set_to_zero(), u)[0]["w"] == 0)
    tx = eo.stateless(lambda upd, params: ec.tree.map(lambda x: -x, upd))
    np.testing.assert_allclose(_apply(tx, u)[0]["w"], -u["w"])
    tx = eo.stateless_with_tree_map(lambda g, p: g * p)
    np.testing.assert_allclose(_apply(tx, u, P)[0]["w"], u["w"] * P["w"])
    tx = eo.with_extra_args_support(eo.scale(2.0))
    assert isinstance(tx, eo.GradientTransformationExtraArgs)
    np.testing.assert_allclose(np.asarray(tx.update(u, tx.init(u), None, value=1.0)[0]["w"]), 2 * u["w"])
    assert eo.with_extra_args_support(tx) is tx


def test_chain_and_named_chain():
    u = _clean(U)
    opt = eo.named_chain(("clip", eo.clip(1.0)), ("scale", eo.scale(-0.5)))
    state = opt.init(u)
    assert list(state) == ["clip", "scale"]
    out, _ = opt.update(u, state)
    np.testing.assert_allclose(np.asarray(out["w"]), -0.5 * np.clip(u["w"], -1, 1))
    with pytest.raises(ValueError, match="unique"):
        eo.named_chain(("a", eo.clip(1.0)), ("a", eo.clip(1.0)))
    # extra keyword arguments reach the transforms that take them
    opt = eo.chain(eo.scale_by_polyak(max_learning_rate=10.0), eo.scale(-1.0))
    out, _ = opt.update({"x": jnp.asarray([2.0])}, opt.init({"x": jnp.zeros(1)}), value=jnp.asarray(8.0))
    np.testing.assert_allclose(np.asarray(out["x"]), [-4.0])         # step 8 / 4 = 2, times g = 2


def test_second_order_helpers():
    loss = lambda p, x, y: jnp.sum(x * p["a"] ** 2) + jnp.sum(p["b"] ** 3)
    params = {"a": jnp.asarray([1.0, 2.0]), "b": jnp.asarray([0.5])}
    x = jnp.asarray([3.0, 1.0])
    hv = eo.hvp(loss, jnp.asarray([1.0, 1.0, 2.0]), params, x, None)
    np.testing.assert_allclose(np.asarray(hv["a"]), [6.0, 2.0])        # d2/da2 = 2x
    np.testing.assert_allclose(np.asarray(hv["b"]), [6.0])             # 6 b * 2
    np.testing.assert_allclose(np.asarray(eo.second_order.hessian_diag(loss, params, x, None)), [6.0, 2.0, 3.0])
    np.testing.assert_allclose(np.asarray(eo.second_order.fisher_diag(loss, params, x, None)),
                               [36.0, 16.0, 0.5625])
