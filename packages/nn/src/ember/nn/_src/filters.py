"""Filters: which parts of a module's state a graph function or transform acts on.

A filter is turned into a predicate ``(path, value) -> bool`` by :func:`to_predicate`:

- a type (``nn.Param``, ``nn.BatchStat``, a Module class...): ``isinstance(value, type)``
- a string: the Variable's ``tag`` metadata (RNG streams are tagged with their name)
- ``...`` or ``True``: everything; ``None`` or ``False``: nothing
- a list/tuple of filters: any of them
- ``All``, ``Any``, ``Not``, ``PathContains``, ``PathRegex``, ``OfType``, ``WithTag``
- any other callable: used as the predicate itself

    >>> import ember.nn as nn
    >>> f = nn.All(nn.Param, nn.Not(nn.PathContains("bias")))
    >>> f(("linear", "kernel"), nn.Param(0.0)), f(("linear", "bias"), nn.Param(0.0))
    (True, False)
"""

from __future__ import annotations

import builtins
import re
from typing import Any, Callable

__all__ = [
    "Filter", "to_predicate", "OfType", "WithTag", "PathContains", "PathRegex", "All", "Any", "Not",
    "Everything", "Nothing", "filters_to_predicates",
]

Filter = Any  # type alias for documentation: see the module docstring
Predicate = Callable[[tuple, Any], bool]


class _Predicate:
    def __call__(self, path: tuple, value: Any) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __eq__(self, other: Any) -> bool:
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._key()))

    def _key(self) -> Any:
        return ()


class OfType(_Predicate):
    """Values that are instances of ``type`` (Variables by kind, or nodes by class)."""

    def __init__(self, type: type):
        self.type = type

    def __call__(self, path: tuple, value: Any) -> bool:
        return isinstance(value, self.type)

    def _key(self) -> Any:
        return self.type

    def __repr__(self) -> str:
        return f"OfType({self.type.__name__})"


class WithTag(_Predicate):
    """Variables whose ``tag`` metadata equals ``tag`` (RNG state is tagged with its stream)."""

    def __init__(self, tag: str):
        self.tag = tag

    def __call__(self, path: tuple, value: Any) -> bool:
        meta = getattr(value, "_meta", None)
        return isinstance(meta, dict) and meta.get("tag") == self.tag

    def _key(self) -> Any:
        return self.tag

    def __repr__(self) -> str:
        return f"WithTag({self.tag!r})"


class PathContains(_Predicate):
    """Values whose path contains ``key`` as one of its parts."""

    def __init__(self, key: Any):
        self.key = key

    def __call__(self, path: tuple, value: Any) -> bool:
        return self.key in path

    def _key(self) -> Any:
        return self.key

    def __repr__(self) -> str:
        return f"PathContains({self.key!r})"


class PathRegex(_Predicate):
    """Values whose path, joined with ``/`` (``"layers/0/kernel"``), matches ``pattern`` (``re.search``)."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self._re = re.compile(pattern)

    def __call__(self, path: tuple, value: Any) -> bool:
        return self._re.search("/".join(str(p) for p in path)) is not None

    def _key(self) -> Any:
        return self.pattern

    def __repr__(self) -> str:
        return f"PathRegex({self.pattern!r})"


class All(_Predicate):
    """Values matched by every one of ``filters``."""

    def __init__(self, *filters: Filter):
        self.filters = filters
        self.predicates = tuple(to_predicate(f) for f in filters)

    def __call__(self, path: tuple, value: Any) -> bool:
        return builtins.all(p(path, value) for p in self.predicates)

    def _key(self) -> Any:
        return self.predicates

    def __repr__(self) -> str:
        return f"All({', '.join(map(repr, self.filters))})"


class Any(_Predicate):  # noqa: A001 - Flax NNX's name
    """Values matched by at least one of ``filters``."""

    def __init__(self, *filters: Filter):
        self.filters = filters
        self.predicates = tuple(to_predicate(f) for f in filters)

    def __call__(self, path: tuple, value: object) -> bool:
        return builtins.any(p(path, value) for p in self.predicates)

    def _key(self) -> object:
        return self.predicates

    def __repr__(self) -> str:
        return f"Any({', '.join(map(repr, self.filters))})"


class Not(_Predicate):
    """Values not matched by ``filter``."""

    def __init__(self, filter: Filter):
        self.filter = filter
        self.predicate = to_predicate(filter)

    def __call__(self, path: tuple, value: object) -> bool:
        return not self.predicate(path, value)

    def _key(self) -> object:
        return self.predicate

    def __repr__(self) -> str:
        return f"Not({self.filter!r})"


class Everything(_Predicate):
    """Matches every value."""

    def __call__(self, path: tuple, value: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "Everything()"


class Nothing(_Predicate):
    """Matches no value."""

    def __call__(self, path: tuple, value: object) -> bool:
        return False

    def __repr__(self) -> str:
        return "Nothing()"


_EVERYTHING = Everything()
_NOTHING = Nothing()


def to_predicate(filter: Filter) -> Predicate:
    """Turn a filter (see the module docstring) into a ``(path, value) -> bool`` predicate."""
    if isinstance(filter, _Predicate):
        return filter
    if isinstance(filter, type):
        return OfType(filter)
    if isinstance(filter, str):
        return WithTag(filter)
    if filter is Ellipsis or filter is True:
        return _EVERYTHING
    if filter is None or filter is False:
        return _NOTHING
    if isinstance(filter, (list, tuple)):
        return Any(*filter)
    if callable(filter):
        return filter
    raise TypeError(f"invalid filter {filter!r}: expected a type, str, ..., bool, None, list/tuple or callable")


def filters_to_predicates(filters: tuple[Filter, ...]) -> tuple[Predicate, ...]:
    """Predicates for a partition: filters after ``...`` are an error (it already took everything)."""
    for i, f in enumerate(filters[:-1]):
        if f is Ellipsis:
            raise ValueError(f"'...' must be the last filter, found it at position {i} of {len(filters)}")
    return tuple(to_predicate(f) for f in filters)
