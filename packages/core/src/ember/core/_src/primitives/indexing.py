"""Gather and scatter: XLA's general indexing operations, with all their rules.

``gather`` reads windows of an operand at positions given by an index array; the ``scatter``
family writes (replaces, adds, multiplies, takes the min/max) windows of updates into an operand.
``GatherDimensionNumbers`` / ``ScatterDimensionNumbers`` say how operand, index and output
dimensions relate (as in XLA and JAX; the index vector is always the last index dimension).

Out-of-bounds handling (``GatherScatterMode``), as in JAX:

- ``clip``: indices are clamped so the whole window is in bounds (this is what
  ``lax.dynamic_slice`` does, so its batching rule uses it);
- ``fill`` / ``drop`` (``FILL_OR_DROP``, the default of ``scatter``): a gather returns
  ``fill_value`` for windows that are not entirely in bounds; a scatter drops such windows;
- ``promise_in_bounds`` (the default of ``gather``): no checks; XLA clamps gathers and drops
  scatters, and gradients are only right for in-bounds indices.

The file ends with the batching helpers ``shape.py`` uses for ``dynamic_slice`` and
``dynamic_update_slice`` with batched start indices.
"""

from __future__ import annotations

import enum
import math
import weakref
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, canonicalize_shape, operator_index
from ..jaxpr import ClosedJaxpr
from ..lowering import constant, emit_fun, full_like_aval, ir_type, jaxpr_subcomp
from ..rules import Zero, instantiate, is_undefined, moveaxis_to_front
from ._util import aval_of

__all__ = [
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "ScatterDimensionNumbers",
    "gather",
    "scatter",
    "scatter_add",
    "scatter_apply",
    "scatter_max",
    "scatter_min",
    "scatter_mul",
    "scatter_sub",
]


# ----------------------------------------------------------------------------------------------
# Parameters

class GatherDimensionNumbers(NamedTuple):
    """How the dimensions of a gather's operand, indices and output correspond.

    - ``offset_dims``: output dimensions that hold the window (slice) dimensions, in order;
    - ``collapsed_slice_dims``: operand dimensions whose window has size 1 and is dropped;
    - ``start_index_map``: for each entry of the index vector, the operand dimension it indexes;
    - ``operand_batching_dims`` / ``start_indices_batching_dims``: paired dimensions of the operand
      and the indices that are indexed together (a batch of independent gathers).

    >>> GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,)).operand_batching_dims
    ()
    """

    offset_dims: tuple[int, ...]
    collapsed_slice_dims: tuple[int, ...]
    start_index_map: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    start_indices_batching_dims: tuple[int, ...] = ()


class ScatterDimensionNumbers(NamedTuple):
    """How the dimensions of a scatter's operand, indices and updates correspond (the mirror image
    of ``GatherDimensionNumbers``: ``update_window_dims`` ~ offset_dims, ``inserted_window_dims`` ~
    collapsed_slice_dims, ``scatter_dims_to_operand_dims`` ~ start_index_map)."""

    update_window_dims: tuple[int, ...]
    inserted_window_dims: tuple[int, ...]
    scatter_dims_to_operand_dims: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    scatter_indices_batching_dims: tuple[int, ...] = ()


class GatherScatterMode(enum.Enum):
    """What a gather or scatter does with out-of-bounds indices (see the module docstring)."""

    CLIP = enum.auto()
    FILL_OR_DROP = enum.auto()
    PROMISE_IN_BOUNDS = enum.auto()

    @staticmethod
    def from_any(s: "str | GatherScatterMode | None") -> "GatherScatterMode":
        """Parse ``'clip'``, ``'fill'``/``'drop'`` (also ``None``) or ``'promise_in_bounds'``."""
        if isinstance(s, GatherScatterMode):
            return s
        if s == "clip":
            return GatherScatterMode.CLIP
        if s is None or s == "fill" or s == "drop":
            return GatherScatterMode.FILL_OR_DROP
        if s == "promise_in_bounds":
            return GatherScatterMode.PROMISE_IN_BOUNDS
        raise ValueError(f"Unknown gather/scatter mode {s!r}: expected 'clip', 'fill', 'drop' or "
                         "'promise_in_bounds'")

    def __repr__(self) -> str:
        return f"GatherScatterMode.{self.name}"


def _dims(value: Any, what: str) -> tuple[int, ...]:
    try:
        return tuple(operator_index(d) for d in value)
    except TypeError:
        raise TypeError(f"{what} must be a sequence of integers, got {value!r}") from None


def _gather_dnums(d: Any) -> GatherDimensionNumbers:
    if not isinstance(d, GatherDimensionNumbers):
        raise TypeError(f"lax.gather: dimension_numbers must be a GatherDimensionNumbers, got {type(d).__name__}")
    return GatherDimensionNumbers(*(_dims(v, f"lax.gather: dimension_numbers.{f}") for f, v in zip(d._fields, d)))


def _scatter_dnums(name: str, d: Any) -> ScatterDimensionNumbers:
    if not isinstance(d, ScatterDimensionNumbers):
        raise TypeError(f"lax.{name}: dimension_numbers must be a ScatterDimensionNumbers, got {type(d).__name__}")
    return ScatterDimensionNumbers(*(_dims(v, f"lax.{name}: dimension_numbers.{f}") for f, v in zip(d._fields, d)))


def _default_fill_value(dtype: np.dtype) -> Any:
    if dtypes.is_inexact(dtype):
        return np.nan
    if dtype == dtypes.bool_:
        return True
    if dtype.kind == "u":
        return int(np.iinfo(dtype).max)
    return int(np.iinfo(dtype).min)


def _scalar_fill_value(fill_value: Any, dtype: np.dtype) -> Any:
    """A hashable Python scalar (it is a primitive parameter)."""
    if fill_value is None:
        return _default_fill_value(dtype)
    value = np.asarray(fill_value)
    if value.shape:
        raise ValueError(f"lax.gather: fill_value must be a scalar, got shape {value.shape}")
    return value.item()


# ----------------------------------------------------------------------------------------------
# Shared checks

def _check(cond: bool, name: str, message: str) -> None:
    if not cond:
        raise TypeError(f"lax.{name}: {message}")


def _check_sorted_unique_in_range(name: str, dims: tuple[int, ...], rank: int, what: str, *,
                                  sorted_: bool = True) -> None:
    _check(len(set(dims)) == len(dims), name, f"{what} {dims} has repeated dimensions")
    if sorted_:
        _check(list(dims) == sorted(dims), name, f"{what} {dims} must be sorted")
    for d in dims:
        _check(0 <= d < rank, name, f"{what} {dims} has dimension {d} outside [0, {rank})")


def _check_indices(name: str, indices: ShapedArray) -> None:
    _check(indices.dtype.kind in "iu", name, f"indices must be integers, got {indices.dtype.name}")
    _check(indices.ndim >= 1, name, "indices must have at least one dimension (the last one holds "
           f"the index vectors), got shape {indices.shape}")


# ----------------------------------------------------------------------------------------------
# gather

gather_p = Primitive("gather")


def _gather_shape(operand: ShapedArray, indices: ShapedArray, dnums: GatherDimensionNumbers,
                  slice_sizes: tuple[int, ...]) -> tuple[int, ...]:
    name = "gather"
    _check_indices(name, indices)
    batch_rank = indices.ndim - 1
    out_rank = len(dnums.offset_dims) + batch_rank
    _check_sorted_unique_in_range(name, dnums.offset_dims, out_rank, "offset_dims")
    _check(len(dnums.start_index_map) == indices.shape[-1], name,
           f"start_index_map {dnums.start_index_map} must have one entry per element of the index vector "
           f"(the last dimension of indices, of size {indices.shape[-1]}; indices shape {indices.shape})")
    _check_sorted_unique_in_range(name, dnums.start_index_map, operand.ndim, "start_index_map", sorted_=False)
    _check_sorted_unique_in_range(name, dnums.collapsed_slice_dims, operand.ndim, "collapsed_slice_dims")
    _check_sorted_unique_in_range(name, dnums.operand_batching_dims, operand.ndim, "operand_batching_dims")
    _check_sorted_unique_in_range(name, dnums.start_indices_batching_dims, batch_rank,
                                  "start_indices_batching_dims", sorted_=False)
    _check(not set(dnums.collapsed_slice_dims) & set(dnums.operand_batching_dims), name,
           "collapsed_slice_dims and operand_batching_dims must be disjoint")
    _check(not set(dnums.start_index_map) & set(dnums.operand_batching_dims), name,
           "start_index_map and operand_batching_dims must be disjoint")
    _check(len(dnums.operand_batching_dims) == len(dnums.start_indices_batching_dims), name,
           f"operand_batching_dims {dnums.operand_batching_dims} and start_indices_batching_dims "
           f"{dnums.start_indices_batching_dims} must have the same length")
    op_batch = tuple(operand.shape[d] for d in dnums.operand_batching_dims)
    idx_batch = tuple(indices.shape[d] for d in dnums.start_indices_batching_dims)
    _check(op_batch == idx_batch, name, f"operand batching dimensions {op_batch} and indices batching "
           f"dimensions {idx_batch} must have the same sizes")
    _check(len(slice_sizes) == operand.ndim, name,
           f"slice_sizes {slice_sizes} must have one entry per operand dimension (operand shape {operand.shape})")
    _check(len(slice_sizes) == len(dnums.offset_dims) + len(dnums.collapsed_slice_dims)
           + len(dnums.operand_batching_dims), name,
           f"every operand dimension must be an offset, collapsed or batching dimension: slice_sizes "
           f"{slice_sizes}, offset_dims {dnums.offset_dims}, collapsed_slice_dims "
           f"{dnums.collapsed_slice_dims}, operand_batching_dims {dnums.operand_batching_dims}")
    for i, (s, n) in enumerate(zip(slice_sizes, operand.shape)):
        _check(0 <= s <= n, name, f"slice size {s} of dimension {i} must be in [0, {n}] (operand shape "
               f"{operand.shape})")
    for d in dnums.collapsed_slice_dims:
        _check(slice_sizes[d] == 1, name, f"collapsed dimension {d} must have slice size 1, got {slice_sizes[d]}")
    for d in dnums.operand_batching_dims:
        _check(slice_sizes[d] <= 1, name, f"batching dimension {d} must have slice size 0 or 1, got {slice_sizes[d]}")
    window = iter(s for i, s in enumerate(slice_sizes)
                  if i not in dnums.collapsed_slice_dims and i not in dnums.operand_batching_dims)
    batch = iter(indices.shape[:-1])
    return tuple(next(window) if i in dnums.offset_dims else next(batch) for i in range(out_rank))


def _gather_abstract_eval(operand: ShapedArray, indices: ShapedArray, *, dimension_numbers: GatherDimensionNumbers,
                          slice_sizes: tuple[int, ...], unique_indices: bool, indices_are_sorted: bool,
                          mode: GatherScatterMode, fill_value: Any) -> ShapedArray:
    shape = _gather_shape(operand, indices, dimension_numbers, slice_sizes)
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def _gather_dnums_attr(dnums: GatherDimensionNumbers, index_vector_dim: int) -> Any:
    return hlo.GatherDimensionNumbers.get(
        offset_dims=list(dnums.offset_dims), collapsed_slice_dims=list(dnums.collapsed_slice_dims),
        operand_batching_dims=list(dnums.operand_batching_dims),
        start_indices_batching_dims=list(dnums.start_indices_batching_dims),
        start_index_map=list(dnums.start_index_map), index_vector_dim=index_vector_dim)


def _index_dtype_for(operand_shape: Sequence[int], indices_dtype: np.dtype) -> np.dtype:
    big = max(operand_shape, default=0) >= np.iinfo(np.int32).max or indices_dtype.itemsize > 4
    return np.dtype(np.int64) if big else np.dtype(np.int32)


def _gather_fill(operand: Any, indices: Any, *, dimension_numbers: GatherDimensionNumbers,
                 slice_sizes: tuple[int, ...], indices_are_sorted: bool, fill_value: Any) -> Any:
    """A FILL_OR_DROP gather: a gather without checks, then windows out of bounds are filled."""
    from .elementwise import bitwise_and, convert_element_type, ge, le, select
    from .reductions import reduce_and
    from .shape import broadcast_in_dim, full
    dnums = dimension_numbers
    op_aval, idx_aval = aval_of(operand), aval_of(indices)
    index_dtype = _index_dtype_for(op_aval.shape, idx_aval.dtype)
    indices = convert_element_type(indices, index_dtype)
    upper = np.array([op_aval.shape[d] - slice_sizes[d] for d in dnums.start_index_map], index_dtype)
    batch_rank = idx_aval.ndim - 1
    upper_b = broadcast_in_dim(upper, idx_aval.shape, (batch_rank,))
    ok = reduce_and(bitwise_and(ge(indices, np.zeros((), index_dtype)), le(indices, upper_b)), (batch_rank,))
    out = gather_p.bind(operand, indices, dimension_numbers=dnums, slice_sizes=slice_sizes,
                        unique_indices=False, indices_are_sorted=indices_are_sorted,
                        mode=GatherScatterMode.PROMISE_IN_BOUNDS, fill_value=None)
    out_aval = aval_of(out)
    batch_dims = tuple(i for i in range(out_aval.ndim) if i not in dnums.offset_dims)
    mask = broadcast_in_dim(ok, out_aval.shape, batch_dims)
    return select(mask, out, full(out_aval.shape, fill_value, out_aval.dtype))


def _gather_lowering(ctx: Any, operand: Any, indices: Any, *, dimension_numbers: GatherDimensionNumbers,
                     slice_sizes: tuple[int, ...], unique_indices: bool, indices_are_sorted: bool,
                     mode: GatherScatterMode, fill_value: Any) -> Any:
    aval_out = ctx.avals_out[0]
    if aval_out.size == 0:
        return full_like_aval(0, aval_out)
    if mode == GatherScatterMode.FILL_OR_DROP:
        def fill(x: Any, i: Any) -> Any:
            return _gather_fill(x, i, dimension_numbers=dimension_numbers, slice_sizes=slice_sizes,
                                indices_are_sorted=indices_are_sorted, fill_value=fill_value)
        return emit_fun(ctx, fill, [operand, indices], ctx.avals_in)
    # CLIP and PROMISE_IN_BOUNDS: XLA's gather clamps start indices so the window fits
    attr = _gather_dnums_attr(dimension_numbers, ctx.avals_in[1].ndim - 1)
    return hlo.GatherOp(operand, indices, attr, ir.DenseI64ArrayAttr.get(list(slice_sizes)),
                        indices_are_sorted=ir.BoolAttr.get(indices_are_sorted)).result


def _gather_jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    operand, indices = primals
    out = gather_p.bind(operand, indices, **params)
    if type(tangents[0]) is Zero:
        return out, Zero(aval_of(out))
    fill = 0 if params["mode"] == GatherScatterMode.FILL_OR_DROP else None
    return out, gather_p.bind(tangents[0], indices, **{**params, "fill_value": fill})


def _gather_transpose(ct: Any, operand: Any, indices: Any, *, dimension_numbers: GatherDimensionNumbers,
                      slice_sizes: tuple[int, ...], unique_indices: bool, indices_are_sorted: bool,
                      mode: GatherScatterMode, fill_value: Any) -> list[Any]:
    if not is_undefined(operand):
        raise ValueError("lax.gather is linear in its operand only; the indices cannot be transposed")
    if type(ct) is Zero:
        return [Zero(operand.aval), None]
    from .shape import full
    zeros = full(operand.aval.shape, 0, aval_of(ct).dtype)
    return [scatter_add_p.bind(zeros, indices, ct, dimension_numbers=_gather_to_scatter_dnums(dimension_numbers),
                               indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                               mode=mode), None]


def _gather_to_scatter_dnums(d: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    return ScatterDimensionNumbers(update_window_dims=d.offset_dims, inserted_window_dims=d.collapsed_slice_dims,
                                   scatter_dims_to_operand_dims=d.start_index_map,
                                   operand_batching_dims=d.operand_batching_dims,
                                   scatter_indices_batching_dims=d.start_indices_batching_dims)


def _scatter_to_gather_dnums(d: ScatterDimensionNumbers) -> GatherDimensionNumbers:
    return GatherDimensionNumbers(offset_dims=d.update_window_dims, collapsed_slice_dims=d.inserted_window_dims,
                                  start_index_map=d.scatter_dims_to_operand_dims,
                                  operand_batching_dims=d.operand_batching_dims,
                                  start_indices_batching_dims=d.scatter_indices_batching_dims)


def _shift(dims: Sequence[int], by: int = 1) -> tuple[int, ...]:
    return tuple(d + by for d in dims)


def _gather_batch(args: Sequence[Any], dims: Sequence[int | None], *, dimension_numbers: GatherDimensionNumbers,
                  slice_sizes: tuple[int, ...], unique_indices: bool, indices_are_sorted: bool,
                  mode: GatherScatterMode, fill_value: Any) -> tuple[Any, int]:
    operand, indices = args
    op_dim, idx_dim = dims
    d = dimension_numbers
    common = dict(indices_are_sorted=indices_are_sorted, mode=mode, fill_value=fill_value)
    if idx_dim is None:  # the batch becomes a leading window dimension of full size
        operand = moveaxis_to_front(operand, op_dim)
        size = aval_of(operand).shape[0]
        dnums = GatherDimensionNumbers(
            offset_dims=(0,) + _shift(d.offset_dims), collapsed_slice_dims=_shift(d.collapsed_slice_dims),
            start_index_map=_shift(d.start_index_map), operand_batching_dims=_shift(d.operand_batching_dims),
            start_indices_batching_dims=d.start_indices_batching_dims)
        return gather_p.bind(operand, indices, dimension_numbers=dnums, slice_sizes=(size,) + slice_sizes,
                             unique_indices=unique_indices, **common), 0
    indices = moveaxis_to_front(indices, idx_dim)
    if op_dim is None:  # a leading batch dimension of the indices becomes one of the output
        dnums = GatherDimensionNumbers(
            offset_dims=_shift(d.offset_dims), collapsed_slice_dims=d.collapsed_slice_dims,
            start_index_map=d.start_index_map, operand_batching_dims=d.operand_batching_dims,
            start_indices_batching_dims=_shift(d.start_indices_batching_dims))
        # several batch elements may read the same operand element: not unique any more
        return gather_p.bind(operand, indices, dimension_numbers=dnums, slice_sizes=slice_sizes,
                             unique_indices=False, indices_are_sorted=False, mode=mode,
                             fill_value=fill_value), 0
    operand = moveaxis_to_front(operand, op_dim)  # both batched: a batching dimension pair
    size = aval_of(operand).shape[0]
    dnums = GatherDimensionNumbers(
        offset_dims=_shift(d.offset_dims), collapsed_slice_dims=_shift(d.collapsed_slice_dims),
        start_index_map=_shift(d.start_index_map), operand_batching_dims=(0,) + _shift(d.operand_batching_dims),
        start_indices_batching_dims=(0,) + _shift(d.start_indices_batching_dims))
    return gather_p.bind(operand, indices, dimension_numbers=dnums, slice_sizes=(min(size, 1),) + slice_sizes,
                         unique_indices=unique_indices, **common), 0


gather_p.def_abstract_eval(_gather_abstract_eval)
gather_p.def_lowering(_gather_lowering)
gather_p.def_jvp(_gather_jvp)
gather_p.def_transpose(_gather_transpose)
gather_p.def_batching(_gather_batch)


def gather(operand: Any, start_indices: Any, dimension_numbers: GatherDimensionNumbers,
           slice_sizes: Sequence[int], *, unique_indices: bool = False, indices_are_sorted: bool = False,
           mode: str | GatherScatterMode | None = None, fill_value: Any = None) -> Any:
    """Gather windows of ``operand`` at ``start_indices`` (XLA's Gather; lax.gather).

    ``mode`` defaults to ``promise_in_bounds``; with ``'fill'`` out-of-bounds windows read
    ``fill_value`` (default NaN for inexact types, the lowest signed / highest unsigned integer,
    True for booleans).

    >>> import ember.core.numpy as jnp
    >>> x = jnp.array([10, 11, 12])
    >>> dn = GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
    >>> gather(x, jnp.array([[2], [0]]), dn, (1,)).tolist()
    [12, 10]
    """
    parsed = GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else GatherScatterMode.from_any(mode)
    dtype = aval_of(operand).dtype
    fill = _scalar_fill_value(fill_value, dtype) if parsed == GatherScatterMode.FILL_OR_DROP else None
    return gather_p.bind(operand, start_indices, dimension_numbers=_gather_dnums(dimension_numbers),
                         slice_sizes=canonicalize_shape(slice_sizes, argname="lax.gather: slice_sizes"),
                         unique_indices=bool(unique_indices), indices_are_sorted=bool(indices_are_sorted),
                         mode=parsed, fill_value=fill)


def _gather_bind(operand: Any, indices: Any, dnums: GatherDimensionNumbers, slice_sizes: Sequence[int], *,
                 mode: GatherScatterMode, fill_value: Any = None, unique_indices: bool = False,
                 indices_are_sorted: bool = False) -> Any:
    fill = None
    if mode == GatherScatterMode.FILL_OR_DROP:
        fill = _default_fill_value(aval_of(operand).dtype) if fill_value is None else fill_value
    return gather_p.bind(operand, indices, dimension_numbers=dnums, slice_sizes=tuple(slice_sizes),
                         unique_indices=unique_indices, indices_are_sorted=indices_are_sorted,
                         mode=mode, fill_value=fill)


# ----------------------------------------------------------------------------------------------
# The scatter family

def _window_sizes(operand_shape: Sequence[int], updates_shape: Sequence[int],
                  dnums: ScatterDimensionNumbers) -> list[int]:
    """The size of the window each update writes, per operand dimension."""
    sizes, pos = [], 0
    for i in range(len(operand_shape)):
        if i in dnums.inserted_window_dims or i in dnums.operand_batching_dims:
            sizes.append(1)
        else:
            sizes.append(updates_shape[dnums.update_window_dims[pos]])
            pos += 1
    return sizes


def _scatter_abstract_eval_for(name: str) -> Callable[..., ShapedArray]:
    def abstract_eval(operand: ShapedArray, indices: ShapedArray, updates: ShapedArray, *,
                      dimension_numbers: ScatterDimensionNumbers, **params: Any) -> ShapedArray:
        d = dimension_numbers
        _check_indices(name, indices)
        _check(operand.dtype == updates.dtype, name, f"operand and updates must have the same dtype, got "
               f"{operand.dtype.name} and {updates.dtype.name}")
        batch_rank = indices.ndim - 1
        _check(updates.ndim == batch_rank + len(d.update_window_dims), name,
               f"updates must have rank {batch_rank + len(d.update_window_dims)} (the {batch_rank} batch "
               f"dimensions of indices {indices.shape} plus {len(d.update_window_dims)} update_window_dims), "
               f"got shape {updates.shape}")
        _check_sorted_unique_in_range(name, d.update_window_dims, updates.ndim, "update_window_dims")
        _check_sorted_unique_in_range(name, d.inserted_window_dims, operand.ndim, "inserted_window_dims")
        _check_sorted_unique_in_range(name, d.operand_batching_dims, operand.ndim, "operand_batching_dims")
        _check_sorted_unique_in_range(name, d.scatter_indices_batching_dims, batch_rank,
                                      "scatter_indices_batching_dims", sorted_=False)
        _check(not set(d.inserted_window_dims) & set(d.operand_batching_dims), name,
               "inserted_window_dims and operand_batching_dims must be disjoint")
        _check(not set(d.scatter_dims_to_operand_dims) & set(d.operand_batching_dims), name,
               "scatter_dims_to_operand_dims and operand_batching_dims must be disjoint")
        _check(len(d.operand_batching_dims) == len(d.scatter_indices_batching_dims), name,
               f"operand_batching_dims {d.operand_batching_dims} and scatter_indices_batching_dims "
               f"{d.scatter_indices_batching_dims} must have the same length")
        op_batch = tuple(operand.shape[i] for i in d.operand_batching_dims)
        idx_batch = tuple(indices.shape[i] for i in d.scatter_indices_batching_dims)
        _check(op_batch == idx_batch, name, f"operand batching dimensions {op_batch} and indices batching "
               f"dimensions {idx_batch} must have the same sizes")
        _check(operand.ndim == len(d.update_window_dims) + len(d.inserted_window_dims) + len(d.operand_batching_dims),
               name, f"every operand dimension (operand shape {operand.shape}) must be an update window, "
               f"inserted or batching dimension: update_window_dims {d.update_window_dims}, "
               f"inserted_window_dims {d.inserted_window_dims}, operand_batching_dims {d.operand_batching_dims}")
        _check(len(d.scatter_dims_to_operand_dims) == indices.shape[-1], name,
               f"scatter_dims_to_operand_dims {d.scatter_dims_to_operand_dims} must have one entry per element "
               f"of the index vector (last dimension of indices {indices.shape})")
        _check_sorted_unique_in_range(name, d.scatter_dims_to_operand_dims, operand.ndim,
                                      "scatter_dims_to_operand_dims", sorted_=False)
        window_operand_dims = [i for i in range(operand.ndim)
                               if i not in d.inserted_window_dims and i not in d.operand_batching_dims]
        for w, i in zip(d.update_window_dims, window_operand_dims):
            _check(updates.shape[w] <= operand.shape[i], name,
                   f"update window dimension {w} of size {updates.shape[w]} exceeds operand dimension {i} of "
                   f"size {operand.shape[i]} (updates {updates.shape}, operand {operand.shape})")
        scatter_dims = [i for i in range(updates.ndim) if i not in d.update_window_dims]
        for u, n in zip(scatter_dims, indices.shape[:-1]):
            _check(updates.shape[u] == n, name,
                   f"updates dimension {u} has size {updates.shape[u]} but the matching indices dimension has "
                   f"size {n} (updates {updates.shape}, indices {indices.shape})")
        return ShapedArray(operand.shape, operand.dtype, operand.weak_type)

    return abstract_eval


def _scatter_dnums_attr(d: ScatterDimensionNumbers, index_vector_dim: int) -> Any:
    return hlo.ScatterDimensionNumbers.get(
        update_window_dims=list(d.update_window_dims), inserted_window_dims=list(d.inserted_window_dims),
        input_batching_dims=list(d.operand_batching_dims),
        scatter_indices_batching_dims=list(d.scatter_indices_batching_dims),
        scattered_dims_to_operand_dims=list(d.scatter_dims_to_operand_dims), index_vector_dim=index_vector_dim)


def _clamp_scatter_indices(operand: Any, indices: Any, updates: Any, *, dnums: ScatterDimensionNumbers) -> Any:
    from .elementwise import clamp
    from .shape import broadcast_in_dim
    op_shape, idx_aval = aval_of(operand).shape, aval_of(indices)
    sizes = _window_sizes(op_shape, aval_of(updates).shape, dnums)
    upper = np.array([op_shape[d] - sizes[d] for d in dnums.scatter_dims_to_operand_dims])
    upper = np.minimum(upper, np.iinfo(idx_aval.dtype).max).astype(idx_aval.dtype)
    upper_b = broadcast_in_dim(upper, idx_aval.shape, (idx_aval.ndim - 1,))
    return clamp(np.zeros((), idx_aval.dtype), indices, upper_b)


def _scatter_lowering_for(combine: Callable[[Any, np.dtype, Any, Any], Any]) -> Callable[..., Any]:
    """``combine(ctx, dtype, current, update)`` builds the scalar update computation."""

    def lowering(ctx: Any, operand: Any, indices: Any, updates: Any, *, dimension_numbers: ScatterDimensionNumbers,
                 indices_are_sorted: bool, unique_indices: bool, mode: GatherScatterMode, **extra: Any) -> Any:
        op_aval, idx_aval, upd_aval = ctx.avals_in
        if upd_aval.size == 0 or op_aval.size == 0:
            return operand
        if mode == GatherScatterMode.CLIP:
            indices = emit_fun(ctx, lambda x, i, u: _clamp_scatter_indices(x, i, u, dnums=dimension_numbers),
                                [operand, indices, updates], ctx.avals_in)
        attr = _scatter_dnums_attr(dimension_numbers, idx_aval.ndim - 1)
        op = hlo.ScatterOp([ir_type(ctx.avals_out[0])], [operand], indices, [updates], attr,
                           indices_are_sorted=ir.BoolAttr.get(indices_are_sorted),
                           unique_indices=ir.BoolAttr.get(unique_indices))
        scalar = ir_type(ShapedArray((), op_aval.dtype))
        block = op.regions[0].blocks.append(scalar, scalar)
        with ir.InsertionPoint(block):
            current, update = block.arguments
            hlo.ReturnOp([combine(ctx, op_aval.dtype, current, update, **extra)])
        return op.results[0]

    return lowering


def _scatter_batch_for(p: Primitive) -> Callable[..., tuple[Any, int]]:
    def batch(args: Sequence[Any], dims: Sequence[int | None], *, dimension_numbers: ScatterDimensionNumbers,
              **params: Any) -> tuple[Any, int]:
        from ..rules import batch_size, broadcast_batched
        operand, indices, updates = args
        op_dim, idx_dim, upd_dim = dims
        size = batch_size(args, dims)
        operand = broadcast_batched(operand, op_dim, size)
        updates = broadcast_batched(updates, upd_dim, size)
        d = dimension_numbers
        if idx_dim is None:  # the batch is a leading window dimension
            dnums = ScatterDimensionNumbers(
                update_window_dims=(0,) + _shift(d.update_window_dims),
                inserted_window_dims=_shift(d.inserted_window_dims),
                scatter_dims_to_operand_dims=_shift(d.scatter_dims_to_operand_dims),
                operand_batching_dims=_shift(d.operand_batching_dims),
                scatter_indices_batching_dims=d.scatter_indices_batching_dims)
        else:  # a batching dimension pair
            indices = moveaxis_to_front(indices, idx_dim)
            dnums = ScatterDimensionNumbers(
                update_window_dims=_shift(d.update_window_dims),
                inserted_window_dims=_shift(d.inserted_window_dims),
                scatter_dims_to_operand_dims=_shift(d.scatter_dims_to_operand_dims),
                operand_batching_dims=(0,) + _shift(d.operand_batching_dims),
                scatter_indices_batching_dims=(0,) + _shift(d.scatter_indices_batching_dims))
        return p.bind(operand, indices, updates, dimension_numbers=dnums, **params), 0

    return batch


def _scatter_primitive(name: str, combine: Callable[..., Any]) -> Primitive:
    p = Primitive(name)
    p.def_abstract_eval(_scatter_abstract_eval_for(name))
    p.def_lowering(_scatter_lowering_for(combine))
    p.def_batching(_scatter_batch_for(p))
    return p


def _combine_set(ctx: Any, dtype: np.dtype, current: Any, update: Any) -> Any:
    return update


def _combine_add(ctx: Any, dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.OrOp(a, b).result if dtype == dtypes.bool_ else hlo.AddOp(a, b).result


def _combine_sub(ctx: Any, dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.SubtractOp(a, b).result


def _combine_mul(ctx: Any, dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.AndOp(a, b).result if dtype == dtypes.bool_ else hlo.MulOp(a, b).result


def _combine_min(ctx: Any, dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.MinOp(a, b).result


def _combine_max(ctx: Any, dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.MaxOp(a, b).result


def _combine_apply(ctx: Any, dtype: np.dtype, current: Any, update: Any, *, update_jaxpr: ClosedJaxpr) -> Any:
    consts = [constant(np.asarray(c), v.aval) for c, v in zip(update_jaxpr.consts, update_jaxpr.jaxpr.constvars)]
    return jaxpr_subcomp(ctx.module, update_jaxpr.jaxpr, consts, [current])[0]


scatter_p = _scatter_primitive("scatter", _combine_set)
scatter_add_p = _scatter_primitive("scatter_add", _combine_add)
scatter_sub_p = _scatter_primitive("scatter_sub", _combine_sub)
scatter_mul_p = _scatter_primitive("scatter_mul", _combine_mul)
scatter_min_p = _scatter_primitive("scatter_min", _combine_min)
scatter_max_p = _scatter_primitive("scatter_max", _combine_max)
scatter_apply_p = _scatter_primitive("scatter_apply", _combine_apply)


# -- differentiation --------------------------------------------------------------------------

def _inverse_gather(x: Any, indices: Any, d: ScatterDimensionNumbers, updates_shape: Sequence[int],
                    mode: GatherScatterMode = GatherScatterMode.PROMISE_IN_BOUNDS, fill_value: Any = None,
                    **flags: Any) -> Any:
    """The gather that reads back, from ``x``, the windows a scatter with ``d`` writes."""
    sizes = _window_sizes(aval_of(x).shape, updates_shape, d)
    if mode == GatherScatterMode.FILL_OR_DROP and fill_value is None:
        fill_value = 0
    return _gather_bind(x, indices, _scatter_to_gather_dnums(d), sizes, mode=mode, fill_value=fill_value, **flags)


def _scatter_addsub_jvp(p: Primitive) -> Callable[..., tuple[Any, Any]]:
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        operand, indices, updates = primals
        t_op, _, t_upd = tangents
        out = p.bind(operand, indices, updates, **params)
        if type(t_op) is Zero and type(t_upd) is Zero:
            return out, Zero(aval_of(out))
        return out, p.bind(instantiate(t_op), indices, instantiate(t_upd), **params)
    return jvp


def _scatter_addsub_transpose(p: Primitive) -> Callable[..., list[Any]]:
    def transpose(ct: Any, operand: Any, indices: Any, updates: Any, *, dimension_numbers: ScatterDimensionNumbers,
                  indices_are_sorted: bool, unique_indices: bool, mode: GatherScatterMode) -> list[Any]:
        if is_undefined(indices):
            raise ValueError(f"lax.{p.name} is not linear in its indices")
        upd_aval = updates.aval if is_undefined(updates) else aval_of(updates)
        if type(ct) is Zero:
            return [Zero(operand.aval) if is_undefined(operand) else None, None,
                    Zero(upd_aval) if is_undefined(updates) else None]
        ct_op = ct if is_undefined(operand) else None
        ct_upd = None
        if is_undefined(updates):
            ct_upd = _inverse_gather(ct, indices, dimension_numbers, upd_aval.shape, mode,
                                     indices_are_sorted=indices_are_sorted, unique_indices=unique_indices)
            if p is scatter_sub_p:
                from .elementwise import neg
                ct_upd = neg(ct_upd)
        return [ct_op, None, ct_upd]
    return transpose


for _p in (scatter_add_p, scatter_sub_p):
    _p.def_jvp(_scatter_addsub_jvp(_p))
    _p.def_transpose(_scatter_addsub_transpose(_p))


def _no_grad_for_nonunique(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"lax.{name}: the derivative with respect to the updates is only implemented with "
        "unique_indices=True (pass unique_indices=True when the indices have no duplicates)")


def _scatter_mul_jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    from ..rules import add_tangents
    from .elementwise import mul
    from .shape import full
    operand, indices, updates = primals
    t_op, _, t_upd = tangents
    out = scatter_mul_p.bind(operand, indices, updates, **params)
    tangent: Any = Zero(aval_of(out))
    if type(t_op) is not Zero:
        tangent = add_tangents(tangent, scatter_mul_p.bind(t_op, indices, updates, **params))
    if type(t_upd) is not Zero:
        if not params["unique_indices"]:
            raise _no_grad_for_nonunique("scatter_mul")
        aval = aval_of(operand)
        spread = scatter_add_p.bind(full(aval.shape, 0, aval.dtype), indices, t_upd, **params)
        tangent = add_tangents(tangent, mul(operand, spread))
    return out, tangent


def _scatter_mul_transpose(ct: Any, operand: Any, indices: Any, updates: Any, *,
                           dimension_numbers: ScatterDimensionNumbers, indices_are_sorted: bool,
                           unique_indices: bool, mode: GatherScatterMode) -> list[Any]:
    params = dict(dimension_numbers=dimension_numbers, indices_are_sorted=indices_are_sorted,
                  unique_indices=unique_indices, mode=mode)
    if is_undefined(updates):
        # linear in the updates only when the operand is known: y -> x * scatter_add(0, i, y)
        if is_undefined(operand):
            raise ValueError("lax.scatter_mul is not linear in both operand and updates at once")
        if not unique_indices:
            raise _no_grad_for_nonunique("scatter_mul")
        if type(ct) is Zero:
            return [None, None, Zero(updates.aval)]
        from .elementwise import mul
        return [None, None, _inverse_gather(mul(ct, operand), indices, dimension_numbers, updates.aval.shape, mode,
                                            indices_are_sorted=indices_are_sorted, unique_indices=unique_indices)]
    if type(ct) is Zero:
        return [Zero(operand.aval), None, None]
    return [scatter_mul_p.bind(ct, indices, updates, **params), None, None]


scatter_mul_p.def_jvp(_scatter_mul_jvp)
scatter_mul_p.def_transpose(_scatter_mul_transpose)


def _scatter_extremal_jvp(p: Primitive) -> Callable[..., tuple[Any, Any]]:
    # Where several values contend for an output element (the operand's and updates'), the
    # tangent is the mean of the tangents of those that attain the extremum, like reduce_max.
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], *, dimension_numbers: ScatterDimensionNumbers,
            indices_are_sorted: bool, unique_indices: bool, mode: GatherScatterMode) -> tuple[Any, Any]:
        from .elementwise import add, convert_element_type, div, eq, mul, select, sub
        from .shape import full
        operand, indices, updates = primals
        t_op, _, t_upd = tangents
        d = dimension_numbers
        params = dict(dimension_numbers=d, indices_are_sorted=indices_are_sorted,
                      unique_indices=unique_indices, mode=mode)
        out = p.bind(operand, indices, updates, **params)
        if type(t_op) is Zero and type(t_upd) is Zero:
            return out, Zero(aval_of(out))
        t_op, t_upd = instantiate(t_op), instantiate(t_upd)
        op_aval, upd_aval = aval_of(operand), aval_of(updates)
        dt = op_aval.dtype
        upd_shape = upd_aval.shape

        def back(x: Any) -> Any:
            return _inverse_gather(x, indices, d, upd_shape)

        def count(values: Any) -> Any:
            plain = dict(params, mode=mode)
            return back(scatter_add_p.bind(full(op_aval.shape, 0, dt), indices, values, **plain))

        initial, target = back(operand), back(out)
        won = eq(updates, target)
        kept = eq(initial, target)
        ones, zeros = full(upd_shape, 1, dt), full(upd_shape, 0, dt)
        num_updates = count(select(won, ones, zeros))
        num_refs = count(ones)
        kept_f = convert_element_type(kept, dt)
        share = div(ones, add(num_updates, kept_f))  # 1 / (number of winners, operand included)
        upd_coef = select(won, share, zeros)
        op_coef = div(sub(select(kept, share, zeros), ones), num_refs)
        tangent_updates = add(mul(back(t_op), op_coef), mul(t_upd, upd_coef))
        return out, scatter_add_p.bind(t_op, indices, tangent_updates, **params)

    return jvp


scatter_min_p.def_jvp(_scatter_extremal_jvp(scatter_min_p))
scatter_max_p.def_jvp(_scatter_extremal_jvp(scatter_max_p))


def _scatter_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, dimension_numbers: ScatterDimensionNumbers,
                 indices_are_sorted: bool, unique_indices: bool, mode: GatherScatterMode) -> tuple[Any, Any]:
    from .elementwise import add, eq, select
    from .shape import broadcast_in_dim, full, iota, reshape
    operand, indices, updates = primals
    t_op, _, t_upd = tangents
    d = dimension_numbers
    params = dict(dimension_numbers=d, indices_are_sorted=indices_are_sorted, unique_indices=unique_indices, mode=mode)
    if type(t_op) is Zero and type(t_upd) is Zero:
        out = scatter_p.bind(operand, indices, updates, **params)
        return out, Zero(aval_of(out))
    t_op, t_upd = instantiate(t_op), instantiate(t_upd)
    if unique_indices:
        return (scatter_p.bind(operand, indices, updates, **params),
                scatter_p.bind(t_op, indices, t_upd, **params))
    # With duplicate indices, which update wins is unspecified: give every update an id, scatter
    # the ids, read them back, and keep only the winners; then scatter-add the masked values
    # (scatter_add has a transpose, so this rule serves reverse mode too).
    op_aval, upd_aval = aval_of(operand), aval_of(updates)
    ids_shape = list(upd_aval.shape)
    for w in d.update_window_dims:
        ids_shape[w] = 1
    num_ids = math.prod(ids_shape)
    id_dtype = np.dtype(np.uint32) if num_ids < np.iinfo(np.uint32).max else np.dtype(np.uint64)
    ids = add(reshape(iota(id_dtype, num_ids), ids_shape), np.ones((), id_dtype))
    ids = broadcast_in_dim(ids, upd_aval.shape, tuple(range(upd_aval.ndim)))
    scattered_ids = scatter_p.bind(full(op_aval.shape, 0, id_dtype), indices, ids, **params)
    gathered_ids = _inverse_gather(scattered_ids, indices, d, upd_aval.shape)
    untouched = eq(scattered_ids, np.zeros((), id_dtype))
    won = eq(ids, gathered_ids)
    zeros_op, zeros_upd = full(op_aval.shape, 0, op_aval.dtype), full(upd_aval.shape, 0, upd_aval.dtype)
    out = scatter_add_p.bind(select(untouched, operand, zeros_op), indices, select(won, updates, zeros_upd), **params)
    tangent = scatter_add_p.bind(select(untouched, t_op, zeros_op), indices, select(won, t_upd, zeros_upd), **params)
    return out, tangent


def _scatter_transpose(ct: Any, operand: Any, indices: Any, updates: Any, *,
                       dimension_numbers: ScatterDimensionNumbers, indices_are_sorted: bool,
                       unique_indices: bool, mode: GatherScatterMode) -> list[Any]:
    if not unique_indices:
        raise NotImplementedError("lax.scatter: transposition is only implemented with unique_indices=True")
    if is_undefined(indices):
        raise ValueError("lax.scatter is not linear in its indices")
    upd_aval = updates.aval if is_undefined(updates) else aval_of(updates)
    if type(ct) is Zero:
        return [Zero(operand.aval) if is_undefined(operand) else None, None,
                Zero(upd_aval) if is_undefined(updates) else None]
    from .shape import full
    params = dict(dimension_numbers=dimension_numbers, indices_are_sorted=indices_are_sorted,
                  unique_indices=True, mode=mode)
    ct_op = ct_upd = None
    if is_undefined(operand):  # the overwritten positions get no cotangent
        ct_op = scatter_p.bind(ct, indices, full(upd_aval.shape, 0, aval_of(ct).dtype), **params)
    if is_undefined(updates):
        ct_upd = _inverse_gather(ct, indices, dimension_numbers, upd_aval.shape, mode,
                                 indices_are_sorted=indices_are_sorted, unique_indices=True)
    return [ct_op, None, ct_upd]


scatter_p.def_jvp(_scatter_jvp)
scatter_p.def_transpose(_scatter_transpose)


def _scatter_apply_jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    raise NotImplementedError("lax.scatter_apply (x.at[...].apply(f)) has no derivative rule; write the update "
                              "with .set / .add or jnp.where instead")


scatter_apply_p.def_jvp(_scatter_apply_jvp)


# -- the lax functions ------------------------------------------------------------------------

def _scatter_bind(p: Primitive, name: str, operand: Any, indices: Any, updates: Any, dimension_numbers: Any,
                  indices_are_sorted: bool, unique_indices: bool, mode: Any, **extra: Any) -> Any:
    return p.bind(operand, indices, updates, dimension_numbers=_scatter_dnums(name, dimension_numbers),
                  indices_are_sorted=bool(indices_are_sorted), unique_indices=bool(unique_indices),
                  mode=GatherScatterMode.from_any(mode), **extra)


def scatter(operand: Any, scatter_indices: Any, updates: Any, dimension_numbers: ScatterDimensionNumbers, *,
            indices_are_sorted: bool = False, unique_indices: bool = False,
            mode: str | GatherScatterMode | None = None) -> Any:
    """``operand`` with the windows at ``scatter_indices`` replaced by ``updates`` (lax.scatter).

    Out-of-bounds windows are dropped by default (``mode='drop'``). With duplicate indices, which
    update wins is unspecified.

    >>> import ember.core.numpy as jnp
    >>> dn = ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                              scatter_dims_to_operand_dims=(0,))
    >>> scatter(jnp.zeros(3), jnp.array([[2]]), jnp.array([5.0]), dn).tolist()
    [0.0, 0.0, 5.0]
    """
    return _scatter_bind(scatter_p, "scatter", operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def scatter_add(operand: Any, scatter_indices: Any, updates: Any, dimension_numbers: ScatterDimensionNumbers, *,
                indices_are_sorted: bool = False, unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    """``operand`` with ``updates`` added at ``scatter_indices`` (duplicates accumulate).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> dnums = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
    ...                                     scatter_dims_to_operand_dims=(0,))
    >>> indices = jnp.array([[1], [1], [3]])
    >>> lax.scatter_add(jnp.zeros(5), indices, jnp.ones(3), dnums).tolist()   # x.at[[1, 1, 3]].add(1)
    [0.0, 2.0, 0.0, 1.0, 0.0]
    """
    return _scatter_bind(scatter_add_p, "scatter_add", operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def scatter_sub(operand: Any, scatter_indices: Any, updates: Any, dimension_numbers: ScatterDimensionNumbers, *,
                indices_are_sorted: bool = False, unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    """``operand`` with ``updates`` subtracted at ``scatter_indices``."""
    return _scatter_bind(scatter_sub_p, "scatter_sub", operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def scatter_mul(operand: Any, scatter_indices: Any, updates: Any, dimension_numbers: ScatterDimensionNumbers, *,
                indices_are_sorted: bool = False, unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    """``operand`` multiplied by ``updates`` at ``scatter_indices``."""
    return _scatter_bind(scatter_mul_p, "scatter_mul", operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def scatter_min(operand: Any, scatter_indices: Any, updates: Any, dimension_numbers: ScatterDimensionNumbers, *,
                indices_are_sorted: bool = False, unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    """The elementwise minimum of ``operand`` and ``updates`` at ``scatter_indices``."""
    return _scatter_bind(scatter_min_p, "scatter_min", operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


def scatter_max(operand: Any, scatter_indices: Any, updates: Any, dimension_numbers: ScatterDimensionNumbers, *,
                indices_are_sorted: bool = False, unique_indices: bool = False,
                mode: str | GatherScatterMode | None = None) -> Any:
    """The elementwise maximum of ``operand`` and ``updates`` at ``scatter_indices``."""
    return _scatter_bind(scatter_max_p, "scatter_max", operand, scatter_indices, updates, dimension_numbers,
                         indices_are_sorted, unique_indices, mode)


_apply_jaxprs: "weakref.WeakKeyDictionary[Any, dict[Any, ClosedJaxpr]]" = weakref.WeakKeyDictionary()


def _apply_jaxpr(func: Callable[[Any], Any], aval: ShapedArray) -> ClosedJaxpr:
    from ..tracing import trace_to_jaxpr
    from .elementwise import convert_element_type
    key = (aval.dtype, aval.weak_type)
    try:
        per_func = _apply_jaxprs.setdefault(func, {})
    except TypeError:  # not weakly referenceable: trace every time
        per_func = {}
    closed = per_func.get(key)
    if closed is None:
        def body(x: Any) -> list[Any]:
            out = func(x)
            if aval_of(out).shape != ():
                raise TypeError("lax.scatter_apply: func must map a scalar to a scalar, got shape "
                                f"{aval_of(out).shape}")
            return [convert_element_type(out, aval.dtype, aval.weak_type)]
        closed = per_func[key] = trace_to_jaxpr(body, [ShapedArray((), aval.dtype, aval.weak_type)])
    return closed


def scatter_apply(operand: Any, scatter_indices: Any, func: Callable[[Any], Any],
                  dimension_numbers: ScatterDimensionNumbers, *, update_shape: Sequence[int] = (),
                  indices_are_sorted: bool = False, unique_indices: bool = False,
                  mode: str | GatherScatterMode | None = None) -> Any:
    """``operand`` with ``func`` applied at ``scatter_indices`` (once per occurrence of an index).

    ``update_shape`` is the shape an updates array would have for these dimension numbers.
    """
    from .shape import full
    aval = aval_of(operand)
    unused = full(canonicalize_shape(update_shape), 0, aval.dtype)
    return _scatter_bind(scatter_apply_p, "scatter_apply", operand, scatter_indices, unused, dimension_numbers,
                         indices_are_sorted, unique_indices, mode, update_jaxpr=_apply_jaxpr(func, aval))


# ----------------------------------------------------------------------------------------------
# Batching of dynamic_slice / dynamic_update_slice with batched start indices (used by shape.py)

def _batch_scalar_indices(indices: Sequence[Any], dims: Sequence[int | None]) -> tuple[Any, int | None]:
    """Stack scalar start indices (some batched) into a (batch, n) index array, batch at 0."""
    from .elementwise import convert_element_type
    from .shape import broadcast_in_dim, concatenate
    index_dtype = np.dtype(np.int64) if any(aval_of(i).dtype.itemsize > 4 for i in indices) else np.dtype(np.int32)
    indices = [convert_element_type(i, index_dtype) for i in indices]
    size = next(aval_of(i).shape[d] for i, d in zip(indices, dims) if d is not None)
    columns = [broadcast_in_dim(i, (size, 1), (0,) if d is not None else ()) for i, d in zip(indices, dims)]
    return concatenate(columns, 1), 0


def batch_dynamic_slice_with_gather(args: Sequence[Any], dims: Sequence[int | None],
                                    slice_sizes: tuple[int, ...]) -> tuple[Any, int]:
    """vmap of ``dynamic_slice`` whose start indices are batched: a gather in CLIP mode (the
    clamping ``dynamic_slice`` does)."""
    x, *indices = args
    x_dim, *index_dims = dims
    index, index_dim = _batch_scalar_indices(indices, index_dims)
    n = len(slice_sizes)
    dnums = GatherDimensionNumbers(offset_dims=tuple(range(n)), collapsed_slice_dims=(),
                                   start_index_map=tuple(range(n)))
    return _gather_batch([x, index], [x_dim, index_dim], dimension_numbers=dnums, slice_sizes=tuple(slice_sizes),
                         unique_indices=True, indices_are_sorted=True, mode=GatherScatterMode.CLIP,
                         fill_value=None)


def batch_dynamic_update_slice_with_scatter(args: Sequence[Any], dims: Sequence[int | None]) -> tuple[Any, int]:
    """vmap of ``dynamic_update_slice`` whose start indices are batched: a scatter in CLIP mode."""
    x, update, *indices = args
    x_dim, u_dim, *index_dims = dims
    index, index_dim = _batch_scalar_indices(indices, index_dims)
    n = aval_of(update).ndim - (0 if u_dim is None else 1)
    dnums = ScatterDimensionNumbers(update_window_dims=tuple(range(n)), inserted_window_dims=(),
                                    scatter_dims_to_operand_dims=tuple(range(n)))
    return _scatter_batch_for(scatter_p)([x, index, update], [x_dim, index_dim, u_dim], dimension_numbers=dnums,
                                         indices_are_sorted=True, unique_indices=True,
                                         mode=GatherScatterMode.CLIP)
