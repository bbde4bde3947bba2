"""Constraints on the updates: keep parameters non-negative, replace NaNs by zeros."""

from __future__ import annotations

from typing import Any, NamedTuple

import ember.core.numpy as jnp
from ember.optim._src import base
from ember.optim._src.utils import tree_map

NonNegativeParamsState = base.EmptyState


def keep_params_nonnegative() -> base.GradientTransformation:
    """Modify updates so that ``params + updates >= 0`` (an update that would cross zero lands on 0).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.keep_params_nonnegative()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.5000', '2.0000']
    """

    def update_fn(updates, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        return tree_map(lambda p, u: None if p is None else jnp.where(p + u < 0.0, -p, u), params, updates,
                        is_leaf=lambda x: x is None, names=("params", "updates")), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


class ZeroNansState(NamedTuple):
    """``found_nan``: per leaf, whether the last update had a NaN.

    >>> import ember.optim as eo
    >>> eo.ZeroNansState._fields
    ('found_nan',)
    """

    found_nan: Any


def zero_nans() -> base.GradientTransformation:
    """Replace NaNs in the updates by zeros; the state records which leaves had NaNs.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.zero_nans()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.5000', '-0.5000']
    """

    def init_fn(params):
        return ZeroNansState(found_nan=tree_map(lambda p: jnp.asarray(False), params))

    def update_fn(updates, state, params=None):
        del params, state
        found = tree_map(lambda p: jnp.any(jnp.isnan(p)), updates)
        updates = tree_map(lambda p: jnp.where(jnp.isnan(p), jnp.zeros_like(p), p), updates)
        return updates, ZeroNansState(found_nan=found)

    return base.GradientTransformation(init_fn, update_fn)
