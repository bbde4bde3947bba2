"""Elementwise NumPy functions (``ec.numpy.add``, ``exp``, ``where``...): promote dtypes, broadcast
shapes, then apply the ``lax`` primitive. Each compiles to one program when called eagerly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..custom_derivatives import custom_jvp
from ..primitives import elementwise as lax
from .util import (
    aval,
    check_arraylike,
    numpy_jit,
    promote_args,
    promote_args_inexact,
    promote_dtypes_inexact,
)


def _binary(name: str, op: Any, *, inexact: bool = False, doc: str = "") -> Any:
    promote = promote_args_inexact if inexact else promote_args

    def ufunc(x: Any, y: Any, /) -> Any:
        return op(*promote(name, x, y))

    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = doc or f"Elementwise ``{name}`` with NumPy broadcasting and JAX type promotion."
    return numpy_jit(ufunc)


def _unary(name: str, op: Any, *, inexact: bool = False, doc: str = "") -> Any:
    def ufunc(x: Any, /) -> Any:
        check_arraylike(name, x)
        (x,) = promote_dtypes_inexact(x) if inexact else promote_args(name, x)
        return op(x)

    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = doc or f"Elementwise ``{name}``."
    return numpy_jit(ufunc)


def _promote_numeric(name: str, *args: Any) -> list[Any]:
    """``promote_args``, then booleans become the default integer (as in jax.numpy)."""
    out = promote_args(name, *args)
    if out and _is_bool(out[0]):
        out = [lax.convert_element_type(a, dtypes.default_int_dtype()) for a in out]
    return out


def _is_int(x: Any) -> bool:
    return aval(x).dtype.kind in "iu"


def _is_bool(x: Any) -> bool:
    return aval(x).dtype == dtypes.bool_


# ----------------------------------------------------------------------------------------------
# Arithmetic

add = _binary("add", lax.add, doc="""Elementwise ``x + y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.add(jnp.array([1, 2]), 10).tolist()
    [11, 12]
    >>> jnp.add(jnp.ones(2, jnp.bfloat16), 1.0).dtype   # a Python float is weakly typed
    dtype(bfloat16)
    """)
subtract = _binary("subtract", lax.sub, doc="""Elementwise ``x - y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.subtract(jnp.array([5, 7]), jnp.array([[1], [2]])).tolist()   # broadcasting
    [[4, 6], [3, 5]]
    """)
multiply = _binary("multiply", lax.mul, doc="""Elementwise ``x * y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.multiply(jnp.array([1.5, 2.0]), 2).tolist()
    [3.0, 4.0]
    """)
maximum = _binary("maximum", lax.max, doc="""Elementwise maximum of ``x`` and ``y`` (NaN-propagating).

    >>> import ember.core.numpy as jnp
    >>> jnp.maximum(jnp.array([1.0, jnp.nan, 3.0]), 2.0).tolist()   # NaN propagates
    [2.0, nan, 3.0]
    """)
minimum = _binary("minimum", lax.min, doc="""Elementwise minimum of ``x`` and ``y`` (NaN-propagating).

    >>> import ember.core.numpy as jnp
    >>> jnp.minimum(jnp.array([1, 5]), 3).tolist()
    [1, 3]
    """)
arctan2 = _binary("arctan2", lax.atan2, inexact=True, doc="""Elementwise arc tangent of ``x / y`` in the quadrant of the point ``(y, x)``, in radians.

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.arctan2(1.0, -1.0)):.4f}"   # the angle of the point (x=-1, y=1)
    '2.3562'
    """)
nextafter = _binary("nextafter", lax.nextafter, inexact=True)


@numpy_jit
def true_divide(x: Any, y: Any, /) -> Any:
    """x / y, always floating point.

    >>> import ember.core.numpy as jnp
    >>> jnp.divide(jnp.array([1, 2]), 2).tolist()   # true division: integers give floats
    [0.5, 1.0]
    """
    x, y = promote_args_inexact("true_divide", x, y)
    return lax.div(x, y)


divide = true_divide


@numpy_jit
def floor_divide(x: Any, y: Any, /) -> Any:
    """x // y rounded toward negative infinity (Python semantics).

    >>> import ember.core.numpy as jnp
    >>> jnp.floor_divide(jnp.array([7, -7]), 2).tolist()
    [3, -4]
    """
    x, y = _promote_numeric("floor_divide", x, y)
    if _is_bool(x):
        raise TypeError("floor_divide: boolean arrays are not supported")
    if _is_int(x):
        quotient = lax.div(x, y)
        remainder = lax.rem(x, y)
        # C division truncates; step down when the signs differ and there is a remainder
        adjust = lax.bitwise_and(lax.ne(remainder, _zero(remainder)),
                                 lax.ne(lax.lt(remainder, _zero(remainder)), lax.lt(y, _zero(y))))
        return lax.select(adjust, lax.sub(quotient, _one(quotient)), quotient)
    if aval(x).dtype.kind == "c":
        raise TypeError("floor_divide: complex arrays are not supported")
    return lax.floor(lax.div(x, y))


@numpy_jit
def remainder(x: Any, y: Any, /) -> Any:
    """x % y with the sign of the divisor (Python semantics).

    >>> import ember.core.numpy as jnp
    >>> jnp.mod(jnp.array([7, -7]), 3).tolist()    # the sign of the divisor, as Python's %
    [1, 2]
    """
    x, y = _promote_numeric("remainder", x, y)
    r = lax.rem(x, y)
    fix = lax.bitwise_and(lax.ne(r, _zero(r)), lax.ne(lax.lt(r, _zero(r)), lax.lt(y, _zero(y))))
    return lax.select(fix, lax.add(r, y), r)


mod = remainder


@numpy_jit
def fmod(x: Any, y: Any, /) -> Any:
    """Remainder with the sign of the dividend (C semantics).

    >>> import ember.core.numpy as jnp
    >>> jnp.fmod(jnp.array([7, -7]), 3).tolist()   # the sign of the dividend, as C
    [1, -1]
    """
    x, y = _promote_numeric("fmod", x, y)
    return lax.rem(x, y)


@numpy_jit
def divmod(x: Any, y: Any, /) -> tuple[Any, Any]:  # noqa: A001 - numpy name
    """``(floor_divide(x, y), remainder(x, y))``.

    >>> import ember.core.numpy as jnp
    >>> q, r = jnp.divmod(jnp.array([7, -7]), 3)
    >>> q.tolist(), r.tolist()
    ([2, -3], [1, 2])
    """
    return floor_divide(x, y), remainder(x, y)


def power(x: Any, y: Any, /) -> Any:
    """x ** y. Integer powers of integers stay integer; a Python integer exponent multiplies
    (``x ** 2`` is ``x * x``), decided before compiling so the exponent stays static.

    >>> import ember.core.numpy as jnp
    >>> jnp.power(jnp.array([2, 3]), 3).tolist()          # integers stay integer
    [8, 27]
    >>> jnp.power(4.0, jnp.array([0.5, -1.0])).tolist()
    [2.0, 0.25]
    """
    check_arraylike("power", x, y)
    if isinstance(y, int) and not isinstance(y, bool) and not _is_bool_like(x):
        return _static_integer_power(x, y)
    return _power(x, y)


@numpy_jit(static_argnums=(1,))
def _static_integer_power(x: Any, y: int) -> Any:
    (x,) = promote_args("power", x)
    if y >= 0 or dtypes.is_inexact(aval(x).dtype):
        return lax.integer_pow(x, y)
    return _power(x, y)


@numpy_jit
def _power(x: Any, y: Any) -> Any:
    x, y = _promote_numeric("power", x, y)
    dtype = aval(x).dtype
    if dtype.kind in "iub":
        return _integer_power(x, y)
    return lax.pow(x, y)


def _is_bool_like(x: Any) -> bool:
    return isinstance(x, bool) or (not isinstance(x, (int, float, complex)) and _is_bool(x))


def _integer_power(x: Any, y: Any) -> Any:
    # square-and-multiply over the bits of y (negative exponents give 0, as jax.numpy does)
    bits = aval(y).dtype.itemsize * 8
    acc = lax.full_like(x, 1)
    base = x
    for _ in range(bits):
        odd = lax.ne(lax.bitwise_and(y, lax.full_like(y, 1)), lax.full_like(y, 0))
        acc = lax.select(odd, lax.mul(acc, base), acc)
        base = lax.mul(base, base)
        y = lax.shift_right_logical(y, lax.full_like(y, 1))
    return acc


pow = power  # noqa: A001 - numpy name


@numpy_jit
def float_power(x: Any, y: Any, /) -> Any:
    """``x ** y`` computed in floating point (at least float32).

    >>> import ember.core.numpy as jnp
    >>> jnp.float_power(jnp.array([2, 3]), 2).tolist()   # always floating point
    [4.0, 9.0]
    """
    x, y = promote_args_inexact("float_power", x, y)
    return lax.pow(x, y)


negative = _unary("negative", lax.neg, doc="""Elementwise ``-x``.

    >>> import ember.core.numpy as jnp
    >>> jnp.negative(jnp.array([1, -2])).tolist()
    [-1, 2]
    """)
positive = _unary("positive", lambda x: x)


@numpy_jit
def reciprocal(x: Any, /) -> Any:
    """``1 / x`` elementwise.

    >>> import ember.core.numpy as jnp
    >>> jnp.reciprocal(jnp.array([2.0, 4.0])).tolist()
    [0.5, 0.25]
    """
    (x,) = promote_dtypes_inexact(x)
    return lax.div(lax.full_like(x, 1), x)


@numpy_jit
def square(x: Any, /) -> Any:
    """``x * x`` elementwise (integers stay integers).

    >>> import ember.core.numpy as jnp
    >>> jnp.square(jnp.array([-2, 3])).tolist()
    [4, 9]
    """
    (x,) = _promote_numeric("square", x)
    return lax.square(x)


@numpy_jit
def absolute(x: Any, /) -> Any:
    """The absolute value of ``x`` elementwise (the magnitude, for complex numbers).

    >>> import ember.core.numpy as jnp
    >>> jnp.abs(jnp.array([-2, 3])).tolist()
    [2, 3]
    >>> float(jnp.abs(3 + 4j))
    5.0
    """
    (x,) = promote_args("absolute", x)
    dtype = aval(x).dtype
    if dtype == dtypes.bool_ or dtype.kind == "u":
        return x
    return lax.abs(x)


abs = absolute  # noqa: A001 - numpy name


@numpy_jit
def fabs(x: Any, /) -> Any:
    """The absolute value of ``x`` as a floating-point array.

    >>> import ember.core.numpy as jnp
    >>> jnp.fabs(jnp.array([-2, 3])).tolist()   # always floating point
    [2.0, 3.0]
    """
    (x,) = promote_dtypes_inexact(x)
    return lax.abs(x)


@numpy_jit
def sign(x: Any, /) -> Any:
    """-1, 0 or 1 by the sign of ``x`` (``x / |x|`` for complex numbers).

    >>> import ember.core.numpy as jnp
    >>> jnp.sign(jnp.array([-3.0, 0.0, 2.0])).tolist()
    [-1.0, 0.0, 1.0]
    """
    (x,) = promote_args("sign", x)
    dtype = aval(x).dtype
    if dtype == dtypes.bool_:
        return x
    if dtype.kind == "u":
        return lax.convert_element_type(lax.ne(x, _zero(x)), dtype)
    if dtype.kind == "c":
        magnitude = lax.abs(x)
        safe = lax.select(lax.eq(magnitude, _zero(magnitude)), lax.full_like(magnitude, 1), magnitude)
        scaled = lax.div(x, lax.convert_element_type(safe, dtype))
        return lax.select(lax.eq(magnitude, _zero(magnitude)), lax.full_like(x, 0), scaled)
    return lax.sign(x)


@numpy_jit
def copysign(x: Any, y: Any, /) -> Any:
    """The magnitude of ``x`` with the sign of ``y``, elementwise.

    >>> import ember.core.numpy as jnp
    >>> jnp.copysign(jnp.array([1.0, 2.0]), jnp.array([-1.0, 1.0])).tolist()
    [-1.0, 2.0]
    """
    x, y = promote_args_inexact("copysign", x, y)
    return lax.select(signbit(y), lax.neg(lax.abs(x)), lax.abs(x))


@numpy_jit
def signbit(x: Any, /) -> Any:
    """True where the sign bit of ``x`` is set (``-0.0`` included).

    >>> import ember.core.numpy as jnp
    >>> jnp.signbit(jnp.array([-0.0, 0.0, -1.0])).tolist()
    [True, False, True]
    """
    (x,) = promote_args("signbit", x)
    dtype = aval(x).dtype
    if dtype.kind == "i":
        return lax.lt(x, _zero(x))
    if dtype.kind in "ub":
        return lax.full_like(x, False) if dtype == dtypes.bool_ else lax.lt(x, _zero(x))
    if dtype.kind == "c":
        raise TypeError("signbit: complex arrays are not supported")
    int_type = {2: np.int16, 4: np.int32, 8: np.int64, 1: np.int8}[dtype.itemsize]
    bits = lax.bitcast_convert_type(x, int_type)
    return lax.lt(bits, lax.full_like(bits, 0))


# ----------------------------------------------------------------------------------------------
# Exponents, logarithms, trigonometry

exp = _unary("exp", lax.exp, inexact=True, doc="""Elementwise ``e ** x`` (integers promote to floating point).

    >>> import ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in jnp.exp(jnp.array([0.0, 1.0])).tolist()]
    ['1.0000', '2.7183']
    >>> jnp.exp(jnp.arange(2)).dtype   # integers promote to floating point
    dtype('float32')
    """)
exp2 = _unary("exp2", lax.exp2, inexact=True)
expm1 = _unary("expm1", lax.expm1, inexact=True, doc="""Elementwise ``exp(x) - 1``, accurate for small ``x``.

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.expm1(1e-10)):.3g}", float(jnp.exp(1e-10) - 1)   # accurate near 0
    ('1e-10', 0.0)
    """)
log = _unary("log", lax.log, inexact=True, doc="""Elementwise natural logarithm (integers promote to floating point).

    >>> import ember.core.numpy as jnp
    >>> jnp.log(jnp.array([1.0, 0.0])).tolist()
    [0.0, -inf]
    """)
log1p = _unary("log1p", lax.log1p, inexact=True, doc="""Elementwise ``log(1 + x)``, accurate for small ``x``.

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.log1p(1e-10)):.3g}", float(jnp.log(1 + 1e-10))   # accurate near 0
    ('1e-10', 0.0)
    """)
sqrt = _unary("sqrt", lax.sqrt, inexact=True, doc="""Elementwise square root (NaN for negative real inputs).

    >>> import ember.core.numpy as jnp
    >>> jnp.sqrt(jnp.array([4.0, 9.0])).tolist()
    [2.0, 3.0]
    >>> bool(jnp.isnan(jnp.sqrt(-1.0)))
    True
    """)
cbrt = _unary("cbrt", lax.cbrt, inexact=True)
sin = _unary("sin", lax.sin, inexact=True, doc="""Elementwise sine (radians).

    >>> import ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in jnp.sin(jnp.array([0.0, jnp.pi / 2])).tolist()]
    ['0.0000', '1.0000']
    """)
cos = _unary("cos", lax.cos, inexact=True, doc="""Elementwise cosine (radians).

    >>> import ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in jnp.cos(jnp.array([0.0, jnp.pi])).tolist()]
    ['1.0000', '-1.0000']
    """)
tan = _unary("tan", lax.tan, inexact=True)
arcsin = _unary("arcsin", lax.asin, inexact=True)
arccos = _unary("arccos", lax.acos, inexact=True)
arctan = _unary("arctan", lax.atan, inexact=True)
sinh = _unary("sinh", lax.sinh, inexact=True)
cosh = _unary("cosh", lax.cosh, inexact=True)
tanh = _unary("tanh", lax.tanh, inexact=True, doc="""Elementwise hyperbolic tangent.

    >>> import ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in jnp.tanh(jnp.array([-10.0, 0.0, 0.5])).tolist()]
    ['-1.0000', '0.0000', '0.4621']
    """)
arcsinh = _unary("arcsinh", lax.asinh, inexact=True)
arccosh = _unary("arccosh", lax.acosh, inexact=True)
arctanh = _unary("arctanh", lax.atanh, inexact=True)
asin, acos, atan, asinh, acosh, atanh, atan2 = arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2


@numpy_jit
def log2(x: Any, /) -> Any:
    """Base-2 logarithm, elementwise.

    >>> import ember.core.numpy as jnp
    >>> jnp.log2(jnp.array([1.0, 8.0])).tolist()
    [0.0, 3.0]
    """
    (x,) = promote_dtypes_inexact(x)
    return lax.div(lax.log(x), lax.full_like(x, math.log(2)))


@numpy_jit
def log10(x: Any, /) -> Any:
    """Base-10 logarithm, elementwise.

    >>> import ember.core.numpy as jnp
    >>> jnp.log10(jnp.array([1.0, 1000.0])).tolist()
    [0.0, 3.0]
    """
    (x,) = promote_dtypes_inexact(x)
    return lax.div(lax.log(x), lax.full_like(x, math.log(10)))


@numpy_jit
def logaddexp(x: Any, y: Any, /) -> Any:
    """log(exp(x) + exp(y)) without overflow.

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.logaddexp(1000.0, 1000.0)):.3f}"   # log(exp(a) + exp(b)) without overflow
    '1000.693'
    """
    x, y = promote_args_inexact("logaddexp", x, y)
    return _logaddexp(x, y)


@custom_jvp
def _logaddexp(x: Any, y: Any) -> Any:
    big = lax.max(x, y)
    delta = lax.sub(x, y)
    finite = lax.is_finite(delta)
    out = lax.add(big, lax.log1p(lax.exp(lax.neg(lax.abs(lax.select(finite, delta, lax.full_like(delta, 0)))))))
    return lax.select(finite, out, big)  # infinities and NaNs: the larger operand (NaN propagates)


@_logaddexp.defjvp
def _logaddexp_jvp(primals: tuple[Any, Any], tangents: tuple[Any, Any]) -> tuple[Any, Any]:
    x, y = primals
    tx, ty = tangents
    out = _logaddexp(x, y)
    return out, lax.add(lax.mul(tx, _softmax_weight(x, out)), lax.mul(ty, _softmax_weight(y, out)))


def _softmax_weight(x: Any, out: Any) -> Any:
    """d logaddexp / dx = exp(x - out), written as JAX writes it so gradients match JAX's to the
    bit (differentiating the max/abs/log1p form rounds differently). Where ``out`` is +inf, an
    infinite operand has weight 1 and a finite one 0 (JAX gives a finite operand exp(x) there)."""
    inf = lax.full_like(out, math.inf)
    zero, one = lax.full_like(out, 0), lax.full_like(out, 1)
    out_is_inf = lax.eq(out, inf)
    weight = lax.exp(lax.sub(x, lax.select(out_is_inf, zero, out)))
    return lax.select(out_is_inf, lax.select(lax.eq(x, inf), one, zero), weight)


@numpy_jit
def logaddexp2(x: Any, y: Any, /) -> Any:
    x, y = promote_args_inexact("logaddexp2", x, y)
    ln2 = lax.full_like(x, math.log(2))
    return lax.div(logaddexp(lax.mul(x, ln2), lax.mul(y, ln2)), ln2)


@numpy_jit
def deg2rad(x: Any, /) -> Any:
    """Degrees to radians, elementwise.

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.deg2rad(180.0)):.5f}"
    '3.14159'
    """
    (x,) = promote_dtypes_inexact(x)
    return lax.mul(x, lax.full_like(x, math.pi / 180))


@numpy_jit
def rad2deg(x: Any, /) -> Any:
    (x,) = promote_dtypes_inexact(x)
    return lax.mul(x, lax.full_like(x, 180 / math.pi))


radians, degrees = deg2rad, rad2deg


@numpy_jit
def hypot(x: Any, y: Any, /) -> Any:
    """``sqrt(x**2 + y**2)`` elementwise, without intermediate overflow.

    >>> import ember.core.numpy as jnp
    >>> float(jnp.hypot(3.0, 4.0))
    5.0
    """
    x, y = promote_args_inexact("hypot", x, y)
    x, y = lax.abs(x), lax.abs(y)
    big, small = lax.max(x, y), lax.min(x, y)
    safe_big = lax.select(lax.eq(big, _zero(big)), lax.full_like(big, 1), big)
    ratio = lax.div(small, safe_big)
    scaled = lax.mul(big, lax.sqrt(lax.add(lax.full_like(ratio, 1), lax.mul(ratio, ratio))))
    return lax.select(lax.eq(big, _zero(big)), big, scaled)


@numpy_jit
def sinc(x: Any, /) -> Any:
    """The normalised sinc function ``sin(pi x) / (pi x)`` (1 at 0).

    >>> import ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in jnp.sinc(jnp.array([0.0, 0.5])).tolist()]   # sin(pi x) / (pi x)
    ['1.0000', '0.6366']
    """
    (x,) = promote_dtypes_inexact(x)
    is_zero = lax.eq(x, _zero(x))
    safe = lax.select(is_zero, lax.full_like(x, 1), x)
    pix = lax.mul(safe, lax.full_like(x, math.pi))
    return lax.select(is_zero, lax.full_like(x, 1), lax.div(lax.sin(pix), pix))


# ----------------------------------------------------------------------------------------------
# Rounding

@numpy_jit
def floor(x: Any, /) -> Any:
    """The largest integer not greater than ``x``, elementwise (integers pass through).

    >>> import ember.core.numpy as jnp
    >>> jnp.floor(jnp.array([-1.5, 1.5])).tolist()
    [-2.0, 1.0]
    """
    (x,) = promote_args("floor", x)
    return x if aval(x).dtype.kind in "iub" else lax.floor(x)


@numpy_jit
def ceil(x: Any, /) -> Any:
    """The smallest integer not less than ``x``, elementwise (integers pass through).

    >>> import ember.core.numpy as jnp
    >>> jnp.ceil(jnp.array([-1.5, 1.5])).tolist()
    [-1.0, 2.0]
    """
    (x,) = promote_args("ceil", x)
    return x if aval(x).dtype.kind in "iub" else lax.ceil(x)


@numpy_jit
def trunc(x: Any, /) -> Any:
    (x,) = promote_args("trunc", x)
    if aval(x).dtype.kind in "iub":
        return x
    return lax.select(lax.lt(x, _zero(x)), lax.ceil(x), lax.floor(x))


fix = trunc


@numpy_jit
def rint(x: Any, /) -> Any:
    """Round to the nearest integer, half to even, elementwise.

    >>> import ember.core.numpy as jnp
    >>> jnp.rint(jnp.array([0.5, 1.5, -0.7])).tolist()
    [0.0, 2.0, -1.0]
    """
    (x,) = promote_args("rint", x)
    if aval(x).dtype.kind in "iub":
        return lax.convert_element_type(x, dtypes.default_float_dtype())
    if aval(x).dtype.kind == "c":  # real and imaginary parts separately
        return lax.complex(rint(lax.real(x)), rint(lax.imag(x)))
    return lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)


@numpy_jit(static_argnames=("decimals",))
def round(a: Any, decimals: int = 0) -> Any:  # noqa: A001 - numpy name
    """Round half to even, like NumPy, to ``decimals`` places.

    >>> import ember.core.numpy as jnp
    >>> jnp.round(jnp.array([0.5, 1.5, 2.567]), 0).tolist()   # half to even
    [0.0, 2.0, 3.0]
    >>> jnp.round(jnp.array([2.567, -1.234]), 2)
    Array([ 2.57, -1.23], dtype=float32)
    """
    (a,) = promote_args("round", a)
    dtype = aval(a).dtype
    if dtype.kind in "iub":
        if decimals >= 0:
            return a
        # half to even, like NumPy: q = a / f rounded to the nearest integer, ties to even
        factor = lax.full_like(a, 10 ** (-decimals))
        q, r = floor_divide(a, factor), remainder(a, factor)
        twice = lax.mul(r, lax.full_like(r, 2))
        odd = lax.ne(remainder(q, lax.full_like(q, 2)), lax.full_like(q, 0))
        up = lax.bitwise_or(lax.gt(twice, factor), lax.bitwise_and(lax.eq(twice, factor), odd))
        return lax.mul(lax.select(up, lax.add(q, lax.full_like(q, 1)), q), factor)
    if dtype.kind == "c":  # real and imaginary parts separately
        return lax.complex(round(lax.real(a), decimals), round(lax.imag(a), decimals))
    if decimals == 0:
        return lax.round(a, lax.RoundingMethod.TO_NEAREST_EVEN)
    factor = lax.full_like(a, 10.0 ** decimals)
    return lax.div(lax.round(lax.mul(a, factor), lax.RoundingMethod.TO_NEAREST_EVEN), factor)


around = round


# ----------------------------------------------------------------------------------------------
# Comparison and logic

equal = _binary("equal", lax.eq, doc="""Elementwise ``x == y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.equal(jnp.array([1, 2, 3]), 2).tolist()
    [False, True, False]
    """)
not_equal = _binary("not_equal", lax.ne, doc="""Elementwise ``x != y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.not_equal(jnp.array([1, 2, 3]), 2).tolist()
    [True, False, True]
    """)
less = _binary("less", lax.lt, doc="""Elementwise ``x < y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.less(jnp.array([1, 2, 3]), 2).tolist()
    [True, False, False]
    """)
less_equal = _binary("less_equal", lax.le, doc="""Elementwise ``x <= y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.less_equal(jnp.array([1, 2, 3]), 2).tolist()
    [True, True, False]
    """)
greater = _binary("greater", lax.gt, doc="""Elementwise ``x > y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.greater(jnp.array([1, 2, 3]), 2).tolist()
    [False, False, True]
    """)
greater_equal = _binary("greater_equal", lax.ge, doc="""Elementwise ``x >= y`` with NumPy broadcasting and JAX type promotion.

    >>> import ember.core.numpy as jnp
    >>> jnp.greater_equal(jnp.array([1, 2, 3]), 2).tolist()
    [False, True, True]
    """)


def _to_bool(x: Any) -> Any:
    return x if _is_bool(x) else lax.ne(x, _zero(x))


@numpy_jit
def logical_and(x: Any, y: Any, /) -> Any:
    """Elementwise ``x and y`` of the truth values of ``x`` and ``y``.

    >>> import ember.core.numpy as jnp
    >>> jnp.logical_and(jnp.array([True, True]), jnp.array([True, False])).tolist()
    [True, False]
    """
    x, y = promote_args("logical_and", x, y)
    return lax.bitwise_and(_to_bool(x), _to_bool(y))


@numpy_jit
def logical_or(x: Any, y: Any, /) -> Any:
    """Elementwise ``x or y`` of the truth values of ``x`` and ``y``.

    >>> import ember.core.numpy as jnp
    >>> jnp.logical_or(jnp.array([0, 0, 2]), jnp.array([0, 1, 0])).tolist()
    [False, True, True]
    """
    x, y = promote_args("logical_or", x, y)
    return lax.bitwise_or(_to_bool(x), _to_bool(y))


@numpy_jit
def logical_xor(x: Any, y: Any, /) -> Any:
    """Elementwise exclusive or of the truth values of ``x`` and ``y``.

    >>> import ember.core.numpy as jnp
    >>> jnp.logical_xor(jnp.array([True, True]), jnp.array([True, False])).tolist()
    [False, True]
    """
    x, y = promote_args("logical_xor", x, y)
    return lax.bitwise_xor(_to_bool(x), _to_bool(y))


@numpy_jit
def logical_not(x: Any, /) -> Any:
    """Elementwise ``not x``.

    >>> import ember.core.numpy as jnp
    >>> jnp.logical_not(jnp.array([True, False])).tolist()
    [False, True]
    """
    (x,) = promote_args("logical_not", x)
    return lax.bitwise_not(_to_bool(x))


def _int_or_bool(name: str, op: Any) -> Any:
    def ufunc(x: Any, y: Any, /) -> Any:
        x, y = promote_args(name, x, y)
        if aval(x).dtype.kind not in "iub":
            raise TypeError(f"{name}: expected integer or boolean arrays, got {aval(x).dtype.name}")
        return op(x, y)
    ufunc.__name__ = ufunc.__qualname__ = name
    return numpy_jit(ufunc)


bitwise_and = _int_or_bool("bitwise_and", lax.bitwise_and)
bitwise_or = _int_or_bool("bitwise_or", lax.bitwise_or)
bitwise_xor = _int_or_bool("bitwise_xor", lax.bitwise_xor)


@numpy_jit
def bitwise_not(x: Any, /) -> Any:
    (x,) = promote_args("bitwise_not", x)
    if aval(x).dtype.kind not in "iub":
        raise TypeError(f"bitwise_not: expected an integer or boolean array, got {aval(x).dtype.name}")
    return lax.bitwise_not(x)


invert = bitwise_invert = bitwise_not


@numpy_jit
def left_shift(x: Any, y: Any, /) -> Any:
    x, y = _promote_numeric("left_shift", x, y)
    return lax.shift_left(x, y)


@numpy_jit
def right_shift(x: Any, y: Any, /) -> Any:
    x, y = _promote_numeric("right_shift", x, y)
    if aval(x).dtype.kind == "u":
        return lax.shift_right_logical(x, y)
    return lax.shift_right_arithmetic(x, y)


bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


@numpy_jit
def bitwise_count(x: Any, /) -> Any:
    (x,) = _promote_numeric("bitwise_count", x)
    return lax.convert_element_type(lax.population_count(lax.abs(x) if aval(x).dtype.kind == "i" else x), np.uint8)


@numpy_jit
def isfinite(x: Any, /) -> Any:
    """True where ``x`` is neither infinite nor NaN.

    >>> import ember.core.numpy as jnp
    >>> jnp.isfinite(jnp.array([1.0, jnp.nan, jnp.inf])).tolist()
    [True, False, False]
    """
    (x,) = promote_args("isfinite", x)
    dtype = aval(x).dtype
    if dtype.kind == "c":
        return lax.bitwise_and(lax.is_finite(lax.real(x)), lax.is_finite(lax.imag(x)))
    if not dtypes.is_float(dtype):
        return lax.convert_element_type(lax.full_like(x, 1), np.bool_)
    return lax.is_finite(x)


@numpy_jit
def isnan(x: Any, /) -> Any:
    """True where ``x`` is NaN.

    >>> import ember.core.numpy as jnp
    >>> jnp.isnan(jnp.array([1.0, jnp.nan, jnp.inf])).tolist()
    [False, True, False]
    """
    (x,) = promote_args("isnan", x)
    if not dtypes.is_inexact(aval(x).dtype):
        return lax.convert_element_type(lax.full_like(x, 0), np.bool_)
    return lax.ne(x, x)


@numpy_jit
def isinf(x: Any, /) -> Any:
    """True where ``x`` is positive or negative infinity.

    >>> import ember.core.numpy as jnp
    >>> jnp.isinf(jnp.array([1.0, jnp.nan, -jnp.inf])).tolist()
    [False, False, True]
    """
    (x,) = promote_args("isinf", x)
    dtype = aval(x).dtype
    if dtype.kind == "c":
        return lax.bitwise_or(isinf(lax.real(x)), isinf(lax.imag(x)))
    if not dtypes.is_float(dtype):
        return lax.convert_element_type(lax.full_like(x, 0), np.bool_)
    return lax.eq(lax.abs(x), lax.full_like(x, np.inf))


@numpy_jit
def isposinf(x: Any, /) -> Any:
    """True where ``x`` is positive infinity.

    >>> import ember.core.numpy as jnp
    >>> jnp.isposinf(jnp.array([jnp.inf, -jnp.inf])).tolist()
    [True, False]
    """
    (x,) = promote_args("isposinf", x)
    if not dtypes.is_float(aval(x).dtype):
        return lax.convert_element_type(lax.full_like(x, 0), np.bool_)
    return lax.eq(x, lax.full_like(x, np.inf))


@numpy_jit
def isneginf(x: Any, /) -> Any:
    """True where ``x`` is negative infinity.

    >>> import ember.core.numpy as jnp
    >>> jnp.isneginf(jnp.array([jnp.inf, -jnp.inf])).tolist()
    [False, True]
    """
    (x,) = promote_args("isneginf", x)
    if not dtypes.is_float(aval(x).dtype):
        return lax.convert_element_type(lax.full_like(x, 0), np.bool_)
    return lax.eq(x, lax.full_like(x, -np.inf))


@numpy_jit
def fmax(x: Any, y: Any, /) -> Any:
    """Maximum that ignores NaNs."""
    x, y = promote_args("fmax", x, y)
    if not dtypes.is_inexact(aval(x).dtype):
        return lax.max(x, y)
    return lax.select(lax.ne(x, x), y, lax.select(lax.ne(y, y), x, lax.max(x, y)))


@numpy_jit
def fmin(x: Any, y: Any, /) -> Any:
    x, y = promote_args("fmin", x, y)
    if not dtypes.is_inexact(aval(x).dtype):
        return lax.min(x, y)
    return lax.select(lax.ne(x, x), y, lax.select(lax.ne(y, y), x, lax.min(x, y)))


# ----------------------------------------------------------------------------------------------
# Complex numbers

@numpy_jit
def real(x: Any, /) -> Any:
    """The real part of ``x`` (``x`` itself for real arrays).

    >>> import ember.core.numpy as jnp
    >>> jnp.real(jnp.array([1 + 2j])).tolist()
    [1.0]
    """
    (x,) = promote_args("real", x)
    return lax.real(x) if aval(x).dtype.kind == "c" else x


@numpy_jit
def imag(x: Any, /) -> Any:
    """The imaginary part of ``x`` (zeros for real arrays).

    >>> import ember.core.numpy as jnp
    >>> jnp.imag(jnp.array([1 + 2j])).tolist()
    [2.0]
    """
    (x,) = promote_args("imag", x)
    return lax.imag(x) if aval(x).dtype.kind == "c" else lax.full_like(x, 0)


@numpy_jit
def conjugate(x: Any, /) -> Any:
    """The complex conjugate of ``x``, elementwise.

    >>> import ember.core.numpy as jnp
    >>> jnp.conj(jnp.array([1 + 2j])).tolist()
    [(1-2j)]
    """
    (x,) = promote_args("conjugate", x)
    return lax.conj(x) if aval(x).dtype.kind == "c" else x


conj = conjugate


@numpy_jit(static_argnames=("deg",))
def angle(z: Any, deg: bool = False) -> Any:
    """The angle of complex ``z`` in radians (in degrees with ``deg=True``).

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.angle(1j)):.4f}"
    '1.5708'
    """
    (z,) = promote_dtypes_inexact(z)
    if aval(z).dtype.kind == "c":
        out = lax.atan2(lax.imag(z), lax.real(z))
    else:
        out = lax.atan2(lax.full_like(z, 0), z)
    return rad2deg(out) if deg else out


# ----------------------------------------------------------------------------------------------
# Selection and clipping

def where(condition: Any, x: Any = None, y: Any = None, /, *, size: int | None = None,
          fill_value: Any = None) -> Any:
    """``x`` where ``condition`` else ``y``, broadcast together. With only ``condition``, the
    indices where it is true (``nonzero``; under jit this needs a static ``size``).

    >>> import ember.core.numpy as jnp
    >>> x = jnp.array([-1.0, 2.0, -3.0])
    >>> jnp.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0, 0.0]
    >>> jnp.where(x > 0, size=2, fill_value=-1)[0].tolist()   # static size: usable under jit
    [1, -1]
    """
    if x is None and y is None:
        from .searching import nonzero
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("where: pass both x and y, or neither")
    return _where3(condition, x, y)


@numpy_jit
def _where3(condition: Any, x: Any, y: Any) -> Any:
    check_arraylike("where", condition, x, y)
    x, y = _promote_pair(x, y)
    condition, x, y = _broadcast3(_to_bool(condition) if not isinstance(condition, bool) else condition, x, y)
    return lax.select(condition, x, y)


def _promote_pair(x: Any, y: Any) -> list[Any]:
    from .util import promote_dtypes
    return promote_dtypes(x, y)


def _broadcast3(c: Any, x: Any, y: Any) -> list[Any]:
    from .util import promote_shapes
    if isinstance(c, bool):
        c = np.bool_(c)
    return promote_shapes(c, x, y)


@numpy_jit
def clip(arr: Any, min: Any = None, max: Any = None) -> Any:  # noqa: A002 - numpy names
    """Limit values to [min, max]; either bound may be None.

    >>> import ember.core.numpy as jnp
    >>> jnp.clip(jnp.array([-2, 0, 5]), -1, 3).tolist()
    [-1, 0, 3]
    >>> jnp.clip(jnp.array([-2.0, 5.0]), max=1.0).tolist()
    [-2.0, 1.0]
    """
    check_arraylike("clip", arr)
    if min is not None:
        arr = maximum(min, arr) if not isinstance(min, (int, float)) else maximum(arr, min)
    if max is not None:
        arr = minimum(max, arr) if not isinstance(max, (int, float)) else minimum(arr, max)
    return arr


@numpy_jit(static_argnames=("copy",))
def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Any:
    """``x`` with NaN replaced by ``nan`` and infinities by ``posinf``/``neginf`` (default: the dtype's largest finite values).

    >>> import ember.core.numpy as jnp
    >>> jnp.nan_to_num(jnp.array([jnp.nan, 1.0, -jnp.inf]), neginf=-9.0).tolist()
    [0.0, 1.0, -9.0]
    """
    (x,) = promote_args("nan_to_num", x)
    dtype = aval(x).dtype
    if not dtypes.is_float(dtype):
        return x
    info = dtypes.finfo(dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    out = where(isnan(x), lax.full_like(x, nan), x)
    out = where(isposinf(out), lax.full_like(x, posinf), out)
    return where(isneginf(out), lax.full_like(x, neginf), out)


def _zero(x: Any) -> Any:
    return lax.full_like(x, 0)


def _one(x: Any) -> Any:
    return lax.full_like(x, 1)



__all__ = sorted(
    name for name, value in list(globals().items())
    if not name.startswith("_") and callable(value) and getattr(value, "__module__", None) == __name__
)
