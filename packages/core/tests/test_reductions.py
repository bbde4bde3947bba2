"""lax reductions (primitives/reductions.py): numerics against NumPy, derivatives, vmap, jit, errors."""

import numpy as np
import pytest

import ember.core as ec
import ember.core.lax as lax
from ember.core.test_util import check_grads

rng = np.random.default_rng(0)
X = rng.standard_normal((3, 4, 5)).astype(np.float32)
I = rng.integers(-5, 6, (3, 4, 5)).astype(np.int32)
B = rng.random((3, 4, 5)) > 0.5


@pytest.mark.parametrize("axes", [(0,), (1, 2), (0, 1, 2), (), (-1,)])
def test_monoid_reductions_match_numpy(axes):
    np_axes = tuple(a % 3 for a in axes)
    np.testing.assert_allclose(lax.reduce_sum(X, axes), X.sum(np_axes), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(lax.reduce_prod(X, axes), X.prod(np_axes), rtol=1e-5)
    np.testing.assert_array_equal(lax.reduce_max(X, axes), X.max(np_axes) if axes else X)
    np.testing.assert_array_equal(lax.reduce_min(I, axes), I.min(np_axes) if axes else I)
    np.testing.assert_array_equal(lax.reduce_and(I, axes), np.bitwise_and.reduce(I, np_axes) if axes else I)
    np.testing.assert_array_equal(lax.reduce_or(B, axes), B.any(np_axes) if axes else B)
    np.testing.assert_array_equal(lax.reduce_xor(I, axes), np.bitwise_xor.reduce(I, np_axes) if axes else I)


def test_boolean_sum_and_prod_are_or_and():
    np.testing.assert_array_equal(lax.reduce_sum(B, (1,)), B.any(1))
    np.testing.assert_array_equal(lax.reduce_prod(B, (1,)), B.all(1))


def test_identities_of_empty_reductions():
    empty = np.zeros((2, 0), np.float32)
    np.testing.assert_array_equal(lax.reduce_max(empty, (1,)), [-np.inf, -np.inf])
    np.testing.assert_array_equal(lax.reduce_min(empty, (1,)), [np.inf, np.inf])
    np.testing.assert_array_equal(lax.reduce_prod(empty, (1,)), [1, 1])
    np.testing.assert_array_equal(lax.reduce_max(np.zeros((0,), np.int8), (0,)), -128)
    np.testing.assert_array_equal(lax.reduce_and(np.zeros((0,), np.uint8), (0,)), 255)


def test_max_identity_for_floats_without_infinity():
    import ml_dtypes
    empty = np.zeros((0,), ml_dtypes.float8_e4m3fn)
    assert float(lax.reduce_max(empty, (0,))) == float(ml_dtypes.finfo(ml_dtypes.float8_e4m3fn).min)


def test_argmax_argmin_match_numpy_with_ties_and_nans():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [np.nan, 2.0, np.nan, 5.0], [-1.0, -1.0, -1.0, -1.0]], np.float32)
    np.testing.assert_array_equal(lax.argmax(x, 1, np.int32), np.argmax(x, 1))
    np.testing.assert_array_equal(lax.argmin(x, 1, np.int32), np.argmin(x, 1))
    np.testing.assert_array_equal(lax.argmax(I, 0, np.int32), np.argmax(I, 0))
    np.testing.assert_array_equal(lax.argmin(I, 2, np.int32), np.argmin(I, 2))
    big = np.full((1000,), np.nan, np.float32)  # all NaN: the first index
    assert int(lax.argmax(big, 0, np.int32)) == 0
    assert lax.argmax(X, 1, np.int16).dtype == np.int16


def test_gradients():
    x = X[:, :, :3]
    check_grads(lambda v: lax.reduce_sum(v, (0, 2)), (x,), order=2)
    check_grads(lambda v: lax.reduce_max(v, (1,)), (x,), order=2)
    check_grads(lambda v: lax.reduce_min(v, (0, 2)), (x,), order=2)
    check_grads(lambda v: lax.reduce_prod(v, (1, 2)), (x * 0.5 + 1.0,), order=2)


def test_prod_gradient_with_zeros():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0]], np.float32)
    check_grads(lambda v: lax.reduce_prod(v, (1,)), (x,), order=2)
    g = ec.grad(lambda v: lax.reduce_sum(lax.reduce_prod(v, (1,)), (0,)))(x)
    np.testing.assert_allclose(g, [[0, 6, 0], [0, 0, 0]])


def test_max_gradient_splits_ties():
    g = ec.grad(lambda v: lax.reduce_max(v, (0,)))(np.array([1.0, 3.0, 3.0], np.float32))
    np.testing.assert_allclose(g, [0, 0.5, 0.5])


def test_vmap_matches_loop():
    for f in (lambda v: lax.reduce_sum(v, (1,)), lambda v: lax.reduce_max(v, (0, 1)),
              lambda v: lax.argmax(v, 1, np.int32), lambda v: lax.argmin(v, 0, np.int32)):
        for in_axis in (0, 2):
            moved = np.moveaxis(X, in_axis, 0)
            expected = np.stack([np.asarray(f(m)) for m in moved])
            np.testing.assert_allclose(ec.vmap(f, in_axes=in_axis)(X), expected, rtol=1e-6)


def test_jit_matches_eager():
    def f(x, i):
        return (lax.reduce_sum(x, (0,)), lax.reduce_max(x, (1, 2)), lax.reduce_xor(i, (2,)),
                lax.argmin(x, 2, np.int32), lax.reduce_prod(x, (0, 1)))
    for a, b in zip(ec.jit(f)(X, I), f(X, I)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"lax.reduce_sum: axis 3 is out of bounds .*\(3, 4, 5\)"):
        lax.reduce_sum(X, (3,))
    with pytest.raises(ValueError, match=r"lax.reduce_max: duplicate axes"):
        lax.reduce_max(X, (0, 0))
    with pytest.raises(TypeError, match=r"lax.reduce_and: expected an integer or boolean array, got float32"):
        lax.reduce_and(X, (0,))
    with pytest.raises(TypeError, match=r"lax.argmax: complex"):
        lax.argmax(X.astype(np.complex64), 0, np.int32)
    with pytest.raises(TypeError, match=r"lax.argmin: index_dtype must be an integer"):
        lax.argmin(X, 0, np.float32)
    with pytest.raises(ValueError, match=r"lax.argmax: cannot take the argmax of an empty axis"):
        lax.argmax(np.zeros((2, 0), np.float32), 1, np.int32)
