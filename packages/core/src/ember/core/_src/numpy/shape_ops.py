"""Shapes and layouts: reshape, transpose, stacking, splitting, tiling, padding, rolling...

Static quantities (shapes, axes, split points, pad widths) are Python values; every function
is one compiled program when called eagerly and inlines under a transformation.

    >>> import ember.core.numpy as jnp
    >>> jnp.stack([jnp.asarray(np.arange(2)), jnp.asarray(np.arange(2))], axis=1).tolist()
    [[0, 0], [1, 1]]
"""

from __future__ import annotations

import builtins
import math
from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import ConcretizationError, Tracer, canonicalize_shape, get_aval, operator_index
from ..primitives import elementwise as lax
from ..primitives import shape as sh
from .creation import asarray
from .util import (
    broadcast_shapes as _broadcast_shapes,
)
from .util import (
    broadcast_to_shape,
    canonicalize_axis,
    check_arraylike,
    numpy_jit,
    promote_dtypes,
)

__all__ = [
    "reshape", "ravel", "transpose", "permute_dims", "matrix_transpose", "moveaxis", "swapaxes",
    "rollaxis", "expand_dims", "squeeze", "concatenate", "concat", "stack", "vstack", "row_stack",
    "hstack", "dstack", "column_stack", "block", "split", "array_split", "hsplit", "vsplit", "dsplit",
    "unstack", "tile", "repeat", "broadcast_to", "broadcast_arrays", "broadcast_shapes", "flip",
    "fliplr", "flipud", "rot90", "roll", "pad", "atleast_1d", "atleast_2d", "atleast_3d", "resize",
    "trim_zeros", "append", "insert", "delete", "astype",
]


def _arr(name: str, x: Any) -> Any:
    check_arraylike(name, x)
    return x if isinstance(x, (Array, Tracer)) else asarray(x)


def _ndim(x: Any) -> int:
    return get_aval(x).ndim


def _shape(x: Any) -> tuple[int, ...]:
    return get_aval(x).shape


def _axes_tuple(axis: Any, ndim: int, name: str) -> tuple[int, ...]:
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    out = tuple(canonicalize_axis(a, ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {axes}")
    return out


def _is_concrete_int_array(x: Any) -> bool:
    return isinstance(x, (Array, np.ndarray, np.generic)) and not isinstance(x, Tracer)


# ----------------------------------------------------------------------------------------------
# Reshaping and transposing

def _infer_shape(shape: tuple[int, ...], size: int, name: str) -> tuple[int, ...]:
    holes = [i for i, d in enumerate(shape) if d == -1]
    if len(holes) > 1:
        raise ValueError(f"{name}: can only specify one unknown dimension (-1), got {shape}")
    if any(d < -1 for d in shape):
        raise ValueError(f"{name}: invalid shape {shape}")
    if holes:
        known = math.prod(d for d in shape if d != -1)
        if known == 0 or size % known:
            raise ValueError(f"{name}: cannot reshape an array of size {size} into shape {shape}")
        shape = shape[:holes[0]] + (size // known,) + shape[holes[0] + 1:]
    if math.prod(shape) != size:
        raise ValueError(f"{name}: cannot reshape an array of size {size} into shape {shape}")
    return shape


def _as_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) or (hasattr(shape, "ndim") and shape.ndim == 0):
        return (operator_index(shape),)
    return tuple(operator_index(d) for d in shape)


def reshape(a: Any, shape: Any = None, *args: Any, order: str = "C", newshape: Any = None,
            copy: bool | None = None) -> Any:
    """``a`` with a new shape (one dimension may be -1). ``order='F'`` reads and writes in
    column-major order. The method form ``x.reshape(2, 3)`` is accepted too.

    >>> reshape(asarray([1, 2, 3, 4]), (2, -1)).tolist()
    [[1, 2], [3, 4]]
    """
    if args and isinstance(args[0], str):  # reshape(a, shape, order)
        order, args = args[0], args[1:]
    if args:  # the method form: x.reshape(2, 3)
        shape = (shape,) + tuple(args)
    if shape is None:
        if newshape is None:
            raise TypeError("reshape: missing the `shape` argument")
        shape = newshape
    elif newshape is not None:
        raise TypeError("reshape: pass `shape` or `newshape`, not both")
    a = _arr("reshape", a)
    new = _infer_shape(_as_shape(shape), get_aval(a).size, "reshape")
    if order == "C":
        return sh.reshape(a, new)
    if order == "F":
        return sh.transpose(sh.reshape(sh.transpose(a, tuple(reversed(range(_ndim(a))))), new[::-1]),
                            tuple(reversed(range(len(new)))))
    raise NotImplementedError(f"reshape: order must be 'C' or 'F', got {order!r}")


def ravel(a: Any, order: str = "C") -> Any:
    """``a`` flattened to 1-D.

    >>> ravel(asarray([[1, 2], [3, 4]])).tolist()
    [1, 2, 3, 4]
    """
    a = _arr("ravel", a)
    return reshape(a, (get_aval(a).size,), order=order)


def transpose(a: Any, axes: Any = None, *more_axes: Any) -> Any:
    """Permute the axes of ``a`` (reversed when ``axes`` is None). ``x.transpose(1, 0)`` works too.

    >>> transpose(asarray(np.ones((2, 3)))).shape
    (3, 2)
    """
    a = _arr("transpose", a)
    nd = _ndim(a)
    if more_axes:
        axes = (axes,) + more_axes
    if axes is None:
        perm = tuple(reversed(range(nd)))
    else:
        perm = tuple(canonicalize_axis(p, nd) for p in (axes if isinstance(axes, (tuple, list)) else (axes,)))
        if sorted(perm) != list(range(nd)):
            raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the {nd} axes of {_shape(a)}")
    return sh.transpose(a, perm)


def permute_dims(a: Any, /, axes: Sequence[int]) -> Any:
    """Array-API name of ``transpose`` (``axes`` is required).

    >>> import ember.core.numpy as jnp
    >>> jnp.permute_dims(jnp.zeros((2, 3, 4)), (2, 0, 1)).shape
    (4, 2, 3)
    """
    return transpose(a, tuple(axes))


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes.

    >>> matrix_transpose(asarray(np.ones((4, 2, 3)))).shape
    (4, 3, 2)
    """
    x = _arr("matrix_transpose", x)
    nd = _ndim(x)
    if nd < 2:
        raise ValueError(f"matrix_transpose: expected an array of rank >= 2, got shape {_shape(x)}")
    return sh.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Move axes ``source`` to positions ``destination``; the others keep their order.

    >>> moveaxis(asarray(np.ones((2, 3, 4))), 0, -1).shape
    (3, 4, 2)
    """
    a = _arr("moveaxis", a)
    nd = _ndim(a)
    src = _axes_tuple(source, nd, "moveaxis")
    dst = _axes_tuple(destination, nd, "moveaxis")
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} need the same number of axes")
    perm = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return sh.transpose(a, tuple(perm))


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """Interchange two axes.

    >>> swapaxes(asarray(np.ones((2, 3))), 0, 1).shape
    (3, 2)
    """
    a = _arr("swapaxes", a)
    nd = _ndim(a)
    i, j = canonicalize_axis(axis1, nd), canonicalize_axis(axis2, nd)
    perm = list(range(nd))
    perm[i], perm[j] = perm[j], perm[i]
    return sh.transpose(a, tuple(perm))


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """Roll ``axis`` backwards until it lies before position ``start`` (prefer ``moveaxis``).

    >>> rollaxis(asarray(np.ones((2, 3, 4))), 2).shape
    (4, 2, 3)
    """
    a = _arr("rollaxis", a)
    nd = _ndim(a)
    axis = canonicalize_axis(axis, nd)
    start = operator_index(start)
    if not -nd <= start <= nd:
        raise ValueError(f"rollaxis: start {start} is out of range for an array of rank {nd}")
    start = start + nd if start < 0 else start
    if start > axis:
        start -= 1
    return moveaxis(a, axis, start)


def expand_dims(a: Any, axis: Any) -> Any:
    """Insert size-1 axes at the positions ``axis`` (an int or a tuple) of the result.

    >>> expand_dims(asarray(np.ones((2,))), (0, 2)).shape
    (1, 2, 1)
    """
    a = _arr("expand_dims", a)
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    out_nd = _ndim(a) + len(axes)
    norm = _axes_tuple(axes, out_nd, "expand_dims")
    return sh.expand_dims(a, norm)


def squeeze(a: Any, axis: Any = None) -> Any:
    """Remove size-1 axes (all of them when ``axis`` is None).

    >>> squeeze(asarray(np.ones((1, 2, 1)))).shape
    (2,)
    """
    a = _arr("squeeze", a)
    shape = _shape(a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(shape) if d == 1)
    else:
        axes = _axes_tuple(axis, len(shape), "squeeze")
        for ax in axes:
            if shape[ax] != 1:
                raise ValueError(f"squeeze: cannot select axis {ax} to squeeze out: it has size "
                                 f"{shape[ax]}, not 1 (shape {shape})")
    return sh.squeeze(a, axes)


def astype(x: Any, dtype: Any, /, *, copy: bool = False, device: Any = None) -> Any:
    """``x`` converted to ``dtype`` (complex to real keeps the real part).

    >>> astype(asarray([1.7, -1.7]), "int32").tolist()
    [1, -1]
    """
    x = _arr("astype", x)
    out = lax.convert_element_type(x, dtypes.canonicalize_dtype(dtype))
    if device is not None:
        from .creation import _place
        out = _place(out, device)
    return out


# ----------------------------------------------------------------------------------------------
# Joining

def _as_list(name: str, arrays: Any) -> list[Any]:
    if isinstance(arrays, (Array, Tracer, np.ndarray)):
        n = get_aval(arrays).shape[0] if get_aval(arrays).ndim else None
        if n is None:
            raise ValueError(f"{name}: a 0-d array is not a sequence of arrays")
        return [sh.index_in_dim(asarray(arrays), i, 0, keepdims=False) for i in range(n)]
    arrays = list(arrays)
    check_arraylike(name, *arrays)
    return arrays


def _promote_to(arrays: list[Any], dtype: Any) -> list[Any]:
    if dtype is not None:
        dt = dtypes.canonicalize_dtype(dtype)
        return [lax.convert_element_type(a, dt) for a in arrays]
    return promote_dtypes(*arrays) if len(arrays) > 1 else list(arrays)


def concatenate(arrays: Any, axis: int | None = 0, dtype: Any = None) -> Any:
    """Join arrays along an existing axis (``axis=None`` flattens them first); dtypes promote.

    >>> concatenate([asarray([1]), asarray([2.5])]).tolist()
    [1.0, 2.5]
    """
    arrays = _as_list("concatenate", arrays)
    if not arrays:
        raise ValueError("concatenate: need at least one array")
    return _concatenate(arrays, None if axis is None else operator_index(axis),
                        None if dtype is None else dtypes.canonicalize_dtype(dtype))


@numpy_jit(static_argnums=(1, 2))
def _concatenate(arrays: list[Any], axis: int | None, dtype: Any) -> Any:
    arrays = _promote_to([asarray(a) if not isinstance(a, (Array, Tracer)) else a for a in arrays], dtype)
    if axis is None:
        arrays = [sh.reshape(a, (get_aval(a).size,)) for a in arrays]
        axis = 0
    nd = _ndim(arrays[0])
    if nd == 0:
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    for i, a in enumerate(arrays):
        if _ndim(a) != nd:
            raise ValueError(f"concatenate: all arrays must have the same number of dimensions; array 0 "
                             f"has shape {_shape(arrays[0])} and array {i} has shape {_shape(a)}")
    axis = canonicalize_axis(axis, nd)
    return sh.concatenate(arrays, axis)


def concat(arrays: Any, /, *, axis: int | None = 0) -> Any:
    """Array-API name of ``concatenate``.

    >>> import ember.core.numpy as jnp
    >>> jnp.concat([jnp.zeros(2), jnp.ones(1)]).tolist()
    [0.0, 0.0, 1.0]
    """
    return concatenate(arrays, axis=axis)


def stack(arrays: Any, axis: int = 0, out: None = None, dtype: Any = None) -> Any:
    """Join equal-shape arrays along a new axis.

    >>> stack([asarray([1, 2]), asarray([3, 4])]).shape
    (2, 2)
    """
    if out is not None:
        raise NotImplementedError("stack: the `out` argument is not supported (arrays are immutable)")
    arrays = _as_list("stack", arrays)
    if not arrays:
        raise ValueError("stack: need at least one array")
    shapes = {np.shape(a) if not isinstance(a, (Array, Tracer)) else _shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got {sorted(shapes)}")
    nd = len(shapes.pop()) + 1
    axis = canonicalize_axis(axis, nd)
    return _stack(arrays, axis, None if dtype is None else dtypes.canonicalize_dtype(dtype))


@numpy_jit(static_argnums=(1, 2))
def _stack(arrays: list[Any], axis: int, dtype: Any) -> Any:
    expanded = [sh.expand_dims(a, (axis,)) for a in arrays]
    return _concatenate(expanded, axis, dtype)


def _atleast(x: Any, n: int) -> Any:
    x = _arr(f"atleast_{n}d", x)
    nd = _ndim(x)
    if nd >= n:
        return x
    shape = _shape(x)
    if n == 1:
        return sh.reshape(x, (1,))
    if n == 2:
        return sh.reshape(x, (1,) * (2 - nd) + shape)
    if nd == 0:
        return sh.reshape(x, (1, 1, 1))
    if nd == 1:
        return sh.reshape(x, (1,) + shape + (1,))
    return sh.reshape(x, shape + (1,))


def atleast_1d(*arys: Any) -> Any:
    """Each input as an array of rank >= 1 (one array in, one array out; else a list).

    >>> atleast_1d(1.0).shape
    (1,)
    """
    out = [_atleast(a, 1) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys: Any) -> Any:
    """Each input as an array of rank >= 2 (a 1-D array becomes a row).

    >>> atleast_2d(asarray([1, 2])).shape
    (1, 2)
    """
    out = [_atleast(a, 2) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    """Each input as an array of rank >= 3: (N,) -> (1, N, 1), (M, N) -> (M, N, 1).

    >>> atleast_3d(asarray([1, 2])).shape
    (1, 2, 1)
    """
    out = [_atleast(a, 3) for a in arys]
    return out[0] if len(out) == 1 else out


def vstack(tup: Any, dtype: Any = None) -> Any:
    """Stack arrays row-wise (along axis 0, after ``atleast_2d``).

    >>> vstack([asarray([1, 2]), asarray([3, 4])]).shape
    (2, 2)
    """
    arrays = [_atleast(a, 2) for a in _as_list("vstack", tup)]
    return concatenate(arrays, axis=0, dtype=dtype)


row_stack = vstack


def hstack(tup: Any, dtype: Any = None) -> Any:
    """Stack arrays column-wise (axis 1, or axis 0 for 1-D inputs).

    >>> hstack([asarray([1, 2]), asarray([3])]).tolist()
    [1, 2, 3]
    """
    arrays = [_atleast(a, 1) for a in _as_list("hstack", tup)]
    axis = 0 if arrays and _ndim(arrays[0]) == 1 else 1
    return concatenate(arrays, axis=axis, dtype=dtype)


def dstack(tup: Any, dtype: Any = None) -> Any:
    """Stack arrays depth-wise (axis 2, after ``atleast_3d``).

    >>> dstack([asarray([1, 2]), asarray([3, 4])]).shape
    (1, 2, 2)
    """
    arrays = [_atleast(a, 3) for a in _as_list("dstack", tup)]
    return concatenate(arrays, axis=2, dtype=dtype)


def column_stack(tup: Any) -> Any:
    """Stack 1-D arrays as the columns of a 2-D array (2-D inputs are joined along axis 1).

    >>> column_stack([asarray([1, 2]), asarray([3, 4])]).tolist()
    [[1, 3], [2, 4]]
    """
    arrays = []
    for a in _as_list("column_stack", tup):
        a = _arr("column_stack", a)
        arrays.append(sh.reshape(a, (_shape(a)[0], 1)) if _ndim(a) == 1 else _atleast(a, 2))
    return concatenate(arrays, axis=1)


def block(arrays: Any) -> Any:
    """Assemble an array from nested lists of blocks (innermost lists join along the last axis).

    >>> block([[asarray(np.eye(2)), asarray(np.zeros((2, 1)))]]).shape
    (2, 3)
    """
    def depth_and_check(x: Any, path: str) -> int:
        if isinstance(x, tuple):
            raise TypeError(f"block: {path} is a tuple; only lists may be nested")
        if isinstance(x, list):
            if not x:
                raise ValueError(f"block: {path} is an empty list")
            depths = {depth_and_check(e, f"{path}[{i}]") for i, e in enumerate(x)}
            if len(depths) != 1:
                raise ValueError(f"block: list depths are mismatched at {path}")
            return depths.pop() + 1
        return 0

    list_depth = depth_and_check(arrays, "arrays")

    def max_ndim(x: Any) -> int:
        if isinstance(x, list):
            return builtins.max(max_ndim(e) for e in x)
        return np.ndim(x) if not isinstance(x, (Array, Tracer)) else _ndim(x)

    result_ndim = builtins.max(list_depth, max_ndim(arrays))

    def assemble(x: Any, depth: int) -> Any:
        if depth == list_depth:
            x = _arr("block", x)
            nd = _ndim(x)
            return sh.reshape(x, (1,) * (result_ndim - nd) + _shape(x)) if nd < result_ndim else x
        parts = [assemble(e, depth + 1) for e in x]
        return concatenate(parts, axis=-(list_depth - depth)) if len(parts) > 1 else parts[0]

    if list_depth == 0:
        return _arr("block", arrays)
    return assemble(arrays, 0)


# ----------------------------------------------------------------------------------------------
# Splitting

def _split_points(n: int, indices_or_sections: Any, name: str, even: bool) -> tuple[tuple[int, int], ...]:
    if isinstance(indices_or_sections, (int, np.integer)) or (
            hasattr(indices_or_sections, "ndim") and indices_or_sections.ndim == 0):
        sections = operator_index(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{name}: the number of sections must be positive, got {sections}")
        if even and n % sections:
            raise ValueError(f"{name}: array split does not result in an equal division ({n} into {sections})")
        base, extra = divmod(n, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
        bounds, start = [], 0
        for s in sizes:
            bounds.append((start, start + s))
            start += s
        return tuple(bounds)
    if isinstance(indices_or_sections, Tracer):
        raise ConcretizationError(indices_or_sections, f"{name}'s split indices (they fix the output shapes)")
    points = [operator_index(i) for i in np.asarray(indices_or_sections).reshape(-1).tolist()]
    edges = [0] + points + [n]
    bounds = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        start, stop, _ = builtins.slice(lo, hi).indices(n)
        bounds.append((start, builtins.max(stop, start)))
    return tuple(bounds)


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into equal sections (an int) or at the given indices.

    >>> [p.tolist() for p in split(asarray(np.arange(4)), 2)]
    [[0, 1], [2, 3]]
    """
    ary = _arr("split", ary)
    axis = canonicalize_axis(axis, _ndim(ary))
    bounds = _split_points(_shape(ary)[axis], indices_or_sections, "split", even=True)
    return _split(ary, bounds, axis)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Like ``split``, but sections may differ in size by one.

    >>> [p.tolist() for p in array_split(asarray(np.arange(5)), 2)]
    [[0, 1, 2], [3, 4]]
    """
    ary = _arr("array_split", ary)
    axis = canonicalize_axis(axis, _ndim(ary))
    bounds = _split_points(_shape(ary)[axis], indices_or_sections, "array_split", even=False)
    return _split(ary, bounds, axis)


@numpy_jit(static_argnums=(1, 2))
def _split(ary: Any, bounds: tuple[tuple[int, int], ...], axis: int) -> list[Any]:
    return [sh.slice_in_dim(ary, lo, hi, 1, axis) for lo, hi in bounds]


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``split`` along axis 1 (axis 0 for 1-D arrays).

    >>> import ember.core.numpy as jnp
    >>> [a.tolist() for a in jnp.hsplit(jnp.arange(4), 2)]
    [[0, 1], [2, 3]]
    """
    ary = _arr("hsplit", ary)
    if _ndim(ary) == 0:
        raise ValueError("hsplit: the array must have at least 1 dimension")
    return split(ary, indices_or_sections, axis=1 if _ndim(ary) > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``split`` along axis 0 of an array of rank >= 2.

    >>> import ember.core.numpy as jnp
    >>> [a.shape for a in jnp.vsplit(jnp.zeros((4, 2)), 2)]
    [(2, 2), (2, 2)]
    """
    ary = _arr("vsplit", ary)
    if _ndim(ary) < 2:
        raise ValueError("vsplit: the array must have at least 2 dimensions")
    return split(ary, indices_or_sections, axis=0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``split`` along axis 2 of an array of rank >= 3."""
    ary = _arr("dsplit", ary)
    if _ndim(ary) < 3:
        raise ValueError("dsplit: the array must have at least 3 dimensions")
    return split(ary, indices_or_sections, axis=2)


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    """The slices of ``x`` along ``axis``, as a tuple.

    >>> len(unstack(asarray(np.ones((3, 2)))))
    3
    """
    x = _arr("unstack", x)
    if _ndim(x) == 0:
        raise ValueError("unstack: the array must have at least 1 dimension")
    axis = canonicalize_axis(axis, _ndim(x))
    return tuple(_unstack(x, axis))


@numpy_jit(static_argnums=(1,))
def _unstack(x: Any, axis: int) -> list[Any]:
    return [sh.index_in_dim(x, i, axis, keepdims=False) for i in range(_shape(x)[axis])]


# ----------------------------------------------------------------------------------------------
# Tiling and repeating

def tile(A: Any, reps: Any) -> Any:
    """Repeat the whole of ``A`` ``reps`` times along each axis.

    >>> tile(asarray([1, 2]), 2).tolist()
    [1, 2, 1, 2]
    """
    A = _arr("tile", A)
    reps_t = (operator_index(reps),) if isinstance(reps, (int, np.integer)) else tuple(operator_index(r) for r in reps)
    if any(r < 0 for r in reps_t):
        raise ValueError(f"tile: reps must be non-negative, got {reps_t}")
    return _tile(A, reps_t)


@numpy_jit(static_argnums=(1,))
def _tile(A: Any, reps: tuple[int, ...]) -> Any:
    d = builtins.max(len(reps), _ndim(A))
    reps = (1,) * (d - len(reps)) + reps
    shape = (1,) * (d - _ndim(A)) + _shape(A)
    A = sh.reshape(A, shape)
    wide = []
    for r, n in zip(reps, shape):
        wide += [r, n]
    out = sh.broadcast_in_dim(A, tuple(wide), tuple(range(1, 2 * d, 2)))
    return sh.reshape(out, tuple(r * n for r, n in zip(reps, shape)))


def repeat(a: Any, repeats: Any, axis: int | None = None, *, total_repeat_length: int | None = None) -> Any:
    """Repeat each element of ``a`` ``repeats`` times (an int, or one count per element along
    ``axis``). Under jit, array-valued ``repeats`` needs a static ``total_repeat_length``.

    >>> repeat(asarray([1, 2]), 2).tolist()
    [1, 1, 2, 2]
    >>> repeat(asarray([1, 2]), asarray([1, 3])).tolist()
    [1, 2, 2, 2]
    """
    a = _arr("repeat", a)
    check_arraylike("repeat", repeats)
    if axis is None:
        a = sh.reshape(a, (get_aval(a).size,))
        axis = 0
    axis = canonicalize_axis(axis, builtins.max(_ndim(a), 1))
    if _ndim(a) == 0:
        a = sh.reshape(a, (1,))
    n = _shape(a)[axis]
    if total_repeat_length is not None:
        total_repeat_length = operator_index(total_repeat_length)
    if isinstance(repeats, (Tracer,)):
        if total_repeat_length is None:
            raise ConcretizationError(repeats, "repeat's `repeats` under jit (pass a static total_repeat_length)")
        rep = sh.broadcast_in_dim(repeats, (n,), ()) if get_aval(repeats).ndim == 0 else repeats
        return _repeat_traced(a, rep, axis, total_repeat_length)
    reps_np = np.asarray(repeats)
    if reps_np.dtype.kind not in "iub":
        raise TypeError(f"repeat: repeats must be integers, got {reps_np.dtype}")
    if np.any(reps_np < 0):
        raise ValueError("repeat: repeats may not be negative")
    if reps_np.ndim == 0:
        r = int(reps_np)
        if total_repeat_length is not None and total_repeat_length != r * n:
            reps_np = np.full((n,), r)
        else:
            return _repeat_scalar(a, r, axis)
    reps_np = np.broadcast_to(reps_np.reshape(-1), (n,)) if reps_np.size == 1 else reps_np.reshape(-1)
    if reps_np.shape != (n,):
        raise ValueError(f"repeat: {reps_np.size} repeats for an axis of length {n}")
    idx = np.repeat(np.arange(n), reps_np)
    if total_repeat_length is not None:
        idx = idx[:total_repeat_length]
        if idx.size < total_repeat_length:
            idx = np.concatenate([idx, np.full(total_repeat_length - idx.size, n - 1 if n else 0)])
    return take_static(a, tuple(int(i) for i in idx), axis)


@numpy_jit(static_argnums=(1, 2))
def _repeat_scalar(a: Any, r: int, axis: int) -> Any:
    shape = _shape(a)
    wide = shape[:axis + 1] + (r,) + shape[axis + 1:]
    dims = tuple(i for i in range(len(wide)) if i != axis + 1)
    out = sh.broadcast_in_dim(a, wide, dims)
    return sh.reshape(out, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])


@numpy_jit(static_argnums=(2, 3))
def _repeat_traced(a: Any, repeats: Any, axis: int, total: int) -> Any:
    from ..primitives.reductions import reduce_sum
    from .reductions import cumsum
    n = _shape(a)[axis]
    ends = cumsum(lax.convert_element_type(repeats, np.int32))  # element i fills [ends[i-1], ends[i])
    # output position j takes element #{i : ends[i] <= j}
    pos = sh.broadcasted_iota(np.int32, (total, n), 0)
    reached = lax.le(sh.broadcast_in_dim(ends, (total, n), (1,)), pos)
    counts = reduce_sum(lax.convert_element_type(reached, np.int32), (1,))
    idx = lax.min(counts, sh.full((total,), builtins.max(n - 1, 0), np.int32))
    return take_dynamic(a, idx, axis)


def take_static(x: Any, idx: Sequence[int], axis: int) -> Any:
    """``x`` indexed along ``axis`` by static non-negative indices, as slices and reversals of
    runs of consecutive indices (a gather when the indices have no structure)."""
    if len(idx) > 64 and _count_runs(idx) > 16:
        return take_dynamic(x, np.asarray(idx, np.int32), axis)
    return _take_static(x, tuple(idx), axis)


def _runs(idx: Sequence[int]) -> list[tuple[int, int, int]]:
    """(first, length, step) runs with step in {1, -1, 0}."""
    runs = []
    i, n = 0, len(idx)
    while i < n:
        step = idx[i + 1] - idx[i] if i + 1 < n and idx[i + 1] - idx[i] in (1, -1, 0) else 1
        j = i + 1
        while j < n and idx[j] - idx[j - 1] == step:
            j += 1
        runs.append((idx[i], j - i, step))
        i = j
    return runs


def _count_runs(idx: Sequence[int]) -> int:
    return len(_runs(idx))


@numpy_jit(static_argnums=(1, 2))
def _take_static(x: Any, idx: tuple[int, ...], axis: int) -> Any:
    pieces = []
    for first, length, step in _runs(idx):
        if step == 1:
            pieces.append(sh.slice_in_dim(x, first, first + length, 1, axis))
        elif step == -1:
            pieces.append(sh.rev(sh.slice_in_dim(x, first - length + 1, first + 1, 1, axis), (axis,)))
        else:
            one = sh.slice_in_dim(x, first, first + 1, 1, axis)
            shape = list(_shape(one))
            shape[axis] = length
            pieces.append(sh.broadcast_in_dim(one, tuple(shape), tuple(range(len(shape)))))
    if not pieces:
        return sh.slice_in_dim(x, 0, 0, 1, axis)
    return sh.concatenate(pieces, axis) if len(pieces) > 1 else pieces[0]


def take_dynamic(x: Any, idx: Any, axis: int) -> Any:
    """``x`` indexed along ``axis`` by an integer index array (a gather; indices are clipped)."""
    from .indexing import take
    return take(x, idx, axis=axis, mode="clip")


# ----------------------------------------------------------------------------------------------
# Broadcasting

def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to.

    >>> broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    return _broadcast_shapes(*[(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes])


def broadcast_to(array: Any, shape: Any) -> Any:
    """``array`` broadcast to ``shape``.

    >>> broadcast_to(asarray([1, 2]), (2, 2)).tolist()
    [[1, 2], [1, 2]]
    """
    array = _arr("broadcast_to", array)
    shape = canonicalize_shape(shape) if not isinstance(shape, (int, np.integer)) else (operator_index(shape),)
    in_shape = _shape(array)
    if len(in_shape) > len(shape) or any(
            d != 1 and d != s for d, s in zip(in_shape[::-1], shape[::-1])):
        raise ValueError(f"broadcast_to: incompatible shapes for broadcasting: {in_shape} and requested shape {shape}")
    return broadcast_to_shape(array, shape)


def broadcast_arrays(*args: Any) -> list[Any]:
    """The arguments broadcast against each other.

    >>> [a.shape for a in broadcast_arrays(asarray(np.ones((2, 1))), asarray(np.ones(3)))]
    [(2, 3), (2, 3)]
    """
    arrays = [_arr("broadcast_arrays", a) for a in args]
    shape = _broadcast_shapes(*[_shape(a) for a in arrays])
    return [broadcast_to_shape(a, shape) for a in arrays]


# ----------------------------------------------------------------------------------------------
# Flipping, rotating, rolling

def flip(m: Any, axis: Any = None) -> Any:
    """Reverse the order of elements along ``axis`` (all axes when None).

    >>> flip(asarray([1, 2, 3])).tolist()
    [3, 2, 1]
    """
    m = _arr("flip", m)
    axes = tuple(range(_ndim(m))) if axis is None else _axes_tuple(axis, _ndim(m), "flip")
    return sh.rev(m, axes)


def fliplr(m: Any) -> Any:
    """Reverse axis 1 (left/right).

    >>> import ember.core.numpy as jnp
    >>> jnp.fliplr(jnp.array([[1, 2], [3, 4]])).tolist()
    [[2, 1], [4, 3]]
    """
    m = _arr("fliplr", m)
    if _ndim(m) < 2:
        raise ValueError("fliplr: the array must be at least 2-D")
    return sh.rev(m, (1,))


def flipud(m: Any) -> Any:
    """Reverse axis 0 (up/down).

    >>> import ember.core.numpy as jnp
    >>> jnp.flipud(jnp.array([[1, 2], [3, 4]])).tolist()
    [[3, 4], [1, 2]]
    """
    m = _arr("flipud", m)
    if _ndim(m) < 1:
        raise ValueError("flipud: the array must be at least 1-D")
    return sh.rev(m, (0,))


def rot90(m: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Any:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (from the first toward the second).

    >>> rot90(asarray([[1, 2], [3, 4]])).tolist()
    [[2, 4], [1, 3]]
    """
    m = _arr("rot90", m)
    nd = _ndim(m)
    if len(axes) != 2:
        raise ValueError("rot90: axes must have length 2")
    a0, a1 = canonicalize_axis(axes[0], nd), canonicalize_axis(axes[1], nd)
    if a0 == a1:
        raise ValueError("rot90: the axes must be different")
    k = operator_index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return sh.rev(m, (a0, a1))
    perm = list(range(nd))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return sh.transpose(sh.rev(m, (a1,)), tuple(perm))
    return sh.rev(sh.transpose(m, tuple(perm)), (a1,))


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Shift elements cyclically along ``axis`` (the flattened array when None). ``shift`` may be
    a traced integer.

    >>> roll(asarray([1, 2, 3]), 1).tolist()
    [3, 1, 2]
    """
    a = _arr("roll", a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape(a))
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    axes = tuple(canonicalize_axis(ax, _ndim(a)) for ax in axes)
    if isinstance(shift, Tracer):
        shifts = shift if get_aval(shift).ndim else sh.broadcast_in_dim(shift, (len(axes),), ())
        if get_aval(shifts).shape[0] == 1 and len(axes) > 1:
            shifts = sh.broadcast_in_dim(sh.reshape(shifts, ()), (len(axes),), ())
        if get_aval(shifts).shape[0] != len(axes):
            if len(axes) == 1:
                return _roll_dynamic(a, shifts, axes * get_aval(shifts).shape[0])
            raise ValueError(f"roll: {get_aval(shifts).shape[0]} shifts for {len(axes)} axes")
        return _roll_dynamic(a, shifts, axes)
    shifts_np = np.asarray(shift)
    if shifts_np.dtype.kind not in "iub":
        raise TypeError(f"roll: shift must be integer, got {shifts_np.dtype}")
    shifts_b, axes_b = np.broadcast_arrays(shifts_np.reshape(-1) if shifts_np.ndim else shifts_np, np.asarray(axes))
    total: dict[int, int] = {}
    for s, ax in zip(np.atleast_1d(shifts_b).tolist(), np.atleast_1d(axes_b).tolist()):
        total[ax] = total.get(ax, 0) + int(s)
    return _roll_static(a, tuple(sorted(total.items())))


@numpy_jit(static_argnums=(1,))
def _roll_static(a: Any, shifts: tuple[tuple[int, int], ...]) -> Any:
    for ax, s in shifts:
        n = _shape(a)[ax]
        if n == 0:
            continue
        s %= n
        if s:
            a = sh.concatenate([sh.slice_in_dim(a, n - s, n, 1, ax), sh.slice_in_dim(a, 0, n - s, 1, ax)], ax)
    return a


@numpy_jit(static_argnums=(2,))
def _roll_dynamic(a: Any, shifts: Any, axes: tuple[int, ...]) -> Any:
    from .ufuncs import remainder
    shifts = lax.convert_element_type(shifts, np.int32)
    for i, ax in enumerate(axes):
        n = _shape(a)[ax]
        if n == 0:
            continue
        s = remainder(sh.index_in_dim(shifts, i, 0, keepdims=False), np.int32(n))
        doubled = sh.concatenate([a, a], ax)
        a = sh.dynamic_slice_in_dim(doubled, lax.sub(np.int32(n), s), n, ax)
    return a


# ----------------------------------------------------------------------------------------------
# Padding

def _pairs(value: Any, nd: int, name: str, *, integral: bool = True) -> tuple[tuple[Any, Any], ...]:
    """NumPy's pad-argument forms: scalar, (v,), (before, after), or one pair per axis."""
    if isinstance(value, (Array, Tracer)) and integral:
        if isinstance(value, Tracer):
            raise ConcretizationError(value, f"pad's `{name}` (it fixes the output shape)")
        value = np.asarray(value)
    arr = np.asarray(value, dtype=object) if not isinstance(value, (Array, Tracer)) else None
    if arr is None:  # an array of values (constant_values / end_values)
        shape = get_aval(value).shape
        if shape in ((), (1,), (1, 1)):
            v = sh.reshape(value, ())
            return ((v, v),) * nd
        if shape in ((2,), (1, 2)):
            v = sh.reshape(value, (2,))
            lo, hi = sh.index_in_dim(v, 0, 0, False), sh.index_in_dim(v, 1, 0, False)
            return ((lo, hi),) * nd
        if shape == (nd, 2):
            return tuple((_elem(value, i, 0), _elem(value, i, 1)) for i in range(nd))
        if shape == (nd, 1):
            return tuple((_elem(value, i, 0), _elem(value, i, 0)) for i in range(nd))
        raise ValueError(f"pad: `{name}` of shape {shape} does not match an array of rank {nd}")
    if arr.ndim == 0:
        pairs = ((arr.item(), arr.item()),) * nd
    elif arr.shape == (1,):
        pairs = ((arr[0], arr[0]),) * nd
    elif arr.shape in ((2,), (1, 2)):
        flat = arr.reshape(-1)
        pairs = ((flat[0], flat[1]),) * nd
    elif arr.shape == (nd, 2):
        pairs = tuple((arr[i, 0], arr[i, 1]) for i in range(nd))
    elif arr.shape == (nd, 1):
        pairs = tuple((arr[i, 0], arr[i, 0]) for i in range(nd))
    else:
        raise ValueError(f"pad: `{name}` of shape {arr.shape} does not match an array of rank {nd}")
    if integral:
        out = []
        for lo, hi in pairs:
            if isinstance(lo, Tracer) or isinstance(hi, Tracer):
                raise ConcretizationError(lo if isinstance(lo, Tracer) else hi, f"pad's `{name}`")
            lo_i, hi_i = operator_index(np.asarray(lo).item()), operator_index(np.asarray(hi).item())
            if lo_i < 0 or hi_i < 0:
                raise ValueError(f"pad: `{name}` must be non-negative, got {tuple(pairs)}")
            out.append((lo_i, hi_i))
        return tuple(out)
    return pairs


def _elem(v: Any, i: int, j: int) -> Any:
    return sh.reshape(sh.slice(v, (i, j), (i + 1, j + 1)), ())


_PAD_KWARGS = {
    "constant": ("constant_values",), "edge": (), "wrap": (), "empty": (),
    "linear_ramp": ("end_values",), "maximum": ("stat_length",), "minimum": ("stat_length",),
    "mean": ("stat_length",), "median": ("stat_length",), "reflect": ("reflect_type",),
    "symmetric": ("reflect_type",),
}


def pad(array: Any, pad_width: Any, mode: str | Callable[..., Any] = "constant", **kwargs: Any) -> Any:
    """Pad ``array``: modes 'constant' (``constant_values`` per axis and side), 'edge',
    'reflect', 'symmetric' (``reflect_type`` 'even' or 'odd'), 'wrap', 'linear_ramp'
    (``end_values``), 'maximum', 'minimum', 'mean', 'median' (``stat_length``), 'empty', or a
    callable ``f(row, pad_width, iaxis, kwargs) -> row`` applied along each axis.

    >>> pad(asarray([1, 2]), 1).tolist()
    [0, 1, 2, 0]
    >>> pad(asarray([1, 2, 3]), 2, mode="reflect").tolist()
    [3, 2, 1, 2, 3, 2, 1]
    """
    array = _arr("pad", array)
    nd = _ndim(array)
    widths = _pairs(pad_width, nd, "pad_width")
    if callable(mode):
        return _pad_callable(array, widths, mode, kwargs)
    if mode not in _PAD_KWARGS:
        raise NotImplementedError(f"pad: unknown mode {mode!r}; supported: {', '.join(_PAD_KWARGS)}, or a callable")
    extra = set(kwargs) - set(_PAD_KWARGS[mode])
    if extra:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: {sorted(extra)}")
    if nd == 0:
        return array
    if mode == "constant":
        values = kwargs.get("constant_values", 0)
        if isinstance(values, (Array, Tracer)):
            return _pad_constant_array(array, values, widths)
        host = np.asarray(values)
        if host.dtype == np.dtype("O"):
            raise TypeError(f"pad: constant_values must be numbers, got {values!r}")
        if host.ndim == 0:
            return _pad_constant_scalar(array, widths, host.astype(get_aval(array).dtype))
        return _pad_constant_array(array, asarray(host), widths)
    if mode == "empty":
        return _pad_constant_scalar(array, widths, np.zeros((), get_aval(array).dtype))
    if mode in ("edge", "wrap"):
        return _pad_index_map(array, widths, mode)
    if mode in ("reflect", "symmetric"):
        reflect_type = kwargs.get("reflect_type", "even")
        if reflect_type not in ("even", "odd"):
            raise ValueError(f"pad: reflect_type must be 'even' or 'odd', got {reflect_type!r}")
        if reflect_type == "even":
            return _pad_index_map(array, widths, mode)
        return _pad_reflect_odd(array, widths, mode)
    if mode == "linear_ramp":
        end_values = kwargs.get("end_values", 0)
        if not isinstance(end_values, (Array, Tracer)):
            end_values = asarray(np.asarray(end_values))
        return _pad_linear_ramp(array, end_values, widths)
    stat_length = kwargs.get("stat_length")
    lengths = None if stat_length is None else _pairs(stat_length, nd, "stat_length")
    return _pad_stats(array, widths, lengths, mode)


@numpy_jit(static_argnums=(1,))
def _pad_constant_scalar(array: Any, widths: tuple[tuple[int, int], ...], value: Any) -> Any:
    return sh.pad(array, value, [(lo, hi, 0) for lo, hi in widths])


@numpy_jit(static_argnums=(2,))
def _pad_constant_array(array: Any, values: Any, widths: tuple[tuple[int, int], ...]) -> Any:
    dtype = get_aval(array).dtype
    values = lax.convert_element_type(values, dtype)
    pairs = _pairs(values, _ndim(array), "constant_values", integral=False)
    for ax, ((lo, hi), (vlo, vhi)) in enumerate(zip(widths, pairs)):
        cfg = [(0, 0, 0)] * _ndim(array)
        cfg[ax] = (lo, 0, 0)
        array = sh.pad(array, vlo, cfg)
        cfg[ax] = (0, hi, 0)
        array = sh.pad(array, vhi, cfg)
    return array


def _axis_index_map(n: int, lo: int, hi: int, mode: str) -> list[int]:
    """Source index along one axis for every position of the padded axis (NumPy's rules)."""
    return np.pad(np.arange(n), (lo, hi), mode=mode).tolist()


def _pad_index_map(array: Any, widths: tuple[tuple[int, int], ...], mode: str) -> Any:
    for ax, (lo, hi) in enumerate(widths):
        if lo == 0 and hi == 0:
            continue
        n = _shape(array)[ax]
        if n == 0:
            raise ValueError(f"pad: cannot pad an empty axis ({ax}) with mode {mode!r}")
        array = take_static(array, _axis_index_map(n, lo, hi, mode), ax)
    return array


def _pad_reflect_odd(array: Any, widths: tuple[tuple[int, int], ...], mode: str) -> Any:
    for ax, (lo, hi) in enumerate(widths):
        if (lo or hi) and _shape(array)[ax] == 0:
            raise ValueError(f"pad: cannot pad an empty axis ({ax}) with mode {mode!r}")
    return _pad_reflect_odd_jit(array, widths, mode)


@numpy_jit(static_argnums=(1, 2))
def _pad_reflect_odd_jit(array: Any, widths: tuple[tuple[int, int], ...], mode: str) -> Any:
    # NumPy's construction: reflect a chunk at a time, anti-symmetrically about the current edge
    for ax, (before, after) in enumerate(widths):
        n = _shape(array)[ax]  # the original extent: chunks are at most this long
        if n == 0:
            continue
        offset = 1 if mode == "reflect" and n > 1 else 0
        for is_before, padding in ((True, before), (False, after)):
            size = _shape(array)[ax]
            edge = sh.slice_in_dim(array, 0, 1, 1, ax) if is_before else sh.slice_in_dim(array, size - 1, size, 1, ax)
            while padding > 0:
                cur = builtins.min(padding, n - offset)
                padding -= cur
                size = _shape(array)[ax]
                if is_before:
                    chunk = sh.slice_in_dim(array, offset, offset + cur, 1, ax)
                else:
                    stop = size if (mode == "symmetric" or n == 1) else size - 1
                    chunk = sh.slice_in_dim(array, stop - cur, stop, 1, ax)
                chunk = sh.rev(chunk, (ax,))
                edge_b = broadcast_to_shape(edge, _shape(chunk))
                chunk = lax.sub(lax.add(edge_b, edge_b), chunk)
                if n > 1:
                    k = _shape(chunk)[ax]
                    edge = sh.slice_in_dim(chunk, 0, 1, 1, ax) if is_before else sh.slice_in_dim(chunk, k - 1, k, 1, ax)
                array = sh.concatenate([chunk, array] if is_before else [array, chunk], ax)
    return array


@numpy_jit(static_argnums=(2,))
def _pad_linear_ramp(array: Any, end_values: Any, widths: tuple[tuple[int, int], ...]) -> Any:
    from .creation import _linspace
    dtype = get_aval(array).dtype
    nd = _ndim(array)
    ends = _pairs(end_values, nd, "end_values", integral=False)
    compute = dtype if dtypes.is_inexact(dtype) else dtypes.default_float_dtype()
    for ax, ((lo, hi), (e_lo, e_hi)) in enumerate(zip(widths, ends)):
        n = _shape(array)[ax]
        first = sh.index_in_dim(array, 0, ax, keepdims=False)
        last = sh.index_in_dim(array, n - 1, ax, keepdims=False)
        e_lo = broadcast_to_shape(lax.convert_element_type(e_lo, compute), _shape(first))
        e_hi = broadcast_to_shape(lax.convert_element_type(e_hi, compute), _shape(last))
        ramp_lo = _linspace(e_lo, lax.convert_element_type(first, compute), lo, False, compute, ax)[0]
        ramp_hi = sh.rev(_linspace(e_hi, lax.convert_element_type(last, compute), hi, False, compute, ax)[0], (ax,))
        if dtype.kind in "iu":
            ramp_lo, ramp_hi = lax.floor(ramp_lo), lax.floor(ramp_hi)
        ramp_lo = lax.convert_element_type(ramp_lo, dtype)
        ramp_hi = lax.convert_element_type(ramp_hi, dtype)
        array = sh.concatenate([ramp_lo, array, ramp_hi], ax)
    return array


def _pad_stats(array: Any, widths: tuple[tuple[int, int], ...], lengths: Any, mode: str) -> Any:
    return _pad_stats_jit(array, widths, lengths, mode)


@numpy_jit(static_argnums=(1, 2, 3))
def _pad_stats_jit(array: Any, widths: tuple[tuple[int, int], ...], lengths: Any, mode: str) -> Any:
    from ..primitives.reductions import reduce_max, reduce_min, reduce_sum
    dtype = get_aval(array).dtype

    def stat(x: Any, ax: int) -> Any:
        if mode == "maximum":
            return reduce_max(x, (ax,))
        if mode == "minimum":
            return reduce_min(x, (ax,))
        if mode == "mean":
            compute = dtype if dtypes.is_inexact(dtype) else dtypes.default_float_dtype()
            xs = lax.convert_element_type(x, compute)
            total = reduce_sum(xs, (ax,))
            out = lax.div(total, lax.full_like(total, _shape(x)[ax]))
            if dtype.kind in "iu":
                out = lax.round(out, lax.RoundingMethod.TO_NEAREST_EVEN)
            return lax.convert_element_type(out, dtype)
        from .. import numpy as enp  # median lives in the reductions module
        out = enp.median(x, axis=ax)
        if dtype.kind in "iu":
            out = lax.round(out, lax.RoundingMethod.TO_NEAREST_EVEN)
        return lax.convert_element_type(out, dtype)

    for ax, (lo, hi) in enumerate(widths):
        n = _shape(array)[ax]
        if lengths is None:
            s_lo = s_hi = stat(array, ax)
        else:
            l_lo, l_hi = lengths[ax]
            if l_lo == 0 or l_hi == 0:
                raise ValueError("pad: stat_length of 0 yields no value for padding")
            l_lo, l_hi = builtins.min(l_lo, n), builtins.min(l_hi, n)
            s_lo = stat(sh.slice_in_dim(array, 0, l_lo, 1, ax), ax)
            s_hi = stat(sh.slice_in_dim(array, n - l_hi, n, 1, ax), ax)
        parts = []
        for s, w in ((s_lo, lo), (None, None), (s_hi, hi)):
            if s is None:
                parts.append(array)
                continue
            shape = list(_shape(array))
            shape[ax] = w
            dims = tuple(i for i in range(len(shape)) if i != ax)
            parts.append(sh.broadcast_in_dim(s, tuple(shape), dims))
        array = sh.concatenate(parts, ax)
    return array


def _pad_callable(array: Any, widths: tuple[tuple[int, int], ...], func: Callable[..., Any],
                  kwargs: dict[str, Any]) -> Any:
    from .misc import apply_along_axis
    padded = _pad_constant_scalar(array, widths, np.zeros((), get_aval(array).dtype))
    for ax in range(_ndim(padded)):
        padded = apply_along_axis(func, ax, padded, widths[ax], ax, kwargs)
    return padded


# ----------------------------------------------------------------------------------------------
# Resizing, trimming, inserting and deleting

def resize(a: Any, new_shape: Any) -> Any:
    """An array of ``new_shape`` filled with ``a``'s elements, repeated cyclically.

    >>> resize(asarray([1, 2, 3]), (2, 2)).tolist()
    [[1, 2], [3, 1]]
    """
    a = _arr("resize", a)
    new_shape = (operator_index(new_shape),) if isinstance(new_shape, (int, np.integer)) else tuple(
        operator_index(d) for d in new_shape)
    if any(d < 0 for d in new_shape):
        raise ValueError("resize: all elements of new_shape must be non-negative")
    flat = ravel(a)
    size, new_size = get_aval(flat).size, math.prod(new_shape)
    if size == 0 or new_size == 0:
        from .creation import zeros
        return zeros(new_shape, get_aval(a).dtype)
    reps = -(-new_size // size)
    out = _tile(flat, (reps,)) if reps > 1 else flat
    return sh.reshape(sh.slice_in_dim(out, 0, new_size, 1, 0), new_shape)


def trim_zeros(filt: Any, trim: str = "fb", axis: Any = None) -> Any:
    """Trim leading ('f') and/or trailing ('b') zeros. The input must be concrete (the output
    shape depends on its values).

    >>> trim_zeros(asarray([0, 1, 2, 0])).tolist()
    [1, 2]
    """
    filt = _arr("trim_zeros", filt)
    if isinstance(filt, Tracer):
        raise ConcretizationError(filt, "trim_zeros' input (the output shape depends on its values)")
    host = np.asarray(filt)
    nd = host.ndim
    axes = range(nd) if axis is None else _axes_tuple(axis, nd, "trim_zeros")
    trim = trim.lower()
    starts, stops = [0] * nd, list(host.shape)
    for ax in axes:
        others = tuple(i for i in range(nd) if i != ax)
        mask = np.any(host != 0, axis=others) if others else host != 0
        nz = np.flatnonzero(mask)
        if nz.size == 0:
            starts[ax], stops[ax] = 0, 0
            continue
        if "f" in trim:
            starts[ax] = int(nz[0])
        if "b" in trim:
            stops[ax] = int(nz[-1]) + 1
    return sh.slice(filt, starts, stops)


def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    """``values`` appended to ``arr`` (both flattened when ``axis`` is None).

    >>> append(asarray([1, 2]), asarray([[3]])).tolist()
    [1, 2, 3]
    """
    arr = _arr("append", arr)
    values = _arr("append", values)
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], axis=0)
    return concatenate([arr, values], axis=axis)


def _static_indices(name: str, obj: Any, n: int) -> tuple[np.ndarray, bool]:
    """Concrete indices from ``obj`` (int, slice, sequence, concrete array); whether scalar."""
    if isinstance(obj, Tracer):
        raise ConcretizationError(obj, f"{name}'s indices (they fix the output shape)")
    if isinstance(obj, builtins.slice):
        return np.arange(n)[obj], False
    idx = np.asarray(obj)
    if idx.dtype == np.bool_:
        raise TypeError(f"{name}: boolean indices are not supported; use integer indices")
    if idx.size == 0:
        idx = idx.astype(np.int64)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, got {idx.dtype}")
    return idx.astype(np.int64), idx.ndim == 0


def delete(arr: Any, obj: Any, axis: int | None = None, *, assume_unique_indices: bool = False) -> Any:
    """``arr`` without the entries at static indices ``obj`` along ``axis`` (flattened when None).

    >>> delete(asarray([1, 2, 3, 4]), [0, 2]).tolist()
    [2, 4]
    """
    arr = _arr("delete", arr)
    if axis is None:
        arr = ravel(arr)
        axis = 0
    axis = canonicalize_axis(axis, _ndim(arr))
    n = _shape(arr)[axis]
    idx, _ = _static_indices("delete", obj, n)
    idx = idx.reshape(-1)
    if np.any((idx < -n) | (idx >= n)):
        raise IndexError(f"delete: index out of bounds for axis {axis} with size {n}: {idx.tolist()}")
    keep = np.ones(n, bool)
    keep[idx % n if n else idx] = False
    return take_static(arr, tuple(np.flatnonzero(keep).tolist()), axis)


def insert(arr: Any, obj: Any, values: Any, axis: int | None = None) -> Any:
    """``values`` inserted before the static indices ``obj`` along ``axis`` (flattened when None).

    >>> insert(asarray([1, 2, 3]), 1, 9).tolist()
    [1, 9, 2, 3]
    """
    arr = _arr("insert", arr)
    check_arraylike("insert", values)
    if axis is None:
        arr = ravel(arr)
        axis = 0
    nd = _ndim(arr)
    axis = canonicalize_axis(axis, nd)
    n = _shape(arr)[axis]
    idx, scalar = _static_indices("insert", obj, n + 1)
    if isinstance(obj, builtins.slice):
        idx = np.arange(n)[obj]
    idx = idx.reshape(-1) if not scalar else idx
    if np.any((idx < -n) | (idx > n)):
        raise IndexError(f"insert: index out of bounds for axis {axis} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    vals = lax.convert_element_type(_arr("insert", values), get_aval(arr).dtype)
    vnd = _ndim(vals)
    if vnd < nd:
        vals = sh.reshape(vals, (1,) * (nd - vnd) + _shape(vals))
    if scalar:
        vals = moveaxis(vals, 0, axis) if _ndim(vals) else vals
        numnew = _shape(vals)[axis] if _ndim(vals) > axis else 1
        positions = np.full(numnew, int(idx))
        order = np.arange(numnew)
    else:
        numnew = idx.size
        order = np.argsort(idx, kind="stable")
        positions = idx
    target = list(_shape(arr))
    target[axis] = numnew
    vals = broadcast_to(vals, tuple(target))
    # final layout: new item k lands at positions[k] + (number of new items placed before it)
    final_new = np.empty(numnew, np.int64)
    final_new[order] = np.sort(positions, kind="stable") + np.arange(numnew)
    total = n + numnew
    source = np.empty(total, np.int64)
    is_new = np.zeros(total, bool)
    is_new[final_new] = True
    source[final_new] = n + np.arange(numnew)
    source[~is_new] = np.arange(n)
    joined = concatenate([arr, vals], axis=axis)
    return take_static(joined, tuple(source.tolist()), axis)
