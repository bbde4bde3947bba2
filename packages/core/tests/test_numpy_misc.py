"""ember.core.numpy's miscellany (misc.py) against NumPy, with jax.numpy's result dtypes."""

import importlib.util

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core.test_util import check_grads

rng = np.random.default_rng(1)
F = rng.normal(size=(3, 5)).astype(np.float32)
V = np.array([1.0, -2.0, 0.5, 3.0, 4.0], np.float32)


def kind(x):
    return str(x.dtype) + ("w" if x.weak_type else "")


def check(actual, expected, dtype=None, rtol=2e-5, atol=1e-5):
    if isinstance(expected, tuple):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            check(a, e, None, rtol, atol)
        return
    assert isinstance(actual, ec.Array), type(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=rtol, atol=atol)
    if dtype is not None:
        assert kind(actual) == dtype, (kind(actual), dtype)


_i, _f, _h = jnp.arange(4), jnp.arange(4.0), jnp.arange(4, dtype=jnp.float16)
# result dtypes measured with jax.numpy 0.10.2 (x64 disabled)
DTYPES = [
    ("isclose_int", lambda: jnp.isclose(_i, _i), "bool"),
    ("allclose", lambda: jnp.allclose(_f, _f), "bool"),
    ("array_equal_shape", lambda: jnp.array_equal(_i, jnp.arange(3)), "bool"),
    ("array_equiv", lambda: jnp.array_equiv(_i, _f), "bool"),
    ("interp_int", lambda: jnp.interp(_i, _i, _i), "float32"),
    ("interp_f16", lambda: jnp.interp(_h, _h, _h), "float16"),
    ("polyval_int", lambda: jnp.polyval(_i, _i), "int32"),
    ("polyval_weak_x", lambda: jnp.polyval(jnp.asarray([1, 2]), 2.0), "float32"),
    ("convolve_int", lambda: jnp.convolve(_i, _i), "float32"),
    ("convolve_f16", lambda: jnp.convolve(_h, _i), "float16"),
    ("cross_int", lambda: jnp.cross(jnp.asarray([1, 2, 3]), jnp.asarray([4, 5, 6])), "int32"),
    ("diff_bool", lambda: jnp.diff(jnp.asarray([True, False])), "bool"),
    ("diff_prepend_weak", lambda: jnp.diff(_i, prepend=0.5), "float32w"),
    ("ediff1d_to_begin", lambda: jnp.ediff1d(_i, to_begin=1.5), "int32"),
    ("gradient_int", lambda: jnp.gradient(_i), "float32"),
    ("cov_int", lambda: jnp.cov(jnp.ones((2, 4), int)), "float32"),
    ("corrcoef_scalar", lambda: jnp.corrcoef(jnp.arange(4.0)), "float32"),
    ("vander_int", lambda: jnp.vander(_i), "int32"),
    ("trapezoid_int", lambda: jnp.trapezoid(_i), "float32"),
    ("frexp_mantissa", lambda: jnp.frexp(_i)[0], "float32"),
    ("frexp_exponent", lambda: jnp.frexp(_f)[1], "int32"),
    ("ldexp_int", lambda: jnp.ldexp(_i, _i), "float32"),
    ("ldexp_f16", lambda: jnp.ldexp(_h, 3), "float16"),
    ("modf_int", lambda: jnp.modf(_i)[1], "float32"),
    ("gcd", lambda: jnp.gcd(_i, 6), "int32"),
    ("lcm_int8", lambda: jnp.lcm(jnp.arange(4, dtype=jnp.int8), 6), "int8"),
    ("heaviside_int", lambda: jnp.heaviside(_i, 1), "float32"),
    ("heaviside_f16", lambda: jnp.heaviside(_h, 0.5), "float16"),
    ("i0_int", lambda: jnp.i0(_i), "float32"),
    ("packbits", lambda: jnp.packbits(jnp.asarray([1, 0, 1])), "uint8"),
    ("unpackbits", lambda: jnp.unpackbits(jnp.asarray([7], jnp.uint8)), "uint8"),
    ("piecewise_int", lambda: jnp.piecewise(_i, [_i < 2], [lambda x: x * 2, 7.5]), "int32"),
    ("hanning", lambda: jnp.hanning(4), "float32"),
    ("kaiser", lambda: jnp.kaiser(4, 3.0), "float32"),
    ("polyadd_mixed", lambda: jnp.polyadd(jnp.asarray([1, 2]), jnp.asarray([1.0, 2, 3])), "float32"),
    ("polymul_int", lambda: jnp.polymul(jnp.asarray([1, 2]), jnp.asarray([1, 2, 3])), "float32"),
    ("polyder_int", lambda: jnp.polyder(jnp.asarray([1, 2, 3])), "float32"),
    ("polyint_int", lambda: jnp.polyint(jnp.asarray([1, 2, 3])), "float32"),
    ("poly_int", lambda: jnp.poly(jnp.asarray([1, 2])), "float32"),
    ("unwrap_int", lambda: jnp.unwrap(_i), "float32"),
    ("vectorize_weak", lambda: jnp.vectorize(lambda a, b: a + b)(_i, 1.5), "float32w"),
    ("spacing", lambda: jnp.spacing(_f), "float32"),
]


@pytest.mark.parametrize("name,fn,expected", DTYPES, ids=[d[0] for d in DTYPES])
def test_result_dtypes_match_jax(name, fn, expected):
    assert kind(fn()) == expected


def test_closeness():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 1e-9, 1.0], np.float32)
    b = np.array([1.0 + 1e-7, np.inf, np.inf, np.nan, 0.0, 1.1], np.float32)
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.2}, {"atol": 1e-10, "rtol": 0.0}):
        check(jnp.isclose(a, b, **kw), np.isclose(a, b, **kw), "bool")
        assert bool(jnp.allclose(a[:1], b[:1], **kw)) == np.allclose(a[:1], b[:1], **kw)
    c = np.array([1 + 1j, 2 - 1e-9j], np.complex64)
    check(jnp.isclose(c, c + 1e-7), np.isclose(c, c + 1e-7))
    check(jnp.isclose(np.arange(3), np.array([0, 1, 3])), [True, True, False], "bool")
    assert bool(jnp.array_equal(np.arange(3), np.arange(3.0)))
    assert not bool(jnp.array_equal(np.arange(3), np.arange(4)))
    assert bool(jnp.array_equal(a, a, equal_nan=True)) and not bool(jnp.array_equal(a, a))
    assert bool(jnp.array_equiv(np.ones((2, 3)), np.ones(3)))
    assert not bool(jnp.array_equiv(np.ones((2, 3)), np.ones(2)))


def test_interp():
    xp = np.array([0.0, 1.0, 2.5, 4.0], np.float32)
    fp = np.array([1.0, -1.0, 3.0, 0.0], np.float32)
    x = np.array([-1.0, 0.0, 0.3, 1.0, 2.0, 3.9, 4.0, 7.0], np.float32)
    check(jnp.interp(x, xp, fp), np.interp(x, xp, fp))
    check(jnp.interp(x, xp, fp, left=-9, right=9), np.interp(x, xp, fp, left=-9, right=9))
    check(jnp.interp(x.reshape(2, 4), xp, fp), np.interp(x, xp, fp).reshape(2, 4))
    check(jnp.interp(x, xp, fp + 1j * fp), np.interp(x, xp, fp + 1j * fp))
    check(jnp.interp(x, np.array([1.0], np.float32), np.array([5.0], np.float32)), np.full(8, 5.0))
    xpp = np.array([350.0, 10.0, 50.0], np.float32)
    check(jnp.interp(np.array([355.0, 5.0, 30.0], np.float32), xpp, np.array([0.0, 1.0, 2.0], np.float32), period=360),
          np.interp([355.0, 5.0, 30.0], xpp, [0.0, 1.0, 2.0], period=360), atol=1e-4)
    away_from_knots = np.array([0.3, 0.7, 2.0, 3.1], np.float32)  # interp has kinks at the knots
    check_grads(ec.jit(lambda x, fp: jnp.interp(x, xp, fp)), (away_from_knots, fp), order=1)


def test_polynomials():
    p = np.array([2.0, -1.0, 0.5, 3.0], np.float32)
    x = np.linspace(-2, 2, 7).astype(np.float32)
    check(jnp.polyval(p, x), np.polyval(p, x))
    p2 = np.arange(6.0).reshape(3, 2)
    check(jnp.polyval(p2, np.array([1.0, 2.0])), np.polyval(p2, [1.0, 2.0]))
    q = np.array([1.0, 4.0], np.float32)
    check(jnp.polyadd(p, q), np.polyadd(p, q))
    check(jnp.polysub(q, p), np.polysub(q, p))
    check(jnp.polymul(p, q), np.polymul(p, q))
    check(jnp.polyder(p), np.polyder(p))
    check(jnp.polyder(p, 2), np.polyder(p, 2))
    check(jnp.polyint(p), np.polyint(p))
    check(jnp.polyint(p, 2, k=[1.0, 2.0]), np.polyint(p, 2, k=[1.0, 2.0]))
    quot, rem = jnp.polydiv(p, q)
    nq, nr = np.polydiv(p, q)
    check(quot, nq)
    check(rem[-len(nr):], nr, atol=1e-4)
    check(jnp.poly(np.array([1.0, -2.0, 3.0])), np.poly([1.0, -2.0, 3.0]))
    check(jnp.vander(np.array([1, 2, 3]), 4), np.vander([1, 2, 3], 4), "int32")
    check(jnp.vander(np.array([0.5, 2.0]), increasing=True), np.vander([0.5, 2.0], increasing=True))
    check_grads(ec.jit(lambda p, x: jnp.polyval(p, x)), (p, x), order=1)


needs_linalg = pytest.mark.skipif(importlib.util.find_spec("ember.core.numpy.linalg") is None,
                                  reason="ember.core.numpy.linalg is not there yet")


@needs_linalg
def test_polyfit():
    x = np.linspace(0, 1, 8).astype(np.float32)
    y = (3 * x ** 2 - x + 0.5).astype(np.float32)
    check(jnp.polyfit(x, y, 2), np.polyfit(x, y, 2), atol=1e-3)
    w = np.linspace(1, 2, 8).astype(np.float32)
    check(jnp.polyfit(x, np.stack([y, 2 * y], 1), 2, w=w), np.polyfit(x, np.stack([y, 2 * y], 1), 2, w=w), atol=2e-3)


@needs_linalg
def test_roots_and_poly_of_matrix():
    try:
        r = np.sort_complex(np.asarray(jnp.roots(np.array([0.0, 1.0, -3.0, 2.0, 0.0]))))
    except NotImplementedError as e:  # linalg.eigvals may not be implemented yet
        pytest.skip(str(e))
    np.testing.assert_allclose(r, np.sort_complex(np.roots([0.0, 1.0, -3.0, 2.0, 0.0])), atol=1e-4)
    m = np.array([[2.0, 0.0], [0.0, 3.0]], np.float32)
    check(jnp.poly(m), np.poly(m), atol=1e-4)


def test_convolution():
    a = rng.normal(size=7).astype(np.float32)
    v = rng.normal(size=3).astype(np.float32)
    for mode in ("full", "same", "valid"):
        for x, y in ((a, v), (v, a), (a[:3], v)):
            check(jnp.convolve(x, y, mode), np.convolve(x, y, mode))
            check(jnp.correlate(x, y, mode), np.correlate(x, y, mode))
    c = (a + 1j * a[::-1]).astype(np.complex64)
    check(jnp.correlate(c, v + 1j, "full"), np.correlate(c, v + 1j, "full"))
    check(jnp.convolve(np.arange(3), np.arange(2), preferred_element_type=np.int32), [0, 0, 1, 2], "int32")
    with pytest.raises(ValueError):
        jnp.convolve(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError):
        jnp.convolve(np.ones(0), np.ones(2))
    check_grads(ec.jit(lambda a, v: jnp.convolve(a, v, "same")), (a, v), order=1)
    f = ec.vmap(lambda a: jnp.correlate(a, v, "valid"))
    check(f(np.stack([a, 2 * a])), np.stack([np.correlate(a, v), np.correlate(2 * a, v)]))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NumPy deprecates 2-vectors; JAX keeps them
def test_cross():
    a = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=(4, 3)).astype(np.float32)
    check(jnp.cross(a, b), np.cross(a, b))
    # 2-vectors (NumPy 2.5 stopped accepting them): the z component of the 3-d cross product
    a2, b2 = a[:, :2], b[:, :2]
    check(jnp.cross(a2, b2), a2[:, 0] * b2[:, 1] - a2[:, 1] * b2[:, 0])
    b3 = np.concatenate([b2, np.zeros((4, 1), np.float32)], axis=1)
    check(jnp.cross(a, b2), np.cross(a, b3))
    check(jnp.cross(a.T, b.T, axisa=0, axisb=0, axisc=0), np.cross(a.T, b.T, axisa=0, axisb=0, axisc=0))
    check(jnp.cross(a[0], b), np.cross(a[0], b))
    check_grads(ec.jit(jnp.cross), (a, b), order=1)


def test_differences_and_integrals():
    x = np.array([[1.0, 3.0, 6.0, 10.0], [0.0, -1.0, 4.0, 4.5]], np.float32)
    check(jnp.diff(x), np.diff(x))
    check(jnp.diff(x, n=2, axis=1), np.diff(x, n=2, axis=1))
    check(jnp.diff(x, axis=0), np.diff(x, axis=0))
    check(jnp.diff(x, prepend=0.0, append=np.ones((2, 1), np.float32)), np.diff(x, prepend=0.0, append=np.ones((2, 1))))
    check(jnp.diff(x, n=0), x)
    check(jnp.ediff1d(x, to_end=np.array([7.0, 8.0]), to_begin=-1), np.ediff1d(x, to_end=[7.0, 8.0], to_begin=-1))
    check(jnp.gradient(x[0]), np.gradient(x[0]))
    check(jnp.gradient(x[0], 2.0), np.gradient(x[0], 2.0))
    coords = np.array([0.0, 0.5, 2.0, 2.5], np.float32)
    check(jnp.gradient(x[0], coords), np.gradient(x[0], coords))
    for g, e in zip(jnp.gradient(x, 2.0, coords), np.gradient(x, 2.0, coords)):
        check(g, e)
    check(jnp.gradient(x, axis=1), np.gradient(x, axis=1))
    check(jnp.trapezoid(x), np.trapezoid(x))
    check(jnp.trapezoid(x, dx=0.5, axis=0), np.trapezoid(x, dx=0.5, axis=0))
    check(jnp.trapezoid(x, coords), np.trapezoid(x, coords))
    check(jnp.trapezoid(x, np.stack([coords, 2 * coords])), np.trapezoid(x, np.stack([coords, 2 * coords])))
    phase = np.array([0.0, 3.0, 6.5, 1.0, -4.0, 12.0], np.float32)
    check(jnp.unwrap(phase), np.unwrap(phase), atol=1e-5)
    check(jnp.unwrap(phase, period=4.0), np.unwrap(phase, period=4.0), atol=1e-5)
    both = np.stack([phase, -phase])
    check(jnp.unwrap(both, axis=1, discont=4.0), np.unwrap(both, axis=1, discont=4.0))
    with pytest.raises(ValueError):
        jnp.gradient(np.ones(1))
    check_grads(ec.jit(lambda x: jnp.gradient(x, coords, axis=1)), (x,), order=1)
    check_grads(ec.jit(lambda x: jnp.trapezoid(jnp.diff(x, prepend=1.0), dx=0.5)), (x,), order=1)


def test_statistics():
    check(jnp.cov(F), np.cov(F))
    check(jnp.cov(F, rowvar=False, bias=True), np.cov(F, rowvar=False, bias=True))
    check(jnp.cov(F[0], F[1]), np.cov(F[0], F[1]))
    check(jnp.cov(F, ddof=0), np.cov(F, ddof=0))
    fw, aw = np.array([1, 2, 1, 3, 1]), np.array([0.5, 1.0, 2.0, 1.0, 0.1], np.float32)
    check(jnp.cov(F, fweights=fw), np.cov(F, fweights=fw))
    check(jnp.cov(F, aweights=aw), np.cov(F, aweights=aw), rtol=1e-4)
    check(jnp.cov(F, fweights=fw, aweights=aw, ddof=0), np.cov(F, fweights=fw, aweights=aw, ddof=0), rtol=1e-4)
    c = (F[:2] + 1j * F[1:]).astype(np.complex64)
    check(jnp.cov(c), np.cov(c), rtol=1e-4)
    check(jnp.corrcoef(F), np.corrcoef(F), rtol=1e-4)
    check(jnp.corrcoef(F[0], F[2]), np.corrcoef(F[0], F[2]), rtol=1e-4)
    check(jnp.corrcoef(F, rowvar=False), np.corrcoef(F, rowvar=False), rtol=1e-4)
    check_grads(ec.jit(jnp.cov), (F,), order=1)
    check_grads(ec.jit(jnp.corrcoef), (F,), order=1, atol=5e-2, rtol=5e-2)


def test_float_decomposition():
    x = np.array([0.0, 1.0, -2.5, 3e-30, 7.0, 3e38, 0.1, -np.inf, np.nan], np.float32)
    m, e = jnp.frexp(x)
    nm, ne = np.frexp(x)
    check(m, nm)
    np.testing.assert_array_equal(np.asarray(e)[:-2], ne[:-2])
    m16, e16 = jnp.frexp(x[:3].astype(np.float16))
    check(m16, np.frexp(x[:3].astype(np.float16))[0], "float16")
    check(jnp.ldexp(m, e), np.where(np.isnan(x), np.nan, x))
    k = np.array([3, 200, -120, -300, 0, 127, -126, 5, 1])  # (XLA's CPU flushes subnormals to zero)
    base = np.array([1.5, 1e-30, 3.0, 2.0, -1.0, 1.0, 1.0, np.inf, 0.0], np.float32)
    with np.errstate(over="ignore", under="ignore"):
        expected = np.ldexp(base, k)
    expected[3] = 0.0
    check(jnp.ldexp(base, k), expected, rtol=1e-6, atol=0)
    with pytest.raises(TypeError):
        jnp.ldexp(1.0, 2.5)
    f, w = jnp.modf(np.array([2.5, -1.25, np.inf, -0.0], np.float32))
    nf, nw = np.modf(np.array([2.5, -1.25, np.inf, -0.0], np.float32))
    check(f, nf)
    check(w, nw)
    check(jnp.spacing(np.array([1.0, -1.0, 1e10], np.float32)), np.spacing(np.array([1.0, -1.0, 1e10], np.float32)))
    check_grads(ec.jit(lambda x: jnp.ldexp(x, 3) + jnp.modf(x)[0]), (np.array([0.3, -1.7], np.float32),), order=1)


def test_integers():
    a = np.array([12, 7, 0, -24, 0, 2 ** 30, 1071], np.int32)
    b = np.array([18, 5, 9, 16, 0, 6, 462], np.int32)
    check(jnp.gcd(a, b), np.gcd(a, b), "int32")
    check(jnp.lcm(a[:5], b[:5]), np.lcm(a[:5], b[:5]), "int32")
    check(jnp.gcd(np.array([255, 12], np.uint8), np.uint8(51)), np.gcd(np.array([255, 12], np.uint8), 51), "uint8")
    fib = np.array([1836311903], np.int32), np.array([1134903170], np.int32)  # the worst case of Euclid
    check(jnp.gcd(*fib), np.gcd(*fib))
    with pytest.raises(TypeError):
        jnp.gcd(1.5, 2.0)
    check(jnp.heaviside(np.array([-1.0, 0.0, 2.0]), np.array([0.5, 0.25, 0.0])),
          np.heaviside([-1.0, 0.0, 2.0], [0.5, 0.25, 0.0]))


def test_i0_and_windows():
    x = np.array([0.0, 0.5, -3.0, 7.9, 8.1, 15.0, -40.0], np.float32)
    check(jnp.i0(x), np.i0(x.astype(np.float64)), rtol=2e-6)
    check_grads(ec.jit(jnp.i0), (np.array([0.3, -2.0, 9.0], np.float32),), order=1)
    for M in (0, 1, 2, 7, 10):
        for name in ("bartlett", "blackman", "hamming", "hanning"):
            check(getattr(jnp, name)(M), getattr(np, name)(M), "float32", atol=1e-6)
        check(jnp.kaiser(M, 5.0), np.kaiser(M, 5.0), "float32", rtol=1e-5)
    f = ec.jit(lambda beta: jnp.kaiser(6, beta))
    check(f(2.0), np.kaiser(6, 2.0), rtol=1e-5)


def test_bits():
    bits = rng.integers(0, 2, size=(3, 13)).astype(np.int32)
    for axis in (None, 0, 1):
        for order in ("big", "little"):
            packed = jnp.packbits(bits, axis=axis, bitorder=order)
            check(packed, np.packbits(bits, axis=axis, bitorder=order), "uint8")
            for count in (None, 5, 20):
                if axis is None or count is None:
                    check(jnp.unpackbits(packed, axis=axis, count=count, bitorder=order),
                          np.unpackbits(np.asarray(packed), axis=axis, count=count, bitorder=order), "uint8")
    check(jnp.packbits(np.array([True, False, True])), [160])
    with pytest.raises(TypeError):
        jnp.unpackbits(np.array([1.0]))


def test_function_adapters():
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4)

    def scaled_diff(v):
        return jnp.diff(v) * 2.0
    for axis in (0, 1, 2, -1):
        check(jnp.apply_along_axis(scaled_diff, axis, x), np.apply_along_axis(lambda v: np.diff(v) * 2.0, axis, x))
    check(jnp.apply_along_axis(lambda v, k: jnp.polyval(v, k), 1, x, 2.0),
          np.apply_along_axis(lambda v: np.polyval(v, 2.0), 1, x))
    check(jnp.apply_over_axes(lambda a, ax: jnp.flip(a, ax), x, [0, 2]), np.flip(np.flip(x, 0), 2))
    summed = jnp.apply_over_axes(lambda a, ax: jnp.trapezoid(a, axis=ax), x, [0, 2])
    check(summed, np.apply_over_axes(lambda a, ax: np.trapezoid(a, axis=ax), x, [0, 2]))

    add = jnp.vectorize(lambda a, b: a * 10 + b)
    check(add(np.arange(3), np.arange(2)[:, None]), np.arange(3) * 10 + np.arange(2)[:, None])
    inner = jnp.vectorize(lambda a, b: jnp.polyval(a, b), signature="(n),()->()")
    check(inner(x, np.float32(0.5)), np.apply_along_axis(lambda v: np.polyval(v, 0.5), 2, x))
    outer = jnp.vectorize(lambda a, s: a * s, signature="(n),()->(n)")
    check(outer(x[0], np.array([1.0, 2.0, 3.0], np.float32)), x[0] * np.array([1.0, 2.0, 3.0])[:, None])
    pair = jnp.vectorize(lambda a: (a, -a), signature="()->(),()")
    check(pair(np.arange(3.0)), (np.arange(3.0), -np.arange(3.0)))
    keyed = jnp.vectorize(lambda a, scale, mode="x": a * scale if mode == "x" else a, excluded={"mode", 1})
    check(keyed(np.arange(3.0), 2.0, mode="x"), np.arange(3.0) * 2)
    with pytest.raises(ValueError):
        jnp.vectorize(lambda a, b: a, signature="(n),(n)->()")(np.ones(2), np.ones(3))
    with pytest.raises(ValueError):
        jnp.vectorize(lambda a: a, signature="(n->)")

    v = np.linspace(-2, 2, 9).astype(np.float32)
    funcs = [lambda t: t ** 2, 1.5, lambda t: -t]
    conds = [v < -1, (v >= 0) & (v < 1)]
    check(jnp.piecewise(v, conds, funcs), np.piecewise(v, conds, funcs))
    check(jnp.piecewise(v, [v < 0, v > -1], [0.0, 1.0]), np.piecewise(v, [v < 0, v > -1], [0.0, 1.0]))
    with_args = [lambda t, k: t * k, 0.0]
    check(jnp.piecewise(v, v > 0, with_args, 3.0), np.piecewise(v, v > 0, with_args, 3.0))
    check_grads(ec.jit(lambda t: jnp.piecewise(t, [t < 0], [lambda s: s * s, lambda s: 3 * s])), (v[1::2],), order=1)
    with pytest.raises(ValueError):
        jnp.piecewise(v, [v < 0], [1.0, 2.0, 3.0])


def test_under_vmap_and_jit():
    xs = rng.normal(size=(4, 6)).astype(np.float32)

    def f(x):
        return jnp.gradient(x), jnp.cov(jnp.stack([x, x ** 2])), jnp.trapezoid(x), jnp.interp(x, jnp.arange(6.0), x)
    out = ec.jit(ec.vmap(f))(xs)
    for i in range(4):
        check(out[0][i], np.gradient(xs[i]))
        check(out[1][i], np.cov(np.stack([xs[i], xs[i] ** 2])), rtol=1e-4)
        check(out[2][i], np.trapezoid(xs[i]))
    g = ec.jit(lambda a, b: (jnp.gcd(a, b), jnp.isclose(a, b), jnp.frexp(a * 1.0)))
    gg, close, (m, e) = g(jnp.asarray([4, 9]), jnp.asarray([6, 9]))
    check(gg, [2, 9])
    check(close, [False, True])
    check(e, [3, 4])


def test_printing_and_files(tmp_path):
    x = jnp.arange(3.0)
    assert jnp.array_str(x) == np.array_str(np.arange(3.0))
    assert jnp.array_repr(x) == repr(x)
    assert "Array(" in jnp.array_repr(x, precision=2)
    with jnp.printoptions(precision=2):
        assert jnp.get_printoptions()["precision"] == 2
    assert jnp.iterable([1]) and not jnp.iterable(1)
    path = tmp_path / "a.npy"
    jnp.save(path, x)
    loaded = jnp.load(path)
    assert isinstance(loaded, ec.Array) and loaded.tolist() == [0.0, 1.0, 2.0]
