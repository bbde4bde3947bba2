"""Windowed reductions: ``reduce_window`` (sum, max, min and a generic form over any reducer) and
the two primitives that differentiate max/min pooling, ``select_and_gather_add`` (forward) and
``select_and_scatter_add`` (its transpose).

Max pooling differentiates like this: the JVP of ``reduce_window_max`` picks, in each window, the
tangent at the position of the window's maximum (``select_and_gather_add``); that is linear in the
tangent and its transpose scatters each cotangent back to the argmax position of its window
(``select_and_scatter_add``, XLA's SelectAndScatter); the transpose of that is the gather again,
so every order of differentiation works.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from .. import tree as tree_util
from ..core import Primitive, ShapedArray, Tracer, operator_index
from ..lowering import constant, dense_i64, full_like_aval, ir_type, jaxpr_subcomp
from ..rules import Zero, batch_size, broadcast_batched, deflinear, instantiate, is_undefined
from ._util import aval_of, check_dtype_kind
from .reductions import highest_value, lowest_value

# ``padtype_to_pads`` is public from the convolution family (``lax.padtype_to_pads``); the copy
# here keeps this module independent of it.
__all__ = ["reduce_window"]

Padding = tuple[tuple[int, int], ...]


# ----------------------------------------------------------------------------------------------
# Shapes and padding

def padtype_to_pads(in_shape: Sequence[int], window_shape: Sequence[int], window_strides: Sequence[int],
                    padding: str) -> list[tuple[int, int]]:
    """(low, high) padding per dimension for ``'VALID'``, ``'SAME'`` or ``'SAME_LOWER'``.

    >>> padtype_to_pads((5,), (3,), (2,), "SAME")
    [(1, 1)]
    """
    if not isinstance(padding, str):
        raise TypeError(f"padtype_to_pads: padding must be 'VALID', 'SAME' or 'SAME_LOWER', got {padding!r}")
    kind = padding.upper()
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(f"padtype_to_pads: padding must be 'VALID', 'SAME' or 'SAME_LOWER', got {padding!r}")
    pads = []
    for n, w, s in zip(in_shape, window_shape, window_strides):
        out = -(-n // s)
        total = max((out - 1) * s + w - n, 0)
        small, large = total // 2, total - total // 2
        pads.append((small, large) if kind == "SAME" else (large, small))
    return pads


def _dilate(shape: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    return tuple(0 if n == 0 else 1 + d * (n - 1) for n, d in zip(shape, dilation))


def _window_shape(name: str, x: ShapedArray, window_dimensions: tuple[int, ...], window_strides: tuple[int, ...],
                  padding: Padding, base_dilation: tuple[int, ...],
                  window_dilation: tuple[int, ...]) -> tuple[int, ...]:
    rank = x.ndim
    for argname, value in (("window_dimensions", window_dimensions), ("window_strides", window_strides),
                           ("padding", padding), ("base_dilation", base_dilation),
                           ("window_dilation", window_dilation)):
        if len(value) != rank:
            raise TypeError(f"lax.{name}: {argname} {value} must have one entry per dimension of the "
                            f"operand shape {x.shape}")
    for argname, value in (("window_dimensions", window_dimensions), ("window_strides", window_strides),
                           ("base_dilation", base_dilation), ("window_dilation", window_dilation)):
        if any(v < 1 for v in value):
            raise ValueError(f"lax.{name}: {argname} must be positive, got {value}")
    padded = [n + lo + hi for n, (lo, hi) in zip(_dilate(x.shape, base_dilation), padding)]
    windows = _dilate(window_dimensions, window_dilation)
    return tuple(0 if p < w else (p - w) // s + 1 for p, w, s in zip(padded, windows, window_strides))


def _padding_attr(padding: Padding) -> ir.DenseIntElementsAttr:
    return ir.DenseIntElementsAttr.get(np.asarray(padding, np.int64).reshape(len(padding), 2),
                                       type=ir.IntegerType.get_signless(64))


def reduce_window_op(out_avals: Sequence[ShapedArray], operands: Sequence[Any], init_values: Sequence[Any],
                     body: Callable[[list[Any], list[Any]], Sequence[Any]], *, window_dimensions: Sequence[int],
                     window_strides: Sequence[int], padding: Padding, base_dilation: Sequence[int],
                     window_dilation: Sequence[int]) -> list[Any]:
    """Emit a stablehlo.reduce_window; ``body(accumulators, elements)`` builds the scalar reducer."""
    op = hlo.ReduceWindowOp([ir_type(a) for a in out_avals], list(operands), list(init_values),
                            dense_i64(window_dimensions), window_strides=dense_i64(window_strides),
                            base_dilations=dense_i64(base_dilation), window_dilations=dense_i64(window_dilation),
                            padding=_padding_attr(padding))
    scalar_types = [ir_type(ShapedArray((), a.dtype)) for a in out_avals]
    block = op.regions[0].blocks.append(*(scalar_types + scalar_types))
    with ir.InsertionPoint(block):
        n = len(operands)
        args = list(block.arguments)
        hlo.ReturnOp(list(body(args[:n], args[n:])))
    return list(op.results)


# ----------------------------------------------------------------------------------------------
# reduce_window_sum / max / min

_WINDOW_PARAMS = ("window_dimensions", "window_strides", "padding", "base_dilation", "window_dilation")


def _insert_unit_window(params: dict[str, Any], dim: int) -> dict[str, Any]:
    """Window parameters with a size-1, stride-1, unpadded window inserted at ``dim``."""
    new = dict(params)
    for key, unit in (("window_dimensions", 1), ("window_strides", 1), ("padding", (0, 0)),
                      ("base_dilation", 1), ("window_dilation", 1)):
        if key in new:
            value = new[key]
            new[key] = value[:dim] + (unit,) + value[dim:]
    return new


def _monoid_window(name: str, kind: str, identity: Callable[[np.dtype], Any],
                   combine: Callable[[np.dtype, Any, Any], Any]) -> Primitive:
    p = Primitive(name)

    def abstract_eval(x: ShapedArray, **params: Any) -> ShapedArray:
        check_dtype_kind(name, kind, x)
        return ShapedArray(_window_shape(name, x, **params), x.dtype, x.weak_type)

    def lowering(ctx: Any, x: Any, **params: Any) -> Any:
        dtype = ctx.avals_in[0].dtype
        init = full_like_aval(identity(dtype), ShapedArray((), dtype))
        return reduce_window_op(ctx.avals_out, [x], [init], lambda a, b: [combine(dtype, a[0], b[0])], **params)[0]

    def batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, int]:
        (x,), (d,) = args, dims
        return p.bind(x, **_insert_unit_window(params, d)), d

    p.def_abstract_eval(abstract_eval)
    p.def_lowering(lowering)
    p.def_batching(batch)
    return p


def _add_ir(dtype: np.dtype, a: Any, b: Any) -> Any:
    return hlo.OrOp(a, b).result if dtype == dtypes.bool_ else hlo.AddOp(a, b).result


reduce_window_sum_p = _monoid_window("reduce_window_sum", "numeric", lambda d: 0, _add_ir)
reduce_window_max_p = _monoid_window("reduce_window_max", "any", lowest_value,
                                     lambda d, a, b: hlo.MaxOp(a, b).result)
reduce_window_min_p = _monoid_window("reduce_window_min", "any", highest_value,
                                     lambda d, a, b: hlo.MinOp(a, b).result)


def _reduce_window_sum_transpose(ct: Any, x: Any, *, window_dimensions: tuple[int, ...],
                                 window_strides: tuple[int, ...], padding: Padding,
                                 base_dilation: tuple[int, ...], window_dilation: tuple[int, ...]) -> list[Any]:
    # Each input element contributes to the outputs whose windows cover it: spread the cotangent
    # back onto the (dilated, padded) input grid and sum it with the same window.
    if type(ct) is Zero:
        return [Zero(x.aval)]
    from .shape import pad
    in_shape = x.aval.shape
    ct_shape = aval_of(ct).shape
    lhs = _dilate(in_shape, base_dilation)
    rhs = _dilate(window_dimensions, window_dilation)
    out = _dilate(ct_shape, window_strides)
    config = []
    for l, r, o, (lo, _), s in zip(lhs, rhs, out, padding, window_strides):
        before = r - lo - 1
        after = l + r - 1 - o - before
        config.append((before, after, s - 1))
    padded = pad(ct, np.zeros((), aval_of(ct).dtype), config)
    ones = (1,) * len(in_shape)
    result = reduce_window_sum_p.bind(padded, window_dimensions=window_dimensions, window_strides=base_dilation,
                                      padding=((0, 0),) * len(in_shape), base_dilation=ones,
                                      window_dilation=window_dilation)
    return [result]


deflinear(reduce_window_sum_p, _reduce_window_sum_transpose)


def _chooser_window_jvp(p: Primitive, select: str) -> None:
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        (x,), (t,) = primals, tangents
        out = p.bind(x, **params)
        if type(t) is Zero or not dtypes.is_inexact(aval_of(x).dtype):
            return out, Zero(aval_of(out))
        return out, select_and_gather_add_p.bind(t, x, select_prim=select, **params)

    p.def_jvp(jvp)


_chooser_window_jvp(reduce_window_max_p, "ge")
_chooser_window_jvp(reduce_window_min_p, "le")


# ----------------------------------------------------------------------------------------------
# select_and_gather_add: the tangent at each window's max (select_prim "ge") or min ("le")

select_and_gather_add_p = Primitive("select_and_gather_add")


def _sga_abstract_eval(t: ShapedArray, x: ShapedArray, *, select_prim: str, **params: Any) -> ShapedArray:
    if t.shape != x.shape or t.dtype != x.dtype:
        raise TypeError(f"lax.select_and_gather_add: tangents ({t.str_short()}) and operand "
                        f"({x.str_short()}) must have the same shape and dtype")
    if select_prim not in ("ge", "le"):
        raise ValueError(f"lax.select_and_gather_add: select_prim must be 'ge' or 'le', got {select_prim!r}")
    return ShapedArray(_window_shape("select_and_gather_add", x, **params), t.dtype, t.weak_type)


def _sga_lowering(ctx: Any, t: Any, x: Any, *, select_prim: str, **params: Any) -> Any:
    from .elementwise import compare_lowering
    dtype = ctx.avals_in[1].dtype
    scalar = ShapedArray((), dtype)
    init_key = lowest_value(dtype) if select_prim == "ge" else highest_value(dtype)
    inits = [full_like_aval(init_key, scalar), full_like_aval(0, scalar)]
    direction = "GE" if select_prim == "ge" else "LE"

    def body(acc: list[Any], el: list[Any]) -> list[Any]:
        pick = compare_lowering(acc[0], el[0], direction, dtype)
        return [hlo.SelectOp(pick, acc[0], el[0]).result, hlo.SelectOp(pick, acc[1], el[1]).result]

    out_aval = ctx.avals_out[0]
    return reduce_window_op([out_aval, out_aval], [x, t], inits, body, **params)[1]


def _sga_jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    (t, x), (dt, _) = primals, tangents  # piecewise: the operand's tangent does not move the choice
    out = select_and_gather_add_p.bind(t, x, **params)
    if type(dt) is Zero:
        return out, Zero(aval_of(out))
    return out, select_and_gather_add_p.bind(dt, x, **params)


def _sga_transpose(ct: Any, t: Any, x: Any, *, select_prim: str, window_dimensions: tuple[int, ...],
                   window_strides: tuple[int, ...], padding: Padding, base_dilation: tuple[int, ...],
                   window_dilation: tuple[int, ...]) -> list[Any]:
    if is_undefined(x) or not is_undefined(t):
        raise ValueError("select_and_gather_add is linear in its tangents only")
    if any(d != 1 for d in window_dilation):
        raise NotImplementedError("reverse-mode differentiation of max/min pooling with window_dilation "
                                  f"{window_dilation} is not implemented; use jvp/jacfwd")
    if type(ct) is Zero:
        return [Zero(t.aval), None]
    from .shape import pad
    from .shape import slice as slice_
    dtilated = any(d != 1 for d in base_dilation)
    if dtilated:  # select on the dilated grid, whose holes never win, then drop the holes
        ident = lowest_value(aval_of(x).dtype) if select_prim == "ge" else highest_value(aval_of(x).dtype)
        x = pad(x, np.array(ident, aval_of(x).dtype), tuple((0, 0, d - 1) for d in base_dilation))
    result = select_and_scatter_add_p.bind(ct, x, select_prim=select_prim, window_dimensions=window_dimensions,
                                           window_strides=window_strides, padding=padding)
    if dtilated:
        shape = aval_of(result).shape
        result = slice_(result, (0,) * len(shape), shape, base_dilation)
    return [result, None]


def _pair_batch(p: Primitive) -> Callable[..., tuple[Any, int]]:
    def batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, int]:
        size = batch_size(args, dims)
        moved = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
        return p.bind(*moved, **_insert_unit_window(params, 0)), 0
    return batch


select_and_gather_add_p.def_abstract_eval(_sga_abstract_eval)
select_and_gather_add_p.def_lowering(_sga_lowering)
select_and_gather_add_p.def_jvp(_sga_jvp)
select_and_gather_add_p.def_transpose(_sga_transpose)
select_and_gather_add_p.def_batching(_pair_batch(select_and_gather_add_p))


# ----------------------------------------------------------------------------------------------
# select_and_scatter_add: each source value added at the max/min position of its window

select_and_scatter_add_p = Primitive("select_and_scatter_add")


def _ssa_abstract_eval(source: ShapedArray, x: ShapedArray, *, select_prim: str, window_dimensions: tuple[int, ...],
                       window_strides: tuple[int, ...], padding: Padding) -> ShapedArray:
    ones = (1,) * x.ndim
    expected = _window_shape("select_and_scatter_add", x, window_dimensions, window_strides, padding, ones, ones)
    if source.shape != expected or source.dtype != x.dtype:
        raise TypeError(f"lax.select_and_scatter_add: source {source.str_short()} must have the windowed "
                        f"shape {expected} of the operand {x.str_short()} and its dtype")
    return ShapedArray(x.shape, source.dtype, source.weak_type)


def _ssa_lowering(ctx: Any, source: Any, x: Any, *, select_prim: str, window_dimensions: tuple[int, ...],
                  window_strides: tuple[int, ...], padding: Padding) -> Any:
    from .elementwise import compare_lowering
    x_aval = ctx.avals_in[1]
    dtype = x_aval.dtype
    scalar_type = ir_type(ShapedArray((), dtype))
    # Pad explicitly with the selection's identity (XLA:CPU mishandles padded SelectAndScatter)
    # and cut the padding off the result.
    padded_aval = x_aval
    if any(lo or hi for lo, hi in padding):
        ident = lowest_value(dtype) if select_prim == "ge" else highest_value(dtype)
        lows, highs = [lo for lo, _ in padding], [hi for _, hi in padding]
        padded_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x_aval.shape, padding))
        padded_aval = x_aval.update(shape=padded_shape)
        x = hlo.PadOp(x, full_like_aval(ident, ShapedArray((), dtype)), dense_i64(lows), dense_i64(highs),
                      dense_i64([0] * len(padding))).result
    op = hlo.SelectAndScatterOp(ir_type(padded_aval), x, source, full_like_aval(0, ShapedArray((), dtype)),
                                window_dimensions=dense_i64(window_dimensions),
                                window_strides=dense_i64(window_strides),
                                padding=_padding_attr(((0, 0),) * len(padding)))
    select = op.select.blocks.append(scalar_type, scalar_type)
    with ir.InsertionPoint(select):
        a, b = select.arguments
        hlo.ReturnOp([compare_lowering(a, b, "GE" if select_prim == "ge" else "LE", dtype)])
    scatter = op.scatter.blocks.append(scalar_type, scalar_type)
    with ir.InsertionPoint(scatter):
        a, b = scatter.arguments
        hlo.ReturnOp([_add_ir(dtype, a, b)])
    result = op.result
    if padded_aval is not x_aval:  # the inverse padding: crops what was added, zero-fills what was cut
        result = hlo.PadOp(result, full_like_aval(0, ShapedArray((), dtype)), dense_i64([-lo for lo, _ in padding]),
                           dense_i64([-hi for _, hi in padding]), dense_i64([0] * len(padding))).result
    return result


def _ssa_jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    (source, x), (ds, _) = primals, tangents
    out = select_and_scatter_add_p.bind(source, x, **params)
    if type(ds) is Zero:
        return out, Zero(aval_of(out))
    return out, select_and_scatter_add_p.bind(ds, x, **params)


def _ssa_transpose(ct: Any, source: Any, x: Any, *, select_prim: str, window_dimensions: tuple[int, ...],
                   window_strides: tuple[int, ...], padding: Padding) -> list[Any]:
    if is_undefined(x) or not is_undefined(source):
        raise ValueError("select_and_scatter_add is linear in its source only")
    if type(ct) is Zero:
        return [Zero(source.aval), None]
    ones = (1,) * len(window_dimensions)
    return [select_and_gather_add_p.bind(ct, x, select_prim=select_prim, window_dimensions=window_dimensions,
                                         window_strides=window_strides, padding=padding, base_dilation=ones,
                                         window_dilation=ones), None]


select_and_scatter_add_p.def_abstract_eval(_ssa_abstract_eval)
select_and_scatter_add_p.def_lowering(_ssa_lowering)
select_and_scatter_add_p.def_jvp(_ssa_jvp)
select_and_scatter_add_p.def_transpose(_ssa_transpose)
select_and_scatter_add_p.def_batching(_pair_batch(select_and_scatter_add_p))


# ----------------------------------------------------------------------------------------------
# The generic reduce_window: any reducer, given as a traced scalar program, over several operands

reduce_window_p = Primitive("reduce_window", multiple_results=True)


def _rw_abstract_eval(*avals: ShapedArray, jaxpr: Any, **params: Any) -> list[ShapedArray]:
    n = len(avals) // 2
    operands, inits = avals[:n], avals[n:]
    for i, (o, v) in enumerate(zip(operands, inits)):
        if v.shape:
            raise TypeError(f"lax.reduce_window: init_value {i} must be a scalar, got shape {v.shape}")
        if o.dtype != v.dtype:
            raise TypeError(f"lax.reduce_window: operand {i} ({o.dtype.name}) and its init_value "
                            f"({v.dtype.name}) must have the same dtype")
        if o.shape != operands[0].shape:
            raise TypeError(f"lax.reduce_window: operands must have the same shape, got {operands[0].shape} "
                            f"and {o.shape}")
    shape = _window_shape("reduce_window", operands[0], **params)
    return [ShapedArray(shape, o.dtype, False) for o in operands]


def _rw_lowering(ctx: Any, *args: Any, jaxpr: Any, **params: Any) -> list[Any]:
    n = len(args) // 2
    consts = [constant(np.asarray(c), v.aval) for c, v in zip(jaxpr.consts, jaxpr.jaxpr.constvars)]

    def body(acc: list[Any], el: list[Any]) -> list[Any]:
        return jaxpr_subcomp(ctx.module, jaxpr.jaxpr, consts, acc + el)

    return reduce_window_op(ctx.avals_out, args[:n], args[n:], body, **params)


def _rw_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: Any, **params: Any) -> tuple[Any, Any]:
    from ..jaxpr import jaxpr_as_fun
    from ..transforms.jvp import jvp_flat
    n = len(primals) // 2
    operands, inits = list(primals[:n]), list(primals[n:])
    if any(type(t) is not Zero for t in tangents[n:]):
        raise NotImplementedError("lax.reduce_window: differentiating with respect to init_value is not supported")
    op_tangents = [instantiate(t) for t in tangents[:n]]
    reducer = jaxpr_as_fun(jaxpr)

    def pair_reducer(acc: Sequence[Any], el: Sequence[Any]) -> list[Any]:
        a_p, a_t, b_p, b_t = acc[:n], acc[n:], el[:n], el[n:]
        outs, touts = jvp_flat(reducer, list(a_p) + list(b_p), list(a_t) + list(b_t))
        return list(outs) + [instantiate(t) for t in touts]

    zeros = [np.zeros((), aval_of(x).dtype) for x in operands]
    # The primal outputs come from their own reduce_window so that they stay known under
    # linearize; the tangent one (not transposable: no reverse mode) repeats the primal work.
    outs = reduce_window_p.bind(*primals, jaxpr=jaxpr, **params)
    both = _generic_reduce_window(operands + op_tangents, inits + zeros, pair_reducer, **params)
    return outs, both[n:]


def _rw_batch(args: Sequence[Any], dims: Sequence[int | None], *, jaxpr: Any, **params: Any) -> tuple[Any, list[int]]:
    n = len(args) // 2
    if any(d is not None for d in dims[n:]):
        raise NotImplementedError("vmap of lax.reduce_window over batched init_values is not supported")
    size = batch_size(args, dims)
    operands = [broadcast_batched(a, d, size) for a, d in zip(args[:n], dims[:n])]
    outs = reduce_window_p.bind(*operands, *args[n:], jaxpr=jaxpr, **_insert_unit_window(params, 0))
    return outs, [0] * n


reduce_window_p.def_abstract_eval(_rw_abstract_eval)
reduce_window_p.def_lowering(_rw_lowering)
reduce_window_p.def_jvp(_rw_jvp)
reduce_window_p.def_batching(_rw_batch)


Reducer = Callable[[Sequence[Any], Sequence[Any]], Sequence[Any]]


def _generic_reduce_window(operands: list[Any], inits: list[Any], reducer: Reducer, **params: Any) -> list[Any]:
    """reduce_window_p over flat ``operands`` with ``reducer(accs, elems) -> list`` (traced once)."""
    from ..jaxpr import ClosedJaxpr
    from ..tracing import trace_to_jaxpr
    n = len(operands)
    scalar_avals = [ShapedArray((), aval_of(x).dtype) for x in operands]

    def flat(*xs: Any) -> list[Any]:
        outs = list(reducer(list(xs[:n]), list(xs[n:])))
        if len(outs) != n:
            raise TypeError(f"lax.reduce_window: the computation returned {len(outs)} values for {n} operands")
        from .elementwise import convert_element_type
        return [convert_element_type(o, a.dtype) for o, a in zip(outs, scalar_avals)]

    closed = trace_to_jaxpr(flat, scalar_avals + scalar_avals)
    for c in closed.consts:
        if isinstance(c, Tracer):
            raise TypeError("lax.reduce_window: the computation closes over a traced value; pass it as an "
                            "operand instead")
    for i, (var, aval) in enumerate(zip(closed.jaxpr.outvars, scalar_avals)):
        if var.aval.shape != () or var.aval.dtype != aval.dtype:
            raise TypeError(f"lax.reduce_window: the computation's output {i} is {var.aval.str_short()}, "
                            f"expected a scalar {aval.dtype.name}")
    closed = ClosedJaxpr(closed.jaxpr, [np.asarray(c) for c in closed.consts])
    init_arrays = [_as_scalar(v, a.dtype) for v, a in zip(inits, scalar_avals)]
    return reduce_window_p.bind(*operands, *init_arrays, jaxpr=closed, **params)


def _as_scalar(v: Any, dtype: np.dtype) -> Any:
    if isinstance(v, (bool, int, float, complex, np.generic, np.ndarray)):
        return np.asarray(v, dtype)
    from .elementwise import convert_element_type
    return convert_element_type(v, dtype)


# ----------------------------------------------------------------------------------------------
# The lax function

def _monoid_kind(computation: Callable[..., Any], init: Any, dtype: np.dtype) -> Primitive | None:
    """reduce_window_sum/max/min when ``computation`` is add/max/min and ``init`` its identity."""
    from . import elementwise as ew
    value = init.to_concrete_value() if isinstance(init, Tracer) else init
    if value is None:
        return None
    try:
        value = np.asarray(value)
    except Exception:  # noqa: BLE001 - not a concrete array
        return None
    if value.shape != ():
        return None
    candidates = {ew.add: (reduce_window_sum_p, 0), ew.max: (reduce_window_max_p, lowest_value(dtype)),
                  ew.min: (reduce_window_min_p, highest_value(dtype))}
    for fn, (prim, identity) in candidates.items():
        if computation is fn:
            if prim is reduce_window_sum_p and dtype == dtypes.bool_:
                return None
            with np.errstate(invalid="ignore"):
                return prim if bool(value.astype(dtype) == np.asarray(identity, dtype)) else None
    return None


def _tuple_of_ints(value: Any, rank: int, default: int, argname: str) -> tuple[int, ...]:
    if value is None:
        return (default,) * rank
    try:
        return tuple(operator_index(v) for v in value)
    except TypeError:
        raise TypeError(f"lax.reduce_window: {argname} must be a sequence of integers, got {value!r}") from None


def reduce_window(operand: Any, init_value: Any, computation: Callable[..., Any], window_dimensions: Sequence[int],
                  window_strides: Sequence[int] | None = None, padding: str | Sequence[tuple[int, int]] = "VALID",
                  base_dilation: Sequence[int] | None = None, window_dilation: Sequence[int] | None = None) -> Any:
    """Reduce each window of ``operand`` with ``computation`` (XLA's ReduceWindow).

    ``computation`` is ``lax.add``, ``lax.max`` or ``lax.min`` with its identity as ``init_value``
    for the fast, differentiable pooling primitives, or any associative scalar function (then
    ``operand``/``init_value`` may be matching pytrees). ``padding`` is ``'VALID'``, ``'SAME'``,
    ``'SAME_LOWER'`` or a (low, high) pair per dimension; padded positions hold ``init_value``.

    >>> import ember.core.lax as lax
    >>> x = np.arange(6, dtype=np.float32)
    >>> reduce_window(x, -np.inf, lax.max, (2,), (2,)).tolist()
    [1.0, 3.0, 5.0]
    """
    flat_operands, tree = tree_util.flatten(operand)
    flat_inits, init_tree = tree_util.flatten(init_value)
    if tree != init_tree:
        raise ValueError(f"lax.reduce_window: operand and init_value must have the same structure, got "
                         f"{tree} and {init_tree}")
    if not flat_operands:
        raise ValueError("lax.reduce_window: needs at least one operand")
    first = aval_of(flat_operands[0])
    rank = first.ndim
    window_dimensions = _tuple_of_ints(window_dimensions, rank, 1, "window_dimensions")
    window_strides = _tuple_of_ints(window_strides, len(window_dimensions), 1, "window_strides")
    base_dilation = _tuple_of_ints(base_dilation, len(window_dimensions), 1, "base_dilation")
    window_dilation = _tuple_of_ints(window_dilation, len(window_dimensions), 1, "window_dilation")
    if isinstance(padding, str):
        pads = padtype_to_pads(_dilate(first.shape, base_dilation), _dilate(window_dimensions, window_dilation),
                               window_strides, padding)
    else:
        pads = [tuple(p) for p in padding]
        if any(len(p) != 2 for p in pads):
            raise TypeError(f"lax.reduce_window: padding must be a string or (low, high) pairs, got {padding!r}")
    params = dict(window_dimensions=window_dimensions, window_strides=window_strides,
                  padding=tuple((operator_index(lo), operator_index(hi)) for lo, hi in pads),
                  base_dilation=base_dilation, window_dilation=window_dilation)
    if len(flat_operands) == 1:
        prim = _monoid_kind(computation, flat_inits[0], first.dtype)
        if prim is not None:
            return tree_util.unflatten(tree, [prim.bind(flat_operands[0], **params)])

    def reducer(accs: Sequence[Any], elems: Sequence[Any]) -> list[Any]:
        out = computation(tree_util.unflatten(tree, accs), tree_util.unflatten(tree, elems))
        out_leaves, out_tree = tree_util.flatten(out)
        if out_tree != tree:
            raise TypeError(f"lax.reduce_window: the computation must return the operand's structure {tree}, "
                            f"got {out_tree}")
        return out_leaves

    outs = _generic_reduce_window(list(flat_operands), list(flat_inits), reducer, **params)
    return tree_util.unflatten(tree, outs)


def reduce_window_sum(operand: Any, window_dimensions: Sequence[int], window_strides: Sequence[int],
                      padding: Sequence[tuple[int, int]], base_dilation: Sequence[int] | None = None,
                      window_dilation: Sequence[int] | None = None) -> Any:
    """Sum over windows (the primitive behind ``reduce_window(x, 0, lax.add, ...)``)."""
    return _bind_monoid(reduce_window_sum_p, operand, window_dimensions, window_strides, padding, base_dilation,
                        window_dilation)


def reduce_window_max(operand: Any, window_dimensions: Sequence[int], window_strides: Sequence[int],
                      padding: Sequence[tuple[int, int]], base_dilation: Sequence[int] | None = None,
                      window_dilation: Sequence[int] | None = None) -> Any:
    """Maximum over windows (max pooling)."""
    return _bind_monoid(reduce_window_max_p, operand, window_dimensions, window_strides, padding, base_dilation,
                        window_dilation)


def reduce_window_min(operand: Any, window_dimensions: Sequence[int], window_strides: Sequence[int],
                      padding: Sequence[tuple[int, int]], base_dilation: Sequence[int] | None = None,
                      window_dilation: Sequence[int] | None = None) -> Any:
    """Minimum over windows."""
    return _bind_monoid(reduce_window_min_p, operand, window_dimensions, window_strides, padding, base_dilation,
                        window_dilation)


def _bind_monoid(p: Primitive, operand: Any, window_dimensions: Sequence[int], window_strides: Sequence[int],
                 padding: Sequence[tuple[int, int]], base_dilation: Sequence[int] | None,
                 window_dilation: Sequence[int] | None) -> Any:
    rank = len(tuple(window_dimensions))
    return p.bind(operand, window_dimensions=_tuple_of_ints(window_dimensions, rank, 1, "window_dimensions"),
                  window_strides=_tuple_of_ints(window_strides, rank, 1, "window_strides"),
                  padding=tuple((operator_index(lo), operator_index(hi)) for lo, hi in padding),
                  base_dilation=_tuple_of_ints(base_dilation, rank, 1, "base_dilation"),
                  window_dilation=_tuple_of_ints(window_dilation, rank, 1, "window_dilation"))
