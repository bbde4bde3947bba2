"""Graph functions: turn a module graph into (graphdef, state) and back.

A module graph is any set of Python objects connected by attributes: Modules (nodes), Variables
(state leaves), raw arrays stored on modules (also state), containers (tuples, lists, dicts and
other pytrees holding any of these) and static values. Objects reached twice (shared layers,
tied weights) are recorded once and referenced by index afterwards, which is also how
reference cycles are handled.

- ``split(node, *filters) -> (graphdef, state, ...)``: the structure (hashable, static) and
  the state, partitioned by filters.
- ``merge(graphdef, *states)``: rebuild the objects (sharing restored; Variables in the state
  are reused, ``copy=True`` copies them).
- ``state``, ``graphdef``, ``update``, ``clone``, ``pop``, ``iter_graph``, ``iter_modules``.

    >>> import ember.nn as nn
    >>> class Tied(nn.Module):
    ...     def __init__(self, rngs):
    ...         self.a = nn.Linear(2, 2, rngs=rngs)
    ...         self.b = self.a                       # shared
    >>> model = Tied(nn.Rngs(0))
    >>> graphdef, state = nn.split(model)
    >>> sorted(state.keys())                          # the shared layer appears once
    ['a']
    >>> copy = nn.merge(graphdef, state)
    >>> copy.a is copy.b
    True
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from typing import Any, Iterator, NamedTuple

import ember.core as ec

from . import filters as filterlib
from . import tracking
from .module import Module
from .state import State, from_flat_state, merge_state, sorted_keys
from .variables import Variable, _make, _Meta

__all__ = [
    "GraphDef", "split", "merge", "state", "graphdef", "update", "clone", "pop", "iter_graph",
    "iter_modules", "iter_children", "variables", "find_duplicates", "recursive_map",
]

is_array = tracking.is_array


# ------------------------------------------------------------------------------------------------
# The graph definition: nested tuples (hashable, comparable)

class NodeDef(NamedTuple):
    kind: str  # "node"
    type: type
    index: int
    attrs: tuple  # ((key, subdef), ...)


class VarDef(NamedTuple):
    kind: str  # "var"
    type: type
    index: int
    meta: _Meta


class RefDef(NamedTuple):
    kind: str  # "ref"
    index: int


# A static attribute is ("static", type, value) for plain immutable values (the type keeps 1,
# 1.0 and True apart) or ("hstatic", HashableValue) for anything else.
_PLAIN_STATIC = {str, int, float, bool, complex, bytes, type(None), type, types.FunctionType,
                 types.BuiltinFunctionType, types.MethodType, functools.partial}


def _static_def(value: Any) -> tuple:
    t = type(value)
    if t in _PLAIN_STATIC:
        return ("static", t, value)
    return ("hstatic", tracking.HashableValue(value))


class TreeDef(NamedTuple):
    kind: str  # "tree"
    treedef: Any
    children: tuple  # ((key path parts, subdef), ...)


LEAF = ("leaf",)
_EMPTY_META = _Meta({})


class GraphDef:
    """The static structure of a module graph: node types, attribute names, static attributes,
    Variable kinds and metadata, and which objects are shared. Hashable and comparable, so it
    can key caches and be a static argument of ``ec.jit``.

    ``graphdef.apply(state)(*args)`` calls the rebuilt module functionally and returns
    ``(output, new_state)``.
    """

    __slots__ = ("root", "leaf_paths", "_hash")

    def __init__(self, root: Any, leaf_paths: tuple):
        self.root = root
        self.leaf_paths = leaf_paths
        self._hash = None

    def __hash__(self) -> int:
        h = self._hash
        if h is None:
            h = self._hash = hash(self.root)
        return h

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, GraphDef):
            return False
        return self is other or (hash(self) == hash(other) and self.root == other.root)

    @property
    def num_leaves(self) -> int:
        return len(self.leaf_paths)

    @property
    def type(self) -> type:
        return self.root.type if self.root[0] == "node" else self.root.treedef

    def merge(self, state: Mapping, /, *states: Mapping) -> Any:
        return merge(self, state, *states)

    def apply(self, state: Mapping, *states: Mapping):
        """A function running the rebuilt module's ``__call__`` (or a method by attribute):
        returns ``(output, (graphdef, new_state))``.

        >>> import ember.core.numpy as jnp
        >>> import ember.nn as nn
        >>> g, s = nn.split(nn.Linear(2, 3, rngs=nn.Rngs(0)))
        >>> y, _ = g.apply(s)(jnp.ones((1, 2)))
        >>> y.shape
        (1, 3)
        """
        graphdef = self

        class _Caller:
            def __getattr__(self, name: str):
                def call(*args: Any, **kwargs: Any):
                    module = merge(graphdef, state, *states)
                    out = getattr(module, name)(*args, **kwargs)
                    return out, split(module)

                return call

            def __call__(self, *args: Any, **kwargs: Any):
                module = merge(graphdef, state, *states)
                out = module(*args, **kwargs)
                return out, split(module)

        return _Caller()

    def __repr__(self) -> str:
        name = self.root.type.__name__ if self.root[0] == "node" else "tree"
        return f"GraphDef({name}, num_leaves={len(self.leaf_paths)})"


# Register GraphDef as a pytree with no children: it can travel inside jit inputs/outputs.
ec.tree.register_pytree_node(GraphDef, lambda g: ((), g), lambda g, _: g)


# ------------------------------------------------------------------------------------------------
# Walking (object graph -> definitions + leaves)

def is_graph_node(x: Any) -> bool:
    return isinstance(x, Module)


def is_graph_object(x: Any) -> bool:
    """Graph nodes and Variables: the things lifted transforms take care of."""
    return isinstance(x, (Module, Variable))


def _key_part(k: Any) -> Any:
    for attr in ("key", "idx", "name"):
        if hasattr(k, attr):
            return getattr(k, attr)
    return k


def _is_stop(x: Any) -> bool:
    return isinstance(x, (Module, Variable))


class RawSlot:
    """Where a raw array stored on a module lives, so that a new value can be written back."""

    __slots__ = ("owner", "key", "position")

    def __init__(self, owner: Any, key: Any, position: int | None = None):
        self.owner = owner
        self.key = key
        self.position = position  # index among the leaves of a container attribute

    @property
    def _value(self) -> Any:
        value = self.owner._graph_get(self.key)
        if self.position is None:
            return value
        return ec.tree.leaves(value, is_leaf=_is_stop)[self.position]

    @_value.setter
    def _value(self, new: Any) -> None:
        if self.position is None:
            self.owner._graph_set(self.key, new)
            return
        container = self.owner._graph_get(self.key)
        leaves, treedef = ec.tree.flatten(container, is_leaf=_is_stop)
        leaves[self.position] = new
        self.owner._graph_set(self.key, treedef.unflatten(leaves))


class Walker:
    """One depth-first walk over one or more roots, sharing a single reference index."""

    __slots__ = ("index", "objects", "leaves", "slots", "build")

    def __init__(self, *, build: bool = True, slots: bool = False):
        self.index: dict[int, int] = {}
        self.objects: list[Any] = []
        self.leaves: list[tuple[tuple, Any]] = []
        self.slots: list[Any] | None = [] if slots else None
        self.build = build
        tracking.WALKS[0] += 1

    def root(self, obj: Any) -> Any:
        """Walk one root (a Module or a Variable); returns its definition."""
        return self.value(obj, (), None, None)

    def node(self, node: Any, path: tuple) -> Any:
        index = len(self.objects)
        self.index[id(node)] = index
        self.objects.append(node)
        if self.build:
            attrs = tuple([(key, self.value(value, path + (key,), node, key)) for key, value in node._graph_items()])
            return NodeDef("node", type(node), index, attrs)
        for key, value in node._graph_items():
            self.value(value, path + (key,), node, key)
        return None

    def value(self, value: Any, path: tuple, owner: Any, key: Any, position: int | None = None) -> Any:
        kind = _KINDS.get(type(value)) or classify(value)
        if kind is _STATIC:
            return _static_def(value) if self.build else None
        if kind is _NODE:
            i = self.index.get(id(value))
            if i is not None:
                return ("ref", i)
            return self.node(value, path)
        if kind is _VAR:
            i = self.index.get(id(value))
            if i is not None:
                return ("ref", i)
            index = len(self.objects)
            self.index[id(value)] = index
            self.objects.append(value)
            self.leaves.append((path, value))
            if self.slots is not None:
                self.slots.append(value)
            if self.build:
                meta = value._meta
                return VarDef("var", type(value), index, _Meta(meta) if meta else _EMPTY_META)
            return None
        if kind is _ARRAY:
            self.leaves.append((path, value))
            if self.slots is not None:
                self.slots.append(RawSlot(owner, key, position))
            return LEAF
        # a container (tuple, dict, other pytree): data inside it is state, the rest static
        if position is None:
            pairs, treedef = ec.tree.flatten_with_path(value, is_leaf=_is_stop)
            if any((_KINDS.get(type(v)) or classify(v)) in _DATA for _, v in pairs):
                children = []
                for i, (kpath, child) in enumerate(pairs):
                    parts = tuple(_key_part(k) for k in kpath)
                    children.append((parts, self.value(child, path + parts, owner, key, i)))
                return TreeDef("tree", treedef, tuple(children)) if self.build else None
        if self.build:
            return _static_def(value)
        return None


_NODE, _VAR, _ARRAY, _STATIC, _CONTAINER = "node", "var", "array", "static", "container"
_DATA = (_NODE, _VAR, _ARRAY)
_KINDS: dict[type, str] = {t: _STATIC for t in (str, int, float, bool, complex, type, bytes, type(None))}


def classify(value: Any) -> str:
    """What a value is to the graph: a node, a Variable, an array (state), a static leaf, or a
    container to look into. Decided once per type (pytree-ness and array-ness are per type)."""
    t = type(value)
    if isinstance(value, Module):
        kind = _NODE
    elif isinstance(value, Variable):
        kind = _VAR
    elif is_array(value):
        kind = _ARRAY
    else:
        leaves = ec.tree.leaves(value, is_leaf=_is_stop)
        kind = _STATIC if (len(leaves) == 1 and leaves[0] is value) else _CONTAINER
    _KINDS[t] = kind
    return kind


# ------------------------------------------------------------------------------------------------
# Building (definitions + leaves -> objects)

class Builder:
    """Rebuild objects from definitions, consuming leaf values in walk order.

    ``reuse`` maps definition indices to existing objects: those are updated in place instead of
    created (this is how lifted transforms write results back into the caller's objects).
    """

    __slots__ = ("values", "pos", "objects", "reuse", "copy", "changed")

    def __init__(self, values: list, *, reuse: dict[int, Any] | None = None, copy: bool = False):
        self.values = values
        self.pos = 0
        self.objects: dict[int, Any] = {}
        self.reuse = reuse
        self.copy = copy
        self.changed = False

    def build(self, d: Any) -> Any:
        kind = d[0]
        if kind == "node":
            return self.node(d)
        if kind == "var":
            leaf = self.values[self.pos]
            self.pos += 1
            existing = self.reuse.get(d.index) if self.reuse else None
            if existing is not None and type(existing) is d.type:
                existing._value = leaf._value if isinstance(leaf, Variable) else leaf
                new_meta = d.meta.items
                if existing._meta != new_meta:
                    object.__setattr__(existing, "_meta", dict(new_meta))
                var = existing
            elif isinstance(leaf, Variable):
                var = leaf.copy() if self.copy else leaf
            else:
                var = _make(d.type, leaf, dict(d.meta.items))
            self.objects[d.index] = var
            return var
        if kind == "ref":
            return self.objects[d[1]]
        if kind == "static":
            return d[2]
        if kind == "hstatic":
            return d[1].value
        if kind == "leaf":
            leaf = self.values[self.pos]
            self.pos += 1
            return leaf._value if isinstance(leaf, Variable) else leaf
        if kind == "tree":
            return d.treedef.unflatten([self.build(sub) for _, sub in d.children])
        raise AssertionError(f"unknown graph definition {d!r}")

    def node(self, d: NodeDef) -> Any:
        existing = self.reuse.get(d.index) if self.reuse else None
        if existing is not None and type(existing) is d.type:
            self.objects[d.index] = existing
            new = [(key, self.build(sub)) for key, sub in d.attrs]
            new_keys = {k for k, _ in new}
            for key in reversed(existing._graph_keys()):
                if key not in new_keys:
                    existing._graph_del(key)
                    self.changed = True
            for (key, value), (_, sub) in zip(new, d.attrs):
                current = existing._graph_get(key, _MISSING)
                if current is value:
                    continue
                existing._graph_set(key, value)
                # a new raw array (or a container whose only differences are arrays) is a value
                # update; anything else changes the structure
                if not (sub[0] == "leaf" or (sub[0] == "tree" and current is not _MISSING
                                              and _same_structure(current, value))):
                    self.changed = True
            return existing
        node = d.type._graph_new()
        self.objects[d.index] = node
        for key, sub in d.attrs:
            node._graph_set(key, self.build(sub))
        return node


_MISSING = object()


def _same_structure(a: Any, b: Any) -> bool:
    """Whether two containers hold the same graph objects and static values (arrays may differ)."""
    la, ta = ec.tree.flatten(a, is_leaf=_is_stop)
    lb, tb = ec.tree.flatten(b, is_leaf=_is_stop)
    if ta != tb:
        return False
    for x, y in zip(la, lb):
        if isinstance(x, (Module, Variable)) or isinstance(y, (Module, Variable)):
            if x is not y:
                return False
        elif not (is_array(x) and is_array(y)) and not tracking.static_equal(x, y):
            return False
    return True


# ------------------------------------------------------------------------------------------------
# Public graph functions

def _check_node(node: Any, fn: str) -> None:
    if isinstance(node, Module):
        return
    if isinstance(node, Variable) or is_array(node) or node is None or ec.tree.is_leaf(node):
        raise TypeError(f"nn.{fn} expects a Module (or a tuple/list/dict of them), got {type(node).__name__}")


def _partition(leaves: list, filters: tuple) -> tuple[State, ...]:
    preds = filterlib.filters_to_predicates(filters)
    buckets: list[list] = [[] for _ in preds]
    for path, v in leaves:
        for i, pred in enumerate(preds):
            if pred(path, v):
                buckets[i].append((path, v))
                break
        else:
            raise ValueError(
                f"non-exhaustive filters {filters!r}: nothing matched {'/'.join(map(str, path))} "
                f"({type(v).__name__}); add '...' as the last filter to collect the rest")
    return tuple(from_flat_state(b) for b in buckets)


def split(node: Any, *filters: Any) -> tuple:
    """``(graphdef, state)``, or ``(graphdef, state_1, ..., state_n)`` partitioned by filters.

    >>> import ember.nn as nn
    >>> model = nn.BatchNorm(3, rngs=nn.Rngs(0))
    >>> graphdef, params, stats = nn.split(model, nn.Param, nn.BatchStat)
    >>> sorted(params), sorted(stats)
    (['bias', 'scale'], ['mean', 'var'])
    """
    _check_node(node, "split")
    w = Walker()
    root = w.root(node)
    gd = GraphDef(root, tuple(p for p, _ in w.leaves))
    if not filters:
        return gd, from_flat_state(w.leaves)
    return (gd, *_partition(w.leaves, filters))


def _lookup(state: Mapping, path: tuple) -> Any:
    node: Any = state
    for k in path:
        try:
            node = node[k]
        except (KeyError, TypeError, IndexError):
            if isinstance(k, int) and isinstance(node, Mapping) and str(k) in node:
                node = node[str(k)]
                continue
            raise KeyError(f"merge: the state has no value at {'/'.join(map(str, path))}") from None
    return node


def merge(graphdef: GraphDef, state: Mapping, /, *states: Mapping, copy: bool = False) -> Any:
    """Rebuild the module graph described by ``graphdef`` with the given state(s).

    The Variables in the state become the new module's Variables (pass ``copy=True`` for copies).
    """
    if not isinstance(graphdef, GraphDef):
        raise TypeError(f"nn.merge expects a GraphDef first, got {type(graphdef).__name__}")
    if states:
        state = merge_state(state, *states)
    values = [_lookup(state, p) for p in graphdef.leaf_paths]
    return Builder(values, copy=copy).build(graphdef.root)


def state(node: Any, *filters: Any) -> Any:
    """The node's state as a ``State`` (one per filter if filters are given).

    >>> import ember.nn as nn
    >>> s = nn.state(nn.Linear(2, 3, rngs=nn.Rngs(0)), nn.Param)
    >>> s["kernel"].shape
    (2, 3)
    """
    _check_node(node, "state")
    w = Walker(build=False)
    w.root(node)
    if not filters:
        return from_flat_state(w.leaves)
    states = _partition(w.leaves, filters) if len(filters) > 1 else (
        from_flat_state([(p, v) for p, v in w.leaves if filterlib.to_predicate(filters[0])(p, v)]),)
    return states[0] if len(states) == 1 else states


def graphdef(node: Any) -> GraphDef:
    """The node's ``GraphDef`` alone."""
    _check_node(node, "graphdef")
    w = Walker()
    root = w.root(node)
    return GraphDef(root, tuple(p for p, _ in w.leaves))


def variables(node: Any, *filters: Any) -> Any:
    """Like :func:`state` (kept for NNX compatibility): the Variables by path."""
    return state(node, *filters)


def update(node: Any, state: Mapping, /, *states: Mapping) -> None:
    """Write the values (and metadata) of ``state`` into ``node``'s Variables, in place.

    Paths that do not exist in ``node`` are created (e.g. Intermediates recorded elsewhere).

    >>> import ember.nn as nn
    >>> a, b = nn.Linear(2, 2, rngs=nn.Rngs(0)), nn.Linear(2, 2, rngs=nn.Rngs(1))
    >>> nn.update(a, nn.state(b))
    >>> bool((a.kernel.value == b.kernel.value).all())
    True
    """
    _check_node(node, "update")
    if states:
        state = merge_state(state, *states)
    if isinstance(node, Module):
        _update_node(node, state)
    else:
        _update_container(node, state)


def _update_node(node: Any, state: Mapping) -> None:
    for key, new in state.items():
        current = node._graph_get(key, _MISSING)
        if current is _MISSING and isinstance(key, str) and key.isdigit():
            alt = node._graph_get(int(key), _MISSING)
            if alt is not _MISSING:
                key, current = int(key), alt
        if isinstance(current, Module) and isinstance(new, Mapping):
            _update_node(current, new)
        elif isinstance(current, Variable):
            if isinstance(new, Variable):
                current._value = new._value
                if new._meta != current._meta:
                    object.__setattr__(current, "_meta", dict(new._meta))
                    tracking.bump()
            else:
                current._value = new
        elif current is not _MISSING and isinstance(new, Mapping) and not is_array(current):
            node._graph_set(key, _update_container(current, new))
        else:
            if isinstance(new, Mapping):
                raise ValueError(f"update: cannot create the nested state at {key!r}: "
                                 f"{type(node).__name__} has no such submodule")
            node._graph_set(key, new)
            tracking.bump()


def _update_container(container: Any, new: Mapping) -> Any:
    pairs, treedef = ec.tree.flatten_with_path(container, is_leaf=_is_stop)
    leaves = []
    for kpath, leaf in pairs:
        parts = tuple(_key_part(k) for k in kpath)
        try:
            value = _lookup(new, parts)
        except KeyError:
            leaves.append(leaf)
            continue
        if isinstance(leaf, Module) and isinstance(value, Mapping):
            _update_node(leaf, value)
            leaves.append(leaf)
        elif isinstance(leaf, Variable):
            leaf._value = value._value if isinstance(value, Variable) else value
            leaves.append(leaf)
        else:
            leaves.append(value._value if isinstance(value, Variable) else value)
    return treedef.unflatten(leaves)


def clone(node: Any) -> Any:
    """A deep copy of the graph: new modules and new Variables (arrays are immutable, shared).

    >>> import ember.nn as nn
    >>> a = nn.Linear(2, 2, rngs=nn.Rngs(0))
    >>> b = nn.clone(a)
    >>> b.kernel is a.kernel, bool((b.kernel.value == a.kernel.value).all())
    (False, True)
    """
    gd, st = split(node)
    return merge(gd, st, copy=True)


def iter_graph(node: Any) -> Iterator[tuple[tuple, Any]]:
    """Every module, Variable and raw array of the graph once, with the path where it is first
    reached; children before their parent (the root comes last).

    >>> import ember.nn as nn
    >>> [(p, type(v).__name__) for p, v in nn.iter_graph(nn.Linear(2, 2, rngs=nn.Rngs(0)))]
    [(('bias',), 'Param'), (('kernel',), 'Param'), ((), 'Linear')]
    """
    seen: set[int] = set()
    yield from _iter(node, (), seen)


def _iter(value: Any, path: tuple, seen: set[int]) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, Module):
        if id(value) in seen:
            return
        seen.add(id(value))
        for key, child in value._graph_items():
            yield from _iter(child, path + (key,), seen)
        yield path, value
    elif isinstance(value, Variable):
        if id(value) in seen:
            return
        seen.add(id(value))
        yield path, value
    elif is_array(value):
        yield path, value
    elif value is not None and not isinstance(value, (str, int, float, bool, type, bytes)):
        pairs, _ = ec.tree.flatten_with_path(value, is_leaf=_is_stop)
        if len(pairs) == 1 and pairs[0][1] is value:
            return
        for kpath, child in pairs:
            if isinstance(child, (Module, Variable)) or is_array(child):
                yield from _iter(child, path + tuple(_key_part(k) for k in kpath), seen)


def iter_modules(node: Any) -> Iterator[tuple[tuple, Module]]:
    """Every module of the graph (the root last) with its path.

    >>> import ember.nn as nn
    >>> [p for p, _ in nn.iter_modules(nn.Sequential(nn.Linear(2, 2, rngs=nn.Rngs(0))))]
    [('layers', 0), ('layers',), ()]
    """
    for path, value in iter_graph(node):
        if isinstance(value, Module):
            yield path, value


def iter_children(node: Any) -> Iterator[tuple[Any, Module]]:
    """The direct child modules of ``node`` with their keys."""
    for key, value in node._graph_items():
        if isinstance(value, Module):
            yield key, value


def pop(node: Any, *filters: Any) -> Any:
    """Remove the Variables matching ``filters`` from the graph and return them as State(s).

    >>> import ember.nn as nn
    >>> m = nn.Module()
    >>> _ = m.sow(nn.Intermediate, "h", 1.0)
    >>> nn.pop(m, nn.Intermediate)["h"].value, hasattr(m, "h")
    ((1.0,), False)
    """
    _check_node(node, "pop")
    if not filters:
        raise ValueError("nn.pop needs at least one filter")
    preds = filterlib.filters_to_predicates(filters)
    w = Walker(build=False)
    w.root(node)
    buckets: list[list] = [[] for _ in preds]
    popped: set[int] = set()
    for path, v in w.leaves:
        if not isinstance(v, Variable):
            continue
        for i, pred in enumerate(preds):
            if pred(path, v):
                buckets[i].append((path, v))
                popped.add(id(v))
                break
    if popped:
        for obj in w.objects:
            if isinstance(obj, Module):
                for key, value in list(obj._graph_items())[::-1]:
                    if isinstance(value, Variable) and id(value) in popped:
                        obj._graph_del(key)
    states = tuple(from_flat_state(b) for b in buckets)
    return states[0] if len(states) == 1 else states


def recursive_map(f: Any, node: Any, /) -> Any:
    """A new graph where every value (module, Variable, array or static attribute) is replaced by
    ``f(path, value)``, children first. The modules are copies; the Variables are shared with
    ``node`` unless ``f`` replaces them. The usual tool for model surgery:

    >>> import ember.nn as nn
    >>> model = nn.Sequential(nn.Linear(4, 4, rngs=nn.Rngs(0)), nn.relu, nn.Linear(4, 2, rngs=nn.Rngs(1)))
    >>> def add_lora(path, value):
    ...     if type(value) is nn.Linear:
    ...         return nn.LoRA(value.in_features, 2, value.out_features, base_module=value, rngs=nn.Rngs(2))
    ...     return value
    >>> adapted = nn.recursive_map(add_lora, model)
    >>> [type(m).__name__ for m in adapted.layers[::2]], adapted.layers[0].base_module.kernel is model.layers[0].kernel
    (['LoRA', 'LoRA'], True)
    """
    _check_node(node, "recursive_map")
    gd, st = split(node)
    copy = merge(gd, st)
    results: dict[int, Any] = {}
    active: set[int] = set()
    return _recursive_map(f, copy, (), results, active)


def _recursive_map(f: Any, value: Any, path: tuple, results: dict, active: set) -> Any:
    if isinstance(value, (Module, Variable)):
        key = id(value)
        if key in results:
            return results[key]
        if key in active:
            raise ValueError(f"recursive_map: reference cycle at {'/'.join(map(str, path))}")
        active.add(key)
        if isinstance(value, Module):
            for k, child in value._graph_items():
                new = _recursive_map(f, child, path + (k,), results, active)
                if new is not child:
                    value._graph_set(k, new)
                    tracking.bump()
        out = f(path, value)
        results[key] = out
        active.discard(key)
        return out
    return f(path, value)


def find_duplicates(node: Any) -> list[list[tuple]]:
    """Groups of paths that reach the same module or Variable (shared references)."""
    paths: dict[int, list[tuple]] = {}
    _all_paths(node, (), paths, set())
    return [ps for ps in paths.values() if len(ps) > 1]


def _all_paths(value: Any, path: tuple, paths: dict, active: set) -> None:
    if isinstance(value, (Module, Variable)):
        paths.setdefault(id(value), []).append(path)
        if isinstance(value, Module) and id(value) not in active and len(paths[id(value)]) == 1:
            active.add(id(value))
            for key, child in value._graph_items():
                _all_paths(child, path + (key,), paths, active)


def flat_sorted(mapping: Mapping) -> list:
    return [mapping[k] for k in sorted_keys(mapping)]
