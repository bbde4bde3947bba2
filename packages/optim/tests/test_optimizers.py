"""Every optimizer converges on a convex problem and on a small MLP, gives the same updates
under ``ec.jit`` as eagerly, and runs under ``ec.vmap`` (hyperparameter sweeps)."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo

S = eo.schedules

# name -> (factory, learning rate for the convex problem, learning rate for the MLP)
OPTIMIZERS = {
    "sgd": (lambda lr: eo.sgd(lr), 0.3, 0.3),
    "sgd_momentum": (lambda lr: eo.sgd(lr, momentum=0.9), 0.05, 0.05),
    "sgd_nesterov": (lambda lr: eo.sgd(lr, momentum=0.9, nesterov=True), 0.05, 0.05),
    "noisy_sgd": (lambda lr: eo.noisy_sgd(lr, eta=1e-4, key=1), 0.3, 0.3),
    "sign_sgd": (lambda lr: eo.sign_sgd(S.exponential_decay(lr, 20, 0.7)), 0.1, 0.01),
    "signum": (lambda lr: eo.signum(S.exponential_decay(lr, 20, 0.7)), 0.1, 0.01),
    "adam": (lambda lr: eo.adam(lr), 0.1, 0.01),
    "adamw": (lambda lr: eo.adamw(lr, weight_decay=1e-4), 0.1, 0.01),
    "nadam": (lambda lr: eo.nadam(lr), 0.1, 0.01),
    "nadamw": (lambda lr: eo.nadamw(lr, weight_decay=1e-4), 0.1, 0.01),
    "amsgrad": (lambda lr: eo.amsgrad(lr), 0.1, 0.01),
    "adamax": (lambda lr: eo.adamax(lr), 0.1, 0.01),
    "adamaxw": (lambda lr: eo.adamaxw(lr, weight_decay=1e-4), 0.1, 0.01),
    "adan": (lambda lr: eo.adan(lr), 0.9, 0.01),
    "radam": (lambda lr: eo.radam(lr), 0.1, 0.03),
    "adabelief": (lambda lr: eo.adabelief(lr), 0.1, 0.01),
    "adagrad": (lambda lr: eo.adagrad(lr), 0.5, 0.05),
    "adadelta": (lambda lr: eo.adadelta(lr), 30.0, 10.0),
    "adafactor": (lambda lr: eo.adafactor(lr, multiply_by_parameter_scale=False), 0.1, 0.01),
    "rmsprop": (lambda lr: eo.rmsprop(lr), 0.05, 0.003),
    "rmsprop_centered_momentum": (lambda lr: eo.rmsprop(lr, centered=True, momentum=0.5), 0.03, 0.002),
    "lamb": (lambda lr: eo.lamb(lr), 0.05, 0.01),
    "lars": (lambda lr: eo.lars(lr, trust_coefficient=1.0, momentum=0.5), 0.05, 0.01),
    "lion": (lambda lr: eo.lion(S.exponential_decay(lr, 20, 0.7), weight_decay=0.0), 0.1, 0.01),
    "novograd": (lambda lr: eo.novograd(lr), 0.1, 0.01),
    "yogi": (lambda lr: eo.yogi(lr), 0.1, 0.01),
    "sm3": (lambda lr: eo.sm3(lr), 0.5, 0.1),
    "fromage": (lambda lr: eo.fromage(lr), 0.05, 0.01),
    "optimistic_gradient_descent": (lambda lr: eo.optimistic_gradient_descent(lr, alpha=1.0, beta=0.5), 0.2, 0.1),
    "muon": (lambda lr: eo.muon(lr), 0.1, 0.01),
    "schedule_free_sgd": (lambda lr: eo.schedule_free_sgd(lr), 0.3, 0.3),
    "schedule_free_adamw": (lambda lr: eo.schedule_free_adamw(lr), 0.1, 0.01),
    "soap": (lambda lr: eo.soap(lr), 0.1, 0.01),
}
# polyak_sgd needs the loss value: tested separately below.

# ---------------------------------------------------------------------------- the problems

_rng = np.random.default_rng(0)
A = {"w": _rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32), "b": _rng.uniform(0.5, 2.0, (4,)).astype(np.float32)}
C = {"w": _rng.normal(size=(3, 4)).astype(np.float32), "b": _rng.normal(size=(4,)).astype(np.float32)}


def convex_loss(p):
    return 0.5 * sum(jnp.sum(jnp.asarray(A[k]) * (p[k] - C[k]) ** 2) for k in p)


convex_value_and_grad = ec.jit(ec.value_and_grad(convex_loss))

X = _rng.normal(size=(64, 3)).astype(np.float32)
Y = np.sin(X @ np.asarray([1.0, -2.0, 0.5], np.float32))[:, None].astype(np.float32)


def mlp_init():
    r = np.random.default_rng(1)
    return {"w1": jnp.asarray(r.normal(0, 0.5, (3, 16)).astype(np.float32)), "b1": jnp.zeros(16),
            "w2": jnp.asarray(r.normal(0, 0.25, (16, 1)).astype(np.float32)), "b2": jnp.zeros(1)}


def mlp_loss(p):
    h = jnp.tanh(jnp.asarray(X) @ p["w1"] + p["b1"])
    return jnp.mean((h @ p["w2"] + p["b2"] - Y) ** 2)


mlp_value_and_grad = ec.jit(ec.value_and_grad(mlp_loss))


def train(opt, params, value_and_grad, steps, eval_params=None):
    state = opt.init(params)
    for _ in range(steps):
        value, grads = value_and_grad(params)
        updates, state = opt.update(grads, state, params)
        params = eo.apply_updates(params, updates)
    if eval_params is not None:
        params = eval_params(state, params)
    return float(value_and_grad(params)[0])


def _eval_params(name):
    return eo.schedule_free_eval_params if name.startswith("schedule_free") else None


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_converges_on_convex_problem(name):
    factory, lr, _ = OPTIMIZERS[name]
    params = {"w": jnp.ones((3, 4)), "b": jnp.ones(4)}
    initial = float(convex_value_and_grad(params)[0])
    final = train(factory(lr), params, convex_value_and_grad, 150, _eval_params(name))
    assert final < 0.02 * initial, (name, initial, final)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_trains_a_small_mlp(name):
    factory, _, lr = OPTIMIZERS[name]
    params = mlp_init()
    initial = float(mlp_value_and_grad(params)[0])
    final = train(factory(lr), params, mlp_value_and_grad, 150, _eval_params(name))
    assert np.isfinite(final) and final < 0.6 * initial, (name, initial, final)


def test_polyak_sgd_converges():
    opt = eo.polyak_sgd(max_learning_rate=1.0)
    params = {"w": jnp.zeros((3, 4)), "b": jnp.zeros(4)}
    initial = float(convex_value_and_grad(params)[0])
    state = opt.init(params)
    for _ in range(60):
        value, grads = convex_value_and_grad(params)
        updates, state = opt.update(grads, state, params, value=value)
        params = eo.apply_updates(params, updates)
    assert float(convex_value_and_grad(params)[0]) < 0.05 * initial


# ------------------------------------------------------------------------------- jit and vmap

def _grads(seed):
    r = np.random.default_rng(seed)
    return {"w": jnp.asarray(r.normal(size=(3, 4)).astype(np.float32)),
            "b": jnp.asarray(r.normal(size=(4,)).astype(np.float32))}


_NAMES = sorted(OPTIMIZERS)


@pytest.mark.parametrize("group", range(3))
def test_jit_gives_the_eager_updates_for_every_optimizer(group):
    names = _NAMES[group::3]
    opts = [OPTIMIZERS[n][0](OPTIMIZERS[n][1]) for n in names]
    params = {"w": jnp.ones((3, 4)), "b": jnp.full(4, 0.5)}
    states = [opt.init(params) for opt in opts]
    grads = _grads(1)

    @ec.jit
    def one_step(params, states, grads):   # several optimizers in one program
        out = []
        for opt, state in zip(opts, states):
            u, state = opt.update(grads, state, params)
            out.append((eo.apply_updates(params, u), state))
        return out

    for name, opt, state, (p_jit, s_jit) in zip(names, opts, states, one_step(params, states, grads)):
        u, s_eager = opt.update(grads, state, params)
        p_eager = eo.apply_updates(params, u)
        for k in p_eager:
            np.testing.assert_allclose(np.asarray(p_jit[k]), np.asarray(p_eager[k]), rtol=1e-5, atol=1e-6,
                                       err_msg=name)
        # the state keeps its structure and types through the jitted step (a scan/while carry needs it)
        assert ec.tree.structure(s_jit) == ec.tree.structure(state), name
        for a, b, c in zip(ec.tree.leaves(s_jit), ec.tree.leaves(s_eager), ec.tree.leaves(state)):
            assert (a.shape, a.dtype) == (c.shape, c.dtype), name
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=name)


def test_vmap_over_hyperparameters_and_gradients():
    # a learning-rate sweep: one vmapped, jitted training run per learning rate
    lrs = jnp.asarray([0.0, 0.01, 0.1])

    def run(lr):
        opt = eo.adamw(jnp.asarray(lr), weight_decay=1e-3)   # an array: the learning rate lives in the state
        params = {"w": jnp.zeros((3, 4)), "b": jnp.zeros(4)}
        state = opt.init(params)
        for _ in range(5):
            grads = ec.grad(convex_loss)(params)
            updates, state = opt.update(grads, state, params)
            params = eo.apply_updates(params, updates)
        return convex_loss(params), eo.hyperparams(state)["learning_rate"]

    losses, seen = ec.jit(ec.vmap(run))(lrs)
    np.testing.assert_allclose(np.asarray(seen), np.asarray(lrs))
    losses = np.asarray(losses)
    assert losses[0] == pytest.approx(float(convex_loss({"w": jnp.zeros((3, 4)), "b": jnp.zeros(4)})))
    assert losses[2] < losses[1] < losses[0]
    for lr, loss in zip(np.asarray(lrs)[1:], losses[1:]):   # each row equals its own unbatched run
        assert float(run(float(lr))[0]) == pytest.approx(float(loss), rel=1e-5)


def test_vmap_over_a_batch_of_states():
    names = ["sgd_momentum", "adam", "lion", "adafactor", "rmsprop", "muon", "soap"]
    opts = [OPTIMIZERS[n][0](OPTIMIZERS[n][1]) for n in names]
    params = {"w": jnp.ones((3, 4)), "b": jnp.full(4, 0.5)}
    batch = {"w": jnp.stack([_grads(i)["w"] for i in range(3)]), "b": jnp.stack([_grads(i)["b"] for i in range(3)])}

    def one(g):
        return [opt.update(g, opt.init(params), params)[0] for opt in opts]

    batched = ec.jit(ec.vmap(one))(batch)
    for i in range(3):
        single = one({k: v[i] for k, v in batch.items()})
        for name, b, s in zip(names, batched, single):
            for k in s:
                np.testing.assert_allclose(np.asarray(b[k][i]), np.asarray(s[k]), rtol=1e-4, atol=1e-6,
                                           err_msg=name)
