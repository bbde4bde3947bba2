"""ember.optim against Optax: the same optimizer, params and gradients give the same numbers.

Run with `nox -s parity` (installs optax and jax next to ember). Every optimizer that exists in
both libraries runs a few steps on the same parameters and gradients; updates (and the moments
of the standard state structures) must agree to float32 tolerance.
"""

import numpy as np
import pytest

import ember.core as ec  # first: ember.core keeps its fast dispatch path when imported before jax
import ember.core.numpy as enp
import ember.optim as eo

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
jnp = jax.numpy

RTOL, ATOL = 2e-5, 2e-6
STEPS = 4


def _params(rng):
    return {
        "w": rng.normal(size=(4, 3)).astype(np.float32),
        "b": rng.normal(size=(3,)).astype(np.float32),
        "conv": rng.normal(size=(2, 2, 3, 5)).astype(np.float32),
    }


def _grads(rng, params):
    return [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in params.items()} for _ in range(STEPS)]


def _run(lib, opt, params, grads, loss_values, extra):
    tree_map = ec.tree.map if lib == "ember" else jax.tree.map
    asarray = enp.asarray if lib == "ember" else jnp.asarray
    apply_updates = eo.apply_updates if lib == "ember" else optax.apply_updates
    p = tree_map(asarray, params)
    state = opt.init(p)
    history = []
    for g, value in zip(grads, loss_values):
        kwargs = {"value": asarray(value)} if extra else {}
        updates, state = opt.update(tree_map(asarray, g), state, p, **kwargs)
        history.append({k: np.asarray(v) for k, v in updates.items()})
        p = apply_updates(p, updates)
    return history, state, {k: np.asarray(v) for k, v in p.items()}


def _sched(mod):
    return mod.warmup_cosine_decay_schedule(0.0, 0.1, 2, 10, end_value=0.01)


# (name, ember factory, optax factory, needs `value`)
CASES = [
    ("sgd", lambda m: m.sgd(0.1), False),
    ("sgd_momentum", lambda m: m.sgd(0.1, momentum=0.9), False),
    ("sgd_nesterov", lambda m: m.sgd(0.1, momentum=0.9, nesterov=True), False),
    ("sgd_schedule", lambda m: m.sgd(_sched(m.schedules), momentum=0.5), False),
    ("sign_sgd", lambda m: m.sign_sgd(0.1), False),
    ("signum", lambda m: m.signum(0.1), False),
    ("adam", lambda m: m.adam(1e-2), False),
    ("adam_nesterov", lambda m: m.adam(1e-2, nesterov=True), False),
    ("adam_schedule", lambda m: m.adam(_sched(m.schedules), eps_root=1e-8), False),
    ("nadam", lambda m: m.nadam(1e-2), False),
    ("adamw", lambda m: m.adamw(1e-2, weight_decay=0.1), False),
    ("adamw_mask", lambda m: m.adamw(1e-2, weight_decay=0.1, mask={"w": True, "b": False, "conv": True}), False),
    ("adamw_mask_fn",
     lambda m: m.adamw(1e-2, weight_decay=0.1, mask=lambda p: {k: v.ndim > 1 for k, v in p.items()}), False),
    ("nadamw", lambda m: m.nadamw(1e-2, weight_decay=0.1), False),
    ("amsgrad", lambda m: m.amsgrad(1e-2), False),
    ("adamax", lambda m: m.adamax(1e-2), False),
    ("adamaxw", lambda m: m.adamaxw(1e-2, weight_decay=0.1), False),
    ("adan", lambda m: m.adan(1e-2, weight_decay=0.1), False),
    ("radam", lambda m: m.radam(1e-2, threshold=2.0), False),
    ("adabelief", lambda m: m.adabelief(1e-2), False),
    ("adagrad", lambda m: m.adagrad(1e-1), False),
    ("adadelta", lambda m: m.adadelta(1.0, weight_decay=0.01), False),
    ("adafactor", lambda m: m.adafactor(1e-2, min_dim_size_to_factor=2), False),
    ("adafactor_momentum", lambda m: m.adafactor(1e-2, momentum=0.9, weight_decay_rate=0.01), False),
    ("rmsprop", lambda m: m.rmsprop(1e-2), False),
    ("rmsprop_centered_momentum", lambda m: m.rmsprop(1e-2, centered=True, momentum=0.9), False),
    ("rmsprop_bias_correction", lambda m: m.rmsprop(1e-2, bias_correction=True, eps_in_sqrt=False), False),
    ("lamb", lambda m: m.lamb(1e-2, weight_decay=0.01), False),
    ("lars", lambda m: m.lars(1e-2, weight_decay=0.01), False),
    ("lion", lambda m: m.lion(1e-3), False),
    ("novograd", lambda m: m.novograd(1e-2, weight_decay=0.01), False),
    ("yogi", lambda m: m.yogi(1e-2), False),
    ("sm3", lambda m: m.sm3(1e-2), False),
    ("fromage", lambda m: m.fromage(1e-2), False),
    ("polyak_sgd", lambda m: m.polyak_sgd(max_learning_rate=1.0), True),
    ("optimistic_gradient_descent", lambda m: m.optimistic_gradient_descent(1e-2), False),
    ("optimistic_adam_v2", lambda m: m.optimistic_adam_v2(1e-2), False),
    ("rprop", lambda m: m.rprop(1e-2), False),
    ("noisy_sgd", lambda m: m.noisy_sgd(1e-2, key=3), False),
    ("clip_chain", lambda m: m.chain(m.clip_by_global_norm(1.0), m.clip(0.3), m.adamw(1e-2)), False),
    ("centralize_agc", lambda m: m.chain(m.adaptive_grad_clip(0.5), m.centralize(), m.sgd(0.1)), False),
    ("block_rms_trust", lambda m: m.chain(m.clip_by_block_rms(0.5), m.scale_by_trust_ratio(), m.scale(-0.1)), False),
    ("normalize_param_block", lambda m: m.chain(m.normalize_by_update_norm(), m.scale_by_param_block_norm(),
                                                m.scale_by_param_block_rms(), m.scale(-0.1)), False),
    ("ema_trace", lambda m: m.chain(m.ema(0.9), m.trace(0.5, nesterov=True), m.scale(-0.1)), False),
    ("keep_nonneg", lambda m: m.chain(m.sgd(1.0), m.keep_params_nonnegative()), False),
    ("zero_nans", lambda m: m.chain(m.zero_nans(), m.sgd(0.1)), False),
    ("apply_every", lambda m: m.chain(m.apply_every(2), m.sgd(0.1)), False),
    ("multi_steps", lambda m: m.MultiSteps(m.adam(1e-2), every_k_schedule=2).gradient_transformation(), False),
    ("partition",
     lambda m: m.partition({"a": m.adam(1e-2), "s": m.sgd(0.1)}, {"w": "a", "b": "s", "conv": "a"}), False),
    ("masked", lambda m: m.masked(m.adam(1e-2), {"w": True, "b": False, "conv": False}), False),
    ("apply_if_finite", lambda m: m.apply_if_finite(m.adam(1e-2), 2), False),
    ("flatten", lambda m: m.flatten(m.adam(1e-2)), False),
    ("inject_hyperparams",
     lambda m: m.inject_hyperparams(m.adamw)(learning_rate=_sched(m.schedules), weight_decay=0.1), False),
    ("schedule_free_sgd", lambda m: m.contrib.schedule_free_sgd(0.5, warmup_steps=2, weight_decay=0.01), False),
    ("schedule_free_adamw", lambda m: m.contrib.schedule_free_adamw(1e-2, warmup_steps=2, weight_decay=0.01), False),
]


@pytest.mark.parametrize("name,factory,needs_value", CASES, ids=[c[0] for c in CASES])
def test_optimizer_matches_optax(name, factory, needs_value):
    rng = np.random.default_rng(0)
    params = _params(rng)
    if name == "keep_nonneg":
        params = {k: np.abs(v) * 0.1 for k, v in params.items()}
    grads = _grads(rng, params)
    if name == "zero_nans":
        grads[1]["b"][0] = np.nan
    values = [float(v) for v in rng.uniform(1.0, 2.0, size=STEPS)]
    ours, our_state, our_params = _run("ember", factory(eo), params, grads, values, needs_value)
    theirs, their_state, their_params = _run("optax", factory(optax), params, grads, values, needs_value)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=RTOL, atol=ATOL, err_msg=f"{name}: step {step}, leaf {k}")
    for k in our_params:
        np.testing.assert_allclose(our_params[k], their_params[k], rtol=RTOL, atol=ATOL, err_msg=f"{name}: params {k}")


def test_adam_state_structure_matches_optax():
    rng = np.random.default_rng(1)
    params = _params(rng)
    grads = _grads(rng, params)
    _, ours, _ = _run("ember", eo.adam(1e-2), params, grads, [0.0] * STEPS, False)
    _, theirs, _ = _run("optax", optax.adam(1e-2), params, grads, [0.0] * STEPS, False)
    assert type(ours[0]).__name__ == type(theirs[0]).__name__ == "ScaleByAdamState"
    assert int(ours[0].count) == int(theirs[0].count) == STEPS
    for field in ("mu", "nu"):
        for k in params:
            np.testing.assert_allclose(np.asarray(getattr(ours[0], field)[k]), np.asarray(getattr(theirs[0], field)[k]),
                                       rtol=RTOL, atol=ATOL)
    assert len(ec.tree.leaves(ours)) == len(jax.tree.leaves(theirs))


def test_muon_matches_optax_on_matrices():
    rng = np.random.default_rng(2)
    params = {"w": rng.normal(size=(6, 4)).astype(np.float32), "v": rng.normal(size=(4, 7)).astype(np.float32),
              "b": rng.normal(size=(4,)).astype(np.float32)}
    grads = _grads(rng, params)
    ours, _, _ = _run("ember", eo.muon(0.02, weight_decay=0.01), params, grads, [0.0] * STEPS, False)
    theirs, _, _ = _run("optax", optax.contrib.muon(0.02, weight_decay=0.01), params, grads, [0.0] * STEPS, False)
    for a, b in zip(ours, theirs):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=2e-4, atol=2e-5, err_msg=k)


SCHEDULES = [
    ("constant", lambda s: s.constant_schedule(0.3)),
    ("linear", lambda s: s.linear_schedule(1.0, 0.1, 10, transition_begin=3)),
    ("polynomial", lambda s: s.polynomial_schedule(1.0, 0.1, 2.0, 10)),
    ("cosine", lambda s: s.cosine_decay_schedule(1.0, 12, alpha=0.1, exponent=2.0)),
    ("warmup_cosine", lambda s: s.warmup_cosine_decay_schedule(0.0, 1.0, 4, 20, end_value=0.1)),
    ("exponential", lambda s: s.exponential_decay(1.0, 3, 0.5, transition_begin=2, staircase=True, end_value=0.1)),
    ("piecewise_constant", lambda s: s.piecewise_constant_schedule(1.0, {3: 0.5, 8: 0.1})),
    ("piecewise_interpolate", lambda s: s.piecewise_interpolate_schedule("cosine", 1.0, {3: 0.5, 8: 0.1})),
    ("cosine_onecycle", lambda s: s.cosine_onecycle_schedule(20, 1.0)),
    ("linear_onecycle", lambda s: s.linear_onecycle_schedule(20, 1.0)),
    ("warmup_exponential", lambda s: s.warmup_exponential_decay_schedule(0.0, 1.0, 3, 4, 0.5)),
    ("sgdr", lambda s: s.sgdr_schedule([dict(init_value=0.0, peak_value=1.0, warmup_steps=2, decay_steps=8)] * 2)),
    ("warmup_constant", lambda s: s.warmup_constant_schedule(0.0, 1.0, 5)),
]


@pytest.mark.parametrize("name,make", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_matches_optax(name, make):
    ours, theirs = make(eo.schedules), make(optax.schedules)
    for count in range(25):
        np.testing.assert_allclose(np.asarray(ours(enp.asarray(count))), np.asarray(theirs(jnp.asarray(count))),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{name} at {count}")


LOSSES = [
    ("softmax_cross_entropy", lambda L, x, y, i: L.softmax_cross_entropy(x, y)),
    ("softmax_cross_entropy_where", lambda L, x, y, i: L.softmax_cross_entropy(x, y, where=x > -0.5)),
    ("softmax_ce_integer", lambda L, x, y, i: L.softmax_cross_entropy_with_integer_labels(x, i)),
    ("softmax_ce_integer_axis0", lambda L, x, y, i: L.softmax_cross_entropy_with_integer_labels(x.T, i, axis=0)),
    ("safe_softmax_cross_entropy", lambda L, x, y, i: L.safe_softmax_cross_entropy(x, y)),
    ("sigmoid_bce", lambda L, x, y, i: L.sigmoid_binary_cross_entropy(x, y)),
    ("sigmoid_focal", lambda L, x, y, i: L.sigmoid_focal_loss(x, y, alpha=0.25)),
    ("l2", lambda L, x, y, i: L.l2_loss(x, y)),
    ("squared_error", lambda L, x, y, i: L.squared_error(x, y)),
    ("huber", lambda L, x, y, i: L.huber_loss(x, y, delta=0.5)),
    ("log_cosh", lambda L, x, y, i: L.log_cosh(x, y)),
    ("hinge", lambda L, x, y, i: L.hinge_loss(x, 2 * y - 1)),
    ("multiclass_hinge", lambda L, x, y, i: L.multiclass_hinge_loss(x, i)),
    ("cosine_similarity", lambda L, x, y, i: L.cosine_similarity(x, y, epsilon=1e-8)),
    ("cosine_distance", lambda L, x, y, i: L.cosine_distance(x, y, epsilon=1e-8)),
    ("kl", lambda L, x, y, i: L.kl_divergence(x - 3.0, y)),
    ("kl_log_targets", lambda L, x, y, i: L.kl_divergence_with_log_targets(x - 3.0, y - 2.0)),
    ("generalized_kl", lambda L, x, y, i: L.generalized_kl_divergence(x - 3.0, y)),
    ("smooth_labels", lambda L, x, y, i: L.smooth_labels(y, 0.1)),
    ("ranking_softmax", lambda L, x, y, i: L.ranking_softmax_loss(x, y)),
    ("poly_loss", lambda L, x, y, i: L.poly_loss_cross_entropy(x, y)),
]


@pytest.mark.parametrize("name,fn", LOSSES, ids=[entry[0] for entry in LOSSES])
def test_loss_matches_optax(name, fn):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4)).astype(np.float32)
    y = rng.uniform(size=(5, 4)).astype(np.float32)
    y = y / y.sum(-1, keepdims=True)
    i = rng.integers(0, 4, size=(5,)).astype(np.int32)
    ours = fn(eo.losses, enp.asarray(x), enp.asarray(y), enp.asarray(i))
    theirs = fn(optax.losses, jnp.asarray(x), jnp.asarray(y), jnp.asarray(i))
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)


def test_ctc_loss_matches_optax():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(2, 6, 4)).astype(np.float32)
    logit_paddings = np.zeros((2, 6), np.float32)
    logit_paddings[1, 4:] = 1.0
    labels = np.asarray([[1, 2, 2], [3, 1, 0]], np.int32)
    label_paddings = np.asarray([[0, 0, 0], [0, 0, 1]], np.float32)
    ours = eo.losses.ctc_loss(*(enp.asarray(a) for a in (logits, logit_paddings, labels, label_paddings)))
    theirs = optax.losses.ctc_loss(*(jnp.asarray(a) for a in (logits, logit_paddings, labels, label_paddings)))
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-5)


def test_tree_utils_match_optax():
    rng = np.random.default_rng(5)
    a = {"x": rng.normal(size=(3,)).astype(np.float32), "y": [rng.normal(size=(2, 2)).astype(np.float32)]}
    b = {"x": rng.normal(size=(3,)).astype(np.float32), "y": [rng.normal(size=(2, 2)).astype(np.float32)]}
    ea, eb = ec.tree.map(enp.asarray, a), ec.tree.map(enp.asarray, b)
    ja, jb = jax.tree.map(jnp.asarray, a), jax.tree.map(jnp.asarray, b)
    tu, otu = eo.tree_utils, optax.tree_utils
    for ours, theirs in [
        (tu.tree_norm(ea), otu.tree_norm(ja)),
        (tu.tree_norm(ea, ord=1), otu.tree_norm(ja, ord=1)),
        (tu.tree_norm(ea, ord="inf"), otu.tree_norm(ja, ord="inf")),
        (tu.tree_vdot(ea, eb), otu.tree_vdot(ja, jb)),
        (tu.tree_sum(ea), otu.tree_sum(ja)),
        (tu.tree_max(ea), otu.tree_max(ja)),
        (eo.global_norm(ea), optax.tree.norm(ja)),
    ]:
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(tu.tree_add_scale(ea, 0.5, eb)["x"]),
                               np.asarray(otu.tree_add_scale(ja, 0.5, jb)["x"]), rtol=1e-6)
