"""dot_general, lax.dot, lax.batch_matmul and Precision: numerics, dtype rules, JVP/transpose,
batching, lowering."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.test_util import check_grads

TOL = dict(atol=1e-4, rtol=1e-4)


def _np_dot_general(x, y, dims):
    """Reference: einsum spelling of dot_general with XLA's output order."""
    (lc, rc), (lb, rb) = dims
    letters = iter("abcdefghijklmnop")
    xs = [next(letters) for _ in range(x.ndim)]
    ys = [None] * y.ndim
    for l, r in zip(lc, rc):
        ys[r] = xs[l]
    for l, r in zip(lb, rb):
        ys[r] = xs[l]
    ys = [c if c is not None else next(letters) for c in ys]
    out = [xs[i] for i in lb]
    out += [xs[i] for i in range(x.ndim) if i not in lc and i not in lb]
    out += [ys[i] for i in range(y.ndim) if i not in rc and i not in rb]
    return np.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)


CASES = [
    ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),           # matmul
    ((4,), (4,), (((0,), (0,)), ((), ()))),               # inner product
    ((3,), (4,), (((), ()), ((), ()))),                   # outer product
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),  # batched matmul
    ((3, 2, 4), (4, 5, 2), (((2,), (0,)), ((1,), (2,)))),  # batch dims not leading
    ((2, 3, 4, 5), (5, 4, 6), (((2, 3), (1, 0)), ((), ()))),  # two contracting dims, permuted
]


@pytest.mark.parametrize("lhs_shape,rhs_shape,dims", CASES)
def test_dot_general_matches_numpy(rng, lhs_shape, rhs_shape, dims):
    x = rng.standard_normal(lhs_shape).astype(np.float32)
    y = rng.standard_normal(rhs_shape).astype(np.float32)
    out = lax.dot_general(x, y, dims)
    np.testing.assert_allclose(np.asarray(out), _np_dot_general(x, y, dims), **TOL)
    jitted = ec.jit(lambda a, b: lax.dot_general(a, b, dims))(x, y)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(out), **TOL)


@pytest.mark.parametrize("lhs_shape,rhs_shape,dims", [CASES[0], CASES[3], CASES[4], CASES[5]])
def test_dot_general_grads(rng, lhs_shape, rhs_shape, dims):
    x = rng.standard_normal(lhs_shape).astype(np.float32)
    y = rng.standard_normal(rhs_shape).astype(np.float32)
    check_grads(lambda a, b: lax.dot_general(a, b, dims), (x, y), order=2, modes=("fwd", "rev"))


def test_dot_general_transpose_formulas(rng):
    # cotangents are the usual matmul ones: dL/dx = g y^T, dL/dy = x^T g
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((4, 5)).astype(np.float32)
    g = rng.standard_normal((3, 5)).astype(np.float32)
    _, f_vjp = ec.vjp(lambda a, b: lax.dot(a, b), x, y)
    gx, gy = f_vjp(g)
    np.testing.assert_allclose(np.asarray(gx), g @ y.T, **TOL)
    np.testing.assert_allclose(np.asarray(gy), x.T @ g, **TOL)


def test_dot_general_complex_grads(rng):
    x = (rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex64)
    y = (rng.standard_normal((3, 2)) + 1j * rng.standard_normal((3, 2))).astype(np.complex64)
    check_grads(lambda a, b: lax.dot(a, b), (x, y), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("in_axes", [(0, None), (None, 0), (0, 0), (1, 2), (2, None), (None, 1)])
def test_dot_general_vmap(rng, in_axes):
    dims = (((2,), (1,)), ((0,), (0,)))
    lhs = rng.standard_normal((2, 3, 4)).astype(np.float32)
    rhs = rng.standard_normal((2, 4, 5)).astype(np.float32)
    n = 6
    xs = np.stack([lhs + i for i in range(n)], axis=in_axes[0]) if in_axes[0] is not None else lhs
    ys = np.stack([rhs - i for i in range(n)], axis=in_axes[1]) if in_axes[1] is not None else rhs
    out = ec.vmap(lambda a, b: lax.dot_general(a, b, dims), in_axes=in_axes)(xs, ys)
    expected = np.stack([
        _np_dot_general(np.take(xs, i, in_axes[0]) if in_axes[0] is not None else xs,
                        np.take(ys, i, in_axes[1]) if in_axes[1] is not None else ys, dims)
        for i in range(n)])
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-3, rtol=1e-4)


def test_vmap_of_grad_of_dot(rng):
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    w = rng.standard_normal((2, 5)).astype(np.float32)
    f = lambda a, b: lax.reduce_sum(lax.dot(a, b), (0, 1))
    out = ec.vmap(ec.grad(f, 1), in_axes=(0, None))(x, w)
    expected = np.stack([np.broadcast_to(xi.sum(0)[:, None], (2, 5)) for xi in x])
    np.testing.assert_allclose(np.asarray(out), expected, **TOL)


def test_mixed_dtypes_and_preferred_element_type():
    x = np.ones((2, 3), np.float32)
    assert lax.dot(x, np.ones((3, 2), np.float16)).dtype == np.float32  # the more precise type wins
    assert lax.dot(x, np.ones((3, 2), np.int32)).dtype == np.float32
    i8 = np.ones((2, 3), np.int8)
    out = lax.dot(i8, i8.T, preferred_element_type=np.int32)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(out), np.full((2, 2), 3))
    # XLA's ordering: bfloat16 has the wider exponent, int32 beats uint32, any int beats bool
    assert lax.dot(np.ones((2, 3), np.float16), np.ones((3, 2), jnp.bfloat16)).dtype == jnp.bfloat16
    assert lax.dot(np.ones((2, 3), np.int32), np.ones((3, 2), np.uint32)).dtype == np.int32
    assert lax.dot(np.ones((2, 3), bool), np.ones((3, 2), np.int8)).dtype == np.int8
    with pytest.raises(TypeError, match="narrower"):
        lax.dot(np.ones((2, 3), np.int32), np.ones((3, 2), np.int32), preferred_element_type=np.int8)


def test_dot_general_errors():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(TypeError, match=r"lax\.dot_general: contracting dimensions must have equal sizes"):
        lax.dot_general(x, x, (((1,), (0,)), ((), ())))
    with pytest.raises(TypeError, match="out of range"):
        lax.dot_general(x, x, (((2,), (1,)), ((), ())))
    with pytest.raises(TypeError, match="same number of contracting"):
        lax.dot_general(x, x, (((0, 1), (1,)), ((), ())))
    with pytest.raises(TypeError, match="both batch and contracting"):
        lax.dot_general(x, x, (((0,), (0,)), ((0,), (0,))))
    with pytest.raises(TypeError, match=r"lax\.dot: dimension_numbers must be given"):
        lax.dot(np.ones((2, 2, 2), np.float32), x)
    with pytest.raises(ValueError, match="precision"):
        lax.dot(x, x.T, precision="bogus")


def test_precision_lowering(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    assert lax.Precision("highest") is lax.Precision.HIGHEST
    assert lax.canonicalize_precision("tensorfloat32") == (lax.Precision.HIGH, lax.Precision.HIGH)
    text = ec.jit(lambda a, b: lax.dot(a, b, precision=(lax.Precision.HIGH, "highest"))).lower(x, x.T).as_text()
    assert "precision = [HIGH, HIGHEST]" in text
    default = ec.jit(lambda a, b: lax.dot(a, b)).lower(x, x.T).as_text()
    assert "precision = [DEFAULT, DEFAULT]" in default


def test_matmul_operator_is_one_dot_general(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((4, 2)).astype(np.float32)
    text = ec.jit(lambda a, b: a @ b).lower(x, y).as_text()
    body = [line for line in text.splitlines() if "=" in line and "func.func" not in line]
    assert len(body) == 1 and "stablehlo.dot_general" in body[0], text
    np.testing.assert_allclose(np.asarray(jnp.asarray(x) @ y), x @ y, **TOL)


def test_batch_matmul(rng):
    a = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    b = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(lax.batch_matmul(a, b)), a @ b, **TOL)
    with pytest.raises(ValueError, match="batch_matmul"):
        lax.batch_matmul(a, b[0])


def test_dot_weak_types():
    out = lax.dot_general(jnp.asarray(2.0), jnp.asarray(3.0), (((), ()), ((), ())))
    assert float(out) == 6.0
