"""Dtypes: the supported set, 32/64-bit canonicalisation, and JAX's type-promotion lattice.

Python scalars are *weakly typed*: ``x + 1`` keeps ``x``'s dtype. The lattice below is the one
JAX documents ("type promotion semantics"); joins are computed once and cached.

    >>> promote_types(np.int8, np.uint8)
    dtype('int16')
"""

from __future__ import annotations

import functools
from typing import Any

import ml_dtypes
import numpy as np

from .config import config

__all__ = [
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "bfloat16", "complex64", "complex128",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz",
    "canonicalize_dtype", "promote_types", "result_type", "dtype_of", "is_weakly_typed",
    "issubdtype", "finfo", "iinfo", "TypePromotionError",
]

bool_ = np.dtype(np.bool_)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8, uint16, uint32, uint64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
float16, float32, float64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
complex64, complex128 = np.dtype(np.complex64), np.dtype(np.complex128)
bfloat16 = np.dtype(ml_dtypes.bfloat16)
float8_e4m3fn = np.dtype(ml_dtypes.float8_e4m3fn)
float8_e5m2 = np.dtype(ml_dtypes.float8_e5m2)
float8_e4m3fnuz = np.dtype(ml_dtypes.float8_e4m3fnuz)
float8_e5m2fnuz = np.dtype(ml_dtypes.float8_e5m2fnuz)
float8_e4m3b11fnuz = np.dtype(ml_dtypes.float8_e4m3b11fnuz)

float8_dtypes = (float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz, float8_e4m3b11fnuz)
signed_dtypes = (int8, int16, int32, int64)
unsigned_dtypes = (uint8, uint16, uint32, uint64)
integer_dtypes = signed_dtypes + unsigned_dtypes
custom_float_dtypes = (bfloat16,) + float8_dtypes
float_dtypes = float8_dtypes + (bfloat16, float16, float32, float64)
complex_dtypes = (complex64, complex128)
inexact_dtypes = float_dtypes + complex_dtypes
all_dtypes = (bool_,) + integer_dtypes + float_dtypes + complex_dtypes
_supported = frozenset(all_dtypes)

_to_32 = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}


class TypePromotionError(TypeError):
    """Two dtypes have no common type in the promotion lattice (e.g. two different float8s).

    >>> from ember.core import dtypes
    >>> try:
    ...     dtypes.promote_types(dtypes.float8_e4m3fn, dtypes.float8_e5m2)
    ... except dtypes.TypePromotionError:
    ...     print("no common type: cast one explicitly")
    no common type: cast one explicitly
    """


def _x64() -> bool:
    return config.enable_x64


def to_dtype(dtype: Any, *, argname: str = "dtype") -> np.dtype:
    """Turn a dtype-like (np.float32, 'bfloat16', float, an Array's dtype...) into a np.dtype."""
    if dtype is None:
        raise TypeError(f"{argname}: expected a dtype, got None")
    if dtype is int:
        return np.dtype(np.int64)
    if dtype is float:
        return np.dtype(np.float64)
    if dtype is complex:
        return np.dtype(np.complex128)
    if dtype is bool:
        return bool_
    if isinstance(dtype, str) and hasattr(ml_dtypes, dtype):
        return np.dtype(getattr(ml_dtypes, dtype))
    try:
        result = np.dtype(dtype if isinstance(dtype, (type, str, np.dtype)) else getattr(dtype, "dtype", dtype))
    except TypeError:
        raise TypeError(f"{argname}: expected a dtype such as 'float32', got {dtype!r}") from None
    if result not in _supported:
        supported = ", ".join(d.name for d in all_dtypes)
        raise TypeError(f"{argname}: dtype {result.name!r} is not supported by ember; supported: {supported}")
    return result


@functools.cache
def _canonicalize(dtype: np.dtype, x64: bool) -> np.dtype:
    return dtype if x64 else _to_32.get(dtype, dtype)


def canonicalize_dtype(dtype: Any) -> np.dtype:
    """The dtype ember actually uses: 64-bit types become 32-bit unless ``enable_x64`` is set.

    >>> import numpy as np
    >>> from ember.core import dtypes
    >>> dtypes.canonicalize_dtype(np.float64)   # without enable_x64
    dtype('float32')
    """
    if type(dtype) is not np.dtype:
        dtype = to_dtype(dtype)
    return _canonicalize(dtype, config.enable_x64)


def default_int_dtype() -> np.dtype:
    return int64 if _x64() else int32


def default_float_dtype() -> np.dtype:
    return float64 if _x64() else float32


def default_complex_dtype() -> np.dtype:
    return complex128 if _x64() else complex64


# ---------------------------------------------------------------------------------------------
# The lattice. Nodes are dtypes plus three weak kinds; an edge a -> b means "a promotes to b".
_WEAK_INT, _WEAK_FLOAT, _WEAK_COMPLEX = "int", "float", "complex"

_LATTICE: dict[Any, tuple[Any, ...]] = {
    bool_: (_WEAK_INT,),
    _WEAK_INT: (uint8, int8),
    uint8: (int16, uint16), uint16: (int32, uint32), uint32: (int64, uint64), uint64: (_WEAK_FLOAT,),
    int8: (int16,), int16: (int32,), int32: (int64,), int64: (_WEAK_FLOAT,),
    _WEAK_FLOAT: float8_dtypes + (bfloat16, float16, _WEAK_COMPLEX),
    **{t: () for t in float8_dtypes},
    bfloat16: (float32,), float16: (float32,), float32: (float64, complex64), float64: (complex128,),
    _WEAK_COMPLEX: (complex64,), complex64: (complex128,), complex128: (),
}


@functools.cache
def _upper_bounds(node: Any) -> frozenset:
    bounds = {node}
    for successor in _LATTICE[node]:
        bounds |= _upper_bounds(successor)
    return frozenset(bounds)


@functools.cache
def _join(a: Any, b: Any) -> Any:
    common = _upper_bounds(a) & _upper_bounds(b)
    for candidate in common:
        if common <= _upper_bounds(candidate):
            return candidate
    name = lambda n: n if isinstance(n, str) else n.name  # noqa: E731
    raise TypePromotionError(
        f"dtypes {name(a)} and {name(b)} have no common type; convert one explicitly with astype()"
    )


def _node(dtype: np.dtype, weak: bool) -> Any:
    if not weak:
        return dtype
    if dtype.kind in "iu":
        return _WEAK_INT
    if dtype.kind == "f" or dtype in custom_float_dtypes:
        return _WEAK_FLOAT
    if dtype.kind == "c":
        return _WEAK_COMPLEX
    return dtype


def _from_node(node: Any) -> tuple[np.dtype, bool]:
    if node == _WEAK_INT:
        return default_int_dtype(), True
    if node == _WEAK_FLOAT:
        return default_float_dtype(), True
    if node == _WEAK_COMPLEX:
        return default_complex_dtype(), True
    return canonicalize_dtype(node), False


def promote_types(a: Any, b: Any) -> np.dtype:
    """The dtype both ``a`` and ``b`` promote to (strong types, like ``np.promote_types``).

    >>> import numpy as np
    >>> from ember.core import dtypes
    >>> dtypes.promote_types(np.int8, np.uint8), dtypes.promote_types(dtypes.bfloat16, np.float16)
    (dtype('int16'), dtype('float32'))
    """
    node = _join(to_dtype(a, argname="a"), to_dtype(b, argname="b"))
    if isinstance(node, str):
        return _from_node(node)[0] if node != _WEAK_FLOAT else float64
    # as jax.numpy.promote_types: integer results follow the 32/64-bit mode, floats do not
    return canonicalize_dtype(node) if node.kind in "iu" else node


def _kind_of_python_scalar(x: Any) -> tuple[np.dtype, bool] | None:
    t = type(x)
    if t is bool:
        return bool_, False
    if t is int:
        return default_int_dtype(), True
    if t is float:
        return default_float_dtype(), True
    if t is complex:
        return default_complex_dtype(), True
    return None


def dtype_of(x: Any, *, canonicalize: bool = True) -> np.dtype:
    """The dtype ember gives value ``x`` (an array, a NumPy value, a Python scalar)."""
    scalar = _kind_of_python_scalar(x)
    if scalar is not None:
        return scalar[0]
    dt = getattr(x, "dtype", None)
    if dt is None:
        try:
            dt = np.asarray(x).dtype
        except Exception:
            raise TypeError(f"expected an array, a NumPy value or a Python scalar, got {type(x).__name__}") from None
    dt = to_dtype(dt, argname="value")
    return canonicalize_dtype(dt) if canonicalize else dt


def is_weakly_typed(x: Any) -> bool:
    """True when ``x`` is weakly typed (a Python scalar, or an array computed from them only).

    >>> import ember.core.numpy as jnp
    >>> from ember.core import dtypes
    >>> dtypes.is_weakly_typed(jnp.asarray(1.0)), dtypes.is_weakly_typed(jnp.ones(2))
    (True, False)
    """
    if type(x) in (int, float, complex):
        return True
    aval = getattr(x, "aval", None)
    return bool(getattr(aval, "weak_type", False))


def _dtype_and_weak(x: Any) -> tuple[np.dtype, bool]:
    scalar = _kind_of_python_scalar(x)
    if scalar is not None:
        return scalar
    if x is int or x is float or x is complex or x is bool:
        return to_dtype(x), False
    aval = getattr(x, "aval", None)
    if aval is not None and hasattr(aval, "weak_type"):
        return aval.dtype, aval.weak_type
    if isinstance(x, (np.dtype, type, str)):
        return canonicalize_dtype(to_dtype(x)), False
    return dtype_of(x), False


@functools.lru_cache(maxsize=4096)
def _result_type_of_nodes(nodes: tuple, x64: bool) -> tuple[np.dtype, bool]:
    node = nodes[0]
    for other in nodes[1:]:
        node = _join(node, other)
    return _from_node(node)


def result_type(*args: Any, return_weak_type_flag: bool = False) -> Any:
    """The dtype of an operation on ``args`` (arrays, dtypes, Python scalars), JAX-style.

    >>> result_type(np.float16, 1.0)
    dtype('float16')
    """
    if not args:
        raise ValueError("result_type: at least one argument is required")
    nodes = tuple(_node(*_dtype_and_weak(a)) for a in args)
    dtype, weak = _result_type_of_nodes(nodes, config.enable_x64)
    return (dtype, weak) if return_weak_type_flag else dtype


# ---------------------------------------------------------------------------------------------
# Dtype categories that understand bfloat16 and float8 (NumPy's issubdtype does not).
_categories = {
    np.bool_: lambda d: d == bool_,
    np.number: lambda d: d != bool_,
    np.integer: lambda d: d.kind in "iu",
    np.signedinteger: lambda d: d.kind == "i",
    np.unsignedinteger: lambda d: d.kind == "u",
    np.inexact: lambda d: d in _supported_inexact,
    np.floating: lambda d: d in _supported_floating,
    np.complexfloating: lambda d: d.kind == "c",
    np.generic: lambda d: True,
}
_supported_floating = frozenset(float_dtypes)
_supported_inexact = frozenset(inexact_dtypes)


def issubdtype(arg1: Any, arg2: Any) -> bool:
    """Like ``np.issubdtype`` but knows that bfloat16 and the float8s are floating types.

    >>> import numpy as np
    >>> from ember.core import dtypes
    >>> dtypes.issubdtype(dtypes.bfloat16, np.floating), dtypes.issubdtype(np.int32, np.floating)
    (True, False)
    """
    if isinstance(arg2, type) and arg2 in _categories:
        try:
            d = np.dtype(arg1 if isinstance(arg1, (type, str, np.dtype)) else getattr(arg1, "dtype", arg1))
        except TypeError:
            return False
        return _categories[arg2](d)
    return np.issubdtype(arg1, arg2)


def finfo(dtype: Any) -> Any:
    """Machine limits of a floating type, bfloat16 and float8 included.

    >>> from ember.core import dtypes
    >>> float(dtypes.finfo(dtypes.bfloat16).eps)
    0.0078125
    """
    return ml_dtypes.finfo(to_dtype(dtype))


def iinfo(dtype: Any) -> Any:
    """Machine limits of an integer type (``np.iinfo``).

    >>> import numpy as np
    >>> from ember.core import dtypes
    >>> int(dtypes.iinfo(np.int8).max)
    127
    """
    return ml_dtypes.iinfo(to_dtype(dtype))


def is_float(dtype: np.dtype) -> bool:
    return dtype in _supported_floating


def is_inexact(dtype: np.dtype) -> bool:
    return dtype in _supported_inexact
