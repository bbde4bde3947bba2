"""The pytree protocol shared by every Ember package, on jaxlib's C++ registry.

A pytree is a nested structure of containers (tuple, list, dict, None, namedtuple, registered
classes) whose non-container parts are *leaves*. ``None`` is an empty container, as in JAX.

    >>> leaves, treedef = flatten({"w": 1.0, "b": (2.0, 3.0)})
    >>> leaves
    [2.0, 3.0, 1.0]
    >>> map(lambda x: x * 2, {"w": 1.0})
    {'w': 2.0}
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import functools
from typing import Any, Callable, Iterable, Sequence, TypeVar

from .runtime.pytree import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    PyTreeRegistry,
    SequenceKey,
)

__all__ = [
    "PyTreeDef", "DictKey", "SequenceKey", "GetAttrKey", "FlattenedIndexKey", "KeyPath",
    "flatten", "unflatten", "map", "leaves", "structure", "reduce", "all", "transpose", "broadcast",
    "flatten_with_path", "leaves_with_path", "map_with_path", "keystr",
    "register_pytree_node", "register_pytree_node_class", "register_pytree_with_keys",
    "register_dataclass", "register_static", "is_leaf", "all_leaves", "treedef_is_leaf",
    "Partial",
]

T = TypeVar("T")
KeyPath = tuple[Any, ...]
IsLeaf = Callable[[Any], bool] | None

registry = PyTreeRegistry()
"""Ember's own pytree registry (independent of jax's, if jax is also installed)."""

dispatch_registry = PyTreeRegistry()
"""The same node types, plus ``Array`` as a node whose child is its device buffer: what jit's
C++ dispatcher flattens arguments with (see runtime/fast_dispatch.py)."""


# --- the basic operations --------------------------------------------------------------------

def flatten(tree: Any, is_leaf: IsLeaf = None) -> tuple[list[Any], PyTreeDef]:
    """Leaves (in a fixed order: dict keys sorted) and the structure to rebuild ``tree``.

    >>> import ember.core as ec
    >>> leaves, treedef = ec.tree.flatten({"b": [1, 2], "a": (3, None)})
    >>> leaves, treedef
    ([3, 1, 2], PyTreeDef({'a': (*, None), 'b': [*, *]}))
    >>> ec.tree.unflatten(treedef, [30, 10, 20])
    {'a': (30, None), 'b': [10, 20]}
    """
    return registry.flatten(tree, is_leaf)


def unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a tree of structure ``treedef`` from ``leaves``.

    >>> import ember.core as ec
    >>> treedef = ec.tree.structure({"a": 0, "b": (0, 0)})
    >>> ec.tree.unflatten(treedef, [1, 2, 3])
    {'a': 1, 'b': (2, 3)}
    """
    return treedef.unflatten(leaves)


def leaves(tree: Any, is_leaf: IsLeaf = None) -> list[Any]:
    """The leaves of ``tree`` in flattening order (dict keys sorted); None is an empty node, not a leaf.

    >>> import ember.core as ec
    >>> ec.tree.leaves({"b": [1, 2], "a": (3, None)})   # dict keys sorted; None is not a leaf
    [3, 1, 2]
    """
    return registry.flatten(tree, is_leaf)[0]


def structure(tree: Any, is_leaf: IsLeaf = None) -> PyTreeDef:
    """The ``PyTreeDef`` of ``tree`` (its structure without the leaves).

    >>> import ember.core as ec
    >>> ec.tree.structure({"w": 1.0, "layers": [2.0, 3.0]})
    PyTreeDef({'layers': [*, *], 'w': *})
    """
    return registry.flatten(tree, is_leaf)[1]


def map(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: IsLeaf = None) -> Any:
    """Apply ``f`` leaf-wise over ``tree`` and trees ``rest`` that have ``tree``'s structure.

    >>> map(lambda a, b: a + b, [1, 2], [10, 20])
    [11, 22]
    """
    leaves_, treedef = registry.flatten(tree, is_leaf)
    if not rest:
        return treedef.unflatten([f(x) for x in leaves_])
    others = [_leaves_matching(treedef, r, i + 1) for i, r in enumerate(rest)]
    return treedef.unflatten([f(*xs) for xs in zip(leaves_, *others)])


def _leaves_matching(treedef: PyTreeDef, tree: Any, position: int) -> list[Any]:
    try:
        return treedef.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"tree.map: tree argument {position} does not have the structure of the first tree: "
            f"expected {treedef}, got {structure(tree)} ({e})"
        ) from None


def reduce(function: Callable[[Any, Any], Any], tree: Any, initializer: Any = ..., is_leaf: IsLeaf = None) -> Any:
    """``functools.reduce`` over the leaves of ``tree``.

    >>> import ember.core as ec
    >>> ec.tree.reduce(lambda a, b: a + b, {"a": 1, "b": [2, 3]})
    6
    >>> ec.tree.reduce(max, [], initializer=0)
    0
    """
    if initializer is ...:
        return functools.reduce(function, leaves(tree, is_leaf))
    return functools.reduce(function, leaves(tree, is_leaf), initializer)


def all(tree: Any, is_leaf: IsLeaf = None) -> bool:
    """True when every leaf is truthy.

    >>> import ember.core as ec
    >>> ec.tree.all({"a": True, "b": [1, 2]}), ec.tree.all([1, 0])
    (True, False)
    """
    return builtins.all(leaves(tree, is_leaf))


def transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: Any) -> Any:
    """Turn a tree of structure outer∘inner into one of structure inner∘outer.

    >>> transpose(structure([0, 0]), structure((0, 0)), [(1, 2), (3, 4)])
    ([1, 3], [2, 4])
    """
    flat, treedef = flatten(pytree_to_transpose)
    if inner_treedef is None:
        inner_treedef = _infer_inner(outer_treedef, pytree_to_transpose)
    inner_n, outer_n = inner_treedef.num_leaves, outer_treedef.num_leaves
    if treedef.num_leaves != inner_n * outer_n:
        raise TypeError(
            f"tree.transpose: a tree of {treedef.num_leaves} leaves cannot have structure "
            f"outer {outer_treedef} x inner {inner_treedef} ({outer_n} x {inner_n} leaves)"
        )
    columns = [flat[i * inner_n:(i + 1) * inner_n] for i in range(outer_n)]
    rows = [outer_treedef.unflatten(col) for col in zip(*columns)]
    return inner_treedef.unflatten(rows)


def _infer_inner(outer_treedef: PyTreeDef, tree: Any) -> PyTreeDef:
    subtrees = outer_treedef.flatten_up_to(tree)
    if not subtrees:
        raise ValueError("tree.transpose: cannot infer inner_treedef from an empty outer tree")
    return structure(subtrees[0])


def broadcast(prefix_tree: Any, full_tree: Any, is_leaf: IsLeaf = None) -> Any:
    """Repeat each leaf of ``prefix_tree`` over the matching subtree of ``full_tree``.

    >>> broadcast([1, 2], [(0, 0), 0])
    [(1, 1), 2]
    """
    prefix_leaves, prefix_def = flatten(prefix_tree, is_leaf)
    subtrees = prefix_def.flatten_up_to(full_tree)
    out = [
        structure(sub, is_leaf).unflatten([leaf] * structure(sub, is_leaf).num_leaves)
        for leaf, sub in zip(prefix_leaves, subtrees)
    ]
    return prefix_def.unflatten(out)


# --- key paths -------------------------------------------------------------------------------

def flatten_with_path(tree: Any, is_leaf: IsLeaf = None) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """Like ``flatten`` but each leaf comes with its key path, e.g. ``(DictKey('w'), SequenceKey(0))``.

    >>> import ember.core as ec
    >>> pairs, treedef = ec.tree.flatten_with_path({"w": [1, 2]})
    >>> [(ec.tree.keystr(path), leaf) for path, leaf in pairs]
    [("['w'][0]", 1), ("['w'][1]", 2)]
    """
    predicate = None if is_leaf is None else (lambda _path, x: is_leaf(x))
    return registry.flatten_with_path(tree, predicate)


def leaves_with_path(tree: Any, is_leaf: IsLeaf = None) -> list[tuple[KeyPath, Any]]:
    """The leaves of ``tree``, each paired with its key path.

    >>> import ember.core as ec
    >>> ec.tree.leaves_with_path({"w": [1, 2]})
    [((DictKey(key='w'), SequenceKey(idx=0)), 1), ((DictKey(key='w'), SequenceKey(idx=1)), 2)]
    """
    return flatten_with_path(tree, is_leaf)[0]


def map_with_path(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: IsLeaf = None) -> Any:
    """Apply ``f(path, leaf, *other_leaves)`` leaf-wise.

    >>> import ember.core as ec
    >>> ec.tree.map_with_path(lambda path, x: ec.tree.keystr(path, simple=True), {"a": 1, "b": [2]})
    {'a': 'a', 'b': ['b/0']}
    """
    pairs, treedef = flatten_with_path(tree, is_leaf)
    others = [_leaves_matching(treedef, r, i + 1) for i, r in enumerate(rest)]
    return treedef.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)] if rest
                             else [f(p, x) for p, x in pairs])


def keystr(path: KeyPath, *, simple: bool = False, separator: str = "/") -> str:
    """A readable form of a key path: ``['layers'][0].kernel``, or ``layers/0/kernel`` if ``simple``.

    >>> import ember.core as ec
    >>> [(path, _)] = ec.tree.leaves_with_path({"layers": [{"kernel": 1}]})
    >>> ec.tree.keystr(path), ec.tree.keystr(path, simple=True)
    ("['layers'][0]['kernel']", 'layers/0/kernel')
    """
    if not simple:
        return "".join(str(k) for k in path)
    return separator.join(str(_key_value(k)) for k in path)


def _key_value(key: Any) -> Any:
    for attr in ("key", "idx", "name"):
        if hasattr(key, attr):
            return getattr(key, attr)
    return key


# --- registration ----------------------------------------------------------------------------

def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], Any],
    flatten_with_keys_func: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Any]] | None = None,
) -> None:
    """Make instances of ``nodetype`` tree nodes: ``flatten_func(x) -> (children, aux_data)`` and
    ``unflatten_func(aux_data, children) -> x``. ``aux_data`` must be hashable and comparable.

    >>> import ember.core as ec
    >>> class Pair:
    ...     def __init__(self, a, b):
    ...         self.a, self.b = a, b
    >>> ec.tree.register_pytree_node(Pair, lambda p: ((p.a, p.b), None), lambda aux, children: Pair(*children))
    >>> ec.tree.leaves(Pair(1, [2, 3]))
    [1, 2, 3]
    """
    registry.register_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func)
    dispatch_registry.register_node(nodetype, flatten_func, unflatten_func, flatten_with_keys_func)


def register_pytree_with_keys(
    nodetype: type,
    flatten_with_keys: Callable[[Any], tuple[Iterable[tuple[Any, Any]], Any]],
    unflatten_func: Callable[[Any, Iterable[Any]], Any],
    flatten_func: Callable[[Any], tuple[Iterable[Any], Any]] | None = None,
) -> None:
    """Like ``register_pytree_node``, with ``flatten_with_keys(x) -> ((key, child), ...), aux_data`` so that paths name the children.

    >>> import ember.core as ec
    >>> from ember.core.tree_util import GetAttrKey
    >>> class Dense:
    ...     def __init__(self, w, b):
    ...         self.w, self.b = w, b
    >>> ec.tree.register_pytree_with_keys(
    ...     Dense, lambda d: (((GetAttrKey("w"), d.w), (GetAttrKey("b"), d.b)), None),
    ...     lambda aux, children: Dense(*children))
    >>> [ec.tree.keystr(path) for path, _ in ec.tree.leaves_with_path(Dense(1, 2))]
    ['.w', '.b']
    """
    if flatten_func is None:
        def flatten_func(x: Any) -> tuple[list[Any], Any]:
            pairs, aux = flatten_with_keys(x)
            return [child for _, child in pairs], aux
    registry.register_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)
    dispatch_registry.register_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls: type[T]) -> type[T]:
    """Class decorator: the class defines ``tree_flatten(self)`` and classmethod ``tree_unflatten``.

    >>> import ember.core as ec
    >>> @ec.tree.register_pytree_node_class
    ... class Box:
    ...     def __init__(self, value):
    ...         self.value = value
    ...     def tree_flatten(self):
    ...         return (self.value,), None
    ...     @classmethod
    ...     def tree_unflatten(cls, aux_data, children):
    ...         return cls(*children)
    >>> ec.tree.map(lambda v: v + 1, Box(1)).value
    2
    """
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)  # type: ignore[attr-defined]
    return cls


def register_dataclass(
    nodetype: type[T],
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
) -> type[T]:
    """Register a dataclass: data fields are children, meta (static) fields go in the treedef.

    Without explicit field lists, fields marked ``dataclasses.field(metadata={"static": True})``
    are meta fields and the rest are data fields. Usable as a decorator.

    >>> import dataclasses
    >>> import ember.core as ec
    >>> @ec.tree.register_dataclass
    ... @dataclasses.dataclass
    ... class Point:
    ...     x: float
    ...     y: float
    ...     name: str = dataclasses.field(default="p", metadata={"static": True})
    >>> ec.tree.map(lambda v: v * 2, Point(1.0, 2.0))
    Point(x=2.0, y=4.0, name='p')
    """
    if data_fields is None or meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(
                f"register_dataclass: {nodetype.__name__} is not a dataclass; pass data_fields and "
                "meta_fields explicitly"
            )
        fields = [f for f in dataclasses.fields(nodetype) if f.init]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    registry.register_dataclass_node(nodetype, list(data_fields), list(meta_fields))
    dispatch_registry.register_dataclass_node(nodetype, list(data_fields), list(meta_fields))
    return nodetype


def register_static(cls: type[T]) -> type[T]:
    """Register ``cls`` as a node with no children: instances live in the treedef (must hash).

    >>> import dataclasses
    >>> import ember.core as ec
    >>> @ec.tree.register_static
    ... @dataclasses.dataclass(frozen=True)
    ... class Config:
    ...     depth: int
    >>> ec.tree.leaves({"config": Config(3), "w": 1.0})   # Config lives in the treedef
    [1.0]
    """
    register_pytree_node(cls, lambda x: ((), x), lambda x, _: x)
    return cls


def is_leaf(tree: Any) -> bool:
    """True when ``tree`` is a leaf (not a registered node such as a list, dict or None).

    >>> import ember.core as ec
    >>> ec.tree.is_leaf(1.0), ec.tree.is_leaf([1.0]), ec.tree.is_leaf(None)   # None is an empty node
    (True, False, False)
    """
    return registry.flatten_one_level(tree) is None


def all_leaves(iterable: Iterable[Any], is_leaf: IsLeaf = None) -> bool:
    """True when each element of ``iterable`` is a leaf.

    >>> import ember.core as ec
    >>> ec.tree.all_leaves([1, 2.0]), ec.tree.all_leaves([[1]])
    (True, False)
    """
    items = list(iterable)
    return leaves(items, is_leaf) == items if is_leaf else builtins.all(
        registry.flatten_one_level(x) is None for x in items)


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """True when ``treedef`` is the structure of a single leaf.

    >>> import ember.core as ec
    >>> ec.tree.treedef_is_leaf(ec.tree.structure(1.0)), ec.tree.treedef_is_leaf(ec.tree.structure([1.0]))
    (True, False)
    """
    return treedef.num_nodes == 1 and treedef.num_leaves == 1


class Partial(functools.partial):
    """``functools.partial`` whose bound arguments are pytree children (so it can cross ``jit``).

    >>> add_one = Partial(lambda a, b: a + b, 1)
    >>> map(lambda x: x * 10, add_one).args
    (10,)
    """

    def __new__(cls, func: Callable[..., Any], *args: Any, **kw: Any) -> "Partial":
        if isinstance(func, functools.partial):
            original = func
            func = _HashableCallableShim(original)
            out = super().__new__(cls, func, *args, **kw)
            func.func = original
            return out
        return super().__new__(cls, func, *args, **kw)


class _HashableCallableShim:
    def __init__(self, func: Any) -> None:
        self.func = func

    def __call__(self, *args: Any, **kw: Any) -> Any:
        return self.func(*args, **kw)

    def __hash__(self) -> int:
        return hash(self.func)

    def __eq__(self, other: Any) -> bool:
        return self.func == getattr(other, "func", other)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, xs: Partial(func, *xs[0], **xs[1]),
)

register_pytree_with_keys(
    collections.OrderedDict,
    lambda d: ([(DictKey(k), v) for k, v in d.items()], tuple(d.keys())),
    lambda keys, values: collections.OrderedDict(zip(keys, values)),
)
register_pytree_with_keys(
    collections.defaultdict,
    lambda d: ([(DictKey(k), d[k]) for k in sorted(d)], (d.default_factory, tuple(sorted(d)))),
    lambda aux, values: collections.defaultdict(aux[0], zip(aux[1], values)),
)
