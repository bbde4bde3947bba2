"""Pooling over windows of the spatial axes (inputs ``(batch..., *spatial, features)``):
``pool``, ``avg_pool``, ``max_pool``, ``min_pool`` (Flax's functions).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    >>> nn.max_pool(x, (2, 2), strides=(2, 2))[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import ember.core.numpy as jnp
from ember.core import lax

__all__ = ["pool", "avg_pool", "max_pool", "min_pool"]


def pool(inputs: Any, init: Any, reduce_fn: Callable, window_shape: Sequence[int],
         strides: Sequence[int] | None = None, padding: Any = "VALID") -> Any:
    """``lax.reduce_window`` over the spatial axes (all but the leading batch axes and the last)."""
    window_shape = tuple(window_shape)
    num_batch = inputs.ndim - (len(window_shape) + 1)
    strides = tuple(strides) if strides is not None else (1,) * len(window_shape)
    if len(strides) != len(window_shape):
        raise ValueError(f"strides {strides} must have as many entries as window_shape {window_shape}")
    squeeze = num_batch == 0
    if squeeze:
        inputs = inputs[None]
        num_batch = 1
    dims = (1,) * num_batch + window_shape + (1,)
    full_strides = (1,) * num_batch + strides + (1,)
    if not isinstance(padding, str):
        padding = tuple(map(tuple, padding))
        if len(padding) == len(window_shape):
            padding = ((0, 0),) * num_batch + padding + ((0, 0),)
    y = lax.reduce_window(inputs, init, reduce_fn, dims, full_strides, padding)
    return y[0] if squeeze else y


def avg_pool(inputs: Any, window_shape: Sequence[int], strides: Sequence[int] | None = None,
             padding: Any = "VALID", count_include_pad: bool = True) -> Any:
    """Mean over each window (padding counted unless ``count_include_pad=False``)."""
    y = pool(inputs, jnp.asarray(0, inputs.dtype), lax.add, window_shape, strides, padding)
    if count_include_pad:
        return y / float(jnp.prod(jnp.asarray(window_shape)))
    ones = jnp.ones(inputs.shape[-(len(window_shape) + 1):-1] + (1,), inputs.dtype)
    counts = pool(ones, jnp.asarray(0, inputs.dtype), lax.add, window_shape, strides, padding)
    return y / counts


def max_pool(inputs: Any, window_shape: Sequence[int], strides: Sequence[int] | None = None,
             padding: Any = "VALID") -> Any:
    """Maximum over each window."""
    init = -jnp.inf if jnp.issubdtype(inputs.dtype, jnp.floating) else jnp.iinfo(inputs.dtype).min
    return pool(inputs, jnp.asarray(init, inputs.dtype), lax.max, window_shape, strides, padding)


def min_pool(inputs: Any, window_shape: Sequence[int], strides: Sequence[int] | None = None,
             padding: Any = "VALID") -> Any:
    """Minimum over each window."""
    init = jnp.inf if jnp.issubdtype(inputs.dtype, jnp.floating) else jnp.iinfo(inputs.dtype).max
    return pool(inputs, jnp.asarray(init, inputs.dtype), lax.min, window_shape, strides, padding)
