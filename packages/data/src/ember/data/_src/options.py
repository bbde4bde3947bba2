"""Execution options and the debug switch.

Options only change *how* a pipeline runs, never *what* it produces: the same seed and
configuration give the same elements for any number of threads, workers or buffer sizes.

    >>> with debug_mode():
    ...     is_debug()
    True
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from typing import Iterator


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How ``to_iter_dataset`` reads and transforms records in this process.

    Attributes:
      num_threads: background threads computing chunks of records ahead of the consumer
        (0: compute on demand in the consumer's thread). The default, one thread, overlaps
        data loading with the consumer's work; more threads only help when the work
        releases the GIL (I/O, large NumPy operations).
      prefetch_buffer_size: how many elements may be computed ahead of the consumer.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> ds = ed.MapDataset.range(6).map(lambda x: -x).to_iter_dataset(ed.ReadOptions(num_threads=4))
    >>> list(ds)                           # the same order for any number of threads
    [0, -1, -2, -3, -4, -5]
    """

    num_threads: int = 1
    prefetch_buffer_size: int = 256

    def __post_init__(self):
        if self.num_threads < 0:
            raise ValueError(f"num_threads must be >= 0, got {self.num_threads}.")
        if self.prefetch_buffer_size < 1:
            raise ValueError(f"prefetch_buffer_size must be >= 1, got {self.prefetch_buffer_size}.")


@dataclasses.dataclass(frozen=True)
class MultiprocessingOptions:
    """Worker processes for ``mp_prefetch`` / ``DataLoader``.

    Attributes:
      num_workers: worker processes (0: everything runs in this process).
      per_worker_buffer_size: chunks of work each worker may hold finished or in progress.
      enable_profiling: accepted for Grain compatibility; statistics are always collected.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> options = ed.MultiprocessingOptions(num_workers=2, per_worker_buffer_size=2)
    >>> ds = ed.MapDataset.range(8).map(lambda x: x * 2).batch(4).to_iter_dataset().mp_prefetch(options)
    >>> [b.tolist() for b in ds]         # the same batches as with 0 workers
    [[0, 2, 4, 6], [8, 10, 12, 14]]
    """

    num_workers: int = 0
    per_worker_buffer_size: int = 2
    enable_profiling: bool = False

    def __post_init__(self):
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {self.num_workers}.")
        if self.per_worker_buffer_size < 1:
            raise ValueError(
                f"per_worker_buffer_size must be >= 1, got {self.per_worker_buffer_size}."
            )


_state = threading.local()
_global_debug = os.environ.get("EMBER_DATA_DEBUG", "") not in ("", "0", "false", "False")


def is_debug() -> bool:
    """Whether pipelines run everything in the calling thread of the main process.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> ed.is_debug()                 # True inside `with ed.debug_mode():` or with EMBER_DATA_DEBUG=1
    False
    """
    local = getattr(_state, "debug", None)
    return _global_debug if local is None else local


def set_debug(enabled: bool) -> None:
    """Turns debug mode on or off for the whole process (also: ``EMBER_DATA_DEBUG=1``).

    >>> import numpy as np
    >>> import ember.data as ed
    >>> ed.set_debug(True); ed.is_debug()
    True
    >>> ed.set_debug(False); ed.is_debug()
    False
    """
    global _global_debug
    _global_debug = bool(enabled)


@contextlib.contextmanager
def debug_mode(enabled: bool = True) -> Iterator[None]:
    """Within this block, iterators created run all work inline: no threads, no worker
    processes. Results are identical; errors surface with their native tracebacks.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> with ed.debug_mode():                 # no threads, no processes: native tracebacks
    ...     print(ed.is_debug(), list(ed.MapDataset.range(3).map(lambda x: x + 1).to_iter_dataset()))
    True [1, 2, 3]
    >>> ed.is_debug()
    False
    """
    previous = getattr(_state, "debug", None)
    _state.debug = enabled
    try:
        yield
    finally:
        _state.debug = previous
