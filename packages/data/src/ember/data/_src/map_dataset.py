"""``MapDataset``: a lazy, indexable dataset. Every transformation is a pure function of the
element index, so any element (and therefore any position of an epoch) can be computed
directly, by any worker, in any order.

    >>> ds = MapDataset.range(10).shuffle(seed=0).map(lambda x: x * 10).batch(4)
    >>> len(ds), sorted(int(v) for b in ds for v in b) == list(range(0, 100, 10))
    (3, True)

Indices past ``len(ds)`` wrap around into the next epoch (Grain's convention); random
transformations upstream of ``repeat`` see a different epoch number and reshuffle.
"""

from __future__ import annotations

import builtins
import math
import sys
from typing import Any, Callable, Generic, Sequence, TypeVar, overload

import numpy as np

from ember.data._src import seeding
from ember.data._src import transforms as tf
from ember.data._src.base import DatasetNode, annotate_error
from ember.data._src.batching import make_batch, make_batch_streaming
from ember.data._src.shuffle import EpochPermutations
from ember.data._src.sources import InMemoryDataSource, RangeDataSource

T = TypeVar("T")
S = TypeVar("S")

INFINITE = sys.maxsize


def _as_index_array(indices: Any) -> np.ndarray:
    if isinstance(indices, np.ndarray) and indices.dtype == np.int64:
        return indices
    return np.asarray(indices, dtype=np.int64).reshape(-1)


class MapDataset(DatasetNode, Generic[T]):
    """A dataset with a length and random access by index. Immutable: each transformation
    returns a new dataset.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> ds = ed.MapDataset.range(10).shuffle(seed=0).map(lambda x: x * x)
    >>> len(ds), ds[0], ds[1]                 # any element, computed on demand
    (10, 16, 25)
    >>> next(iter(ds[2:5].to_iter_dataset().batch(3))).tolist()   # slice, then batch
    [9, 64, 1]
    """

    # -- constructors -------------------------------------------------------------------
    @staticmethod
    def source(source: Any) -> "MapDataset":
        """A dataset over a random-access source (anything with ``__len__``/``__getitem__``;
        NumPy arrays, dicts of arrays and lists are wrapped in an InMemoryDataSource).

        >>> MapDataset.source([3, 1, 2])[1]
        1
        """
        if isinstance(source, MapDataset):
            return source
        if isinstance(source, (np.ndarray, dict)):
            source = InMemoryDataSource(source)
        if not (hasattr(source, "__len__") and hasattr(source, "__getitem__")):
            raise TypeError(
                "MapDataset.source needs an object with __len__ and __getitem__, got "
                f"{type(source).__name__}."
            )
        return SourceMapDataset(source)

    @staticmethod
    def range(start: int, stop: int | None = None, step: int = 1) -> "MapDataset[int]":
        """The integers of ``range(start, stop, step)``.

        >>> list(MapDataset.range(2, 8, 3))
        [2, 5]
        """
        if stop is None:
            start, stop = 0, start
        return RangeMapDataset(start, stop, step)

    @staticmethod
    def mix(datasets: Sequence["MapDataset"], weights: Sequence[float] | None = None) -> "MapDataset":
        """Interleaves datasets deterministically in proportion to ``weights``; ends when the
        first input runs out.

        >>> list(MapDataset.mix([MapDataset.range(3), MapDataset.range(10, 13)]))
        [0, 10, 1, 11, 2, 12]
        """
        from ember.data._src.mixing import MixedMapDataset

        return MixedMapDataset(datasets, weights)

    @staticmethod
    def concatenate(datasets: Sequence["MapDataset"]) -> "MapDataset":
        """All elements of the first dataset, then of the second, ...

        >>> list(MapDataset.concatenate([MapDataset.range(2), MapDataset.range(5, 7)]))
        [0, 1, 5, 6]
        """
        from ember.data._src.mixing import ConcatenateMapDataset

        return ConcatenateMapDataset(datasets)

    # -- the protocol subclasses implement ----------------------------------------------
    def __len__(self) -> int:
        raise NotImplementedError

    def _getitem(self, index: int) -> T | None:
        """Element at ``index`` (>= 0, may exceed len: next epochs), None if filtered out."""
        return self._getitems(np.array([index], dtype=np.int64))[0]

    def _getitems(self, indices: np.ndarray) -> list[T | None]:
        """Elements at many indices (an int64 array); the fast path used by iterators."""
        return [self._getitem(int(i)) for i in indices]

    def _iter_items(self, indices: np.ndarray) -> Any:
        """Like ``_getitems`` but may compute elements lazily, one at a time."""
        return iter(self._getitems(indices))

    # -- access -------------------------------------------------------------------------
    @overload
    def __getitem__(self, index: builtins.slice) -> "MapDataset[T]": ...

    @overload
    def __getitem__(self, index: int) -> T | None: ...

    def __getitem__(self, index):
        if isinstance(index, builtins.slice):
            return self.slice(index)
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"{self} indices must be integers or slices, got {type(index).__name__}.")
        index = int(index)
        if index < 0:
            length = len(self)
            if index + length < 0:
                raise IndexError(f"Index {index} is out of range for {self} of length {length}.")
            index += length
        if len(self) == 0:
            raise IndexError(f"{self} is empty.")
        return self._getitem(index)

    def __iter__(self):
        return iter(self.to_iter_dataset())

    # -- transformations ----------------------------------------------------------------
    def map(self, transform: tf.Map | Callable[[T], S]) -> "MapDataset[S]":
        """Applies ``transform`` to every element.

        >>> MapDataset.range(3).map(lambda x: x + 1)[2]
        3
        """
        return MapMapDataset(self, tf.as_map_fn(transform))

    def map_with_index(self, transform: tf.MapWithIndex | Callable[[int, T], S]) -> "MapDataset[S]":
        """Applies ``transform(index, element)`` to every element.

        >>> MapDataset.source(["a", "b"]).map_with_index(lambda i, x: x * (i + 1))[1]
        'bb'
        """
        return MapWithIndexMapDataset(self, tf.as_map_with_index_fn(transform))

    def random_map(
        self,
        transform: tf.RandomMap | Callable[[T, np.random.Generator], S],
        *,
        seed: int | None = None,
    ) -> "MapDataset[S]":
        """Applies ``transform(element, rng)``; ``rng`` is a fresh generator derived from
        (seed, index), so results do not depend on workers or order.

        >>> ds = MapDataset.range(4).random_map(lambda x, rng: x + rng.random(), seed=1)
        >>> ds[2] == ds[2]
        True
        """
        return RandomMapMapDataset(self, tf.as_random_map_fn(transform), seed=seed)

    def filter(self, transform: tf.Filter | Callable[[T], bool]) -> "MapDataset[T]":
        """Keeps elements for which ``transform`` is true; others become ``None`` (and are
        skipped when iterating).

        >>> ds = MapDataset.range(5).filter(lambda x: x % 2 == 0)
        >>> ds[1] is None, list(ds)
        (True, [0, 2, 4])
        """
        return FilterMapDataset(self, tf.as_filter_fn(transform))

    def batch(
        self,
        batch_size: int,
        *,
        drop_remainder: bool = False,
        batch_fn: Callable[[Sequence[T]], S] | None = None,
    ) -> "MapDataset[S]":
        """Groups consecutive elements and stacks them (dicts/tuples/nested records are
        stacked field by field).

        >>> [b.tolist() for b in MapDataset.range(5).batch(2)]
        [[0, 1], [2, 3], [4]]
        """
        return BatchMapDataset(self, batch_size, drop_remainder=drop_remainder, batch_fn=batch_fn)

    def slice(self, sl: builtins.slice) -> "MapDataset[T]":
        """Elements at the indices of ``sl``; ``ds.slice(slice(i, None, n))`` shards.

        >>> list(MapDataset.range(10).slice(slice(1, None, 4)))
        [1, 5, 9]
        """
        return SliceMapDataset(self, sl)

    def shuffle(self, seed: int | None = None) -> "MapDataset[T]":
        """A global shuffle: element ``i`` is ``parent[perm(i)]`` for a keyed permutation
        computed per index (O(1) memory). Each epoch (see ``repeat``) uses a new permutation.

        >>> sorted(MapDataset.range(6).shuffle(seed=3)) == list(range(6))
        True
        """
        return ShuffleMapDataset(self, seed=seed)

    def repeat(self, num_epochs: int | None = None, *, reseed_each_epoch: bool = True) -> "MapDataset[T]":
        """Repeats the dataset ``num_epochs`` times (None: forever). Upstream ``shuffle`` and
        ``random_map`` differ per epoch unless ``reseed_each_epoch=False``.

        >>> len(MapDataset.range(3).repeat(2))
        6
        """
        return RepeatMapDataset(self, num_epochs, reseed_each_epoch=reseed_each_epoch)

    def seed(self, seed: int) -> "MapDataset[T]":
        """Sets the seed from which downstream random transformations derive their own.

        >>> ds = MapDataset.range(5).seed(7).shuffle()
        >>> list(ds) == list(MapDataset.range(5).seed(7).shuffle())
        True
        """
        return WithSeedMapDataset(self, seed)

    def to_iter_dataset(self, read_options: Any = None, *, allow_nones: bool = False):
        """Turns this dataset into an :class:`IterDataset` that reads in order, many records
        at a time; ``None`` elements (filtered) are skipped unless ``allow_nones``."""
        from ember.data._src.iter_dataset import MapToIterDataset

        return MapToIterDataset(self, read_options=read_options, allow_nones=allow_nones)

    def apply(self, transformations: Any) -> "MapDataset":
        """Applies transform objects (``Map``, ``RandomMap``, ``Filter``, ``Batch``...) in order."""
        ds: MapDataset = self
        for t in transformations if isinstance(transformations, (list, tuple)) else [transformations]:
            ds = _apply_one(ds, t)
        return ds

    def __str__(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return str(self)


def _apply_one(ds: Any, t: Any) -> Any:
    if isinstance(t, tf.Batch):
        return ds.batch(t.batch_size, drop_remainder=t.drop_remainder, batch_fn=t.batch_fn)
    if isinstance(t, tf.Map):
        return ds.map(t)
    if isinstance(t, tf.RandomMap):
        return ds.random_map(t)
    if isinstance(t, tf.MapWithIndex):
        return ds.map_with_index(t)
    if isinstance(t, tf.Filter):
        return ds.filter(t)
    raise TypeError(f"Unknown transformation {t!r}.")


# -- sources ------------------------------------------------------------------------------
class SourceMapDataset(MapDataset[T]):
    """Reads a random-access source; index ``i`` reads ``source[i % len(source)]``."""

    def __init__(self, source: Any):
        super().__init__()
        self._source = source
        self._len = len(source)
        self._bulk = getattr(source, "__getitems__", None)
        self._trusted = isinstance(source, (InMemoryDataSource, RangeDataSource)) or getattr(
            source, "_ember_accepts_arrays", False
        )

    @property
    def source(self) -> Any:
        return self._source

    def __len__(self) -> int:
        return self._len

    def _getitem(self, index: int) -> T:
        if self._len == 0:
            raise IndexError(f"{self} is empty.")
        return self._source[index % self._len]

    def _getitems(self, indices: np.ndarray) -> list[T]:
        if self._len == 0 and len(indices):
            raise IndexError(f"{self} is empty.")
        idx = _as_index_array(indices) % self._len
        if self._bulk is not None:
            out = self._bulk(idx if self._trusted else idx.tolist())
            if len(out) != len(idx):
                raise ValueError(
                    f"{type(self._source).__name__}.__getitems__ returned {len(out)} records "
                    f"for {len(idx)} indices."
                )
            return out if isinstance(out, list) else list(out)
        src = self._source
        return [src[i] for i in idx.tolist()]

    def __str__(self) -> str:
        return f"SourceMapDataset(source={self._source!r})"


class RangeMapDataset(MapDataset[int]):
    def __init__(self, start: int, stop: int, step: int = 1):
        super().__init__()
        if step == 0:
            raise ValueError("MapDataset.range step must not be zero.")
        self._range = builtins.range(start, stop, step)

    def __len__(self) -> int:
        return len(self._range)

    def _getitem(self, index: int) -> int:
        return self._range[index % len(self._range)]

    def _getitems(self, indices: np.ndarray) -> list[int]:
        r = self._range
        if len(r) == 0 and len(indices):
            raise IndexError(f"{self} is empty.")
        return ((_as_index_array(indices) % len(r)) * r.step + r.start).tolist()

    def __str__(self) -> str:
        r = self._range
        return f"RangeMapDataset(start={r.start}, stop={r.stop}, step={r.step})"


# -- element-wise ---------------------------------------------------------------------------
class MapMapDataset(MapDataset[S]):
    def __init__(self, parent: MapDataset, fn: Callable[[Any], Any]):
        super().__init__([parent])
        self._fn = fn

    def __len__(self) -> int:
        return len(self._parent)

    def _getitem(self, index: int):
        x = self._parent._getitem(index)
        if x is None:
            return None
        try:
            return self._fn(x)
        except Exception as e:
            annotate_error(e, self, index)
            raise

    def _getitems(self, indices: np.ndarray):
        items = self._parent._getitems(indices)
        fn = self._fn
        out: list = []
        append = out.append
        try:
            for x in items:
                append(None if x is None else fn(x))
        except Exception as e:
            annotate_error(e, self, int(indices[len(out)]))
            raise
        return out

    def _iter_items(self, indices: np.ndarray):
        fn = self._fn
        k = 0
        try:
            for x in self._parent._iter_items(indices):
                yield None if x is None else fn(x)
                k += 1
        except Exception as e:
            annotate_error(e, self, int(indices[k]) if k < len(indices) else None)
            raise

    def __str__(self) -> str:
        return f"MapMapDataset(fn={tf.describe(self._fn)})"


class MapWithIndexMapDataset(MapDataset[S]):
    def __init__(self, parent: MapDataset, fn: Callable[[int, Any], Any]):
        super().__init__([parent])
        self._fn = fn

    def __len__(self) -> int:
        return len(self._parent)

    def _getitems(self, indices: np.ndarray):
        items = self._parent._getitems(indices)
        fn = self._fn
        out: list = []
        append = out.append
        try:
            for i, x in zip(_as_index_array(indices).tolist(), items):
                append(None if x is None else fn(i, x))
        except Exception as e:
            annotate_error(e, self, int(indices[len(out)]))
            raise
        return out

    def __str__(self) -> str:
        return f"MapWithIndexMapDataset(fn={tf.describe(self._fn)})"


class RandomMapMapDataset(MapDataset[S]):
    def __init__(self, parent: MapDataset, fn: Callable[[Any, np.random.Generator], Any], *, seed: int | None):
        super().__init__([parent])
        self._fn = fn
        self._seed = self._resolve_seed(seed, "random_map")
        self._rngs = seeding.RecordRngs(seeding.derive_key(self._seed, "random_map"))

    def __len__(self) -> int:
        return len(self._parent)

    def _getitems(self, indices: np.ndarray):
        items = self._parent._getitems(indices)
        fn, gen = self._fn, self._rngs.generator
        out: list = []
        append = out.append
        try:
            for i, x in zip(_as_index_array(indices).tolist(), items):
                append(None if x is None else fn(x, gen(i)))
        except Exception as e:
            annotate_error(e, self, int(indices[len(out)]))
            raise
        return out

    def __str__(self) -> str:
        return f"RandomMapMapDataset(fn={tf.describe(self._fn)})"


class FilterMapDataset(MapDataset[T]):
    def __init__(self, parent: MapDataset, fn: Callable[[Any], bool]):
        super().__init__([parent])
        self._fn = fn

    def __len__(self) -> int:
        return len(self._parent)

    def _getitems(self, indices: np.ndarray):
        items = self._parent._getitems(indices)
        fn = self._fn
        out: list = []
        append = out.append
        try:
            for x in items:
                append(x if x is not None and fn(x) else None)
        except Exception as e:
            annotate_error(e, self, int(indices[len(out)]))
            raise
        return out

    def __str__(self) -> str:
        return f"FilterMapDataset(fn={tf.describe(self._fn)})"


# -- index re-mapping -------------------------------------------------------------------------
class ShuffleMapDataset(MapDataset[T]):
    def __init__(self, parent: MapDataset, *, seed: int | None):
        super().__init__([parent])
        self._seed = self._resolve_seed(seed, "shuffle")
        n = len(parent)
        if n >= INFINITE:
            raise ValueError("Cannot shuffle an infinite dataset; shuffle before `repeat`.")
        self._perms = EpochPermutations(n, seeding.derive_key(self._seed, "shuffle"))

    def __len__(self) -> int:
        return len(self._parent)

    def _getitem(self, index: int):
        if self._perms.n == 0:
            raise IndexError(f"{self} is empty.")
        return self._parent._getitem(self._perms(index))

    def _getitems(self, indices: np.ndarray):
        if self._perms.n == 0 and len(indices):
            raise IndexError(f"{self} is empty.")
        return self._parent._getitems(self._perms.apply_array(_as_index_array(indices)))

    def __str__(self) -> str:
        return f"ShuffleMapDataset(seed={self._seed})"


class SliceMapDataset(MapDataset[T]):
    def __init__(self, parent: MapDataset, sl: builtins.slice):
        super().__init__([parent])
        if not isinstance(sl, builtins.slice):
            raise TypeError(f"slice() expects a slice object, got {type(sl).__name__}.")
        self._parent_len = len(parent)
        self._start, self._stop, self._step = sl.indices(self._parent_len)
        self._len = len(builtins.range(self._start, self._stop, self._step))

    def __len__(self) -> int:
        return self._len

    def _getitems(self, indices: np.ndarray):
        if self._len == 0 and len(indices):
            raise IndexError(f"{self} is empty.")
        epoch, rel = np.divmod(_as_index_array(indices), self._len)
        return self._parent._getitems(self._start + rel * self._step + epoch * self._parent_len)

    def _getitem(self, index: int):
        if self._len == 0:
            raise IndexError(f"{self} is empty.")
        epoch, rel = divmod(index, self._len)
        return self._parent._getitem(self._start + rel * self._step + epoch * self._parent_len)

    def __str__(self) -> str:
        return f"SliceMapDataset[{self._start}:{self._stop}:{self._step}]"


class RepeatMapDataset(MapDataset[T]):
    def __init__(self, parent: MapDataset, num_epochs: int | None, *, reseed_each_epoch: bool = True):
        super().__init__([parent])
        if num_epochs is not None and (not isinstance(num_epochs, (int, np.integer)) or num_epochs <= 0):
            raise ValueError(f"num_epochs must be a positive integer or None, got {num_epochs!r}.")
        n = len(parent)
        if n >= INFINITE:
            raise ValueError(f"Cannot repeat the already infinite dataset {parent}.")
        self._parent_len = n
        self._num_epochs = num_epochs
        self._reseed = reseed_each_epoch
        if num_epochs is None:
            self._len = INFINITE if n else 0
        else:
            self._len = min(INFINITE, n * int(num_epochs))

    def __len__(self) -> int:
        return self._len

    def _getitems(self, indices: np.ndarray):
        idx = _as_index_array(indices)
        if not self._reseed:
            idx = idx % self._parent_len
        return self._parent._getitems(idx)

    def _getitem(self, index: int):
        return self._parent._getitem(index if self._reseed else index % self._parent_len)

    def __str__(self) -> str:
        return f"RepeatMapDataset(num_epochs={self._num_epochs})"


class WithSeedMapDataset(MapDataset[T]):
    def __init__(self, parent: MapDataset, seed: int):
        super().__init__([parent])
        self._seed_rng_seed = seeding.validate_seed(seed)

    def __len__(self) -> int:
        return len(self._parent)

    def _getitem(self, index: int):
        return self._parent._getitem(index)

    def _getitems(self, indices: np.ndarray):
        return self._parent._getitems(indices)

    def __str__(self) -> str:
        return f"WithSeedMapDataset(seed={self._seed_rng_seed})"


# -- batching -----------------------------------------------------------------------------------
def contains_filter(ds: MapDataset) -> bool:
    """Whether any upstream transformation can drop elements (produce None)."""
    stack = [ds]
    while stack:
        node = stack.pop()
        if isinstance(node, FilterMapDataset):
            return True
        stack.extend(node.parents)  # type: ignore[arg-type]
    return False


class BatchMapDataset(MapDataset[S]):
    def __init__(
        self,
        parent: MapDataset,
        batch_size: int,
        *,
        drop_remainder: bool = False,
        batch_fn: Callable[[Sequence[Any]], Any] | None = None,
    ):
        super().__init__([parent])
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        if contains_filter(parent):
            raise ValueError(
                "`MapDataset.batch` cannot follow `MapDataset.filter`: filtered elements would "
                "leave holes in batches. Use `.to_iter_dataset().batch(...)` instead."
            )
        self._batch_size = int(batch_size)
        self._drop_remainder = drop_remainder
        self._batch_fn = make_batch if batch_fn is None else batch_fn
        n = len(parent)
        if n >= INFINITE:
            self._len = INFINITE
        elif drop_remainder:
            self._len = n // self._batch_size
        else:
            self._len = math.ceil(n / self._batch_size)

    def __len__(self) -> int:
        return self._len

    def _record_indices(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = _as_index_array(indices)
        bs, n = self._batch_size, len(self._parent)
        if self._len >= INFINITE:
            starts = idx * bs
            stops = starts + bs
        else:
            if self._len == 0 and len(idx):
                raise IndexError(f"{self} is empty.")
            epoch, j = np.divmod(idx, self._len)
            starts = j * bs
            stops = np.minimum(starts + bs, n)
            starts, stops = starts + epoch * n, stops + epoch * n
        return starts, stops

    def _getitems(self, indices: np.ndarray):
        starts, stops = self._record_indices(indices)
        sizes = stops - starts
        if len(sizes) and (sizes == sizes[0]).all():
            flat = (starts[:, None] + np.arange(sizes[0], dtype=np.int64)).reshape(-1)
        else:
            flat = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in zip(starts, stops)])
        out = []
        fn = self._batch_fn
        if fn is make_batch:  # stream records into the batch: one record alive at a time
            items = self._parent._iter_items(flat)
            for k, size in enumerate(sizes.tolist()):
                try:
                    out.append(make_batch_streaming(items, size))
                except Exception as e:
                    annotate_error(e, self, int(indices[k]))
                    raise
            return out
        items = self._parent._getitems(flat)
        pos = 0
        for k, size in enumerate(sizes.tolist()):
            try:
                out.append(fn(items[pos:pos + size]))
            except Exception as e:
                annotate_error(e, self, int(indices[k]))
                raise
            pos += size
        return out

    def __str__(self) -> str:
        return f"BatchMapDataset(batch_size={self._batch_size}, drop_remainder={self._drop_remainder})"
