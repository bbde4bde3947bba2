"""Linear-algebra primitives over the last two dimensions of (batches of) matrices.

``cholesky`` and ``triangular_solve`` lower to the StableHLO ops of the same name (every
backend has them). ``lu``, ``qr`` (through ``geqrf`` + ``householder_product``), ``eigh`` and
``svd`` lower to the LAPACK kernels jaxlib registers for XLA's CPU backend, as typed-FFI custom
calls on column-major matrices (``runtime/lapack.py`` registers them). A factorisation that
fails (LAPACK ``info`` != 0) returns NaNs, as in JAX.

Leading dimensions are batch dimensions everywhere, so every batching rule just moves the
vmapped dimension to the front.

    >>> import numpy as np
    >>> a = np.array([[4., 2.], [2., 5.]], np.float32)
    >>> np.asarray(cholesky(a)).tolist()
    [[2.0, 0.0], [1.0, 2.0]]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, operator_index
from ..lowering import LoweringError, constant, dense_i64, full_like_aval, i32_attr, ir_type, jaxpr_subcomp, lower_fun
from ..rules import Zero, broadcast_batched, instantiate, is_undefined
from . import elementwise as ew
from . import reductions as red
from . import shape as sh
from ._util import aval_of
from .dot import Precision, dot_general

__all__ = [
    "cholesky",
    "eig",
    "eigh",
    "geqrf",
    "householder_product",
    "lu",
    "lu_pivots_to_permutation",
    "qr",
    "svd",
    "triangular_solve",
]

_i32 = np.dtype(np.int32)


# ----------------------------------------------------------------------------------------------
# Matrix helpers used by the rules (they bind primitives, so they work on tracers too)

def _T(x: Any) -> Any:
    nd = aval_of(x).ndim
    return sh.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _H(x: Any) -> Any:
    t = _T(x)
    return ew.conj(t) if aval_of(x).dtype.kind == "c" else t


def _mm(a: Any, b: Any) -> Any:
    """Batched matrix product of equal-rank operands with equal batch dimensions, at full precision."""
    nb = aval_of(a).ndim - 2
    batch = tuple(range(nb))
    return dot_general(a, b, (((nb + 1,), (nb,)), (batch, batch)), precision=Precision.HIGHEST)


def _tri_mask(shape: tuple[int, ...], k: int) -> Any:
    """Boolean ``shape`` array, True on and below diagonal ``k`` of the last two dimensions."""
    nd = len(shape)
    rows = sh.broadcasted_iota(_i32, shape, nd - 2)
    cols = sh.broadcasted_iota(_i32, shape, nd - 1)
    return ew.ge(ew.add(rows, np.int32(k)), cols)


def _tril(x: Any, k: int = 0) -> Any:
    aval = aval_of(x)
    return ew.select(_tri_mask(aval.shape, k), x, ew.full_like(x, 0))


def _triu(x: Any, k: int = 0) -> Any:
    aval = aval_of(x)
    return ew.select(_tri_mask(aval.shape, k - 1), ew.full_like(x, 0), x)


def _eye(shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Identity matrices of ``shape`` (the last two dimensions; leading ones broadcast)."""
    nd = len(shape)
    eq = ew.eq(sh.broadcasted_iota(_i32, shape, nd - 2), sh.broadcasted_iota(_i32, shape, nd - 1))
    return ew.convert_element_type(eq, dtype)


def _diagonal(x: Any) -> Any:
    """The main diagonal of the last two dimensions: ``[..., m, n] -> [..., min(m, n)]``."""
    aval = aval_of(x)
    m, n = aval.shape[-2:]
    k = min(m, n)
    if (m, n) != (k, k):
        x = sh.slice(x, (0,) * (aval.ndim - 2) + (0, 0), aval.shape[:-2] + (k, k))
    masked = ew.mul(x, _eye(aval_of(x).shape, aval.dtype))
    return red.reduce_sum(masked, (aval.ndim - 1,))


def _diag_matrix(d: Any) -> Any:
    """``[..., k] -> [..., k, k]`` with ``d`` on the diagonal."""
    aval = aval_of(d)
    shape = aval.shape + aval.shape[-1:]
    nd = len(shape)
    full_d = sh.broadcast_in_dim(d, shape, tuple(range(nd - 2)) + (nd - 1,))
    return ew.mul(full_d, _eye(shape, aval.dtype))


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.finfo(dtype).dtype) if dtype.kind == "c" else dtype


def _as_dtype(x: Any, dtype: np.dtype) -> Any:
    return ew.convert_element_type(x, dtype)


def _rows_permuted(x: Any, permutation: Any) -> Any:
    """``x[..., permutation, :]`` as a product with a one-hot matrix (exact for finite values)."""
    aval = aval_of(x)
    m = aval.shape[-2]
    p_aval = aval_of(permutation)
    onehot_shape = p_aval.shape + (m,)
    nd = len(onehot_shape)
    perm_b = sh.broadcast_in_dim(permutation, onehot_shape, tuple(range(nd - 1)))
    onehot = ew.convert_element_type(ew.eq(perm_b, sh.broadcasted_iota(_i32, onehot_shape, nd - 1)), aval.dtype)
    return _mm(onehot, x)


def _rows_unpermuted(x: Any, permutation: Any) -> Any:
    """``y`` with ``y[..., permutation, :] == x`` (the inverse of ``_rows_permuted``)."""
    aval = aval_of(x)
    m = aval.shape[-2]
    onehot_shape = aval_of(permutation).shape + (m,)
    nd = len(onehot_shape)
    perm_b = sh.broadcast_in_dim(permutation, onehot_shape, tuple(range(nd - 1)))
    onehot = ew.convert_element_type(ew.eq(perm_b, sh.broadcasted_iota(_i32, onehot_shape, nd - 1)), aval.dtype)
    return _mm(_T(onehot), x)


def symmetrize(x: Any) -> Any:
    """``(x + x^H) / 2``."""
    return ew.div(ew.add(x, _H(x)), ew.full_like(x, 2))


# ----------------------------------------------------------------------------------------------
# Shared rule pieces

def _check_matrix(name: str, x: ShapedArray, argname: str = "operand", square: bool = False) -> None:
    if x.ndim < 2:
        raise ValueError(f"lax.{name}: {argname} must be a (batch of) matrices with shape [..., m, n], got "
                         f"shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(f"lax.{name}: {argname} must be a (batch of) square matrices, got shape {x.shape}")
    if x.dtype not in (dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128):
        raise TypeError(f"lax.{name}: {argname} must be float32, float64, complex64 or complex128, got "
                        f"{x.dtype.name}")


def _batch_leading(p: Primitive) -> None:
    """Batching rule for primitives whose leading dimensions are batch dimensions."""

    def rule(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, Any]:
        size = next(aval_of(a).shape[d] for a, d in zip(args, dims) if d is not None)
        moved = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
        out = p.bind(*moved, **params)
        return out, ([0] * len(out) if p.multiple_results else 0)

    p.def_batching(rule)


def _require_cpu(ctx: Any, name: str) -> None:
    platform = ctx.module.platform
    if platform != "cpu":
        raise LoweringError(f"lax.{name} is implemented with LAPACK and runs on the CPU only (this "
                            f"program targets {platform!r})")


def _column_major(ndim: int) -> tuple[int, ...]:
    return (ndim - 2, ndim - 1) + tuple(range(ndim - 3, -1, -1))


def _layout_attr(layout: Sequence[int]) -> ir.Attribute:
    return ir.DenseIntElementsAttr.get(np.atleast_1d(np.asarray(layout, np.int64)), type=ir.IndexType.get())


def _u8(c: str) -> ir.Attribute:
    return ir.IntegerAttr.get(ir.IntegerType.get_unsigned(8), ord(c))


def _lapack_call(target: str, operands: Sequence[Any], avals_in: Sequence[ShapedArray],
                 avals_out: Sequence[ShapedArray], config: dict[str, ir.Attribute] | None = None,
                 aliases: dict[int, int] | None = None) -> list[Any]:
    """A typed-FFI custom call to a LAPACK kernel; matrices (the highest-rank arrays) are column-major."""
    max_nd = max(a.ndim for a in avals_in)

    def layout(a: ShapedArray) -> ir.Attribute:
        return _layout_attr(_column_major(a.ndim) if a.ndim == max_nd else tuple(range(a.ndim - 1, -1, -1)))

    alias_attrs = [hlo.OutputOperandAlias.get(output_tuple_indices=[o] if len(avals_out) > 1 else [],
                                              operand_index=i, operand_tuple_indices=[])
                   for i, o in (aliases or {}).items()]
    op = hlo.CustomCallOp(
        [ir_type(a) for a in avals_out], list(operands), call_target_name=target,
        has_side_effect=False, backend_config=ir.DictAttr.get(config or {}), api_version=i32_attr(4),
        operand_layouts=ir.ArrayAttr.get([layout(a) for a in avals_in]),
        result_layouts=ir.ArrayAttr.get([layout(a) for a in avals_out]),
        output_operand_aliases=ir.ArrayAttr.get(alias_attrs))
    op.attributes["mhlo.frontend_attributes"] = ir.DictAttr.get(
        {"num_batch_dims": ir.StringAttr.get(str(max_nd - 2))})
    return list(op.results)


def _target(base: str, dtype: np.dtype) -> str:
    from ..runtime import lapack
    return lapack.target_name(base, dtype.name)


def _info_ok(info: Any, batch: tuple[int, ...], direction: str) -> Any:
    """``info <direction> 0`` as an i1 tensor of shape ``batch``."""
    zero = full_like_aval(0, ShapedArray(batch, _i32))
    return hlo.CompareOp(info, zero, hlo.ComparisonDirectionAttr.get(direction),
                         compare_type=hlo.ComparisonTypeAttr.get("SIGNED")).result


def _nan_unless(ok: Any, batch: tuple[int, ...], x: Any, aval: ShapedArray) -> Any:
    """``x`` where ``ok`` (one flag per matrix of the batch), NaN elsewhere."""
    pred_aval = ShapedArray(aval.shape, dtypes.bool_)
    pred = hlo.BroadcastInDimOp(ir_type(pred_aval), ok, dense_i64(range(len(batch)))).result
    nan = np.nan + 1j * np.nan if aval.dtype.kind == "c" else np.nan
    return hlo.SelectOp(pred, x, full_like_aval(nan, aval)).result


def _emit_fori_loop(ctx: Any, n: int, body: Callable[..., Sequence[Any]], carry: Sequence[Any],
                    carry_avals: Sequence[ShapedArray]) -> list[Any]:
    """A ``stablehlo.while`` running ``carry = body(i, *carry)`` for i in range(n); ``body`` uses lax ops."""
    from ..tracing import trace_to_jaxpr
    i_aval = ShapedArray((), _i32)
    types = [ir_type(i_aval)] + [ir_type(a) for a in carry_avals]
    loop = hlo.WhileOp(types, [constant(np.int32(0), i_aval)] + list(carry))
    cond = loop.regions[0].blocks.append(*types)
    with ir.InsertionPoint(cond):
        lt = hlo.CompareOp(cond.arguments[0], constant(np.int32(n), i_aval), hlo.ComparisonDirectionAttr.get("LT"),
                           compare_type=hlo.ComparisonTypeAttr.get("SIGNED")).result
        hlo.ReturnOp([lt])
    block = loop.regions[1].blocks.append(*types)
    with ir.InsertionPoint(block):
        closed = trace_to_jaxpr(lambda i, *c: [ew.add(i, np.int32(1))] + list(body(i, *c)),
                                [i_aval] + list(carry_avals))
        consts = [constant(np.asarray(c), v.aval) for c, v in zip(closed.consts, closed.jaxpr.constvars)]
        outs = jaxpr_subcomp(ctx.module, closed.jaxpr, consts, list(block.arguments))
        hlo.ReturnOp(outs)
    return list(loop.results)[1:]


# ----------------------------------------------------------------------------------------------
# cholesky

cholesky_p = Primitive("cholesky")


def _cholesky_abstract_eval(x: ShapedArray) -> ShapedArray:
    _check_matrix("cholesky", x, square=True)
    return x.strip_weak_type()


def _cholesky_lowering(ctx: Any, x: Any) -> Any:
    aval = ctx.avals_out[0]
    out = hlo.CholeskyOp(x, lower=True).result
    # the upper triangle is left unspecified by the op: zero it
    nd = aval.ndim
    i_aval = ShapedArray(aval.shape, _i32)
    rows = hlo.IotaOp(ir_type(i_aval), ir.IntegerAttr.get(ir.IntegerType.get_signless(64), nd - 2)).result
    cols = hlo.IotaOp(ir_type(i_aval), ir.IntegerAttr.get(ir.IntegerType.get_signless(64), nd - 1)).result
    lower = hlo.CompareOp(rows, cols, hlo.ComparisonDirectionAttr.get("GE"),
                          compare_type=hlo.ComparisonTypeAttr.get("SIGNED")).result
    return hlo.SelectOp(lower, out, full_like_aval(0, aval)).result


def _cholesky_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    (x,), (t,) = primals, tangents
    L = cholesky_p.bind(x)
    # Murray (2016), arXiv:1602.07527: dL = L phi(L^{-1} dA L^{-H}), phi = tril with half diagonal
    t = instantiate(t)
    tmp = triangular_solve(L, t, left_side=False, lower=True, transpose_a=True, conjugate_a=True)
    inner = triangular_solve(L, tmp, left_side=True, lower=True)
    half_diag = ew.mul(_eye(aval_of(inner).shape, aval_of(inner).dtype), ew.full_like(inner, 0.5))
    phi = ew.sub(_tril(inner), ew.mul(inner, half_diag))
    return L, _mm(L, phi)


cholesky_p.def_abstract_eval(_cholesky_abstract_eval)
cholesky_p.def_lowering(_cholesky_lowering)
cholesky_p.def_jvp(_cholesky_jvp)
_batch_leading(cholesky_p)


def cholesky(x: Any, *, symmetrize_input: bool = True) -> Any:
    """Lower Cholesky factor ``L`` of Hermitian positive-definite ``x`` (``x = L L^H``).

    With ``symmetrize_input`` the factorised matrix is ``(x + x^H) / 2``. Returns NaNs where the
    factorisation fails.
    """
    _check_matrix("cholesky", aval_of(x), square=True)
    if symmetrize_input:
        x = symmetrize(x)
    return cholesky_p.bind(x)


# ----------------------------------------------------------------------------------------------
# triangular_solve

triangular_solve_p = Primitive("triangular_solve")


def _triangular_solve_abstract_eval(a: ShapedArray, b: ShapedArray, *, left_side: bool, lower: bool,
                                    transpose_a: bool, conjugate_a: bool, unit_diagonal: bool) -> ShapedArray:
    name = "triangular_solve"
    _check_matrix(name, a, "a", square=True)
    _check_matrix(name, b, "b")
    if a.dtype != b.dtype:
        raise TypeError(f"lax.{name}: a and b must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
    if a.shape[:-2] != b.shape[:-2]:
        raise ValueError(f"lax.{name}: a and b must have the same batch dimensions, got shapes {a.shape} and "
                         f"{b.shape}")
    m = a.shape[-1]
    common = b.shape[-2] if left_side else b.shape[-1]
    if common != m:
        side = "b.shape[-2]" if left_side else "b.shape[-1]"
        raise ValueError(f"lax.{name}: with left_side={left_side}, {side} must equal the size {m} of a, got "
                         f"shapes a={a.shape} and b={b.shape}")
    return b.strip_weak_type()


def _conj_ir(x: Any, aval: ShapedArray) -> Any:
    if aval.dtype.kind != "c":
        return x
    return hlo.ComplexOp(hlo.RealOp(x).result, hlo.NegOp(hlo.ImagOp(x).result).result).result


def _triangular_solve_lowering(ctx: Any, a: Any, b: Any, *, left_side: bool, lower: bool, transpose_a: bool,
                               conjugate_a: bool, unit_diagonal: bool) -> Any:
    a_aval = ctx.avals_in[0]
    if conjugate_a and not transpose_a:
        a = _conj_ir(a, a_aval)
        conjugate_a = False
    if not transpose_a:
        kind = "NO_TRANSPOSE"
    else:
        kind = "ADJOINT" if conjugate_a and a_aval.dtype.kind == "c" else "TRANSPOSE"
    return hlo.TriangularSolveOp(a, b, left_side, lower, unit_diagonal, hlo.TransposeAttr.get(kind)).result


def _triangular_solve_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, left_side: bool, lower: bool,
                          transpose_a: bool, conjugate_a: bool, unit_diagonal: bool) -> tuple[Any, Any]:
    a, b = primals
    t_a, t_b = tangents
    params = dict(left_side=left_side, lower=lower, transpose_a=transpose_a, conjugate_a=conjugate_a,
                  unit_diagonal=unit_diagonal)
    ans = triangular_solve_p.bind(a, b, **params)
    total: Any = Zero(aval_of(ans))
    if type(t_b) is not Zero:
        total = triangular_solve_p.bind(a, t_b, **params)
    if type(t_a) is not Zero:
        # d(op(A)^{-1} B) = -op(A)^{-1} op(dA) op(A)^{-1} B, with dA restricted to A's triangle
        k = 1 if unit_diagonal else 0
        g = _tril(t_a, -k) if lower else _triu(t_a, k)
        g = ew.neg(g)
        if transpose_a:
            g = _T(g)
        if conjugate_a and aval_of(g).dtype.kind == "c":
            g = ew.conj(g)
        m, n = aval_of(ans).shape[-2:]

        def a_inv(rhs: Any) -> Any:
            return triangular_solve_p.bind(a, rhs, **params)

        if left_side:
            term = a_inv(_mm(g, ans)) if m > n else _mm(a_inv(g), ans)
        else:
            term = a_inv(_mm(ans, g)) if m < n else _mm(ans, a_inv(g))
        total = term if type(total) is Zero else ew.add_any(total, term)
    return ans, total


def _triangular_solve_transpose(ct: Any, a: Any, b: Any, *, left_side: bool, lower: bool, transpose_a: bool,
                                conjugate_a: bool, unit_diagonal: bool) -> list[Any]:
    if is_undefined(a):
        raise ValueError("triangular_solve is linear in b only")
    if type(ct) is Zero:
        return [None, Zero(b.aval)]
    return [None, triangular_solve_p.bind(a, ct, left_side=left_side, lower=lower, transpose_a=not transpose_a,
                                          conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)]


def _triangular_solve_batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, int]:
    a, b = args
    a_dim, b_dim = dims
    if a_dim is None:
        # one matrix, many right-hand sides: fold the vmapped axis into b's free dimension
        b_aval = aval_of(b)
        nd = b_aval.ndim
        target = nd - 1 if params["left_side"] else nd - 2
        perm = [d for d in range(nd) if d != b_dim]
        perm.insert(target, b_dim)
        bt = sh.transpose(b, tuple(perm))
        shape = aval_of(bt).shape
        if params["left_side"]:
            # b: [..., m, n, B] -> [..., m, n*B]
            flat = sh.reshape(bt, shape[:-3] + (shape[-3], shape[-2] * shape[-1]))
            out = triangular_solve_p.bind(a, flat, **params)
            return sh.reshape(out, shape), nd - 1
        # b: [..., n, B, m] -> [..., n*B, m]
        flat = sh.reshape(bt, shape[:-3] + (shape[-3] * shape[-2], shape[-1]))
        out = triangular_solve_p.bind(a, flat, **params)
        return sh.reshape(out, shape), nd - 2
    size = aval_of(a).shape[a_dim]
    return triangular_solve_p.bind(broadcast_batched(a, a_dim, size), broadcast_batched(b, b_dim, size),
                                   **params), 0


triangular_solve_p.def_abstract_eval(_triangular_solve_abstract_eval)
triangular_solve_p.def_lowering(_triangular_solve_lowering)
triangular_solve_p.def_jvp(_triangular_solve_jvp)
triangular_solve_p.def_transpose(_triangular_solve_transpose)
triangular_solve_p.def_batching(_triangular_solve_batch)


def triangular_solve(a: Any, b: Any, *, left_side: bool = False, lower: bool = False, transpose_a: bool = False,
                     conjugate_a: bool = False, unit_diagonal: bool = False) -> Any:
    """Solve ``op(a) @ x = b`` (``left_side``) or ``x @ op(a) = b`` for triangular ``a``.

    ``op(a)`` is ``a``, ``a^T`` (``transpose_a``) or ``a^H`` (with ``conjugate_a``); only the
    ``lower`` (or upper) triangle of ``a`` is read, and its diagonal is taken as ones with
    ``unit_diagonal``. ``b`` may also be a (batch of) vectors, one dimension short of ``a``.
    """
    a_aval, b_aval = aval_of(a), aval_of(b)
    conjugate_a = bool(conjugate_a) and a_aval.dtype.kind == "c"
    vector = b_aval.ndim == a_aval.ndim - 1
    if vector:
        b = sh.expand_dims(b, (b_aval.ndim,) if left_side else (b_aval.ndim - 1,))
    out = triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower),
                                  transpose_a=bool(transpose_a), conjugate_a=conjugate_a,
                                  unit_diagonal=bool(unit_diagonal))
    if vector:
        nd = aval_of(out).ndim
        out = sh.squeeze(out, (nd - 1,) if left_side else (nd - 2,))
    return out


# ----------------------------------------------------------------------------------------------
# lu_pivots_to_permutation

lu_pivots_to_permutation_p = Primitive("lu_pivots_to_permutation")


def _pivots_abstract_eval(pivots: ShapedArray, *, permutation_size: int) -> ShapedArray:
    if pivots.ndim < 1 or pivots.dtype != _i32:
        raise TypeError(f"lax.lu_pivots_to_permutation: pivots must be an int32 array of shape [..., k], got "
                        f"{pivots.str_short()}")
    if pivots.shape[-1] > permutation_size:
        raise ValueError(f"lax.lu_pivots_to_permutation: {pivots.shape[-1]} pivots cannot describe a "
                         f"permutation of size {permutation_size}")
    return ShapedArray(pivots.shape[:-1] + (permutation_size,), _i32)


def _pivots_body(i: Any, perm: Any, pivots: Any) -> tuple[Any, Any]:
    """Swap ``perm[..., i]`` and ``perm[..., pivots[..., i]]``, independently per batch element."""
    p_aval = aval_of(perm)
    batch = p_aval.shape[:-1]
    nb = len(batch)
    zeros = [np.int32(0)] * nb
    j = sh.dynamic_slice(pivots, zeros + [i], batch + (1,))
    p_i = sh.dynamic_slice(perm, zeros + [i], batch + (1,))
    iota = sh.broadcasted_iota(_i32, p_aval.shape, nb)
    j_full = sh.broadcast_in_dim(j, p_aval.shape, tuple(range(nb)) + (nb,))
    at_j = ew.eq(iota, j_full)
    p_j = red.reduce_sum(ew.select(at_j, perm, ew.full_like(perm, 0)), (nb,))
    p_j_full = sh.broadcast_in_dim(p_j, p_aval.shape, tuple(range(nb)))
    p_i_full = sh.broadcast_in_dim(p_i, p_aval.shape, tuple(range(nb)) + (nb,))
    at_i = ew.eq(iota, sh.broadcast_in_dim(i, p_aval.shape, ()))
    new = ew.select(at_i, p_j_full, ew.select(at_j, p_i_full, perm))
    return new, pivots


def _emit_pivots_to_permutation(ctx: Any, pivots: Any, pivots_aval: ShapedArray, m: int) -> Any:
    batch = pivots_aval.shape[:-1]
    perm_aval = ShapedArray(batch + (m,), _i32)
    iota = hlo.IotaOp(ir_type(perm_aval), ir.IntegerAttr.get(ir.IntegerType.get_signless(64), len(batch))).result
    k = pivots_aval.shape[-1]
    if k == 0 or m == 0:
        return iota
    perm, _ = _emit_fori_loop(ctx, k, _pivots_body, [iota, pivots], [perm_aval, pivots_aval])
    return perm


lu_pivots_to_permutation_p.def_abstract_eval(_pivots_abstract_eval)
lu_pivots_to_permutation_p.def_lowering(
    lambda ctx, pivots, *, permutation_size: _emit_pivots_to_permutation(ctx, pivots, ctx.avals_in[0],
                                                                          permutation_size))
lu_pivots_to_permutation_p.def_jvp(lambda primals, tangents, **params: (
    (out := lu_pivots_to_permutation_p.bind(*primals, **params)), Zero(aval_of(out))))
_batch_leading(lu_pivots_to_permutation_p)


def lu_pivots_to_permutation(pivots: Any, permutation_size: int) -> Any:
    """The permutation ``perm`` with ``a[perm] == P a`` from LAPACK-style (0-based) row-swap ``pivots``."""
    return lu_pivots_to_permutation_p.bind(pivots, permutation_size=operator_index(permutation_size))


# ----------------------------------------------------------------------------------------------
# lu

lu_p = Primitive("lu", multiple_results=True)


def _lu_abstract_eval(x: ShapedArray) -> list[ShapedArray]:
    _check_matrix("lu", x)
    batch, (m, n) = x.shape[:-2], x.shape[-2:]
    return [x.strip_weak_type(), ShapedArray(batch + (min(m, n),), _i32), ShapedArray(batch + (m,), _i32)]


def _lu_lowering(ctx: Any, x: Any) -> list[Any]:
    x_aval = ctx.avals_in[0]
    lu_aval, piv_aval, perm_aval = ctx.avals_out
    batch, (m, n) = x_aval.shape[:-2], x_aval.shape[-2:]
    if m == 0 or n == 0:
        iota = hlo.IotaOp(ir_type(perm_aval), ir.IntegerAttr.get(ir.IntegerType.get_signless(64), len(batch))).result
        return [x, full_like_aval(0, piv_aval), iota]
    _require_cpu(ctx, "lu")
    info_aval = ShapedArray(batch, _i32)
    lu, piv, info = _lapack_call(_target("getrf", x_aval.dtype), [x], [x_aval], [lu_aval, piv_aval, info_aval],
                                 aliases={0: 0})
    piv = hlo.SubtractOp(piv, full_like_aval(1, piv_aval)).result  # LAPACK pivots are 1-based
    lu = _nan_unless(_info_ok(info, batch, "GE"), batch, lu, lu_aval)  # info > 0: singular, still valid
    perm = _emit_pivots_to_permutation(ctx, piv, piv_aval, m)
    return [lu, piv, perm]


def _lu_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    (a,), (a_dot,) = primals, tangents
    lu_, pivots, perm = lu_p.bind(a)
    a_dot = instantiate(a_dot)
    aval = aval_of(a)
    batch, (m, n) = aval.shape[:-2], aval.shape[-2:]
    k = min(m, n)
    nb = len(batch)
    dtype = aval.dtype
    # De Hoog, Anderssen & Lukas: with X = L^{-1} P dA U^{-1},
    # dL = L tril(X, -1), dU = triu(X) U  (L, U padded to square m x m / n x n)
    x = _rows_permuted(a_dot, perm)
    zero = np.zeros((), dtype)
    l_ = sh.slice(lu_, (0,) * (nb + 2), batch + (m, k))
    l_ = sh.pad(_tril(l_, -1), zero, [(0, 0, 0)] * (nb + 1) + [(0, m - k, 0)])
    l_ = ew.add(l_, _eye(batch + (m, m), dtype))
    u_ = sh.slice(lu_, (0,) * (nb + 2), batch + (k, n))
    u_ = sh.pad(_triu(u_), zero, [(0, 0, 0)] * nb + [(0, n - k, 0), (0, 0, 0)])
    if n > k:
        u_eye = sh.pad(_eye((n - k, n - k), dtype), zero, [(k, 0, 0), (k, 0, 0)])
        u_ = ew.add(u_, sh.broadcast_in_dim(u_eye, batch + (n, n), (nb, nb + 1)))
    la = triangular_solve(l_, x, left_side=True, lower=True, unit_diagonal=True)
    lau = triangular_solve(u_, la, left_side=False, lower=False)
    lu_dot = ew.add(_mm(l_, _tril(lau, -1)), _mm(_triu(lau), u_))
    return [lu_, pivots, perm], [lu_dot, Zero(aval_of(pivots)), Zero(aval_of(perm))]


lu_p.def_abstract_eval(_lu_abstract_eval)
lu_p.def_lowering(_lu_lowering)
lu_p.def_jvp(_lu_jvp)
_batch_leading(lu_p)


def lu(x: Any) -> tuple[Any, Any, Any]:
    """LU decomposition with partial pivoting: ``(lu, pivots, permutation)`` with ``x[perm] = L @ U``.

    ``L`` (unit diagonal, implicit) and ``U`` share the ``lu`` matrix; ``pivots`` are LAPACK's
    0-based row swaps.
    """
    out = lu_p.bind(x)
    return out[0], out[1], out[2]


# ----------------------------------------------------------------------------------------------
# geqrf and householder_product (the pieces of qr)

geqrf_p = Primitive("geqrf", multiple_results=True)


def _geqrf_abstract_eval(x: ShapedArray) -> list[ShapedArray]:
    _check_matrix("geqrf", x)
    m, n = x.shape[-2:]
    return [x.strip_weak_type(), ShapedArray(x.shape[:-2] + (min(m, n),), x.dtype)]


def _geqrf_lowering(ctx: Any, x: Any) -> list[Any]:
    _require_cpu(ctx, "geqrf")
    x_aval = ctx.avals_in[0]
    return _lapack_call(_target("geqrf", x_aval.dtype), [x], [x_aval], list(ctx.avals_out), aliases={0: 0})


geqrf_p.def_abstract_eval(_geqrf_abstract_eval)
geqrf_p.def_lowering(_geqrf_lowering)
_batch_leading(geqrf_p)


def geqrf(x: Any) -> tuple[Any, Any]:
    """LAPACK's Householder QR: ``(a, taus)`` with R in the upper triangle of ``a`` and the reflectors below."""
    a, taus = geqrf_p.bind(x)
    return a, taus


householder_product_p = Primitive("householder_product")


def _householder_abstract_eval(a: ShapedArray, taus: ShapedArray) -> ShapedArray:
    name = "householder_product"
    _check_matrix(name, a, "a")
    m, n = a.shape[-2:]
    if m < n:
        raise ValueError(f"lax.{name}: a must have at least as many rows as columns, got shape {a.shape}")
    if taus.dtype != a.dtype or taus.shape[:-1] != a.shape[:-2] or taus.shape[-1] > n:
        raise ValueError(f"lax.{name}: taus must have shape [..., k] with k <= {n} and a's dtype, got "
                         f"{taus.str_short()} for a of {a.str_short()}")
    return a.strip_weak_type()


def _householder_lowering(ctx: Any, a: Any, taus: Any) -> Any:
    _require_cpu(ctx, "householder_product")
    a_aval = ctx.avals_in[0]
    base = "ungqr" if a_aval.dtype.kind == "c" else "orgqr"
    return _lapack_call(_target(base, a_aval.dtype), [a, taus], list(ctx.avals_in), list(ctx.avals_out),
                        aliases={0: 0})[0]


householder_product_p.def_abstract_eval(_householder_abstract_eval)
householder_product_p.def_lowering(_householder_lowering)
_batch_leading(householder_product_p)


def householder_product(a: Any, taus: Any) -> Any:
    """The product of the Householder reflectors stored in ``a``/``taus`` (LAPACK's orgqr/ungqr)."""
    return householder_product_p.bind(a, taus)


# ----------------------------------------------------------------------------------------------
# qr

qr_p = Primitive("qr", multiple_results=True)


def _qr_abstract_eval(x: ShapedArray, *, full_matrices: bool) -> list[ShapedArray]:
    _check_matrix("qr", x)
    batch, (m, n) = x.shape[:-2], x.shape[-2:]
    k = m if full_matrices else min(m, n)
    dtype = x.dtype
    return [ShapedArray(batch + (m, k), dtype), ShapedArray(batch + (k, n), dtype)]


def _qr_impl(a: Any, *, full_matrices: bool) -> list[Any]:
    aval = aval_of(a)
    batch, (m, n) = aval.shape[:-2], aval.shape[-2:]
    nb = len(batch)
    zero = np.zeros((), aval.dtype)
    if m == 0 or n == 0:
        k = m if full_matrices else min(m, n)
        q = sh.broadcast_in_dim(_eye((m, k), aval.dtype), batch + (m, k), (nb, nb + 1))
        return [q, sh.full(batch + (k, n), 0, aval.dtype)]
    r, taus = geqrf(a)
    if m < n:
        q = householder_product(sh.slice(r, (0,) * (nb + 2), batch + (m, m)), taus)
    elif full_matrices:
        q = householder_product(sh.pad(r, zero, [(0, 0, 0)] * (nb + 1) + [(0, m - n, 0)]), taus)
    else:
        q = householder_product(r, taus)
        r = sh.slice(r, (0,) * (nb + 2), batch + (n, n))
    return [q, _triu(r)]


def _thin_qr_jvp(q: Any, r: Any, dx: Any) -> tuple[Any, Any]:
    # Townsend's derivation (j-towns.github.io/papers/qr-derivative.pdf), m >= n
    dx_rinv = triangular_solve(r, dx)  # dx @ r^{-1}
    qt_dx_rinv = _mm(_H(q), dx_rinv)
    low = _tril(qt_dx_rinv, -1)
    do = ew.sub(low, _H(low))  # skew-Hermitian part
    if aval_of(qt_dx_rinv).dtype.kind == "c":
        n = aval_of(r).shape[-1]
        eye = _eye(aval_of(qt_dx_rinv).shape[:-2] + (n, n), aval_of(do).dtype)
        imag_part = ew.sub(qt_dx_rinv, _as_dtype(ew.real(qt_dx_rinv), aval_of(qt_dx_rinv).dtype))
        do = ew.add(do, ew.mul(eye, imag_part))
    dq = ew.add(_mm(q, ew.sub(do, qt_dx_rinv)), dx_rinv)
    dr = _mm(ew.sub(qt_dx_rinv, do), r)
    return dq, dr


def _qr_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, full_matrices: bool) -> tuple[Any, Any]:
    (x,), (dx,) = primals, tangents
    q, r = qr_p.bind(x, full_matrices=full_matrices)
    dx = instantiate(dx)
    aval = aval_of(x)
    batch, (m, n) = aval.shape[:-2], aval.shape[-2:]
    nb = len(batch)
    if m < n:
        # X = [X1 X2] = Q [R1 R2]: the square part is an ordinary QR; R2 = Q^H X2
        x2 = sh.slice(x, (0,) * nb + (0, m), aval.shape)
        dx1 = sh.slice(dx, (0,) * (nb + 2), batch + (m, m))
        dx2 = sh.slice(dx, (0,) * nb + (0, m), aval.shape)
        r1 = sh.slice(r, (0,) * (nb + 2), batch + (m, m))
        dq, dr1 = _thin_qr_jvp(q, r1, dx1)
        dr2 = ew.add(_mm(_H(dq), x2), _mm(_H(q), dx2))
        return [q, r], [dq, sh.concatenate([dr1, dr2], nb + 1)]
    if not full_matrices or m == n:
        dq, dr = _thin_qr_jvp(q, r, dx)
        return [q, r], [dq, dr]
    # tall and complete: Roberts & Roberts (arXiv:2409.13374, eqs. 32-33) for the extra columns
    zeros = (0,) * (nb + 2)
    q_mn = sh.slice(q, zeros, batch + (m, n))
    r_nn = sh.slice(r, zeros, batch + (n, n))
    dq_mn, dr_nn = _thin_qr_jvp(q_mn, r_nn, dx)
    q_nn = sh.slice(q_mn, zeros, batch + (n, n))
    q_pn = sh.slice(q_mn, (0,) * nb + (n, 0), batch + (m, n))
    q_mp = sh.slice(q, (0,) * nb + (0, n), batch + (m, m))
    dq_nn = sh.slice(dq_mn, zeros, batch + (n, n))
    dq_pn = sh.slice(dq_mn, (0,) * nb + (n, 0), batch + (m, n))
    # Z_pn = Q_pn (Q_nn - I)^{-1}, via (Q_nn - I)^H Z_pn^H = Q_pn^H
    lu_, _, perm = lu(ew.sub(q_nn, _eye(batch + (n, n), aval.dtype)))
    y = triangular_solve(lu_, _H(q_pn), left_side=True, lower=False, transpose_a=True, conjugate_a=True)
    y = triangular_solve(lu_, y, left_side=True, lower=True, unit_diagonal=True, transpose_a=True,
                         conjugate_a=True)
    z_pn_h = _rows_unpermuted(y, perm)
    z_pn = _H(z_pn_h)
    dq_mp = ew.sub(_mm(dq_mn, z_pn_h),
                   _mm(ew.add(q_mn, _mm(q_mp, z_pn)), _H(ew.sub(dq_pn, _mm(z_pn, dq_nn)))))
    dq = sh.concatenate([dq_mn, dq_mp], nb + 1)
    dr = sh.concatenate([dr_nn, sh.full(batch + (m - n, n), 0, aval_of(dr_nn).dtype)], nb)
    return [q, r], [dq, dr]


qr_p.def_abstract_eval(_qr_abstract_eval)
qr_p.def_lowering(lower_fun(_qr_impl, multiple_results=True))
qr_p.def_jvp(_qr_jvp)
_batch_leading(qr_p)


def qr(x: Any, *, full_matrices: bool = True) -> tuple[Any, Any]:
    """QR decomposition ``x = q @ r``; ``full_matrices=False`` gives the reduced (economy) form."""
    q, r = qr_p.bind(x, full_matrices=bool(full_matrices))
    return q, r


# ----------------------------------------------------------------------------------------------
# eigh

eigh_p = Primitive("eigh", multiple_results=True)


def _eigh_abstract_eval(x: ShapedArray, *, lower: bool, sort_eigenvalues: bool) -> list[ShapedArray]:
    _check_matrix("eigh", x, square=True)
    return [x.strip_weak_type(), ShapedArray(x.shape[:-1], _real_dtype(x.dtype))]


def _eigh_lowering(ctx: Any, x: Any, *, lower: bool, sort_eigenvalues: bool) -> list[Any]:
    x_aval = ctx.avals_in[0]
    v_aval, w_aval = ctx.avals_out
    batch, n = x_aval.shape[:-2], x_aval.shape[-1]
    if n == 0:
        return [x, full_like_aval(0, w_aval)]
    _require_cpu(ctx, "eigh")
    base = "heevd" if x_aval.dtype.kind == "c" else "syevd"
    info_aval = ShapedArray(batch, _i32)
    # LAPACK returns the eigenvalues in ascending order, so sort_eigenvalues needs no extra work
    v, w, info = _lapack_call(_target(base, x_aval.dtype), [x], [x_aval], [v_aval, w_aval, info_aval],
                              config={"mode": _u8("V"), "uplo": _u8("L" if lower else "U")}, aliases={0: 0})
    ok = _info_ok(info, batch, "EQ")
    return [_nan_unless(ok, batch, v, v_aval), _nan_unless(ok, batch, w, w_aval)]


def _eigh_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, lower: bool,
              sort_eigenvalues: bool) -> tuple[Any, Any]:
    (a,), (a_dot,) = primals, tangents
    v, w_real = eigh_p.bind(a, lower=lower, sort_eigenvalues=sort_eigenvalues)
    a_dot = instantiate(a_dot)
    aval = aval_of(a)
    nb = aval.ndim - 2
    w = _as_dtype(w_real, aval.dtype)
    eye = _eye(aval.shape, aval.dtype)
    # F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (non-degenerate perturbation theory)
    w_row = sh.broadcast_in_dim(w, aval.shape, tuple(range(nb)) + (nb + 1,))
    w_col = sh.broadcast_in_dim(w, aval.shape, tuple(range(nb)) + (nb,))
    f = ew.sub(ew.integer_pow(ew.add(eye, ew.sub(w_row, w_col)), -1), eye)
    vdag_adot_v = _mm(_mm(_H(v), a_dot), v)
    dv = _mm(v, ew.mul(f, vdag_adot_v))
    d = vdag_adot_v if aval.dtype.kind != "c" else ew.real(vdag_adot_v)
    dw = _diagonal(d)
    return [v, w_real], [dv, dw]


eigh_p.def_abstract_eval(_eigh_abstract_eval)
eigh_p.def_lowering(_eigh_lowering)
eigh_p.def_jvp(_eigh_jvp)
_batch_leading(eigh_p)


def eigh(x: Any, *, lower: bool = True, symmetrize_input: bool = True,
         sort_eigenvalues: bool = True) -> tuple[Any, Any]:
    """Eigendecomposition of Hermitian ``x``: ``(v, w)`` with ``x @ v = v * w``, ``w`` ascending.

    Only the ``lower`` (or upper) triangle is read unless ``symmetrize_input`` first replaces
    ``x`` by ``(x + x^H) / 2``.
    """
    _check_matrix("eigh", aval_of(x), square=True)
    if symmetrize_input:
        x = symmetrize(x)
    v, w = eigh_p.bind(x, lower=bool(lower), sort_eigenvalues=bool(sort_eigenvalues))
    return v, w


# ----------------------------------------------------------------------------------------------
# eig (general matrices; eigenvalues are complex)

eig_p = Primitive("eig", multiple_results=True)


def _complex_dtype(dtype: np.dtype) -> np.dtype:
    return dtypes.complex128 if dtype in (dtypes.float64, dtypes.complex128) else dtypes.complex64


def _eig_abstract_eval(x: ShapedArray, *, compute_left_eigenvectors: bool,
                       compute_right_eigenvectors: bool) -> list[ShapedArray]:
    _check_matrix("eig", x, square=True)
    c = _complex_dtype(x.dtype)
    out = [ShapedArray(x.shape[:-1], c)]
    out += [ShapedArray(x.shape, c)] * (int(compute_left_eigenvectors) + int(compute_right_eigenvectors))
    return out


def _eig_lowering(ctx: Any, x: Any, *, compute_left_eigenvectors: bool,
                  compute_right_eigenvectors: bool) -> list[Any]:
    _require_cpu(ctx, "eig")
    x_aval = ctx.avals_in[0]
    batch = x_aval.shape[:-2]
    c = _complex_dtype(x_aval.dtype)
    w_aval = ShapedArray(x_aval.shape[:-1], c)
    v_aval = ShapedArray(x_aval.shape, c)
    info_aval = ShapedArray(batch, _i32)
    real = x_aval.dtype.kind != "c"
    half = ShapedArray(x_aval.shape[:-1], x_aval.dtype)
    avals_out = ([half, half] if real else [w_aval]) + [v_aval, v_aval, info_aval]
    outs = _lapack_call(_target("geev", x_aval.dtype), [x], [x_aval], avals_out,
                        config={"compute_left": _u8("V" if compute_left_eigenvectors else "N"),
                                "compute_right": _u8("V" if compute_right_eigenvectors else "N")})
    *w, vl, vr, info = outs
    w = hlo.ComplexOp(w[0], w[1]).result if real else w[0]
    ok = _info_ok(info, batch, "EQ")
    result = [_nan_unless(ok, batch, w, w_aval)]
    if compute_left_eigenvectors:
        result.append(_nan_unless(ok, batch, vl, v_aval))
    if compute_right_eigenvectors:
        result.append(_nan_unless(ok, batch, vr, v_aval))
    return result


def _eig_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, compute_left_eigenvectors: bool,
             compute_right_eigenvectors: bool) -> tuple[Any, Any]:
    if compute_left_eigenvectors or compute_right_eigenvectors:
        raise NotImplementedError("lax.eig: only the derivatives of the eigenvalues are implemented (call it with "
                                  "compute_left_eigenvectors=False, compute_right_eigenvectors=False)")
    (a,), (da,) = primals, tangents
    w, v = eig_p.bind(a, compute_left_eigenvectors=False, compute_right_eigenvectors=True)
    da = _as_dtype(instantiate(da), aval_of(v).dtype)
    # dw = diag(V^{-1} dA V)  (Magnus 1985; arXiv:1701.00392 eq. 4.60)
    lu_, _, perm = lu(v)
    x = triangular_solve(lu_, _rows_permuted(da, perm), left_side=True, lower=True, unit_diagonal=True)
    x = triangular_solve(lu_, x, left_side=True, lower=False)
    return [w], [_diagonal(_mm(x, v))]


eig_p.def_abstract_eval(_eig_abstract_eval)
eig_p.def_lowering(_eig_lowering)
eig_p.def_jvp(_eig_jvp)
_batch_leading(eig_p)


def eig(x: Any, *, compute_left_eigenvectors: bool = True, compute_right_eigenvectors: bool = True) -> list[Any]:
    """Eigendecomposition of a general square matrix (CPU only): ``[w, vl, vr]`` with the complex
    eigenvalues ``w`` and, as requested, left (``vl^H x = w vl^H``) and right (``x vr = w vr``)
    eigenvectors, normalised to unit length."""
    return list(eig_p.bind(x, compute_left_eigenvectors=bool(compute_left_eigenvectors),
                           compute_right_eigenvectors=bool(compute_right_eigenvectors)))


# ----------------------------------------------------------------------------------------------
# svd

svd_p = Primitive("svd", multiple_results=True)


def _svd_abstract_eval(x: ShapedArray, *, full_matrices: bool, compute_uv: bool) -> list[ShapedArray]:
    _check_matrix("svd", x)
    batch, (m, n) = x.shape[:-2], x.shape[-2:]
    k = min(m, n)
    s = ShapedArray(batch + (k,), _real_dtype(x.dtype))
    if not compute_uv:
        return [s]
    u = ShapedArray(batch + (m, m if full_matrices else k), x.dtype)
    vt = ShapedArray(batch + (n if full_matrices else k, n), x.dtype)
    return [s, u, vt]


def _empty_svd(a: Any, *, full_matrices: bool, compute_uv: bool) -> list[Any]:
    aval = aval_of(a)
    batch, (m, n) = aval.shape[:-2], aval.shape[-2:]
    nb = len(batch)
    s = sh.full(batch + (0,), 0, _real_dtype(aval.dtype))
    if not compute_uv:
        return [s]
    ku, kv = (m, n) if full_matrices else (0, 0)
    u = sh.broadcast_in_dim(_eye((m, ku), aval.dtype), batch + (m, ku), (nb, nb + 1))
    vt = sh.broadcast_in_dim(_eye((kv, n), aval.dtype), batch + (kv, n), (nb, nb + 1))
    return [s, u, vt]


def _svd_lowering(ctx: Any, x: Any, *, full_matrices: bool, compute_uv: bool) -> list[Any]:
    x_aval = ctx.avals_in[0]
    batch, (m, n) = x_aval.shape[:-2], x_aval.shape[-2:]
    if m == 0 or n == 0:
        return lower_fun(_empty_svd, multiple_results=True)(ctx, x, full_matrices=full_matrices,
                                                             compute_uv=compute_uv)
    _require_cpu(ctx, "svd")
    k = min(m, n)
    s_aval = ctx.avals_out[0]
    if compute_uv:
        u_aval, vt_aval = ctx.avals_out[1:]
    else:
        u_aval = ShapedArray(batch + (m, m if full_matrices else k), x_aval.dtype)
        vt_aval = ShapedArray(batch + (n if full_matrices else k, n), x_aval.dtype)
    mode = "N" if not compute_uv else ("A" if full_matrices else "S")
    info_aval = ShapedArray(batch, _i32)
    _, s, u, vt, info = _lapack_call(_target("gesdd", x_aval.dtype), [x], [x_aval],
                                     [x_aval, s_aval, u_aval, vt_aval, info_aval],
                                     config={"mode": _u8(mode)}, aliases={0: 0})
    ok = _info_ok(info, batch, "EQ")
    out = [_nan_unless(ok, batch, s, s_aval)]
    if compute_uv:
        out += [_nan_unless(ok, batch, u, u_aval), _nan_unless(ok, batch, vt, vt_aval)]
    return out


def _svd_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, full_matrices: bool,
             compute_uv: bool) -> tuple[Any, Any]:
    (a,), (da,) = primals, tangents
    aval = aval_of(a)
    m, n = aval.shape[-2:]
    nb = aval.ndim - 2
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError("lax.svd: the derivative of a full_matrices=True decomposition of a "
                                  "non-square matrix is not implemented; use full_matrices=False")
    s, u, vt = svd_p.bind(a, full_matrices=False, compute_uv=True)
    da = instantiate(da)
    dtype = aval.dtype
    ut, v = _H(u), _H(vt)
    ds_mat = _mm(_mm(ut, da), v)
    ds = _diagonal(ew.real(ds_mat) if dtype.kind == "c" else ds_mat)
    if not compute_uv:
        return [s], [ds]
    k = aval_of(s).shape[-1]
    kk = aval_of(s).shape[:-1] + (k, k)
    s_row = sh.broadcast_in_dim(s, kk, tuple(range(nb)) + (nb + 1,))  # s_j at (i, j)
    s_col = sh.broadcast_in_dim(s, kk, tuple(range(nb)) + (nb,))      # s_i at (i, j)
    s_diffs = ew.mul(ew.add(s_row, s_col), ew.sub(s_row, s_col))
    eye_r = _eye(kk, aval_of(s).dtype)
    f = ew.sub(ew.div(ew.full_like(s_diffs, 1), ew.add(s_diffs, eye_r)), eye_r)
    f = _as_dtype(f, dtype)
    s_row_c, s_col_c = _as_dtype(s_row, dtype), _as_dtype(s_col, dtype)
    dss = ew.mul(s_row_c, ds_mat)  # dS diag(s)
    sds = ew.mul(s_col_c, ds_mat)  # diag(s) dS
    s_zero = _as_dtype(ew.eq(s, ew.full_like(s, 0)), aval_of(s).dtype)
    s_inv = ew.sub(ew.div(ew.full_like(s, 1), ew.add(s, s_zero)), s_zero)
    half = ew.full_like(ds_mat, 0.5)
    du_dv_diag = ew.mul(ew.mul(half, ew.sub(ds_mat, _H(ds_mat))), _as_dtype(_diag_matrix(s_inv), dtype))
    du = _mm(u, ew.add(ew.mul(f, ew.add(dss, _H(dss))), du_dv_diag))
    dv = _mm(v, ew.mul(f, ew.add(sds, _H(sds))))
    def over_s(x: Any) -> Any:  # x / s along the last axis
        x_shape = aval_of(x).shape
        return ew.div(x, sh.broadcast_in_dim(_as_dtype(s, dtype), x_shape, tuple(range(nb)) + (nb + 1,)))

    if m > n:
        dav = _mm(da, v)
        du = ew.add(du, over_s(ew.sub(dav, _mm(u, _mm(ut, dav)))))
    if n > m:
        dahu = _mm(_H(da), u)
        dv = ew.add(dv, over_s(ew.sub(dahu, _mm(v, _mm(vt, dahu)))))
    return [s, u, vt], [ds, du, _H(dv)]


svd_p.def_abstract_eval(_svd_abstract_eval)
svd_p.def_lowering(_svd_lowering)
svd_p.def_jvp(_svd_jvp)
_batch_leading(svd_p)


def svd(x: Any, *, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """Singular value decomposition: ``(u, s, vh)`` with ``x = u @ diag(s) @ vh`` (``s`` descending), or
    just ``s`` when ``compute_uv=False``."""
    out = svd_p.bind(x, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    if compute_uv:
        s, u, vt = out
        return u, s, vt
    return out[0]
