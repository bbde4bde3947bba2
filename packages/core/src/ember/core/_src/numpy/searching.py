"""Sorting, searching, counting and set operations of ``ec.numpy``: ``sort``, ``argsort``,
``lexsort``, ``partition``, ``searchsorted``, ``digitize``, ``nonzero``, ``argwhere``, ``unique``,
``bincount``, ``histogram``, ``isin`` and the 1-d set operations, with JAX's signatures.

Functions whose result size depends on the data (``nonzero``, ``unique``, the set operations,
``bincount`` without ``length``) take a static ``size=`` (``length=``) to work under ``jit``;
without it they need a concrete input and raise ``ConcretizationError`` on a traced one.
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple

import numpy as np

from .. import dtypes
from ..core import ConcretizationError, Tracer, get_aval
from ..primitives import cumulative as cum
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives import sorting as srt
from .util import check_arraylike, numpy_jit, promote_dtypes, promote_dtypes_inexact

__all__ = [
    "argpartition", "argsort", "argwhere", "bincount", "digitize", "flatnonzero", "histogram",
    "histogram_bin_edges", "intersect1d", "isin", "lexsort", "nonzero", "partition", "searchsorted", "setdiff1d",
    "setxor1d", "sort", "sort_complex", "union1d", "unique", "unique_all", "unique_counts", "unique_inverse",
    "unique_values",
]


# ----------------------------------------------------------------------------------------------
# Helpers

def _aval(x: Any) -> Any:
    return get_aval(x)


def _int() -> np.dtype:
    return dtypes.default_int_dtype()


def _ravel(x: Any) -> Any:
    aval = _aval(x)
    return x if aval.ndim == 1 else sh.reshape(x, (aval.size,))


def _isnan(x: Any) -> Any:
    return ew.ne(x, x)


def _axis(name: str, axis: Any, ndim: int) -> int:
    if isinstance(axis, Tracer):
        raise ConcretizationError(axis, f"the axis argument of jnp.{name}")
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"jnp.{name}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def _static_size(name: str, size: Any, argname: str = "size") -> int | None:
    if size is None:
        return None
    if isinstance(size, Tracer):
        raise ConcretizationError(size, f"the {argname} argument of jnp.{name} (it sets the result's shape)")
    size = operator.index(size)
    if size < 0:
        raise ValueError(f"jnp.{name}: {argname} must be non-negative, got {size}")
    return size


def _concrete(name: str, x: Any, what: str) -> Any:
    """``x`` itself if concrete (an Array or NumPy value), its concrete value under grad, or a
    ConcretizationError that points at the static size argument."""
    if not isinstance(x, Tracer):
        return x
    value = x.to_concrete_value()
    if value is None:
        raise ConcretizationError(
            x, f"jnp.{name} without {what}: the size of its result depends on the values of the input. "
               f"Pass {what}=... (a static int) to use jnp.{name} under jit and other transformations")
    return value


def _iota(n: int, dtype: Any = None) -> Any:
    return sh.iota(_int() if dtype is None else dtype, n)


def _take_1d(x: Any, idx: Any) -> Any:
    """``x[idx]`` for a 1-d ``x`` and integer ``idx`` of any shape (indices clamped into range)."""
    idx_shape = _aval(idx).shape
    flat = sh.reshape(idx, (math.prod(idx_shape),))
    return sh.reshape(srt.take_along_axis(x, flat, 0), idx_shape)


def _take_rows(x: Any, idx: Any) -> Any:
    """``x[idx]`` along axis 0 for a 1-d ``idx``."""
    aval = _aval(x)
    if aval.ndim == 1:
        return srt.take_along_axis(x, idx, 0)
    shape = (_aval(idx).shape[0],) + aval.shape[1:]
    return srt.take_along_axis(x, sh.broadcast_in_dim(idx, shape, (0,)), 0)


def _scatter_add_1d(length: int, idx: Any, updates: Any) -> Any:
    """``zeros(length).at[idx].add(updates)``; out-of-range indices are dropped."""
    zeros = sh.full((length,), 0, _aval(updates).dtype)
    return srt.scatter_add_along_axis(zeros, idx, updates, 0)


def _fill_tail(values: Any, count: Any, fill: Any) -> Any:
    """``values`` with entries at positions >= ``count`` (along axis 0) replaced by ``fill``."""
    aval = _aval(values)
    n = aval.shape[0]
    valid = ew.lt(_iota(n, _aval(count).dtype), sh.broadcast_in_dim(count, (n,), ()))
    if aval.ndim > 1:
        valid = sh.broadcast_in_dim(valid, aval.shape, (0,))
    fill = ew.convert_element_type(fill, aval.dtype)
    return ew.select(valid, values, sh.broadcast_in_dim(fill, aval.shape, ()))


def _count_true(mask: Any) -> Any:
    return red.reduce_sum(ew.convert_element_type(mask, _int()), tuple(range(_aval(mask).ndim)))


def _nonzero_flat(mask: Any, size: int) -> Any:
    """Flat positions of the first ``size`` true entries of the 1-d ``mask``; the positions past the
    true count read ``len(mask)`` (so they wrap to index 0 of each dimension, as in JAX)."""
    n = _aval(mask).shape[0]
    if n == 0 or size == 0:
        return sh.full((size,), 0, _int())
    running = cum.cumsum(ew.convert_element_type(mask, _int()), 0)
    counts = _scatter_add_1d(size, running, sh.full((n,), 1, _int()))
    return cum.cumsum(counts, 0)


# Comparisons in sort order: NaNs last and equal to each other; complex by (real, imag).

def _sort_lt(x: Any, y: Any) -> Any:
    if _aval(x).dtype.kind == "c":
        xr, xi, yr, yi = ew.real(x), ew.imag(x), ew.real(y), ew.imag(y)
        return ew.bitwise_or(_sort_lt(xr, yr), ew.bitwise_and(_sort_eq(xr, yr), _sort_lt(xi, yi)))
    if dtypes.is_float(_aval(x).dtype):
        return ew.bitwise_or(ew.lt(x, y), ew.bitwise_and(ew.bitwise_not(_isnan(x)), _isnan(y)))
    return ew.lt(x, y)


def _sort_eq(x: Any, y: Any) -> Any:
    if dtypes.is_float(_aval(x).dtype):
        return ew.bitwise_or(ew.eq(x, y), ew.bitwise_and(_isnan(x), _isnan(y)))
    return ew.eq(x, y)


def _sort_le(x: Any, y: Any) -> Any:
    return ew.bitwise_not(_sort_lt(y, x))


# ----------------------------------------------------------------------------------------------
# sort, argsort, lexsort, partition

@numpy_jit(static_argnames=("axis", "stable", "descending"))
def _sort(a: Any, axis: int | None, stable: bool, descending: bool) -> Any:
    if axis is None:
        a, axis = _ravel(a), 0
    axis = _axis("sort", axis, _aval(a).ndim)
    out = srt.sort(a, axis, is_stable=stable)
    return sh.rev(out, (axis,)) if descending else out


def sort(a: Any, axis: int | None = -1, *, kind: Any = None, order: Any = None, stable: bool = True,
         descending: bool = False) -> Any:
    """A sorted copy of ``a`` along ``axis`` (flattened when None); NaNs sort last.

    >>> sort(np.array([3, 1, 2])).tolist()
    [1, 2, 3]
    """
    check_arraylike("sort", a)
    if order is not None:
        raise NotImplementedError("jnp.sort: the order argument (structured arrays) is not supported")
    if _aval(a).ndim == 0 and axis is not None:
        raise ValueError("jnp.sort: cannot sort a 0-d array along an axis; pass axis=None")
    return _sort(a, axis=None if axis is None else operator.index(axis), stable=bool(stable),
                 descending=bool(descending))


@numpy_jit(static_argnames=("axis", "stable", "descending", "dtype"))
def _argsort(a: Any, axis: int | None, stable: bool, descending: bool, dtype: Any) -> Any:
    if axis is None:
        a, axis = _ravel(a), 0
    axis = _axis("argsort", axis, _aval(a).ndim)
    return srt.argsort(a, axis, is_stable=stable, descending=descending, index_dtype=dtype)


def argsort(a: Any, axis: int | None = -1, *, kind: Any = None, order: Any = None, stable: bool = True,
            descending: bool = False, dtype: Any = None) -> Any:
    """The indices that sort ``a`` along ``axis`` (stable by default: ties keep their order).

    >>> argsort(np.array([3, 1, 2])).tolist()
    [1, 2, 0]
    """
    check_arraylike("argsort", a)
    if order is not None:
        raise NotImplementedError("jnp.argsort: the order argument (structured arrays) is not supported")
    if _aval(a).ndim == 0 and axis is not None:
        raise ValueError("jnp.argsort: cannot sort a 0-d array along an axis; pass axis=None")
    dtype = _int() if dtype is None else dtypes.canonicalize_dtype(dtype)
    return _argsort(a, axis=None if axis is None else operator.index(axis), stable=bool(stable),
                    descending=bool(descending), dtype=dtype)


@numpy_jit(static_argnames=("axis",))
def _lexsort(keys: tuple[Any, ...], axis: int) -> Any:
    shape = _aval(keys[0]).shape
    for k in keys:
        if _aval(k).shape != shape:
            raise ValueError(f"jnp.lexsort: all keys need to be the same shape, got {[_aval(k).shape for k in keys]}")
    if not shape:
        raise ValueError("jnp.lexsort: keys must be at least 1-d")
    axis = _axis("lexsort", axis, len(shape))
    iota = sh.broadcasted_iota(_int(), shape, axis)
    return srt.sort(tuple(reversed(keys)) + (iota,), axis, num_keys=len(keys))[-1]


def lexsort(keys: Any, axis: int = -1) -> Any:
    """Indirect stable sort by several keys; the last key is the primary one.

    >>> lexsort((np.array([1, 0, 1]), np.array([0, 0, 1]))).tolist()
    [1, 0, 2]
    """
    if isinstance(keys, (list, tuple)):
        keys = tuple(keys)
    else:
        check_arraylike("lexsort", keys)
        keys = tuple(keys[i] for i in range(_aval(keys).shape[0])) if _aval(keys).ndim else ()
    if not keys:
        raise TypeError("jnp.lexsort: need a sequence of keys with len > 0")
    check_arraylike("lexsort", *keys)
    return _lexsort(keys, axis=operator.index(axis))


def _negate_for_top_k(a: Any) -> Any:
    # the smallest entries are the top of -a; for integers ~a (= -a - 1) reverses the order
    # without overflowing at the minimum (or wrapping, for unsigned types)
    if _aval(a).dtype.kind in "iub":
        return ew.bitwise_not(a)
    return ew.neg(a)


@numpy_jit(static_argnames=("kth", "axis", "indices"))
def _partition(a: Any, kth: int, axis: int, indices: bool) -> Any:
    name = "argpartition" if indices else "partition"
    aval = _aval(a)
    if aval.ndim == 0:
        raise TypeError(f"jnp.{name}: a must be at least 1-d")
    axis = _axis(name, axis, aval.ndim)
    n = aval.shape[axis]
    if not -n <= kth < n:
        raise ValueError(f"jnp.{name}: kth={kth} is out of bounds for an axis of size {n}")
    kth %= n
    last = aval.ndim - 1
    perm = list(range(aval.ndim))
    perm[axis], perm[last] = perm[last], perm[axis]
    a = sh.transpose(a, perm)
    neg_values, bottom_idx = srt.top_k(_negate_for_top_k(a), kth + 1)
    if not indices:
        bottom = _negate_for_top_k(neg_values)
        top = srt.top_k(a, n - kth - 1)[0]
        out = sh.concatenate([bottom, top], last)
    else:
        # the other indices, in order: the top of a proxy that is 0 at the chosen positions
        ones = sh.full(_aval(a).shape, 1, np.float32)
        hit = srt.scatter_add_along_axis(sh.full(_aval(a).shape, 0, np.float32), bottom_idx,
                                         sh.full(_aval(bottom_idx).shape, 1, np.float32), last)
        top_idx = srt.top_k(ew.sub(ones, hit), n - kth - 1)[1]
        out = ew.convert_element_type(sh.concatenate([bottom_idx, top_idx], last), _int())
    return sh.transpose(out, perm)


def partition(a: Any, kth: int, axis: int = -1) -> Any:
    """``a`` rearranged along ``axis`` so that entry ``kth`` is where a sort would put it: the
    ``kth + 1`` smallest come first (in sorted order here), the rest after.

    >>> partition(np.array([5, 1, 4, 2, 3]), 2)[:3].tolist()
    [1, 2, 3]
    """
    check_arraylike("partition", a)
    return _partition(a, kth=operator.index(kth), axis=operator.index(axis), indices=False)


def argpartition(a: Any, kth: int, axis: int = -1) -> Any:
    """The indices that ``partition`` would move into each position.

    >>> argpartition(np.array([5, 1, 4, 2, 3]), 2)[:3].tolist()
    [1, 3, 4]
    """
    check_arraylike("argpartition", a)
    return _partition(a, kth=operator.index(kth), axis=operator.index(axis), indices=True)


@numpy_jit
def sort_complex(a: Any) -> Any:
    """``a`` sorted along its first axis, as complex numbers.

    >>> sort_complex(np.array([3, 1])).tolist()
    [(1+0j), (3+0j)]
    """
    check_arraylike("sort_complex", a)
    out = srt.sort(a, 0)
    dtype = _aval(out).dtype
    if dtype.kind != "c":
        dtype = dtypes.canonicalize_dtype(np.complex128) if dtype == dtypes.float64 else dtypes.default_complex_dtype()
    return ew.convert_element_type(out, dtype)


# ----------------------------------------------------------------------------------------------
# searchsorted, digitize

def _searchsorted_impl(a: Any, v: Any, side: str, method: str) -> Any:
    n = _aval(a).shape[0]
    v_shape = _aval(v).shape
    dtype = np.dtype(np.int32) if n <= np.iinfo(np.int32).max else dtypes.canonicalize_dtype(np.int64)
    if n == 0:
        return sh.full(v_shape, 0, dtype)
    if method in ("scan", "scan_unrolled"):
        # binary search, unrolled: ceil(log2(n + 1)) halvings of [low, high]
        go_left_if = _sort_le if side == "left" else _sort_lt
        low = sh.full(v_shape, 0, dtype)
        high = sh.full(v_shape, n, dtype)
        for _ in range(int(np.ceil(np.log2(n + 1)))):
            mid = ew.div(ew.add(low, high), ew.full_like(low, 2))
            left = go_left_if(v, _take_1d(a, mid))
            low, high = ew.select(left, low, mid), ew.select(left, mid, high)
        return high
    if method == "compare_all":
        less = _sort_lt if side == "left" else _sort_le
        shape = (n,) + v_shape
        a_b = sh.broadcast_in_dim(a, shape, (0,))
        v_b = sh.broadcast_in_dim(v, shape, tuple(range(1, len(shape))))
        return red.reduce_sum(ew.convert_element_type(less(a_b, v_b), dtype), (0,))
    if method == "sort":
        q = _ravel(v) if v_shape != () else sh.reshape(v, (1,))
        m = _aval(q).shape[0]
        work = dtypes.canonicalize_dtype(np.int64) if n + m >= np.iinfo(np.int32).max else np.dtype(np.int32)

        def rank(x: Any) -> Any:  # position of each entry in the stable sorted order
            size = _aval(x).shape[0]
            return _scatter_add_1d(size, srt.argsort(x, 0, index_dtype=work), _iota(size, work))

        if side == "left":
            index = sh.slice(rank(sh.concatenate([q, a], 0)), (0,), (m,))
        else:
            index = sh.slice(rank(sh.concatenate([a, q], 0)), (n,), (n + m,))
        return ew.convert_element_type(sh.reshape(ew.sub(index, rank(q)), v_shape), dtype)
    raise ValueError(f"jnp.searchsorted: method must be 'scan', 'scan_unrolled', 'sort' or 'compare_all', "
                     f"got {method!r}")


@numpy_jit(static_argnames=("side", "method"))
def _searchsorted(a: Any, v: Any, sorter: Any, side: str, method: str) -> Any:
    if _aval(a).ndim != 1:
        raise ValueError(f"jnp.searchsorted: a must be 1-dimensional, got shape {_aval(a).shape}")
    if sorter is not None:
        a = _take_1d(a, sorter)
    a, v = promote_dtypes(a, v)
    return _searchsorted_impl(a, v, side, method)


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None, *, method: str = "scan") -> Any:
    """Indices where ``v``'s elements would be inserted into the sorted 1-d ``a`` to keep it sorted
    (before equal entries for side='left', after them for 'right'). ``method``: 'scan' or
    'scan_unrolled' (binary search), 'sort', 'compare_all'.

    >>> searchsorted(np.array([1, 2, 2, 3]), np.array([2, 0, 5]), side="right").tolist()
    [3, 0, 4]
    """
    check_arraylike("searchsorted", a, v)
    if side not in ("left", "right"):
        raise ValueError(f"jnp.searchsorted: side must be 'left' or 'right', got {side!r}")
    if method not in ("scan", "scan_unrolled", "sort", "compare_all"):
        raise ValueError(f"jnp.searchsorted: method must be 'scan', 'scan_unrolled', 'sort' or 'compare_all', "
                         f"got {method!r}")
    if sorter is not None:
        check_arraylike("searchsorted", sorter)
    return _searchsorted(a, v, sorter, side=side, method=method)


@numpy_jit(static_argnames=("right", "method"))
def _digitize(x: Any, bins: Any, right: bool, method: str) -> Any:
    if _aval(bins).ndim != 1:
        raise ValueError(f"jnp.digitize: bins must be a 1-dimensional array, got shape {_aval(bins).shape}")
    n = _aval(bins).shape[0]
    if n == 0:
        return sh.full(_aval(x).shape, 0, np.int32)
    bins, x = promote_dtypes(bins, x)
    side = "left" if right else "right"
    increasing = _searchsorted_impl(bins, x, side, method)
    decreasing = ew.sub(ew.full_like(increasing, n), _searchsorted_impl(sh.rev(bins, (0,)), x, side, method))
    rising = ew.ge(sh.slice(bins, (n - 1,), (n,)), sh.slice(bins, (0,), (1,)))
    rising = sh.broadcast_in_dim(sh.reshape(rising, ()), _aval(increasing).shape, ())
    return ew.select(rising, increasing, decreasing)


def digitize(x: Any, bins: Any, right: bool = False, *, method: str | None = None) -> Any:
    """The index of the bin each ``x`` falls in, for monotonic (increasing or decreasing) ``bins``.

    >>> digitize(np.array([0.5, 1.5, 3.0]), np.array([1.0, 2.0, 3.0])).tolist()
    [0, 1, 3]
    """
    check_arraylike("digitize", x, bins)
    return _digitize(x, bins, right=bool(right), method="scan" if method is None else method)


# ----------------------------------------------------------------------------------------------
# nonzero and friends

@numpy_jit(static_argnames=("size",))
def _nonzero(a: Any, size: int, fill_value: Any) -> tuple[Any, ...]:
    shape = _aval(a).shape
    mask = a if _aval(a).dtype == dtypes.bool_ else ew.ne(a, ew.full_like(a, 0))
    flat = _nonzero_flat(_ravel(mask), size)
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    if math.prod(shape) == 0:
        out = [sh.full((size,), 0, _int()) for _ in shape]
    else:
        out = [ew.rem(ew.div(flat, ew.full_like(flat, s)), ew.full_like(flat, n)) for s, n in zip(strides, shape)]
    if fill_value is not None:
        fills = fill_value if isinstance(fill_value, tuple) else (fill_value,) * len(shape)
        if len(fills) != len(shape) or any(_aval(f).shape != () for f in fills):
            raise ValueError(f"jnp.nonzero: fill_value must be a scalar or a tuple of {len(shape)} scalars")
        count = _count_true(mask)
        out = [_fill_tail(o, count, f) for o, f in zip(out, fills)]
    return tuple(out)


def _count_nonzero_concrete(name: str, a: Any, what: str = "size") -> int:
    host = np.asarray(_concrete(name, a, what))
    return int(np.count_nonzero(host))


def nonzero(a: Any, *, size: int | None = None, fill_value: Any = None) -> tuple[Any, ...]:
    """The indices of the non-zero elements, one array per dimension. Under ``jit`` pass a static
    ``size``: the result is truncated or padded (with 0, or ``fill_value``) to it.

    >>> nonzero(np.array([0, 3, 0, 4]))[0].tolist()
    [1, 3]
    """
    check_arraylike("nonzero", a)
    if _aval(a).ndim == 0:
        raise ValueError("jnp.nonzero: calling nonzero on 0-d arrays is not allowed; use "
                         "jnp.atleast_1d(scalar).nonzero() instead")
    size = _static_size("nonzero", size)
    if size is None:
        size = _count_nonzero_concrete("nonzero", a)
    if isinstance(fill_value, list):
        fill_value = tuple(fill_value)
    return _nonzero(a, size=size, fill_value=fill_value)


def flatnonzero(a: Any, *, size: int | None = None, fill_value: Any = None) -> Any:
    """Indices of the non-zero elements of the flattened array.

    >>> flatnonzero(np.array([[0, 1], [2, 0]])).tolist()
    [1, 2]
    """
    check_arraylike("flatnonzero", a)
    return nonzero(_ravel(a) if not isinstance(a, (int, float, bool, complex)) else np.ravel(a), size=size,
                   fill_value=fill_value)[0]


def argwhere(a: Any, *, size: int | None = None, fill_value: Any = None) -> Any:
    """Indices of the non-zero elements as an (N, a.ndim) array.

    >>> argwhere(np.array([[0, 1], [2, 0]])).tolist()
    [[0, 1], [1, 0]]
    """
    check_arraylike("argwhere", a)
    ndim = _aval(a).ndim
    arr = a if ndim else sh.reshape(a, (1,))
    columns = nonzero(arr, size=size, fill_value=fill_value)
    n = _aval(columns[0]).shape[0]
    if ndim == 0:
        return sh.full((n, 0), 0, _int())
    return sh.concatenate([sh.reshape(c, (n, 1)) for c in columns], 1)


# ----------------------------------------------------------------------------------------------
# unique

def _unique_sorted_mask(ar: Any, axis: int, equal_nan: bool) -> tuple[Any, Any, Any]:
    """Entries along ``axis`` sorted (moved to axis 0), a mask of the first of each run of equal
    entries, and the sorting permutation."""
    ndim = _aval(ar).ndim
    if axis != 0:
        ar = sh.transpose(ar, (axis,) + tuple(d for d in range(ndim) if d != axis))
    shape = _aval(ar).shape
    n, rest = shape[0], shape[1:]
    iota = _iota(n)
    if not rest:
        aux, perm = srt.sort((ar, iota), 0, num_keys=1)
    else:
        flat = sh.reshape(ar, (n, math.prod(rest)))
        columns = [sh.reshape(sh.slice(flat, (0, j), (n, j + 1)), (n,)) for j in range(math.prod(rest))]
        perm = srt.sort(tuple(columns) + (iota,), 0, num_keys=len(columns))[-1]
        aux = _take_rows(ar, perm)
    if n == 0:
        return aux, sh.full((0,), False, np.bool_), perm
    x, y = sh.slice_in_dim(aux, 1, n, 1, 0), sh.slice_in_dim(aux, 0, n - 1, 1, 0)
    differs = ew.ne(x, y)
    if equal_nan and dtypes.is_inexact(_aval(aux).dtype):
        differs = ew.bitwise_and(differs, ew.bitwise_not(ew.bitwise_and(_isnan(x), _isnan(y))))
    if rest:
        differs = red.reduce_or(differs, tuple(range(1, len(shape))))
    mask = sh.concatenate([sh.full((1,), True, np.bool_), differs], 0)
    return aux, mask, perm


@numpy_jit(static_argnames=("axis", "equal_nan"))
def _unique_count(ar: Any, axis: int, equal_nan: bool) -> Any:
    return _count_true(_unique_sorted_mask(ar, axis, equal_nan)[1])


@numpy_jit(static_argnames=("axis", "return_index", "return_inverse", "return_counts", "equal_nan", "size"))
def _unique(ar: Any, fill_value: Any, axis: int, return_index: bool, return_inverse: bool, return_counts: bool,
            equal_nan: bool, size: int) -> Any:
    aux, mask, perm = _unique_sorted_mask(ar, axis, equal_nan)
    n = _aval(mask).shape[0]
    count = _count_true(mask)
    if n:
        ind = _nonzero_flat(mask, size)
        ind = ew.rem(ind, ew.full_like(ind, n))
        result = _take_rows(aux, ind)
    else:
        ind = sh.full((size,), 0, _int())
        result = sh.full((size,) + _aval(aux).shape[1:], 0, _aval(aux).dtype)
    if fill_value is not None:
        result = _fill_tail(result, count, fill_value)
    if axis != 0:
        ndim = _aval(result).ndim
        order = list(range(1, ndim))
        order.insert(axis, 0)
        result = sh.transpose(result, tuple(order))
    outs = [result]
    if return_index:
        outs.append(ew.convert_element_type(srt.take_along_axis(perm, ind, 0), _int()) if n else ind)
    if return_inverse:
        if n:
            position = ew.sub(cum.cumsum(ew.convert_element_type(mask, _int()), 0), sh.full((n,), 1, _int()))
            outs.append(_scatter_add_1d(n, perm, position))
        else:
            outs.append(sh.full((0,), 0, _int()))
    if return_counts:
        if n:
            starts = _nonzero_flat(mask, size + 1)
            tail = sh.slice(starts, (1,), (size + 1,))
            tail = ew.select(ew.lt(tail, ew.full_like(tail, n)), tail, ew.full_like(tail, n))
            tail = ew.select(ew.eq(tail, ew.full_like(tail, 0)), ew.full_like(tail, n), tail)
            outs.append(ew.sub(tail, sh.slice(starts, (0,), (size,))))
        else:
            outs.append(sh.full((size,), 0, _int()))
    return outs[0] if len(outs) == 1 else tuple(outs)


def _unique_api(name: str, ar: Any, return_index: bool, return_inverse: bool, return_counts: bool, axis: Any,
                equal_nan: bool, size: Any, fill_value: Any) -> Any:
    check_arraylike(name, ar)
    shape = _aval(ar).shape
    if axis is None:
        arr, axis_int = _ravel(ar) if not isinstance(ar, (int, float, bool, complex)) else np.ravel(ar), 0
    else:
        arr, axis_int = ar, _axis(name, axis, len(shape))
    size = _static_size(name, size)
    if size is None:
        concrete = _concrete(name, arr, "size")
        size = int(_unique_count(concrete, axis=axis_int, equal_nan=bool(equal_nan)))
    elif _aval(arr).shape[axis_int] == 0 and size and fill_value is None:
        raise ValueError(f"jnp.{name}: for zero-sized input with nonzero size argument, fill_value must be specified")
    result = _unique(arr, fill_value, axis=axis_int, return_index=bool(return_index),
                     return_inverse=bool(return_inverse), return_counts=bool(return_counts),
                     equal_nan=bool(equal_nan), size=size)
    if return_inverse and axis is None:
        k = 2 if return_index else 1
        result = result[:k] + (sh.reshape(result[k], shape),) + result[k + 1:]
    return result


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False, return_counts: bool = False,
           axis: int | None = None, *, equal_nan: bool = True, size: int | None = None, fill_value: Any = None,
           sorted: bool = True) -> Any:  # noqa: A002 - numpy name
    """The sorted unique elements of ``ar`` (flattened when ``axis`` is None; unique slices along
    ``axis`` otherwise), optionally with the index of each one's first occurrence, the inverse map
    and the counts. Under ``jit`` pass a static ``size``; the result is padded with ``fill_value``
    (default: the smallest value).

    >>> unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    return _unique_api("unique", ar, return_index, return_inverse, return_counts, axis, equal_nan, size,
                       fill_value)


class UniqueAllResult(NamedTuple):
    values: Any
    indices: Any
    inverse_indices: Any
    counts: Any


class UniqueCountsResult(NamedTuple):
    values: Any
    counts: Any


class UniqueInverseResult(NamedTuple):
    values: Any
    inverse_indices: Any


def unique_all(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> UniqueAllResult:
    """Unique values with first indices, inverse indices and counts (array API; NaNs distinct).

    >>> import ember.core.numpy as jnp
    >>> r = jnp.unique_all(jnp.array([3, 1, 3]))
    >>> r.values.tolist(), r.indices.tolist(), r.inverse_indices.tolist(), r.counts.tolist()
    ([1, 3], [1, 0], [1, 0, 1], [1, 2])
    """
    values, indices, inverse, counts = _unique_api("unique_all", x, True, True, True, None, False, size, fill_value)
    return UniqueAllResult(values, indices, inverse, counts)


def unique_counts(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> UniqueCountsResult:
    """Unique values and their counts (array API; NaNs distinct).

    >>> import ember.core.numpy as jnp
    >>> values, counts = jnp.unique_counts(jnp.array([3, 1, 3, 3]))
    >>> values.tolist(), counts.tolist()
    ([1, 3], [1, 3])
    """
    values, counts = _unique_api("unique_counts", x, False, False, True, None, False, size, fill_value)
    return UniqueCountsResult(values, counts)


def unique_inverse(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> UniqueInverseResult:
    """Unique values and the inverse map, shaped like ``x`` (array API; NaNs distinct).

    >>> import ember.core.numpy as jnp
    >>> values, inverse = jnp.unique_inverse(jnp.array([3, 1, 3]))
    >>> values.tolist(), inverse.tolist()
    ([1, 3], [1, 0, 1])
    """
    values, inverse = _unique_api("unique_inverse", x, False, True, False, None, False, size, fill_value)
    return UniqueInverseResult(values, inverse)


def unique_values(x: Any, /, *, size: int | None = None, fill_value: Any = None) -> Any:
    """The sorted unique values (array API; NaNs distinct).

    >>> unique_values(np.array([2, 2, 1])).tolist()
    [1, 2]
    """
    return _unique_api("unique_values", x, False, False, False, None, False, size, fill_value)


# ----------------------------------------------------------------------------------------------
# Counting and histograms

@numpy_jit(static_argnames=("length",))
def _bincount(x: Any, weights: Any, length: int) -> Any:
    if weights is None:
        weights = sh.full(_aval(x).shape, 1, _int())
    else:
        if _aval(weights).shape != _aval(x).shape:
            raise ValueError(f"jnp.bincount: weights of shape {_aval(weights).shape} must have the shape of x "
                             f"{_aval(x).shape}")
    if _aval(x).shape[0] == 0:
        return sh.full((length,), 0, _aval(weights).dtype)
    index = ew.max(x, ew.full_like(x, 0))
    return _scatter_add_1d(length, index, weights)


def bincount(x: Any, weights: Any = None, minlength: int = 0, *, length: int | None = None) -> Any:
    """Count the occurrences of each non-negative integer in the 1-d ``x`` (weighted by
    ``weights``). Under ``jit`` pass a static ``length``: larger values are dropped.

    >>> bincount(np.array([0, 1, 1, 3])).tolist()
    [1, 2, 0, 1]
    """
    check_arraylike("bincount", x)
    if weights is not None:
        check_arraylike("bincount", weights)
    if _aval(x).dtype.kind not in "iu":
        raise TypeError(f"jnp.bincount: x must have an integer type, got {_aval(x).dtype.name}")
    if _aval(x).ndim != 1:
        raise ValueError(f"jnp.bincount: only 1-dimensional input is supported, got shape {_aval(x).shape}")
    minlength = operator.index(minlength)
    if minlength < 0:
        raise ValueError(f"jnp.bincount: minlength must be non-negative, got {minlength}")
    length = _static_size("bincount", length, "length")
    if length is None:
        host = np.asarray(_concrete("bincount", x, "length"))
        length = max(minlength, int(host.max()) + 1 if host.size else 0)
    return _bincount(x, weights, length=length)


def _linspace_edges(lo: Any, hi: Any, bins: int, dtype: np.dtype) -> Any:
    step = ew.div(_iota(bins + 1, dtype), sh.full((bins + 1,), bins, dtype))
    lo_b = sh.broadcast_in_dim(lo, (bins + 1,), ())
    hi_b = sh.broadcast_in_dim(hi, (bins + 1,), ())
    inner = ew.add(ew.mul(lo_b, ew.sub(ew.full_like(step, 1), step)), ew.mul(hi_b, step))
    return sh.concatenate([sh.slice(inner, (0,), (bins,)), sh.reshape(hi, (1,))], 0)


def _bin_edges(a: Any, bins: Any, bins_int: int | None, range_: Any) -> Any:
    dtype = _aval(a).dtype if dtypes.is_inexact(_aval(a).dtype) else dtypes.default_float_dtype()
    if bins_int is None:
        return ew.convert_element_type(bins, dtype)
    if range_ is None:
        flat = _ravel(a) if _aval(a).ndim else sh.reshape(a, (1,))
        lo = ew.convert_element_type(red.reduce_min(flat, (0,)), dtype)
        hi = ew.convert_element_type(red.reduce_max(flat, (0,)), dtype)
    else:
        lo, hi = (ew.convert_element_type(r, dtype) for r in range_)
        if _aval(lo).shape or _aval(hi).shape:
            raise ValueError("jnp.histogram: range must be None or a pair of scalars")
    same = ew.eq(lo, hi)
    lo = ew.select(same, ew.sub(lo, np.array(0.5, dtype)), lo)
    hi = ew.select(same, ew.add(hi, np.array(0.5, dtype)), hi)
    return _linspace_edges(lo, hi, bins_int, dtype)


def _histogram_args(name: str, a: Any, bins: Any, range_: Any) -> tuple[Any, int | None, Any]:
    if isinstance(bins, str):
        raise NotImplementedError(f"jnp.{name}: string values for bins are not supported")
    check_arraylike(name, a)
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        bins_int = operator.index(bins)
        if bins_int < 1:
            raise ValueError(f"jnp.{name}: bins must be positive, got {bins_int}")
        bins_arr = None
    elif isinstance(bins, Tracer) and _aval(bins).ndim == 0:
        raise ConcretizationError(bins, f"the number of bins of jnp.{name}")
    else:
        if isinstance(bins, (list, tuple)):
            bins = np.asarray(bins)
        check_arraylike(name, bins)
        if _aval(bins).ndim != 1:
            raise ValueError(f"jnp.{name}: bins must be an int or a 1-d array of edges, got shape {_aval(bins).shape}")
        bins_int, bins_arr = None, bins
    if range_ is not None:
        if len(range_) != 2:
            raise ValueError(f"jnp.{name}: range must be None or a pair (min, max), got {range_!r}")
        range_ = tuple(range_)
    return bins_arr, bins_int, range_


@numpy_jit(static_argnames=("bins_int",))
def _histogram_bin_edges(a: Any, bins: Any, bins_int: int | None, range_: Any) -> Any:
    return _bin_edges(a, bins, bins_int, range_)


def histogram_bin_edges(a: Any, bins: Any = 10, range: Any = None, weights: Any = None) -> Any:  # noqa: A002
    """The bin edges ``histogram`` would use.

    >>> histogram_bin_edges(np.array([0.0, 4.0]), bins=2).tolist()
    [0.0, 2.0, 4.0]
    """
    bins_arr, bins_int, range_ = _histogram_args("histogram_bin_edges", a, bins, range)
    return _histogram_bin_edges(a, bins_arr, bins_int=bins_int, range_=range_)


@numpy_jit(static_argnames=("bins_int", "density"))
def _histogram(a: Any, bins: Any, bins_int: int | None, range_: Any, weights: Any, density: bool) -> tuple[Any, Any]:
    if weights is None:
        weights = sh.full(_aval(a).shape, 1, _aval(a).dtype)
    elif _aval(weights).shape != _aval(a).shape:
        raise ValueError("jnp.histogram: weights should have the same shape as a")
    a, weights = promote_dtypes_inexact(a, weights)
    a = _ravel(a) if _aval(a).ndim else sh.reshape(a, (1,))
    weights = _ravel(weights) if _aval(weights).ndim else sh.reshape(weights, (1,))
    edges = _bin_edges(a, bins, bins_int, range_)
    edges = ew.convert_element_type(edges, _aval(a).dtype)
    n_edges = _aval(edges).shape[0]
    index = _searchsorted_impl(edges, a, "right", "scan")
    last = sh.broadcast_in_dim(sh.reshape(sh.slice(edges, (n_edges - 1,), (n_edges,)), ()), _aval(a).shape, ())
    index = ew.select(ew.eq(a, last), ew.full_like(index, n_edges - 1), index)
    counts = sh.slice(_scatter_add_1d(n_edges, index, weights), (1,), (n_edges,))
    if density:
        widths = ew.sub(sh.slice(edges, (1,), (n_edges,)), sh.slice(edges, (0,), (n_edges - 1,)))
        total = red.reduce_sum(counts, (0,))
        counts = ew.div(ew.div(counts, widths), sh.broadcast_in_dim(total, _aval(counts).shape, ()))
    return counts, edges


def histogram(a: Any, bins: Any = 10, range: Any = None, weights: Any = None,  # noqa: A002 - numpy name
              density: bool | None = None) -> tuple[Any, Any]:
    """Counts of ``a``'s values in ``bins`` (an int: equal bins over ``range``, default the data's
    min/max; or an array of edges), and the edges. The last bin includes its right edge.

    >>> counts, edges = histogram(np.array([0.0, 1.0, 1.5, 2.0, 5.0]), bins=3)
    >>> counts.tolist()
    [3.0, 1.0, 1.0]
    """
    bins_arr, bins_int, range_ = _histogram_args("histogram", a, bins, range)
    if weights is not None:
        check_arraylike("histogram", weights)
    return _histogram(a, bins_arr, bins_int=bins_int, range_=range_, weights=weights, density=bool(density))


# ----------------------------------------------------------------------------------------------
# Membership and set operations

def _in_sorted(x: Any, sorted_b: Any) -> Any:
    """Whether each element of ``x`` occurs in the sorted 1-d ``sorted_b`` (NaN never does)."""
    n = _aval(sorted_b).shape[0]
    if n == 0:
        return sh.full(_aval(x).shape, False, np.bool_)
    pos = _searchsorted_impl(sorted_b, x, "left", "scan")
    found = ew.eq(_take_1d(sorted_b, ew.min(pos, ew.full_like(pos, n - 1))), x)
    return ew.bitwise_and(found, ew.lt(pos, ew.full_like(pos, n)))


@numpy_jit(static_argnames=("invert", "method"))
def _isin(element: Any, test_elements: Any, invert: bool, method: str) -> Any:
    element, test_elements = promote_dtypes(element, test_elements)
    shape = _aval(element).shape
    x = _ravel(element) if shape else sh.reshape(element, (1,))
    t = _ravel(test_elements) if _aval(test_elements).ndim else sh.reshape(test_elements, (1,))
    n, m = _aval(x).shape[0], _aval(t).shape[0]
    if n == 0 or m == 0:
        found = sh.full((n,), False, np.bool_)
    elif method in ("auto", "compare_all"):
        eq = ew.eq(sh.broadcast_in_dim(x, (n, m), (0,)), sh.broadcast_in_dim(t, (n, m), (1,)))
        found = red.reduce_or(eq, (1,))
    else:  # binary_search, sort
        found = _in_sorted(x, srt.sort(t, 0))
    if invert:
        found = ew.bitwise_not(found)
    return sh.reshape(found, shape)


def isin(element: Any, test_elements: Any, assume_unique: bool = False, invert: bool = False, *,
         method: str = "auto") -> Any:
    """Whether each element of ``element`` is in ``test_elements`` (shaped like ``element``).
    ``method``: 'auto'/'compare_all' (an all-pairs comparison) or 'binary_search'/'sort'.

    >>> isin(np.array([1, 2, 3]), np.array([2, 5])).tolist()
    [False, True, False]
    """
    check_arraylike("isin", element, test_elements)
    if method not in ("auto", "compare_all", "binary_search", "sort"):
        raise ValueError(f"jnp.isin: method must be 'auto', 'compare_all', 'binary_search' or 'sort', got {method!r}")
    return _isin(element, test_elements, invert=bool(invert), method=method)


def _sorted_first(x: Any) -> tuple[Any, Any, Any]:
    """``x`` (1-d) stably sorted, the mask of first-of-run entries, and the permutation."""
    n = _aval(x).shape[0]
    aux, perm = srt.sort((x, _iota(n)), 0, num_keys=1)
    if n == 0:
        return aux, sh.full((0,), False, np.bool_), perm
    differs = ew.bitwise_not(_sort_eq(sh.slice(aux, (1,), (n,)), sh.slice(aux, (0,), (n - 1,))))
    return aux, sh.concatenate([sh.full((1,), True, np.bool_), differs], 0), perm


def _compress(values: Any, mask: Any, size: int, fill: Any) -> tuple[Any, Any, Any]:
    """The first ``size`` entries of the 1-d ``values`` where ``mask``, padded with ``fill``
    (None: the first selected value, or 0 when there is none); also their positions and count."""
    n = _aval(values).shape[0]
    count = _count_true(mask)
    if n == 0:
        return sh.full((size,), 0, _aval(values).dtype), sh.full((size,), 0, _int()), count
    pos = ew.rem(_nonzero_flat(mask, size), sh.full((size,), n, _int()))
    out = _take_1d(values, pos)
    if fill is None:
        first = sh.reshape(sh.slice(out, (0,), (1,)), ()) if size else sh.full((), 0, _aval(values).dtype)
        fill = ew.select(ew.gt(count, ew.full_like(count, 0)), first, ew.full_like(first, 0))
    return _fill_tail(out, count, fill), pos, count


def _set_args(name: str, ar1: Any, ar2: Any) -> tuple[Any, Any]:
    check_arraylike(name, ar1, ar2)
    a, b = promote_dtypes(ar1, ar2)
    flat = lambda x: _ravel(x) if _aval(x).ndim else sh.reshape(x, (1,))  # noqa: E731
    return flat(a), flat(b)


def _set_size(name: str, size: Any, count_fn: Any, *arrays: Any) -> int:
    size = _static_size(name, size)
    if size is not None:
        return size
    concrete = [_concrete(name, x, "size") for x in arrays]
    return int(count_fn(*concrete))


@numpy_jit
def _union_count(ar1: Any, ar2: Any) -> Any:
    a, b = _set_args("union1d", ar1, ar2)
    return _count_true(_sorted_first(sh.concatenate([a, b], 0))[1])


@numpy_jit(static_argnames=("size",))
def _union1d(ar1: Any, ar2: Any, size: int, fill_value: Any) -> Any:
    a, b = _set_args("union1d", ar1, ar2)
    aux, mask, _ = _sorted_first(sh.concatenate([a, b], 0))
    return _compress(aux, mask, size, fill_value)[0]


def union1d(ar1: Any, ar2: Any, *, size: int | None = None, fill_value: Any = None) -> Any:
    """The sorted unique values in either array.

    >>> union1d(np.array([1, 3]), np.array([2, 3])).tolist()
    [1, 2, 3]
    """
    size = _set_size("union1d", size, _union_count, ar1, ar2)
    return _union1d(ar1, ar2, size=size, fill_value=fill_value)


def _setdiff_mask(a: Any, b: Any, assume_unique: bool) -> tuple[Any, Any]:
    sorted_b = srt.sort(b, 0)
    if assume_unique:
        return a, ew.bitwise_not(_in_sorted(a, sorted_b))
    aux, first, _ = _sorted_first(a)
    return aux, ew.bitwise_and(first, ew.bitwise_not(_in_sorted(aux, sorted_b)))


@numpy_jit(static_argnames=("assume_unique",))
def _setdiff_count(ar1: Any, ar2: Any, assume_unique: bool) -> Any:
    a, b = _set_args("setdiff1d", ar1, ar2)
    return _count_true(_setdiff_mask(a, b, assume_unique)[1])


@numpy_jit(static_argnames=("assume_unique", "size"))
def _setdiff1d(ar1: Any, ar2: Any, assume_unique: bool, size: int, fill_value: Any) -> Any:
    a, b = _set_args("setdiff1d", ar1, ar2)
    values, mask = _setdiff_mask(a, b, assume_unique)
    fill = np.zeros((), _aval(values).dtype) if fill_value is None else fill_value
    return _compress(values, mask, size, fill)[0]


def setdiff1d(ar1: Any, ar2: Any, assume_unique: bool = False, *, size: int | None = None,
              fill_value: Any = None) -> Any:
    """The sorted unique values of ``ar1`` that are not in ``ar2`` (padding: ``fill_value``, 0).

    >>> setdiff1d(np.array([1, 2, 3, 3]), np.array([2])).tolist()
    [1, 3]
    """
    size = _set_size("setdiff1d", size, lambda x, y: _setdiff_count(x, y, assume_unique=bool(assume_unique)),
                     ar1, ar2)
    return _setdiff1d(ar1, ar2, assume_unique=bool(assume_unique), size=size, fill_value=fill_value)


def _setxor_mask(a: Any, b: Any) -> tuple[Any, Any]:
    aux, first, _ = _sorted_first(sh.concatenate([a, b], 0))
    in_a = _in_sorted(aux, srt.sort(a, 0))
    in_b = _in_sorted(aux, srt.sort(b, 0))
    return aux, ew.bitwise_and(first, ew.ne(in_a, in_b))


@numpy_jit
def _setxor_count(ar1: Any, ar2: Any) -> Any:
    a, b = _set_args("setxor1d", ar1, ar2)
    return _count_true(_setxor_mask(a, b)[1])


@numpy_jit(static_argnames=("size",))
def _setxor1d(ar1: Any, ar2: Any, size: int, fill_value: Any) -> Any:
    a, b = _set_args("setxor1d", ar1, ar2)
    values, mask = _setxor_mask(a, b)
    return _compress(values, mask, size, fill_value)[0]


def setxor1d(ar1: Any, ar2: Any, assume_unique: bool = False, *, size: int | None = None,
             fill_value: Any = None) -> Any:
    """The sorted unique values in exactly one of the arrays.

    >>> setxor1d(np.array([1, 2, 3]), np.array([2, 4])).tolist()
    [1, 3, 4]
    """
    size = _set_size("setxor1d", size, _setxor_count, ar1, ar2)
    return _setxor1d(ar1, ar2, size=size, fill_value=fill_value)


def _intersect_mask(a: Any, b: Any) -> tuple[Any, Any, Any]:
    aux, first, perm = _sorted_first(a)
    return aux, ew.bitwise_and(first, _in_sorted(aux, srt.sort(b, 0))), perm


@numpy_jit
def _intersect_count(ar1: Any, ar2: Any) -> Any:
    a, b = _set_args("intersect1d", ar1, ar2)
    return _count_true(_intersect_mask(a, b)[1])


@numpy_jit(static_argnames=("return_indices", "size"))
def _intersect1d(ar1: Any, ar2: Any, return_indices: bool, size: int, fill_value: Any) -> Any:
    a, b = _set_args("intersect1d", ar1, ar2)
    aux, mask, perm = _intersect_mask(a, b)
    values, pos, count = _compress(aux, mask, size, fill_value)
    if not return_indices:
        return values
    n1, n2 = _aval(a).shape[0], _aval(b).shape[0]
    # first occurrences: the stable sort keeps equal values in their original order
    idx1 = _take_1d(perm, pos) if n1 else sh.full((size,), 0, _int())
    b_sorted, b_perm = srt.sort((b, _iota(n2)), 0, num_keys=1)
    if n2:
        where_b = _searchsorted_impl(b_sorted, values, "left", "scan")
        idx2 = _take_1d(b_perm, ew.min(where_b, ew.full_like(where_b, n2 - 1)))
    else:
        idx2 = sh.full((size,), 0, _int())
    idx1 = _fill_tail(ew.convert_element_type(idx1, _int()), count, np.array(n1, _int()))
    idx2 = _fill_tail(ew.convert_element_type(idx2, _int()), count, np.array(n2, _int()))
    return values, idx1, idx2


def intersect1d(ar1: Any, ar2: Any, assume_unique: bool = False, return_indices: bool = False, *,
                size: int | None = None, fill_value: Any = None) -> Any:
    """The sorted unique values in both arrays; with ``return_indices``, also the index of each
    value's first occurrence in ``ar1`` and in ``ar2``.

    >>> intersect1d(np.array([1, 2, 3, 3]), np.array([3, 2, 7])).tolist()
    [2, 3]
    """
    size = _set_size("intersect1d", size, _intersect_count, ar1, ar2)
    return _intersect1d(ar1, ar2, return_indices=bool(return_indices), size=size, fill_value=fill_value)
