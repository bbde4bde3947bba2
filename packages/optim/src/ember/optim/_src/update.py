"""Applying updates to parameters."""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp
from ember.core import lax
from ember.optim._src import base, utils
from ember.optim._src.utils import tree_map

ArrayLike = Any


def apply_updates(params: base.Params, updates: base.Updates) -> base.Params:
    """``params + updates`` leafwise, keeping each parameter's dtype. The error for trees of
    different structures names the first leaf path that differs.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.apply_updates({"w": jnp.ones(2)}, {"w": jnp.full(2, 0.5)})["w"].tolist()
    [1.5, 1.5]
    """
    return _apply_updates()(params, updates)


def _apply_leaf(p, u):
    if p is None:
        return None
    out = p + u
    dtype = getattr(p, "dtype", None)
    if dtype is None:
        return jnp.asarray(out).astype(jnp.asarray(p).dtype)
    return out if out.dtype == dtype else out.astype(dtype)


@utils.kernel
def _apply_updates():
    return lambda params, updates: tree_map(_apply_leaf, params, updates, is_leaf=lambda x: x is None,
                                            names=("params", "updates"))


def incremental_update(new_tensors: base.Params, old_tensors: base.Params, step_size: ArrayLike) -> base.Params:
    """Polyak averaging: ``step_size * new + (1 - step_size) * old`` (e.g. target networks).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.incremental_update({"w": jnp.array([1.0])}, {"w": jnp.array([0.0])}, step_size=0.25)["w"].tolist()
    [0.25]
    """
    return tree_map(lambda new, old: None if new is None else step_size * new + (1.0 - step_size) * old,
                    new_tensors, old_tensors, is_leaf=lambda x: x is None, names=("new_tensors", "old_tensors"))


def periodic_update(new_tensors: base.Params, old_tensors: base.Params, steps: ArrayLike,
                    update_period: int) -> base.Params:
    """``new_tensors`` every ``update_period`` steps, ``old_tensors`` otherwise.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> new, old = {"w": jnp.array([1.0])}, {"w": jnp.array([0.0])}
    >>> eo.periodic_update(new, old, steps=jnp.array(10), update_period=5)["w"].tolist()   # a multiple of 5: new
    [1.0]
    >>> eo.periodic_update(new, old, steps=jnp.array(7), update_period=5)["w"].tolist()
    [0.0]
    """
    return lax.cond(jnp.mod(steps, update_period) == 0, lambda _: new_tensors, lambda _: old_tensors, None)
