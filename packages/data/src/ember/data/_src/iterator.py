"""``DatasetIterator``: the checkpointable iterator every ``IterDataset`` produces.

``get_state()`` returns a small dict of plain values (JSON-serialisable); ``set_state()`` on
a fresh iterator of the same pipeline continues with exactly the element that would have
come next, whatever the number of workers, threads or buffer sizes.

    >>> from ember.data import MapDataset
    >>> it = iter(MapDataset.range(5).to_iter_dataset())
    >>> next(it), next(it)
    (0, 1)
    >>> state = it.get_state()
    >>> it2 = iter(MapDataset.range(5).to_iter_dataset()); it2.set_state(state); next(it2)
    2
"""

from __future__ import annotations

import time
from typing import Any, Iterator, Sequence, TypeVar

from ember.data._src import stats as stats_lib

T = TypeVar("T")


class DatasetIterator(Iterator[T]):
    """Base iterator: timing, closing, state and statistics plumbing.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> it = iter(ed.MapDataset.range(5).map(lambda x: x * 10).to_iter_dataset())
    >>> isinstance(it, ed.DatasetIterator), next(it), next(it)
    (True, 0, 10)
    >>> state = it.get_state()                      # small and JSON-serialisable
    >>> state
    {'next_index': 2}
    >>> fresh = iter(ed.MapDataset.range(5).map(lambda x: x * 10).to_iter_dataset())
    >>> fresh.set_state(state); next(fresh)          # continues exactly where `it` stopped
    20
    """

    def __init__(self, parents: Sequence["DatasetIterator"] = (), name: str | None = None):
        self._parents = tuple(parents)
        self._closed = False
        self._stats = stats_lib.StageStats(name or type(self).__name__)
        self._stats.children = [p._stats for p in self._parents]

    def __iter__(self) -> "DatasetIterator[T]":
        return self

    def __next__(self) -> T:
        if self._closed:
            raise ValueError(f"Cannot advance the closed iterator {self._stats.name}.")
        st = self._stats
        t0 = time.perf_counter()
        if st.started is None:
            st.started = t0
        try:
            x = self._next()
        finally:
            st.time += time.perf_counter() - t0
        st.elements += 1
        return x

    def _next(self) -> T:
        raise NotImplementedError

    def get_state(self) -> dict[str, Any]:
        """A small JSON-serialisable dict from which ``set_state`` resumes exactly."""
        raise NotImplementedError

    def set_state(self, state: dict[str, Any]) -> None:
        """Continues from ``state`` (as returned by ``get_state`` of the same pipeline)."""
        raise NotImplementedError

    def start_prefetch(self) -> None:
        """Starts background work (threads, worker processes) without waiting for it."""
        for p in self._parents:
            p.start_prefetch()

    def close(self) -> None:
        """Releases threads, worker processes and shared memory. Idempotent; also happens on
        garbage collection and at interpreter exit."""
        if self._closed:
            return
        self._closed = True
        for p in self._parents:
            p.close()

    def __enter__(self) -> "DatasetIterator[T]":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """Per-stage statistics as a dict (see :mod:`ember.data._src.stats`)."""
        return stats_lib.collect(self._stats)

    def stats_table(self) -> str:
        """Per-stage statistics as a printable table."""
        return stats_lib.format_table(self.stats())

    def __str__(self) -> str:
        return self._stats.name


def check_state(state: Any, keys: Sequence[str], owner: object) -> dict[str, Any]:
    """Validates that ``state`` is a dict with ``keys``; clear error otherwise."""
    if not isinstance(state, dict):
        raise TypeError(f"{owner}: state must be a dict, got {type(state).__name__}.")
    missing = [k for k in keys if k not in state]
    if missing:
        raise ValueError(
            f"{owner}: state {state!r} is missing {missing}; was it saved from a different pipeline?"
        )
    return state
