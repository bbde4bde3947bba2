"""Thread prefetching for iterators that cannot be fused into a segment (after packing,
mixing, interleaving...). A background thread runs the parent iterator up to
``buffer_size`` elements ahead; the state handed out is the parent's state right after the
element the consumer received, so prefetching never changes what a checkpoint resumes.

    >>> from ember.data import MapDataset
    >>> seqs = MapDataset.range(1, 6).map(lambda n: {"t": np.arange(n)}).to_iter_dataset()
    >>> ds = seqs.pack({"t": 6}, num_packing_bins=2).prefetch(2)
    >>> [row["t_segment_ids"].tolist() for row in ds]
    [[1, 2, 2, 3, 3, 3], [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0]]
"""

from __future__ import annotations

import queue
import threading
import weakref
from typing import Any

import numpy as np  # noqa: F401  (used by the example above)

from ember.data._src.iterator import DatasetIterator

_ELEMENT, _END, _ERROR = 0, 1, 2


def _produce(parent: DatasetIterator, q: queue.Queue, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            x = parent.__next__()
            item = (_ELEMENT, x, parent.get_state())
        except StopIteration:
            item = (_END, None, parent.get_state())
        except BaseException as e:  # delivered to the consumer, raised there
            item = (_ERROR, e, None)
        while not stop.is_set():
            try:
                q.put(item, timeout=0.2)
                break
            except queue.Full:
                continue
        if item[0] != _ELEMENT:
            return


class ThreadPrefetchIterator(DatasetIterator):
    def __init__(self, parent: DatasetIterator, buffer_size: int):
        super().__init__([parent], f"prefetch(buffer_size={buffer_size})")
        self._buffer_size = buffer_size
        self._state = parent.get_state()
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._stop: threading.Event | None = None
        self._finalizer: Any = None
        self._stats.children[0].same_thread = False
        self._done: tuple[int, Any] | None = None

    def _start(self) -> None:
        self._queue = queue.Queue(maxsize=self._buffer_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=_produce, args=(self._parents[0], self._queue, self._stop),
            name="ember-data-prefetch", daemon=True,
        )
        self._finalizer = weakref.finalize(self, self._stop.set)
        self._thread.start()

    def _halt(self) -> None:
        if self._thread is None:
            return
        self._stop.set()  # type: ignore[union-attr]
        self._thread.join(timeout=5.0)
        self._thread = None
        self._queue = None

    def _next(self):
        if self._done is not None:
            if self._done[0] == _ERROR:
                raise self._done[1]
            raise StopIteration
        if self._thread is None:
            self._start()
        q = self._queue
        assert q is not None
        self._stats.sample_queue(q.qsize(), self._buffer_size)
        while True:
            try:
                kind, value, state = q.get(timeout=0.5)
                break
            except queue.Empty:
                if not self._thread.is_alive() and q.empty():  # type: ignore[union-attr]
                    raise RuntimeError("ember.data prefetch thread stopped without a result.") from None
        if kind == _ELEMENT:
            self._state = state
            return value
        self._done = (kind, value)
        if kind == _END:
            self._state = state
            raise StopIteration
        raise value

    def get_state(self) -> dict[str, Any]:
        return self._state

    def set_state(self, state: dict[str, Any]) -> None:
        self._halt()
        self._parents[0].set_state(state)
        self._state = self._parents[0].get_state()
        self._done = None

    def start_prefetch(self) -> None:
        if self._thread is None and self._done is None:
            self._start()

    def close(self) -> None:
        if self._closed:
            return
        self._halt()
        super().close()
