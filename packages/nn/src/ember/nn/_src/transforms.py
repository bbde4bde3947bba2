"""Lifted transforms: ``grad``, ``value_and_grad``, ``vmap``, ``scan``, ``remat``, ``cond``,
``switch``, ``eval_shape`` over functions that take and return Modules.

Each is "split -> ember.core transform -> merge": the arguments' module graphs are pulled out
(``lift.Extracted``), the transform runs a pure function of their leaf values that rebuilds
fresh modules, calls the user function and walks them again, and the results are written back
into the caller's objects (``lift.apply_back``). Mutations made inside (BatchNorm statistics, RNG
counters, caches, new intermediates) therefore propagate out, shared submodules stay shared,
and modules created inside (an ensemble under ``vmap``) come out as modules.

Non-array leaves of the arguments (Python numbers, strings, flags) stay Python values inside
these transforms (they are not traced); ``nn.jit`` follows ``ec.jit`` instead.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> model = nn.Linear(3, 1, rngs=nn.Rngs(0))
    >>> grads = nn.grad(lambda m, x: m(x).sum())(model, jnp.ones((2, 3)))
    >>> grads["kernel"].value.tolist()       # a State of Params holding gradients
    [[2.0], [2.0], [2.0]]
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax

from . import filters as filterlib
from . import lift
from .graph import is_graph_object
from .state import from_flat_state
from .variables import Param, Variable, _make

__all__ = ["grad", "value_and_grad", "vmap", "scan", "remat", "cond", "switch", "eval_shape", "StateAxes",
           "Carry", "DiffState"]


class _CarryType:
    """Marker for ``nn.scan``'s ``in_axes``/``out_axes``: this argument/output is the loop carry."""

    _instance = None

    def __new__(cls) -> "_CarryType":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "Carry"

    def __reduce__(self):
        return (_CarryType, ())


Carry = _CarryType()


class StateAxes:
    """Per-filter axes for a module argument of ``vmap``/``scan``: ``StateAxes({nn.Param: 0, ...: None})``.

    Filters are tried in order; each state leaf gets the axis of the first filter it matches.
    """

    def __init__(self, filter_axes: dict | Sequence[tuple[Any, Any]]):
        items = list(filter_axes.items()) if isinstance(filter_axes, dict) else list(filter_axes)
        self.filters = tuple(f for f, _ in items)
        self.axes = tuple(a for _, a in items)
        self.predicates = tuple(filterlib.to_predicate(f) for f in self.filters)

    def axis_for(self, path: tuple, value: Any) -> Any:
        for pred, axis in zip(self.predicates, self.axes):
            if pred(path, value):
                return axis
        raise ValueError(f"StateAxes: no filter matched {'/'.join(map(str, path))}; add '...' as the last filter")

    def items(self):
        return zip(self.filters, self.axes)

    def __repr__(self) -> str:
        return f"StateAxes({dict(zip(self.filters, self.axes))!r})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, StateAxes) and self.predicates == other.predicates and self.axes == other.axes

    def __hash__(self) -> int:
        return hash((self.predicates, self.axes))


class DiffState:
    """``argnums`` entry of ``nn.grad``: differentiate argument ``argnum`` with respect to the
    state matching ``filter`` (e.g. ``DiffState(0, nn.LoRAParam)``)."""

    def __init__(self, argnum: int, filter: Any):
        self.argnum = argnum
        self.filter = filter

    def __repr__(self) -> str:
        return f"DiffState({self.argnum}, {self.filter!r})"


def _is_spec_leaf(x: Any) -> bool:
    return x is None or isinstance(x, (int, StateAxes, _CarryType))


def _leaf_specs(prefix: Any, tree: Any) -> list:
    """The spec (an int, None, Carry or StateAxes) of each leaf of ``tree`` (graph objects are
    leaves), given a prefix of ``tree``."""
    if _is_spec_leaf(prefix):
        return [prefix] * len(ec.tree.leaves(tree, is_leaf=is_graph_object))
    if isinstance(prefix, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(prefix) != len(tree):
            raise ValueError(f"axes {prefix!r} do not match the structure of the arguments/outputs "
                             f"({len(prefix)} specs for {len(tree)} entries)")
        return [s for p, t in zip(prefix, tree) for s in _leaf_specs(p, t)]
    if isinstance(prefix, dict) and isinstance(tree, dict):
        return [s for k in sorted(tree) for s in _leaf_specs(prefix[k], tree[k])]
    raise ValueError(f"axes {prefix!r} are not a prefix of {type(tree).__name__}")


def _spec_axis(spec: Any, path: tuple, value: Any) -> Any:
    return spec.axis_for(path, value) if isinstance(spec, StateAxes) else spec


class _Call:
    """One lifted call: the outer extraction plus per-leaf bookkeeping."""

    def __init__(self, args: tuple, kwargs: dict, *, trace_scalars: bool = False):
        self.ext = lift.Extracted((args, kwargs))
        leaves = self.ext.leaves
        self.static_pos = [i for i in self.ext.dyn_pos if not trace_scalars and lift.is_static_leaf(leaves[i])]
        static = set(self.static_pos)
        self.array_pos = [i for i in self.ext.dyn_pos if i not in static]

    def make_pure(self, fun: Callable, box: list) -> Callable:
        """pure(graph_values, array_leaves) -> (new graph values, output leaves); info appended to box."""
        ext = self.ext
        array_pos = self.array_pos

        def pure(values: list, arrays: list) -> Any:
            roots, builder = lift.rebuild(ext.defs, list(values))
            leaves = list(ext.leaves)
            for i, r in zip(ext.root_pos, roots):
                leaves[i] = r
            for i, v in zip(array_pos, arrays):
                leaves[i] = v
            args, kwargs = ext.treedef.unflatten(leaves)
            out = fun(*args, **kwargs)
            after = lift.split_after(roots, builder, out)
            box.append(after._replace(values=None))
            return after.values, after.out_leaves

        return pure

    def finish(self, after: lift.After, values: list, out_leaves: list, *, reuse: bool = True) -> Any:
        out_roots = lift.apply_back(self.ext.objects, after.defs, values, after.mapping, after.n_in,
                                    reuse_outer=reuse)
        leaves = list(out_leaves)
        for pos, root in zip(after.out_root_pos, out_roots):
            leaves[pos] = root
        return after.out_treedef.unflatten(leaves)

    def arrays(self) -> list:
        return [self.ext.leaves[i] for i in self.array_pos]


# ------------------------------------------------------------------------------------------------
# grad / value_and_grad

def _normalize_argnums(argnums: Any, wrt: Any) -> tuple[list[tuple[int, Any]], bool]:
    single = isinstance(argnums, (int, DiffState))
    items = [argnums] if single else list(argnums)
    out = []
    for a in items:
        if isinstance(a, DiffState):
            out.append((a.argnum, a.filter))
        else:
            out.append((int(a), wrt))
    return out, single


def value_and_grad(f: Callable | None = None, argnums: int | DiffState | Sequence[int | DiffState] = 0,
                   has_aux: bool = False, *, holomorphic: bool = False, allow_int: bool = False,
                   wrt: Any = Param) -> Callable:
    """``ec.value_and_grad`` for functions of modules.

    For a module argument the gradient is a ``State`` of the Variables matching ``wrt`` (default
    ``nn.Param``; per argument with ``DiffState(argnum, filter)``), holding the gradients. Other
    arguments are differentiated as usual. State mutations inside ``f`` propagate back.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> m = nn.LoRALinear(2, 2, lora_rank=1, rngs=nn.Rngs(0))
    >>> loss, g = nn.value_and_grad(lambda m: (m(jnp.ones((1, 2))) ** 2).sum(), wrt=nn.LoRAParam)(m)
    >>> sorted(g["lora"].keys())                     # only the adapters
    ['lora_a', 'lora_b']
    """
    if f is None:
        return functools.partial(value_and_grad, argnums=argnums, has_aux=has_aux, holomorphic=holomorphic,
                                 allow_int=allow_int, wrt=wrt)
    return _grad_impl(f, argnums, has_aux, holomorphic, allow_int, wrt, return_value=True)


def grad(f: Callable | None = None, argnums: int | DiffState | Sequence[int | DiffState] = 0,
         has_aux: bool = False, *, holomorphic: bool = False, allow_int: bool = False,
         wrt: Any = Param) -> Callable:
    """``ec.grad`` for functions of modules (see :func:`value_and_grad`).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> m = nn.Linear(2, 1, rngs=nn.Rngs(0))
    >>> g = nn.grad(lambda m, x: m(x).sum())(m, jnp.ones((4, 2)))
    >>> g["bias"].value.tolist()
    [4.0]
    """
    if f is None:
        return functools.partial(grad, argnums=argnums, has_aux=has_aux, holomorphic=holomorphic,
                                 allow_int=allow_int, wrt=wrt)
    return _grad_impl(f, argnums, has_aux, holomorphic, allow_int, wrt, return_value=False)


def _grad_impl(f: Callable, argnums: Any, has_aux: bool, holomorphic: bool, allow_int: bool, wrt: Any,
               return_value: bool) -> Callable:
    @functools.wraps(f)
    def wrapper(*args: Any) -> Any:
        items, single = _normalize_argnums(argnums, wrt)
        call = _Call(args, {})
        ext = call.ext
        # top-level argument of each flat leaf
        arg_of_leaf: list[int] = []
        for i, a in enumerate(args):
            arg_of_leaf += [i] * len(ec.tree.leaves(a, is_leaf=is_graph_object))
        root_arg = [arg_of_leaf[i] for i in ext.root_pos]
        array_index = {pos: j for j, pos in enumerate(call.array_pos)}
        leaf_objs = ext.leaf_objects()

        diff_specs = []  # per argnum: ("graph", [graph leaf indices], [(root k, path)]) or ("array", [array idx])
        for argnum, filt in items:
            if argnum >= len(args):
                raise ValueError(f"nn.grad: argnums {argnum} but the function got {len(args)} arguments")
            roots_here = [k for k, a in enumerate(root_arg) if a == argnum]
            if roots_here:
                pred = filterlib.to_predicate(filt)
                idxs = []
                for k in roots_here:
                    start, stop = ext.root_ranges[k]
                    for j in range(start, stop):
                        if pred(ext.paths[j], leaf_objs[j]):
                            idxs.append(j)
                diff_specs.append(("graph", idxs, roots_here))
            else:
                idxs = [array_index[p] for p, a in enumerate(arg_of_leaf) if a == argnum and p in array_index]
                diff_specs.append(("array", idxs, argnum))

        diff_graph = sorted({j for s in diff_specs if s[0] == "graph" for j in s[1]})
        diff_arrays = sorted({j for s in diff_specs if s[0] == "array" for j in s[1]})
        dg_set, da_set = set(diff_graph), set(diff_arrays)
        rest_graph = [j for j in range(len(ext.values)) if j not in dg_set]
        arrays = call.arrays()
        rest_arrays = [j for j in range(len(arrays)) if j not in da_set]
        box: list = []
        changed_box: list = []
        inner = call.make_pure(f, box)
        n_values = len(ext.values)

        def pure(diff: tuple, rest: tuple) -> Any:
            dg, da = diff
            rg, ra = rest
            values: list = [None] * n_values
            for j, v in zip(diff_graph, dg):
                values[j] = v
            for j, v in zip(rest_graph, rg):
                values[j] = v
            arr: list = [None] * len(arrays)
            for j, v in zip(diff_arrays, da):
                arr[j] = v
            for j, v in zip(rest_arrays, ra):
                arr[j] = v
            new_values, out_leaves = inner(values, arr)
            after = box[-1]
            out = after.out_treedef.unflatten(out_leaves)
            loss = out[0] if has_aux else out
            # only the state that changed leaves the differentiated function: unchanged values
            # would be extra outputs (with zero cotangents) for no reason
            same = after.defs == ext.defs and len(new_values) == len(values)
            changed = [j for j, v in enumerate(new_values) if not (same and v is values[j])]
            changed_box.append((same, changed))
            return loss, ([new_values[j] for j in changed], out_leaves)

        diff_in = ([ext.values[j] for j in diff_graph], [arrays[j] for j in diff_arrays])
        rest_in = ([ext.values[j] for j in rest_graph], [arrays[j] for j in rest_arrays])
        # ec.value_and_grad(has_aux=True) returns aux values that depend on the inputs as leaked JVP
        # tracers (an ember.core bug), so the aux outputs go through ec.vjp as ordinary outputs with
        # zero cotangents instead.
        (loss, aux_out), f_vjp = ec.vjp(lambda d: pure(d, rest_in), diff_in)
        if getattr(loss, "shape", ()) != ():
            raise TypeError(f"nn.grad: the function must return a scalar, got shape {loss.shape}")
        (g_graph, g_arrays), = f_vjp((jnp.ones_like(loss), ec.tree.map(jnp.zeros_like, aux_out)))
        changed_values, out_leaves = aux_out
        same, changed = changed_box[-1]
        new_values = list(ext.values) if same else [None] * len(changed)
        for j, v in zip(changed, changed_values):
            new_values[j] = v
        after = box[-1]
        full = call.finish(after, new_values, out_leaves)
        aux = full[1] if has_aux else None

        g_graph_map = dict(zip(diff_graph, g_graph))
        g_array_map = dict(zip(diff_arrays, g_arrays))
        grads = []
        for spec, (argnum, _) in zip(diff_specs, items):
            if spec[0] == "graph":
                grads.append(_graph_grads(call, spec[2], g_graph_map, args[argnum]))
            else:
                leaves, td = ec.tree.flatten(args[argnum], is_leaf=is_graph_object)
                arg_leaf_positions = [p for p, a in enumerate(arg_of_leaf) if a == argnum]
                gl = []
                for p in arg_leaf_positions:
                    j = array_index.get(p)
                    gl.append(g_array_map.get(j) if j is not None else None)
                grads.append(td.unflatten(gl))
        g = grads[0] if single else tuple(grads)
        if return_value:
            return ((loss, aux), g) if has_aux else (loss, g)
        return (g, aux) if has_aux else g

    return wrapper


def _graph_grads(call: _Call, roots_here: list, g_map: dict, arg: Any) -> Any:
    ext = call.ext
    leaf_objs = ext.leaf_objects()
    states = []
    for k in roots_here:
        start, stop = ext.root_ranges[k]
        pairs = []
        for j in range(start, stop):
            if j in g_map:
                obj = leaf_objs[j]
                g = g_map[j]
                pairs.append((ext.paths[j], _make(type(obj), g, dict(obj._meta)) if isinstance(obj, Variable) else g))
        states.append(from_flat_state(pairs))
    if is_graph_object(arg):
        return states[0]
    leaves, td = ec.tree.flatten(arg, is_leaf=is_graph_object)
    it = iter(states)
    return td.unflatten([next(it) if is_graph_object(x) else None for x in leaves])


# ------------------------------------------------------------------------------------------------
# helpers for axes

def _leaf_defs(after: lift.After) -> list:
    """The VarDef (or None for a raw array) of each leaf of ``after``, in walk order."""
    out: list = []
    for d in after.defs:
        _collect_leaf_defs(d, out)
    return out


def _collect_leaf_defs(d: Any, out: list) -> None:
    kind = d[0]
    if kind == "node":
        for _, sub in d.attrs:
            _collect_leaf_defs(sub, out)
    elif kind == "var":
        out.append(d)
    elif kind == "leaf":
        out.append(None)
    elif kind == "tree":
        for _, sub in d.children:
            _collect_leaf_defs(sub, out)


def _typed(d: Any, value: Any) -> Any:
    """A stand-in leaf with the right Variable type and metadata, for matching filters."""
    return value if d is None else _make(d.type, value, dict(d.meta.items))


def _graph_leaf_axes(call: "_Call", specs: list) -> list:
    ext = call.ext
    leaf_objs = ext.leaf_objects()
    axes: list = [None] * len(ext.values)
    for k, pos in enumerate(ext.root_pos):
        start, stop = ext.root_ranges[k]
        for j in range(start, stop):
            axes[j] = _spec_axis(specs[pos], ext.paths[j], leaf_objs[j])
    return axes


def _after_leaf_axes(after: lift.After, root_specs: list, values: list) -> list:
    defs = _leaf_defs(after)
    axes = []
    for k, (start, stop) in enumerate(after.root_ranges):
        spec = root_specs[k]
        for j in range(start, stop):
            if isinstance(spec, StateAxes):
                axes.append(spec.axis_for(after.paths[j], _typed(defs[j], values[j])))
            else:
                axes.append(spec)
    return axes


def _check_axis(a: Any, all_axes: list) -> None:
    if a not in all_axes:
        raise ValueError(f"axis {a!r} is not among the declared in_axes/out_axes {all_axes}")


def _collect_axes(*specs: Any) -> list:
    found: list = []

    def visit(s: Any) -> None:
        if isinstance(s, StateAxes):
            for a in s.axes:
                visit(a)
        elif isinstance(s, (tuple, list)):
            for x in s:
                visit(x)
        elif isinstance(s, dict):
            for x in s.values():
                visit(x)
        elif s is None or (isinstance(s, int) and not isinstance(s, bool)):
            if s not in found:
                found.append(s)

    for s in specs:
        visit(s)
    if 0 not in found:
        found.append(0)
    return found


def _in_specs(in_axes: Any, args: tuple, kwargs: dict, kw_spec: Any) -> list:
    prefix = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    specs = _leaf_specs(prefix, args)
    return specs + [kw_spec] * len(ec.tree.leaves(kwargs, is_leaf=is_graph_object))


# ------------------------------------------------------------------------------------------------
# vmap

def vmap(f: Callable | None = None, *, in_axes: Any = 0, out_axes: Any = 0, axis_name: Any = None,
         axis_size: int | None = None, spmd_axis_name: Any = None) -> Callable:
    """``ec.vmap`` over functions of modules.

    A module argument's axis may be an int (all its state has that batch axis), ``None``
    (broadcast) or ``StateAxes({filter: axis, ...})``. Modules created inside come out with their
    state stacked along ``out_axes`` (this is how ensembles are built), and mutations of batched
    state are written back batched.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> @nn.split_rngs(splits=4)
    ... @nn.vmap(in_axes=0, out_axes=0)
    ... def ensemble(rngs):
    ...     return nn.Linear(3, 2, rngs=rngs)
    >>> models = ensemble(nn.Rngs(0))
    >>> forward = nn.vmap(lambda m, x: m(x), in_axes=(0, None))
    >>> forward(models, jnp.ones((5, 3))).shape
    (4, 5, 2)
    """
    if f is None:
        return functools.partial(vmap, in_axes=in_axes, out_axes=out_axes, axis_name=axis_name,
                                 axis_size=axis_size, spmd_axis_name=spmd_axis_name)

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(args, kwargs)
        ext = call.ext
        specs = _in_specs(in_axes, args, kwargs, 0)
        graph_axes = _graph_leaf_axes(call, specs)
        array_axes = [specs[pos] for pos in call.array_pos]
        if any(isinstance(a, StateAxes) for a in array_axes):
            raise ValueError("nn.vmap: StateAxes can only be the axis of a module argument")
        all_axes = _collect_axes(in_axes, out_axes)
        box: list = []
        plan: list = []
        inner = call.make_pure(f, box)
        in_root_specs = [specs[pos] for pos in ext.root_pos]

        def pure(groups_in: tuple) -> tuple:
            it = {a: iter(g) for a, g in zip(all_axes, groups_in)}
            values = [next(it[a]) for a in graph_axes]
            arrays = [next(it[a]) for a in array_axes]
            new_values, out_leaves = inner(values, arrays)
            after = box[-1]
            out_specs = _leaf_specs(out_axes, after.out_treedef.unflatten(list(range(len(out_leaves)))))
            root_specs = in_root_specs + [out_specs[p] for p in after.out_root_pos]
            groups_out: dict = {a: [] for a in all_axes}
            where_values = []
            for a, v in zip(_after_leaf_axes(after, root_specs, new_values), new_values):
                _check_axis(a, all_axes)
                where_values.append((a, len(groups_out[a])))
                groups_out[a].append(v)
            where_out = []
            roots_out = set(after.out_root_pos)
            for i, x in enumerate(out_leaves):
                if i in roots_out or x is None:
                    where_out.append(None)
                    continue
                a = out_specs[i]
                _check_axis(a, all_axes)
                where_out.append((a, len(groups_out[a])))
                groups_out[a].append(x)
            plan.append((where_values, where_out))
            return tuple(groups_out[a] for a in all_axes)

        groups_in: dict = {a: [] for a in all_axes}
        for a, v in zip(graph_axes, ext.values):
            _check_axis(a, all_axes)
            groups_in[a].append(v)
        for a, v in zip(array_axes, call.arrays()):
            _check_axis(a, all_axes)
            groups_in[a].append(v)
        ins = tuple(groups_in[a] for a in all_axes)
        outs = ec.vmap(pure, in_axes=(tuple(all_axes),), out_axes=tuple(all_axes), axis_name=axis_name,
                       axis_size=axis_size, spmd_axis_name=spmd_axis_name)(ins)
        after = box[-1]
        where_values, where_out = plan[-1]
        by_axis = dict(zip(all_axes, outs))
        new_values = [by_axis[a][i] for a, i in where_values]
        out_leaves = [None if w is None else by_axis[w[0]][w[1]] for w in where_out]
        return call.finish(after, new_values, out_leaves)

    return wrapper


# ------------------------------------------------------------------------------------------------
# scan

def scan(f: Callable | None = None, *, length: int | None = None, reverse: bool = False, unroll: int | bool = 1,
         in_axes: Any = (Carry, 0), out_axes: Any = (Carry, 0)) -> Callable:
    """``lax.scan`` over functions of modules.

    ``in_axes`` gives, per argument, ``nn.Carry`` (the loop carry), an int (scanned along that
    axis), ``None`` (broadcast, read-only) or ``StateAxes`` for a module. ``out_axes`` is
    ``nn.Carry`` (``f`` returns the carry), or a tuple such as ``(nn.Carry, 0)`` (``f`` returns
    ``(carry, y)`` and the ys are stacked). Scanned module state that ``f`` mutates comes back
    stacked. Scanning over layers: stack the layers' params (create them under ``nn.vmap``) and
    scan with the stacked module at axis 0.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> @nn.split_rngs(splits=3)
    ... @nn.vmap(in_axes=0, out_axes=0)
    ... def make(rngs):
    ...     return nn.Linear(4, 4, rngs=rngs)
    >>> layers = make(nn.Rngs(0))
    >>> forward = nn.scan(lambda x, layer: nn.relu(layer(x)), in_axes=(nn.Carry, 0), out_axes=nn.Carry)
    >>> forward(jnp.ones((2, 4)), layers).shape
    (2, 4)
    """
    if f is None:
        return functools.partial(scan, length=length, reverse=reverse, unroll=unroll, in_axes=in_axes,
                                 out_axes=out_axes)

    @functools.wraps(f)
    def wrapper(*args: Any) -> Any:
        call = _Call(args, {})
        ext = call.ext
        specs = _in_specs(in_axes, args, {}, None)
        graph_axes = _graph_leaf_axes(call, specs)
        array_axes = [specs[pos] for pos in call.array_pos]
        if any(isinstance(a, StateAxes) for a in array_axes):
            raise ValueError("nn.scan: StateAxes can only be the axis of a module argument")
        arrays = call.arrays()

        def classify(axes: list) -> tuple[list, list, list]:
            c = [j for j, a in enumerate(axes) if a is Carry]
            s = [j for j, a in enumerate(axes) if isinstance(a, int) and not isinstance(a, bool)]
            b = [j for j, a in enumerate(axes) if a is None]
            return c, s, b

        gc, gs, gb = classify(graph_axes)
        ac, as_, ab = classify(array_axes)
        box: list = []
        plan: list = []
        inner = call.make_pure(f, box)
        n_values = len(ext.values)
        bvals_g = [ext.values[j] for j in gb]
        bvals_a = [arrays[j] for j in ab]

        def body(carry: tuple, xs: tuple) -> tuple:
            cg, ca = carry
            xg, xa = xs
            values: list = [None] * n_values
            for j, v in zip(gc, cg):
                values[j] = v
            for j, v in zip(gs, xg):
                values[j] = v
            for j, v in zip(gb, bvals_g):
                values[j] = v
            arr: list = [None] * len(arrays)
            for j, v in zip(ac, ca):
                arr[j] = v
            for j, v in zip(as_, xa):
                arr[j] = v
            for j, v in zip(ab, bvals_a):
                arr[j] = v
            new_values, out_leaves = inner(values, arr)
            after = box[-1]
            if after.defs[:after.n_in] != ext.defs or any(after.defs[k][0] != "ref"
                                                           for k in range(after.n_in, len(after.defs))):
                raise ValueError("nn.scan: the function changed the structure of its modules (e.g. created "
                                 "Variables with sow) or returned new modules; this is not supported inside scan")
            for j in gb:
                if new_values[j] is not values[j]:
                    raise ValueError(f"nn.scan: broadcast state {'/'.join(map(str, ext.paths[j]))} was mutated; "
                                     "give it nn.Carry or a scan axis")
            out_specs = _leaf_specs(out_axes, after.out_treedef.unflatten(list(range(len(out_leaves)))))
            roots_out = set(after.out_root_pos)
            c_pos = [i for i, s in enumerate(out_specs) if s is Carry and i not in roots_out]
            y_pos = [i for i, s in enumerate(out_specs) if s is not Carry and i not in roots_out]
            for i in roots_out:
                if out_specs[i] is not Carry:
                    raise ValueError("nn.scan: modules can only be returned as (part of) the carry")
            if any(out_specs[i] is None or isinstance(out_specs[i], StateAxes) for i in y_pos):
                raise ValueError("nn.scan: out_axes entries must be nn.Carry or an int axis")
            plan.append((c_pos, y_pos, [out_specs[i] for i in y_pos]))
            new_carry = ([new_values[j] for j in gc], [out_leaves[i] for i in c_pos])
            ys = ([new_values[j] for j in gs], [out_leaves[i] for i in y_pos])
            return new_carry, ys

        init = ([ext.values[j] for j in gc], [arrays[j] for j in ac])
        xs = ([_to_front(ext.values[j], graph_axes[j]) for j in gs],
              [_to_front(arrays[j], array_axes[j]) for j in as_])
        (cg, ca), (yg, ya) = lax.scan(body, init, xs, length=length, reverse=reverse, unroll=unroll)
        after = box[-1]
        c_pos, y_pos, y_axes = plan[-1]
        new_values = list(ext.values)
        for j, v in zip(gc, cg):
            new_values[j] = v
        for j, v in zip(gs, yg):
            new_values[j] = _from_front(v, graph_axes[j])
        n_out = len(after.out_leaves)
        out_leaves: list = [None] * n_out
        for i, v in zip(c_pos, ca):
            out_leaves[i] = v
        for i, v, a in zip(y_pos, ya, y_axes):
            out_leaves[i] = _from_front(v, a)
        return call.finish(after, new_values, out_leaves)

    return wrapper


def _to_front(x: Any, axis: int) -> Any:
    return x if axis == 0 else jnp.moveaxis(x, axis, 0)


def _from_front(x: Any, axis: int) -> Any:
    return x if axis == 0 else jnp.moveaxis(x, 0, axis)


# ------------------------------------------------------------------------------------------------
# remat / cond / switch / eval_shape: no axes

def remat(f: Callable | None = None, *, prevent_cse: bool = True, policy: Any = None,
          static_argnums: int | tuple[int, ...] = ()) -> Callable:
    """``ec.checkpoint`` (rematerialisation) for functions of modules.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> m = nn.Linear(2, 2, rngs=nn.Rngs(0))
    >>> g = nn.grad(lambda m, x: nn.remat(lambda m, x: m(x))(m, x).sum())(m, jnp.ones((1, 2)))
    >>> g["kernel"].shape
    (2, 2)
    """
    if f is None:
        return functools.partial(remat, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums)

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = _Call(args, kwargs)
        box: list = []
        inner = call.make_pure(f, box)
        new_values, out_leaves = ec.checkpoint(inner, prevent_cse=prevent_cse, policy=policy)(
            call.ext.values, call.arrays())
        return call.finish(box[-1], new_values, out_leaves)

    return wrapper


def cond(pred: Any, true_fun: Callable, false_fun: Callable, *operands: Any, **kwargs: Any) -> Any:
    """``lax.cond`` where operands may be modules; both branches must leave the same structure.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> m = nn.Linear(2, 2, rngs=nn.Rngs(0))
    >>> def double(m): m.kernel.value = m.kernel.value * 2
    >>> def keep(m): pass
    >>> before = m.kernel.value
    >>> nn.cond(True, double, keep, m)
    >>> bool((m.kernel.value == 2 * before).all())
    True
    """
    return switch(jnp.asarray(pred).astype(jnp.int32), [false_fun, true_fun], *operands, **kwargs)


def switch(index: Any, branches: Sequence[Callable], *operands: Any, **kwargs: Any) -> Any:
    """``lax.switch`` where operands may be modules (state mutated by the branch taken propagates)."""
    call = _Call(operands, kwargs)
    boxes: list[list] = [[] for _ in branches]
    pures = [call.make_pure(fn, box) for fn, box in zip(branches, boxes)]
    new_values, out_leaves = lax.switch(index, pures, call.ext.values, call.arrays())
    afters = [b[-1] for b in boxes]
    first = afters[0]
    for a in afters[1:]:
        if a.defs != first.defs or a.out_treedef != first.out_treedef:
            raise ValueError("nn.cond/nn.switch: the branches must leave the modules with the same structure "
                             "and return outputs of the same structure")
    return call.finish(first, new_values, out_leaves)


def eval_shape(f: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run ``f`` abstractly: modules it returns hold ``ShapeDtypeStruct``s instead of arrays, so a
    model can be "created" without allocating its parameters.

    >>> import ember.nn as nn
    >>> abstract = nn.eval_shape(lambda: nn.Linear(1024, 1024, rngs=nn.Rngs(0)))
    >>> abstract.kernel.value
    ShapeDtypeStruct(shape=(1024, 1024), dtype=float32)
    """
    call = _Call(args, kwargs)
    box: list = []
    inner = call.make_pure(f, box)
    new_values, out_leaves = ec.eval_shape(inner, call.ext.values, call.arrays())
    after = box[-1]
    out_roots = lift.apply_back([], after.defs, new_values, after.mapping, after.n_in, reuse_outer=False)
    leaves = list(out_leaves)
    for pos, root in zip(after.out_root_pos, out_roots):
        leaves[pos] = root
    return after.out_treedef.unflatten(leaves)



