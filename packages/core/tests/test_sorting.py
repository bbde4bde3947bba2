"""Sorting primitives (primitives/sorting.py): sort, sort_key_val, top_k, and the gather/scatter
along an axis that their derivatives use."""

import numpy as np
import pytest

import ember.core as ec
import ember.core.lax as lax
from ember.core._src.primitives import sorting
from ember.core.test_util import check_grads

rng = np.random.default_rng(3)
X = rng.standard_normal((3, 5)).astype(np.float32)


def test_sort_matches_numpy():
    for dim in (0, 1, -1):
        np.testing.assert_array_equal(lax.sort(X, dim), np.sort(X, dim))
    i = rng.integers(-3, 3, (4, 6)).astype(np.int8)
    np.testing.assert_array_equal(lax.sort(i, 0), np.sort(i, 0))
    u = rng.integers(0, 255, (9,)).astype(np.uint8)
    np.testing.assert_array_equal(lax.sort(u), np.sort(u))
    np.testing.assert_array_equal(lax.sort(np.array([True, False, True])), [False, True, True])


def test_float_order_nans_last_zeros_equal():
    x = np.array([0.0, -0.0, np.nan, -np.nan, 1.0, -np.inf, np.inf], np.float32)
    out = np.asarray(lax.sort(x))
    np.testing.assert_array_equal(out[:5], [-np.inf, 0.0, 0.0, 1.0, np.inf])
    assert np.isnan(out[5:]).all()
    # -0.0 and 0.0 compare equal (as in JAX and NumPy): a stable sort keeps them in input order
    assert np.signbit(out[1:3]).tolist() == [False, True]
    np.testing.assert_array_equal(sorting.argsort(x), np.argsort(x, kind="stable"))


def test_complex_sorts_lexicographically():
    c = np.array([1 + 2j, 1 + 1j, 0 + 5j, -1 - 1j], np.complex64)
    np.testing.assert_array_equal(lax.sort(c), np.sort(c))


def test_multiple_operands_and_num_keys():
    k = np.array([2, 1, 2, 1, 0], np.int32)
    k2 = np.array([0, 5, -1, 3, 9], np.int32)
    v = np.arange(5, dtype=np.float32)
    sk, sv = lax.sort_key_val(k, v)
    np.testing.assert_array_equal(sk, [0, 1, 1, 2, 2])
    np.testing.assert_array_equal(sv, [4, 1, 3, 0, 2])  # stable: ties keep their order
    a, b, c = lax.sort((k, k2, v), num_keys=2)
    order = np.lexsort((k2, k))
    np.testing.assert_array_equal(a, k[order])
    np.testing.assert_array_equal(b, k2[order])
    np.testing.assert_array_equal(c, v[order])


def test_argsort_helper_descending_is_stable():
    x = np.array([3, 1, 3, 2, 1], np.int32)
    np.testing.assert_array_equal(sorting.argsort(x), [1, 4, 3, 0, 2])
    np.testing.assert_array_equal(sorting.argsort(x, descending=True), [0, 2, 3, 1, 4])


def test_top_k():
    values, indices = lax.top_k(np.array([1.0, np.nan, 3.0, 3.0, -2.0], np.float32), 3)
    assert np.isnan(values[0])
    np.testing.assert_array_equal(values[1:], [3.0, 3.0])
    np.testing.assert_array_equal(indices, [1, 2, 3])
    assert indices.dtype == np.int32
    v, i = lax.top_k(X, 2, axis=0)
    np.testing.assert_array_equal(v, -np.sort(-X, 0)[:2])
    np.testing.assert_array_equal(i, np.argsort(-X, 0, kind="stable")[:2])
    v, i = lax.top_k(X, 0)
    assert v.shape == (3, 0) and i.shape == (3, 0)


def test_take_and_scatter_along_axis():
    idx = np.array([[0, 0, 4], [1, 2, 3], [4, 4, 4]], np.int32)
    np.testing.assert_array_equal(sorting.take_along_axis(X, idx, 1), np.take_along_axis(X, idx, 1))
    zeros = np.zeros_like(X)
    upd = np.ones((3, 3), np.float32)
    expected = zeros.copy()
    for r in range(3):
        np.add.at(expected[r], idx[r], upd[r])
    np.testing.assert_array_equal(sorting.scatter_add_along_axis(zeros, idx, upd, 1), expected)
    check_grads(lambda x, u: sorting.scatter_add_along_axis(x, idx, u, 1), (X, upd), order=2)


def test_gradients_second_order():
    check_grads(lambda v: lax.sort(v, 1), (X,), order=2)
    check_grads(lambda v: lax.sort(v, 0), (X,), order=2)
    check_grads(lambda v: lax.top_k(v, 3)[0], (X,), order=2)
    check_grads(lambda k, v: lax.sort_key_val(k, v)[1], (X, X * 3), order=2)
    # the gradient of the minimum through sort goes to the argmin
    g = ec.grad(lambda v: lax.sort(v)[0])(np.array([3.0, 1.0, 2.0], np.float32))
    np.testing.assert_array_equal(g, [0, 1, 0])


def test_vmap_matches_loop():
    fs = [lambda v: lax.sort(v), lambda v: lax.top_k(v, 2)[1], lambda v: lax.sort_key_val(v, -v)[1],
          lambda v: sorting.take_along_axis(v, np.array([2, 0], np.int32), 0)]
    for f in fs:
        for in_axis in (0, 1):
            moved = np.moveaxis(X, in_axis, 0)
            expected = np.stack([np.asarray(f(m)) for m in moved])
            np.testing.assert_array_equal(ec.vmap(f, in_axes=in_axis)(X), expected)
    # an unbatched key with batched values
    keys = np.array([2.0, 0.0, 1.0, 3.0, -1.0], np.float32)
    out = ec.vmap(lambda v: lax.sort_key_val(keys, v)[1])(X)
    np.testing.assert_array_equal(out, X[:, np.argsort(keys)])


def test_jit_matches_eager():
    def f(x):
        return lax.sort(x, 0), lax.top_k(x, 2), lax.sort_key_val(x, x * 2, 1)
    a, b = ec.jit(f)(X), f(X)
    for u, v in zip(ec.tree.leaves(a), ec.tree.leaves(b)):
        np.testing.assert_array_equal(u, v)


def test_errors():
    with pytest.raises(TypeError, match=r"lax.sort: operands must have the same shape, got \(3, 5\) \(operand 0\) "
                                        r"and \(5,\) \(operand 1\)"):
        lax.sort((X, X[0]))
    with pytest.raises(ValueError, match=r"lax.sort: dimension 2 is out of bounds"):
        lax.sort(X, 2)
    with pytest.raises(ValueError, match=r"lax.sort: num_keys must be between 1 and the number of operands \(2\)"):
        lax.sort((X, X), num_keys=3)
    with pytest.raises(ValueError, match=r"lax.top_k: k must be between 0 and the size 5"):
        lax.top_k(X, 6)
    with pytest.raises(TypeError, match=r"lax.top_k: complex"):
        lax.top_k(X.astype(np.complex64), 1)
    with pytest.raises(ValueError, match=r"lax.top_k: k must be non-negative"):
        lax.top_k(X, -1)
    with pytest.raises(TypeError, match=r"take_along_axis: indices of shape \(2, 2\) must match"):
        sorting.take_along_axis(X, np.zeros((2, 2), np.int32), 1)
