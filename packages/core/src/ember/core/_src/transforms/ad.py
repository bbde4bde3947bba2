"""Reverse mode: linearize (JVP over partial evaluation), transpose, and the APIs on top.

``linearize`` runs the function's JVP with the tangents *unknown* (``partial_eval.py``): the
primal is computed, the tangent computation is recorded as a linear jaxpr whose constants are
the residuals. ``backward_pass`` walks that jaxpr backwards applying each primitive's transpose
rule. ``vjp`` = linearize + transpose, ``grad`` = vjp with a cotangent of 1.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes
from .. import tree as tree_util
from ..core import ShapedArray, Tracer, get_aval, set_current_trace, trace_state
from ..jaxpr import ClosedJaxpr, Jaxpr, Literal, Var, eval_jaxpr
from ..rules import UndefinedPrimal, Zero, add_tangents, instantiate, tangent_aval
from .jvp import JVPTrace, JVPTracer, jvp_flat
from .partial_eval import PartialEvalTrace, _instantiated

__all__ = ["jvp", "linearize", "vjp", "grad", "value_and_grad", "backward_pass", "linearize_flat",
           "float0"]

_registry = tree_util.registry

float0 = np.dtype([("float0", np.void, 0)])
"""The dtype of tangents/cotangents of integer and boolean values (``allow_int``)."""


# ----------------------------------------------------------------------------------------------
# Forward mode API

def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False) -> Any:
    """``(fun(*primals), J·tangents)``: the Jacobian-vector product, in one forward pass.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> y, dy = ec.jvp(jnp.sin, (0.0,), (1.0,))
    >>> float(y), float(dy)
    (0.0, 1.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (one entry per positional argument), "
                        f"got {type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    p_leaves, p_tree = _registry.flatten(tuple(primals))
    t_leaves, t_tree = _registry.flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ValueError(f"jvp: primals and tangents must have the same structure, got {p_tree} and {t_tree}")
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        pa, ta = get_aval(p), get_aval(t)
        if pa.shape != ta.shape:
            raise ValueError(f"jvp: tangent {i} has shape {ta.shape} but its primal has shape {pa.shape}")
        if dtypes.is_inexact(pa.dtype) and ta.dtype != pa.dtype and not (ta.weak_type or pa.weak_type):
            raise TypeError(f"jvp: tangent {i} has dtype {ta.dtype.name} but its primal has dtype {pa.dtype.name}")
    tangents_in = [t if dtypes.is_inexact(get_aval(p).dtype) else Zero(get_aval(p)) for p, t in zip(p_leaves, t_leaves)]
    flat, trees = _flat_with_aux(fun, p_tree, has_aux, "jvp")
    primals_all, tangents_all = jvp_flat(flat, p_leaves, tangents_in)
    out_tree, n_out = trees["out"], trees["n_out"]
    primals_out = [_as_array(p) for p in primals_all[:n_out]]
    tangents_out = [_zeros_for(p) if type(t) is Zero else t for p, t in zip(primals_out, tangents_all[:n_out])]
    result = (out_tree.unflatten(primals_out), out_tree.unflatten(tangents_out))
    if has_aux:
        return result + (trees["aux"].unflatten([_as_array(a) for a in primals_all[n_out:]]),)
    return result


def _zeros_for(x: Any) -> Any:
    aval = get_aval(x)
    if not dtypes.is_inexact(aval.dtype):
        return np.zeros(aval.shape, float0)
    from ..primitives.shape import full
    return full(aval.shape, 0, aval.dtype)


def _split_aux(out: Any, what: str) -> tuple[Any, Any]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(f"{what}(..., has_aux=True): the function must return a pair (output, aux), "
                        f"got {type(out).__name__}")
    return out[0], out[1]


# ----------------------------------------------------------------------------------------------
# Linearize

def linearize_flat(fun: Callable[..., Sequence[Any]], primals: Sequence[Any],
                   ) -> tuple[list[Any], ClosedJaxpr, list[bool], Any]:
    """Linearize a flat function at ``primals``.

    Returns ``(primals_out, linear, out_nonzero, aux)`` where ``linear`` maps the input tangents
    to the output tangents marked nonzero.
    """
    parent = trace_state.trace
    pe = PartialEvalTrace(parent)
    jvp_trace = JVPTrace(pe)
    tangent_in = [pe.new_arg(tangent_aval(get_aval(p))) for p in primals]
    inputs = [JVPTracer(jvp_trace, p, t) if dtypes.is_inexact(get_aval(p).dtype) else p
              for p, t in zip(primals, tangent_in)]
    try:
        with set_current_trace(jvp_trace):
            outputs = list(fun(*inputs))
        primals_out, tangents_out = [], []
        for out in outputs:
            p, t = jvp_trace.split(out)
            primals_out.append(p)
            tangents_out.append(t)
        jvp_trace.invalidate()
        out_nonzero = [type(t) is not Zero for t in tangents_out]
        linear_outs = [t if pe.owns(t) else _instantiated(pe, t) for t in tangents_out if type(t) is not Zero]
        linear = pe.to_jaxpr(linear_outs)
    finally:
        jvp_trace.invalidate()
        pe.invalidate()
    for p in primals_out:
        if isinstance(p, Tracer) and p._trace is pe:
            raise AssertionError("linearize: a primal output depends on a tangent (a JVP rule is wrong)")
    return primals_out, linear, out_nonzero, None


def linearize(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(fun(*primals), f_jvp)`` where ``f_jvp(*tangents)`` evaluates the linearized function.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> y, f_jvp = ec.linearize(jnp.sin, 0.0)
    >>> f_jvp(2.0)
    Array(2., dtype=float32, weak_type=True)
    """
    p_leaves, p_tree = _registry.flatten(primals)
    flat, trees = _flat_with_aux(fun, p_tree, has_aux, "linearize")
    primals_all, linear, nonzero_all, _ = linearize_flat(flat, p_leaves)
    out_tree, n_out = trees["out"], trees["n_out"]
    primals_out, out_nonzero = primals_all[:n_out], nonzero_all[:n_out]
    out_avals = [get_aval(p) for p in primals_out]

    def f_jvp(*tangents: Any) -> Any:
        t_leaves, t_tree = _registry.flatten(tangents)
        if t_tree != p_tree:
            raise ValueError(f"linearize: f_jvp expects tangents with the structure {p_tree}, got {t_tree}")
        outs = iter(eval_jaxpr(linear.jaxpr, linear.consts, *t_leaves))
        leaves = [next(outs) if nz else _zeros_for_aval(a) for nz, a in zip(out_nonzero, out_avals)]
        return out_tree.unflatten(leaves)

    result = (out_tree.unflatten([_as_array(p) for p in primals_out]), f_jvp)
    return result + (trees["aux"].unflatten([_as_array(a) for a in primals_all[n_out:]]),) if has_aux else result


def _zeros_for_aval(aval: ShapedArray) -> Any:
    from ..primitives.shape import full
    return full(aval.shape, 0, aval.dtype)


# ----------------------------------------------------------------------------------------------
# Transposition

def backward_pass(jaxpr: Jaxpr, consts: Sequence[Any], primals_in: Sequence[Any], cts_out: Sequence[Any]) -> list[Any]:
    """Cotangents of ``jaxpr``'s inputs given its outputs' cotangents.

    ``primals_in[i]`` is an ``UndefinedPrimal`` for the linear inputs and a value otherwise.
    Cotangents may be ``Zero``; the result has ``Zero`` where nothing flows.
    """
    primal_env: dict[Var, Any] = {}
    for v, c in zip(jaxpr.constvars, consts):
        primal_env[v] = c
    for v, p in zip(jaxpr.invars, primals_in):
        if type(p) is not UndefinedPrimal:
            primal_env[v] = p

    def known(atom: Any) -> bool:
        return type(atom) is Literal or atom in primal_env

    def read_primal(atom: Any) -> Any:
        if type(atom) is Literal:
            return atom.val
        value = primal_env.get(atom, _missing)
        return UndefinedPrimal(atom.aval) if value is _missing else value

    # Non-linear equations (all inputs known) are evaluated forward first.
    linear_eqns = []
    for eqn in jaxpr.eqns:
        if all(known(a) for a in eqn.invars):
            outs = eqn.primitive.bind(*[read_primal(a) for a in eqn.invars], **eqn.params)
            for v, o in zip(eqn.outvars, outs if eqn.primitive.multiple_results else [outs]):
                primal_env[v] = o
        else:
            linear_eqns.append(eqn)

    ct_env: dict[Var, Any] = {}

    def write_ct(v: Any, ct: Any) -> None:
        if type(v) is not Var or ct is None or type(ct) is Zero:
            return
        ct_env[v] = add_tangents(ct_env[v], ct) if v in ct_env else ct

    for v, ct in zip(jaxpr.outvars, cts_out):
        write_ct(v, ct)
    for eqn in reversed(linear_eqns):
        cts = [ct_env.pop(v, None) for v in eqn.outvars]
        if all(c is None for c in cts):
            continue
        cts = [Zero(v.aval) if c is None else c for v, c in zip(eqn.outvars, cts)]
        rule = eqn.primitive.transpose_rule
        if rule is None:
            raise NotImplementedError(
                f"reverse-mode differentiation of {eqn.primitive.name!r} is not implemented (no transpose "
                "rule); use jvp/jacfwd instead")
        invals = [read_primal(a) for a in eqn.invars]
        cts_in = rule(cts if eqn.primitive.multiple_results else cts[0], *invals, **eqn.params)
        for a, ct in zip(eqn.invars, cts_in):
            if type(a) is Var and a not in primal_env:
                write_ct(a, ct)
    return [ct_env.get(v, Zero(v.aval)) if type(p) is UndefinedPrimal else None
            for v, p in zip(jaxpr.invars, primals_in)]


_missing = object()


def transpose_linear(linear: ClosedJaxpr, cts_out: Sequence[Any]) -> list[Any]:
    """Cotangents of a linear jaxpr's inputs (all inputs linear)."""
    primals = [UndefinedPrimal(a) for a in linear.in_avals]
    return backward_pass(linear.jaxpr, linear.consts, primals, cts_out)


# ----------------------------------------------------------------------------------------------
# vjp and grad

def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False, reduce_axes: Sequence[Any] = ()) -> Any:
    """``(fun(*primals), f_vjp)`` where ``f_vjp(cotangent)`` gives the cotangents of the inputs.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> y, f_vjp = ec.vjp(lambda x: x ** 2, 3.0)
    >>> f_vjp(1.0)
    (Array(6., dtype=float32, weak_type=True),)
    """
    p_leaves, p_tree = _registry.flatten(primals)
    flat, trees = _flat_with_aux(fun, p_tree, has_aux, "vjp")
    primals_all, linear, nonzero_all, _ = linearize_flat(flat, p_leaves)
    out_tree, n_out = trees["out"], trees["n_out"]
    primals_out, out_nonzero = primals_all[:n_out], nonzero_all[:n_out]
    n_aux_nonzero = sum(nonzero_all[n_out:])  # aux outputs are outputs too; they get zero cotangents
    in_avals = [get_aval(p) for p in p_leaves]
    out_avals = [get_aval(p) for p in primals_out]

    def f_vjp(*cotangents: Any) -> tuple[Any, ...]:
        cts = cotangents[0] if len(cotangents) == 1 else cotangents
        ct_leaves, ct_tree = _registry.flatten(cts)
        if ct_tree != out_tree:
            raise ValueError(f"vjp: the cotangent must have the structure of the output, {out_tree}; got {ct_tree}")
        for i, (ct, aval) in enumerate(zip(ct_leaves, out_avals)):
            if get_aval(ct).shape != aval.shape:
                raise ValueError(f"vjp: cotangent {i} has shape {get_aval(ct).shape}, expected {aval.shape} "
                                 "(the shape of the corresponding output)")
        nonzero_cts = [ct for ct, nz in zip(ct_leaves, out_nonzero) if nz]
        aux_cts = [Zero(a) for a, nz in zip(linear.out_avals[len(nonzero_cts):], range(n_aux_nonzero))]
        cts_in = transpose_linear(linear, nonzero_cts + aux_cts)
        leaves = [_ct_value(ct, aval) for ct, aval in zip(cts_in, in_avals)]
        return tuple(p_tree.unflatten(leaves))

    result = (out_tree.unflatten([_as_array(p) for p in primals_out]), f_vjp)
    return result + (trees["aux"].unflatten([_as_array(a) for a in primals_all[n_out:]]),) if has_aux else result


def _flat_with_aux(fun: Callable[..., Any], in_tree: Any, has_aux: bool, what: str) -> tuple[Callable[..., list[Any]], dict]:
    """``fun`` as a flat function whose outputs are its output leaves, then its aux leaves: aux
    values leave a transformation as ordinary outputs (values, never tracers)."""
    trees: dict[str, Any] = {}

    def flat(*xs: Any) -> list[Any]:
        out = fun(*in_tree.unflatten(xs))
        aux_arrays: list[Any] = []
        if has_aux:
            out, aux = _split_aux(out, what)
            aux_leaves, aux_tree = _registry.flatten(aux)
            # array leaves come out as outputs; anything else (strings, ints of config) as it is
            kinds = [_is_array(leaf) for leaf in aux_leaves]
            aux_arrays = [leaf for leaf, k in zip(aux_leaves, kinds) if k]
            others = [leaf for leaf, k in zip(aux_leaves, kinds) if not k]
            trees["aux"] = _AuxTree(aux_tree, kinds, others)
        leaves, trees["out"] = _registry.flatten(out)
        trees["n_out"] = len(leaves)
        return leaves + aux_arrays

    return flat, trees


class _AuxTree:
    def __init__(self, treedef: Any, kinds: list[bool], others: list[Any]) -> None:
        self.treedef, self.kinds, self.others = treedef, kinds, others

    def unflatten(self, arrays: Sequence[Any]) -> Any:
        it_a, it_o = iter(arrays), iter(self.others)
        return self.treedef.unflatten([next(it_a) if k else next(it_o) for k in self.kinds])


def _is_array(x: Any) -> bool:
    from ..array import Array
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic)) or type(x) in (float, complex)


def _as_array(x: Any) -> Any:
    """A constant output (a NumPy scalar that never met an input) as an Array, like the rest."""
    if isinstance(x, (np.ndarray, np.generic)):
        from ..dispatch import to_array
        return to_array(x)
    return x


def _ct_value(ct: Any, aval: ShapedArray) -> Any:
    if not dtypes.is_inexact(aval.dtype):
        return np.zeros(aval.shape, float0)
    if type(ct) is Zero:
        return _zeros_for_aval(aval)
    out_aval = get_aval(ct)
    if out_aval.dtype != aval.dtype or out_aval.weak_type != aval.weak_type:
        from ..primitives.elementwise import convert_element_type
        ct = convert_element_type(ct, aval.dtype, aval.weak_type)
    return ct


def _check_argnums(argnums: int | Sequence[int], nargs: int, what: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ValueError(f"{what}: argnums {argnums} refers to argument {a}, but the function was "
                             f"called with {nargs} positional arguments")
    return tuple(a % nargs for a in nums)


def value_and_grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False, allow_int: bool = False, reduce_axes: Sequence[Any] = ()) -> Callable[..., Any]:
    """A function returning ``(fun(*args), gradient)`` (with ``aux`` if ``has_aux``).

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> ec.value_and_grad(lambda x: jnp.sum(x ** 2))(jnp.arange(3.0))[1].tolist()
    [0.0, 2.0, 4.0]
    """
    what = "grad"

    @functools.wraps(fun)
    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        nums = _check_argnums(argnums, len(args), what)
        diff_args = [args[i] for i in nums]
        for i, arg in zip(nums, diff_args):
            for leaf in _registry.flatten(arg)[0]:
                _check_input_dtype(get_aval(leaf), i, holomorphic, allow_int, what)

        def partial_fun(*diff: Any) -> Any:
            full = list(args)
            for i, d in zip(nums, diff):
                full[i] = d
            return fun(*full, **kwargs)

        result = vjp(partial_fun, *diff_args, has_aux=has_aux)
        if has_aux:
            value, f_vjp, aux = result
        else:
            value, f_vjp = result
        _check_output(value, holomorphic, what)
        one = _ones_like(value)
        grads = f_vjp(one)
        g = grads[0] if isinstance(argnums, int) else tuple(grads)
        return ((value, aux), g) if has_aux else (value, g)

    return value_and_grad_f


def grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False, allow_int: bool = False, reduce_axes: Sequence[Any] = ()) -> Callable[..., Any]:
    """The gradient of a scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> ec.grad(jnp.sin)(0.0)
    Array(1., dtype=float32, weak_type=True)
    """
    vg = value_and_grad(fun, argnums, has_aux, holomorphic, allow_int, reduce_axes)

    @functools.wraps(fun)
    def grad_f(*args: Any, **kwargs: Any) -> Any:
        if has_aux:
            (_, aux), g = vg(*args, **kwargs)
            return g, aux
        return vg(*args, **kwargs)[1]

    return grad_f


def _check_input_dtype(aval: ShapedArray, argnum: int, holomorphic: bool, allow_int: bool, what: str) -> None:
    dtype = aval.dtype
    if holomorphic:
        if dtype.kind != "c":
            raise TypeError(f"{what} with holomorphic=True requires complex inputs, got {dtype.name} "
                            f"(argument {argnum})")
        return
    if dtype.kind == "c":
        raise TypeError(f"{what} requires real-valued inputs (got {dtype.name} for argument {argnum}); "
                        "use holomorphic=True for complex functions, or vjp")
    if not dtypes.is_inexact(dtype) and not allow_int:
        raise TypeError(
            f"{what} requires real- or complex-valued inputs (a floating dtype), but argument {argnum} has "
            f"dtype {dtype.name}. For integer or boolean inputs, use vjp or set allow_int=True "
            "(their gradient is a float0 array of zeros)")


def _check_output(value: Any, holomorphic: bool, what: str) -> None:
    leaves = _registry.flatten(value)[0]
    if len(leaves) != 1:
        raise TypeError(f"{what} requires a function with a single scalar output, got a pytree of "
                        f"{len(leaves)} leaves; use vjp or jacrev for several outputs")
    aval = get_aval(leaves[0])
    if aval.shape:
        raise TypeError(f"{what} requires scalar outputs, got an output of shape {aval.shape}; "
                        "reduce it (e.g. .sum()) or use jacrev/vjp")
    if not holomorphic and not dtypes.is_float(aval.dtype):
        raise TypeError(f"{what} requires real-valued (floating) scalar outputs, got {aval.dtype.name}; "
                        "use holomorphic=True for complex outputs")


def _ones_like(value: Any) -> Any:
    aval = get_aval(_registry.flatten(value)[0][0])
    from ..primitives.shape import full
    return _registry.flatten(value)[1].unflatten([full(aval.shape, 1, aval.dtype)])


def zeros_like_tangent(x: Any) -> Any:
    return instantiate(Zero(tangent_aval(get_aval(x))))
