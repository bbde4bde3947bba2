"""ember.core.scipy.special: values against closed forms and the math module (SciPy only where it
is installed: it is not an ember dependency), gradients, jit and vmap."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember.core as ec
import ember.core.lax as lax
import ember.core.numpy as jnp
import ember.core.scipy.special as sp
from ember.core import nn
from ember.core.test_util import check_grads

RNG = np.random.default_rng(0)
X = (RNG.standard_normal(8) * 2).astype(np.float32)
P = RNG.uniform(0.02, 0.98, 8).astype(np.float32)
POS = RNG.uniform(0.2, 6.0, 8).astype(np.float32)
EULER = 0.5772156649015329


def _a(x):
    return np.asarray(x)


def _vec(fn):
    return np.vectorize(fn, otypes=[np.float64])


def close(actual, expected, rtol=2e-6, atol=1e-6):
    np.testing.assert_allclose(_a(actual), expected, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------------------------
# Values

def test_known_values():
    close(sp.erf(np.float32(0.5)), 0.5204998778130465)
    close(sp.erfc(np.float32(0.5)), 1 - 0.5204998778130465)
    close(sp.erfinv(np.float32(0.5)), 0.4769362762044699)
    close(sp.gammaln(np.float32(0.5)), math.log(math.sqrt(math.pi)))
    close(sp.digamma(np.float32(1.0)), -EULER)
    close(sp.polygamma(1, np.float32(1.0)), math.pi ** 2 / 6)
    close(sp.polygamma(np.array([0, 2]), np.array([1.0, 1.0], np.float32)), [-EULER, -2.404113806319188], rtol=1e-5)
    close(sp.gamma(np.array([5.0, 0.5, -1.5], np.float32)), [24.0, math.sqrt(math.pi), 2.363271801207355], rtol=1e-5)
    close(sp.betaln(np.float32(2.0), np.float32(3.0)), math.log(1 / 12))
    close(sp.beta(np.float32(2.0), np.float32(3.0)), 1 / 12)
    close(sp.ndtr(np.float32(1.96)), 0.9750021048517795)
    close(sp.ndtri(np.float32(0.975)), 1.959963984540054, rtol=1e-5)
    close(sp.log_ndtr(np.array([-20.0, 0.0], np.float32)), [-203.9171553710973, math.log(0.5)], rtol=1e-5)
    close(sp.log_ndtr(np.float64(-35.0) if ec.config.enable_x64 else np.float32(-35.0)), -616.9751012619225, rtol=1e-5)
    close(sp.i0(np.float32(1.0)), 1.2660658777520082)
    close(sp.i1(np.float32(1.0)), 0.5651591039924851)
    close(sp.i0e(np.float32(0.0)), 1.0)
    close(sp.i1e(np.float32(0.0)), 0.0)
    close(sp.zeta(np.float32(2.0), np.float32(1.0)), math.pi ** 2 / 6)
    close(sp.zeta(np.float32(3.0), np.float32(2.0)), 0.2020569031595943)
    close(sp.entr(np.array([0.5, 0.0, -1.0], np.float32)), [0.5 * math.log(2), 0.0, -np.inf])
    close(sp.factorial(np.arange(6)), [1, 1, 2, 6, 24, 120], rtol=1e-5)
    close(sp.poch(np.float32(3.0), np.float32(2.0)), 12.0, rtol=1e-5)
    close(sp.gammasgn(np.array([2.5, -0.5, -1.5, -2.0], np.float32)), [1.0, -1.0, 1.0, np.nan])
    close(sp.bernoulli(4), [1.0, -0.5, 1 / 6, 0.0, -1 / 30])


def test_against_math_module():
    close(sp.erf(X), _vec(math.erf)(X))
    close(sp.erfc(X), _vec(math.erfc)(X), rtol=1e-5)
    close(sp.gammaln(POS), _vec(math.lgamma)(POS), rtol=1e-5)
    close(sp.gamma(POS), _vec(math.gamma)(POS), rtol=1e-5)
    close(sp.expit(X), 1 / (1 + np.exp(-X.astype(np.float64))))
    close(sp.logit(P), np.log(P / (1 - P.astype(np.float64))), rtol=1e-5, atol=1e-5)
    close(sp.ndtr(X), 0.5 * (1 + _vec(math.erf)(X / math.sqrt(2))))
    close(sp.ndtr(sp.ndtri(P)), P, rtol=1e-5)
    close(sp.erf(sp.erfinv(2 * P - 1)), 2 * P - 1, rtol=1e-5, atol=1e-6)
    a, b = POS, POS[::-1] * 3
    close(sp.betaln(a, b), _vec(math.lgamma)(a) + _vec(math.lgamma)(b) - _vec(math.lgamma)(a + b), rtol=1e-5, atol=1e-5)
    close(sp.multigammaln(POS + 2, 1), _vec(math.lgamma)(POS + 2), rtol=1e-5)
    lg = _vec(math.lgamma)
    close(sp.multigammaln(POS + 2, 2), math.log(math.pi) / 2 + lg(POS + 2) + lg(POS + 1.5), rtol=1e-5)
    q = P[::-1]
    close(sp.rel_entr(P, q), P * np.log(P / q.astype(np.float64)), rtol=1e-5)
    close(sp.kl_div(P, q), P * np.log(P / q.astype(np.float64)) - P + q, rtol=1e-5, atol=1e-6)
    close(sp.rel_entr(np.array([0.0, 1.0], np.float32), np.array([0.5, 0.0], np.float32)), [0.0, np.inf])


def test_incomplete_gamma_closed_forms():
    x = np.array([0.0, 0.1, 0.7, 1.0, 3.0, 12.0, np.inf], np.float32)
    close(sp.gammainc(np.float32(1.0), x), 1 - np.exp(-x.astype(np.float64)))
    close(sp.gammainc(np.float32(0.5), x), _vec(math.erf)(np.sqrt(x.astype(np.float64))), rtol=1e-5)
    close(sp.gammaincc(np.float32(1.0), x), np.exp(-x.astype(np.float64)), rtol=1e-5)
    close(sp.gammainc(POS, POS[::-1]) + sp.gammaincc(POS, POS[::-1]), np.ones(8), rtol=1e-5)
    out = _a(sp.gammainc(np.array([-1.0, 1.0, np.nan], np.float32), np.array([1.0, -1.0, 1.0], np.float32)))
    assert np.isnan(out).all()
    # integer a: P(n, x) = 1 - exp(-x) sum_{k<n} x^k / k!
    n, xv = 4, 2.5
    close(sp.gammainc(np.float32(n), np.float32(xv)),
          1 - math.exp(-xv) * sum(xv ** k / math.factorial(k) for k in range(n)), rtol=1e-5)


def test_xlogy_xlog1py():
    x = np.array([0.0, 0.0, 1.0, 2.0, 0.0], np.float32)
    y = np.array([0.0, 3.0, 2.0, 0.5, np.nan], np.float32)
    out = _a(sp.xlogy(x, y))
    np.testing.assert_allclose(out[:4], [0.0, 0.0, math.log(2), 2 * math.log(0.5)], rtol=1e-6)
    assert np.isnan(out[4])  # NaN propagates even where x == 0 (as SciPy)
    out = _a(sp.xlog1py(x, y - 1))
    np.testing.assert_allclose(out[:4], [0.0, 0.0, math.log(2), 2 * math.log(0.5)], rtol=1e-6)
    assert float(sp.xlogy(0, 0)) == 0.0 and float(sp.xlog1py(0.0, -1.0)) == 0.0
    assert sp.xlogy(1, 2).dtype == jnp.float32  # integers promote to the default float


def test_logsumexp_and_softmax_match_nn():
    x = X.reshape(2, 4)
    close(sp.logsumexp(x), np.log(np.exp(x.astype(np.float64)).sum()))
    close(sp.logsumexp(x, axis=1), _a(nn.logsumexp(x, axis=1)))
    # scipy's softmax reduces over every axis by default; nn's over the last
    e = np.exp(x.astype(np.float64))
    close(sp.softmax(x), e / e.sum(), rtol=1e-5)
    close(sp.log_softmax(x, axis=0), np.log(e / e.sum(0)), rtol=1e-5, atol=1e-6)


def test_lax_special_primitives():
    # the igamma family and bessel functions are also ember.core.lax functions
    close(lax.igamma(np.float32(1.0), np.float32(1.0)), 1 - math.exp(-1))
    close(lax.igammac(np.float32(2.0), np.float32(1.0)), 2 * math.exp(-1), rtol=1e-5)
    close(lax.bessel_i0e(np.float32(1.0)), 1.2660658777520082 * math.exp(-1))
    # d/da P(a, x) by central differences in float64 arithmetic on float32 values
    a, x, h = 2.0, 1.5, 1e-2
    fd = (float(lax.igamma(np.float32(a + h), np.float32(x)))
          - float(lax.igamma(np.float32(a - h), np.float32(x)))) / (2 * h)
    close(lax.igamma_grad_a(np.float32(a), np.float32(x)), fd, rtol=2e-3)
    # half precision is computed in float32
    assert lax.igamma(np.float16(1.0), np.float16(1.0)).dtype == jnp.float16


# ----------------------------------------------------------------------------------------------
# Against SciPy, when it is installed

def test_against_scipy():
    ss = pytest.importorskip("scipy.special")
    a = RNG.uniform(0.05, 30, 200).astype(np.float32)
    x = RNG.uniform(0.0, 40, 200).astype(np.float32)
    close(sp.gammainc(a, x), ss.gammainc(a, x), rtol=2e-4, atol=1e-6)
    close(sp.gammaincc(a, x), ss.gammaincc(a, x), rtol=2e-4, atol=1e-6)
    z = np.linspace(-30, 30, 61).astype(np.float32)
    close(sp.i0e(z), ss.i0e(z), rtol=1e-5)
    close(sp.i1e(z), ss.i1e(z), rtol=1e-5, atol=1e-7)
    t = np.linspace(-38, 9, 95).astype(np.float32)
    close(sp.log_ndtr(t), ss.log_ndtr(t.astype(np.float64)), rtol=1e-5, atol=1e-6)
    p = np.concatenate([np.logspace(-30, -1, 20), np.linspace(0.1, 0.9, 9), 1 - np.logspace(-7, -1, 10)])
    p = p.astype(np.float32)
    close(sp.ndtri(p), ss.ndtri(p.astype(np.float64)), rtol=1e-4)
    close(sp.zeta(POS + 1.5, POS), ss.zeta(POS + 1.5, POS), rtol=1e-5)
    close(sp.digamma(POS), ss.digamma(POS), rtol=1e-5)
    close(sp.polygamma(3, POS), ss.polygamma(3, POS), rtol=1e-5)
    big_a, big_b = np.float32(3.0), np.float32(1e6)
    close(sp.betaln(big_a, big_b), ss.betaln(3.0, 1e6), rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# Gradients, jit, vmap

@pytest.mark.parametrize("name, args", [
    ("erf", (X,)), ("erfc", (X,)), ("erfinv", (2 * P - 1,)), ("gammaln", (POS,)), ("digamma", (POS,)),
    ("expit", (X,)), ("logit", (P,)), ("ndtr", (X,)), ("ndtri", (P,)), ("log_ndtr", (X,)), ("entr", (P,)),
    ("i0e", (X,)), ("i1e", (X,)), ("i0", (X,)), ("i1", (X,)), ("gamma", (POS,)), ("betaln", (POS, POS[::-1])),
    ("xlogy", (P, POS)), ("xlog1py", (P, P)), ("rel_entr", (P, P[::-1])), ("kl_div", (P, P[::-1])),
])
def test_gradients(name, args):
    check_grads(getattr(sp, name), args, order=2)


def test_gradients_of_special_cases():
    # d/dx x log y at x == 0 is log y; d/dy is x / y
    assert float(ec.grad(lambda a: sp.xlogy(a, 2.0))(0.0)) == pytest.approx(math.log(2.0))
    assert float(ec.grad(lambda b: sp.xlogy(3.0, b))(2.0)) == pytest.approx(1.5)
    assert float(ec.grad(lambda a: sp.xlog1py(a, 1.0))(0.0)) == pytest.approx(math.log(2.0))
    # log_ndtr far in the left tail: d/dx = pdf / cdf ~ -x
    g = _a(ec.grad(lambda v: sp.log_ndtr(v).sum())(np.array([-30.0, -12.0, 0.0, 7.0], np.float32)))
    np.testing.assert_allclose(g[:2], [30.0332, 12.0813], rtol=1e-3)
    np.testing.assert_allclose(g[2], 2 / math.sqrt(2 * math.pi), rtol=1e-5)
    # incomplete gamma: d/dx P(a, x) = x^(a-1) e^-x / Gamma(a); d/da through igamma_grad_a
    gx = float(ec.grad(lambda v: sp.gammainc(1.5, v))(2.0))
    assert gx == pytest.approx(2.0 ** 0.5 * math.exp(-2.0) / math.gamma(1.5), rel=1e-5)
    check_grads(lambda a, v: sp.gammainc(a, v), (POS, POS[::-1]), order=1)
    check_grads(lambda a, v: sp.gammaincc(a, v), (POS, POS[::-1]), order=1)
    check_grads(lambda q: sp.zeta(3.0, q), (POS,), order=2)
    check_grads(lambda v: sp.logsumexp(v, b=P), (X,), order=2)


def test_jit_and_vmap():
    for fn in (sp.gammainc, sp.xlogy, sp.betaln):
        expected = _a(fn(POS, POS[::-1]))
        np.testing.assert_allclose(_a(ec.jit(fn)(POS, POS[::-1])), expected, rtol=1e-6)
        np.testing.assert_allclose(_a(ec.vmap(fn)(POS, POS[::-1])), expected, rtol=1e-5)
    np.testing.assert_allclose(_a(ec.vmap(sp.log_ndtr)(X)), _a(sp.log_ndtr(X)), rtol=1e-6)
    np.testing.assert_allclose(_a(ec.vmap(lambda v: sp.logsumexp(v))(X.reshape(2, 4))),
                               _a(sp.logsumexp(X.reshape(2, 4), axis=1)), rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="integer"):
        sp.polygamma(1.5, 2.0)
    with pytest.raises(NotImplementedError):
        sp.zeta(2.0)
    with pytest.raises(TypeError):
        sp.ndtr(np.array([1, 2], np.int32))
    with pytest.raises(ValueError):
        sp.gamma(np.complex64(1 + 1j))
