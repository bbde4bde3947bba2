"""Adafactor's factored second moment (Shazeer & Stern 2018)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import ember.core.numpy as jnp
from ember.core import tree as _tree
from ember.optim._src import base, numerics, utils
from ember.optim._src.utils import check_state

ArrayLike = Any


def _decay_rate_pow(i: ArrayLike, exponent: ArrayLike = 0.8) -> Any:
    """Adafactor's second-moment decay ``1 - (i + 1)^(-exponent)``."""
    t = jnp.asarray(i + 1, jnp.float32)
    return 1.0 - t ** (-exponent)


def _factored_dims(shape: tuple[int, ...], factored: bool, min_dim_size_to_factor: int) -> tuple[int, int] | None:
    """The two largest axes (second largest, largest) when they are big enough to factor."""
    if not factored or len(shape) < 2:
        return None
    sorted_dims = np.argsort(shape, kind="stable")
    if shape[sorted_dims[-2]] < min_dim_size_to_factor:
        return None
    return int(sorted_dims[-2]), int(sorted_dims[-1])


class FactoredState(NamedTuple):
    """``v_row``/``v_col``: factored statistics (shape (1,) for unfactored leaves); ``v``: full
    statistics (shape (1,) for factored leaves).

    >>> import ember.optim as eo
    >>> eo.FactoredState._fields
    ('count', 'v_row', 'v_col', 'v')
    """

    count: Any
    v_row: Any
    v_col: Any
    v: Any


def scale_by_factored_rms(factored: bool = True, decay_rate: ArrayLike = 0.8, step_offset: ArrayLike = 0,
                          min_dim_size_to_factor: int = 128, epsilon: ArrayLike = 1e-30,
                          decay_rate_fn: Callable[[ArrayLike, ArrayLike], ArrayLike] = _decay_rate_pow
                          ) -> base.GradientTransformation:
    """Divide by the root of a second moment stored as row and column averages for matrices
    whose two largest axes are >= ``min_dim_size_to_factor`` (full otherwise).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.scale_by_factored_rms()
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['1.0000', '-1.0000']
    """

    def _init(param):
        shape, dtype = param.shape, param.dtype
        dims = _factored_dims(shape, factored, min_dim_size_to_factor)
        one = jnp.zeros((1,), dtype=dtype)
        if dims is not None:
            d1, d0 = dims
            row = jnp.zeros(tuple(s for i, s in enumerate(shape) if i != d0), dtype)
            col = jnp.zeros(tuple(s for i, s in enumerate(shape) if i != d1), dtype)
            return row, col, one
        return one, one, utils.zeros_like(param)

    def init_fn(params):
        leaves, treedef = _tree.flatten(params)
        parts = [_init(p) for p in leaves]
        return FactoredState(count=jnp.zeros([], jnp.int32),
                             v_row=_tree.unflatten(treedef, [p[0] for p in parts]),
                             v_col=_tree.unflatten(treedef, [p[1] for p in parts]),
                             v=_tree.unflatten(treedef, [p[2] for p in parts]))

    def _update(grad, v_row, v_col, v, param, step):
        shape, dtype = param.shape, param.dtype
        decay_t = decay_rate_fn(step - step_offset, decay_rate)
        new_v_row = jnp.zeros((1,), dtype=dtype)
        new_v_col = jnp.zeros((1,), dtype=dtype)
        new_v = jnp.zeros((1,), dtype=dtype)
        dims = _factored_dims(shape, factored, min_dim_size_to_factor)
        grad_sqr = numerics.abs_sq(grad) + epsilon
        if dims is not None:
            d1, d0 = dims
            new_v_row = (decay_t * v_row + (1.0 - decay_t) * jnp.mean(grad_sqr, axis=d0)).astype(dtype)
            new_v_col = (decay_t * v_col + (1.0 - decay_t) * jnp.mean(grad_sqr, axis=d1)).astype(dtype)
            reduced_d1 = d1 - 1 if d1 > d0 else d1
            row_col_mean = jnp.mean(new_v_row, axis=reduced_d1, keepdims=True)
            row_factor = (new_v_row / row_col_mean) ** (-0.5)
            col_factor = new_v_col ** (-0.5)
            update = grad * jnp.expand_dims(row_factor, axis=d0) * jnp.expand_dims(col_factor, axis=d1)
        else:
            new_v = (decay_t * v + (1.0 - decay_t) * grad_sqr).astype(dtype)
            update = grad * new_v ** (-0.5)
        return update, new_v_row, new_v_col, new_v

    def update_fn(grads, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        check_state(state, FactoredState, "scale_by_factored_rms")
        leaves, treedef = _tree.flatten(grads)
        rows = treedef.flatten_up_to(state.v_row)
        cols = treedef.flatten_up_to(state.v_col)
        vs = treedef.flatten_up_to(state.v)
        ps = treedef.flatten_up_to(params)
        out = [_update(g, r, c, v, p, state.count) for g, r, c, v, p in zip(leaves, rows, cols, vs, ps)]
        pick = lambda i: _tree.unflatten(treedef, [o[i] for o in out])  # noqa: E731
        new_state = FactoredState(count=numerics.safe_increment(state.count), v_row=pick(1), v_col=pick(2), v=pick(3))
        return pick(0), new_state

    return base.GradientTransformation(init_fn, update_fn)
