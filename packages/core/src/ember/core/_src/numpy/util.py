"""Argument handling shared by the numpy layer: checking, dtype promotion, broadcasting."""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import ShapedArray, Tracer, get_aval
from ..jit import jit
from ..primitives import elementwise as ew
from ..primitives import shape as sh

_scalar_types = (bool, int, float, complex)


def is_arraylike(x: Any) -> bool:
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic)) or type(x) in _scalar_types \
        or hasattr(x, "__jax_array__")


def unwrap(x: Any) -> Any:
    """Objects that stand for an array (``__jax_array__``, e.g. an ember.nn Variable) -> the array."""
    method = getattr(x, "__jax_array__", None)
    return x if method is None or isinstance(x, (Array, Tracer)) else method()


def check_arraylike(name: str, *args: Any) -> None:
    for i, a in enumerate(args):
        if not is_arraylike(a):
            what = type(a).__name__
            hint = "; wrap it with ec.numpy.asarray(...)" if isinstance(a, (list, tuple)) else ""
            raise TypeError(f"{name}: argument {i} must be an array or a scalar, got {what}{hint}")


def aval(x: Any) -> ShapedArray:
    return get_aval(x)


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """NumPy's broadcasting of shapes, with an error naming them."""
    ndim = max((len(s) for s in shapes), default=0)
    result = []
    for dims in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise ValueError(f"shapes {', '.join(str(tuple(s)) for s in shapes)} cannot be broadcast together")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def broadcast_to_shape(x: Any, shape: tuple[int, ...]) -> Any:
    in_shape = aval(x).shape
    if in_shape == shape:
        return x
    offset = len(shape) - len(in_shape)
    if offset < 0:
        raise ValueError(f"cannot broadcast an array of shape {in_shape} to the smaller rank of {shape}")
    return sh.broadcast_in_dim(x, shape, tuple(range(offset, len(shape))))


def promote_dtypes(*args: Any) -> list[Any]:
    """Convert ``args`` to their common dtype (JAX promotion, weak types respected)."""
    args = [unwrap(a) for a in args]
    if len(args) < 2:
        return [args[0]] if args else []
    dtype, weak = dtypes.result_type(*args, return_weak_type_flag=True)
    return [_convert(a, dtype, weak) for a in args]


def _convert(x: Any, dtype: np.dtype, weak: bool) -> Any:
    # a Python scalar meeting a strong type becomes a NumPy scalar: a literal in the program
    if not weak and type(x) in _scalar_types:
        return np.array(x, dtype)
    return ew.convert_element_type(x, dtype, weak)


def promote_dtypes_inexact(*args: Any) -> list[Any]:
    """Like ``promote_dtypes`` but integers and bools become the default float."""
    args = tuple(unwrap(a) for a in args)
    dtype, weak = dtypes.result_type(*args, return_weak_type_flag=True)
    if not dtypes.is_inexact(dtype):
        dtype = dtypes.default_float_dtype()
    return [_convert(a, dtype, weak) for a in args]


def promote_shapes(*args: Any) -> list[Any]:
    shapes = [aval(a).shape for a in args]
    if all(s == shapes[0] for s in shapes):
        return list(args)
    shape = broadcast_shapes(*shapes)
    return [broadcast_to_shape(a, shape) for a in args]


def promote_args(name: str, *args: Any) -> list[Any]:
    check_arraylike(name, *args)
    return promote_shapes(*promote_dtypes(*args))


def promote_args_inexact(name: str, *args: Any) -> list[Any]:
    check_arraylike(name, *args)
    return promote_shapes(*promote_dtypes_inexact(*args))


def numpy_jit(fun: Callable[..., Any] | None = None, *, static_argnames: Sequence[str] = (),
              static_argnums: Sequence[int] = ()) -> Any:
    """Compile a numpy-layer function as one program when called eagerly; inline under tracing."""
    if fun is None:
        return functools.partial(numpy_jit, static_argnames=static_argnames, static_argnums=static_argnums)

    @functools.wraps(fun)
    def body(*args: Any, **kwargs: Any) -> Any:
        # Array stand-ins (``__jax_array__``, e.g. an ember.nn Variable) arrive rebuilt around
        # their traced arrays; the body works on the arrays. Runs at trace time only.
        return fun(*[_unwrap_arg(a) for a in args], **kwargs)

    return functools.wraps(fun)(jit(body, static_argnames=tuple(static_argnames) or None,
                                    static_argnums=tuple(static_argnums) or None, inline=True))


def _unwrap_arg(a: Any) -> Any:
    if type(a) in (list, tuple):
        return type(a)(unwrap(x) for x in a)
    return unwrap(a)


def canonicalize_axis(axis: Any, ndim: int, name: str = "axis") -> int:
    from ..core import operator_index
    axis = operator_index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name} {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


def canonicalize_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(canonicalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"repeated axis in {tuple(axis)}")
        return axes
    return (canonicalize_axis(axis, ndim),)
