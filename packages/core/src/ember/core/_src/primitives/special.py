"""Special functions as primitives: the regularized incomplete gamma functions (``igamma``,
``igammac``, ``igamma_grad_a``, ``random_gamma_grad``), ``bessel_i0e``, ``bessel_i1e`` and
``zeta``; plus the *staged lowering* helpers their rules use.

Several of these are iterative (a power series and a continued fraction that run until they
converge). Their lowering rules are written as ordinary Python over ``lax`` operations, traced to
jaxprs while the rule runs and emitted in place; loops become ``stablehlo.while`` ops whose
condition and body are traced the same way (``Staged.while_loop``). This keeps each primitive in
one place without needing a control-flow primitive.

    >>> import numpy as np
    >>> float(igamma(np.float32(1.0), np.float32(1.0)))  # 1 - exp(-1)
    0.632120...
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import chlo
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import ShapedArray
from ..lowering import constant, ir_type, jaxpr_subcomp, lower_fun
from ..rules import defjvp, defjvp_with_output
from . import elementwise as ew
from ._util import aval_of
from .elementwise import binary, unary

__all__ = [
    "bessel_i0e",
    "bessel_i1e",
    "igamma",
    "igamma_grad_a",
    "igammac",
    "random_gamma_grad",
    "zeta",
]


# ----------------------------------------------------------------------------------------------
# Staged lowering: Python over lax ops, traced and emitted while a lowering rule runs

class Staged:
    """Emit traced lax code and while loops into the function a lowering rule is building.

    Values are ``(ir.Value, ShapedArray)`` pairs. ``call(fn, *values)`` traces ``fn`` (lax ops on
    tracers) at the values' avals and emits its equations here; ``while_loop(cond, body, init)``
    emits a ``stablehlo.while`` whose condition (a traced function returning a scalar bool) and
    body (traced, or with ``staged_body=True`` a function ``body(staged, values)`` that may itself
    emit loops) see the loop-carried values only.
    """

    def __init__(self, rule_ctx: Any) -> None:
        self.module = rule_ctx.module

    def call(self, fn: Callable[..., Any], *values: tuple[Any, ShapedArray]) -> list[tuple[Any, ShapedArray]]:
        from ..tracing import trace_to_jaxpr

        def flat(*xs: Any) -> list[Any]:
            out = fn(*xs)
            return list(out) if isinstance(out, (list, tuple)) else [out]

        closed = trace_to_jaxpr(flat, [aval for _, aval in values])
        consts = [constant(np.asarray(c), v.aval) for c, v in zip(closed.consts, closed.jaxpr.constvars)]
        outs = jaxpr_subcomp(self.module, closed.jaxpr, consts, [v for v, _ in values])
        return list(zip(outs, closed.jaxpr.out_avals))

    def while_loop(self, cond: Callable[..., Any], body: Callable[..., Any],
                   init: Sequence[tuple[Any, ShapedArray]], *,
                   staged_body: bool = False) -> list[tuple[Any, ShapedArray]]:
        avals = [aval for _, aval in init]
        types = [ir_type(a) for a in avals]
        op = hlo.WhileOp(types, [v for v, _ in init])
        cond_block = op.cond.blocks.append(*types)
        with ir.InsertionPoint(cond_block):
            (pred, pred_aval), = self.call(cond, *zip(cond_block.arguments, avals))
            if pred_aval.shape != () or pred_aval.dtype != dtypes.bool_:
                raise TypeError(f"while_loop condition must return a scalar bool, got {pred_aval.str_short()}")
            hlo.ReturnOp([pred])
        body_block = op.body.blocks.append(*types)
        with ir.InsertionPoint(body_block):
            args = list(zip(body_block.arguments, avals))
            outs = body(self, args) if staged_body else self.call(body, *args)
            out_avals = [a for _, a in outs]
            if [(a.shape, a.dtype) for a in out_avals] != [(a.shape, a.dtype) for a in avals]:
                raise TypeError("while_loop body must return values of the carried types: "
                                f"{[a.str_short() for a in avals]} -> {[a.str_short() for a in out_avals]}")
            hlo.ReturnOp([v for v, _ in outs])
        return list(zip(op.results, avals))


def any_true(pred: Any) -> Any:
    """Reduce a boolean array to a scalar ``or`` (a loop condition over lanes)."""
    from .reductions import reduce_or
    aval = aval_of(pred)
    return reduce_or(pred, tuple(range(aval.ndim))) if aval.ndim else pred


# ----------------------------------------------------------------------------------------------
# Incomplete gamma functions (ported from XLA's math library, as JAX does)

_VALUE, _DERIVATIVE, _SAMPLE_DERIVATIVE = 0, 1, 2


def _finfo(dtype: np.dtype) -> Any:
    return dtypes.finfo(dtype)


def _igamma_series(st: Staged, ax: Any, x: Any, a: Any, enabled: Any, dtype: np.dtype, mode: int) -> Any:
    """sum_n x^n / (a+1)...(a+n) and its derivative in ``a``, to relative precision eps."""
    eps = float(_finfo(dtype).eps)

    def init(ax: Any, x: Any, a: Any, enabled: Any) -> Any:
        one, zero = ew.full_like(a, 1), ew.full_like(a, 0)
        return enabled, a, one, one, x, zero, zero

    def cond(enabled: Any, *rest: Any) -> Any:
        return any_true(enabled)

    def body(enabled: Any, r: Any, c: Any, ans: Any, x: Any, dc_da: Any, dans_da: Any) -> Any:
        r_new = r + 1.0
        dc_da_new = dc_da * (x / r_new) - (c * x) / (r_new * r_new)
        dans_da_new = dans_da + dc_da_new
        c_new = c * (x / r_new)
        ans_new = ans + c_new
        if mode == _VALUE:
            going = enabled & (c_new / ans_new > eps)
        else:
            going = enabled & (ew.abs(dc_da_new / dans_da_new) > eps)
        pick = lambda new, old: ew.select(enabled, new, old)  # noqa: E731
        return (going, pick(r_new, r), pick(c_new, c), pick(ans_new, ans), x,
                pick(dc_da_new, dc_da), pick(dans_da_new, dans_da))

    state = st.call(init, ax, x, a, enabled)
    state = st.while_loop(cond, body, state)
    ans, dans_da = state[3], state[6]

    def finish(ans: Any, dans_da: Any, ax: Any, x: Any, a: Any) -> Any:
        if mode == _VALUE:
            return (ans * ax) / a
        dlogax_da = ew.log(x) - ew.digamma(a + 1.0)
        if mode == _DERIVATIVE:
            return ax * (ans * dlogax_da + dans_da) / a
        return -(dans_da + ans * dlogax_da) * x / a

    return st.call(finish, ans, dans_da, ax, x, a)[0]


def _igammac_continued_fraction(st: Staged, ax: Any, x: Any, a: Any, enabled: Any, dtype: np.dtype,
                                mode: int) -> Any:
    """Legendre's continued fraction for Q(a, x) (and its derivative in ``a``), at most 2000 terms."""
    eps = float(_finfo(dtype).eps)

    def init(ax: Any, x: Any, a: Any, enabled: Any) -> Any:
        y = 1.0 - a
        z = x + y + 1.0
        c = ew.full_like(x, 0)
        pkm2 = ew.full_like(x, 1)
        qkm2 = x
        pkm1 = x + 1.0
        qkm1 = z * x
        ans = pkm1 / qkm1
        t = ew.full_like(x, 1)
        zero = ew.full_like(x, 0)
        dqkm1_da = -x
        dans_da = (zero - ans * dqkm1_da) / qkm1
        return (enabled, ans, t, y, z, c, pkm1, qkm1, pkm2, qkm2, zero, zero, zero, dqkm1_da, dans_da)

    def cond(enabled: Any, ans: Any, t: Any, y: Any, z: Any, c: Any, *rest: Any) -> Any:
        from .reductions import reduce_max
        steps = reduce_max(c, tuple(range(aval_of(c).ndim))) if aval_of(c).ndim else c
        return (steps < 2000.0) & any_true(enabled)

    def body(enabled: Any, ans: Any, t: Any, y: Any, z: Any, c: Any, pkm1: Any, qkm1: Any, pkm2: Any,
             qkm2: Any, dpkm2_da: Any, dqkm2_da: Any, dpkm1_da: Any, dqkm1_da: Any, dans_da: Any) -> Any:
        old = (ans, t, y, z, pkm1, qkm1, pkm2, qkm2, dpkm2_da, dqkm2_da, dpkm1_da, dqkm1_da, dans_da)
        c = c + 1.0
        y = y + 1.0
        z = z + 2.0
        yc = y * c
        pk = pkm1 * z - pkm2 * yc
        qk = qkm1 * z - qkm2 * yc
        nonzero = qk != 0.0
        r = pk / qk
        t = ew.select(nonzero, ew.abs((ans - r) / r), ew.full_like(r, 1))
        ans = ew.select(nonzero, r, ans)
        dpk_da = dpkm1_da * z - pkm1 - dpkm2_da * yc + pkm2 * c
        dqk_da = dqkm1_da * z - qkm1 - dqkm2_da * yc + qkm2 * c
        dans_da_new = ew.select(nonzero, (dpk_da - ans * dqk_da) / qk, dans_da)
        grad_change = ew.select(nonzero, ew.abs(dans_da_new - dans_da), ew.full_like(dans_da, 1))
        pkm2, pkm1, qkm2, qkm1 = pkm1, pk, qkm1, qk
        dpkm2_da, dqkm2_da, dpkm1_da, dqkm1_da = dpkm1_da, dqkm1_da, dpk_da, dqk_da
        rescale = ew.abs(pk) > 1.0 / eps
        scaled = [ew.select(rescale, v * eps, v) for v in (pkm2, pkm1, qkm2, qkm1, dpkm2_da, dqkm2_da,
                                                            dpkm1_da, dqkm1_da)]
        pkm2, pkm1, qkm2, qkm1, dpkm2_da, dqkm2_da, dpkm1_da, dqkm1_da = scaled
        going = enabled & ((t > eps) if mode == _VALUE else (grad_change > eps))
        new = (ans, t, y, z, pkm1, qkm1, pkm2, qkm2, dpkm2_da, dqkm2_da, dpkm1_da, dqkm1_da, dans_da_new)
        picked = [ew.select(enabled, n, o) for n, o in zip(new, old)]
        return (going, *picked[:4], c, *picked[4:])

    state = st.call(init, ax, x, a, enabled)
    state = st.while_loop(cond, body, state)
    ans, dans_da = state[1], state[14]

    def finish(ans: Any, dans_da: Any, ax: Any, x: Any, a: Any) -> Any:
        if mode == _VALUE:
            return ans * ax
        dlogax_da = ew.log(x) - ew.digamma(a)
        if mode == _DERIVATIVE:
            return ax * (ans * dlogax_da + dans_da)
        return -(dans_da + ans * dlogax_da) * x

    return st.call(finish, ans, dans_da, ax, x, a)[0]


def _prologue(a: Any, x: Any, dtype: np.dtype, which: str) -> Any:
    log_max = math.log(float(_finfo(dtype).max))
    is_nan = (a != a) | (x != x)
    x_is_zero = x == 0.0
    x_is_inf = x == float("inf")
    a_is_zero = a == 0.0
    ax_log = a * ew.log(x) - x - ew.lgamma(a)
    underflow = ax_log < -log_max
    ax = ew.exp(ax_log)
    if which == "igamma":
        domain_error = (x < 0.0) | (a < 0.0) | (a_is_zero & x_is_zero) | is_nan
        use_cf = (x >= 1.0) & (x > a)
        enabled = ~(x_is_zero | domain_error | underflow | x_is_inf)
    elif which == "igammac":
        domain_error = (x < 0.0) | (a < 0.0) | (a_is_zero & x_is_zero) | is_nan
        use_cf = ~((x < 1.0) | (x < a))
        enabled = ~(domain_error | underflow | x_is_inf | a_is_zero)
    else:  # the derivatives
        domain_error = (x < 0.0) | (a <= 0.0)
        use_cf = (x > 1.0) & (x > a)
        enabled = ~(x_is_zero | domain_error | underflow | is_nan)
    return ax, enabled & use_cf, enabled & ~use_cf, use_cf, domain_error, is_nan


def _igamma_family_lowering(which: str) -> Callable[..., Any]:
    mode = {"igamma": _VALUE, "igammac": _VALUE, "igamma_grad_a": _DERIVATIVE,
            "random_gamma_grad": _SAMPLE_DERIVATIVE}[which]

    def rule(ctx: Any, a: Any, x: Any) -> Any:
        st = Staged(ctx)
        out_dtype = ctx.avals_in[0].dtype
        work = dtypes.float32 if out_dtype in (dtypes.float16, dtypes.bfloat16) else out_dtype
        a_sv, x_sv = (a, ctx.avals_in[0]), (x, ctx.avals_in[1])
        if work != out_dtype:
            a_sv, x_sv = st.call(lambda a, x: (ew.convert_element_type(a, work),
                                               ew.convert_element_type(x, work)), a_sv, x_sv)
        ax, en_cf, en_series, use_cf, domain_error, is_nan = st.call(
            lambda a, x: _prologue(a, x, work, which), a_sv, x_sv)
        series = _igamma_series(st, ax, x_sv, a_sv, en_series, work, mode)
        cf = _igammac_continued_fraction(st, ax, x_sv, a_sv, en_cf, work, mode)

        def finish(a: Any, x: Any, series: Any, cf: Any, use_cf: Any, domain_error: Any, is_nan: Any) -> Any:
            nan = ew.full_like(a, float("nan"))
            if which == "igamma":
                out = ew.select(use_cf, 1.0 - cf, series)
                out = ew.select(x == 0.0, ew.full_like(a, 0), out)
                out = ew.select(x == float("inf"), ew.full_like(a, 1), out)
                out = ew.select(domain_error, nan, out)
            elif which == "igammac":
                out = ew.select(use_cf, cf, 1.0 - series)
                out = ew.select((x == float("inf")) | (a == 0.0), ew.full_like(a, 0), out)
                out = ew.select(domain_error, nan, out)
            else:
                out = ew.select(use_cf, -cf, series)
                out = ew.select(x == 0.0, ew.full_like(a, 0), out)
                out = ew.select(domain_error | is_nan, nan, out)
            return ew.convert_element_type(out, out_dtype)

        return st.call(finish, a_sv, x_sv, series, cf, use_cf, domain_error, is_nan)[0][0]

    return rule


igamma_p = binary("igamma", None, "float")  # type: ignore[arg-type]
igamma_p.def_lowering(_igamma_family_lowering("igamma"))
igammac_p = binary("igammac", None, "float")  # type: ignore[arg-type]
igammac_p.def_lowering(_igamma_family_lowering("igammac"))
igamma_grad_a_p = binary("igamma_grad_a", None, "float")  # type: ignore[arg-type]
igamma_grad_a_p.def_lowering(_igamma_family_lowering("igamma_grad_a"))
random_gamma_grad_p = binary("random_gamma_grad", None, "float")  # type: ignore[arg-type]
random_gamma_grad_p.def_lowering(_igamma_family_lowering("random_gamma_grad"))


def _igamma_dx(t: Any, a: Any, x: Any) -> Any:
    return ew.mul(t, ew.exp(-x + (a - 1.0) * ew.log(x) - ew.lgamma(a)))


defjvp(igamma_p, lambda t, a, x: ew.mul(t, igamma_grad_a(a, x)), _igamma_dx)
defjvp(igammac_p, lambda t, a, x: ew.neg(ew.mul(t, igamma_grad_a(a, x))),
       lambda t, a, x: ew.neg(_igamma_dx(t, a, x)))


def igamma(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function P(a, x)."""
    return igamma_p.bind(*ew._as_operands("igamma", a, x))


def igammac(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return igammac_p.bind(*ew._as_operands("igammac", a, x))


def igamma_grad_a(a: Any, x: Any) -> Any:
    """d/da of ``igamma(a, x)``."""
    return igamma_grad_a_p.bind(*ew._as_operands("igamma_grad_a", a, x))


def random_gamma_grad(a: Any, x: Any) -> Any:
    """d(sample)/d(a) for a sample ``x`` of Gamma(a, 1) (implicit reparameterization)."""
    return random_gamma_grad_p.bind(*ew._as_operands("random_gamma_grad", a, x))


# ----------------------------------------------------------------------------------------------
# Bessel functions and zeta

_I0E_A32 = [-1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
            1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
            -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
            1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
            -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
            1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1]
_I0E_B32 = [3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
            2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
            8.04490411014108831608E-1]
_I0E_A64 = [-4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
            1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
            -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
            9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9] + _I0E_A32
_I0E_B64 = [-7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
            3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
            1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
            -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
            7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
            -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10] + _I0E_B32


def _chebyshev(x: Any, coefficients: Sequence[float]) -> Any:
    b0 = b1 = b2 = ew.full_like(x, 0)
    for c in coefficients:
        b2, b1 = b1, b0
        b0 = x * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _i0e_impl(x: Any) -> Any:
    dtype = aval_of(x).dtype
    work = dtypes.float64 if dtype == dtypes.float64 else dtypes.float32
    a_coeffs, b_coeffs = (_I0E_A64, _I0E_B64) if work == dtypes.float64 else (_I0E_A32, _I0E_B32)
    x = ew.abs(ew.convert_element_type(x, work))
    small = _chebyshev(0.5 * x - 2.0, a_coeffs)
    large = _chebyshev(32.0 / x - 2.0, b_coeffs) / ew.sqrt(x)
    return ew.convert_element_type(ew.select(x <= 8.0, small, large), dtype)


bessel_i0e_p = unary("bessel_i0e", None, "float")  # type: ignore[arg-type]
bessel_i0e_p.def_lowering(lower_fun(_i0e_impl, multiple_results=False))

bessel_i1e_p = unary("bessel_i1e", lambda x: chlo.BesselI1eOp(x), "float")

defjvp_with_output(bessel_i0e_p, lambda t, y, x: ew.mul(t, bessel_i1e(x) - ew.sign(x) * y))


def _i1e_jvp(t: Any, y: Any, x: Any) -> Any:
    eps = float(_finfo(aval_of(x).dtype).eps)
    not_tiny = ew.abs(x) > eps
    safe_x = ew.select(not_tiny, x, ew.full_like(x, eps))
    dy_dx = bessel_i0e(safe_x) - y * (ew.sign(safe_x) + 1.0 / safe_x)
    return ew.mul(t, ew.select(not_tiny, dy_dx, ew.full_like(x, 0.5)))


defjvp_with_output(bessel_i1e_p, _i1e_jvp)


def bessel_i0e(x: Any) -> Any:
    """Exponentially scaled modified Bessel function of order 0: exp(-|x|) I0(x)."""
    return bessel_i0e_p.bind(x)


def bessel_i1e(x: Any) -> Any:
    """Exponentially scaled modified Bessel function of order 1: exp(-|x|) I1(x)."""
    return bessel_i1e_p.bind(x)


zeta_p = binary("zeta", lambda x, q: chlo.ZetaOp(x, q), "float")


def _zeta_dx(t: Any, x: Any, q: Any) -> Any:
    raise NotImplementedError("the derivative of zeta(x, q) with respect to x is not implemented")


defjvp(zeta_p, _zeta_dx, lambda t, x, q: ew.mul(t, ew.neg(x) * zeta(x + 1.0, q)))


def zeta(x: Any, q: Any) -> Any:
    """The Hurwitz zeta function sum_n (n + q) ** -x."""
    return zeta_p.bind(*ew._as_operands("zeta", x, q))


# ----------------------------------------------------------------------------------------------
# Functions whose derivative is better given than differentiated through their formula
# (private: ember.core.scipy.special and ember.core.nn expose them)

def _xlogy_impl(x: Any, y: Any) -> Any:
    keep = (x != 0.0) | (y != y)  # 0 * log(y) is 0, but a NaN y propagates (as SciPy)
    return ew.select(keep, ew.mul(x, ew.log(y)), ew.full_like(x, 0))


def _xlog1py_impl(x: Any, y: Any) -> Any:
    keep = (x != 0.0) | (y != y)
    return ew.select(keep, ew.mul(x, ew.log1p(y)), ew.full_like(x, 0))


xlogy_p = binary("xlogy", None, "float")  # type: ignore[arg-type]
xlogy_p.def_lowering(lower_fun(_xlogy_impl, multiple_results=False))
defjvp(xlogy_p, lambda t, x, y: ew.mul(t, ew.log(y)), lambda t, x, y: ew.mul(t, ew.div(x, y)))

xlog1py_p = binary("xlog1py", None, "float")  # type: ignore[arg-type]
xlog1py_p.def_lowering(lower_fun(_xlog1py_impl, multiple_results=False))
defjvp(xlog1py_p, lambda t, x, y: ew.mul(t, ew.log1p(y)),
       lambda t, x, y: ew.mul(t, ew.div(x, ew.add(y, ew.full_like(y, 1)))))


def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, 0 where ``x == 0``; same-dtype operands."""
    return xlogy_p.bind(*ew._as_operands("xlogy", x, y))


def xlog1py(x: Any, y: Any) -> Any:
    """``x * log1p(y)``, 0 where ``x == 0``; same-dtype operands."""
    return xlog1py_p.bind(*ew._as_operands("xlog1py", x, y))


def ndtr_impl(x: Any) -> Any:
    """The standard normal CDF, accurate in both tails."""
    half_sqrt_2 = 0.5 * math.sqrt(2.0)
    w = x * half_sqrt_2
    z = ew.abs(w)
    y = ew.select(z < half_sqrt_2, 1.0 + ew.erf(w), ew.select(w > 0.0, 2.0 - ew.erfc(z), ew.erfc(z)))
    return 0.5 * y


def _double_factorial(n: int) -> int:
    return int(np.prod(np.arange(n, 1, -2, dtype=np.float64))) if n > 1 else 1


def _log_ndtr_impl(x: Any, *, series_order: int) -> Any:
    dtype = aval_of(x).dtype
    lower, upper = (-20.0, 8.0) if dtype == dtypes.float64 else (-10.0, 5.0)
    above = x > upper
    ndtr_arg = ew.select(above, -x, ew.max(x, ew.full_like(x, lower)))
    ndtr_res = ndtr_impl(ndtr_arg)
    # the asymptotic series of log(ndtr(x)) for x -> -inf
    xl = ew.min(x, ew.full_like(x, lower))
    x2 = xl * xl
    even = odd = ew.full_like(x, 0)
    x2n = x2
    for n in range(1, series_order + 1):
        y = float(_double_factorial(2 * n - 1)) / x2n
        if n % 2:
            odd = odd + y
        else:
            even = even + y
        x2n = x2n * x2
    series = 1.0 + even - odd
    log_pdf = -0.5 * xl * xl - 0.5 * math.log(2 * math.pi)
    lower_value = log_pdf - ew.log(-xl) + ew.log(series)
    return ew.select(above, -ndtr_res, ew.select(x > lower, ew.log(ndtr_res), lower_value))


log_ndtr_p = unary("log_ndtr", None, "float")  # type: ignore[arg-type]
log_ndtr_p.def_lowering(lower_fun(_log_ndtr_impl, multiple_results=False))


def _log_ndtr_jvp(t: Any, ans: Any, x: Any, *, series_order: int) -> Any:
    log_pdf = -0.5 * x * x - 0.5 * math.log(2 * math.pi)
    return ew.mul(t, ew.exp(log_pdf - ans))


defjvp_with_output(log_ndtr_p, _log_ndtr_jvp)


def log_ndtr(x: Any, series_order: int = 3) -> Any:
    """log of the standard normal CDF (float32 or float64)."""
    return log_ndtr_p.bind(x, series_order=int(series_order))
