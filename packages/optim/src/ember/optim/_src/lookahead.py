"""Lookahead (Zhang et al. 2019): fast weights explore, slow weights follow every k steps."""

from __future__ import annotations

from typing import Any, NamedTuple

import ember.core.numpy as jnp
from ember.optim._src import base
from ember.optim._src.utils import check_state, eager_compiled, tree_map

ArrayLike = Any


class LookaheadState(NamedTuple):
    """State of ``lookahead``: the fast optimizer's state and the steps since the last synchronisation.

    >>> import ember.optim as eo
    >>> eo.LookaheadState._fields
    ('fast_state', 'steps_since_sync')
    """
    fast_state: Any
    steps_since_sync: Any


class LookaheadParams(NamedTuple):
    """The fast and slow copies of the parameters that :func:`lookahead` optimizes.

    >>> import ember.optim as eo
    >>> eo.LookaheadParams._fields
    ('fast', 'slow')
    """

    fast: Any
    slow: Any

    @classmethod
    def init_synced(cls, params: Any) -> "LookaheadParams":
        return cls(slow=params, fast=params)


def lookahead(fast_optimizer: base.GradientTransformation, sync_period: int, slow_step_size: ArrayLike,
              reset_state: bool = False) -> base.GradientTransformation:
    """Wrap ``fast_optimizer``: every ``sync_period`` steps the slow weights move
    ``slow_step_size`` of the way to the fast ones, and the fast weights are reset to them.
    Params and updates are :class:`LookaheadParams`.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.lookahead(eo.sgd(0.1), sync_period=2, slow_step_size=0.5)
    >>> params = eo.LookaheadParams.init_synced({"w": jnp.ones(1)})
    >>> state = opt.init(params)
    >>> type(state).__name__
    'LookaheadState'
    """
    if sync_period < 1:
        raise ValueError("Synchronization period must be >= 1.")

    def init_fn(params):
        fast = getattr(params, "fast", params)
        return LookaheadState(fast_state=fast_optimizer.init(fast), steps_since_sync=jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params):
        check_state(state, LookaheadState, "lookahead")
        if not isinstance(params, LookaheadParams):
            raise TypeError("lookahead.update needs params as LookaheadParams(fast=..., slow=...); "
                            "use LookaheadParams.init_synced(params)")
        updates, fast_state = fast_optimizer.update(updates, state.fast_state, params.fast)
        sync_next = state.steps_since_sync == sync_period - 1
        diff = tree_map(lambda f, u, s: f + u - s, params.fast, updates, params.slow,
                        names=("params.fast", "updates", "params.slow"))
        slow_updates = tree_map(lambda d: slow_step_size * sync_next * d, diff)
        fast_updates = tree_map(lambda up, d: up - sync_next * (1 - slow_step_size) * d, updates, diff)
        if reset_state:
            initial = fast_optimizer.init(params.fast)
            fast_state = tree_map(lambda cur, init: (1 - sync_next) * cur + sync_next * init, fast_state, initial)
        steps = (state.steps_since_sync + 1) % sync_period
        return LookaheadParams(fast=fast_updates, slow=slow_updates), LookaheadState(fast_state, steps)

    return base.GradientTransformation(init_fn, eager_compiled(update_fn))
