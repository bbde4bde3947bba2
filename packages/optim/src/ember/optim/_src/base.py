"""The abstraction: a gradient transformation is a pair of pure functions ``(init, update)``.

``init(params) -> state`` and ``update(updates, state, params=None) -> (updates, state)``; states
are pytrees of arrays (NamedTuples, tuples, dicts), so they jit, vmap, shard and checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import ember.core as ec
import ember.core.numpy as jnp
from ember.optim._src import utils

NO_PARAMS_MSG = (
    "You are using a transformation that requires the current value of parameters, but you are not "
    "passing `params` when calling `update`."
)

PyTree = Any
Shape = tuple[int, ...]
ArrayLike = Any
PRNGKey = Any
ArrayTree = Any
OptState = Any  # a pytree of arrays
Params = Any  # a pytree of arrays
Updates = Any  # a pytree with the structure of Params

Schedule = Callable[[ArrayLike], ArrayLike]
ScheduleState = Any
ScalarOrSchedule = float | ec.Array | Schedule


@runtime_checkable
class StatefulSchedule(Protocol):
    """A schedule with its own state (``init() -> state``, ``update(state, **extra)``, ``__call__``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> from ember.optim import schedules
    >>> sched = schedules.WrappedSchedule(eo.constant_schedule(0.5))   # init() -> state, update(state), __call__(state)
    >>> float(sched(sched.init()))
    0.5
    """

    def init(self) -> ScheduleState: ...

    def update(self, state: ScheduleState, **extra_args: Any) -> ScheduleState: ...

    def __call__(self, state: ScheduleState, **extra_args: Any) -> ArrayLike: ...


class TransformInitFn(Protocol):
    """``init(params) -> state``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> init = eo.sgd(0.1, momentum=0.9).init        # params -> state
    >>> init({"w": jnp.zeros(2)})[0].trace["w"].tolist()
    [0.0, 0.0]
    """

    def __call__(self, params: Params) -> OptState: ...


class TransformUpdateFn(Protocol):
    """``update(updates, state, params=None) -> (updates, state)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> update = eo.sgd(0.1).update                 # (updates, state, params=None) -> (updates, state)
    >>> u, _ = update({"w": jnp.ones(1)}, eo.sgd(0.1).init({"w": jnp.zeros(1)}))
    >>> [f"{v:.2f}" for v in u["w"].tolist()]
    ['-0.10']
    """

    def __call__(self, updates: Updates, state: OptState, params: Params | None = None) -> tuple[Updates, OptState]: ...


class TransformUpdateExtraArgsFn(Protocol):
    """``update(updates, state, params=None, **extra_args) -> (updates, state)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.polyak_sgd()                       # update(updates, state, params, *, value)
    >>> params = {"w": jnp.array([1.0])}
    >>> u, _ = opt.update({"w": jnp.array([2.0])}, opt.init(params), params, value=jnp.array(1.0))
    >>> u["w"].tolist()
    [-0.5]
    """

    def __call__(self, updates: Updates, state: OptState, params: Params | None = None,
                 **extra_args: Any) -> tuple[Updates, OptState]: ...


class GradientTransformation(NamedTuple):
    """A pair of pure functions ``(init, update)``: every optimizer and transform is one.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> tx = eo.sgd(0.1)
    >>> params = {"w": jnp.ones(2)}
    >>> state = tx.init(params)
    >>> updates, state = tx.update({"w": jnp.ones(2)}, state)
    >>> eo.apply_updates(params, updates)["w"].tolist()
    [0.8999999761581421, 0.8999999761581421]
    """

    init: TransformInitFn
    update: TransformUpdateFn


class GradientTransformationExtraArgs(GradientTransformation):
    """A :class:`GradientTransformation` whose ``update`` accepts extra keyword arguments
    (``value``, ``grad``, ``value_fn``...) and ignores those it does not need.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.polyak_sgd()              # its update takes an extra keyword: value=
    >>> isinstance(opt, eo.GradientTransformationExtraArgs), isinstance(opt, eo.GradientTransformation)
    (True, True)
    """

    update: TransformUpdateExtraArgsFn


class EmptyState(NamedTuple):
    """The state of a stateless transformation (an empty pytree).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.adaptive_grad_clip(0.1).init({"w": jnp.zeros(2)})    # stateless: an empty state
    EmptyState()
    """


def init_empty_state(params: Params) -> EmptyState:
    """``init`` of stateless transformations.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.init_empty_state({"w": jnp.zeros(2)})
    EmptyState()
    """
    del params
    return EmptyState()


def identity() -> GradientTransformation:
    """Leaves the updates unchanged.

    >>> import ember.optim as eo
    >>> eo.identity().update({"a": 1.0}, eo.EmptyState())[0]
    {'a': 1.0}
    """

    def update_fn(updates, state, params=None):
        del params
        return updates, state

    return GradientTransformation(init_empty_state, update_fn)


def set_to_zero() -> GradientTransformation:
    """Replaces every update by zeros (freezes parameters, e.g. inside :func:`partition`).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.set_to_zero().update({"a": jnp.ones(2)}, eo.EmptyState())[0]["a"].tolist()
    [0.0, 0.0]
    """

    def update_fn(updates, state, params=None):
        del params
        return utils.tree_map(jnp.zeros_like, updates), state

    return GradientTransformation(init_empty_state, update_fn)


def stateless(f: Callable[[Updates, Params | None], Updates]) -> GradientTransformation:
    """A transformation from a function ``f(updates, params) -> updates`` of whole trees.

    >>> import ember.core as ec
    >>> import ember.optim as eo
    >>> tx = eo.stateless(lambda u, p: ec.tree.map(lambda x: 2 * x, u))
    >>> tx.update({"a": 1.0}, tx.init(None))[0]
    {'a': 2.0}
    """

    def update_fn(updates, state, params=None):
        del state
        return f(updates, params), EmptyState()

    return GradientTransformation(init_empty_state, update_fn)


def stateless_with_tree_map(f: Callable[[ArrayLike, ArrayLike | None], ArrayLike]) -> GradientTransformation:
    """A transformation from a per-leaf function ``f(update, param)`` (``param`` is None when
    ``update`` is called without params).

    >>> import ember.optim as eo
    >>> tx = eo.stateless_with_tree_map(lambda u, p: -u)
    >>> tx.update({"a": 1.0}, tx.init(None))[0]
    {'a': -1.0}
    """

    def update_fn(updates, state, params=None):
        del state
        if params is not None:
            return utils.tree_map(f, updates, params, names=("updates", "params")), EmptyState()
        return utils.tree_map(lambda u: f(u, None), updates), EmptyState()

    return GradientTransformation(init_empty_state, update_fn)


def with_extra_args_support(tx: GradientTransformation) -> GradientTransformationExtraArgs:
    """Wraps ``tx`` so that its ``update`` accepts (and ignores) extra keyword arguments.

    >>> import ember.optim as eo
    >>> tx = eo.with_extra_args_support(eo.identity())
    >>> tx.update({"a": 1.0}, (), value=3.0)[0]
    {'a': 1.0}
    """
    if isinstance(tx, GradientTransformationExtraArgs):
        return tx
    inner_update = tx.update

    def update(updates, state, params=None, **extra_args):
        del extra_args
        return inner_update(updates, state, params)

    return GradientTransformationExtraArgs(tx.init, update)
