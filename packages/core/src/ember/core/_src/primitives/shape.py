"""Shape primitives: broadcast_in_dim, reshape, transpose, squeeze, rev, slice, dynamic_slice,
dynamic_update_slice, concatenate, pad, iota, and the ``full`` helper."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, canonicalize_shape, operator_index
from ..lowering import constant, dense_i64, ir_type
from ..rules import Zero, deflinear, instantiate, is_undefined, moveaxis_to_front
from ._util import aval_of, check_same_dtypes

__all__ = [
    "broadcast",
    "broadcast_in_dim",
    "broadcasted_iota",
    "concatenate",
    "dynamic_index_in_dim",
    "dynamic_slice",
    "dynamic_slice_in_dim",
    "dynamic_update_index_in_dim",
    "dynamic_update_slice",
    "dynamic_update_slice_in_dim",
    "expand_dims",
    "full",
    "index_in_dim",
    "iota",
    "pad",
    "reshape",
    "rev",
    "slice",
    "slice_in_dim",
    "squeeze",
    "transpose",
]


def _normalize_axis(axis: int, ndim: int, name: str, argname: str = "axis") -> int:
    axis = operator_index(axis)
    if not -ndim <= axis < max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise ValueError(f"lax.{name}: {argname} {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim if ndim else 0


# ----------------------------------------------------------------------------------------------
# broadcast_in_dim

broadcast_in_dim_p = Primitive("broadcast_in_dim")


def _broadcast_in_dim_abstract_eval(x: ShapedArray, *, shape: tuple[int, ...],
                                    broadcast_dimensions: tuple[int, ...]) -> ShapedArray:
    if len(broadcast_dimensions) != x.ndim:
        raise TypeError(f"lax.broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must have one "
                        f"entry per operand dimension (operand shape {x.shape})")
    if any(not 0 <= d < len(shape) for d in broadcast_dimensions) or \
            list(broadcast_dimensions) != sorted(set(broadcast_dimensions)):
        raise TypeError(f"lax.broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} must be strictly "
                        f"increasing dimensions of the result shape {shape}")
    for i, d in enumerate(broadcast_dimensions):
        if x.shape[i] not in (1, shape[d]):
            raise TypeError(f"lax.broadcast_in_dim: operand dimension {i} of size {x.shape[i]} cannot be "
                            f"broadcast to result dimension {d} of size {shape[d]} (operand {x.shape}, "
                            f"result {shape})")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _broadcast_in_dim_transpose(ct: Any, x: Any, *, shape: tuple[int, ...],
                                broadcast_dimensions: tuple[int, ...]) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval)]
    from .reductions import reduce_sum
    in_shape = x.aval.shape
    summed = tuple(d for d in range(len(shape)) if d not in broadcast_dimensions)
    expanded = tuple(broadcast_dimensions[i] for i, n in enumerate(in_shape) if n == 1 and shape[broadcast_dimensions[i]] != 1)
    out = reduce_sum(ct, tuple(sorted(summed + expanded))) if summed or expanded else ct
    if expanded:
        out = reshape(out, in_shape)
    return [out]


def _broadcast_in_dim_batch(args: Sequence[Any], dims: Sequence[int | None], *, shape: tuple[int, ...],
                            broadcast_dimensions: tuple[int, ...]) -> tuple[Any, int]:
    (x,), (d,) = args, dims
    x = moveaxis_to_front(x, d)
    size = aval_of(x).shape[0]
    return broadcast_in_dim_p.bind(x, shape=(size,) + shape,
                                   broadcast_dimensions=(0,) + tuple(b + 1 for b in broadcast_dimensions)), 0


broadcast_in_dim_p.def_abstract_eval(_broadcast_in_dim_abstract_eval)
broadcast_in_dim_p.def_lowering(lambda ctx, x, *, shape, broadcast_dimensions: hlo.BroadcastInDimOp(
    ir_type(ctx.avals_out[0]), x, dense_i64(broadcast_dimensions)).result)
deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
broadcast_in_dim_p.def_batching(_broadcast_in_dim_batch)


def broadcast_in_dim(x: Any, shape: Sequence[int], broadcast_dimensions: Sequence[int]) -> Any:
    """Broadcast ``x`` to ``shape``; operand dimension i becomes result dimension broadcast_dimensions[i].

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.broadcast_in_dim(jnp.array([1, 2]), (3, 2), broadcast_dimensions=(1,)).tolist()
    [[1, 2], [1, 2], [1, 2]]
    """
    shape = canonicalize_shape(shape)
    dims = tuple(operator_index(d) for d in broadcast_dimensions)
    if aval_of(x).shape == shape and dims == tuple(range(len(shape))) and \
            not isinstance(x, (int, float, bool, complex, np.ndarray, np.generic)):
        return x  # an array already of that shape (constants still become arrays)
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=dims)


def broadcast(x: Any, sizes: Sequence[int]) -> Any:
    """Add leading dimensions ``sizes`` to ``x`` (lax.broadcast)."""
    aval = aval_of(x)
    sizes = canonicalize_shape(sizes)
    return broadcast_in_dim(x, sizes + aval.shape, tuple(range(len(sizes), len(sizes) + aval.ndim)))


def full(shape: Sequence[int], fill_value: Any, dtype: Any = None) -> Any:
    """An array of ``shape`` filled with ``fill_value`` (lax.full).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.full((2, 2), 7, jnp.int8)
    Array([[7, 7],
           [7, 7]], dtype=int8)
    """
    shape = canonicalize_shape(shape)
    if dtype is None:
        dt, weak = dtypes.result_type(fill_value, return_weak_type_flag=True)
    else:
        dt, weak = dtypes.canonicalize_dtype(dtype), False
    if isinstance(fill_value, (int, float, bool, complex, np.generic, np.ndarray)):
        scalar = np.array(fill_value, dtype=dt)
        if scalar.shape != ():
            raise TypeError(f"lax.full: fill_value must be a scalar, got shape {scalar.shape}")
        if weak:
            from .elementwise import convert_element_type
            return broadcast_in_dim(convert_element_type(scalar, dt, weak_type=True), shape, ())
        return broadcast_in_dim(scalar, shape, ())
    from .elementwise import convert_element_type
    value = convert_element_type(fill_value, dt, weak_type=weak)
    if aval_of(value).shape:
        raise TypeError(f"lax.full: fill_value must be a scalar, got shape {aval_of(value).shape}")
    return broadcast_in_dim(value, shape, ())


# ----------------------------------------------------------------------------------------------
# reshape

reshape_p = Primitive("reshape")


def _reshape_abstract_eval(x: ShapedArray, *, new_sizes: tuple[int, ...]) -> ShapedArray:
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise TypeError(f"lax.reshape: cannot reshape an array of shape {x.shape} ({x.size} elements) "
                        f"into shape {new_sizes}")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


def _reshape_batch(args: Sequence[Any], dims: Sequence[int | None], *, new_sizes: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis_to_front(args[0], dims[0])
    return reshape_p.bind(x, new_sizes=(aval_of(x).shape[0],) + new_sizes), 0


reshape_p.def_abstract_eval(_reshape_abstract_eval)
reshape_p.def_lowering(lambda ctx, x, *, new_sizes: hlo.ReshapeOp(ir_type(ctx.avals_out[0]), x).result)
deflinear(reshape_p, lambda ct, x, *, new_sizes: [Zero(x.aval) if type(ct) is Zero else reshape(ct, x.aval.shape)])
reshape_p.def_batching(_reshape_batch)


def reshape(x: Any, new_sizes: Sequence[int], dimensions: Sequence[int] | None = None) -> Any:
    """``x`` with shape ``new_sizes`` (row-major); ``dimensions`` first transposes ``x``.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.reshape(jnp.arange(6), (2, 3)).tolist()
    [[0, 1, 2], [3, 4, 5]]
    """
    if dimensions is not None and tuple(dimensions) != tuple(range(aval_of(x).ndim)):
        x = transpose(x, dimensions)
    new_sizes = canonicalize_shape(new_sizes, argname="new_sizes")
    if aval_of(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


# ----------------------------------------------------------------------------------------------
# transpose

transpose_p = Primitive("transpose")


def _transpose_abstract_eval(x: ShapedArray, *, permutation: tuple[int, ...]) -> ShapedArray:
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(f"lax.transpose: permutation {permutation} is not a permutation of the "
                        f"dimensions of an array of shape {x.shape}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


def _transpose_transpose(ct: Any, x: Any, *, permutation: tuple[int, ...]) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval)]
    return [transpose(ct, tuple(np.argsort(permutation)))]


def _transpose_batch(args: Sequence[Any], dims: Sequence[int | None], *, permutation: tuple[int, ...]) -> tuple[Any, int]:
    x, d = args[0], dims[0]
    rest = [i for i in range(aval_of(x).ndim) if i != d]
    perm = (d,) + tuple(rest[p] for p in permutation)
    return transpose_p.bind(x, permutation=perm), 0


transpose_p.def_abstract_eval(_transpose_abstract_eval)
transpose_p.def_lowering(lambda ctx, x, *, permutation: hlo.TransposeOp(x, dense_i64(permutation)).result)
deflinear(transpose_p, _transpose_transpose)
transpose_p.def_batching(_transpose_batch)


def transpose(x: Any, permutation: Sequence[int]) -> Any:
    """``x`` with its dimensions permuted: output dimension i is input dimension ``permutation[i]``.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.transpose(jnp.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    permutation = tuple(operator_index(p) for p in permutation)
    if permutation == tuple(range(len(permutation))) and len(permutation) == aval_of(x).ndim:
        return x
    return transpose_p.bind(x, permutation=permutation)


# ----------------------------------------------------------------------------------------------
# squeeze / expand_dims (reshapes that name their dimensions)

squeeze_p = Primitive("squeeze")


def _squeeze_abstract_eval(x: ShapedArray, *, dimensions: tuple[int, ...]) -> ShapedArray:
    for d in dimensions:
        if not 0 <= d < x.ndim or x.shape[d] != 1:
            raise ValueError(f"lax.squeeze: dimension {d} of an array of shape {x.shape} does not have size 1")
    return ShapedArray(tuple(n for i, n in enumerate(x.shape) if i not in dimensions), x.dtype, x.weak_type)


def _squeeze_batch(args: Sequence[Any], dims: Sequence[int | None], *, dimensions: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis_to_front(args[0], dims[0])
    return squeeze_p.bind(x, dimensions=tuple(d + 1 for d in dimensions)), 0


squeeze_p.def_abstract_eval(_squeeze_abstract_eval)
squeeze_p.def_lowering(lambda ctx, x, *, dimensions: hlo.ReshapeOp(ir_type(ctx.avals_out[0]), x).result)
deflinear(squeeze_p, lambda ct, x, *, dimensions: [Zero(x.aval) if type(ct) is Zero else reshape(ct, x.aval.shape)])
squeeze_p.def_batching(_squeeze_batch)


def squeeze(x: Any, dimensions: Sequence[int]) -> Any:
    """``x`` without the size-1 dimensions listed in ``dimensions``.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.squeeze(jnp.zeros((1, 3, 1)), (0, 2)).shape
    (3,)
    """
    ndim = aval_of(x).ndim
    dims = tuple(sorted({_normalize_axis(d, ndim, "squeeze", "dimension") for d in dimensions}))
    if not dims:
        return x
    return squeeze_p.bind(x, dimensions=dims)


def expand_dims(x: Any, dimensions: Sequence[int]) -> Any:
    """Insert size-1 dimensions at positions ``dimensions`` of the result.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.expand_dims(jnp.zeros((2, 3)), (0, 3)).shape
    (1, 2, 3, 1)
    """
    aval = aval_of(x)
    out_ndim = aval.ndim + len(dimensions)
    dims = sorted(_normalize_axis(d, out_ndim, "expand_dims", "dimension") for d in dimensions)
    shape = list(aval.shape)
    for d in dims:
        shape.insert(d, 1)
    return reshape(x, tuple(shape))


# ----------------------------------------------------------------------------------------------
# rev

rev_p = Primitive("rev")
rev_p.def_abstract_eval(lambda x, *, dimensions: x)
rev_p.def_lowering(lambda ctx, x, *, dimensions: hlo.ReverseOp(x, dense_i64(dimensions)).result)
deflinear(rev_p, lambda ct, x, *, dimensions: [Zero(x.aval) if type(ct) is Zero else rev(ct, dimensions)])


def _rev_batch(args: Sequence[Any], dims: Sequence[int | None], *, dimensions: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis_to_front(args[0], dims[0])
    return rev_p.bind(x, dimensions=tuple(d + 1 for d in dimensions)), 0


rev_p.def_batching(_rev_batch)


def rev(x: Any, dimensions: Sequence[int]) -> Any:
    """``x`` reversed along each dimension in ``dimensions``.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.rev(jnp.array([[1, 2], [3, 4]]), (1,)).tolist()
    [[2, 1], [4, 3]]
    """
    ndim = aval_of(x).ndim
    dims = tuple(sorted({_normalize_axis(d, ndim, "rev", "dimension") for d in dimensions}))
    return x if not dims else rev_p.bind(x, dimensions=dims)


# ----------------------------------------------------------------------------------------------
# slice

slice_p = Primitive("slice")


def _slice_abstract_eval(x: ShapedArray, *, start_indices: tuple[int, ...], limit_indices: tuple[int, ...],
                         strides: tuple[int, ...] | None) -> ShapedArray:
    if len(start_indices) != x.ndim or len(limit_indices) != x.ndim:
        raise TypeError(f"lax.slice: start_indices {start_indices} and limit_indices {limit_indices} need "
                        f"one entry per dimension of the operand shape {x.shape}")
    strides = strides or (1,) * x.ndim
    shape = []
    for d, (lo, hi, st, n) in enumerate(zip(start_indices, limit_indices, strides, x.shape)):
        if not 0 <= lo <= hi <= n or st < 1:
            raise ValueError(f"lax.slice: invalid slice [{lo}:{hi}:{st}] of dimension {d} (size {n}) of "
                             f"an array of shape {x.shape}")
        shape.append(0 if hi == lo else (hi - lo + st - 1) // st)
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


def _slice_transpose(ct: Any, x: Any, *, start_indices: tuple[int, ...], limit_indices: tuple[int, ...],
                     strides: tuple[int, ...] | None) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval)]
    shape = x.aval.shape
    strides = strides or (1,) * len(shape)
    ct_shape = aval_of(ct).shape
    config = []
    for lo, st, n, m in zip(start_indices, strides, shape, ct_shape):
        real_hi = lo + (m - 1) * st + 1 if m else lo
        config.append((lo, n - real_hi, st - 1 if m else 0))
    return [pad(ct, np.zeros((), dtype=x.aval.dtype), config)]


def _slice_batch(args: Sequence[Any], dims: Sequence[int | None], *, start_indices: tuple[int, ...],
                 limit_indices: tuple[int, ...], strides: tuple[int, ...] | None) -> tuple[Any, int]:
    x = moveaxis_to_front(args[0], dims[0])
    size = aval_of(x).shape[0]
    return slice_p.bind(x, start_indices=(0,) + start_indices, limit_indices=(size,) + limit_indices,
                        strides=None if strides is None else (1,) + strides), 0


slice_p.def_abstract_eval(_slice_abstract_eval)
slice_p.def_lowering(lambda ctx, x, *, start_indices, limit_indices, strides: hlo.SliceOp(
    x, dense_i64(start_indices), dense_i64(limit_indices),
    dense_i64(strides or (1,) * len(start_indices))).result)
deflinear(slice_p, _slice_transpose)
slice_p.def_batching(_slice_batch)


def slice(x: Any, start_indices: Sequence[int], limit_indices: Sequence[int],  # noqa: A001 - lax name
          strides: Sequence[int] | None = None) -> Any:
    """The static slice ``x[start:limit:strides]`` per dimension.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.slice(jnp.arange(10), (1,), (8,), (3,)).tolist()   # x[1:8:3]
    [1, 4, 7]
    """
    start = tuple(operator_index(i) for i in start_indices)
    limit = tuple(operator_index(i) for i in limit_indices)
    st = None if strides is None or all(s == 1 for s in strides) else tuple(operator_index(s) for s in strides)
    aval = aval_of(x)
    if start == (0,) * aval.ndim and limit == aval.shape and st is None:
        return x
    return slice_p.bind(x, start_indices=start, limit_indices=limit, strides=st)


def slice_in_dim(x: Any, start_index: int | None, limit_index: int | None, stride: int = 1, axis: int = 0) -> Any:
    aval = aval_of(x)
    axis = _normalize_axis(axis, aval.ndim, "slice_in_dim")
    start = [0] * aval.ndim
    limit = list(aval.shape)
    strides = [1] * aval.ndim
    n = aval.shape[axis]
    lo = 0 if start_index is None else (start_index + n if start_index < 0 else start_index)
    hi = n if limit_index is None else (limit_index + n if limit_index < 0 else limit_index)
    start[axis], limit[axis], strides[axis] = lo, hi, stride
    return slice(x, start, limit, strides)


def index_in_dim(x: Any, index: int, axis: int = 0, keepdims: bool = True) -> Any:
    aval = aval_of(x)
    axis = _normalize_axis(axis, aval.ndim, "index_in_dim")
    n = aval.shape[axis]
    index = index + n if index < 0 else index
    out = slice_in_dim(x, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


# ----------------------------------------------------------------------------------------------
# dynamic_slice / dynamic_update_slice (start indices are arrays; clamped so the slice fits)

dynamic_slice_p = Primitive("dynamic_slice")


def _check_indices(name: str, x: ShapedArray, indices: Sequence[ShapedArray]) -> None:
    if len(indices) != x.ndim:
        raise TypeError(f"lax.{name}: needs {x.ndim} start indices for an operand of shape {x.shape}, "
                        f"got {len(indices)}")
    for i, idx in enumerate(indices):
        if idx.shape or idx.dtype.kind not in "iu":
            raise TypeError(f"lax.{name}: start index {i} must be an integer scalar, got {idx.str_short()}")


def _dynamic_slice_abstract_eval(x: ShapedArray, *indices: ShapedArray, slice_sizes: tuple[int, ...]) -> ShapedArray:
    _check_indices("dynamic_slice", x, indices)
    if len(slice_sizes) != x.ndim or any(not 0 <= s <= n for s, n in zip(slice_sizes, x.shape)):
        raise TypeError(f"lax.dynamic_slice: slice_sizes {slice_sizes} must fit in the operand shape {x.shape}")
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


def _dynamic_slice_lowering(ctx: Any, x: Any, *indices: Any, slice_sizes: tuple[int, ...]) -> Any:
    return hlo.DynamicSliceOp(x, list(indices), dense_i64(slice_sizes)).result


def _dynamic_slice_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, slice_sizes: tuple[int, ...]) -> tuple[Any, Any]:
    x, *indices = primals
    out = dynamic_slice_p.bind(x, *indices, slice_sizes=slice_sizes)
    if type(tangents[0]) is Zero:
        return out, Zero(aval_of(out))
    return out, dynamic_slice_p.bind(tangents[0], *indices, slice_sizes=slice_sizes)


def _dynamic_slice_transpose(ct: Any, x: Any, *indices: Any, slice_sizes: tuple[int, ...]) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval)] + [None] * len(indices)
    zeros = full(x.aval.shape, 0, x.aval.dtype)
    return [dynamic_update_slice_p.bind(zeros, ct, *indices)] + [None] * len(indices)


def _dynamic_slice_batch(args: Sequence[Any], dims: Sequence[int | None], *, slice_sizes: tuple[int, ...]) -> tuple[Any, int]:
    x, *indices = args
    x_dim, *index_dims = dims
    if all(d is None for d in index_dims):
        x = moveaxis_to_front(x, x_dim)
        zero = np.zeros((), aval_of(indices[0]).dtype if indices else np.int32)
        return dynamic_slice_p.bind(x, zero, *indices, slice_sizes=(aval_of(x).shape[0],) + slice_sizes), 0
    from .indexing import batch_dynamic_slice_with_gather
    return batch_dynamic_slice_with_gather(args, dims, slice_sizes)


dynamic_slice_p.def_abstract_eval(_dynamic_slice_abstract_eval)
dynamic_slice_p.def_lowering(_dynamic_slice_lowering)
dynamic_slice_p.def_jvp(_dynamic_slice_jvp)
dynamic_slice_p.def_transpose(_dynamic_slice_transpose)
dynamic_slice_p.def_batching(_dynamic_slice_batch)


def _index_array(i: Any) -> Any:
    if isinstance(i, (int, np.integer)) and not isinstance(i, bool):
        return np.array(i, dtype=np.int32)
    return i


def _canonical_indices(name: str, x: Any, start_indices: Sequence[Any]) -> list[Any]:
    indices = [_index_array(i) for i in start_indices]
    idx_dtypes = {aval_of(i).dtype for i in indices}
    if len(idx_dtypes) > 1:  # XLA wants one index type
        from .elementwise import convert_element_type
        indices = [convert_element_type(i, np.int32) for i in indices]
    return indices


def dynamic_slice(x: Any, start_indices: Sequence[Any], slice_sizes: Sequence[int]) -> Any:
    """``x[start:start+size]`` per dimension with traced start indices, clamped to stay in bounds.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> x = jnp.arange(10)
    >>> lax.dynamic_slice(x, (jnp.int32(3),), (4,)).tolist()   # start may be traced, size is static
    [3, 4, 5, 6]
    >>> lax.dynamic_slice(x, (8,), (4,)).tolist()   # start clamped so the slice fits
    [6, 7, 8, 9]
    """
    return dynamic_slice_p.bind(x, *_canonical_indices("dynamic_slice", x, start_indices),
                                slice_sizes=canonicalize_shape(slice_sizes, argname="slice_sizes"))


dynamic_update_slice_p = Primitive("dynamic_update_slice")


def _dus_abstract_eval(x: ShapedArray, update: ShapedArray, *indices: ShapedArray) -> ShapedArray:
    _check_indices("dynamic_update_slice", x, indices)
    check_same_dtypes("dynamic_update_slice", [x, update])
    if update.ndim != x.ndim or any(u > n for u, n in zip(update.shape, x.shape)):
        raise TypeError(f"lax.dynamic_update_slice: update of shape {update.shape} does not fit in the "
                        f"operand of shape {x.shape}")
    return ShapedArray(x.shape, x.dtype, x.weak_type)


def _dus_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    x, update, *indices = primals
    tx, tu = tangents[0], tangents[1]
    out = dynamic_update_slice_p.bind(x, update, *indices)
    if type(tx) is Zero and type(tu) is Zero:
        return out, Zero(aval_of(out))
    return out, dynamic_update_slice_p.bind(instantiate(tx), instantiate(tu), *indices)


def _dus_transpose(ct: Any, x: Any, update: Any, *indices: Any) -> list[Any]:
    update_aval = update.aval if is_undefined(update) else aval_of(update)
    if type(ct) is Zero:
        return [Zero(x.aval) if is_undefined(x) else None,
                Zero(update_aval) if is_undefined(update) else None] + [None] * len(indices)
    ct_x = ct_update = None
    if is_undefined(x):
        ct_x = dynamic_update_slice_p.bind(ct, full(update_aval.shape, 0, update_aval.dtype), *indices)
    if is_undefined(update):
        ct_update = dynamic_slice_p.bind(ct, *indices, slice_sizes=update_aval.shape)
    return [ct_x, ct_update] + [None] * len(indices)


def _dus_batch(args: Sequence[Any], dims: Sequence[int | None]) -> tuple[Any, int]:
    x, update, *indices = args
    x_dim, u_dim, *index_dims = dims
    if all(d is None for d in index_dims):
        from ..rules import batch_size, broadcast_batched
        size = batch_size(args, dims)
        x = broadcast_batched(x, x_dim, size)
        update = broadcast_batched(update, u_dim, size)
        zero = np.zeros((), aval_of(indices[0]).dtype if indices else np.int32)
        return dynamic_update_slice_p.bind(x, update, zero, *indices), 0
    from .indexing import batch_dynamic_update_slice_with_scatter
    return batch_dynamic_update_slice_with_scatter(args, dims)


dynamic_update_slice_p.def_abstract_eval(_dus_abstract_eval)
dynamic_update_slice_p.def_lowering(
    lambda ctx, x, update, *indices: hlo.DynamicUpdateSliceOp(x, update, list(indices)).result)
dynamic_update_slice_p.def_jvp(_dus_jvp)
dynamic_update_slice_p.def_transpose(_dus_transpose)
dynamic_update_slice_p.def_batching(_dus_batch)


def dynamic_update_slice(x: Any, update: Any, start_indices: Sequence[Any]) -> Any:
    """``x`` with ``update`` written at ``start_indices`` (clamped so the update fits).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.dynamic_update_slice(jnp.zeros(5, jnp.int32), jnp.array([7, 8]), (1,)).tolist()
    [0, 7, 8, 0, 0]
    """
    return dynamic_update_slice_p.bind(x, update, *_canonical_indices("dynamic_update_slice", x, start_indices))


def dynamic_slice_in_dim(x: Any, start_index: Any, slice_size: int, axis: int = 0) -> Any:
    """``dynamic_slice`` along one axis: ``slice_size`` elements from ``start_index`` (which may be traced).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> x = jnp.arange(12).reshape(3, 4)
    >>> lax.dynamic_slice_in_dim(x, 1, 2, axis=1).tolist()
    [[1, 2], [5, 6], [9, 10]]
    """
    aval = aval_of(x)
    axis = _normalize_axis(axis, aval.ndim, "dynamic_slice_in_dim")
    starts: list[Any] = [np.zeros((), np.int32)] * aval.ndim
    starts[axis] = start_index
    sizes = list(aval.shape)
    sizes[axis] = slice_size
    return dynamic_slice(x, starts, sizes)


def dynamic_index_in_dim(x: Any, index: Any, axis: int = 0, keepdims: bool = True) -> Any:
    """The slice at ``index`` (which may be traced) along ``axis``, keeping that axis (size 1) when ``keepdims``.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> x = jnp.arange(12).reshape(3, 4)
    >>> lax.dynamic_index_in_dim(x, 2, axis=0, keepdims=False).tolist()
    [8, 9, 10, 11]
    """
    out = dynamic_slice_in_dim(x, index, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def dynamic_update_slice_in_dim(x: Any, update: Any, start_index: Any, axis: int) -> Any:
    aval = aval_of(x)
    axis = _normalize_axis(axis, aval.ndim, "dynamic_update_slice_in_dim")
    starts: list[Any] = [np.zeros((), np.int32)] * aval.ndim
    starts[axis] = start_index
    return dynamic_update_slice(x, update, starts)


def dynamic_update_index_in_dim(x: Any, update: Any, index: Any, axis: int) -> Any:
    if aval_of(update).ndim == aval_of(x).ndim - 1:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(x, update, index, axis)


# ----------------------------------------------------------------------------------------------
# concatenate

concatenate_p = Primitive("concatenate")


def _concatenate_abstract_eval(*xs: ShapedArray, dimension: int) -> ShapedArray:
    if not xs:
        raise TypeError("lax.concatenate: needs at least one operand")
    check_same_dtypes("concatenate", xs)
    ndim = xs[0].ndim
    for i, x in enumerate(xs):
        if x.ndim != ndim or any(a != b for d, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if d != dimension):
            raise TypeError(f"lax.concatenate: operand {i} has shape {x.shape}, which does not match operand 0's "
                            f"shape {xs[0].shape} outside dimension {dimension}")
    shape = list(xs[0].shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(tuple(shape), xs[0].dtype, all(x.weak_type for x in xs))


def _concatenate_transpose(ct: Any, *xs: Any, dimension: int) -> list[Any]:
    shapes = [x.aval.shape if is_undefined(x) else aval_of(x).shape for x in xs]
    if type(ct) is Zero:
        return [Zero(x.aval) if is_undefined(x) else None for x in xs]
    out = []
    offset = 0
    for x, shape in zip(xs, shapes):
        size = shape[dimension]
        out.append(slice_in_dim(ct, offset, offset + size, 1, dimension) if is_undefined(x) else None)
        offset += size
    return out


def _concatenate_batch(args: Sequence[Any], dims: Sequence[int | None], *, dimension: int) -> tuple[Any, int]:
    from ..rules import batch_size, broadcast_batched
    size = batch_size(args, dims)
    moved = [broadcast_batched(x, d, size) for x, d in zip(args, dims)]
    return concatenate_p.bind(*moved, dimension=dimension + 1), 0


concatenate_p.def_abstract_eval(_concatenate_abstract_eval)
concatenate_p.def_lowering(lambda ctx, *xs, dimension: hlo.ConcatenateOp(
    list(xs), ir.IntegerAttr.get(ir.IntegerType.get_signless(64), dimension)).result)
deflinear(concatenate_p, _concatenate_transpose)
concatenate_p.def_batching(_concatenate_batch)


def concatenate(operands: Sequence[Any], dimension: int) -> Any:
    """The arrays ``operands`` (same dtype, same shape but along ``dimension``) joined along ``dimension``.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.concatenate([jnp.zeros((1, 2)), jnp.ones((2, 2))], dimension=0).tolist()
    [[0.0, 0.0], [1.0, 1.0], [1.0, 1.0]]
    """
    operands = list(operands)
    if not operands:
        raise ValueError("lax.concatenate: needs at least one operand")
    ndim = aval_of(operands[0]).ndim
    dimension = _normalize_axis(dimension, ndim, "concatenate", "dimension")
    if len(operands) == 1:
        return operands[0]
    return concatenate_p.bind(*operands, dimension=dimension)


# ----------------------------------------------------------------------------------------------
# pad

pad_p = Primitive("pad")


def _pad_abstract_eval(x: ShapedArray, padding_value: ShapedArray, *,
                       padding_config: tuple[tuple[int, int, int], ...]) -> ShapedArray:
    if padding_value.shape:
        raise TypeError(f"lax.pad: padding_value must be a scalar, got shape {padding_value.shape}")
    check_same_dtypes("pad", [x, padding_value])
    if len(padding_config) != x.ndim:
        raise TypeError(f"lax.pad: padding_config needs one (low, high, interior) per dimension of {x.shape}")
    shape = []
    for n, (lo, hi, interior) in zip(x.shape, padding_config):
        if interior < 0:
            raise ValueError(f"lax.pad: interior padding must be non-negative, got {interior}")
        size = lo + hi + n + max(n - 1, 0) * interior
        if size < 0:
            raise ValueError(f"lax.pad: padding {padding_config} gives a negative size for shape {x.shape}")
        shape.append(size)
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


def _pad_lowering(ctx: Any, x: Any, value: Any, *, padding_config: tuple[tuple[int, int, int], ...]) -> Any:
    lo, hi, interior = zip(*padding_config) if padding_config else ((), (), ())
    return hlo.PadOp(x, value, dense_i64(lo), dense_i64(hi), dense_i64(interior)).result


def _pad_transpose(ct: Any, x: Any, padding_value: Any, *,
                   padding_config: tuple[tuple[int, int, int], ...]) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval) if is_undefined(x) else None,
                Zero(padding_value.aval) if is_undefined(padding_value) else None]
    from .reductions import reduce_sum
    # undo negative low/high padding with a zero pad, then take every (interior+1)-th element
    lo, hi, interior = zip(*padding_config)
    unpad_config = tuple((-min(l, 0), -min(h, 0), 0) for l, h in zip(lo, hi))
    ct_pos = pad(ct, np.zeros((), aval_of(ct).dtype), unpad_config) if any(
        l < 0 or h < 0 for l, h in zip(lo, hi)) else ct
    shape = aval_of(ct_pos).shape
    starts = [max(l, 0) for l in lo]
    limits = [n - max(h, 0) for n, h in zip(shape, hi)]
    t_x = slice(ct_pos, starts, limits, [i + 1 for i in interior])
    t_x_out = t_x if is_undefined(x) else None
    t_pad = None
    if is_undefined(padding_value):
        from .elementwise import sub
        all_dims = tuple(range(aval_of(ct).ndim))
        t_pad = sub(reduce_sum(ct, all_dims), reduce_sum(t_x, all_dims))
    return [t_x_out, t_pad]


def _pad_batch(args: Sequence[Any], dims: Sequence[int | None], *,
               padding_config: tuple[tuple[int, int, int], ...]) -> tuple[Any, int]:
    x, value = args
    x_dim, v_dim = dims
    if v_dim is not None:
        # a batched padding value: pad with zeros, then select the value into the padding
        from ..rules import batch_size, broadcast_batched
        from .elementwise import select
        size = batch_size(args, dims)
        x = broadcast_batched(x, x_dim, size)
        value = broadcast_batched(value, v_dim, size)
        config = ((0, 0, 0),) + padding_config
        padded = pad_p.bind(x, np.zeros((), aval_of(x).dtype), padding_config=config)
        mask = pad_p.bind(full(aval_of(x).shape, True, np.bool_), np.array(False), padding_config=config)
        out_shape = aval_of(padded).shape
        return select(mask, padded, broadcast_in_dim(value, out_shape, (0,))), 0
    x = moveaxis_to_front(x, x_dim)
    return pad_p.bind(x, value, padding_config=((0, 0, 0),) + padding_config), 0


pad_p.def_abstract_eval(_pad_abstract_eval)
pad_p.def_lowering(_pad_lowering)
deflinear(pad_p, _pad_transpose)
pad_p.def_batching(_pad_batch)


def pad(x: Any, padding_value: Any, padding_config: Sequence[tuple[int, int, int]]) -> Any:
    """Pad ``x`` with (low, high, interior) amounts per dimension; negative low/high crop.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.pad(jnp.array([1, 2]), 0, [(1, 2, 1)]).tolist()   # (low, high, interior)
    [0, 1, 0, 2, 0, 0]
    """
    config = tuple((operator_index(lo), operator_index(hi), operator_index(it)) for lo, hi, it in padding_config)
    if isinstance(padding_value, (int, float, bool, complex)):
        padding_value = np.array(padding_value, aval_of(x).dtype)
    return pad_p.bind(x, padding_value, padding_config=config)


# ----------------------------------------------------------------------------------------------
# iota

iota_p = Primitive("iota")


def _iota_abstract_eval(*, dtype: np.dtype, shape: tuple[int, ...], dimension: int) -> ShapedArray:
    if not 0 <= dimension < len(shape):
        raise ValueError(f"lax.iota: dimension {dimension} is out of range for shape {shape}")
    return ShapedArray(shape, dtype, False)


iota_p.def_abstract_eval(_iota_abstract_eval)
iota_p.def_lowering(lambda ctx, *, dtype, shape, dimension: hlo.IotaOp(
    ir_type(ctx.avals_out[0]), ir.IntegerAttr.get(ir.IntegerType.get_signless(64), dimension)).result)


def iota(dtype: Any, size: int) -> Any:
    """``[0, 1, ..., size-1]`` of ``dtype``.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.iota(jnp.int32, 4).tolist()
    [0, 1, 2, 3]
    """
    return broadcasted_iota(dtype, (operator_index(size),), 0)


def broadcasted_iota(dtype: Any, shape: Sequence[int], dimension: int) -> Any:
    shape = canonicalize_shape(shape)
    return iota_p.bind(dtype=dtypes.canonicalize_dtype(dtype), shape=shape,
                       dimension=_normalize_axis(dimension, len(shape), "broadcasted_iota", "dimension"))


# ----------------------------------------------------------------------------------------------
# copy (an identity the compiler keeps: used for donation and rematerialisation)

copy_p = Primitive("copy")
copy_p.def_abstract_eval(lambda x: x)
copy_p.def_lowering(lambda ctx, x: x)
deflinear(copy_p, lambda ct, x: [ct])
copy_p.def_batching(lambda args, dims: (copy_p.bind(args[0]), dims[0]))


def constant_lowering(value: Any, aval: ShapedArray) -> Any:
    return constant(value, aval)
