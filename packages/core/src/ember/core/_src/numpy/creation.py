"""Array creation: array/asarray, zeros/ones/full/empty (+ ``_like``), arange, linspace, logspace,
geomspace, eye/identity/tri, tril/triu, diag/diagflat, meshgrid, indices, fromfunction and the
``from*`` constructors.

    >>> import ember.core.numpy as jnp
    >>> jnp.tri(3, dtype=int).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import ConcretizationError, Tracer, canonicalize_shape, get_aval, operator_index
from ..dispatch import to_array
from ..primitives import elementwise as lax
from ..primitives import shape as sh
from .util import check_arraylike, numpy_jit

__all__ = [
    "array", "asarray", "full", "zeros", "ones", "empty", "full_like", "zeros_like", "ones_like",
    "empty_like", "arange", "linspace", "logspace", "geomspace", "eye", "identity", "copy", "tri",
    "tril", "triu", "diag", "diagflat", "meshgrid", "indices", "fromfunction", "frombuffer",
    "fromstring", "fromiter", "from_dlpack", "asanyarray", "ascontiguousarray",
]

_py_scalars = (bool, int, float, complex)


def _is_traced(x: Any) -> bool:
    return isinstance(x, Tracer)


def _place(out: Any, device: Any) -> Any:
    """Commit ``out`` to ``device`` (a Device or a Sharding) when one is given."""
    if device is None:
        return out
    if isinstance(out, Tracer):
        return out  # placement of traced values is the enclosing jit's business
    from ..dispatch import device_put
    return device_put(out, device)


# ----------------------------------------------------------------------------------------------
# array / asarray

def _leaves(obj: Any, out: list[Any]) -> None:
    if isinstance(obj, (list, tuple)):
        for o in obj:
            _leaves(o, out)
    else:
        out.append(obj)


def _leaf_dtype(leaves: list[Any]) -> np.dtype:
    """JAX's rule: the lattice join of the leaves' dtypes (Python scalars are weak)."""
    if not leaves:
        return dtypes.default_float_dtype()
    # one representative per Python scalar type keeps long lists of numbers cheap
    seen_types: set[type] = set()
    reps: list[Any] = []
    for leaf in leaves:
        t = type(leaf)
        if t in _py_scalars:
            if t not in seen_types:
                seen_types.add(t)
                reps.append(leaf)
        elif isinstance(leaf, (Array, Tracer, np.ndarray, np.generic)):
            reps.append(leaf)
        elif leaf is None:
            raise ValueError("None is not a valid value for an array")
        else:
            reps.append(np.asarray(leaf))
    for r in reps:
        if isinstance(r, np.ndarray) and r.dtype == np.dtype("O"):
            raise TypeError("array: cannot convert an object array (ragged nesting or unsupported elements)")
    return dtypes.result_type(*reps)


def array(object: Any, dtype: Any = None, copy: bool = True, order: str | None = None,  # noqa: A002
          ndmin: int = 0, *, device: Any = None) -> Any:
    """An Array from ``object``: an Array, a NumPy array, a scalar, or nested sequences of them.

    Python scalars keep their weak type (``array(1.0) + bf16`` stays bfloat16); the dtype of a
    nested list is the type-promotion join of its elements, as in JAX.

    >>> array([1, 2.5]).dtype
    dtype('float32')
    """
    if order not in (None, "C", "K", "A"):
        raise NotImplementedError(f"array: only C order is supported, got order={order!r}")
    if hasattr(object, "__jax_array__") and not isinstance(object, (Array, Tracer)):
        object = object.__jax_array__()  # noqa: A001 - an array stand-in (e.g. an nn Variable)
    out_dtype = None if dtype is None else dtypes.canonicalize_dtype(dtype)
    if isinstance(object, (Array, Tracer)):
        out = object if out_dtype is None else lax.convert_element_type(object, out_dtype)
    elif isinstance(object, (list, tuple)):
        leaves: list[Any] = []
        _leaves(object, leaves)
        if out_dtype is None:
            out_dtype = _leaf_dtype(leaves)
        if any(isinstance(leaf, (Array, Tracer)) for leaf in leaves):
            out = _stack_nested(object, out_dtype)
        else:
            host = np.asarray(object, dtype=out_dtype)
            out = to_array(host, dtype=out_dtype, weak_type=False)
    else:
        if not isinstance(object, (np.ndarray, np.generic) + _py_scalars):
            if hasattr(object, "__array__"):
                object = np.asarray(object)
            elif hasattr(object, "__dlpack__"):
                object = np.from_dlpack(object)
            else:
                try:
                    object = np.asarray(memoryview(object))
                except TypeError:
                    raise TypeError(f"array: cannot convert {type(object).__name__} to an array") from None
        # a Python scalar keeps its weak type (as in JAX): array(1.0) + bf16 stays bf16
        weak = out_dtype is None and type(object) in (int, float, complex)
        if type(object) is int and out_dtype is None:
            from ..core import check_int_range
            check_int_range(object)
        if out_dtype is None:
            if type(object) in _py_scalars:
                out_dtype = dtypes.result_type(object)
            else:
                out_dtype = dtypes.canonicalize_dtype(dtypes.to_dtype(np.asarray(object).dtype, argname="object"))
        host = np.asarray(object, dtype=out_dtype)
        if host.dtype == np.dtype("O"):
            raise TypeError(f"array: cannot convert {type(object).__name__} to an array")
        out = to_array(host, dtype=out_dtype, weak_type=weak)
    ndim = get_aval(out).ndim
    if ndmin and ndim < ndmin:
        out = sh.reshape(out, (1,) * (ndmin - ndim) + get_aval(out).shape)
    return _place(out, device)


def _stack_nested(obj: Any, dtype: np.dtype) -> Any:
    if not isinstance(obj, (list, tuple)):
        return array(obj, dtype=dtype)
    parts = [_stack_nested(o, dtype) for o in obj]
    if not parts:
        return to_array(np.zeros((0,), dtype), dtype=dtype)
    shapes = {get_aval(p).shape for p in parts}
    if len(shapes) != 1:
        raise ValueError(f"array: nested sequences have inhomogeneous shapes {sorted(shapes)}")
    shape = get_aval(parts[0]).shape
    parts = [sh.reshape(p, (1,) + shape) for p in parts]
    return sh.concatenate(parts, 0)


def asarray(a: Any, dtype: Any = None, order: str | None = None, *, copy: bool | None = None,
            device: Any = None) -> Any:
    """``a`` as an Array; an Array of the right dtype is returned as it is (Arrays are immutable,
    so ``copy`` never changes the result's values). ``copy=False`` is accepted for host values
    on the CPU backend, where device memory is host memory.

    >>> asarray([1, 2]).dtype
    dtype('int32')
    """
    if copy is False and not isinstance(a, (Array, Tracer)) and device is None:
        from ..dispatch import default_device
        if default_device().platform != "cpu" and hasattr(a, "__array__"):
            raise ValueError(f"asarray: cannot convert a {type(a).__name__} to an Array on "
                             f"{default_device().platform} without a copy (copy=False)")
    if isinstance(a, (Array, Tracer)) and device is None:
        aval = get_aval(a)
        if dtype is None:
            return a
        if aval.dtype == dtypes.canonicalize_dtype(dtype):
            # an explicit dtype makes the result strongly typed, as in JAX
            return lax.convert_element_type(a, aval.dtype, weak_type=False) if aval.weak_type else a
    return array(a, dtype=dtype, copy=bool(copy), order=order, device=device)


def asanyarray(a: Any, dtype: Any = None, order: str | None = None) -> Any:
    """Same as ``asarray`` (there are no Array subclasses)."""
    return asarray(a, dtype=dtype, order=order)


def ascontiguousarray(a: Any, dtype: Any = None) -> Any:
    """``asarray`` with at least one dimension (the memory layout is XLA's to choose).

    >>> ascontiguousarray(1.0).shape
    (1,)
    """
    return array(a, dtype=dtype, ndmin=1)


def copy(a: Any, order: str | None = None) -> Any:
    """A copy of ``a`` (Arrays are immutable, so this equals ``array(a)``).

    >>> import ember.core.numpy as jnp
    >>> x = jnp.arange(3)
    >>> jnp.copy(x).tolist()
    [0, 1, 2]
    """
    check_arraylike("copy", a)
    return array(a, copy=True)


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Any:
    """An Array from any object implementing the DLPack protocol (via NumPy, on the host).

    >>> import numpy as np
    >>> from_dlpack(np.arange(3)).tolist()
    [0, 1, 2]
    """
    host = np.from_dlpack(x)
    return asarray(np.array(host) if copy else host, device=device)


def frombuffer(buffer: Any, dtype: Any = float, count: int = -1, offset: int = 0) -> Any:
    """An Array from a bytes-like object, like ``np.frombuffer``.

    >>> frombuffer(b"\\x01\\x02", dtype="uint8").tolist()
    [1, 2]
    """
    return asarray(np.frombuffer(buffer, dtype=dtypes.to_dtype(dtype), count=count, offset=offset))


def fromstring(string: str, dtype: Any = float, count: int = -1, *, sep: str) -> Any:
    """An Array from text, like ``np.fromstring`` (``sep`` is required; binary mode is gone).

    >>> fromstring("1 2 3", dtype=int, sep=" ").tolist()
    [1, 2, 3]
    """
    return asarray(np.fromstring(string, dtype=dtypes.to_dtype(dtype), count=count, sep=sep))


def fromiter(iterable: Any, dtype: Any, count: int = -1) -> Any:
    """An Array from an iterable, consumed now on the host (do not call inside a traced function).

    >>> fromiter(range(3), dtype=int).tolist()
    [0, 1, 2]
    """
    return asarray(np.fromiter(iterable, dtype=dtypes.to_dtype(dtype), count=count))


# ----------------------------------------------------------------------------------------------
# full / zeros / ones / empty and the _like variants

def _dtype_or_default(dtype: Any, default: Any = None) -> np.dtype:
    if dtype is None:
        return dtypes.default_float_dtype() if default is None else default
    return dtypes.canonicalize_dtype(dtype)


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (Array, np.ndarray)) and getattr(shape, "ndim", 1) == 0:
        shape = (int(shape),)
    return canonicalize_shape(shape)


def full(shape: Any, fill_value: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """An array of ``shape`` filled with ``fill_value`` (a scalar, or an array broadcast to ``shape``).

    >>> full((2,), 7).tolist()
    [7, 7]
    """
    shape = _shape(shape)
    check_arraylike("full", fill_value)
    fill_ndim = get_aval(fill_value).ndim if isinstance(fill_value, (Array, Tracer)) else np.ndim(fill_value)
    if fill_ndim:  # an array fill value is broadcast to the shape
        from .util import broadcast_shapes, broadcast_to_shape
        value = asarray(fill_value, dtype=dtype)
        value_shape = get_aval(value).shape
        if len(shape) < len(value_shape) or broadcast_shapes(shape, value_shape) != shape:
            raise ValueError(f"full: cannot broadcast a fill value of shape {value_shape} to {shape}")
        return _place(broadcast_to_shape(value, shape), device)
    if dtype is None:
        dt, weak = dtypes.result_type(fill_value, return_weak_type_flag=True)
    else:
        dt, weak = dtypes.canonicalize_dtype(dtype), False
    if isinstance(fill_value, (Array, Tracer)):
        value = lax.convert_element_type(fill_value, dt, weak_type=weak)
        return _place(sh.broadcast_in_dim(value, shape, ()), device)
    host = np.array(fill_value, dtype=dt)
    out = _full_jit(shape, host) if not weak else _full_weak_jit(shape, host)
    return _place(out, device)


@numpy_jit(static_argnums=(0,))
def _full_jit(shape: tuple[int, ...], value: Any) -> Any:
    return sh.broadcast_in_dim(value, shape, ())


@numpy_jit(static_argnums=(0,))
def _full_weak_jit(shape: tuple[int, ...], value: Any) -> Any:
    value = lax.convert_element_type(value, get_aval(value).dtype, weak_type=True)
    return sh.broadcast_in_dim(value, shape, ())


def zeros(shape: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """An array of zeros (default dtype: the default float).

    >>> zeros((2, 1)).shape
    (2, 1)
    """
    return full(shape, 0, _dtype_or_default(dtype), device=device)


def ones(shape: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """An array of ones.

    >>> ones(2, int).tolist()
    [1, 1]
    """
    return full(shape, 1, _dtype_or_default(dtype), device=device)


def empty(shape: Any, dtype: Any = None, *, device: Any = None) -> Any:
    """Like ``zeros`` (XLA has no uninitialised memory).

    >>> import ember.core.numpy as jnp
    >>> jnp.empty((2,)).tolist()
    [0.0, 0.0]
    """
    return zeros(shape, dtype, device=device)


def _like(a: Any, dtype: Any, shape: Any) -> tuple[tuple[int, ...], np.dtype, bool]:
    if isinstance(a, (list, tuple)):
        a = np.asarray(a)
    aval = get_aval(a)
    out_shape = aval.shape if shape is None else _shape(shape)
    if dtype is None:
        return out_shape, aval.dtype, aval.weak_type
    return out_shape, dtypes.canonicalize_dtype(dtype), False


def full_like(a: Any, fill_value: Any, dtype: Any = None, shape: Any = None, *, device: Any = None) -> Any:
    """An array like ``a`` (its shape and dtype, weak type included) filled with ``fill_value``.

    >>> full_like(arange(3), 2.5).tolist()
    [2, 2, 2]
    """
    s, d, weak = _like(a, dtype, shape)
    if device is None and shape is None and type(a) is Array and a.sharding.num_devices > 1:
        device = a.sharding  # like JAX: the result is laid out as ``a`` is
    if not isinstance(fill_value, (Array, Tracer)) and np.ndim(fill_value) == 0:
        host = np.array(fill_value).astype(d) if not isinstance(fill_value, _py_scalars) else np.array(fill_value, d)
        out = _full_weak_jit(s, host) if weak else _full_jit(s, host)
        return _place(out, device)
    out = full(s, asarray(fill_value, dtype=d), d)
    if weak:
        out = lax.convert_element_type(out, d, weak_type=True)
    return _place(out, device)


def zeros_like(a: Any, dtype: Any = None, shape: Any = None, *, device: Any = None) -> Any:
    """Zeros with the shape and dtype of ``a``.

    >>> zeros_like(arange(2)).tolist()
    [0, 0]
    """
    return full_like(a, 0, dtype, shape, device=device)


def ones_like(a: Any, dtype: Any = None, shape: Any = None, *, device: Any = None) -> Any:
    """Ones with the shape and dtype of ``a``.

    >>> import ember.core.numpy as jnp
    >>> jnp.ones_like(jnp.zeros((2, 2), jnp.int8))
    Array([[1, 1],
           [1, 1]], dtype=int8)
    """
    return full_like(a, 1, dtype, shape, device=device)


def empty_like(prototype: Any, dtype: Any = None, shape: Any = None, *, device: Any = None) -> Any:
    """Like ``zeros_like``.

    >>> import ember.core.numpy as jnp
    >>> jnp.empty_like(jnp.ones(3)).tolist()   # zeros: XLA has no uninitialised memory
    [0.0, 0.0, 0.0]
    """
    return zeros_like(prototype, dtype, shape, device=device)


# ----------------------------------------------------------------------------------------------
# Ranges

def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None, *, device: Any = None) -> Any:
    """Evenly spaced values in [start, stop). The bounds must be concrete: they fix the length.

    >>> arange(1, 7, 2).tolist()
    [1, 3, 5]
    """
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if _is_traced(v):
            raise ConcretizationError(v, f"arange's `{name}` (it determines the output length)")
    if stop is None and step is None:
        start, stop = 0, start
    step = 1 if step is None else step
    given = [v for v in (start, stop, step)]
    values = [np.asarray(v) for v in given]
    if dtype is None:
        concrete = _py_scalars + (np.generic, np.ndarray, Array)
        dtype = dtypes.result_type(*[v if isinstance(v, concrete) else np.asarray(v) for v in given])
    dtype = dtypes.canonicalize_dtype(dtype)
    fstart, fstop, fstep = (float(np.real(v)) for v in values)
    if fstep == 0:
        raise ValueError("arange: step must not be zero")
    length = max(int(np.ceil((fstop - fstart) / fstep)), 0)
    if dtype.kind in "iu" and all(v.dtype.kind in "iub" for v in values):
        out = _arange_int(length, int(values[0]), int(values[2]), dtype)
    else:
        compute = np.float64 if dtype.kind in "iub" else dtype
        host = (fstart + np.arange(length, dtype=np.float64) * fstep) if dtype.kind not in "c" else None
        if host is not None and dtype.kind in "iu":
            host = np.floor(host) if fstep > 0 else np.ceil(host)
        if host is None:
            host = np.arange(complex(values[0]), complex(values[1]), complex(values[2]), dtype=compute)
        out = to_array(np.asarray(host).astype(dtype), dtype=dtype)
    return _place(out, device)


@numpy_jit(static_argnums=(0, 1, 2, 3))
def _arange_int(length: int, start: int, step: int, dtype: Any) -> Any:
    out = sh.iota(dtype, length)
    if step != 1:
        out = lax.mul(out, lax.full_like(out, step))
    if start != 0:
        out = lax.add(out, lax.full_like(out, start))
    return out


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0, *, device: Any = None) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (arrays broadcast; differentiable).

    >>> linspace(0, 1, 3).tolist()
    [0.0, 0.5, 1.0]
    """
    num = operator_index(num)
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    check_arraylike("linspace", start, stop)
    dtype = None if dtype is None else dtypes.canonicalize_dtype(dtype)
    out, step = _linspace(start, stop, num, bool(endpoint), dtype, operator_index(axis))
    out = _place(out, device)
    return (out, step) if retstep else out


def _inexact(dtype: np.dtype) -> np.dtype:
    return dtype if dtypes.is_inexact(dtype) else dtypes.default_float_dtype()


@numpy_jit(static_argnums=(2, 3, 4, 5))
def _linspace(start: Any, stop: Any, num: int, endpoint: bool, dtype: Any, axis: int) -> tuple[Any, Any]:
    from .util import broadcast_shapes, broadcast_to_shape
    out_dtype = _inexact(dtypes.result_type(start, stop)) if dtype is None else dtype
    compute = _inexact(out_dtype)
    start = lax.convert_element_type(start, compute)
    stop = lax.convert_element_type(stop, compute)
    bshape = broadcast_shapes(get_aval(start).shape, get_aval(stop).shape)
    start, stop = broadcast_to_shape(start, bshape), broadcast_to_shape(stop, bshape)
    nd = len(bshape)
    axis = axis + nd + 1 if axis < 0 else axis
    if not 0 <= axis <= nd:
        raise ValueError(f"linspace: axis {axis} is out of bounds for a result of rank {nd + 1}")
    out_shape = bshape[:axis] + (num,) + bshape[axis:]
    bdims = tuple(i for i in range(nd + 1) if i != axis)
    div = (num - 1) if endpoint else num
    if num > 1:
        delta = lax.div(lax.sub(stop, start), lax.full_like(stop, div))
        real = np.dtype(dtypes.finfo(compute).dtype)
        t_shape = tuple(div if i == axis else 1 for i in range(nd + 1))
        t = lax.div(lax.convert_element_type(sh.broadcasted_iota(np.int32, t_shape, axis), real),
                    np.array(div, real))
        t = lax.convert_element_type(t, compute)
        grid_shape = bshape[:axis] + (div,) + bshape[axis:]
        t = sh.broadcast_in_dim(t, grid_shape, tuple(range(nd + 1)))
        s_b = sh.broadcast_in_dim(start, grid_shape, bdims)
        e_b = sh.broadcast_in_dim(stop, grid_shape, bdims)
        out = lax.add(lax.mul(s_b, lax.sub(lax.full_like(t, 1), t)), lax.mul(e_b, t))
        if endpoint:
            out = sh.concatenate([out, sh.expand_dims(stop, (axis,))], axis)
    elif num == 1:
        delta = lax.full_like(start, np.nan) if endpoint else lax.sub(stop, start)
        out = sh.expand_dims(start, (axis,))
    else:
        delta = lax.full_like(start, np.nan)
        out = sh.full(out_shape, 0, compute)
    if out_dtype.kind in "iu":
        out = lax.floor(out)
    return lax.convert_element_type(out, out_dtype), lax.convert_element_type(delta, out_dtype)


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0,
             dtype: Any = None, axis: int = 0) -> Any:
    """``base ** linspace(start, stop, num)``.

    >>> logspace(0, 2, 3).tolist()
    [1.0, 10.0, 100.0]
    """
    num = operator_index(num)
    check_arraylike("logspace", start, stop, base)
    dtype = None if dtype is None else dtypes.canonicalize_dtype(dtype)
    return _logspace(start, stop, base, num, bool(endpoint), dtype, operator_index(axis))


@numpy_jit(static_argnums=(3, 4, 5, 6))
def _logspace(start: Any, stop: Any, base: Any, num: int, endpoint: bool, dtype: Any, axis: int) -> Any:
    from .ufuncs import power
    out_dtype = _inexact(dtypes.result_type(start, stop)) if dtype is None else dtype
    compute = _inexact(out_dtype)
    lin = _linspace(start, stop, num, endpoint, compute, axis)[0]
    out = power(lax.convert_element_type(base, compute) if not isinstance(base, _py_scalars) else base, lin)
    if out_dtype.kind in "iu":
        out = lax.floor(lax.convert_element_type(out, compute))
    return lax.convert_element_type(out, out_dtype)


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Any:
    """Geometrically spaced values from ``start`` to ``stop`` (same sign, non-zero).

    >>> geomspace(1, 8, 4).round(3).tolist()
    [1.0, 2.0, 4.0, 8.0]
    """
    num = operator_index(num)
    check_arraylike("geomspace", start, stop)
    dtype = None if dtype is None else dtypes.canonicalize_dtype(dtype)
    return _geomspace(start, stop, num, bool(endpoint), dtype, operator_index(axis))


@numpy_jit(static_argnums=(2, 3, 4, 5))
def _geomspace(start: Any, stop: Any, num: int, endpoint: bool, dtype: Any, axis: int) -> Any:
    from .ufuncs import log10, sign
    out_dtype = _inexact(dtypes.result_type(start, stop)) if dtype is None else dtype
    compute = _inexact(out_dtype)
    start = lax.convert_element_type(start, compute)
    stop = lax.convert_element_type(stop, compute)
    s = sign(start)
    res = _logspace(log10(lax.div(start, s)), log10(lax.div(stop, s)), 10.0, num, endpoint, compute, 0)
    from .util import broadcast_shapes
    bshape = broadcast_shapes(get_aval(start).shape, get_aval(stop).shape)
    nb = len(bshape)

    def trailing(x: Any, shape: tuple[int, ...], offset: int = 0) -> Any:  # right-aligned broadcast
        return sh.broadcast_in_dim(x, shape, tuple(range(offset + nb - get_aval(x).ndim, offset + nb)))

    res = lax.mul(trailing(s, get_aval(res).shape, 1), res)
    if num > 0:  # exact endpoints, as NumPy gives them
        ends = [sh.expand_dims(trailing(start, bshape), (0,))]
        middle_hi = num - 1 if endpoint and num > 1 else num
        if middle_hi > 1:
            ends.append(sh.slice_in_dim(res, 1, middle_hi, 1, 0))
        if endpoint and num > 1:
            ends.append(sh.expand_dims(trailing(stop, bshape), (0,)))
        res = sh.concatenate(ends, 0) if len(ends) > 1 else ends[0]
    if axis != 0:
        from .shape_ops import moveaxis
        res = moveaxis(res, 0, axis)
    if out_dtype.kind in "iu":
        res = lax.floor(res)
    return lax.convert_element_type(res, out_dtype)


# ----------------------------------------------------------------------------------------------
# Matrices

def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None, *, device: Any = None) -> Any:
    """A 2-D array with ones on diagonal ``k``.

    >>> eye(2, dtype=int).tolist()
    [[1, 0], [0, 1]]
    """
    N = operator_index(N)
    M = N if M is None else operator_index(M)
    return _place(_eye(N, M, operator_index(k), _dtype_or_default(dtype)), device)


@numpy_jit(static_argnums=(0, 1, 2, 3))
def _eye(N: int, M: int, k: int, dtype: Any) -> Any:
    return lax.convert_element_type(_diag_mask((N, M), k, lambda r, c: lax.eq(r, c)), dtype)


def _diag_mask(shape: tuple[int, int], k: int, cmp: Callable[[Any, Any], Any]) -> Any:
    """``cmp(row + k, col)`` over a 2-D grid of ``shape``."""
    rows = sh.broadcasted_iota(np.int32, shape, 0)
    cols = sh.broadcasted_iota(np.int32, shape, 1)
    return cmp(lax.add(rows, lax.full_like(rows, k)), cols)


def identity(n: int, dtype: Any = None) -> Any:
    """The n x n identity matrix.

    >>> import ember.core.numpy as jnp
    >>> jnp.identity(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return eye(n, dtype=dtype)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """Ones at and below diagonal ``k``, zeros above.

    >>> tri(2).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    N = operator_index(N)
    M = N if M is None else operator_index(M)
    return _tri(N, M, operator_index(k), _dtype_or_default(dtype))


@numpy_jit(static_argnums=(0, 1, 2, 3))
def _tri(N: int, M: int, k: int, dtype: Any) -> Any:
    return lax.convert_element_type(_diag_mask((N, M), k, lambda r, c: lax.ge(r, c)), dtype)


def tril(m: Any, k: int = 0) -> Any:
    """The lower triangle of the last two axes of ``m`` (the rest set to zero).

    >>> tril(ones((2, 2), int)).tolist()
    [[1, 0], [1, 1]]
    """
    check_arraylike("tril", m)
    return _tril_triu(asarray(m), operator_index(k), True)


def triu(m: Any, k: int = 0) -> Any:
    """The upper triangle of the last two axes of ``m`` (the rest set to zero).

    >>> triu(ones((2, 2), int)).tolist()
    [[1, 1], [0, 1]]
    """
    check_arraylike("triu", m)
    return _tril_triu(asarray(m), operator_index(k), False)


@numpy_jit(static_argnums=(1, 2))
def _tril_triu(m: Any, k: int, lower: bool) -> Any:
    aval = get_aval(m)
    if aval.ndim < 2:
        raise ValueError(f"{'tril' if lower else 'triu'}: the argument must be at least 2-D, got shape {aval.shape}")
    n_rows, n_cols = aval.shape[-2:]
    if lower:
        mask = _diag_mask((n_rows, n_cols), k, lambda r, c: lax.ge(r, c))
    else:
        mask = _diag_mask((n_rows, n_cols), k - 1, lambda r, c: lax.lt(r, c))
    mask = sh.broadcast_in_dim(mask, aval.shape, (aval.ndim - 2, aval.ndim - 1))
    return lax.select(mask, m, lax.full_like(m, 0))


def diag(v: Any, k: int = 0) -> Any:
    """A 2-D array with 1-D ``v`` on diagonal ``k``, or the ``k``-th diagonal of a 2-D ``v``.

    >>> diag(asarray([1, 2])).tolist()
    [[1, 0], [0, 2]]
    """
    check_arraylike("diag", v)
    v = asarray(v)
    k = operator_index(k)
    ndim = get_aval(v).ndim
    if ndim == 1:
        return _diag_1d(v, k)
    if ndim == 2:
        return _diag_2d(v, k)
    raise ValueError(f"diag: input must be 1-D or 2-D, got shape {get_aval(v).shape}")


@numpy_jit(static_argnums=(1,))
def _diag_1d(v: Any, k: int) -> Any:
    n = get_aval(v).shape[0]
    size = n + abs(k)
    padded = sh.pad(v, np.zeros((), get_aval(v).dtype), [(0, abs(k), 0)])
    # value at (r, c) with c == r + k: v[r] when k >= 0, v[c] when k < 0
    along = (0,) if k >= 0 else (1,)
    values = sh.broadcast_in_dim(padded, (size, size), along)
    mask = _diag_mask((size, size), k, lambda r, c: lax.eq(r, c))
    return lax.select(mask, values, lax.full_like(values, 0))


@numpy_jit(static_argnums=(1,))
def _diag_2d(v: Any, k: int) -> Any:
    rows, cols = get_aval(v).shape
    # crop so the wanted diagonal is the main diagonal of the cropped block
    r0, c0 = (0, k) if k >= 0 else (-k, 0)
    r0, c0 = min(r0, rows), min(c0, cols)
    n = max(min(rows - r0, cols - c0), 0)
    block = sh.slice(v, (r0, c0), (r0 + n, c0 + n))
    mask = _diag_mask((n, n), 0, lambda r, c: lax.eq(r, c))
    picked = lax.select(mask, block, lax.full_like(block, 0))
    from ..primitives.reductions import reduce_sum
    if get_aval(v).dtype == dtypes.bool_:
        from ..primitives.reductions import reduce_or
        return reduce_or(picked, (1,))
    return reduce_sum(picked, (1,))


def diagflat(v: Any, k: int = 0) -> Any:
    """A 2-D array with the flattened ``v`` on diagonal ``k``.

    >>> diagflat(asarray([[1, 2]])).tolist()
    [[1, 0], [0, 2]]
    """
    check_arraylike("diagflat", v)
    v = asarray(v)
    return _diag_1d(sh.reshape(v, (get_aval(v).size,)), operator_index(k))


# ----------------------------------------------------------------------------------------------
# Grids

def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> list[Any]:
    """Coordinate arrays from 1-D coordinate vectors (``indexing='xy'`` swaps the first two axes).

    >>> [g.shape for g in meshgrid(arange(3), arange(2))]
    [(2, 3), (2, 3)]
    """
    check_arraylike("meshgrid", *xi)
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    arrays = [asarray(x) for x in xi]
    for i, a in enumerate(arrays):
        if get_aval(a).ndim != 1:
            raise ValueError(f"meshgrid: argument {i} must be 1-D, got shape {get_aval(a).shape}")
    n = len(arrays)
    shape = [get_aval(a).shape[0] for a in arrays]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, a in enumerate(arrays):
        dim = i
        if indexing == "xy" and n >= 2 and i < 2:
            dim = 1 - i
        if sparse:
            s = [1] * n
            s[dim] = shape[dim]
            out.append(sh.reshape(a, tuple(s)))
        else:
            out.append(sh.broadcast_in_dim(a, tuple(shape), (dim,)))
    return out


def indices(dimensions: Sequence[int], dtype: Any = None, sparse: bool = False) -> Any:
    """An array (or, with ``sparse``, a tuple of arrays) of grid indices.

    >>> indices((2, 2))[0].tolist()
    [[0, 0], [1, 1]]
    """
    dimensions = canonicalize_shape(dimensions, argname="dimensions")
    dtype = dtypes.default_int_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    return _indices(dimensions, dtype, bool(sparse))


@numpy_jit(static_argnums=(0, 1, 2))
def _indices(dimensions: tuple[int, ...], dtype: Any, sparse: bool) -> Any:
    n = len(dimensions)
    if sparse:
        return tuple(sh.broadcasted_iota(dtype, tuple(d if j == i else 1 for j, d in enumerate(dimensions)), i)
                     for i in range(n))
    if n == 0:
        return sh.full((0,), 0, dtype)
    grids = [sh.broadcasted_iota(dtype, (1,) + dimensions, i + 1) for i in range(n)]
    return sh.concatenate(grids, 0)


def fromfunction(function: Callable[..., Any], shape: Any, *, dtype: Any = float, **kwargs: Any) -> Any:
    """``function`` evaluated at each grid index: it is vectorised with ``vmap`` over each axis and
    called with scalar indices of ``dtype``, as in JAX.

    >>> fromfunction(lambda i, j: i + j, (2, 2), dtype=int).tolist()
    [[0, 1], [1, 2]]
    """
    from ..transforms.batching import vmap
    shape = canonicalize_shape(shape)
    f = function
    n = len(shape)
    for i in range(n):
        in_axes = tuple(0 if j == n - 1 - i else None for j in range(n))
        f = vmap(f, in_axes=in_axes)
    return f(*(arange(s, dtype=dtype) for s in shape), **kwargs)
