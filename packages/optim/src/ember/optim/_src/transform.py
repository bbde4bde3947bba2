"""The ``scale_by_*`` transformations: each rescales the updates by some statistic of the
gradients (moments, norms, signs) or of the parameters. Every optimizer in ``alias.py`` is a
short chain of these."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import ember.core.numpy as jnp
from ember.core import lax
from ember.core import tree as _tree
from ember.optim._src import base, hyperparams, numerics, utils
from ember.optim._src import tree_utils as otu
from ember.optim._src.utils import check_state, tree_map

abs_sq = numerics.abs_sq
ArrayLike = Any


def _zeros(params: Any, dtype: Any = None) -> Any:
    return otu.tree_zeros_like(params, dtype=dtype)


def _count0() -> Any:
    return jnp.zeros([], jnp.int32)


def _reject_complex(params: Any, name: str) -> None:
    for path, x in _tree.flatten_with_path(params)[0]:
        if jnp.iscomplexobj(x):
            raise ValueError(f"{name} does not support complex parameters (leaf {_tree.keystr(path)})")


def _nesterov_mu_hat(mu: Any, updates: Any, b1: ArrayLike, count_inc: Any) -> Any:
    """NAdam's look-ahead first moment: ``b1 * mu_hat(t+1) + (1 - b1) * g_hat(t)``."""
    return tree_map(lambda m, g: b1 * m + (1 - b1) * g,
                    otu.tree_bias_correction(mu, b1, numerics.safe_increment(count_inc)),
                    otu.tree_bias_correction(updates, b1, count_inc))


# ------------------------------------------------------------------------------ plain scaling

def scale(step_size: ArrayLike) -> base.GradientTransformation:
    """Multiply updates by a fixed ``step_size``.

    >>> import ember.optim as eo
    >>> import ember.core.numpy as jnp
    >>> eo.scale(-0.5).update({"w": jnp.asarray(2.0)}, eo.EmptyState())[0]["w"].tolist()
    -1.0
    """

    def update_fn(updates, state, params=None):
        del params
        return _scale(step_size)(updates), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


@utils.kernel
def _scale(step_size: ArrayLike):
    return lambda updates: tree_map(lambda g: step_size * g, updates)


class ScaleByScheduleState(NamedTuple):
    """Step count of :func:`scale_by_schedule`.

    >>> import ember.optim as eo
    >>> eo.ScaleByScheduleState._fields
    ('count',)
    """

    count: Any


def scale_by_schedule(step_size_fn: base.Schedule) -> base.GradientTransformation:
    """Multiply updates by ``step_size_fn(count)``; ``count`` is the number of updates so far.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> tx = eo.scale_by_schedule(lambda count: 1.0 / (count + 1))
    >>> state = tx.init(None)
    >>> u, state = tx.update({"w": jnp.ones(1)}, state)
    >>> u, state = tx.update({"w": jnp.ones(1)}, state)
    >>> u["w"].tolist()
    [0.5]
    """

    def init_fn(params):
        del params
        return ScaleByScheduleState(count=_count0())

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByScheduleState, "scale_by_schedule")
        step_size = hyperparams.schedule_value(step_size_fn, state.count, "step_size_fn")
        updates = tree_map(lambda g: step_size.astype(g.dtype) * g, updates)
        return updates, ScaleByScheduleState(count=numerics.safe_increment(state.count))

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByLearningRateState(NamedTuple):
    """State of :func:`scale_by_learning_rate` given an **array**: the learning rate itself,
    read by every update; change it with ``ember.optim.set_hyperparams``.

    >>> import ember.optim as eo
    >>> eo.ScaleByLearningRateState._fields
    ('learning_rate',)
    """

    learning_rate: Any
    _ember_hyperparams = ("learning_rate",)
    _ember_settable = True


class LearningRateScheduleState(NamedTuple):
    """State of :func:`scale_by_learning_rate` given a **schedule**: the step count (as Optax's
    ``ScaleByScheduleState.count``) and the learning rate used by the most recent update.

    >>> import ember.optim as eo
    >>> eo.LearningRateScheduleState._fields
    ('count', 'learning_rate')
    """

    count: Any
    learning_rate: Any
    _ember_hyperparams = ("learning_rate",)
    _ember_settable = False


@utils.kernel
def _scale_by_array_kernel():
    return lambda step, updates: tree_map(lambda g: (step if step.dtype == g.dtype else step.astype(g.dtype)) * g,
                                          updates)


def _scale_by_array(step: Any, updates: Any) -> Any:
    return _scale_by_array_kernel()(jnp.asarray(step), updates)


def scale_by_learning_rate(learning_rate: base.ScalarOrSchedule | None = None, *,
                           flip_sign: bool = True) -> base.GradientTransformation:
    """Multiply updates by ``-learning_rate`` (``+learning_rate`` with ``flip_sign=False``).

    - a **number** is a constant of the compiled program (state: ``EmptyState()``, as Optax);
    - an **array** lives in the state (``ScaleByLearningRateState``): read it with
      ``ember.optim.hyperparams(state)``, change it with ``ember.optim.set_hyperparams`` without
      recompiling a jitted step;
    - a **schedule** ``f(count)``: the state holds the count and the last learning rate
      (``LearningRateScheduleState``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> tx = eo.scale_by_learning_rate(0.1)
    >>> tx.update({"w": jnp.ones(1)}, tx.init(None))[0]["w"].tolist()
    [-0.10000000149011612]
    """
    if learning_rate is None:
        return base.identity()
    m = -1 if flip_sign else 1
    kind = hyperparams.kind_of(learning_rate)
    if kind == "static":
        return scale(m * learning_rate)

    if kind == "array":
        def init_fn(params):
            del params
            return ScaleByLearningRateState(learning_rate=hyperparams.to_state_value(learning_rate, "learning_rate"))

        def update_fn(updates, state, params=None):
            del params
            check_state(state, ScaleByLearningRateState, "scale_by_learning_rate")
            return _scale_by_array(m * state.learning_rate, updates), state

        return base.GradientTransformation(init_fn, update_fn)

    def init_sched(params):
        del params
        count = _count0()
        value = hyperparams.schedule_value(learning_rate, count, "learning_rate")
        return LearningRateScheduleState(count=count, learning_rate=hyperparams.to_state_value(value, "learning_rate"))

    def update_sched(updates, state, params=None):
        del params
        check_state(state, LearningRateScheduleState, "scale_by_learning_rate")
        value = hyperparams.schedule_value(learning_rate, state.count, "learning_rate")
        updates = _scale_by_array(m * value, updates)
        value = hyperparams.to_state_value(value, "learning_rate").astype(state.learning_rate.dtype)
        return updates, LearningRateScheduleState(count=numerics.safe_increment(state.count), learning_rate=value)

    return base.GradientTransformation(init_sched, update_sched)


def scale_by_sign() -> base.GradientTransformation:
    """Replace each update by its sign (signSGD).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_sign()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.0000', '-1.0000']
    """

    def update_fn(updates, state, params=None):
        del params
        return tree_map(jnp.sign, updates), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def scale_by_param_block_norm(min_scale: ArrayLike = 1e-3) -> base.GradientTransformation:
    """Multiply each update by the l2 norm of its parameter block (at least ``min_scale``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_param_block_norm()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.1180', '-1.1180']
    """

    def update_fn(updates, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        return tree_map(lambda u, p: u * numerics.safe_norm(p, min_scale), updates, params,
                        names=("updates", "params")), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def scale_by_param_block_rms(min_scale: ArrayLike = 1e-3) -> base.GradientTransformation:
    """Multiply each update by the root-mean-square of its parameter block (at least ``min_scale``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_param_block_rms()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.7906', '-0.7906']
    """

    def update_fn(updates, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        return tree_map(lambda u, p: u * numerics.safe_root_mean_squares(p, min_scale), updates, params,
                        names=("updates", "params")), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def scale_by_trust_ratio(min_norm: ArrayLike = 0.0, trust_coefficient: ArrayLike = 1.0,
                         eps: ArrayLike = 0.0) -> base.GradientTransformation:
    """Layer-wise trust ratio (LARS/LAMB): ``u * trust_coefficient * ||p|| / (||u|| + eps)``,
    1 where either norm is zero.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_trust_ratio()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.5811', '-1.5811']
    """

    def update_fn(updates, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)

        def _scale(update, param):
            param_norm = numerics.safe_norm(param, min_norm)
            update_norm = numerics.safe_norm(update, min_norm)
            ratio = trust_coefficient * param_norm / (update_norm + eps)
            zero_norm = jnp.logical_or(param_norm == 0.0, update_norm == 0.0)
            return update * jnp.where(zero_norm, jnp.asarray(1.0, dtype=param.dtype), ratio)

        return tree_map(_scale, updates, params, names=("updates", "params")), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def centralize() -> base.GradientTransformation:
    """Gradient centralisation: subtract from each update of rank > 1 its mean over all axes but
    the first.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.centralize()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.5000', '-0.5000']
    """

    def _centralize(g):
        if g.ndim > 1:
            return g - g.mean(tuple(range(1, g.ndim)), keepdims=True)
        return g

    def update_fn(updates, state, params=None):
        del params
        return tree_map(_centralize, updates), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def normalize_by_update_norm(scale_factor: ArrayLike = 1.0, eps: ArrayLike = 1e-6) -> base.GradientTransformation:
    """Divide updates by their global l2 norm: ``u * scale_factor / (||u|| + eps)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.normalize_by_update_norm()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.7071', '-0.7071']
    """

    def update_fn(updates, state, params=None):
        del params
        g_norm = (otu.tree_norm(updates) + eps) / scale_factor
        return tree_map(lambda g: g / g_norm, updates), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


# ----------------------------------------------------------------------------- second moments

class ScaleByRssState(NamedTuple):
    """State of ``scale_by_rss``: the running sum of squared gradients.

    >>> import ember.optim as eo
    >>> eo.ScaleByRssState._fields
    ('sum_of_squares',)
    """
    sum_of_squares: Any


def scale_by_rss(initial_accumulator_value: ArrayLike = 0.1, eps: ArrayLike = 1e-7) -> base.GradientTransformation:
    """AdaGrad's scaling: divide by the root of the sum of all past squared gradients.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_rss()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.8452', '-0.8452']
    """

    def init_fn(params):
        return ScaleByRssState(sum_of_squares=otu.tree_full_like(params, initial_accumulator_value))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByRssState, "scale_by_rss")
        sum_of_squares = tree_map(lambda g, t: abs_sq(g) + t, updates, state.sum_of_squares,
                                  names=("updates", "state.sum_of_squares"))
        updates = tree_map(lambda t, g: jnp.where(t > 0, lax.rsqrt(t + eps), 0.0) * g, sum_of_squares, updates)
        return updates, ScaleByRssState(sum_of_squares=sum_of_squares)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByRmsState(NamedTuple):
    """State of ``scale_by_rms``: the running average of squared gradients ``nu``.

    >>> import ember.optim as eo
    >>> eo.ScaleByRmsState._fields
    ('nu',)
    """
    nu: Any


class ScaleByRmsWithCountState(NamedTuple):
    """State of ``scale_by_rms(bias_correction=True)``: step ``count`` and ``nu``.

    >>> import ember.optim as eo
    >>> eo.ScaleByRmsWithCountState._fields
    ('count', 'nu')
    """
    count: Any
    nu: Any


def _inv_sqrt(eps: ArrayLike, eps_in_sqrt: bool):
    if eps_in_sqrt:
        return lambda n: lax.rsqrt(n + eps)
    return lambda n: 1 / (jnp.sqrt(n) + eps)


def scale_by_rms(decay: ArrayLike = 0.9, eps: ArrayLike = 1e-8, initial_scale: ArrayLike = 0.0,
                 eps_in_sqrt: bool = True, bias_correction: bool = False) -> base.GradientTransformation:
    """RMSProp's scaling: divide by the root of an EMA of squared gradients.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_rms()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['3.1623', '-3.1623']
    """
    inv = _inv_sqrt(eps, eps_in_sqrt)
    cls = ScaleByRmsWithCountState if bias_correction else ScaleByRmsState

    def init_fn(params):
        nu = otu.tree_full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRmsWithCountState(count=_count0(), nu=nu)
        return ScaleByRmsState(nu=nu)

    def update_fn(updates, state, params=None):
        del params
        check_state(state, cls, "scale_by_rms")
        nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, decay, 2)
        if bias_correction:
            count_inc = numerics.safe_increment(state.count)
            nu_hat = otu.tree_bias_correction(nu, decay, count_inc)
        else:
            nu_hat = nu
        updates = tree_map(lambda n, g: inv(n) * g, nu_hat, updates)
        if bias_correction:
            return updates, ScaleByRmsWithCountState(count=count_inc, nu=nu)
        return updates, ScaleByRmsState(nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByRStdDevState(NamedTuple):
    """State of ``scale_by_stddev``: first moment ``mu`` and second moment ``nu``.

    >>> import ember.optim as eo
    >>> eo.ScaleByRStdDevState._fields
    ('mu', 'nu')
    """
    mu: Any
    nu: Any


class ScaleByRStdDevWithCountState(NamedTuple):
    """State of ``scale_by_stddev(bias_correction=True)``: step ``count``, ``mu`` and ``nu``.

    >>> import ember.optim as eo
    >>> eo.ScaleByRStdDevWithCountState._fields
    ('count', 'mu', 'nu')
    """
    count: Any
    mu: Any
    nu: Any


def scale_by_stddev(decay: ArrayLike = 0.9, eps: ArrayLike = 1e-8, initial_scale: ArrayLike = 0.0,
                    eps_in_sqrt: bool = True, bias_correction: bool = False) -> base.GradientTransformation:
    """Centered RMSProp's scaling: divide by the root of the EMA variance ``E[g^2] - E[g]^2``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_stddev()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['3.3333', '-3.3333']
    """
    inv = _inv_sqrt(eps, eps_in_sqrt)
    cls = ScaleByRStdDevWithCountState if bias_correction else ScaleByRStdDevState

    def init_fn(params):
        mu = _zeros(params)
        nu = otu.tree_full_like(params, initial_scale)
        if bias_correction:
            return ScaleByRStdDevWithCountState(count=_count0(), mu=mu, nu=nu)
        return ScaleByRStdDevState(mu=mu, nu=nu)

    def update_fn(updates, state, params=None):
        del params
        check_state(state, cls, "scale_by_stddev")
        mu = otu.tree_update_moment(updates, state.mu, decay, 1)
        nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, decay, 2)
        if bias_correction:
            count_inc = numerics.safe_increment(state.count)
            mu_hat = otu.tree_bias_correction(mu, decay, count_inc)
            nu_hat = otu.tree_bias_correction(nu, decay, count_inc)
        else:
            mu_hat, nu_hat = mu, nu
        updates = tree_map(lambda m, n, g: inv(n - abs_sq(m)) * g, mu_hat, nu_hat, updates)
        if bias_correction:
            return updates, ScaleByRStdDevWithCountState(count=count_inc, mu=mu, nu=nu)
        return updates, ScaleByRStdDevState(mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


# --------------------------------------------------------------------------------- Adam family

class ScaleByAdamState(NamedTuple):
    """State of Adam-like transforms: step ``count``, first moment ``mu``, second moment ``nu``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> state = eo.adam(1e-3).init({"w": jnp.zeros(2)})
    >>> state[0]._fields, int(state[0].count), state[0].mu["w"].tolist()
    (('count', 'mu', 'nu'), 0, [0.0, 0.0])
    """

    count: Any
    mu: Any
    nu: Any


def scale_by_adam(b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8, eps_root: ArrayLike = 0.0,
                  mu_dtype: Any | None = None, *, nesterov: bool = False) -> base.GradientTransformation:
    """Adam's scaling (Kingma & Ba 2014): with ``m = EMA_b1(g)``, ``v = EMA_b2(g^2)`` and their
    bias corrections ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``, the update is
    ``m_hat / (sqrt(v_hat + eps_root) + eps)``. ``nesterov=True`` is NAdam (Dozat 2016):
    ``m_hat = b1 * m / (1 - b1^(t+1)) + (1 - b1) * g / (1 - b1^t)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> tx = eo.scale_by_adam()
    >>> u, _ = tx.update({"w": jnp.asarray([2.0])}, tx.init({"w": jnp.zeros(1)}))
    >>> round(float(u["w"][0]), 4)   # the first Adam step is sign(g) (up to eps)
    1.0
    """
    mu_dtype = utils.canonicalize_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByAdamState(count=_count0(), mu=_zeros(params, mu_dtype), nu=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByAdamState, "scale_by_adam")
        updates, count_inc, mu, nu = _adam(b1, b2, eps, eps_root, mu_dtype, nesterov)(
            updates, state.count, state.mu, state.nu)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


@utils.kernel
def _adam(b1, b2, eps, eps_root, mu_dtype, nesterov):
    def f(updates, count, mu, nu):
        new_mu = otu.tree_update_moment(updates, mu, b1, 1)
        new_nu = otu.tree_update_moment_per_elem_norm(updates, nu, b2, 2)
        count_inc = numerics.safe_increment(count)
        if nesterov:
            mu_hat = _nesterov_mu_hat(new_mu, updates, b1, count_inc)
        else:
            mu_hat = otu.tree_bias_correction(new_mu, b1, count_inc)
        nu_hat = otu.tree_bias_correction(new_nu, b2, count_inc)
        updates = tree_map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return updates, count_inc, otu.tree_cast(new_mu, mu_dtype), otu.tree_cast_like(new_nu, nu)
    return f


class ScaleByAmsgradState(NamedTuple):
    """State of ``scale_by_amsgrad``: Adam's ``count``, ``mu``, ``nu`` and the running maximum ``nu_max``.

    >>> import ember.optim as eo
    >>> eo.ScaleByAmsgradState._fields
    ('count', 'mu', 'nu', 'nu_max')
    """
    count: Any
    mu: Any
    nu: Any
    nu_max: Any


def scale_by_amsgrad(b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8, eps_root: ArrayLike = 0.0,
                     mu_dtype: Any | None = None, bias_correction_mu: bool = True,
                     bias_correction_nu: bool = True) -> base.GradientTransformation:
    """AMSGrad (Reddi et al. 2018): Adam whose denominator uses the running maximum of ``v_hat``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_amsgrad()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.0000', '-1.0000']
    """
    mu_dtype = utils.canonicalize_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByAmsgradState(count=_count0(), mu=_zeros(params, mu_dtype), nu=_zeros(params),
                                   nu_max=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByAmsgradState, "scale_by_amsgrad")
        mu = otu.tree_update_moment(updates, state.mu, b1, 1)
        nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count_inc = numerics.safe_increment(state.count)
        mu_hat = otu.tree_bias_correction(mu, b1, count_inc) if bias_correction_mu else mu
        nu_eff = otu.tree_bias_correction(nu, b2, count_inc) if bias_correction_nu else nu
        nu_max = tree_map(jnp.maximum, state.nu_max, nu_eff)
        updates = tree_map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_max)
        return updates, ScaleByAmsgradState(count=count_inc, mu=otu.tree_cast(mu, mu_dtype), nu=nu, nu_max=nu_max)

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_adamax(b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8) -> base.GradientTransformation:
    """Adamax (Kingma & Ba 2014, sec. 7): ``m_hat / u`` with ``u = max(|g| + eps, b2 * u)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_adamax()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.0000', '-1.0000']
    """

    def init_fn(params):
        return ScaleByAdamState(count=_count0(), mu=_zeros(params), nu=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByAdamState, "scale_by_adamax")
        count_inc = numerics.safe_increment(state.count)
        mu = otu.tree_update_moment(updates, state.mu, b1, 1)
        nu = otu.tree_update_infinity_moment(updates, state.nu, b2, eps)
        mu_hat = otu.tree_bias_correction(mu, b1, count_inc)
        return tree_map(lambda m, v: m / v, mu_hat, nu), ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByBeliefState(NamedTuple):
    """State of ``scale_by_belief``: step ``count``, first moment ``mu``, belief (variance of the gradient around ``mu``) ``nu``.

    >>> import ember.optim as eo
    >>> eo.ScaleByBeliefState._fields
    ('count', 'mu', 'nu')
    """
    count: Any
    mu: Any
    nu: Any


def scale_by_belief(b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-16, eps_root: ArrayLike = 1e-16,
                    *, nesterov: bool = False) -> base.GradientTransformation:
    """AdaBelief (Zhuang et al. 2020): Adam whose second moment is the EMA of ``(g - m)^2 + eps_root``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_belief()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.1111', '-1.1111']
    """

    def init_fn(params):
        return ScaleByBeliefState(count=_count0(), mu=_zeros(params), nu=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByBeliefState, "scale_by_belief")
        mu = otu.tree_update_moment(updates, state.mu, b1, 1)
        prediction_error = otu.tree_sub(updates, mu)
        nu = otu.tree_update_moment_per_elem_norm(prediction_error, state.nu, b2, 2)
        nu = tree_map(lambda v: v + eps_root, nu)
        count_inc = numerics.safe_increment(state.count)
        if nesterov:
            mu_hat = _nesterov_mu_hat(mu, updates, b1, count_inc)
        else:
            mu_hat = otu.tree_bias_correction(mu, b1, count_inc)
        nu_hat = otu.tree_bias_correction(nu, b2, count_inc)
        updates = tree_map(lambda m, v: m / (jnp.sqrt(v) + eps), mu_hat, nu_hat)
        return updates, ScaleByBeliefState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_yogi(b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-3, eps_root: ArrayLike = 0.0,
                  initial_accumulator_value: ArrayLike = 1e-6) -> base.GradientTransformation:
    """Yogi (Zaheer et al. 2018): additive second-moment update ``v - (1-b2) sign(v - g^2) g^2``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_yogi()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.9960', '-0.9960']
    """

    def init_fn(params):
        return ScaleByAdamState(count=_count0(), mu=otu.tree_full_like(params, initial_accumulator_value),
                                nu=otu.tree_full_like(params, initial_accumulator_value))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByAdamState, "scale_by_yogi")
        mu = otu.tree_update_moment(updates, state.mu, b1, 1)
        nu = tree_map(lambda g, v: v - (1 - b2) * jnp.sign(v - abs_sq(g)) * abs_sq(g), updates, state.nu,
                      names=("updates", "state.nu"))
        count_inc = numerics.safe_increment(state.count)
        mu_hat = otu.tree_bias_correction(mu, b1, count_inc)
        nu_hat = otu.tree_bias_correction(nu, b2, count_inc)
        updates = tree_map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_radam(b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8, eps_root: ArrayLike = 0.0,
                   threshold: ArrayLike = 5.0, *, nesterov: bool = False) -> base.GradientTransformation:
    """Rectified Adam (Liu et al. 2020): momentum SGD while the variance estimate is unreliable
    (``rho_t < threshold``), then Adam rescaled by ``r_t``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_radam()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.5000', '-0.5000']
    """
    ro_inf = 2.0 / (1.0 - b2) - 1.0

    def init_fn(params):
        return ScaleByAdamState(count=_count0(), mu=_zeros(params), nu=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByAdamState, "scale_by_radam")
        mu = otu.tree_update_moment(updates, state.mu, b1, 1)
        nu = otu.tree_update_moment_per_elem_norm(updates, state.nu, b2, 2)
        count_inc = numerics.safe_increment(state.count)
        b2t = b2 ** count_inc
        ro = ro_inf - 2 * count_inc * b2t / (1 - b2t)
        if nesterov:
            mu_hat = _nesterov_mu_hat(mu, updates, b1, count_inc)
        else:
            mu_hat = otu.tree_bias_correction(mu, b1, count_inc)
        nu_hat = otu.tree_bias_correction(nu, b2, count_inc)
        r = jnp.sqrt((ro - 4.0) * (ro - 2.0) * ro_inf / ((ro_inf - 4.0) * (ro_inf - 2.0) * ro))
        rectified = tree_map(lambda m, v: r.astype(m.dtype) * m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        updates = tree_map(lambda t, f: jnp.where(ro >= threshold, t, f), rectified, mu_hat)
        return updates, ScaleByAdamState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByLionState(NamedTuple):
    """State of ``scale_by_lion``: step ``count`` and momentum ``mu``.

    >>> import ember.optim as eo
    >>> eo.ScaleByLionState._fields
    ('count', 'mu')
    """
    count: Any
    mu: Any


def scale_by_lion(b1: ArrayLike = 0.9, b2: ArrayLike = 0.99, mu_dtype: Any | None = None, *,
                  mode: Literal["hard", "smooth", "refined"] = "hard",
                  smooth_beta: float = 1.0) -> base.GradientTransformation:
    """Lion (Chen et al. 2023): ``sign((1 - b1) g + b1 m)``, then ``m = EMA_b2(g)``.
    ``mode='smooth'`` uses ``tanh(smooth_beta * x)``, ``'refined'`` keeps ``|x| < 1`` unchanged.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_lion()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.0000', '-1.0000']
    """
    mu_dtype = utils.canonicalize_dtype(mu_dtype)
    if mode not in ("hard", "smooth", "refined"):
        raise ValueError(f"Unknown lion mode: {mode!r}; use 'hard', 'smooth' or 'refined'")

    def _comb(g, m):
        x = (1.0 - b1) * g + b1 * m
        if mode == "hard":
            return jnp.sign(x)
        if mode == "smooth":
            return jnp.tanh(smooth_beta * x)
        return jnp.where(jnp.abs(x) < 1.0, x, jnp.sign(x))

    def init_fn(params):
        return ScaleByLionState(count=_count0(), mu=_zeros(params, mu_dtype))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByLionState, "scale_by_lion")
        new_updates = tree_map(_comb, updates, state.mu, names=("updates", "state.mu"))
        mu = otu.tree_cast(otu.tree_update_moment(updates, state.mu, b2, 1), mu_dtype)
        return new_updates, ScaleByLionState(count=numerics.safe_increment(state.count), mu=mu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByAdaDeltaState(NamedTuple):
    """State of ``scale_by_adadelta``: running averages of squared gradients ``e_g`` and squared updates ``e_x``.

    >>> import ember.optim as eo
    >>> eo.ScaleByAdaDeltaState._fields
    ('e_g', 'e_x')
    """
    e_g: Any
    e_x: Any


def scale_by_adadelta(rho: ArrayLike = 0.9, eps: ArrayLike = 1e-6) -> base.GradientTransformation:
    """AdaDelta (Zeiler 2012): ``sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_adadelta()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.0032', '-0.0032']
    """

    def init_fn(params):
        return ScaleByAdaDeltaState(e_g=_zeros(params), e_x=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByAdaDeltaState, "scale_by_adadelta")
        e_g = otu.tree_update_moment(updates, state.e_g, rho, 2)
        updates = tree_map(lambda g, cur_e_g, prev_e_x: jnp.sqrt(prev_e_x + eps) / jnp.sqrt(cur_e_g + eps) * g,
                           updates, e_g, state.e_x)
        e_x = otu.tree_update_moment(updates, state.e_x, rho, 2)
        return updates, ScaleByAdaDeltaState(e_g=e_g, e_x=e_x)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByAdanState(NamedTuple):
    """State of ``scale_by_adan``: the three moments ``m``, ``v``, ``n``, the previous gradient ``g`` and the step ``t``.

    >>> import ember.optim as eo
    >>> eo.ScaleByAdanState._fields
    ('m', 'v', 'n', 'g', 't')
    """
    m: Any
    v: Any
    n: Any
    g: Any
    t: Any


def scale_by_adan(b1: ArrayLike = 0.98, b2: ArrayLike = 0.92, b3: ArrayLike = 0.99, eps: ArrayLike = 1e-8,
                  eps_root: ArrayLike = 0.0) -> base.GradientTransformation:
    """Adan (Xie et al. 2022): Nesterov momentum estimated from gradient differences.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_adan()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.0000', '-1.0000']
    """

    def init_fn(params):
        return ScaleByAdanState(m=_zeros(params), v=_zeros(params), n=_zeros(params), g=_zeros(params), t=_count0())

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByAdanState, "scale_by_adan")
        g = updates
        diff = otu.tree_where(state.t == 0, otu.tree_zeros_like(g), otu.tree_sub(g, state.g))
        m = otu.tree_update_moment(g, state.m, b1, 1)
        v = otu.tree_update_moment(diff, state.v, b2, 1)
        sq = otu.tree_add_scale(g, 1 - b2, diff)
        n = otu.tree_update_moment_per_elem_norm(sq, state.n, b3, 2)
        t = numerics.safe_increment(state.t)
        m_hat = otu.tree_bias_correction(m, b1, t)
        v_hat = otu.tree_bias_correction(v, b2, t)
        n_hat = otu.tree_bias_correction(n, b3, t)
        u = otu.tree_add_scale(m_hat, 1 - b2, v_hat)
        u = tree_map(lambda x, nh: x / (jnp.sqrt(nh + eps_root) + eps), u, n_hat)
        return u, ScaleByAdanState(m=m, v=v, n=n, g=g, t=t)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByRpropState(NamedTuple):
    """State of ``scale_by_rprop``: per-coordinate ``step_sizes`` and the previous updates.

    >>> import ember.optim as eo
    >>> eo.ScaleByRpropState._fields
    ('step_sizes', 'prev_updates')
    """
    step_sizes: Any
    prev_updates: Any


def scale_by_rprop(learning_rate: ArrayLike, eta_minus: ArrayLike = 0.5, eta_plus: ArrayLike = 1.2,
                   min_step_size: ArrayLike = 1e-6, max_step_size: ArrayLike = 50.0) -> base.GradientTransformation:
    """Rprop (Riedmiller & Braun 1993): per-coordinate step sizes grown by ``eta_plus`` while the
    gradient keeps its sign, shrunk by ``eta_minus`` when it flips.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_rprop(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> for _ in range(3):      # the step size grows by eta_plus while the sign holds
    ...     updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    ...     print([f"{v:.2f}" for v in updates["w"].tolist()])
    ['0.00', '0.00']
    ['0.10', '-0.10']
    ['0.12', '-0.12']
    """

    def init_fn(params):
        return ScaleByRpropState(step_sizes=otu.tree_full_like(params, learning_rate), prev_updates=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByRpropState, "scale_by_rprop")
        sign = tree_map(lambda g, prev_g: g * prev_g, updates, state.prev_updates)
        step_sizes = tree_map(
            lambda s, step_size: jnp.where(
                s == 0, step_size,
                jnp.clip(step_size * jnp.where(s > 0, eta_plus, eta_minus), min_step_size, max_step_size)),
            sign, state.step_sizes)
        prev_updates = tree_map(lambda s, g, step_size: jnp.where(s < 0, jnp.zeros_like(g), step_size * jnp.sign(g)),
                                sign, updates, step_sizes)
        updates = tree_map(lambda s, g, prev_g: jnp.where(s < 0, jnp.zeros_like(prev_g), prev_g),
                           sign, prev_updates, state.prev_updates)
        return updates, ScaleByRpropState(step_sizes, prev_updates)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleBySM3State(NamedTuple):
    """State of ``scale_by_sm3``: per-axis accumulators ``mu`` and momentum ``nu``.

    >>> import ember.optim as eo
    >>> eo.ScaleBySM3State._fields
    ('mu', 'nu')
    """
    mu: Any
    nu: Any


def scale_by_sm3(b1: ArrayLike = 0.9, b2: ArrayLike = 1.0, eps: ArrayLike = 1e-8) -> base.GradientTransformation:
    """SM3 (Anil et al. 2019): memory-efficient adaptive scaling with one accumulator per axis
    (cover sets = rows, columns...), then momentum ``b1``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_sm3()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.1000', '-0.1000']
    """

    def _zeros_for_dims(p):
        return [jnp.zeros([p.shape[i]], p.dtype) for i in range(p.ndim)]

    def init_fn(params):
        _reject_complex(params, "scale_by_sm3")
        return ScaleBySM3State(mu=tree_map(_zeros_for_dims, params), nu=_zeros(params))

    def _expanded_shape(shape, axis):
        return [1] * axis + [shape[axis]] + [1] * (len(shape) - axis - 1)

    def _new_accum(g, v):
        coeffs = ((1.0 - b2) if b2 != 1.0 else 1.0, b2)
        if g.ndim < 2:
            return coeffs[0] * g ** 2 + coeffs[1] * v[0]
        acc = v[0]
        for x in v[1:]:
            acc = jnp.minimum(acc, x)
        return coeffs[0] * g ** 2 + coeffs[1] * acc

    def _new_mu(g, i):
        if g.ndim < 2:
            return g
        return jnp.max(g, axis=tuple(j for j in range(g.ndim) if j != i))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleBySM3State, "scale_by_sm3")
        leaves, treedef = _tree.flatten(updates)
        mus = treedef.flatten_up_to(state.mu)
        nus = treedef.flatten_up_to(state.nu)
        new_nu, new_mu = [], []
        for g, v, n in zip(leaves, mus, nus):
            expanded = [jnp.reshape(v[i], _expanded_shape(g.shape, i)) for i in range(g.ndim)]
            accum = _new_accum(g, expanded)
            inv = jnp.where(accum > 0, lax.rsqrt(accum + eps), 0.0)
            up = g * inv
            new_nu.append((1 - b1) * up + b1 * n)
            new_mu.append([_new_mu(accum, i) for i in range(g.ndim)])
        nu = _tree.unflatten(treedef, new_nu)
        return nu, ScaleBySM3State(mu=_tree.unflatten(treedef, new_mu), nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByNovogradState(NamedTuple):
    """State of ``scale_by_novograd``: step ``count``, first moment ``mu``, per-layer second moment ``nu``.

    >>> import ember.optim as eo
    >>> eo.ScaleByNovogradState._fields
    ('count', 'mu', 'nu')
    """
    count: Any
    mu: Any
    nu: Any


def scale_by_novograd(b1: ArrayLike = 0.9, b2: ArrayLike = 0.25, eps: ArrayLike = 1e-8, eps_root: ArrayLike = 0.0,
                      weight_decay: ArrayLike = 0.0, mu_dtype: Any | None = None) -> base.GradientTransformation:
    """NovoGrad (Ginsburg et al. 2019): layer-wise second moment ``nu = EMA_b2(||g||^2)``;
    ``m = b1 m + g / (sqrt(nu + eps_root) + eps) + weight_decay * p`` (the first step sets
    ``nu = ||g||^2`` and ``m`` without the ``b1 m`` term).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_novograd()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.7071', '-0.7071']
    """
    mu_dtype = utils.canonicalize_dtype(mu_dtype)

    def init_fn(params):
        return ScaleByNovogradState(count=_count0(), mu=_zeros(params, mu_dtype),
                                    nu=tree_map(lambda p: jnp.asarray(0.0, dtype=p.dtype), params))

    def update_fn(updates, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        check_state(state, ScaleByNovogradState, "scale_by_novograd")
        count_inc = numerics.safe_increment(state.count)
        first = count_inc == 1

        def new_nu(g, n):
            sq = jnp.sum(abs_sq(g)).astype(n.dtype)
            return jnp.where(first, sq, (1 - b2) * sq + b2 * n)

        nu = tree_map(new_nu, updates, state.nu, names=("updates", "state.nu"))

        def new_mu(g, p, n, m):
            u = g / (jnp.sqrt(n + eps_root) + eps) + weight_decay * p
            return jnp.where(first, u, b1 * m + u)

        mu = tree_map(new_mu, updates, params, nu, state.mu, names=("updates", "params", "nu", "state.mu"))
        mu = otu.tree_cast(mu, mu_dtype)
        return mu, ScaleByNovogradState(count=count_inc, mu=mu, nu=nu)

    return base.GradientTransformation(init_fn, update_fn)


class ScaleByOptimisticGradientState(NamedTuple):
    """State of ``scale_by_optimistic_gradient``: whether the next step is the first, and the previous gradient.

    >>> import ember.optim as eo
    >>> eo.ScaleByOptimisticGradientState._fields
    ('is_initial_step', 'previous_gradient')
    """
    is_initial_step: Any
    previous_gradient: Any


def scale_by_optimistic_gradient(alpha: ArrayLike = 1.0, beta: ArrayLike = 1.0) -> base.GradientTransformation:
    """Optimistic gradient (Mokhtari et al. 2019): ``(alpha + beta) g_t - beta g_{t-1}``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_optimistic_gradient()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.5000', '-0.5000']
    """

    def init_fn(params):
        return ScaleByOptimisticGradientState(is_initial_step=jnp.asarray(True), previous_gradient=_zeros(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleByOptimisticGradientState, "scale_by_optimistic_gradient")

        def f(grad, prev_grad):
            prev_grad = jnp.where(state.is_initial_step, grad, prev_grad)
            return (alpha + beta) * grad - beta * prev_grad

        new_updates = tree_map(f, updates, state.previous_gradient, names=("updates", "state.previous_gradient"))
        new_state = ScaleByOptimisticGradientState(is_initial_step=jnp.asarray(False), previous_gradient=updates)
        return new_updates, new_state

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_polyak(f_min: ArrayLike = 0.0, max_learning_rate: ArrayLike = 1.0, eps: ArrayLike = 0.0,
                    variant: str = "sps") -> base.GradientTransformationExtraArgs:
    """Polyak step size (Loizou et al. 2021): ``min((f(x) - f_min) / (||g||^2 + eps), max_lr) * g``.
    ``update`` needs the loss as the keyword argument ``value``; ``variant='sps+'`` clips the gap at 0.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_polyak()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params, value=jnp.array(0.25))
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.2500', '-0.2500']
    """
    if variant not in ("sps", "sps+"):
        raise ValueError(f"Invalid argument value for Polyak SGD: variant={variant!r}")

    def update_fn(updates, state, params=None, *, value, **extra_args):
        del params, extra_args
        grad_sq_norm = otu.tree_norm(updates, squared=True)
        gap = jnp.asarray(value - f_min).astype(grad_sq_norm.dtype)
        if variant == "sps+":
            gap = jnp.maximum(gap, 0.0)
        step = jnp.where(grad_sq_norm + eps <= jnp.finfo(jnp.float32).eps, jnp.asarray(0.0),
                         jnp.minimum(gap / (grad_sq_norm + eps), max_learning_rate))
        return otu.tree_scale(step, updates), state

    return base.GradientTransformationExtraArgs(base.init_empty_state, update_fn)


class ScaleByDistanceOverGradientsState(NamedTuple):
    max_dist: Any
    grad_sum_of_squares: Any
    init_params: Any


def scale_by_distance_over_gradients(reps_rel: ArrayLike = 1e-6, eps: ArrayLike = 1e-8, param_dtype: Any = jnp.float32,
                                     global_scale: ArrayLike = 1.0) -> base.GradientTransformation:
    """DoG, per layer (Ivgi et al. 2023): step ``max distance travelled / sqrt(sum ||g||^2)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_distance_over_gradients()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.0000', '-0.0000']
    """

    def _l2(x, y=0.0):
        return jnp.sqrt(jnp.square(x - y).sum())

    def init_fn(params):
        return ScaleByDistanceOverGradientsState(
            tree_map(lambda x: reps_rel * (1 + _l2(x)), params), tree_map(lambda x: jnp.zeros(1), params),
            otu.tree_cast(params, param_dtype))

    def update_fn(updates, state, params):
        check_state(state, ScaleByDistanceOverGradientsState, "scale_by_distance_over_gradients")
        max_dist = tree_map(lambda d, x, y: jnp.maximum(d, _l2(x, y)), state.max_dist, params, state.init_params)
        g_sos = tree_map(lambda x, y: x + jnp.square(y).sum(), state.grad_sum_of_squares, updates)
        updates = tree_map(lambda g, d, s: global_scale * (d / jnp.sqrt(s + eps)) * g, updates, max_dist, g_sos)
        return updates, ScaleByDistanceOverGradientsState(max_dist, g_sos, state.init_params)

    return base.GradientTransformation(init_fn, update_fn)


ScaleState = base.EmptyState
ScaleByTrustRatioState = base.EmptyState
