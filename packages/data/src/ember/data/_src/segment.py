"""Fused segments: ``to_iter_dataset`` plus the element-wise operations that follow it.

When an iterator is created, the chain ``MapDataset -> to_iter_dataset -> map / filter /
random_map / map_with_index / batch`` is fused into one *segment*. A segment reads records
in chunks of consecutive indices (one ``_getitems``/``__getitems__`` call per chunk), applies
the operations to the whole chunk, and hands out the results in index order. A chunk's result
is a pure function of its index range, so chunks can be computed inline, by threads, or by
worker processes, in any order and any size, and the output is the same.

The segment's state is the record index just past the last element handed out,
``{"next_index": n}``, whichever executor computed it.

    >>> from ember.data import MapDataset
    >>> ds = MapDataset.range(6).to_iter_dataset().map(lambda x: x * 2).batch(4)
    >>> [b.tolist() for b in ds]
    [[0, 2, 4, 6], [8, 10]]
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import time
from typing import Any, Callable, Sequence

import numpy as np

from ember.data._src import options as options_lib
from ember.data._src import seeding
from ember.data._src.base import annotate_error
from ember.data._src.batching import make_batch, make_batch_streaming
from ember.data._src.iterator import DatasetIterator, check_state
from ember.data._src.map_dataset import MapDataset, contains_filter
from ember.data._src.stats import StageStats

MAP, FILTER, RANDOM_MAP, MAP_WITH_INDEX, BATCH = "map", "filter", "random_map", "map_with_index", "batch"


@dataclasses.dataclass(frozen=True)
class Op:
    kind: str
    fn: Callable[..., Any]
    name: str
    rngs: seeding.RecordRngs | None = None
    batch_size: int = 0
    drop_remainder: bool = False


@dataclasses.dataclass(frozen=True)
class SegmentSpec:
    """A fused chain. ``worker_ops``: how many ops run in worker processes when the chain
    contains an ``mp_prefetch`` (``None``: no mp_prefetch inside the chain)."""

    root: MapDataset
    root_name: str
    allow_nones: bool
    read_options: options_lib.ReadOptions
    ops: tuple[Op, ...] = ()
    index_aligned: bool = True
    mp_options: Any = None
    mp_worker_init_fn: Callable[[int, int], None] | None = None
    worker_ops: int | None = None
    thread_prefetch: int | None = None
    top_id: int = -1

    def with_op(self, op: Op, top_id: int) -> "SegmentSpec":
        aligned = self.index_aligned and op.kind not in (FILTER, BATCH)
        return dataclasses.replace(self, ops=self.ops + (op,), index_aligned=aligned, top_id=top_id)

    @property
    def batch_size(self) -> int:
        for op in self.ops:
            if op.kind == BATCH:
                return op.batch_size
        return 0

    @property
    def drops_nones(self) -> bool:
        return not self.allow_nones and contains_filter(self.root)


@dataclasses.dataclass
class ChunkResult:
    start: int
    stop: int
    elements: list
    ends: list
    ops_done: int
    timings: list  # [[elements, seconds], ...]: index 0 is the read, k+1 is ops[k]


def root_aligned(root: MapDataset, allow_nones: bool) -> bool:
    return allow_nones or not contains_filter(root)


def compute_chunk(spec: SegmentSpec, start: int, stop: int, ops_stop: int | None = None) -> ChunkResult:
    """Reads records ``[start, stop)`` and applies ``spec.ops[:ops_stop]``."""
    timings = [[0, 0.0] for _ in range(len(spec.ops) + 1)]
    t0 = time.perf_counter()
    try:
        items = spec.root._getitems(np.arange(start, stop, dtype=np.int64))
    except Exception as e:
        if getattr(e, "_ember_data_index", None) is None:
            e.add_note(f"ember.data: while reading records [{start}, {stop}) of {spec.root}")
            try:
                e._ember_data_index = start  # type: ignore[attr-defined]
            except AttributeError:
                pass
        raise
    ends = list(range(start + 1, stop + 1))
    if spec.drops_nones:
        kept = [(x, e) for x, e in zip(items, ends) if x is not None]
        items = [x for x, _ in kept]
        ends = [e for _, e in kept]
    timings[0] = [len(items), time.perf_counter() - t0]
    result = ChunkResult(start, stop, items, ends, 0, timings)
    return apply_ops(spec, result, len(spec.ops) if ops_stop is None else ops_stop)


def apply_ops(spec: SegmentSpec, r: ChunkResult, ops_stop: int) -> ChunkResult:
    """Applies ``spec.ops[r.ops_done:ops_stop]`` to a chunk result, in place."""
    elements, ends = r.elements, r.ends
    k = r.ops_done
    while k < ops_stop:
        op = spec.ops[k]
        t0 = time.perf_counter()
        nxt = spec.ops[k + 1] if k + 1 < ops_stop else None
        if op.kind == MAP and nxt is not None and nxt.kind == BATCH and nxt.fn is make_batch:
            n_in = len(elements)
            elements, ends = _map_then_batch(op, nxt, elements, ends)
            dt = time.perf_counter() - t0
            r.timings[k + 1][0] += n_in
            r.timings[k + 1][1] += dt / 2  # the two steps are interleaved: split their time
            r.timings[k + 2][0] += len(elements)
            r.timings[k + 2][1] += dt / 2
            k += 2
            continue
        fn = op.fn
        out: list = []
        append = out.append
        try:
            if op.kind == MAP:
                for x in elements:
                    append(fn(x))
            elif op.kind == RANDOM_MAP:
                gen = op.rngs.generator  # type: ignore[union-attr]
                for x, e in zip(elements, ends):
                    append(fn(x, gen(e - 1)))
            elif op.kind == MAP_WITH_INDEX:
                for x, e in zip(elements, ends):
                    append(fn(e - 1, x))
            elif op.kind == FILTER:
                new_ends = []
                for x, e in zip(elements, ends):
                    if fn(x):
                        append(x)
                        new_ends.append(e)
                ends = new_ends
            elif op.kind == BATCH:
                bs, new_ends = op.batch_size, []
                for i in range(0, len(elements), bs):
                    group = elements[i:i + bs]
                    if len(group) < bs and op.drop_remainder:
                        break
                    append(fn(group))
                    new_ends.append(ends[i + len(group) - 1])
                ends = new_ends
        except Exception as exc:
            pos = len(out)
            if op.kind == BATCH:
                pos *= op.batch_size
            annotate_error(exc, op.name, ends[pos] - 1 if pos < len(ends) else None)
            raise
        elements = out
        timings = r.timings[k + 1]
        timings[0] += len(out)
        timings[1] += time.perf_counter() - t0
        k += 1
    r.elements, r.ends, r.ops_done = elements, ends, ops_stop
    return r


def _map_then_batch(map_op: Op, batch_op: Op, elements: list, ends: list) -> tuple[list, list]:
    """map followed by the default batch, streamed: each mapped record goes straight into its
    batch, so one mapped record is alive at a time (same result as the two steps)."""
    fn, bs = map_op.fn, batch_op.batch_size
    done = [0]

    def mapped(group: list):
        for x in group:
            y = fn(x)
            done[0] += 1
            yield y

    out, new_ends = [], []
    for i in range(0, len(elements), bs):
        group = elements[i:i + bs]
        if len(group) < bs and batch_op.drop_remainder:
            break
        try:
            out.append(make_batch_streaming(mapped(group), len(group)))
        except Exception as exc:
            stage, pos = (map_op, done[0]) if done[0] < i + len(group) else (batch_op, i)
            annotate_error(exc, stage.name, ends[pos] - 1 if pos < len(ends) else None)
            raise
        new_ends.append(ends[i + len(group) - 1])
    return out, new_ends


def _nbytes(x: Any) -> int:
    if isinstance(x, dict):
        return sum(_nbytes(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return sum(_nbytes(v) for v in x)
    return getattr(x, "nbytes", 8)


# -- executors ------------------------------------------------------------------------------
class InlineExecutor:
    """Computes chunks on demand in the consumer's thread."""

    parallelism = 1
    same_thread = True
    max_in_flight = 1

    def __init__(self, spec: SegmentSpec):
        self._spec = spec

    def submit(self, start: int, stop: int) -> tuple[int, int]:
        return (start, stop)

    def result(self, handle: tuple[int, int]) -> ChunkResult:
        return compute_chunk(self._spec, *handle)

    def cancel(self, handles: Sequence[Any]) -> None:
        pass

    def queue_fill(self, pending: Sequence[Any]) -> tuple[int, int]:
        return (0, 0)

    def close(self) -> None:
        pass


class ThreadExecutor:
    """Computes chunks ahead of the consumer on a pool of threads."""

    same_thread = False

    def __init__(self, spec: SegmentSpec, num_threads: int, buffer_elements: int):
        self._spec = spec
        self.parallelism = num_threads
        self.max_in_flight = max(2, 2 * num_threads)
        self.buffer_elements = buffer_elements
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=num_threads, thread_name_prefix="ember-data-read"
        )

    def submit(self, start: int, stop: int) -> concurrent.futures.Future:
        return self._pool.submit(compute_chunk, self._spec, start, stop)

    def result(self, handle: concurrent.futures.Future) -> ChunkResult:
        while True:  # a bounded wait, so that Ctrl-C gets through promptly
            try:
                return handle.result(timeout=1.0)
            except concurrent.futures.TimeoutError:
                continue

    def cancel(self, handles: Sequence[concurrent.futures.Future]) -> None:
        for h in handles:
            h.cancel()

    def queue_fill(self, pending: Sequence[concurrent.futures.Future]) -> tuple[int, int]:
        return (sum(1 for h in pending if h.done()), self.max_in_flight)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class SegmentIterator(DatasetIterator):
    """Iterates a fused segment; chunks are computed by the executor chosen at build time."""

    _MIN_CHUNK_S = 0.002
    _MAX_CHUNK_S = 0.02
    _MAX_RECORDS = 8192
    _MAX_BYTES = 1 << 20

    def __init__(self, spec: SegmentSpec, ctx: Any):
        super().__init__(name=f"Segment[{spec.root_name}{''.join(' -> ' + o.name for o in spec.ops)}]")
        self._spec = spec
        self._length = len(spec.root)
        self._unit = spec.batch_size or 1
        self._units = 1
        self._next_index = 0
        self._anchor = 0
        self._dispatch = 0
        self._pending: collections.deque = collections.deque()
        self._buf: list = []
        self._buf_ends: list = []
        self._buf_pos = 0
        self._owned_pool = None
        self._executor = self._make_executor(ctx)
        self._ops_in_executor = len(spec.ops)
        if getattr(self._executor, "worker_ops", None) is not None:
            self._ops_in_executor = self._executor.worker_ops
        par = self._executor.parallelism
        same = self._executor.same_thread
        names = [spec.root_name] + [o.name for o in spec.ops]
        self._op_stats = []
        for k, name in enumerate(names):
            in_executor = k <= self._ops_in_executor
            st = StageStats(name, inclusive=False, parallelism=par if in_executor else 1,
                            same_thread=same or not in_executor)
            self._op_stats.append(st)
        self._stats.children = list(reversed(self._op_stats))

    def _make_executor(self, ctx: Any):
        spec = self._spec
        debug = options_lib.is_debug()
        if not debug:
            if spec.mp_options is not None and spec.mp_options.num_workers > 0:
                from ember.data._src.multiprocessing import WorkerPool

                self._owned_pool = WorkerPool(
                    spec.mp_options, spec.mp_worker_init_fn, roots=[ctx.registry_root(spec)]
                )
                return self._owned_pool.executor(spec, spec.worker_ops)
            if ctx is not None and ctx.pool is not None:
                return ctx.pool.executor(spec, len(spec.ops))
            threads = spec.read_options.num_threads
            if spec.thread_prefetch is not None:
                threads = max(threads, 1)
            if threads > 0:
                buffer = max(spec.read_options.prefetch_buffer_size, spec.thread_prefetch or 0)
                return ThreadExecutor(spec, threads, buffer)
        return InlineExecutor(spec)

    # -- iteration --------------------------------------------------------------------------
    def _fill(self) -> None:
        ex = self._executor
        budget = getattr(ex, "buffer_elements", None)  # elements computed ahead, at most
        while len(self._pending) < ex.max_in_flight and self._dispatch < self._length:
            if budget is not None and self._pending and (len(self._pending) + 1) * self._units > budget:
                break
            start = self._dispatch
            stop = min(self._length, start + self._units * self._unit)
            self._pending.append((ex.submit(start, stop), start, stop))
            self._dispatch = stop
            if isinstance(ex, InlineExecutor):
                break

    def _adapt(self, r: ChunkResult) -> None:
        """Chunk size only changes speed, never results: aim for a few ms of work and at most
        ~1 MiB of output per chunk (bigger chunks of big elements just churn memory)."""
        spent = sum(t for _, t in r.timings)
        size = _nbytes(r.elements[0]) * len(r.elements) if r.elements else 0
        if (spent < self._MIN_CHUNK_S and size < self._MAX_BYTES
                and self._units * self._unit * 2 <= self._MAX_RECORDS):
            self._units *= 2
        elif (spent > self._MAX_CHUNK_S or size > 4 * self._MAX_BYTES) and self._units > 1:
            self._units //= 2

    def _next(self):
        while self._buf_pos >= len(self._buf):
            self._fill()
            if not self._pending:
                self._next_index = max(self._next_index, min(self._dispatch, self._length))
                raise StopIteration
            filled, cap = self._executor.queue_fill([h for h, _, _ in self._pending])
            if cap:
                self._stats.sample_queue(filled, cap)
            handle, _, _ = self._pending.popleft()
            r = self._executor.result(handle)
            if r.ops_done < len(self._spec.ops):
                apply_ops(self._spec, r, len(self._spec.ops))
            for st, (n, t) in zip(self._op_stats, r.timings):
                st.add(n, t)
            self._adapt(r)
            self._buf, self._buf_ends, self._buf_pos = r.elements, r.ends, 0
            self._fill()
        i = self._buf_pos
        self._buf_pos = i + 1
        self._next_index = self._buf_ends[i]
        return self._buf[i]

    def get_state(self) -> dict[str, Any]:
        return {"next_index": int(self._next_index)}

    def set_state(self, state: dict[str, Any]) -> None:
        state = check_state(state, ["next_index"], self)
        n = state["next_index"]
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= self._length:
            raise ValueError(f"{self}: next_index must be an integer in [0, {self._length}], got {n!r}.")
        self._executor.cancel([h for h, _, _ in self._pending])
        self._pending.clear()
        self._buf, self._buf_ends, self._buf_pos = [], [], 0
        self._next_index = self._anchor = self._dispatch = int(n)

    def start_prefetch(self) -> None:
        self._fill()

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        self._executor.cancel([h for h, _, _ in self._pending])
        self._pending.clear()
        self._executor.close()
        if self._owned_pool is not None:
            self._owned_pool.close()

    @property
    def length(self) -> int:
        return self._length


__all__ = ["SegmentSpec", "SegmentIterator", "Op", "compute_chunk", "apply_ops"]
