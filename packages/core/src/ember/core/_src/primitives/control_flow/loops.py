"""``while_p``: iterate a body program while a condition program holds.

``lax.while_loop(cond_fun, body_fun, init_val)`` binds ``while_p(*cond_consts, *body_consts,
*init, cond_jaxpr=..., body_jaxpr=..., cond_nconsts=..., body_nconsts=...)``, lowered to
``stablehlo.while``. It is forward-differentiable (the carry tangents ride along, with a fixpoint
on which of them are nonzero) and batchable (a batched predicate runs until every example is
done, freezing finished examples with a select); reverse mode raises JAX's error, since the trip
count is unknown. ``lax.fori_loop`` with concrete bounds is a ``scan`` and so reverse-mode
differentiable, as in JAX.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir

from ... import tree as tree_util
from ...config import config
from ...core import ConcretizationError, Primitive, ShapedArray, get_aval, set_current_trace
from ...jaxpr import ClosedJaxpr
from ...lowering import hlo, ir_type
from ...rules import Zero, instantiate, tangent_aval
from ...tracing import trace_to_jaxpr
from .common import (
    add_unused_inputs,
    batch_closed,
    cache_on_jaxpr,
    check_carry_type,
    eager_impl,
    is_concrete,
    jvp_closed,
    keep_outputs,
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

__all__ = ["while_loop", "fori_loop", "while_p"]

_registry = tree_util.registry

WHILE_GRAD_ERROR = (
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic "
    "start/stop values. Try using lax.scan, or using fori_loop with static start/stop.")


# ----------------------------------------------------------------------------------------------
# The primitive

while_p = Primitive("while", multiple_results=True)


def _while_abstract_eval(*avals: ShapedArray, cond_jaxpr: ClosedJaxpr, body_jaxpr: ClosedJaxpr,
                         cond_nconsts: int, body_nconsts: int) -> list[ShapedArray]:
    cconsts, bconsts, carry = split_list(avals, [cond_nconsts, body_nconsts])
    if len(body_jaxpr.in_avals) != body_nconsts + len(carry) or len(body_jaxpr.out_avals) != len(carry):
        raise TypeError(f"lax.while_loop: the body takes {len(body_jaxpr.in_avals)} inputs and returns "
                        f"{len(body_jaxpr.out_avals)} outputs, but the loop has {body_nconsts} body constants "
                        f"and {len(carry)} carried values")
    if not all(map(typematch, carry, body_jaxpr.out_avals)) or \
            not all(map(typematch, list(bconsts) + list(carry), body_jaxpr.in_avals)):
        raise TypeError("lax.while_loop: body types do not match the carry: "
                        f"carry {' '.join(a.str_short() for a in carry)}, body returns "
                        f"{' '.join(a.str_short() for a in body_jaxpr.out_avals)}")
    if len(cond_jaxpr.in_avals) != cond_nconsts + len(carry) or \
            not all(map(typematch, list(cconsts) + list(carry), cond_jaxpr.in_avals)):
        raise TypeError("lax.while_loop: the condition's input types do not match the carry")
    pred = cond_jaxpr.out_avals
    if len(pred) != 1 or pred[0].shape != () or pred[0].dtype != np.dtype(np.bool_):
        raise TypeError(f"cond_fun must return a boolean scalar, but got output type(s) {pred}.")
    return list(body_jaxpr.out_avals)


def _while_impl(*args: Any, cond_jaxpr: ClosedJaxpr, body_jaxpr: ClosedJaxpr, cond_nconsts: int,
                body_nconsts: int) -> list[Any]:
    params = dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                  body_nconsts=body_nconsts)
    return eager_impl(while_p, args, params, [body_jaxpr, cond_jaxpr])


def _while_lowering(ctx: Any, *args: Any, cond_jaxpr: ClosedJaxpr, body_jaxpr: ClosedJaxpr,
                    cond_nconsts: int, body_nconsts: int) -> list[Any]:
    types = [ir_type(a) for a in ctx.avals_in]
    n_consts = cond_nconsts + body_nconsts
    loop = hlo.WhileOp(types, list(args))
    cond_block = loop.regions[0].blocks.append(*types)
    with ir.InsertionPoint(cond_block):
        values = list(cond_block.arguments)
        (pred,) = lower_closed(ctx.module, cond_jaxpr, values[:cond_nconsts] + values[n_consts:])
        hlo.ReturnOp([pred])
    body_block = loop.regions[1].blocks.append(*types)
    with ir.InsertionPoint(body_block):
        values = list(body_block.arguments)
        new_carry = lower_closed(ctx.module, body_jaxpr, values[cond_nconsts:])
        hlo.ReturnOp(values[:n_consts] + list(new_carry))
    return list(loop.results)[n_consts:]


while_p.def_abstract_eval(_while_abstract_eval)
while_p.def_impl(_while_impl)
while_p.def_lowering(_while_lowering)


# ----------------------------------------------------------------------------------------------
# JVP

def _while_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, cond_jaxpr: ClosedJaxpr,
               body_jaxpr: ClosedJaxpr, cond_nconsts: int, body_nconsts: int) -> tuple[list[Any], list[Any]]:
    nonzeros = [type(t) is not Zero for t in tangents]
    _, bconst_nz, init_nz = split_list(nonzeros, [cond_nconsts, body_nconsts])
    num_carry = len(init_nz)
    carry_nz = list(init_nz)
    for _ in range(num_carry + 1):
        body_jvp, out_nz = jvp_closed(body_jaxpr, tuple(bconst_nz + carry_nz), tuple(carry_nz))
        if out_nz == carry_nz:
            break
        carry_nz = [a or b for a, b in zip(carry_nz, out_nz)]
    else:  # pragma: no cover
        raise AssertionError("while_loop JVP: fixpoint not reached")
    cconsts, bconsts, init = split_list(primals, [cond_nconsts, body_nconsts])
    _, bconst_dot, init_dot = split_list(tangents, [cond_nconsts, body_nconsts])
    bconst_dot = [t for t in bconst_dot if type(t) is not Zero]
    init_dot = [instantiate(t) for t, nz in zip(init_dot, carry_nz) if nz]
    n_bd, n_id = len(bconst_dot), len(init_dot)
    # jvp layout: [bconsts, carry, bconst_dot, carry_dot] -> [carry, carry_dot]
    #   wanted:   [bconsts, bconst_dot, carry, carry_dot]
    in_order = (list(range(body_nconsts)) + list(range(body_nconsts + num_carry, body_nconsts + num_carry + n_bd))
                + list(range(body_nconsts, body_nconsts + num_carry))
                + list(range(body_nconsts + num_carry + n_bd, body_nconsts + num_carry + n_bd + n_id)))
    body = reorder(body_jvp, in_order)
    cond = add_unused_inputs(cond_jaxpr, len(cond_jaxpr.in_avals), [get_aval(t) for t in init_dot])
    outs = while_p.bind(*cconsts, *bconsts, *bconst_dot, *init, *init_dot, cond_jaxpr=cond, body_jaxpr=body,
                        cond_nconsts=cond_nconsts, body_nconsts=body_nconsts + n_bd)
    carry, dots = outs[:num_carry], iter(outs[num_carry:])
    tangents_out = [next(dots) if nz else Zero(tangent_aval(a)) for nz, a in zip(carry_nz, body_jaxpr.out_avals)]
    return list(carry), tangents_out


while_p.def_jvp(_while_jvp)


# ----------------------------------------------------------------------------------------------
# Batching

@cache_on_jaxpr
def _select_body(body: ClosedJaxpr, cond: ClosedJaxpr, ncc: int, nbc: int) -> ClosedJaxpr:
    """A body that leaves finished examples (predicate False) unchanged: inputs are
    [cond consts, body consts, carry], all batched carries at axis 0."""
    from ..elementwise import select_n
    from ..shape import broadcast_in_dim

    def fun(*args: Any) -> list[Any]:
        cc, bc, carry = split_list(args, [ncc, nbc])
        (pred,) = run_closed(cond, *cc, *carry)
        new = run_closed(body, *bc, *carry)
        out = []
        for old, upd in zip(carry, new):
            shape = get_aval(old).shape
            which = broadcast_in_dim(pred, shape, (0,)) if shape != (get_aval(pred).shape) else pred
            out.append(select_n(which, old, upd))
        return out

    return trace_to_jaxpr(fun, list(cond.in_avals[:ncc]) + list(body.in_avals))


@cache_on_jaxpr
def _any_cond(cond: ClosedJaxpr) -> ClosedJaxpr:
    from ..reductions import reduce_or
    return trace_to_jaxpr(lambda *args: [reduce_or(run_closed(cond, *args)[0], (0,))], cond.in_avals)


def _while_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, cond_jaxpr: ClosedJaxpr,
                 body_jaxpr: ClosedJaxpr, cond_nconsts: int, body_nconsts: int) -> tuple[list[Any], list[Any]]:
    from ...rules import broadcast_batched, moveaxis_to_front
    num_carry = len(args) - cond_nconsts - body_nconsts
    size, name = trace.axis_size, trace.axis_name
    batched = [d is not None for d in dims]
    cc_bat, bc_bat, init_bat = split_list(batched, [cond_nconsts, body_nconsts])
    carry_bat = list(init_bat)
    for _ in range(num_carry + 1):
        _, out_bat = batch_closed(body_jaxpr, size, tuple(bc_bat + carry_bat), tuple(carry_bat), name)
        if out_bat == carry_bat:
            break
        carry_bat = [a or b for a, b in zip(carry_bat, out_bat)]
    else:  # pragma: no cover
        raise AssertionError("while_loop batching: fixpoint not reached")
    _, (pred_bat,) = batch_closed(cond_jaxpr, size, tuple(cc_bat + carry_bat), (False,), name)
    cconsts, bconsts, init = split_list(args, [cond_nconsts, body_nconsts])
    cdims, bdims, idims = split_list(dims, [cond_nconsts, body_nconsts])
    cconsts = [moveaxis_to_front(x, d) for x, d in zip(cconsts, cdims)]
    bconsts = [moveaxis_to_front(x, d) for x, d in zip(bconsts, bdims)]
    if pred_bat:
        carry_bat = [True] * num_carry
        init = [broadcast_batched(x, d, size) for x, d in zip(init, idims)]
        cond_b, _ = batch_closed(cond_jaxpr, size, tuple(cc_bat + carry_bat), (True,), name)
        body_b, _ = batch_closed(body_jaxpr, size, tuple(bc_bat + carry_bat), tuple(carry_bat), name)
        new_cond = _any_cond(cond_b)
        new_body = _select_body(body_b, cond_b, cond_nconsts, body_nconsts)
        outs = while_p.bind(*cconsts, *cconsts, *bconsts, *init, cond_jaxpr=new_cond, body_jaxpr=new_body,
                            cond_nconsts=cond_nconsts, body_nconsts=cond_nconsts + body_nconsts)
        return outs, [0] * num_carry
    init = [broadcast_batched(x, d, size) if b else x for x, d, b in zip(init, idims, carry_bat)]
    cond_b, _ = batch_closed(cond_jaxpr, size, tuple(cc_bat + carry_bat), (False,), name)
    body_b, _ = batch_closed(body_jaxpr, size, tuple(bc_bat + carry_bat), tuple(carry_bat), name)
    outs = while_p.bind(*cconsts, *bconsts, *init, cond_jaxpr=cond_b, body_jaxpr=body_b,
                        cond_nconsts=cond_nconsts, body_nconsts=body_nconsts)
    return outs, [0 if b else None for b in carry_bat]


while_p.def_batching(_while_batch)
while_p.batch_needs_axis = True


# ----------------------------------------------------------------------------------------------
# Partial evaluation (forward mode only) and the reverse-mode error

def _while_partial_eval(trace: Any, args: Sequence[Any], *, cond_jaxpr: ClosedJaxpr, body_jaxpr: ClosedJaxpr,
                        cond_nconsts: int, body_nconsts: int) -> list[Any]:
    """Known carries are computed by a loop over the known part of the body; the unknown ones by
    the whole loop, recorded as is (it recomputes the known part). This makes ``linearize`` work;
    transposing the recorded loop raises JAX's reverse-mode error."""
    params = dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr, cond_nconsts=cond_nconsts,
                  body_nconsts=body_nconsts)
    unknowns = [trace.owns(x) for x in args]
    cc_uk, bc_uk, init_uk = split_list(unknowns, [cond_nconsts, body_nconsts])
    num_carry = len(init_uk)
    carry_uk = list(init_uk)
    for _ in range(num_carry + 1):
        known_body, _, out_uk, _ = partial_eval_closed(body_jaxpr, tuple(bc_uk + carry_uk), tuple(carry_uk))
        if out_uk == carry_uk:
            break
        carry_uk = [a or b for a, b in zip(carry_uk, out_uk)]
    else:  # pragma: no cover
        raise AssertionError("while_loop partial evaluation: fixpoint not reached")
    known_cond, _, (cond_uk,), _ = partial_eval_closed(cond_jaxpr, tuple(cc_uk + carry_uk), (False,))
    if cond_uk or all(carry_uk):
        return trace.record(while_p, list(args), params)
    num_known = num_carry - sum(carry_uk)
    known_body = keep_outputs(known_body, [True] * num_known + [False] * (len(known_body.out_avals) - num_known))
    known_cond = keep_outputs(known_cond, [True] + [False] * (len(known_cond.out_avals) - 1))
    known_args = [x for x, uk in zip(args, cc_uk + bc_uk + carry_uk) if not uk]
    with set_current_trace(trace.parent):
        known_outs = while_p.bind(*known_args, cond_jaxpr=known_cond, body_jaxpr=known_body,
                                  cond_nconsts=cond_nconsts - sum(cc_uk), body_nconsts=body_nconsts - sum(bc_uk))
    all_outs = trace.record(while_p, list(args), params)
    k_it = iter(known_outs)
    return [o if uk else next(k_it) for o, uk in zip(all_outs, carry_uk)]


def _while_transpose(cts: Any, *args: Any, **params: Any) -> Any:
    raise ValueError(WHILE_GRAD_ERROR)


while_p.partial_eval_rule = _while_partial_eval
while_p.def_transpose(_while_transpose)
while_p.is_linear = False


# ----------------------------------------------------------------------------------------------
# while_loop

def _check_pred(cond_traced: Any) -> None:
    from ...tree import treedef_is_leaf
    if not treedef_is_leaf(cond_traced.out_tree) or len(cond_traced.out_avals) != 1:
        raise TypeError(f"cond_fun must return a boolean scalar, but got pytree {cond_traced.out_tree}.")
    pred = cond_traced.out_avals[0]
    if pred.shape != () or pred.dtype != np.dtype(np.bool_):
        raise TypeError(f"cond_fun must return a boolean scalar, but got output type(s) {cond_traced.out_avals}.")


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any) -> Any:
    """``while cond_fun(val): val = body_fun(val)``, as one compiled loop.

    The carry keeps a fixed structure, shapes and dtypes. Differentiable in forward mode only.

    >>> from ember.core import lax
    >>> lax.while_loop(lambda c: c < 10, lambda c: c * 2, 1)
    Array(16, dtype=int32, weak_type=True)
    """
    if not (callable(body_fun) and callable(cond_fun)):
        raise TypeError("lax.while_loop: body_fun and cond_fun arguments should be callable.")
    if config.disable_jit:
        try:
            val = init_val
            while bool(cond_fun(val)):
                val = body_fun(val)
            return val
        except ConcretizationError:  # a traced predicate (e.g. under vmap): use the primitive
            pass
    from ...jit import abstractify
    init_leaves, in_tree = _registry.flatten(init_val)
    avals = [abstractify(x) for x in init_leaves]

    def trace_both(avals: list[ShapedArray]) -> tuple[Any, Any]:
        tree = _registry.flatten(((in_tree.unflatten(avals),), {}))[1]
        c = trace_function(_single_arg(cond_fun), tree, avals, what="lax.while_loop cond_fun")
        b = trace_function(_single_arg(body_fun), tree, avals, what="lax.while_loop body_fun")
        return c, b

    cond_t, body_t = trace_both(avals)
    _check_pred(cond_t)
    if len(body_t.out_avals) != len(avals) or body_t.out_tree != in_tree:
        check_carry_type("while_loop body", body_fun, in_tree, avals, body_t.out_tree, body_t.out_avals)
    init_leaves, changed = promote_weak_carry(init_leaves, avals, body_t.out_avals)
    if changed:
        avals = [get_aval(x) for x in init_leaves]
        cond_t, body_t = trace_both(avals)
        _check_pred(cond_t)
    check_carry_type("while_loop body", body_fun, in_tree, avals, body_t.out_tree, body_t.out_avals)
    outs = while_p.bind(*cond_t.consts, *body_t.consts, *init_leaves, cond_jaxpr=cond_t.jaxpr,
                        body_jaxpr=body_t.jaxpr, cond_nconsts=len(cond_t.consts), body_nconsts=len(body_t.consts))
    return in_tree.unflatten(outs)


def _make_single_arg(get_f: Callable[[], Any]) -> Callable[..., Any]:
    def call(args: tuple, kwargs: dict) -> Any:
        return get_f()(*args, **kwargs)
    return call


_single_arg = weak_function_cache(_make_single_arg)


# ----------------------------------------------------------------------------------------------
# fori_loop

def _make_fori_scan_body(get_body: Callable[[], Any]) -> Callable[..., Any]:
    def scanned(carry: Any, _: Any) -> Any:
        i, x = carry
        return (i + 1, get_body()(i, x)), None
    return scanned


def _make_fori_while_body(get_body: Callable[[], Any]) -> Callable[..., Any]:
    def body(carry: Any) -> Any:
        i, upper, x = carry
        return i + 1, upper, get_body()(i, x)
    return body


_fori_scan_body = weak_function_cache(_make_fori_scan_body)
_fori_while_body = weak_function_cache(_make_fori_while_body)


def _fori_cond(carry: Any) -> Any:
    from ..elementwise import lt
    i, upper, _ = carry
    return lt(i, upper)


def _int_dtype_and_weak(x: Any) -> tuple[np.dtype, bool]:
    from ... import dtypes
    return dtypes.result_type(x), dtypes.is_weakly_typed(x)


def fori_loop(lower: Any, upper: Any, body_fun: Callable[[Any, Any], Any], init_val: Any, *,
              unroll: int | bool | None = None) -> Any:
    """``for i in range(lower, upper): val = body_fun(i, val)``.

    With concrete bounds (Python ints, arrays outside transformations) the loop is a ``scan`` of
    static length, and so reverse-mode differentiable; with traced bounds it is a ``while_loop``.

    >>> from ember.core import lax
    >>> lax.fori_loop(0, 5, lambda i, total: total + i, 0)
    Array(10, dtype=int32, weak_type=True)
    """
    if not callable(body_fun):
        raise TypeError("lax.fori_loop: body_fun argument should be callable.")
    lower_dtype, lower_weak = _int_dtype_and_weak(lower)
    upper_dtype, upper_weak = _int_dtype_and_weak(upper)
    if lower_dtype == upper_dtype:
        dtype = lower_dtype
    else:
        dtype = None
        if lower_dtype.kind == "i" and upper_dtype.kind == "i":
            if lower_weak and not upper_weak:
                dtype = upper_dtype
            elif upper_weak and not lower_weak:
                dtype = lower_dtype
        if dtype is None:
            raise TypeError("lower and upper arguments to fori_loop must have equal types, got "
                            f"{lower_dtype.name} and {upper_dtype.name}")
    use_scan = False
    if is_concrete(lower) and is_concrete(upper):
        try:
            lower_, upper_ = int(np.asarray(lower)), int(np.asarray(upper))
            use_scan = True
        except (TypeError, ValueError):
            use_scan = False
    if use_scan:
        from .scan import scan
        if unroll is None:
            unroll = False
        length = max(upper_ - lower_, 0)
        if config.disable_jit and length == 0:
            return init_val
        (_, result), _ = scan(_fori_scan_body(body_fun), (lower_, init_val), None, length=length, unroll=unroll)
        return result
    if unroll is not None and unroll is not False and unroll != 1:
        raise ValueError("Can only use `unroll` in `fori_loop` if the loop bounds are statically known.")
    from ..elementwise import convert_element_type
    if lower_dtype != dtype:
        lower = convert_element_type(lower, dtype)
    if upper_dtype != dtype:
        upper = convert_element_type(upper, dtype)
    _, _, result = while_loop(_fori_cond, _fori_while_body(body_fun), (lower, upper, init_val))
    return result
