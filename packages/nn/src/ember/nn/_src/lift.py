"""The machinery shared by lifted transforms: pull the module graphs out of a call's arguments,
run a pure function over their leaf values under an ember.core transform, and write the results
back into the caller's objects.

Outside (``Extracted``): the arguments are flattened with Modules and Variables as leaves (the
*roots*); all roots are walked jointly (one reference index, so sharing between arguments is
kept), giving their definitions and their leaf values in walk order.

Inside (``rebuild`` / ``split_after``): fresh objects are rebuilt from the definitions and the
(traced) values, the user function runs on them, and the roots plus any graph objects returned by
the function are walked again: new definitions, new leaf values, and for each new object the
index of the outer object it came from (``None`` for objects created inside).

Outside again (``apply_back``): the new definitions are built with the outer objects reused, so
Variables get their new values in place, structural changes (a Variable created by ``sow``, a
submodule replaced inside the function) are applied to the caller's modules, and modules returned
by the function are created (or are the caller's own objects when the function returned them).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import ember.core as ec

from . import tracking
from .graph import Builder, Walker, is_graph_object
from .variables import Variable


def leaf_value(leaf: Any) -> Any:
    return leaf._value if isinstance(leaf, Variable) else leaf


class Extracted:
    """The outer view of one call's arguments (any pytree)."""

    __slots__ = ("leaves", "treedef", "root_pos", "roots", "defs", "walker", "values", "paths", "root_ranges",
                 "dyn_pos")

    def __init__(self, tree: Any):
        leaves, treedef = ec.tree.flatten(tree, is_leaf=is_graph_object)
        self.leaves = leaves
        self.treedef = treedef
        self.root_pos = [i for i, x in enumerate(leaves) if is_graph_object(x)]
        self.dyn_pos = [i for i, x in enumerate(leaves) if not is_graph_object(x)]
        self.roots = [leaves[i] for i in self.root_pos]
        w = Walker(slots=True)
        defs = []
        ranges = []
        for r in self.roots:
            start = len(w.leaves)
            defs.append(w.root(r))
            ranges.append((start, len(w.leaves)))
        self.defs = tuple(defs)
        self.walker = w
        self.values = [leaf_value(leaf) for _, leaf in w.leaves]
        self.paths = [p for p, _ in w.leaves]
        self.root_ranges = ranges

    @property
    def objects(self) -> list:
        return self.walker.objects

    def leaf_objects(self) -> list:
        return [leaf for _, leaf in self.walker.leaves]


def rebuild(defs: tuple, values: list) -> tuple[list, Builder]:
    """Inside: fresh objects from ``defs`` holding ``values`` (raw values, in walk order)."""
    b = Builder(values)
    roots = [b.build(d) for d in defs]
    return roots, b


class After(NamedTuple):
    """Inside, after the user function: the graph state to hand back."""

    defs: tuple              # definitions of (input roots..., output graph objects...)
    values: list             # their leaf values in walk order
    paths: list              # their leaf paths (relative to each root)
    root_ranges: list        # leaf ranges per root
    mapping: tuple           # new object index -> outer index (None: created inside)
    out_leaves: list         # the output with graph objects replaced by None
    out_treedef: Any
    out_root_pos: tuple      # positions of graph objects among the output leaves
    n_in: int


def split_after(roots: list, builder: Builder, out: Any) -> After:
    out_leaves, out_treedef = ec.tree.flatten(out, is_leaf=is_graph_object)
    out_root_pos = tuple(i for i, x in enumerate(out_leaves) if is_graph_object(x))
    all_roots = list(roots) + [out_leaves[i] for i in out_root_pos]
    w = Walker()
    defs = []
    ranges = []
    for r in all_roots:
        start = len(w.leaves)
        defs.append(w.root(r))
        ranges.append((start, len(w.leaves)))
    fresh = {id(obj): i for i, obj in builder.objects.items()}
    mapping = tuple(fresh.get(id(obj)) for obj in w.objects)
    plain = [None if is_graph_object(x) else x for x in out_leaves]
    return After(tuple(defs), [leaf_value(leaf) for _, leaf in w.leaves], [p for p, _ in w.leaves], ranges,
                 mapping, plain, out_treedef, out_root_pos, len(roots))


class Static:
    """Trace-time information carried out of a compiled function inside its output treedef."""

    __slots__ = ("info",)

    def __init__(self, info: Any):
        self.info = info


ec.tree.register_pytree_node(Static, lambda s: ((), s), lambda s, _: s)


def apply_back(outer_objects: list, after_defs: tuple, values: list, mapping: tuple, n_in: int,
               *, reuse_outer: bool = True) -> list:
    """Outside: write the new graph state into the outer objects; return the output roots."""
    reuse = {}
    if reuse_outer:
        for j, o in enumerate(mapping):
            if o is not None:
                reuse[_def_index_of(after_defs, j)] = outer_objects[o]
    b = Builder(list(values), reuse=reuse)
    built = [b.build(d) for d in after_defs]
    if b.changed:
        tracking.bump()
    return built[n_in:]


def _def_index_of(defs: tuple, j: int) -> int:
    # Object indices in a Walker are assigned in walk order, identical to definition indices.
    return j


def is_static_leaf(x: Any) -> bool:
    """Argument leaves that stay Python values under non-jit lifted transforms."""
    return not tracking.is_array(x)


def assemble(treedef: Any, leaves: list) -> Any:
    return treedef.unflatten(leaves)
