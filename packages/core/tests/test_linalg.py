"""The linear-algebra primitives (lax.cholesky, triangular_solve, lu, qr, eigh, svd): numerics
against NumPy/SciPy, JVPs and transposes, batching, float64 and complex64, errors."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import ember.core as ec
from ember.core import lax
from ember.core.test_util import check_grads

GRAD_TOL = dict(atol=5e-2, rtol=5e-2)


@contextlib.contextmanager
def x64():
    old = ec.config.read("enable_x64")
    ec.config.update("enable_x64", True)
    try:
        yield
    finally:
        ec.config.update("enable_x64", old)


def spd(rng, n, batch=(), dtype=np.float32):
    a = rng.standard_normal(batch + (n, n))
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(batch + (n, n))
    return (a @ np.conj(np.swapaxes(a, -1, -2)) + n * np.eye(n)).astype(dtype)


def tril_well_conditioned(rng, n):
    return (np.tril(rng.standard_normal((n, n))) + 3 * np.eye(n)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# cholesky

def test_cholesky(rng):
    a = spd(rng, 4, (2,))
    L = lax.cholesky(a)
    np.testing.assert_allclose(np.asarray(L), np.linalg.cholesky(a), atol=1e-5)
    # only a's symmetric part matters by default
    skew = a + np.array([[0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], np.float32)
    np.testing.assert_allclose(np.asarray(lax.cholesky(skew)), np.asarray(L), atol=1e-5)
    bad = np.asarray(lax.cholesky(-np.eye(3, dtype=np.float32)))
    assert np.isnan(bad[np.tril_indices(3)]).all() and (np.triu(bad, 1) == 0).all()
    check_grads(lax.cholesky, (spd(rng, 4),), order=2, modes=("fwd", "rev"), **GRAD_TOL)


def test_cholesky_vmap_jit(rng):
    a = spd(rng, 3, (4,))
    out = ec.vmap(lax.cholesky)(a)
    np.testing.assert_allclose(np.asarray(out), np.linalg.cholesky(a), atol=1e-5)
    np.testing.assert_allclose(np.asarray(ec.jit(lax.cholesky)(a)), np.asarray(out), atol=1e-6)


# ----------------------------------------------------------------------------------------------
# triangular_solve

@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("lower,transpose_a,unit", [(True, False, False), (True, True, False),
                                                    (False, False, True), (False, True, False)])
def test_triangular_solve(rng, left_side, lower, transpose_a, unit):
    a = tril_well_conditioned(rng, 4)
    a = a if lower else a.T.copy()
    b = rng.standard_normal((4, 3) if left_side else (3, 4)).astype(np.float32)
    x = lax.triangular_solve(a, b, left_side=left_side, lower=lower, transpose_a=transpose_a, unit_diagonal=unit)
    tri = np.tril(a) if lower else np.triu(a)
    if unit:
        tri = tri - np.diag(np.diag(tri)) + np.eye(4)
    op = tri.T if transpose_a else tri
    expected = np.linalg.solve(op, b) if left_side else np.linalg.solve(op.T, b.T).T
    np.testing.assert_allclose(np.asarray(x), expected, atol=1e-5, rtol=1e-5)
    check_grads(lambda a_, b_: lax.triangular_solve(a_, b_, left_side=left_side, lower=lower,
                                                    transpose_a=transpose_a, unit_diagonal=unit),
                (a, b), order=2, modes=("fwd", "rev"), **GRAD_TOL)


def test_triangular_solve_vmap(rng):
    a = tril_well_conditioned(rng, 4)
    bs = rng.standard_normal((5, 4, 3)).astype(np.float32)
    for left_side in (True, False):
        b_in = bs if left_side else np.swapaxes(bs, 1, 2)
        for axis in (0, 1, 2):
            f = lambda b, left_side=left_side: lax.triangular_solve(a, b, left_side=left_side, lower=True)
            out = ec.vmap(f, in_axes=axis)(np.moveaxis(b_in, 0, axis))
            expected = np.stack([np.asarray(f(b_in[i])) for i in range(5)])
            np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)
    a_b = np.stack([a + i * np.eye(4, dtype=np.float32) for i in range(5)])
    out = ec.vmap(lambda a_, b_: lax.triangular_solve(a_, b_, left_side=True, lower=True))(a_b, bs)
    np.testing.assert_allclose(np.asarray(out), np.linalg.solve(np.tril(a_b), bs), atol=1e-5)


def test_triangular_solve_complex_and_vector(rng):
    n = 4
    L = np.linalg.cholesky(spd(rng, n, dtype=np.complex64))
    b = (rng.standard_normal((n, 2)) + 1j * rng.standard_normal((n, 2))).astype(np.complex64)
    for transpose_a, conjugate_a, op in [(True, True, L.conj().T), (True, False, L.T), (False, True, L.conj())]:
        x = lax.triangular_solve(L, b, left_side=True, lower=True, transpose_a=transpose_a, conjugate_a=conjugate_a)
        np.testing.assert_allclose(op @ np.asarray(x), b, atol=1e-4)
    v = rng.standard_normal(n).astype(np.float32)
    Lr = tril_well_conditioned(rng, n)
    np.testing.assert_allclose(np.asarray(lax.triangular_solve(Lr, v, left_side=True, lower=True)),
                               np.linalg.solve(Lr, v), atol=1e-5)
    check_grads(lambda a_, b_: lax.triangular_solve(a_, b_, left_side=True, lower=True, transpose_a=True,
                                                    conjugate_a=True), (L, b), order=1, **GRAD_TOL)


def test_triangular_solve_errors():
    a = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match=r"lax\.triangular_solve: with left_side=True, b\.shape\[-2\]"):
        lax.triangular_solve(a, np.ones((4, 2), np.float32), left_side=True)
    with pytest.raises(TypeError, match="same dtype"):
        lax.triangular_solve(a, np.ones((3, 2), np.float64 if ec.config.read("enable_x64") else np.complex64),
                             left_side=True)
    with pytest.raises(TypeError, match="float32, float64, complex64 or complex128"):
        lax.triangular_solve(a.astype(np.int32), np.ones((3, 2), np.int32), left_side=True)


# ----------------------------------------------------------------------------------------------
# lu

@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_lu(rng, shape):
    import scipy.linalg as sl
    a = rng.standard_normal(shape).astype(np.float32)
    lu, pivots, perm = lax.lu(a)
    m, n = shape
    k = min(m, n)
    lu = np.asarray(lu)
    l = np.tril(lu, -1)[:, :k] + np.eye(m, k)
    u = np.triu(lu)[:k]
    np.testing.assert_allclose(a[np.asarray(perm)], l @ u, atol=1e-5)
    ref_lu, ref_piv = sl.lu_factor(a)
    np.testing.assert_allclose(lu, ref_lu, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(pivots), ref_piv)
    np.testing.assert_array_equal(np.asarray(lax.lu_pivots_to_permutation(pivots, m)), np.asarray(perm))
    assert pivots.dtype == np.int32 and perm.dtype == np.int32


def test_lu_grads_and_vmap(rng):
    a = rng.standard_normal((4, 4)).astype(np.float32)
    check_grads(lambda x: lax.lu(x)[0], (a,), order=2, modes=("fwd", "rev"), **GRAD_TOL)
    check_grads(lambda x: lax.lu(x)[0], (rng.standard_normal((5, 3)).astype(np.float32),), order=1, **GRAD_TOL)
    batch = rng.standard_normal((3, 2, 4, 4)).astype(np.float32)
    lu, piv, perm = ec.vmap(lax.lu, in_axes=1)(batch)
    assert lu.shape == (2, 3, 4, 4) and piv.shape == (2, 3, 4) and perm.shape == (2, 3, 4)
    for i in range(2):
        for j in range(3):
            ref = lax.lu(batch[j, i])
            np.testing.assert_allclose(np.asarray(lu)[i, j], np.asarray(ref[0]), atol=1e-6)
            np.testing.assert_array_equal(np.asarray(perm)[i, j], np.asarray(ref[2]))


def test_lu_singular_and_pivots_batch(rng):
    lu, piv, perm = lax.lu(np.zeros((3, 3), np.float32))
    assert np.all(np.isfinite(np.asarray(lu)))  # singular is not failure
    pivots = np.array([[2, 2, 2], [1, 1, 2]], np.int32)
    out = np.asarray(lax.lu_pivots_to_permutation(pivots, 4))
    for row, p in zip(out, pivots):
        ref = list(range(4))
        for i, j in enumerate(p):
            ref[i], ref[j] = ref[j], ref[i]
        np.testing.assert_array_equal(row, ref)


# ----------------------------------------------------------------------------------------------
# qr

@pytest.mark.parametrize("shape,full", [((5, 3), True), ((5, 3), False), ((3, 5), True), ((4, 4), False)])
def test_qr(rng, shape, full):
    a = rng.standard_normal((2,) + shape).astype(np.float32)
    q, r = lax.qr(a, full_matrices=full)
    m, n = shape
    k = m if full else min(m, n)
    assert q.shape == (2, m, k) and r.shape == (2, k, n)
    q, r = np.asarray(q), np.asarray(r)
    np.testing.assert_allclose(q @ r, a, atol=1e-5)
    np.testing.assert_allclose(np.swapaxes(q, 1, 2) @ q, np.broadcast_to(np.eye(k), (2, k, k)), atol=1e-5)
    np.testing.assert_array_equal(np.tril(r, -1), 0)


def test_qr_grads(rng):
    tall = rng.standard_normal((5, 3)).astype(np.float32)
    check_grads(lambda x: lax.qr(x, full_matrices=False), (tall,), order=2, modes=("fwd", "rev"), **GRAD_TOL)
    wide = rng.standard_normal((3, 5)).astype(np.float32)
    check_grads(lambda x: lax.qr(x), (wide,), order=1, **GRAD_TOL)
    check_grads(lambda x: lax.qr(x, full_matrices=True), (tall,), order=1, **GRAD_TOL)


def test_qr_complex(rng):
    a = (rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))).astype(np.complex64)
    q, r = lax.qr(a, full_matrices=False)
    np.testing.assert_allclose(np.asarray(q) @ np.asarray(r), a, atol=1e-5)
    check_grads(lambda x: lax.qr(x, full_matrices=False), (a,), order=1, **GRAD_TOL)


# ----------------------------------------------------------------------------------------------
# eigh

def test_eigh(rng):
    a = spd(rng, 4, (3,))
    v, w = lax.eigh(a)
    np.testing.assert_allclose(np.asarray(w), np.linalg.eigvalsh(a), atol=1e-4)
    v, w = np.asarray(v), np.asarray(w)
    np.testing.assert_allclose(a @ v, v * w[:, None, :], atol=1e-4)
    # only the lower triangle is read without symmetrisation
    lower_only = np.tril(a[0]) + np.triu(np.full((4, 4), 100.0, np.float32), 1)
    w_low = lax.eigh(lower_only, symmetrize_input=False)[1]
    np.testing.assert_allclose(np.asarray(w_low), np.linalg.eigvalsh(a[0]), atol=1e-4)


def test_eigh_grads(rng):
    a = spd(rng, 4)
    check_grads(lambda x: lax.eigh(x)[1], (a,), order=2, modes=("fwd", "rev"), **GRAD_TOL)
    # eigenvectors are defined up to sign: differentiate a sign-invariant function of them
    check_grads(lambda x: lax.mul(lax.eigh(x)[0], lax.eigh(x)[0]), (a,), order=1, **GRAD_TOL)


def test_eigh_complex_and_vmap(rng):
    h = spd(rng, 3, dtype=np.complex64)
    v, w = lax.eigh(h)
    assert w.dtype == np.float32
    np.testing.assert_allclose(np.asarray(w), np.linalg.eigvalsh(h), atol=1e-4)
    batch = spd(rng, 3, (4,))
    ws = ec.vmap(lambda x: lax.eigh(x)[1])(batch)
    np.testing.assert_allclose(np.asarray(ws), np.linalg.eigvalsh(batch), atol=1e-4)


# ----------------------------------------------------------------------------------------------
# eig

def test_eig(rng):
    a = rng.standard_normal((2, 4, 4)).astype(np.float32)
    w, vl, vr = lax.eig(a)
    assert w.dtype == np.complex64 and vr.shape == (2, 4, 4)
    ref = np.linalg.eigvals(a)
    for i in range(2):
        np.testing.assert_allclose(np.sort_complex(np.asarray(w)[i]), np.sort_complex(ref[i]), atol=1e-4)
    w, vl, vr = np.asarray(w), np.asarray(vl), np.asarray(vr)
    np.testing.assert_allclose(a @ vr, vr * w[:, None, :], atol=1e-4)
    vl_h = np.conj(np.swapaxes(vl, 1, 2))
    np.testing.assert_allclose(vl_h @ a, w[:, :, None] * vl_h, atol=1e-4)
    only_w = lax.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)
    assert len(only_w) == 1
    check_grads(lambda x: lax.eig(x, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0],
                (a[0],), order=1, **GRAD_TOL)
    with pytest.raises(NotImplementedError, match="eigenvalues"):
        ec.jvp(lambda x: lax.eig(x)[0], (a[0],), (a[0],))
    ws = ec.vmap(lambda x: lax.eig(x, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0])(a)
    np.testing.assert_allclose(np.asarray(ws), w, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# svd

@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_svd(rng, shape):
    a = rng.standard_normal(shape).astype(np.float32)
    u, s, vt = lax.svd(a, full_matrices=False)
    np.testing.assert_allclose(np.asarray(s), np.linalg.svd(a, compute_uv=False), atol=1e-5)
    np.testing.assert_allclose(np.asarray(u) * np.asarray(s) @ np.asarray(vt), a, atol=1e-5)
    uf, sf, vtf = lax.svd(a, full_matrices=True)
    assert uf.shape == (shape[0], shape[0]) and vtf.shape == (shape[1], shape[1])
    assert lax.svd(a, compute_uv=False).shape == (min(shape),)


def test_svd_grads(rng):
    def usv(x):  # sign-invariant pieces of the decomposition
        u, s, vt = lax.svd(x, full_matrices=False)
        return s, lax.mul(u, u), lax.mul(vt, vt)
    for shape in [(5, 3), (3, 5)]:
        a = rng.standard_normal(shape).astype(np.float32)
        check_grads(lambda x: lax.svd(x, compute_uv=False), (a,), order=2, modes=("fwd", "rev"), **GRAD_TOL)
        check_grads(usv, (a,), order=1, **GRAD_TOL)


def test_svd_vmap_and_empty(rng):
    batch = rng.standard_normal((3, 4, 2)).astype(np.float32)
    s = ec.vmap(lambda x: lax.svd(x, compute_uv=False))(batch)
    np.testing.assert_allclose(np.asarray(s), np.linalg.svd(batch, compute_uv=False), atol=1e-5)
    u, s0, vt = lax.svd(np.zeros((0, 3), np.float32))
    assert s0.shape == (0,) and u.shape == (0, 0) and vt.shape == (3, 3)


# ----------------------------------------------------------------------------------------------
# float64

def test_float64_factorisations(rng):
    with x64():
        a = spd(rng, 5, dtype=np.float64)
        L = lax.cholesky(a)
        assert L.dtype == np.float64
        np.testing.assert_allclose(np.asarray(L), np.linalg.cholesky(a), atol=1e-12)
        v, w = lax.eigh(a)
        np.testing.assert_allclose(np.asarray(w), np.linalg.eigvalsh(a), atol=1e-10)
        g = rng.standard_normal((5, 4))
        np.testing.assert_allclose(np.asarray(lax.svd(g, compute_uv=False)), np.linalg.svd(g, compute_uv=False),
                                   atol=1e-12)
        lu, _, perm = lax.lu(g)
        assert lu.dtype == np.float64
        q, r = lax.qr(g, full_matrices=False)
        np.testing.assert_allclose(np.asarray(q) @ np.asarray(r), g, atol=1e-12)
        check_grads(lambda x: lax.cholesky(x), (a,), order=1)
        check_grads(lambda x: lax.triangular_solve(np.asarray(L), x, left_side=True, lower=True), (g,), order=1)


def test_linalg_errors():
    with pytest.raises(ValueError, match=r"lax\.cholesky: operand must be a \(batch of\) square matrices"):
        lax.cholesky(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"lax\.svd: operand must be a \(batch of\) matrices"):
        lax.svd(np.ones(3, np.float32))
    with pytest.raises(TypeError, match=r"lax\.lu: operand must be float32"):
        lax.lu(np.ones((2, 2), np.int32))
    with pytest.raises(ValueError, match="pivots cannot describe"):
        lax.lu_pivots_to_permutation(np.zeros(5, np.int32), 3)
