"""Samplers for the classic :class:`~ember.data.DataLoader`: which record key comes at each
position of the (global) sequence.

    >>> s = IndexSampler(5, shuffle=True, num_epochs=2, seed=0)
    >>> len(s), sorted(s[i].record_key for i in range(5)) == [0, 1, 2, 3, 4]
    (10, True)
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np

from ember.data._src import seeding
from ember.data._src.map_dataset import MapDataset
from ember.data._src.sharding import NoSharding, ShardOptions, even_split


@dataclasses.dataclass(frozen=True)
class RecordMetadata:
    """What a sampler yields for each position: the position ``index``, the ``record_key`` to read, and an optional ``rng``.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> ed.SequentialSampler(3)[1]                   # what a sampler yields for each position
    RecordMetadata(index=1, record_key=1, rng=None)
    """
    index: int
    record_key: int
    rng: Any = None


class IndexSampler:
    """Shards (a contiguous split per shard), optionally shuffles (a new permutation each
    epoch), and repeats ``num_epochs`` times (None: forever). Global position ``i`` belongs
    to shard ``i % shard_count``.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> sampler = ed.IndexSampler(6, shuffle=True, num_epochs=2, seed=0)
    >>> [sampler[i].record_key for i in range(12)]     # a new permutation each epoch
    [2, 3, 0, 1, 4, 5, 3, 2, 1, 0, 4, 5]
    """

    def __init__(self, num_records: int, shard_options: ShardOptions | None = None, shuffle: bool = False,
                 num_epochs: int | None = None, seed: int | None = None):
        if isinstance(num_records, bool) or not isinstance(num_records, (int, np.integer)) or num_records <= 0:
            raise ValueError(f"num_records must be a positive integer, got {num_records!r}.")
        if num_epochs is not None and (not isinstance(num_epochs, (int, np.integer)) or num_epochs <= 0):
            raise ValueError(f"num_epochs must be a positive integer or None, got {num_epochs!r}.")
        if seed is not None:
            seed = seeding.validate_seed(seed)
        if shuffle and seed is None:
            raise ValueError("IndexSampler(shuffle=True) needs a seed.")
        self._num_records = int(num_records)
        self._shard_options = shard_options or NoSharding()
        self._shuffle = shuffle
        self._num_epochs = num_epochs
        self._seed = seed
        start, stop = even_split(self._num_records, self._shard_options)
        keys: MapDataset = MapDataset.range(self._num_records)
        if (start, stop) != (0, self._num_records):
            keys = keys.slice(slice(start, stop))
        if shuffle:
            keys = keys.shuffle(seed=seed)
        self._keys = keys
        self._shard_len = stop - start
        count = self._shard_options.shard_count
        if num_epochs is None:
            self._max_index: int | None = None
        else:
            self._max_index = int(num_epochs) * self._num_records
            if self._shard_options.drop_remainder:
                self._max_index = min(self._max_index, self._shard_len * count * int(num_epochs))

    @property
    def shard_options(self) -> ShardOptions:
        return self._shard_options

    @property
    def seed(self) -> int | None:
        return self._seed

    def __len__(self) -> int:
        return sys.maxsize if self._max_index is None else self._max_index

    def record_keys(self, global_indices: np.ndarray) -> np.ndarray:
        """Record keys at many global positions (vectorised)."""
        local = np.asarray(global_indices, dtype=np.int64) // self._shard_options.shard_count
        return np.asarray(self._keys._getitems(local), dtype=np.int64)

    def __getitem__(self, index: int) -> RecordMetadata:
        if index < 0 or (self._max_index is not None and index >= self._max_index):
            raise IndexError(f"Sampler index {index} is out of range [0, {len(self)}).")
        return RecordMetadata(index=index, record_key=int(self.record_keys(np.array([index]))[0]))

    def __repr__(self) -> str:
        return (f"IndexSampler(num_records={self._num_records}, shard_options={self._shard_options!r}, "
                f"shuffle={self._shuffle}, num_epochs={self._num_epochs}, seed={self._seed})")


class SequentialSampler(IndexSampler):
    """Records in order, one epoch.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> [ed.SequentialSampler(4)[i].record_key for i in range(4)]
    [0, 1, 2, 3]
    """

    def __init__(self, num_records: int, shard_options: ShardOptions | None = None, seed: int | None = None):
        super().__init__(num_records, shard_options, shuffle=False, num_epochs=1, seed=seed)
