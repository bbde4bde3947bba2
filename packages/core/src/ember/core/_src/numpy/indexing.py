"""NumPy indexing: ``x[idx]``, ``x.at[idx].set/add/...``, and the index functions (``take``,
``take_along_axis``, ``put_along_axis``, ``choose``, ``compress``, ``select``...).

``x[idx]`` follows NumPy (and JAX): integers (negative count from the end), slices (any step),
``None``, ``...``, integer arrays (advanced indexing, broadcast together; when separated by a
slice, ``None`` or ``...`` their dimensions go first) and boolean masks (concrete values only).
Out-of-bounds reads are clamped (``.at[idx].get(mode='fill')`` fills instead); out-of-bounds
writes are dropped (``mode='clip'`` clamps).

How it compiles: the index is split into a hashable static description and its array parts,
and one jitted function per description builds the program, so an eager ``x[i]`` is a single
compiled program. Basic indices become ``slice`` / ``dynamic_slice`` / ``rev`` / ``reshape``;
only integer-array indices (or ``mode='fill'``) need a ``gather``. Updates with static in-bounds
basic indices are a ``dynamic_update_slice``; the rest are ``scatter``s.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import ConcretizationError, Tracer, current_trace, eval_trace, operator_index
from ..primitives import elementwise as lax
from ..primitives import indexing as gs
from ..primitives import shape as sh
from .util import aval, broadcast_shapes, check_arraylike, numpy_jit, promote_dtypes

__all__ = [
    "choose",
    "compress",
    "diag_indices",
    "diag_indices_from",
    "extract",
    "fill_diagonal",
    "index_exp",
    "ix_",
    "place",
    "put",
    "put_along_axis",
    "ravel_multi_index",
    "s_",
    "select",
    "take",
    "take_along_axis",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
    "unravel_index",
]

index_exp = np.index_exp
s_ = np.s_

_Mode = Any  # str | GatherScatterMode | None


class NonConcreteBooleanIndexError(IndexError):
    """A boolean mask index whose values are not known (under jit, vmap...)."""


# ----------------------------------------------------------------------------------------------
# Parsing an index into a static description and its arrays
#
# A parsed index is ``(entries, bool_axes, contiguous)``:
#   entries: one per dimension consumed or created, Ellipsis expanded:
#     ("n",)                          None / newaxis
#     ("s", start, stop, step)        a static slice
#     ("i", value)                    a static integer
#     ("a", k, ndim, normalized)      arrays[k], an integer array (0-d: a dynamic scalar index);
#                                     ``normalized``: negative values were already wrapped
#   bool_axes: axes of x to insert (size 1) for scalar boolean indices, each then indexed by
#     the array [0] (True) or [] (False) — exactly NumPy's definition;
#   contiguous: whether the advanced indices are adjacent in the index (NumPy's rule for where
#     their dimensions go).

class _Parsed(NamedTuple):
    entries: tuple
    bool_axes: tuple[int, ...]
    contiguous: bool


def _sequence_error(index: Any) -> TypeError:
    return TypeError(
        "Using a non-tuple sequence for multidimensional indexing is not allowed; use `arr[tuple(seq)]` "
        "for several indices or `arr[ec.numpy.array(seq)]` for an integer-array index "
        f"(got {type(index).__name__} {index!r})")


def _slice_part(value: Any, what: str, index: slice) -> int | None:
    if value is None:
        return None
    try:
        return operator_index(value)
    except ConcretizationError:
        raise IndexError(
            f"Array slice indices must be static (concrete) to be used with NumPy indexing syntax; found "
            f"{index!r} with a traced {what}. To index at a dynamic position, use lax.dynamic_slice / "
            "lax.dynamic_update_slice (slice sizes must be static under jit)") from None
    except TypeError:
        raise TypeError(f"slice indices must be integers or None, got {what} {value!r} in {index!r}") from None


def _concrete_bool(x: Any) -> np.ndarray:
    if isinstance(x, Tracer):
        value = x.to_concrete_value()
        if value is None:
            raise NonConcreteBooleanIndexError(
                f"Array boolean indices must be concrete; got a traced mask {x.aval.str_short()}. A boolean "
                "mask selects a data-dependent number of elements, which jit cannot compile. Use "
                "ec.numpy.where(mask, x, fill) to keep the shape, x.at[...] with integer indices, or functions "
                "taking a static size= (ec.numpy.nonzero(mask, size=n), extract(..., size=n)).")
        return np.asarray(value)
    return np.asarray(x)


def _as_index_array(item: Any) -> Any:
    """Lists / tuples inside an index become arrays (NumPy does the same)."""
    if any(isinstance(e, (Tracer, Array)) for e in np.ravel(np.asarray(item, dtype=object))):
        from .creation import array
        return array(item)
    host = np.asarray(item)
    if host.size == 0:
        host = host.astype(np.int32)
    return host


def _classify(item: Any, arrays: list[Any]) -> list[tuple]:
    """Raw entries for one index item (before Ellipsis expansion)."""
    if item is None:
        return [("n",)]
    if item is Ellipsis:
        return [("e",)]
    if isinstance(item, slice):
        return [("s", _slice_part(item.start, "start", item), _slice_part(item.stop, "stop", item),
                 _slice_part(item.step, "step", item))]
    if isinstance(item, (bool, np.bool_)):
        return [("b", bool(item))]
    if isinstance(item, (int, np.integer)):
        return [("i", int(item))]
    if isinstance(item, str):
        raise TypeError(f"ember does not support string indexing; got index {item!r}")
    if isinstance(item, (list, tuple)):
        item = _as_index_array(item)
    if isinstance(item, (Array, Tracer, np.ndarray)):
        dtype = aval(item).dtype if not isinstance(item, np.ndarray) else item.dtype
        if dtype == np.bool_:
            mask = _concrete_bool(item)
            if mask.ndim == 0:
                return [("b", bool(mask))]
            return [("m", mask)]
        if dtype.kind not in "iu":
            raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {dtype}")
        if isinstance(item, np.ndarray) and item.ndim == 0:
            return [("i", int(item))]
        arrays.append(item)
        return [("a", len(arrays) - 1, np.ndim(item) if isinstance(item, np.ndarray) else aval(item).ndim, False)]
    if isinstance(item, (float, complex, np.floating, np.complexfloating)):
        raise TypeError(f"Indexer must have integer or boolean type, got indexer with type {np.dtype(type(item))}")
    raise IndexError("only integers, slices (`:`), ellipsis (`...`), newaxis (`None`) and integer or boolean "
                     f"arrays are valid indices; got {item!r} of type {type(item).__name__}")


def _parse_index(shape: tuple[int, ...], index: Any, *, dynamic_ints: bool, normalize: bool = True
                 ) -> tuple[_Parsed, list[Any]]:
    if not isinstance(index, tuple):
        if isinstance(index, list):
            raise _sequence_error(index)
        index = (index,)
    arrays: list[Any] = []
    raw: list[tuple] = []
    for item in index:
        raw.extend(_classify(item, arrays))
    if sum(1 for e in raw if e[0] == "e") > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(e[1].ndim if e[0] == "m" else (0 if e[0] in "nbe" else 1) for e in raw)
    ndim = len(shape)
    if consumed > ndim:
        raise IndexError(f"Too many indices: array is {ndim}-dimensional, but {consumed} were indexed")

    # boolean masks -> integer arrays (their nonzero positions); scalar booleans -> new axes
    expanded: list[tuple] = []
    bool_axes: list[int] = []
    axis = 0  # axis of the original x
    for e in raw:
        kind = e[0]
        if kind == "e":
            expanded.append(e)
            axis += ndim - consumed
        elif kind == "m":
            mask = e[1]
            dims = shape[axis:axis + mask.ndim]
            if mask.shape != tuple(dims):
                raise IndexError(f"boolean index did not match shape of indexed array in index {len(expanded)}: "
                                 f"got {mask.shape}, expected {tuple(dims)}")
            for positions in np.nonzero(mask):
                arrays.append(positions.astype(np.int32 if mask.size < 2**31 else np.int64))
                expanded.append(("a", len(arrays) - 1, 1, True))
            axis += mask.ndim
        elif kind == "b":
            bool_axes.append(axis + len(bool_axes))
            arrays.append(np.zeros((1 if e[1] else 0,), np.int32))
            expanded.append(("a", len(arrays) - 1, 1, True))
        else:
            expanded.append(e)
            if kind != "n":
                axis += 1

    advanced = any(e[0] == "a" and e[2] > 0 for e in expanded)
    adv_positions = [p for p, e in enumerate(expanded) if advanced and e[0] in "ai"]
    contiguous = all(b - a == 1 for a, b in zip(adv_positions, adv_positions[1:]))

    # expand the Ellipsis (and fill trailing dimensions) with full slices
    full_ndim = ndim + len(bool_axes)
    n_consumed = sum(1 for e in expanded if e[0] in "sia")
    fill = [("s", None, None, None)] * (full_ndim - n_consumed)
    if any(e[0] == "e" for e in expanded):
        at = next(p for p, e in enumerate(expanded) if e[0] == "e")
        entries = expanded[:at] + fill + expanded[at + 1:]
    else:
        entries = expanded + fill

    # eagerly, static integers travel as arguments, so x[0], x[1], ... share one compiled program
    shape_full = list(shape)
    for a in bool_axes:
        shape_full.insert(a, 1)
    axis = 0
    for p, e in enumerate(entries):
        if e[0] == "n":
            continue
        if e[0] == "i":
            n = shape_full[axis]
            if n == 0:
                raise IndexError(f"index {e[1]} is out of bounds for axis {axis} with size 0")
            if dynamic_ints:
                value = e[1] + n if (normalize and e[1] < 0) else e[1]
                if -2**31 <= value < 2**31:
                    arrays.append(np.int32(value))
                    entries[p] = ("a", len(arrays) - 1, 0, True)
        elif e[0] == "a" and e[2] == 0 and shape_full[axis] == 0:
            raise IndexError(f"index is out of bounds for axis {axis} with size 0")
        axis += 1
    return _Parsed(tuple(entries), tuple(bool_axes), contiguous), arrays


def _static_fill_value(fill_value: Any, what: str) -> Any:
    """A hashable Python scalar (it keys the compiled program; NaN is made one object so it matches)."""
    if fill_value is None:
        return None
    if isinstance(fill_value, Tracer):
        raise ConcretizationError(fill_value, f"the fill_value of {what} must be a static scalar")
    value = np.asarray(fill_value)
    if value.ndim:
        raise ValueError(f"the fill_value of {what} must be a scalar, got shape {value.shape}")
    value = value.item()
    return np.nan if isinstance(value, float) and value != value else value


def _parse_mode(mode: _Mode) -> gs.GatherScatterMode | None:
    return None if mode is None else gs.GatherScatterMode.from_any(mode)


def _is_eager() -> bool:
    return current_trace() is eval_trace


# ----------------------------------------------------------------------------------------------
# Reading: x[idx]

def _getitem(x: Any, index: Any) -> Any:
    """``x[index]`` with NumPy semantics (out-of-bounds integer indices are clamped).

    >>> import ember.core.numpy as jnp
    >>> x = jnp.arange(12).reshape(3, 4)
    >>> x[1, ::-2].tolist()
    [7, 5]
    >>> x[jnp.array([0, 2]), 1:3].tolist()
    [[1, 2], [9, 10]]
    """
    return _rewriting_take(x, index)


def _rewriting_take(x: Any, index: Any, *, mode: _Mode = None, fill_value: Any = None,
                    indices_are_sorted: bool = False, unique_indices: bool = False,
                    normalize: bool = True) -> Any:
    if not isinstance(x, (Array, Tracer)):
        from .creation import asarray
        x = asarray(x)
    parsed, arrays = _parse_index(aval(x).shape, index, dynamic_ints=_is_eager(), normalize=normalize)
    fill_value = _static_fill_value(fill_value, "indexed get()")
    if not arrays and all(e == ("s", None, None, None) for e in parsed.entries):
        return x  # x[...], x[:], x[()]
    return _take_impl(x, arrays, spec=parsed, mode=_parse_mode(mode), fill_value=fill_value,
                      indices_are_sorted=bool(indices_are_sorted), unique_indices=bool(unique_indices),
                      normalize=bool(normalize))


@numpy_jit(static_argnames=("spec", "mode", "fill_value", "indices_are_sorted", "unique_indices", "normalize"))
def _take_impl(x: Any, arrays: list[Any], *, spec: _Parsed, mode: Any, fill_value: Any,
               indices_are_sorted: bool, unique_indices: bool, normalize: bool) -> Any:
    if spec.bool_axes:
        x = sh.expand_dims(x, spec.bool_axes)
    advanced = any(e[0] == "a" and e[2] > 0 for e in spec.entries)
    slicing_mode = mode in (None, gs.GatherScatterMode.PROMISE_IN_BOUNDS, gs.GatherScatterMode.CLIP)
    if not advanced and slicing_mode:
        return _basic_take(x, spec.entries, arrays, normalize)
    ix = _index_to_gather(aval(x).shape, spec, arrays, normalize)
    if any(d == 0 for d in ix.slice_shape):
        return sh.full(ix.slice_shape, 0, aval(x).dtype)
    y = x
    if aval(ix.gather_indices).size:
        y = gs.gather(y, ix.gather_indices, ix.dnums, ix.gather_slice_shape, mode=mode, fill_value=fill_value,
                      unique_indices=unique_indices or ix.unique_indices,
                      indices_are_sorted=indices_are_sorted or ix.indices_are_sorted)
    if ix.reversed_y_dims:
        y = sh.rev(y, ix.reversed_y_dims)
    return sh.expand_dims(y, ix.newaxis_dims) if ix.newaxis_dims else y


def _static_slice_bounds(s: tuple, n: int) -> tuple[int, int, int, bool]:
    """(start, limit, stride, reversed) of a static slice as a forward ``lax.slice``."""
    start, stop, step = slice(s[1], s[2], s[3]).indices(n)
    if step < 0:
        first = min(n, stop + 1 + abs(start - stop - 1) % -step)
        return first, max(first, start + 1), -step, True
    return start, max(start, stop), step, False


def _normalize_dynamic(i: Any, n: int) -> Any:
    """Negative indices count from the end (unsigned indices cannot be negative)."""
    dtype = aval(i).dtype
    if dtype.kind == "u":
        return i
    if n > np.iinfo(dtype).max:  # e.g. int8 indices into a long axis: widen before adding n
        dtype = np.dtype(np.int32) if n < 2**31 - 1 else np.dtype(np.int64)
        i = lax.convert_element_type(i, dtype)
    return lax.select(lax.lt(i, np.zeros((), dtype)), lax.add(i, np.array(n, dtype)), i)


def _index_dtype(shape: Sequence[int]) -> np.dtype:
    return np.dtype(np.int64) if max(shape, default=0) >= 2**31 - 1 else np.dtype(np.int32)


def _basic_take(x: Any, entries: tuple, arrays: list[Any], normalize: bool) -> Any:
    """Integers, slices, None and dynamic scalar indices: slice, dynamic_slice, rev, reshape."""
    shape = aval(x).shape
    starts, limits, strides = [], [], []
    rev_axes, squeeze_axes, newaxis_dims = [], [], []
    dynamic: dict[int, Any] = {}
    axis = 0
    for e in entries:
        if e[0] == "n":
            newaxis_dims.append(axis - len(squeeze_axes) + len(newaxis_dims))
            continue
        n = shape[axis]
        if e[0] == "s":
            lo, hi, st, reverse = _static_slice_bounds(e, n)
            starts.append(lo), limits.append(hi), strides.append(st)
            if reverse:
                rev_axes.append(axis)
        elif e[0] == "i":
            i = e[1] + n if (normalize and e[1] < 0) else e[1]
            i = min(max(i, 0), n - 1)
            starts.append(i), limits.append(i + 1), strides.append(1)
            squeeze_axes.append(axis)
        else:  # a dynamic scalar index: take the whole axis now, dynamic_slice it below
            i = arrays[e[1]]
            dynamic[axis] = i if (e[3] or not normalize) else _normalize_dynamic(i, n)
            starts.append(0), limits.append(n), strides.append(1)
            squeeze_axes.append(axis)
        axis += 1
    y = sh.slice(x, starts, limits, strides)
    if dynamic:
        y_shape = aval(y).shape
        kinds = {aval(i).dtype for i in dynamic.values()}
        dt = np.dtype(np.int64) if any(k.itemsize > 4 for k in kinds) else np.dtype(np.int32)
        start_indices = [lax.convert_element_type(dynamic[a], dt) if a in dynamic else np.zeros((), dt)
                         for a in range(len(y_shape))]
        sizes = [1 if a in dynamic else y_shape[a] for a in range(len(y_shape))]
        y = sh.dynamic_slice(y, start_indices, sizes)
    if rev_axes:
        y = sh.rev(y, rev_axes)
    if squeeze_axes:
        y = sh.squeeze(y, squeeze_axes)
    if newaxis_dims:
        y = sh.expand_dims(y, newaxis_dims)
    return y


class _GatherIndexer(NamedTuple):
    slice_shape: tuple[int, ...]        # the shape of x[idx]
    gather_slice_shape: tuple[int, ...]
    gather_indices: Any
    dnums: gs.GatherDimensionNumbers
    unique_indices: bool
    indices_are_sorted: bool
    reversed_y_dims: tuple[int, ...]    # dimensions of slices with negative steps: reversed after
    newaxis_dims: tuple[int, ...]       # dimensions made by None: inserted after the gather


def _index_to_gather(shape: tuple[int, ...], spec: _Parsed, arrays: list[Any], normalize: bool) -> _GatherIndexer:
    """Express x[idx] as one gather (shared by reads and, transposed, by writes)."""
    entries = spec.entries
    index_dtype = _index_dtype(shape)
    advanced = any(e[0] == "a" and e[2] > 0 for e in entries)
    adv_positions: list[int] = []
    adv_axes: list[int] = []
    adv_values: list[Any] = []
    axis = 0
    for p, e in enumerate(entries):
        if e[0] == "n":
            continue
        if advanced and e[0] in "ai":
            adv_positions.append(p)
            adv_axes.append(axis)
            adv_values.append(_scalar_or_array_index(e, arrays, shape[axis], normalize, index_dtype))
        axis += 1

    offset_dims: list[int] = []
    collapsed: list[int] = []
    start_index_map: list[int] = []
    gather_indices: list[tuple[Any, int]] = []  # (array, first batch dimension it spans)
    batch_shape: list[int] = []
    slice_shape: list[int] = []
    newaxis_dims: list[int] = []
    reversed_y_dims: list[int] = []
    gather_slice_shape: list[int] = []
    x_axis = y_axis = collapsed_y_axis = 0
    first = (adv_positions[0] if spec.contiguous else 0) if adv_positions else -1
    for p, e in enumerate(entries):
        if p == first:  # all advanced indices, broadcast together, contribute their dimensions here
            bshape = broadcast_shapes(*[aval(v).shape for v in adv_values])
            start = len(batch_shape)
            gather_indices += [(sh.broadcast_in_dim(v, bshape, tuple(range(len(bshape) - aval(v).ndim, len(bshape))))
                                if aval(v).shape != bshape else v, start) for v in adv_values]
            batch_shape += bshape
            start_index_map += adv_axes
            collapsed += adv_axes
            slice_shape += bshape
            y_axis += len(bshape)
            collapsed_y_axis += len(bshape)
        if p in adv_positions:
            x_axis += 1
            gather_slice_shape.append(1)
            continue
        kind = e[0]
        if kind == "n":
            slice_shape.append(1)
            newaxis_dims.append(y_axis)
            y_axis += 1
        elif kind in "ia":  # a scalar index (no advanced indexing)
            value = _scalar_or_array_index(e, arrays, shape[x_axis], normalize, index_dtype)
            gather_indices.append((value, len(batch_shape)))
            collapsed.append(x_axis)
            start_index_map.append(x_axis)
            gather_slice_shape.append(1)
            x_axis += 1
        else:
            n = shape[x_axis]
            start, stop, step = slice(e[1], e[2], e[3]).indices(n)
            size = len(range(start, stop, step))
            slice_shape.append(size)
            if step == 1:
                if size != n:
                    gather_indices.append((np.array(start, index_dtype), len(batch_shape)))
                    start_index_map.append(x_axis)
                gather_slice_shape.append(size)
                offset_dims.append(collapsed_y_axis)
            else:
                positions = np.arange(start, stop, step, dtype=index_dtype)
                if step < 0:
                    reversed_y_dims.append(collapsed_y_axis)
                    positions = positions[::-1].copy()
                gather_indices.append((positions, len(batch_shape)))
                batch_shape.append(size)
                start_index_map.append(x_axis)
                collapsed.append(x_axis)
                gather_slice_shape.append(1)
            collapsed_y_axis += 1
            y_axis += 1
            x_axis += 1

    if not gather_indices:
        indices: Any = np.zeros((0,), index_dtype)
    elif len(gather_indices) == 1:
        g = gather_indices[0][0]
        indices = np.expand_dims(g, -1) if isinstance(g, np.ndarray) else sh.expand_dims(g, (aval(g).ndim,))
    else:  # broadcast each to the batch shape (aligned at its first dimension) and stack them
        full_shape = tuple(batch_shape) + (1,)
        indices = sh.concatenate([sh.broadcast_in_dim(g, full_shape, tuple(range(i, i + aval(g).ndim)))
                                  for g, i in gather_indices], len(batch_shape))
    dnums = gs.GatherDimensionNumbers(offset_dims=tuple(offset_dims), collapsed_slice_dims=tuple(sorted(collapsed)),
                                      start_index_map=tuple(start_index_map))
    return _GatherIndexer(tuple(slice_shape), tuple(gather_slice_shape), indices, dnums,
                          not adv_values, not adv_values, tuple(reversed_y_dims), tuple(newaxis_dims))


def _scalar_or_array_index(e: tuple, arrays: list[Any], n: int, normalize: bool, dtype: np.dtype) -> Any:
    if e[0] == "i":
        value = e[1] + n if (normalize and e[1] < 0) else e[1]
        return np.array(value, dtype)
    value = arrays[e[1]]
    if normalize and not e[3]:
        value = _normalize_dynamic(value, n)
    return lax.convert_element_type(value, dtype)


# ----------------------------------------------------------------------------------------------
# Writing: x.at[idx].set(y) and friends

_scatter_ops: dict[str, Callable[..., Any]] = {
    "set": gs.scatter, "add": gs.scatter_add, "subtract": gs.scatter_sub, "multiply": gs.scatter_mul,
    "min": gs.scatter_min, "max": gs.scatter_max,
}


def _scatter_update(x: Any, index: Any, y: Any, op: str, *, mode: _Mode = None, indices_are_sorted: bool = False,
                    unique_indices: bool = False, normalize: bool = True, apply_fn: Any = None) -> Any:
    from .creation import asarray
    x = asarray(x)
    x_dtype = aval(x).dtype
    if isinstance(y, int) and not isinstance(y, bool) and x_dtype.kind in "iu":
        info = np.iinfo(x_dtype)
        if info.min <= y <= info.max:
            y = np.array(y, x_dtype)
    elif isinstance(y, (list, tuple)):
        y = asarray(y)
    check_arraylike(f"x.at[...].{op}", y)
    parsed, arrays = _parse_index(aval(x).shape, index, dynamic_ints=_is_eager(), normalize=normalize)
    return _scatter_impl(x, y, arrays, spec=parsed, op=op, mode=_parse_mode(mode),
                         indices_are_sorted=bool(indices_are_sorted), unique_indices=bool(unique_indices),
                         normalize=bool(normalize), apply_fn=apply_fn)


def _broadcast_update(y: Any, shape: tuple[int, ...]) -> Any:
    y_shape = aval(y).shape
    if y_shape == shape:
        return y
    ok = len(y_shape) <= len(shape) and all(a in (1, b) for a, b in zip(y_shape[::-1], shape[::-1]))
    if not ok:
        raise ValueError(f"x.at[...]: the update of shape {y_shape} cannot be broadcast to the shape of the "
                         f"indexed selection {shape}")
    return sh.broadcast_in_dim(y, shape, tuple(range(len(shape) - len(y_shape), len(shape))))


@numpy_jit(static_argnames=("spec", "op", "mode", "indices_are_sorted", "unique_indices", "normalize", "apply_fn"))
def _scatter_impl(x: Any, y: Any, arrays: list[Any], *, spec: _Parsed, op: str, mode: Any,
                  indices_are_sorted: bool, unique_indices: bool, normalize: bool, apply_fn: Any) -> Any:
    x_aval = aval(x)
    dtype, weak = x_aval.dtype, x_aval.weak_type
    if op != "apply":
        fast = _update_in_place(x, y, spec, op, normalize)
        if fast is not None:
            return lax.convert_element_type(fast, dtype, weak)
    operand = sh.expand_dims(x, spec.bool_axes) if spec.bool_axes else x
    ix = _index_to_gather(aval(operand).shape, spec, arrays, normalize)
    if any(d == 0 for d in ix.slice_shape):
        return x
    dnums = gs.ScatterDimensionNumbers(update_window_dims=ix.dnums.offset_dims,
                                       inserted_window_dims=ix.dnums.collapsed_slice_dims,
                                       scatter_dims_to_operand_dims=ix.dnums.start_index_map)
    flags = dict(indices_are_sorted=indices_are_sorted or ix.indices_are_sorted,
                 unique_indices=unique_indices or ix.unique_indices, mode=mode)
    window_shape = tuple(d for i, d in enumerate(ix.slice_shape) if i not in ix.newaxis_dims)
    if op == "apply":
        out = gs.scatter_apply(operand, ix.gather_indices, apply_fn, dnums, update_shape=window_shape, **flags)
    else:
        operand, y = promote_dtypes(operand, y)
        y = _broadcast_update(y, ix.slice_shape)
        if ix.newaxis_dims:
            y = sh.squeeze(y, ix.newaxis_dims)
        if ix.reversed_y_dims:
            y = sh.rev(y, ix.reversed_y_dims)
        out = _scatter_ops[op](operand, ix.gather_indices, y, dnums, **flags)
    if spec.bool_axes:
        out = sh.squeeze(out, spec.bool_axes)
    return lax.convert_element_type(out, dtype, weak)


def _combine(op: str, current: Any, update: Any) -> Any:
    if aval(current).dtype == np.bool_ and op in ("add", "multiply"):
        return (lax.bitwise_or if op == "add" else lax.bitwise_and)(current, update)
    ops = {"add": lax.add, "subtract": lax.sub, "multiply": lax.mul, "min": lax.min, "max": lax.max}
    return ops[op](current, update)


def _update_in_place(x: Any, y: Any, spec: _Parsed, op: str, normalize: bool) -> Any:
    """Static, in-bounds basic indices (ints, unit-step slices, None): a dynamic_update_slice of
    the window, or None when the index is not of that kind."""
    if spec.bool_axes:
        return None
    shape = aval(x).shape
    starts, sizes, window_shape, squeezed = [], [], [], []
    newaxis = []
    axis = 0
    for e in spec.entries:
        if e[0] == "n":
            newaxis.append(len(window_shape) + len(newaxis))
            continue
        n = shape[axis]
        if e[0] == "s":
            start, stop, step = slice(e[1], e[2], e[3]).indices(n)
            if step != 1:
                return None
            size = max(stop - start, 0)
            starts.append(start), sizes.append(size), window_shape.append(size)
        elif e[0] == "i":
            i = e[1] + n if (normalize and e[1] < 0) else e[1]
            if not 0 <= i < n:
                return None  # out of bounds: dropped, as the scatter does
            starts.append(i), sizes.append(1)
            squeezed.append(axis)
        else:
            return None
        axis += 1
    if any(s == 0 for s in sizes):
        return x
    x, y = promote_dtypes(x, y)
    selection_shape = list(window_shape)
    for d in newaxis:
        selection_shape.insert(d, 1)
    y = _broadcast_update(y, tuple(selection_shape))
    y = sh.reshape(y, tuple(sizes))  # drop the None dimensions, restore the integer-indexed ones
    if op != "set":
        current = sh.slice(x, starts, [s + n for s, n in zip(starts, sizes)])
        y = _combine(op, current, y)
    if tuple(sizes) == aval(x).shape:
        return y
    return sh.dynamic_update_slice(x, y, [np.int32(s) for s in starts])


class _IndexUpdateHelper:
    """``x.at``: indexed functional updates, ``x.at[idx].set(y)`` etc. (NumPy's ``x[idx] = y``
    without mutation).

    >>> import ember.core.numpy as jnp
    >>> jnp.zeros(4).at[1].set(2.0).tolist()
    [0.0, 2.0, 0.0, 0.0]
    >>> jnp.zeros(3).at[jnp.array([0, 0, 2])].add(1.0).tolist()
    [2.0, 0.0, 1.0]
    """

    __slots__ = ("array",)

    def __init__(self, array: Any) -> None:
        self.array = array

    def __getitem__(self, index: Any) -> "_IndexUpdateRef":
        return _IndexUpdateRef(self.array, index)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.array!r})"


class _IndexUpdateRef:
    """``x.at[idx]``: call ``get``, ``set``, ``add``, ``subtract``, ``multiply``/``mul``, ``divide``,
    ``power``, ``min``, ``max`` or ``apply``. Out-of-bounds updates are dropped unless
    ``mode='clip'``; ``unique_indices`` / ``indices_are_sorted`` are promises that may speed up
    the program."""

    __slots__ = ("array", "index")

    def __init__(self, array: Any, index: Any) -> None:
        self.array = array
        self.index = index

    def __repr__(self) -> str:
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def get(self, *, indices_are_sorted: bool = False, unique_indices: bool = False, mode: _Mode = None,
            fill_value: Any = None, wrap_negative_indices: bool = True) -> Any:
        """``x[idx]``; ``mode='fill'`` returns ``fill_value`` (default NaN / lowest int) out of bounds."""
        return _rewriting_take(self.array, self.index, mode=mode, fill_value=fill_value,
                               indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                               normalize=wrap_negative_indices)

    def _update(self, values: Any, op: str, indices_are_sorted: bool, unique_indices: bool, mode: _Mode,
                wrap_negative_indices: bool) -> Any:
        return _scatter_update(self.array, self.index, values, op, mode=mode, indices_are_sorted=indices_are_sorted,
                               unique_indices=unique_indices, normalize=wrap_negative_indices)

    def set(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False, mode: _Mode = None,
            wrap_negative_indices: bool = True) -> Any:
        """``x[idx] = values``."""
        return self._update(values, "set", indices_are_sorted, unique_indices, mode, wrap_negative_indices)

    def add(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False, mode: _Mode = None,
            wrap_negative_indices: bool = True) -> Any:
        """``x[idx] += values`` (repeated indices accumulate)."""
        return self._update(values, "add", indices_are_sorted, unique_indices, mode, wrap_negative_indices)

    def subtract(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False,
                 mode: _Mode = None, wrap_negative_indices: bool = True) -> Any:
        """``x[idx] -= values``."""
        return self._update(values, "subtract", indices_are_sorted, unique_indices, mode, wrap_negative_indices)

    def multiply(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False,
                 mode: _Mode = None, wrap_negative_indices: bool = True) -> Any:
        """``x[idx] *= values``."""
        return self._update(values, "multiply", indices_are_sorted, unique_indices, mode, wrap_negative_indices)

    mul = multiply

    def divide(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False,
               mode: _Mode = None, wrap_negative_indices: bool = True) -> Any:
        """``x[idx] /= values``."""
        from .creation import ones_like
        from .ufuncs import divide
        factors = _scatter_update(ones_like(self.array), self.index, values, "multiply", mode=mode,
                                  indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                                  normalize=wrap_negative_indices)
        return divide(self.array, factors)

    def power(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False,
              mode: _Mode = None, wrap_negative_indices: bool = True) -> Any:
        """``x[idx] **= values``."""
        from .creation import ones_like
        from .ufuncs import power
        exponents = _scatter_update(ones_like(self.array), self.index, values, "multiply", mode=mode,
                                    indices_are_sorted=indices_are_sorted, unique_indices=unique_indices,
                                    normalize=wrap_negative_indices)
        return power(self.array, exponents)

    def min(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False, mode: _Mode = None,
            wrap_negative_indices: bool = True) -> Any:
        """``x[idx] = minimum(x[idx], values)``."""
        return self._update(values, "min", indices_are_sorted, unique_indices, mode, wrap_negative_indices)

    def max(self, values: Any, *, indices_are_sorted: bool = False, unique_indices: bool = False, mode: _Mode = None,
            wrap_negative_indices: bool = True) -> Any:
        """``x[idx] = maximum(x[idx], values)``."""
        return self._update(values, "max", indices_are_sorted, unique_indices, mode, wrap_negative_indices)

    def apply(self, func: Callable[[Any], Any], *, indices_are_sorted: bool = False, unique_indices: bool = False,
              mode: _Mode = None, wrap_negative_indices: bool = True) -> Any:
        """``x[idx] = func(x[idx])`` for a unary elementwise ``func`` (applied once per occurrence
        of an index, like ``numpy.ufunc.at``)."""
        return _scatter_update(self.array, self.index, 0, "apply", mode=mode, indices_are_sorted=indices_are_sorted,
                               unique_indices=unique_indices, normalize=wrap_negative_indices, apply_fn=func)


# ----------------------------------------------------------------------------------------------
# take / take_along_axis / put_along_axis

def _asarray(x: Any) -> Any:
    from .creation import asarray
    return asarray(x)


def _canonical_axis(axis: int, ndim: int, name: str) -> int:
    axis = operator_index(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise ValueError(f"{name}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % max(ndim, 1)


def _ravel(x: Any) -> Any:
    return sh.reshape(x, (aval(x).size,))


def take(a: Any, indices: Any, axis: int | None = None, out: None = None, mode: str | None = None,
         unique_indices: bool = False, indices_are_sorted: bool = False, fill_value: Any = None) -> Any:
    """Elements of ``a`` at ``indices`` along ``axis`` (the flattened ``a`` when None).

    ``mode``: ``'fill'`` (the default: out-of-bounds indices give ``fill_value``, NaN for floats),
    ``'clip'`` or ``'wrap'``. Negative indices count from the end except with ``'clip'``.

    >>> import ember.core.numpy as jnp
    >>> jnp.take(jnp.array([10, 20, 30]), jnp.array([2, 0])).tolist()
    [30, 10]
    """
    if out is not None:
        raise NotImplementedError("take: the 'out' argument is not supported (arrays are immutable)")
    check_arraylike("take", a, indices)
    fill_value = _static_fill_value(fill_value, "take")
    return _take(_asarray(a), _asarray(indices), axis=axis, mode=mode, unique_indices=bool(unique_indices),
                 indices_are_sorted=bool(indices_are_sorted), fill_value=fill_value)


@numpy_jit(static_argnames=("axis", "mode", "unique_indices", "indices_are_sorted", "fill_value"))
def _take(a: Any, indices: Any, *, axis: int | None, mode: str | None, unique_indices: bool,
          indices_are_sorted: bool, fill_value: Any) -> Any:
    if axis is None:
        a = _ravel(a)
        axis = 0
    a_aval, i_aval = aval(a), aval(indices)
    if i_aval.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, got {i_aval.dtype.name}")
    axis = _canonical_axis(axis, a_aval.ndim, "take")
    n = a_aval.shape[axis]
    if i_aval.dtype.itemsize < 4:  # narrow indices cannot hold the axis size
        indices = lax.convert_element_type(indices, np.int32)
        i_aval = aval(indices)
    if mode is None or mode == "fill":
        gather_mode = gs.GatherScatterMode.FILL_OR_DROP
        indices = _normalize_dynamic(indices, n)
    elif mode == "clip":
        gather_mode = gs.GatherScatterMode.CLIP
    elif mode == "wrap":
        gather_mode = gs.GatherScatterMode.PROMISE_IN_BOUNDS
        from .ufuncs import remainder
        indices = remainder(indices, np.array(n, i_aval.dtype)) if n else indices
    elif mode == "raise":
        raise NotImplementedError("take: mode='raise' is not supported (indices are not checked on device); "
                                  "use 'fill', 'clip' or 'wrap'")
    else:
        raise ValueError(f"take: invalid mode {mode!r}; expected 'fill', 'clip' or 'wrap'")
    slice_sizes = list(a_aval.shape)
    if n == 0:
        if i_aval.size:
            raise IndexError("take: cannot take a non-empty selection from an empty axis")
        return a
    out_shape = a_aval.shape[:axis] + i_aval.shape + a_aval.shape[axis + 1:]
    if i_aval.size == 0:
        return sh.full(out_shape, 0, a_aval.dtype)
    slice_sizes[axis] = 1
    k = i_aval.ndim
    dnums = gs.GatherDimensionNumbers(
        offset_dims=tuple(range(axis)) + tuple(range(axis + k, a_aval.ndim + k - 1)),
        collapsed_slice_dims=(axis,), start_index_map=(axis,))
    return gs.gather(a, sh.expand_dims(indices, (k,)), dnums, slice_sizes, mode=gather_mode, fill_value=fill_value,
                     unique_indices=unique_indices, indices_are_sorted=indices_are_sorted)


def take_along_axis(arr: Any, indices: Any, axis: int | None = -1, mode: _Mode = None, fill_value: Any = None, *,
                    wrap_negative_indices: bool | None = None) -> Any:
    """``arr`` indexed by ``indices`` along ``axis``, matching the other dimensions (broadcast).

    Out-of-bounds indices give ``fill_value`` (``mode='fill'``, the default) or are clamped
    (``mode='clip'``).

    >>> import ember.core.numpy as jnp
    >>> x = jnp.array([[3, 1, 2], [6, 5, 4]])
    >>> jnp.take_along_axis(x, jnp.array([[1], [2]]), axis=1).tolist()
    [[1], [4]]
    """
    check_arraylike("take_along_axis", arr, indices)
    fill_value = _static_fill_value(fill_value, "take_along_axis")
    return _take_along_axis(_asarray(arr), _asarray(indices), axis=axis, mode=mode, fill_value=fill_value,
                            wrap_negative_indices=wrap_negative_indices)


@numpy_jit(static_argnames=("axis", "mode", "fill_value", "wrap_negative_indices"))
def _take_along_axis(a: Any, indices: Any, *, axis: int | None, mode: Any, fill_value: Any,
                     wrap_negative_indices: bool | None) -> Any:
    if aval(indices).dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got {aval(indices).dtype.name}")
    if axis is None:
        if aval(indices).ndim != 1:
            raise ValueError(f"take_along_axis: with axis=None, indices must be 1-D, got shape {aval(indices).shape}")
        a = _ravel(a)
        axis = 0
    rank = aval(a).ndim
    if rank != aval(indices).ndim:
        raise ValueError(f"take_along_axis: indices and arr must have the same number of dimensions; "
                         f"{aval(indices).ndim} vs. {rank}")
    axis = _canonical_axis(axis, rank, "take_along_axis")
    idx_shape = aval(indices).shape
    axis_size = aval(a).shape[axis]
    arr_shape = list(aval(a).shape)
    arr_shape[axis] = 1
    out_shape = broadcast_shapes(idx_shape, tuple(arr_shape))
    if axis_size == 0:
        return sh.full(out_shape, 0, aval(a).dtype)
    if wrap_negative_indices is None:
        wrap_negative_indices = mode != "promise_in_bounds"
    indices = lax.convert_element_type(indices, _index_dtype(aval(a).shape))
    if wrap_negative_indices:
        indices = _normalize_dynamic(indices, axis_size)
    # dimensions where the index has size 1 take the whole axis of arr (a window); dimensions
    # where arr has size 1 are broadcast by the index; the others are batching pairs
    index_dims = [i for i, s in enumerate(idx_shape) if i == axis or s != 1]
    gather_indices = sh.reshape(indices, tuple(out_shape[i] for i in index_dims) + (1,))
    slice_sizes, offset_dims, operand_batching, indices_batching, squeeze = [], [], [], [], []
    start_index_map = collapsed = ()
    new_i = j = 0
    for i in range(rank):
        if i == axis:
            slice_sizes.append(1)
            start_index_map = collapsed = (new_i,)
            new_i += 1
            j += 1
        elif idx_shape[i] == 1:
            offset_dims.append(i)
            slice_sizes.append(arr_shape[i])
            new_i += 1
        elif arr_shape[i] == 1:
            squeeze.append(i)
            j += 1
        else:
            slice_sizes.append(1 if arr_shape[i] else 0)
            operand_batching.append(new_i)
            indices_batching.append(j)
            new_i += 1
            j += 1
    a = sh.squeeze(a, squeeze)
    dnums = gs.GatherDimensionNumbers(offset_dims=tuple(offset_dims), collapsed_slice_dims=collapsed,
                                      start_index_map=start_index_map, operand_batching_dims=tuple(operand_batching),
                                      start_indices_batching_dims=tuple(indices_batching))
    return gs.gather(a, gather_indices, dnums, slice_sizes, mode="fill" if mode is None else mode,
                     fill_value=fill_value)


def _along_axis_index(shape: Sequence[int], indices: Any, axis: int) -> tuple[Any, ...]:
    """An index tuple: ``indices`` on ``axis``, open iotas (broadcastable ranges) elsewhere."""
    out: list[Any] = []
    for i, n in enumerate(shape):
        if i == axis:
            out.append(indices)
        else:
            grid = [1] * len(shape)
            grid[i] = n
            out.append(np.arange(n, dtype=np.int32).reshape(grid))
    return tuple(out)


def put_along_axis(arr: Any, indices: Any, values: Any, axis: int | None, inplace: bool = True, *,
                   mode: str | None = None) -> Any:
    """A copy of ``arr`` with ``values`` written at ``indices`` along ``axis`` (NumPy's in-place
    ``put_along_axis``: pass ``inplace=False``, arrays are immutable).

    >>> import ember.core.numpy as jnp
    >>> jnp.put_along_axis(jnp.zeros((2, 3)), jnp.array([[1], [2]]), 5.0, axis=1, inplace=False).tolist()
    [[0.0, 5.0, 0.0], [0.0, 0.0, 5.0]]
    """
    if inplace:
        raise ValueError("put_along_axis cannot modify arrays in place (they are immutable); pass inplace=False "
                         "to get the updated copy")
    check_arraylike("put_along_axis", arr, indices, values)
    arr, indices = _asarray(arr), _asarray(indices)
    original_shape = aval(arr).shape
    if axis is None:
        if aval(indices).ndim != 1:
            raise ValueError("put_along_axis: with axis=None, indices must be 1-D")
        arr = _ravel(arr)
        axis = 0
    if aval(arr).ndim != aval(indices).ndim:
        raise ValueError(f"put_along_axis: arr and indices must have the same number of dimensions, got "
                         f"{aval(arr).ndim} and {aval(indices).ndim}")
    axis = _canonical_axis(axis, aval(arr).ndim, "put_along_axis")
    values = _asarray(values)
    try:
        values = _broadcast_update(values, aval(indices).shape)
    except ValueError:
        raise ValueError(f"put_along_axis: values of shape {aval(values).shape} cannot be broadcast to the indices' "
                         f"shape {aval(indices).shape}") from None
    out = _scatter_update(arr, _along_axis_index(aval(arr).shape, indices, axis), values, "set", mode=mode)
    return sh.reshape(out, original_shape)


# ----------------------------------------------------------------------------------------------
# Selection: choose, select, compress, extract, place, put

def choose(a: Any, choices: Any, out: None = None, mode: str = "raise") -> Any:
    """``choices[a[i]][i]`` elementwise, everything broadcast together.

    ``mode``: ``'raise'`` (``a`` must be concrete and in range), ``'wrap'`` or ``'clip'``.

    >>> import ember.core.numpy as jnp
    >>> jnp.choose(jnp.array([0, 1, 0]), [jnp.array([1, 2, 3]), jnp.array([10, 20, 30])]).tolist()
    [1, 20, 3]
    """
    if out is not None:
        raise NotImplementedError("choose: the 'out' argument is not supported (arrays are immutable)")
    if isinstance(choices, (Array, Tracer, np.ndarray)):
        choices = [choices[i] for i in range(len(choices))]
    choices = list(choices)
    check_arraylike("choose", a, *choices)
    if not choices:
        raise ValueError("choose: choices must not be empty")
    n = len(choices)
    if mode == "raise":
        if isinstance(a, Tracer) and a.to_concrete_value() is None:
            raise ConcretizationError(a, "choose with mode='raise' checks the indices; under jit use mode='wrap' "
                                         "or mode='clip'")
        host = np.asarray(a.to_concrete_value() if isinstance(a, Tracer) else a)
        if host.size and (host.min() < 0 or host.max() >= n):
            raise ValueError("invalid entry in choice array")
    elif mode not in ("wrap", "clip"):
        raise ValueError(f"choose: mode={mode!r} not understood; must be 'raise', 'wrap' or 'clip'")
    return _choose(_asarray(a), [_asarray(c) if isinstance(c, (list, tuple)) else c for c in choices], mode=mode)


@numpy_jit(static_argnames=("mode",))
def _choose(a: Any, choices: list[Any], *, mode: str) -> Any:
    n = len(choices)
    if aval(a).dtype.kind not in "iu":
        raise TypeError(f"choose: a must be an integer array, got {aval(a).dtype.name}")
    a = lax.convert_element_type(a, np.int32)
    if mode == "wrap":
        from .ufuncs import remainder
        a = remainder(a, np.int32(n))
    elif mode == "clip":
        a = lax.clamp(np.int32(0), a, np.int32(n - 1))
    choices = promote_dtypes(*choices) if n > 1 else choices
    shape = broadcast_shapes(aval(a).shape, *[aval(c).shape for c in choices])
    a = _broadcast_update(a, shape)
    return lax.select_n(a, *[_broadcast_update(c, shape) for c in choices])


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    """``choicelist[k]`` where ``condlist[k]`` is the first true condition, else ``default``.

    >>> import ember.core.numpy as jnp
    >>> x = jnp.arange(5)
    >>> jnp.select([x < 2, x > 3], [x, -x], 9).tolist()
    [0, 1, 9, 9, -4]
    """
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: condlist must have length equal to choicelist ({len(condlist)} vs "
                         f"{len(choicelist)})")
    if len(condlist) == 0:
        raise ValueError("select: condlist must be non-empty")
    check_arraylike("select", *condlist, *choicelist, default)
    return _select(list(condlist), list(choicelist), default)


@numpy_jit
def _select(condlist: list[Any], choicelist: list[Any], default: Any) -> Any:
    values = promote_dtypes(default, *choicelist)
    conds = [lax.ne(c, False) if aval(c).dtype != np.bool_ else c for c in condlist]
    shape = broadcast_shapes(*[aval(v).shape for v in values], *[aval(c).shape for c in conds])
    out = _broadcast_update(values[0], shape)
    for cond, choice in reversed(list(zip(conds, values[1:]))):  # the first true condition wins
        out = lax.select(_broadcast_update(cond, shape), _broadcast_update(choice, shape), out)
    return out


def _prefix_count(mask: Any) -> Any:
    """Inclusive running count of a 1-D boolean mask (a log-depth scan of shifted adds)."""
    n = aval(mask).shape[0]
    total = lax.convert_element_type(mask, np.int32)
    shift = 1
    while shift < n:
        shifted = sh.pad(sh.slice(total, (0,), (n - shift,)), np.int32(0), [(shift, 0, 0)])
        total = lax.add(total, shifted)
        shift *= 2
    return total


def _moveaxis(x: Any, source: int, destination: int) -> Any:
    ndim = aval(x).ndim
    perm = [i for i in range(ndim) if i != source]
    perm.insert(destination, source)
    return sh.transpose(x, perm)


def compress(condition: Any, a: Any, axis: int | None = None, *, size: int | None = None, fill_value: Any = 0,
             out: None = None) -> Any:
    """The slices of ``a`` along ``axis`` where ``condition`` is true (``a`` flattened if axis None).

    Without ``size`` the condition must be concrete (the result's length depends on it); with
    ``size`` the result has exactly ``size`` slices, padded with ``fill_value``.

    >>> import ember.core.numpy as jnp
    >>> jnp.compress(jnp.array([True, False, True]), jnp.array([1, 2, 3])).tolist()
    [1, 3]
    """
    if out is not None:
        raise NotImplementedError("compress: the 'out' argument is not supported (arrays are immutable)")
    check_arraylike("compress", condition, a, fill_value)
    condition, arr = _asarray(condition), _asarray(a)
    if aval(condition).ndim != 1:
        raise ValueError(f"compress: condition must be a 1-D array, got shape {aval(condition).shape}")
    if axis is None:
        arr = _ravel(arr)
        axis = 0
    else:
        axis = _canonical_axis(axis, aval(arr).ndim, "compress")
    if size is None:
        mask = _concrete_bool(condition) if aval(condition).dtype == np.bool_ else _concrete_bool(
            lax.ne(condition, np.zeros((), aval(condition).dtype)))
        n = aval(arr).shape[axis]
        if mask[n:].any():
            raise ValueError("compress: condition contains entries that are out of bounds")
        index: list[Any] = [slice(None)] * aval(arr).ndim
        index[axis] = np.nonzero(mask[:n])[0]
        return _getitem(arr, tuple(index))
    size = operator_index(size)
    return _compress_sized(condition, arr, fill_value, axis=axis, size=size)


@numpy_jit(static_argnames=("axis", "size"))
def _compress_sized(condition: Any, arr: Any, fill_value: Any, *, axis: int, size: int) -> Any:
    arr = _moveaxis(arr, axis, 0)
    n = aval(arr).shape[0]
    m = min(n, aval(condition).shape[0])
    if not 0 <= size <= n:
        raise ValueError(f"compress: size must be non-negative and at most the length of the axis; got size={size} "
                         f"for a.shape[axis]={n}")
    mask = sh.slice(lax.ne(condition, np.zeros((), aval(condition).dtype)) if aval(condition).dtype != np.bool_
                    else condition, (0,), (m,))
    arr = sh.slice(arr, (0,) * aval(arr).ndim, (m,) + aval(arr).shape[1:])
    # row r goes to position count(mask[:r+1]) - 1 if selected; unselected rows go out of bounds
    target = lax.select(mask, lax.sub(_prefix_count(mask), np.int32(1)), sh.full((m,), size, np.int32))
    rest = aval(arr).shape[1:]
    fill = lax.convert_element_type(fill_value, aval(arr).dtype)
    base = sh.broadcast_in_dim(fill, (size,) + rest, ())
    dnums = gs.ScatterDimensionNumbers(update_window_dims=tuple(range(1, len(rest) + 1)), inserted_window_dims=(0,),
                                       scatter_dims_to_operand_dims=(0,))
    out = gs.scatter(base, sh.expand_dims(target, (1,)), arr, dnums, mode="drop", unique_indices=True)
    return _moveaxis(out, 0, axis)


def extract(condition: Any, arr: Any, *, size: int | None = None, fill_value: Any = 0) -> Any:
    """The elements of ``arr`` where ``condition`` is true, flattened (``size``: static length,
    padded with ``fill_value``).

    >>> import ember.core.numpy as jnp
    >>> jnp.extract(jnp.array([1, 0, 1]), jnp.array([4, 5, 6])).tolist()
    [4, 6]
    """
    check_arraylike("extract", condition, arr, fill_value)
    return compress(_ravel(_asarray(condition)), _ravel(_asarray(arr)), size=size, fill_value=fill_value)


def _tile_to_size(x: Any, size: int) -> Any:
    """The 1-D ``x`` repeated (or truncated) to length ``size``."""
    n = aval(x).shape[0]
    if n == size:
        return x
    positions = np.arange(size, dtype=np.int32) % n
    return take(x, positions, mode="clip")


def place(arr: Any, mask: Any, vals: Any, *, inplace: bool = True) -> Any:
    """A copy of ``arr`` with the positions where ``mask`` is true filled, in order, with
    ``vals`` (repeated as needed). Pass ``inplace=False``: arrays are immutable.

    >>> import ember.core.numpy as jnp
    >>> jnp.place(jnp.zeros(5), jnp.arange(5) % 2 == 0, jnp.array([1.0, 2.0]), inplace=False).tolist()
    [1.0, 0.0, 2.0, 0.0, 1.0]
    """
    if inplace:
        raise ValueError("place cannot modify arrays in place (they are immutable); pass inplace=False to get the "
                         "updated copy")
    check_arraylike("place", arr, mask, vals)
    arr, mask, vals = _asarray(arr), _asarray(mask), _asarray(vals)
    if aval(arr).size != aval(mask).size:
        raise ValueError("place: arr and mask must have the same size")
    if aval(vals).size == 0:
        raise ValueError("place: cannot place values from an empty array")
    if aval(arr).size == 0:
        return arr
    return _place(arr, mask, vals)


@numpy_jit
def _place(arr: Any, mask: Any, vals: Any) -> Any:
    flat = _ravel(arr)
    m = _ravel(mask)
    if aval(m).dtype != np.bool_:
        m = lax.ne(m, np.zeros((), aval(m).dtype))
    v = _ravel(vals)
    from .ufuncs import remainder
    k = lax.sub(_prefix_count(m), np.int32(1))
    k = remainder(lax.max(k, np.int32(0)), np.int32(aval(v).shape[0]))
    picked = take(v, k, mode="clip")
    (flat, picked) = promote_dtypes(flat, picked)
    out = lax.select(m, picked, flat)
    return lax.convert_element_type(sh.reshape(out, aval(arr).shape), aval(arr).dtype, aval(arr).weak_type)


def put(a: Any, ind: Any, v: Any, mode: str | None = None, *, inplace: bool = True) -> Any:
    """A copy of ``a`` with ``v`` written at the flat indices ``ind`` (``v`` repeated as needed).

    ``mode``: None (negative indices wrap once, others are clamped, as JAX does), ``'clip'`` or
    ``'wrap'``. Pass ``inplace=False``: arrays are immutable.

    >>> import ember.core.numpy as jnp
    >>> jnp.put(jnp.zeros(4), jnp.array([0, 3]), jnp.array([1.0, 2.0]), inplace=False).tolist()
    [1.0, 0.0, 0.0, 2.0]
    """
    if inplace:
        raise ValueError("put cannot modify arrays in place (they are immutable); pass inplace=False to get the "
                         "updated copy")
    check_arraylike("put", a, ind, v)
    arr, ind_arr, v_arr = _asarray(a), _ravel(_asarray(ind)), _ravel(_asarray(v))
    if not aval(arr).size or not aval(ind_arr).size or not aval(v_arr).size:
        return arr
    v_arr = _tile_to_size(v_arr, aval(ind_arr).size)
    size = aval(arr).size
    if mode is None:
        scatter_mode = "drop"
    elif mode == "clip":
        ind_arr = lax.clamp(np.zeros((), aval(ind_arr).dtype), ind_arr, np.array(size - 1, aval(ind_arr).dtype))
        scatter_mode = "promise_in_bounds"
    elif mode == "wrap":
        from .ufuncs import remainder
        ind_arr = remainder(ind_arr, np.array(size, aval(ind_arr).dtype))
        scatter_mode = "promise_in_bounds"
    elif mode == "raise":
        raise NotImplementedError("put: mode='raise' is not supported; use 'clip' or 'wrap'")
    else:
        raise ValueError(f"put: mode should be one of 'wrap' or 'clip'; got mode={mode!r}")
    index = unravel_index(ind_arr, aval(arr).shape)
    return _scatter_update(arr, index, v_arr, "set", mode=scatter_mode)


# ----------------------------------------------------------------------------------------------
# Index arithmetic: ravel_multi_index, unravel_index, ix_, diag/tril/triu indices

def ravel_multi_index(multi_index: Sequence[Any], dims: Sequence[int], mode: str = "raise", order: str = "C", *,
                      dtype: Any = None) -> Any:
    """Flat indices of the coordinates ``multi_index`` in an array of shape ``dims``.

    ``mode``: ``'raise'`` (coordinates must be concrete and in range), ``'wrap'``, ``'clip'``
    or ``'ignore'``.

    >>> import ember.core.numpy as jnp
    >>> jnp.ravel_multi_index((jnp.array([1, 2]), jnp.array([3, 0])), (3, 4)).tolist()
    [7, 8]
    """
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: {len(multi_index)} index arrays for {len(dims)} dimensions")
    dims = tuple(operator_index(d) for d in dims)
    check_arraylike("ravel_multi_index", *multi_index)
    arrays = [_asarray(i) for i in multi_index]
    out_dtype = dtypes.result_type(int, *arrays) if dtype is None else dtypes.canonicalize_dtype(dtype)
    if out_dtype.kind not in "iu":
        raise ValueError(f"ravel_multi_index: dtype={out_dtype} is not an integer type")
    if int(np.prod(dims, dtype=np.int64)) - 1 > np.iinfo(out_dtype).max:
        raise ValueError(f"ravel_multi_index: dtype={out_dtype} is not large enough for the flat index of dims={dims}; "
                         "pass a larger dtype")
    for i in arrays:
        if aval(i).dtype.kind not in "iu":
            raise TypeError("ravel_multi_index: only integer indices are permitted")
    if mode == "raise":
        for i, d in zip(arrays, dims):
            if isinstance(i, Tracer) and i.to_concrete_value() is None:
                raise ConcretizationError(i, "ravel_multi_index with mode='raise' checks the indices; under jit "
                                             "use mode='wrap' or mode='clip'")
            host = np.asarray(i.to_concrete_value() if isinstance(i, Tracer) else i)
            if host.size and (host.min() < 0 or host.max() >= d):
                raise ValueError("invalid entry in coordinates array")
    elif mode not in ("clip", "wrap", "ignore"):
        raise ValueError(f"ravel_multi_index: invalid mode={mode!r}; expected 'raise', 'wrap', 'clip' or 'ignore'")
    if order == "C":
        strides = np.cumprod((1,) + dims[1:][::-1])[::-1] if dims else np.zeros(0)
    elif order == "F":
        strides = np.cumprod((1,) + dims[:-1]) if dims else np.zeros(0)
    else:
        raise ValueError(f"ravel_multi_index: invalid order={order!r}; expected 'C' or 'F'")
    return _ravel_multi_index(arrays, dims=dims, mode=mode, strides=tuple(int(s) for s in strides), dtype=out_dtype)


@numpy_jit(static_argnames=("dims", "mode", "strides", "dtype"))
def _ravel_multi_index(arrays: list[Any], *, dims: tuple[int, ...], mode: str, strides: tuple[int, ...],
                       dtype: np.dtype) -> Any:
    from .ufuncs import add, multiply, remainder
    result: Any = np.zeros((), dtype)
    for i, d, s in zip(arrays, dims, strides):
        i = lax.convert_element_type(i, dtype)
        if mode == "clip":
            i = lax.clamp(np.zeros((), dtype), i, np.array(d - 1, dtype))
        elif mode == "wrap":
            i = remainder(i, np.array(d, dtype))
        result = add(result, multiply(i, np.array(s, dtype)))
    return result


def unravel_index(indices: Any, shape: Sequence[int]) -> tuple[Any, ...]:
    """Coordinates in an array of ``shape`` of the flat ``indices`` (out-of-range indices are
    clamped; -1 counts from the end, as in JAX).

    >>> import ember.core.numpy as jnp
    >>> [i.tolist() for i in jnp.unravel_index(jnp.array([7, 8]), (3, 4))]
    [[1, 2], [3, 0]]
    """
    check_arraylike("unravel_index", indices)
    try:
        shape = list(shape)
    except TypeError:
        shape = [shape]
    if any(np.ndim(s) != 0 for s in shape):
        raise ValueError("unravel_index: shape should be a scalar or 1D sequence")
    return tuple(_unravel_index(_asarray(indices), shape=tuple(operator_index(s) for s in shape)))


@numpy_jit(static_argnames=("shape",))
def _unravel_index(indices: Any, *, shape: tuple[int, ...]) -> list[Any]:
    from .ufuncs import floor_divide, remainder, where
    if aval(indices).dtype.itemsize < 4:  # narrow indices cannot hold the dimension sizes
        indices = lax.convert_element_type(indices, np.int32)
    dtype = aval(indices).dtype
    out: list[Any] = [None] * len(shape)
    rest = indices
    for i in reversed(range(len(shape))):
        s = np.array(shape[i], dtype)
        rest, out[i] = floor_divide(rest, s), remainder(rest, s)
    oob_pos = lax.gt(rest, np.zeros((), dtype))
    oob_neg = (sh.full(aval(rest).shape, False, np.bool_) if dtype.kind == "u"
               else lax.lt(rest, np.array(-1, dtype)))
    return [where(oob_pos, np.array(s - 1, dtype), where(oob_neg, np.zeros((), dtype), i))
            for s, i in zip(shape, out)]


def ix_(*args: Any) -> tuple[Any, ...]:
    """An open mesh from 1-D sequences: ``x[ix_(rows, cols)]`` selects a sub-grid.

    >>> import ember.core.numpy as jnp
    >>> [a.shape for a in jnp.ix_(jnp.array([0, 1]), jnp.array([2, 0, 1]))]
    [(2, 1), (1, 3)]
    """
    check_arraylike("ix_", *args)
    n = len(args)
    output = []
    for i, a in enumerate(args):
        a = _asarray(a)
        if aval(a).ndim != 1:
            raise ValueError(f"Arguments to ix_ must be 1-dimensional, got shape {aval(a).shape}")
        if aval(a).dtype == np.bool_:
            raise NotImplementedError("ix_: boolean arguments are not implemented")
        shape = [1] * n
        shape[i] = aval(a).shape[0]
        if aval(a).size == 0:
            output.append(sh.full(shape, 0, dtypes.default_int_dtype()))
        else:
            output.append(sh.broadcast_in_dim(a, shape, (i,)))
    return tuple(output)


def _host_indices(*arrays: np.ndarray) -> tuple[Any, ...]:
    from .creation import asarray
    return tuple(asarray(a.astype(dtypes.default_int_dtype())) for a in arrays)


def diag_indices(n: int, ndim: int = 2) -> tuple[Any, ...]:
    """Indices of the main diagonal of an ``(n,) * ndim`` array.

    >>> import ember.core.numpy as jnp
    >>> [i.tolist() for i in jnp.diag_indices(3)]
    [[0, 1, 2], [0, 1, 2]]
    """
    n, ndim = operator_index(n), operator_index(ndim)
    if n < 0:
        raise ValueError(f"diag_indices: n must be non-negative, got {n}")
    if ndim < 0:
        raise ValueError(f"diag_indices: ndim must be non-negative, got {ndim}")
    return _host_indices(*np.diag_indices(n, ndim))


def diag_indices_from(arr: Any) -> tuple[Any, ...]:
    """Indices of the main diagonal of ``arr`` (at least 2-D, all dimensions equal)."""
    shape = aval(_asarray(arr)).shape
    if len(shape) < 2:
        raise ValueError("diag_indices_from: input array must be at least 2-d")
    if len(set(shape)) != 1:
        raise ValueError(f"diag_indices_from: all dimensions of the input must be of equal length, got {shape}")
    return diag_indices(shape[0], len(shape))


def tril_indices(n: int, k: int = 0, m: int | None = None) -> tuple[Any, Any]:
    """Row and column indices of the lower triangle (on and below diagonal ``k``) of an n x m array.

    >>> import ember.core.numpy as jnp
    >>> [i.tolist() for i in jnp.tril_indices(2)]
    [[0, 1, 1], [0, 0, 1]]
    """
    n, k = operator_index(n), operator_index(k)
    return _host_indices(*np.tril_indices(n, k, None if m is None else operator_index(m)))


def triu_indices(n: int, k: int = 0, m: int | None = None) -> tuple[Any, Any]:
    """Row and column indices of the upper triangle (on and above diagonal ``k``) of an n x m array.

    >>> import ember.core.numpy as jnp
    >>> rows, cols = jnp.triu_indices(3, k=1)
    >>> rows.tolist(), cols.tolist()
    ([0, 0, 1], [1, 2, 2])
    """
    n, k = operator_index(n), operator_index(k)
    return _host_indices(*np.triu_indices(n, k, None if m is None else operator_index(m)))


def _shape_2d(arr: Any, name: str) -> tuple[int, int]:
    shape = tuple(arr.shape) if hasattr(arr, "shape") else aval(_asarray(arr)).shape
    if len(shape) != 2:
        raise ValueError(f"{name}: input array must be 2-D, got shape {shape}")
    return shape[0], shape[1]


def tril_indices_from(arr: Any, k: int = 0) -> tuple[Any, Any]:
    """``tril_indices`` for the shape of the 2-D ``arr``."""
    n, m = _shape_2d(arr, "tril_indices_from")
    return tril_indices(n, k, m)


def triu_indices_from(arr: Any, k: int = 0) -> tuple[Any, Any]:
    """``triu_indices`` for the shape of the 2-D ``arr``."""
    n, m = _shape_2d(arr, "triu_indices_from")
    return triu_indices(n, k, m)


def fill_diagonal(a: Any, val: Any, wrap: bool = False, *, inplace: bool = True) -> Any:
    """A copy of ``a`` with its main diagonal set to ``val`` (repeated as needed). Pass
    ``inplace=False``: arrays are immutable.

    >>> import ember.core.numpy as jnp
    >>> jnp.fill_diagonal(jnp.zeros((2, 2)), 3.0, inplace=False).tolist()
    [[3.0, 0.0], [0.0, 3.0]]
    """
    if inplace:
        raise ValueError("fill_diagonal cannot modify arrays in place (they are immutable); pass inplace=False to "
                         "get the updated copy")
    if wrap:
        raise NotImplementedError("fill_diagonal: wrap=True is not implemented")
    check_arraylike("fill_diagonal", a, val)
    a, val = _asarray(a), _asarray(val)
    shape = aval(a).shape
    if len(shape) < 2:
        raise ValueError("fill_diagonal: array must be at least 2-d")
    n = min(shape)
    if len(shape) > 2 and len(set(shape)) != 1:
        raise ValueError(f"fill_diagonal: all dimensions of the input must be of equal length, got {shape}")
    if aval(val).ndim:
        val = _tile_to_size(_ravel(val), n)
    return _scatter_update(a, diag_indices(n, len(shape)), val, "set")

