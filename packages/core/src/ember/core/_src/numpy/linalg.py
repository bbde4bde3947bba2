"""``ember.core.numpy.linalg``: NumPy's linear algebra with JAX's names and semantics.

Factorisations come from ``primitives/linalg.py`` (LAPACK on CPU); everything else is ordinary
array code around them, compiled as one program per call. Matrices are the last two dimensions;
leading dimensions broadcast.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.numpy import linalg
    >>> float(linalg.det(jnp.array([[2.0, 1.0], [1.0, 3.0]])))
    5.0
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import Tracer, get_aval, operator_index
from ..primitives import elementwise as ew
from ..primitives import linalg as lax_linalg
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives.dot import Precision
from . import ufuncs as uf
from .linalg_ops import _sum_dtype, diagonal_last_two, matmul, tensordot, vecdot
from .linalg_ops import cross as _cross
from .linalg_ops import outer as _outer
from .util import (
    broadcast_shapes,
    broadcast_to_shape,
    canonicalize_axis,
    check_arraylike,
    numpy_jit,
    promote_dtypes_inexact,
)

__all__ = [
    "EigResult", "EighResult", "QRResult", "SVDResult", "SlogdetResult",
    "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals", "eigvalsh", "inv", "lstsq",
    "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer",
    "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve", "trace",
    "vecdot", "vector_norm",
]


class EighResult(NamedTuple):
    """The result of ``eigh``: ``eigenvalues`` (ascending) and ``eigenvectors`` (a NamedTuple).

    >>> import ember.core.numpy as jnp
    >>> r = jnp.linalg.eigh(jnp.eye(2))
    >>> type(r).__name__, r.eigenvalues.tolist()
    ('EighResult', [1.0, 1.0])
    """
    eigenvalues: Any
    eigenvectors: Any


class EigResult(NamedTuple):
    """The result of ``eig``: ``eigenvalues`` and ``eigenvectors`` (a NamedTuple).

    >>> import ember.core.numpy as jnp
    >>> jnp.linalg.EigResult._fields
    ('eigenvalues', 'eigenvectors')
    """
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    """The result of ``qr``: ``Q`` and ``R`` (a NamedTuple).

    >>> import ember.core.numpy as jnp
    >>> type(jnp.linalg.qr(jnp.eye(2))).__name__, jnp.linalg.QRResult._fields
    ('QRResult', ('Q', 'R'))
    """
    Q: Any
    R: Any


class SVDResult(NamedTuple):
    """The result of ``svd``: ``U``, ``S`` and ``Vh`` (a NamedTuple).

    >>> import ember.core.numpy as jnp
    >>> jnp.linalg.SVDResult._fields
    ('U', 'S', 'Vh')
    """
    U: Any
    S: Any
    Vh: Any


class SlogdetResult(NamedTuple):
    """The result of ``slogdet``: ``sign`` and ``logabsdet`` (a NamedTuple).

    >>> import ember.core.numpy as jnp
    >>> sign, logabsdet = jnp.linalg.slogdet(jnp.eye(2) * 2)
    >>> float(sign), f"{float(logabsdet):.4f}"
    (1.0, '1.3863')
    """
    sign: Any
    logabsdet: Any


# ----------------------------------------------------------------------------------------------
# Helpers

def _arr(name: str, *xs: Any) -> list[Any]:
    check_arraylike(name, *xs)
    from .creation import asarray
    return [x if isinstance(x, (Array, Tracer)) else asarray(x) for x in xs]


def _inexact(name: str, *xs: Any) -> list[Any]:
    return list(promote_dtypes_inexact(*_arr(name, *xs)))


def _asarray(x: Any, dtype: np.dtype) -> Any:
    from .creation import asarray
    return asarray(x, dtype)


def _shape(x: Any) -> tuple[int, ...]:
    return get_aval(x).shape


def _ndim(x: Any) -> int:
    return get_aval(x).ndim


def _dtype(x: Any) -> np.dtype:
    return get_aval(x).dtype


def _check_square(name: str, a: Any) -> None:
    shape = _shape(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(f"{name}: expected a (batch of) square matrices with shape [..., n, n], got {shape}")


def _check_matrix(name: str, a: Any) -> None:
    if _ndim(a) < 2:
        raise ValueError(f"{name}: expected a (batch of) matrices with shape [..., m, n], got {_shape(a)}")


def _mT(x: Any) -> Any:
    nd = _ndim(x)
    return sh.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _H(x: Any) -> Any:
    t = _mT(x)
    return ew.conj(t) if _dtype(t).kind == "c" else t


def _eye_like(shape: tuple[int, ...], dtype: np.dtype) -> Any:
    return lax_linalg._eye(shape, dtype)


def _mm(a: Any, b: Any) -> Any:
    return matmul(a, b, precision=Precision.HIGHEST)


def _reduce(fn: Any, x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    shape = _shape(x)
    out = fn(x, axes) if axes else x
    if keepdims:
        out = sh.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return out


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        return tuple(canonicalize_axis(a, ndim) for a in axis)
    return (canonicalize_axis(axis, ndim),)


def _abs2(x: Any) -> Any:
    """|x|^2 as a real array."""
    if _dtype(x).kind == "c":
        re, im = ew.real(x), ew.imag(x)
        return ew.add(ew.mul(re, re), ew.mul(im, im))
    return ew.mul(x, x)


def _where(c: Any, x: Any, y: Any) -> Any:
    return uf.where(c, x, y)


def _take_last(x: Any, i: int) -> Any:
    """``x[..., i]``."""
    n = _shape(x)[-1]
    return sh.index_in_dim(x, i % n, _ndim(x) - 1, keepdims=False)


# ----------------------------------------------------------------------------------------------
# Factorisations

@numpy_jit(static_argnames=("upper", "symmetrize_input"))
def cholesky(a: Any, *, upper: bool = False, symmetrize_input: bool = True) -> Any:
    """Cholesky factor of Hermitian positive-definite ``a``: lower ``L`` with ``a = L @ L^H`` (or the
    upper factor ``L^H`` with ``upper=True``); NaNs where ``a`` is not positive definite.

    >>> import ember.core.numpy as jnp
    >>> cholesky(jnp.array([[4.0, 2.0], [2.0, 5.0]])).tolist()
    [[2.0, 0.0], [1.0, 2.0]]
    """
    (a,) = _inexact("linalg.cholesky", a)
    _check_square("linalg.cholesky", a)
    L = lax_linalg.cholesky(a, symmetrize_input=symmetrize_input)
    return _H(L) if upper else L


def _uplo(UPLO: str | None) -> bool:
    if UPLO is None or UPLO == "L":
        return True
    if UPLO == "U":
        return False
    raise ValueError(f"UPLO must be 'L' or 'U', got {UPLO!r}")


@numpy_jit(static_argnames=("UPLO", "symmetrize_input"))
def eigh(a: Any, UPLO: str | None = None, symmetrize_input: bool = True) -> EighResult:
    """Eigenvalues (ascending) and eigenvectors (columns) of Hermitian ``a``.

    >>> import ember.core.numpy as jnp
    >>> eigh(jnp.array([[2.0, 0.0], [0.0, 1.0]])).eigenvalues.tolist()
    [1.0, 2.0]
    """
    (a,) = _inexact("linalg.eigh", a)
    _check_square("linalg.eigh", a)
    v, w = lax_linalg.eigh(a, lower=_uplo(UPLO), symmetrize_input=symmetrize_input)
    return EighResult(w, v)


@numpy_jit(static_argnames=("UPLO", "symmetrize_input"))
def eigvalsh(a: Any, UPLO: str | None = "L", *, symmetrize_input: bool = True) -> Any:
    """Eigenvalues (ascending) of Hermitian ``a``.

    >>> import ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in jnp.linalg.eigvalsh(jnp.array([[2.0, 1.0], [1.0, 2.0]])).tolist()]
    ['1.0000', '3.0000']
    """
    return eigh(a, UPLO, symmetrize_input).eigenvalues


@numpy_jit
def eig(a: Any) -> EigResult:
    """Eigenvalues and right eigenvectors of a general square matrix (complex; CPU only).

    >>> import ember.core.numpy as jnp
    >>> sorted(eig(jnp.array([[2.0, 0.0], [0.0, 1.0]])).eigenvalues.real.tolist())
    [1.0, 2.0]
    """
    (a,) = _inexact("linalg.eig", a)
    _check_square("linalg.eig", a)
    w, v = lax_linalg.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


@numpy_jit
def eigvals(a: Any) -> Any:
    """Eigenvalues of a general square matrix (complex; CPU only).

    >>> import ember.core.numpy as jnp
    >>> sorted(jnp.linalg.eigvals(jnp.array([[2.0, 0.0], [0.0, 3.0]])).real.tolist())
    [2.0, 3.0]
    """
    (a,) = _inexact("linalg.eigvals", a)
    _check_square("linalg.eigvals", a)
    return lax_linalg.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


@numpy_jit(static_argnames=("mode",))
def qr(a: Any, mode: str = "reduced") -> Any:
    """QR decomposition. ``mode``: ``'reduced'`` (default) and ``'complete'`` return
    ``QRResult(Q, R)``; ``'r'`` returns ``R``; ``'raw'`` returns LAPACK's ``(h, tau)``.

    >>> import ember.core.numpy as jnp
    >>> q, r = qr(jnp.ones((3, 2)))
    >>> q.shape, r.shape
    ((3, 2), (2, 2))
    """
    (a,) = _inexact("linalg.qr", a)
    _check_matrix("linalg.qr", a)
    if mode == "raw":
        h, tau = lax_linalg.geqrf(a)
        return _mT(h), tau
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: unsupported mode {mode!r}; expected 'reduced', 'complete', 'r' or 'raw'")
    q, r = lax_linalg.qr(a, full_matrices=(mode == "complete"))
    if mode == "r":
        return r
    return QRResult(q, r)


@numpy_jit(static_argnames=("full_matrices", "compute_uv", "hermitian", "subset_by_index"))
def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False,
        subset_by_index: tuple[int, int] | None = None) -> Any:
    """Singular value decomposition ``a = U @ diag(S) @ Vh`` (``S`` descending), or ``S`` alone.

    ``hermitian=True`` is accepted and computes the same decomposition with the general algorithm.

    >>> import ember.core.numpy as jnp
    >>> svd(jnp.array([[3.0, 0.0], [0.0, 4.0]]), compute_uv=False).tolist()
    [4.0, 3.0]
    """
    (a,) = _inexact("linalg.svd", a)
    _check_matrix("linalg.svd", a)
    if subset_by_index is not None and tuple(subset_by_index) != (0, min(_shape(a)[-2:])):
        raise NotImplementedError("linalg.svd: subset_by_index is not supported")
    if compute_uv:
        u, s, vh = lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=True)
        return SVDResult(u, s, vh)
    return lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=False)


@numpy_jit
def svdvals(x: Any, /) -> Any:
    """Singular values of ``x`` (descending).

    >>> import ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in jnp.linalg.svdvals(jnp.array([[3.0, 0.0], [0.0, 4.0]])).tolist()]
    ['4.0000', '3.0000']
    """
    return svd(x, compute_uv=False)


# ----------------------------------------------------------------------------------------------
# Determinants

def _entry(a: Any, i: int, j: int) -> Any:
    nd = _ndim(a)
    return sh.index_in_dim(sh.index_in_dim(a, i, nd - 2, False), j, nd - 2, False)


def _det_3x3(a: Any) -> Any:
    e = [[_entry(a, i, j) for j in range(3)] for i in range(3)]

    def minor(i1: int, i2: int, j1: int, j2: int) -> Any:
        return ew.sub(ew.mul(e[i1][j1], e[i2][j2]), ew.mul(e[i1][j2], e[i2][j1]))

    t0 = ew.mul(e[0][0], minor(1, 2, 1, 2))
    t1 = ew.mul(e[0][1], minor(1, 2, 0, 2))
    t2 = ew.mul(e[0][2], minor(1, 2, 0, 1))
    return ew.add(ew.sub(t0, t1), t2)


def _slogdet_lu(a: Any) -> tuple[Any, Any]:
    dtype = _dtype(a)
    lu_, pivots, _ = lax_linalg.lu(a)
    diag = diagonal_last_two(lu_, 0)
    nd = _ndim(diag)
    zero = ew.full_like(diag, 0)
    is_zero = red.reduce_or(ew.eq(diag, zero), (nd - 1,))
    iota = sh.broadcasted_iota(np.int32, _shape(pivots), _ndim(pivots) - 1)
    parity = red.reduce_sum(ew.convert_element_type(ew.ne(pivots, iota), np.int32), (_ndim(pivots) - 1,))
    abs_diag = uf.absolute(diag)
    if dtype.kind == "c":
        unit = ew.div(diag, ew.convert_element_type(abs_diag, dtype))
        sign = red.reduce_prod(unit, (nd - 1,))
    else:
        sign = sh.full(_shape(parity), 1, dtype)
        parity = ew.add(parity, red.reduce_sum(ew.convert_element_type(ew.lt(diag, zero), np.int32), (nd - 1,)))
    odd = ew.convert_element_type(ew.rem(parity, np.int32(2)), dtype)
    flip = ew.sub(sh.full(_shape(parity), 1, dtype), ew.mul(odd, ew.full_like(odd, 2)))
    sign = _where(is_zero, sh.full(_shape(is_zero), 0, dtype), ew.mul(sign, flip))
    logdet = red.reduce_sum(ew.log(abs_diag), (nd - 1,))
    logdet = _where(is_zero, sh.full(_shape(is_zero), -np.inf, _dtype(logdet)), logdet)
    return sign, logdet


@numpy_jit(static_argnames=("method",))
def slogdet(a: Any, *, method: str | None = None) -> SlogdetResult:
    """Sign and natural log of |det(a)|, stable for large and small determinants (by LU).

    >>> import ember.core.numpy as jnp
    >>> [float(v) for v in slogdet(jnp.array([[2.0, 0.0], [0.0, -3.0]]))]
    [-1.0, 1.7917594909667969]
    """
    (a,) = _inexact("linalg.slogdet", a)
    _check_square("linalg.slogdet", a)
    if method not in (None, "lu"):
        raise ValueError(f"linalg.slogdet: unknown method {method!r}; ember supports 'lu'")
    if _shape(a)[-1] == 0:
        batch = _shape(a)[:-2]
        return SlogdetResult(sh.full(batch, 1, _dtype(a)), sh.full(batch, 0, np.finfo(_dtype(a)).dtype))
    return SlogdetResult(*_slogdet_lu(a))


@numpy_jit
def det(a: Any) -> Any:
    """The determinant of (a batch of) square matrices.

    >>> import ember.core.numpy as jnp
    >>> float(det(jnp.array([[1.0, 2.0], [3.0, 4.0]])))
    -2.0
    """
    (a,) = _inexact("linalg.det", a)
    _check_square("linalg.det", a)
    n = _shape(a)[-1]
    if n == 0:
        return sh.full(_shape(a)[:-2], 1, _dtype(a))
    if n == 1:
        return _entry(a, 0, 0)
    if n == 2:
        return ew.sub(ew.mul(_entry(a, 0, 0), _entry(a, 1, 1)), ew.mul(_entry(a, 0, 1), _entry(a, 1, 0)))
    if n == 3:
        return _det_3x3(a)
    sign, logdet = _slogdet_lu(a)
    return ew.mul(sign, ew.convert_element_type(ew.exp(logdet), _dtype(sign)))


# ----------------------------------------------------------------------------------------------
# Solving

def _lu_solve(lu_: Any, perm: Any, b: Any) -> Any:
    """Solve ``a x = b`` for ``b`` of shape [..., n, k] given ``a``'s LU factors (equal batch shapes)."""
    x = lax_linalg._rows_permuted(b, perm)
    x = lax_linalg.triangular_solve(lu_, x, left_side=True, lower=True, unit_diagonal=True)
    return lax_linalg.triangular_solve(lu_, x, left_side=True, lower=False)


@numpy_jit
def solve(a: Any, b: Any) -> Any:
    """The solution ``x`` of ``a @ x = b``; ``b`` is a vector when it is 1-D, else ``[..., n, k]``
    with the leading dimensions broadcast against ``a``'s.

    >>> import ember.core.numpy as jnp
    >>> solve(jnp.array([[2.0, 0.0], [0.0, 4.0]]), jnp.array([2.0, 2.0])).tolist()
    [1.0, 0.5]
    """
    a, b = _inexact("linalg.solve", a, b)
    if _ndim(a) < 2:
        raise ValueError(f"linalg.solve: a must be at least two dimensional, got shape {_shape(a)}")
    _check_square("linalg.solve", a)
    n = _shape(a)[-1]
    vector = _ndim(b) == 1
    if vector:
        b = sh.reshape(b, (_shape(b)[0], 1))
    if _shape(b)[-2] != n:
        raise ValueError(f"linalg.solve: incompatible shapes a={_shape(a)} and b={_shape(b)}")
    batch = broadcast_shapes(_shape(a)[:-2], _shape(b)[:-2])
    a = broadcast_to_shape(a, batch + (n, n))
    b = broadcast_to_shape(b, batch + _shape(b)[-2:])
    lu_, _, perm = lax_linalg.lu(a)
    x = _lu_solve(lu_, perm, b)
    if vector:
        x = sh.reshape(x, batch + (n,))
    return x


@numpy_jit
def inv(a: Any) -> Any:
    """The inverse of (a batch of) square matrices.

    >>> import ember.core.numpy as jnp
    >>> inv(jnp.array([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    (a,) = _inexact("linalg.inv", a)
    _check_square("linalg.inv", a)
    return solve(a, _eye_like(_shape(a), _dtype(a)))


@numpy_jit(static_argnames=("numpy_resid",))
def lstsq(a: Any, b: Any, rcond: Any = None, *, numpy_resid: bool = False) -> tuple[Any, Any, Any, Any]:
    """Least-squares solution of ``a @ x = b`` by SVD: ``(x, residuals, rank, singular_values)``.

    >>> import ember.core.numpy as jnp
    >>> [round(v, 4) for v in lstsq(jnp.array([[1.0], [1.0]]), jnp.array([1.0, 3.0]))[0].tolist()]
    [2.0]
    """
    a, b = _inexact("linalg.lstsq", a, b)
    if _ndim(a) != 2:
        raise TypeError(f"linalg.lstsq: {_ndim(a)}-dimensional array given; a must be two-dimensional")
    if _ndim(b) not in (1, 2):
        raise TypeError(f"linalg.lstsq: {_ndim(b)}-dimensional array given; b must be one- or two-dimensional")
    if _shape(a)[0] != _shape(b)[0]:
        raise ValueError(f"linalg.lstsq: leading dimensions of a {_shape(a)} and b {_shape(b)} must match")
    b_was_vector = _ndim(b) == 1
    if b_was_vector:
        b = sh.reshape(b, (_shape(b)[0], 1))
    m, n = _shape(a)
    dtype = _dtype(a)
    real = np.finfo(dtype).dtype
    eps = float(np.finfo(dtype).eps)
    if m * n == 0:
        s = sh.full((0,), 0, real)
        rank = sh.full((), 0, dtypes.default_int_dtype())
        x = sh.full((n,) + _shape(b)[1:], 0, dtype)
    else:
        u, s, vt = lax_linalg.svd(a, full_matrices=False)
        if rcond is None:
            rcond_v: Any = np.asarray(eps * max(m, n), real)
        else:
            rcond_v = _where(uf.less(rcond, 0), np.asarray(eps, real), ew.convert_element_type(rcond, real))
        s0 = _take_last(s, 0)
        mask = uf.logical_and(uf.greater(s, 0), uf.greater_equal(s, uf.multiply(rcond_v, s0)))
        rank = red.reduce_sum(ew.convert_element_type(mask, dtypes.default_int_dtype()), (0,))
        safe = _where(mask, s, ew.full_like(s, 1))
        s_inv = _where(mask, ew.div(ew.full_like(safe, 1), safe), ew.full_like(safe, 0))
        s_inv = ew.convert_element_type(sh.reshape(s_inv, (_shape(s_inv)[0], 1)), dtype)
        utb = _mm(_H(u), b)
        x = _mm(_H(vt), uf.multiply(s_inv, utb))
    resid = red.reduce_sum(_abs2(uf.subtract(b, _mm(a, x))), (0,))
    if b_was_vector:
        x = sh.reshape(x, (n,))
        resid = sh.reshape(resid, ())
    return x, resid, rank, s


# ----------------------------------------------------------------------------------------------
# Norms

def _vector_norm(x: Any, axes: tuple[int, ...], keepdims: bool, ord: Any) -> Any:
    if ord is None or ord == 2:
        return uf.sqrt(_reduce(red.reduce_sum, _abs2(x), axes, keepdims))
    if isinstance(ord, str):
        hint = ""
        if ord in ("inf", "-inf"):
            hint = f" Use {'-' if ord[0] == '-' else ''}jnp.inf instead."
        raise ValueError(f"Invalid order '{ord}' for vector norm.{hint}")
    ax = uf.absolute(x)
    if ord == np.inf:  # the max of no elements is 0, as with NumPy's initial=0
        out = _reduce(red.reduce_max, ax, axes, keepdims)
        return ew.max(out, ew.full_like(out, 0))
    if ord == -np.inf:
        return _reduce(red.reduce_min, ax, axes, keepdims)
    if ord == 0:
        real = np.finfo(_dtype(x)).dtype if dtypes.is_inexact(_dtype(x)) else dtypes.default_float_dtype()
        nz = ew.convert_element_type(ew.ne(x, ew.full_like(x, 0)), real)
        return _reduce(red.reduce_sum, nz, axes, keepdims)
    if ord == 1:
        return _reduce(red.reduce_sum, ax, axes, keepdims)
    p = float(ord)
    return uf.power(_reduce(red.reduce_sum, uf.power(ax, p), axes, keepdims), 1.0 / p)


@numpy_jit(static_argnames=("axis", "keepdims", "ord"))
def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """The ``ord``-norm of vectors along ``axis`` (all axes, flattened, when ``None``).

    >>> import ember.core.numpy as jnp
    >>> float(vector_norm(jnp.array([3.0, 4.0])))
    5.0
    """
    (x,) = _arr("linalg.vector_norm", x)
    return _vector_norm(x, _axes(axis, _ndim(x)), keepdims, ord)


def _matrix_norm(x: Any, row: int, col: int, keepdims: bool, ord: Any) -> Any:
    nd = _ndim(x)
    if ord is None or ord in ("f", "fro"):
        return uf.sqrt(_reduce(red.reduce_sum, _abs2(x), (row, col), keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        ax = uf.absolute(x)
        inner_axis, outer_axis = (row, col) if ord in (1, -1) else (col, row)
        sums = _reduce(red.reduce_sum, ax, (inner_axis,), True)
        pick = red.reduce_max if ord in (1, np.inf) else red.reduce_min
        out = _reduce(pick, sums, (outer_axis,), True)
        if not keepdims:
            out = sh.squeeze(out, (row, col))
        return out
    if ord in ("nuc", 2, -2):
        perm = tuple(i for i in range(nd) if i not in (row, col)) + (row, col)
        s = lax_linalg.svd(sh.transpose(x, perm), compute_uv=False)
        last = _ndim(s) - 1
        if ord == 2:
            y = red.reduce_max(s, (last,))
        elif ord == -2:
            y = red.reduce_min(s, (last,))
        else:
            y = red.reduce_sum(s, (last,))
        if keepdims:
            shape = tuple(1 if i in (row, col) else n for i, n in enumerate(_shape(x)))
            y = sh.reshape(y, shape)
        return y
    raise ValueError(f"Invalid order '{ord}' for matrix norm.")


@numpy_jit(static_argnames=("ord", "axis", "keepdims"))
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """Vector or matrix norms, as NumPy: ``axis`` of one axis gives a vector norm, of two a matrix
    norm; ``axis=None`` means the 2-norm of the flattened array (``ord=None``) or the norm over all
    axes of a 1-D or 2-D ``x``.

    >>> import ember.core.numpy as jnp
    >>> float(norm(jnp.array([[1.0, 2.0], [3.0, 4.0]]), ord=1))
    6.0
    """
    (x,) = _inexact("linalg.norm", x)
    nd = _ndim(x)
    if axis is None:
        if ord is None:
            return uf.sqrt(_reduce(red.reduce_sum, _abs2(x), tuple(range(nd)), keepdims))
        axes = tuple(range(nd))
    else:
        axes = _axes(axis, nd)
    if len(axes) == 1:
        return _vector_norm(x, axes, keepdims, 2 if ord is None else ord)
    if len(axes) == 2:
        return _matrix_norm(x, axes[0], axes[1], keepdims, ord)
    raise ValueError(f"Improper number of axes for norm: axis={axis}. Pass one axis for a vector norm or two "
                     "for a matrix norm.")


@numpy_jit(static_argnames=("keepdims", "ord"))
def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    """The ``ord``-norm of the matrices in the last two dimensions of ``x``.

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.linalg.matrix_norm(jnp.array([[3.0, 0.0], [0.0, 4.0]]))):.4f}"   # Frobenius
    '5.0000'
    """
    (x,) = _arr("linalg.matrix_norm", x)
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@numpy_jit(static_argnames=("p",))
def cond(x: Any, p: Any = None) -> Any:
    """The condition number ``norm(x, p) * norm(inv(x), p)`` (the singular-value ratio for ``p`` in
    ``None, 2, -2``).

    >>> import ember.core.numpy as jnp
    >>> f"{float(jnp.linalg.cond(jnp.array([[1.0, 0.0], [0.0, 4.0]]))):.1f}"
    '4.0'
    """
    (x,) = _inexact("linalg.cond", x)
    if _ndim(x) < 2:
        raise ValueError(f"linalg.cond: input array must be at least 2D; got shape {_shape(x)}")
    if 0 in _shape(x)[-2:]:
        raise ValueError(f"linalg.cond: input array must not be empty; got shape {_shape(x)}")
    if p is None or p == 2:
        s = svdvals(x)
        return ew.div(_take_last(s, 0), _take_last(s, -1))
    if p == -2:
        s = svdvals(x)
        r = ew.div(_take_last(s, -1), _take_last(s, 0))
    else:
        _check_square(f"linalg.cond with p={p}", x)
        r = ew.mul(norm(x, ord=p, axis=(-2, -1)), norm(inv(x), ord=p, axis=(-2, -1)))
    nd = _ndim(x)
    x_has_nan = red.reduce_or(uf.isnan(x), (nd - 2, nd - 1))
    return _where(uf.logical_and(uf.isnan(r), uf.logical_not(x_has_nan)), np.inf, r)


# ----------------------------------------------------------------------------------------------
# Pseudo-inverse, rank, powers

@numpy_jit(static_argnames=("hermitian",))
def pinv(a: Any, rtol: Any = None, hermitian: bool = False, *, rcond: Any = None) -> Any:
    """Moore-Penrose pseudo-inverse by SVD; singular values at most ``rtol * max(s)`` are dropped
    (default ``rtol``: ``10 * max(m, n) * eps``).

    >>> import ember.core.numpy as jnp
    >>> pinv(jnp.array([[2.0, 0.0], [0.0, 0.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.0]]
    """
    if rcond is not None:
        if rtol is not None:
            raise ValueError("linalg.pinv: only one of rtol and rcond may be given")
        rtol = rcond
    (a,) = _inexact("linalg.pinv", a)
    _check_matrix("linalg.pinv", a)
    m, n = _shape(a)[-2:]
    if m == 0 or n == 0:
        return sh.full(_shape(a)[:-2] + (n, m), 0, _dtype(a))
    a = ew.conj(a) if _dtype(a).kind == "c" else a
    real = np.finfo(_dtype(a)).dtype
    if rtol is None:
        rtol = np.asarray(10.0 * max(m, n) * np.finfo(_dtype(a)).eps, real)
    u, s, vh = lax_linalg.svd(a, full_matrices=False)
    rtol = _asarray(rtol, real)
    rtol_b = sh.reshape(rtol, _shape(rtol) + (1,)) if _shape(rtol) else rtol
    s0 = sh.slice_in_dim(s, 0, 1, 1, _ndim(s) - 1)
    cutoff = uf.multiply(rtol_b, s0)
    s = _where(uf.greater(s, cutoff), s, np.inf)
    s = ew.convert_element_type(s, _dtype(u))
    ut_over_s = uf.divide(_mT(u), sh.reshape(s, _shape(s) + (1,)))
    return _mm(_mT(vh), ut_over_s)


@numpy_jit(static_argnames=("hermitian",))
def matrix_rank(M: Any, rtol: Any = None, *, hermitian: bool = False, tol: Any = None) -> Any:
    """The number of singular values above ``rtol`` (default ``max(s) * max(m, n) * eps``).

    >>> import ember.core.numpy as jnp
    >>> int(jnp.linalg.matrix_rank(jnp.array([[1.0, 2.0], [2.0, 4.0]])))
    1
    """
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified.")
        rtol = tol
    (M,) = _inexact("linalg.matrix_rank", M)
    if _ndim(M) < 2:
        nz = red.reduce_or(ew.ne(M, ew.full_like(M, 0)), tuple(range(_ndim(M))))
        return ew.convert_element_type(nz, np.int32)
    s = svd(M, full_matrices=False, compute_uv=False)
    real = _dtype(s)
    if rtol is None:
        smax = red.reduce_max(s, (_ndim(s) - 1,))
        rtol = ew.mul(smax, np.asarray(max(_shape(M)[-2:]) * np.finfo(real).eps, real))
    rtol = _asarray(rtol, real)
    rtol = sh.reshape(rtol, _shape(rtol) + (1,))
    return red.reduce_sum(ew.convert_element_type(uf.greater(s, rtol), dtypes.default_int_dtype()), (_ndim(s) - 1,))


@numpy_jit(static_argnames=("n",))
def matrix_power(a: Any, n: int) -> Any:
    """``a`` raised to the integer power ``n`` by repeated squaring (``n < 0`` inverts first).

    >>> import ember.core.numpy as jnp
    >>> matrix_power(jnp.array([[1.0, 1.0], [0.0, 1.0]]), 3).tolist()
    [[1.0, 3.0], [0.0, 1.0]]
    """
    (a,) = _arr("linalg.matrix_power", a)
    if _ndim(a) < 2:
        raise TypeError(f"{_ndim(a)}-dimensional array given. Array must be at least two-dimensional")
    if _shape(a)[-1] != _shape(a)[-2]:
        raise TypeError("Last 2 dimensions of the array must be square")
    try:
        n = operator_index(n)
    except TypeError:
        raise TypeError(f"exponent must be an integer, got {n!r}") from None
    if n == 0:
        return _eye_like(_shape(a), _dtype(a))
    if n < 0:
        a = inv(a)
        n = -n
    result = None
    z = None
    while n > 0:
        z = a if z is None else matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


# ----------------------------------------------------------------------------------------------
# Tensor forms and chains

@numpy_jit(static_argnames=("ind",))
def tensorinv(a: Any, ind: int = 2) -> Any:
    """The inverse of ``a`` under ``tensordot(..., ind)``.

    >>> import ember.core.numpy as jnp
    >>> a = jnp.eye(4).reshape(4, 2, 2)
    >>> jnp.linalg.tensorinv(a, ind=1).shape
    (2, 2, 4)
    """
    (a,) = _arr("linalg.tensorinv", a)
    ind = operator_index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer; got ind={ind}")
    shape = _shape(a)
    contracting, batch = shape[:ind], shape[ind:]
    flat = (math.prod(contracting), math.prod(batch))
    if flat[0] != flat[1]:
        raise ValueError("tensorinv is only possible when the product of the first `ind` dimensions equals that of "
                         f"the remaining dimensions; got shape {shape} with ind={ind}")
    return sh.reshape(inv(sh.reshape(a, flat)), batch + contracting)


@numpy_jit(static_argnames=("axes",))
def tensorsolve(a: Any, b: Any, axes: tuple[int, ...] | None = None) -> Any:
    """``x`` with ``tensordot(a, x, x.ndim) == b`` (after moving ``axes`` of ``a`` to the end).

    >>> import ember.core.numpy as jnp
    >>> a = jnp.eye(6).reshape(6, 2, 3)
    >>> jnp.linalg.tensorsolve(a, jnp.arange(6.0)).tolist()
    [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    """
    a, b = _arr("linalg.tensorsolve", a, b)
    if axes is not None:
        nd = _ndim(a)
        moved = [canonicalize_axis(ax, nd) for ax in axes]
        perm = [i for i in range(nd) if i not in moved] + moved
        a = sh.transpose(a, tuple(perm))
    out_shape = _shape(a)[_ndim(b):]
    if _shape(a)[:_ndim(b)] != _shape(b):
        raise ValueError(f"After moving axes to end, leading shape of a must match shape of b; got a.shape="
                         f"{_shape(a)}, b.shape={_shape(b)}")
    size = math.prod(_shape(b))
    if size != math.prod(out_shape):
        raise ValueError(f"Input arrays must have prod(a.shape[:b.ndim]) == prod(a.shape[b.ndim:]); got a.shape="
                         f"{_shape(a)}, b.ndim={_ndim(b)}")
    x = solve(sh.reshape(a, (size, size)), sh.reshape(b, (size,)))
    return sh.reshape(x, out_shape)


def _chain_order(dims: list[int]) -> list[list[int]]:
    """Matrix-chain parenthesisation with the fewest multiplications (classic dynamic programme)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf  # type: ignore[assignment]
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(arrays: Sequence[Any], *, precision: Any = None) -> Any:
    """``arrays[0] @ arrays[1] @ ...`` in the cheapest order; the first and last may be vectors.

    >>> import ember.core.numpy as jnp
    >>> multi_dot([jnp.ones(3), jnp.ones((3, 4)), jnp.ones(4)]).shape
    ()
    """
    arrays = _arr("linalg.multi_dot", *arrays)
    if len(arrays) < 2:
        raise ValueError(f"multi_dot: expected at least two arrays, got {len(arrays)}")
    from ..primitives.dot import canonicalize_precision
    return _multi_dot(tuple(arrays), precision=canonicalize_precision(precision))


@numpy_jit(static_argnames=("precision",))
def _multi_dot(arrays: tuple[Any, ...], precision: Any) -> Any:
    arrays = list(arrays)
    first_vec, last_vec = _ndim(arrays[0]) == 1, _ndim(arrays[-1]) == 1
    if first_vec:
        arrays[0] = sh.reshape(arrays[0], (1,) + _shape(arrays[0]))
    if last_vec:
        arrays[-1] = sh.reshape(arrays[-1], _shape(arrays[-1]) + (1,))
    for i, x in enumerate(arrays):
        if _ndim(x) != 2:
            raise ValueError(f"multi_dot: array {i} must be two-dimensional (the first and last may be 1-D), got "
                             f"shape {_shape(x)}")
    dims = [_shape(arrays[0])[0]] + [_shape(x)[1] for x in arrays]
    split = _chain_order(dims)

    def product(i: int, j: int) -> Any:
        if i == j:
            return arrays[i]
        k = split[i][j]
        return matmul(product(i, k), product(k + 1, j), precision=precision)

    out = product(0, len(arrays) - 1)
    if first_vec and last_vec:
        return sh.reshape(out, ())
    if first_vec:
        return sh.reshape(out, _shape(out)[1:])
    if last_vec:
        return sh.reshape(out, _shape(out)[:-1])
    return out


# ----------------------------------------------------------------------------------------------
# Array-API aliases over the last axes

@numpy_jit
def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two dimensions.

    >>> import ember.core.numpy as jnp
    >>> jnp.linalg.matrix_transpose(jnp.zeros((5, 2, 3))).shape
    (5, 3, 2)
    """
    (x,) = _arr("linalg.matrix_transpose", x)
    _check_matrix("linalg.matrix_transpose", x)
    return _mT(x)


@numpy_jit(static_argnames=("axis",))
def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Cross products of 3-vectors along ``axis``.

    >>> import ember.core.numpy as jnp
    >>> jnp.linalg.cross(jnp.array([1.0, 0.0, 0.0]), jnp.array([0.0, 1.0, 0.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    x1, x2 = _arr("linalg.cross", x1, x2)
    if _shape(x1)[axis] != 3 or _shape(x2)[axis] != 3:
        raise ValueError(f"linalg.cross: both inputs must be (arrays of) 3-vectors along axis {axis}, got shapes "
                         f"{_shape(x1)} and {_shape(x2)}")
    return _cross(x1, x2, axis=axis)


@numpy_jit
def outer(x1: Any, x2: Any, /) -> Any:
    """The outer product of two 1-D arrays.

    >>> import ember.core.numpy as jnp
    >>> jnp.linalg.outer(jnp.array([1, 2]), jnp.array([3, 4])).tolist()
    [[3, 4], [6, 8]]
    """
    x1, x2 = _arr("linalg.outer", x1, x2)
    if _ndim(x1) != 1 or _ndim(x2) != 1:
        raise ValueError(f"linalg.outer: inputs must be one-dimensional, got shapes {_shape(x1)} and {_shape(x2)}")
    return _outer(x1, x2)


@numpy_jit(static_argnames=("offset", "dtype"))
def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """The sum of the ``offset`` diagonal of the matrices in the last two dimensions.

    >>> import ember.core.numpy as jnp
    >>> int(jnp.linalg.trace(jnp.arange(9).reshape(3, 3)))
    12
    """
    (x,) = _arr("linalg.trace", x)
    _check_matrix("linalg.trace", x)
    d = diagonal_last_two(x, operator_index(offset))
    aval = get_aval(d)
    target = _sum_dtype(aval.dtype) if dtype is None else dtypes.canonicalize_dtype(dtype)
    return red.reduce_sum(ew.convert_element_type(d, target), (aval.ndim - 1,))


@numpy_jit(static_argnames=("offset",))
def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """The ``offset`` diagonal of the matrices in the last two dimensions.

    >>> import ember.core.numpy as jnp
    >>> jnp.linalg.diagonal(jnp.arange(9).reshape(3, 3)).tolist()
    [0, 4, 8]
    """
    (x,) = _arr("linalg.diagonal", x)
    _check_matrix("linalg.diagonal", x)
    return diagonal_last_two(x, operator_index(offset))

