"""Sorting: ``sort`` (several operands, lexicographic on the first ``num_keys``), ``sort_key_val``,
``top_k``, and two gather/scatter primitives along one axis that their derivatives (and the
sorting/searching functions of ``ec.numpy``) use: ``take_along_axis`` and
``scatter_add_along_axis``.

Order of floating-point keys (as in JAX and NumPy): -inf < ... < -0.0 == 0.0 < ... < inf < NaN,
every NaN equal to every other; complex numbers order by (real, imag). The sort is stable unless
``is_stable=False``. Derivatives follow the permutation: ``sort`` sorts an iota alongside the
operands and gathers the tangents with it.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import chlo
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, operator_index
from ..lowering import dense_i64, full_like_aval, i64_attr, ir_type
from ..rules import Zero, batch_size, broadcast_batched, is_undefined
from ._util import aval_of

__all__ = ["sort", "sort_key_val", "top_k"]


def _normalize_axis(name: str, axis: int, ndim: int, argname: str = "dimension") -> int:
    axis = operator_index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"lax.{name}: {argname} {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim


def index_dtype_for(size: int) -> np.dtype:
    """int32 unless ``size`` needs (and 64-bit mode allows) int64."""
    if size > np.iinfo(np.int32).max:
        return dtypes.canonicalize_dtype(np.int64)
    return np.dtype(np.int32)


# ----------------------------------------------------------------------------------------------
# take_along_axis / scatter_add_along_axis: out[..., i, ...] = x[..., idx[..., i, ...], ...]

take_along_axis_p = Primitive("take_along_axis")
scatter_add_along_axis_p = Primitive("scatter_add_along_axis")


def _check_along(name: str, x: ShapedArray, idx: ShapedArray, axis: int) -> None:
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got {idx.dtype.name}")
    if idx.ndim != x.ndim or not 0 <= axis < x.ndim or any(
            a != b for d, (a, b) in enumerate(zip(x.shape, idx.shape)) if d != axis):
        raise TypeError(f"{name}: indices of shape {idx.shape} must match the array's shape {x.shape} except "
                        f"along axis {axis}")


def _take_abstract_eval(x: ShapedArray, idx: ShapedArray, *, axis: int) -> ShapedArray:
    _check_along("take_along_axis", x, idx, axis)
    return ShapedArray(idx.shape, x.dtype, x.weak_type)


def _batched_index_dims(rank: int, axis: int) -> list[int]:
    return [d for d in range(rank) if d != axis]


def _take_lowering(ctx: Any, x: Any, idx: Any, *, axis: int) -> Any:
    x_aval, idx_aval = ctx.avals_in
    rank = x_aval.ndim
    idx = hlo.ReshapeOp(ir_type(idx_aval.update(shape=idx_aval.shape + (1,))), idx).result
    others = _batched_index_dims(rank, axis)
    dnums = hlo.GatherDimensionNumbers.get(
        offset_dims=[], collapsed_slice_dims=[axis], operand_batching_dims=others,
        start_indices_batching_dims=others, start_index_map=[axis], index_vector_dim=rank)
    return hlo.GatherOp(x, idx, dnums, dense_i64([1] * rank), indices_are_sorted=ir.BoolAttr.get(False),
                        results=[ir_type(ctx.avals_out[0])]).result


def _take_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axis: int) -> tuple[Any, Any]:
    (x, idx), (t, _) = primals, tangents
    out = take_along_axis_p.bind(x, idx, axis=axis)
    if type(t) is Zero:
        return out, Zero(aval_of(out))
    return out, take_along_axis_p.bind(t, idx, axis=axis)


def _take_transpose(ct: Any, x: Any, idx: Any, *, axis: int) -> list[Any]:
    if is_undefined(idx):
        raise ValueError("take_along_axis is not linear in its indices")
    if type(ct) is Zero:
        return [Zero(x.aval), None]
    from .shape import full
    zeros = full(x.aval.shape, 0, x.aval.dtype)
    return [scatter_add_along_axis_p.bind(zeros, idx, ct, axis=axis), None]


def _along_batch(p: Primitive) -> Any:
    def batch(args: Sequence[Any], dims: Sequence[int | None], *, axis: int) -> tuple[Any, int]:
        size = batch_size(args, dims)
        moved = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
        return p.bind(*moved, axis=axis + 1), 0
    return batch


take_along_axis_p.def_abstract_eval(_take_abstract_eval)
take_along_axis_p.def_lowering(_take_lowering)
take_along_axis_p.def_jvp(_take_jvp)
take_along_axis_p.def_transpose(_take_transpose)
take_along_axis_p.def_batching(_along_batch(take_along_axis_p))


def _scatter_abstract_eval(x: ShapedArray, idx: ShapedArray, updates: ShapedArray, *, axis: int) -> ShapedArray:
    _check_along("scatter_add_along_axis", x, idx, axis)
    if updates.shape != idx.shape or updates.dtype != x.dtype:
        raise TypeError(f"scatter_add_along_axis: updates {updates.str_short()} must have the indices' shape "
                        f"{idx.shape} and the array's dtype {x.dtype.name}")
    return ShapedArray(x.shape, x.dtype, x.weak_type and updates.weak_type)


def _scatter_lowering(ctx: Any, x: Any, idx: Any, updates: Any, *, axis: int) -> Any:
    x_aval, idx_aval, _ = ctx.avals_in
    rank = x_aval.ndim
    idx = hlo.ReshapeOp(ir_type(idx_aval.update(shape=idx_aval.shape + (1,))), idx).result
    others = _batched_index_dims(rank, axis)
    dnums = hlo.ScatterDimensionNumbers.get(
        update_window_dims=[], inserted_window_dims=[axis], input_batching_dims=others,
        scatter_indices_batching_dims=others, scattered_dims_to_operand_dims=[axis], index_vector_dim=rank)
    op = hlo.ScatterOp([ir_type(ctx.avals_out[0])], [x], idx, [updates], dnums,
                       indices_are_sorted=ir.BoolAttr.get(False), unique_indices=ir.BoolAttr.get(False))
    scalar = ir_type(ShapedArray((), x_aval.dtype))
    block = op.update_computation.blocks.append(scalar, scalar)
    with ir.InsertionPoint(block):
        a, b = block.arguments
        total = hlo.OrOp(a, b).result if x_aval.dtype == dtypes.bool_ else hlo.AddOp(a, b).result
        hlo.ReturnOp([total])
    return op.results[0]


def _scatter_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axis: int) -> tuple[Any, Any]:
    (x, idx, updates), (tx, _, tu) = primals, tangents
    out = scatter_add_along_axis_p.bind(x, idx, updates, axis=axis)
    if type(tx) is Zero and type(tu) is Zero:
        return out, Zero(aval_of(out))
    from ..rules import instantiate
    return out, scatter_add_along_axis_p.bind(instantiate(tx), idx, instantiate(tu), axis=axis)


def _scatter_transpose(ct: Any, x: Any, idx: Any, updates: Any, *, axis: int) -> list[Any]:
    if is_undefined(idx):
        raise ValueError("scatter_add_along_axis is not linear in its indices")
    if type(ct) is Zero:
        return [Zero(x.aval) if is_undefined(x) else None, None,
                Zero(updates.aval) if is_undefined(updates) else None]
    return [ct if is_undefined(x) else None, None,
            take_along_axis_p.bind(ct, idx, axis=axis) if is_undefined(updates) else None]


scatter_add_along_axis_p.def_abstract_eval(_scatter_abstract_eval)
scatter_add_along_axis_p.def_lowering(_scatter_lowering)
scatter_add_along_axis_p.def_jvp(_scatter_jvp)
scatter_add_along_axis_p.def_transpose(_scatter_transpose)
scatter_add_along_axis_p.def_batching(_along_batch(scatter_add_along_axis_p))


def take_along_axis(x: Any, indices: Any, axis: int) -> Any:
    """``x`` gathered along ``axis`` at ``indices`` (same rank; other sizes equal). Indices are
    clamped into range; negative indices are not wrapped."""
    ndim = aval_of(x).ndim
    return take_along_axis_p.bind(x, indices, axis=_normalize_axis("take_along_axis", axis, ndim, "axis"))


def scatter_add_along_axis(x: Any, indices: Any, updates: Any, axis: int) -> Any:
    """``x`` with ``updates`` added at ``indices`` along ``axis`` (out-of-range indices are dropped)."""
    ndim = aval_of(x).ndim
    return scatter_add_along_axis_p.bind(x, indices, updates,
                                         axis=_normalize_axis("scatter_add_along_axis", axis, ndim, "axis"))


# ----------------------------------------------------------------------------------------------
# sort

sort_p = Primitive("sort", multiple_results=True)


def _sort_abstract_eval(*avals: ShapedArray, dimension: int, is_stable: bool, num_keys: int) -> list[ShapedArray]:
    if not avals:
        raise TypeError("lax.sort: needs at least one operand")
    shape = avals[0].shape
    for i, a in enumerate(avals):
        if a.shape != shape:
            raise TypeError(f"lax.sort: operands must have the same shape, got {shape} (operand 0) and "
                            f"{a.shape} (operand {i})")
    if not 1 <= num_keys <= len(avals):
        raise ValueError(f"lax.sort: num_keys must be between 1 and the number of operands ({len(avals)}), "
                         f"got {num_keys}")
    if not 0 <= dimension < len(shape):
        raise ValueError(f"lax.sort: dimension {dimension} is out of bounds for operands of shape {shape}")
    return list(avals)


def _scalar_const(value: Any, dtype: np.dtype) -> Any:
    return full_like_aval(value, ShapedArray((), dtype))


def _float_key(x: Any, dtype: np.dtype) -> Any:
    """-0.0 -> 0.0 and every NaN -> the canonical positive NaN, so TOTALORDER puts NaNs last and
    treats the zeros (and the NaNs) as equal."""
    from .elementwise import compare_lowering
    zero = _scalar_const(0, dtype)
    x = hlo.SelectOp(compare_lowering(x, zero, "EQ", dtype), zero, x).result
    return hlo.SelectOp(compare_lowering(x, x, "NE", dtype), _scalar_const(np.nan, dtype), x).result


def _keys(x: Any, dtype: np.dtype) -> list[tuple[Any, np.dtype, str]]:
    if dtype.kind == "c":
        part = dtypes.finfo(dtype).dtype
        return [(_float_key(hlo.RealOp(x).result, part), part, "TOTALORDER"),
                (_float_key(hlo.ImagOp(x).result, part), part, "TOTALORDER")]
    if dtypes.is_float(dtype):
        return [(_float_key(x, dtype), dtype, "TOTALORDER")]
    return [(x, dtype, "SIGNED" if dtype.kind == "i" else "UNSIGNED")]


def _compare(x: Any, y: Any, direction: str, compare_type: str) -> Any:
    return hlo.CompareOp(x, y, hlo.ComparisonDirectionAttr.get(direction),
                         compare_type=hlo.ComparisonTypeAttr.get(compare_type)).result


def _sort_lowering(ctx: Any, *operands: Any, dimension: int, is_stable: bool, num_keys: int) -> list[Any]:
    op = hlo.SortOp([ir_type(a) for a in ctx.avals_out], list(operands), dimension=i64_attr(dimension),
                    is_stable=ir.BoolAttr.get(bool(is_stable)))
    scalar_types = []
    for aval in ctx.avals_in:
        t = ir_type(ShapedArray((), aval.dtype))
        scalar_types += [t, t]
    block = op.comparator.blocks.append(*scalar_types)
    with ir.InsertionPoint(block):
        args = list(block.arguments)
        x_keys, y_keys = [], []
        for i in range(num_keys):
            dtype = ctx.avals_in[i].dtype
            x_keys += _keys(args[2 * i], dtype)
            y_keys += _keys(args[2 * i + 1], dtype)
        less = None
        for (xk, _, ct), (yk, _, _) in zip(reversed(x_keys), reversed(y_keys)):
            lt = _compare(xk, yk, "LT", ct)
            less = lt if less is None else hlo.OrOp(lt, hlo.AndOp(_compare(xk, yk, "EQ", ct), less).result).result
        hlo.ReturnOp([less])
    return list(op.results)


def _sort_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, dimension: int, is_stable: bool,
              num_keys: int) -> tuple[list[Any], list[Any]]:
    from .shape import broadcasted_iota
    shape = aval_of(primals[0]).shape
    iota = broadcasted_iota(index_dtype_for(shape[dimension]), shape, dimension)
    *outs, perm = sort_p.bind(*primals, iota, dimension=dimension, is_stable=is_stable, num_keys=num_keys)
    tangents_out = [Zero(aval_of(o)) if type(t) is Zero else take_along_axis_p.bind(t, perm, axis=dimension)
                    for o, t in zip(outs, tangents)]
    return outs, tangents_out


def _sort_batch(args: Sequence[Any], dims: Sequence[int | None], *, dimension: int, is_stable: bool,
                num_keys: int) -> tuple[list[Any], list[int]]:
    size = batch_size(args, dims)
    moved = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
    outs = sort_p.bind(*moved, dimension=dimension + 1, is_stable=is_stable, num_keys=num_keys)
    return outs, [0] * len(outs)


sort_p.def_abstract_eval(_sort_abstract_eval)
sort_p.def_lowering(_sort_lowering)
sort_p.def_jvp(_sort_jvp)
sort_p.def_batching(_sort_batch)


def sort(operand: Any, dimension: int = -1, is_stable: bool = True, num_keys: int = 1) -> Any:
    """Sort ``operand`` along ``dimension``; a sequence of arrays is sorted together,
    lexicographically by its first ``num_keys`` arrays (the rest follow the permutation).

    >>> sort(np.array([3.0, np.nan, -1.0], np.float32)).tolist()
    [-1.0, 3.0, nan]
    """
    if isinstance(operand, (list, tuple)):
        operands = list(operand)
        if not operands:
            raise TypeError("lax.sort: needs at least one operand")
        ndim = aval_of(operands[0]).ndim
        dimension = _normalize_axis("sort", dimension, max(ndim, 1))
        return tuple(sort_p.bind(*operands, dimension=dimension, is_stable=bool(is_stable),
                                 num_keys=operator_index(num_keys)))
    ndim = aval_of(operand).ndim
    if ndim == 0:
        raise ValueError("lax.sort: cannot sort a 0-d array")
    if operator_index(num_keys) != 1:
        raise ValueError(f"lax.sort: num_keys={num_keys} needs that many operands, got one array")
    dimension = _normalize_axis("sort", dimension, ndim)
    return sort_p.bind(operand, dimension=dimension, is_stable=bool(is_stable), num_keys=1)[0]


def sort_key_val(keys: Any, values: Any, dimension: int = -1, is_stable: bool = True) -> tuple[Any, Any]:
    """Sort ``keys`` along ``dimension`` and permute ``values`` the same way.

    >>> k, v = sort_key_val(np.array([2, 1], np.int32), np.array([10, 20], np.int32))
    >>> v.tolist()
    [20, 10]
    """
    ndim = aval_of(keys).ndim
    dimension = _normalize_axis("sort_key_val", dimension, max(ndim, 1))
    k, v = sort_p.bind(keys, values, dimension=dimension, is_stable=bool(is_stable), num_keys=1)
    return k, v


def argsort(operand: Any, dimension: int = -1, is_stable: bool = True, descending: bool = False,
            index_dtype: Any = None) -> Any:
    """The permutation that sorts ``operand`` along ``dimension`` (a helper for ec.numpy)."""
    from .shape import broadcasted_iota, rev
    aval = aval_of(operand)
    dimension = _normalize_axis("argsort", dimension, aval.ndim)
    n = aval.shape[dimension]
    dtype = index_dtype_for(n) if index_dtype is None else dtypes.canonicalize_dtype(index_dtype)
    iota = broadcasted_iota(dtype, aval.shape, dimension)
    if not descending:
        return sort_p.bind(operand, iota, dimension=dimension, is_stable=bool(is_stable), num_keys=1)[1]
    # descending and stable: sort the reversed array ascending, reverse back, undo the index flip
    flipped = rev(operand, (dimension,))
    perm = sort_p.bind(flipped, iota, dimension=dimension, is_stable=bool(is_stable), num_keys=1)[1]
    from .elementwise import sub
    return sub(np.array(n - 1, dtype), rev(perm, (dimension,)))


# ----------------------------------------------------------------------------------------------
# top_k

top_k_p = Primitive("top_k", multiple_results=True)


def _top_k_abstract_eval(x: ShapedArray, *, k: int, axis: int) -> list[ShapedArray]:
    if x.dtype.kind == "c":
        raise TypeError(f"lax.top_k: complex arrays have no order (got {x.dtype.name})")
    if x.ndim == 0:
        raise TypeError("lax.top_k: the operand must have at least one dimension, got a 0-d array")
    if not 0 <= axis < x.ndim:
        raise ValueError(f"lax.top_k: axis {axis} is out of bounds for an array of shape {x.shape}")
    if not 0 <= k <= x.shape[axis]:
        raise ValueError(f"lax.top_k: k must be between 0 and the size {x.shape[axis]} of axis {axis} "
                         f"(operand shape {x.shape}), got k={k}")
    shape = x.shape[:axis] + (k,) + x.shape[axis + 1:]
    return [ShapedArray(shape, x.dtype, x.weak_type), ShapedArray(shape, np.dtype(np.int32), False)]


def _top_k_lowering(ctx: Any, x: Any, *, k: int, axis: int) -> list[Any]:
    aval = ctx.avals_in[0]
    rank = aval.ndim
    perm = None
    if axis != rank - 1:
        perm = list(range(rank))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        x = hlo.TransposeOp(x, dense_i64(perm)).result
    values, indices = chlo.TopKOp(x, i64_attr(k)).results
    if perm is not None:
        values = hlo.TransposeOp(values, dense_i64(perm)).result
        indices = hlo.TransposeOp(indices, dense_i64(perm)).result
    return [values, indices]


def _top_k_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, k: int, axis: int) -> tuple[list[Any], list[Any]]:
    (x,), (t,) = primals, tangents
    values, indices = top_k_p.bind(x, k=k, axis=axis)
    t_values = Zero(aval_of(values)) if type(t) is Zero else take_along_axis_p.bind(t, indices, axis=axis)
    return [values, indices], [t_values, Zero(aval_of(indices))]


def _top_k_batch(args: Sequence[Any], dims: Sequence[int | None], *, k: int, axis: int) -> tuple[list[Any], list[int]]:
    (x,), (d,) = args, dims
    new_axis = axis + (1 if d <= axis else 0)
    return top_k_p.bind(x, k=k, axis=new_axis), [d, d]


top_k_p.def_abstract_eval(_top_k_abstract_eval)
top_k_p.def_lowering(_top_k_lowering)
top_k_p.def_jvp(_top_k_jvp)
top_k_p.def_batching(_top_k_batch)


def top_k(operand: Any, k: int, *, axis: int = -1) -> tuple[Any, Any]:
    """The ``k`` largest entries along ``axis`` in descending order, and their int32 indices (the
    lower index first on ties; NaN counts as largest).

    >>> values, indices = top_k(np.array([9.0, 3.0, 6.0, 10.0], np.float32), 2)
    >>> values.tolist(), indices.tolist()
    ([10.0, 9.0], [3, 0])
    """
    k = operator_index(k)
    if k < 0:
        raise ValueError(f"lax.top_k: k must be non-negative, got {k}")
    ndim = aval_of(operand).ndim
    if ndim == 0:
        raise TypeError("lax.top_k: the operand must have at least one dimension, got a 0-d array")
    values, indices = top_k_p.bind(operand, k=k, axis=_normalize_axis("top_k", axis, ndim, "axis"))
    return values, indices
