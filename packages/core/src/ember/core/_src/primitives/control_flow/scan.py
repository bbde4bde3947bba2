"""``scan_p``: a loop of static length over the leading axis of its inputs.

``lax.scan(f, init, xs)`` binds ``scan_p(*consts, *init, *xs, jaxpr=..., length=..., reverse=...,
num_consts=..., num_carry=..., unroll=...)`` where ``jaxpr`` maps ``(consts, carry, x) -> (carry,
y)``. It lowers to a ``stablehlo.while`` over a step counter that dynamic-slices each ``x`` and
dynamic-update-slices each stacked ``y``.

Reverse mode: linearizing a scan splits its body (``partial_eval_jaxpr``, with a fixpoint on which
carries are unknown) into a *known* scan that computes the primal outputs and stacks the
residuals each step needs, and a linear scan over those residuals; residuals that depend only on
loop constants are computed once outside the loop instead of being stacked. The linear scan
transposes into a scan running the other way that carries the cotangents of the carry and of
the loop constants, and emits the cotangents of ``xs``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir

from ... import tree as tree_util
from ...config import config
from ...core import ConcretizationError, Primitive, ShapedArray, Tracer, get_aval, set_current_trace
from ...jaxpr import ClosedJaxpr
from ...lowering import full_like_aval, hlo, ir_type
from ...rules import UndefinedPrimal, Zero, add_tangents, instantiate, is_undefined, tangent_aval, zeros_like_aval
from ...tracing import trace_to_jaxpr
from .common import (
    batch_closed,
    cache_on_jaxpr,
    check_carry_type,
    eager_impl,
    jvp_closed,
    lower_closed,
    partial_eval_closed,
    promote_weak_carry,
    reorder,
    run_closed,
    split_list,
    trace_function,
    typematch,
    weak_function_cache,
)

__all__ = ["scan", "map", "scan_p"]

_registry = tree_util.registry
_i32 = ShapedArray((), np.dtype(np.int32))


def _stacked(aval: ShapedArray, length: int) -> ShapedArray:
    return ShapedArray((length,) + aval.shape, aval.dtype, aval.weak_type)


def _unstacked(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape[1:], aval.dtype, aval.weak_type)


# ----------------------------------------------------------------------------------------------
# The primitive

scan_p = Primitive("scan", multiple_results=True)


def _scan_abstract_eval(*avals: ShapedArray, jaxpr: ClosedJaxpr, length: int, reverse: bool, num_consts: int,
                        num_carry: int, unroll: int) -> list[ShapedArray]:
    if len(avals) != len(jaxpr.in_avals):
        raise TypeError(f"lax.scan: the body takes {len(jaxpr.in_avals)} inputs, got {len(avals)} operands")
    consts, carry, xs = split_list(avals, [num_consts, num_carry])
    body_consts, body_carry, body_xs = split_list(jaxpr.in_avals, [num_consts, num_carry])
    out_carry = jaxpr.out_avals[:num_carry]
    for x, bx in zip(xs, body_xs):
        if not x.shape or x.shape[0] != length or not typematch(_unstacked(x), bx):
            raise TypeError(f"lax.scan: scanned operand {x.str_short()} does not match the body's input "
                            f"{bx.str_short()} with a leading axis of length {length}")
    if not _all_match(consts, body_consts) or not _all_match(carry, body_carry) \
            or not _all_match(out_carry, body_carry):
        raise TypeError("lax.scan: operand types do not match the body: carry "
                        f"{' '.join(a.str_short() for a in carry)}, body takes "
                        f"{' '.join(a.str_short() for a in body_carry)} and returns "
                        f"{' '.join(a.str_short() for a in out_carry)}")
    return list(out_carry) + [_stacked(y, length) for y in jaxpr.out_avals[num_carry:]]


def _all_match(xs: Sequence[ShapedArray], ys: Sequence[ShapedArray]) -> bool:
    return len(xs) == len(ys) and all(typematch(x, y) for x, y in zip(xs, ys))


def _scan_impl(*args: Any, **params: Any) -> list[Any]:
    return eager_impl(scan_p, args, params, [params["jaxpr"]])


def _i32_const(value: int) -> Any:
    return full_like_aval(value, _i32)


def _scan_lowering(ctx: Any, *args: Any, jaxpr: ClosedJaxpr, length: int, reverse: bool, num_consts: int,
                   num_carry: int, unroll: int) -> list[Any]:
    from ..elementwise import compare_lowering
    consts, init, xs = split_list(args, [num_consts, num_carry])
    xs_avals = ctx.avals_in[num_consts + num_carry:]
    y_avals = jaxpr.out_avals[num_carry:]
    ys_avals = [_stacked(a, length) for a in y_avals]
    ys = [full_like_aval(0, a) for a in ys_avals]

    def step(t: Any, consts: list[Any], carry: list[Any], xs: list[Any], ys: list[Any]) -> tuple[list[Any], list[Any]]:
        idx = hlo.SubtractOp(_i32_const(length - 1), t).result if reverse else t
        zero = _i32_const(0)
        slices = []
        for x, aval in zip(xs, xs_avals):
            piece = hlo.DynamicSliceOp(x, [idx] + [zero] * (aval.ndim - 1), [1] + list(aval.shape[1:])).result
            slices.append(hlo.ReshapeOp(ir_type(_unstacked(aval)), piece).result)
        outs = lower_closed(ctx.module, jaxpr, list(consts) + list(carry) + slices)
        new_carry, y = outs[:num_carry], outs[num_carry:]
        new_ys = []
        for buf, value, aval in zip(ys, y, ys_avals):
            update = hlo.ReshapeOp(ir_type(ShapedArray((1,) + aval.shape[1:], aval.dtype)), value).result
            new_ys.append(hlo.DynamicUpdateSliceOp(buf, update, [idx] + [zero] * (aval.ndim - 1)).result)
        return list(new_carry), new_ys

    if unroll == 0 or unroll >= length:
        trips, remainder = 0, length
    else:
        trips, remainder = divmod(length, unroll)
    carry = list(init)
    if trips:
        state = [_i32_const(0)] + list(consts) + carry + list(xs) + ys
        types = [v.type for v in state]
        loop = hlo.WhileOp(types, state)
        cond_block = loop.regions[0].blocks.append(*types)
        with ir.InsertionPoint(cond_block):
            t = cond_block.arguments[0]
            hlo.ReturnOp([compare_lowering(t, _i32_const(trips), "LT", np.dtype(np.int32))])
        body_block = loop.regions[1].blocks.append(*types)
        with ir.InsertionPoint(body_block):
            t, c, cr, x, y = split_list(list(body_block.arguments), [1, num_consts, num_carry, len(xs)])
            t = t[0]
            for j in range(unroll):
                step_t = t if unroll == 1 else hlo.AddOp(hlo.MulOp(t, _i32_const(unroll)).result,
                                                        _i32_const(j)).result
                cr, y = step(step_t, c, cr, x, y)
            hlo.ReturnOp([hlo.AddOp(t, _i32_const(1)).result] + c + cr + x + y)
        _, _, carry, _, ys = split_list(list(loop.results), [1, num_consts, num_carry, len(xs)])
    for j in range(remainder):
        carry, ys = step(_i32_const(trips * max(unroll, 1) + j if trips else j), list(consts), carry, list(xs), ys)
    return carry + ys


scan_p.def_abstract_eval(_scan_abstract_eval)
scan_p.def_impl(_scan_impl)
scan_p.def_lowering(_scan_lowering)


# ----------------------------------------------------------------------------------------------
# JVP

def _scan_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: ClosedJaxpr, length: int, reverse: bool,
              num_consts: int, num_carry: int, unroll: int) -> tuple[list[Any], list[Any]]:
    num_xs = len(primals) - num_consts - num_carry
    num_ys = len(jaxpr.out_avals) - num_carry
    nonzeros = [type(t) is not Zero for t in tangents]
    const_nz, init_nz, xs_nz = split_list(nonzeros, [num_consts, num_carry])
    carry_nz = list(init_nz)
    for _ in range(num_carry + 1):
        jvp, out_nz = jvp_closed(jaxpr, tuple(const_nz + carry_nz + xs_nz), tuple(carry_nz + [False] * num_ys))
        if out_nz[:num_carry] == carry_nz:
            break
        carry_nz = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
    else:  # pragma: no cover
        raise AssertionError("scan JVP: fixpoint not reached")
    consts, init, xs = split_list(primals, [num_consts, num_carry])
    consts_t, init_t, xs_t = split_list(tangents, [num_consts, num_carry])
    consts_dot = [t for t in consts_t if type(t) is not Zero]
    init_dot = [instantiate(t) for t, nz in zip(init_t, carry_nz) if nz]
    xs_dot = [t for t in xs_t if type(t) is not Zero]
    body = _rearrange_jvp(jvp, num_consts, num_carry, num_xs, len(consts_dot), len(init_dot), len(xs_dot),
                          num_ys, sum(out_nz[num_carry:]))
    outs = scan_p.bind(*consts, *consts_dot, *init, *init_dot, *xs, *xs_dot, jaxpr=body, length=length,
                       reverse=reverse, num_consts=num_consts + len(consts_dot),
                       num_carry=num_carry + len(init_dot), unroll=unroll)
    carry, carry_dot, ys, ys_dot = split_list(outs, [num_carry, len(init_dot), num_ys])
    primals_out = carry + ys
    dots = iter(carry_dot + ys_dot)
    tangents_out = [next(dots) if nz else Zero(tangent_aval(get_aval(p))) for nz, p in zip(out_nz, primals_out)]
    return primals_out, tangents_out


@cache_on_jaxpr
def _rearrange_jvp(jvp: ClosedJaxpr, nc: int, nk: int, nx: int, ncd: int, nkd: int, nxd: int, ny: int,
                   nyd: int) -> ClosedJaxpr:
    """[consts, carry, xs, consts', carry', xs'] -> [carry, ys, carry', ys'] reordered to
    [consts, consts', carry, carry', xs, xs'] -> [carry, carry', ys, ys']."""
    b = nc + nk + nx
    r = range
    in_order = [*r(nc), *r(b, b + ncd), *r(nc, nc + nk), *r(b + ncd, b + ncd + nkd),
                *r(nc + nk, b), *r(b + ncd + nkd, b + ncd + nkd + nxd)]
    out_order = [*r(nk), *r(nk + ny, nk + ny + nkd), *r(nk, nk + ny), *r(nk + ny + nkd, nk + ny + nkd + nyd)]
    return reorder(jvp, in_order, out_order)


scan_p.def_jvp(_scan_jvp)


# ----------------------------------------------------------------------------------------------
# Batching

def _scan_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, jaxpr: ClosedJaxpr, length: int,
                reverse: bool, num_consts: int, num_carry: int, unroll: int) -> tuple[list[Any], list[Any]]:
    from ...rules import broadcast_batched, moveaxis_to_front
    from ...transforms.batching import moveaxis
    params = dict(jaxpr=jaxpr, length=length, reverse=reverse, num_consts=num_consts, num_carry=num_carry,
                  unroll=unroll)
    num_ys = len(jaxpr.out_avals) - num_carry
    size, name = trace.axis_size, trace.axis_name
    batched = [d is not None for d in dims]
    const_b, init_b, xs_b = split_list(batched, [num_consts, num_carry])
    carry_b = list(init_b)
    for _ in range(num_carry + 1):
        body_b, out_b = batch_closed(jaxpr, size, tuple(const_b + carry_b + xs_b),
                                     tuple(carry_b + [False] * num_ys), name)
        if out_b[:num_carry] == carry_b:
            break
        carry_b = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
    else:  # pragma: no cover
        raise AssertionError("scan batching: fixpoint not reached")
    consts, init, xs = split_list(args, [num_consts, num_carry])
    cdims, idims, xdims = split_list(dims, [num_consts, num_carry])
    consts = [moveaxis_to_front(x, d) for x, d in zip(consts, cdims)]
    init = [broadcast_batched(x, d, size) if b else x for x, d, b in zip(init, idims, carry_b)]
    xs = [x if d is None else moveaxis(x, d, 1, size) for x, d in zip(xs, xdims)]
    outs = scan_p.bind(*consts, *init, *xs, **dict(params, jaxpr=body_b))
    return outs, [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[num_carry:]]


scan_p.def_batching(_scan_batch)
scan_p.batch_needs_axis = True


# ----------------------------------------------------------------------------------------------
# Partial evaluation: a known scan (primal outputs + stacked residuals) and a linear scan

@cache_on_jaxpr
def _hoist_residuals(known: ClosedJaxpr, num_known_consts: int, num_res: int
                     ) -> tuple[ClosedJaxpr | None, ClosedJaxpr, list[bool], int]:
    """Split the known body into a loop-invariant part (consts -> hoisted residuals, res2) and the
    loop (res2, carry, xs -> outs, per-step residuals). Returns (invariant, loop, which
    residuals are hoisted, len(res2)); ``invariant`` is None when nothing is hoisted."""
    n_in, n_out = len(known.in_avals), len(known.out_avals)
    if num_res == 0:  # (a fresh Jaxpr object: a cached value must not hold its own key)
        return None, reorder(known), [], num_known_consts
    n_known_out = n_out - num_res
    unknowns = (False,) * num_known_consts + (True,) * (n_in - num_known_consts)
    inst = (True,) * n_known_out + (False,) * num_res
    invariant, loop, out_uk, num_res2 = partial_eval_closed(known, unknowns, inst)
    return invariant, loop, [not u for u in out_uk[n_known_out:]], num_res2


def _scan_partial_eval(trace: Any, args: Sequence[Any], *, jaxpr: ClosedJaxpr, length: int, reverse: bool,
                       num_consts: int, num_carry: int, unroll: int) -> list[Any]:
    from ...transforms.partial_eval import _instantiated
    num_ys = len(jaxpr.out_avals) - num_carry
    unknowns = [trace.owns(x) for x in args]
    const_uk, init_uk, xs_uk = split_list(unknowns, [num_consts, num_carry])
    carry_uk = list(init_uk)
    for _ in range(num_carry + 1):
        known, unknown, out_uk, num_res = partial_eval_closed(
            jaxpr, tuple(const_uk + carry_uk + xs_uk), tuple(carry_uk + [False] * num_ys))
        if out_uk[:num_carry] == carry_uk:
            break
        carry_uk = [a or b for a, b in zip(carry_uk, out_uk[:num_carry])]
    else:  # pragma: no cover
        raise AssertionError("scan partial evaluation: fixpoint not reached")
    consts, init, xs = split_list(args, [num_consts, num_carry])
    known_consts = [x for x, uk in zip(consts, const_uk) if not uk]
    known_init = [x for x, uk in zip(init, carry_uk) if not uk]
    known_xs = [x for x, uk in zip(xs, xs_uk) if not uk]
    num_known_out = len(known.out_avals) - num_res
    invariant, loop, which_hoisted, _ = _hoist_residuals(known, len(known_consts), num_res)
    with set_current_trace(trace.parent):
        if invariant is None:
            hoisted, res2 = [], known_consts
        else:
            inv_outs = run_closed(invariant, *known_consts)
            n_hoisted = sum(which_hoisted)
            hoisted, res2 = inv_outs[:n_hoisted], inv_outs[n_hoisted:]
        if loop.out_avals:
            outs = scan_p.bind(*res2, *known_init, *known_xs, jaxpr=loop, length=length, reverse=reverse,
                               num_consts=len(res2), num_carry=len(known_init), unroll=unroll)
        else:
            outs = []
    known_outs, ext_res = outs[:num_known_out], outs[num_known_out:]
    if not any(out_uk):
        return list(known_outs)
    # the linear scan: [hoisted residuals, unknown consts, unknown carry, unknown xs, stacked residuals]
    n_unknown_in = sum(unknowns[:num_consts]) + sum(carry_uk) + sum(xs_uk)
    hoisted_idx = [i for i, h in enumerate(which_hoisted) if h]
    ext_idx = [i for i, h in enumerate(which_hoisted) if not h]
    in_order = tuple(hoisted_idx + [num_res + j for j in range(n_unknown_in)] + ext_idx)
    body = reorder(unknown, in_order)
    u_consts = [x for x, uk in zip(consts, const_uk) if uk]
    u_init = [x if trace.owns(x) else _instantiated(trace, x) for x, uk in zip(init, carry_uk) if uk]
    u_xs = [x for x, uk in zip(xs, xs_uk) if uk]
    unknown_outs = trace.record(scan_p, [*hoisted, *u_consts, *u_init, *u_xs, *ext_res],
                                dict(jaxpr=body, length=length, reverse=reverse,
                                     num_consts=len(hoisted) + len(u_consts), num_carry=len(u_init),
                                     unroll=unroll))
    k_it, u_it = iter(known_outs), iter(unknown_outs)
    return [next(u_it) if uk else next(k_it) for uk in out_uk]


scan_p.partial_eval_rule = _scan_partial_eval


# ----------------------------------------------------------------------------------------------
# Transposition: a scan the other way, carrying the cotangents of the carry and of the constants

def _cast_like(x: Any, aval: ShapedArray) -> Any:
    x_aval = get_aval(x)
    if x_aval.dtype != aval.dtype:
        from ..elementwise import convert_element_type
        return convert_element_type(x, aval.dtype, aval.weak_type)
    return x


@cache_on_jaxpr
def _transpose_body(jaxpr: ClosedJaxpr, num_consts: int, num_carry: int, const_lin: tuple[bool, ...],
                    xs_lin: tuple[bool, ...], ct_ys_nz: tuple[bool, ...]) -> ClosedJaxpr:
    """Body of the transposed scan: consts [residual consts]; carry [const cotangent accumulators,
    carry cotangents]; xs [nonzero ys cotangents, stacked residuals] -> carry, [xs cotangents]."""
    from ...transforms.ad import backward_pass
    const_avals, carry_avals, x_avals = split_list(jaxpr.in_avals, [num_consts, num_carry])
    out_carry_avals = jaxpr.out_avals[:num_carry]
    y_avals = jaxpr.out_avals[num_carry:]
    res_c = [a for a, lin in zip(const_avals, const_lin) if not lin]
    acc = [tangent_aval(a) for a, lin in zip(const_avals, const_lin) if lin]
    ct_c = [tangent_aval(a) for a in out_carry_avals]
    ct_y = [tangent_aval(a) for a, nz in zip(y_avals, ct_ys_nz) if nz]
    res_x = [a for a, lin in zip(x_avals, xs_lin) if not lin]

    def fun(*args: Any) -> list[Any]:
        r_c, accs, cts_c, cts_y, r_x = split_list(args, [len(res_c), len(acc), len(ct_c), len(ct_y)])
        rc_it, rx_it, cy_it = iter(r_c), iter(r_x), iter(cts_y)
        primals = ([UndefinedPrimal(a) if lin else next(rc_it) for a, lin in zip(const_avals, const_lin)]
                   + [UndefinedPrimal(a) for a in carry_avals]
                   + [UndefinedPrimal(a) if lin else next(rx_it) for a, lin in zip(x_avals, xs_lin)])
        cts_out = list(cts_c) + [next(cy_it) if nz else Zero(tangent_aval(a)) for a, nz in zip(y_avals, ct_ys_nz)]
        cts_in = backward_pass(jaxpr.jaxpr, jaxpr.consts, primals, cts_out)
        ct_consts, ct_carry, ct_xs = split_list(cts_in, [num_consts, num_carry])
        lin_ct_consts = [ct for ct, lin in zip(ct_consts, const_lin) if lin]
        new_acc = [_cast_like(instantiate(add_tangents(a, ct)), av) for a, ct, av in zip(accs, lin_ct_consts, acc)]
        new_ct_carry = [_cast_like(instantiate(ct), av) for ct, av in zip(ct_carry, ct_c)]
        ct_x = [_cast_like(instantiate(ct), tangent_aval(a)) for ct, a, lin in zip(ct_xs, x_avals, xs_lin) if lin]
        return new_acc + new_ct_carry + ct_x

    return trace_to_jaxpr(fun, res_c + acc + ct_c + ct_y + res_x)


def _scan_transpose(cts: Sequence[Any], *args: Any, jaxpr: ClosedJaxpr, length: int, reverse: bool,
                    num_consts: int, num_carry: int, unroll: int) -> list[Any]:
    consts, init, xs = split_list(args, [num_consts, num_carry])
    const_lin = tuple(is_undefined(c) for c in consts)
    xs_lin = tuple(is_undefined(x) for x in xs)
    ct_carry, ct_ys = split_list(cts, [num_carry])
    ct_ys_nz = tuple(type(c) is not Zero for c in ct_ys)
    carry_out_avals = jaxpr.out_avals[:num_carry]
    ct_carry = [_cast_like(instantiate(c), tangent_aval(a)) for c, a in zip(ct_carry, carry_out_avals)]
    body = _transpose_body(jaxpr, num_consts, num_carry, const_lin, xs_lin, ct_ys_nz)
    res_consts = [c for c, lin in zip(consts, const_lin) if not lin]
    accs = [zeros_like_aval(tangent_aval(c.aval)) for c, lin in zip(consts, const_lin) if lin]
    nz_ct_ys = [c for c in ct_ys if type(c) is not Zero]
    res_xs = [x for x, lin in zip(xs, xs_lin) if not lin]
    outs = scan_p.bind(*res_consts, *accs, *ct_carry, *nz_ct_ys, *res_xs, jaxpr=body, length=length,
                       reverse=not reverse, num_consts=len(res_consts), num_carry=len(accs) + num_carry,
                       unroll=unroll)
    ct_consts, ct_init, ct_xs = split_list(outs, [len(accs), num_carry])
    c_it, x_it = iter(ct_consts), iter(ct_xs)
    return ([next(c_it) if lin else None for lin in const_lin]
            + [ct if is_undefined(x) else None for ct, x in zip(ct_init, init)]
            + [next(x_it) if lin else None for lin in xs_lin])


scan_p.def_transpose(_scan_transpose)
scan_p.is_linear = False


# ----------------------------------------------------------------------------------------------
# The lax functions

def _infer_length(xs_leaves: Sequence[Any], length: Any) -> int:
    try:
        lengths = [get_aval(x).shape[0] for x in xs_leaves]
    except IndexError:
        bad = ", ".join(str(x) for x in xs_leaves if not get_aval(x).shape)
        raise ValueError(f"scan got value with no leading axis to scan over: {bad}.") from None
    if length is not None:
        if isinstance(length, Tracer):
            raise ConcretizationError(length, "the `length` argument to `scan` expects a concrete `int` value. "
                                      "For scan-like iteration with a dynamic length, use `while_loop` or "
                                      "`fori_loop`")
        length = int(length)
        if length < 0:
            raise ValueError(f"scan got a negative `length` of {length}")
        if not all(length == n for n in lengths):
            raise ValueError(f"scan got `length` argument of {length} which disagrees with leading axis sizes "
                             f"{lengths}.")
        return length
    unique = set(lengths)
    if len(unique) > 1:
        raise ValueError(f"scan got values with different leading axis sizes: {', '.join(str(n) for n in lengths)}.")
    if not unique:
        raise ValueError("scan got no values to scan over and `length` not provided.")
    return unique.pop()


def _check_pair(out: Any) -> Any:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        shown = out
        if isinstance(out, (Tracer,)) or hasattr(out, "aval"):
            shown = get_aval(out).str_short()
        raise TypeError(f"scan body output must be a pair, got {shown}.")
    return (out[0], out[1])


def _make_body_caller(get_f: Callable[[], Any]) -> Callable[..., Any]:
    def call(carry: Any, x: Any) -> Any:
        return get_f()(carry, x)
    return call


_body_caller = weak_function_cache(_make_body_caller)


def _scan_python(f: Callable[..., Any], init: Any, xs: Any, length: int, reverse: bool) -> Any:
    """The disable_jit path: a Python loop."""
    from ..shape import concatenate, expand_dims, index_in_dim
    if length == 0:
        raise ValueError("zero-length scan is not supported in disable_jit() mode because the output type "
                         "is unknown.")
    xs_leaves, xs_tree = _registry.flatten(xs)
    carry, ys = init, []
    order = range(length - 1, -1, -1) if reverse else range(length)
    for i in order:
        x = xs_tree.unflatten([index_in_dim(leaf, i, 0, keepdims=False) for leaf in xs_leaves])
        carry, y = _check_pair(f(carry, x))
        ys.append(y)
    if reverse:
        ys.reverse()
    stacked = tree_util.map(lambda *leaves: concatenate([expand_dims(leaf, (0,)) for leaf in leaves], 0), *ys)
    return carry, stacked


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int | bool = 1, _split_transpose: bool = False) -> tuple[Any, Any]:
    """Loop ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs``, stacking the ``y``.

    ``init``, ``xs`` and the outputs may be pytrees; ``xs=None`` with ``length`` loops without
    inputs; ``reverse=True`` runs from the end; ``unroll`` steps run per loop iteration.

    >>> import ember.core.numpy as jnp
    >>> from ember.core import lax
    >>> total, partial_sums = lax.scan(lambda c, x: (c + x, c + x), 0.0, jnp.arange(4.0))
    >>> partial_sums.tolist()
    [0.0, 1.0, 3.0, 6.0]
    """
    if not callable(f):
        raise TypeError("lax.scan: f argument should be a callable.")
    init_leaves, init_tree = _registry.flatten(init)
    xs_leaves, xs_tree = _registry.flatten(xs)
    length = _infer_length(xs_leaves, length)
    if config.disable_jit:
        return _scan_python(f, init, xs, length, reverse)
    if isinstance(unroll, Tracer):
        raise ConcretizationError(unroll, "the `unroll` argument to `scan` expects a concrete `int` or `bool` value")
    if isinstance(unroll, (bool, np.bool_)):
        unroll = max(length, 1) if unroll else 1
    unroll = int(unroll)
    if unroll < 0:
        raise ValueError("`unroll` must be a `bool` or a non-negative `int`.")
    from ...jit import abstractify
    xs_avals = [_unstacked(abstractify(x)) for x in xs_leaves]
    body = _body_caller(f)

    def trace_body(carry_avals: list[ShapedArray]) -> Any:
        tree = _registry.flatten((init_tree.unflatten(carry_avals), xs_tree.unflatten(xs_avals)))[1]
        return trace_function(body, tree, carry_avals + xs_avals, what="lax.scan", out_check=_check_pair)

    carry_avals = [abstractify(x) for x in init_leaves]
    traced = trace_body(carry_avals)
    carry_tree, y_tree = traced.out_tree.children()
    num_carry = carry_tree.num_leaves
    if num_carry != len(init_leaves) or carry_tree != init_tree:
        check_carry_type("scan body", f, init_tree, carry_avals, carry_tree, traced.out_avals[:num_carry])
    init_leaves, changed = promote_weak_carry(init_leaves, carry_avals, traced.out_avals[:num_carry])
    if changed:
        carry_avals = [get_aval(x) for x in init_leaves]
        traced = trace_body(carry_avals)
        carry_tree, y_tree = traced.out_tree.children()
    check_carry_type("scan body", f, init_tree, carry_avals, carry_tree, traced.out_avals[:num_carry])
    outs = scan_p.bind(*traced.consts, *init_leaves, *xs_leaves, jaxpr=traced.jaxpr, length=length,
                       reverse=bool(reverse), num_consts=len(traced.consts), num_carry=num_carry, unroll=unroll)
    return carry_tree.unflatten(outs[:num_carry]), y_tree.unflatten(outs[num_carry:])


def _make_map_body(get_f: Callable[[], Any]) -> Callable[..., Any]:
    def body(_: Any, x: Any) -> Any:
        return (), get_f()(x)
    return body


def _make_vmap_map_body(get_f: Callable[[], Any]) -> Callable[..., Any]:
    from ...transforms.batching import vmap
    g = vmap(lambda x: get_f()(x))

    def body(_: Any, x: Any) -> Any:
        return (), g(x)
    return body


_map_body = weak_function_cache(_make_map_body)
_vmap_map_body = weak_function_cache(_make_vmap_map_body)


def map(f: Callable[[Any], Any], xs: Any, *, batch_size: int | None = None) -> Any:  # noqa: A001 - lax name
    """``stack([f(x) for x in xs])`` as one loop (``xs`` may be a pytree).

    With ``batch_size``, ``f`` is vmapped over chunks of that many elements (the remainder in one
    more vmapped call), trading memory for parallelism.

    >>> import ember.core.numpy as jnp
    >>> from ember.core import lax
    >>> lax.map(lambda x: x * x, jnp.arange(4.0)).tolist()
    [0.0, 1.0, 4.0, 9.0]
    """
    if batch_size is None:
        _, ys = scan(_map_body(f), (), xs)
        return ys
    from ...transforms.batching import vmap
    from ..shape import concatenate, reshape, slice_in_dim
    batch_size = int(batch_size)
    leaves, tree = _registry.flatten(xs)
    if not leaves:
        _, ys = scan(_map_body(f), (), xs)
        return ys
    n = get_aval(leaves[0]).shape[0]
    num_batches, remainder = (0, n) if batch_size == 0 else divmod(n, batch_size)
    done = num_batches * batch_size
    scan_ys = rem_ys = None
    if num_batches:
        batched = [reshape(slice_in_dim(x, 0, done, 1, 0), (num_batches, batch_size) + get_aval(x).shape[1:])
                   for x in leaves]
        _, scan_ys = scan(_vmap_map_body(f), (), tree.unflatten(batched))
        scan_ys = tree_util.map(lambda y: reshape(y, (done,) + get_aval(y).shape[2:]), scan_ys)
    if remainder:
        rest = [slice_in_dim(x, done, n, 1, 0) for x in leaves]
        rem_ys = vmap(f)(tree.unflatten(rest))
    if scan_ys is None:
        return rem_ys
    if rem_ys is None:
        return scan_ys
    return tree_util.map(lambda a, b: concatenate([a, b], 0), scan_ys, rem_ys)
