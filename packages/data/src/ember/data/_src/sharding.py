"""Which part of the data this process reads.

    >>> even_split(10, ShardOptions(shard_index=1, shard_count=3))
    (4, 7)
"""

from __future__ import annotations

import dataclasses
import numbers


@dataclasses.dataclass(frozen=True)
class ShardOptions:
    """Read shard ``shard_index`` of ``shard_count``. With ``drop_remainder`` all shards
    get the same number of records (the remainder is dropped); otherwise the first
    ``num_records % shard_count`` shards get one more.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> [ed.IndexSampler(10, ed.ShardOptions(i, 3), num_epochs=1)[0].record_key for i in range(3)]   # first record of each shard
    [0, 4, 7]
    >>> ed.sharding.even_split(10, ed.ShardOptions(0, 3)), ed.sharding.even_split(10, ed.ShardOptions(1, 3))
    ((0, 4), (4, 7))
    """

    shard_index: int
    shard_count: int
    drop_remainder: bool = False

    def __post_init__(self):
        for name in ("shard_index", "shard_count"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"{name} must be an integer, got {v!r}.")
        if self.shard_count <= 0:
            raise ValueError(f"shard_count must be positive, got {self.shard_count}.")
        if not 0 <= self.shard_index < self.shard_count:
            raise ValueError(
                f"shard_index must be in [0, shard_count - 1] = [0, {self.shard_count - 1}], "
                f"got shard_index={self.shard_index} with shard_count={self.shard_count}."
            )


class NoSharding(ShardOptions):
    """Every process reads all the data.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> ed.IndexSampler(4, ed.NoSharding(), num_epochs=1)[3].record_key   # every process reads every record
    3
    """

    def __init__(self):
        super().__init__(shard_index=0, shard_count=1, drop_remainder=False)


def process_index_and_count() -> tuple[int, int]:
    """(process index, process count) from ember.core when installed, else (0, 1)."""
    try:
        import ember.core as ec
    except ImportError:
        return 0, 1
    return int(ec.process_index()), int(ec.process_count())


class ShardByProcess(ShardOptions):
    """One shard per process of a multi-process (multi-host) run, read from ember.core
    (``ec.process_index()`` / ``ec.process_count()``); a single shard without ember.core.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> options = ed.ShardByProcess(drop_remainder=True)   # shard_index / shard_count from ember.core
    >>> options.shard_index < options.shard_count
    True
    """

    def __init__(self, drop_remainder: bool = False):
        index, count = process_index_and_count()
        super().__init__(shard_index=index, shard_count=count, drop_remainder=drop_remainder)


def even_split(num_records: int, options: ShardOptions) -> tuple[int, int]:
    """The ``[start, stop)`` record interval of ``options``' shard.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> [ed.sharding.even_split(10, ed.ShardOptions(i, 3)) for i in range(3)]   # the first shard gets the extra record
    [(0, 4), (4, 7), (7, 10)]
    """
    per_shard, remainder = divmod(num_records, options.shard_count)
    start = per_shard * options.shard_index
    stop = start + per_shard
    if remainder and not options.drop_remainder:
        start += min(options.shard_index, remainder)
        stop += min(options.shard_index + 1, remainder)
    return start, stop
