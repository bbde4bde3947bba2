"""The rest of NumPy's breadth: closeness tests, differences and integrals, polynomials,
convolution, statistics (cov, corrcoef), float decomposition (frexp, ldexp, modf), integer
number theory (gcd, lcm), bit packing, window functions, and function adapters
(vectorize, apply_along_axis, piecewise).

    >>> import ember.core.numpy as jnp
    >>> jnp.diff(jnp.asarray([1, 4, 9])).tolist()
    [3, 5]
    >>> jnp.convolve(jnp.asarray([1.0, 2.0]), jnp.asarray([1.0, 1.0])).tolist()
    [1.0, 3.0, 2.0]
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import ConcretizationError, Tracer, get_aval, operator_index
from ..primitives import elementwise as lax
from ..primitives import shape as sh
from ..primitives.reductions import reduce_and, reduce_sum
from .creation import asarray, full, zeros
from .shape_ops import (
    concatenate,
    expand_dims,
    moveaxis,
    ravel,
    squeeze,
    swapaxes,
    take_dynamic,
)
from .util import (
    broadcast_shapes,
    broadcast_to_shape,
    canonicalize_axis,
    check_arraylike,
    numpy_jit,
    promote_args,
    promote_args_inexact,
    promote_dtypes,
    promote_dtypes_inexact,
    promote_shapes,
)

__all__ = [
    "allclose", "isclose", "array_equal", "array_equiv", "interp", "polyval", "polyfit", "poly",
    "roots", "polyadd", "polysub", "polymul", "polyder", "polyint", "polydiv", "convolve",
    "correlate", "diff", "ediff1d", "gradient", "cov", "corrcoef", "vander", "trapezoid",
    "frexp", "ldexp", "modf", "gcd", "lcm", "heaviside", "i0", "spacing", "packbits", "unpackbits",
    "apply_along_axis", "apply_over_axes", "vectorize", "piecewise", "array_repr", "array_str",
    "unwrap", "bartlett", "blackman", "hamming", "hanning", "kaiser", "iterable", "printoptions",
    "get_printoptions", "set_printoptions", "load", "save", "savez", "savez_compressed", "savetxt",
    "loadtxt", "genfromtxt", "fromfile", "array2string", "real_if_close", "ndindex",
]


def _arr(name: str, x: Any) -> Any:
    check_arraylike(name, x)
    return x if isinstance(x, (Array, Tracer)) else asarray(x)


def _shape(x: Any) -> tuple[int, ...]:
    return get_aval(x).shape


def _ndim(x: Any) -> int:
    return get_aval(x).ndim


def _dtype(x: Any) -> np.dtype:
    return get_aval(x).dtype


def _slice(x: Any, start: int | None, stop: int | None, axis: int) -> Any:
    n = _shape(x)[axis]
    lo, hi, _ = slice(start, stop).indices(n)
    return sh.slice_in_dim(x, lo, max(hi, lo), 1, axis)


def _const(x: Any, value: Any) -> Any:
    return lax.full_like(x, value)


def _bool_all(x: Any) -> Any:
    return reduce_and(x, tuple(range(_ndim(x))))


def _cumsum(x: Any, axis: int) -> Any:
    from .reductions import cumsum
    return cumsum(x, axis=axis)


def _matmul(a: Any, b: Any) -> Any:
    from .linalg_ops import matmul
    return matmul(a, b)


def _linalg() -> Any:
    import importlib
    try:
        return importlib.import_module("ember.core.numpy.linalg")
    except ModuleNotFoundError:
        raise NotImplementedError("this function needs ember.core.numpy.linalg, which is not available yet") from None


# ----------------------------------------------------------------------------------------------
# Closeness and equality

@numpy_jit(static_argnames=("equal_nan",))
def isclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False) -> Any:
    """Elementwise ``|a - b| <= atol + rtol * |b|``; infinities must match exactly; NaNs are
    unequal unless ``equal_nan``.

    >>> isclose(asarray([1.0, 2.0]), asarray([1.0, 2.1])).tolist()
    [True, False]
    """
    a, b = promote_args("isclose", a, b)
    dtype = _dtype(a)
    if not dtypes.is_inexact(dtype):
        return lax.eq(a, b)
    real = np.dtype(dtypes.finfo(dtype).dtype) if dtype.kind == "c" else dtype
    rtol = lax.convert_element_type(rtol, real)
    atol = lax.convert_element_type(atol, real)
    abs_b = lax.abs(b)
    out = lax.le(lax.abs(lax.sub(a, b)), lax.add(sh.broadcast_in_dim(atol, _shape(abs_b), ()),
                                                 lax.mul(sh.broadcast_in_dim(rtol, _shape(abs_b), ()), abs_b)))
    from .ufuncs import isinf, isnan
    a_inf, b_inf = isinf(a), isinf(b)
    out = lax.bitwise_and(out, lax.bitwise_not(lax.bitwise_or(a_inf, b_inf)))
    out = lax.bitwise_or(out, lax.bitwise_and(lax.bitwise_and(a_inf, b_inf), lax.eq(a, b)))
    a_nan, b_nan = isnan(a), isnan(b)
    out = lax.bitwise_and(out, lax.bitwise_not(lax.bitwise_or(a_nan, b_nan)))
    if equal_nan:
        out = lax.bitwise_or(out, lax.bitwise_and(a_nan, b_nan))
    return out


@numpy_jit(static_argnames=("equal_nan",))
def allclose(a: Any, b: Any, rtol: Any = 1e-05, atol: Any = 1e-08, equal_nan: bool = False) -> Any:
    """Whether all elements are ``isclose`` (a 0-d boolean Array).

    >>> bool(allclose(asarray([1.0]), asarray([1.0 + 1e-9])))
    True
    """
    return _bool_all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    """Whether two arrays have the same shape and elements (a 0-d boolean Array).

    >>> bool(array_equal(asarray([1, 2]), asarray([1.0, 2.0])))
    True
    """
    try:
        a1, a2 = _arr("array_equal", a1), _arr("array_equal", a2)
    except TypeError:
        return asarray(False)
    if _shape(a1) != _shape(a2):
        return asarray(False)
    return _array_equal(a1, a2, bool(equal_nan))


@numpy_jit(static_argnums=(2,))
def _array_equal(a1: Any, a2: Any, equal_nan: bool) -> Any:
    a1, a2 = promote_dtypes(a1, a2)
    eq = lax.eq(a1, a2)
    if equal_nan and dtypes.is_inexact(_dtype(a1)):
        from .ufuncs import isnan
        eq = lax.bitwise_or(eq, lax.bitwise_and(isnan(a1), isnan(a2)))
    return _bool_all(eq)


def array_equiv(a1: Any, a2: Any) -> Any:
    """Whether two arrays are equal after broadcasting (a 0-d boolean Array).

    >>> bool(array_equiv(asarray([1, 1]), asarray(1)))
    True
    """
    a1, a2 = _arr("array_equiv", a1), _arr("array_equiv", a2)
    try:
        broadcast_shapes(_shape(a1), _shape(a2))
    except ValueError:
        return asarray(False)
    return _array_equiv(a1, a2)


@numpy_jit
def _array_equiv(a1: Any, a2: Any) -> Any:
    a1, a2 = promote_args("array_equiv", a1, a2)
    return _bool_all(lax.eq(a1, a2))


# ----------------------------------------------------------------------------------------------
# Interpolation

def _searchsorted_right(sorted_1d: Any, x: Any) -> Any:
    """For each element of ``x``: the number of entries of ``sorted_1d`` that are <= it."""
    from .searching import searchsorted
    return lax.convert_element_type(searchsorted(sorted_1d, x, side="right"), np.int32)


def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None) -> Any:
    """Piecewise-linear interpolation of the points (``xp``, ``fp``) at ``x``; ``xp`` must be
    increasing (unless ``period`` is given).

    >>> interp(asarray([0.5, 1.5]), asarray([0.0, 1.0, 2.0]), asarray([0.0, 10.0, 20.0])).tolist()
    [5.0, 15.0]
    """
    check_arraylike("interp", x, xp, fp)
    if left is not None and isinstance(left, str) or right is not None and isinstance(right, str):
        raise TypeError("interp: left and right must be numbers")
    return _interp(x, xp, fp, left, right, period)


@numpy_jit
def _interp(x: Any, xp: Any, fp: Any, left: Any, right: Any, period: Any) -> Any:
    if _ndim(xp) != 1 or _ndim(fp) != 1:
        raise ValueError("interp: xp and fp must be one-dimensional")
    if _shape(xp) != _shape(fp):
        raise ValueError(f"interp: xp and fp must have the same length, got {_shape(xp)} and {_shape(fp)}")
    n = _shape(xp)[0]
    if n == 0:
        raise ValueError("interp: xp and fp must not be empty")
    if dtypes.dtype_of(fp).kind == "c":
        x, xp = promote_dtypes_inexact(x, xp)
        (fp,) = promote_dtypes_inexact(fp)
    else:
        x, xp, fp = promote_dtypes_inexact(x, xp, fp)
    x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
    if period is not None:
        from .ufuncs import abs as _abs
        from .ufuncs import remainder
        period = _abs(period)
        x = remainder(x, period)
        xp = remainder(xp, period)
        from .searching import argsort
        order = argsort(xp)
        xp, fp = take_dynamic(xp, order, 0), take_dynamic(fp, order, 0)
        per = sh.reshape(lax.convert_element_type(period, _dtype(xp)), (1,))
        xp = concatenate([lax.sub(_slice(xp, -1, None, 0), per), xp, lax.add(_slice(xp, 0, 1, 0), per)])
        fp = concatenate([_slice(fp, -1, None, 0), fp, _slice(fp, 0, 1, 0)])
        n = _shape(xp)[0]
    i = _searchsorted_right(xp, x)
    i = lax.clamp(np.int32(1), i, np.int32(max(n - 1, 1)))
    flat_i = sh.reshape(i, (get_aval(i).size,))
    im1 = lax.sub(flat_i, lax.full_like(flat_i, 1))
    if n == 1:
        xp = concatenate([xp, xp])
        fp = concatenate([fp, fp])
    xs = _shape(x)
    xp_hi = sh.reshape(take_dynamic(xp, flat_i, 0), xs)
    xp_lo = sh.reshape(take_dynamic(xp, im1, 0), xs)
    fp_hi = sh.reshape(take_dynamic(fp, flat_i, 0), xs)
    fp_lo = sh.reshape(take_dynamic(fp, im1, 0), xs)
    dx = lax.sub(xp_hi, xp_lo)
    df = lax.sub(fp_hi, fp_lo)
    delta = lax.sub(x, xp_lo)
    eps = np.spacing(np.asarray(dtypes.finfo(_dtype(xp)).eps, np.float64))
    tiny = lax.le(lax.abs(dx), _const(dx, eps))
    safe_dx = lax.select(tiny, _const(dx, 1), dx)
    ratio = lax.div(delta, safe_dx)
    if _dtype(fp).kind == "c":
        ratio = lax.convert_element_type(ratio, _dtype(fp))
    f = lax.select(tiny, fp_lo, lax.add(fp_lo, lax.mul(ratio, df)))
    if period is None:
        first_x = sh.broadcast_in_dim(sh.reshape(_slice(xp, 0, 1, 0), ()), xs, ())
        last_x = sh.broadcast_in_dim(sh.reshape(_slice(xp, -1, None, 0), ()), xs, ())
        lo_val = sh.broadcast_in_dim(sh.reshape(_slice(fp, 0, 1, 0), ()), xs, ()) if left is None else \
            broadcast_to_shape(lax.convert_element_type(left, _dtype(fp)), xs)
        hi_val = sh.broadcast_in_dim(sh.reshape(_slice(fp, -1, None, 0), ()), xs, ()) if right is None else \
            broadcast_to_shape(lax.convert_element_type(right, _dtype(fp)), xs)
        f = lax.select(lax.lt(x, first_x), lo_val, f)
        f = lax.select(lax.gt(x, last_x), hi_val, f)
    return f


# ----------------------------------------------------------------------------------------------
# Polynomials (coefficients from the highest power down, as in NumPy)

@numpy_jit(static_argnames=("unroll",))
def polyval(p: Any, x: Any, *, unroll: int = 16) -> Any:
    """Evaluate the polynomial with coefficients ``p`` (highest power first) at ``x`` (Horner).

    >>> polyval(asarray([1, 2, 3]), asarray([0, 1, 2])).tolist()
    [3, 6, 11]
    """
    check_arraylike("polyval", p, x)
    p, x = promote_dtypes(p, x)
    p = asarray(p) if not isinstance(p, (Array, Tracer)) else p
    x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
    shape = broadcast_shapes(_shape(p)[1:], _shape(x))
    y = sh.full(shape, 0, _dtype(x))
    xb = broadcast_to_shape(x, shape)
    for i in range(_shape(p)[0]):
        y = lax.add(lax.mul(y, xb), broadcast_to_shape(sh.index_in_dim(p, i, 0, keepdims=False), shape))
    return y


def _trim_leading_zeros_concrete(p: Any) -> Any:
    host = np.asarray(p)
    nz = np.flatnonzero(host)
    return p if nz.size == 0 or nz[0] == 0 else _slice(p, int(nz[0]), None, 0)


@numpy_jit(static_argnums=(2,))
def _polyadd_sub(a1: Any, a2: Any, subtract: bool) -> Any:
    a1, a2 = promote_dtypes(a1, a2)
    a1 = asarray(a1) if not isinstance(a1, (Array, Tracer)) else a1
    a2 = asarray(a2) if not isinstance(a2, (Array, Tracer)) else a2
    n = max(_shape(a1)[0], _shape(a2)[0])
    pad1 = sh.pad(a1, np.zeros((), _dtype(a1)), [(n - _shape(a1)[0], 0, 0)])
    pad2 = sh.pad(a2, np.zeros((), _dtype(a2)), [(n - _shape(a2)[0], 0, 0)])
    return lax.sub(pad1, pad2) if subtract else lax.add(pad1, pad2)


def polyadd(a1: Any, a2: Any) -> Any:
    """Sum of two polynomials.

    >>> polyadd(asarray([1, 2]), asarray([1, 2, 3])).tolist()
    [1, 3, 5]
    """
    check_arraylike("polyadd", a1, a2)
    return _polyadd_sub(a1, a2, False)


def polysub(a1: Any, a2: Any) -> Any:
    """Difference of two polynomials."""
    check_arraylike("polysub", a1, a2)
    return _polyadd_sub(a1, a2, True)


@numpy_jit(static_argnames=("trim_leading_zeros",))
def polymul(a1: Any, a2: Any, *, trim_leading_zeros: bool = False) -> Any:
    """Product of two polynomials (a convolution of their coefficients).

    >>> polymul(asarray([1.0, 1.0]), asarray([1.0, -1.0])).tolist()
    [1.0, 0.0, -1.0]
    """
    check_arraylike("polymul", a1, a2)
    a1, a2 = promote_dtypes_inexact(a1, a2)
    if trim_leading_zeros and not isinstance(a1, Tracer) and not isinstance(a2, Tracer):
        a1, a2 = _trim_leading_zeros_concrete(a1), _trim_leading_zeros_concrete(a2)
    if _shape(asarray(a1))[0] == 0 or _shape(asarray(a2))[0] == 0:
        return zeros((1,), _dtype(asarray(a1)))
    return convolve(a1, a2, mode="full")


@numpy_jit(static_argnames=("m",))
def polyder(p: Any, m: int = 1) -> Any:
    """The ``m``-th derivative of a polynomial.

    >>> polyder(asarray([1.0, 2.0, 3.0])).tolist()
    [2.0, 2.0]
    """
    check_arraylike("polyder", p)
    (p,) = promote_dtypes_inexact(p)
    p = asarray(p) if not isinstance(p, (Array, Tracer)) else p
    if m < 0:
        raise ValueError("polyder: order of derivative must be non-negative")
    for _ in range(m):
        n = _shape(p)[0]
        if n <= 1:
            return sh.full((1,), 0, _dtype(p)) if n == 1 else p
        powers = np.arange(n - 1, 0, -1)
        p = lax.mul(_slice(p, 0, n - 1, 0), np.asarray(powers, _dtype(p)))
    return p


@numpy_jit(static_argnames=("m",))
def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """The ``m``-th antiderivative of a polynomial with integration constants ``k``.

    >>> polyint(asarray([3.0, 2.0])).tolist()
    [1.5, 2.0, 0.0]
    """
    check_arraylike("polyint", p)
    if m < 0:
        raise ValueError("polyint: order of integral must be non-negative")
    if k is None:
        k = zeros((m,))
    (p,) = promote_dtypes_inexact(p)
    p = asarray(p) if not isinstance(p, (Array, Tracer)) else p
    k = asarray(k) if not isinstance(k, (Array, Tracer)) else k
    k = lax.convert_element_type(k, _dtype(p))
    if _ndim(k) == 0:
        k = sh.broadcast_in_dim(k, (m,), ())
    if _shape(k)[0] != m:
        raise ValueError(f"polyint: k must have {m} entries")
    for i in range(m):
        n = _shape(p)[0]
        divisors = np.arange(n, 0, -1)
        p = concatenate([lax.div(p, np.asarray(divisors, _dtype(p))), sh.slice_in_dim(k, i, i + 1, 1, 0)])
    return p


def polydiv(u: Any, v: Any, *, trim_leading_zeros: bool = False) -> tuple[Any, Any]:
    """Quotient and remainder of polynomial division.

    >>> [a.tolist() for a in polydiv(asarray([1.0, 3.0, 2.0]), asarray([1.0, 1.0]))]
    [[1.0, 2.0], [0.0, 0.0, 0.0]]
    """
    check_arraylike("polydiv", u, v)
    return _polydiv(u, v, bool(trim_leading_zeros))


@numpy_jit(static_argnums=(2,))
def _polydiv(u: Any, v: Any, trim: bool) -> tuple[Any, Any]:
    u, v = promote_dtypes_inexact(u, v)
    u = asarray(u) if not isinstance(u, (Array, Tracer)) else u
    v = asarray(v) if not isinstance(v, (Array, Tracer)) else v
    m, n = _shape(u)[0] - 1, _shape(v)[0] - 1
    scale = lax.div(_const(sh.index_in_dim(v, 0, 0, False), 1), sh.index_in_dim(v, 0, 0, False))
    qlen = max(m - n + 1, 1)
    q = sh.full((qlen,), 0, _dtype(u))
    rem = u
    for k in range(0, m - n + 1):
        d = lax.mul(scale, sh.index_in_dim(rem, k, 0, False))
        q = sh.dynamic_update_slice(q, sh.reshape(d, (1,)), [np.int32(k)])
        sub = lax.mul(sh.broadcast_in_dim(d, (n + 1,), ()), v)
        sub = sh.pad(sub, np.zeros((), _dtype(u)), [(k, m - n - k, 0)])
        rem = lax.sub(rem, sub)
    if trim and not isinstance(rem, Tracer):
        host = np.asarray(rem)
        while host.size > 1 and np.allclose(host[0], 0, rtol=1e-14):
            host = host[1:]
        rem = asarray(host)
    return q, rem


@numpy_jit(static_argnames=("deg", "full", "cov"))
def _polyfit(x: Any, y: Any, deg: int, rcond: Any, full: bool, w: Any, cov: Any) -> Any:
    linalg = _linalg()
    x, y = promote_dtypes_inexact(x, y)
    x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
    y = asarray(y) if not isinstance(y, (Array, Tracer)) else y
    if _ndim(x) != 1 or _shape(x)[0] == 0:
        raise TypeError("polyfit: x must be a non-empty 1-D array")
    if _ndim(y) not in (1, 2) or _shape(y)[0] != _shape(x)[0]:
        raise TypeError("polyfit: y must be 1-D or 2-D with as many rows as x has entries")
    order = deg + 1
    if rcond is None:
        rcond = _shape(x)[0] * float(dtypes.finfo(_dtype(x)).eps)
    lhs = vander(x, order)
    rhs = y
    if w is not None:
        w = lax.convert_element_type(asarray(w), _dtype(x))
        lhs = lax.mul(lhs, sh.broadcast_in_dim(w, _shape(lhs), (0,)))
        rhs = lax.mul(rhs, sh.broadcast_in_dim(w, _shape(rhs), (0,)))
    from .ufuncs import sqrt
    scale = sqrt(reduce_sum(lax.mul(lhs, lhs), (0,)))
    lhs = lax.div(lhs, sh.broadcast_in_dim(scale, _shape(lhs), (1,)))
    c, resids, rank, s = linalg.lstsq(lhs, rhs, rcond)
    c = lax.div(c, sh.broadcast_in_dim(scale, _shape(c), (0,)))
    if full:
        return c, resids, rank, s, asarray(rcond)
    if cov:
        lhs_t = swapaxes(lhs, 0, 1)
        Vbase = linalg.inv(_matmul(lhs_t, lhs))
        Vbase = lax.div(Vbase, _outer(scale, scale))
        n_obs = _shape(x)[0]
        if cov == "unscaled":
            fac = 1.0
        else:
            if n_obs <= order:
                raise ValueError("polyfit: the number of data points must exceed order to scale the covariance matrix")
            fac = lax.div(resids, _const(resids, n_obs - order))
            fac = sh.reshape(fac, ()) if _ndim(y) == 1 else fac
        if _ndim(y) == 1:
            return c, lax.mul(Vbase, fac) if not isinstance(fac, float) else Vbase
        return c, lax.mul(sh.broadcast_in_dim(Vbase, _shape(Vbase) + (_shape(y)[1],), (0, 1)),
                          sh.broadcast_in_dim(fac, _shape(Vbase) + (_shape(y)[1],), (2,))) \
            if not isinstance(fac, float) else sh.broadcast_in_dim(Vbase, _shape(Vbase) + (_shape(y)[1],), (0, 1))
    return c


def _outer(a: Any, b: Any) -> Any:
    n, m = _shape(a)[0], _shape(b)[0]
    return lax.mul(sh.broadcast_in_dim(a, (n, m), (0,)), sh.broadcast_in_dim(b, (n, m), (1,)))


def polyfit(x: Any, y: Any, deg: int, rcond: float | None = None, full: bool = False, w: Any = None,
            cov: bool | str = False) -> Any:
    """Least-squares polynomial fit of degree ``deg`` (needs ``ember.core.numpy.linalg.lstsq``).

    >>> polyfit(asarray([0.0, 1.0, 2.0]), asarray([1.0, 3.0, 5.0]), 1).round(4).tolist()
    [2.0, 1.0]
    """
    check_arraylike("polyfit", x, y)
    deg = operator_index(deg)
    if deg < 0:
        raise ValueError("polyfit: expected deg >= 0")
    return _polyfit(x, y, deg, rcond, bool(full), w, cov)


def poly(seq_of_zeros: Any) -> Any:
    """The coefficients of the monic polynomial with the given roots (or of a square matrix's
    characteristic polynomial).

    >>> poly(asarray([1.0, 2.0])).tolist()
    [1.0, -3.0, 2.0]
    """
    check_arraylike("poly", seq_of_zeros)
    z = _arr("poly", seq_of_zeros)
    (z,) = promote_dtypes_inexact(z)
    if _ndim(z) == 2 and _shape(z)[0] == _shape(z)[1] and _shape(z)[0] > 0:
        z = _linalg().eigvals(z)
    elif _ndim(z) != 1:
        raise ValueError("poly: input must be 1-D or a non-empty square 2-D array")
    return _poly(z)


@numpy_jit
def _poly(z: Any) -> Any:
    n = _shape(z)[0]
    a = sh.full((1,), 1, _dtype(z))
    for i in range(n):
        root = sh.slice_in_dim(z, i, i + 1, 1, 0)
        a = convolve(a, concatenate([sh.full((1,), 1, _dtype(z)), lax.neg(root)]), mode="full")
    return a


def roots(p: Any, *, strip_zeros: bool = True) -> Any:
    """The roots of the polynomial with coefficients ``p``, as the eigenvalues of its companion
    matrix (needs ``ember.core.numpy.linalg.eigvals``). Leading zeros must be concrete.

    >>> sorted(roots(asarray([1.0, -3.0, 2.0])).real.round(4).tolist())  # doctest: +SKIP
    [1.0, 2.0]
    """
    p = _arr("roots", p)
    if _ndim(p) != 1:
        raise ValueError("roots: input must be a rank-1 array")
    if strip_zeros:
        if isinstance(p, Tracer):
            raise ConcretizationError(p, "roots' coefficients with strip_zeros=True (use strip_zeros=False under jit)")
        host = np.asarray(p)
        nz = np.flatnonzero(host)
        if nz.size == 0:
            return zeros((0,), dtypes.default_complex_dtype())
        trailing = host.size - 1 - int(nz[-1])
        p = _slice(p, int(nz[0]), int(nz[-1]) + 1, 0)
        out = _roots_companion(p)
        if trailing:
            out = concatenate([out, zeros((trailing,), _dtype(out))])
        return out
    return _roots_companion(p)


def _roots_companion(p: Any) -> Any:
    (p,) = promote_dtypes_inexact(p)
    n = _shape(p)[0]
    if n < 2:
        return zeros((0,), dtypes.default_complex_dtype() if _dtype(p).kind != "c" else _dtype(p))
    lead = sh.index_in_dim(p, 0, 0, keepdims=False)
    top = lax.neg(lax.div(_slice(p, 1, None, 0), sh.broadcast_in_dim(lead, (n - 1,), ())))
    from .creation import eye
    below = eye(n - 2, n - 1, dtype=_dtype(p)) if n > 2 else None
    companion = concatenate([sh.reshape(top, (1, n - 1))] + ([below] if below is not None else []), axis=0)
    return _linalg().eigvals(companion)


# ----------------------------------------------------------------------------------------------
# Convolution

def _correlate_core(x: Any, y: Any, lo: int, hi: int) -> Any:
    """out[k] = sum_j xpad[k + j] * y[j] (x at least as long as y)."""
    n, m = _shape(x)[0], _shape(y)[0]
    xpad = sh.pad(x, np.zeros((), _dtype(x)), [(lo, hi, 0)])
    length = n + lo + hi - m + 1
    out = None
    for j in range(m):
        term = lax.mul(sh.slice_in_dim(xpad, j, j + length, 1, 0),
                       sh.broadcast_in_dim(sh.index_in_dim(y, j, 0, keepdims=False), (length,), ()))
        out = term if out is None else lax.add(out, term)
    return out


def _conv(x: Any, y: Any, mode: str, op: str) -> Any:
    if _ndim(x) != 1 or _ndim(y) != 1:
        raise ValueError(f"{op}: only 1-D inputs are supported, got shapes {_shape(x)} and {_shape(y)}")
    x, y = promote_dtypes_inexact(x, y)
    if _shape(x)[0] == 0 or _shape(y)[0] == 0:
        raise ValueError(f"{op}: inputs cannot be empty, got shapes {_shape(x)} and {_shape(y)}")
    reverse_out = False
    if op == "correlate":
        if _dtype(y).kind == "c":
            y = lax.conj(y)
        if _shape(x)[0] < _shape(y)[0]:
            x, y = y, x
            reverse_out = True
    else:
        if _shape(x)[0] < _shape(y)[0]:
            x, y = y, x
        y = sh.rev(y, (0,))
    m = _shape(y)[0]
    if mode == "valid":
        lo, hi = 0, 0
    elif mode == "same":
        lo, hi = m // 2, m - m // 2 - 1
    elif mode == "full":
        lo, hi = m - 1, m - 1
    else:
        raise ValueError(f"{op}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    out = _correlate_core(x, y, lo, hi)
    return sh.rev(out, (0,)) if reverse_out else out


@numpy_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def convolve(a: Any, v: Any, mode: str = "full", *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Discrete linear convolution of two 1-D arrays ('full', 'same' or 'valid').

    >>> convolve(asarray([1.0, 2.0, 3.0]), asarray([0.0, 1.0]), mode="same").tolist()
    [0.0, 1.0, 2.0]
    """
    check_arraylike("convolve", a, v)
    out = _conv(_arr("convolve", a), _arr("convolve", v), mode, "convolve")
    return _as_preferred(out, preferred_element_type)


@numpy_jit(static_argnames=("mode", "precision", "preferred_element_type"))
def correlate(a: Any, v: Any, mode: str = "valid", *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Cross-correlation of two 1-D arrays: ``c[k] = sum_n a[n + k] * conj(v[n])``.

    >>> correlate(asarray([1.0, 2.0, 3.0]), asarray([1.0, 1.0])).tolist()
    [3.0, 5.0]
    """
    check_arraylike("correlate", a, v)
    out = _conv(_arr("correlate", a), _arr("correlate", v), mode, "correlate")
    return _as_preferred(out, preferred_element_type)


def _as_preferred(out: Any, preferred_element_type: Any) -> Any:
    if preferred_element_type is None:
        return out
    return lax.convert_element_type(out, dtypes.canonicalize_dtype(preferred_element_type))


# ----------------------------------------------------------------------------------------------
# Differences and integrals

def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th discrete difference along ``axis`` (booleans: not-equal).

    >>> diff(asarray([1, 2, 4, 7]), n=2).tolist()
    [1, 1]
    """
    a = _arr("diff", a)
    n = operator_index(n)
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got {n}")
    if _ndim(a) == 0:
        raise ValueError("diff: requires an input of at least one dimension")
    return _diff(a, n, canonicalize_axis(axis, _ndim(a)), prepend, append)


@numpy_jit(static_argnums=(1, 2))
def _diff(a: Any, n: int, axis: int, prepend: Any, append: Any) -> Any:
    if n == 0:
        return a

    def edge(extra: Any) -> Any:
        extra = asarray(extra) if not isinstance(extra, (Array, Tracer)) else extra
        if _ndim(extra) == 0:
            shape = list(_shape(a))
            shape[axis] = 1
            extra = sh.broadcast_in_dim(extra, tuple(shape), ())
        return extra

    if prepend is not None or append is not None:
        parts = ([edge(prepend)] if prepend is not None else []) + [a] + ([edge(append)] if append is not None else [])
        a = concatenate(parts, axis=axis)
    op = lax.ne if _dtype(a) == dtypes.bool_ else lax.sub
    for _ in range(n):
        size = _shape(a)[axis]
        if size == 0:
            break
        a = op(sh.slice_in_dim(a, 1, size, 1, axis), sh.slice_in_dim(a, 0, size - 1, 1, axis))
    return a


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """Differences of consecutive elements of the flattened array, with optional values before
    and after (cast to the array's dtype).

    >>> ediff1d(asarray([1, 2, 4]), to_begin=0).tolist()
    [0, 1, 2]
    """
    ary = _arr("ediff1d", ary)
    return _ediff1d(ary, to_end, to_begin)


@numpy_jit
def _ediff1d(ary: Any, to_end: Any, to_begin: Any) -> Any:
    flat = ravel(ary)
    size = _shape(flat)[0]
    out = lax.sub(sh.slice_in_dim(flat, 1, size, 1, 0), sh.slice_in_dim(flat, 0, max(size - 1, 0), 1, 0)) \
        if size else flat
    parts = []
    if to_begin is not None:
        parts.append(ravel(lax.convert_element_type(asarray(to_begin), _dtype(flat))))
    parts.append(out)
    if to_end is not None:
        parts.append(ravel(lax.convert_element_type(asarray(to_end), _dtype(flat))))
    return concatenate(parts) if len(parts) > 1 else out


def gradient(f: Any, *varargs: Any, axis: int | Sequence[int] | None = None, edge_order: int | None = None) -> Any:
    """The gradient by central differences in the interior and one-sided differences at the
    edges; ``varargs`` are scalar spacings or coordinate arrays, one per axis.

    >>> gradient(asarray([1.0, 2.0, 4.0, 7.0])).tolist()
    [1.0, 1.5, 2.5, 3.0]
    """
    if edge_order is not None and edge_order != 1:
        raise NotImplementedError("gradient: only edge_order=1 is implemented")
    f = _arr("gradient", f)
    nd = _ndim(f)
    if axis is None:
        axes = tuple(range(nd))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(ax, nd) for ax in axis)
    else:
        axes = (canonicalize_axis(axis, nd),)
    if not varargs:
        spacings: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0 and not isinstance(varargs[0], (Array, Tracer)):
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == 1 and isinstance(varargs[0], (Array, Tracer)) and _ndim(varargs[0]) == 0:
        spacings = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacings = list(varargs)
    else:
        raise TypeError(f"gradient: got {len(varargs)} spacings for {len(axes)} axes")
    for ax in axes:
        if _shape(f)[ax] < 2:
            raise ValueError("gradient: shape of array too small to calculate a numerical gradient, "
                             "at least 2 elements are required along each axis")
    out = _gradient(f, spacings, axes)
    return out[0] if len(axes) == 1 else list(out)


@numpy_jit(static_argnums=(2,))
def _gradient(f: Any, spacings: list[Any], axes: tuple[int, ...]) -> list[Any]:
    (f,) = promote_dtypes_inexact(f)
    f = asarray(f) if not isinstance(f, (Array, Tracer)) else f
    return [_gradient_along(f, h, ax) for h, ax in zip(spacings, axes)]


def _gradient_along(f: Any, h: Any, ax: int) -> Any:
    n = _shape(f)[ax]

    def s(start: int | None, stop: int | None) -> Any:
        return _slice(f, start, stop, ax)

    upper = lax.sub(s(1, 2), s(0, 1))
    lower = lax.sub(s(-1, None), s(-2, -1))
    h = asarray(h) if not isinstance(h, (Array, Tracer)) else h
    h = lax.convert_element_type(h, _dtype(f))
    if _ndim(h) == 0:
        def per(x: Any) -> Any:
            return broadcast_to_shape(h, _shape(x))
        inner = lax.div(lax.mul(lax.sub(s(2, None), s(None, -2)), _const(s(2, None), 0.5)), per(s(2, None)))
        return sh.concatenate([lax.div(upper, per(upper)), inner, lax.div(lower, per(lower))], ax)
    if _shape(h) != (n,):
        raise ValueError(f"gradient: coordinate array of shape {_shape(h)} does not match axis length {n}")

    def hs(start: int | None, stop: int | None) -> Any:  # coordinate differences along the axis
        return _slice(h, start, stop, 0)

    def along(x: Any, like: Any) -> Any:
        return sh.broadcast_in_dim(x, _shape(like), (ax,))

    upper = lax.div(upper, along(lax.sub(hs(1, 2), hs(0, 1)), upper))
    lower = lax.div(lower, along(lax.sub(hs(-1, None), hs(-2, -1)), lower))
    like = s(2, None)
    dx1 = along(lax.sub(hs(1, -1), hs(0, -2)), like)
    dx2 = along(lax.sub(hs(2, None), hs(1, -1)), like)
    ca = lax.div(lax.neg(dx2), lax.mul(dx1, lax.add(dx1, dx2)))
    cb = lax.div(lax.sub(dx2, dx1), lax.mul(dx1, dx2))
    cc = lax.div(dx1, lax.mul(dx2, lax.add(dx1, dx2)))
    inner = lax.add(lax.add(lax.mul(ca, s(0, -2)), lax.mul(cb, s(1, -1))), lax.mul(cc, s(2, None)))
    return sh.concatenate([upper, inner, lower], ax)


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """Integral of ``y`` along ``axis`` by the trapezoidal rule (sample points ``x`` or spacing ``dx``).

    >>> float(trapezoid(asarray([1.0, 2.0, 3.0])))
    4.0
    """
    y = _arr("trapezoid", y)
    return _trapezoid(y, x, dx, canonicalize_axis(axis, _ndim(y)))


@numpy_jit(static_argnums=(3,))
def _trapezoid(y: Any, x: Any, dx: Any, axis: int) -> Any:
    if x is None:
        (y,) = promote_dtypes_inexact(y)
        d = lax.convert_element_type(dx, _dtype(y)) if isinstance(dx, (Array, Tracer)) else dx
    else:
        y, x = promote_dtypes_inexact(y, x)
        x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
        if _ndim(x) == 1:
            d = diff(x)
            shape = [1] * _ndim(y)
            shape[axis] = _shape(d)[0]
            d = sh.reshape(d, tuple(shape))
        else:
            d = moveaxis(diff(moveaxis(x, axis, -1)), -1, axis)
    n = _shape(y)[axis]
    pair_sum = lax.add(sh.slice_in_dim(y, 1, n, 1, axis), sh.slice_in_dim(y, 0, max(n - 1, 0), 1, axis))
    from .ufuncs import multiply
    terms = multiply(pair_sum, d)
    terms = lax.convert_element_type(terms, _dtype(y))
    total = reduce_sum(terms, (axis,))
    return lax.mul(total, _const(total, 0.5))


# ----------------------------------------------------------------------------------------------
# Statistics

def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: int | None = None,
        fweights: Any = None, aweights: Any = None) -> Any:
    """The covariance matrix of the variables in the rows (``rowvar``) or columns of ``m``.

    >>> cov(asarray([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    check_arraylike("cov", m)
    if y is not None:
        check_arraylike("cov", y)
    if ddof is not None:
        ddof = operator_index(ddof)
    return _cov(m, y, bool(rowvar), bool(bias), ddof, fweights, aweights)


@numpy_jit(static_argnums=(2, 3, 4))
def _cov(m: Any, y: Any, rowvar: bool, bias: bool, ddof: int | None, fweights: Any, aweights: Any) -> Any:
    from .shape_ops import atleast_2d
    m = asarray(m) if not isinstance(m, (Array, Tracer)) else m
    if _ndim(m) > 2:
        raise ValueError("cov: m has more than 2 dimensions")
    X = atleast_2d(m)
    if not rowvar and _shape(X)[0] != 1:
        X = swapaxes(X, 0, 1)
    if _shape(X)[0] == 0:
        return zeros((0, 0), dtypes.default_float_dtype())
    if y is not None:
        y = asarray(y) if not isinstance(y, (Array, Tracer)) else y
        if _ndim(y) > 2:
            raise ValueError("cov: y has more than 2 dimensions")
        Y = atleast_2d(y)
        if not rowvar and _shape(Y)[0] != 1:
            Y = swapaxes(Y, 0, 1)
        X = concatenate([X, Y], axis=0)
    (X,) = promote_dtypes_inexact(X)
    if ddof is None:
        ddof = 0 if bias else 1
    nobs = _shape(X)[1]
    real = np.dtype(dtypes.finfo(_dtype(X)).dtype) if _dtype(X).kind == "c" else _dtype(X)
    w = None
    if fweights is not None:
        fw = asarray(fweights) if not isinstance(fweights, (Array, Tracer)) else fweights
        if _ndim(fw) > 1 or _shape(fw)[0] != nobs:
            raise RuntimeError("cov: fweights must be 1-D with one entry per observation")
        w = lax.convert_element_type(fw, real)
    if aweights is not None:
        aw = asarray(aweights) if not isinstance(aweights, (Array, Tracer)) else aweights
        if _ndim(aw) > 1 or _shape(aw)[0] != nobs:
            raise RuntimeError("cov: aweights must be 1-D with one entry per observation")
        aw = lax.convert_element_type(aw, real)
        w = aw if w is None else lax.mul(w, aw)
    nvars = _shape(X)[0]
    if w is None:
        avg = lax.div(reduce_sum(X, (1,)), lax.full_like(reduce_sum(X, (1,)), nobs))
        w_sum = None
        fact: Any = nobs - ddof
    else:
        w_sum = reduce_sum(w, (0,))
        wX = lax.mul(X, sh.broadcast_in_dim(lax.convert_element_type(w, _dtype(X)), (nvars, nobs), (1,)))
        w_total = sh.broadcast_in_dim(lax.convert_element_type(w_sum, _dtype(X)), (nvars,), ())
        avg = lax.div(reduce_sum(wX, (1,)), w_total)
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = lax.sub(w_sum, _const(w_sum, ddof))
        else:
            fact = lax.sub(w_sum, lax.div(lax.mul(_const(w_sum, ddof), reduce_sum(lax.mul(w, aw), (0,))), w_sum))
    X = lax.sub(X, sh.broadcast_in_dim(avg, (nvars, nobs), (0,)))
    Xw = X
    if w is not None:
        Xw = lax.mul(X, sh.broadcast_in_dim(lax.convert_element_type(w, _dtype(X)), (nvars, nobs), (1,)))
    X_T = swapaxes(Xw, 0, 1)
    if _dtype(X).kind == "c":
        X_T = lax.conj(X_T)
    c = _matmul(X, X_T)
    if isinstance(fact, int):
        c = lax.div(c, _const(c, fact))
    else:
        c = lax.div(c, sh.broadcast_in_dim(lax.convert_element_type(fact, _dtype(c)), _shape(c), ()))
    return squeeze(c)


def corrcoef(x: Any, y: Any = None, rowvar: bool = True) -> Any:
    """Pearson correlation coefficients (the covariance normalised by the standard deviations).

    >>> corrcoef(asarray([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    check_arraylike("corrcoef", x)
    return _corrcoef(x, y, bool(rowvar))


@numpy_jit(static_argnums=(2,))
def _corrcoef(x: Any, y: Any, rowvar: bool) -> Any:
    from .ufuncs import clip, sqrt
    c = cov(x, y, rowvar)
    if _ndim(c) == 0:
        return lax.div(c, c)
    n = _shape(c)[0]
    from .creation import diag
    d = lax.real(diag(c)) if _dtype(c).kind == "c" else diag(c)
    std = sqrt(d)
    std = lax.convert_element_type(std, _dtype(c))
    c = lax.div(c, sh.broadcast_in_dim(std, (n, n), (0,)))
    c = lax.div(c, sh.broadcast_in_dim(std, (n, n), (1,)))
    if _dtype(c).kind == "c":
        return lax.complex(clip(lax.real(c), -1, 1), clip(lax.imag(c), -1, 1))
    return clip(c, -1, 1)


def vander(x: Any, N: int | None = None, increasing: bool = False) -> Any:
    """The Vandermonde matrix: columns are powers of ``x`` (decreasing unless ``increasing``).

    >>> vander(asarray([1, 2, 3]), 3).tolist()
    [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    """
    x = _arr("vander", x)
    if _ndim(x) != 1:
        raise ValueError("vander: x must be a one-dimensional array")
    N = _shape(x)[0] if N is None else operator_index(N)
    if N < 0:
        raise ValueError("vander: N must be non-negative")
    return _vander(x, N, bool(increasing))


@numpy_jit(static_argnums=(1, 2))
def _vander(x: Any, N: int, increasing: bool) -> Any:
    from .ufuncs import power
    n = _shape(x)[0]
    powers = sh.broadcasted_iota(_dtype(x) if _dtype(x) != dtypes.bool_ else np.int32, (n, N), 1)
    if not increasing:
        powers = sh.rev(powers, (1,))
    return power(sh.broadcast_in_dim(x, (n, N), (0,)), powers)


# ----------------------------------------------------------------------------------------------
# Floating-point decomposition

_INT_OF_WIDTH = {2: np.int16, 4: np.int32, 8: np.int64}


@numpy_jit
def frexp(x: Any, /) -> tuple[Any, Any]:
    """Mantissa in [0.5, 1) and integer exponent with ``x == mantissa * 2**exponent``.

    >>> [a.tolist() for a in frexp(asarray([8.0]))]
    [[0.5], [4]]
    """
    check_arraylike("frexp", x)
    (x,) = promote_dtypes_inexact(x)
    x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
    dtype = _dtype(x)
    if dtype.kind == "c":
        raise TypeError("frexp: complex inputs are not supported")
    info = dtypes.finfo(dtype)
    int_t = np.dtype(_INT_OF_WIDTH[dtype.itemsize])
    nmant, bias = int(info.nmant), 1 - int(info.minexp)
    mask = (1 << int(info.nexp)) - 1
    subnormal = lax.lt(lax.abs(x), _const(x, float(info.smallest_normal)))
    x1 = lax.select(subnormal, lax.mul(x, _const(x, float(2 ** nmant))), x)
    e = lax.select(subnormal, sh.full(_shape(x), -nmant, int_t), sh.full(_shape(x), 0, int_t))
    bits = lax.bitcast_convert_type(x1, int_t)
    field = lax.bitwise_and(lax.shift_right_logical(bits, _const(bits, nmant)), _const(bits, mask))
    e = lax.add(e, lax.sub(field, _const(field, bias - 1)))
    mant_bits = lax.bitwise_or(lax.bitwise_and(bits, _const(bits, ~(mask << nmant))), _const(bits, (bias - 1) << nmant))
    mantissa = lax.bitcast_convert_type(mant_bits, dtype)
    from .ufuncs import isinf, isnan
    special = lax.bitwise_or(lax.bitwise_or(isinf(x), isnan(x)), lax.eq(x, _const(x, 0)))
    e = lax.select(special, lax.full_like(e, 0), e)
    return lax.select(special, x, mantissa), lax.convert_element_type(e, np.int32)


def _pow2(k: Any, dtype: np.dtype) -> Any:
    """2**k as ``dtype`` for integer k within the normal exponent range."""
    info = dtypes.finfo(dtype)
    int_t = np.dtype(_INT_OF_WIDTH[dtype.itemsize])
    k = lax.convert_element_type(k, int_t)
    field = lax.add(k, _const(k, 1 - int(info.minexp)))
    return lax.bitcast_convert_type(lax.shift_left(field, _const(field, int(info.nmant))), dtype)


@numpy_jit
def ldexp(x1: Any, x2: Any, /) -> Any:
    """``x1 * 2**x2`` for integer ``x2``, exact over the whole exponent range.

    >>> ldexp(asarray([1.5]), asarray([3])).tolist()
    [12.0]
    """
    check_arraylike("ldexp", x1, x2)
    if dtypes.dtype_of(x2).kind not in "iub":
        raise TypeError(f"ldexp: the exponent must be an integer array, got {dtypes.dtype_of(x2).name}")
    (x1,) = promote_dtypes_inexact(x1)
    x1 = asarray(x1) if not isinstance(x1, (Array, Tracer)) else x1
    x2 = asarray(x2) if not isinstance(x2, (Array, Tracer)) else x2
    x1, x2 = promote_shapes(x1, x2)
    dtype = _dtype(x1)
    if dtype.kind == "c":
        raise TypeError("ldexp: complex inputs are not supported")
    info = dtypes.finfo(dtype)
    limit = 2 * int(info.maxexp) + int(info.nmant) + 2
    k = lax.convert_element_type(x2, np.int32)
    k = lax.clamp(np.int32(-limit), k, np.int32(limit))
    from .ufuncs import floor_divide
    k1 = floor_divide(k, np.int32(3))
    k2 = floor_divide(lax.sub(k, k1), np.int32(2))
    k3 = lax.sub(lax.sub(k, k1), k2)
    out = x1
    for part in (k1, k2, k3):
        out = lax.mul(out, _pow2(part, dtype))
    return out


@numpy_jit
def modf(x: Any, /) -> tuple[Any, Any]:
    """Fractional and integral parts, both with the sign of ``x``.

    >>> [a.tolist() for a in modf(asarray([2.5, -1.25]))]
    [[0.5, -0.25], [2.0, -1.0]]
    """
    check_arraylike("modf", x)
    (x,) = promote_dtypes_inexact(x)
    x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
    from .ufuncs import copysign, isinf, trunc
    whole = trunc(x)
    frac = lax.sub(x, whole)
    frac = lax.select(isinf(x), copysign(_const(x, 0), x), frac)
    return frac, whole


@numpy_jit
def spacing(x: Any, /) -> Any:
    """The distance from ``x`` to the next representable number away from zero.

    >>> float(spacing(asarray(1.0, "float32")))
    1.1920928955078125e-07
    """
    check_arraylike("spacing", x)
    (x,) = promote_dtypes_inexact(x)
    x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
    from .ufuncs import copysign, nextafter
    ax = lax.abs(x)
    out = lax.sub(nextafter(ax, _const(ax, np.inf)), ax)
    return copysign(out, x)


# ----------------------------------------------------------------------------------------------
# Integers

def _euclid_steps(dtype: np.dtype) -> int:
    # the worst case of Euclid's algorithm is consecutive Fibonacci numbers: ~1.44 * bits steps
    return int(1.45 * dtype.itemsize * 8) + 2


@numpy_jit
def gcd(x1: Any, x2: Any, /) -> Any:
    """Greatest common divisor of integers (``gcd(0, 0) == 0``).

    >>> gcd(asarray([12, 7]), 18).tolist()
    [6, 1]
    """
    x1, x2 = promote_args("gcd", x1, x2)
    dtype = _dtype(x1)
    if dtype.kind not in "iu":
        raise TypeError(f"gcd: arguments must be integers, got {dtype.name}")
    a = lax.abs(x1) if dtype.kind == "i" else x1
    b = lax.abs(x2) if dtype.kind == "i" else x2
    for _ in range(_euclid_steps(dtype)):
        nonzero = lax.ne(b, _const(b, 0))
        safe_b = lax.select(nonzero, b, _const(b, 1))
        a, b = lax.select(nonzero, b, a), lax.select(nonzero, lax.rem(a, safe_b), b)
    return a


@numpy_jit
def lcm(x1: Any, x2: Any, /) -> Any:
    """Least common multiple of integers (0 when either is 0).

    >>> lcm(asarray([4, 0]), 6).tolist()
    [12, 0]
    """
    x1, x2 = promote_args("lcm", x1, x2)
    dtype = _dtype(x1)
    if dtype.kind not in "iu":
        raise TypeError(f"lcm: arguments must be integers, got {dtype.name}")
    g = gcd(x1, x2)
    zero = lax.eq(g, _const(g, 0))
    safe = lax.select(zero, _const(g, 1), g)
    out = lax.mul(lax.div(x1, safe), x2)
    out = lax.abs(out) if dtype.kind == "i" else out
    return lax.select(zero, _const(out, 0), out)


@numpy_jit
def heaviside(x1: Any, x2: Any, /) -> Any:
    """The Heaviside step: 0 for x1 < 0, ``x2`` at 0, 1 for x1 > 0.

    >>> heaviside(asarray([-1.0, 0.0, 2.0]), 0.5).tolist()
    [0.0, 0.5, 1.0]
    """
    x1, x2 = promote_args_inexact("heaviside", x1, x2)
    return lax.select(lax.lt(x1, _const(x1, 0)), _const(x1, 0),
                      lax.select(lax.gt(x1, _const(x1, 0)), _const(x1, 1), x2))


# ----------------------------------------------------------------------------------------------
# Bessel I0 (Cephes' Chebyshev expansions) and window functions

_I0A = (
    -4.41534164647933937950E-18, 3.33079451882223809783E-17, -2.43127984654795469359E-16,
    1.71539128555513303061E-15, -1.16853328779934516808E-14, 7.67618549860493561688E-14,
    -4.85644678311192946090E-13, 2.95505266312963983461E-12, -1.72682629144155570723E-11,
    9.67580903537323691224E-11, -5.18979560163526290666E-10, 2.65982372468238665035E-9,
    -1.30002500998624804212E-8, 6.04699502254191894932E-8, -2.67079385394061173391E-7,
    1.11738753912010371815E-6, -4.41673835845875056359E-6, 1.64484480707288970893E-5,
    -5.75419501008210370398E-5, 1.88502885095841655729E-4, -5.76375574538582365885E-4,
    1.63947561694133579842E-3, -4.32430999505057594430E-3, 1.05464603945949983183E-2,
    -2.37374148058994688156E-2, 4.93052842396707084878E-2, -9.49010970480476444210E-2,
    1.71620901522208775349E-1, -3.04682672343198398683E-1, 6.76795274409476084995E-1,
)
_I0B = (
    -7.23318048787475395456E-18, -4.83050448594418207126E-18, 4.46562142029675999901E-17,
    3.46122286769746109310E-17, -2.82762398051658348494E-16, -3.42548561967721913462E-16,
    1.77256013305652638360E-15, 3.81168066935262242075E-15, -9.55484669882830764870E-15,
    -4.15056934728722208663E-14, 1.54008621752140982691E-14, 3.85277838274214270114E-13,
    7.18012445138366623367E-13, -1.79417853150680611778E-12, -1.32158118404477131188E-11,
    -3.14991652796324136454E-11, 1.18891471078464383424E-11, 4.94060238822496958910E-10,
    3.39623202570838634515E-9, 2.26666899049817806459E-8, 2.04891858946906374183E-7,
    2.89137052083475648297E-6, 6.88975834691682398426E-5, 3.36911647825569408990E-3,
    8.04490411014108831608E-1,
)


def _chbevl(x: Any, coeffs: Sequence[float]) -> Any:
    b0 = _const(x, coeffs[0])
    b1 = _const(x, 0.0)
    b2 = b1
    for c in coeffs[1:]:
        b2 = b1
        b1 = b0
        b0 = lax.add(lax.sub(lax.mul(x, b1), b2), _const(x, c))
    return lax.mul(_const(x, 0.5), lax.sub(b0, b2))


@numpy_jit
def i0(x: Any, /) -> Any:
    """The modified Bessel function of the first kind, order 0.

    >>> round(float(i0(asarray(1.0))), 5)
    1.26607
    """
    check_arraylike("i0", x)
    (x,) = promote_dtypes_inexact(x)
    x = asarray(x) if not isinstance(x, (Array, Tracer)) else x
    if _dtype(x).kind == "c":
        raise TypeError("i0: complex inputs are not supported")
    ax = lax.abs(x)
    small = lax.le(ax, _const(ax, 8.0))
    safe_big = lax.select(small, _const(ax, 8.0), ax)
    safe_small = lax.select(small, ax, _const(ax, 0.0))
    a = _chbevl(lax.sub(lax.mul(safe_small, _const(ax, 0.5)), _const(ax, 2.0)), _I0A)
    b = lax.div(_chbevl(lax.sub(lax.div(_const(ax, 32.0), safe_big), _const(ax, 2.0)), _I0B), lax.sqrt(safe_big))
    return lax.mul(lax.exp(ax), lax.select(small, a, b))


def _window_dtype() -> np.dtype:
    return dtypes.default_float_dtype()


def _window(M: int, fn: Callable[[np.ndarray, int], np.ndarray]) -> Any:
    M = operator_index(M)
    if M < 1:
        return zeros((0,), _window_dtype())
    if M == 1:
        return full((1,), 1.0, _window_dtype())
    n = np.arange(1 - M, M, 2, dtype=np.float64)
    return asarray(fn(n, M).astype(_window_dtype()))


def bartlett(M: int) -> Any:
    """The Bartlett (triangular) window of ``M`` points."""
    return _window(M, lambda n, M: np.where(n <= 0, 1 + n / (M - 1), 1 - n / (M - 1)))


def blackman(M: int) -> Any:
    """The Blackman window of ``M`` points."""
    return _window(M, lambda n, M: 0.42 + 0.5 * np.cos(np.pi * n / (M - 1)) + 0.08 * np.cos(2 * np.pi * n / (M - 1)))


def hamming(M: int) -> Any:
    """The Hamming window of ``M`` points."""
    return _window(M, lambda n, M: 0.54 + 0.46 * np.cos(np.pi * n / (M - 1)))


def hanning(M: int) -> Any:
    """The Hann window of ``M`` points.

    >>> hanning(3).tolist()
    [0.0, 1.0, 0.0]
    """
    return _window(M, lambda n, M: 0.5 + 0.5 * np.cos(np.pi * n / (M - 1)))


def kaiser(M: int, beta: Any) -> Any:
    """The Kaiser window of ``M`` points with shape parameter ``beta`` (which may be traced)."""
    M = operator_index(M)
    if M < 1:
        return zeros((0,), _window_dtype())
    if M == 1:
        return full((1,), 1.0, _window_dtype())
    return _kaiser(M, beta)


@numpy_jit(static_argnums=(0,))
def _kaiser(M: int, beta: Any) -> Any:
    dtype = _window_dtype()
    n = sh.iota(dtype, M)
    alpha = (M - 1) / 2.0
    r = lax.div(lax.sub(n, _const(n, alpha)), _const(n, alpha))
    beta = lax.convert_element_type(beta, dtype)
    root = lax.sqrt(lax.max(lax.sub(_const(r, 1.0), lax.mul(r, r)), _const(r, 0.0)))
    arg = lax.mul(sh.broadcast_in_dim(beta, (M,), ()), root)
    return lax.div(i0(arg), sh.broadcast_in_dim(i0(beta), (M,), ()))


def unwrap(p: Any, discont: Any = None, axis: int = -1, period: Any = 2 * np.pi) -> Any:
    """Unwrap phases by replacing jumps larger than ``discont`` with their ``period`` complement.

    >>> [round(v, 3) for v in unwrap(asarray([0.0, 6.0])).tolist()]
    [0.0, -0.283]
    """
    p = _arr("unwrap", p)
    return _unwrap(p, discont, canonicalize_axis(axis, _ndim(p)), period)


@numpy_jit(static_argnums=(2,))
def _unwrap(p: Any, discont: Any, axis: int, period: Any) -> Any:
    from .ufuncs import abs as _abs
    from .ufuncs import add, greater, less, logical_and, remainder, subtract, where
    (p,) = promote_dtypes_inexact(p)
    p = asarray(p) if not isinstance(p, (Array, Tracer)) else p
    period = lax.convert_element_type(period, _dtype(p))
    interval = lax.div(period, _const(period, 2))
    discont = interval if discont is None else lax.convert_element_type(discont, _dtype(p))
    n = _shape(p)[axis]
    if n == 0:
        return p
    dd = diff(p, axis=axis)
    ddmod = subtract(remainder(add(dd, interval), period), interval)
    ddmod = where(logical_and(ddmod == lax.neg(interval), greater(dd, 0)), interval, ddmod)
    correction = where(less(_abs(dd), discont), 0, subtract(ddmod, dd))
    tail = lax.add(sh.slice_in_dim(p, 1, n, 1, axis), _cumsum(correction, axis))
    return concatenate([sh.slice_in_dim(p, 0, 1, 1, axis), tail], axis=axis)


# ----------------------------------------------------------------------------------------------
# Bit packing

def packbits(a: Any, axis: int | None = None, bitorder: str = "big") -> Any:
    """Pack the truth values of ``a`` into the bits of uint8s (zero-padded to a multiple of 8).

    >>> packbits(asarray([1, 0, 1])).tolist()
    [160]
    """
    a = _arr("packbits", a)
    if _dtype(a).kind not in "iub":
        raise TypeError(f"packbits: expected an integer or boolean array, got {_dtype(a).name}")
    if bitorder not in ("big", "little"):
        raise ValueError("packbits: bitorder must be 'big' or 'little'")
    if axis is None:
        a = ravel(a)
        axis = 0
    return _packbits(a, canonicalize_axis(axis, _ndim(a)), bitorder)


@numpy_jit(static_argnums=(1, 2))
def _packbits(a: Any, axis: int, bitorder: str) -> Any:
    bits = lax.convert_element_type(lax.ne(a, _const(a, 0)), np.uint8)
    bits = swapaxes(bits, axis, -1)
    n = _shape(bits)[-1]
    rem = n % 8
    if rem:
        cfg = [(0, 0, 0)] * (_ndim(bits) - 1) + [(0, 8 - rem, 0)]
        bits = sh.pad(bits, np.zeros((), np.uint8), cfg)
    groups = _shape(bits)[-1] // 8
    bits = sh.reshape(bits, _shape(bits)[:-1] + (groups, 8))
    shifts = np.arange(8, dtype=np.uint8)
    if bitorder == "big":
        shifts = shifts[::-1].copy()
    shifted = lax.shift_left(bits, sh.broadcast_in_dim(asarray(shifts), _shape(bits), (_ndim(bits) - 1,)))
    packed = reduce_sum(shifted, (_ndim(bits) - 1,))
    return swapaxes(packed, axis, -1)


def unpackbits(a: Any, axis: int | None = None, count: int | None = None, bitorder: str = "big") -> Any:
    """The bits of a uint8 array as a uint8 array of 0s and 1s (``count`` keeps the first bits).

    >>> unpackbits(asarray([5], "uint8")).tolist()
    [0, 0, 0, 0, 0, 1, 0, 1]
    """
    a = _arr("unpackbits", a)
    if _dtype(a) != np.uint8:
        raise TypeError(f"unpackbits: expected a uint8 array, got {_dtype(a).name}")
    if bitorder not in ("big", "little"):
        raise ValueError("unpackbits: bitorder must be 'big' or 'little'")
    if axis is None:
        a = ravel(a)
        axis = 0
    return _unpackbits(a, canonicalize_axis(axis, _ndim(a)), None if count is None else operator_index(count), bitorder)


@numpy_jit(static_argnums=(1, 2, 3))
def _unpackbits(a: Any, axis: int, count: int | None, bitorder: str) -> Any:
    a = swapaxes(a, axis, -1)
    shifts = np.arange(8, dtype=np.uint8)
    if bitorder == "big":
        shifts = shifts[::-1].copy()
    shape = _shape(a) + (8,)
    wide = sh.broadcast_in_dim(a, shape, tuple(range(_ndim(a))))
    shift_b = sh.broadcast_in_dim(asarray(shifts), shape, (len(shape) - 1,))
    bits = lax.bitwise_and(lax.shift_right_logical(wide, shift_b), _const(wide, 1))
    bits = sh.reshape(bits, _shape(a)[:-1] + (_shape(a)[-1] * 8,))
    if count is not None:
        n = _shape(bits)[-1]
        if count > n:
            cfg = [(0, 0, 0)] * (_ndim(bits) - 1) + [(0, count - n, 0)]
            bits = sh.pad(bits, np.zeros((), np.uint8), cfg)
        else:
            bits = sh.slice_in_dim(bits, 0, max(count, 0) if count >= 0 else n + count, 1, _ndim(bits) - 1)
    return swapaxes(bits, axis, -1)


# ----------------------------------------------------------------------------------------------
# Function adapters

def apply_along_axis(func1d: Callable[..., Any], axis: int, arr: Any, *args: Any, **kwargs: Any) -> Any:
    """Apply ``func1d`` to the 1-D slices of ``arr`` along ``axis`` (vectorised with ``vmap``).

    >>> from ember.core._src.primitives.reductions import reduce_max
    >>> apply_along_axis(lambda v: reduce_max(v, (0,)), 1, asarray([[1, 5], [7, 2]])).tolist()
    [5, 7]
    """
    from ..transforms.batching import vmap
    arr = _arr("apply_along_axis", arr)
    nd = _ndim(arr)
    axis = canonicalize_axis(axis, nd)
    def func(a: Any) -> Any:
        return func1d(a, *args, **kwargs)

    for i in range(1, nd - axis):
        func = vmap(func, in_axes=i, out_axes=-1)
    for _ in range(axis):
        func = vmap(func, in_axes=0, out_axes=0)
    return func(arr)


def apply_over_axes(func: Callable[[Any, int], Any], a: Any, axes: Sequence[int]) -> Any:
    """Apply ``func(a, axis)`` repeatedly over ``axes``, keeping the rank (a reduced axis is
    re-inserted with size 1).

    >>> from ember.core._src.primitives.reductions import reduce_sum
    >>> apply_over_axes(lambda x, ax: reduce_sum(x, (ax,)), asarray(np.ones((2, 3))), [0, 1]).tolist()
    [[6.0]]
    """
    a = _arr("apply_over_axes", a)
    for axis in ([axes] if isinstance(axes, int) else axes):
        b = func(a, axis)
        if _ndim(b) == _ndim(a):
            a = b
        elif _ndim(b) == _ndim(a) - 1:
            a = expand_dims(b, canonicalize_axis(axis, _ndim(a)))
        else:
            raise ValueError("apply_over_axes: function is not returning an array of the correct shape")
    return a


_DIMS = r"\w+"
_CORE = rf"(?:{_DIMS}(?:,{_DIMS})*)?"
_ARGLIST = rf"\({_CORE}\)(?:,\({_CORE}\))*"
_SIGNATURE = rf"^{_ARGLIST}->{_ARGLIST}$"


def _parse_signature(signature: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    sig = signature.replace(" ", "")
    if not re.match(_SIGNATURE, sig):
        raise ValueError(f"vectorize: not a valid gufunc signature: {signature!r}")
    ins, outs = sig.split("->")

    def parse(part: str) -> list[tuple[str, ...]]:
        return [tuple(d for d in group.split(",") if d) for group in re.findall(r"\(([^)]*)\)", part)]

    return parse(ins), parse(outs)


def vectorize(pyfunc: Callable[..., Any], *, excluded: Any = frozenset(),
              signature: str | None = None) -> Callable[..., Any]:
    """Turn a function on scalars (or on core dimensions given by a gufunc ``signature`` such
    as ``"(n),(n)->()"``) into one that broadcasts over leading dimensions, with ``vmap``.
    ``excluded`` names positional indices or keywords passed through unvectorised.

    >>> add = vectorize(lambda a, b: a + b)
    >>> add(asarray([1, 2]), asarray([[10], [20]])).tolist()
    [[11, 12], [21, 22]]
    >>> outer = vectorize(lambda a, b: a * b, signature="(n),()->(n)")
    >>> outer(asarray(np.ones((3, 2))), asarray([1.0, 2.0, 3.0])).shape
    (3, 2)
    """
    from ..transforms.batching import vmap
    if any(not isinstance(e, (str, int)) for e in excluded):
        raise TypeError("vectorize: excluded must contain only positional indices (int) and keyword names (str)")
    in_core, out_core = _parse_signature(signature) if signature is not None else (None, None)

    @functools.wraps(pyfunc)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        static_pos = {i: args[i] for i in excluded if isinstance(i, int) and i < len(args)}
        dyn_args = [a for i, a in enumerate(args) if i not in static_pos]
        static_kw = {k: v for k, v in kwargs.items() if k in excluded}
        dyn_kw = {k: v for k, v in kwargs.items() if k not in excluded}

        def call(*dyn: Any) -> Any:
            full_args = list(dyn)
            for i in sorted(static_pos):
                full_args.insert(i, static_pos[i])
            return pyfunc(*full_args, **static_kw, **dyn_kw)

        arrays = [asarray(a) for a in dyn_args]
        cores = in_core if in_core is not None else [()] * len(arrays)
        if len(cores) != len(arrays):
            raise TypeError(f"vectorize: the signature {signature!r} has {len(cores)} inputs, "
                            f"got {len(arrays)} arguments")
        sizes: dict[str, int] = {}
        loop_shapes = []
        for i, (a, core) in enumerate(zip(arrays, cores)):
            if _ndim(a) < len(core):
                raise ValueError(f"vectorize: input {i} has {_ndim(a)} dimensions, "
                                 f"fewer than its core dimensions {core}")
            split = _ndim(a) - len(core)
            for name, size in zip(core, _shape(a)[split:]):
                if sizes.setdefault(name, size) != size:
                    raise ValueError(f"vectorize: inconsistent size for core dimension {name!r}: "
                                     f"{sizes[name]} vs {size}")
            loop_shapes.append(_shape(a)[:split])
        loop = broadcast_shapes(*loop_shapes) if loop_shapes else ()
        # leading size-1 / missing loop dimensions are not mapped (in_axes None), like JAX
        squeezed, filled = [], []
        for a, lshape in zip(arrays, loop_shapes):
            pad = len(loop) - len(lshape)
            ones_at = tuple(i for i, s in enumerate(lshape) if s == 1)
            squeezed.append(squeeze(a, ones_at) if ones_at else a)
            filled.append((1,) * pad + tuple(lshape))
        func = call
        expand = []
        for d in reversed(range(len(loop))):
            in_axes = tuple(None if f[d] == 1 else 0 for f in filled)
            if all(ax is None for ax in in_axes):
                expand.append(d)
            else:
                func = vmap(func, in_axes=in_axes)
        out = func(*squeezed)
        if out_core is not None:
            outs = out if isinstance(out, tuple) else (out,)
            if len(outs) != len(out_core):
                raise ValueError(f"vectorize: the function returned {len(outs)} outputs, "
                                 f"the signature names {len(out_core)}")
        if expand:
            axes = tuple(sorted(expand))
            if isinstance(out, tuple):
                return tuple(sh.expand_dims(asarray(o), axes) for o in out)
            return sh.expand_dims(asarray(out), axes)
        return out

    return wrapped


def piecewise(x: Any, condlist: Any, funclist: Sequence[Any], *args: Any, **kw: Any) -> Any:
    """Piecewise-defined values: where ``condlist[i]`` holds, ``funclist[i]`` (a function of
    ``x`` or a constant); an extra last entry is the default. Later conditions win. Functions
    are applied to the whole of ``x`` and must be elementwise.

    >>> x = asarray([-1.0, 0.5, 2.0])
    >>> piecewise(x, [x < 0, x > 1], [0.0, lambda v: v * 10, lambda v: v]).tolist()
    [0.0, 0.5, 20.0]
    """
    x = _arr("piecewise", x)
    from .ufuncs import where
    if isinstance(condlist, (Array, Tracer, np.ndarray)) and get_aval(asarray(condlist)).ndim == _ndim(x):
        conds = [asarray(condlist)]
    elif isinstance(condlist, (list, tuple)):
        conds = [asarray(c) for c in condlist]
    else:
        c = asarray(condlist)
        conds = [sh.index_in_dim(c, i, 0, keepdims=False) for i in range(_shape(c)[0])]
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        default, funcs = funclist[-1], list(funclist[:-1])
    elif nf == nc:
        default, funcs = 0, list(funclist)
    else:
        raise ValueError(f"piecewise: {nf} functions for {nc} conditions (need {nc} or {nc + 1})")
    dtype = _dtype(x)

    def value(f: Any) -> Any:
        v = f(x, *args, **kw) if callable(f) else f
        v = asarray(v)
        return broadcast_to_shape(lax.convert_element_type(v, dtype), _shape(x))

    out = value(default)
    for cond, f in zip(conds, funcs):
        cond = broadcast_to_shape(lax.ne(cond, _const(cond, 0)) if _dtype(cond) != dtypes.bool_ else cond, _shape(x))
        out = where(cond, value(f), out)
    return out


# ----------------------------------------------------------------------------------------------
# Printing and files (host-side conveniences)

def array_str(a: Any, max_line_width: int | None = None, precision: int | None = None,
              suppress_small: bool | None = None) -> str:
    """The string of an array's values, as ``np.array_str`` prints them."""
    return np.array_str(np.asarray(a), max_line_width=max_line_width, precision=precision,
                        suppress_small=suppress_small)


def array_repr(arr: Any, max_line_width: int | None = None, precision: int | None = None,
               suppress_small: bool | None = None) -> str:
    """The repr of an array: ``Array([...], dtype=...)``."""
    arr = asarray(arr)
    if max_line_width is None and precision is None and suppress_small is None:
        return repr(arr)
    body = np.array2string(np.asarray(arr), max_line_width=max_line_width, precision=precision,
                           suppress_small=suppress_small, separator=", ", prefix="Array(")
    return f"Array({body}, dtype={_dtype(arr).name})"


def array2string(a: Any, *args: Any, **kwargs: Any) -> str:
    """``np.array2string`` of the array's values."""
    return np.array2string(np.asarray(a), *args, **kwargs)


def real_if_close(a: Any, tol: float = 100) -> Any:
    """The real part of a concrete complex array whose imaginary parts are all within ``tol``
    machine epsilons of zero; ``a`` unchanged otherwise (the dtype depends on the values).

    >>> real_if_close(asarray([1 + 1e-9j])).dtype
    dtype('float32')
    """
    a = _arr("real_if_close", a)
    if _dtype(a).kind != "c":
        return a
    if isinstance(a, Tracer):
        raise ConcretizationError(a, "real_if_close's input (its result dtype depends on the values)")
    real_dtype = np.dtype(dtypes.finfo(_dtype(a)).dtype)
    if tol > 1:
        tol = float(dtypes.finfo(real_dtype).eps) * tol
    host = np.asarray(a)
    return lax.real(a) if np.all(np.abs(host.imag) < tol) else a


iterable = np.iterable
ndindex = np.ndindex
printoptions = np.printoptions
get_printoptions = np.get_printoptions
set_printoptions = np.set_printoptions
save = np.save
savez = np.savez
savez_compressed = np.savez_compressed
savetxt = np.savetxt


def load(file: Any, *args: Any, **kwargs: Any) -> Any:
    """``np.load``, with arrays returned as Arrays (archives stay NumPy ``NpzFile`` objects)."""
    out = np.load(file, *args, **kwargs)
    return asarray(out) if isinstance(out, np.ndarray) and out.dtype != np.dtype("O") else out


def loadtxt(*args: Any, **kwargs: Any) -> Any:
    """``np.loadtxt``, returned as an Array."""
    return asarray(np.loadtxt(*args, **kwargs))


def genfromtxt(*args: Any, **kwargs: Any) -> Any:
    """``np.genfromtxt``, returned as an Array (structured results are not supported)."""
    return asarray(np.genfromtxt(*args, **kwargs))


def fromfile(*args: Any, **kwargs: Any) -> Any:
    """``np.fromfile``, returned as an Array (read now, on the host)."""
    return asarray(np.fromfile(*args, **kwargs))
