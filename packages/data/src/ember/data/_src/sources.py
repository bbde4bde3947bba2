"""Random-access data sources: anything with ``__len__`` and ``__getitem__``.

A source may also define ``__getitems__(indices) -> list`` to read many records at once;
ember.data always reads through it when present (one call per chunk of records), which is
where in-memory and Parquet sources get their speed.

    >>> import numpy as np
    >>> src = InMemoryDataSource({"x": np.arange(6).reshape(3, 2), "y": np.array([7, 8, 9])})
    >>> len(src), src[1]["x"].tolist(), int(src[-1]["y"])
    (3, [2, 3], 9)
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

T = TypeVar("T", covariant=True)


@runtime_checkable
class RandomAccessDataSource(Protocol[T]):
    """What ember.data needs from a source: a length and random access by index.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> class Squares:                          # any object with __len__ and __getitem__ will do
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, index):
    ...         return index * index
    >>> isinstance(Squares(), ed.RandomAccessDataSource), list(ed.MapDataset.source(Squares()))
    (True, [0, 1, 4, 9])
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> T: ...


def check_index(index: Any, length: int, owner: object) -> int:
    """Normalises a Python-style index (negatives count from the end) or raises IndexError."""
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise TypeError(f"{owner!r} indices must be integers, got {type(index).__name__}.")
    i = int(index)
    if i < 0:
        i += length
    if not 0 <= i < length:
        raise IndexError(f"Index {int(index)} is out of range for {owner!r} of length {length}.")
    return i


def check_indices(indices: Any, length: int, owner: object) -> np.ndarray:
    """Vectorised :func:`check_index`; returns an int64 array of non-negative indices."""
    idx = np.asarray(indices)
    if idx.size == 0:
        return idx.astype(np.int64).reshape(0)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{owner!r} indices must be integers, got dtype {idx.dtype}.")
    idx = idx.astype(np.int64, copy=False).reshape(-1)
    if idx.min() < 0:
        idx = np.where(idx < 0, idx + length, idx)
    bad = (idx < 0) | (idx >= length)
    if bad.any():
        first = int(np.asarray(indices).reshape(-1)[np.flatnonzero(bad)[0]])
        raise IndexError(f"Index {first} is out of range for {owner!r} of length {length}.")
    return idx


class InMemoryDataSource:
    """Records held in memory: a NumPy array (one record per row), a mapping of equally long
    columns (one record = a dict with one entry per column), or any other sequence.

    >>> src = InMemoryDataSource(np.zeros((5, 3, 32, 32), np.uint8))
    >>> src.__getitems__([4, 0])[0].shape
    (3, 32, 32)
    """

    def __init__(self, data: Any):
        self._columns: dict[Any, Any] | None = None
        self._array: np.ndarray | None = None
        self._sequence: Sequence[Any] | None = None
        if isinstance(data, np.ndarray):
            if data.ndim == 0:
                raise ValueError("InMemoryDataSource needs at least one dimension to index.")
            self._array = data
            self._len = len(data)
        elif isinstance(data, Mapping):
            if not data:
                raise ValueError("InMemoryDataSource got an empty mapping: no columns.")
            lengths = {k: len(v) for k, v in data.items()}
            if len(set(lengths.values())) != 1:
                raise ValueError(f"All columns must have the same length, got {lengths}.")
            self._columns = dict(data)
            self._len = next(iter(lengths.values()))
        elif isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
            self._sequence = data
            self._len = len(data)
        else:
            raise TypeError(
                "InMemoryDataSource expects a numpy array, a mapping of columns or a sequence "
                f"of records, got {type(data).__name__}."
            )

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: int) -> Any:
        i = check_index(index, self._len, self)
        if self._array is not None:
            return self._array[i]
        if self._columns is not None:
            return {k: col[i] for k, col in self._columns.items()}
        return self._sequence[i]  # type: ignore[index]

    def __getitems__(self, indices: Sequence[int]) -> list[Any]:
        idx = check_indices(indices, self._len, self)
        if self._array is not None:
            return list(self._array[idx])
        if self._columns is not None:
            keys = list(self._columns)
            cols = []
            for k in keys:
                col = self._columns[k]
                cols.append(col[idx] if isinstance(col, np.ndarray) else [col[i] for i in idx.tolist()])
            return [dict(zip(keys, row)) for row in zip(*cols)]
        seq = self._sequence
        return [seq[i] for i in idx.tolist()]  # type: ignore[index]

    def __repr__(self) -> str:
        if self._array is not None:
            what = f"array{self._array.shape} {self._array.dtype}"
        elif self._columns is not None:
            what = "columns=" + ",".join(map(str, self._columns))
        else:
            what = type(self._sequence).__name__
        return f"InMemoryDataSource({what}, len={self._len})"


class RangeDataSource:
    """The integers of ``range(start, stop, step)`` as a source.

    >>> RangeDataSource(0, 10, 3)[2]
    6
    """

    def __init__(self, start: int, stop: int, step: int = 1):
        if step == 0:
            raise ValueError("RangeDataSource step must not be zero.")
        self._range = range(start, stop, step)

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: int) -> int:
        return self._range[check_index(index, len(self._range), self)]

    def __getitems__(self, indices: Sequence[int]) -> list[int]:
        idx = check_indices(indices, len(self._range), self)
        r = self._range
        return (idx * r.step + r.start).tolist()

    def __repr__(self) -> str:
        r = self._range
        return f"RangeDataSource(start={r.start}, stop={r.stop}, step={r.step})"
