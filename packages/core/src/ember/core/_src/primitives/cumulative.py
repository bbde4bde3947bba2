"""Cumulative reductions along one axis (``cumsum``, ``cumprod``, ``cummax``, ``cummin``,
``cumlogsumexp``) and ``associative_scan``.

Each lowers to one ``reduce_window`` whose window spans the whole axis, padded on one side: XLA
rewrites that pattern into an efficient scan on CPU and GPU (as JAX relies on). ``cumsum`` is
linear (its transpose is the reversed cumsum); the others differentiate through a parallel prefix
scan (``associative_scan``) of their binary operation, which is itself made of differentiable
primitives, so every order works.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from .. import tree as tree_util
from ..core import Primitive, ShapedArray, operator_index
from ..lowering import full_like_aval
from ..rules import Zero, deflinear, instantiate
from ._util import aval_of
from .reductions import highest_value, lowest_value
from .windowed import reduce_window_op

# ``associative_scan`` is public as ``lax.associative_scan`` from the control-flow family; this
# module keeps its own copy for the JVPs below so the two families stay independent.
__all__ = ["cumlogsumexp", "cummax", "cummin", "cumprod", "cumsum"]


# ----------------------------------------------------------------------------------------------
# associative_scan

def associative_scan(fn: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive scan of ``elems`` along ``axis`` with an associative ``fn``, in O(log n) steps.

    ``elems`` may be a pytree of arrays with equal sizes along ``axis``; ``fn(a, b)`` combines two
    such pytrees elementwise. The result's k-th entry along ``axis`` combines entries 0..k (or
    k..n-1 when ``reverse``).

    >>> import ember.core.lax as lax
    >>> associative_scan(lax.add, np.arange(4, dtype=np.int32)).tolist()
    [0, 1, 3, 6]
    """
    from .shape import rev
    if not callable(fn):
        raise TypeError(f"lax.associative_scan: fn must be callable, got {type(fn).__name__}")
    leaves, tree = tree_util.flatten(elems)
    if not leaves:
        return elems
    ndim = aval_of(leaves[0]).ndim
    axis = operator_index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"lax.associative_scan: axis {axis} is out of bounds for arrays of rank {ndim}")
    axis %= ndim
    n = aval_of(leaves[0]).shape[axis]
    for leaf in leaves[1:]:
        if aval_of(leaf).ndim <= axis or aval_of(leaf).shape[axis] != n:
            raise ValueError("lax.associative_scan: all arrays must have the same size along the scanned axis, "
                             f"got shapes {[aval_of(l).shape for l in leaves]}")

    def combine(a: list[Any], b: list[Any]) -> list[Any]:
        out_leaves, out_tree = tree_util.flatten(fn(tree_util.unflatten(tree, a), tree_util.unflatten(tree, b)))
        if out_tree != tree:
            raise TypeError(f"lax.associative_scan: fn must return the structure of elems {tree}, got {out_tree}")
        return out_leaves

    if reverse:
        leaves = [rev(x, (axis,)) for x in leaves]
    out = _scan(combine, leaves, axis)
    if reverse:
        out = [rev(x, (axis,)) for x in out]
    return tree_util.unflatten(tree, out)


def _scan(combine: Callable[[list[Any], list[Any]], list[Any]], elems: list[Any], axis: int) -> list[Any]:
    # Combine adjacent pairs, scan the half-length result recursively (those are the odd
    # positions of the answer), then fill in the even positions with one more combine.
    from .shape import concatenate, slice_in_dim
    n = aval_of(elems[0]).shape[axis]
    if n < 2:
        return elems
    pairs = combine([slice_in_dim(e, 0, n - 1, 2, axis) for e in elems],
                    [slice_in_dim(e, 1, n, 2, axis) for e in elems])
    odd = _scan(combine, pairs, axis)
    m = aval_of(odd[0]).shape[axis]
    if n % 2 == 0:
        even = combine([slice_in_dim(e, 0, m - 1, 1, axis) for e in odd],
                       [slice_in_dim(e, 2, n, 2, axis) for e in elems])
    else:
        even = combine(odd, [slice_in_dim(e, 2, n, 2, axis) for e in elems])
    even = [concatenate([slice_in_dim(e, 0, 1, 1, axis), r], axis) for e, r in zip(elems, even)]
    return [_interleave(a, b, axis) for a, b in zip(even, odd)]


def _interleave(a: Any, b: Any, axis: int) -> Any:
    """a[0], b[0], a[1], b[1], ... along ``axis`` (len(a) is len(b) or len(b) + 1)."""
    from .elementwise import add, bitwise_or
    from .shape import pad
    na, nb = aval_of(a).shape[axis], aval_of(b).shape[axis]
    ndim = aval_of(a).ndim
    a_config = [(0, 0, 0)] * ndim
    b_config = [(0, 0, 0)] * ndim
    a_config[axis] = (0, 1 if na == nb else 0, 1)
    b_config[axis] = (1, 0 if na == nb else 1, 1)
    zero = np.zeros((), aval_of(a).dtype)
    op = bitwise_or if aval_of(a).dtype == dtypes.bool_ else add
    return op(pad(a, zero, a_config), pad(b, zero, b_config))


# ----------------------------------------------------------------------------------------------
# The primitives

def _logaddexp_ir(dtype: np.dtype, a: Any, b: Any) -> Any:
    # max(a, b) + log1p(exp(-|a - b|)); a + b where a - b is NaN (equal infinities, or a NaN)
    from .elementwise import compare_lowering
    delta = hlo.SubtractOp(a, b).result
    smooth = hlo.AddOp(hlo.MaxOp(a, b).result,
                       hlo.Log1pOp(hlo.ExpOp(hlo.NegOp(hlo.AbsOp(delta).result).result).result).result).result
    is_nan = compare_lowering(delta, delta, "NE", dtype)
    return hlo.SelectOp(is_nan, hlo.AddOp(a, b).result, smooth).result


def _combine_ir(name: str) -> Callable[[np.dtype, Any, Any], Any]:
    return {
        "cumsum": lambda d, a, b: hlo.AddOp(a, b).result,
        "cumprod": lambda d, a, b: hlo.MulOp(a, b).result,
        "cummax": lambda d, a, b: hlo.MaxOp(a, b).result,
        "cummin": lambda d, a, b: hlo.MinOp(a, b).result,
        "cumlogsumexp": _logaddexp_ir,
    }[name]


_identities: dict[str, Callable[[np.dtype], Any]] = {
    "cumsum": lambda d: 0,
    "cumprod": lambda d: 1,
    "cummax": lowest_value,
    "cummin": highest_value,
    "cumlogsumexp": lambda d: -np.inf,
}


def _cumulative(name: str, kind: str) -> Primitive:
    p = Primitive(name)
    combine = _combine_ir(name)
    identity = _identities[name]

    def abstract_eval(x: ShapedArray, *, axis: int, reverse: bool) -> ShapedArray:
        if not 0 <= axis < x.ndim:
            raise ValueError(f"lax.{name}: axis {axis} is out of bounds for an array of shape {x.shape}")
        ok = dtypes.is_float(x.dtype) if kind == "float" else (x.dtype != dtypes.bool_ and
                                                               (kind != "real" or x.dtype.kind != "c"))
        if not ok:
            wanted = {"float": "a floating-point", "real": "a real numeric", "numeric": "a numeric"}[kind]
            raise TypeError(f"lax.{name}: expected {wanted} array, got {x.dtype.name} "
                            "(ec.numpy's cumulative functions promote booleans)")
        return x

    def lowering(ctx: Any, x: Any, *, axis: int, reverse: bool) -> Any:
        aval = ctx.avals_in[0]
        n = aval.shape[axis]
        if n == 0:
            return x
        rank = aval.ndim
        window = tuple(n if d == axis else 1 for d in range(rank))
        padding = tuple(((0, n - 1) if reverse else (n - 1, 0)) if d == axis else (0, 0) for d in range(rank))
        init = full_like_aval(identity(aval.dtype), ShapedArray((), aval.dtype))
        ones = (1,) * rank
        return reduce_window_op(ctx.avals_out, [x], [init], lambda a, b: [combine(aval.dtype, a[0], b[0])],
                                window_dimensions=window, window_strides=ones, padding=padding,
                                base_dilation=ones, window_dilation=ones)[0]

    def batch(args: Sequence[Any], dims: Sequence[int | None], *, axis: int, reverse: bool) -> tuple[Any, int]:
        (x,), (d,) = args, dims
        return p.bind(x, axis=axis + (1 if d <= axis else 0), reverse=reverse), d

    p.def_abstract_eval(abstract_eval)
    p.def_lowering(lowering)
    p.def_batching(batch)
    return p


cumsum_p = _cumulative("cumsum", "numeric")
cumprod_p = _cumulative("cumprod", "numeric")
cummax_p = _cumulative("cummax", "real")
cummin_p = _cumulative("cummin", "real")
cumlogsumexp_p = _cumulative("cumlogsumexp", "float")

deflinear(cumsum_p, lambda ct, x, *, axis, reverse: [
    Zero(x.aval) if type(ct) is Zero else cumsum_p.bind(ct, axis=axis, reverse=not reverse)])


def _scan_jvp(p: Primitive, combine: Callable[[Any, Any], Any]) -> None:
    # Differentiate the prefix scan of ``combine`` (made of primitives with their own rules).
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axis: int, reverse: bool) -> tuple[Any, Any]:
        from ..transforms.jvp import jvp_flat
        (x,), (t,) = primals, tangents
        if type(t) is Zero:
            return p.bind(x, axis=axis, reverse=reverse), t
        (out,), (t_out,) = jvp_flat(lambda v: [associative_scan(combine, v, reverse=reverse, axis=axis)], [x], [t])
        return out, (Zero(aval_of(out)) if type(t_out) is Zero else t_out)

    p.def_jvp(jvp)


def _logaddexp_pair(a: tuple[Any, Any], b: tuple[Any, Any]) -> tuple[Any, Any]:
    # (value, tangent) pairs: the tangent of logaddexp(x, y) is tx*exp(x - out) + ty*exp(y - out),
    # with +inf replaced by 0 in the exponents so that inf - inf never appears.
    from . import elementwise as ew
    (x, tx), (y, ty) = a, b
    delta = ew.sub(x, y)
    smooth = ew.add(ew.max(x, y), ew.log1p(ew.exp(ew.neg(ew.abs(delta)))))
    out = ew.select(ew.ne(delta, delta), ew.add(x, y), smooth)

    def finite(v: Any) -> Any:
        return ew.select(ew.eq(v, ew.full_like(v, np.inf)), ew.full_like(v, 0), v)

    out_f = finite(out)
    t = ew.add(ew.mul(tx, ew.exp(ew.sub(finite(x), out_f))), ew.mul(ty, ew.exp(ew.sub(finite(y), out_f))))
    return out, t


def _cumlogsumexp_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axis: int, reverse: bool) -> tuple[Any, Any]:
    (x,), (t,) = primals, tangents
    if type(t) is Zero:
        return cumlogsumexp_p.bind(x, axis=axis, reverse=reverse), t
    out, t_out = associative_scan(_logaddexp_pair, (x, instantiate(t)), reverse=reverse, axis=axis)
    return out, t_out


def _install_jvps() -> None:
    from . import elementwise as ew
    _scan_jvp(cumprod_p, ew.mul)
    _scan_jvp(cummax_p, ew.max)
    _scan_jvp(cummin_p, ew.min)
    cumlogsumexp_p.def_jvp(_cumlogsumexp_jvp)


_install_jvps()


# ----------------------------------------------------------------------------------------------
# The lax functions

def _bind(p: Primitive, x: Any, axis: int, reverse: bool) -> Any:
    ndim = aval_of(x).ndim
    axis = operator_index(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"lax.{p.name}: axis {axis} is out of bounds for an array of shape {aval_of(x).shape}")
    return p.bind(x, axis=axis % ndim, reverse=bool(reverse))


def cumsum(operand: Any, axis: int = 0, reverse: bool = False) -> Any:
    """Cumulative sum along ``axis`` (from the end when ``reverse``).

    >>> cumsum(np.array([1, 2, 3], np.int32)).tolist()
    [1, 3, 6]
    """
    return _bind(cumsum_p, operand, axis, reverse)


def cumprod(operand: Any, axis: int = 0, reverse: bool = False) -> Any:
    """Cumulative product along ``axis``.

    >>> cumprod(np.array([1, 2, 3], np.int32)).tolist()
    [1, 2, 6]
    """
    return _bind(cumprod_p, operand, axis, reverse)


def cummax(operand: Any, axis: int = 0, reverse: bool = False) -> Any:
    """Running maximum along ``axis`` (NaN propagates forward).

    >>> cummax(np.array([1, 3, 2], np.int32)).tolist()
    [1, 3, 3]
    """
    return _bind(cummax_p, operand, axis, reverse)


def cummin(operand: Any, axis: int = 0, reverse: bool = False) -> Any:
    """Running minimum along ``axis``.

    >>> cummin(np.array([3, 1, 2], np.int32)).tolist()
    [3, 1, 1]
    """
    return _bind(cummin_p, operand, axis, reverse)


def cumlogsumexp(operand: Any, axis: int = 0, reverse: bool = False) -> Any:
    """Running ``log(sum(exp(x)))`` along ``axis``, computed stably (floating point only).

    >>> [round(v, 4) for v in cumlogsumexp(np.zeros(2, np.float32)).tolist()]
    [0.0, 0.6931]
    """
    return _bind(cumlogsumexp_p, operand, axis, reverse)
