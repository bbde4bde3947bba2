"""Combining several iterators: weighted ``mix`` and round-robin ``interleave``.

Both are deterministic and keep the states of their inputs in their own state, so resuming
continues every input exactly where it was.

    >>> from ember.data import MapDataset
    >>> ds = InterleaveIterDataset([MapDataset.range(3), MapDataset.range(100, 101)], cycle_length=2)
    >>> list(ds)
    [0, 100, 1, 2]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ember.data._src.iter_dataset import BuildContext, IterDataset
from ember.data._src.iterator import DatasetIterator, check_state
from ember.data._src.map_dataset import MapDataset
from ember.data._src.mixing import MixSelection


def _as_iter(ds: Any) -> IterDataset:
    if isinstance(ds, MapDataset):
        return ds.to_iter_dataset()
    if isinstance(ds, IterDataset):
        return ds
    raise TypeError(f"Expected a MapDataset or IterDataset, got {type(ds).__name__}.")


class MixedIterDataset(IterDataset):
    """Mixes iterable datasets by ``weights`` (a list, or a dict with the keys of ``datasets``) in a fixed smooth pattern (``IterDataset.mix``); stops when any input is exhausted.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> parts = [ed.MapDataset.range(3).to_iter_dataset(), ed.MapDataset.range(10, 13).to_iter_dataset()]
    >>> list(ed.MixedIterDataset(parts, weights=[1, 1]))
    [0, 10, 1, 11, 2, 12]
    """
    def __init__(self, datasets: Sequence[Any] | Mapping[str, Any], weights: Any = None):
        if isinstance(datasets, Mapping):
            self._keys: list[str] | None = list(datasets)
            parents = [_as_iter(datasets[k]) for k in self._keys]
            if isinstance(weights, Mapping):
                weights = [weights[k] for k in self._keys]
        else:
            self._keys = None
            parents = [_as_iter(d) for d in datasets]
        if not parents:
            raise ValueError("IterDataset.mix needs at least one dataset.")
        super().__init__(parents)
        if weights is None:
            weights = [1.0] * len(parents)
        if len(weights) != len(parents):
            raise ValueError(f"Got {len(weights)} weights for {len(parents)} datasets.")
        self._weights = [float(w) for w in weights]
        self._selection = MixSelection(self._weights)

    def _build(self, ctx: BuildContext) -> DatasetIterator:
        return _MixIterator([p._build(ctx) for p in self._parents], self)

    def __str__(self) -> str:
        return f"MixedIterDataset(weights={self._weights})"


class _MixIterator(DatasetIterator):
    def __init__(self, parents: list[DatasetIterator], cfg: MixedIterDataset):
        super().__init__(parents, str(cfg))
        self._cfg = cfg
        self._index = 0
        self._stop = False

    def _next(self):
        if self._stop:
            raise StopIteration
        d, _ = self._cfg._selection.select(self._index)
        try:
            x = next(self._parents[d])
        except StopIteration:
            self._stop = True
            raise
        self._index += 1
        return x

    def get_state(self) -> dict[str, Any]:
        states = [p.get_state() for p in self._parents]
        parents: Any = dict(zip(self._cfg._keys, states)) if self._cfg._keys else states
        return {"parents": parents, "index": self._index, "stop": self._stop}

    def set_state(self, state: dict[str, Any]) -> None:
        state = check_state(state, ["parents", "index", "stop"], self)
        ps = state["parents"]
        if self._cfg._keys:
            for k, p in zip(self._cfg._keys, self._parents):
                if k in ps:
                    p.set_state(ps[k])
        else:
            if len(ps) != len(self._parents):
                raise ValueError(f"{self}: state has {len(ps)} inputs, the pipeline has {len(self._parents)}.")
            for p, s in zip(self._parents, ps):
                p.set_state(s)
        self._index = int(state["index"])
        self._stop = bool(state["stop"])


class InterleaveIterDataset(IterDataset):
    """Round-robin over up to ``cycle_length`` open datasets; an exhausted dataset's slot
    is taken by the next unopened one. Stops when all are exhausted.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> parts = [ed.MapDataset.range(3).to_iter_dataset(), ed.MapDataset.range(10, 13).to_iter_dataset()]
    >>> list(ed.InterleaveIterDataset(parts, cycle_length=2))
    [0, 10, 1, 11, 2, 12]
    """

    def __init__(self, datasets: Sequence[Any], cycle_length: int | None = None, **_grain_tuning: Any):
        datasets = [_as_iter(d) for d in datasets]
        super().__init__()
        self._datasets = datasets
        if cycle_length is None:
            cycle_length = max(1, len(datasets))
        if not isinstance(cycle_length, int) or cycle_length < 1:
            raise ValueError(f"cycle_length must be a positive integer, got {cycle_length!r}.")
        self._cycle_length = min(cycle_length, max(1, len(datasets)))

    def _graph_children(self):
        return self._datasets

    def _build(self, ctx: BuildContext) -> DatasetIterator:
        return _InterleaveIterator(self, ctx)

    def __str__(self) -> str:
        return f"InterleaveIterDataset({len(self._datasets)} datasets, cycle_length={self._cycle_length})"


class _InterleaveIterator(DatasetIterator):
    def __init__(self, cfg: InterleaveIterDataset, ctx: BuildContext):
        super().__init__(name=str(cfg))
        self._cfg = cfg
        self._ctx = ctx
        self._slots: list[tuple[int, DatasetIterator] | None] = [None] * cfg._cycle_length
        self._next_dataset = 0
        self._pos = 0
        for i in range(cfg._cycle_length):
            self._open(i)

    def _open(self, slot: int, state: Any = None) -> None:
        old = self._slots[slot]
        if old is not None:
            old[1].close()
            self._stats.children.remove(old[1]._stats)
        self._slots[slot] = None
        if self._next_dataset < len(self._cfg._datasets):
            d = self._next_dataset
            self._next_dataset += 1
            it = self._cfg._datasets[d]._build(self._ctx)
            if state is not None:
                it.set_state(state)
            self._slots[slot] = (d, it)
            self._stats.children.append(it._stats)

    def _next(self):
        n = len(self._slots)
        while any(s is not None for s in self._slots):
            slot = self._pos % n
            entry = self._slots[slot]
            if entry is None:
                self._pos = (self._pos + 1) % n
                continue
            try:
                x = next(entry[1])
            except StopIteration:
                self._open(slot)
                continue
            self._pos = (self._pos + 1) % n
            return x
        raise StopIteration

    def get_state(self) -> dict[str, Any]:
        return {
            "next_dataset": self._next_dataset,
            "pos": self._pos,
            "slots": [None if s is None else [s[0], s[1].get_state()] for s in self._slots],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        state = check_state(state, ["next_dataset", "pos", "slots"], self)
        if len(state["slots"]) != len(self._slots):
            raise ValueError(f"{self}: state has {len(state['slots'])} slots, cycle_length is {len(self._slots)}.")
        for slot, entry in enumerate(self._slots):
            if entry is not None:
                entry[1].close()
                self._stats.children.remove(entry[1]._stats)
            self._slots[slot] = None
        for slot, saved in enumerate(state["slots"]):
            if saved is not None:
                d, s = saved
                it = self._cfg._datasets[int(d)]._build(self._ctx)
                it.set_state(s)
                self._slots[slot] = (int(d), it)
                self._stats.children.append(it._stats)
        self._next_dataset = int(state["next_dataset"])
        self._pos = int(state["pos"])

    def start_prefetch(self) -> None:
        for s in self._slots:
            if s is not None:
                s[1].start_prefetch()

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        for s in self._slots:
            if s is not None:
                s[1].close()
