"""``inject_hyperparams``: every numeric hyperparameter of an optimizer becomes optimizer state."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
from ember.optim._src import base, numerics, utils
from ember.optim._src import hyperparams as hp
from ember.optim._src import tree_utils as otu


class InjectHyperparamsState(NamedTuple):
    """``count``: updates so far; ``hyperparams``: name -> current value (numbers are settable,
    scheduled ones are recomputed every step); ``hyperparams_states``: the schedules' own
    states; ``inner_state``: the wrapped optimizer's state.

    >>> import ember.optim as eo
    >>> eo.InjectHyperparamsState._fields
    ('count', 'hyperparams', 'hyperparams_states', 'inner_state')
    """

    count: Any
    hyperparams: dict[str, Any]
    hyperparams_states: dict[str, Any]
    inner_state: Any


InjectStatefulHyperparamsState = InjectHyperparamsState


class WrappedScheduleState(NamedTuple):
    """State of a ``WrappedSchedule``: the step ``count``.

    >>> import ember.optim as eo
    >>> eo.schedules.WrappedScheduleState._fields
    ('count',)
    """
    count: Any


class WrappedSchedule:
    """A plain schedule ``f(count)`` seen as a stateful schedule (it keeps its own count).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> from ember.optim import schedules
    >>> wrapped = schedules.WrappedSchedule(eo.linear_schedule(1.0, 0.0, 10))   # a stateful schedule
    >>> state = wrapped.init()
    >>> float(wrapped(state)), int(wrapped.update(state).count)
    (1.0, 1)
    """

    def __init__(self, schedule_fn: base.Schedule) -> None:
        self.schedule_fn = schedule_fn

    def init(self) -> WrappedScheduleState:
        return WrappedScheduleState(count=jnp.zeros([], jnp.int32))

    def update(self, state: WrappedScheduleState, **extra_args: Any) -> WrappedScheduleState:
        del extra_args
        return WrappedScheduleState(count=numerics.safe_increment(state.count))

    def __call__(self, state: WrappedScheduleState, **extra_args: Any) -> Any:
        del extra_args
        return self.schedule_fn(state.count)


def _convert_floats(x: Any, dtype: Any) -> Any:
    """Floating values (Python floats, weakly typed arrays) become ``dtype`` arrays; others stay."""
    if isinstance(x, ec.Array) and not getattr(x, "weak_type", False):
        return x
    x_dtype = getattr(x, "dtype", None)
    if x_dtype is None:
        return jnp.asarray(x).astype(dtype) if isinstance(x, float) else x
    if jnp.issubdtype(x_dtype, jnp.floating):
        return jnp.asarray(x).astype(dtype)
    return x


def inject_hyperparams(inner_factory: Callable[..., base.GradientTransformation],
                       static_args: str | Iterable[str] = (),
                       hyperparam_dtype: Any | None = None) -> Callable[..., base.GradientTransformationExtraArgs]:
    """Wrap an optimizer factory so that its numeric hyperparameters (and schedules) live in the
    state, under ``state.hyperparams[name]``: read them, or change them between jitted steps
    (``ember.optim.set_hyperparams``, or replacing the dict entry) without recompiling.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.inject_hyperparams(eo.adam)(learning_rate=eo.schedules.linear_schedule(1.0, 0.0, 10), b1=0.8)
    >>> state = opt.init({"w": jnp.zeros(2)})
    >>> sorted(state.hyperparams)
    ['b1', 'b2', 'eps', 'eps_root', 'learning_rate']
    >>> _, state = opt.update({"w": jnp.ones(2)}, state)
    >>> _, state = opt.update({"w": jnp.ones(2)}, state)
    >>> round(float(state.hyperparams["learning_rate"]), 3)     # used by the 2nd update (step 1)
    0.9
    """
    static_args = {static_args} if isinstance(static_args, str) else set(static_args)
    signature = inspect.signature(inner_factory)
    if not static_args.issubset(signature.parameters):
        raise ValueError("`static_args` must specify a subset of `inner_factory`'s parameters. Given `static_args`: "
                         f"{static_args}. `inner_factory` parameters: {set(signature.parameters)}")

    @functools.wraps(inner_factory)
    def wrapped_transform(*args: Any, **kwargs: Any) -> base.GradientTransformationExtraArgs:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        sched_hps: dict[str, Any] = {}
        numeric_hps: dict[str, Any] = {}
        other_hps: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name in static_args or isinstance(value, bool):
                other_hps[name] = value
            elif isinstance(value, base.StatefulSchedule):
                sched_hps[name] = value
            elif callable(value):
                sched_hps[name] = WrappedSchedule(value)
            elif isinstance(value, (int, float, np.number, np.ndarray, ec.Array)) or hasattr(value, "aval"):
                numeric_hps[name] = value
            else:
                other_hps[name] = value

        def _dtype(params):
            return hyperparam_dtype if hyperparam_dtype is not None else otu.tree_dtype(params, "highest")

        def _scheduled(name, value, dtype):
            return _convert_floats(hp.check_schedule_output(value, name), dtype)

        def _inner(hparams):
            with hp.static_hyperparams():
                return base.with_extra_args_support(inner_factory(**other_hps, **hparams))

        def init_fn(params):
            dtype = _dtype(params)
            hparams = {k: jnp.asarray(_convert_floats(v, dtype)) for k, v in numeric_hps.items()}
            states = {k: f.init() for k, f in sched_hps.items()}
            hparams.update({k: _scheduled(k, f(states[k]), dtype) for k, f in sched_hps.items()})
            return InjectHyperparamsState(count=jnp.zeros([], jnp.int32), hyperparams=hparams,
                                          hyperparams_states=states, inner_state=_inner(hparams).init(params))

        def update_fn(updates, state, params=None, **extra_args):
            if not isinstance(state, InjectHyperparamsState):
                raise TypeError(f"inject_hyperparams({getattr(inner_factory, '__name__', 'factory')}).update received "
                                f"a state of type {type(state).__name__}, expected InjectHyperparamsState")
            dtype = _dtype(params) if params is not None else _dtype(updates)
            hparams = {k: _convert_floats(v, dtype) for k, v in state.hyperparams.items()}
            hparams.update({k: _scheduled(k, f(state.hyperparams_states[k], **extra_args), dtype)
                            for k, f in sched_hps.items()})
            states = {k: f.update(state.hyperparams_states[k], **extra_args) for k, f in sched_hps.items()}
            updates, inner_state = _inner(hparams).update(updates, state.inner_state, params, **extra_args)
            return updates, InjectHyperparamsState(count=numerics.safe_increment(state.count), hyperparams=hparams,
                                                   hyperparams_states=states, inner_state=inner_state)

        return base.GradientTransformationExtraArgs(init_fn, utils.eager_compiled(update_fn))

    return wrapped_transform


def inject_stateful_hyperparams(inner_factory: Callable[..., base.GradientTransformation],
                                static_args: str | Iterable[str] = (),
                                hyperparam_dtype: Any | None = None
                                ) -> Callable[..., base.GradientTransformationExtraArgs]:
    """Same as :func:`inject_hyperparams` (which accepts stateful schedules too).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.inject_stateful_hyperparams(eo.sgd)(learning_rate=eo.linear_schedule(1.0, 0.0, 10))
    >>> state = opt.init({"w": jnp.zeros(1)})
    >>> float(state.hyperparams["learning_rate"])
    1.0
    """
    return inject_hyperparams(inner_factory, static_args, hyperparam_dtype)
