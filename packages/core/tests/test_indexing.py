"""lax.gather and the lax.scatter family: numerics against NumPy, modes, gradients, batching,
dynamic_slice / dynamic_update_slice with batched indices, and error messages."""

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.test_util import check_grads

GDN = lax.GatherDimensionNumbers
SDN = lax.ScatterDimensionNumbers

rng = np.random.default_rng(0)
X53 = rng.standard_normal((5, 3)).astype(np.float32)
X6 = np.arange(6.0, dtype=np.float32)
X45 = rng.standard_normal((4, 5)).astype(np.float32)
X35 = rng.standard_normal((3, 5)).astype(np.float32)

ROWS = GDN(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
WINDOWS = GDN(offset_dims=(1,), collapsed_slice_dims=(), start_index_map=(0,))
POINTS = GDN(offset_dims=(), collapsed_slice_dims=(0, 1), start_index_map=(0, 1))
BATCHED = GDN(offset_dims=(), collapsed_slice_dims=(1,), start_index_map=(1,), operand_batching_dims=(0,),
              start_indices_batching_dims=(0,))
ELEMS = SDN(update_window_dims=(), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))
ROW_UPDATES = SDN(update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))


def _total(y):
    return lax.reduce_sum(y, tuple(range(y.ndim)))


# ----------------------------------------------------------------------------------------------
# gather

def test_gather_numerics_and_modes():
    rows = np.array([[4], [0], [2], [0]], np.int32)
    starts = np.array([[0], [3], [5], [-2]], np.int32)  # windows of 2; 5 and -2 are out of bounds
    points = np.array([[1, 4], [3, 0], [0, 0]], np.int32)
    batched = np.array([[[4], [0]], [[1], [1]], [[2], [3]]], np.int32)
    oob = np.array([[1], [9], [-1]], np.int32)

    def f(x53, x6, x45, x35):
        return [
            lax.gather(x53, rows, ROWS, (1, 3)),
            lax.gather(x6, starts, WINDOWS, (2,)),  # default: XLA clamps
            lax.gather(x6, starts, WINDOWS, (2,), mode="clip"),
            lax.gather(x6, starts, WINDOWS, (2,), mode="fill"),
            lax.gather(x6, starts, WINDOWS, (2,), mode="fill", fill_value=-7.0),
            lax.gather(x45, points, POINTS, (1, 1)),
            lax.gather(x35, batched, BATCHED, (1, 1)),
            lax.gather(x6.astype(np.int32) if isinstance(x6, np.ndarray) else x6.astype(np.int32), oob,
                       GDN((), (0,), (0,)), (1,), mode="fill"),
        ]

    eager = f(jnp.asarray(X53), jnp.asarray(X6), jnp.asarray(X45), jnp.asarray(X35))
    jitted = ec.jit(f)(X53, X6, X45, X35)
    clamped = np.clip(starts[:, 0], 0, 4)
    windows = np.stack([X6[s:s + 2] for s in clamped])
    valid = (starts[:, 0] >= 0) & (starts[:, 0] <= 4)
    expected = [
        X53[rows[:, 0]],
        windows,
        windows,
        np.where(valid[:, None], windows, np.nan),
        np.where(valid[:, None], windows, -7.0),
        X45[points[:, 0], points[:, 1]],
        np.stack([X35[b, batched[b, :, 0]] for b in range(3)]),
        np.array([1, np.iinfo(np.int32).min, np.iinfo(np.int32).min]),
    ]
    for got_e, got_j, want in zip(eager, jitted, expected):
        np.testing.assert_allclose(np.asarray(got_e), want, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(got_j), want, rtol=1e-6)
    assert eager[0].dtype == np.float32 and eager[-1].dtype == np.int32


def test_gather_default_fill_values_and_empty():
    idx = np.array([[3]], np.int32)
    dn = GDN((), (0,), (0,))
    assert bool(lax.gather(jnp.zeros(2, bool), idx, dn, (1,), mode="fill")[0])
    assert int(lax.gather(jnp.zeros(2, np.uint8), idx, dn, (1,), mode="fill")[0]) == 255
    empty = lax.gather(jnp.ones(3), np.zeros((0, 1), np.int32), dn, (1,))
    assert empty.shape == (0,)


def test_gather_grads():
    rows = jnp.array([[4], [0], [2], [0]])
    check_grads(lambda x: lax.gather(x, rows, ROWS, (1, 3)), (X53,), order=2, modes=("fwd", "rev"))
    starts = jnp.array([[0], [5], [-2]])
    check_grads(lambda x: lax.gather(x, starts, WINDOWS, (2,), mode="clip"), (X6,), order=2, modes=("fwd", "rev"))
    check_grads(lambda x: lax.gather(x, starts, WINDOWS, (2,), mode="fill", fill_value=0.0), (X6,), order=2,
                modes=("fwd", "rev"))
    batched = jnp.array([[[4], [0]], [[1], [1]], [[2], [3]]])
    check_grads(lambda x: lax.gather(x, batched, BATCHED, (1, 1)), (X35,), order=2, modes=("fwd", "rev"))


def test_gather_grad_accumulates_duplicates_and_clip_matches_dynamic_slice():
    rows = jnp.array([[4], [0], [2], [0]])
    g = ec.grad(lambda x: _total(lax.gather(x, rows, ROWS, (1, 3))))(X53)
    np.testing.assert_allclose(np.asarray(g), np.array([2, 0, 1, 0, 1])[:, None] * np.ones((1, 3)))
    # out of bounds: clip reads (and differentiates) the clamped window, like dynamic_slice
    clip_grad = ec.grad(lambda x: _total(lax.gather(x, jnp.array([[5]]), WINDOWS, (2,), mode="clip")))(X6)
    ds_grad = ec.grad(lambda x: _total(lax.dynamic_slice(x, (5,), (2,))))(X6)
    np.testing.assert_allclose(np.asarray(clip_grad), np.asarray(ds_grad))
    np.testing.assert_allclose(np.asarray(clip_grad), [0, 0, 0, 0, 1, 1])


def test_gather_vmap():
    rows = np.array([[4], [0], [2]], np.int32)
    xs = rng.standard_normal((2, 5, 3)).astype(np.float32)
    idxs = np.array([[[1], [1], [3]], [[0], [4], [2]]], np.int32)
    def g(x, i):
        return lax.gather(x, i, ROWS, (1, 3))

    both = ec.vmap(g)(xs, idxs)
    op_only = ec.vmap(g, in_axes=(0, None))(xs, rows)
    idx_only = ec.vmap(g, in_axes=(None, 0))(X53, idxs)
    moved = ec.vmap(g, in_axes=(2, None))(np.ascontiguousarray(np.moveaxis(xs, 0, 2)), rows)
    np.testing.assert_allclose(np.asarray(both), np.stack([xs[b][idxs[b, :, 0]] for b in range(2)]))
    np.testing.assert_allclose(np.asarray(op_only), np.stack([xs[b][rows[:, 0]] for b in range(2)]))
    np.testing.assert_allclose(np.asarray(idx_only), np.stack([X53[idxs[b, :, 0]] for b in range(2)]))
    np.testing.assert_allclose(np.asarray(moved), np.stack([xs[b][rows[:, 0]] for b in range(2)]))


# ----------------------------------------------------------------------------------------------
# scatter

def test_scatter_family_numerics():
    idx = np.array([[3], [0], [3], [7], [1]], np.int32)  # a duplicate and an out-of-bounds index
    upd = np.array([1.5, -2.0, 4.0, 100.0, 0.5], np.float32)
    base = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    rows_idx = np.array([[2], [0]], np.int32)
    rows_upd = rng.standard_normal((2, 3)).astype(np.float32)
    b_idx = np.array([[[4], [0], [4]], [[1], [1], [2]], [[2], [3], [0]]], np.int32)
    b_upd = rng.standard_normal((3, 3)).astype(np.float32)
    b_dn = SDN(update_window_dims=(), inserted_window_dims=(1,), scatter_dims_to_operand_dims=(1,),
               operand_batching_dims=(0,), scatter_indices_batching_dims=(0,))

    set_idx, set_upd = idx[[1, 2, 3]], upd[[1, 2, 3]]

    def f(base, upd, x53, rows_upd, x35, b_upd):
        return [
            lax.scatter_add(base, idx, upd, ELEMS),
            lax.scatter_sub(base, idx, upd, ELEMS),
            lax.scatter_mul(base, idx, upd, ELEMS),
            lax.scatter_min(base, idx, upd, ELEMS),
            lax.scatter_max(base, idx, upd, ELEMS),
            lax.scatter(base, set_idx, set_upd, ELEMS),
            lax.scatter_add(base, idx, upd, ELEMS, mode="clip"),
            lax.scatter(x53, rows_idx, rows_upd, ROW_UPDATES),
            lax.scatter_add(x35, b_idx, b_upd, b_dn),
        ]

    got = ec.jit(f)(base, upd, X53, rows_upd, X35, b_upd)
    inb = idx[:, 0] < 5

    def ref(ufunc, i=idx[inb, 0], u=upd[inb]):
        out = base.copy()
        ufunc.at(out, i, u)
        return out

    sub = base.copy()
    np.subtract.at(sub, idx[inb, 0], upd[inb])
    setv = base.copy()
    setv[[0, 3]] = [-2.0, 4.0]
    clipped = base.copy()
    np.add.at(clipped, np.clip(idx[:, 0], 0, 4), upd)
    rows = X53.copy()
    rows[[2, 0]] = rows_upd
    batched = X35.copy()
    for b in range(3):
        np.add.at(batched[b], b_idx[b, :, 0], b_upd[b])
    expected = [ref(np.add), sub, ref(np.multiply), ref(np.minimum), ref(np.maximum), setv, clipped, rows, batched]
    for g, want in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6)
    # eager agrees with jit
    np.testing.assert_allclose(np.asarray(lax.scatter_add(jnp.asarray(base), idx, jnp.asarray(upd), ELEMS)),
                               expected[0])


def test_scatter_bool_and_int_dtypes():
    idx = np.array([[0], [2], [2]], np.int32)
    out = lax.scatter_add(jnp.zeros(3, bool), idx, jnp.array([True, False, True]), ELEMS)
    assert out.tolist() == [True, False, True]
    out = lax.scatter_mul(jnp.full(3, 3, np.int32), idx, jnp.array([2, 5, 7], np.int32), ELEMS)
    assert out.tolist() == [6, 3, 105]


def test_scatter_apply():
    x = jnp.arange(5.0)
    out = lax.scatter_apply(x, np.array([[0], [0], [3]], np.int32), lambda v: v * 2 + 1, ELEMS, update_shape=(3,))
    np.testing.assert_allclose(np.asarray(out), [3.0, 1.0, 2.0, 7.0, 4.0])  # applied once per occurrence


def test_scatter_grads():
    idx = jnp.array([[3], [0], [3], [1]])
    uniq = jnp.array([[3], [0], [4]])
    upd = np.array([1.5, -2.0, 4.0, 0.5], np.float32)
    base = np.array([1.0, 2.0, -3.0, 4.0, 5.0], np.float32)
    both = dict(order=2, modes=("fwd", "rev"))
    check_grads(lambda x, u: lax.scatter_add(x, idx, u, ELEMS), (base, upd), **both)
    check_grads(lambda x, u: lax.scatter_sub(x, idx, u, ELEMS), (base, upd), **both)
    check_grads(lambda x, u: lax.scatter(x, idx, u, ELEMS), (base, upd), **both)  # duplicates: the id trick
    check_grads(lambda x, u: lax.scatter(x, uniq, u, ELEMS, unique_indices=True), (base, upd[:3]), **both)
    check_grads(lambda x, u: lax.scatter_mul(x, uniq, u, ELEMS, unique_indices=True), (base, upd[:3]), **both)
    check_grads(lambda x: lax.scatter_mul(x, idx, upd, ELEMS), (base,), **both)
    far = np.array([0.5, 9.0, 2.0, -6.0], np.float32)  # no ties with the operand
    check_grads(lambda x, u: lax.scatter_max(x, idx, u, ELEMS), (base, far), **both)
    check_grads(lambda x, u: lax.scatter_min(x, idx, u, ELEMS), (base, far), **both)
    rows_idx = jnp.array([[2], [0]])
    check_grads(lambda x, u: lax.scatter(x, rows_idx, u, ROW_UPDATES, mode="clip"),
                (X53, np.ones((2, 3), np.float32)), **both)


def test_scatter_grad_values():
    idx = jnp.array([[1], [1], [3]])
    gx, gu = ec.grad(lambda x, u: _total(lax.scatter(x, idx, u, ELEMS) * jnp.arange(5.0)), argnums=(0, 1))(
        jnp.ones(5), jnp.array([2.0, 3.0, 4.0]))
    np.testing.assert_allclose(np.asarray(gx), [0, 0, 2, 0, 4])  # overwritten positions get nothing
    gu = np.asarray(gu)
    assert gu[2] == 3 and sorted(gu[:2].tolist()) == [0.0, 1.0]  # one of the duplicates wins
    with pytest.raises(NotImplementedError, match="unique_indices=True"):
        ec.grad(lambda u: _total(lax.scatter_mul(jnp.ones(5), idx, u, ELEMS)))(jnp.ones(3))
    with pytest.raises(NotImplementedError, match="scatter_apply"):
        ec.grad(lambda x: _total(lax.scatter_apply(x, idx, jnp.sin, ELEMS, update_shape=(3,))))(jnp.ones(5))


def test_scatter_vmap():
    xs = rng.standard_normal((2, 5)).astype(np.float32)
    idxs = np.array([[[1], [1], [4]], [[0], [3], [0]]], np.int32)
    ups = rng.standard_normal((2, 3)).astype(np.float32)
    def f(x, i, u):
        return lax.scatter_add(x, i, u, ELEMS)


    def ref(b, x=None, i=None, u=None):
        out = (xs[b] if x is None else x).copy()
        np.add.at(out, (idxs[b] if i is None else i)[:, 0], ups[b] if u is None else u)
        return out

    cases = {
        (0, 0, 0): [ref(b) for b in range(2)],
        (None, 0, 0): [ref(b, x=xs[0]) for b in range(2)],
        (0, None, 0): [ref(b, i=idxs[0]) for b in range(2)],
        (0, 0, None): [ref(b, u=ups[0]) for b in range(2)],
        (None, 0, None): [ref(b, x=xs[0], u=ups[0]) for b in range(2)],
    }
    for in_axes, want in cases.items():
        args = [a if ax is not None else a[0] for a, ax in zip((xs, idxs, ups), in_axes)]
        got = ec.vmap(f, in_axes=in_axes)(*args)
        np.testing.assert_allclose(np.asarray(got), np.stack(want), rtol=1e-6, err_msg=str(in_axes))
    got = ec.vmap(lambda x, i, u: lax.scatter(x, i, u, ELEMS, unique_indices=True))(
        xs, np.array([[[1], [4]], [[0], [3]]], np.int32), ups[:, :2])
    want = xs.copy()
    want[0, [1, 4]] = ups[0, :2]
    want[1, [0, 3]] = ups[1, :2]
    np.testing.assert_allclose(np.asarray(got), want)


def test_dynamic_slice_and_update_with_batched_indices():
    x = np.arange(20.0, dtype=np.float32).reshape(4, 5)
    starts = np.array([0, 3, 7, -2], np.int32)  # 7 and -2 are clamped
    got = ec.vmap(lambda r, s: lax.dynamic_slice(r, (s,), (3,)))(x, starts)
    want = np.stack([x[b, min(max(s, 0), 2):min(max(s, 0), 2) + 3] for b, s in enumerate(starts)])
    np.testing.assert_allclose(np.asarray(got), want)
    got = ec.vmap(lambda s: lax.dynamic_slice(x, (s, 1), (2, 2)))(starts)
    want = np.stack([x[min(max(s, 0), 2):min(max(s, 0), 2) + 2, 1:3] for s in starts])
    np.testing.assert_allclose(np.asarray(got), want)
    upd = -np.ones((4, 2), np.float32)
    got = ec.vmap(lambda r, u, s: lax.dynamic_update_slice(r, u, (s,)))(x, upd, starts)
    want = x.copy()
    for b, s in enumerate(starts):
        c = min(max(s, 0), 3)
        want[b, c:c + 2] = -1
    np.testing.assert_allclose(np.asarray(got), want)
    got = ec.vmap(lambda s: lax.dynamic_update_slice(x, upd[:1], (s, 0)), in_axes=0)(starts[:2])
    assert got.shape == (2, 4, 5)
    # reverse mode through the batched rule (gather in clip mode transposes to a clamped scatter)
    g = ec.grad(lambda x: _total(ec.vmap(lambda s: lax.dynamic_slice(x, (s,), (2,)))(jnp.array([1, 9]))))(
        jnp.arange(4.0))
    np.testing.assert_allclose(np.asarray(g), [0, 1, 2, 1])


# ----------------------------------------------------------------------------------------------
# errors

def test_gather_scatter_errors():
    x = jnp.ones((4, 3))
    with pytest.raises(TypeError, match=r"lax.gather: indices must be integers, got float32"):
        lax.gather(x, jnp.ones((2, 1)), ROWS, (1, 3))
    with pytest.raises(TypeError, match=r"lax.gather: start_index_map \(0,\) must have one entry per element"):
        lax.gather(x, jnp.zeros((2, 2), np.int32), ROWS, (1, 3))
    with pytest.raises(TypeError, match=r"lax.gather: collapsed dimension 0 must have slice size 1, got 2"):
        lax.gather(x, jnp.zeros((2, 1), np.int32), ROWS, (2, 3))
    with pytest.raises(TypeError, match=r"lax.gather: slice size 5 of dimension 1 must be in \[0, 3\]"):
        lax.gather(x, jnp.zeros((2, 1), np.int32), ROWS, (1, 5))
    with pytest.raises(TypeError, match="must be a GatherDimensionNumbers"):
        lax.gather(x, jnp.zeros((2, 1), np.int32), ((1,), (0,), (0,)), (1, 3))
    with pytest.raises(ValueError, match="Unknown gather/scatter mode 'wrap'"):
        lax.gather(x, jnp.zeros((2, 1), np.int32), ROWS, (1, 3), mode="wrap")
    with pytest.raises(TypeError, match=r"lax.scatter_add: operand and updates must have the same dtype, got "
                                        r"float32 and int32"):
        lax.scatter_add(jnp.ones(3), jnp.zeros((2, 1), np.int32), jnp.ones(2, np.int32), ELEMS)
    with pytest.raises(TypeError, match=r"lax.scatter: updates dimension 0 has size 3 but the matching indices"):
        lax.scatter(jnp.ones(3), jnp.zeros((2, 1), np.int32), jnp.ones(3), ELEMS)
    with pytest.raises(TypeError, match=r"lax.scatter_max: updates must have rank 2"):
        lax.scatter_max(x, jnp.zeros((2, 1), np.int32), jnp.ones(2), ROW_UPDATES)
