"""User-defined derivatives: ``custom_jvp`` and ``custom_vjp``.

Outside any transformation the function just runs. Under a transformation it is traced once to
a jaxpr (closed-over values become explicit inputs) and bound as a primitive that carries the
user's rule:

- ``custom_jvp_call``: its JVP rule calls the user's ``jvp``; batching batches the function and
  wraps the rule in ``vmap``; elsewhere it behaves as a call of the traced function.
- ``custom_vjp_call``: its JVP runs ``fwd`` and returns tangents through ``custom_lin``, a linear
  primitive whose transpose calls ``bwd``. Forward-mode differentiation of a custom_vjp function
  is an error, as in JAX.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

from . import tree as tree_util
from .core import Primitive, ShapedArray, eval_trace, get_aval, set_current_trace, trace_state
from .jaxpr import ClosedJaxpr, eval_jaxpr
from .jit import closure_convert
from .lowering import call_jaxpr
from .rules import Zero, instantiate, tangent_aval
from .tracing import trace_to_jaxpr

__all__ = ["custom_jvp", "custom_vjp", "custom_jvp_call_p", "custom_vjp_call_p", "custom_lin_p"]

_registry = tree_util.registry


def _resolve_args(fun: Callable[..., Any], args: tuple, kwargs: dict, what: str) -> tuple:
    """Keyword arguments become positional (custom rules see positional primals, as in JAX)."""
    if not kwargs:
        return args
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{what}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{what}: keyword-only arguments are not supported by custom derivative functions")
    return bound.args


def _split_nondiff(args: tuple, nondiff_argnums: tuple[int, ...]) -> tuple[list[Any], list[Any]]:
    nondiff = [args[i] for i in nondiff_argnums]
    diff = [a for i, a in enumerate(args) if i not in nondiff_argnums]
    return nondiff, diff


def _merge_nondiff(nondiff_argnums: tuple[int, ...], nondiff: Sequence[Any], diff: Sequence[Any]) -> list[Any]:
    out, it_nd, it_d = [], iter(nondiff), iter(diff)
    for i in range(len(nondiff) + len(diff)):
        out.append(next(it_nd) if i in nondiff_argnums else next(it_d))
    return out


def _trace_flat(fun: Callable[..., Any], leaves: Sequence[Any], in_tree: Any) -> tuple[ClosedJaxpr, list[Any], Any]:
    """Trace ``fun`` (taking the unflattened args) to a consts-free jaxpr; returns it, the consts
    (to be passed as leading inputs) and the output structure."""
    cell: list[Any] = []

    def flat(*xs: Any) -> list[Any]:
        out = fun(*in_tree.unflatten(xs))
        out_leaves, out_tree = _registry.flatten(out)
        cell.append(out_tree)
        return out_leaves

    closed = trace_to_jaxpr(flat, [get_aval(x) for x in leaves])
    converted, consts = closure_convert(closed)
    return converted, consts, cell[0]


def _check_tangent(what: str, i: int, tangent: Any, primal_aval: ShapedArray) -> None:
    t_aval = get_aval(tangent)
    if t_aval.shape != primal_aval.shape:
        raise ValueError(f"{what}: the rule returned a tangent/cotangent of shape {t_aval.shape} for output {i}, "
                         f"whose primal has shape {primal_aval.shape}")


def _zeros_if_none(ct: Any, aval: ShapedArray) -> Any:
    return instantiate(Zero(aval)) if ct is None else instantiate(ct)


def _closure_error(what: str) -> TypeError:
    return TypeError(
        f"{what}: differentiating with respect to a value the function closes over is not supported; "
        "pass it as an explicit argument instead")


# ----------------------------------------------------------------------------------------------
# custom_jvp

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)


def _custom_jvp_abstract_eval(*avals: ShapedArray, call_jaxpr: ClosedJaxpr, jvp: Any, num_consts: int,
                              name: str) -> list[ShapedArray]:
    return call_jaxpr.out_avals


def _custom_jvp_impl(*args: Any, call_jaxpr: ClosedJaxpr, jvp: Any, num_consts: int, name: str) -> list[Any]:
    return eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)


def _custom_jvp_lowering(ctx: Any, *args: Any, call_jaxpr: ClosedJaxpr, jvp: Any, num_consts: int, name: str) -> list[Any]:
    return _call(ctx, call_jaxpr, args, name)


def _call(ctx: Any, closed: ClosedJaxpr, args: Sequence[Any], name: str) -> list[Any]:
    return call_jaxpr(ctx, closed, args, name)


def _custom_jvp_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, call_jaxpr: ClosedJaxpr, jvp: Any,
                    num_consts: int, name: str) -> tuple[list[Any], list[Any]]:
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise _closure_error(f"custom_jvp function {name}")
    args = primals[num_consts:]
    arg_tangents = [instantiate(t) for t in tangents[num_consts:]]
    outs, tangents_out = jvp(list(args), arg_tangents)
    return list(outs), list(tangents_out)


def _custom_jvp_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, call_jaxpr: ClosedJaxpr,
                      jvp: Any, num_consts: int, name: str) -> tuple[list[Any], list[int]]:
    from .transforms.batching import batch_jaxpr, vmap_flat
    size = trace.axis_size
    batched_call, _ = batch_jaxpr(call_jaxpr, size, dims, out_dims=0, axis_name=trace.axis_name)
    arg_dims = list(dims[num_consts:])
    n_out = len(call_jaxpr.out_avals)

    def batched_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        n = len(primals)

        def flat(*xs: Any) -> list[Any]:
            outs, touts = jvp(list(xs[:n]), list(xs[n:]))
            return list(outs) + list(touts)

        result = vmap_flat(flat, list(primals) + list(tangents), arg_dims + arg_dims, [0] * (2 * n_out), size,
                           trace.axis_name)
        return result[:n_out], result[n_out:]

    outs = custom_jvp_call_p.bind(*args, call_jaxpr=batched_call, jvp=batched_jvp, num_consts=num_consts, name=name)
    return outs, [0] * n_out


def _custom_jvp_partial_eval(trace: Any, args: Sequence[Any], *, call_jaxpr: ClosedJaxpr, jvp: Any,
                             num_consts: int, name: str) -> list[Any]:
    # Reached only after differentiation has used the rule (or for non-differentiated values):
    # the call is a plain computation.
    with set_current_trace(trace):
        return eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)


custom_jvp_call_p.def_abstract_eval(_custom_jvp_abstract_eval)
custom_jvp_call_p.def_impl(_custom_jvp_impl)
custom_jvp_call_p.def_lowering(_custom_jvp_lowering)
custom_jvp_call_p.def_jvp(_custom_jvp_jvp)
custom_jvp_call_p.def_batching(_custom_jvp_batch)
custom_jvp_call_p.batch_needs_axis = True
custom_jvp_call_p.partial_eval_rule = _custom_jvp_partial_eval


class custom_jvp:
    """A function with a user-defined JVP rule (``jax.custom_jvp``).

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> @ec.custom_jvp
    ... def log1pexp(x):
    ...     return jnp.log1p(jnp.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t * (1 - 1 / (1 + jnp.exp(x)))
    >>> float(ec.grad(log1pexp)(100.0))
    1.0
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp: Callable[..., Any] | None = None
        self.symbolic_zeros = False

    def defjvp(self, jvp: Callable[..., Any], symbolic_zeros: bool = False) -> Callable[..., Any]:
        """Set the rule ``jvp(primals, tangents) -> (primal_out, tangent_out)``."""
        self.jvp = jvp
        self.symbolic_zeros = symbolic_zeros
        return jvp

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """One rule per argument: ``jvp_i(tangent_i, primal_out, *primals) -> contribution``."""
        if self.nondiff_argnums:
            raise TypeError("custom_jvp.defjvps is not supported together with nondiff_argnums")

        def jvp(primals: tuple, tangents: tuple) -> tuple[Any, Any]:
            out = self(*primals)
            total = None
            for rule, t in zip(jvps, tangents):
                if rule is None:
                    continue
                contribution = rule(t, out, *primals)
                total = contribution if total is None else tree_util.map(lambda a, b: a + b, total, contribution)
            if total is None:
                total = tree_util.map(lambda o: o * 0, out)
            return out, total

        self.defjvp(jvp)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = getattr(self.fun, "__name__", "fun")
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp.")
        args = _resolve_args(self.fun, args, kwargs, f"custom_jvp function {name}")
        if trace_state.trace is eval_trace:
            return self.fun(*args)
        nondiff, diff = _split_nondiff(args, self.nondiff_argnums)
        leaves, in_tree = _registry.flatten(tuple(diff))
        nd = self.nondiff_argnums

        def f_diff(*diff_args: Any) -> Any:
            return self.fun(*_merge_nondiff(nd, nondiff, diff_args))

        call_jaxpr, consts, out_tree = _trace_flat(f_diff, leaves, in_tree)
        out_avals = call_jaxpr.out_avals
        user_jvp = self.jvp

        def jvp_flat(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
            p_args = in_tree.unflatten(primals)
            t_args = in_tree.unflatten(tangents)
            result = user_jvp(*nondiff, tuple(p_args), tuple(t_args))
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(f"custom_jvp rule of {name} must return a pair (primal_out, tangent_out), "
                                f"got {type(result).__name__}")
            outs, outs_tree = _registry.flatten(result[0])
            touts, touts_tree = _registry.flatten(result[1])
            if outs_tree != out_tree:
                raise TypeError(f"custom_jvp rule of {name}: the primal output structure {outs_tree} differs from "
                                f"the function's output structure {out_tree}")
            if touts_tree != out_tree:
                raise TypeError(f"custom_jvp rule of {name}: the tangent output structure {touts_tree} differs from "
                                f"the primal output structure {out_tree}")
            for i, (t, aval) in enumerate(zip(touts, out_avals)):
                _check_tangent(f"custom_jvp rule of {name}", i, t, aval)
            return outs, touts

        outs = custom_jvp_call_p.bind(*consts, *leaves, call_jaxpr=call_jaxpr, jvp=jvp_flat,
                                      num_consts=len(consts), name=name)
        return out_tree.unflatten(outs)


# ----------------------------------------------------------------------------------------------
# custom_vjp

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_lin_p = Primitive("custom_lin", multiple_results=True)


def _custom_vjp_abstract_eval(*avals: ShapedArray, call_jaxpr: ClosedJaxpr, fwd: Any, bwd: Any, num_consts: int,
                              name: str) -> list[ShapedArray]:
    return call_jaxpr.out_avals


def _custom_vjp_impl(*args: Any, call_jaxpr: ClosedJaxpr, fwd: Any, bwd: Any, num_consts: int, name: str) -> list[Any]:
    return eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)


def _custom_vjp_lowering(ctx: Any, *args: Any, call_jaxpr: ClosedJaxpr, fwd: Any, bwd: Any, num_consts: int,
                         name: str) -> list[Any]:
    return _call(ctx, call_jaxpr, args, name)


def _custom_vjp_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, call_jaxpr: ClosedJaxpr, fwd: Any,
                    bwd: Any, num_consts: int, name: str) -> tuple[list[Any], list[Any]]:
    if any(type(t) is not Zero for t in tangents[:num_consts]):
        raise _closure_error(f"custom_vjp function {name}")
    args = list(primals[num_consts:])
    outs, residuals = fwd(args)
    arg_tangents = [instantiate(t) for t in tangents[num_consts:]]
    out_avals = tuple(tangent_aval(get_aval(o)) for o in outs)
    tangents_out = custom_lin_p.bind(*residuals, *arg_tangents, num_res=len(residuals), bwd=bwd,
                                     out_avals=out_avals, name=name)
    return list(outs), list(tangents_out)


def _custom_vjp_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, call_jaxpr: ClosedJaxpr,
                      fwd: Any, bwd: Any, num_consts: int, name: str) -> tuple[list[Any], list[int]]:
    from .primitives.reductions import reduce_sum
    from .transforms.batching import batch_jaxpr, vmap_flat
    size = trace.axis_size
    batched_call, _ = batch_jaxpr(call_jaxpr, size, dims, out_dims=0, axis_name=trace.axis_name)
    arg_dims = list(dims[num_consts:])
    n_out = len(call_jaxpr.out_avals)
    res_count: list[int] = []

    def batched_fwd(primals: Sequence[Any]) -> tuple[list[Any], list[Any]]:
        def flat(*xs: Any) -> list[Any]:
            outs, res = fwd(list(xs))
            res_count[:] = [len(res)]
            return list(outs) + list(res)

        result = vmap_flat(flat, list(primals), arg_dims, lambda i: 0, size, trace.axis_name)
        return result[:n_out], result[n_out:]

    arg_avals = call_jaxpr.in_avals[num_consts:]

    def batched_bwd(res: Sequence[Any], cts: Sequence[Any]) -> list[Any]:
        n_res = len(res)

        def flat(*xs: Any) -> list[Any]:
            return [_zeros_if_none(c, a) for c, a in zip(bwd(list(xs[:n_res]), list(xs[n_res:])), arg_avals)]

        cts_in = vmap_flat(flat, list(res) + list(cts), [0] * (n_res + len(cts)), lambda i: 0, size, trace.axis_name)
        # an argument that was not mapped gets the sum of its per-example cotangents
        return [c if d is not None else reduce_sum(c, (0,)) for c, d in zip(cts_in, arg_dims)]

    outs = custom_vjp_call_p.bind(*args, call_jaxpr=batched_call, fwd=batched_fwd, bwd=_MovedBwd(batched_bwd, arg_dims),
                                  num_consts=num_consts, name=name)
    return outs, [0] * n_out


class _MovedBwd:
    """A bwd whose argument cotangents come back with the batch dimension where the args have it."""

    def __init__(self, bwd: Callable[..., list[Any]], arg_dims: Sequence[int | None]) -> None:
        self.bwd = bwd
        self.arg_dims = list(arg_dims)

    def __call__(self, res: Sequence[Any], cts: Sequence[Any]) -> list[Any]:
        from .transforms.batching import moveaxis
        out = self.bwd(res, cts)
        return [c if d in (None, 0) else moveaxis(c, 0, d, get_aval(c).shape[0]) for c, d in zip(out, self.arg_dims)]


def _custom_vjp_partial_eval(trace: Any, args: Sequence[Any], *, call_jaxpr: ClosedJaxpr, fwd: Any, bwd: Any,
                             num_consts: int, name: str) -> list[Any]:
    with set_current_trace(trace):
        return eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)


custom_vjp_call_p.def_abstract_eval(_custom_vjp_abstract_eval)
custom_vjp_call_p.def_impl(_custom_vjp_impl)
custom_vjp_call_p.def_lowering(_custom_vjp_lowering)
custom_vjp_call_p.def_jvp(_custom_vjp_jvp)
custom_vjp_call_p.def_batching(_custom_vjp_batch)
custom_vjp_call_p.batch_needs_axis = True
custom_vjp_call_p.partial_eval_rule = _custom_vjp_partial_eval


def _custom_lin_abstract_eval(*avals: ShapedArray, num_res: int, bwd: Any, out_avals: tuple, name: str) -> list[ShapedArray]:
    return list(out_avals)


def _custom_lin_impl(*args: Any, num_res: int, bwd: Any, out_avals: tuple, name: str) -> list[Any]:
    raise TypeError(f"can't apply forward-mode autodiff (jvp) to a custom_vjp function ({name}); use grad/vjp, "
                    "or define the function with custom_jvp")


def _custom_lin_transpose(cts: Sequence[Any], *args: Any, num_res: int, bwd: Any, out_avals: tuple, name: str) -> list[Any]:
    from .rules import is_undefined
    res = list(args[:num_res])
    linear = args[num_res:]
    cts = [instantiate(c) for c in cts]
    cts_in = bwd(res, cts)
    out: list[Any] = [None] * num_res
    for i, (ct, x) in enumerate(zip(cts_in, linear)):
        aval = x.aval if is_undefined(x) else get_aval(x)
        if ct is None:
            out.append(Zero(aval))
            continue
        _check_tangent(f"custom_vjp bwd of {name}", i, ct, aval)
        out.append(ct)
    return out


def _custom_lin_batch(args: Sequence[Any], dims: Sequence[int | None], *, num_res: int, bwd: Any, out_avals: tuple,
                      name: str) -> tuple[list[Any], list[int]]:
    from .rules import batch_size, broadcast_batched
    from .transforms.batching import vmap_flat
    size = batch_size(args, dims)
    moved = [broadcast_batched(a, d, size) for a, d in zip(args, dims)]
    linear_avals = [get_aval(a).update(shape=get_aval(a).shape[1:]) for a in moved[num_res:]]

    def batched_bwd(res: Sequence[Any], cts: Sequence[Any]) -> list[Any]:
        n_res = len(res)

        def flat(*xs: Any) -> list[Any]:
            return [_zeros_if_none(c, a) for c, a in zip(bwd(list(xs[:n_res]), list(xs[n_res:])), linear_avals)]

        return vmap_flat(flat, list(res) + list(cts), [0] * (n_res + len(cts)), lambda i: 0, size)

    batched_avals = tuple(a.update(shape=(size,) + a.shape) for a in out_avals)
    outs = custom_lin_p.bind(*moved, num_res=num_res, bwd=batched_bwd, out_avals=batched_avals, name=name)
    return outs, [0] * len(outs)


custom_lin_p.def_abstract_eval(_custom_lin_abstract_eval)
custom_lin_p.def_impl(_custom_lin_impl)
custom_lin_p.def_transpose(_custom_lin_transpose)
custom_lin_p.def_batching(_custom_lin_batch)


class custom_vjp:
    """A function with a user-defined VJP (``jax.custom_vjp``): ``f.defvjp(fwd, bwd)`` where
    ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, out_cotangent) -> input cotangents``.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> @ec.custom_vjp
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (jnp.clip(g, -1.0, 1.0),))
    >>> float(ec.grad(lambda x: 5.0 * clip_gradient(x))(2.0))
    1.0
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any], symbolic_zeros: bool = False,
               optimize_remat: bool = False) -> None:
        self.fwd = fwd
        self.bwd = bwd

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = getattr(self.fun, "__name__", "fun")
        if self.fwd is None or self.bwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp.")
        args = _resolve_args(self.fun, args, kwargs, f"custom_vjp function {name}")
        if trace_state.trace is eval_trace:
            return self.fun(*args)
        nondiff, diff = _split_nondiff(args, self.nondiff_argnums)
        leaves, in_tree = _registry.flatten(tuple(diff))
        nd = self.nondiff_argnums

        def f_diff(*diff_args: Any) -> Any:
            return self.fun(*_merge_nondiff(nd, nondiff, diff_args))

        call_jaxpr, consts, out_tree = _trace_flat(f_diff, leaves, in_tree)
        user_fwd, user_bwd = self.fwd, self.bwd
        res_tree_cell: list[Any] = []

        def fwd_flat(primals: Sequence[Any]) -> tuple[list[Any], list[Any]]:
            result = user_fwd(*_merge_nondiff(nd, nondiff, in_tree.unflatten(primals)))
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise TypeError(f"custom_vjp fwd of {name} must return a pair (output, residuals), "
                                f"got {type(result).__name__}")
            outs, outs_tree = _registry.flatten(result[0])
            if outs_tree != out_tree:
                raise TypeError(f"custom_vjp fwd of {name}: its output structure {outs_tree} differs from the "
                                f"function's output structure {out_tree}")
            res, res_tree = _registry.flatten(result[1])
            res_tree_cell[:] = [res_tree]
            return outs, res

        def bwd_flat(res: Sequence[Any], cts: Sequence[Any]) -> list[Any]:
            residuals = res_tree_cell[0].unflatten(res)
            cts_in = user_bwd(*nondiff, residuals, out_tree.unflatten(cts))
            if not isinstance(cts_in, tuple):
                raise TypeError(f"custom_vjp bwd of {name} must return a tuple with one cotangent per "
                                f"differentiable argument ({len(diff)}), got {type(cts_in).__name__}")
            if len(cts_in) != len(diff):
                raise TypeError(f"custom_vjp bwd of {name} returned {len(cts_in)} cotangents for "
                                f"{len(diff)} differentiable arguments")
            flat_cts = []
            for ct, arg in zip(cts_in, diff):
                arg_leaves, arg_tree = _registry.flatten(arg)
                if ct is None:
                    flat_cts += [None] * len(arg_leaves)
                    continue
                ct_leaves, ct_tree = _registry.flatten(ct, lambda x: x is None)
                if len(ct_leaves) != len(arg_leaves):
                    raise TypeError(f"custom_vjp bwd of {name}: a cotangent has structure {ct_tree}, but its "
                                    f"argument has structure {arg_tree}")
                flat_cts += ct_leaves
            return flat_cts

        outs = custom_vjp_call_p.bind(*consts, *leaves, call_jaxpr=call_jaxpr, fwd=fwd_flat, bwd=bwd_flat,
                                      num_consts=len(consts), name=name)
        return out_tree.unflatten(outs)
