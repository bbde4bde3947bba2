"""Elementwise primitives: arithmetic, transcendental, comparison, logical, bitwise, rounding,
``select_n``, ``clamp`` and dtype conversion.

Operands of an n-ary primitive have equal shapes and dtypes (the ``lax`` functions here also
accept a Python scalar in place of one operand; ``ec.numpy`` broadcasts and promotes).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import chlo
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, Tracer
from ..lowering import dtype_to_ir_type, full_like_aval, ir_type
from ..rules import (
    UndefinedPrimal,
    Zero,
    defbroadcasting,
    defjvp,
    defjvp_with_output,
    defjvp_zero,
    deflinear,
    defvectorized,
    instantiate,
    is_undefined,
)
from ._util import (
    aval_of,
    check_dtype_kind,
    check_same_dtypes,
    check_same_shapes,
    const_like,
    is_python_scalar,
)

__all__ = [  # the lax functions; ember.core.lax re-exports them
    "abs",
    "acos",
    "acosh",
    "add",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitcast_convert_type",
    "bitwise_and",
    "bitwise_not",
    "bitwise_or",
    "bitwise_xor",
    "cbrt",
    "ceil",
    "clamp",
    "clz",
    "complex",
    "conj",
    "convert_element_type",
    "cos",
    "cosh",
    "digamma",
    "div",
    "eq",
    "erf",
    "erf_inv",
    "erfc",
    "exp",
    "exp2",
    "expm1",
    "floor",
    "ge",
    "gt",
    "imag",
    "integer_pow",
    "is_finite",
    "le",
    "lgamma",
    "log",
    "log1p",
    "logistic",
    "lt",
    "max",
    "min",
    "mul",
    "ne",
    "neg",
    "nextafter",
    "polygamma",
    "population_count",
    "pow",
    "real",
    "reduce_precision",
    "rem",
    "round",
    "RoundingMethod",
    "rsqrt",
    "select",
    "select_n",
    "shift_left",
    "shift_right_arithmetic",
    "shift_right_logical",
    "sign",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "sub",
    "tan",
    "tanh",
    "full_like",
    "stop_gradient",
]


# ----------------------------------------------------------------------------------------------
# Factories

def _unary_abstract_eval(name: str, kind: str, out_dtype: Callable[[np.dtype], np.dtype] | None = None):
    def rule(x: ShapedArray, **params: Any) -> ShapedArray:
        check_dtype_kind(name, kind, x)
        dtype = x.dtype if out_dtype is None else out_dtype(x.dtype)
        return ShapedArray(x.shape, dtype, x.weak_type)
    return rule


def _nary_abstract_eval(name: str, kinds: Sequence[str], out_dtype: np.dtype | None = None):
    def rule(*avals: ShapedArray, **params: Any) -> ShapedArray:
        for i, (aval, kind) in enumerate(zip(avals, kinds)):
            check_dtype_kind(name, kind, aval, i)
        check_same_dtypes(name, avals)
        check_same_shapes(name, avals)
        weak = all(a.weak_type for a in avals)
        return ShapedArray(avals[0].shape, avals[0].dtype if out_dtype is None else out_dtype,
                           weak and out_dtype is None)
    return rule


def _op_lowering(op: Callable[..., Any]) -> Callable[..., Any]:
    def rule(ctx: Any, *args: Any, **params: Any) -> Any:
        return op(*args).result
    return rule


def unary(name: str, op: Callable[..., Any], kind: str = "inexact") -> Primitive:
    p = Primitive(name)
    p.def_abstract_eval(_unary_abstract_eval(name, kind))
    p.def_lowering(_op_lowering(op))
    defvectorized(p)
    return p


def binary(name: str, op: Callable[..., Any], kind: str = "numeric") -> Primitive:
    p = Primitive(name)
    p.def_abstract_eval(_nary_abstract_eval(name, (kind, kind)))
    p.def_lowering(_op_lowering(op))
    defbroadcasting(p)
    return p


def _as_operands(name: str, *args: Any) -> list[Any]:
    """Constants among ``args`` (Python scalars, NumPy scalars) are cast to the array operands'
    dtype (Python scalars weakly) and broadcast to their shape; arrays are left as they are."""
    if not any(_is_constant_scalar(a) for a in args):
        return list(args)
    arrays = [a for a in args if not _is_constant_scalar(a)]
    if not arrays:
        return list(args)
    like = aval_of(arrays[0])
    out = []
    for a in args:
        if is_python_scalar(a):
            a = _weak_constant(a, like, concrete=not any(isinstance(x, Tracer) for x in arrays))
        elif _is_constant_scalar(a):
            from .shape import full
            a = full(like.shape, np.asarray(a).item(), like.dtype)
        out.append(a)
    return out


def _weak_constant(value: Any, like: ShapedArray, *, concrete: bool) -> Any:
    """A Python scalar as a weakly typed ``like.dtype`` operand of ``like.shape`` (as in JAX, it
    does not make the result strongly typed)."""
    from .shape import broadcast_in_dim
    if concrete:  # eager: a device constant, no compiled conversion
        from ..dispatch import to_array
        scalar = to_array(np.array(value, like.dtype), weak_type=True)
    else:
        scalar = convert_element_type(np.array(value, like.dtype), like.dtype, weak_type=True)
    return broadcast_in_dim(scalar, like.shape, ()) if like.shape else scalar


def _is_constant_scalar(x: Any) -> bool:
    return is_python_scalar(x) or isinstance(x, np.generic) or (isinstance(x, np.ndarray) and x.ndim == 0)


# ----------------------------------------------------------------------------------------------
# Arithmetic

neg_p = unary("neg", hlo.NegOp, "numeric")
deflinear(neg_p, lambda ct, x: [neg(ct) if type(ct) is not Zero else ct])


def neg(x: Any) -> Any:
    """-x elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.neg(jnp.array([1, -2])).tolist()
    [-1, 2]
    """
    return neg_p.bind(x)


def _add_transpose(ct: Any, x: Any, y: Any) -> list[Any]:
    return [ct if is_undefined(x) else None, ct if is_undefined(y) else None]


add_p = binary("add", hlo.AddOp, "any")
deflinear(add_p, _add_transpose)


def _add_jvp(p: Primitive, negate_second: bool):
    # a zero tangent on one side passes the other through, instead of adding explicit zeros
    def jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
        out = p.bind(*primals)
        tx, ty = tangents
        if type(ty) is Zero:
            return out, tx if type(tx) is not Zero else Zero(aval_of(out))
        if type(tx) is Zero:
            return out, neg(ty) if negate_second else ty
        return out, p.bind(tx, ty)
    return jvp


add_p.def_jvp(_add_jvp(add_p, False))
# add_any sums tangents and cotangents; it is ``add`` but kept distinct so programs show where
# differentiation accumulated.
add_any_p = binary("add_any", hlo.AddOp, "any")
deflinear(add_any_p, _add_transpose)
add_any_p.def_jvp(_add_jvp(add_any_p, False))


def _add_lowering(ctx: Any, x: Any, y: Any) -> Any:
    if ctx.avals_out[0].dtype == dtypes.bool_:
        return hlo.OrOp(x, y).result
    return hlo.AddOp(x, y).result


add_p.def_lowering(_add_lowering)
add_any_p.def_lowering(_add_lowering)


def add(x: Any, y: Any) -> Any:
    """x + y elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.add(jnp.array([1.0, 2.0]), jnp.array([10.0, 20.0])).tolist()   # same shapes and dtypes: no implicit broadcasting
    [11.0, 22.0]
    """
    return add_p.bind(*_as_operands("add", x, y))


def add_any(x: Any, y: Any) -> Any:
    return add_any_p.bind(x, y)


sub_p = binary("sub", hlo.SubtractOp)
deflinear(sub_p, lambda ct, x, y: [
    ct if is_undefined(x) else None,
    (neg(ct) if type(ct) is not Zero else ct) if is_undefined(y) else None,
])
sub_p.def_jvp(_add_jvp(sub_p, True))


def sub(x: Any, y: Any) -> Any:
    """x - y elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.sub(jnp.array([3, 4]), jnp.array([1, 1])).tolist()
    [2, 3]
    """
    return sub_p.bind(*_as_operands("sub", x, y))


mul_p = binary("mul", hlo.MulOp, "any")


def _mul_lowering(ctx: Any, x: Any, y: Any) -> Any:
    if ctx.avals_out[0].dtype == dtypes.bool_:
        return hlo.AndOp(x, y).result
    return hlo.MulOp(x, y).result


mul_p.def_lowering(_mul_lowering)
defjvp(mul_p, lambda t, x, y: mul(t, y), lambda t, x, y: mul(x, t))


def _mul_transpose(ct: Any, x: Any, y: Any) -> list[Any]:
    if is_undefined(x) and is_undefined(y):
        raise ValueError("mul is not linear in both operands at once")
    if type(ct) is Zero:
        return [ct if is_undefined(x) else None, ct if is_undefined(y) else None]
    if is_undefined(x):
        return [mul(ct, y), None]
    return [None, mul(x, ct)]


mul_p.def_transpose(_mul_transpose)


def mul(x: Any, y: Any) -> Any:
    """x * y elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.mul(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0])).tolist()
    [3.0, 8.0]
    """
    return mul_p.bind(*_as_operands("mul", x, y))


div_p = binary("div", hlo.DivOp)
defjvp_with_output(div_p, lambda t, out, x, y: div(t, y), lambda t, out, x, y: neg(div(mul(t, out), y)))


def _div_transpose(ct: Any, x: Any, y: Any) -> list[Any]:
    if is_undefined(y):
        raise ValueError("div is linear only in its numerator")
    return [ct if type(ct) is Zero else div(ct, y), None]


div_p.def_transpose(_div_transpose)


def div(x: Any, y: Any) -> Any:
    """x / y elementwise; for integers, rounds toward zero (C semantics, like lax.div).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.div(jnp.array([7, -7]), jnp.array([2, 2])).tolist()   # integers round toward zero
    [3, -3]
    """
    return div_p.bind(*_as_operands("div", x, y))


rem_p = binary("rem", hlo.RemOp)
defjvp(rem_p, lambda t, x, y: t,
       lambda t, x, y: mul(neg(t), mul(sign(div(x, y)), floor(abs(div(x, y))))))


def rem(x: Any, y: Any) -> Any:
    """Remainder with the sign of the dividend (C ``fmod`` semantics)."""
    return rem_p.bind(*_as_operands("rem", x, y))


def _pow_jvp_x(t: Any, x: Any, y: Any) -> Any:
    # y * x**(y-1), defined as 0 where y == 0 (so d/dx x**0 is 0 even at x == 0)
    y_minus_1 = sub(y, const_like(y, 1))
    deriv = mul(y, pow(x, y_minus_1))
    return mul(t, select_n(eq(y, full_like(y, 0)), deriv, full_like(deriv, 0)))


def _pow_jvp_y(t: Any, out: Any, x: Any, y: Any) -> Any:
    # log(x) * x**y, taken as 0 where x == 0 (the limit for y > 0)
    safe_log = select_n(eq(x, full_like(x, 0)), log(x), full_like(x, 0))
    return mul(t, mul(safe_log, out))


pow_p = binary("pow", hlo.PowOp, "inexact")


def _pow_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    x, y = primals
    tx, ty = tangents
    out = pow_p.bind(x, y)
    total: Any = Zero(aval_of(out))
    if type(tx) is not Zero:
        total = _pow_jvp_x(tx, x, y)
    if type(ty) is not Zero:
        contribution = _pow_jvp_y(ty, out, x, y)
        total = contribution if type(total) is Zero else add_any(total, contribution)
    return out, total


pow_p.def_jvp(_pow_jvp)


def pow(x: Any, y: Any) -> Any:
    """x ** y elementwise for floating-point x and y (see ``integer_pow`` for integer exponents)."""
    return pow_p.bind(*_as_operands("pow", x, y))


def _balanced_select(pick_x: Any, ties: Any, t: Any, like: Any) -> Any:
    half = mul(t, const_like(t, 0.5))
    zero = full_like(t, 0)
    return select_n(pick_x, select_n(ties, zero, half), t)


max_p = binary("max", hlo.MaxOp, "any")
min_p = binary("min", hlo.MinOp, "any")
# Ties split the tangent evenly between the two operands, as JAX does.
defjvp(max_p, lambda t, x, y: _balanced_select(gt(x, y), eq(x, y), t, x),
       lambda t, x, y: _balanced_select(gt(y, x), eq(x, y), t, y))
defjvp(min_p, lambda t, x, y: _balanced_select(lt(x, y), eq(x, y), t, x),
       lambda t, x, y: _balanced_select(lt(y, x), eq(x, y), t, y))


def max(x: Any, y: Any) -> Any:  # noqa: A001 - lax name
    """Elementwise maximum (NaN-propagating).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.max(jnp.array([1.0, 5.0]), jnp.array([3.0, 2.0])).tolist()
    [3.0, 5.0]
    """
    return max_p.bind(*_as_operands("max", x, y))


def min(x: Any, y: Any) -> Any:  # noqa: A001 - lax name
    """Elementwise minimum (NaN-propagating).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.min(jnp.array([1.0, 5.0]), jnp.array([3.0, 2.0])).tolist()
    [1.0, 2.0]
    """
    return min_p.bind(*_as_operands("min", x, y))


atan2_p = binary("atan2", hlo.Atan2Op, "float")
defjvp(atan2_p,
       lambda t, x, y: mul(t, div(y, add(mul(x, x), mul(y, y)))),
       lambda t, x, y: mul(t, div(neg(x), add(mul(x, x), mul(y, y)))))


def atan2(x: Any, y: Any) -> Any:
    """Elementwise arctangent of x / y using the signs of both to pick the quadrant."""
    return atan2_p.bind(*_as_operands("atan2", x, y))


nextafter_p = binary("nextafter", lambda x, y: chlo.NextAfterOp(x, y), "float")
defjvp_zero(nextafter_p)


def nextafter(x: Any, y: Any) -> Any:
    return nextafter_p.bind(*_as_operands("nextafter", x, y))


# ----------------------------------------------------------------------------------------------
# Unary transcendental

exp_p = unary("exp", hlo.ExpOp)
defjvp_with_output(exp_p, lambda t, out, x: mul(t, out))

exp2_p = unary("exp2", None)  # type: ignore[arg-type]
exp2_p.def_lowering(lambda ctx, x: hlo.ExpOp(hlo.MulOp(x, full_like_aval(math.log(2), ctx.avals_in[0])).result).result)
defjvp_with_output(exp2_p, lambda t, out, x: mul(t, mul(out, const_like(out, math.log(2)))))

log_p = unary("log", hlo.LogOp)
defjvp(log_p, lambda t, x: div(t, x))

log1p_p = unary("log1p", hlo.Log1pOp)
defjvp(log1p_p, lambda t, x: div(t, add(x, const_like(x, 1))))

expm1_p = unary("expm1", hlo.Expm1Op)
defjvp_with_output(expm1_p, lambda t, out, x: mul(t, add(out, const_like(out, 1))))

tanh_p = unary("tanh", hlo.TanhOp)
# (t + t*out) * (1 - out) = t * (1 - out^2), written so that it keeps its precision where
# |out| nears 1 (1 - out*out cancels there), and gives JAX's numbers
defjvp_with_output(tanh_p, lambda t, out, x: mul(add(t, mul(t, out)), sub(const_like(out, 1), out)))

logistic_p = unary("logistic", hlo.LogisticOp)
defjvp_with_output(logistic_p, lambda t, out, x: mul(t, mul(out, sub(const_like(out, 1), out))))

sin_p = unary("sin", hlo.SineOp)
defjvp(sin_p, lambda t, x: mul(t, cos(x)))

cos_p = unary("cos", hlo.CosineOp)
defjvp(cos_p, lambda t, x: neg(mul(t, sin(x))))

tan_p = unary("tan", lambda x: chlo.TanOp(x))
defjvp_with_output(tan_p, lambda t, out, x: mul(t, add(const_like(out, 1), mul(out, out))))

asin_p = unary("asin", lambda x: chlo.AsinOp(x))
defjvp(asin_p, lambda t, x: mul(t, rsqrt(sub(const_like(x, 1), mul(x, x)))))

acos_p = unary("acos", lambda x: chlo.AcosOp(x))
defjvp(acos_p, lambda t, x: neg(mul(t, rsqrt(sub(const_like(x, 1), mul(x, x))))))

atan_p = unary("atan", lambda x: chlo.AtanOp(x))
defjvp(atan_p, lambda t, x: div(t, add(const_like(x, 1), mul(x, x))))

sinh_p = unary("sinh", lambda x: chlo.SinhOp(x))
defjvp(sinh_p, lambda t, x: mul(t, cosh(x)))

cosh_p = unary("cosh", lambda x: chlo.CoshOp(x))
defjvp(cosh_p, lambda t, x: mul(t, sinh(x)))

asinh_p = unary("asinh", lambda x: chlo.AsinhOp(x))
defjvp(asinh_p, lambda t, x: mul(t, rsqrt(add(mul(x, x), const_like(x, 1)))))

acosh_p = unary("acosh", lambda x: chlo.AcoshOp(x))
defjvp(acosh_p, lambda t, x: mul(t, rsqrt(mul(sub(x, const_like(x, 1)), add(x, const_like(x, 1))))))

atanh_p = unary("atanh", lambda x: chlo.AtanhOp(x))
defjvp(atanh_p, lambda t, x: div(t, sub(const_like(x, 1), mul(x, x))))

sqrt_p = unary("sqrt", hlo.SqrtOp)
defjvp_with_output(sqrt_p, lambda t, out, x: mul(t, div(const_like(out, 0.5), out)))  # JAX's rounding

rsqrt_p = unary("rsqrt", hlo.RsqrtOp)
defjvp_with_output(rsqrt_p, lambda t, out, x: mul(t, mul(div(out, x), const_like(out, -0.5))))

cbrt_p = unary("cbrt", hlo.CbrtOp, "float")
defjvp_with_output(cbrt_p, lambda t, out, x: mul(t, div(const_like(out, 1 / 3), mul(out, out))))

erf_p = unary("erf", lambda x: chlo.ErfOp(x), "float")
defjvp(erf_p, lambda t, x: mul(t, mul(const_like(x, 2 / math.sqrt(math.pi)), exp(neg(mul(x, x))))))

erfc_p = unary("erfc", lambda x: chlo.ErfcOp(x), "float")
defjvp(erfc_p, lambda t, x: mul(t, mul(const_like(x, -2 / math.sqrt(math.pi)), exp(neg(mul(x, x))))))

erf_inv_p = unary("erf_inv", lambda x: chlo.ErfInvOp(x), "float")
defjvp_with_output(erf_inv_p, lambda t, out, x: mul(t, mul(const_like(x, math.sqrt(math.pi) / 2),
                                                             exp(mul(out, out)))))

lgamma_p = unary("lgamma", lambda x: chlo.LgammaOp(x), "float")
defjvp(lgamma_p, lambda t, x: mul(t, digamma(x)))

digamma_p = unary("digamma", lambda x: chlo.DigammaOp(x), "float")
defjvp(digamma_p, lambda t, x: mul(t, polygamma(full_like(x, 1), x)))

polygamma_p = binary("polygamma", lambda m, x: chlo.PolygammaOp(m, x), "float")
defjvp(polygamma_p, None, lambda t, m, x: mul(t, polygamma(add(m, const_like(m, 1)), x)))



def logistic(x: Any) -> Any:
    """1 / (1 + exp(-x)).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.logistic(jnp.array([0.0, 100.0])).tolist()
    [0.5, 1.0]
    """
    return logistic_p.bind(x)


def exp(x: Any) -> Any:
    """``e ** x`` elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.exp(jnp.array([0.0])).tolist()
    [1.0]
    """
    return exp_p.bind(x)


def exp2(x: Any) -> Any:
    return exp2_p.bind(x)


def log(x: Any) -> Any:
    """Natural logarithm, elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.log(jnp.array([1.0])).tolist()
    [0.0]
    """
    return log_p.bind(x)


def log1p(x: Any) -> Any:
    return log1p_p.bind(x)


def expm1(x: Any) -> Any:
    return expm1_p.bind(x)


def tanh(x: Any) -> Any:
    """Hyperbolic tangent, elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.tanh(jnp.array([0.0])).tolist()
    [0.0]
    """
    return tanh_p.bind(x)


def sin(x: Any) -> Any:
    """Sine, elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.sin(jnp.array([0.0])).tolist()
    [0.0]
    """
    return sin_p.bind(x)


def cos(x: Any) -> Any:
    """Cosine, elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.cos(jnp.array([0.0])).tolist()
    [1.0]
    """
    return cos_p.bind(x)


def tan(x: Any) -> Any:
    return tan_p.bind(x)


def asin(x: Any) -> Any:
    return asin_p.bind(x)


def acos(x: Any) -> Any:
    return acos_p.bind(x)


def atan(x: Any) -> Any:
    return atan_p.bind(x)


def sinh(x: Any) -> Any:
    return sinh_p.bind(x)


def cosh(x: Any) -> Any:
    return cosh_p.bind(x)


def asinh(x: Any) -> Any:
    return asinh_p.bind(x)


def acosh(x: Any) -> Any:
    return acosh_p.bind(x)


def atanh(x: Any) -> Any:
    return atanh_p.bind(x)


def sqrt(x: Any) -> Any:
    """Square root, elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.sqrt(jnp.array([4.0, 16.0])).tolist()
    [2.0, 4.0]
    """
    return sqrt_p.bind(x)


def rsqrt(x: Any) -> Any:
    """``1 / sqrt(x)`` elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.rsqrt(jnp.array([4.0, 16.0])).tolist()
    [0.5, 0.25]
    """
    return rsqrt_p.bind(x)


def cbrt(x: Any) -> Any:
    return cbrt_p.bind(x)


def erf(x: Any) -> Any:
    """The error function, elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.erf(jnp.array([0.0])).tolist()
    [0.0]
    """
    return erf_p.bind(x)


def erfc(x: Any) -> Any:
    return erfc_p.bind(x)


def erf_inv(x: Any) -> Any:
    return erf_inv_p.bind(x)


def lgamma(x: Any) -> Any:
    return lgamma_p.bind(x)


def digamma(x: Any) -> Any:
    return digamma_p.bind(x)


def polygamma(m: Any, x: Any) -> Any:
    return polygamma_p.bind(*_as_operands("polygamma", m, x))


# ----------------------------------------------------------------------------------------------
# Sign, magnitude, rounding, complex parts

sign_p = unary("sign", hlo.SignOp, "numeric")
defjvp_zero(sign_p)


def sign(x: Any) -> Any:
    return sign_p.bind(x)


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return {dtypes.complex64: dtypes.float32, dtypes.complex128: dtypes.float64}.get(dtype, dtype)


abs_p = Primitive("abs")
abs_p.def_abstract_eval(_unary_abstract_eval("abs", "numeric", _real_dtype))
abs_p.def_lowering(_op_lowering(hlo.AbsOp))
defvectorized(abs_p)


def _abs_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    (x,), (t,) = primals, tangents
    out = abs_p.bind(x)
    if type(t) is Zero:
        return out, Zero(aval_of(out))
    if aval_of(x).dtype.kind == "c":
        # d|z| = Re(conj(z) * dz) / |z|, taken as 0 at z == 0
        safe = select_n(eq(out, full_like(out, 0)), out, full_like(out, 1))
        return out, div(real(mul(conj(x), t)), safe)
    return out, mul(t, sign(x))


abs_p.def_jvp(_abs_jvp)


def abs(x: Any) -> Any:  # noqa: A001 - lax name
    """Absolute value, elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.abs(jnp.array([-1.5, 2.0])).tolist()
    [1.5, 2.0]
    """
    return abs_p.bind(x)


floor_p = unary("floor", hlo.FloorOp, "float")
ceil_p = unary("ceil", hlo.CeilOp, "float")
defjvp_zero(floor_p)
defjvp_zero(ceil_p)

round_p = Primitive("round")
round_p.def_abstract_eval(_unary_abstract_eval("round", "float"))


def _round_lowering(ctx: Any, x: Any, *, rounding_method: int) -> Any:
    if rounding_method == 0:
        return hlo.RoundOp(x).result  # half away from zero
    return hlo.RoundNearestEvenOp(x).result


round_p.def_lowering(_round_lowering)
defvectorized(round_p)
defjvp_zero(round_p)


class RoundingMethod:
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def floor(x: Any) -> Any:
    return floor_p.bind(x)


def ceil(x: Any) -> Any:
    return ceil_p.bind(x)


def round(x: Any, rounding_method: int = RoundingMethod.AWAY_FROM_ZERO) -> Any:  # noqa: A001
    return round_p.bind(x, rounding_method=int(rounding_method))


is_finite_p = Primitive("is_finite")
is_finite_p.def_abstract_eval(
    lambda x: (check_dtype_kind("is_finite", "float", x), ShapedArray(x.shape, dtypes.bool_, False))[1])
is_finite_p.def_lowering(_op_lowering(hlo.IsFiniteOp))
defvectorized(is_finite_p)
defjvp_zero(is_finite_p)


def is_finite(x: Any) -> Any:
    return is_finite_p.bind(x)


real_p = Primitive("real")
real_p.def_abstract_eval(_unary_abstract_eval("real", "complex", _real_dtype))
real_p.def_lowering(_op_lowering(hlo.RealOp))
defvectorized(real_p)
imag_p = Primitive("imag")
imag_p.def_abstract_eval(_unary_abstract_eval("imag", "complex", _real_dtype))
imag_p.def_lowering(_op_lowering(hlo.ImagOp))
defvectorized(imag_p)
conj_p = Primitive("conj")
conj_p.def_abstract_eval(_unary_abstract_eval("conj", "complex"))
conj_p.def_lowering(lambda ctx, x: chlo.ConjOp(x).result)
defvectorized(conj_p)

_complex_of = {dtypes.float32: dtypes.complex64, dtypes.float64: dtypes.complex128}
complex_p = Primitive("complex")


def _complex_abstract_eval(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    check_same_dtypes("complex", [x, y])
    check_same_shapes("complex", [x, y])
    if x.dtype not in _complex_of:
        raise TypeError(f"lax.complex: expected float32 or float64 operands, got {x.dtype.name}")
    return ShapedArray(x.shape, _complex_of[x.dtype], x.weak_type and y.weak_type)


complex_p.def_abstract_eval(_complex_abstract_eval)
complex_p.def_lowering(_op_lowering(hlo.ComplexOp))
defbroadcasting(complex_p)

deflinear(real_p, lambda ct, x: [ct if type(ct) is Zero else complex(ct, full_like(ct, 0))])
deflinear(imag_p, lambda ct, x: [ct if type(ct) is Zero else complex(full_like(ct, 0), neg(ct))])
deflinear(conj_p, lambda ct, x: [ct if type(ct) is Zero else conj(ct)])
deflinear(complex_p, lambda ct, x, y: [
    (real(ct) if type(ct) is not Zero else Zero(x.aval)) if is_undefined(x) else None,
    (imag(neg(ct)) if type(ct) is not Zero else Zero(y.aval)) if is_undefined(y) else None,
])


def real(x: Any) -> Any:
    return real_p.bind(x)


def imag(x: Any) -> Any:
    return imag_p.bind(x)


def conj(x: Any) -> Any:
    return conj_p.bind(x)


def complex(x: Any, y: Any) -> Any:  # noqa: A001 - lax name
    return complex_p.bind(*_as_operands("complex", x, y))


square_p = unary("square", None, "numeric")  # type: ignore[arg-type]
square_p.def_lowering(lambda ctx, x: hlo.MulOp(x, x).result)
defjvp(square_p, lambda t, x: mul(t, mul(x, const_like(x, 2))))


def square(x: Any) -> Any:
    """``x * x`` elementwise.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.square(jnp.array([3.0])).tolist()
    [9.0]
    """
    return square_p.bind(x)


integer_pow_p = Primitive("integer_pow")
integer_pow_p.def_abstract_eval(_unary_abstract_eval("integer_pow", "numeric"))
defvectorized(integer_pow_p)


def _integer_pow_lowering(ctx: Any, x: Any, *, y: int) -> Any:
    aval = ctx.avals_in[0]
    if y == 0:
        return full_like_aval(1, aval)
    is_reciprocal = y < 0
    n = -y if is_reciprocal else y
    acc = None
    base = x
    while n:  # square-and-multiply
        if n & 1:
            acc = base if acc is None else hlo.MulOp(acc, base).result
        n >>= 1
        if n:
            base = hlo.MulOp(base, base).result
    if is_reciprocal:
        acc = hlo.DivOp(full_like_aval(1, aval), acc).result
    return acc


integer_pow_p.def_lowering(_integer_pow_lowering)
defjvp(integer_pow_p, lambda t, x, *, y: (
    Zero(aval_of(t)) if y == 0 else mul(t, mul(const_like(x, y), integer_pow(x, y - 1)))))


def integer_pow(x: Any, y: int) -> Any:
    """x ** y for a static Python integer y (square-and-multiply in the program).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.integer_pow(jnp.array([2.0, 3.0]), 3).tolist()
    [8.0, 27.0]
    """
    return integer_pow_p.bind(x, y=int(y))


# ----------------------------------------------------------------------------------------------
# Comparison

_directions = {"eq": "EQ", "ne": "NE", "lt": "LT", "le": "LE", "gt": "GT", "ge": "GE"}


def _compare_type(dtype: np.dtype) -> str:
    if dtypes.is_inexact(dtype):
        return "FLOAT"
    if dtype.kind == "i":
        return "SIGNED"
    return "UNSIGNED"


def compare_lowering(x: Any, y: Any, direction: str, dtype: np.dtype) -> Any:
    return hlo.CompareOp(
        x, y, hlo.ComparisonDirectionAttr.get(direction),
        compare_type=hlo.ComparisonTypeAttr.get(_compare_type(dtype)),
    ).result


def _comparison(name: str) -> Primitive:
    p = Primitive(name)
    p.def_abstract_eval(_nary_abstract_eval(name, ("any", "any"), dtypes.bool_))
    direction = _directions[name]
    p.def_lowering(lambda ctx, x, y: compare_lowering(x, y, direction, ctx.avals_in[0].dtype))
    defbroadcasting(p)
    defjvp_zero(p)
    return p


eq_p, ne_p, lt_p, le_p, gt_p, ge_p = (_comparison(n) for n in ("eq", "ne", "lt", "le", "gt", "ge"))


def eq(x: Any, y: Any) -> Any:
    """``x == y`` elementwise (same shapes and dtypes).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.eq(jnp.array([1, 2]), jnp.array([1, 3])).tolist()
    [True, False]
    """
    return eq_p.bind(*_as_operands("eq", x, y))


def ne(x: Any, y: Any) -> Any:
    return ne_p.bind(*_as_operands("ne", x, y))


def lt(x: Any, y: Any) -> Any:
    """``x < y`` elementwise (same shapes and dtypes).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.lt(jnp.array([1, 2]), jnp.array([2, 2])).tolist()
    [True, False]
    """
    return lt_p.bind(*_as_operands("lt", x, y))


def le(x: Any, y: Any) -> Any:
    return le_p.bind(*_as_operands("le", x, y))


def gt(x: Any, y: Any) -> Any:
    return gt_p.bind(*_as_operands("gt", x, y))


def ge(x: Any, y: Any) -> Any:
    return ge_p.bind(*_as_operands("ge", x, y))


# ----------------------------------------------------------------------------------------------
# Logical and bitwise

not_p = unary("not", hlo.NotOp, "int_or_bool")
and_p = binary("and", hlo.AndOp, "int_or_bool")
or_p = binary("or", hlo.OrOp, "int_or_bool")
xor_p = binary("xor", hlo.XorOp, "int_or_bool")
shift_left_p = binary("shift_left", hlo.ShiftLeftOp, "int")
shift_right_arithmetic_p = binary("shift_right_arithmetic", hlo.ShiftRightArithmeticOp, "int")
shift_right_logical_p = binary("shift_right_logical", hlo.ShiftRightLogicalOp, "int")
population_count_p = unary("population_count", hlo.PopulationCountOp, "int")
clz_p = unary("clz", hlo.ClzOp, "int")
for _p in (not_p, and_p, or_p, xor_p, shift_left_p, shift_right_arithmetic_p, shift_right_logical_p,
           population_count_p, clz_p):
    defjvp_zero(_p)


def bitwise_not(x: Any) -> Any:
    return not_p.bind(x)


def bitwise_and(x: Any, y: Any) -> Any:
    return and_p.bind(*_as_operands("and", x, y))


def bitwise_or(x: Any, y: Any) -> Any:
    return or_p.bind(*_as_operands("or", x, y))


def bitwise_xor(x: Any, y: Any) -> Any:
    return xor_p.bind(*_as_operands("xor", x, y))


def shift_left(x: Any, y: Any) -> Any:
    return shift_left_p.bind(*_as_operands("shift_left", x, y))


def shift_right_arithmetic(x: Any, y: Any) -> Any:
    return shift_right_arithmetic_p.bind(*_as_operands("shift_right_arithmetic", x, y))


def shift_right_logical(x: Any, y: Any) -> Any:
    return shift_right_logical_p.bind(*_as_operands("shift_right_logical", x, y))


def population_count(x: Any) -> Any:
    return population_count_p.bind(x)


def clz(x: Any) -> Any:
    return clz_p.bind(x)


# ----------------------------------------------------------------------------------------------
# select_n and clamp

select_n_p = Primitive("select_n")


def _select_n_abstract_eval(which: ShapedArray, *cases: ShapedArray) -> ShapedArray:
    if not cases:
        raise TypeError("lax.select_n: at least one case is required")
    if which.dtype != dtypes.bool_ and which.dtype != dtypes.int32:
        raise TypeError(f"lax.select_n: `which` must be bool or int32, got {which.dtype.name}")
    if which.dtype == dtypes.bool_ and len(cases) > 2:
        raise TypeError(f"lax.select_n: a boolean `which` selects between 2 cases, got {len(cases)}")
    check_same_dtypes("select_n", cases)
    check_same_shapes("select_n", cases)
    if which.shape and which.shape != cases[0].shape:
        raise TypeError(f"lax.select_n: `which` must be a scalar or have the cases' shape "
                        f"{cases[0].shape}, got {which.shape}")
    return ShapedArray(cases[0].shape, cases[0].dtype, all(c.weak_type for c in cases))


select_n_p.def_abstract_eval(_select_n_abstract_eval)


def _select_n_lowering(ctx: Any, which: Any, *cases: Any) -> Any:
    which_aval = ctx.avals_in[0]
    out_aval = ctx.avals_out[0]
    if which_aval.shape != out_aval.shape:
        which = hlo.BroadcastInDimOp(ir_type(which_aval.update(shape=out_aval.shape)), which,
                                     ir.DenseI64ArrayAttr.get([])).result
        which_aval = which_aval.update(shape=out_aval.shape)
    if len(cases) == 1:
        return cases[0]
    if which_aval.dtype == dtypes.bool_:
        return hlo.SelectOp(which, cases[1], cases[0]).result

    def build(lo: int, hi: int) -> Any:  # cases[lo:hi], a balanced tree of selects
        if hi - lo == 1:
            return cases[lo]
        mid = (lo + hi) // 2
        pivot = full_like_aval(mid, which_aval)
        pred = compare_lowering(which, pivot, "LT", which_aval.dtype)
        return hlo.SelectOp(pred, build(lo, mid), build(mid, hi)).result

    return build(0, len(cases))


select_n_p.def_lowering(_select_n_lowering)


def _select_n_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    which, *cases = primals
    out = select_n_p.bind(which, *cases)
    case_tangents = tangents[1:]
    if all(type(t) is Zero for t in case_tangents):
        return out, Zero(aval_of(out))
    return out, select_n_p.bind(which, *[instantiate(t) for t in case_tangents])


def _select_n_transpose(ct: Any, which: Any, *cases: Any) -> list[Any]:
    if is_undefined(which):
        raise ValueError("select_n is not linear in its predicate")
    out: list[Any] = [None]
    for i, case in enumerate(cases):
        if not is_undefined(case):
            out.append(None)
        elif type(ct) is Zero:
            out.append(Zero(case.aval))
        else:
            zeros = full_like(ct, 0)
            out.append(select_n_p.bind(which, *[ct if j == i else zeros for j in range(len(cases))]))
    return out


def _select_n_batch(args: Sequence[Any], dims: Sequence[int | None]) -> tuple[Any, int]:
    from ..rules import batch_size, broadcast_batched
    size = batch_size(args, dims)
    which, *cases = args
    which_dim, *case_dims = dims
    case_shape = next(aval_of(c).shape for c, d in zip(cases, case_dims) if d is None) if any(
        d is None for d in case_dims) else None
    moved_cases = [broadcast_batched(c, d, size) for c, d in zip(cases, case_dims)]
    full_shape = aval_of(moved_cases[0]).shape
    if which_dim is None:
        if aval_of(which).shape:
            from .shape import broadcast_in_dim
            which = broadcast_in_dim(which, full_shape, tuple(range(1, len(full_shape))))
        return select_n_p.bind(which, *moved_cases), 0
    del case_shape
    which = broadcast_batched(which, which_dim, size)
    if aval_of(which).shape != full_shape:  # a batched scalar predicate
        from .shape import broadcast_in_dim
        which = broadcast_in_dim(which, full_shape, (0,))
    return select_n_p.bind(which, *moved_cases), 0


select_n_p.def_jvp(_select_n_jvp)
select_n_p.def_transpose(_select_n_transpose)
select_n_p.def_batching(_select_n_batch)


def select_n(which: Any, *cases: Any) -> Any:
    """``cases[which]`` elementwise: a bool ``which`` picks cases[1] where True, cases[0] where False.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.select_n(jnp.array([0, 2, 1]), jnp.array([1, 1, 1]), jnp.array([2, 2, 2]), jnp.array([3, 3, 3])).tolist()
    [1, 3, 2]
    """
    return select_n_p.bind(which, *cases)


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """``on_true`` where ``pred`` else ``on_false`` (lax.select).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.select(jnp.array([True, False]), jnp.array([1, 2]), jnp.array([10, 20])).tolist()
    [1, 20]
    """
    return select_n_p.bind(pred, on_false, on_true)


clamp_p = Primitive("clamp")


def _clamp_abstract_eval(lo: ShapedArray, x: ShapedArray, hi: ShapedArray) -> ShapedArray:
    check_same_dtypes("clamp", [lo, x, hi])
    for name, bound in (("min", lo), ("max", hi)):
        if bound.shape and bound.shape != x.shape:
            raise TypeError(f"lax.clamp: `{name}` must be a scalar or have the operand's shape "
                            f"{x.shape}, got {bound.shape}")
    return x


clamp_p.def_abstract_eval(_clamp_abstract_eval)


def _clamp_lowering(ctx: Any, lo: Any, x: Any, hi: Any) -> Any:
    aval = ctx.avals_in[1]
    if ctx.avals_in[0].shape != aval.shape:
        lo = hlo.BroadcastInDimOp(ir_type(aval.update(dtype=ctx.avals_in[0].dtype)), lo, ir.DenseI64ArrayAttr.get([])).result
    if ctx.avals_in[2].shape != aval.shape:
        hi = hlo.BroadcastInDimOp(ir_type(aval.update(dtype=ctx.avals_in[2].dtype)), hi, ir.DenseI64ArrayAttr.get([])).result
    return hlo.ClampOp(lo, x, hi).result


clamp_p.def_lowering(_clamp_lowering)


def _clamp_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    from ..rules import add_tangents
    lo, x, hi = primals
    t_lo, t_x, t_hi = tangents
    out = clamp_p.bind(lo, x, hi)
    lo_b, hi_b, zeros = _bcast(lo, x), _bcast(hi, x), full_like(x, 0)
    total: Any = Zero(aval_of(out))
    if type(t_lo) is not Zero:
        total = add_tangents(total, select(bitwise_and(gt(lo_b, x), lt(lo_b, hi_b)), _bcast(t_lo, x), zeros))
    if type(t_x) is not Zero:
        total = add_tangents(total, select(bitwise_and(gt(x, lo_b), lt(x, hi_b)), t_x, zeros))
    if type(t_hi) is not Zero:
        total = add_tangents(total, select(lt(hi_b, x), _bcast(t_hi, x), zeros))
    return out, total


clamp_p.def_jvp(_clamp_jvp)


def _bcast(v: Any, like: Any) -> Any:
    if aval_of(v).shape == aval_of(like).shape:
        return v
    from .shape import broadcast_in_dim
    return broadcast_in_dim(v, aval_of(like).shape, ())


def _clamp_batch(args: Sequence[Any], dims: Sequence[int | None]) -> tuple[Any, int]:
    from ..rules import batch_size, broadcast_batched
    size = batch_size(args, dims)
    lo, x, hi = args
    x = broadcast_batched(x, dims[1], size)
    shape = aval_of(x).shape
    bounds = []
    for b, d in zip((lo, hi), (dims[0], dims[2])):
        if d is None and not aval_of(b).shape:
            bounds.append(b)
            continue
        b = broadcast_batched(b, d, size)
        if aval_of(b).shape != shape:
            from .shape import broadcast_in_dim
            b = broadcast_in_dim(b, shape, (0,))
        bounds.append(b)
    return clamp_p.bind(bounds[0], x, bounds[1]), 0


clamp_p.def_batching(_clamp_batch)


def clamp(min: Any, x: Any, max: Any) -> Any:  # noqa: A002 - lax signature
    """``min(max(x, min), max)`` elementwise; ``min``/``max`` may be scalars.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.clamp(0.0, jnp.array([-1.0, 0.5, 2.0]), 1.0).tolist()   # clamp(min, x, max)
    [0.0, 0.5, 1.0]
    """
    like = aval_of(x) if not is_python_scalar(x) else None
    if like is not None:
        min = np.array(min, like.dtype) if is_python_scalar(min) else min
        max = np.array(max, like.dtype) if is_python_scalar(max) else max
    return clamp_p.bind(min, x, max)


# ----------------------------------------------------------------------------------------------
# Conversion

convert_element_type_p = Primitive("convert_element_type")


def _convert_abstract_eval(x: ShapedArray, *, new_dtype: np.dtype, weak_type: bool) -> ShapedArray:
    return ShapedArray(x.shape, new_dtype, weak_type)


def _convert_lowering(ctx: Any, x: Any, *, new_dtype: np.dtype, weak_type: bool) -> Any:
    aval_in, aval_out = ctx.avals_in[0], ctx.avals_out[0]
    if aval_in.dtype == new_dtype:
        return x
    if aval_in.dtype.kind == "c" and new_dtype.kind != "c":
        x = hlo.RealOp(x).result
        aval_in = aval_in.update(dtype=_real_dtype(aval_in.dtype))
        if aval_in.dtype == new_dtype:
            return x
    if new_dtype == dtypes.bool_:
        zero = full_like_aval(0, aval_in)
        return compare_lowering(x, zero, "NE", aval_in.dtype)
    if aval_in.dtype == dtypes.bool_ and new_dtype.kind != "c":
        return hlo.ConvertOp(ir_type(aval_out), x).result
    return hlo.ConvertOp(ir.RankedTensorType.get(aval_out.shape, dtype_to_ir_type(new_dtype)), x).result


def _convert_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, new_dtype: np.dtype,
                 weak_type: bool) -> tuple[Any, Any]:
    (x,), (t,) = primals, tangents
    out = convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)
    if type(t) is Zero or not dtypes.is_inexact(new_dtype) or not dtypes.is_inexact(aval_of(x).dtype):
        return out, Zero(aval_of(out))
    return out, convert_element_type_p.bind(t, new_dtype=new_dtype, weak_type=weak_type)


def _convert_transpose(ct: Any, x: Any, *, new_dtype: np.dtype, weak_type: bool) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [convert_element_type_p.bind(ct, new_dtype=x.aval.dtype, weak_type=x.aval.weak_type)]


convert_element_type_p.def_abstract_eval(_convert_abstract_eval)
convert_element_type_p.def_lowering(_convert_lowering)
convert_element_type_p.def_jvp(_convert_jvp)
convert_element_type_p.def_transpose(_convert_transpose)
defvectorized(convert_element_type_p)


def convert_element_type(x: Any, new_dtype: Any, weak_type: bool = False) -> Any:
    """``x`` converted to ``new_dtype`` (a no-op when the type already matches).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.convert_element_type(jnp.array([1.7, -1.7]), jnp.int32).tolist()   # truncates toward zero
    [1, -1]
    """
    new_dtype = dtypes.canonicalize_dtype(new_dtype)
    aval = aval_of(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type and not is_python_scalar(x):
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=bool(weak_type))


bitcast_convert_type_p = Primitive("bitcast_convert_type")


def _bitcast_abstract_eval(x: ShapedArray, *, new_dtype: np.dtype) -> ShapedArray:
    old, new = x.dtype.itemsize, new_dtype.itemsize
    if old == new:
        return ShapedArray(x.shape, new_dtype, False)
    if old > new:
        if old % new:
            raise TypeError(f"lax.bitcast_convert_type: {x.dtype.name} -> {new_dtype.name} sizes do not divide")
        return ShapedArray(x.shape + (old // new,), new_dtype, False)
    if not x.shape or x.shape[-1] != new // old:
        raise TypeError(f"lax.bitcast_convert_type: converting {x.dtype.name} to the wider "
                        f"{new_dtype.name} needs a last dimension of {new // old}, got shape {x.shape}")
    return ShapedArray(x.shape[:-1], new_dtype, False)


bitcast_convert_type_p.def_abstract_eval(_bitcast_abstract_eval)
bitcast_convert_type_p.def_lowering(
    lambda ctx, x, *, new_dtype: hlo.BitcastConvertOp(ir_type(ctx.avals_out[0]), x).result)
defjvp_zero(bitcast_convert_type_p)


def _bitcast_batch(args: Sequence[Any], dims: Sequence[int | None], *, new_dtype: np.dtype) -> tuple[Any, int]:
    from ..rules import moveaxis_to_front
    return bitcast_convert_type_p.bind(moveaxis_to_front(args[0], dims[0]), new_dtype=new_dtype), 0


bitcast_convert_type_p.def_batching(_bitcast_batch)


def bitcast_convert_type(x: Any, new_dtype: Any) -> Any:
    return bitcast_convert_type_p.bind(x, new_dtype=dtypes.canonicalize_dtype(new_dtype))


reduce_precision_p = Primitive("reduce_precision")
reduce_precision_p.def_abstract_eval(lambda x, *, exponent_bits, mantissa_bits: x)
reduce_precision_p.def_lowering(lambda ctx, x, *, exponent_bits, mantissa_bits: hlo.ReducePrecisionOp(
    x, exponent_bits=ir.IntegerAttr.get(ir.IntegerType.get_signless(32), exponent_bits),
    mantissa_bits=ir.IntegerAttr.get(ir.IntegerType.get_signless(32), mantissa_bits)).result)
deflinear(reduce_precision_p, lambda ct, x, **p: [ct])
defvectorized(reduce_precision_p)


def reduce_precision(x: Any, exponent_bits: int, mantissa_bits: int) -> Any:
    return reduce_precision_p.bind(x, exponent_bits=int(exponent_bits), mantissa_bits=int(mantissa_bits))


# ----------------------------------------------------------------------------------------------
# stop_gradient: the identity, with a zero derivative

stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.def_abstract_eval(lambda x: x)
stop_gradient_p.def_lowering(lambda ctx, x: x)
stop_gradient_p.def_jvp(lambda primals, tangents: (stop_gradient_p.bind(primals[0]), Zero(aval_of(primals[0]))))
defvectorized(stop_gradient_p)


def stop_gradient(x: Any) -> Any:
    """``x`` (a pytree of arrays) with derivatives blocked: ``grad`` sees a constant.

    >>> import ember.core as ec
    >>> float(ec.grad(lambda v: v * stop_gradient(v))(3.0))
    3.0
    """
    from .. import tree as tree_util

    def one(leaf: Any) -> Any:
        if not is_python_scalar(leaf) and not dtypes.is_inexact(aval_of(leaf).dtype):
            return leaf
        return stop_gradient_p.bind(leaf)

    return tree_util.map(one, x)


# ----------------------------------------------------------------------------------------------
# Helpers used by rules

def full_like(x: Any, value: Any) -> Any:
    """An array of ``x``'s shape and dtype filled with ``value`` (a strong type, like JAX's
    ``lax._const``: ``jnp.log2(2.0)`` is a strong float32 in JAX too).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.full_like(jnp.zeros(3, jnp.int32), 5).tolist()
    [5, 5, 5]
    """
    from .shape import full
    aval = aval_of(x)
    return full(aval.shape, value, aval.dtype)


def undefined_aval(x: UndefinedPrimal) -> ShapedArray:
    return x.aval
