"""``ember.optim.schedules``: functions of the step count (as ``optax.schedules``), and
``inject_hyperparams``.

    >>> import ember.optim as eo
    >>> s = eo.schedules.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=10, decay_steps=100)
    >>> round(float(s(10)), 3)
    1.0
"""

from ember.optim._src.base import Schedule, StatefulSchedule
from ember.optim._src.schedules._inject import (
    InjectHyperparamsState,
    InjectStatefulHyperparamsState,
    WrappedSchedule,
    WrappedScheduleState,
    inject_hyperparams,
    inject_stateful_hyperparams,
)
from ember.optim._src.schedules._join import join_schedules
from ember.optim._src.schedules._schedule import (
    constant,
    constant_schedule,
    cosine_decay,
    cosine_decay_schedule,
    cosine_onecycle,
    cosine_onecycle_schedule,
    exponential_decay,
    linear,
    linear_onecycle,
    linear_onecycle_schedule,
    linear_schedule,
    piecewise_constant,
    piecewise_constant_schedule,
    piecewise_interpolate,
    piecewise_interpolate_schedule,
    polynomial,
    polynomial_schedule,
    sgdr,
    sgdr_schedule,
    warmup_constant,
    warmup_constant_schedule,
    warmup_cosine_decay,
    warmup_cosine_decay_schedule,
    warmup_exponential_decay,
    warmup_exponential_decay_schedule,
)

__all__ = [
    "InjectHyperparamsState", "InjectStatefulHyperparamsState", "Schedule", "StatefulSchedule", "WrappedSchedule",
    "WrappedScheduleState", "constant", "constant_schedule", "cosine_decay", "cosine_decay_schedule",
    "cosine_onecycle", "cosine_onecycle_schedule", "exponential_decay", "inject_hyperparams",
    "inject_stateful_hyperparams", "join_schedules", "linear", "linear_onecycle", "linear_onecycle_schedule",
    "linear_schedule", "piecewise_constant", "piecewise_constant_schedule", "piecewise_interpolate",
    "piecewise_interpolate_schedule", "polynomial", "polynomial_schedule", "sgdr", "sgdr_schedule",
    "warmup_constant", "warmup_constant_schedule", "warmup_cosine_decay", "warmup_cosine_decay_schedule",
    "warmup_exponential_decay", "warmup_exponential_decay_schedule",
]
