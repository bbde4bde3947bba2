"""The classic ``DataLoader(data_source, sampler, operations, worker_count, shard_options)``.

It builds the same pipeline you would write with datasets: records at the sampler's keys,
1:1 operations fused with the read, then filters and batching, then worker processes. Its
state is a small dict; resuming works across a change of ``worker_count``.

    >>> from ember.data import DataLoader, IndexSampler, RangeDataSource, transforms, NoSharding
    >>> loader = DataLoader(data_source=RangeDataSource(0, 6, 1),
    ...                     sampler=IndexSampler(6, NoSharding(), num_epochs=1),
    ...                     operations=[transforms.Batch(4)])
    >>> [b.tolist() for b in loader]
    [[0, 1, 2, 3], [4, 5]]
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Sequence

import numpy as np

from ember.data._src import seeding
from ember.data._src import transforms as tf
from ember.data._src.iter_dataset import IterDataset
from ember.data._src.iterator import DatasetIterator
from ember.data._src.map_dataset import INFINITE, MapDataset, SourceMapDataset, _as_index_array
from ember.data._src.options import MultiprocessingOptions, ReadOptions
from ember.data._src.sharding import ShardOptions

_STATE_VERSION = 1


class _SamplerMapDataset(MapDataset):
    """Local position ``j`` of shard ``s`` -> ``source[sampler key at global j*count + s]``."""

    def __init__(self, source: Any, sampler: Any, shard_options: ShardOptions):
        self._source_ds = SourceMapDataset(source)
        super().__init__([self._source_ds])
        self._sampler = sampler
        self._count = shard_options.shard_count
        self._index = shard_options.shard_index
        n = len(sampler)
        self._len = INFINITE if n >= INFINITE else n // self._count

    def __len__(self) -> int:
        return self._len

    def global_indices(self, local: np.ndarray) -> np.ndarray:
        return _as_index_array(local) * self._count + self._index

    def _getitems(self, indices: np.ndarray):
        g = self.global_indices(indices)
        if hasattr(self._sampler, "record_keys"):
            keys = self._sampler.record_keys(g)
        else:
            keys = np.array([self._sampler[int(i)].record_key for i in g], dtype=np.int64)
        return self._source_ds._getitems(keys)

    def __str__(self) -> str:
        return f"SamplerMapDataset({self._sampler!r})"


class _GlobalIndexRandomMap:
    """RandomMap keyed by the record's global sampler position (independent of workers)."""

    def __init__(self, fn: Any, key: int, sampler_ds: _SamplerMapDataset):
        self._fn = fn
        self._rngs = seeding.RecordRngs(key)
        self._ds = sampler_ds

    def __call__(self, index: int, element: Any) -> Any:
        g = int(self._ds.global_indices(np.array([index]))[0])
        return self._fn(element, self._rngs.generator(g))


class DataLoader:
    """Loads ``data_source`` records in the order given by ``sampler``, applies
    ``operations`` (``transforms.Map/RandomMap/MapWithIndex/Filter/Batch``) and, with
    ``worker_count > 0``, computes them in worker processes.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> loader = ed.DataLoader(
    ...     data_source=ed.RangeDataSource(0, 10, 1),
    ...     sampler=ed.IndexSampler(10, shuffle=True, num_epochs=1, seed=0),
    ...     operations=[ed.transforms.Batch(4)])
    >>> [batch.tolist() for batch in loader]
    [[4, 5, 3, 8], [1, 0, 7, 2], [9, 6]]
    """

    def __init__(self, *, data_source: Any, sampler: Any, operations: Sequence[Any] = (),
                 worker_count: int | None = 0, worker_buffer_size: int = 2,
                 shard_options: ShardOptions | None = None, read_options: ReadOptions | None = None,
                 enable_profiling: bool = False):
        if worker_count is None:
            worker_count = os.cpu_count() or 1
        if worker_count < 0:
            raise ValueError(f"worker_count must be >= 0, got {worker_count}.")
        if shard_options is None:
            shard_options = getattr(sampler, "shard_options", None)
            if shard_options is None:
                raise ValueError("DataLoader needs shard_options (e.g. NoSharding() or ShardByProcess()).")
        self._source = data_source
        self._sampler = sampler
        self._operations = list(operations)
        self._shard_options = shard_options
        self._options = MultiprocessingOptions(worker_count, max(1, worker_buffer_size), enable_profiling)
        self._read_options = read_options or ReadOptions()
        self._dataset = self._create_dataset()

    def _create_dataset(self) -> IterDataset:
        base = _SamplerMapDataset(self._source, self._sampler, self._shard_options)
        seed = getattr(self._sampler, "seed", None) or 0
        ds: Any = base
        ops = list(self._operations)
        while ops and isinstance(ops[0], (tf.Map, tf.RandomMap, tf.MapWithIndex)):  # 1:1: stay random-access
            op = ops.pop(0)
            if isinstance(op, tf.RandomMap):
                key = seeding.derive_key(seed, "dataloader", len(self._operations) - len(ops))
                ds = ds.map_with_index(_GlobalIndexRandomMap(op.random_map, key, base))
            else:
                ds = ds.apply(op)
        it: IterDataset = ds.to_iter_dataset(self._read_options)
        for i, op in enumerate(ops):
            if isinstance(op, tf.RandomMap):
                it = it.random_map(op, seed=seeding.derive_key(seed, "dataloader-iter", i))
            elif isinstance(op, (tf.Map, tf.MapWithIndex, tf.Filter, tf.Batch)):
                it = it.apply(op)
            else:
                raise TypeError(f"Unsupported DataLoader operation {op!r}.")
        if self._options.num_workers > 0:
            it = it.mp_prefetch(self._options)
        return it

    @property
    def multiprocessing_options(self) -> MultiprocessingOptions:
        return self._options

    def __iter__(self) -> "DataLoaderIterator":
        return DataLoaderIterator(self)

    def graph(self) -> str:
        return self._dataset.graph()


class DataLoaderIterator(Iterator[Any]):
    """Iterator of a :class:`DataLoader` with ``get_state``/``set_state``.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> loader = ed.DataLoader(data_source=ed.RangeDataSource(0, 10, 1), sampler=ed.SequentialSampler(10))
    >>> it = iter(loader)
    >>> next(it), next(it)
    (0, 1)
    >>> state = it.get_state()
    >>> it2 = iter(loader); it2.set_state(state)
    >>> next(it2)
    2
    """

    def __init__(self, loader: DataLoader):
        self._loader = loader
        self._it: DatasetIterator = iter(loader._dataset)

    def __iter__(self) -> "DataLoaderIterator":
        return self

    def __next__(self) -> Any:
        return next(self._it)

    def get_state(self) -> dict[str, Any]:
        return {"version": _STATE_VERSION, "sampler": repr(self._loader._sampler),
                "pipeline": self._it.get_state()}

    def set_state(self, state: dict[str, Any] | bytes | str) -> None:
        if isinstance(state, (bytes, str)):
            state = json.loads(state)
        if not isinstance(state, dict) or "pipeline" not in state:
            raise ValueError(f"Not a DataLoader state: {state!r}.")
        if state.get("sampler") != repr(self._loader._sampler):
            raise ValueError(
                "The state was saved with a different sampler:\n"
                f"  in state:  {state.get('sampler')}\n  this one:  {self._loader._sampler!r}"
            )
        self._it.set_state(state["pipeline"])

    def start_prefetch(self) -> None:
        self._it.start_prefetch()

    def stats(self) -> dict[str, Any]:
        return self._it.stats()

    def stats_table(self) -> str:
        return self._it.stats_table()

    def close(self) -> None:
        self._it.close()

    def __enter__(self) -> "DataLoaderIterator":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
