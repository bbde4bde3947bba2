"""Hyperparameters as runtime state: readable from the state, changeable between jitted steps
without recompiling (counted by tracing side effects), schedules recorded, inject_hyperparams."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo
from ember.core import lax


def _params():
    return {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}


def _loss(p):
    return jnp.sum(p["w"] ** 2) + jnp.sum((p["b"] - 1.0) ** 2)


def _make_step(opt, traces):
    @ec.jit
    def step(params, state):
        traces.append(1)     # a Python side effect: runs only while tracing
        grads = ec.grad(_loss)(params)
        updates, state = opt.update(grads, state, params)
        return eo.apply_updates(params, updates), state
    return step


@pytest.mark.parametrize("make", [
    lambda: eo.adamw(jnp.asarray(1e-2), weight_decay=jnp.asarray(1e-3)),
    lambda: eo.sgd(jnp.asarray(0.1), momentum=0.9),
    lambda: eo.inject_hyperparams(eo.adamw)(learning_rate=1e-2, b1=0.9, weight_decay=1e-3),
    lambda: eo.chain(eo.clip_by_global_norm(1.0), eo.lion(jnp.asarray(1e-3))),
], ids=["adamw_arrays", "sgd_array", "inject_hyperparams", "chain_lion"])
def test_changing_hyperparameters_does_not_recompile(make):
    opt = make()
    traces = []
    step = _make_step(opt, traces)
    params, state = _params(), opt.init(_params())
    params, state = step(params, state)
    before = np.asarray(params["w"])
    for lr in (0.5, 0.0, 2e-3):
        state = eo.set_hyperparams(state, learning_rate=lr)
        params, state = step(params, state)
        assert float(eo.hyperparams(state)["learning_rate"]) == pytest.approx(lr)
        if lr == 0.0:   # the new value is really used: a zero learning rate freezes the params
            np.testing.assert_array_equal(np.asarray(params["w"]), before)
        before = np.asarray(params["w"])
    assert len(traces) == 1


def test_python_number_is_a_constant_and_keeps_optax_state():
    opt = eo.adam(1e-3)
    state = opt.init(_params())
    assert isinstance(state[1], eo.EmptyState)
    assert eo.hyperparams(state) == {}
    with pytest.raises(KeyError, match="no hyperparameter 'learning_rate'"):
        eo.set_hyperparams(state, learning_rate=0.1)


def test_schedule_value_is_recorded_and_read_only():
    sched = eo.schedules.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=6)
    opt = eo.adamw(sched, weight_decay=eo.schedules.linear_schedule(0.1, 0.0, 4))
    state = opt.init(_params())
    assert type(state[2]).__name__ == "LearningRateScheduleState"
    seen = []
    for _ in range(4):
        seen.append((float(eo.hyperparams(state)["learning_rate"]), float(eo.hyperparams(state)["weight_decay"])))
        _, state = opt.update(ec.grad(_loss)(_params()), state, _params())
    # before any update: the value the first update uses; then the value of the most recent update
    expected = [(float(sched(0)), 0.1), (float(sched(0)), 0.1), (float(sched(1)), 0.075), (float(sched(2)), 0.05)]
    np.testing.assert_allclose(seen, expected, rtol=1e-6)
    assert int(state[2].count) == 4          # Optax's `opt_state[-1].count` keeps working
    with pytest.raises(ValueError, match="computed by a schedule"):
        eo.set_hyperparams(state, learning_rate=0.1)


def test_duplicate_names_are_keyed_by_path_and_set_together():
    opt = eo.muon(jnp.asarray(0.02), adam_learning_rate=jnp.asarray(1e-3))
    params = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}
    hp = eo.hyperparams(opt.init(params))
    assert len(hp) == 2 and all(k.endswith("learning_rate") and k != "learning_rate" for k in hp)
    assert sorted(round(float(v), 4) for v in hp.values()) == [0.001, 0.02]
    adam_key = next(k for k in hp if "'adam'" in k)
    state = eo.set_hyperparams(opt.init(params), **{adam_key: 5e-4})
    assert sorted(round(float(v), 4) for v in eo.hyperparams(state).values()) == [0.0005, 0.02]
    state = eo.set_hyperparams(state, learning_rate=0.1)    # a plain name sets every occurrence
    assert all(float(v) == pytest.approx(0.1) for v in eo.hyperparams(state).values())


def test_inject_hyperparams_reads_and_sets_and_keeps_optax_layout():
    opt = eo.inject_hyperparams(eo.sgd)(learning_rate=eo.schedules.linear_schedule(1.0, 0.0, 4), momentum=0.5)
    state = opt.init(_params())
    assert set(state.hyperparams) == {"learning_rate", "momentum"}
    assert type(state.inner_state[1]).__name__ == "EmptyState"       # inner optimizer built as in Optax
    assert eo.tree_utils.tree_get(state, "momentum") == pytest.approx(0.5)
    state = eo.set_hyperparams(state, momentum=0.0)
    u, state = opt.update({"w": jnp.ones((2, 3)), "b": jnp.ones(3)}, state)
    np.testing.assert_allclose(np.asarray(u["b"]), -1.0)              # lr(0) = 1, momentum 0
    u, state = opt.update({"w": jnp.ones((2, 3)), "b": jnp.ones(3)}, state)
    np.testing.assert_allclose(np.asarray(u["b"]), -0.75)             # lr(1) = 0.75, no momentum carried
    with pytest.raises(ValueError, match="schedule"):
        eo.set_hyperparams(state, learning_rate=0.3)


def test_state_types_are_stable_for_scan():
    # a training loop in lax.scan needs the state's types to be exactly the same after an update
    for opt in (eo.adamw(jnp.asarray(1e-2)), eo.sgd(eo.schedules.cosine_decay_schedule(0.1, 10)),
                eo.inject_hyperparams(eo.adam)(learning_rate=0.1)):
        params = _params()

        def body(carry, _, opt=opt):
            p, s = carry
            u, s = opt.update(ec.grad(_loss)(p), s, p)
            return (eo.apply_updates(p, u), s), _loss(p)

        (p, s), losses = ec.jit(lambda p, s: lax.scan(body, (p, s), None, length=5))(params, opt.init(params))
        assert float(losses[-1]) < float(losses[0])


def test_hyperparams_in_a_vmapped_sweep_of_states():
    opt = eo.adam(jnp.asarray(1e-3))
    params = _params()
    lrs = jnp.asarray([1e-3, 1e-2, 1e-1])
    states = ec.vmap(lambda lr: eo.set_hyperparams(opt.init(params), learning_rate=lr))(lrs)
    np.testing.assert_allclose(np.asarray(eo.hyperparams(states)["learning_rate"]), np.asarray(lrs), rtol=1e-6)

    def step(state):
        u, state = opt.update(ec.grad(_loss)(params), state, params)
        return u["b"][0]

    first = ec.vmap(step)(states)     # Adam's first step is -lr * sign(g)
    np.testing.assert_allclose(np.asarray(first), -np.asarray(lrs) * np.sign(-2.0), rtol=1e-4)
