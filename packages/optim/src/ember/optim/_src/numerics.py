"""Numerically safe helpers: norms with a floor, overflow-free counters."""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp
import ember.core.numpy.linalg as jla

ArrayLike = Any


def abs_sq(x: ArrayLike) -> Any:
    """``|x|^2`` elementwise, real for complex ``x``."""
    if jnp.iscomplexobj(x):
        return (x.conj() * x).real
    return x * x


def safe_norm(x: ArrayLike, min_norm: ArrayLike, ord: int | float | str | None = None,
              axis: None | tuple[int, ...] | int = None, keepdims: bool = False) -> Any:
    """``max(norm(x), min_norm)`` whose gradient is finite (and zero) where the norm is below
    ``min_norm``.

    >>> import ember.core.numpy as jnp
    >>> round(float(safe_norm(jnp.zeros(3), 1e-3)), 6)
    0.001
    """
    norm = jla.norm(x, ord=ord, axis=axis, keepdims=True)
    x = jnp.where(norm <= min_norm, jnp.ones_like(x), x)
    norm = jnp.squeeze(norm, axis=axis) if not keepdims else norm
    masked_norm = jla.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    return jnp.where(norm <= min_norm, min_norm, masked_norm)


def safe_root_mean_squares(x: ArrayLike, min_rms: ArrayLike) -> Any:
    """``max(rms(x), min_rms)`` with a finite gradient where the rms is below ``min_rms``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> f"{float(eo.safe_root_mean_squares(jnp.array([3.0, 4.0]), min_rms=1e-3)):.4f}"
    '3.5355'
    >>> f"{float(eo.safe_root_mean_squares(jnp.zeros(2), min_rms=1e-3)):.4f}"   # never below min_rms
    '0.0010'
    """
    rms = jnp.sqrt(jnp.mean(abs_sq(x)))
    x = jnp.where(rms <= min_rms, jnp.ones_like(x), x)
    return jnp.where(rms <= min_rms, min_rms, jnp.sqrt(jnp.mean(abs_sq(x))))


def safe_increment(count: ArrayLike) -> Any:
    """``count + 1`` that saturates at the dtype's maximum instead of overflowing.

    >>> import ember.core.numpy as jnp
    >>> int(safe_increment(jnp.asarray(2**31 - 1, jnp.int32)))
    2147483647
    """
    count = jnp.asarray(count)
    dtype = count.dtype
    if jnp.issubdtype(dtype, jnp.integer):
        max_value = jnp.iinfo(dtype).max
    elif jnp.issubdtype(dtype, jnp.floating):
        max_value = jnp.finfo(dtype).max
    else:
        raise ValueError(f"Cannot safely increment a count of dtype {dtype}: use an integer or floating dtype.")
    max_value = jnp.asarray(max_value, dtype)
    return jnp.where(count < max_value, count + jnp.asarray(1, dtype), max_value)


safe_int32_increment = safe_increment
