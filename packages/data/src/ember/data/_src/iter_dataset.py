"""``IterDataset``: a dataset read in order through checkpointable iterators.

An ``IterDataset`` is a description; ``iter(ds)`` builds the iterators. Element-wise steps
directly after ``to_iter_dataset`` are fused into one segment (see ``segment.py``) that
reads and transforms records a chunk at a time; the other steps (packing, mixing,
interleaving, batching after a filter) run as ordinary iterators on top.

    >>> from ember.data import MapDataset
    >>> ds = MapDataset.range(8).to_iter_dataset().filter(lambda x: x % 3).batch(2)
    >>> [b.tolist() for b in ds]
    [[1, 2], [4, 5], [7]]
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable, Mapping, Sequence, TypeVar

import numpy as np

from ember.data._src import options as options_lib
from ember.data._src import seeding
from ember.data._src import transforms as tf
from ember.data._src.base import DatasetNode, annotate_error
from ember.data._src.batching import make_batch
from ember.data._src.iterator import DatasetIterator, check_state
from ember.data._src.map_dataset import MapDataset
from ember.data._src.segment import (
    BATCH,
    FILTER,
    MAP,
    MAP_WITH_INDEX,
    RANDOM_MAP,
    Op,
    SegmentIterator,
    SegmentSpec,
    root_aligned,
)

T = TypeVar("T")
S = TypeVar("S")


@dataclasses.dataclass
class BuildContext:
    """What iterator construction passes down: the worker pool serving this subtree."""

    pool: Any = None

    def registry_root(self, spec: SegmentSpec) -> SegmentSpec:
        return spec


_NO_SPEC = object()


class IterDataset(DatasetNode):
    """A dataset consumed in order. Immutable: transformations return new datasets.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> ds = ed.MapDataset.range(6).to_iter_dataset()         # from here on: consumed in order
    >>> ds = ds.filter(lambda x: x % 2 == 0).map(lambda x: x * 10).batch(2)
    >>> [b.tolist() for b in ds]
    [[0, 20], [40]]
    """

    # -- constructors -------------------------------------------------------------------
    @staticmethod
    def mix(datasets: Sequence[Any] | Mapping[str, Any], weights: Sequence[float] | Mapping[str, float] | None = None) -> "IterDataset":
        """Interleaves iterators deterministically in proportion to ``weights``; stops when
        any input is exhausted.

        >>> from ember.data import MapDataset
        >>> a, b = MapDataset.range(3).to_iter_dataset(), MapDataset.range(10, 14).to_iter_dataset()
        >>> list(IterDataset.mix([a, b]))
        [0, 10, 1, 11, 2, 12]
        """
        from ember.data._src.interleave import MixedIterDataset

        return MixedIterDataset(datasets, weights)

    @staticmethod
    def interleave(datasets: Sequence[Any], cycle_length: int | None = None) -> "IterDataset":
        """Round-robin over up to ``cycle_length`` datasets at a time; an exhausted one is
        replaced by the next unopened dataset.

        >>> from ember.data import MapDataset
        >>> ds = IterDataset.interleave([MapDataset.range(i * 10, i * 10 + 2) for i in range(3)], 2)
        >>> list(ds)
        [0, 10, 1, 11, 20, 21]
        """
        from ember.data._src.interleave import InterleaveIterDataset

        return InterleaveIterDataset(datasets, cycle_length=cycle_length)

    # -- building -----------------------------------------------------------------------
    def _segment_spec(self) -> SegmentSpec | None:
        cached = self.__dict__.get("_spec_cache", _NO_SPEC)
        if cached is _NO_SPEC:
            cached = self._make_segment_spec()
            self.__dict__["_spec_cache"] = cached
        return cached  # type: ignore[return-value]

    def _make_segment_spec(self) -> SegmentSpec | None:
        return None

    def _build(self, ctx: BuildContext) -> DatasetIterator:
        raise NotImplementedError

    def __iter__(self) -> DatasetIterator:
        return self._build(BuildContext())

    # -- transformations ----------------------------------------------------------------
    def map(self, transform: tf.Map | Callable[[Any], Any]) -> "IterDataset":
        """Applies ``transform`` to every element."""
        return MapIterDataset(self, tf.as_map_fn(transform))

    def random_map(self, transform: tf.RandomMap | Callable[[Any, np.random.Generator], Any], *, seed: int | None = None) -> "IterDataset":
        """Applies ``transform(element, rng)``; ``rng`` is derived from (seed, position of
        the element in this dataset)."""
        return RandomMapIterDataset(self, tf.as_random_map_fn(transform), seed=seed)

    def map_with_index(self, transform: tf.MapWithIndex | Callable[[int, Any], Any]) -> "IterDataset":
        """Applies ``transform(position, element)``."""
        return MapWithIndexIterDataset(self, tf.as_map_with_index_fn(transform))

    def filter(self, transform: tf.Filter | Callable[[Any], bool]) -> "IterDataset":
        """Keeps the elements for which ``transform`` returns true."""
        return FilterIterDataset(self, tf.as_filter_fn(transform))

    def batch(self, batch_size: int, *, drop_remainder: bool = False, batch_fn: Callable[[Sequence[Any]], Any] | None = None) -> "IterDataset":
        """Stacks consecutive elements (field by field for dicts/tuples/nested records)."""
        return BatchIterDataset(self, batch_size, drop_remainder=drop_remainder, batch_fn=batch_fn)

    def seed(self, seed: int) -> "IterDataset":
        """Sets the seed from which downstream random transformations derive their own."""
        return WithSeedIterDataset(self, seed)

    def prefetch(self, buffer_size: Any = 16) -> "IterDataset":
        """Computes up to ``buffer_size`` elements ahead on a background thread. (Given
        ``MultiprocessingOptions``, behaves like ``mp_prefetch`` as in Grain.)"""
        if isinstance(buffer_size, options_lib.MultiprocessingOptions):
            warnings.warn("prefetch(MultiprocessingOptions) is deprecated; use mp_prefetch.", DeprecationWarning, stacklevel=2)
            return self.mp_prefetch(buffer_size)
        return ThreadPrefetchIterDataset(self, buffer_size)

    def mp_prefetch(self, options: options_lib.MultiprocessingOptions | None = None, worker_init_fn: Callable[[int, int], None] | None = None) -> "IterDataset":
        """Computes elements in worker processes; results come back through shared memory.

        The output (and the iterator state) does not depend on ``num_workers``: workers
        compute chunks of records of the fused segments below this point, and everything
        order-dependent (packing, mixing, batching after a filter) runs in this process.
        """
        if options is None:
            import os

            options = options_lib.MultiprocessingOptions(num_workers=min(8, os.cpu_count() or 1))
        return MultiprocessPrefetchIterDataset(self, options, worker_init_fn)

    def pack(self, length_struct: Any, *, num_packing_bins: int = 16, meta_features: Sequence[str] = (), shuffle_bins: bool = False, seed: int = 0, padding_value: Any = 0) -> "IterDataset":
        """First-fit packing of variable-length sequences into fixed-length rows with
        ``<key>_segment_ids`` and ``<key>_positions`` (see :class:`FirstFitPackIterDataset`)."""
        from ember.data._src.packing import FirstFitPackIterDataset

        return FirstFitPackIterDataset(
            self, length_struct=length_struct, num_packing_bins=num_packing_bins,
            meta_features=meta_features, shuffle_bins=shuffle_bins, seed=seed,
            padding_value=padding_value,
        )

    def apply(self, transformations: Any) -> "IterDataset":
        """Applies transform objects (``Map``, ``RandomMap``, ``Filter``, ``Batch``...) in order."""
        from ember.data._src.map_dataset import _apply_one

        ds: IterDataset = self
        for t in transformations if isinstance(transformations, (list, tuple)) else [transformations]:
            ds = _apply_one(ds, t)
        return ds

    def __str__(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return str(self)


# -- the root: a MapDataset read in order ------------------------------------------------------
class MapToIterDataset(IterDataset):
    def __init__(self, parent: MapDataset, *, read_options: options_lib.ReadOptions | None = None, allow_nones: bool = False):
        if not isinstance(parent, MapDataset):
            raise TypeError(f"to_iter_dataset needs a MapDataset, got {type(parent).__name__}.")
        super().__init__([parent])
        self._read_options = read_options or options_lib.ReadOptions()
        self._allow_nones = allow_nones

    def _make_segment_spec(self) -> SegmentSpec:
        return SegmentSpec(
            root=self._parent,
            root_name=f"read({self._parent})",
            allow_nones=self._allow_nones,
            read_options=self._read_options,
            index_aligned=root_aligned(self._parent, self._allow_nones),
            top_id=self._node_id,
        )

    def _build(self, ctx: BuildContext) -> DatasetIterator:
        return SegmentIterator(self._segment_spec(), ctx)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"MapToIterDataset(read_options={self._read_options}, allow_nones={self._allow_nones})"


# -- element-wise steps ----------------------------------------------------------------------
class _ElementwiseIterDataset(IterDataset):
    _kind = ""
    _needs_alignment = False

    def __init__(self, parent: IterDataset, fn: Callable[..., Any]):
        if not isinstance(parent, IterDataset):
            raise TypeError(f"Expected an IterDataset parent, got {type(parent).__name__}.")
        super().__init__([parent])
        self._fn = fn

    def _op(self) -> Op:
        return Op(self._kind, self._fn, str(self))

    def _make_segment_spec(self) -> SegmentSpec | None:
        ps = self._parent._segment_spec()
        if ps is None or (self._needs_alignment and not ps.index_aligned):
            return None
        return ps.with_op(self._op(), self._node_id)

    def _build(self, ctx: BuildContext) -> DatasetIterator:
        spec = self._segment_spec()
        if spec is not None:
            return SegmentIterator(spec, ctx)
        return self._sequential(self._parent._build(ctx))

    def _sequential(self, parent: DatasetIterator) -> DatasetIterator:
        raise NotImplementedError

    def __str__(self) -> str:
        return f"{self._kind}({tf.describe(self._fn)})"


class MapIterDataset(_ElementwiseIterDataset):
    _kind = MAP

    def _sequential(self, parent):
        return _MapIterator(parent, self._fn, str(self))


class FilterIterDataset(_ElementwiseIterDataset):
    _kind = FILTER

    def _sequential(self, parent):
        return _FilterIterator(parent, self._fn, str(self))


class RandomMapIterDataset(_ElementwiseIterDataset):
    _kind = RANDOM_MAP
    _needs_alignment = True

    def __init__(self, parent: IterDataset, fn: Callable[..., Any], *, seed: int | None):
        super().__init__(parent, fn)
        self._seed = self._resolve_seed(seed, "random_map")
        self._rngs = seeding.RecordRngs(seeding.derive_key(self._seed, "iter_random_map"))

    def _op(self) -> Op:
        return Op(self._kind, self._fn, str(self), rngs=self._rngs)

    def _sequential(self, parent):
        return _CountingMapIterator(parent, self._fn, str(self), self._rngs)


class MapWithIndexIterDataset(_ElementwiseIterDataset):
    _kind = MAP_WITH_INDEX
    _needs_alignment = True

    def _sequential(self, parent):
        return _CountingMapIterator(parent, self._fn, str(self), None)


class BatchIterDataset(_ElementwiseIterDataset):
    _kind = BATCH
    _needs_alignment = True

    def __init__(self, parent: IterDataset, batch_size: int, *, drop_remainder: bool = False, batch_fn: Callable | None = None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        super().__init__(parent, make_batch if batch_fn is None else batch_fn)
        self._batch_size = int(batch_size)
        self._drop_remainder = drop_remainder

    def _op(self) -> Op:
        return Op(BATCH, self._fn, str(self), batch_size=self._batch_size, drop_remainder=self._drop_remainder)

    def _sequential(self, parent):
        return _BatchIterator(parent, self._fn, str(self), self._batch_size, self._drop_remainder)

    def __str__(self) -> str:
        return f"batch({self._batch_size}, drop_remainder={self._drop_remainder})"


class WithSeedIterDataset(IterDataset):
    def __init__(self, parent: IterDataset, seed: int):
        super().__init__([parent])
        self._seed_rng_seed = seeding.validate_seed(seed)

    def _make_segment_spec(self):
        ps = self._parent._segment_spec()
        return None if ps is None else dataclasses.replace(ps, top_id=self._node_id)

    def _build(self, ctx):
        spec = self._segment_spec()
        if spec is not None:
            return SegmentIterator(spec, ctx)
        return self._parent._build(ctx)

    def __str__(self):
        return f"seed({self._seed_rng_seed})"


# -- execution steps: they change where work runs, never what it produces ---------------------------
class ThreadPrefetchIterDataset(IterDataset):
    """Computes up to ``buffer_size`` elements of ``parent`` ahead on a background thread.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> from ember.data import experimental
    >>> ds = experimental.ThreadPrefetchIterDataset(ed.MapDataset.range(4).to_iter_dataset(), buffer_size=2)
    >>> list(ds)                          # computed ahead on a background thread
    [0, 1, 2, 3]
    """
    def __init__(self, parent: IterDataset, buffer_size: int = 16):
        if not isinstance(parent, IterDataset):
            raise TypeError(f"prefetch needs an IterDataset parent, got {type(parent).__name__}.")
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < 1:
            raise ValueError(f"buffer_size must be a positive integer, got {buffer_size!r}.")
        super().__init__([parent])
        self._buffer_size = buffer_size

    def _make_segment_spec(self):
        ps = self._parent._segment_spec()
        if ps is None:
            return None
        return dataclasses.replace(ps, thread_prefetch=max(self._buffer_size, ps.thread_prefetch or 0), top_id=self._node_id)

    def _build(self, ctx):
        spec = self._segment_spec()
        if spec is not None:
            return SegmentIterator(spec, ctx)
        parent = self._parent._build(ctx)
        if options_lib.is_debug():
            return parent
        from ember.data._src.prefetch import ThreadPrefetchIterator

        return ThreadPrefetchIterator(parent, self._buffer_size)

    def __str__(self):
        return f"prefetch(buffer_size={self._buffer_size})"


class MultiprocessPrefetchIterDataset(IterDataset):
    def __init__(self, parent: IterDataset, options: options_lib.MultiprocessingOptions, worker_init_fn: Callable[[int, int], None] | None):
        if not isinstance(parent, IterDataset):
            raise TypeError(f"mp_prefetch needs an IterDataset parent, got {type(parent).__name__}.")
        if not isinstance(options, options_lib.MultiprocessingOptions):
            raise TypeError(f"mp_prefetch expects MultiprocessingOptions, got {type(options).__name__}.")
        super().__init__([parent])
        self._options = options
        self._worker_init_fn = worker_init_fn

    def _make_segment_spec(self):
        ps = self._parent._segment_spec()
        if ps is None:
            return None
        if self._options.num_workers == 0:
            return dataclasses.replace(ps, top_id=self._node_id)
        return dataclasses.replace(
            ps, mp_options=self._options, mp_worker_init_fn=self._worker_init_fn,
            worker_ops=len(ps.ops), top_id=self._node_id,
        )

    def _build(self, ctx):
        spec = self._segment_spec()
        if spec is not None:
            return SegmentIterator(spec, ctx)
        if self._options.num_workers == 0 or options_lib.is_debug():
            return self._parent._build(ctx)
        from ember.data._src.multiprocessing import PoolOwnerIterator, WorkerPool

        pool = WorkerPool(self._options, self._worker_init_fn, subtree=self._parent)
        if not pool.has_work:
            pool.close()
            warnings.warn(
                f"mp_prefetch above {self._parent}: nothing below it reads a MapDataset "
                "(to_iter_dataset), so there is no work to give to worker processes; the "
                "pipeline runs in this process.", RuntimeWarning, stacklevel=2,
            )
            return self._parent._build(ctx)
        parent = self._parent._build(dataclasses.replace(ctx, pool=pool))
        return PoolOwnerIterator(parent, pool)

    def __str__(self):
        return f"mp_prefetch(num_workers={self._options.num_workers})"


# -- sequential iterators (used where a step cannot be fused) ------------------------------------
class _MapIterator(DatasetIterator):
    def __init__(self, parent: DatasetIterator, fn, name):
        super().__init__([parent], name)
        self._fn = fn

    def _next(self):
        x = next(self._parents[0])
        try:
            return self._fn(x)
        except Exception as e:
            annotate_error(e, self, self._stats.elements)
            raise

    def get_state(self):
        return self._parents[0].get_state()

    def set_state(self, state):
        self._parents[0].set_state(state)


class _FilterIterator(_MapIterator):
    def _next(self):
        parent, fn = self._parents[0], self._fn
        while True:
            x = next(parent)
            try:
                keep = fn(x)
            except Exception as e:
                annotate_error(e, self, None)
                raise
            if keep:
                return x


class _CountingMapIterator(DatasetIterator):
    """random_map / map_with_index where the position is not a record index (after a filter,
    packing...): the position is a counter that is part of the state."""

    def __init__(self, parent, fn, name, rngs):
        super().__init__([parent], name)
        self._fn = fn
        self._rngs = rngs
        self._counter = 0

    def _next(self):
        x = next(self._parents[0])
        i = self._counter
        try:
            y = self._fn(x, self._rngs.generator(i)) if self._rngs is not None else self._fn(i, x)
        except Exception as e:
            annotate_error(e, self, i)
            raise
        self._counter = i + 1
        return y

    def get_state(self):
        return {"parent": self._parents[0].get_state(), "counter": self._counter}

    def set_state(self, state):
        state = check_state(state, ["parent", "counter"], self)
        self._parents[0].set_state(state["parent"])
        self._counter = int(state["counter"])


class _BatchIterator(DatasetIterator):
    def __init__(self, parent, fn, name, batch_size, drop_remainder):
        super().__init__([parent], name)
        self._fn = fn
        self._bs = batch_size
        self._drop = drop_remainder

    def _next(self):
        parent = self._parents[0]
        values = []
        for _ in range(self._bs):
            try:
                values.append(next(parent))
            except StopIteration:
                break
        if not values or (self._drop and len(values) < self._bs):
            raise StopIteration
        try:
            return self._fn(values)
        except Exception as e:
            annotate_error(e, self, self._stats.elements)
            raise

    def get_state(self):
        return self._parents[0].get_state()

    def set_state(self, state):
        self._parents[0].set_state(state)


__all__ = ["IterDataset", "BuildContext", "MapToIterDataset"]
