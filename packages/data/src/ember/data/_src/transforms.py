"""Transformation classes (Grain-compatible names) and their adaptation to plain callables.

A transformation can be given either as a plain function or as an instance of one of these
classes, e.g. for the classic :class:`~ember.data.DataLoader` ``operations`` list.

    >>> class AddOne(Map):
    ...     def map(self, x):
    ...         return x + 1
    >>> as_map_fn(AddOne())(1)
    2
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from typing import Any, Callable, Sequence

import numpy as np


class Map(abc.ABC):
    """A 1:1 transformation of a record.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> class Square(ed.transforms.Map):
    ...     def map(self, element):
    ...         return element * element
    >>> loader = ed.DataLoader(data_source=ed.RangeDataSource(0, 4, 1), sampler=ed.SequentialSampler(4), operations=[Square()])
    >>> list(loader)
    [0, 1, 4, 9]
    """

    @abc.abstractmethod
    def map(self, element: Any) -> Any:
        """Returns the transformed element."""


class RandomMap(abc.ABC):
    """A 1:1 random transformation; ``rng`` is derived from the seed and the record position.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> class Jitter(ed.transforms.RandomMap):
    ...     def random_map(self, element, rng):      # rng: np.random.Generator from (seed, position)
    ...         return element + rng.integers(0, 100)
    >>> loader = ed.DataLoader(data_source=ed.RangeDataSource(0, 3, 1), sampler=ed.SequentialSampler(3, seed=0), operations=[Jitter()])
    >>> list(loader) == list(loader)          # deterministic
    True
    """

    @abc.abstractmethod
    def random_map(self, element: Any, rng: np.random.Generator) -> Any:
        """Returns the transformed element."""


class MapWithIndex(abc.ABC):
    """A 1:1 transformation that also sees the record position.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> class Tag(ed.transforms.MapWithIndex):
    ...     def map_with_index(self, index, element):
    ...         return (index, element)
    >>> loader = ed.DataLoader(data_source=ed.InMemoryDataSource(["a", "b"]), sampler=ed.SequentialSampler(2), operations=[Tag()])
    >>> list(loader)
    [(0, 'a'), (1, 'b')]
    """

    @abc.abstractmethod
    def map_with_index(self, index: int, element: Any) -> Any:
        """Returns the transformed element."""


class Filter(abc.ABC):
    """Keeps the records for which ``filter`` returns True.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> class Even(ed.transforms.Filter):
    ...     def filter(self, element):
    ...         return element % 2 == 0
    >>> loader = ed.DataLoader(data_source=ed.RangeDataSource(0, 6, 1), sampler=ed.SequentialSampler(6), operations=[Even()])
    >>> list(loader)
    [0, 2, 4]
    """

    @abc.abstractmethod
    def filter(self, element: Any) -> bool:
        """Returns whether to keep the element."""


@dataclasses.dataclass(frozen=True)
class Batch:
    """Stacks ``batch_size`` consecutive records along a new leading axis.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> loader = ed.DataLoader(data_source=ed.RangeDataSource(0, 5, 1), sampler=ed.SequentialSampler(5),
    ...                        operations=[ed.transforms.Batch(2, drop_remainder=True)])
    >>> [b.tolist() for b in loader]
    [[0, 1], [2, 3]]
    """

    batch_size: int
    drop_remainder: bool = False
    batch_fn: Callable[[Sequence[Any]], Any] | None = None


Transformation = Map | RandomMap | MapWithIndex | Filter | Batch


def _check_callable(fn: Any, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"{what} expects a callable or a transform object, got {fn!r}.")


def as_map_fn(t: Any) -> Callable[[Any], Any]:
    if isinstance(t, Map):
        return t.map
    _check_callable(t, "map")
    return t


def as_random_map_fn(t: Any) -> Callable[[Any, np.random.Generator], Any]:
    if isinstance(t, RandomMap):
        return t.random_map
    _check_callable(t, "random_map")
    return t


def as_map_with_index_fn(t: Any) -> Callable[[int, Any], Any]:
    if isinstance(t, MapWithIndex):
        return t.map_with_index
    _check_callable(t, "map_with_index")
    return t


def as_filter_fn(t: Any) -> Callable[[Any], bool]:
    if isinstance(t, Filter):
        return t.filter
    _check_callable(t, "filter")
    return t


def describe(fn: Any) -> str:
    """A short, stable name for a user function (for graphs, stats and error messages)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    owner = getattr(fn, "__self__", None)
    if owner is not None and isinstance(owner, (Map, RandomMap, MapWithIndex, Filter)):
        return type(owner).__name__
    if isinstance(fn, (Map, RandomMap, MapWithIndex, Filter)):
        return type(fn).__name__
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    return name or type(fn).__name__
