"""``ember.core.scipy.linalg``: SciPy's linear algebra with the names and semantics of
``jax.scipy.linalg`` (the ``overwrite_*`` and ``check_finite`` arguments are accepted and ignored).

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import linalg
    >>> c = linalg.cho_factor(jnp.array([[4.0, 2.0], [2.0, 3.0]]))
    >>> linalg.cho_solve(c, jnp.array([6.0, 5.0])).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core import get_aval, operator_index
from ..numpy import linalg as np_linalg
from ..numpy.linalg_ops import matmul
from ..numpy.util import broadcast_shapes, broadcast_to_shape, check_arraylike, numpy_jit, promote_dtypes_inexact
from ..primitives import elementwise as ew
from ..primitives import linalg as lax_linalg
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives.dot import Precision

__all__ = [
    "cho_factor", "cho_solve", "cholesky", "det", "eigh", "expm", "inv", "lu", "lu_factor", "lu_solve", "qr",
    "solve", "solve_triangular", "svd",
]


def _inexact(name: str, *xs: Any) -> list[Any]:
    check_arraylike(name, *xs)
    from ..numpy.creation import asarray
    return list(promote_dtypes_inexact(*[asarray(x) for x in xs]))


def _shape(x: Any) -> tuple[int, ...]:
    return get_aval(x).shape


def _ndim(x: Any) -> int:
    return get_aval(x).ndim


def _dtype(x: Any) -> np.dtype:
    return get_aval(x).dtype


def _H(x: Any) -> Any:
    return lax_linalg._H(x)


def _square(name: str, a: Any) -> None:
    shape = _shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"scipy.linalg.{name}: expected a (batch of) square matrices, got shape {shape}")


# ----------------------------------------------------------------------------------------------
# Cholesky

@numpy_jit(static_argnames=("lower",))
def _cholesky(a: Any, lower: bool) -> Any:
    (a,) = _inexact("cholesky", a)
    _square("cholesky", a)
    L = lax_linalg.cholesky(a if lower else _H(a), symmetrize_input=False)
    return L if lower else _H(L)


def cholesky(a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """Cholesky factor: upper ``U`` with ``a = U^H U`` (default), or lower ``L`` with ``a = L L^H``.

    Only the requested triangle of ``a`` is read.
    """
    del overwrite_a, check_finite
    return _cholesky(a, lower=bool(lower))


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Any, bool]:
    """``(c, lower)`` for ``cho_solve``: the Cholesky factor and which triangle it is in."""
    del overwrite_a, check_finite
    return _cholesky(a, lower=bool(lower)), bool(lower)


@numpy_jit(static_argnames=("lower",))
def _cho_solve(c: Any, b: Any, lower: bool) -> Any:
    c, b = _inexact("cho_solve", c, b)
    _square("cho_solve", c)
    if _ndim(b) not in (_ndim(c), _ndim(c) - 1) or _shape(b)[_ndim(c) - 2] != _shape(c)[-1]:
        raise ValueError(f"scipy.linalg.cho_solve: shapes must be c=[..., m, m] and b=[..., m] or [..., m, k]; "
                         f"got c={_shape(c)} and b={_shape(b)}")
    # a = L L^H: solve L y = b, then L^H x = y (with L = U^H for an upper factor)
    b = lax_linalg.triangular_solve(c, b, left_side=True, lower=lower, transpose_a=not lower, conjugate_a=not lower)
    return lax_linalg.triangular_solve(c, b, left_side=True, lower=lower, transpose_a=lower, conjugate_a=lower)


def cho_solve(c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True) -> Any:
    """Solve ``a @ x = b`` given ``cho_factor(a)``."""
    del overwrite_b, check_finite
    c, lower = c_and_lower
    return _cho_solve(c, b, lower=bool(lower))


# ----------------------------------------------------------------------------------------------
# Triangular solves

def _trans_flags(trans: Any) -> tuple[bool, bool]:
    if trans in (0, "N"):
        return False, False
    if trans in (1, "T"):
        return True, False
    if trans in (2, "C"):
        return True, True
    raise ValueError(f"Invalid 'trans' value {trans!r}; expected 0/'N', 1/'T' or 2/'C'")


@numpy_jit(static_argnames=("trans", "lower", "unit_diagonal"))
def _solve_triangular(a: Any, b: Any, trans: Any, lower: bool, unit_diagonal: bool) -> Any:
    transpose_a, conjugate_a = _trans_flags(trans)
    a, b = _inexact("solve_triangular", a, b)
    _square("solve_triangular", a)
    return lax_linalg.triangular_solve(a, b, left_side=True, lower=lower, transpose_a=transpose_a,
                                       conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)


def solve_triangular(a: Any, b: Any, trans: int | str = 0, lower: bool = False, unit_diagonal: bool = False,
                     overwrite_b: bool = False, debug: Any = None, check_finite: bool = True) -> Any:
    """Solve ``op(a) @ x = b`` for triangular ``a``; ``trans`` picks ``op``: 0/'N' (``a``), 1/'T'
    (``a^T``) or 2/'C' (``a^H``).

    >>> import ember.core.numpy as jnp
    >>> solve_triangular(jnp.array([[2.0, 0.0], [1.0, 1.0]]), jnp.array([2.0, 2.0]), lower=True).tolist()
    [1.0, 1.0]
    """
    del overwrite_b, debug, check_finite
    return _solve_triangular(a, b, trans=trans, lower=bool(lower), unit_diagonal=bool(unit_diagonal))


# ----------------------------------------------------------------------------------------------
# LU

@numpy_jit(static_argnames=("permute_l",))
def _lu(a: Any, permute_l: bool) -> Any:
    (a,) = _inexact("lu", a)
    if _ndim(a) < 2:
        raise ValueError(f"scipy.linalg.lu: expected a (batch of) matrices, got shape {_shape(a)}")
    lu_, _, perm = lax_linalg.lu(a)
    dtype = _dtype(a)
    batch, (m, n) = _shape(a)[:-2], _shape(a)[-2:]
    k = min(m, n)
    nb = len(batch)
    onehot_shape = batch + (m, m)
    perm_b = sh.broadcast_in_dim(perm, onehot_shape, tuple(range(nb + 1)))
    # p[i, j] = 1 where perm[j] == i, so that a = p @ l @ u
    p = ew.convert_element_type(ew.eq(perm_b, sh.broadcasted_iota(np.int32, onehot_shape, nb + 1)), dtype)
    p = lax_linalg._T(p)
    l_ = sh.slice(lax_linalg._tril(lu_, -1), (0,) * (nb + 2), batch + (m, k))
    l_ = ew.add(l_, lax_linalg._eye(batch + (m, k), dtype))
    u = sh.slice(lax_linalg._triu(lu_), (0,) * (nb + 2), batch + (k, n))
    if permute_l:
        return matmul(p, l_, precision=Precision.HIGHEST), u
    return p, l_, u


def lu(a: Any, permute_l: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """LU decomposition with partial pivoting: ``(p, l, u)`` with ``a = p @ l @ u``, or
    ``(p @ l, u)`` with ``permute_l``."""
    del overwrite_a, check_finite
    return _lu(a, permute_l=bool(permute_l))


@numpy_jit
def _lu_factor(a: Any) -> tuple[Any, Any]:
    (a,) = _inexact("lu_factor", a)
    lu_, pivots, _ = lax_linalg.lu(a)
    return lu_, pivots


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Any, Any]:
    """``(lu, piv)`` for ``lu_solve``: L and U packed in one matrix, and the (0-based) row swaps."""
    del overwrite_a, check_finite
    return _lu_factor(a)


@numpy_jit(static_argnames=("trans",))
def _lu_solve(lu_: Any, piv: Any, b: Any, trans: int) -> Any:
    lu_, b = _inexact("lu_solve", lu_, b)
    if _ndim(lu_) < 2 or _shape(lu_)[-1] != _shape(lu_)[-2]:
        raise ValueError(f"scipy.linalg.lu_solve: the LU matrix must be square, got shape {_shape(lu_)}")
    m = _shape(lu_)[-1]
    perm = lax_linalg.lu_pivots_to_permutation(ew.convert_element_type(piv, np.int32), m)
    vector = _ndim(b) == _ndim(lu_) - 1
    if vector:
        b = sh.expand_dims(b, (_ndim(b),))
    if _shape(b)[-2] != m:
        raise ValueError(f"scipy.linalg.lu_solve: b has {_shape(b)[-2]} rows but the LU matrix has {m}")
    batch = broadcast_shapes(_shape(lu_)[:-2], _shape(perm)[:-1], _shape(b)[:-2])
    lu_ = broadcast_to_shape(lu_, batch + (m, m))
    perm = broadcast_to_shape(perm, batch + (m,))
    b = broadcast_to_shape(b, batch + _shape(b)[-2:])
    if trans == 0:
        x = lax_linalg._rows_permuted(b, perm)
        x = lax_linalg.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True)
        x = lax_linalg.triangular_solve(lu_, x, left_side=True, lower=False)
    elif trans in (1, 2):
        conj = trans == 2
        x = lax_linalg.triangular_solve(lu_, b, left_side=True, lower=False, transpose_a=True, conjugate_a=conj)
        x = lax_linalg.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True, transpose_a=True,
                                        conjugate_a=conj)
        x = lax_linalg._rows_unpermuted(x, perm)
    else:
        raise ValueError(f"'trans' value must be 0, 1, or 2, got {trans}")
    if vector:
        x = sh.squeeze(x, (_ndim(x) - 1,))
    return x


def lu_solve(lu_and_piv: tuple[Any, Any], b: Any, trans: int = 0, overwrite_b: bool = False,
             check_finite: bool = True) -> Any:
    """Solve ``a @ x = b`` (``trans=0``), ``a^T @ x = b`` (1) or ``a^H @ x = b`` (2) from ``lu_factor(a)``."""
    del overwrite_b, check_finite
    lu_, piv = lu_and_piv
    return _lu_solve(lu_, piv, b, trans=operator_index(trans))


# ----------------------------------------------------------------------------------------------
# QR, SVD, eigh

@numpy_jit(static_argnames=("mode",))
def _qr(a: Any, mode: str) -> Any:
    if mode in ("full", "r"):
        full = True
    elif mode == "economic":
        full = False
    else:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    (a,) = _inexact("qr", a)
    q, r = lax_linalg.qr(a, full_matrices=full)
    return (r,) if mode == "r" else (q, r)


def qr(a: Any, overwrite_a: bool = False, lwork: Any = None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True) -> Any:
    """QR decomposition: ``(q, r)`` (``mode='full'`` or ``'economic'``) or ``(r,)`` (``mode='r'``)."""
    del overwrite_a, lwork, check_finite
    if pivoting:
        raise NotImplementedError("scipy.linalg.qr: pivoting=True is not implemented in ember")
    return _qr(a, mode=mode)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd") -> Any:
    """Singular value decomposition ``(u, s, vh)`` (or ``s`` with ``compute_uv=False``)."""
    del overwrite_a, check_finite
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f"scipy.linalg.svd: unknown lapack_driver {lapack_driver!r}")
    out = np_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def eigh(a: Any, b: Any = None, lower: bool = True, eigvals_only: bool = False, overwrite_a: bool = False,
         overwrite_b: bool = False, turbo: bool = True, eigvals: Any = None, type: int = 1,
         check_finite: bool = True) -> Any:
    """Eigenvalues ``w`` (ascending) and eigenvectors ``v`` of Hermitian ``a``: ``(w, v)`` or ``w``."""
    del overwrite_a, overwrite_b, turbo, check_finite
    if b is not None:
        raise NotImplementedError("scipy.linalg.eigh: only the standard eigenvalue problem (b=None) is supported")
    if eigvals is not None:
        raise NotImplementedError("scipy.linalg.eigh: the eigvals argument is not supported")
    if type != 1:
        raise NotImplementedError("scipy.linalg.eigh: only type=1 is supported")
    w, v = np_linalg.eigh(a, UPLO="L" if lower else "U", symmetrize_input=False)
    return w if eigvals_only else (w, v)


def inv(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The inverse of a square matrix."""
    del overwrite_a, check_finite
    return np_linalg.inv(a)


def det(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> Any:
    """The determinant of a square matrix."""
    del overwrite_a, check_finite
    return np_linalg.det(a)


def solve(a: Any, b: Any, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          debug: bool = False, check_finite: bool = True, assume_a: str = "gen") -> Any:
    """Solve ``a @ x = b``; ``assume_a='pos'`` uses a Cholesky factorisation (reading the ``lower``
    or upper triangle), every other value an LU one."""
    del overwrite_a, overwrite_b, debug, check_finite
    if assume_a not in ("gen", "sym", "her", "pos"):
        raise ValueError(f"scipy.linalg.solve: unknown assume_a {assume_a!r}")
    if assume_a != "pos":
        return np_linalg.solve(a, b)
    return cho_solve(cho_factor(a, lower=lower), b)


# ----------------------------------------------------------------------------------------------
# expm: scaling and squaring with a Pade approximant (Higham 2005)

_pade_b = {
    3: (120., 60., 12., 1.),
    5: (30240., 15120., 3360., 420., 30., 1.),
    7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
    9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880., 3960., 90., 1.),
    13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
         10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.),
}
_theta = {
    np.dtype(np.float32): ((3, 4.258730016922831e-001), (5, 1.880152677804762e+000), (7, 3.925724783138660e+000)),
    np.dtype(np.float64): ((3, 1.495585217958292e-002), (5, 2.539398330063230e-001), (7, 9.504178996162932e-001),
                           (9, 2.097847961257068e+000), (13, 5.371920351148152e+000)),
}


def _pade(A: Any, m: int, ident: Any) -> tuple[Any, Any]:
    b = _pade_b[m]
    mm = lax_linalg._mm
    if m == 13:
        A2 = mm(A, A)
        A4 = mm(A2, A2)
        A6 = mm(A4, A2)
        u_in = ew.add(ew.add(ew.mul(A6, _c(A, b[13])), ew.mul(A4, _c(A, b[11]))), ew.mul(A2, _c(A, b[9])))
        U = mm(A, ew.add(ew.add(ew.add(ew.add(mm(A6, u_in), ew.mul(A6, _c(A, b[7]))), ew.mul(A4, _c(A, b[5]))),
                                ew.mul(A2, _c(A, b[3]))), ew.mul(ident, _c(A, b[1]))))
        v_in = ew.add(ew.add(ew.mul(A6, _c(A, b[12])), ew.mul(A4, _c(A, b[10]))), ew.mul(A2, _c(A, b[8])))
        V = ew.add(ew.add(ew.add(ew.add(mm(A6, v_in), ew.mul(A6, _c(A, b[6]))), ew.mul(A4, _c(A, b[4]))),
                          ew.mul(A2, _c(A, b[2]))), ew.mul(ident, _c(A, b[0])))
        return U, V
    powers = [ident]
    A2 = mm(A, A)
    for _ in range(m // 2):
        powers.append(A2 if len(powers) == 1 else mm(powers[-1], A2))
    u_sum = ew.mul(powers[0], _c(A, b[1]))
    v_sum = ew.mul(powers[0], _c(A, b[0]))
    for k in range(1, m // 2 + 1):
        u_sum = ew.add(u_sum, ew.mul(powers[k], _c(A, b[2 * k + 1])))
        v_sum = ew.add(v_sum, ew.mul(powers[k], _c(A, b[2 * k])))
    return mm(A, u_sum), v_sum


def _c(x: Any, value: float) -> np.ndarray:
    return np.asarray(value, _dtype(x))


@numpy_jit(static_argnames=("upper_triangular", "max_squarings"))
def expm(A: Any, *, upper_triangular: bool = False, max_squarings: int = 16) -> Any:
    """The matrix exponential, by scaling and squaring with a Padé approximant.

    Every squaring up to ``max_squarings`` is in the program (selected by the matrix's norm), so
    the program has no data-dependent control flow; too large a norm gives NaNs, as in JAX.

    >>> import ember.core.numpy as jnp
    >>> expm(jnp.zeros((2, 2))).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    (A,) = _inexact("expm", A)
    _square("expm", A)
    dtype = _dtype(A)
    real = np.dtype(np.finfo(dtype).dtype)
    shape = _shape(A)
    nd = len(shape)
    ident = lax_linalg._eye(shape, dtype)
    norm1 = red.reduce_max(red.reduce_sum(ew.abs(A), (nd - 2,)), (nd - 2,))  # max column sum
    thetas = _theta[real]
    m_max, theta_max = thetas[-1]
    # scaling: A / 2^s with s = max(0, ceil(log2(norm / theta_max)))
    safe = ew.max(norm1, ew.full_like(norm1, np.finfo(real).tiny))
    s = ew.ceil(ew.div(ew.log(ew.div(safe, _c(safe, theta_max))), _c(safe, math.log(2.0))))
    s = ew.max(s, ew.full_like(s, 0))
    s = ew.select(ew.is_finite(s), s, ew.full_like(s, max_squarings + 1))
    batch_b = tuple(range(nd - 2))
    scale = sh.broadcast_in_dim(ew.convert_element_type(ew.pow(_c(s, 2.0), ew.neg(s)), dtype), shape, batch_b)
    U, V = _pade(ew.mul(A, scale), m_max, ident)
    R = _pade_solve(U, V, upper_triangular)
    # lower-order approximants where the norm allows (no squaring needed)
    for m, theta in reversed(thetas[:-1]):
        Um, Vm = _pade(A, m, ident)
        use = sh.broadcast_in_dim(ew.le(norm1, _c(norm1, theta)), shape, batch_b)
        R = ew.select(use, _pade_solve(Um, Vm, upper_triangular), R)
        s = ew.select(ew.le(norm1, _c(norm1, theta)), ew.full_like(s, 0), s)
    for k in range(max_squarings):
        do = sh.broadcast_in_dim(ew.gt(s, _c(s, k)), shape, batch_b)
        R = ew.select(do, lax_linalg._mm(R, R), R)
    too_big = sh.broadcast_in_dim(ew.gt(s, _c(s, max_squarings)), shape, batch_b)
    nan = np.nan + 1j * np.nan if dtype.kind == "c" else np.nan
    return ew.select(too_big, ew.full_like(R, nan), R)


def _pade_solve(U: Any, V: Any, upper_triangular: bool) -> Any:
    P, Q = ew.add(U, V), ew.sub(V, U)
    if upper_triangular:
        return lax_linalg.triangular_solve(Q, P, left_side=True, lower=False)
    return np_linalg.solve(Q, P)
