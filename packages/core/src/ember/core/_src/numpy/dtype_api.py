"""Dtypes at the NumPy API: scalar types (``jnp.float32(3)`` makes a 0-d Array, ``jnp.float32``
also works as a dtype), ``dtype``, ``finfo``/``iinfo``, promotion (``result_type``,
``promote_types``, ``can_cast``), dtype predicates, array predicates (``isscalar``, ``ndim``,
``iscomplexobj``...), NumPy's abstract type categories and the constants ``pi``, ``e``...

    >>> import ember.core.numpy as jnp
    >>> x = jnp.float32(3)
    >>> x.dtype, x.shape
    (dtype('float32'), ())
    >>> jnp.issubdtype(jnp.bfloat16, jnp.floating)
    True
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import Tracer, get_aval

__all__ = [
    # scalar types
    "bool_", "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "bfloat16", "complex64", "complex128", "float8_e4m3fn",
    "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz", "int_", "uint",
    "float_", "complex_", "single", "double", "half", "csingle", "cdouble", "byte", "ubyte", "short",
    "ushort", "intc", "uintc", "long", "ulong", "longlong", "ulonglong", "intp", "uintp",
    # dtype objects and categories
    "dtype", "ndarray", "generic", "number", "integer", "signedinteger", "unsignedinteger",
    "inexact", "floating", "complexfloating", "character", "flexible",
    # functions
    "iinfo", "finfo", "result_type", "promote_types", "can_cast", "issubdtype", "isdtype",
    "isscalar", "ndim", "shape", "size", "iscomplexobj", "isrealobj", "iscomplex", "isreal",
    "common_type", "min_scalar_type", "mintypecode", "typename",
    # constants
    "pi", "e", "euler_gamma", "inf", "nan", "newaxis",
]

_builtin_bool = bool


# ----------------------------------------------------------------------------------------------
# Scalar types

class _ScalarMeta(type):
    """The type of ``jnp.float32`` and friends: calling one makes an Array of that dtype; the
    type compares and hashes like NumPy's scalar type, so it works wherever a dtype does."""

    dtype: np.dtype

    def __hash__(cls) -> int:
        return hash(cls.dtype.type)

    def __eq__(cls, other: Any) -> _builtin_bool:
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other: Any) -> _builtin_bool:
        return not cls.__eq__(other)

    def __call__(cls, x: Any) -> Any:
        from .creation import asarray
        return asarray(x, dtype=cls.dtype)

    def __instancecheck__(cls, instance: Any) -> _builtin_bool:
        return isinstance(instance, cls.dtype.type)

    def __repr__(cls) -> str:
        return f"<class 'ember.core.numpy.{cls.__name__}'>"


def _scalar_type(name: str, dt: np.dtype) -> Any:
    doc = f"The {dt.name} scalar type: ``{name}(x)`` is ``asarray(x, dtype='{dt.name}')``."
    return _ScalarMeta(name, (object,), {"dtype": np.dtype(dt), "__module__": "ember.core.numpy", "__doc__": doc})


bool_ = _scalar_type("bool", dtypes.bool_)
bool = bool_  # noqa: A001 - NumPy 2 name
int8 = _scalar_type("int8", dtypes.int8)
int16 = _scalar_type("int16", dtypes.int16)
int32 = _scalar_type("int32", dtypes.int32)
int64 = _scalar_type("int64", dtypes.int64)
uint8 = _scalar_type("uint8", dtypes.uint8)
uint16 = _scalar_type("uint16", dtypes.uint16)
uint32 = _scalar_type("uint32", dtypes.uint32)
uint64 = _scalar_type("uint64", dtypes.uint64)
float16 = _scalar_type("float16", dtypes.float16)
float32 = _scalar_type("float32", dtypes.float32)
float64 = _scalar_type("float64", dtypes.float64)
bfloat16 = _scalar_type("bfloat16", dtypes.bfloat16)
complex64 = _scalar_type("complex64", dtypes.complex64)
complex128 = _scalar_type("complex128", dtypes.complex128)
float8_e4m3fn = _scalar_type("float8_e4m3fn", dtypes.float8_e4m3fn)
float8_e5m2 = _scalar_type("float8_e5m2", dtypes.float8_e5m2)
float8_e4m3fnuz = _scalar_type("float8_e4m3fnuz", dtypes.float8_e4m3fnuz)
float8_e5m2fnuz = _scalar_type("float8_e5m2fnuz", dtypes.float8_e5m2fnuz)
float8_e4m3b11fnuz = _scalar_type("float8_e4m3b11fnuz", dtypes.float8_e4m3b11fnuz)

# NumPy's aliases: the 64-bit names (canonicalised to 32 bits unless enable_x64 is set)
int_ = int64
uint = uint64
float_ = float64
complex_ = complex128
single, double, half = float32, float64, float16
csingle, cdouble = complex64, complex128
# C-type aliases, by width (64-bit ones canonicalise to 32 bits unless enable_x64)
byte, ubyte, short, ushort = int8, uint8, int16, uint16
intc, uintc = int32, uint32
long, ulong, longlong, ulonglong, intp, uintp = int64, uint64, int64, uint64, int64, uint64

dtype = np.dtype
ndarray = Array

# NumPy's abstract categories (``issubdtype`` below knows bfloat16 and the float8s belong)
generic = np.generic
number = np.number
integer = np.integer
signedinteger = np.signedinteger
unsignedinteger = np.unsignedinteger
inexact = np.inexact
floating = np.floating
complexfloating = np.complexfloating
character = np.character
flexible = np.flexible

pi = math.pi
e = math.e
euler_gamma = 0.5772156649015329
inf = math.inf
nan = math.nan
newaxis = None


# ----------------------------------------------------------------------------------------------
# Dtype functions

def _to_np(x: Any) -> Any:
    """Scalar-type metas become their NumPy types; everything else passes through."""
    return x.dtype.type if isinstance(x, _ScalarMeta) else x


def _dtype_arg(x: Any) -> np.dtype:
    if isinstance(x, (Array, Tracer)):
        return get_aval(x).dtype
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    return dtypes.to_dtype(_to_np(x))


def finfo(dtype: Any) -> Any:
    """Machine limits of a floating type (bfloat16 and float8 included; complex gives its part).

    >>> finfo(bfloat16).eps
    0.0078125
    """
    dt = _dtype_arg(dtype)
    if dt.kind == "c":
        dt = np.dtype(np.float32 if dt == dtypes.complex64 else np.float64)
    if not dtypes.is_float(dt):
        raise ValueError(f"finfo: {dt.name} is not a floating-point dtype")
    return dtypes.finfo(dt)


def iinfo(int_type: Any) -> Any:
    """Machine limits of an integer type.

    >>> iinfo(int8).max
    127
    """
    dt = _dtype_arg(int_type)
    if dt.kind not in "iu":
        raise ValueError(f"iinfo: {dt.name} is not an integer dtype")
    return dtypes.iinfo(dt)


def result_type(*args: Any) -> np.dtype:
    """The dtype of an operation on ``args`` (arrays, scalars, dtypes) under JAX's promotion
    rules, canonicalised (64-bit types become 32-bit unless ``enable_x64``).

    >>> result_type(int8, 1.0), result_type(bfloat16, 2)
    (dtype('float32'), dtype(bfloat16))
    """
    return dtypes.result_type(*[_to_np(a) for a in args])


def promote_types(a: Any, b: Any) -> np.dtype:
    """The dtype both dtypes promote to (not canonicalised, like ``np.promote_types``).

    >>> promote_types(int8, uint8)
    dtype('int16')
    """
    return dtypes.promote_types(_to_np(a), _to_np(b))


def can_cast(from_: Any, to: Any, casting: str = "safe") -> _builtin_bool:
    """Whether a cast between dtypes (or from an array's dtype) can happen under ``casting``.

    >>> can_cast(int8, float32), can_cast(float32, bfloat16)
    (True, False)
    """
    return _builtin_bool(np.can_cast(_dtype_arg(from_), _dtype_arg(to), casting=casting))


_ABSTRACT = (np.generic, np.number, np.integer, np.signedinteger, np.unsignedinteger, np.inexact, np.floating,
             np.complexfloating, np.bool_, np.character, np.flexible)


def issubdtype(arg1: Any, arg2: Any) -> _builtin_bool:
    """Like ``np.issubdtype``, knowing that bfloat16 and the float8s are floating types.

    >>> issubdtype(float32, floating), issubdtype(int32, floating)
    (True, False)
    """
    a1 = _to_np(arg1)
    a2 = _to_np(arg2)
    if isinstance(a1, (Array, Tracer)):
        a1 = get_aval(a1).dtype
    if isinstance(a1, type) and a1 in _ABSTRACT:  # a category itself: NumPy's class hierarchy
        return _builtin_bool(np.issubdtype(a1, a2))
    try:
        a1 = np.dtype(a1)
    except TypeError:
        return _builtin_bool(np.issubdtype(a1, a2))
    if isinstance(a2, type) and a2 in _ABSTRACT:
        return dtypes.issubdtype(a1, a2)
    return _builtin_bool(np.issubdtype(a1, a2))


_KINDS = {
    "bool": lambda d: d == dtypes.bool_,
    "signed integer": lambda d: d.kind == "i",
    "unsigned integer": lambda d: d.kind == "u",
    "integral": lambda d: d.kind in "iu",
    "real floating": lambda d: dtypes.is_float(d),
    "complex floating": lambda d: d.kind == "c",
    "numeric": lambda d: d.kind in "iuc" or dtypes.is_float(d),
}


def isdtype(dtype: Any, kind: Any) -> _builtin_bool:
    """The array API's dtype test: ``kind`` is a dtype, a kind name ('bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric'), or a tuple.

    >>> isdtype(bfloat16, "real floating"), isdtype(int8, ("bool", "integral"))
    (True, True)
    """
    dt = _dtype_arg(dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in _KINDS:
                raise ValueError(f"isdtype: unknown kind {k!r}; expected one of {', '.join(_KINDS)}")
            if _KINDS[k](dt):
                return True
        elif dt == _dtype_arg(k):
            return True
    return False


# ----------------------------------------------------------------------------------------------
# Array predicates and properties

def isscalar(element: Any) -> _builtin_bool:
    """True for Python and NumPy scalars and for 0-d arrays (JAX treats those as scalars).

    >>> isscalar(1.0), isscalar(float32(1)), isscalar([1])
    (True, True, False)
    """
    if isinstance(element, (Array, Tracer, np.ndarray)):
        return get_aval(element).ndim == 0 if not isinstance(element, np.ndarray) else element.ndim == 0
    return _builtin_bool(np.isscalar(element))


def ndim(a: Any) -> int:
    """The number of dimensions of ``a`` (an array, a scalar or a nested sequence).

    >>> ndim([[1, 2]])
    2
    """
    if isinstance(a, (Array, Tracer)):
        return get_aval(a).ndim
    return int(np.ndim(a))


def shape(a: Any) -> tuple[int, ...]:
    """The shape of ``a``.

    >>> shape([[1], [2]])
    (2, 1)
    """
    if isinstance(a, (Array, Tracer)):
        return get_aval(a).shape
    return tuple(np.shape(a))


def size(a: Any, axis: int | None = None) -> int:
    """The number of elements of ``a`` (along ``axis`` when given).

    >>> size([[1, 2, 3], [4, 5, 6]], 1)
    3
    """
    s = shape(a)
    if axis is None:
        return math.prod(s)
    return s[axis]


def iscomplexobj(x: Any) -> _builtin_bool:
    """Whether ``x`` has a complex dtype (regardless of its values).

    >>> iscomplexobj(1j), iscomplexobj(1.0)
    (True, False)
    """
    if x is None:
        return False
    try:
        dt = dtypes.dtype_of(x, canonicalize=False) if not isinstance(x, (Array, Tracer)) else get_aval(x).dtype
    except TypeError:
        return False
    return dt.kind == "c"


def isrealobj(x: Any) -> _builtin_bool:
    """Whether ``x`` does not have a complex dtype."""
    return not iscomplexobj(x)


def iscomplex(x: Any) -> Any:
    """Elementwise: whether the imaginary part is non-zero (False for real dtypes).

    >>> from ember.core.numpy import asarray
    >>> iscomplex(asarray([1 + 1j, 2])).tolist()
    [True, False]
    """
    from .ufuncs import imag, not_equal
    return not_equal(imag(x), 0)


def isreal(x: Any) -> Any:
    """Elementwise: whether the imaginary part is zero (True for real dtypes)."""
    from .ufuncs import equal, imag
    return equal(imag(x), 0)


def common_type(*arrays: Any) -> Any:
    """The inexact scalar type common to ``arrays``: integers count as the default float.

    >>> from ember.core.numpy import asarray
    >>> common_type(asarray([1, 2]), asarray([1.0], float16)) is float32
    True
    """
    if not arrays:
        raise TypeError("common_type: at least one array is required")
    complex_, bits = False, 0
    for a in arrays:
        dt = _dtype_arg(a)
        if dt.kind == "c":
            complex_ = True
            bits = max(bits, dt.itemsize * 4)
        elif dtypes.is_float(dt):
            bits = max(bits, dt.itemsize * 8)
        elif dt.kind in "iub":
            bits = max(bits, dtypes.default_float_dtype().itemsize * 8)
        else:
            raise TypeError(f"common_type: unsupported dtype {dt.name}")
    if complex_:
        return complex64 if bits <= 32 else complex128
    return {16: float16, 32: float32, 64: float64}.get(bits, float32)


def min_scalar_type(a: Any) -> np.dtype:
    """The smallest dtype that holds the (concrete) value ``a``, like ``np.min_scalar_type``."""
    return np.min_scalar_type(np.asarray(a))


mintypecode = np.mintypecode
typename = np.typename
