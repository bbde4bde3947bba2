"""ec.numpy sorting, searching, counting and set operations (numpy/searching.py)."""

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core.test_util import check_grads

rng = np.random.default_rng(5)
X = rng.standard_normal((3, 6)).astype(np.float32)
I = rng.integers(0, 6, (4, 7)).astype(np.int32)


def test_sort_argsort_lexsort():
    for axis in (0, -1, None):
        np.testing.assert_array_equal(jnp.sort(X, axis=axis), np.sort(X, axis=axis))
        np.testing.assert_array_equal(jnp.argsort(I, axis=axis), np.argsort(I, axis=axis, kind="stable"))
    np.testing.assert_array_equal(jnp.sort(I, descending=True), -np.sort(-I))
    np.testing.assert_array_equal(jnp.argsort(I, axis=0, descending=True), np.argsort(-I, axis=0, kind="stable"))
    assert jnp.argsort(I, dtype=np.int16).dtype == np.int16
    keys = (I[0], I[1], I[2])
    np.testing.assert_array_equal(jnp.lexsort(keys), np.lexsort(keys))
    np.testing.assert_array_equal(jnp.lexsort(I[:2]), np.lexsort(I[:2]))
    np.testing.assert_array_equal(jnp.sort_complex(np.array([3, 1, 2])), np.sort_complex(np.array([3, 1, 2])))
    np.testing.assert_array_equal(jnp.asarray(I).argsort(axis=0), np.argsort(I, axis=0, kind="stable"))


def test_partition():
    x = rng.permutation(10).astype(np.int32)
    for kth in (0, 3, 9, -2):
        out = np.asarray(jnp.partition(x, kth))
        k = kth % 10
        assert out[k] == np.sort(x)[k]
        assert (out[:k] <= out[k]).all() and (out[k + 1:] >= out[k]).all()
        idx = np.asarray(jnp.argpartition(x, kth))
        np.testing.assert_array_equal(np.sort(idx), np.arange(10))
        moved = x[idx]  # a partition too (the upper part in index order, as in JAX)
        assert moved[k] == out[k] and (moved[:k] <= moved[k]).all() and (moved[k + 1:] >= moved[k]).all()
    out = np.asarray(jnp.partition(X, 2, axis=0))
    np.testing.assert_array_equal(out[2], np.sort(X, 0)[2])
    u = np.array([5, 0, 255, 3], np.uint8)
    assert np.asarray(jnp.partition(u, 1))[1] == 3


@pytest.mark.parametrize("method", ["scan", "scan_unrolled", "sort", "compare_all"])
def test_searchsorted_methods(method):
    a = np.sort(rng.integers(0, 10, 17)).astype(np.float32)
    v = np.array([[-1.0, 0.0, 3.5], [9.0, 10.0, np.nan]], np.float32)
    for side in ("left", "right"):
        np.testing.assert_array_equal(jnp.searchsorted(a, v, side=side, method=method),
                                      np.searchsorted(a, v, side=side))
    perm = rng.permutation(17)
    np.testing.assert_array_equal(jnp.searchsorted(a[perm], v, sorter=np.argsort(a[perm], kind="stable"),
                                                   method=method), np.searchsorted(a, v))
    assert jnp.searchsorted(np.zeros(0, np.float32), v, method=method).tolist() == [[0, 0, 0], [0, 0, 0]]


def test_digitize():
    bins = np.array([0.0, 1.0, 2.5, 4.0], np.float32)
    x = np.array([-1.0, 0.0, 1.0, 2.0, 4.0, 5.0], np.float32)
    for right in (False, True):
        np.testing.assert_array_equal(jnp.digitize(x, bins, right=right), np.digitize(x, bins, right=right))
        np.testing.assert_array_equal(jnp.digitize(x, bins[::-1], right=right), np.digitize(x, bins[::-1], right=right))


def test_nonzero_argwhere_flatnonzero():
    m = I % 3 == 0
    for a in (I, m, I[0]):
        for got, want in zip(jnp.nonzero(a), np.nonzero(a)):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(jnp.argwhere(a), np.argwhere(a))
        np.testing.assert_array_equal(jnp.flatnonzero(a), np.flatnonzero(a))
    rows, cols = jnp.nonzero(m, size=30, fill_value=-1)
    n = int(m.sum())
    np.testing.assert_array_equal(rows[:n], np.nonzero(m)[0])
    np.testing.assert_array_equal(cols[n:], -1)
    rows, cols = jnp.nonzero(m, size=2)  # truncated
    np.testing.assert_array_equal(rows, np.nonzero(m)[0][:2])
    assert jnp.argwhere(np.float32(3)).shape == (1, 0)
    np.testing.assert_array_equal(jnp.nonzero(np.zeros(4), size=2)[0], [0, 0])


def test_sized_functions_under_jit():
    @ec.jit
    def f(x):
        return (jnp.nonzero(x, size=5, fill_value=9)[0], jnp.unique(x, size=4, fill_value=-1),
                jnp.bincount(x, length=6), jnp.argwhere(x > 2, size=3), jnp.flatnonzero(x, size=2))
    x = np.array([0, 3, 3, 1, 0, 5], np.int32)
    nz, uq, bc, aw, fz = f(x)
    np.testing.assert_array_equal(nz, [1, 2, 3, 5, 9])
    np.testing.assert_array_equal(uq, [0, 1, 3, 5])
    np.testing.assert_array_equal(bc, [2, 1, 0, 2, 0, 1])
    np.testing.assert_array_equal(aw, [[1], [2], [5]])
    np.testing.assert_array_equal(fz, [1, 2])


def test_unique():
    x = np.array([[3, 1, 3], [2, 1, 7]], np.int32)
    for kw in (dict(), dict(return_index=True), dict(return_inverse=True), dict(return_counts=True),
               dict(return_index=True, return_inverse=True, return_counts=True)):
        got, want = jnp.unique(x, **kw), np.unique(x, **kw)
        for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
            np.testing.assert_array_equal(g, w, err_msg=str(kw))
    rows = np.array([[1, 2], [1, 2], [0, 5], [1, 0]], np.int32)
    for g, w in zip(jnp.unique(rows, axis=0, return_counts=True, return_inverse=True),
                    np.unique(rows, axis=0, return_counts=True, return_inverse=True)):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(jnp.unique(rows, axis=1), np.unique(rows, axis=1))
    f = np.array([3.0, np.nan, np.nan, 1.0, -0.0, 0.0], np.float32)
    np.testing.assert_array_equal(jnp.unique(f), np.unique(f))
    np.testing.assert_array_equal(jnp.unique(f, equal_nan=False), np.unique(f, equal_nan=False))
    # sized: padded with fill_value, the index of the smallest value, zero counts
    values, index, counts = jnp.unique(np.array([3, 1, 3, 2]), size=5, fill_value=0, return_index=True,
                                       return_counts=True)
    assert values.tolist() == [1, 2, 3, 0, 0] and index.tolist() == [1, 3, 0, 1, 1]
    assert counts.tolist() == [1, 1, 2, 0, 0]
    assert jnp.unique(np.array([3, 1, 3, 2]), size=5).tolist() == [1, 2, 3, 1, 1]


def test_array_api_unique():
    x = np.array([2.0, np.nan, 1.0, 2.0, np.nan], np.float32)
    assert jnp.unique_values(x).shape == (4,)  # NaNs are distinct
    counts = jnp.unique_counts(x)
    np.testing.assert_array_equal(counts.counts, [1, 2, 1, 1])
    inv = jnp.unique_inverse(np.array([[2, 1], [1, 3]]))
    np.testing.assert_array_equal(inv.values[inv.inverse_indices], [[2, 1], [1, 3]])
    allr = jnp.unique_all(np.array([5, 5, 4]))
    assert allr.indices.tolist() == [2, 0] and allr.counts.tolist() == [1, 2]


def test_bincount_and_histogram():
    x = np.array([0, 1, 1, 3, 7], np.int32)
    np.testing.assert_array_equal(jnp.bincount(x), np.bincount(x))
    w = rng.random(5).astype(np.float32)
    np.testing.assert_allclose(jnp.bincount(x, weights=w, minlength=10), np.bincount(x, weights=w, minlength=10))
    np.testing.assert_array_equal(jnp.bincount(x, length=4), [1, 2, 0, 1])  # larger values dropped
    a = rng.standard_normal(50).astype(np.float32)
    for bins, rng_ in ((10, None), (4, (-1.0, 1.0)), (np.array([-2.0, -0.5, 0.0, 3.0], np.float32), None)):
        for density in (False, True):
            c, e = jnp.histogram(a, bins=bins, range=rng_, density=density)
            wc, we = np.histogram(a, bins=bins, range=rng_, density=density)
            np.testing.assert_allclose(c, wc, rtol=1e-5)
            np.testing.assert_allclose(e, we, rtol=1e-5, atol=1e-6)
    c, _ = jnp.histogram(a, bins=5, weights=w.repeat(10))
    np.testing.assert_allclose(c, np.histogram(a, bins=5, weights=w.repeat(10))[0], rtol=1e-5)
    np.testing.assert_allclose(jnp.histogram_bin_edges(a, bins=3), np.histogram_bin_edges(a, bins=3), rtol=1e-6)
    np.testing.assert_allclose(jnp.histogram(np.ones(3, np.float32), bins=2)[1], np.histogram(np.ones(3), bins=2)[1])


def test_isin_and_set_operations():
    a = np.array([5, 1, 3, 3, 9, 1], np.int32)
    b = np.array([3, 4, 5, 5], np.int32)
    for method in ("auto", "compare_all", "binary_search", "sort"):
        np.testing.assert_array_equal(jnp.isin(a.reshape(2, 3), b, method=method), np.isin(a.reshape(2, 3), b))
        np.testing.assert_array_equal(jnp.isin(a, b, invert=True, method=method), np.isin(a, b, invert=True))
    np.testing.assert_array_equal(jnp.union1d(a, b), np.union1d(a, b))
    np.testing.assert_array_equal(jnp.setdiff1d(a, b), np.setdiff1d(a, b))
    np.testing.assert_array_equal(jnp.setdiff1d(np.array([3, 1, 2]), b, assume_unique=True),
                                  np.setdiff1d(np.array([3, 1, 2]), b, assume_unique=True))
    np.testing.assert_array_equal(jnp.setxor1d(a, b), np.setxor1d(a, b))
    for g, w in zip(jnp.intersect1d(a, b, return_indices=True), np.intersect1d(a, b, return_indices=True)):
        np.testing.assert_array_equal(g, w)
    # sized versions (usable under jit): padding values as in JAX
    assert jnp.union1d(a, b, size=8).tolist() == [1, 3, 4, 5, 9, 1, 1, 1]
    assert jnp.setdiff1d(a, b, size=4).tolist() == [1, 9, 0, 0]
    assert jnp.setxor1d(a, b, size=5, fill_value=-1).tolist() == [1, 4, 9, -1, -1]
    vals, i1, i2 = ec.jit(lambda x, y: jnp.intersect1d(x, y, return_indices=True, size=3))(a, b)
    assert vals.tolist() == [3, 5, 3] and i1.tolist() == [2, 0, 6] and i2.tolist() == [0, 2, 4]


def test_gradients():
    check_grads(lambda v: jnp.sort(v, axis=0), (X,), order=2)
    check_grads(lambda v: jnp.partition(v, 2, axis=1), (X,), order=1)
    check_grads(lambda v: jnp.histogram(np.linspace(-2, 2, 9).astype(np.float32), bins=3, weights=v)[0],
                (np.ones(9, np.float32),), order=1)


def test_vmap():
    out = ec.vmap(lambda r: jnp.searchsorted(np.sort(X[0]), r))(X)
    np.testing.assert_array_equal(out, np.stack([np.searchsorted(np.sort(X[0]), r) for r in X]))
    out = ec.vmap(lambda r: jnp.argsort(r))(X)
    np.testing.assert_array_equal(out, np.argsort(X, axis=1))


def test_errors():
    with pytest.raises(ec.ConcretizationError, match=r"jnp.nonzero without size.*Pass size="):
        ec.jit(jnp.nonzero)(I)
    with pytest.raises(ec.ConcretizationError, match=r"jnp.unique without size"):
        ec.jit(lambda x: jnp.unique(x))(I)
    with pytest.raises(ec.ConcretizationError, match=r"jnp.bincount without length"):
        ec.jit(lambda x: jnp.bincount(x))(I[0])
    with pytest.raises(ec.ConcretizationError, match=r"jnp.union1d without size"):
        ec.jit(lambda x: jnp.union1d(x, x))(I[0])
    with pytest.raises(ValueError, match=r"jnp.nonzero: calling nonzero on 0-d arrays is not allowed"):
        jnp.nonzero(np.int32(1))
    with pytest.raises(ValueError, match=r"jnp.searchsorted: a must be 1-dimensional"):
        jnp.searchsorted(I, 1)
    with pytest.raises(ValueError, match=r"jnp.searchsorted: side must be 'left' or 'right'"):
        jnp.searchsorted(I[0], 1, side="middle")
    with pytest.raises(TypeError, match=r"jnp.bincount: x must have an integer type, got float32"):
        jnp.bincount(X[0])
    with pytest.raises(ValueError, match=r"jnp.partition: kth=9 is out of bounds for an axis of size 6"):
        jnp.partition(X, 9)
    with pytest.raises(NotImplementedError, match=r"jnp.sort: the order argument"):
        jnp.sort(X, order="f")
    with pytest.raises(ValueError, match=r"jnp.lexsort: all keys need to be the same shape"):
        jnp.lexsort((I[0], I[0, :3]))
