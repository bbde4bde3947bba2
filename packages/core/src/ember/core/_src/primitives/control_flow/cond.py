"""``cond_p``: run one of several branch programs chosen by an integer index.

``lax.cond(pred, true_fun, false_fun, *operands)`` and ``lax.switch(index, branches, *operands)``
trace every branch to a jaxpr with the same signature (closed-over values of all branches become
shared leading operands) and bind ``cond_p(index, *operands, branches=...)``, lowered to
``stablehlo.case``. Under ``vmap`` a batched index turns into a ``select_n`` over all branches'
outputs (every branch runs, as in JAX); under ``grad`` each branch is split into a known part
(run as a cond that also returns the residuals of every branch) and a linear part (a cond over
the residuals), and the linear part transposes branch by branch.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir

from ... import dtypes
from ...config import config
from ...core import Primitive, ShapedArray, get_aval, set_current_trace
from ...jaxpr import ClosedJaxpr, Jaxpr, Var
from ...lowering import hlo, ir_type
from ...rules import UndefinedPrimal, Zero, instantiate, is_undefined, tangent_aval, zeros_like_aval
from ...tracing import trace_to_jaxpr
from .common import (
    batch_closed,
    cache_on_jaxpr,
    check_branch_outputs,
    eager_impl,
    is_concrete,
    jvp_closed,
    lower_closed,
    out_batched_of,
    partial_eval_closed,
    run_closed,
    trace_function,
    typematch,
    weak_function_cache,
)

__all__ = ["cond", "switch", "cond_p"]


def _tree_registry() -> Any:
    from ... import tree as tree_util
    return tree_util.registry


_no_operand = object()


# ----------------------------------------------------------------------------------------------
# The primitive

cond_p = Primitive("cond", multiple_results=True)


def _cond_abstract_eval(index: ShapedArray, *ops: ShapedArray, branches: tuple[ClosedJaxpr, ...]) -> list[ShapedArray]:
    if not branches:
        raise TypeError("lax.cond: at least one branch is required")
    if index.shape or index.dtype != np.dtype(np.int32):
        raise TypeError(f"lax.cond: the branch index must be an int32 scalar, got {index.str_short()}")
    first = branches[0]
    for i, b in enumerate(branches[1:], 1):
        if len(b.in_avals) != len(first.in_avals) or not all(map(typematch, b.in_avals, first.in_avals)):
            raise TypeError(f"lax.cond: branches 0 and {i} take different input types")
        if len(b.out_avals) != len(first.out_avals) or not all(map(typematch, b.out_avals, first.out_avals)):
            raise TypeError(f"lax.cond: branches 0 and {i} have different output types: "
                            f"{' '.join(a.str_short() for a in first.out_avals)} vs "
                            f"{' '.join(a.str_short() for a in b.out_avals)}")
    if len(ops) != len(first.in_avals) or not all(map(typematch, ops, first.in_avals)):
        raise TypeError(f"lax.cond: branches take {' '.join(a.str_short() for a in first.in_avals)}, called "
                        f"with operands {' '.join(a.str_short() for a in ops)}")
    return list(first.out_avals)


def _cond_impl(*args: Any, branches: tuple[ClosedJaxpr, ...]) -> list[Any]:
    return eager_impl(cond_p, args, dict(branches=branches), branches)


def _cond_lowering(ctx: Any, index: Any, *ops: Any, branches: tuple[ClosedJaxpr, ...]) -> list[Any]:
    out_types = [ir_type(a) for a in ctx.avals_out]
    case = hlo.CaseOp(out_types, index, len(branches))
    for i, branch in enumerate(branches):
        block = case.regions[i].blocks.append()
        with ir.InsertionPoint(block):
            hlo.ReturnOp(lower_closed(ctx.module, branch, ops))
    return list(case.results)


cond_p.def_abstract_eval(_cond_abstract_eval)
cond_p.def_impl(_cond_impl)
cond_p.def_lowering(_cond_lowering)


# ----------------------------------------------------------------------------------------------
# JVP: each branch differentiated with the union of nonzero output tangents

def _cond_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, branches: tuple[ClosedJaxpr, ...]
              ) -> tuple[list[Any], list[Any]]:
    index, *ops = primals
    _, *ops_dot = tangents
    ops_nz = tuple(type(t) is not Zero for t in ops_dot)
    n_out = len(branches[0].out_avals)
    out_nz = [False] * n_out
    for b in branches:
        _, nz = jvp_closed(b, ops_nz, (False,) * n_out)
        out_nz = [x or y for x, y in zip(out_nz, nz)]
    new_branches = tuple(jvp_closed(b, ops_nz, tuple(out_nz))[0] for b in branches)
    nz_dots = [t for t in ops_dot if type(t) is not Zero]
    outs = cond_p.bind(index, *ops, *nz_dots, branches=new_branches)
    primals_out, dots = outs[:n_out], iter(outs[n_out:])
    tangents_out = [next(dots) if nz else Zero(tangent_aval(a))
                    for nz, a in zip(out_nz, branches[0].out_avals)]
    return list(primals_out), tangents_out


cond_p.def_jvp(_cond_jvp)


# ----------------------------------------------------------------------------------------------
# Batching

def _bcast_to(pred: Any, shape: tuple[int, ...]) -> Any:
    from ..shape import broadcast_in_dim
    p_aval = get_aval(pred)
    if p_aval.shape == shape:
        return pred
    return broadcast_in_dim(pred, shape, tuple(range(p_aval.ndim)))


def _select_where(pred: Any, on_true: Any, on_false: Any) -> Any:
    from ..elementwise import select_n
    return select_n(_bcast_to(pred, get_aval(on_true).shape), on_false, on_true)


def _cond_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *,
                branches: tuple[ClosedJaxpr, ...]) -> tuple[list[Any], list[int | None]]:
    from ...rules import broadcast_batched, moveaxis_to_front
    from ..elementwise import eq, select_n, stop_gradient
    size, name = trace.axis_size, trace.axis_name
    index, *ops = args
    index_dim, *op_dims = dims
    n_out = len(branches[0].out_avals)
    if index_dim is not None:
        # a different branch per example: run them all and select (JAX semantics)
        index = broadcast_batched(index, index_dim, size)
        ops = [broadcast_batched(x, d, size) for x, d in zip(ops, op_dims)]
        all_batched = (True,) * len(ops)
        branch_outs = []
        for i, b in enumerate(branches):
            # each branch sees its operands through a stop_gradient where it is not taken, so a
            # branch that is not selected cannot inject NaN/inf cotangents (JAX issue #1052)
            taken = eq(index, np.array(i, np.int32))
            ops_i = [_select_where(taken, x, stop_gradient(x)) if dtypes.is_inexact(get_aval(x).dtype) else x
                     for x in ops]
            branch_outs.append(run_closed(batch_closed(b, size, all_batched, (True,) * n_out, name)[0], *ops_i))
        outs = []
        for cases in zip(*branch_outs):
            which = _bcast_to(index, get_aval(cases[0]).shape)
            if len(cases) == 2:
                from ..elementwise import convert_element_type
                which = convert_element_type(which, np.bool_)
            outs.append(select_n(which, *cases))
        return outs, [0] * n_out
    ops_bat = tuple(d is not None for d in op_dims)
    ops = [moveaxis_to_front(x, d) for x, d in zip(ops, op_dims)]
    out_bat = [False] * n_out
    for b in branches:
        out_bat = [x or y for x, y in zip(out_bat, out_batched_of(b, size, ops_bat, name))]
    new_branches = tuple(batch_closed(b, size, ops_bat, tuple(out_bat), name)[0] for b in branches)
    outs = cond_p.bind(index, *ops, branches=new_branches)
    return outs, [0 if b else None for b in out_bat]


cond_p.def_batching(_cond_batch)
cond_p.batch_needs_axis = True


# ----------------------------------------------------------------------------------------------
# Partial evaluation (for linearize / grad)

def merge_branch_residuals(branch_res_avals: Sequence[Sequence[ShapedArray]]
                           ) -> tuple[list[ShapedArray], list[list[int]]]:
    """A shared residual layout for all branches: equal avals are reused across branches.

    ``[x], [y], [x, x] -> [x, y, x], [[0], [1], [0, 2]]``
    """
    all_tagged: dict[tuple[ShapedArray, int], int] = {}
    per_branch = []
    for avals in branch_res_avals:
        counts: dict[ShapedArray, int] = {}
        idx = []
        for a in avals:
            a = a.strip_weak_type()
            n = counts.get(a, 0)
            counts[a] = n + 1
            tag = (a, n)
            if tag not in all_tagged:
                all_tagged[tag] = len(all_tagged)
            idx.append(all_tagged[tag])
        per_branch.append(idx)
    return [a for a, _ in all_tagged], per_branch


@cache_on_jaxpr
def _join_known(known: ClosedJaxpr, num_outs: int, all_res: tuple[ShapedArray, ...],
                res_idx: tuple[int, ...]) -> ClosedJaxpr:
    """A known branch returning its outputs then *all* residuals (zeros for other branches')."""
    def fun(*args: Any) -> list[Any]:
        outs = run_closed(known, *args)
        res = [zeros_like_aval(a) for a in all_res]
        for i, r in zip(res_idx, outs[num_outs:]):
            res[i] = _cast_like(r, all_res[i])
        return list(outs[:num_outs]) + res
    return trace_to_jaxpr(fun, known.in_avals)


def _cast_like(x: Any, aval: ShapedArray) -> Any:
    x_aval = get_aval(x)
    if x_aval.dtype != aval.dtype or x_aval.weak_type != aval.weak_type:
        from ..elementwise import convert_element_type
        return convert_element_type(x, aval.dtype, aval.weak_type)
    return x


@cache_on_jaxpr
def _join_unknown(unknown: ClosedJaxpr, num_res: int, all_res: tuple[ShapedArray, ...],
                  res_idx: tuple[int, ...]) -> ClosedJaxpr:
    """An unknown branch taking *all* residuals (ignoring other branches')."""
    jaxpr = unknown.jaxpr
    res_vars = [Var(a) for a in all_res]
    for i, v in zip(res_idx, jaxpr.invars[:num_res]):
        res_vars[i] = v
    invars = res_vars + list(jaxpr.invars[num_res:])
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, jaxpr.outvars, jaxpr.eqns), unknown.consts)


def _cond_partial_eval(trace: Any, args: Sequence[Any], *, branches: tuple[ClosedJaxpr, ...]) -> list[Any]:
    index, *ops = args
    n_out = len(branches[0].out_avals)
    if trace.owns(index):
        return trace.record(cond_p, list(args), dict(branches=branches))
    ops_uk = tuple(trace.owns(x) for x in ops)
    out_uk = [False] * n_out
    for b in branches:
        _, _, uk, _ = partial_eval_closed(b, ops_uk, (False,) * n_out)
        out_uk = [x or y for x, y in zip(out_uk, uk)]
    splits = [partial_eval_closed(b, ops_uk, tuple(out_uk)) for b in branches]
    num_known_out = n_out - sum(out_uk)
    res_avals = [s[0].out_avals[len(s[0].out_avals) - s[3]:] for s in splits]
    all_res, res_idx = merge_branch_residuals(res_avals)
    known_branches = tuple(_join_known(s[0], num_known_out, tuple(all_res), tuple(idx))
                           for s, idx in zip(splits, res_idx))
    unknown_branches = tuple(_join_unknown(s[1], s[3], tuple(all_res), tuple(idx)) for s, idx in zip(splits, res_idx))
    known_ops = [x for x, uk in zip(ops, ops_uk) if not uk]
    with set_current_trace(trace.parent):
        known_outs = cond_p.bind(index, *known_ops, branches=known_branches)
    known_vals, residuals = known_outs[:num_known_out], known_outs[num_known_out:]
    if not any(out_uk):
        return list(known_vals)
    unknown_ops = [x for x, uk in zip(ops, ops_uk) if uk]
    unknown_outs = trace.record(cond_p, [index, *residuals, *unknown_ops], dict(branches=unknown_branches))
    k_it, u_it = iter(known_vals), iter(unknown_outs)
    return [next(u_it) if uk else next(k_it) for uk in out_uk]


cond_p.partial_eval_rule = _cond_partial_eval


# ----------------------------------------------------------------------------------------------
# Transposition: a cond of the transposed branches (linear in the operands, not the index)

@cache_on_jaxpr
def _transpose_branch(branch: ClosedJaxpr, undefined: tuple[bool, ...], ct_nonzero: tuple[bool, ...]
                      ) -> ClosedJaxpr:
    from ...transforms.ad import backward_pass
    in_avals = branch.in_avals
    known_avals = [a for a, u in zip(in_avals, undefined) if not u]
    ct_avals = [tangent_aval(a) for a, nz in zip(branch.out_avals, ct_nonzero) if nz]

    def fun(*xs: Any) -> list[Any]:
        known_it, ct_it = iter(xs[:len(known_avals)]), iter(xs[len(known_avals):])
        primals = [UndefinedPrimal(a) if u else next(known_it) for a, u in zip(in_avals, undefined)]
        cts = [next(ct_it) if nz else Zero(tangent_aval(a)) for a, nz in zip(branch.out_avals, ct_nonzero)]
        cts_in = backward_pass(branch.jaxpr, branch.consts, primals, cts)
        return [_cast_like(instantiate(ct), tangent_aval(a)) for ct, a, u in zip(cts_in, in_avals, undefined) if u]

    return trace_to_jaxpr(fun, known_avals + ct_avals)


def _cond_transpose(cts: Sequence[Any], index: Any, *ops: Any, branches: tuple[ClosedJaxpr, ...]) -> list[Any]:
    if is_undefined(index):
        raise ValueError("lax.cond: the transpose of a cond is not linear in its branch index")
    undefined = tuple(is_undefined(x) for x in ops)
    ct_nonzero = tuple(type(c) is not Zero for c in cts)
    if not any(ct_nonzero):
        return [None] + [Zero(x.aval) if u else None for x, u in zip(ops, undefined)]
    new_branches = tuple(_transpose_branch(b, undefined, ct_nonzero) for b in branches)
    known_ops = [x for x, u in zip(ops, undefined) if not u]
    nz_cts = [c for c in cts if type(c) is not Zero]
    outs = iter(cond_p.bind(index, *known_ops, *nz_cts, branches=new_branches))
    return [None] + [next(outs) if u else None for u in undefined]


cond_p.def_transpose(_cond_transpose)
cond_p.is_linear = False


# ----------------------------------------------------------------------------------------------
# The lax functions

def _trace_branches(funs: Sequence[Callable[..., Any]], operands: Sequence[Any], api: str,
                    names: Sequence[str]) -> tuple[tuple[ClosedJaxpr, ...], list[Any], Any]:
    """Trace each branch; merge their closed-over constants into shared leading operands."""
    leaves, in_tree = _tree_registry().flatten((tuple(operands), {}))
    from ...jit import abstractify
    avals = [abstractify(x) for x in leaves]
    wrapped = [_kwargs_caller(f) for f in funs]
    traced = [trace_function(w, in_tree, avals, what=f"lax.{api}") for w in wrapped]
    for i in range(1, len(traced)):
        check_branch_outputs(api, names[0], names[i], funs[0], funs[i], traced[0].out_tree, traced[0].out_avals,
                             traced[i].out_tree, traced[i].out_avals)
    # shared constants: every branch takes all branches' constants and ignores the others'
    const_avals = [[get_aval(c) for c in t.consts] for t in traced]
    branches = []
    for i, t in enumerate(traced):
        before = tuple(a for avals in const_avals[:i] for a in avals)
        after = tuple(a for avals in const_avals[i + 1:] for a in avals)
        branches.append(_pad_consts(t.jaxpr, len(t.consts), before, after))
    consts = [c for t in traced for c in t.consts]
    return tuple(branches), consts + list(leaves), traced[0].out_tree


@cache_on_jaxpr
def _pad_consts(jaxpr: ClosedJaxpr, num_consts: int, before: tuple[ShapedArray, ...],
                after: tuple[ShapedArray, ...]) -> ClosedJaxpr:
    """``jaxpr`` (consts, args) taking ignored inputs around its constants: (before, consts,
    after, args). Cached, so an unchanged branch keeps its identity (and compiled programs)."""
    j = jaxpr.jaxpr
    invars = ([Var(a) for a in before] + list(j.invars[:num_consts]) + [Var(a) for a in after]
              + list(j.invars[num_consts:]))
    return ClosedJaxpr(Jaxpr(j.constvars, invars, j.outvars, j.eqns), jaxpr.consts)


def _make_kwargs_caller(get_f: Callable[[], Any]) -> Callable[..., Any]:
    def call(args: tuple, kwargs: dict) -> Any:
        return get_f()(*args, **kwargs)
    return call


_kwargs_caller = weak_function_cache(_make_kwargs_caller)


def _bind_cond(index: Any, branches: tuple[ClosedJaxpr, ...], args: list[Any], out_tree: Any) -> Any:
    outs = cond_p.bind(index, *args, branches=branches)
    return out_tree.unflatten(outs)


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any, operand: Any = _no_operand) -> Any:
    """Apply ``branches[index](*operands)``; ``index`` is clamped to ``[0, len(branches) - 1]``.

    >>> import ember.core.numpy as jnp
    >>> from ember.core import lax
    >>> lax.switch(1, [lambda x: x + 1, lambda x: x * 10], jnp.float32(2.0))
    Array(20., dtype=float32)
    """
    branches = tuple(branches)
    if not all(callable(b) for b in branches):
        raise TypeError("lax.switch: branches argument should be a sequence of callables.")
    if operand is not _no_operand:
        if operands:
            raise TypeError("if 'operand' keyword is passed then no positional operands can be passed, got "
                            f"operand={operand!r} and positional operands {operands!r}")
        operands = (operand,)
    shape = np.shape(index) if not hasattr(index, "aval") else get_aval(index).shape
    if shape != ():
        raise TypeError(f"Branch index must be scalar, got {index} of shape {shape}.")
    try:
        index_dtype = dtypes.result_type(index)
    except TypeError as err:
        raise TypeError(f"Index type must be an integer, got {index}.") from err
    if index_dtype.kind not in "iu":
        raise TypeError(f"Index type must be an integer, got {index} as {index_dtype}")
    if not branches:
        raise ValueError("Empty branch sequence")
    if len(branches) == 1:
        return branches[0](*operands)
    from ..elementwise import clamp, convert_element_type
    index = convert_element_type(index, np.int32)
    index = clamp(np.array(0, np.int32), index, np.array(len(branches) - 1, np.int32))
    if config.disable_jit and is_concrete(index):
        return branches[int(np.asarray(index))](*operands)
    names = [f"branch {i}" for i in range(len(branches))]
    jaxprs, args, out_tree = _trace_branches(branches, operands, "switch", names)
    return _bind_cond(index, jaxprs, args, out_tree)


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any], *operands: Any,
         operand: Any = _no_operand) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``; only one branch runs.

    Both branches are traced and must return the same structure and types. Under ``vmap`` with a
    batched ``pred`` both branches run and the results are selected.

    >>> import ember.core.numpy as jnp
    >>> from ember.core import lax
    >>> lax.cond(jnp.float32(3.0) > 0, lambda x: x * 2, lambda x: -x, jnp.float32(3.0))
    Array(6., dtype=float32)
    """
    if not (callable(true_fun) and callable(false_fun)):
        # the old form cond(pred, true_operand, true_fun, false_operand, false_fun)
        if callable(false_fun) and len(operands) == 2 and callable(operands[1]):
            x_true, f_true, x_false, f_false = true_fun, false_fun, *operands
            return cond(pred, lambda x, _: f_true(x), lambda _, x: f_false(x), x_true, x_false)
        raise TypeError("lax.cond: true_fun and false_fun arguments should be callable.")
    if operand is not _no_operand:
        if operands:
            raise TypeError("if 'operand' keyword is passed then no positional operands can be passed, got "
                            f"operand={operand!r} and positional operands {operands!r}")
        operands = (operand,)
    if pred is None:
        raise TypeError("cond predicate is None")
    if isinstance(pred, (list, tuple)):
        raise TypeError(f"Pred must be a scalar, got {pred} of type {type(pred)}")
    shape = get_aval(pred).shape if hasattr(pred, "aval") else np.shape(pred)
    if shape != ():
        raise TypeError(f"Pred must be a scalar, got {pred} of shape {shape}.")
    try:
        pred_dtype = dtypes.result_type(pred)
    except TypeError as err:
        raise TypeError(f"Pred type must be either boolean or number, got {pred}.") from err
    from ..elementwise import convert_element_type, ne
    if pred_dtype.kind != "b":
        if pred_dtype.kind in "iuf":
            pred = ne(pred, np.zeros((), pred_dtype))
        else:
            raise TypeError(f"Pred type must be either boolean or number, got {pred_dtype}.")
    if config.disable_jit and is_concrete(pred):
        return true_fun(*operands) if bool(np.asarray(pred)) else false_fun(*operands)
    (true_jaxpr, false_jaxpr), args, out_tree = _trace_branches(
        (true_fun, false_fun), operands, "cond", ["true_fun", "false_fun"])
    index = convert_element_type(pred, np.int32)
    return _bind_cond(index, (false_jaxpr, true_jaxpr), args, out_tree)
