"""Elementwise primitives: values against NumPy, derivatives against finite differences,
batching against a loop, and the errors for bad operands."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember.core as ec
from ember.core import lax
from ember.core.test_util import check_grads

RNG = np.random.default_rng(0)
X = RNG.uniform(0.2, 0.9, size=(3, 4)).astype(np.float32)
Y = RNG.uniform(0.3, 1.2, size=(3, 4)).astype(np.float32)

# (lax function, numpy reference, domain of x)
UNARY = [
    (lax.exp, np.exp), (lax.exp2, np.exp2), (lax.log, np.log), (lax.log1p, np.log1p),
    (lax.expm1, np.expm1), (lax.tanh, np.tanh), (lax.logistic, lambda x: 1 / (1 + np.exp(-x))),
    (lax.sin, np.sin), (lax.cos, np.cos), (lax.tan, np.tan), (lax.asin, np.arcsin), (lax.acos, np.arccos),
    (lax.atan, np.arctan), (lax.sinh, np.sinh), (lax.cosh, np.cosh), (lax.asinh, np.arcsinh),
    (lax.atanh, np.arctanh), (lax.sqrt, np.sqrt), (lax.rsqrt, lambda x: 1 / np.sqrt(x)), (lax.cbrt, np.cbrt),
    (lax.neg, np.negative), (lax.abs, np.abs), (lax.square, np.square),
    (lax.erf, np.vectorize(math.erf)), (lax.erfc, np.vectorize(math.erfc)),
    (lax.lgamma, np.vectorize(math.lgamma)),
]
BINARY = [
    (lax.add, np.add), (lax.sub, np.subtract), (lax.mul, np.multiply), (lax.div, np.divide),
    (lax.pow, np.power), (lax.max, np.maximum), (lax.min, np.minimum), (lax.atan2, np.arctan2),
    (lax.rem, np.fmod),
]


def test_unary_values_match_numpy():
    fns = [f for f, _ in UNARY]
    outs = ec.jit(lambda x: [f(x) for f in fns])(X)
    for (f, ref), out in zip(UNARY, outs):
        np.testing.assert_allclose(np.asarray(out), ref(X.astype(np.float64)), rtol=2e-5, atol=2e-6,
                                   err_msg=f.__name__)


def test_unary_eager_matches_jit():
    for f, ref in UNARY[:6]:
        np.testing.assert_allclose(np.asarray(f(X)), ref(X.astype(np.float64)), rtol=2e-5, atol=2e-6)


def test_acosh_digamma_erf_inv():
    z = X + 1.5
    np.testing.assert_allclose(np.asarray(lax.acosh(z)), np.arccosh(z), rtol=1e-5)
    # digamma(1) = -euler_gamma, digamma(0.5) = -gamma - 2 ln 2
    d = np.asarray(lax.digamma(np.float32([1.0, 0.5])))
    np.testing.assert_allclose(d, [-0.5772157, -0.5772157 - 2 * math.log(2)], rtol=1e-5)
    e = np.asarray(lax.erf_inv(np.float32([0.0, 0.5, -0.9])))
    np.testing.assert_allclose(np.vectorize(math.erf)(e), [0.0, 0.5, -0.9], atol=1e-6)


def test_binary_values_match_numpy():
    fns = [f for f, _ in BINARY]
    outs = ec.jit(lambda x, y: [f(x, y) for f in fns])(X, Y)
    for (f, ref), out in zip(BINARY, outs):
        np.testing.assert_allclose(np.asarray(out), ref(X.astype(np.float64), Y), rtol=2e-5, atol=1e-6,
                                   err_msg=f.__name__)


@pytest.mark.parametrize("f", [f for f, _ in UNARY if f not in (lax.acos, lax.asin)])
def test_unary_gradients(f):
    check_grads(f, (X[0],), order=2)


def test_arcsin_arccos_gradients():
    check_grads(lax.asin, (X[0] * 0.5,), order=2)
    check_grads(lax.acos, (X[0] * 0.5,), order=2)


@pytest.mark.parametrize("f", [f for f, _ in BINARY])
def test_binary_gradients(f):
    check_grads(f, (X[0], Y[0]), order=2)


def test_max_min_split_ties_evenly():
    x = np.float32([1.0, 2.0])
    ga, gb = ec.grad(lambda a, b: lax.reduce_sum(lax.max(a, b), (0,)), argnums=(0, 1))(x, x)
    np.testing.assert_allclose(np.asarray(ga), [0.5, 0.5])
    np.testing.assert_allclose(np.asarray(gb), [0.5, 0.5])


def test_integer_pow_and_its_gradient():
    for n in (0, 1, 2, 3, -2, 5):
        np.testing.assert_allclose(np.asarray(lax.integer_pow(X, n)), X.astype(np.float64) ** n, rtol=1e-5)
    check_grads(lambda x: lax.integer_pow(x, 3), (X[0],), order=2)
    check_grads(lambda x: lax.integer_pow(x, -2), (X[0],), order=2)


def test_pow_gradient_at_zero_base_and_zero_exponent():
    # d/dx x**0 == 0 even at x == 0; d/dy 0**y == 0 for y > 0
    gx = ec.grad(lambda x: lax.pow(x, np.float32(0.0)))(np.float32(0.0))
    gy = ec.grad(lambda y: lax.pow(np.float32(0.0), y))(np.float32(2.0))
    assert float(gx) == 0.0 and float(gy) == 0.0


def test_comparisons_and_logic():
    a = np.int32([1, 2, 3, -4])
    b = np.int32([3, 2, 1, -4])
    outs = ec.jit(lambda a, b: [lax.eq(a, b), lax.ne(a, b), lax.lt(a, b), lax.le(a, b), lax.gt(a, b),
                                lax.ge(a, b), lax.bitwise_and(a, b), lax.bitwise_or(a, b),
                                lax.bitwise_xor(a, b), lax.bitwise_not(a), lax.shift_left(a, np.int32(1)),
                                lax.shift_right_arithmetic(a, np.int32(1)), lax.population_count(a),
                                lax.clz(a)])(a, b)
    expected = [a == b, a != b, a < b, a <= b, a > b, a >= b, a & b, a | b, a ^ b, ~a, a << 1, a >> 1,
                [1, 1, 2, 30], [31, 30, 30, 0]]
    for out, ref in zip(outs, expected):
        np.testing.assert_array_equal(np.asarray(out), np.asarray(ref))
    u = np.uint32([8, 16])
    np.testing.assert_array_equal(np.asarray(lax.shift_right_logical(u, np.uint32(2))), u >> 2)


def test_unsigned_comparison_uses_unsigned_order():
    u = np.uint32([0, 2**31 + 5])
    v = np.uint32([1, 3])
    np.testing.assert_array_equal(np.asarray(lax.lt(u, v)), u < v)


def test_select_n_and_clamp():
    pred = np.array([True, False, True])
    a, b = np.float32([1, 2, 3]), np.float32([10, 20, 30])
    np.testing.assert_array_equal(np.asarray(lax.select(pred, a, b)), np.where(pred, a, b))
    which = np.int32([0, 2, 1])
    c = np.float32([100, 200, 300])
    np.testing.assert_array_equal(np.asarray(lax.select_n(which, a, b, c)), [1, 200, 30])
    np.testing.assert_array_equal(np.asarray(lax.clamp(np.float32(1.5), a, np.float32(2.5))), [1.5, 2, 2.5])
    check_grads(lambda x, y: lax.select(pred, x, y), (a, b), order=2)
    check_grads(lambda x: lax.clamp(np.float32(1.5), x, np.float32(2.5)), (np.float32([1.0, 2.0, 3.0]),))


def test_rounding():
    x = np.float32([-2.5, -1.5, -0.5, 0.5, 1.5, 2.7])
    np.testing.assert_array_equal(np.asarray(lax.floor(x)), np.floor(x))
    np.testing.assert_array_equal(np.asarray(lax.ceil(x)), np.ceil(x))
    np.testing.assert_array_equal(np.asarray(lax.round(x)), [-3, -2, -1, 1, 2, 3])
    np.testing.assert_array_equal(np.asarray(lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN)), np.round(x))
    np.testing.assert_array_equal(np.asarray(lax.sign(x)), np.sign(x))
    assert float(ec.grad(lax.floor)(np.float32(1.3))) == 0.0


def test_complex_parts():
    z = np.complex64([1 + 2j, -3 + 0.5j])
    np.testing.assert_allclose(np.asarray(lax.real(z)), z.real)
    np.testing.assert_allclose(np.asarray(lax.imag(z)), z.imag)
    np.testing.assert_allclose(np.asarray(lax.conj(z)), np.conj(z))
    np.testing.assert_allclose(np.asarray(lax.complex(z.real, z.imag)), z)
    np.testing.assert_allclose(np.asarray(lax.abs(z)), np.abs(z), rtol=1e-6)
    assert lax.abs(z).dtype == np.float32
    # d|z|/dz along a real direction
    check_grads(lambda re: lax.abs(lax.complex(re, np.float32([2.0, 0.5]))), (np.float32([1.0, -3.0]),))


def test_convert_element_type():
    x = np.float32([1.7, -2.2, 0.0])
    np.testing.assert_array_equal(np.asarray(lax.convert_element_type(x, np.int32)), [1, -2, 0])
    np.testing.assert_array_equal(np.asarray(lax.convert_element_type(x, np.bool_)), [True, True, False])
    np.testing.assert_array_equal(np.asarray(lax.convert_element_type(np.array([True, False]), np.float32)), [1, 0])
    b = lax.convert_element_type(x, "bfloat16")
    assert b.dtype.name == "bfloat16"
    np.testing.assert_allclose(np.asarray(lax.convert_element_type(b, np.float32)), x, rtol=1e-2)
    _, t = ec.jvp(lambda v: lax.convert_element_type(v, np.float16), (x,), (np.float32([1.0, 2.0, 3.0]),))
    assert t.dtype == np.float16 and np.asarray(t).tolist() == [1.0, 2.0, 3.0]
    (ct,) = ec.vjp(lambda v: lax.convert_element_type(v, np.float16), x)[1](np.float16([1, 1, 2]))
    assert ct.dtype == np.float32 and np.asarray(ct).tolist() == [1.0, 1.0, 2.0]
    # integer outputs have no tangent
    assert float(ec.grad(lambda v: lax.convert_element_type(lax.convert_element_type(v, np.int32), np.float32))(
        np.float32(2.5))) == 0.0


def test_bitcast_convert_type():
    x = np.float32([1.0, -2.0])
    np.testing.assert_array_equal(np.asarray(lax.bitcast_convert_type(x, np.int32)), x.view(np.int32))
    halves = lax.bitcast_convert_type(x, np.uint16)
    assert halves.shape == (2, 2)
    np.testing.assert_array_equal(np.asarray(lax.bitcast_convert_type(halves, np.float32)), x)


def test_python_scalar_operands_take_the_array_dtype():
    y = lax.add(np.float16([1, 2]), 1.5)
    assert y.dtype == np.float16
    np.testing.assert_allclose(np.asarray(y), [2.5, 3.5])


def test_vmap_of_elementwise_matches_loop():
    xs = RNG.normal(size=(5, 3)).astype(np.float32)
    ys = RNG.normal(size=(3,)).astype(np.float32)
    f = lambda a, b: lax.mul(lax.sin(a), lax.exp(b))  # noqa: E731
    out = ec.vmap(f, in_axes=(0, None))(xs, ys)
    np.testing.assert_allclose(np.asarray(out), np.stack([np.sin(x) * np.exp(ys) for x in xs]), rtol=1e-5)
    out_t = ec.vmap(f, in_axes=(1, None), out_axes=1)(xs.T.copy(), ys)
    np.testing.assert_allclose(np.asarray(out_t), (np.sin(xs) * np.exp(ys)).T, rtol=1e-5)


def test_errors_name_the_operation_and_operands():
    with pytest.raises(TypeError, match=r"lax\.add: operands must have the same dtype, got float32 .* int32"):
        lax.add(np.float32([1.0]), np.int32([1]))
    with pytest.raises(TypeError, match=r"lax\.mul: operands must have the same shape, got \(2,\) .* \(3,\)"):
        lax.mul(np.ones(2, np.float32), np.ones(3, np.float32))
    with pytest.raises(TypeError, match=r"lax\.exp: expected a floating-point or complex array, got int32"):
        lax.exp(np.int32([1]))
    with pytest.raises(TypeError, match=r"lax\.and: expected an integer or boolean array \(operand 0\), got float32"):
        lax.bitwise_and(np.float32([1.0]), np.float32([1.0]))
