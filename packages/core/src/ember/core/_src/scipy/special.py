"""Special functions with the names and semantics of ``jax.scipy.special`` (public as
``ember.core.scipy.special``).

Arguments are promoted as in NumPy (integers become the default float) and broadcast; each
function compiles to one program when called eagerly.

    >>> import numpy as np
    >>> import ember.core.scipy.special as sp
    >>> float(sp.logsumexp(np.zeros(4, np.float32)))  # log(4)
    1.386294...
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import dtypes
from ..core import Tracer, get_aval
from ..numpy import ufuncs as uf
from ..numpy.util import (
    broadcast_shapes,
    broadcast_to_shape,
    canonicalize_axes,
    check_arraylike,
    numpy_jit,
    promote_args_inexact,
)
from ..primitives import elementwise as lax
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives import special as sp

__all__ = [
    "bernoulli", "beta", "betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit", "factorial",
    "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "i0", "i0e", "i1", "i1e", "kl_div",
    "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "poch",
    "polygamma", "rel_entr", "softmax", "xlog1py", "xlogy", "zeta",
]

Axis = int | Sequence[int] | None


def _aval(x: Any) -> Any:
    return get_aval(x)


def _is_complex(x: Any) -> bool:
    return _aval(x).dtype.kind == "c"


def _real_only(name: str, x: Any) -> None:
    if _is_complex(x):
        raise ValueError(f"{name} does not support complex-valued inputs.")


def _unary(name: str, fn: Any, doc: str) -> Any:
    def special(x: Any) -> Any:
        (x,) = promote_args_inexact(name, x)
        return fn(x)

    special.__name__ = special.__qualname__ = name
    special.__doc__ = doc
    return numpy_jit(special)


# ----------------------------------------------------------------------------------------------
# Masked reductions on lax primitives (shared with ember.core.nn)

def expand_reduced(x: Any, shape: tuple[int, ...], dims: tuple[int, ...]) -> Any:
    """Put back the reduced dimensions ``dims`` of ``shape`` (size 1) and broadcast to ``shape``."""
    kept = tuple(d for d in range(len(shape)) if d not in dims)
    return sh.broadcast_in_dim(x, shape, kept)


def keep_dims(x: Any, shape: tuple[int, ...], dims: tuple[int, ...]) -> Any:
    """``x`` reduced over ``dims`` of ``shape``, reshaped with those dimensions kept as size 1."""
    return sh.reshape(x, tuple(1 if d in dims else n for d, n in enumerate(shape)))


def masked_max(x: Any, dims: tuple[int, ...], where: Any = None, initial: float = -np.inf) -> Any:
    """``max`` over ``dims`` with ``initial`` (and the value for an empty or fully masked slice)."""
    aval = _aval(x)
    if where is not None:
        x = lax.select(where, x, sh.full(aval.shape, initial, aval.dtype))
    out = red.reduce_max(x, dims)
    if initial != -np.inf and initial is not None:
        out = lax.max(out, np.array(initial, aval.dtype))
    return out


def masked_sum(x: Any, dims: tuple[int, ...], where: Any = None) -> Any:
    aval = _aval(x)
    if where is not None:
        x = lax.select(where, x, sh.full(aval.shape, 0, aval.dtype))
    return red.reduce_sum(x, dims)


def broadcast_where(name: str, where: Any, shape: tuple[int, ...]) -> Any:
    if where is None:
        return None
    check_arraylike(name, where)
    where = lax.convert_element_type(where, dtypes.bool_) if _aval(where).dtype != dtypes.bool_ else where
    if _aval(where).shape != shape:
        broadcast_shapes(_aval(where).shape, shape)  # raises a clear error when incompatible
        where = broadcast_to_shape(where, shape)
    return where


# ----------------------------------------------------------------------------------------------
# logsumexp

def logsumexp(a: Any, axis: Axis = None, b: Any = None, keepdims: bool = False, return_sign: bool = False,
              where: Any = None) -> Any:
    """``log(sum(b * exp(a), axis))``, computed stably (the max is factored out).

    Entries equal to ``-inf`` contribute nothing (and get a zero gradient); a slice of only
    ``-inf`` gives ``-inf``. With ``b`` negative sums give NaN unless ``return_sign=True``, which
    returns ``(log|sum|, sign(sum))``.

    >>> import numpy as np
    >>> float(logsumexp(np.array([0.0, np.log(3.0)], np.float32)))  # log(1 + 3)
    1.386294...
    """
    axis = tuple(axis) if isinstance(axis, list) else axis
    return _logsumexp(a, b, where, axis=axis, keepdims=bool(keepdims), return_sign=bool(return_sign))


@numpy_jit(static_argnames=("axis", "keepdims", "return_sign"))
def _logsumexp(a: Any, b: Any, where: Any, axis: Axis, keepdims: bool, return_sign: bool) -> Any:
    if b is not None:
        a, b = promote_args_inexact("logsumexp", a, b)
    else:
        (a,) = promote_args_inexact("logsumexp", a)
    shape = _aval(a).shape
    dims = canonicalize_axes(axis, len(shape))
    where = broadcast_where("logsumexp", where, shape)
    if where is not None:
        a = lax.select(where, a, sh.full(shape, 0, _aval(a).dtype))
    if b is not None:
        a = lax.select(uf.not_equal(b, 0), a, sh.full(shape, -np.inf, _aval(a).dtype))
    a_real = lax.real(a) if _is_complex(a) else a
    amax = masked_max(a_real, dims, where)
    amax = lax.stop_gradient(lax.select(lax.is_finite(amax), amax, sh.full(_aval(amax).shape, 0, _aval(amax).dtype)))
    amax_full = expand_reduced(lax.convert_element_type(amax, _aval(a).dtype), shape, dims)
    exp_a = lax.exp(lax.sub(a, amax_full))
    if b is not None:
        exp_a = lax.mul(exp_a, b)
    sumexp = masked_sum(exp_a, dims, where)
    sign = lax.sign(sumexp)
    if return_sign or not _is_complex(a):
        sumexp = lax.abs(sumexp)
    out = lax.add(lax.log(sumexp), lax.convert_element_type(amax, _aval(sumexp).dtype))
    if keepdims:
        out = keep_dims(out, shape, dims)
        sign = keep_dims(sign, shape, dims)
    if return_sign:
        return out, sign
    if b is not None and not _is_complex(out):
        out = lax.select(uf.less(sign, 0), sh.full(_aval(out).shape, np.nan, _aval(out).dtype), out)
    return out


# ----------------------------------------------------------------------------------------------
# softmax (scipy's signature: every axis by default)

def softmax(x: Any, /, *, axis: Axis = None) -> Any:
    """``exp(x) / sum(exp(x), axis)`` over all axes by default (``scipy.special.softmax``).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.softmax(jnp.array([0.0, 1.0, 2.0])).tolist()]
    ['0.0900', '0.2447', '0.6652']
    """
    from ..nn.functions import softmax as nn_softmax
    return nn_softmax(x, axis=axis)


def log_softmax(x: Any, /, *, axis: Axis = None) -> Any:
    """``x - logsumexp(x, axis)`` over all axes by default (``scipy.special.log_softmax``).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.log_softmax(jnp.array([0.0, 0.0])).tolist()]
    ['-0.6931', '-0.6931']
    """
    from ..nn.functions import log_softmax as nn_log_softmax
    return nn_log_softmax(x, axis=axis)


# ----------------------------------------------------------------------------------------------
# Error function and the normal distribution

erf = _unary("erf", lax.erf, """The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.erf(jnp.array([0.0, 0.5, 2.0])).tolist()]
    ['0.0000', '0.5205', '0.9953']
    """)
erfc = _unary("erfc", lax.erfc, """The complementary error function 1 - erf(x).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.erfc(jnp.array([0.0, 0.5, 2.0])).tolist()]
    ['1.0000', '0.4795', '0.0047']
    """)
erfinv = _unary("erfinv", lax.erf_inv, """The inverse of ``erf`` on (-1, 1).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.erfinv(jnp.array([0.0, 0.5])).tolist()]
    ['0.0000', '0.4769']
    """)


def _float_only(name: str, x: Any) -> Any:
    from ..numpy.creation import asarray
    x = asarray(x) if not isinstance(x, Tracer) else x
    if _aval(x).dtype not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"{name}: x.dtype={_aval(x).dtype} is not supported (float32 or float64)")
    return x


def ndtr(x: Any) -> Any:
    """The standard normal CDF (float32 or float64 input).

    >>> import numpy as np
    >>> float(ndtr(np.float32(0.0)))
    0.5
    """
    return _ndtr(_float_only("ndtr", x))


@numpy_jit
def _ndtr(x: Any) -> Any:
    return sp.ndtr_impl(x)


def log_ndtr(x: Any, series_order: int = 3) -> Any:
    """log of the standard normal CDF, accurate far into the left tail (asymptotic series of
    ``series_order`` terms below -10 in float32, -20 in float64).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.3f}" for v in special.log_ndtr(jnp.array([0.0, -10.0])).tolist()]
    ['-0.693', '-53.231']
    """
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if not 0 <= series_order <= 30:
        raise ValueError("series_order must be between 0 and 30.")
    return _log_ndtr(_float_only("log_ndtr", x), series_order=series_order)


@numpy_jit(static_argnames=("series_order",))
def _log_ndtr(x: Any, series_order: int) -> Any:
    return sp.log_ndtr(x, series_order)


_NDTRI_P0 = [-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
             1.39312609387279679503E1, -1.23916583867381258016E0]
_NDTRI_Q0 = [1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
             -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
             1.59056225126211695515E1, -1.18331621121330003142E0]
_NDTRI_P1 = [4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
             4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
             -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4]
_NDTRI_Q1 = [1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
             1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
             -3.80806407691578277194E-2, -9.33259480895457427372E-4]
_NDTRI_P2 = [3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
             1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
             3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9]
_NDTRI_Q2 = [1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
             2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
             2.89247864745380683936E-6, 6.79019408009981274425E-9]


def _polyval(coeffs: Sequence[float], x: Any) -> Any:
    out = lax.full_like(x, 0)
    for c in coeffs:
        out = out * x + c
    return out


def ndtri(p: Any) -> Any:
    """The inverse of the standard normal CDF (Cephes' piecewise rational approximation).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.ndtri(jnp.array([0.5, 0.975])).tolist()]
    ['0.0000', '1.9600']
    """
    return _ndtri(_float_only("ndtri", p))


@numpy_jit
def _ndtri(p: Any) -> Any:
    dtype = _aval(p).dtype
    exp_m2 = float(np.exp(-2.0))
    maybe_complement = uf.where(p > -float(np.expm1(-2.0)), 1.0 - p, p)
    safe = uf.where(maybe_complement == 0.0, np.array(0.5, dtype), maybe_complement)
    w = safe - 0.5
    ww = w * w
    x_big = w + w * ww * (_polyval(_NDTRI_P0, ww) / _polyval(_NDTRI_Q0, ww))
    x_big = x_big * -float(np.sqrt(2.0 * np.pi))
    z = lax.sqrt(-2.0 * lax.log(safe))
    first = z - lax.log(z) / z
    inv_z = 1.0 / z
    x_small = first - _polyval(_NDTRI_P2, inv_z) / _polyval(_NDTRI_Q2, inv_z) / z
    x_other = first - _polyval(_NDTRI_P1, inv_z) / _polyval(_NDTRI_Q1, inv_z) / z
    x = uf.where(safe > exp_m2, x_big, uf.where(z >= 8.0, x_small, x_other))
    x = uf.where(p > 1.0 - exp_m2, x, -x)
    inf = np.array(np.inf, dtype)
    return uf.where(p == 0.0, -inf, uf.where(p == 1.0, inf, x))


# ----------------------------------------------------------------------------------------------
# Gamma and beta functions

gammaln = _unary("gammaln", lax.lgamma, """log|Gamma(x)|.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.gammaln(jnp.array([1.0, 5.0, 0.5])).tolist()]
    ['0.0000', '3.1781', '0.5724']
    """)
digamma = _unary("digamma", lax.digamma, """The logarithmic derivative of the gamma function.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.digamma(jnp.array([1.0, 2.0])).tolist()]
    ['-0.5772', '0.4228']
    """)


@numpy_jit
def gammasgn(x: Any) -> Any:
    """The sign of the gamma function (NaN at its poles, the non-positive integers).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> special.gammasgn(jnp.array([0.5, -0.5, -1.5])).tolist()
    [1.0, -1.0, 1.0]
    """
    (x,) = promote_args_inexact("gammasgn", x)
    _real_only("gammasgn", x)
    dtype = _aval(x).dtype
    floor_x = lax.floor(x)
    negative = x < 0.0
    nan_case = (negative & (x == floor_x)) | (x != x)
    odd = uf.not_equal(uf.remainder(floor_x, np.array(2, dtype)), 0.0)
    minus_case = (negative & odd) | ((x == 0.0) & uf.signbit(x))
    return uf.where(nan_case, np.array(np.nan, dtype), uf.where(minus_case, np.array(-1.0, dtype),
                                                              np.array(1.0, dtype)))


@numpy_jit
def gamma(x: Any) -> Any:
    """The gamma function (real arguments).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.gamma(jnp.array([1.0, 5.0, 0.5])).tolist()]
    ['1.0000', '24.0000', '1.7725']
    """
    (x,) = promote_args_inexact("gamma", x)
    _real_only("gamma", x)
    return gammasgn(x) * lax.exp(lax.lgamma(x))


@numpy_jit
def betaln(a: Any, b: Any) -> Any:
    """log|B(a, b)|, accurate for large arguments (SciPy's ``algdiv`` correction for b >= 8).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.betaln(jnp.array([1.0, 2.0]), jnp.array([1.0, 3.0])).tolist()]
    ['0.0000', '-2.4849']
    """
    a, b = promote_args_inexact("betaln", a, b)
    a, b = uf.minimum(a, b), uf.maximum(a, b)
    small_b = lax.lgamma(a) + (lax.lgamma(b) - lax.lgamma(a + b))
    large_b = lax.lgamma(a) + _algdiv(a, b)
    return uf.where(b < 8.0, small_b, large_b)


def _algdiv(a: Any, b: Any) -> Any:
    """log(Gamma(b) / Gamma(a + b)) for b >= 8 (a <= b)."""
    c0, c1, c2 = 0.833333333333333e-01, -0.277777777760991e-02, 0.793650666825390e-03
    c3, c4, c5 = -0.595202931351870e-03, 0.837308034031215e-03, -0.165322962780713e-02
    h = a / b
    c = h / (1.0 + h)
    x = h / (1.0 + h)
    d = b + (a - 0.5)
    x2 = x * x
    s3 = 1.0 + (x + x2)
    s5 = 1.0 + (x + x2 * s3)
    s7 = 1.0 + (x + x2 * s5)
    s9 = 1.0 + (x + x2 * s7)
    s11 = 1.0 + (x + x2 * s9)
    t = (1.0 / b) * (1.0 / b)
    w = ((((c5 * s11 * t + c4 * s9) * t + c3 * s7) * t + c2 * s5) * t + c1 * s3) * t + c0
    w = w * (c / b)
    u = d * lax.log1p(a / b)
    v = a * (lax.log(b) - 1.0)
    return uf.where(u <= v, (w - v) - u, (w - u) - v)


@numpy_jit
def beta(a: Any, b: Any) -> Any:
    """The beta function B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.beta(jnp.array([1.0, 2.0]), jnp.array([1.0, 3.0])).tolist()]
    ['1.0000', '0.0833']
    """
    a, b = promote_args_inexact("beta", a, b)
    sign = gammasgn(a) * gammasgn(b) * gammasgn(a + b)
    return sign * lax.exp(betaln(a, b))


def polygamma(n: Any, x: Any) -> Any:
    """The n-th derivative of the digamma function (``n`` an integer array or int).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.polygamma(1, jnp.array([1.0])).tolist()]
    ['1.6449']
    """
    n_dtype = dtypes.dtype_of(n)
    if n_dtype.kind not in "iu":
        raise ValueError(f"Argument `n` to polygamma must be of integer type. Got dtype {n_dtype}.")
    return _polygamma(n, x)


@numpy_jit
def _polygamma(n: Any, x: Any) -> Any:
    n, x = promote_args_inexact("polygamma", n, x)
    _real_only("polygamma", x)
    return lax.polygamma(n, x)


@numpy_jit
def gammainc(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function P(a, x).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.gammainc(jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0])).tolist()]
    ['0.6321', '0.2642']
    """
    a, x = promote_args_inexact("gammainc", a, x)
    return sp.igamma(a, x)


@numpy_jit
def gammaincc(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.gammaincc(jnp.array([1.0, 2.0]), jnp.array([1.0, 1.0])).tolist()]
    ['0.3679', '0.7358']
    """
    a, x = promote_args_inexact("gammaincc", a, x)
    return sp.igammac(a, x)


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d``.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> f"{float(special.multigammaln(jnp.array(3.0), 2)):.4f}"
    '1.5502'
    """
    if isinstance(d, Tracer):
        from ..core import ConcretizationError
        raise ConcretizationError(d, "the d argument of multigammaln")
    return _multigammaln(a, d=int(d))


@numpy_jit(static_argnames=("d",))
def _multigammaln(a: Any, d: int) -> Any:
    (a,) = promote_args_inexact("multigammaln", a)
    dtype = _aval(a).dtype
    constant = 0.25 * d * (d - 1) * math.log(math.pi)
    shape = _aval(a).shape
    b = np.arange(d, dtype=dtype) / np.array(2, dtype)
    terms = lax.lgamma(uf.subtract(sh.expand_dims(a, (len(shape),)), b))
    return red.reduce_sum(terms, (len(shape),)) + np.array(constant, dtype)


def factorial(n: Any, exact: bool = False) -> Any:
    """n! as a float, via the gamma function (0 for negative ``n``); only ``exact=False``.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.1f}" for v in special.factorial(jnp.array([0, 3, 5])).tolist()]   # gamma(n + 1), in floating point
    ['1.0', '6.0', '120.0']
    """
    if exact:
        raise NotImplementedError("factorial with exact=True")
    return _factorial(n)


@numpy_jit
def _factorial(n: Any) -> Any:
    (n,) = promote_args_inexact("factorial", n)
    return uf.where(n < 0.0, lax.full_like(n, 0), lax.exp(lax.lgamma(n + 1.0)))


@numpy_jit
def poch(z: Any, m: Any) -> Any:
    """The rising factorial (z)_m = Gamma(z + m) / Gamma(z).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.3f}" for v in special.poch(jnp.array([3.0]), jnp.array([2.0])).tolist()]   # 3 * 4
    ['12.000']
    """
    z, m = promote_args_inexact("poch", z, m)
    return uf.where(m == 0.0, lax.full_like(z, 1), gamma(z + m) / gamma(z))


# ----------------------------------------------------------------------------------------------
# Logs and entropies

@numpy_jit
def xlogy(x: Any, y: Any) -> Any:
    """``x * log(y)``, with 0 where ``x == 0`` (even at ``y == 0``); derivative ``log(y)`` in x.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> special.xlogy(jnp.array([0.0, 2.0]), jnp.array([0.0, 1.0])).tolist()   # 0 * log(0) = 0
    [0.0, 0.0]
    """
    x, y = promote_args_inexact("xlogy", x, y)
    return sp.xlogy(x, y)


@numpy_jit
def xlog1py(x: Any, y: Any) -> Any:
    """``x * log1p(y)``, with 0 where ``x == 0`` (even at ``y == -1``).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> special.xlog1py(jnp.array([0.0, 2.0]), jnp.array([-1.0, 0.0])).tolist()
    [0.0, 0.0]
    """
    x, y = promote_args_inexact("xlog1py", x, y)
    return sp.xlog1py(x, y)


@numpy_jit
def entr(x: Any) -> Any:
    """``-x log(x)`` for x > 0, 0 at 0, -inf below.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.entr(jnp.array([0.25, 0.5])).tolist()]   # -x log(x)
    ['0.3466', '0.3466']
    """
    (x,) = promote_args_inexact("entr", x)
    _real_only("entr", x)
    return lax.select(x < 0.0, lax.full_like(x, -np.inf), lax.neg(sp.xlogy(x, x)))


@numpy_jit
def rel_entr(p: Any, q: Any) -> Any:
    """``p log(p / q)`` for p, q > 0; 0 at p == 0, q >= 0; inf otherwise.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.rel_entr(jnp.array([0.5]), jnp.array([0.25])).tolist()]
    ['0.3466']
    """
    p, q = promote_args_inexact("rel_entr", p, q)
    _real_only("rel_entr", p)
    both_positive = (p > 0.0) & (q > 0.0)
    p_zero = (p == 0.0) & (q >= 0.0)
    safe_p = uf.where(both_positive, p, np.array(1, _aval(p).dtype))
    safe_q = uf.where(both_positive, q, np.array(1, _aval(q).dtype))
    value = sp.xlogy(safe_p, safe_p) - sp.xlogy(safe_p, safe_q)
    inf = lax.full_like(p, np.inf)
    return uf.where(both_positive, value, uf.where(p_zero, lax.full_like(p, 0), inf))


@numpy_jit
def kl_div(p: Any, q: Any) -> Any:
    """``p log(p / q) - p + q`` elementwise (``scipy.special.kl_div``).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.kl_div(jnp.array([0.5]), jnp.array([0.25])).tolist()]
    ['0.0966']
    """
    p, q = promote_args_inexact("kl_div", p, q)
    return rel_entr(p, q) - p + q


@numpy_jit
def logit(x: Any) -> Any:
    """``log(x / (1 - x))``, the inverse of ``expit``.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.logit(jnp.array([0.25, 0.5])).tolist()]
    ['-1.0986', '0.0000']
    """
    (x,) = promote_args_inexact("logit", x)
    return lax.log(lax.div(x, lax.sub(np.array(1, _aval(x).dtype), x)))


expit = _unary("expit", lax.logistic, """The logistic sigmoid 1 / (1 + exp(-x)).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.expit(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['0.2689', '0.5000', '0.7311']
    """)


# ----------------------------------------------------------------------------------------------
# Bessel and zeta

i0e = _unary("i0e", sp.bessel_i0e, """exp(-|x|) I0(x), the scaled modified Bessel function of order 0.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.i0e(jnp.array([0.0, 1.0])).tolist()]
    ['1.0000', '0.4658']
    """)
i1e = _unary("i1e", sp.bessel_i1e, """exp(-|x|) I1(x), the scaled modified Bessel function of order 1.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.i1e(jnp.array([0.0, 1.0])).tolist()]
    ['0.0000', '0.2079']
    """)


@numpy_jit
def i0(x: Any) -> Any:
    """I0(x), the modified Bessel function of the first kind of order 0.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.i0(jnp.array([0.0, 1.0])).tolist()]
    ['1.0000', '1.2661']
    """
    (x,) = promote_args_inexact("i0", x)
    return lax.mul(lax.exp(lax.abs(x)), sp.bessel_i0e(x))


@numpy_jit
def i1(x: Any) -> Any:
    """I1(x), the modified Bessel function of the first kind of order 1.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.i1(jnp.array([0.0, 1.0])).tolist()]
    ['0.0000', '0.5652']
    """
    (x,) = promote_args_inexact("i1", x)
    return lax.mul(lax.exp(lax.abs(x)), sp.bessel_i1e(x))


def zeta(x: Any, q: Any = None) -> Any:
    """The Hurwitz zeta function sum_n (n + q) ** -x (``q`` is required, as in JAX).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.zeta(jnp.array([2.0]), jnp.array([1.0])).tolist()]
    ['1.6449']
    """
    if q is None:
        raise NotImplementedError("Riemann zeta function not implemented; pass q != None to compute "
                                  "the Hurwitz Zeta function.")
    return _zeta(x, q)


@numpy_jit
def _zeta(x: Any, q: Any) -> Any:
    x, q = promote_args_inexact("zeta", x, q)
    return sp.zeta(x, q)


def bernoulli(n: int) -> Any:
    """The Bernoulli numbers B_0 ... B_n (B_1 = -1/2), as a float array.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import special
    >>> [f"{v:.4f}" for v in special.bernoulli(4).tolist()]   # B_0 .. B_4
    ['1.0000', '-0.5000', '0.1667', '0.0000', '-0.0333']
    """
    n = int(n)
    if n < 0:
        raise ValueError("n must be a non-negative integer.")
    from fractions import Fraction
    numbers = [Fraction(0)] * (n + 1)
    for m in range(n + 1):  # the Akiyama-Tanigawa algorithm gives B_m with B_1 = +1/2
        a = [Fraction(0)] * (m + 1)
        for j in range(m + 1):
            a[j] = Fraction(1, j + 1)
            for k in range(j, 0, -1):
                a[k - 1] = k * (a[k - 1] - a[k])
        numbers[m] = a[0]
    if n >= 1:
        numbers[1] = Fraction(-1, 2)
    from ..numpy.creation import asarray
    return asarray(np.array([float(b) for b in numbers], dtype=dtypes.default_float_dtype()))
