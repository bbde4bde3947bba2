"""``State``: the nested mapping of a module graph's Variables, keyed by attribute path.

``nn.state(model)`` and ``nn.split(model)`` return States. A State mirrors the module tree
(``state["layers"][0]["kernel"]``, or ``state.layers[0].kernel``); its leaves are the model's
own Variable objects (or raw arrays stored directly on a module). It is a pytree node (keys in
sorted order), so it can be passed to ``ec.jit``, mapped with ``ec.tree.map``, or handed to an
optimizer.

    >>> import ember.nn as nn
    >>> model = nn.Linear(2, 3, rngs=nn.Rngs(0))
    >>> state = nn.state(model)
    >>> sorted(state.keys()), state["kernel"].shape
    (['bias', 'kernel'], (2, 3))
    >>> [("/".join(map(str, p)), v.shape) for p, v in state.flat_state()]
    [('bias', (3,)), ('kernel', (2, 3))]
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, Callable, Iterator

import ember.core as ec

from . import filters as filterlib
from .variables import Variable

__all__ = [
    "State", "FlatState", "to_flat_state", "from_flat_state", "to_pure_dict", "replace_by_pure_dict",
    "filter_state", "split_state", "merge_state", "map_state",
]

PathParts = tuple[Any, ...]


def _key_order(key: Any) -> tuple:
    if isinstance(key, int):
        return (0, key, "")
    return (1, 0, str(key))


def sorted_keys(mapping: Mapping) -> list:
    keys = list(mapping.keys())
    try:
        if all(type(k) is str for k in keys):
            return sorted(keys)
    except TypeError:
        pass
    return sorted(keys, key=_key_order)


class State(MutableMapping):
    """Nested mapping from attribute names (or list indices) to Variables or sub-States.

    >>> import ember.nn as nn
    >>> s = nn.State({"a": {"w": nn.Param(1.0)}, "b": nn.BatchStat(2.0)})
    >>> s.a.w.value, len(s.flat_state())
    (1.0, 2)
    """

    __slots__ = ("_mapping",)

    def __init__(self, mapping: Mapping | None = None, /):
        data: dict = {}
        if mapping is not None:
            for k, v in mapping.items():
                data[k] = State(v) if (isinstance(v, Mapping) and not isinstance(v, State)) else v
        object.__setattr__(self, "_mapping", data)

    @classmethod
    def _wrap(cls, data: dict) -> "State":
        s = object.__new__(cls)
        object.__setattr__(s, "_mapping", data)
        return s

    # --- Mapping protocol --------------------------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        return self._mapping[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, Mapping) and not isinstance(value, State):
            value = State(value)
        self._mapping[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._mapping[key]

    def __iter__(self) -> Iterator:
        return iter(self._mapping)

    def __len__(self) -> int:
        return len(self._mapping)

    def __contains__(self, key: object) -> bool:
        return key in self._mapping

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return object.__getattribute__(self, "_mapping")[name]
        except KeyError:
            raise AttributeError(f"State has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return dict(self._mapping) == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"State({_repr_mapping(self._mapping, 1)})"

    # --- flat views --------------------------------------------------------------------------
    def flat_state(self) -> "FlatState":
        """The leaves with their full paths, in sorted path order."""
        out: list[tuple[PathParts, Any]] = []
        _flatten_into(self, (), out)
        return FlatState(out)

    @classmethod
    def from_flat_path(cls, flat: Any) -> "State":
        return from_flat_state(flat)

    def to_pure_dict(self) -> dict:
        """Nested plain dicts of raw values (Variables unwrapped): handy for saving."""
        return to_pure_dict(self)

    def replace_by_pure_dict(self, pure: Mapping) -> None:
        """Set the value of each Variable from a nested dict with the same keys (in place)."""
        replace_by_pure_dict(self, pure)

    def filter(self, first: Any, /, *filters: Any) -> Any:
        """The sub-State(s) matching each filter (one State per filter; leaves may repeat)."""
        return filter_state(self, first, *filters)

    def split(self, first: Any, /, *filters: Any) -> Any:
        """Partition into one State per filter; every leaf must match exactly one (first wins)."""
        return split_state(self, first, *filters)

    @staticmethod
    def merge(state: Mapping, /, *states: Mapping) -> "State":
        return merge_state(state, *states)

    def copy(self) -> "State":
        return State._wrap({k: (v.copy() if isinstance(v, State) else v) for k, v in self._mapping.items()})


def _repr_mapping(mapping: Mapping, indent: int) -> str:
    if not mapping:
        return "{}"
    pad = "  " * indent
    lines = []
    for k in sorted_keys(mapping):
        v = mapping[k]
        body = _repr_mapping(v, indent + 1) if isinstance(v, Mapping) else repr(v)
        lines.append(f"{pad}{k!r}: {body},")
    return "{\n" + "\n".join(lines) + "\n" + "  " * (indent - 1) + "}"


def _flatten_into(mapping: Mapping, prefix: PathParts, out: list) -> None:
    for k in sorted_keys(mapping):
        v = mapping[k]
        if isinstance(v, Mapping):
            _flatten_into(v, prefix + (k,), out)
        else:
            out.append((prefix + (k,), v))


# --- pytree registration ------------------------------------------------------------------------

def _state_flatten_with_keys(s: State):
    m = s._mapping
    keys = sorted_keys(m)
    return [(ec.tree.DictKey(k), m[k]) for k in keys], tuple(keys)


def _state_flatten(s: State):
    m = s._mapping
    keys = sorted_keys(m)
    return [m[k] for k in keys], tuple(keys)


def _state_unflatten(keys: tuple, children: Any) -> State:
    return State._wrap(dict(zip(keys, children)))


ec.tree.register_pytree_with_keys(State, _state_flatten_with_keys, _state_unflatten, _state_flatten)


class FlatState(tuple):
    """A tuple of ``(path, leaf)`` pairs, with ``.paths`` and ``.leaves``."""

    __slots__ = ()

    @property
    def paths(self) -> tuple[PathParts, ...]:
        return tuple(p for p, _ in self)

    @property
    def leaves(self) -> tuple[Any, ...]:
        return tuple(v for _, v in self)

    def to_nested_state(self) -> State:
        return from_flat_state(self)


def to_flat_state(state: Mapping) -> FlatState:
    """``state.flat_state()`` for any nested mapping."""
    out: list = []
    _flatten_into(state, (), out)
    return FlatState(out)


def from_flat_state(flat: Any) -> State:
    """Build a nested State from ``(path, leaf)`` pairs (or a ``{path: leaf}`` mapping)."""
    items = flat.items() if isinstance(flat, Mapping) else flat
    root: dict = {}
    for path, leaf in items:
        node = root
        for k in path[:-1]:
            child = node.get(k)
            if child is None:
                child = node[k] = {}
            node = child
        node[path[-1]] = leaf
    return _to_state(root)


def _to_state(d: dict) -> State:
    return State._wrap({k: (_to_state(v) if type(v) is dict else v) for k, v in d.items()})


def to_pure_dict(state: Mapping, extract: Callable[[Any], Any] | None = None) -> dict:
    """Nested plain dicts with each Variable replaced by its value.

    >>> import ember.nn as nn
    >>> nn.to_pure_dict(nn.State({"w": nn.Param(1.0)}))
    {'w': 1.0}
    """
    out = {}
    for k, v in state.items():
        if isinstance(v, Mapping):
            out[k] = to_pure_dict(v, extract)
        elif extract is not None:
            out[k] = extract(v)
        else:
            out[k] = v._value if isinstance(v, Variable) else v
    return out


def replace_by_pure_dict(state: Mapping, pure: Mapping) -> None:
    """Set the values of ``state``'s Variables from ``pure`` (same keys; int keys may be strings)."""
    for k, v in pure.items():
        key = k
        if key not in state:
            key = _restore_key(state, k)
        current = state[key]
        if isinstance(current, Mapping):
            replace_by_pure_dict(current, v)
        elif isinstance(current, Variable):
            current.value = v
        else:
            state[key] = v


def _restore_key(state: Mapping, key: Any) -> Any:
    if isinstance(key, str) and key.lstrip("-").isdigit() and int(key) in state:
        return int(key)
    raise KeyError(f"key {key!r} not found in state with keys {list(state)}")


def filter_state(state: Mapping, first: Any, /, *filters: Any) -> Any:
    """``state.filter(...)``: one State per filter."""
    flat = to_flat_state(state)
    preds = [filterlib.to_predicate(f) for f in (first, *filters)]
    states = tuple(from_flat_state([(p, v) for p, v in flat if pred(p, v)]) for pred in preds)
    return states[0] if len(states) == 1 else states


def split_state(state: Mapping, first: Any, /, *filters: Any) -> Any:
    """``state.split(...)``: a partition, one State per filter (a leaf goes to the first match)."""
    flat = to_flat_state(state)
    preds = filterlib.filters_to_predicates((first, *filters))
    buckets: list[list] = [[] for _ in preds]
    for path, v in flat:
        for i, pred in enumerate(preds):
            if pred(path, v):
                buckets[i].append((path, v))
                break
        else:
            raise ValueError(f"non-exhaustive filters: nothing matched {'/'.join(map(str, path))} ({v!r}); "
                             "add '...' as the last filter to collect the rest")
    states = tuple(from_flat_state(b) for b in buckets)
    return states[0] if len(states) == 1 else states


def merge_state(state: Mapping, /, *states: Mapping) -> State:
    """Merge States (later ones win on conflicts) into a new nested State."""
    pairs: dict = {}
    for s in (state, *states):
        for p, v in to_flat_state(s):
            pairs[p] = v
    return from_flat_state(pairs)


def map_state(f: Callable[[PathParts, Any], Any], state: Mapping) -> State:
    """A new State with ``f(path, leaf)`` at each leaf."""
    return from_flat_state([(p, f(p, v)) for p, v in to_flat_state(state)])
