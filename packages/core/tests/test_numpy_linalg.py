"""The NumPy-level products (dot, matmul, einsum, ...), ember.core.numpy.linalg and
ember.core.scipy.linalg: numerics against NumPy/SciPy, gradients, vmap, jit, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sl

import ember.core as ec
import ember.core.numpy as jnp
from ember.core.numpy import linalg as la
from ember.core.scipy import linalg as sla
from ember.core.test_util import check_grads

TOL = dict(atol=1e-4, rtol=1e-4)
LOOSE = dict(atol=1e-3, rtol=1e-3)
GRAD_TOL = dict(atol=5e-2, rtol=5e-2)


def r(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def spd(rng, n, batch=()):
    a = rng.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(np.float32)


def close(actual, expected, **tol):
    actual = np.asarray(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(actual, expected, **(tol or TOL))


# ----------------------------------------------------------------------------------------------
# Products

def test_dot_matmul_family(rng):
    a, b, v = r(rng, 3, 4), r(rng, 4, 5), r(rng, 4)
    x, y = r(rng, 2, 3, 4), r(rng, 5, 4, 6)
    close(jnp.dot(a, b), a @ b)
    close(jnp.dot(x, y), np.dot(x, y))
    close(jnp.dot(2.0, a), 2 * a)
    close(jnp.dot(v, v), v @ v)
    p, q = r(rng, 5, 1, 3, 4), r(rng, 2, 4, 6)
    close(jnp.matmul(p, q), p @ q)
    close(jnp.matmul(p, v), p @ v)
    close(jnp.matmul(v, q), v @ q)
    close(jnp.asarray(a) @ b, a @ b)
    c = (r(rng, 3, 4) + 1j * r(rng, 3, 4)).astype(np.complex64)
    close(jnp.vdot(c, c), np.vdot(c, c))
    x1, x2 = r(rng, 2, 1, 3), r(rng, 4, 3)
    close(jnp.vecdot(x1, x2), np.sum(x1 * x2, -1))
    close(jnp.vecdot(c, c, axis=0), np.sum(np.conj(c) * c, 0))
    m = r(rng, 2, 3, 4)
    close(jnp.matvec(m, v), m @ v)
    w = r(rng, 3)
    close(jnp.vecmat(w, m), w @ m)
    z = r(rng, 6, 4)
    close(jnp.inner(x, z), np.inner(x, z))
    close(jnp.outer(a, v), np.outer(a, v))
    t = r(rng, 3, 4, 5)
    close(jnp.tensordot(x, t), np.tensordot(x, t, 2))
    close(jnp.tensordot(x, t, ((1, 2), (0, 1))), np.tensordot(x, t, ((1, 2), (0, 1))))
    close(jnp.tensordot(x, y, (2, 1)), np.tensordot(x, y, (2, 1)))
    k = r(rng, 2, 3)
    close(jnp.kron(a, k), np.kron(a, k))
    close(jnp.kron(v, k), np.kron(v, k))


def test_product_dtypes():
    i8 = np.ones((2, 2), np.int8)
    assert jnp.matmul(i8, i8).dtype == np.int8
    assert jnp.dot(i8, np.ones((2, 2), np.float32)).dtype == np.float32
    assert bool(jnp.dot(np.array([True, False]), np.array([True, True])))
    out = jnp.matmul(i8, i8, preferred_element_type=np.int32)
    assert out.dtype == np.int32
    assert jnp.dot(jnp.ones(3), jnp.ones(3)).dtype == np.float32


def test_matmul_broadcasts_without_copies(rng):
    # a size-1 batch dimension is squeezed away, not broadcast: the program is one dot_general
    p, q = r(rng, 5, 1, 3, 4), r(rng, 2, 4, 6)
    text = ec.jit(jnp.matmul).lower(p, q).as_text()
    assert "broadcast_in_dim" not in text and text.count("stablehlo.dot_general") == 1


def test_trace_diagonal_cross(rng):
    s = r(rng, 4, 5, 5)
    close(jnp.trace(s, 1, 1, 2), np.trace(s, 1, 1, 2))
    close(jnp.trace(s, -2, 2, 1), np.trace(s, -2, 2, 1))
    assert jnp.trace(np.ones((3, 3), np.int8)).dtype == np.int32
    assert jnp.trace(np.ones((3, 3), np.uint8)).dtype == np.uint32
    close(jnp.diagonal(s, 1, 0, 2), np.diagonal(s, 1, 0, 2))
    ramp = np.arange(18.0).reshape(3, 6)
    close(jnp.diagonal(ramp, -1), np.diagonal(ramp, -1))
    inf_off = np.array([[1.0, np.inf], [np.nan, 2.0]], np.float32)
    close(jnp.diagonal(inf_off), [1.0, 2.0])
    close(jnp.asarray(s).diagonal(0, 1, 2), np.diagonal(s, 0, 1, 2))
    a3, b3 = r(rng, 4, 3), r(rng, 3)
    close(jnp.cross(a3, b3), np.cross(a3, b3))
    a2, b2 = r(rng, 4, 2), r(rng, 2)
    close(jnp.cross(a2, b2), a2[:, 0] * b2[1] - a2[:, 1] * b2[0])
    u, v = r(rng, 3, 4), r(rng, 3, 4)
    close(jnp.cross(u, v, axisa=0, axisb=0), np.cross(u, v, axisa=0, axisb=0))
    close(jnp.cross(u, v, axis=0), np.cross(u, v, axis=0))
    with pytest.raises(ValueError, match="dimension must be 2 or 3"):
        jnp.cross(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="at least two dimensions"):
        jnp.diagonal(np.ones(3))


EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("ij->", [(3, 4)]),
    ("ijk->kji", [(2, 3, 4)]), ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]), ("...ij,...jk", [(5, 2, 3), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]), ("ab,cd,bc->ad", [(2, 3), (4, 5), (3, 4)]), ("ij,ij->i", [(3, 4), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("ba", [(3, 4)]), ("i,i", [(3,), (3,)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUM_CASES)
def test_einsum(rng, spec, shapes):
    ops = [r(rng, *s) for s in shapes]
    expected = np.einsum(spec, *ops)
    close(jnp.einsum(spec, *ops), expected)
    close(jnp.einsum(spec, *ops, optimize=False), expected)


def test_einsum_forms_and_paths(rng):
    a, b = r(rng, 3, 1), r(rng, 4)
    close(jnp.einsum("ij,j->ij", a, b), a * b)  # size-1 broadcasting
    x, y = r(rng, 2, 3), r(rng, 3, 4)
    close(jnp.einsum(x, [0, 1], y, [1, 2], [0, 2]), x @ y)
    close(jnp.einsum(x, [0, 1], y, [1, 2]), x @ y)
    close(jnp.einsum("...i->i", x), x.sum(0))
    ops = [r(rng, 2, 3), r(rng, 3, 4), r(rng, 4, 5)]
    assert jnp.einsum_path("ij,jk,kl->il", *ops)[0] == [(0, 1), (0, 1)]
    close(jnp.einsum("ij,jk,kl->il", *ops, optimize=[(1, 2), (0, 1)]), ops[0] @ ops[1] @ ops[2])
    close(jnp.einsum("ij,jk,kl->il", *ops, optimize="greedy"), ops[0] @ ops[1] @ ops[2])
    assert jnp.einsum("i,i", np.arange(3), np.arange(3)).dtype == np.int32
    with pytest.raises(ValueError, match="inconsistent sizes"):
        jnp.einsum("ij,jk", x, x)
    with pytest.raises(ValueError, match="name 2 operands but 1"):
        jnp.einsum("ij,jk", x)
    with pytest.raises(ValueError, match="does not appear in the inputs"):
        jnp.einsum("ij->iz", x)


def test_product_grads_vmap_jit(rng):
    a, b = r(rng, 3, 4), r(rng, 4, 2)
    check_grads(jnp.matmul, (a, b), order=2, modes=("fwd", "rev"))
    check_grads(lambda x, y: jnp.einsum("ij,jk,ki->", x, y, b.T @ a.T), (a, b), order=1)
    check_grads(lambda x: jnp.trace(x @ x.T), (a,), order=1)
    check_grads(lambda x, y: jnp.tensordot(x, y, 1), (a, b), order=1)
    batch = r(rng, 5, 3, 4)
    close(ec.vmap(jnp.matmul, in_axes=(0, None))(batch, b), batch @ b)
    close(ec.vmap(lambda x: jnp.einsum("ij,jk->ki", x, b))(batch), np.einsum("bij,jk->bki", batch, b))
    close(ec.jit(lambda x, y: jnp.einsum("ij,jk->ik", x, y))(a, b), a @ b)


# ----------------------------------------------------------------------------------------------
# numpy.linalg

def test_factorisations(rng):
    s = spd(rng, 4, (3,))
    close(la.cholesky(s), np.linalg.cholesky(s))
    close(la.cholesky(s, upper=True), np.swapaxes(np.linalg.cholesky(s), -1, -2))
    res = la.eigh(s)
    close(res.eigenvalues, np.linalg.eigvalsh(s), **LOOSE)
    close(la.eigvalsh(s), np.linalg.eigvalsh(s), **LOOSE)
    m = r(rng, 6, 3)
    q, rr = la.qr(m)
    close(np.asarray(q) @ np.asarray(rr), m)
    qc, rc = la.qr(m, "complete")
    assert qc.shape == (6, 6) and rc.shape == (6, 3)
    assert la.qr(m, "r").shape == (3, 3)
    h, tau = la.qr(m, "raw")
    nh, ntau = np.linalg.qr(m, "raw")
    assert h.shape == nh.shape and tau.shape == ntau.shape
    u, sv, vh = la.svd(m)
    assert u.shape == (6, 6) and vh.shape == (3, 3)
    close(sv, np.linalg.svd(m, compute_uv=False))
    close(la.svdvals(m), np.linalg.svd(m, compute_uv=False))
    g = r(rng, 3, 3)
    w, v = la.eig(g)
    np.testing.assert_allclose(g @ np.asarray(v), np.asarray(v) * np.asarray(w), atol=1e-4)
    np.testing.assert_allclose(np.sort_complex(np.asarray(la.eigvals(g))), np.sort_complex(np.linalg.eigvals(g)),
                               atol=1e-4)


def test_det_slogdet_inv_solve(rng):
    a = r(rng, 3, 4, 4)
    for n in (1, 2, 3, 4):
        close(la.det(a[:, :n, :n]), np.linalg.det(a[:, :n, :n]), **LOOSE)
    sign, logdet = la.slogdet(a)
    ref_sign, ref_logdet = np.linalg.slogdet(a)
    close(sign, ref_sign)
    close(logdet, ref_logdet, **LOOSE)
    sign0, logdet0 = la.slogdet(np.zeros((2, 2), np.float32))
    assert float(sign0) == 0 and float(logdet0) == -np.inf
    s = spd(rng, 4, (3,))
    close(la.inv(s), np.linalg.inv(s), **LOOSE)
    b = r(rng, 3, 4, 2)
    close(la.solve(s, b), np.linalg.solve(s, b), **LOOSE)
    v = r(rng, 4)
    close(la.solve(s[0], v), np.linalg.solve(s[0], v), **LOOSE)
    close(la.solve(s, np.ones((4, 2), np.float32)), np.linalg.solve(s, np.ones((3, 4, 2))), **LOOSE)
    with pytest.raises(ValueError, match="square matrices"):
        la.inv(np.ones((2, 3), np.float32))


def test_lstsq_pinv_rank_power(rng):
    m, y = r(rng, 6, 3), r(rng, 6)
    x, resid, rank, sv = la.lstsq(m, y)
    rx, rresid, rrank, rsv = np.linalg.lstsq(m, y, rcond=None)
    close(x, rx, **LOOSE)
    close(resid, rresid[0], **LOOSE)
    assert int(rank) == rrank
    close(sv, rsv, **LOOSE)
    close(la.pinv(m), np.linalg.pinv(m), **LOOSE)
    close(la.pinv(np.array([[2.0, 0.0], [0.0, 0.0]], np.float32)), [[0.5, 0.0], [0.0, 0.0]])
    assert int(la.matrix_rank(np.ones((3, 3), np.float32))) == 1
    assert int(la.matrix_rank(r(rng, 4, 4))) == 4
    a = r(rng, 3, 3)
    close(la.matrix_power(a, 5), np.linalg.matrix_power(a, 5), **LOOSE)
    close(la.matrix_power(a, 0), np.eye(3))
    s = spd(rng, 3)
    close(la.matrix_power(s, -2), np.linalg.matrix_power(s, -2), **LOOSE)


@pytest.mark.parametrize("ord", [None, "fro", 1, -1, 2, -2, np.inf, -np.inf, "nuc"])
def test_matrix_norms(rng, ord):
    a = r(rng, 3, 4, 5)
    close(la.norm(a[0], ord=ord), np.linalg.norm(a[0], ord=ord), **LOOSE)
    close(la.norm(a, ord=ord, axis=(2, 0), keepdims=True), np.linalg.norm(a, ord=ord, axis=(2, 0), keepdims=True),
          **LOOSE)


def test_vector_norms_and_cond(rng):
    a = r(rng, 3, 4, 5)
    for ord in [None, 1, 2, 3, 0, np.inf, -np.inf, -1]:
        close(la.norm(a, ord=ord, axis=1), np.linalg.norm(a, ord=ord, axis=1), **LOOSE)
    close(la.norm(a), np.linalg.norm(a))
    close(la.vector_norm(a), np.linalg.norm(a.ravel()))
    close(la.vector_norm(a, axis=(0, 2), ord=1), np.abs(a).sum((0, 2)))
    close(la.matrix_norm(a), np.linalg.norm(a, axis=(-2, -1)))
    s = spd(rng, 4)
    close(la.cond(s), np.linalg.cond(s), **LOOSE)
    close(la.cond(s, 1), np.linalg.cond(s, 1), **LOOSE)
    with pytest.raises(ValueError, match="Invalid order 'inf' for vector norm"):
        la.vector_norm(a, ord="inf")
    with pytest.raises(ValueError, match="Improper number of axes"):
        la.norm(a, axis=(0, 1, 2))


def test_tensor_forms_and_aliases(rng):
    t = r(rng, 6, 2, 3)
    close(la.tensorinv(t, 1), np.linalg.tensorinv(t, 1), **LOOSE)
    a4, b4 = r(rng, 2, 3, 6), r(rng, 2, 3)
    close(la.tensorsolve(a4, b4), np.linalg.tensorsolve(a4, b4), **LOOSE)
    mats = [r(rng, 5, 3), r(rng, 3, 7), r(rng, 7, 2), r(rng, 2)]
    close(la.multi_dot(mats), np.linalg.multi_dot(mats), **LOOSE)
    assert la.multi_dot([r(rng, 3), r(rng, 3, 2), r(rng, 2)]).shape == ()
    a = r(rng, 3, 4, 4)
    close(la.trace(a, offset=1), np.trace(a, 1, -2, -1))
    close(la.diagonal(a, offset=-1), np.diagonal(a, -1, -2, -1))
    close(la.matrix_transpose(a), np.swapaxes(a, -1, -2))
    close(la.outer(np.arange(3.0), np.arange(4.0)), np.outer(np.arange(3.0), np.arange(4.0)))
    close(la.cross(np.ones((4, 3)), np.arange(12.0).reshape(4, 3)),
          np.cross(np.ones((4, 3)), np.arange(12.0).reshape(4, 3)))
    close(la.vecdot(a, a), np.sum(a * a, -1))
    close(la.matmul(a, a), a @ a)
    w = r(rng, 4, 4, 2)
    close(la.tensordot(a, w, axes=2), np.tensordot(a, w, 2))
    with pytest.raises(ValueError, match="one-dimensional"):
        la.outer(np.ones((2, 2)), np.ones(2))


def test_linalg_grads(rng):
    s = spd(rng, 3)
    a = r(rng, 3, 3) + 3 * np.eye(3, dtype=np.float32)
    b = r(rng, 3, 2)
    check_grads(la.det, (r(rng, 4, 4),), order=1, **GRAD_TOL)
    check_grads(la.det, (r(rng, 3, 3),), order=2, **GRAD_TOL)
    check_grads(lambda x: la.slogdet(x)[1], (a,), order=1, **GRAD_TOL)
    check_grads(la.inv, (s,), order=2, **GRAD_TOL)
    check_grads(la.solve, (a, b), order=1, **GRAD_TOL)
    check_grads(lambda x: la.norm(x, ord="fro"), (a,), order=2, **GRAD_TOL)
    check_grads(lambda x: la.norm(x, ord=2), (a,), order=1, **GRAD_TOL)
    check_grads(la.cholesky, (s,), order=1, **GRAD_TOL)
    check_grads(la.pinv, (r(rng, 4, 2),), order=1, **GRAD_TOL)
    check_grads(lambda x: la.eigh(x).eigenvalues, (s,), order=1, **GRAD_TOL)


def test_linalg_vmap_jit(rng):
    s = spd(rng, 3, (4,))
    b = r(rng, 4, 3)
    close(ec.vmap(la.solve)(s, b), np.linalg.solve(s, b[..., None])[..., 0], **LOOSE)
    close(ec.vmap(la.det)(s), np.linalg.det(s), **LOOSE)
    close(ec.jit(la.inv)(s), np.linalg.inv(s), **LOOSE)
    close(ec.vmap(lambda x: la.norm(x, ord=2))(s), np.linalg.norm(s, ord=2, axis=(1, 2)), **LOOSE)


# ----------------------------------------------------------------------------------------------
# scipy.linalg

def test_scipy_cholesky_and_triangular(rng):
    s, B, v = spd(rng, 4), r(rng, 4, 3), r(rng, 4)
    close(sla.cholesky(s), sl.cholesky(s))
    close(sla.cholesky(s, lower=True), sl.cholesky(s, lower=True))
    for lower in (False, True):
        c = sla.cho_factor(s, lower=lower)
        ref = sl.cho_factor(s, lower=lower)
        close(sla.cho_solve(c, B), sl.cho_solve(ref, B), **LOOSE)
        close(sla.cho_solve(c, v), sl.cho_solve(ref, v), **LOOSE)
    t = np.tril(r(rng, 4, 4)) + 4 * np.eye(4, dtype=np.float32)
    for trans in (0, 1, 2, "T", "C"):
        for lower in (True, False):
            tt = t if lower else t.T
            close(sla.solve_triangular(tt, B, trans=trans, lower=lower),
                  sl.solve_triangular(tt, B, trans=trans, lower=lower), **LOOSE)
    close(sla.solve_triangular(t, v, lower=True, unit_diagonal=True),
          sl.solve_triangular(t, v, lower=True, unit_diagonal=True), **LOOSE)
    with pytest.raises(ValueError, match="Invalid 'trans'"):
        sla.solve_triangular(t, v, trans=3)


def test_scipy_lu(rng):
    for shape in ((4, 4), (5, 3), (3, 5)):
        a = r(rng, *shape)
        p, l, u = sla.lu(a)
        P, L, U = sl.lu(a)
        close(p, P)
        close(l, L)
        close(u, U)
        pl, u2 = sla.lu(a, permute_l=True)
        close(pl, P @ L)
    a, B, v = r(rng, 4, 4), r(rng, 4, 3), r(rng, 4)
    lu, piv = sla.lu_factor(a)
    ref = sl.lu_factor(a)
    close(lu, ref[0])
    np.testing.assert_array_equal(np.asarray(piv), ref[1])
    for trans in (0, 1, 2):
        close(sla.lu_solve((lu, piv), B, trans=trans), sl.lu_solve(ref, B, trans=trans), **LOOSE)
        close(sla.lu_solve((lu, piv), v, trans=trans), sl.lu_solve(ref, v, trans=trans), **LOOSE)
    check_grads(lambda x: sla.lu(x)[2], (a,), order=1, **GRAD_TOL)


def test_scipy_others(rng):
    m, s, a, B = r(rng, 5, 3), spd(rng, 4), r(rng, 4, 4), r(rng, 4, 3)
    q, rr = sla.qr(m)
    assert q.shape == (5, 5)
    close(np.asarray(q) @ np.asarray(rr), m)
    assert sla.qr(m, mode="r")[0].shape == (5, 3)
    assert [x.shape for x in sla.qr(m, mode="economic")] == [(5, 3), (3, 3)]
    u, sv, vh = sla.svd(m)
    close(sv, sl.svd(m, compute_uv=False))
    w, v = sla.eigh(s)
    close(w, sl.eigh(s)[0], **LOOSE)
    close(sla.eigh(s, eigvals_only=True), sl.eigh(s, eigvals_only=True), **LOOSE)
    close(sla.inv(s), sl.inv(s), **LOOSE)
    close(sla.det(a), sl.det(a), **LOOSE)
    close(sla.solve(s, B, assume_a="pos"), sl.solve(s, B, assume_a="pos"), **LOOSE)
    close(sla.solve(a, B), sl.solve(a, B), **LOOSE)
    with pytest.raises(NotImplementedError, match="b=None"):
        sla.eigh(s, s)


def test_expm(rng):
    a = r(rng, 4, 4)
    for scale in (0.01, 0.5, 3.0, 20.0):
        expected = sl.expm(a.astype(np.float64) * scale / 4)
        close(sla.expm(a * scale / 4), expected, atol=1e-3 * max(1.0, np.abs(expected).max()), rtol=1e-3)
    close(sla.expm(np.stack([a * 0.1, a * 0.5])), np.stack([sl.expm(a * 0.1), sl.expm(a * 0.5)]), **LOOSE)
    close(sla.expm(np.triu(a), upper_triangular=True), sl.expm(np.triu(a)), **LOOSE)
    close(sla.expm(np.zeros((2, 2), np.float32)), np.eye(2))
