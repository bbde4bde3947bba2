"""Dtype promotion shared by the layers (Flax's ``promote_dtype`` semantics)."""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp

__all__ = ["canonicalize_dtype", "promote_dtype"]


def canonicalize_dtype(*args: Any, dtype: Any = None, inexact: bool = True) -> Any:
    """``dtype`` if given, else the result type of ``args`` (at least float32 when ``inexact``)."""
    if dtype is None:
        arrays = [jnp.asarray(x) for x in args if x is not None]
        dtype = jnp.result_type(*arrays)
        if inexact and not jnp.issubdtype(dtype, jnp.inexact):
            dtype = jnp.promote_types(jnp.float32, dtype)
    if inexact and not jnp.issubdtype(dtype, jnp.inexact):
        raise ValueError(f"dtype must be inexact: {dtype}")
    return dtype


def promote_dtype(args: tuple, /, *, dtype: Any = None, inexact: bool = True) -> tuple:
    """Cast every non-None entry of ``args`` to one dtype (``dtype``, or the promoted one)."""
    dtype = canonicalize_dtype(*args, dtype=dtype, inexact=inexact)
    return tuple(jnp.asarray(x, dtype) if x is not None else None for x in args)


def value_of(v: Any) -> Any:
    """The value of a Variable (or ``v`` itself, or None)."""
    if v is None:
        return None
    return v.value if hasattr(v, "_meta") and hasattr(v, "_value") else v
