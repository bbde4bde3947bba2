"""The schedules of Optax, with the same names, defaults and formulas (pure functions of the step)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import ember.core.numpy as jnp
from ember.optim._src import base
from ember.optim._src.schedules._join import join_schedules

ArrayLike = Any


def constant_schedule(value: ArrayLike) -> base.Schedule:
    """Always ``value``.

    >>> constant_schedule(0.1)(1000)
    0.1
    """
    return lambda count: value


def polynomial_schedule(init_value: ArrayLike, end_value: ArrayLike, power: ArrayLike, transition_steps: int,
                        transition_begin: int = 0) -> base.Schedule:
    """``(init - end) * (1 - t / transition_steps)^power + end`` with ``t = clip(count -
    transition_begin, 0, transition_steps)``; constant ``init_value`` if ``transition_steps <= 0``.

    >>> round(float(polynomial_schedule(1.0, 0.0, 2, 10)(5)), 4)
    0.25
    """
    if transition_steps <= 0:
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)

    def schedule(count):
        count = jnp.clip(count - transition_begin, 0, transition_steps)
        frac = 1 - count / transition_steps
        return (init_value - end_value) * (frac ** power) + end_value

    return schedule


def linear_schedule(init_value: ArrayLike, end_value: ArrayLike, transition_steps: int,
                    transition_begin: int = 0) -> base.Schedule:
    """Linear interpolation from ``init_value`` to ``end_value`` over ``transition_steps``.

    >>> round(float(linear_schedule(1.0, 0.0, 10)(3)), 4)
    0.7
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def piecewise_constant_schedule(init_value: ArrayLike,
                                boundaries_and_scales: dict[int, float] | None = None) -> base.Schedule:
    """``init_value`` multiplied by ``scale`` at each ``boundary`` passed.

    >>> s = piecewise_constant_schedule(1.0, {10: 0.5, 20: 0.1})
    >>> [round(float(s(c)), 4) for c in (5, 15, 25)]
    [1.0, 0.5, 0.05]
    """
    if boundaries_and_scales is not None and not all(s >= 0.0 for s in boundaries_and_scales.values()):
        raise ValueError("`piecewise_constant_schedule` expects non-negative scale factors")

    def schedule(count):
        v = init_value
        if boundaries_and_scales is not None:
            for threshold, scale in sorted(boundaries_and_scales.items()):
                indicator = jnp.maximum(0.0, jnp.sign(threshold - count))
                v = v * indicator + (1 - indicator) * scale * v
        return v

    return schedule


def exponential_decay(init_value: ArrayLike, transition_steps: int, decay_rate: float, transition_begin: int = 0,
                      staircase: bool = False, end_value: ArrayLike | None = None) -> base.Schedule:
    """``init_value * decay_rate^((count - transition_begin) / transition_steps)`` (floored
    exponent with ``staircase``), bounded by ``end_value``.

    >>> round(float(exponential_decay(1.0, 10, 0.5)(20)), 4)
    0.25
    """
    if transition_steps <= 0 or decay_rate == 0:
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)
    clip_fn = None
    if end_value is not None:
        clip_fn = jnp.maximum if decay_rate < 1.0 else jnp.minimum

    def schedule(count):
        decreased = count - transition_begin
        p = decreased / transition_steps
        if staircase:
            p = jnp.floor(p)
        value = jnp.where(decreased <= 0, init_value, init_value * jnp.power(decay_rate, p))
        if clip_fn is not None:
            value = clip_fn(value, end_value)
        return value

    return schedule


def cosine_decay_schedule(init_value: ArrayLike, decay_steps: int, alpha: ArrayLike = 0.0,
                          exponent: ArrayLike = 1.0) -> base.Schedule:
    """``init_value * ((1 - alpha) * (0.5 (1 + cos(pi t / decay_steps)))^exponent + alpha)``,
    with ``t = min(count, decay_steps)``.

    >>> round(float(cosine_decay_schedule(1.0, 10)(5)), 4)
    0.5
    """
    if not decay_steps > 0:
        raise ValueError(f"The cosine_decay_schedule requires positive decay_steps, got decay_steps={decay_steps!r}.")
    decay_steps_f = float(decay_steps)

    def schedule(count):
        count = float(count) if isinstance(count, int) else count
        count = jnp.minimum(count, decay_steps_f)
        cosine = 0.5 * (1 + jnp.cos(math.pi * count / decay_steps_f))
        return init_value * ((1 - alpha) * cosine ** exponent + alpha)

    return schedule


def _linear_interpolate(start, end, pct):
    return (end - start) * pct + start


def _cosine_interpolate(start, end, pct):
    return end + (start - end) / 2.0 * (jnp.cos(math.pi * pct) + 1)


def piecewise_interpolate_schedule(interpolate_type: str, init_value: ArrayLike,
                                   boundaries_and_scales: dict[int, float] | None = None) -> base.Schedule:
    """Interpolate (``'linear'`` or ``'cosine'``) between the values ``init_value * prod(scales)``
    reached at each boundary.

    >>> s = piecewise_interpolate_schedule("linear", 1.0, {10: 0.5})
    >>> round(float(s(5)), 4)
    0.75
    """
    if interpolate_type == "linear":
        interpolate_fn = _linear_interpolate
    elif interpolate_type == "cosine":
        interpolate_fn = _cosine_interpolate
    else:
        raise ValueError("`interpolate_type` must be either 'cosine' or 'linear'")
    if boundaries_and_scales:
        boundaries, scales = zip(*sorted(boundaries_and_scales.items()))
        if not all(scale >= 0.0 for scale in scales):
            raise ValueError("`piecewise_interpolate_schedule` expects non-negative scale factors")
    else:
        boundaries, scales = (), ()

    def schedule(count):
        bounds = jnp.stack([jnp.asarray(b) for b in (0,) + tuple(boundaries)])
        values = jnp.cumprod(jnp.stack([jnp.asarray(v, dtype=jnp.float32) for v in (init_value,) + tuple(scales)]))
        interval_sizes = jnp.maximum(bounds[1:] - bounds[:-1], 1)
        indicator = jnp.logical_and(bounds[:-1] <= count, count < bounds[1:])
        pct = (count - bounds[:-1]) / interval_sizes
        interp_vals = interpolate_fn(values[:-1], values[1:], pct)
        return jnp.dot(indicator.astype(interp_vals.dtype), interp_vals) + (bounds[-1] <= count) * values[-1]

    return schedule


def linear_onecycle_schedule(transition_steps: int, peak_value: ArrayLike, pct_start: float = 0.3,
                             pct_final: float = 0.85, div_factor: float = 25.0,
                             final_div_factor: float = 1e4) -> base.Schedule:
    """One-cycle (Smith & Topin 2017), linear pieces: up to ``peak_value``, back down, then to
    ``peak_value / (div_factor * final_div_factor)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> sched = eo.linear_onecycle_schedule(transition_steps=100, peak_value=1.0)
    >>> [f"{float(sched(t)):.3f}" for t in (0, 30, 100)]
    ['0.040', '1.000', '0.000']
    """
    if transition_steps <= 0:
        raise ValueError("A linear onecycle schedule was set with a non-positive `transition_steps`")
    return piecewise_interpolate_schedule("linear", peak_value / div_factor, {
        int(pct_start * transition_steps): div_factor,
        int(pct_final * transition_steps): 1.0 / div_factor,
        transition_steps: 1.0 / final_div_factor,
    })


def cosine_onecycle_schedule(transition_steps: int, peak_value: ArrayLike, pct_start: float = 0.3,
                             div_factor: float = 25.0, final_div_factor: float = 1e4) -> base.Schedule:
    """One-cycle (Smith & Topin 2017), cosine pieces.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> sched = eo.cosine_onecycle_schedule(transition_steps=100, peak_value=1.0)
    >>> [f"{float(sched(t)):.3f}" for t in (0, 30, 100)]
    ['0.040', '1.000', '0.000']
    """
    if transition_steps <= 0:
        raise ValueError("A cosine onecycle schedule was set with a non-positive `transition_steps`")
    return piecewise_interpolate_schedule("cosine", peak_value / div_factor, {
        int(pct_start * transition_steps): div_factor,
        int(transition_steps): 1.0 / (div_factor * final_div_factor),
    })


def warmup_constant_schedule(init_value: ArrayLike, peak_value: ArrayLike, warmup_steps: int) -> base.Schedule:
    """Linear warmup from ``init_value`` to ``peak_value``, then constant.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> sched = eo.warmup_constant_schedule(0.0, 1.0, warmup_steps=4)
    >>> [float(sched(t)) for t in (0, 2, 4, 100)]
    [0.0, 0.5, 1.0, 1.0]
    """
    return linear_schedule(init_value=init_value, end_value=peak_value, transition_steps=warmup_steps)


def warmup_cosine_decay_schedule(init_value: ArrayLike, peak_value: ArrayLike, warmup_steps: int, decay_steps: int,
                                 end_value: ArrayLike = 0.0, exponent: ArrayLike = 1.0) -> base.Schedule:
    """Linear warmup to ``peak_value`` over ``warmup_steps``, then cosine decay to ``end_value``
    at step ``decay_steps`` (``decay_steps`` counts the warmup).

    >>> s = warmup_cosine_decay_schedule(0.0, 1.0, 10, 110)
    >>> [round(float(s(c)), 4) for c in (5, 10, 60, 110)]
    [0.5, 1.0, 0.5, 0.0]
    """
    alpha = 0.0 if peak_value == 0.0 else end_value / peak_value
    return join_schedules([
        linear_schedule(init_value=init_value, end_value=peak_value, transition_steps=warmup_steps),
        cosine_decay_schedule(init_value=peak_value, decay_steps=decay_steps - warmup_steps, alpha=alpha,
                              exponent=exponent),
    ], [warmup_steps])


def warmup_exponential_decay_schedule(init_value: ArrayLike, peak_value: ArrayLike, warmup_steps: int,
                                      transition_steps: int, decay_rate: ArrayLike, transition_begin: int = 0,
                                      staircase: bool = False, end_value: ArrayLike | None = None) -> base.Schedule:
    """Linear warmup to ``peak_value``, then :func:`exponential_decay`.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> sched = eo.warmup_exponential_decay_schedule(0.0, 1.0, warmup_steps=2, transition_steps=1, decay_rate=0.5)
    >>> [float(sched(t)) for t in (0, 1, 2, 3, 4)]
    [0.0, 0.5, 1.0, 0.5, 0.25]
    """
    return join_schedules([
        linear_schedule(init_value=init_value, end_value=peak_value, transition_steps=warmup_steps),
        exponential_decay(init_value=peak_value, transition_steps=transition_steps, decay_rate=decay_rate,
                          transition_begin=transition_begin, staircase=staircase, end_value=end_value),
    ], [warmup_steps])


def sgdr_schedule(cosine_kwargs: Iterable[dict[str, ArrayLike]]) -> base.Schedule:
    """SGD with warm restarts (Loshchilov & Hutter 2017): consecutive warmup-cosine cycles, one
    per dict of :func:`warmup_cosine_decay_schedule` arguments.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> sched = eo.sgdr_schedule([dict(init_value=0.0, peak_value=1.0, warmup_steps=2, decay_steps=10)] * 2)
    >>> [f"{float(sched(t)):.2f}" for t in (0, 2, 9, 10, 12)]    # a warm restart at step 10
    ['0.00', '1.00', '0.04', '0.00', '1.00']
    """
    boundaries, schedules, step = [], [], 0
    for kwargs in cosine_kwargs:
        schedules.append(warmup_cosine_decay_schedule(**kwargs))
        step += kwargs["decay_steps"]
        boundaries.append(step)
    return join_schedules(schedules, boundaries[:-1])


# Short names (as the issue lists them) next to Optax's.
constant = constant_schedule
linear = linear_schedule
polynomial = polynomial_schedule
cosine_decay = cosine_decay_schedule
warmup_cosine_decay = warmup_cosine_decay_schedule
warmup_exponential_decay = warmup_exponential_decay_schedule
warmup_constant = warmup_constant_schedule
piecewise_constant = piecewise_constant_schedule
piecewise_interpolate = piecewise_interpolate_schedule
cosine_onecycle = cosine_onecycle_schedule
linear_onecycle = linear_onecycle_schedule
sgdr = sgdr_schedule
