"""Rematerialisation: ``checkpoint`` / ``remat`` trade compute for memory in reverse mode.

``checkpoint(f)`` binds ``remat`` around ``f``'s program. When differentiated, its partial
evaluation (``_remat_partial_eval``) keeps as residuals only the inputs and the intermediates
the *policy* marks saveable; everything else the backward pass needs is recomputed there, inside
the transposed ``remat``, behind an optimisation barrier so XLA does not merge the recomputation
back into the forward pass.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

from jaxlib.mlir.dialects import stablehlo as hlo

from . import tree as tree_util
from .core import Primitive, ShapedArray, get_aval, set_current_trace
from .jaxpr import ClosedJaxpr, Jaxpr, Var, eval_jaxpr
from .jit import closure_convert
from .lowering import jaxpr_subcomp
from .rules import Zero, is_undefined
from .tracing import trace_to_jaxpr

__all__ = ["checkpoint", "remat", "checkpoint_policies", "optimization_barrier", "remat_p", "optimization_barrier_p"]

_registry = tree_util.registry
Policy = Callable[..., bool]


# ----------------------------------------------------------------------------------------------
# Policies: which intermediate results may be saved for the backward pass

class checkpoint_policies:  # noqa: N801 - JAX's name
    """Saving policies for ``checkpoint(f, policy=...)`` (``jax.checkpoint_policies``).

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> f = ec.checkpoint(lambda x: jnp.sin(x) @ x, policy=ec.checkpoint_policies.dots_saveable)
    >>> round(float(ec.grad(lambda x: f(x).sum())(jnp.ones((2, 2)))[0, 0]), 4)
    2.7635
    """

    @staticmethod
    def nothing_saveable(prim: Any, *_: Any, **__: Any) -> bool:
        """Recompute everything from the inputs (the default)."""
        return False

    @staticmethod
    def everything_saveable(prim: Any, *_: Any, **__: Any) -> bool:
        """Save every intermediate (no rematerialisation)."""
        return True

    @staticmethod
    def dots_saveable(prim: Any, *_: Any, **__: Any) -> bool:
        """Save the results of matrix multiplications; recompute the cheap elementwise work."""
        return prim.name in ("dot_general", "conv_general_dilated")

    checkpoint_dots = dots_saveable

    @staticmethod
    def dots_with_no_batch_dims_saveable(prim: Any, *_: Any, **params: Any) -> bool:
        if prim.name != "dot_general":
            return False
        dims = params.get("dimension_numbers")
        return dims is None or not dims[1][0]


# ----------------------------------------------------------------------------------------------
# optimization_barrier

optimization_barrier_p = Primitive("optimization_barrier", multiple_results=True)
optimization_barrier_p.def_abstract_eval(lambda *avals: list(avals))
optimization_barrier_p.def_lowering(lambda ctx, *xs: list(hlo.OptimizationBarrierOp(list(xs)).results))


def _barrier_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    outs = optimization_barrier_p.bind(*primals)
    return outs, list(tangents)


def _barrier_transpose(cts: Sequence[Any], *args: Any) -> list[Any]:
    return list(cts)


optimization_barrier_p.def_jvp(_barrier_jvp)
optimization_barrier_p.def_transpose(_barrier_transpose)
optimization_barrier_p.def_batching(lambda args, dims: (optimization_barrier_p.bind(*args), list(dims)))


def optimization_barrier(operand: Any) -> Any:
    """The identity on a pytree of arrays, which XLA may not move computation across."""
    leaves, treedef = _registry.flatten(operand)
    return treedef.unflatten(optimization_barrier_p.bind(*leaves)) if leaves else operand


# ----------------------------------------------------------------------------------------------
# The remat primitive

remat_p = Primitive("checkpoint", multiple_results=True)


def _remat_abstract_eval(*avals: ShapedArray, jaxpr: ClosedJaxpr, prevent_cse: bool, differentiated: bool,
                         policy: Any) -> list[ShapedArray]:
    return jaxpr.out_avals


def _remat_impl(*args: Any, jaxpr: ClosedJaxpr, prevent_cse: bool, differentiated: bool, policy: Any) -> list[Any]:
    return eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *args)


def _remat_lowering(ctx: Any, *args: Any, jaxpr: ClosedJaxpr, prevent_cse: bool, differentiated: bool,
                    policy: Any) -> list[Any]:
    if prevent_cse and differentiated and args:
        args = list(hlo.OptimizationBarrierOp(list(args)).results)
    from .lowering import constant
    consts = [constant(c, v.aval) for c, v in zip(jaxpr.consts, jaxpr.jaxpr.constvars)]
    return jaxpr_subcomp(ctx.module, jaxpr.jaxpr, consts, list(args))


def _remat_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: ClosedJaxpr, prevent_cse: bool,
               differentiated: bool, policy: Any) -> tuple[list[Any], list[Any]]:
    from .transforms.jvp import jvp_jaxpr
    nonzeros = [type(t) is not Zero for t in tangents]
    new, out_nonzero = jvp_jaxpr(jaxpr, nonzeros, instantiate_outputs=False)
    outs = remat_p.bind(*primals, *[t for t in tangents if type(t) is not Zero], jaxpr=new,
                        prevent_cse=prevent_cse, differentiated=True, policy=policy)
    n = len(jaxpr.out_avals)
    it = iter(outs[n:])
    return list(outs[:n]), [next(it) if nz else Zero(a.strip_weak_type()) for nz, a in zip(out_nonzero, jaxpr.out_avals)]


def _remat_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, jaxpr: ClosedJaxpr,
                 prevent_cse: bool, differentiated: bool, policy: Any) -> tuple[list[Any], list[int | None]]:
    from .transforms.batching import batch_jaxpr
    new, out_dims = batch_jaxpr(jaxpr, trace.axis_size, dims, out_dims=None, axis_name=trace.axis_name)
    outs = remat_p.bind(*args, jaxpr=new, prevent_cse=prevent_cse, differentiated=differentiated, policy=policy)
    return outs, out_dims


def _remat_transpose(cts: Sequence[Any], *args: Any, jaxpr: ClosedJaxpr, prevent_cse: bool, differentiated: bool,
                     policy: Any) -> list[Any]:
    from .transforms.ad import backward_pass
    known = [a for a in args if not is_undefined(a)]
    if prevent_cse and known:
        known = optimization_barrier_p.bind(*known)
    it = iter(known)
    primals = [a if is_undefined(a) else next(it) for a in args]
    cts_in = backward_pass(jaxpr.jaxpr, jaxpr.consts, primals, list(cts))
    return [ct if is_undefined(a) else None for ct, a in zip(cts_in, args)]


def _remat_partial_eval(trace: Any, args: Sequence[Any], *, jaxpr: ClosedJaxpr, prevent_cse: bool,
                        differentiated: bool, policy: Any) -> list[Any]:
    unknowns = [trace.owns(a) for a in args]
    known_jaxpr, unknown_jaxpr, out_unknowns, num_res = _split_for_remat(jaxpr, unknowns, policy)
    known_args = [a for a, u in zip(args, unknowns) if not u]
    with set_current_trace(trace.parent):
        known_outs = eval_jaxpr(known_jaxpr.jaxpr, known_jaxpr.consts, *known_args)
    n_known = len(known_outs) - num_res
    residuals = known_outs[n_known:]
    unknown_args = [a for a, u in zip(args, unknowns) if u]
    unknown_outs = trace.record(remat_p, [*residuals, *unknown_args],
                                dict(jaxpr=unknown_jaxpr, prevent_cse=prevent_cse, differentiated=True, policy=policy))
    known_it, unknown_it = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_it) if u else next(known_it) for u in out_unknowns]


def _split_for_remat(closed: ClosedJaxpr, unknowns: Sequence[bool], policy: Policy | None
                     ) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], int]:
    """Split a program into a known part and an unknown part that recomputes what is not saved.

    Residuals are the known values the unknown part reads: known inputs, and results of known
    equations the policy allows saving; other known equations the unknown part needs are copied
    into it (recomputed).
    """
    jaxpr = closed.jaxpr
    saveable = policy or checkpoint_policies.nothing_saveable
    unknown_vars = {v for v, u in zip(jaxpr.invars, unknowns) if u}
    producer: dict[Var, int] = {}
    eqn_unknown = []
    for i, eqn in enumerate(jaxpr.eqns):
        unknown = any(type(a) is Var and a in unknown_vars for a in eqn.invars)
        eqn_unknown.append(unknown)
        for v in eqn.outvars:
            producer[v] = i
            if unknown:
                unknown_vars.add(v)

    known_inputs = {v for v, u in zip(jaxpr.invars, unknowns) if not u} | set(jaxpr.constvars)
    residual_vars: list[Var] = []
    recompute: set[int] = set()
    seen: set[Var] = set()

    def need(v: Any) -> None:  # the unknown part reads known var v
        if type(v) is not Var or v in unknown_vars or v in seen:
            return
        seen.add(v)
        if v in known_inputs:
            residual_vars.append(v)
            return
        index = producer[v]
        eqn = jaxpr.eqns[index]
        if saveable(eqn.primitive, **eqn.params):
            residual_vars.append(v)
            return
        recompute.add(index)
        for a in eqn.invars:
            need(a)

    for i, eqn in enumerate(jaxpr.eqns):
        if eqn_unknown[i]:
            for a in eqn.invars:
                need(a)
    out_unknowns = [type(v) is Var and v in unknown_vars for v in jaxpr.outvars]
    known_eqns = [e for e, u in zip(jaxpr.eqns, eqn_unknown) if not u]
    known_out = [v for v, u in zip(jaxpr.outvars, out_unknowns) if not u]
    known = Jaxpr(jaxpr.constvars, [v for v, u in zip(jaxpr.invars, unknowns) if not u],
                  known_out + residual_vars, known_eqns)
    unknown_eqns = [e for i, e in enumerate(jaxpr.eqns) if eqn_unknown[i] or i in recompute]
    unknown = Jaxpr([], residual_vars + [v for v, u in zip(jaxpr.invars, unknowns) if u],
                    [v for v, u in zip(jaxpr.outvars, out_unknowns) if u], unknown_eqns)
    return ClosedJaxpr(known, closed.consts), ClosedJaxpr(unknown, []), out_unknowns, len(residual_vars)


remat_p.def_abstract_eval(_remat_abstract_eval)
remat_p.def_impl(_remat_impl)
remat_p.def_lowering(_remat_lowering)
remat_p.def_jvp(_remat_jvp)
remat_p.def_batching(_remat_batch)
remat_p.batch_needs_axis = True
remat_p.def_transpose(_remat_transpose)
remat_p.partial_eval_rule = _remat_partial_eval


def checkpoint(fun: Callable[..., Any], *, prevent_cse: bool = True, policy: Policy | None = None,
               static_argnums: int | Sequence[int] = ()) -> Callable[..., Any]:
    """``fun`` whose intermediates are recomputed in the backward pass instead of stored
    (``jax.checkpoint``). ``policy`` (see ``checkpoint_policies``) names what may be saved.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> f = ec.checkpoint(lambda x: jnp.sin(jnp.sin(x)))
    >>> round(float(ec.grad(f)(0.5)), 5)
    0.77864
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def remat_fun(*args: Any, **kwargs: Any) -> Any:
        dyn = [a for i, a in enumerate(args) if i not in static]
        leaves, in_tree = _registry.flatten((tuple(dyn), kwargs))
        cell: list[Any] = []

        def flat(*xs: Any) -> list[Any]:
            dyn_args, kw = in_tree.unflatten(xs)
            it = iter(dyn_args)
            full = [args[i] if i in static else next(it) for i in range(len(args))]
            out = fun(*full, **kw)
            out_leaves, out_tree = _registry.flatten(out)
            cell.append(out_tree)
            return out_leaves

        closed = trace_to_jaxpr(flat, [get_aval(x) for x in leaves])
        converted, consts = closure_convert(closed)
        outs = remat_p.bind(*consts, *leaves, jaxpr=converted, prevent_cse=prevent_cse, differentiated=False,
                            policy=policy)
        return cell[0].unflatten(outs)

    return remat_fun


remat = checkpoint
