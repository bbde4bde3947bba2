"""Array creation: array/asarray, zeros/ones/full/empty (+ ``_like``), arange, linspace, eye..."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import Tracer, canonicalize_shape, get_aval, operator_index
from ..dispatch import to_array
from ..primitives import elementwise as lax
from ..primitives import shape as sh
from .util import numpy_jit


def _is_traced(x: Any) -> bool:
    return isinstance(x, Tracer)


def array(object: Any, dtype: Any = None, copy: bool = True, order: str | None = None, ndmin: int = 0) -> Any:  # noqa: A002
    """An Array from ``object`` (an Array, NumPy array, scalar or nested sequence)."""
    if order not in (None, "C", "K", "A"):
        raise NotImplementedError(f"array: only C order is supported, got order={order!r}")
    if isinstance(object, (Array, Tracer)):
        out = object if dtype is None else lax.convert_element_type(object, dtypes.canonicalize_dtype(dtype))
    elif isinstance(object, (list, tuple)) and _contains_traced(object):
        from .shape_ops import stack
        out = stack([array(o, dtype) for o in object])
    else:
        if not isinstance(object, np.ndarray) and hasattr(object, "__array__"):
            object = np.asarray(object)
        # a Python scalar keeps its weak type (as in JAX): array(1.0) + bf16 stays bf16
        weak = dtype is None and type(object) in (int, float, complex)
        host_dtype = None if dtype is None else dtypes.canonicalize_dtype(dtype)
        host = np.asarray(object, dtype=host_dtype)
        if host.dtype == np.dtype("O"):
            raise TypeError(f"array: cannot convert {type(object).__name__} to an array")
        if host_dtype is None:
            host_dtype = dtypes.canonicalize_dtype(dtypes.to_dtype(host.dtype, argname="object"))
        out = to_array(host, dtype=host_dtype, weak_type=weak)
    if ndmin and get_aval(out).ndim < ndmin:
        out = sh.reshape(out, (1,) * (ndmin - get_aval(out).ndim) + get_aval(out).shape)
    return out


def _contains_traced(seq: Any) -> bool:
    if isinstance(seq, (list, tuple)):
        return any(_contains_traced(s) for s in seq)
    return isinstance(seq, (Tracer, Array))


def asarray(a: Any, dtype: Any = None, order: str | None = None, *, copy: bool | None = None) -> Any:
    """``a`` as an Array (no copy when it already is one of the right dtype).

    >>> asarray([1, 2]).dtype
    dtype('int32')
    """
    if isinstance(a, (Array, Tracer)) and (dtype is None or get_aval(a).dtype == dtypes.canonicalize_dtype(dtype)):
        return a
    return array(a, dtype=dtype, copy=False, order=order)


def _dtype_or_default(dtype: Any, default: Any = None) -> np.dtype:
    if dtype is None:
        return dtypes.default_float_dtype() if default is None else default
    return dtypes.canonicalize_dtype(dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    shape = canonicalize_shape(shape)
    if dtype is None:
        fill_dtype = dtypes.result_type(fill_value) if not isinstance(fill_value, (Array, Tracer, np.ndarray)) else get_aval(fill_value).dtype
        dtype = fill_dtype
    dtype = dtypes.canonicalize_dtype(dtype)
    if isinstance(fill_value, (Array, Tracer)) or (isinstance(fill_value, np.ndarray) and fill_value.ndim):
        from .util import broadcast_to_shape
        return broadcast_to_shape(lax.convert_element_type(fill_value, dtype), shape)
    return _full_jit(shape, np.array(fill_value, dtype))


@numpy_jit(static_argnums=(0,))
def _full_jit(shape: tuple[int, ...], value: Any) -> Any:
    return sh.broadcast_in_dim(value, shape, ())


def zeros(shape: Any, dtype: Any = None) -> Any:
    return full(shape, 0, _dtype_or_default(dtype))


def ones(shape: Any, dtype: Any = None) -> Any:
    return full(shape, 1, _dtype_or_default(dtype))


def empty(shape: Any, dtype: Any = None) -> Any:
    """Like ``zeros`` (XLA has no uninitialised memory)."""
    return zeros(shape, dtype)


def _like(a: Any, dtype: Any, shape: Any) -> tuple[tuple[int, ...], np.dtype]:
    aval = get_aval(a) if not isinstance(a, (list, tuple)) else get_aval(np.asarray(a))
    out_shape = aval.shape if shape is None else canonicalize_shape(shape)
    return out_shape, aval.dtype if dtype is None else dtypes.canonicalize_dtype(dtype)


def full_like(a: Any, fill_value: Any, dtype: Any = None, shape: Any = None) -> Any:
    s, d = _like(a, dtype, shape)
    return full(s, fill_value, d)


def zeros_like(a: Any, dtype: Any = None, shape: Any = None) -> Any:
    s, d = _like(a, dtype, shape)
    return full(s, 0, d)


def ones_like(a: Any, dtype: Any = None, shape: Any = None) -> Any:
    s, d = _like(a, dtype, shape)
    return full(s, 1, d)


def empty_like(a: Any, dtype: Any = None, shape: Any = None) -> Any:
    return zeros_like(a, dtype, shape)


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Any:
    """Evenly spaced values in [start, stop) — bounds must be concrete (they fix the length)."""
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if _is_traced(v):
            from ..core import ConcretizationError
            raise ConcretizationError(v, f"arange's `{name}` (it determines the output length)")
    if stop is None and step is None:
        start, stop = 0, start
    step = 1 if step is None else step
    values = [np.asarray(v) for v in (start, stop, step)]
    if dtype is None:
        dtype = dtypes.result_type(*[v.item() if v.ndim == 0 else v for v in values])
        if any(isinstance(v, float) for v in (start, stop, step)) or any(v.dtype.kind == "f" for v in values):
            dtype = dtypes.result_type(dtype, dtypes.default_float_dtype()) if dtypes.is_inexact(dtype) else dtypes.default_float_dtype()
    dtype = dtypes.canonicalize_dtype(dtype)
    length = int(np.ceil((float(values[1]) - float(values[0])) / float(values[2]))) if float(values[2]) else 0
    if float(values[2]) == 0:
        raise ValueError("arange: step must not be zero")
    length = max(length, 0)
    if dtype.kind in "iu" and all(v.dtype.kind in "iub" for v in values):
        return _arange_int(length, int(values[0]), int(values[2]), dtype)
    return _arange_float(length, np.array(values[0], dtype), np.array(values[2], dtype))


@numpy_jit(static_argnums=(0, 1, 2, 3))
def _arange_int(length: int, start: int, step: int, dtype: Any) -> Any:
    out = sh.iota(dtype, length)
    if step != 1:
        out = lax.mul(out, lax.full_like(out, step))
    if start != 0:
        out = lax.add(out, lax.full_like(out, start))
    return out


@numpy_jit(static_argnums=(0,))
def _arange_float(length: int, start: Any, step: Any) -> Any:
    dtype = get_aval(start).dtype
    idx = sh.iota(dtype, length)
    return lax.add(lax.mul(idx, sh.broadcast_in_dim(step, (length,), ())), sh.broadcast_in_dim(start, (length,), ()))


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop``."""
    num = operator_index(num)
    if num < 0:
        raise ValueError(f"linspace: num must be non-negative, got {num}")
    out, step = _linspace(asarray(start), asarray(stop), num, endpoint, dtype, axis)
    return (out, step) if retstep else out


@numpy_jit(static_argnums=(2, 3, 4, 5))
def _linspace(start: Any, stop: Any, num: int, endpoint: bool, dtype: Any, axis: int) -> tuple[Any, Any]:
    from .util import promote_args_inexact
    start, stop = promote_args_inexact("linspace", start, stop)
    compute_dtype = get_aval(start).dtype
    out_dtype = compute_dtype if dtype is None else dtypes.canonicalize_dtype(dtype)
    shape = get_aval(start).shape
    div = (num - 1) if endpoint else num
    delta = lax.sub(stop, start)
    step = lax.div(delta, lax.full_like(delta, div)) if div > 0 else lax.full_like(delta, np.nan)
    iota_shape = (num,) + shape
    idx = lax.convert_element_type(sh.broadcasted_iota(np.int32, iota_shape, 0), compute_dtype)
    start_b = sh.broadcast_in_dim(start, iota_shape, tuple(range(1, len(iota_shape))))
    step_b = sh.broadcast_in_dim(step, iota_shape, tuple(range(1, len(iota_shape))))
    out = lax.add(start_b, lax.mul(idx, step_b))
    if endpoint and num > 1:
        stop_b = sh.broadcast_in_dim(stop, (1,) + shape, tuple(range(1, len(iota_shape))))
        out = sh.concatenate([sh.slice_in_dim(out, 0, num - 1), stop_b], 0)
    if axis != 0:
        from .shape_ops import moveaxis
        out = moveaxis(out, 0, axis)
    if dtypes.canonicalize_dtype(out_dtype).kind in "iu":
        out = lax.floor(out)
    return lax.convert_element_type(out, out_dtype), lax.convert_element_type(step, out_dtype)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """A 2-D array with ones on diagonal ``k``."""
    N = operator_index(N)
    M = N if M is None else operator_index(M)
    return _eye(N, M, operator_index(k), _dtype_or_default(dtype))


@numpy_jit(static_argnums=(0, 1, 2, 3))
def _eye(N: int, M: int, k: int, dtype: Any) -> Any:
    rows = sh.broadcasted_iota(np.int32, (N, M), 0)
    cols = sh.broadcasted_iota(np.int32, (N, M), 1)
    on_diag = lax.eq(lax.add(rows, lax.full_like(rows, k)), cols)
    return lax.convert_element_type(on_diag, dtype)


def identity(n: int, dtype: Any = None) -> Any:
    return eye(n, dtype=dtype)


def copy(a: Any, order: str | None = None) -> Any:
    return array(a, copy=True)


def _shape_tuple(shape: Sequence[int]) -> tuple[int, ...]:
    return canonicalize_shape(shape)


__all__ = ["array", "asarray", "full", "zeros", "ones", "empty", "full_like", "zeros_like", "ones_like",
           "empty_like", "arange", "linspace", "eye", "identity", "copy"]
