"""Muon (any rank), SOAP and schedule-free optimizers."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo
from ember.optim import contrib

_r = np.random.default_rng(0)


def _singular_values(x):
    return np.linalg.svd(np.asarray(x, np.float64), compute_uv=False)


def test_newton_schulz_orthogonalizes():
    x = jnp.asarray(_r.normal(size=(16, 8)).astype(np.float32))
    o = contrib.orthogonalize_via_newton_schulz(x, jnp.asarray(contrib.muon.__globals__["_DEFAULT_NS_COEFFS"]))
    s = _singular_values(o)
    assert np.all((s > 0.6) & (s < 1.25))          # the quintic iteration lands all singular values near 1
    # and keeps the singular vectors: o is close to U V^T
    u, _, vt = np.linalg.svd(np.asarray(x, np.float64), full_matrices=False)
    assert np.abs(np.asarray(o) - u @ vt).max() < 0.35


def test_muon_reshape_rule_for_any_rank():
    params = {"conv": jnp.asarray(_r.normal(size=(3, 3, 4, 8)).astype(np.float32)),
              "dense": jnp.asarray(_r.normal(size=(8, 5)).astype(np.float32)),
              "bias": jnp.zeros(5)}
    grads = ec.tree.map(lambda p: jnp.asarray(_r.normal(size=p.shape).astype(np.float32)), params)
    opt = eo.muon(1.0, beta=0.0, nesterov=False)     # beta 0: the update is the orthogonalised gradient
    state = opt.init(params)
    assert set(state.inner_states) == {"muon", "adam"}
    u, _ = opt.update(grads, state, params)
    # conv kernel (H, W, Cin, Cout) is the matrix (H*W*Cin, Cout): orthogonal columns, scaled by
    # sqrt(max(1, fan_out / fan_in)) = 1
    m = -np.asarray(u["conv"]).reshape(36, 8)
    assert np.all((_singular_values(m) > 0.6) & (_singular_values(m) < 1.25))
    d = -np.asarray(u["dense"])                     # (8, 5): fan_out < fan_in, scale 1
    assert np.all((_singular_values(d) > 0.6) & (_singular_values(d) < 1.25))
    np.testing.assert_allclose(np.asarray(u["bias"]), -np.sign(np.asarray(grads["bias"])), rtol=1e-4)  # AdamW step 1


def test_muon_stacked_layers_with_dimension_numbers():
    stacked = jnp.asarray(_r.normal(size=(3, 6, 4)).astype(np.float32))   # 3 layers of (6, 4)
    dims = lambda p: ec.tree.map(lambda x: eo.MuonDimensionNumbers(-2, -1) if x.ndim >= 2 else None, p)
    opt = eo.muon(1.0, beta=0.0, nesterov=False, muon_weight_dimension_numbers=dims)
    params = {"layers": stacked}
    u, _ = opt.update({"layers": stacked}, opt.init(params), params)
    one = eo.muon(1.0, beta=0.0, nesterov=False)
    for i in range(3):     # each slice is orthogonalised on its own
        ui, _ = one.update({"w": stacked[i]}, one.init({"w": stacked[i]}), {"w": stacked[i]})
        np.testing.assert_allclose(np.asarray(u["layers"][i]), np.asarray(ui["w"]), rtol=1e-4, atol=1e-5)


def test_weight_decay_mask_means_the_same_in_every_optimizer():
    params = {"w": jnp.full((4, 4), 2.0), "b": jnp.full(4, 2.0)}
    zeros = ec.tree.map(jnp.zeros_like, params)
    mask = {"w": True, "b": False}
    # with zero gradients, the only update is the masked decay -lr * wd * p
    for opt in (eo.adamw(0.1, weight_decay=0.5, mask=mask), eo.adamaxw(0.1, weight_decay=0.5, mask=mask),
                eo.lion(0.1, weight_decay=0.5, mask=mask), eo.lamb(0.1, weight_decay=0.5, mask=mask),
                eo.adan(0.1, weight_decay=0.5, mask=mask), eo.soap(0.1, weight_decay=0.5, mask=mask),
                eo.muon(0.1, weight_decay=0.5, weight_decay_mask=mask, adam_weight_decay=0.5),
                eo.schedule_free_adamw(0.1, weight_decay=0.5, weight_decay_mask=mask)):
        u, _ = opt.update(zeros, opt.init(params), params)
        assert np.all(np.asarray(u["b"]) == 0.0)
        assert np.all(np.asarray(u["w"]) < 0.0)


def test_soap_first_step_is_adam_in_the_eigenbasis():
    g = _r.normal(size=(5, 3)).astype(np.float32)
    opt = contrib.scale_by_soap(b1=0.9, b2=0.99, shampoo_beta=0.5, eps=1e-3)
    params = {"w": jnp.zeros((5, 3))}
    u, state = opt.update({"w": jnp.asarray(g)}, opt.init(params))
    # step 1: L = 0.5 G G^T, R = 0.5 G^T G, Q from their eigenvectors; m_hat = G, v_hat = (Q_L^T G Q_R)^2
    ql, qr = np.asarray(state.q["w"][0], np.float64), np.asarray(state.q["w"][1], np.float64)
    np.testing.assert_allclose(ql.T @ ql, np.eye(5), atol=1e-5)
    gp = ql.T @ g @ qr
    expected = ql @ (gp / (np.abs(gp) + 1e-3)) @ qr.T
    np.testing.assert_allclose(np.asarray(u["w"]), expected, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(np.asarray(state.gg["w"][0]), 0.5 * g @ g.T, rtol=1e-5)


def test_schedule_free_sgd_matches_its_equations():
    lr, b1 = 0.5, 0.9
    opt = eo.schedule_free_sgd(lr, b1=b1)
    y = np.asarray([1.0, -2.0])
    params = {"x": jnp.asarray(y, dtype=jnp.float32)}
    state = opt.init(params)
    z, x, weight_sum = y.copy(), y.copy(), 0.0
    for g in ([0.5, 1.0], [-1.0, 0.25], [0.3, 0.3]):
        g = np.asarray(g)
        u, state = opt.update({"x": jnp.asarray(g, dtype=jnp.float32)}, state, params)
        params = eo.apply_updates(params, u)
        # Defazio et al. 2024: z <- z - lr g;  c = lr^2 / sum lr^2;  x <- (1-c) x + c z;  y = b1 x + (1-b1) z
        z = z - lr * g
        weight_sum += lr ** 2
        c = lr ** 2 / weight_sum
        x = (1 - c) * x + c * z
        y = b1 * x + (1 - b1) * z
        np.testing.assert_allclose(np.asarray(params["x"]), y, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(eo.schedule_free_eval_params(state, params)["x"]), x, rtol=1e-5)
    with pytest.raises(TypeError, match="ScheduleFreeState"):
        eo.schedule_free_eval_params((), params)
