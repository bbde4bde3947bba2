"""Reductions, statistics and cumulative functions of ``ec.numpy`` (``sum``, ``mean``, ``var``,
``max``, ``argmax``, ``cumsum``, ``quantile``, the ``nan*`` variants...), with JAX's signatures,
defaults and dtype rules: sums and products of booleans and small integers accumulate in the
default integer type, means and variances of integers are floating point, and float16/bfloat16
sums accumulate in float32.

Each public function checks and normalises its static arguments (``axis``, ``dtype``,
``keepdims``...) and calls a ``numpy_jit`` implementation, so an eager call is one compiled
program and a traced call inlines.
"""

from __future__ import annotations

import builtins
import math
import operator
from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes
from ..core import Tracer, get_aval
from ..primitives import cumulative as cum
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives import sorting as srt
from .util import broadcast_shapes, broadcast_to_shape, check_arraylike, numpy_jit, promote_dtypes_inexact

__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "average", "count_nonzero", "cumprod", "cumsum",
    "cumulative_prod", "cumulative_sum", "max", "mean", "median", "min", "nanargmax", "nanargmin",
    "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
    "nanquantile", "nanstd", "nansum", "nanvar", "percentile", "prod", "ptp", "quantile", "std", "sum", "var",
]

Axis = Any  # None, an int, or a tuple of ints


# ----------------------------------------------------------------------------------------------
# Argument helpers

def _no_out(name: str, out: Any) -> None:
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported (arrays are immutable); "
                                  "use the return value")


def _static_axis(name: str, axis: Axis) -> Axis:
    """None, an int or a tuple of ints (hashable, for jit's static arguments)."""
    if axis is None:
        return None
    if isinstance(axis, Tracer):
        from ..core import ConcretizationError
        raise ConcretizationError(axis, f"the axis argument of jnp.{name}")
    if isinstance(axis, (tuple, list, np.ndarray)):
        return tuple(operator.index(a) for a in axis)
    try:
        return operator.index(axis)
    except TypeError:
        raise TypeError(f"jnp.{name}: axis must be None, an int or a tuple of ints, got {axis!r}") from None


def _static_dtype(dtype: Any) -> np.dtype | None:
    return None if dtype is None else dtypes.canonicalize_dtype(dtype)


def _reduction_dims(name: str, ndim: int, axis: Axis) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"jnp.{name}: axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"jnp.{name}: duplicate value in 'axis': {axis}")
    if ndim == 0:
        return ()
    return tuple(out)


def _aval(x: Any) -> Any:
    return get_aval(x)


def _isnan(x: Any) -> Any:
    return ew.ne(x, x)


def _keep_dims(x: Any, shape: tuple[int, ...], dims: Sequence[int]) -> Any:
    """``x`` reduced over ``dims`` of ``shape``, with those dimensions put back as size 1."""
    new_shape = tuple(1 if d in dims else n for d, n in enumerate(shape))
    return sh.reshape(x, new_shape)


def _check_where(name: str, where: Any) -> Any:
    if where is None:
        return None
    check_arraylike(name, where)
    if _aval(where).dtype != dtypes.bool_:
        raise ValueError(f"jnp.{name}: where must be None or a boolean array; got dtype={_aval(where).dtype}")
    return where


def _broadcast_where(name: str, where: Any, shape: tuple[int, ...]) -> Any:
    try:
        target = broadcast_shapes(_aval(where).shape, shape)
    except ValueError:
        raise ValueError(f"jnp.{name}: where of shape {_aval(where).shape} cannot be broadcast to the "
                         f"array's shape {shape}") from None
    if target != shape:
        raise ValueError(f"jnp.{name}: where of shape {_aval(where).shape} cannot be broadcast to the "
                         f"array's shape {shape}")
    return broadcast_to_shape(where, shape)


def _promote_integer_dtype(dtype: np.dtype) -> np.dtype:
    # like NumPy, but to the default (32-bit unless x64) integer types rather than to 64 bits
    if dtype == dtypes.bool_:
        return dtypes.default_int_dtype()
    if dtype.kind == "u":
        default_uint = dtypes.canonicalize_dtype(np.uint64)
        return default_uint if dtype.itemsize < default_uint.itemsize else dtype
    if dtype.kind == "i":
        default_int = dtypes.default_int_dtype()
        return default_int if dtype.itemsize < default_int.itemsize else dtype
    return dtype


def _upcast_f16(dtype: np.dtype) -> np.dtype:
    return dtypes.float32 if dtype in (dtypes.float16, dtypes.bfloat16) else dtype


def _to_inexact(dtype: np.dtype) -> np.dtype:
    return dtype if dtypes.is_inexact(dtype) else dtypes.default_float_dtype()


def _to_numeric(x: Any) -> Any:
    return ew.convert_element_type(x, dtypes.default_int_dtype()) if _aval(x).dtype == dtypes.bool_ else x


def _to_bool(x: Any) -> Any:
    if _aval(x).dtype.kind == "c":
        x = ew.real(x)
    return ew.convert_element_type(x, dtypes.bool_)


def _init_value(dtype: np.dtype, value: Any) -> np.ndarray:
    """``value`` (0, 1, +-inf) as a constant of ``dtype``: booleans take value > 0, integers and
    floats without infinities clip to their range."""
    if dtype == dtypes.bool_:
        return np.array(value > 0, dtype)
    if np.isinf(value) and dtypes.is_float(dtype):
        return np.array(red.lowest_value(dtype) if value < 0 else red.highest_value(dtype), dtype)
    if np.isinf(value) and dtype.kind in "iu":
        return np.array(red.lowest_value(dtype) if value < 0 else red.highest_value(dtype), dtype)
    return np.array(value, dtype)


# ----------------------------------------------------------------------------------------------
# The generic reduction (sum, prod, max, min, all, any)

# name -> (reduce over axes, combine two arrays, identity, has_identity); booleans use the second entry
_MONOIDS: dict[str, tuple[tuple[Callable, Callable], tuple[Callable, Callable], float, bool]] = {
    "sum": ((red.reduce_sum, ew.add), (red.reduce_or, ew.bitwise_or), 0, True),
    "prod": ((red.reduce_prod, ew.mul), (red.reduce_and, ew.bitwise_and), 1, True),
    "max": ((red.reduce_max, ew.max), (red.reduce_or, ew.bitwise_or), -np.inf, False),
    "min": ((red.reduce_min, ew.min), (red.reduce_and, ew.bitwise_and), np.inf, False),
    "all": ((red.reduce_and, ew.bitwise_and), (red.reduce_and, ew.bitwise_and), 1, True),
    "any": ((red.reduce_or, ew.bitwise_or), (red.reduce_or, ew.bitwise_or), 0, True),
}


def _reduction(a: Any, name: str, monoid: str, *, axis: Axis, dtype: np.dtype | None, keepdims: bool,
               initial: Any, where: Any, promote_integers: bool = False, upcast_f16: bool = False,
               preproc: Callable[[Any], Any] | None = None) -> Any:
    (reduce_fn, op), (bool_reduce, bool_op), identity, has_identity = _MONOIDS[monoid]
    check_arraylike(name, a)
    where = _check_where(name, where)
    if initial is None and not has_identity and where is not None:
        raise ValueError(f"jnp.{name}: reduction operation {name} does not have an identity, so to use a "
                         "where mask one has to specify 'initial'")
    if preproc is not None:
        a = preproc(a)
    aval = _aval(a)
    dims = _reduction_dims(name, aval.ndim, axis)
    if initial is None and not has_identity and builtins.any(aval.shape[d] == 0 for d in dims):
        raise ValueError(f"jnp.{name}: zero-size array to reduction operation {name} which has no identity")
    if dtype is None:
        result_dtype = _promote_integer_dtype(aval.dtype) if promote_integers else aval.dtype
    else:
        result_dtype = dtype
    computation_dtype = _upcast_f16(result_dtype) if upcast_f16 and dtypes.is_inexact(result_dtype) else result_dtype
    a = ew.convert_element_type(a, computation_dtype)
    if computation_dtype == dtypes.bool_:
        reduce_fn, op = bool_reduce, bool_op
    init = _init_value(computation_dtype, identity)
    if where is not None:
        a = ew.select(_broadcast_where(name, where, aval.shape), a, ew.full_like(a, init.item()))
    result = reduce_fn(a, dims) if dims else a
    if initial is not None:
        check_arraylike(name, initial)
        if _aval(initial).shape:
            raise ValueError(f"jnp.{name}: initial value must be a scalar, got an array of shape "
                             f"{_aval(initial).shape}")
        initial = ew.convert_element_type(initial, computation_dtype)
        result = op(sh.broadcast_in_dim(initial, _aval(result).shape, ()), result)
    if keepdims:
        result = _keep_dims(result, aval.shape, dims)
    return ew.convert_element_type(result, dtype or result_dtype)


@numpy_jit(static_argnames=("axis", "dtype", "keepdims", "promote_integers"))
def _sum(a: Any, axis: Axis, dtype: Any, keepdims: bool, initial: Any, where: Any, promote_integers: bool) -> Any:
    return _reduction(a, "sum", "sum", axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where,
                      promote_integers=promote_integers, upcast_f16=dtype is None, preproc=_to_numeric)


def sum(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, keepdims: bool = False,  # noqa: A001
        initial: Any = None, where: Any = None, promote_integers: bool = True) -> Any:
    """Sum of the elements over ``axis`` (all axes when None). Booleans and integers narrower than
    the default integer accumulate in it (``promote_integers``).

    >>> sum(np.array([[1, 2], [3, 4]]), axis=1).tolist()
    [3, 7]
    """
    _no_out("sum", out)
    return _sum(a, axis=_static_axis("sum", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                initial=initial, where=where, promote_integers=bool(promote_integers))


@numpy_jit(static_argnames=("axis", "dtype", "keepdims", "promote_integers"))
def _prod(a: Any, axis: Axis, dtype: Any, keepdims: bool, initial: Any, where: Any, promote_integers: bool) -> Any:
    return _reduction(a, "prod", "prod", axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where,
                      promote_integers=promote_integers, upcast_f16=dtype is None, preproc=_to_numeric)


def prod(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, keepdims: bool = False,
         initial: Any = None, where: Any = None, promote_integers: bool = True) -> Any:
    """Product of the elements over ``axis``.

    >>> prod(np.array([1, 2, 3, 4])).item()
    24
    """
    _no_out("prod", out)
    return _prod(a, axis=_static_axis("prod", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                 initial=initial, where=where, promote_integers=bool(promote_integers))


@numpy_jit(static_argnames=("axis", "keepdims"))
def _max(a: Any, axis: Axis, keepdims: bool, initial: Any, where: Any) -> Any:
    return _reduction(a, "max", "max", axis=axis, dtype=None, keepdims=keepdims, initial=initial, where=where)


def max(a: Any, axis: Axis = None, out: None = None, keepdims: bool = False, initial: Any = None,  # noqa: A001
        where: Any = None) -> Any:
    """Maximum over ``axis`` (NaN propagates); ``initial`` is required for empty reductions and with
    ``where``.

    >>> max(np.array([[1, 5], [3, 2]]), axis=0).tolist()
    [3, 5]
    """
    _no_out("max", out)
    return _max(a, axis=_static_axis("max", axis), keepdims=bool(keepdims), initial=initial, where=where)


@numpy_jit(static_argnames=("axis", "keepdims"))
def _min(a: Any, axis: Axis, keepdims: bool, initial: Any, where: Any) -> Any:
    return _reduction(a, "min", "min", axis=axis, dtype=None, keepdims=keepdims, initial=initial, where=where)


def min(a: Any, axis: Axis = None, out: None = None, keepdims: bool = False, initial: Any = None,  # noqa: A001
        where: Any = None) -> Any:
    """Minimum over ``axis`` (NaN propagates).

    >>> min(np.array([[1, 5], [3, 2]]), axis=1).tolist()
    [1, 2]
    """
    _no_out("min", out)
    return _min(a, axis=_static_axis("min", axis), keepdims=bool(keepdims), initial=initial, where=where)


amax = max
amin = min


@numpy_jit(static_argnames=("axis", "keepdims"))
def _all(a: Any, axis: Axis, keepdims: bool, where: Any) -> Any:
    return _reduction(a, "all", "all", axis=axis, dtype=None, keepdims=keepdims, initial=None, where=where,
                      preproc=_to_bool)


def all(a: Any, axis: Axis = None, out: None = None, keepdims: bool = False, *, where: Any = None) -> Any:  # noqa: A001
    """Whether every element over ``axis`` is true (non-zero).

    >>> all(np.array([1, 2, 0])).item()
    False
    """
    _no_out("all", out)
    return _all(a, axis=_static_axis("all", axis), keepdims=bool(keepdims), where=where)


@numpy_jit(static_argnames=("axis", "keepdims"))
def _any(a: Any, axis: Axis, keepdims: bool, where: Any) -> Any:
    return _reduction(a, "any", "any", axis=axis, dtype=None, keepdims=keepdims, initial=None, where=where,
                      preproc=_to_bool)


def any(a: Any, axis: Axis = None, out: None = None, keepdims: bool = False, *, where: Any = None) -> Any:  # noqa: A001
    """Whether any element over ``axis`` is true (non-zero).

    >>> any(np.array([0, 0, 3])).item()
    True
    """
    _no_out("any", out)
    return _any(a, axis=_static_axis("any", axis), keepdims=bool(keepdims), where=where)


# ----------------------------------------------------------------------------------------------
# Means and variances

def _count(a_shape: tuple[int, ...], dims: tuple[int, ...], keepdims: bool, where: Any, dtype: np.dtype,
           name: str) -> Any:
    if where is None:
        return np.array(math.prod(a_shape[d] for d in dims), dtype)
    mask = _broadcast_where(name, where, a_shape)
    return _reduction(mask, name, "sum", axis=dims, dtype=dtype, keepdims=keepdims, initial=None, where=None,
                      preproc=_to_numeric)


def _mean_impl(a: Any, axis: Axis, dtype: np.dtype | None, keepdims: bool, where: Any, upcast_f16: bool = True,
               name: str = "mean") -> Any:
    check_arraylike(name, a)
    where = _check_where(name, where)
    aval = _aval(a)
    dims = _reduction_dims(name, aval.ndim, axis)
    result_dtype = _to_inexact(aval.dtype) if dtype is None else dtype
    computation_dtype = _upcast_f16(result_dtype) if upcast_f16 and dtypes.is_inexact(result_dtype) else result_dtype
    total = _reduction(a, name, "sum", axis=dims, dtype=computation_dtype, keepdims=keepdims, initial=None,
                       where=where, preproc=_to_numeric)
    count = _count(aval.shape, dims, keepdims, where, computation_dtype, name)
    return ew.convert_element_type(ew.div(total, _like(count, total)), result_dtype)


def _like(x: Any, target: Any) -> Any:
    """Broadcast the scalar or same-shaped ``x`` to ``target``'s shape."""
    shape = _aval(target).shape
    if _aval(x).shape == shape:
        return x
    return sh.broadcast_in_dim(x, shape, ())


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _mean(a: Any, axis: Axis, dtype: Any, keepdims: bool, where: Any) -> Any:
    return _mean_impl(a, axis, dtype, keepdims, where, upcast_f16=dtype is None)


def mean(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, keepdims: bool = False, *,
         where: Any = None) -> Any:
    """Arithmetic mean over ``axis``; integers give the default float type.

    >>> mean(np.array([1, 2, 3, 4])).item()
    2.5
    """
    _no_out("mean", out)
    return _mean(a, axis=_static_axis("mean", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                 where=where)


def _var_promote_types(name: str, a_dtype: np.dtype, dtype: np.dtype | None) -> tuple[np.dtype, np.dtype]:
    if dtype is not None:
        if dtype.kind != "c" and a_dtype.kind == "c":
            raise ValueError(f"jnp.{name}: a real dtype ({dtype.name}) for the variance of complex values is "
                             "not supported")
        return _upcast_f16(dtype), dtype
    if not dtypes.is_inexact(a_dtype):
        result = dtypes.default_float_dtype()
        return _upcast_f16(result), result
    result = np.zeros((), a_dtype).real.dtype if a_dtype.kind == "c" else a_dtype
    return _upcast_f16(a_dtype), result


def _var_impl(a: Any, axis: Axis, dtype: np.dtype | None, keepdims: bool, where: Any, correction: Any,
              a_mean: Any, name: str) -> Any:
    check_arraylike(name, a)
    where = _check_where(name, where)
    aval = _aval(a)
    dims = _reduction_dims(name, aval.ndim, axis)
    computation_dtype, result_dtype = _var_promote_types(name, aval.dtype, dtype)
    a = ew.convert_element_type(a, computation_dtype)
    if a_mean is None:
        a_mean = _mean_impl(a, dims, computation_dtype, True, where, name=name)
    else:
        check_arraylike(name, a_mean)
        a_mean = ew.convert_element_type(a_mean, computation_dtype)
    a_mean = _broadcast_to(a_mean, aval.shape, name)
    centered = ew.sub(a, a_mean)
    if computation_dtype.kind == "c":
        centered = ew.real(ew.mul(centered, ew.conj(centered)))
        computation_dtype = _aval(centered).dtype
    else:
        centered = ew.square(centered)
    count = _count(aval.shape, dims, keepdims, where, computation_dtype, name)
    total = _reduction(centered, name, "sum", axis=dims, dtype=computation_dtype, keepdims=keepdims,
                       initial=None, where=where)
    normalizer = ew.sub(_like(count, total), _like(ew.convert_element_type(correction, computation_dtype), total))
    result = ew.convert_element_type(ew.div(total, normalizer), result_dtype)
    positive = ew.gt(normalizer, ew.full_like(normalizer, 0))
    return ew.select(positive, result, ew.full_like(result, np.nan))


def _broadcast_to(x: Any, shape: tuple[int, ...], name: str) -> Any:
    try:
        target = broadcast_shapes(_aval(x).shape, shape)
    except ValueError:
        raise ValueError(f"jnp.{name}: mean of shape {_aval(x).shape} does not broadcast to {shape}") from None
    if target != shape:
        raise ValueError(f"jnp.{name}: mean of shape {_aval(x).shape} does not broadcast to {shape}")
    return broadcast_to_shape(x, shape)


def _correction(name: str, ddof: Any, correction: Any) -> Any:
    if correction is None:
        return ddof
    if not isinstance(ddof, int) or ddof != 0:
        raise ValueError(f"jnp.{name}: ddof and correction can't be provided simultaneously")
    return correction


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _var(a: Any, axis: Axis, dtype: Any, keepdims: bool, where: Any, correction: Any, mean: Any) -> Any:
    return _var_impl(a, axis, dtype, keepdims, where, correction, mean, "var")


def var(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, ddof: int = 0, keepdims: bool = False, *,
        where: Any = None, mean: Any = None, correction: int | float | None = None) -> Any:
    """Variance over ``axis``, dividing by ``N - correction`` (``correction`` is NumPy's ``ddof``);
    NaN where that is not positive.

    >>> var(np.array([1.0, 2.0, 3.0, 4.0])).item()
    1.25
    """
    _no_out("var", out)
    return _var(a, axis=_static_axis("var", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                where=where, correction=_correction("var", ddof, correction), mean=mean)


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _std(a: Any, axis: Axis, dtype: Any, keepdims: bool, where: Any, correction: Any, mean: Any) -> Any:
    return ew.sqrt(_var_impl(a, axis, dtype, keepdims, where, correction, mean, "std"))


def std(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, ddof: int = 0, keepdims: bool = False, *,
        where: Any = None, mean: Any = None, correction: int | float | None = None) -> Any:
    """Standard deviation over ``axis`` (the square root of ``var``).

    >>> std(np.array([1.0, 3.0])).item()
    1.0
    """
    _no_out("std", out)
    dtype = _static_dtype(dtype)
    if dtype is not None and not dtypes.is_inexact(dtype):
        raise ValueError(f"jnp.std: dtype must be inexact, got {dtype.name}")
    return _std(a, axis=_static_axis("std", axis), dtype=dtype, keepdims=bool(keepdims), where=where,
                correction=_correction("std", ddof, correction), mean=mean)


@numpy_jit(static_argnames=("axis", "keepdims"))
def _ptp(a: Any, axis: Axis, keepdims: bool) -> Any:
    hi = _reduction(a, "ptp", "max", axis=axis, dtype=None, keepdims=keepdims, initial=None, where=None)
    lo = _reduction(a, "ptp", "min", axis=axis, dtype=None, keepdims=keepdims, initial=None, where=None)
    return ew.sub(hi, lo)


def ptp(a: Any, axis: Axis = None, out: None = None, keepdims: bool = False) -> Any:
    """Range (max - min) over ``axis``.

    >>> ptp(np.array([4, 9, 1])).item()
    8
    """
    _no_out("ptp", out)
    return _ptp(a, axis=_static_axis("ptp", axis), keepdims=bool(keepdims))


@numpy_jit(static_argnames=("axis", "keepdims"))
def _count_nonzero(a: Any, axis: Axis, keepdims: bool) -> Any:
    check_arraylike("count_nonzero", a)
    nonzero = ew.ne(a, ew.full_like(a, 0))
    return _reduction(nonzero, "count_nonzero", "sum", axis=axis, dtype=dtypes.default_int_dtype(),
                      keepdims=keepdims, initial=None, where=None, preproc=_to_numeric)


def count_nonzero(a: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    """Number of non-zero elements over ``axis``.

    >>> count_nonzero(np.array([0, 3, 0, 1])).item()
    2
    """
    return _count_nonzero(a, axis=_static_axis("count_nonzero", axis), keepdims=bool(keepdims))


@numpy_jit(static_argnames=("axis", "returned", "keepdims"))
def _average(a: Any, axis: Axis, weights: Any, returned: bool, keepdims: bool) -> Any:
    check_arraylike("average", a)
    ndim = _aval(a).ndim
    dims = _reduction_dims("average", ndim, axis)
    if weights is None:
        (a,) = promote_dtypes_inexact(a)
        avg = _mean_impl(a, axis, None, keepdims, None, name="average")
        total = math.prod(_aval(a).shape[d] for d in dims)
        weights_sum = sh.full((), total, _aval(avg).dtype)
    else:
        check_arraylike("average", weights)
        a, weights = promote_dtypes_inexact(a, weights)
        a_shape, w_shape = _aval(a).shape, _aval(weights).shape
        if a_shape != w_shape:
            if axis is None:
                raise ValueError("jnp.average: axis must be specified when the shapes of a and weights differ")
            if w_shape != tuple(a_shape[d] for d in dims):
                raise ValueError(f"jnp.average: weights of shape {w_shape} must have the shape of a {a_shape} "
                                 f"along axis {axis}")
            weights = sh.broadcast_in_dim(weights, a_shape, dims) if list(dims) == sorted(dims) else \
                sh.broadcast_in_dim(sh.transpose(weights, tuple(np.argsort(dims))), a_shape, tuple(sorted(dims)))
        weights_sum = _reduction(weights, "average", "sum", axis=dims, dtype=None, keepdims=keepdims,
                                 initial=None, where=None)
        weighted = _reduction(ew.mul(a, weights), "average", "sum", axis=dims, dtype=None, keepdims=keepdims,
                              initial=None, where=None)
        avg = ew.div(weighted, weights_sum)
    if returned:
        if _aval(weights_sum).shape != _aval(avg).shape:
            weights_sum = sh.broadcast_in_dim(weights_sum, _aval(avg).shape, ())
        return avg, weights_sum
    return avg


def average(a: Any, axis: Axis = None, weights: Any = None, returned: bool = False, keepdims: bool = False) -> Any:
    """Weighted average over ``axis``; with ``returned``, also the sum of the weights.

    >>> average(np.array([1.0, 2.0]), weights=np.array([3.0, 1.0])).item()
    1.25
    """
    return _average(a, axis=_static_axis("average", axis), weights=weights, returned=bool(returned),
                    keepdims=bool(keepdims))


# ----------------------------------------------------------------------------------------------
# NaN-ignoring reductions

def _nan_reduction(a: Any, name: str, monoid: str, identity: float, nan_if_all_nan: bool, *, axis: Axis,
                   keepdims: bool, where: Any, **kwargs: Any) -> Any:
    check_arraylike(name, a)
    where = _check_where(name, where)
    if not dtypes.is_inexact(_aval(a).dtype):
        return _reduction(a, name, monoid, axis=axis, keepdims=keepdims, where=where, **kwargs)
    nan = _isnan(a)
    filled = ew.select(nan, ew.full_like(a, _init_value(_aval(a).dtype, identity).item()), a)
    out = _reduction(filled, name, monoid, axis=axis, keepdims=keepdims, where=where, **kwargs)
    if nan_if_all_nan:
        all_nan = _reduction(nan, name, "all", axis=axis, dtype=None, keepdims=keepdims, initial=None, where=None)
        out = ew.select(all_nan, ew.full_like(out, np.nan), out)
    return out


@numpy_jit(static_argnames=("axis", "keepdims"))
def _nanmax(a: Any, axis: Axis, keepdims: bool, initial: Any, where: Any) -> Any:
    return _nan_reduction(a, "nanmax", "max", -np.inf, True, axis=axis, keepdims=keepdims, where=where,
                          dtype=None, initial=initial)


def nanmax(a: Any, axis: Axis = None, out: None = None, keepdims: bool = False, initial: Any = None,
           where: Any = None) -> Any:
    """Maximum over ``axis`` ignoring NaNs (NaN where every value is NaN).

    >>> nanmax(np.array([1.0, np.nan, 3.0])).item()
    3.0
    """
    _no_out("nanmax", out)
    return _nanmax(a, axis=_static_axis("nanmax", axis), keepdims=bool(keepdims), initial=initial, where=where)


@numpy_jit(static_argnames=("axis", "keepdims"))
def _nanmin(a: Any, axis: Axis, keepdims: bool, initial: Any, where: Any) -> Any:
    return _nan_reduction(a, "nanmin", "min", np.inf, True, axis=axis, keepdims=keepdims, where=where,
                          dtype=None, initial=initial)


def nanmin(a: Any, axis: Axis = None, out: None = None, keepdims: bool = False, initial: Any = None,
           where: Any = None) -> Any:
    """Minimum over ``axis`` ignoring NaNs (NaN where every value is NaN).

    >>> nanmin(np.array([1.0, np.nan, 3.0])).item()
    1.0
    """
    _no_out("nanmin", out)
    return _nanmin(a, axis=_static_axis("nanmin", axis), keepdims=bool(keepdims), initial=initial, where=where)


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _nansum(a: Any, axis: Axis, dtype: Any, keepdims: bool, initial: Any, where: Any) -> Any:
    return _nan_reduction(a, "nansum", "sum", 0, False, axis=axis, keepdims=keepdims, where=where, dtype=dtype,
                          initial=initial, promote_integers=True, upcast_f16=dtype is None, preproc=_to_numeric)


def nansum(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, keepdims: bool = False,
           initial: Any = None, where: Any = None) -> Any:
    """Sum over ``axis`` treating NaNs as zero.

    >>> nansum(np.array([1.0, np.nan, 3.0])).item()
    4.0
    """
    _no_out("nansum", out)
    return _nansum(a, axis=_static_axis("nansum", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                   initial=initial, where=where)


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _nanprod(a: Any, axis: Axis, dtype: Any, keepdims: bool, initial: Any, where: Any) -> Any:
    return _nan_reduction(a, "nanprod", "prod", 1, False, axis=axis, keepdims=keepdims, where=where, dtype=dtype,
                          initial=initial, promote_integers=True, upcast_f16=dtype is None, preproc=_to_numeric)


def nanprod(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, keepdims: bool = False,
            initial: Any = None, where: Any = None) -> Any:
    """Product over ``axis`` treating NaNs as one.

    >>> nanprod(np.array([2.0, np.nan, 3.0])).item()
    6.0
    """
    _no_out("nanprod", out)
    return _nanprod(a, axis=_static_axis("nanprod", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                    initial=initial, where=where)


def _nanmean_impl(a: Any, axis: Axis, dtype: np.dtype | None, keepdims: bool, where: Any, name: str) -> Any:
    check_arraylike(name, a)
    aval = _aval(a)
    if not dtypes.is_inexact(aval.dtype):
        return _mean_impl(a, axis, dtype, keepdims, where, upcast_f16=dtype is None, name=name)
    dtype = _to_inexact(aval.dtype) if dtype is None else dtype
    where = _check_where(name, where)
    not_nan = ew.bitwise_not(_isnan(a))
    count = _reduction(not_nan, name, "sum", axis=axis, dtype=dtype, keepdims=keepdims, initial=None, where=where,
                       preproc=_to_numeric)
    total = _nan_reduction(a, name, "sum", 0, False, axis=axis, keepdims=keepdims, where=where, dtype=dtype,
                           initial=None)
    return ew.div(total, count)


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _nanmean(a: Any, axis: Axis, dtype: Any, keepdims: bool, where: Any) -> Any:
    return _nanmean_impl(a, axis, dtype, keepdims, where, "nanmean")


def nanmean(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, keepdims: bool = False,
            where: Any = None) -> Any:
    """Mean over ``axis`` ignoring NaNs (NaN where every value is NaN).

    >>> nanmean(np.array([1.0, np.nan, 3.0])).item()
    2.0
    """
    _no_out("nanmean", out)
    return _nanmean(a, axis=_static_axis("nanmean", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                    where=where)


def _nanvar_impl(a: Any, axis: Axis, dtype: np.dtype | None, keepdims: bool, where: Any, ddof: Any,
                 a_mean: Any, name: str) -> Any:
    check_arraylike(name, a)
    where = _check_where(name, where)
    aval = _aval(a)
    dims = _reduction_dims(name, aval.ndim, axis)
    computation_dtype, result_dtype = _var_promote_types(name, aval.dtype, dtype)
    a = ew.convert_element_type(a, computation_dtype)
    if a_mean is None:
        a_mean = _nanmean_impl(a, dims, computation_dtype, True, where, name)
    else:
        check_arraylike(name, a_mean)
        a_mean = ew.convert_element_type(a_mean, computation_dtype)
    a_mean = _broadcast_to(a_mean, aval.shape, name)
    nan = _isnan(a)
    centered = ew.sub(a, a_mean)
    centered = ew.select(nan, ew.full_like(centered, 0), centered)  # a zero cotangent for the NaNs
    if computation_dtype.kind == "c":
        centered = ew.real(ew.mul(centered, ew.conj(centered)))
    else:
        centered = ew.square(centered)
    sum_dtype = _aval(centered).dtype
    count = _reduction(ew.bitwise_not(nan), name, "sum", axis=dims, dtype=sum_dtype, keepdims=keepdims,
                       initial=None, where=where, preproc=_to_numeric)
    normalizer = ew.sub(count, _like(ew.convert_element_type(ddof, sum_dtype), count))
    total = _reduction(centered, name, "sum", axis=dims, dtype=sum_dtype, keepdims=keepdims, initial=None,
                       where=where)
    bad = ew.le(normalizer, ew.full_like(normalizer, 0))
    divisor = ew.select(bad, ew.full_like(normalizer, 1), normalizer)
    result = ew.select(bad, ew.full_like(total, np.nan), ew.div(total, divisor))
    return ew.convert_element_type(result, result_dtype)


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _nanvar(a: Any, axis: Axis, dtype: Any, keepdims: bool, where: Any, ddof: Any, mean: Any) -> Any:
    return _nanvar_impl(a, axis, dtype, keepdims, where, ddof, mean, "nanvar")


def nanvar(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, ddof: int = 0, keepdims: bool = False,
           where: Any = None, mean: Any = None) -> Any:
    """Variance over ``axis`` ignoring NaNs.

    >>> nanvar(np.array([1.0, np.nan, 3.0])).item()
    1.0
    """
    _no_out("nanvar", out)
    return _nanvar(a, axis=_static_axis("nanvar", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                   where=where, ddof=ddof, mean=mean)


@numpy_jit(static_argnames=("axis", "dtype", "keepdims"))
def _nanstd(a: Any, axis: Axis, dtype: Any, keepdims: bool, where: Any, ddof: Any, mean: Any) -> Any:
    return ew.sqrt(_nanvar_impl(a, axis, dtype, keepdims, where, ddof, mean, "nanstd"))


def nanstd(a: Any, axis: Axis = None, dtype: Any = None, out: None = None, ddof: int = 0, keepdims: bool = False,
           where: Any = None, mean: Any = None) -> Any:
    """Standard deviation over ``axis`` ignoring NaNs.

    >>> nanstd(np.array([1.0, np.nan, 3.0])).item()
    1.0
    """
    _no_out("nanstd", out)
    return _nanstd(a, axis=_static_axis("nanstd", axis), dtype=_static_dtype(dtype), keepdims=bool(keepdims),
                   where=where, ddof=ddof, mean=mean)


# ----------------------------------------------------------------------------------------------
# argmax / argmin

def _arg_reduction(a: Any, name: str, lax_fn: Callable[..., Any], axis: int | None, keepdims: bool) -> Any:
    check_arraylike(name, a)
    shape = _aval(a).shape
    if axis is None:
        dims = tuple(range(len(shape)))
        a = sh.reshape(a, (math.prod(shape),))
        axis = 0
    else:
        dims = _reduction_dims(name, len(shape), axis)
        axis = dims[0] if dims else 0
    if not _aval(a).ndim:
        a = sh.reshape(a, (1,))
    if _aval(a).shape[axis] == 0:
        raise ValueError(f"jnp.{name}: attempt to get {name} of an empty sequence")
    result = lax_fn(a, axis, dtypes.default_int_dtype())
    if keepdims:
        result = _keep_dims(result, shape, dims)
    return result


@numpy_jit(static_argnames=("axis", "keepdims"))
def _argmax(a: Any, axis: int | None, keepdims: bool) -> Any:
    return _arg_reduction(a, "argmax", red.argmax, axis, keepdims)


def argmax(a: Any, axis: int | None = None, out: None = None, keepdims: bool | None = None) -> Any:
    """Index of the maximum along ``axis`` (of the flattened array when None); the first one on ties.

    >>> argmax(np.array([1, 5, 5])).item()
    1
    """
    _no_out("argmax", out)
    return _argmax(a, axis=_static_int_axis("argmax", axis), keepdims=bool(keepdims))


@numpy_jit(static_argnames=("axis", "keepdims"))
def _argmin(a: Any, axis: int | None, keepdims: bool) -> Any:
    return _arg_reduction(a, "argmin", red.argmin, axis, keepdims)


def argmin(a: Any, axis: int | None = None, out: None = None, keepdims: bool | None = None) -> Any:
    """Index of the minimum along ``axis``; the first one on ties.

    >>> argmin(np.array([3, 1, 1])).item()
    1
    """
    _no_out("argmin", out)
    return _argmin(a, axis=_static_int_axis("argmin", axis), keepdims=bool(keepdims))


def _static_int_axis(name: str, axis: Any) -> int | None:
    axis = _static_axis(name, axis)
    if isinstance(axis, tuple):
        raise TypeError(f"jnp.{name}: axis must be None or an int, got a tuple {axis}")
    return axis


def _nan_arg_reduction(a: Any, name: str, lax_fn: Callable[..., Any], fill: float, axis: int | None,
                       keepdims: bool) -> Any:
    check_arraylike(name, a)
    if not dtypes.is_inexact(_aval(a).dtype):
        return _arg_reduction(a, name, lax_fn, axis, keepdims)
    nan = _isnan(a)
    filled = ew.select(nan, ew.full_like(a, fill), a)
    result = _arg_reduction(filled, name, lax_fn, axis, keepdims)
    all_nan = _reduction(nan, name, "all", axis=axis, dtype=None, keepdims=keepdims, initial=None, where=None)
    return ew.select(all_nan, ew.full_like(result, -1), result)


@numpy_jit(static_argnames=("axis", "keepdims"))
def _nanargmax(a: Any, axis: int | None, keepdims: bool) -> Any:
    return _nan_arg_reduction(a, "nanargmax", red.argmax, -np.inf, axis, keepdims)


def nanargmax(a: Any, axis: int | None = None, out: None = None, keepdims: bool | None = None) -> Any:
    """Index of the maximum ignoring NaNs (-1 where every value is NaN).

    >>> nanargmax(np.array([np.nan, 2.0, 1.0])).item()
    1
    """
    _no_out("nanargmax", out)
    return _nanargmax(a, axis=_static_int_axis("nanargmax", axis), keepdims=bool(keepdims))


@numpy_jit(static_argnames=("axis", "keepdims"))
def _nanargmin(a: Any, axis: int | None, keepdims: bool) -> Any:
    return _nan_arg_reduction(a, "nanargmin", red.argmin, np.inf, axis, keepdims)


def nanargmin(a: Any, axis: int | None = None, out: None = None, keepdims: bool | None = None) -> Any:
    """Index of the minimum ignoring NaNs (-1 where every value is NaN).

    >>> nanargmin(np.array([np.nan, 2.0, 1.0])).item()
    2
    """
    _no_out("nanargmin", out)
    return _nanargmin(a, axis=_static_int_axis("nanargmin", axis), keepdims=bool(keepdims))


# ----------------------------------------------------------------------------------------------
# Cumulative sums and products

def _cumulative(a: Any, name: str, lax_fn: Callable[..., Any], axis: int | None, dtype: np.dtype | None,
                fill_nan: float | None = None, promote_integers: bool = False) -> Any:
    check_arraylike(name, a)
    aval = _aval(a)
    if axis is None or aval.ndim == 0:
        a = sh.reshape(a, (aval.size,))
    if axis is None:
        axis = 0
    ndim = _aval(a).ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"jnp.{name}: axis {axis} is out of bounds for an array of dimension {ndim}")
    axis %= ndim
    if fill_nan is not None and dtypes.is_inexact(_aval(a).dtype):
        a = ew.select(_isnan(a), ew.full_like(a, fill_nan), a)
    a_dtype = _aval(a).dtype
    if dtype is None:
        result_dtype = _promote_integer_dtype(a_dtype) if promote_integers or a_dtype == dtypes.bool_ else a_dtype
        computation_dtype = result_dtype
    elif dtype == dtypes.bool_:
        # accumulate "is non-zero" as integers, so that e.g. [-1, 1] does not cancel
        result_dtype = dtype
        if a_dtype != dtypes.bool_:
            a = ew.ne(a, ew.full_like(a, 0))
        computation_dtype = _promote_integer_dtype(dtype)
    else:
        result_dtype = computation_dtype = dtype
    a = ew.convert_element_type(a, computation_dtype)
    return ew.convert_element_type(lax_fn(a, axis), result_dtype)


@numpy_jit(static_argnames=("axis", "dtype"))
def _cumsum(a: Any, axis: int | None, dtype: Any) -> Any:
    return _cumulative(a, "cumsum", cum.cumsum, axis, dtype)


def cumsum(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative sum along ``axis`` (of the flattened array when None).

    >>> cumsum(np.array([1, 2, 3])).tolist()
    [1, 3, 6]
    """
    _no_out("cumsum", out)
    return _cumsum(a, axis=_static_int_axis("cumsum", axis), dtype=_static_dtype(dtype))


@numpy_jit(static_argnames=("axis", "dtype"))
def _cumprod(a: Any, axis: int | None, dtype: Any) -> Any:
    return _cumulative(a, "cumprod", cum.cumprod, axis, dtype)


def cumprod(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative product along ``axis`` (of the flattened array when None).

    >>> cumprod(np.array([1, 2, 3])).tolist()
    [1, 2, 6]
    """
    _no_out("cumprod", out)
    return _cumprod(a, axis=_static_int_axis("cumprod", axis), dtype=_static_dtype(dtype))


@numpy_jit(static_argnames=("axis", "dtype"))
def _nancumsum(a: Any, axis: int | None, dtype: Any) -> Any:
    return _cumulative(a, "nancumsum", cum.cumsum, axis, dtype, fill_nan=0)


def nancumsum(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative sum treating NaNs as zero.

    >>> nancumsum(np.array([1.0, np.nan, 2.0])).tolist()
    [1.0, 1.0, 3.0]
    """
    _no_out("nancumsum", out)
    return _nancumsum(a, axis=_static_int_axis("nancumsum", axis), dtype=_static_dtype(dtype))


@numpy_jit(static_argnames=("axis", "dtype"))
def _nancumprod(a: Any, axis: int | None, dtype: Any) -> Any:
    return _cumulative(a, "nancumprod", cum.cumprod, axis, dtype, fill_nan=1)


def nancumprod(a: Any, axis: int | None = None, dtype: Any = None, out: None = None) -> Any:
    """Cumulative product treating NaNs as one.

    >>> nancumprod(np.array([2.0, np.nan, 3.0])).tolist()
    [2.0, 2.0, 6.0]
    """
    _no_out("nancumprod", out)
    return _nancumprod(a, axis=_static_int_axis("nancumprod", axis), dtype=_static_dtype(dtype))


@numpy_jit(static_argnames=("axis", "dtype", "include_initial", "kind"))
def _cumulative_array_api(x: Any, axis: int | None, dtype: Any, include_initial: bool, kind: str) -> Any:
    name = f"cumulative_{kind}"
    check_arraylike(name, x)
    aval = _aval(x)
    if aval.ndim == 0:
        raise ValueError(f"jnp.{name}: the input must be non-scalar to take a cumulative {kind}, however a "
                         "scalar value or scalar array was given")
    if axis is None:
        if aval.ndim > 1:
            raise ValueError(f"jnp.{name}: the input array has rank {aval.ndim}, however axis was not set to an "
                             "explicit value. The axis argument is only optional for one-dimensional arrays.")
        axis = 0
    if not -aval.ndim <= axis < aval.ndim:
        raise ValueError(f"jnp.{name}: axis {axis} is out of bounds for an array of dimension {aval.ndim}")
    axis %= aval.ndim
    out = _cumulative(x, name, cum.cumsum if kind == "sum" else cum.cumprod, axis, dtype, promote_integers=True)
    if include_initial:
        shape = list(aval.shape)
        shape[axis] = 1
        start = sh.full(tuple(shape), 0 if kind == "sum" else 1, _aval(out).dtype)
        out = sh.concatenate([start, out], axis)
    return out


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False) -> Any:
    """Cumulative sum (the array API's version: integers promote, optional leading 0).

    >>> cumulative_sum(np.array([1, 2, 3]), include_initial=True).tolist()
    [0, 1, 3, 6]
    """
    return _cumulative_array_api(x, axis=_static_int_axis("cumulative_sum", axis), dtype=_static_dtype(dtype),
                                 include_initial=bool(include_initial), kind="sum")


def cumulative_prod(x: Any, /, *, axis: int | None = None, dtype: Any = None, include_initial: bool = False) -> Any:
    """Cumulative product (the array API's version: integers promote, optional leading 1).

    >>> cumulative_prod(np.array([1, 2, 3]), include_initial=True).tolist()
    [1, 1, 2, 6]
    """
    return _cumulative_array_api(x, axis=_static_int_axis("cumulative_prod", axis), dtype=_static_dtype(dtype),
                                 include_initial=bool(include_initial), kind="prod")


# ----------------------------------------------------------------------------------------------
# Quantiles

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile_impl(a: Any, q: Any, axis: Axis, method: str, keepdims: bool, squash_nans: bool, name: str) -> Any:
    check_arraylike(name, a, q)
    if method not in _QUANTILE_METHODS:
        raise ValueError(f"jnp.{name}: method must be one of {', '.join(map(repr, _QUANTILE_METHODS))}, got "
                         f"{method!r}")
    (a,) = promote_dtypes_inexact(a)
    a_dtype = _aval(a).dtype
    if a_dtype.kind == "c":
        raise ValueError(f"jnp.{name}: quantiles of complex values are not defined")
    q_aval = _aval(q)
    if q_aval.ndim > 1:
        raise ValueError(f"jnp.{name}: q must be a scalar or a 1-d array, got shape {q_aval.shape}")
    if not dtypes.is_inexact(q_aval.dtype):
        raise TypeError(f"jnp.{name}: q must be floating point, got {q_aval.dtype.name}")
    q_dtype = dtypes.result_type(q)
    if q_dtype.kind == "c":
        raise TypeError(f"jnp.{name}: q must be real")
    q = ew.convert_element_type(q, q_dtype)
    shape = _aval(a).shape
    dims = _reduction_dims(name, len(shape), axis)
    kept = tuple(d for d in range(len(shape)) if d not in dims)
    rest = tuple(shape[d] for d in kept)
    n = math.prod(shape[d] for d in dims)
    if n == 0:
        raise ValueError(f"jnp.{name}: cannot take a quantile over an empty axis (shape {shape}, axis {axis})")
    x = sh.reshape(sh.transpose(a, kept + dims), rest + (n,))
    m = q_aval.shape[0] if q_aval.ndim else 1
    q_vec = sh.reshape(q, (m,))
    last = len(rest)
    if squash_nans:
        # NaNs are the largest keys: they sort last and the count of the others bounds the index
        x = srt.sort(x, last)
        count = red.reduce_sum(ew.convert_element_type(ew.bitwise_not(_isnan(x)), q_dtype), (last,))
        count = sh.broadcast_in_dim(count, rest + (m,), tuple(range(last)))
    else:
        any_nan = red.reduce_or(_isnan(x), (last,))
        x = ew.select(sh.broadcast_in_dim(any_nan, rest + (n,), tuple(range(last))), ew.full_like(x, np.nan), x)
        x = srt.sort(x, last)
        count = sh.full(rest + (m,), n, q_dtype)
    top = ew.sub(count, ew.full_like(count, 1))
    pos = ew.mul(sh.broadcast_in_dim(q_vec, rest + (m,), (last,)), top)
    low = ew.floor(pos)
    high = ew.ceil(pos)
    high_weight = ew.sub(pos, low)
    low_weight = ew.sub(ew.full_like(high_weight, 1), high_weight)
    zero = ew.full_like(low, 0)
    low = ew.max(zero, ew.min(low, top))
    high = ew.max(zero, ew.min(high, top))
    index_dtype = srt.index_dtype_for(n)
    low_value = srt.take_along_axis(x, ew.convert_element_type(low, index_dtype), last)
    high_value = srt.take_along_axis(x, ew.convert_element_type(high, index_dtype), last)
    if method == "linear":
        result = ew.add(ew.mul(ew.convert_element_type(low_value, q_dtype), low_weight),
                        ew.mul(ew.convert_element_type(high_value, q_dtype), high_weight))
    elif method == "lower":
        result = low_value
    elif method == "higher":
        result = high_value
    elif method == "nearest":
        result = ew.select(ew.le(high_weight, ew.full_like(high_weight, 0.5)), low_value, high_value)
    else:  # midpoint
        result = ew.mul(ew.add(low_value, high_value), ew.full_like(low_value, 0.5))
    result = ew.convert_element_type(result, a_dtype)
    # (rest..., m) -> (m, rest...), then the requested layout
    result = sh.transpose(result, (last,) + tuple(range(last)))
    out_rest = tuple(1 if d in dims else n_ for d, n_ in enumerate(shape)) if keepdims else rest
    out_shape = ((m,) if q_aval.ndim else ()) + out_rest
    return sh.reshape(result, out_shape)


def _quantile_args(name: str, out: Any, overwrite_input: bool, weights: Any, method: str) -> None:
    if overwrite_input or out is not None:
        raise ValueError(f"jnp.{name} does not support overwrite_input=True or out != None")
    if weights is not None:
        raise NotImplementedError(f"jnp.{name}: weights (with method='inverted_cdf') are not supported")


@numpy_jit(static_argnames=("axis", "method", "keepdims", "squash_nans", "name"))
def _quantile(a: Any, q: Any, axis: Axis, method: str, keepdims: bool, squash_nans: bool, name: str) -> Any:
    return _quantile_impl(a, q, axis, method, keepdims, squash_nans, name)


def quantile(a: Any, q: Any, axis: int | tuple[int, ...] | None = None, out: None = None,
             overwrite_input: bool = False, method: str = "linear", keepdims: bool = False, *,
             weights: Any = None) -> Any:
    """The ``q``-th quantile(s) over ``axis`` (``q`` in [0, 1], a scalar or 1-d array; its
    dimension leads the result). ``method``: 'linear', 'lower', 'higher', 'midpoint' or
    'nearest'. A NaN in a slice makes its quantiles NaN (see ``nanquantile``).

    >>> quantile(np.array([1.0, 2.0, 3.0, 4.0]), 0.5).item()
    2.5
    """
    _quantile_args("quantile", out, overwrite_input, weights, method)
    return _quantile(a, q, axis=_static_axis("quantile", axis), method=str(method), keepdims=bool(keepdims),
                     squash_nans=False, name="quantile")


def nanquantile(a: Any, q: Any, axis: int | tuple[int, ...] | None = None, out: None = None,
                overwrite_input: bool = False, method: str = "linear", keepdims: bool = False, *,
                weights: Any = None) -> Any:
    """``quantile`` ignoring NaNs (NaN for all-NaN slices).

    >>> nanquantile(np.array([1.0, np.nan, 3.0]), 0.5).item()
    2.0
    """
    _quantile_args("nanquantile", out, overwrite_input, weights, method)
    return _quantile(a, q, axis=_static_axis("nanquantile", axis), method=str(method), keepdims=bool(keepdims),
                     squash_nans=True, name="nanquantile")


@numpy_jit(static_argnames=("axis", "method", "keepdims", "squash_nans", "name"))
def _percentile(a: Any, q: Any, axis: Axis, method: str, keepdims: bool, squash_nans: bool, name: str) -> Any:
    check_arraylike(name, q)
    (q,) = promote_dtypes_inexact(q)
    return _quantile_impl(a, ew.div(q, ew.full_like(q, 100)), axis, method, keepdims, squash_nans, name)


def percentile(a: Any, q: Any, axis: int | tuple[int, ...] | None = None, out: None = None,
               overwrite_input: bool = False, method: str = "linear", keepdims: bool = False, *,
               weights: Any = None) -> Any:
    """The ``q``-th percentile(s) over ``axis`` (``q`` in [0, 100]); see ``quantile``.

    >>> percentile(np.array([1.0, 2.0, 3.0]), 50).item()
    2.0
    """
    _quantile_args("percentile", out, overwrite_input, weights, method)
    return _percentile(a, q, axis=_static_axis("percentile", axis), method=str(method), keepdims=bool(keepdims),
                       squash_nans=False, name="percentile")


def nanpercentile(a: Any, q: Any, axis: int | tuple[int, ...] | None = None, out: None = None,
                  overwrite_input: bool = False, method: str = "linear", keepdims: bool = False, *,
                  weights: Any = None) -> Any:
    """``percentile`` ignoring NaNs.

    >>> nanpercentile(np.array([1.0, np.nan, 3.0]), 50).item()
    2.0
    """
    _quantile_args("nanpercentile", out, overwrite_input, weights, method)
    return _percentile(a, q, axis=_static_axis("nanpercentile", axis), method=str(method), keepdims=bool(keepdims),
                       squash_nans=True, name="nanpercentile")


def median(a: Any, axis: int | tuple[int, ...] | None = None, out: None = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Any:
    """Median over ``axis`` (the mean of the two middle values for an even count).

    >>> median(np.array([3.0, 1.0, 4.0, 2.0])).item()
    2.5
    """
    _quantile_args("median", out, overwrite_input, None, "midpoint")
    return _quantile(a, 0.5, axis=_static_axis("median", axis), method="midpoint", keepdims=bool(keepdims),
                     squash_nans=False, name="median")


def nanmedian(a: Any, axis: int | tuple[int, ...] | None = None, out: None = None, overwrite_input: bool = False,
              keepdims: bool = False) -> Any:
    """Median over ``axis`` ignoring NaNs.

    >>> nanmedian(np.array([3.0, np.nan, 1.0])).item()
    2.0
    """
    _quantile_args("nanmedian", out, overwrite_input, None, "midpoint")
    return _quantile(a, 0.5, axis=_static_axis("nanmedian", axis), method="midpoint", keepdims=bool(keepdims),
                     squash_nans=True, name="nanmedian")
