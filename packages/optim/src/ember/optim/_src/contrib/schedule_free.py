"""Schedule-free optimization (Defazio et al. 2024): no learning-rate decay schedule needed;
the iterate to evaluate is an average, recovered with :func:`schedule_free_eval_params`."""

from __future__ import annotations

from typing import Any, NamedTuple

import ember.core.numpy as jnp
from ember.optim._src import alias, base, combine, hyperparams, numerics, transform
from ember.optim._src import tree_utils as otu
from ember.optim._src.adding import add_decayed_weights
from ember.optim._src.schedules._schedule import warmup_constant_schedule
from ember.optim._src.utils import check_state, eager_compiled, tree_map

ArrayLike = Any


class ScheduleFreeState(NamedTuple):
    """State of ``schedule_free``: the averaging coefficients, the step count, the largest learning rate seen, the base optimizer's state and the ``z`` sequence.

    >>> import ember.optim as eo
    >>> eo.ScheduleFreeState._fields
    ('b1', 'weight_sum', 'step_count', 'max_lr', 'base_optimizer_state', 'z')
    """
    b1: Any
    weight_sum: Any
    step_count: Any
    max_lr: Any
    base_optimizer_state: Any
    z: Any


def schedule_free_eval_params(state: ScheduleFreeState, params: Any) -> Any:
    """The averaged parameters ``x = (y - (1 - b1) z) / b1`` to evaluate (or export) the model with.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.schedule_free_adamw(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> params = eo.apply_updates(params, updates)           # the training iterate
    >>> eval_params = eo.schedule_free_eval_params(state, params)   # evaluate with these
    >>> [f"{v:.4f}" for v in eval_params["w"].tolist()]
    ['0.9000', '-1.9000']
    """
    if not isinstance(state, ScheduleFreeState):
        raise TypeError(f"schedule_free_eval_params requires a ScheduleFreeState, got {type(state).__name__}")
    b1, z = state.b1, state.z
    return tree_map(lambda yi, zi: (yi - (1.0 - b1) * zi) / b1, params, z, names=("params", "state.z"))


def schedule_free(base_optimizer: base.GradientTransformation, learning_rate: base.ScalarOrSchedule,
                  b1: ArrayLike = 0.9, weight_lr_power: ArrayLike = 2.0,
                  state_dtype: Any | None = None) -> base.GradientTransformationExtraArgs:
    """Turn ``base_optimizer`` (whose updates are ``-lr * direction``) into its schedule-free
    version: gradients are taken at ``y = b1 x + (1 - b1) z``, ``z`` follows the base optimizer
    and ``x`` is the weighted average of the ``z`` (weights ``max_lr^weight_lr_power``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.schedule_free(eo.sgd(0.1), learning_rate=0.1)    # schedule-free SGD
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9500', '-1.9500']
    """
    base_optimizer = base.with_extra_args_support(base_optimizer)

    def init_fn(params):
        params_dtype = otu.tree_dtype(params, "lowest")
        z = otu.tree_cast(params, state_dtype) if state_dtype is not None else params
        z = tree_map(lambda t: jnp.array(t), z)
        return ScheduleFreeState(b1=jnp.asarray(b1, dtype=params_dtype), weight_sum=jnp.zeros([], params_dtype),
                                 step_count=jnp.ones([], jnp.int32), max_lr=jnp.zeros([], params_dtype),
                                 base_optimizer_state=base_optimizer.init(params), z=z)

    def update_fn(grads, state, params=None, **extra_args):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        check_state(state, ScheduleFreeState, "schedule_free")
        lr = learning_rate
        if callable(learning_rate):
            lr = jnp.asarray(learning_rate(state.step_count), dtype=state.max_lr.dtype)
        max_lr = jnp.maximum(state.max_lr, lr)
        next_step_count = numerics.safe_increment(state.step_count)
        weight = max_lr ** weight_lr_power
        next_total_weight = state.weight_sum + weight
        ck = jnp.where(jnp.logical_or(jnp.isnan(weight), jnp.isnan(next_total_weight)),
                       jnp.full(weight.shape, jnp.nan),
                       jnp.nan_to_num(weight / next_total_weight, nan=0.0, posinf=jnp.inf))
        base_updates, next_base_state = base_optimizer.update(grads, state.base_optimizer_state, params, **extra_args)
        z = tree_map(lambda pi, ui: jnp.asarray(pi + ui).astype(jnp.asarray(pi).dtype), state.z, base_updates,
                     names=("state.z", "updates"))
        prev_x = tree_map(lambda yi, zi: (yi - (1.0 - b1) * zi) / b1, params, state.z, names=("params", "state.z"))
        x = tree_map(lambda xi, zi: (1.0 - ck) * xi + ck * zi, prev_x, z)
        new_params = tree_map(lambda xi, zi: b1 * xi + (1.0 - b1) * zi, x, z)
        updates = tree_map(lambda npi, pi: npi - pi, new_params, params)
        return updates, ScheduleFreeState(b1=state.b1, weight_sum=next_total_weight, step_count=next_step_count,
                                          max_lr=max_lr, base_optimizer_state=next_base_state, z=z)

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


def schedule_free_sgd(learning_rate: ArrayLike = 1.0, warmup_steps: int | None = None, b1: ArrayLike = 0.9,
                      weight_decay: ArrayLike | None = None, weight_lr_power: ArrayLike = 2.0,
                      state_dtype: Any | None = None,
                      weight_decay_mask: Any | None = None) -> base.GradientTransformationExtraArgs:
    """Schedule-free SGD (with optional linear warmup and decoupled weight decay).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.schedule_free_sgd(0.5)
    >>> p = {"w": jnp.asarray([1.0])}
    >>> s = opt.init(p)
    >>> u, s = opt.update({"w": jnp.asarray([1.0])}, s, p)
    >>> eo.schedule_free_eval_params(s, eo.apply_updates(p, u))["w"].shape
    (1,)
    """
    if warmup_steps is not None:
        learning_rate = warmup_constant_schedule(init_value=0, peak_value=learning_rate, warmup_steps=warmup_steps)
    with hyperparams.static_hyperparams():  # the same learning rate drives the averaging weights
        optimizer = alias.sgd(learning_rate)
        if weight_decay is not None:
            optimizer = combine.chain(add_decayed_weights(weight_decay, weight_decay_mask), optimizer)
    return schedule_free(optimizer, learning_rate=learning_rate, b1=b1, weight_lr_power=weight_lr_power,
                         state_dtype=state_dtype)


def schedule_free_adamw(learning_rate: ArrayLike = 0.0025, warmup_steps: int | None = None, b1: ArrayLike = 0.9,
                        b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8, weight_decay: ArrayLike = 0.0,
                        weight_lr_power: ArrayLike = 2.0, state_dtype: Any | None = None,
                        weight_decay_mask: Any | None = None) -> base.GradientTransformationExtraArgs:
    """Schedule-free AdamW: bias-corrected RMS scaling, decoupled weight decay, schedule-free
    averaging. ``weight_decay_mask`` has the same meaning as ``adamw``'s ``mask``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.schedule_free_adamw(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> params = eo.apply_updates(params, updates)           # the training iterate
    >>> eval_params = eo.schedule_free_eval_params(state, params)   # evaluate with these
    >>> [f"{v:.4f}" for v in eval_params["w"].tolist()]
    ['0.9000', '-1.9000']
    """
    if warmup_steps is not None:
        learning_rate = warmup_constant_schedule(init_value=0, peak_value=learning_rate, warmup_steps=warmup_steps)
    with hyperparams.static_hyperparams():  # the same learning rate drives the averaging weights
        optimizer = combine.chain(
            transform.scale_by_rms(decay=b2, eps=eps, eps_in_sqrt=False, bias_correction=True),
            add_decayed_weights(weight_decay, weight_decay_mask),
            transform.scale_by_learning_rate(learning_rate))
    return schedule_free(optimizer, learning_rate=learning_rate, b1=b1, weight_lr_power=weight_lr_power,
                         state_dtype=state_dtype)
