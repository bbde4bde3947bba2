"""The pytree protocol: flatten/unflatten, map, key paths, registration."""

from __future__ import annotations

import collections
import dataclasses

import pytest

import ember.core as ec
from ember.core import tree


def test_flatten_unflatten_roundtrip_and_order():
    t = {"b": (1, [2, 3]), "a": None, "c": {"x": 4}}
    leaves, treedef = tree.flatten(t)
    assert leaves == [1, 2, 3, 4]  # dict keys sorted; None is an empty node
    assert tree.unflatten(treedef, leaves) == t
    assert treedef.num_leaves == 4


def test_map_over_several_trees_and_errors():
    assert tree.map(lambda a, b: a + b, {"x": 1, "y": (2,)}, {"x": 10, "y": (20,)}) == {"x": 11, "y": (22,)}
    with pytest.raises(ValueError, match="tree argument 1 does not have the structure"):
        tree.map(lambda a, b: a, [1, 2], [1])


def test_leaves_structure_reduce_all_transpose():
    t = [1, (2, 3)]
    assert tree.leaves(t) == [1, 2, 3]
    assert tree.reduce(lambda a, b: a + b, t) == 6
    assert tree.reduce(lambda a, b: a + b, t, 10) == 16
    assert tree.all([True, (1, "x")]) and not tree.all([True, (0,)])
    assert tree.transpose(tree.structure([0, 0]), tree.structure((0, 0)), [(1, 2), (3, 4)]) == ([1, 3], [2, 4])
    assert tree.leaves([1, [2, 3, 4]], is_leaf=lambda x: isinstance(x, list) and len(x) == 3) == [1, [2, 3, 4]]


def test_key_paths():
    pairs, _ = tree.flatten_with_path({"layers": [{"w": 1}, {"w": 2}], "b": 3})
    assert [tree.keystr(p) for p, _ in pairs] == ["['b']", "['layers'][0]['w']", "['layers'][1]['w']"]
    assert tree.keystr(pairs[1][0], simple=True) == "layers/0/w"
    out = tree.map_with_path(lambda p, x: tree.keystr(p, simple=True, separator=".") + f"={x}", {"a": [5]})
    assert out == {"a": ["a.0=5"]}


def test_register_node_class_dataclass_and_static():
    @tree.register_pytree_node_class
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

        def tree_flatten(self):
            return (self.a, self.b), None

        @classmethod
        def tree_unflatten(cls, aux, children):
            return cls(*children)

    doubled = tree.map(lambda x: x * 2, Pair(1, 2))
    assert (doubled.a, doubled.b) == (2, 4)

    @tree.register_dataclass
    @dataclasses.dataclass
    class Config:
        weight: float
        name: str = dataclasses.field(default="layer", metadata={"static": True})

    leaves, treedef = tree.flatten(Config(1.5))
    assert leaves == [1.5] and tree.unflatten(treedef, [3.0]) == Config(3.0)
    pairs, _ = tree.flatten_with_path(Config(1.0))
    assert tree.keystr(pairs[0][0]) == ".weight"

    @tree.register_static
    class Tag:
        def __hash__(self):
            return 0

        def __eq__(self, other):
            return isinstance(other, Tag)

    assert tree.leaves([Tag(), 1]) == [1]


def test_ordered_and_default_dicts_keep_their_type():
    od = collections.OrderedDict([("z", 1), ("a", 2)])
    assert tree.leaves(od) == [1, 2]  # insertion order kept
    assert isinstance(tree.map(lambda x: x, od), collections.OrderedDict)
    dd = collections.defaultdict(list, {"b": 1, "a": 2})
    out = tree.map(lambda x: x + 1, dd)
    assert isinstance(out, collections.defaultdict) and out == {"a": 3, "b": 2}


def test_partial_is_a_pytree():
    p = tree.Partial(lambda a, b: a + b, 1)
    q = tree.map(lambda x: x * 10, p)
    assert q(5) == 15 and q.args == (10,)
    assert ec.jit(lambda f, x: f(x))(tree.Partial(lambda a, b: a * b, 3.0), 2.0) == 6.0


def test_tree_util_aliases():
    assert ec.tree_util.tree_map(lambda x: x + 1, [1]) == [2]
    assert ec.tree_util.tree_leaves({"a": 1}) == [1]


def test_broadcast_prefix():
    assert tree.broadcast([1, 2], [(0, 0), 0]) == [(1, 1), 2]
