"""Every optimizer against its published update equations.

Each reference below is written from the paper's equations in NumPy float64, independently of
the implementation; a few cases are also checked against numbers computed by hand. The ember
optimizer runs eagerly for three steps on the same parameters and gradients (parameters move
between steps, so weight decay and trust ratios see the new values).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.optim as eo

P0 = {"w": np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]]), "b": np.array([0.1, -0.2, 0.3])}
GRADS = [
    {"w": np.array([[0.1, -0.2, 0.3], [0.4, -0.5, 0.6]]), "b": np.array([1.0, -1.0, 0.5])},
    {"w": np.array([[-0.3, 0.1, 0.2], [0.0, 0.7, -0.1]]), "b": np.array([0.5, 0.25, -0.5])},
    {"w": np.array([[0.2, 0.2, -0.4], [-0.6, 0.3, 0.1]]), "b": np.array([-0.25, 0.75, 1.0])},
]


def run_ember(opt, grads=GRADS, extra=None):
    params = {k: jnp.asarray(v, dtype=jnp.float32) for k, v in P0.items()}
    state = opt.init(params)
    out = []
    for i, g in enumerate(grads):
        kwargs = {} if extra is None else extra(i)
        updates, state = opt.update({k: jnp.asarray(v, dtype=jnp.float32) for k, v in g.items()}, state, params,
                                    **kwargs)
        out.append({k: np.asarray(v, dtype=np.float64) for k, v in updates.items()})
        params = eo.apply_updates(params, updates)
    return out


def leafwise(init, step):
    """A reference optimizer from per-leaf ``init(p) -> s`` and ``step(g, s, p, t) -> (u, s)``."""

    def ref(grads=GRADS):
        params = {k: v.copy() for k, v in P0.items()}
        states = {k: init(v) for k, v in params.items()}
        out = []
        for t, g in enumerate(grads, start=1):
            u = {}
            for k in params:
                u[k], states[k] = step(g[k], states[k], params[k], t)
            out.append(u)
            params = {k: params[k] + u[k] for k in params}
        return out

    return ref


def norm(x):
    return float(np.sqrt(np.sum(x * x)))


# ------------------------------------------------------------------------------ references

def ref_sgd(lr, momentum=None, nesterov=False):
    def step(g, t_, p, t):
        if momentum is None:
            return -lr * g, t_
        t_ = g + momentum * t_
        return -lr * (g + momentum * t_ if nesterov else t_), t_
    return leafwise(np.zeros_like, step)


def _adam_dir(g, s, t, b1, b2, eps, eps_root, nesterov):
    m, v = s
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    if nesterov:   # NAdam (Dozat 2016)
        m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1 ** t)
    else:
        m_hat = m / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    return m_hat / (np.sqrt(v_hat + eps_root) + eps), (m, v)


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, nesterov=False, weight_decay=0.0, mask=None):
    def step(g, s, p, t):
        d, s = _adam_dir(g, s, t, b1, b2, eps, eps_root, nesterov)
        return -lr * (d + weight_decay * p), s
    ref = leafwise(lambda p: (np.zeros_like(p), np.zeros_like(p)), step)
    if mask is None:
        return ref

    def masked_ref(grads=GRADS):   # weight decay only where mask is True
        plain = ref_adam(lr, b1, b2, eps, eps_root, nesterov, 0.0)(grads)
        decayed = ref_adam(lr, b1, b2, eps, eps_root, nesterov, weight_decay)(grads)
        return [{k: (d if mask[k] else u)[k] for k in u} for u, d in zip(plain, decayed)]
    return masked_ref


def ref_amsgrad(lr, b1=0.9, b2=0.999, eps=1e-8):
    def step(g, s, p, t):
        m, v, vmax = s
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v / (1 - b2 ** t))
        return -lr * (m / (1 - b1 ** t)) / (np.sqrt(vmax) + eps), (m, v, vmax)
    return leafwise(lambda p: (np.zeros_like(p),) * 3, step)


def ref_adamax(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0):
    def step(g, s, p, t):
        m, u_inf = s
        m = b1 * m + (1 - b1) * g
        u_inf = np.maximum(b2 * u_inf, np.abs(g) + eps)
        return -lr * (m / (1 - b1 ** t) / u_inf + weight_decay * p), (m, u_inf)
    return leafwise(lambda p: (np.zeros_like(p), np.zeros_like(p)), step)


def ref_radam(lr, b1=0.9, b2=0.999, eps=1e-8, threshold=5.0):
    rho_inf = 2 / (1 - b2) - 1

    def step(g, s, p, t):
        m, v = s
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho >= threshold:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            return -lr * r * m_hat / (np.sqrt(v / (1 - b2 ** t)) + eps), (m, v)
        return -lr * m_hat, (m, v)
    return leafwise(lambda p: (np.zeros_like(p), np.zeros_like(p)), step)


def ref_adabelief(lr, b1=0.9, b2=0.999, eps=1e-16, eps_root=1e-16):
    def step(g, s, p, t):
        m, v = s
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * (g - m) ** 2 + eps_root
        return -lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), (m, v)
    return leafwise(lambda p: (np.zeros_like(p), np.zeros_like(p)), step)


def ref_adagrad(lr, init=0.1, eps=1e-7):
    def step(g, acc, p, t):
        acc = acc + g * g
        return -lr * g / np.sqrt(acc + eps), acc
    return leafwise(lambda p: np.full_like(p, init), step)


def ref_adadelta(lr, rho=0.9, eps=1e-6):
    def step(g, s, p, t):
        eg, ex = s
        eg = rho * eg + (1 - rho) * g * g
        dx = np.sqrt(ex + eps) / np.sqrt(eg + eps) * g
        ex = rho * ex + (1 - rho) * dx * dx
        return -lr * dx, (eg, ex)
    return leafwise(lambda p: (np.zeros_like(p), np.zeros_like(p)), step)


def ref_rmsprop(lr, decay=0.9, eps=1e-8, centered=False, momentum=None):
    def step(g, s, p, t):
        mg, v, tr = s
        v = decay * v + (1 - decay) * g * g
        mg = decay * mg + (1 - decay) * g
        denom = np.sqrt(v - mg * mg + eps) if centered else np.sqrt(v + eps)
        u = -lr * g / denom
        if momentum is not None:
            tr = u + momentum * tr
            u = tr
        return u, (mg, v, tr)
    return leafwise(lambda p: (np.zeros_like(p),) * 3, step)


def ref_yogi(lr, b1=0.9, b2=0.999, eps=1e-3, init=1e-6):
    def step(g, s, p, t):
        m, v = s
        m = b1 * m + (1 - b1) * g
        v = v - (1 - b2) * np.sign(v - g * g) * g * g
        return -lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps), (m, v)
    return leafwise(lambda p: (np.full_like(p, init), np.full_like(p, init)), step)


def ref_lion(lr, b1=0.9, b2=0.99, weight_decay=1e-3):
    def step(g, m, p, t):
        u = -lr * (np.sign(b1 * m + (1 - b1) * g) + weight_decay * p)
        return u, b2 * m + (1 - b2) * g
    return leafwise(np.zeros_like, step)


def _trust(u, p, coefficient=1.0, eps=0.0):
    pn, un = norm(p), norm(u)
    return 1.0 if pn == 0 or un == 0 else coefficient * pn / (un + eps)


def ref_lamb(lr, b1=0.9, b2=0.999, eps=1e-6, weight_decay=0.0):
    def step(g, s, p, t):
        d, s = _adam_dir(g, s, t, b1, b2, eps, 0.0, False)
        r = d + weight_decay * p
        return -lr * _trust(r, p) * r, s
    return leafwise(lambda p: (np.zeros_like(p), np.zeros_like(p)), step)


def ref_lars(lr, weight_decay=0.0, trust_coefficient=0.001, momentum=0.9):
    def step(g, tr, p, t):
        x = g + weight_decay * p
        x = -lr * _trust(x, p, trust_coefficient) * x
        tr = x + momentum * tr
        return tr, tr
    return leafwise(np.zeros_like, step)


def ref_novograd(lr, b1=0.9, b2=0.25, eps=1e-6, weight_decay=0.0):
    def step(g, s, p, t):
        m, nu = s
        gn = float(np.sum(g * g))
        nu = gn if t == 1 else b2 * nu + (1 - b2) * gn
        x = g / (math.sqrt(nu) + eps) + weight_decay * p
        m = x if t == 1 else b1 * m + x
        return -lr * m, (m, nu)
    return leafwise(lambda p: (np.zeros_like(p), 0.0), step)


def ref_sm3(lr, b1=0.9, eps=1e-8):
    def step(g, s, p, t):
        accs, mom = s
        if g.ndim == 1:
            acc = accs[0] + g * g
            new_accs = [acc]
        else:
            acc = np.minimum(accs[0][:, None], accs[1][None, :]) + g * g
            new_accs = [acc.max(axis=1), acc.max(axis=0)]
        up = np.where(acc > 0, g / np.sqrt(acc + eps), 0.0)
        mom = (1 - b1) * up + b1 * mom
        return -lr * mom, (new_accs, mom)
    return leafwise(lambda p: ([np.zeros(d) for d in p.shape], np.zeros_like(p)), step)


def ref_fromage(lr, min_norm=1e-6):
    mult = 1 / math.sqrt(1 + lr ** 2)

    def step(g, s, p, t):
        x = g * (max(norm(p), min_norm) / max(norm(g), min_norm))
        return -lr * mult * x + (mult - 1) * p, s
    return leafwise(lambda p: None, step)


def ref_optimistic(lr, alpha=1.0, beta=1.0):
    def step(g, prev, p, t):
        prev = g if prev is None else prev
        return -lr * ((alpha + beta) * g - beta * prev), g
    return leafwise(lambda p: None, step)


def ref_sign_sgd(lr):
    return leafwise(lambda p: None, lambda g, s, p, t: (-lr * np.sign(g), s))


def ref_polyak(values, max_lr=1.0, f_min=0.0):
    def ref(grads=GRADS):
        out = []
        for g, f in zip(grads, values):
            sq = sum(float(np.sum(x * x)) for x in g.values())
            step = min((f - f_min) / sq, max_lr)
            out.append({k: -step * v for k, v in g.items()})
        return out
    return ref


def ref_adafactor(lr, min_dim_size_to_factor, decay_rate=0.8, eps=1e-30, clipping_threshold=1.0):
    def step(g, s, p, t):
        vr, vc, v = s
        decay = 1.0 - t ** (-decay_rate)
        g2 = g * g + eps
        if g.ndim == 2 and min(g.shape) >= min_dim_size_to_factor:
            # factored over the two largest axes: here rows (axis 0) and columns (axis 1)
            d1, d0 = (0, 1) if g.shape[0] <= g.shape[1] else (1, 0)
            vr = decay * vr + (1 - decay) * g2.mean(axis=d0)
            vc = decay * vc + (1 - decay) * g2.mean(axis=d1)
            row = (vr / vr.mean()) ** -0.5
            col = vc ** -0.5
            u = g * np.expand_dims(row, d0) * np.expand_dims(col, d1)
        else:
            v = decay * v + (1 - decay) * g2
            u = g * v ** -0.5
        u = u / max(1.0, math.sqrt(np.mean(u * u)) / clipping_threshold)
        u = lr * u * max(math.sqrt(np.mean(p * p)), 1e-3)
        return -u, (vr, vc, v)
    return leafwise(lambda p: (0.0, 0.0, np.zeros_like(p)), step)


CASES = [
    ("sgd", eo.sgd(0.1), ref_sgd(0.1)),
    ("sgd_momentum", eo.sgd(0.1, momentum=0.9), ref_sgd(0.1, 0.9)),
    ("sgd_nesterov", eo.sgd(0.1, momentum=0.9, nesterov=True), ref_sgd(0.1, 0.9, True)),
    ("sign_sgd", eo.sign_sgd(0.1), ref_sign_sgd(0.1)),
    ("adam", eo.adam(0.1), ref_adam(0.1)),
    ("adam_eps_root", eo.adam(0.1, b1=0.8, b2=0.9, eps_root=1e-3), ref_adam(0.1, 0.8, 0.9, eps_root=1e-3)),
    ("adam_nesterov", eo.adam(0.1, nesterov=True), ref_adam(0.1, nesterov=True)),
    ("nadam", eo.nadam(0.1), ref_adam(0.1, nesterov=True)),
    ("adamw", eo.adamw(0.1, weight_decay=0.5), ref_adam(0.1, weight_decay=0.5)),
    ("adamw_mask", eo.adamw(0.1, weight_decay=0.5, mask={"w": True, "b": False}),
     ref_adam(0.1, weight_decay=0.5, mask={"w": True, "b": False})),
    ("nadamw", eo.nadamw(0.1, weight_decay=0.5), ref_adam(0.1, weight_decay=0.5, nesterov=True)),
    ("amsgrad", eo.amsgrad(0.1), ref_amsgrad(0.1)),
    ("adamax", eo.adamax(0.1), ref_adamax(0.1)),
    ("adamaxw", eo.adamaxw(0.1, weight_decay=0.5), ref_adamax(0.1, weight_decay=0.5)),
    ("radam", eo.radam(0.1), ref_radam(0.1)),
    ("adabelief", eo.adabelief(0.1), ref_adabelief(0.1)),
    ("adagrad", eo.adagrad(0.1), ref_adagrad(0.1)),
    ("adadelta", eo.adadelta(1.0), ref_adadelta(1.0)),
    ("rmsprop", eo.rmsprop(0.1), ref_rmsprop(0.1)),
    ("rmsprop_centered", eo.rmsprop(0.1, centered=True), ref_rmsprop(0.1, centered=True)),
    ("rmsprop_momentum", eo.rmsprop(0.1, momentum=0.5), ref_rmsprop(0.1, momentum=0.5)),
    ("yogi", eo.yogi(0.1), ref_yogi(0.1)),
    ("lion", eo.lion(0.1, weight_decay=0.5), ref_lion(0.1, weight_decay=0.5)),
    ("lamb", eo.lamb(0.1, weight_decay=0.5), ref_lamb(0.1, weight_decay=0.5)),
    ("lars", eo.lars(0.1, weight_decay=0.5), ref_lars(0.1, weight_decay=0.5)),
    ("novograd", eo.novograd(0.1, weight_decay=0.5), ref_novograd(0.1, weight_decay=0.5)),
    ("sm3", eo.sm3(0.1), ref_sm3(0.1)),
    ("fromage", eo.fromage(0.1), ref_fromage(0.1)),
    ("optimistic_gradient_descent", eo.optimistic_gradient_descent(0.1), ref_optimistic(0.1)),
    ("adafactor", eo.adafactor(0.1), ref_adafactor(0.1, 128)),
    ("adafactor_factored", eo.adafactor(0.1, min_dim_size_to_factor=2), ref_adafactor(0.1, 2)),
]


@pytest.mark.parametrize("name,opt,ref", CASES, ids=[c[0] for c in CASES])
def test_update_equations(name, opt, ref):
    expected = ref()
    got = run_ember(opt)
    for step, (e, g) in enumerate(zip(expected, got)):
        for k in e:
            np.testing.assert_allclose(g[k], e[k], rtol=2e-5, atol=1e-6, err_msg=f"{name}: step {step}, leaf {k}")


def test_radam_rectified_phase():
    # with b2 = 0.9, rho_t = 19 - 2 t 0.9^t / (1 - 0.9^t) passes the threshold 5 at t = 6
    grads = GRADS * 3
    expected = ref_radam(0.1, b2=0.9)(grads)
    got = run_ember(eo.radam(0.1, b2=0.9), grads=grads)
    for e, g in zip(expected, got):
        for k in e:
            np.testing.assert_allclose(g[k], e[k], rtol=2e-5, atol=1e-6)


def test_polyak_sgd_equation():
    values = [2.0, 1.5, 0.5]
    got = run_ember(eo.polyak_sgd(max_learning_rate=1.0), extra=lambda i: {"value": jnp.asarray(values[i])})
    for e, g in zip(ref_polyak(values)(), got):
        for k in e:
            np.testing.assert_allclose(g[k], e[k], rtol=2e-5, atol=1e-6)


# ------------------------------------------------------------------ numbers checked by hand

def test_hand_checked_adam_first_steps():
    # Step 1: m = 0.1 g, v = 0.001 g^2, bias-corrected m_hat = g, v_hat = g^2 -> u = -lr * sign(g).
    # Step 2 with g2 = -g: m = 0.09 g - 0.1 g = -0.01 g, m_hat = -0.01 g / 0.19;
    #   v = 0.000999 g^2 + 0.001 g^2 = 0.001999 g^2, v_hat = g^2 * 0.001999 / 0.001999 = g^2
    #   -> u = -lr * (-0.01 / 0.19) * sign(g) = +0.0052631... * lr * sign(g).
    opt = eo.adam(1.0, eps=0.0)
    state = opt.init({"x": jnp.zeros(2)})
    u1, state = opt.update({"x": jnp.asarray([2.0, -0.5])}, state)
    u2, state = opt.update({"x": jnp.asarray([-2.0, 0.5])}, state)
    np.testing.assert_allclose(np.asarray(u1["x"]), [-1.0, 1.0], rtol=2e-5)
    np.testing.assert_allclose(np.asarray(u2["x"]), [0.01 / 0.19, -0.01 / 0.19], rtol=1e-5)


def test_hand_checked_sgd_momentum_and_weight_decay():
    # trace: t1 = g = 1, t2 = g + 0.9 t1 = 1.9 -> updates -0.1, -0.19
    opt = eo.sgd(0.1, momentum=0.9)
    s = opt.init({"x": jnp.zeros(1)})
    u1, s = opt.update({"x": jnp.ones(1)}, s)
    u2, s = opt.update({"x": jnp.ones(1)}, s)
    np.testing.assert_allclose([float(u1["x"][0]), float(u2["x"][0])], [-0.1, -0.19], rtol=1e-6)
    # adamw at step 1 with g = 0: direction 0, decay 0.5 * p = 1 -> -lr * 1
    opt = eo.adamw(0.1, weight_decay=0.5)
    p = {"x": jnp.asarray([2.0])}
    u, _ = opt.update({"x": jnp.zeros(1)}, opt.init(p), p)
    np.testing.assert_allclose(np.asarray(u["x"]), [-0.1], rtol=1e-6)


def test_hand_checked_lion_and_clip():
    # lion step 1: sign(0.1 g) = sign(g); update -lr (sign(g) + wd p)
    opt = eo.lion(0.5, weight_decay=0.0)
    p = {"x": jnp.asarray([1.0, 1.0])}
    u, _ = opt.update({"x": jnp.asarray([3.0, -0.01])}, opt.init(p), p)
    np.testing.assert_allclose(np.asarray(u["x"]), [-0.5, 0.5])
    # global norm of (3, 4) is 5: clipped to norm 1 -> (0.6, 0.8)
    u, _ = eo.clip_by_global_norm(1.0).update({"a": jnp.asarray([3.0]), "b": jnp.asarray([4.0])}, eo.EmptyState())
    np.testing.assert_allclose([float(u["a"][0]), float(u["b"][0])], [0.6, 0.8], rtol=1e-6)


def test_noisy_sgd_noise_has_the_published_variance():
    # g + N(0, eta / t^gamma): at t = 1 the std is sqrt(eta); updates are -lr * (g + noise)
    opt = eo.noisy_sgd(1.0, eta=0.25, gamma=0.55, key=0)
    g = {"x": jnp.zeros(20000)}
    state = opt.init(g)
    u1, state = opt.update(g, state)
    u2, state = opt.update(g, state)
    assert abs(float(jnp.std(u1["x"])) - 0.5) < 0.02
    assert abs(float(jnp.std(u2["x"])) - math.sqrt(0.25 / 2 ** 0.55)) < 0.02
    assert abs(float(jnp.mean(u1["x"]))) < 0.02
    assert not np.allclose(np.asarray(u1["x"]), np.asarray(u2["x"]))
