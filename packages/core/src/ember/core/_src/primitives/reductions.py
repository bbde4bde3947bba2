"""Reductions over axes: sum, prod, max, min, and, or, xor, argmax, argmin."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, operator_index
from ..lowering import full_like_aval, ir_type
from ..rules import Zero, defjvp_zero, deflinear
from ._util import aval_of, check_dtype_kind

__all__ = [
    "argmax",
    "argmin",
    "reduce_and",
    "reduce_max",
    "reduce_min",
    "reduce_or",
    "reduce_prod",
    "reduce_sum",
    "reduce_xor",
]


def _reduced_aval(name: str, x: ShapedArray, axes: tuple[int, ...], dtype: np.dtype | None = None) -> ShapedArray:
    for a in axes:
        if not 0 <= a < x.ndim:
            raise ValueError(f"lax.{name}: axis {a} is out of bounds for an array of shape {x.shape}")
    if len(set(axes)) != len(axes):
        raise ValueError(f"lax.{name}: duplicate axes {axes}")
    shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return ShapedArray(shape, x.dtype if dtype is None else dtype, x.weak_type if dtype is None else False)


def reduce_region(ctx: Any, op: Any, avals_in: Sequence[ShapedArray], inputs: Sequence[Any],
                  init_values: Sequence[Any], axes: Sequence[int],
                  body: Callable[[Sequence[Any], Sequence[Any]], Sequence[Any]]) -> list[Any]:
    """Emit a stablehlo.reduce; ``body(accumulators, elements)`` builds the scalar combiner."""
    out_types = [ir_type(a) for a in ctx.avals_out]
    reduce = hlo.ReduceOp(out_types, list(inputs), list(init_values), ir.DenseI64ArrayAttr.get(list(axes)))
    scalar_types = [ir_type(ShapedArray((), a.dtype)) for a in avals_in]
    block = reduce.regions[0].blocks.append(*(scalar_types + scalar_types))
    with ir.InsertionPoint(block):
        n = len(inputs)
        args = list(block.arguments)
        hlo.ReturnOp(list(body(args[:n], args[n:])))
    return list(reduce.results)


def _monoid(name: str, combine: Callable[[Any, Any], Any], identity: Callable[[np.dtype], Any], kind: str) -> Primitive:
    p = Primitive(name)

    def abstract_eval(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
        check_dtype_kind(name, kind, x)
        return _reduced_aval(name, x, axes)

    def lowering(ctx: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
        aval = ctx.avals_in[0]
        init = full_like_aval(identity(aval.dtype), ShapedArray((), aval.dtype))
        return reduce_region(ctx, None, [aval], [x], [init], axes,
                             lambda acc, el: [combine(aval.dtype, acc[0], el[0])])[0]

    def batch(args: Sequence[Any], dims: Sequence[int | None], *, axes: tuple[int, ...]) -> tuple[Any, int]:
        (x,), (d,) = args, dims
        ndim = aval_of(x).ndim
        unbatched = [i for i in range(ndim) if i != d]
        new_axes = tuple(unbatched[a] for a in axes)
        out_dim = d - sum(1 for a in new_axes if a < d)
        return p.bind(x, axes=new_axes), out_dim

    p.def_abstract_eval(abstract_eval)
    p.def_lowering(lowering)
    p.def_batching(batch)
    return p


def _all_bits(dtype: np.dtype) -> Any:
    if dtype == dtypes.bool_:
        return True
    return np.iinfo(dtype).max if dtype.kind == "u" else -1


def _add(dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.OrOp(a, b).result if dtype == dtypes.bool_ else hlo.AddOp(a, b).result


def _mul(dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.AndOp(a, b).result if dtype == dtypes.bool_ else hlo.MulOp(a, b).result


def lowest_value(dtype: np.dtype) -> Any:
    """The identity of ``max`` for ``dtype``: -inf, or the lowest finite value for floats without
    infinities (some float8s), the minimum integer, or False."""
    if dtype == dtypes.bool_:
        return False
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    if dtype.kind == "c":
        return complex(-np.inf, -np.inf)
    info = dtypes.finfo(dtype)
    return -np.inf if _has_inf(dtype) else info.min


def highest_value(dtype: np.dtype) -> Any:
    """The identity of ``min`` for ``dtype`` (see ``lowest_value``)."""
    if dtype == dtypes.bool_:
        return True
    if dtype.kind in "iu":
        return np.iinfo(dtype).max
    if dtype.kind == "c":
        return complex(np.inf, np.inf)
    info = dtypes.finfo(dtype)
    return np.inf if _has_inf(dtype) else info.max


def _has_inf(dtype: np.dtype) -> bool:
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isinf(np.array(np.inf, dtype=dtype).astype(np.float64)))


_lowest = lowest_value
_highest = highest_value


reduce_sum_p = _monoid("reduce_sum", _add, lambda d: 0, "any")
reduce_prod_p = _monoid("reduce_prod", _mul, lambda d: 1, "any")
reduce_max_p = _monoid("reduce_max", lambda d, a, b: hlo.MaxOp(a, b).result, _lowest, "any")
reduce_min_p = _monoid("reduce_min", lambda d, a, b: hlo.MinOp(a, b).result, _highest, "any")
reduce_and_p = _monoid("reduce_and", lambda d, a, b: hlo.AndOp(a, b).result, _all_bits, "int_or_bool")
reduce_or_p = _monoid("reduce_or", lambda d, a, b: hlo.OrOp(a, b).result, lambda d: 0, "int_or_bool")
reduce_xor_p = _monoid("reduce_xor", lambda d, a, b: hlo.XorOp(a, b).result, lambda d: 0, "int_or_bool")
for _p in (reduce_and_p, reduce_or_p, reduce_xor_p):
    defjvp_zero(_p)


def _reduce_sum_transpose(ct: Any, x: Any, *, axes: tuple[int, ...]) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval)]
    from .shape import broadcast_in_dim
    shape = x.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [broadcast_in_dim(ct, shape, kept)]


deflinear(reduce_sum_p, _reduce_sum_transpose)


def _expand_reduced(value: Any, shape: tuple[int, ...], axes: tuple[int, ...]) -> Any:
    from .shape import broadcast_in_dim
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return broadcast_in_dim(value, shape, kept)


def _chooser_jvp(p: Primitive) -> None:
    # the tangent of max/min is the mean of the tangents at the positions that attain it
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axes: tuple[int, ...]) -> tuple[Any, Any]:
        from .elementwise import convert_element_type, div, eq, mul
        (x,), (t,) = primals, tangents
        out = p.bind(x, axes=axes)
        if type(t) is Zero:
            return out, Zero(aval_of(out))
        shape = aval_of(x).shape
        location = convert_element_type(eq(x, _expand_reduced(out, shape, axes)), aval_of(t).dtype)
        counts = reduce_sum(location, axes)
        return out, div(reduce_sum(mul(t, location), axes), counts)

    p.def_jvp(jvp)


_chooser_jvp(reduce_max_p)
_chooser_jvp(reduce_min_p)


def _reduce_prod_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axes: tuple[int, ...]) -> tuple[Any, Any]:
    # d prod(x) = sum_i t_i * prod_{j != i} x_j, computed without division (zeros are fine):
    # move the reduced axes to the front, flatten them, and use exclusive cumulative products.
    from .elementwise import mul
    from .shape import reshape, transpose
    (x,), (t,) = primals, tangents
    out = reduce_prod_p.bind(x, axes=axes)
    if type(t) is Zero:
        return out, Zero(aval_of(out))
    aval = aval_of(x)
    kept = [i for i in range(aval.ndim) if i not in axes]
    perm = tuple(axes) + tuple(kept)
    n = int(np.prod([aval.shape[a] for a in axes], dtype=np.int64))
    rest = tuple(aval.shape[i] for i in kept)
    if n == 0:  # an empty product is the constant 1
        return out, Zero(aval_of(out))
    xs = reshape(transpose(x, perm), (n,) + rest)
    ts = reshape(transpose(t, perm), (n,) + rest)
    from .cumulative import cumprod
    from .shape import concatenate, full, slice_in_dim
    ones = full((1,) + rest, 1, aval.dtype)
    before = concatenate([ones, slice_in_dim(cumprod(xs, axis=0), 0, n - 1, 1, 0)], 0) if n > 1 else ones
    after = concatenate([slice_in_dim(cumprod(xs, axis=0, reverse=True), 1, n, 1, 0), ones], 0) if n > 1 else ones
    return out, reduce_sum(mul(ts, mul(before, after)), (0,))


reduce_prod_p.def_jvp(_reduce_prod_jvp)


def _axes(x: Any, axes: Sequence[int], name: str = "reduce") -> tuple[int, ...]:
    ndim = aval_of(x).ndim
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    out = []
    for a in axes:
        a = operator_index(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"lax.{name}: axis {a} is out of bounds for an array of shape {aval_of(x).shape}")
        out.append(a % ndim)
    return tuple(out)


def reduce_sum(x: Any, axes: Sequence[int]) -> Any:
    """Sum of ``x`` over ``axes`` (logical or for booleans).

    >>> reduce_sum(np.ones((2, 3), np.float32), (1,)).tolist()
    [3.0, 3.0]
    """
    return reduce_sum_p.bind(x, axes=_axes(x, axes, "reduce_sum"))


def reduce_prod(x: Any, axes: Sequence[int]) -> Any:
    """Product of ``x`` over ``axes`` (logical and for booleans)."""
    return reduce_prod_p.bind(x, axes=_axes(x, axes, "reduce_prod"))


def reduce_max(x: Any, axes: Sequence[int]) -> Any:
    """Maximum of ``x`` over ``axes`` (NaN-propagating); -inf for an empty axis.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> lax.reduce_max(jnp.array([[1, 5], [7, 2]]), axes=(1,)).tolist()
    [5, 7]
    """
    return reduce_max_p.bind(x, axes=_axes(x, axes, "reduce_max"))


def reduce_min(x: Any, axes: Sequence[int]) -> Any:
    """Minimum of ``x`` over ``axes`` (NaN-propagating); +inf for an empty axis."""
    return reduce_min_p.bind(x, axes=_axes(x, axes, "reduce_min"))


def reduce_and(x: Any, axes: Sequence[int]) -> Any:
    """Bitwise/logical and over ``axes`` (integers and booleans)."""
    return reduce_and_p.bind(x, axes=_axes(x, axes, "reduce_and"))


def reduce_or(x: Any, axes: Sequence[int]) -> Any:
    """Bitwise/logical or over ``axes`` (integers and booleans)."""
    return reduce_or_p.bind(x, axes=_axes(x, axes, "reduce_or"))


def reduce_xor(x: Any, axes: Sequence[int]) -> Any:
    """Bitwise/logical xor over ``axes`` (integers and booleans)."""
    return reduce_xor_p.bind(x, axes=_axes(x, axes, "reduce_xor"))


# ----------------------------------------------------------------------------------------------
# argmax / argmin: a variadic reduce over (value, index) pairs; NaN counts as the extreme, and
# the first index wins ties (NumPy's behaviour).

def _arg_reducer(name: str, direction: str) -> Primitive:
    p = Primitive(name)

    def abstract_eval(x: ShapedArray, *, axes: tuple[int, ...], index_dtype: np.dtype) -> ShapedArray:
        if x.dtype.kind == "c":
            raise TypeError(f"lax.{name}: complex arrays have no order (got {x.dtype.name})")
        if index_dtype.kind not in "iu":
            raise TypeError(f"lax.{name}: index_dtype must be an integer type, got {index_dtype.name}")
        if len(axes) != 1:
            raise ValueError(f"lax.{name}: exactly one axis, got {axes}")
        out = _reduced_aval(name, x, axes, index_dtype)
        if x.shape[axes[0]] == 0:
            raise ValueError(f"lax.{name}: cannot take the {name} of an empty axis "
                             f"(axis {axes[0]} of shape {x.shape})")
        return out

    def lowering(ctx: Any, x: Any, *, axes: tuple[int, ...], index_dtype: np.dtype) -> Any:
        from .elementwise import compare_lowering
        aval = ctx.avals_in[0]
        idx_aval = ShapedArray(aval.shape, index_dtype)
        indices = hlo.IotaOp(ir_type(idx_aval), ir.IntegerAttr.get(ir.IntegerType.get_signless(64), axes[0])).result
        init_val = full_like_aval(_lowest(aval.dtype) if direction == "GT" else _highest(aval.dtype),
                                  ShapedArray((), aval.dtype))
        init_idx = full_like_aval(0, ShapedArray((), index_dtype))
        inexact = dtypes.is_inexact(aval.dtype)

        def body(acc: Sequence[Any], el: Sequence[Any]) -> list[Any]:
            a_val, a_idx = acc
            b_val, b_idx = el
            pick_a = compare_lowering(a_val, b_val, direction, aval.dtype)
            tie = compare_lowering(a_val, b_val, "EQ", aval.dtype)
            if inexact:  # NaN beats every number; two NaNs tie
                a_nan = compare_lowering(a_val, a_val, "NE", aval.dtype)
                b_nan = compare_lowering(b_val, b_val, "NE", aval.dtype)
                pick_a = hlo.OrOp(pick_a, hlo.AndOp(a_nan, hlo.NotOp(b_nan).result).result).result
                tie = hlo.OrOp(tie, hlo.AndOp(a_nan, b_nan).result).result
            min_idx = hlo.MinOp(a_idx, b_idx).result
            value = hlo.SelectOp(pick_a, a_val, b_val).result
            index = hlo.SelectOp(pick_a, a_idx, b_idx).result
            index = hlo.SelectOp(tie, min_idx, index).result
            return [value, index]

        reduce_ctx = ctx.replace(avals_out=[ShapedArray(ctx.avals_out[0].shape, aval.dtype), ctx.avals_out[0]])
        return reduce_region(reduce_ctx, None, [aval, idx_aval], [x, indices], [init_val, init_idx], axes, body)[1]

    def batch(args: Sequence[Any], dims: Sequence[int | None], *, axes: tuple[int, ...],
              index_dtype: np.dtype) -> tuple[Any, int]:
        (x,), (d,) = args, dims
        unbatched = [i for i in range(aval_of(x).ndim) if i != d]
        axis = unbatched[axes[0]]
        return p.bind(x, axes=(axis,), index_dtype=index_dtype), d - (1 if axis < d else 0)

    p.def_abstract_eval(abstract_eval)
    p.def_lowering(lowering)
    p.def_batching(batch)
    defjvp_zero(p)
    return p


argmax_p = _arg_reducer("argmax", "GT")
argmin_p = _arg_reducer("argmin", "LT")


def argmax(x: Any, axis: int, index_dtype: Any) -> Any:
    """Index of the largest element along ``axis`` (the first one on ties; NaN counts as largest).

    >>> argmax(np.array([1.0, 3.0, 3.0], np.float32), 0, np.int32).item()
    1
    """
    return argmax_p.bind(x, axes=_axes(x, (axis,), "argmax"),
                         index_dtype=dtypes.canonicalize_dtype(index_dtype))


def argmin(x: Any, axis: int, index_dtype: Any) -> Any:
    """Index of the smallest element along ``axis`` (the first one on ties; NaN counts as smallest)."""
    return argmin_p.bind(x, axes=_axes(x, (axis,), "argmin"),
                         index_dtype=dtypes.canonicalize_dtype(index_dtype))
