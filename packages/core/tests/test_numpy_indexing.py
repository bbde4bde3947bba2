"""NumPy indexing: x[idx] against NumPy (eager and in one jitted program), dynamic indices,
x.at[...] updates, gradients, vmap, the program each form compiles to, index functions
(take, take_along_axis, choose, compress, select...) and error messages."""

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.test_util import check_grads

rng = np.random.default_rng(1)
XN = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
X = jnp.asarray(XN)
I2 = np.array([[0, 2], [1, 0]])

INDICES = [
    0, -1, 2, (1, 2), (1, -2, 3), (slice(None), 1), (Ellipsis, 2), (None, 0), (0, None, Ellipsis, None),
    slice(None, None, -1), (0, slice(3, 0, -2)), (slice(1, None), slice(None, None, 2), slice(4, 1, -1)),
    (slice(-2, None), Ellipsis), (slice(5, 10),), (1, Ellipsis, None), (),
    np.array([2, 0, 2]), (I2, slice(1, 3)), (slice(None), np.array([0, 3]), np.array([1, 4])),
    (np.array([0, 2]), slice(None), np.array([1, 4])), (0, slice(None), np.array([4, 1])),
    (I2, None, I2), (np.array([-1, -3]),), (slice(None), [0, 2], [[1], [3]]), ([0, 1], Ellipsis, [1, 2]),
    (np.array([1]), 2, slice(None, None, -2)), (Ellipsis, np.array([[0], [4]])),
    XN > 30, (XN[:, :, 0] > 20,), (slice(None), np.array([True, False, True, True])),
    (True,), (False,), (0, True), (slice(None), True, 1), (True, np.array([0, 2])),
    (np.int64(1), np.array(2), np.int32(-1)),
]


def test_getitem_matches_numpy_eager_and_jit():
    jitted = ec.jit(lambda x: [x[idx] for idx in INDICES])(XN)
    for idx, got_jit in zip(INDICES, jitted):
        want = XN[idx]
        got = X[idx]
        assert got.shape == want.shape and got_jit.shape == want.shape, (idx, got.shape, want.shape)
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=str(idx))
        np.testing.assert_array_equal(np.asarray(got_jit), want, err_msg=str(idx))
        assert got.dtype == np.float32


def test_getitem_traced_and_out_of_bounds_indices_clamp():
    f = ec.jit(lambda x, i, j: [x[i], x[i, -1, j], x[:, :, j], x[i, 1:3]])
    for i, j in [(1, 2), (-1, -2), (7, 9), (-9, -20)]:
        ci = min(max(i + 3 if i < 0 else i, 0), 2)
        cj = min(max(j + 5 if j < 0 else j, 0), 4)
        a, b, c, d = f(X, i, j)
        np.testing.assert_array_equal(np.asarray(a), XN[ci])
        np.testing.assert_array_equal(np.asarray(b), XN[ci, -1, cj])
        np.testing.assert_array_equal(np.asarray(c), XN[:, :, cj])
        np.testing.assert_array_equal(np.asarray(d), XN[ci, 1:3])
    # static out-of-bounds integers clamp too (as in JAX); arrays too, unless mode='fill'
    assert float(X[7, 0, 0]) == XN[2, 0, 0] and float(X[0, -9, 0]) == XN[0, 0, 0]
    idx = jnp.array([0, 5, -1, -7])
    np.testing.assert_array_equal(np.asarray(X[0, 0, idx]), XN[0, 0, [0, 4, 4, 0]])
    np.testing.assert_array_equal(np.asarray(X[0, 0].at[idx].get(mode="fill")), [0, np.nan, 4, np.nan])
    np.testing.assert_array_equal(np.asarray(X[0, 0].at[idx].get(mode="fill", fill_value=-1)), [0, -1, 4, -1])
    np.testing.assert_array_equal(np.asarray(X[0, 0].at[idx].get(mode="clip")), XN[0, 0, [0, 4, 4, 0]])
    np.testing.assert_array_equal(np.asarray(X[0, 0].at[3].get(mode="fill")), 3.0)
    # Array scalars, iteration
    assert float(X[jnp.array(1), jnp.array(-1), jnp.array(0)]) == XN[1, -1, 0]
    assert [float(v) for v in jnp.arange(3.0)] == [0.0, 1.0, 2.0]


def test_programs_use_slices_not_gathers():
    def prims(f, *args):
        return {e.primitive.name for e in ec.make_jaxpr(f)(*args).jaxpr.eqns}

    basic = prims(lambda x: x[1, ::-2, None, 1:4], XN)
    assert "gather" not in basic and {"slice", "rev"} <= basic
    dynamic = prims(lambda x, i: x[i, :, 2], XN, 1)
    assert "gather" not in dynamic and "dynamic_slice" in dynamic
    assert "gather" in prims(lambda x, i: x[i], XN, np.array([0, 1]))
    assert "dynamic_update_slice" in prims(lambda x, y: x.at[1, 2:4, 0].set(y), XN, np.ones(2, np.float32))
    assert "scatter_add" in prims(lambda x, i: x.at[i].add(1.0), XN, np.array([0, 1]))
    assert ec.make_jaxpr(lambda x: x[...])(XN).jaxpr.eqns == []


def test_at_updates():
    x = jnp.arange(5.0)
    dup = jnp.array([0, 0, 2])
    cases = [
        (x.at[dup].add(1.0), [2, 1, 3, 3, 4]),
        (x.at[dup].subtract(1.0), [-2, 1, 1, 3, 4]),
        (x.at[dup].multiply(3.0), [0, 1, 6, 3, 4]),
        (x.at[dup].mul(3.0), [0, 1, 6, 3, 4]),
        (x.at[jnp.array([1, 1])].min(jnp.array([-3.0, 0.0])), [0, -3, 2, 3, 4]),
        (x.at[jnp.array([1, 1])].max(jnp.array([-3.0, 9.0])), [0, 9, 2, 3, 4]),
        (x.at[dup].apply(lambda v: v + 1), [2, 1, 3, 3, 4]),
        (x.at[2].divide(4.0), [0, 1, 0.5, 3, 4]),
        (x.at[2:4].power(2.0), [0, 1, 4, 9, 4]),
        (x.at[1].set(9.0), [0, 9, 2, 3, 4]),
        (x.at[-1].set(9.0), [0, 1, 2, 3, 9]),
        (x.at[7].set(9.0), [0, 1, 2, 3, 4]),  # out of bounds: dropped
        (x.at[jnp.array([-1, -8, 9])].set(9.0), [0, 1, 2, 3, 9]),
        (x.at[jnp.array([7])].set(9.0, mode="clip"), [0, 1, 2, 3, 9]),
        (x.at[::-2].set(jnp.array([10.0, 20.0, 30.0])), [30, 1, 20, 3, 10]),
        (x.at[x > 2].set(0.0), [0, 1, 2, 0, 0]),
        (x.at[...].add(1.0), [1, 2, 3, 4, 5]),
        (x.at[None, 1:3].add(jnp.array([[1.0, 2.0]])), [0, 2, 4, 3, 4]),
        (x.at[jnp.array([3, 1])].add(jnp.array([1.0, 2.0]), unique_indices=True, indices_are_sorted=False),
         [0, 3, 2, 4, 4]),
    ]
    for got, want in cases:
        np.testing.assert_allclose(np.asarray(got), want)
    assert jnp.arange(5).at[2].set(2.7).tolist() == [0, 1, 2, 3, 4]  # cast back to int32 (as JAX)
    assert jnp.arange(5).at[2].add(2).dtype == np.int32
    assert jnp.zeros(3, bool).at[1].set(True).tolist() == [False, True, False]
    m = jnp.asarray(XN[0])
    got = m.at[jnp.array([0, 2]), 1:3].set(-1.0)
    want = XN[0].copy()
    want[np.array([0, 2]), 1:3] = -1
    np.testing.assert_array_equal(np.asarray(got), want)
    got = m.at[:, jnp.array([1, 1])].add(jnp.ones((4, 2)))
    want = XN[0].copy()
    np.add.at(want, (slice(None), np.array([1, 1])), 1.0)
    np.testing.assert_array_equal(np.asarray(got), want)
    # under jit, static and traced positions
    f = ec.jit(lambda x, i, v: [x.at[i].set(v), x.at[1:3].add(v), x.at[i, 0].multiply(v)])
    a, b, c = f(XN[0], 2, 5.0)
    want_a, want_b, want_c = XN[0].copy(), XN[0].copy(), XN[0].copy()
    want_a[2] = 5
    want_b[1:3] += 5
    want_c[2, 0] *= 5
    for got, want in ((a, want_a), (b, want_b), (c, want_c)):
        np.testing.assert_array_equal(np.asarray(got), want)
    np.testing.assert_array_equal(np.asarray(f(XN[0], 9, 5.0)[0]), XN[0])  # traced out of bounds: dropped


def test_indexing_gradients():
    x = rng.standard_normal((4, 5)).astype(np.float32)
    y = rng.standard_normal((3, 5)).astype(np.float32)
    idx = jnp.array([0, 2, 0])
    both = dict(order=2, modes=("fwd", "rev"))
    check_grads(lambda x: jnp.asarray(x)[idx, 1:4], (x,), **both)
    check_grads(lambda x: jnp.asarray(x)[1, ::-2], (x,), **both)
    check_grads(lambda x: jnp.asarray(x)[None, -1, jnp.array([4, 0])], (x,), **both)
    check_grads(lambda x, y: jnp.asarray(x).at[idx].set(y), (x, y), **both)
    check_grads(lambda x, y: jnp.asarray(x).at[idx].add(y), (x, y), **both)
    check_grads(lambda x, y: jnp.asarray(x).at[1:4, 2].set(y[:, 0]), (x, y), **both)
    check_grads(lambda x, y: jnp.asarray(x).at[1:4].multiply(y), (x, y), **both)
    gx = ec.grad(lambda x: lax.reduce_sum(x[idx], (0, 1)))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(gx), np.array([2, 0, 1, 0])[:, None] * np.ones((1, 5)))
    gx, gy = ec.grad(lambda x, y: lax.reduce_sum(x.at[jnp.array([3, 1, 0])].set(y) ** 2, (0, 1)), argnums=(0, 1))(
        jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(np.asarray(gx), np.where(np.isin(np.arange(4), [3, 1, 0])[:, None], 0, 2 * x), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gy), 2 * y, rtol=1e-6)
    gx = ec.grad(lambda x, i: x[i, 1])(jnp.asarray(x), 2)
    assert float(gx[2, 1]) == 1.0 and float(lax.reduce_sum(gx, (0, 1))) == 1.0


def test_indexing_vmap():
    xs = rng.standard_normal((3, 4, 5)).astype(np.float32)
    idx = np.array([[0, 3], [2, 2], [1, 0]], np.int32)
    got = ec.vmap(lambda x, i: x[i, 1:])(xs, idx)
    np.testing.assert_array_equal(np.asarray(got), np.stack([xs[b][idx[b], 1:] for b in range(3)]))
    got = ec.vmap(lambda i: X[0][i])(idx)
    np.testing.assert_array_equal(np.asarray(got), np.stack([XN[0][idx[b]] for b in range(3)]))
    got = ec.vmap(lambda x, i: x[i, -1])(xs, np.array([0, -1, 2], np.int32))  # dynamic scalar index
    np.testing.assert_array_equal(np.asarray(got), np.stack([xs[0][0, -1], xs[1][-1, -1], xs[2][2, -1]]))
    got = ec.vmap(lambda x, i, v: x.at[i].add(v))(xs, idx, np.ones((3, 2, 5), np.float32))
    want = xs.copy()
    for b in range(3):
        np.add.at(want[b], idx[b], 1.0)
    np.testing.assert_allclose(np.asarray(got), want)
    got = ec.vmap(lambda i: jnp.zeros(4).at[i].set(1.0))(np.array([0, 3, 9], np.int32))
    np.testing.assert_array_equal(np.asarray(got), [[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]])


# ----------------------------------------------------------------------------------------------
# index functions

def test_take_and_take_along_axis():
    x = jnp.arange(5.0)
    i = jnp.array([-1, 7, 2])
    np.testing.assert_array_equal(np.asarray(jnp.take(x, i)), [4, np.nan, 2])
    np.testing.assert_array_equal(np.asarray(jnp.take(x, i, mode="clip")), [0, 4, 2])
    np.testing.assert_array_equal(np.asarray(jnp.take(x, i, mode="wrap")), [4, 2, 2])
    np.testing.assert_array_equal(np.asarray(jnp.take(x, i, fill_value=-1.0)), [4, -1, 2])
    a = rng.standard_normal((3, 4, 2)).astype(np.float32)
    ii = np.array([[2, 0], [1, 1]])
    np.testing.assert_array_equal(np.asarray(jnp.take(a, ii, axis=1)), np.take(a, ii, axis=1))
    np.testing.assert_array_equal(np.asarray(jnp.asarray(a).take(ii % 2, axis=-1)), np.take(a, ii % 2, axis=-1))
    np.testing.assert_array_equal(np.asarray(jnp.take(a, ii)), np.take(a, ii))
    order = np.argsort(a, axis=1)
    np.testing.assert_array_equal(np.asarray(jnp.take_along_axis(a, order, axis=1)), np.take_along_axis(a, order, 1))
    np.testing.assert_array_equal(np.asarray(jnp.take_along_axis(a, order[:1], axis=1)),
                                  np.take_along_axis(a, order[:1], 1))
    np.testing.assert_array_equal(np.asarray(jnp.take_along_axis(a[:, :, 0], np.array([[3, -1, 9]]), axis=1)),
                                  np.array([[a[0, 3, 0], a[0, 3, 0], np.nan], [a[1, 3, 0], a[1, 3, 0], np.nan],
                                            [a[2, 3, 0], a[2, 3, 0], np.nan]]))
    np.testing.assert_array_equal(np.asarray(jnp.take_along_axis(a, np.array([5, 0]), axis=None)),
                                  a.ravel()[[5, 0]])
    check_grads(lambda a: jnp.take_along_axis(jnp.asarray(a), order, axis=1), (a,), order=2, modes=("fwd", "rev"))
    got = jnp.put_along_axis(jnp.asarray(a), order[:, :1], -1.0, axis=1, inplace=False)
    want = a.copy()
    np.put_along_axis(want, order[:, :1], -1.0, axis=1)
    np.testing.assert_array_equal(np.asarray(got), want)


def test_selection_functions():
    x = jnp.arange(5.0)
    np.testing.assert_array_equal(np.asarray(jnp.select([x > 3, x > 1], [x, -x], 7.0)), [7, 7, -2, -3, 4])
    choices = [np.arange(4), 10 + np.arange(4), 20 + np.arange(4)]
    a = np.array([0, 1, 2, 1])
    np.testing.assert_array_equal(np.asarray(jnp.choose(a, choices)), np.choose(a, choices))
    for mode in ("wrap", "clip"):
        np.testing.assert_array_equal(np.asarray(jnp.choose(a + 2, choices, mode=mode)),
                                      np.choose(a + 2, choices, mode=mode))
    np.testing.assert_array_equal(np.asarray(jnp.asarray(a).choose(choices)), np.choose(a, choices))
    m = rng.standard_normal((3, 4)).astype(np.float32)
    cond = np.array([True, False, True])
    np.testing.assert_array_equal(np.asarray(jnp.compress(cond, m, axis=0)), np.compress(cond, m, axis=0))
    np.testing.assert_array_equal(np.asarray(jnp.compress(cond[:2], m, axis=1)), np.compress(cond[:2], m, axis=1))
    np.testing.assert_array_equal(np.asarray(jnp.compress(cond, m)), np.compress(cond, m))
    sized = ec.jit(lambda c, m: jnp.compress(c, m, axis=0, size=3, fill_value=-1.0))(cond, m)
    np.testing.assert_array_equal(np.asarray(sized), np.concatenate([m[cond], -np.ones((1, 4), np.float32)]))
    np.testing.assert_array_equal(np.asarray(jnp.extract(m > 0, m)), np.extract(m > 0, m))
    np.testing.assert_array_equal(np.asarray(jnp.place(jnp.zeros(5), jnp.arange(5) % 2 == 0, jnp.array([1.0, 2.0]),
                                                      inplace=False)), [1, 0, 2, 0, 1])
    np.testing.assert_array_equal(np.asarray(jnp.put(jnp.zeros(5), jnp.array([0, 3]), jnp.array([1.0, 2.0]),
                                                    inplace=False)), [1, 0, 0, 2, 0])
    want = np.zeros(5)
    np.put(want, [-1, 8], [1.0, 2.0], mode="wrap")
    np.testing.assert_array_equal(np.asarray(jnp.put(jnp.zeros(5), jnp.array([-1, 8]), jnp.array([1.0, 2.0]),
                                                    inplace=False, mode="wrap")), want)


def test_index_arithmetic():
    r, c = np.array([1, 2, 0]), np.array([3, 0, 4])
    np.testing.assert_array_equal(np.asarray(jnp.ravel_multi_index((r, c), (3, 5))),
                                  np.ravel_multi_index((r, c), (3, 5)))
    np.testing.assert_array_equal(np.asarray(jnp.ravel_multi_index((r, c), (3, 5), order="F")),
                                  np.ravel_multi_index((r, c), (3, 5), order="F"))
    np.testing.assert_array_equal(np.asarray(jnp.ravel_multi_index((r + 3, c), (3, 5), mode="wrap")),
                                  np.ravel_multi_index((r + 3, c), (3, 5), mode="wrap"))
    flat = np.array([7, 0, 14])
    for got, want in zip(jnp.unravel_index(flat, (3, 5)), np.unravel_index(flat, (3, 5))):
        np.testing.assert_array_equal(np.asarray(got), want)
    assert [i.tolist() for i in jnp.unravel_index(jnp.array([-1, 100, -100]), (3, 4))] == [[2, 2, 0], [3, 3, 0]]
    for got, want in zip(jnp.ix_(np.array([0, 2]), np.array([1, 3, 4])), np.ix_(np.array([0, 2]), np.array([1, 3, 4]))):
        np.testing.assert_array_equal(np.asarray(got), want)
    m = XN[0]
    np.testing.assert_array_equal(np.asarray(X[0][jnp.ix_(np.array([0, 2]), np.array([1, 3]))]),
                                  m[np.ix_([0, 2], [1, 3])])
    for fn, args in [("diag_indices", (3,)), ("diag_indices", (2, 3)), ("tril_indices", (3,)),
                     ("tril_indices", (3, -1, 4)), ("triu_indices", (4, 1)), ("triu_indices", (3, 0, 5))]:
        for got, want in zip(getattr(jnp, fn)(*args), getattr(np, fn)(*args)):
            np.testing.assert_array_equal(np.asarray(got), want)
            assert got.dtype == np.int32
    for got, want in zip(jnp.triu_indices_from(m, 1), np.triu_indices_from(m, 1)):
        np.testing.assert_array_equal(np.asarray(got), want)
    for got, want in zip(jnp.diag_indices_from(np.zeros((3, 3))), np.diag_indices_from(np.zeros((3, 3)))):
        np.testing.assert_array_equal(np.asarray(got), want)
    want = np.zeros((3, 3))
    np.fill_diagonal(want, [1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(jnp.fill_diagonal(jnp.zeros((3, 3)), jnp.array([1.0, 2.0]),
                                                              inplace=False)), want)
    assert jnp.s_[1:2, None] == np.s_[1:2, None] and jnp.index_exp[3] == (3,)


# ----------------------------------------------------------------------------------------------
# errors

def test_index_errors():
    with pytest.raises(IndexError, match="Too many indices: array is 3-dimensional, but 4 were indexed"):
        X[0, 0, 0, 0]
    with pytest.raises(IndexError, match="an index can only have a single ellipsis"):
        X[..., 0, ...]
    with pytest.raises(TypeError, match="Indexer must have integer or boolean type, got indexer with type float"):
        X[1.0]
    with pytest.raises(TypeError, match="Indexer must have integer or boolean type, got indexer with type float32"):
        X[jnp.array([1.0])]
    with pytest.raises(TypeError, match="does not support string indexing"):
        X["a"]
    with pytest.raises(TypeError, match="non-tuple sequence for multidimensional indexing"):
        X[[0, 1]]
    with pytest.raises(IndexError, match="only integers, slices"):
        X[object()]
    with pytest.raises(IndexError, match=r"boolean index did not match shape of indexed array in index 0: got "
                                         r"\(2,\), expected \(3,\)"):
        X[np.array([True, False])]
    with pytest.raises(IndexError, match="Array boolean indices must be concrete"):
        ec.jit(lambda x: x[x > 3])(XN)
    with pytest.raises(IndexError, match="Array boolean indices must be concrete"):
        ec.jit(lambda x: x.at[x > 3].set(0.0))(XN)
    with pytest.raises(IndexError, match="slice indices must be static"):
        ec.jit(lambda x, i: x[i:i + 2])(XN, 1)
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 0"):
        jnp.zeros((0, 3))[0]
    with pytest.raises(ValueError, match=r"update of shape \(3,\) cannot be broadcast to the shape of the indexed "
                                         r"selection \(2,\)"):
        jnp.zeros(5).at[1:3].set(jnp.ones(3))
    with pytest.raises(ValueError, match="fill_value argument|fill_value of indexed get"):
        X.at[0].get(mode="fill", fill_value=np.ones(2))
    with pytest.raises(ValueError, match="Unknown gather/scatter mode"):
        X.at[0].get(mode="nearest")
    with pytest.raises(ValueError, match="pass inplace=False"):
        jnp.put_along_axis(X, np.zeros((3, 4, 5), np.int32), 1.0, axis=0)
    with pytest.raises(ValueError, match="invalid entry in choice array"):
        jnp.choose(np.array([0, 3]), [np.zeros(2), np.ones(2)])
    with pytest.raises(ec.ConcretizationError, match="mode='wrap' or mode='clip'"):
        ec.jit(lambda a: jnp.choose(a, [np.zeros(2), np.ones(2)]))(np.array([0, 1]))
    with pytest.raises(IndexError, match="Array boolean indices must be concrete"):
        ec.jit(lambda c, m: jnp.compress(c, m))(np.array([True, False]), np.ones(2))
    with pytest.raises(ValueError, match="condlist must have length equal to choicelist"):
        jnp.select([np.ones(2, bool)], [np.ones(2), np.zeros(2)])
