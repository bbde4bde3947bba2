"""Placing batches on devices with ember.core (optional dependency).

``device_put(ds_or_iterator, sharding)`` transfers each batch with ``ec.device_put`` and
keeps ``buffer_size`` batches in flight ahead of the consumer (double buffering by default).
The iterator state is that of the host pipeline after the batch last handed out, so a
checkpoint never loses or repeats the batches in flight.

    >>> import ember.data as ed
    >>> try:
    ...     it = ed.device_put(ed.MapDataset.range(4).batch(2).to_iter_dataset())
    ... except ImportError as e:
    ...     it = None  # ember.core is not installed
"""

from __future__ import annotations

import collections
from typing import Any, Iterator

from ember.data._src.iter_dataset import BuildContext, IterDataset
from ember.data._src.iterator import DatasetIterator


def require_core() -> Any:
    try:
        import ember.core as ec
    except ImportError as e:
        raise ImportError(
            "ember.data.device_put places batches on devices with ember.core, which is not "
            "installed: pip install ember-core (or pip install 'ember-data[core]')."
        ) from e
    return ec


def device_put(data: Any, sharding: Any = None, *, buffer_size: int = 2) -> Any:
    """Places every element of ``data`` (an IterDataset, a DatasetIterator, or any iterable)
    on devices: ``ec.device_put(element, sharding)``. Returns the same kind of object.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> import importlib.util
    >>> ds = ed.MapDataset.range(4).batch(2).to_iter_dataset()
    >>> if importlib.util.find_spec("ember.core"):   # device_put needs ember-core
    ...     ds = ed.device_put(ds)                     # batches become ember Arrays, two ahead
    >>> [batch.tolist() for batch in ds]
    [[0, 1], [2, 3]]
    """
    ec = require_core()
    if not isinstance(buffer_size, int) or buffer_size < 1:
        raise ValueError(f"buffer_size must be a positive integer, got {buffer_size!r}.")
    if isinstance(data, IterDataset):
        return DevicePutIterDataset(data, sharding, buffer_size)
    if isinstance(data, DatasetIterator):
        return _DevicePutIterator(data, ec, sharding, buffer_size)
    return _plain(iter(data), ec, sharding, buffer_size)


def _plain(it: Iterator[Any], ec: Any, sharding: Any, buffer_size: int) -> Iterator[Any]:
    queue: collections.deque = collections.deque()
    while True:
        while len(queue) < buffer_size:
            try:
                queue.append(ec.device_put(next(it), sharding))
            except StopIteration:
                break
        if not queue:
            return
        yield queue.popleft()


class DevicePutIterDataset(IterDataset):
    def __init__(self, parent: IterDataset, sharding: Any, buffer_size: int):
        super().__init__([parent])
        self._sharding = sharding
        self._buffer_size = buffer_size

    def _build(self, ctx: BuildContext) -> DatasetIterator:
        return _DevicePutIterator(self._parent._build(ctx), require_core(), self._sharding, self._buffer_size)

    def __str__(self) -> str:
        return f"device_put(sharding={self._sharding!r}, buffer_size={self._buffer_size})"


class _DevicePutIterator(DatasetIterator):
    def __init__(self, parent: DatasetIterator, ec: Any, sharding: Any, buffer_size: int):
        super().__init__([parent], f"device_put(buffer_size={buffer_size})")
        self._ec = ec
        self._sharding = sharding
        self._buffer_size = buffer_size
        self._queue: collections.deque = collections.deque()
        self._state = parent.get_state()
        self._exhausted = False

    def _next(self):
        parent = self._parents[0]
        while len(self._queue) < self._buffer_size and not self._exhausted:
            try:
                x = next(parent)
            except StopIteration:
                self._exhausted = True
                break
            self._queue.append((self._ec.device_put(x, self._sharding), parent.get_state()))
        self._stats.sample_queue(len(self._queue), self._buffer_size)
        if not self._queue:
            raise StopIteration
        x, self._state = self._queue.popleft()
        return x

    def get_state(self):
        return self._state

    def set_state(self, state):
        self._queue.clear()
        self._exhausted = False
        self._parents[0].set_state(state)
        self._state = self._parents[0].get_state()
