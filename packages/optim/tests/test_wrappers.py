"""Wrappers: gradient accumulation, lookahead, masking and partitions, skipping non-finite
updates, flattening, conditional application."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.optim as eo


def _g(*values):
    return {"x": jnp.asarray(values, dtype=jnp.float32)}


def test_multisteps_averages_then_applies():
    opt = eo.MultiSteps(eo.sgd(1.0, momentum=0.5), every_k_schedule=3)
    state = opt.init(_g(0.0))
    outs = []
    for v in (1.0, 2.0, 6.0, 3.0, 3.0, 3.0):
        u, state = opt.update(_g(v), state)
        outs.append(float(u["x"][0]))
        assert bool(opt.has_updated(state)) == (len(outs) % 3 == 0)
    # first emission: mean(1, 2, 6) = 3 -> -3; second: mean 3 + momentum 0.5 * 3 -> -4.5
    np.testing.assert_allclose(outs, [0.0, 0.0, -3.0, 0.0, 0.0, -4.5], atol=1e-6)
    assert int(state.gradient_step) == 2 and int(state.mini_step) == 0


def test_multisteps_sum_and_skip():
    opt = eo.MultiSteps(eo.sgd(1.0), every_k_schedule=2, use_grad_mean=False,
                        should_skip_update_fn=eo.skip_not_finite)
    state = opt.init(_g(0.0))
    u, state = opt.update(_g(1.0), state)
    u, state = opt.update(_g(float("nan")), state)     # skipped: nothing accumulated, no step
    assert float(u["x"][0]) == 0.0 and int(state.mini_step) == 1
    assert int(state.skip_state["num_not_finite"]) == 1
    u, state = opt.update(_g(2.0), state)
    assert float(u["x"][0]) == pytest.approx(-3.0)
    tx = opt.gradient_transformation()
    assert isinstance(tx, eo.GradientTransformation)


def test_apply_every():
    opt = eo.chain(eo.apply_every(2), eo.scale(-1.0))
    state = opt.init(_g(0.0))
    outs = []
    for v in (1.0, 2.0, 3.0, 4.0):
        u, state = opt.update(_g(v), state)
        outs.append(float(u["x"][0]))
    assert outs == [-0.0, -3.0, -0.0, -7.0]


def test_lookahead_syncs_every_k_steps():
    opt = eo.lookahead(eo.sgd(1.0), sync_period=2, slow_step_size=0.5)
    params = eo.LookaheadParams.init_synced(_g(0.0))
    state = opt.init(params)
    for _ in range(2):
        updates, state = opt.update(_g(1.0), state, params)   # gradients w.r.t. the fast params
        params = eo.apply_updates(params, updates)
    # fast moved to -2 after two steps; slow moves halfway: -1; fast is reset to slow
    assert float(params.slow["x"][0]) == pytest.approx(-1.0)
    assert float(params.fast["x"][0]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="period"):
        eo.lookahead(eo.sgd(1.0), sync_period=0, slow_step_size=0.5)


def test_masked_and_partition_and_freeze():
    params = {"a": jnp.ones(2), "b": {"c": jnp.ones(2), "d": jnp.ones(2)}}
    grads = {"a": jnp.ones(2), "b": {"c": jnp.ones(2), "d": jnp.ones(2)}}
    # a prefix mask: one boolean for the sub-tree "b"
    opt = eo.masked(eo.sgd(0.1, momentum=0.9), {"a": False, "b": True})
    state = opt.init(params)
    assert isinstance(state.inner_state[0].trace["a"], eo.MaskedNode)
    u, _ = opt.update(grads, state)
    assert u["a"].tolist() == [1.0, 1.0] and u["b"]["c"].tolist() == pytest.approx([-0.1, -0.1])
    opt = eo.partition({"fast": eo.sgd(1.0), "slow": eo.sgd(0.01)},
                       lambda p: {"a": "fast", "b": {"c": "slow", "d": "fast"}})
    u, state = opt.update(grads, opt.init(params), params)
    assert u["a"].tolist() == [-1.0, -1.0] and u["b"]["c"].tolist() == pytest.approx([-0.01, -0.01])
    assert set(state.inner_states) == {"fast", "slow"}
    assert eo.multi_transform is eo.partition
    with pytest.raises(ValueError, match="no corresponding transformation"):
        eo.partition({"fast": eo.sgd(1.0)}, {"a": "fast", "b": "slow"}).init({"a": jnp.ones(1), "b": jnp.ones(1)})
    u, _ = eo.freeze({"a": True, "b": False}).update(grads, eo.freeze({"a": True, "b": False}).init(params))
    assert u["a"].tolist() == [0.0, 0.0] and u["b"]["d"].tolist() == [1.0, 1.0]


def test_apply_if_finite():
    opt = eo.apply_if_finite(eo.sgd(1.0, momentum=0.5), max_consecutive_errors=1)
    state = opt.init(_g(0.0))
    u, state = opt.update(_g(1.0), state)
    u, state = opt.update(_g(float("inf")), state)
    assert float(u["x"][0]) == 0.0 and not bool(state.last_finite) and int(state.total_notfinite) == 1
    assert float(state.inner_state[0].trace["x"][0]) == 1.0          # inner state untouched
    u, state = opt.update(_g(float("nan")), state)                   # 2 in a row > 1: applied anyway
    assert np.isnan(float(u["x"][0])) and int(state.notfinite_count) == 2


def test_flatten_runs_the_inner_transform_on_one_vector():
    params = {"w": jnp.ones((2, 3)), "b": jnp.ones(2)}
    grads = {"w": jnp.full((2, 3), 2.0), "b": jnp.full(2, 0.5)}
    flat = eo.flatten(eo.adam(0.1))
    state = flat.init(params)
    assert state[0].mu.shape == (8,)
    u_flat, _ = flat.update(grads, state)
    u, _ = eo.adam(0.1).update(grads, eo.adam(0.1).init(params))
    for k in u:
        np.testing.assert_allclose(np.asarray(u_flat[k]), np.asarray(u[k]), rtol=1e-6)


def test_conditionally_transform_and_mask():
    opt = eo.conditionally_transform(eo.scale(10.0), lambda step: step >= 1)
    state = opt.init(_g(0.0))
    u1, state = opt.update(_g(1.0), state)
    u2, state = opt.update(_g(1.0), state)
    assert (float(u1["x"][0]), float(u2["x"][0])) == (1.0, 10.0)
    opt = eo.conditionally_mask(eo.scale(10.0), lambda step: step >= 1)
    state = opt.init(_g(0.0))
    u1, state = opt.update(_g(1.0), state)
    assert float(u1["x"][0]) == 0.0
