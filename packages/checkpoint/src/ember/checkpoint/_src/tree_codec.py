"""Tree structure and small values in msgpack (never pickle: decoding runs no code).

A pytree is written as a nested *node document* of plain lists::

    ["leaf", i]                          the i-th leaf descriptor
    ["none"]                             None
    ["dict", [[key, node], ...]]         a dict (insertion order kept; keys str or int)
    ["list", [node, ...]] / ["tuple", [node, ...]]
    ["namedtuple", name, [[field, node], ...]]
    ["node", type_name, [[key, node], ...]]   any other registered pytree node

Without a target, namedtuples and other custom nodes come back as dicts (a checkpoint never names
code to import); with a target, the target's own structure is used.

    >>> doc, leaves = encode_structure({"a": [1, None], "b": ()})
    >>> doc
    ['dict', [['a', ['list', [['leaf', 0], ['none']]]], ['b', ['tuple', []]]]]
    >>> [path for path, _ in leaves]
    [('a', 0)]
    >>> decode_structure(doc, ["x"])
    {'a': ['x', None], 'b': ()}
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import msgpack
import numpy as np

import ember.core as ec

__all__ = ["packb", "unpackb", "encode_structure", "decode_structure", "key_name", "path_str", "leaf_paths",
           "subtree_at", "Path"]

Path = tuple[Any, ...]
"""A leaf path: a tuple of dict keys / attribute names (str or int) and sequence indices (int)."""

_MAX_DEPTH = 200
_PLAIN_LEAF_TYPES = frozenset({int, float, bool, complex, str, bytes})


def packb(obj: Any) -> bytes:
    """msgpack bytes of plain data (dict, list, str, bytes, int, float, bool, None)."""
    return msgpack.packb(obj, use_bin_type=True)


def unpackb(data: bytes | memoryview) -> Any:
    """Decode msgpack from a possibly untrusted file: plain data only (no extension types, no
    code), string and integer map keys only, tuples read as lists."""
    return msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=False, ext_hook=_no_ext)


def _no_ext(code: int, data: bytes) -> Any:
    raise ValueError(f"msgpack extension type {code} is not allowed in a checkpoint")


def key_name(key: Any) -> Any:
    """The plain value of a pytree key entry (DictKey.key, GetAttrKey.name, SequenceKey.idx...)."""
    for attr in ("key", "name", "idx"):
        if hasattr(key, attr):
            return getattr(key, attr)
    return key


def path_str(path: Sequence[Any], item: str | None = None) -> str:
    """A readable leaf path: ``model['params'][0]`` (the item name first, if given)."""
    return (item or "") + "".join(f"[{p!r}]" for p in path) if path or item else "<root>"


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _check_key(key: Any, path: Path) -> Any:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise TypeError(f"ember.checkpoint: dict key {key!r} at {path_str(path)} is not a str or int; only "
                        "those can be stored")
    return key


def encode_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list, list[tuple[Path, Any]]]:
    """The node document of ``tree`` and its leaves as ``(path, value)`` in document order."""
    leaves: list[tuple[Path, Any]] = []

    def walk(node: Any, path: Path, depth: int) -> list:
        if depth > _MAX_DEPTH:
            raise ValueError(f"ember.checkpoint: tree deeper than {_MAX_DEPTH} levels at {path_str(path)}")
        if node is None:
            return ["none"]
        if is_leaf is not None and is_leaf(node):
            leaves.append((path, node))
            return ["leaf", len(leaves) - 1]
        t = type(node)
        if t in _PLAIN_LEAF_TYPES or isinstance(node, (ec.Array, np.ndarray, np.generic)):
            leaves.append((path, node))
            return ["leaf", len(leaves) - 1]
        if isinstance(node, dict):
            return ["dict", [[_check_key(k, path), walk(v, path + (k,), depth + 1)] for k, v in node.items()]]
        if t is list:
            return ["list", [walk(v, path + (i,), depth + 1) for i, v in enumerate(node)]]
        if t is tuple:
            return ["tuple", [walk(v, path + (i,), depth + 1) for i, v in enumerate(node)]]
        children, treedef = ec.tree.flatten_with_path(node, is_leaf=lambda x: x is not node)
        if ec.tree.treedef_is_leaf(treedef) and treedef.num_leaves == 1 and not children[0][0]:
            leaves.append((path, node))
            return ["leaf", len(leaves) - 1]
        entries = []
        for keypath, child in children:
            k = key_name(keypath[0]) if keypath else None
            if len(keypath) != 1:
                raise TypeError(f"ember.checkpoint: cannot store the node {type(node).__name__} at {path_str(path)}")
            entries.append([_check_key(k, path), walk(child, path + (k,), depth + 1)])
        if _is_namedtuple(node):
            return ["namedtuple", t.__name__, entries]
        return ["node", f"{t.__module__}.{t.__qualname__}", entries]

    return walk(tree, (), 0), leaves


def decode_structure(doc: Any, leaf_values: Sequence[Any]) -> Any:
    """Rebuild a tree from its node document (custom nodes become dicts)."""

    def build(node: Any, depth: int) -> Any:
        if depth > _MAX_DEPTH or not isinstance(node, list) or not node:
            raise ValueError("malformed tree structure in checkpoint metadata")
        kind = node[0]
        if kind == "leaf":
            return leaf_values[node[1]]
        if kind == "none":
            return None
        if kind == "dict":
            return {k: build(v, depth + 1) for k, v in node[1]}
        if kind == "list":
            return [build(v, depth + 1) for v in node[1]]
        if kind == "tuple":
            return tuple(build(v, depth + 1) for v in node[1])
        if kind in ("namedtuple", "node"):
            return {k: build(v, depth + 1) for k, v in node[2]}
        raise ValueError(f"unknown node kind {kind!r} in checkpoint metadata")

    return build(doc, 0)


def leaf_paths(doc: Any) -> dict[int, Path]:
    """The path of every leaf of a node document, by leaf index."""
    out: dict[int, Path] = {}

    def walk(node: Any, path: Path, depth: int) -> None:
        if depth > _MAX_DEPTH or not isinstance(node, list) or not node:
            raise ValueError("malformed tree structure in checkpoint metadata")
        kind = node[0]
        if kind == "leaf":
            out[node[1]] = path
        elif kind in ("dict", "namedtuple", "node"):
            for k, v in (node[1] if kind == "dict" else node[2]):
                walk(v, path + (k,), depth + 1)
        elif kind in ("list", "tuple"):
            for i, v in enumerate(node[1]):
                walk(v, path + (i,), depth + 1)

    walk(doc, (), 0)
    return out


def subtree_at(doc: Any, path: Path) -> Any:
    """The node document at ``path`` (None when absent)."""
    node = doc
    for k in path:
        if not isinstance(node, list) or not node:
            return None
        kind = node[0]
        if kind in ("dict", "namedtuple", "node"):
            entries = node[1] if kind == "dict" else node[2]
            node = next((v for kk, v in entries if kk == k), None)
        elif kind in ("list", "tuple") and isinstance(k, int) and 0 <= k < len(node[1]):
            node = node[1][k]
        else:
            return None
        if node is None:
            return None
    return node
