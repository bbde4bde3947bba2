"""Minimal structure walking for records: dicts, lists, tuples and namedtuples.

ember.data walks records itself (rather than through ``ember.core.tree``) so that a
pipeline gives the same results whether or not ember.core is installed. Everything
that is not a dict, list or tuple is a leaf.

    >>> map_structure(lambda x: x * 2, {"a": 1, "b": (2, 3)})
    {'a': 2, 'b': (4, 6)}
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

Path = tuple[Any, ...]


def is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_container(x: Any) -> bool:
    return isinstance(x, (dict, list, tuple))


def path_str(path: Path) -> str:
    """Renders a key path the way Python indexing would: ``['image'][0]``."""
    if not path:
        return "<record>"
    return "".join(f"[{k!r}]" for k in path)


def map_structure(fn: Callable[..., Any], *trees: Any) -> Any:
    """Applies ``fn`` to corresponding leaves of ``trees`` (all of the same structure)."""
    return map_structure_with_path(lambda _p, *xs: fn(*xs), *trees)


def map_structure_with_path(fn: Callable[..., Any], *trees: Any, _path: Path = ()) -> Any:
    """Like :func:`map_structure` but ``fn`` also receives the key path of each leaf."""
    first = trees[0]
    if isinstance(first, dict):
        for t in trees[1:]:
            if not isinstance(t, dict) or t.keys() != first.keys():
                raise ValueError(
                    f"Records differ in structure at {path_str(_path)}: keys "
                    f"{sorted(map(str, first))} vs "
                    f"{sorted(map(str, t)) if isinstance(t, dict) else type(t).__name__}"
                )
        return {
            k: map_structure_with_path(fn, *(t[k] for t in trees), _path=_path + (k,))
            for k in first
        }
    if isinstance(first, (list, tuple)):
        n = len(first)
        for t in trees[1:]:
            if not isinstance(t, (list, tuple)) or len(t) != n:
                raise ValueError(
                    f"Records differ in structure at {path_str(_path)}: "
                    f"{type(first).__name__} of length {n} vs {type(t).__name__}"
                    f"{' of length ' + str(len(t)) if isinstance(t, (list, tuple)) else ''}"
                )
        items = [
            map_structure_with_path(fn, *(t[i] for t in trees), _path=_path + (i,))
            for i in range(n)
        ]
        if is_namedtuple(first):
            return type(first)(*items)
        return type(first)(items)
    return fn(_path, *trees)


def leaves(tree: Any) -> Iterator[Any]:
    """Yields the leaves of ``tree`` in a deterministic order."""
    if isinstance(tree, dict):
        for v in tree.values():
            yield from leaves(v)
    elif isinstance(tree, (list, tuple)):
        for v in tree:
            yield from leaves(v)
    else:
        yield tree
