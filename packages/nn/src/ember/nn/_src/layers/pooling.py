"""Pooling over windows of the spatial axes (inputs ``(batch..., *spatial, features)``):
``pool``, ``avg_pool``, ``max_pool``, ``min_pool`` (Flax's functions).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    >>> nn.max_pool(x, (2, 2), strides=(2, 2))[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable, Sequence

import ember.core.numpy as jnp
from ember.core import lax

__all__ = ["pool", "avg_pool", "max_pool", "min_pool"]


def pool(inputs: Any, init: Any, reduce_fn: Callable, window_shape: Sequence[int],
         strides: Sequence[int] | None = None, padding: Any = "VALID") -> Any:
    """``lax.reduce_window`` over the spatial axes (all but the leading batch axes and the last).

    ``window_shape``, ``strides`` and ``padding`` are static (Python ints / strings): they fix the
    shape of the result, so they are never traced.
    """
    window_shape = _static_ints(window_shape, "window_shape")
    inputs = jnp.asarray(inputs)
    num_batch = inputs.ndim - (len(window_shape) + 1)
    if num_batch < 0:
        raise ValueError(f"inputs of shape {tuple(inputs.shape)} have too few axes for window_shape "
                         f"{window_shape}: expected (batch..., {len(window_shape)} spatial axes, features)")
    strides = _static_ints(strides, "strides") if strides is not None else (1,) * len(window_shape)
    if len(strides) != len(window_shape):
        raise ValueError(f"strides {strides} must have as many entries as window_shape {window_shape}")
    squeeze = num_batch == 0
    if squeeze:
        inputs = inputs[None]
        num_batch = 1
    dims = (1,) * num_batch + window_shape + (1,)
    full_strides = (1,) * num_batch + strides + (1,)
    if not isinstance(padding, str):
        try:
            padding = tuple((operator.index(lo), operator.index(hi)) for lo, hi in padding)
        except (TypeError, ValueError):
            raise ValueError(f"padding must be 'SAME', 'VALID' or a sequence of (low, high) int pairs, "
                             f"got {padding!r}") from None
        if len(padding) == len(window_shape):
            padding = ((0, 0),) * num_batch + padding + ((0, 0),)
        elif len(padding) != inputs.ndim:
            raise ValueError(f"padding {padding} must have one (low, high) pair per spatial axis "
                             f"({len(window_shape)}, as window_shape {window_shape})")
    y = lax.reduce_window(inputs, init, reduce_fn, dims, full_strides, padding)
    return y[0] if squeeze else y


def avg_pool(inputs: Any, window_shape: Sequence[int], strides: Sequence[int] | None = None,
             padding: Any = "VALID", count_include_pad: bool = True) -> Any:
    """Mean over each window. As in Flax, padded positions count as zeros in the divisor
    (``sum / prod(window_shape)``) unless ``count_include_pad=False``, which divides by the number
    of real elements in each window."""
    inputs = jnp.asarray(inputs)
    window_shape = _static_ints(window_shape, "window_shape")
    y = pool(inputs, jnp.asarray(0, inputs.dtype), lax.add, window_shape, strides, padding)
    if count_include_pad:
        return y / math.prod(window_shape)   # a Python int: no host round trip, fine under jit
    ones = jnp.ones(inputs.shape[-(len(window_shape) + 1):-1] + (1,), inputs.dtype)
    counts = pool(ones, jnp.asarray(0, inputs.dtype), lax.add, window_shape, strides, padding)
    return y / counts


def _static_ints(values: Any, name: str) -> tuple[int, ...]:
    """A window/stride tuple as Python ints: static, since it fixes the output shape."""
    try:
        return tuple(operator.index(v) for v in values)
    except Exception:  # noqa: BLE001 - not a sequence, not ints, or traced values
        raise TypeError(f"{name} must be a sequence of Python ints (static: it fixes the output shape), "
                        f"got {values!r}") from None


def max_pool(inputs: Any, window_shape: Sequence[int], strides: Sequence[int] | None = None,
             padding: Any = "VALID") -> Any:
    """Maximum over each window."""
    inputs = jnp.asarray(inputs)
    init = -jnp.inf if jnp.issubdtype(inputs.dtype, jnp.floating) else jnp.iinfo(inputs.dtype).min
    return pool(inputs, jnp.asarray(init, inputs.dtype), lax.max, window_shape, strides, padding)


def min_pool(inputs: Any, window_shape: Sequence[int], strides: Sequence[int] | None = None,
             padding: Any = "VALID") -> Any:
    """Minimum over each window."""
    inputs = jnp.asarray(inputs)
    init = jnp.inf if jnp.issubdtype(inputs.dtype, jnp.floating) else jnp.iinfo(inputs.dtype).max
    return pool(inputs, jnp.asarray(init, inputs.dtype), lax.min, window_shape, strides, padding)
