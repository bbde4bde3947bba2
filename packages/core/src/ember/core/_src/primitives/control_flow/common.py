"""Shared machinery of the control-flow primitives.

- ``trace_function``: trace a user function (cond branch, loop body) once into a jaxpr whose
  closed-over values are hoisted into explicit leading operands, cached by (function, input
  structure, avals) like JAX's ``_initial_style_jaxpr``;
- error messages with JAX's wording for mismatched branch outputs and loop carries;
- small jaxpr utilities (reorder binders, evaluate, lower inline into a region);
- transformation helpers cached on the jaxpr (``jvp_closed``, ``partial_eval_closed``,
  ``batch_closed``) so that transforming the same loop repeatedly reuses the same programs (and
  so the same compiled executables);
- ``eager_impl``: run one control-flow equation now, compiled once per sub-program.

Every sub-program parameter is a ``ClosedJaxpr`` whose constants are concrete values (NumPy or
device arrays): values of outer traces always travel as operands.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from ... import dtypes
from ... import tree as tree_util
from ...core import ShapedArray, Tracer
from ...jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Var, eval_jaxpr
from ...lowering import constant, jaxpr_subcomp
from ...tracing import trace_to_jaxpr

__all__: list[str] = []

_registry = tree_util.registry


# ----------------------------------------------------------------------------------------------
# Small list helpers

def split_list(xs: Sequence[Any], sizes: Sequence[int]) -> list[list[Any]]:
    """``split_list([1, 2, 3, 4], [1, 2]) == [[1], [2, 3], [4]]``."""
    out, start = [], 0
    for n in sizes:
        out.append(list(xs[start:start + n]))
        start += n
    out.append(list(xs[start:]))
    return out


def partition_list(flags: Sequence[bool], xs: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(items where flag is False, items where flag is True)."""
    falses = [x for f, x in zip(flags, xs) if not f]
    trues = [x for f, x in zip(flags, xs) if f]
    return falses, trues


def merge_lists(flags: Sequence[bool], falses: Sequence[Any], trues: Sequence[Any]) -> list[Any]:
    """Inverse of ``partition_list``."""
    f_it, t_it = iter(falses), iter(trues)
    return [next(t_it) if f else next(f_it) for f in flags]


def typematch(a: ShapedArray, b: ShapedArray) -> bool:
    """Same shape and dtype (weak types are compatible with strong ones, as in JAX)."""
    return a.shape == b.shape and a.dtype == b.dtype


def short_type(aval: ShapedArray) -> str:
    return aval.str_short()


def is_concrete(x: Any) -> bool:
    """True for values known now (not a tracer, or a tracer whose trace knows the value)."""
    return not isinstance(x, Tracer) or x.to_concrete_value() is not None


# ----------------------------------------------------------------------------------------------
# Tracing user functions

class TracedFunction:
    """A traced user function: ``jaxpr`` takes ``consts`` then the flat arguments."""

    __slots__ = ("jaxpr", "consts", "out_tree")

    def __init__(self, jaxpr: ClosedJaxpr, consts: list[Any], out_tree: Any) -> None:
        self.jaxpr = jaxpr
        self.consts = consts
        self.out_tree = out_tree

    @property
    def out_avals(self) -> list[ShapedArray]:
        return self.jaxpr.out_avals


class IdentityWeakCache:
    """A mapping from objects, by identity and weakly, to values (a WeakKeyDictionary would use
    ``__eq__``, which for user callables may compare by value)."""

    def __init__(self) -> None:
        self._data: dict[int, tuple[Any, Any]] = {}

    def get(self, key: Any) -> Any:
        entry = self._data.get(id(key))
        if entry is not None and entry[0]() is key:
            return entry[1]
        return None

    def set(self, key: Any, value: Any) -> bool:
        """Store ``value``; False when ``key`` cannot be weakly referenced."""
        data, ident = self._data, id(key)

        def forget(ref: Any) -> None:
            entry = data.get(ident)
            if entry is not None and entry[0] is ref:
                del data[ident]

        try:
            ref = weakref.ref(key, forget)
        except TypeError:
            return False
        data[ident] = (ref, value)
        return True


_trace_cache = IdentityWeakCache()
_MAX_ENTRIES_PER_FUNCTION = 64


def _is_array_like(x: Any) -> bool:
    from ...array import Array
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic, bool, int, float, complex))


def trace_function(fun: Callable[..., Any], in_tree: Any, in_avals: Sequence[ShapedArray], *, what: str,
                   out_check: Callable[[Any], Any] | None = None) -> TracedFunction:
    """Trace ``fun(*in_tree.unflatten(args))`` at ``in_avals``.

    Closed-over arrays and tracers of outer transformations become leading inputs of the jaxpr
    (returned in ``consts``, to be passed as operands). ``out_check`` may validate or reshape the
    output before it is flattened. The result is cached on ``fun`` (weakly) when its constants
    are concrete values, so calling ``lax.scan(f, ...)`` in a Python loop traces ``f`` once.

    >>> import numpy as np, ember.core
    >>> from ember.core._src.core import ShapedArray
    >>> t = trace_function(lambda x: x + 1.0, _registry.flatten((0.0,))[1],
    ...                    [ShapedArray((), np.dtype("float32"))], what="example")
    >>> t.out_avals
    [ShapedArray(f32[])]
    """
    key = (in_tree, tuple(in_avals), dtypes._x64(), out_check)
    per_fun = _trace_cache.get(fun)
    if per_fun is not None:
        hit = per_fun.get(key)
        if hit is not None:
            return hit
    cell: list[Any] = []

    def flat(*leaves: Any) -> list[Any]:
        out = fun(*in_tree.unflatten(leaves))
        if out_check is not None:
            out = out_check(out)
        out_leaves, out_tree = _registry.flatten(out)
        for i, leaf in enumerate(out_leaves):
            if not _is_array_like(leaf):
                paths = tree_util.flatten_with_path(out)[0]
                path = tree_util.keystr(paths[i][0]) or "the output"
                raise TypeError(f"{what}: the function returned a {type(leaf).__name__} at {path}; "
                                "outputs must be arrays (or pytrees of arrays)")
        cell.append(out_tree)
        return out_leaves

    closed = trace_to_jaxpr(flat, list(in_avals))
    jaxpr = closed.jaxpr
    converted = ClosedJaxpr(Jaxpr([], list(jaxpr.constvars) + list(jaxpr.invars), jaxpr.outvars, jaxpr.eqns), [])
    traced = TracedFunction(converted, list(closed.consts), cell[-1])
    if not any(isinstance(c, Tracer) for c in traced.consts):
        per_fun = _trace_cache.get(fun)
        if per_fun is None:
            per_fun = {}
            if not _trace_cache.set(fun, per_fun):
                return traced
        if len(per_fun) >= _MAX_ENTRIES_PER_FUNCTION:
            per_fun.pop(next(iter(per_fun)))
        per_fun[key] = traced
    return traced


def weak_function_cache(maker: Callable[[Callable[[], Any]], Callable[..., Any]]
                        ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Memoise a wrapper of ``fun`` weakly on ``fun``, so wrappers keep a stable identity (and the
    tracing cache keyed on them keeps hitting) while ``fun`` lives.

    ``maker`` receives a getter returning ``fun`` (a weak reference when possible: the cached
    wrapper must not keep ``fun`` alive) and returns the wrapper.
    """
    cache = IdentityWeakCache()

    @functools.wraps(maker)
    def get(fun: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = cache.get(fun)
        if wrapped is None:
            try:
                getter: Callable[[], Any] = weakref.ref(fun)
            except TypeError:
                return maker(lambda: fun)
            wrapped = maker(getter)
            cache.set(fun, wrapped)
        return wrapped

    return get


# ----------------------------------------------------------------------------------------------
# Error messages (JAX's wording)

def _capitalize(s: str) -> str:
    return s[:1].upper() + s[1:]


def _paths(tree: Any) -> list[Any]:
    proxy = tree.unflatten([object()] * tree.num_leaves)
    return [p for p, _ in tree_util.flatten_with_path(proxy)[0]]


def _bullets(diffs: list[str]) -> str:
    if len(diffs) == 1:
        return f"{_capitalize(diffs[0])}.\n"
    return "\n".join(f"  * {d};" for d in diffs[:-1]) + f"\n  * {diffs[-1]}.\n"


def _mismatch_reason(a: ShapedArray, b: ShapedArray) -> str:
    if a.shape != b.shape and a.dtype != b.dtype:
        return ", so the shapes and dtypes do not match"
    if a.shape != b.shape:
        return ", so the shapes do not match"
    return ", so the dtypes do not match"


def fun_name(f: Any) -> str:
    name = getattr(f, "__name__", None) or type(f).__name__
    try:
        file = inspect.getsourcefile(f)
        line = inspect.getsourcelines(f)[1]
        return f"{name} at {file}:{line}"
    except (TypeError, OSError):
        return name


def check_branch_outputs(api: str, name1: str, name2: str, f1: Any, f2: Any, tree1: Any,
                         avals1: Sequence[ShapedArray], tree2: Any, avals2: Sequence[ShapedArray]) -> None:
    """Raise JAX's TypeError when two branches return different structures or types."""
    if tree1 != tree2:
        raise TypeError(
            f"{api} branch outputs must have the same pytree structure, but they differ:\n\n"
            f"{name1} is {fun_name(f1)}\n{name2} is {fun_name(f2)}\n\n"
            f"{name1} output is {tree1} but {name2} output is {tree2}.\n\n"
            f"Revise {name1} and/or {name2} so that they have the same pytree structure.")
    if all(typematch(a, b) for a, b in zip(avals1, avals2)):
        return
    paths = _paths(tree1)
    diffs = []
    for p, a, b in zip(paths, avals1, avals2):
        if not typematch(a, b):
            where = f" at path {tree_util.keystr(p)}" if p else ""
            diffs.append(f"the output of {name1}{where} has type {short_type(a)} but the corresponding "
                         f"output of {name2} has type {short_type(b)}{_mismatch_reason(a, b)}")
    raise TypeError(
        f"{api} branches must have equal output types but they differ ({name1} and {name2} output "
        "must have identical types).\n\n"
        f"{name1} is {fun_name(f1)}\n{name2} is {fun_name(f2)}\n\n"
        f"{_bullets(diffs)}\n"
        f"Revise {name1} and/or {name2} so that all output types match.")


def check_carry_type(name: str, body_fun: Any, in_tree: Any, in_avals: Sequence[ShapedArray],
                     out_tree: Any, out_avals: Sequence[ShapedArray]) -> None:
    """Raise JAX's TypeError when a loop body changes the carry's structure, shapes or dtypes."""
    try:
        params = list(inspect.signature(body_fun).parameters)
        carry_name = params[0] if params else None
    except (TypeError, ValueError):
        carry_name = None

    def component(p: Any) -> str:
        if carry_name:
            return f"the input carry component {carry_name}{tree_util.keystr(p)}" if p else \
                f"the input carry {carry_name}"
        return f"the input carry at path {tree_util.keystr(p)}" if p else "the input carry"

    if in_tree != out_tree:
        raise TypeError(
            f"{name} function carry input and carry output must have the same pytree structure, but "
            f"they differ:\n\nthe input tree structure is:\n{in_tree}\nthe output tree structure is:\n"
            f"{out_tree}\n\nRevise the function so that the carry output has the same pytree structure "
            "as the carry input.")
    if all(typematch(a, b) for a, b in zip(in_avals, out_avals)):
        return
    diffs = [f"{component(p)} has type {short_type(a)} but the corresponding output carry component "
             f"has type {short_type(b)}{_mismatch_reason(a, b)}"
             for p, a, b in zip(_paths(in_tree), in_avals, out_avals) if not typematch(a, b)]
    raise TypeError(
        f"{name} function carry input and carry output must have equal types, but they differ:\n\n"
        f"{_bullets(diffs)}\n"
        "Revise the function so that all output types match the corresponding input types.")


def promote_weak_carry(values: Sequence[Any], in_avals: Sequence[ShapedArray],
                       out_avals: Sequence[ShapedArray]) -> tuple[list[Any], bool]:
    """Convert weakly typed initial carries (Python scalars) to the type the body returns."""
    from ..elementwise import convert_element_type
    changed = False
    out = []
    for v, a, b in zip(values, in_avals, out_avals):
        if a.weak_type and not typematch(a, b) and a.shape == b.shape:
            new_dtype = dtypes.result_type(ShapedArrayValue(a), ShapedArrayValue(b))
            out.append(convert_element_type(v, new_dtype, weak_type=False))
            changed = True
        else:
            out.append(v)
    return out, changed


class ShapedArrayValue:
    """An aval wearing the attributes ``dtypes.result_type`` reads (dtype and weak_type)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def weak_type(self) -> bool:
        return self.aval.weak_type

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape


# ----------------------------------------------------------------------------------------------
# Jaxpr utilities

def run_closed(closed: ClosedJaxpr, *args: Any) -> list[Any]:
    """Evaluate ``closed`` under the current trace."""
    return eval_jaxpr(closed.jaxpr, closed.consts, *args)


# The utilities below are cached on the jaxpr: a transformed sub-program keeps its identity from
# one call to the next, so the caches keyed on it (transformations, compiled programs) keep hitting.

def reorder(closed: ClosedJaxpr, in_order: Sequence[int] | None = None,
            out_order: Sequence[int] | None = None) -> ClosedJaxpr:
    """``closed`` with its inputs/outputs permuted: new input j is old input ``in_order[j]``."""
    return _reorder(closed, None if in_order is None else tuple(in_order),
                    None if out_order is None else tuple(out_order))


def _reorder_impl(closed: ClosedJaxpr, in_order: tuple[int, ...] | None,
                  out_order: tuple[int, ...] | None) -> ClosedJaxpr:
    jaxpr = closed.jaxpr
    invars = jaxpr.invars if in_order is None else [jaxpr.invars[i] for i in in_order]
    outvars = jaxpr.outvars if out_order is None else [jaxpr.outvars[i] for i in out_order]
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, outvars, jaxpr.eqns), closed.consts)


def add_unused_inputs(closed: ClosedJaxpr, position: int, avals: Sequence[ShapedArray]) -> ClosedJaxpr:
    """``closed`` taking extra (ignored) inputs of ``avals`` inserted at ``position`` (cached)."""
    return _add_unused_inputs(closed, position, tuple(avals))


def _add_unused_inputs_impl(closed: ClosedJaxpr, position: int, avals: tuple[ShapedArray, ...]) -> ClosedJaxpr:
    jaxpr = closed.jaxpr
    invars = list(jaxpr.invars)
    invars[position:position] = [Var(a) for a in avals]
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, invars, jaxpr.outvars, jaxpr.eqns), closed.consts)


def keep_outputs(closed: ClosedJaxpr, keep: Sequence[bool]) -> ClosedJaxpr:
    """``closed`` returning only the outputs marked in ``keep`` (dead code is dropped; cached)."""
    return _keep_outputs(closed, tuple(keep))


def _keep_outputs_impl(closed: ClosedJaxpr, keep: tuple[bool, ...]) -> ClosedJaxpr:
    from ...tracing import dce_jaxpr
    jaxpr = closed.jaxpr
    outvars = [v for v, k in zip(jaxpr.outvars, keep) if k]
    return dce_jaxpr(ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, outvars, jaxpr.eqns), closed.consts))


def lower_closed(module_ctx: Any, closed: ClosedJaxpr, args: Sequence[Any]) -> list[Any]:
    """Emit ``closed`` at the current insertion point (its constants become HLO constants)."""
    consts = [constant(np.asarray(c), v.aval) for c, v in zip(closed.consts, closed.jaxpr.constvars)]
    return jaxpr_subcomp(module_ctx, closed.jaxpr, consts, list(args))


def const_ids(closed: ClosedJaxpr) -> tuple[int, ...]:
    return tuple(id(c) for c in closed.consts)


# ----------------------------------------------------------------------------------------------
# Transformations of sub-programs, cached on the jaxpr

def cache_on_jaxpr(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Memoise ``fn(closed, *hashable_args)`` weakly on ``closed.jaxpr`` (and its constants)."""
    cache: "weakref.WeakKeyDictionary[Jaxpr, dict[Any, Any]]" = weakref.WeakKeyDictionary()

    @functools.wraps(fn)
    def cached(closed: ClosedJaxpr, *args: Any) -> Any:
        key = (args, dtypes._x64())
        per = cache.get(closed.jaxpr)
        if per is None:
            per = cache[closed.jaxpr] = {}
        entry = per.get(key)
        if entry is not None and len(entry[0]) == len(closed.consts) and all(
                a is b for a, b in zip(entry[0], closed.consts)):
            return entry[1]
        result = fn(closed, *args)
        per[key] = (list(closed.consts), result)
        return result

    return cached


_reorder = cache_on_jaxpr(_reorder_impl)
_add_unused_inputs = cache_on_jaxpr(_add_unused_inputs_impl)
_keep_outputs = cache_on_jaxpr(_keep_outputs_impl)


@cache_on_jaxpr
def jvp_closed(closed: ClosedJaxpr, nonzeros: tuple[bool, ...], instantiate: tuple[bool, ...]
               ) -> tuple[ClosedJaxpr, list[bool]]:
    """``jvp_jaxpr``: inputs [primals, nonzero tangents] -> [primals, produced tangents]."""
    from ...transforms.jvp import jvp_jaxpr
    return jvp_jaxpr(closed, list(nonzeros), list(instantiate))


@cache_on_jaxpr
def partial_eval_closed(closed: ClosedJaxpr, unknowns: tuple[bool, ...], instantiate: tuple[bool, ...]
                        ) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], int]:
    """``partial_eval_jaxpr``: (known, unknown, out_unknowns, num_residuals)."""
    from ...transforms.partial_eval import partial_eval_jaxpr
    return partial_eval_jaxpr(closed, list(unknowns), list(instantiate))


@cache_on_jaxpr
def batch_closed(closed: ClosedJaxpr, axis_size: int, in_batched: tuple[bool, ...],
                 instantiate: tuple[bool, ...], axis_name: Any) -> tuple[ClosedJaxpr, list[bool]]:
    """Batch ``closed`` with batched inputs (and outputs) at axis 0.

    An output is batched when it depends on a batched input or is listed in ``instantiate``;
    returns the batched jaxpr and which outputs are batched.
    """
    from ...transforms.batching import batch_jaxpr
    in_dims = [0 if b else None for b in in_batched]
    new, dims = batch_jaxpr(closed, axis_size, in_dims, out_dims=None, axis_name=axis_name)
    out_batched = [d is not None or inst for d, inst in zip(dims, instantiate)]
    targets = [0 if b else None for b in out_batched]
    if list(dims) != targets:
        new, _ = batch_jaxpr(closed, axis_size, in_dims, out_dims=targets, axis_name=axis_name)
    return new, out_batched


def out_batched_of(closed: ClosedJaxpr, axis_size: int, in_batched: Sequence[bool], axis_name: Any) -> list[bool]:
    return batch_closed(closed, axis_size, tuple(in_batched), (False,) * len(closed.out_avals), axis_name)[1]


# ----------------------------------------------------------------------------------------------
# Eager evaluation: one compiled program per (sub-programs, parameters, argument types)

_exec_cache: "weakref.WeakKeyDictionary[Jaxpr, dict[Any, Any]]" = weakref.WeakKeyDictionary()


def eager_impl(primitive: Any, args: Sequence[Any], params: dict[str, Any],
               jaxprs: Sequence[ClosedJaxpr]) -> list[Any]:
    """Run one equation of ``primitive`` now. ``jaxprs`` are its sub-programs (the first keys
    the cache weakly; the others are kept alive by the entry so their ids stay valid)."""
    from ...array import Array, from_buffer
    from ...dispatch import compile_jaxpr, to_array
    from ...jit import _device_for, _on_device
    arrays = [a if type(a) is Array else to_array(a) for a in args]
    device = _device_for(arrays)
    simple = tuple((k, v) for k, v in sorted(params.items()) if not _holds_jaxpr(v))
    key = (primitive, device, tuple(a.aval for a in arrays), simple,
           tuple(id(j.jaxpr) for j in jaxprs[1:]), tuple(const_ids(j) for j in jaxprs))
    per = _exec_cache.setdefault(jaxprs[0].jaxpr, {})
    entry = per.get(key)
    if entry is None:
        out_avals = primitive.abstract_eval(*[a.aval for a in arrays], **params)
        invars = [Var(a.aval) for a in arrays]
        outvars = [Var(a) for a in out_avals]
        program = ClosedJaxpr(Jaxpr([], invars, outvars, [JaxprEqn(primitive, invars, params, outvars)]), [])
        executable = compile_jaxpr(program, device, name=primitive.name)
        others = [j for j in jaxprs[1:] if j.jaxpr is not jaxprs[0].jaxpr]  # never hold the key
        entry = per[key] = (executable, others, [j.consts for j in jaxprs])
    executable = entry[0]
    bufs = [_on_device(a, device) for a in arrays]
    outs = executable.run_checked(bufs, primitive.name)
    return [from_buffer(b, a) for b, a in zip(outs, executable.out_avals)]


def _holds_jaxpr(value: Any) -> bool:
    if isinstance(value, (ClosedJaxpr, Jaxpr)):
        return True
    return isinstance(value, tuple) and any(isinstance(v, (ClosedJaxpr, Jaxpr)) for v in value)
