"""Small helpers shared by primitive modules (argument checking, constants)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import dtypes
from ..core import ShapedArray, Tracer, get_aval

_py_scalars = (bool, int, float, complex)


def aval_of(x: Any) -> ShapedArray:
    return get_aval(x)


def describe_dtype(dtype: np.dtype) -> str:
    return dtype.name


def check_same_dtypes(name: str, avals: Sequence[ShapedArray]) -> None:
    first = avals[0].dtype
    for i, aval in enumerate(avals[1:], 1):
        if aval.dtype != first:
            raise TypeError(
                f"lax.{name}: operands must have the same dtype, got {first.name} (operand 0) and "
                f"{aval.dtype.name} (operand {i}); convert with astype() or use the ec.numpy "
                "function, which promotes"
            )


def check_same_shapes(name: str, avals: Sequence[ShapedArray]) -> None:
    first = avals[0].shape
    for i, aval in enumerate(avals[1:], 1):
        if aval.shape != first:
            raise TypeError(
                f"lax.{name}: operands must have the same shape, got {first} (operand 0) and "
                f"{aval.shape} (operand {i}); lax functions do not broadcast, ec.numpy functions do"
            )


_kind_names = {
    "float": "a floating-point",
    "inexact": "a floating-point or complex",
    "int": "an integer",
    "int_or_bool": "an integer or boolean",
    "numeric": "a numeric (non-boolean)",
    "any": "an",
    "complex": "a complex",
}


def dtype_matches(kind: str, dtype: np.dtype) -> bool:
    if kind == "any":
        return True
    if kind == "float":
        return dtypes.is_float(dtype)
    if kind == "inexact":
        return dtypes.is_inexact(dtype)
    if kind == "int":
        return dtype.kind in "iu"
    if kind == "int_or_bool":
        return dtype.kind in "iub"
    if kind == "numeric":
        return dtype != dtypes.bool_
    if kind == "complex":
        return dtype.kind == "c"
    raise ValueError(kind)


def check_dtype_kind(name: str, kind: str, aval: ShapedArray, position: int | None = None) -> None:
    if not dtype_matches(kind, aval.dtype):
        which = "" if position is None else f" (operand {position})"
        raise TypeError(f"lax.{name}: expected {_kind_names[kind]} array{which}, got {aval.dtype.name}")


def const_like(x: Any, value: Any) -> np.ndarray:
    """A NumPy scalar ``value`` with ``x``'s dtype (written into programs as a literal)."""
    return np.array(value, dtype=aval_of(x).dtype)


def is_python_scalar(x: Any) -> bool:
    return type(x) in _py_scalars


def is_concrete(x: Any) -> bool:
    return not isinstance(x, Tracer)
