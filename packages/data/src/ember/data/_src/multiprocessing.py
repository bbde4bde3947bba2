"""Worker processes for ``mp_prefetch`` and ``DataLoader(worker_count=...)``.

Workers are forked when the first element is requested; they inherit the pipeline, so
nothing is pickled. A task is "compute records ``[start, stop)`` of segment ``s``"; the
worker writes the result to a shared-memory file (see ``shm.py``) and sends back its name
as a small JSON message. Results are used in task order, so the output does not depend on
the number of workers or which worker computed what.

Robustness:
  * an exception in a worker reaches the consumer as :class:`WorkerError`, with the
    original traceback text and the index of the record being computed;
  * a worker that dies (e.g. killed by a signal) is noticed within a second and reported
    as a :class:`WorkerError` naming the signal;
  * ``close()``, garbage collection and interpreter exit stop the workers and remove every
    shared-memory file of the pool; workers also exit on their own if the parent dies.

    >>> from ember.data import MapDataset, MultiprocessingOptions
    >>> ds = MapDataset.range(6).map(lambda x: x * x).to_iter_dataset()
    >>> list(ds.mp_prefetch(MultiprocessingOptions(num_workers=2)))
    [0, 1, 4, 9, 16, 25]
"""

from __future__ import annotations

import collections
import contextlib
import json
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import secrets
import signal
import sys
import time
import traceback
import warnings
import weakref
from typing import Any, Callable, Iterator

from ember.data._src import shm
from ember.data._src.iterator import DatasetIterator
from ember.data._src.segment import ChunkResult, SegmentSpec, compute_chunk

_POLL_S = 0.5


class WorkerError(RuntimeError):
    """An error raised by (or the death of) an ember.data worker process.

    Attributes:
      worker_index: which worker.
      index: the record (element) index being computed, when known.
      original_type: name of the original exception type (None if the worker died).
      worker_traceback: the original traceback, formatted in the worker.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> def bad(x):
    ...     raise ValueError("bad record")
    >>> ds = ed.MapDataset.range(4).map(bad).to_iter_dataset().mp_prefetch(ed.MultiprocessingOptions(num_workers=1))
    >>> try:
    ...     next(iter(ds))
    ... except ed.WorkerError as e:
    ...     print(e.index, "ValueError" in e.worker_traceback)
    0 True
    """

    def __init__(self, message: str, *, worker_index: int | None = None, index: int | None = None,
                 original_type: str | None = None, worker_traceback: str | None = None):
        super().__init__(message)
        self.worker_index = worker_index
        self.index = index
        self.original_type = original_type
        self.worker_traceback = worker_traceback


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "is not responding"
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


# -- worker side -------------------------------------------------------------------------------
def _tune_malloc() -> None:
    """Keeps freed memory in the worker's heap instead of returning it to the OS after every
    chunk (glibc's default trimming made each batch re-fault its pages: ~2-3x the CPU time).
    Only worker processes, which ember.data owns, are tuned; nothing changes elsewhere."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD (the largest glibc accepts)
    except (OSError, AttributeError):  # not glibc: keep the defaults
        pass


def _worker_main(index: int, count: int, conn: Any, parent_ends: list, registry: dict,
                 prefix: str, init_fn: Callable[[int, int], None] | None, parent_pid: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    _tune_malloc()
    for c in parent_ends:
        c.close()
    writer = shm.SlotWriter(f"{prefix}w{index}")
    try:
        if init_fn is not None:
            try:
                init_fn(index, count)
            except BaseException as e:
                conn.send_bytes(json.dumps({"id": -1, "error": _error_payload(e)}).encode())
                return
        while True:
            if not conn.poll(_POLL_S):
                if os.getppid() != parent_pid:
                    return
                continue
            try:
                msg = json.loads(conn.recv_bytes())
            except (EOFError, OSError):
                return
            if msg["op"] == "stop":
                return
            writer.release(msg["free"])
            tid = msg["id"]
            try:
                spec = registry[msg["spec"]]
                t0 = time.perf_counter()
                r = compute_chunk(spec, msg["start"], msg["stop"], msg["ops"])
                reply = {"id": tid, "shm": writer.write(r.elements, r.ends, r.timings),
                         "ops": r.ops_done, "t": time.perf_counter() - t0}
            except Exception as e:
                reply = {"id": tid, "error": _error_payload(e)}
            try:
                conn.send_bytes(json.dumps(reply).encode())
            except OSError:  # the parent is gone
                return
    finally:
        writer.cleanup()


def _error_payload(e: BaseException) -> dict[str, Any]:
    return {
        "type": type(e).__qualname__,
        "message": str(e),
        "traceback": "".join(traceback.format_exception(e)),
        "index": getattr(e, "_ember_data_index", None),
        "stage": getattr(e, "_ember_data_stage", None),
    }


# -- parent side -------------------------------------------------------------------------------
def _shutdown(procs: list, conns: list, prefix: str, owner_pid: int) -> None:
    if os.getpid() != owner_pid:  # a forked child never tears down its siblings
        return
    try:
        _ask_to_stop(conns)
        _join_all(procs, 1.0)
    finally:  # even when a Ctrl-C interrupts the polite wait: no orphans, no leaked files
        _stop_now(procs)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
        shm.unlink_prefix(prefix)


def _ask_to_stop(conns: list) -> None:
    for c in conns:
        try:
            os.set_blocking(c.fileno(), False)  # a worker that stopped reading cannot block us
            c.send_bytes(b'{"op": "stop"}')
        except (OSError, ValueError):
            pass


def _join_all(procs: list, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))


def _stop_now(procs: list) -> None:
    alive = [p for p in procs if p.is_alive()]
    for p in alive:
        p.terminate()
    _join_all(alive, 1.0)
    alive = [p for p in alive if p.is_alive()]
    for p in alive:
        p.kill()
    _join_all(alive, 1.0)


class WorkerPool:
    """A set of forked workers serving the segments of one pipeline (sub)tree."""

    def __init__(self, options: Any, worker_init_fn: Callable[[int, int], None] | None = None, *,
                 subtree: Any = None, roots: list[SegmentSpec] | None = None):
        self.options = options
        self.num_workers = options.num_workers
        self.per_worker = max(2, options.per_worker_buffer_size)
        self._init_fn = worker_init_fn
        self._registry: dict[int, SegmentSpec] = {}
        for spec in roots or []:
            self._registry[spec.top_id] = spec
        if subtree is not None:
            self._collect(subtree)
        self.has_work = bool(self._registry)
        self.prefix = f"ember-data-{os.getpid()}-{secrets.token_hex(4)}-"
        self._procs: list = []
        self._conns: list = []
        self._finalizer: Any = None
        self._outstanding: list[collections.deque] = []
        self._readers: list[shm.SlotReader] = []
        self._unread: list[list[int]] = []  # per worker: slots of cancelled chunks, never read
        self._tasks: dict[int, dict[str, Any]] = {}
        self._done: dict[int, Any] = {}
        self._next_tid = 0
        self._broken: WorkerError | None = None
        self._closed = False

    def _collect(self, node: Any) -> None:
        from ember.data._src.iter_dataset import IterDataset

        stack, seen = [node], set()
        while stack:
            n = stack.pop()
            if id(n) in seen:
                continue
            seen.add(id(n))
            if isinstance(n, IterDataset):
                spec = n._segment_spec()
                if spec is not None:
                    self._registry[spec.top_id] = spec
                stack.extend(n._graph_children())

    def executor(self, spec: SegmentSpec, worker_ops: int | None) -> "PoolExecutor":
        if spec.top_id not in self._registry:
            self._registry[spec.top_id] = spec
            if self._procs:
                raise RuntimeError(f"Segment {spec.top_id} was created after the workers started.")
        return PoolExecutor(self, spec, len(spec.ops) if worker_ops is None else worker_ops)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._procs or self._closed:
            return
        if "fork" not in mp.get_all_start_methods():
            raise RuntimeError("ember.data worker processes need the 'fork' start method (Linux, macOS).")
        ctx = mp.get_context("fork")
        parent_ends = []
        procs = []
        with warnings.catch_warnings():
            # Python 3.12 warns about fork() in a multi-threaded process. Workers only run the
            # pipeline's own code, never locks held by other threads of this process.
            warnings.simplefilter("ignore", DeprecationWarning)
            for w in range(self.num_workers):
                parent_conn, child_conn = ctx.Pipe(duplex=True)
                # The worker closes its copies of the parent's ends, so it sees EOF when we die.
                p = ctx.Process(
                    target=_worker_main,
                    args=(w, self.num_workers, child_conn, parent_ends + [parent_conn], self._registry,
                          self.prefix, self._init_fn, os.getpid()),
                    name=f"ember-data-worker-{w}", daemon=True,
                )
                p.start()
                child_conn.close()
                parent_ends.append(parent_conn)
                procs.append(p)
        self._procs, self._conns = procs, parent_ends
        self._outstanding = [collections.deque() for _ in procs]
        self._readers = [shm.SlotReader() for _ in procs]
        self._unread = [[] for _ in procs]
        self._finalizer = weakref.finalize(self, _shutdown, procs, parent_ends, self.prefix, os.getpid())

    def close(self) -> None:
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()
        self._tasks.clear()
        self._done.clear()
        for r in self._readers:
            r.close()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    # -- tasks --------------------------------------------------------------------------------
    def submit(self, spec: SegmentSpec, start: int, stop: int, ops: int) -> int:
        if self._broken is not None:
            raise self._broken
        if self._closed:
            raise RuntimeError("The ember.data worker pool is closed.")
        self.start()
        w = min(range(len(self._procs)), key=lambda i: (len(self._outstanding[i]), i))
        tid = self._next_tid
        self._next_tid += 1
        free = self._readers[w].freed() + self._unread[w]
        self._unread[w] = []
        message = json.dumps({"op": "task", "id": tid, "spec": spec.top_id, "start": start, "stop": stop,
                              "ops": ops, "free": free}).encode()
        with self._exchange(f"sending a task to worker {w}"):
            self._conns[w].send_bytes(message)
        self._outstanding[w].append(tid)
        self._tasks[tid] = {"worker": w, "start": start, "stop": stop, "spec": spec, "cancelled": False}
        return tid

    def cancel(self, tids: list[int]) -> None:
        for tid in tids:
            if tid in self._done:
                self._done.pop(tid)
                self._tasks.pop(tid, None)
            elif tid in self._tasks:
                self._tasks[tid]["cancelled"] = True

    def ready_count(self, tids: list[int]) -> int:
        return sum(1 for t in tids if t in self._done)

    def result(self, tid: int) -> ChunkResult:
        while tid not in self._done:
            if self._broken is not None:
                raise self._broken
            self._poll(_POLL_S)
        value = self._done.pop(tid)
        self._tasks.pop(tid, None)
        if isinstance(value, BaseException):
            raise value
        return value

    def _poll(self, timeout: float) -> None:
        conns = self._conns
        sentinels = [p.sentinel for p in self._procs]
        ready = mp_connection.wait(conns + sentinels, timeout)
        for obj in ready:
            if obj in sentinels:
                continue
            w = conns.index(obj)
            with self._exchange(f"receiving a result from worker {w}"):
                try:
                    raw = obj.recv_bytes()
                except (EOFError, OSError):
                    continue
                self._receive(w, json.loads(raw))
        for w, p in enumerate(self._procs):
            if not p.is_alive() and self._broken is None:
                p.join(0.1)
                pending = [self._tasks[t] for t in self._outstanding[w] if t in self._tasks]
                what = (f" while computing records [{pending[0]['start']}, {pending[0]['stop']}) of "
                        f"{pending[0]['spec'].root_name}") if pending else ""
                self._broken = WorkerError(
                    f"ember.data worker {w} (pid {p.pid}) {_describe_exit(p.exitcode)}{what}. "
                    "The pipeline cannot continue; restore from the last state to resume.",
                    worker_index=w,
                    index=pending[0]["start"] if pending else None,
                )
                self.close()
                raise self._broken

    @contextlib.contextmanager
    def _exchange(self, what: str) -> Iterator[None]:
        """A message half sent or half read, or a result read but not yet filed, cannot be
        recovered: a Ctrl-C landing there breaks the pool (the next call raises a WorkerError
        instead of waiting forever for a message that is gone), and the workers are stopped."""
        try:
            yield
        except KeyboardInterrupt:
            self._broken = WorkerError(
                f"ember.data's worker pool was interrupted while {what}. The pipeline cannot "
                "continue; restore from the last state to resume.")
            self.close()
            raise

    def _receive(self, w: int, msg: dict[str, Any]) -> None:
        tid = msg["id"]
        if tid == -1:
            err = msg["error"]
            self._broken = WorkerError(
                f"worker_init_fn failed in ember.data worker {w}: {err['type']}: {err['message']}\n\n"
                f"Worker traceback:\n{err['traceback']}",
                worker_index=w, original_type=err["type"], worker_traceback=err["traceback"],
            )
            return
        if self._outstanding[w] and self._outstanding[w][0] == tid:
            self._outstanding[w].popleft()
        else:
            try:
                self._outstanding[w].remove(tid)
            except ValueError:
                pass
        task = self._tasks.get(tid)
        if "error" in msg:
            if task is None or task["cancelled"]:
                self._tasks.pop(tid, None)
                return
            err = msg["error"]
            where = f"record index {err['index']}" if err["index"] is not None else (
                f"records [{task['start']}, {task['stop']})")
            stage = f" in {err['stage']}" if err.get("stage") else ""
            self._done[tid] = WorkerError(
                f"ember.data worker {w} failed{stage} at {where}: {err['type']}: {err['message']}\n\n"
                f"Worker traceback:\n{err['traceback']}",
                worker_index=w, index=err["index"], original_type=err["type"],
                worker_traceback=err["traceback"],
            )
            return
        if task is None or task["cancelled"]:
            self._unread[w].append(msg["shm"]["slot"])
            self._tasks.pop(tid, None)
            return
        elements, ends, timings = self._readers[w].read(msg["shm"])
        self._done[tid] = ChunkResult(task["start"], task["stop"], elements, ends, msg["ops"], timings)


class PoolExecutor:
    """The executor interface of ``segment.py`` on top of a :class:`WorkerPool`."""

    same_thread = False

    def __init__(self, pool: WorkerPool, spec: SegmentSpec, worker_ops: int):
        self._pool = pool
        self._spec = spec
        self.worker_ops = worker_ops
        self.parallelism = pool.num_workers
        self.max_in_flight = pool.num_workers * pool.per_worker

    def submit(self, start: int, stop: int) -> int:
        return self._pool.submit(self._spec, start, stop, self.worker_ops)

    def result(self, handle: int) -> ChunkResult:
        return self._pool.result(handle)

    def cancel(self, handles: list[int]) -> None:
        self._pool.cancel(list(handles))

    def queue_fill(self, pending: list[int]) -> tuple[int, int]:
        return (self._pool.ready_count(pending), self.max_in_flight)

    def close(self) -> None:
        pass


class PoolOwnerIterator(DatasetIterator):
    """Wraps the iterator of an ``mp_prefetch`` subtree and owns its worker pool."""

    def __init__(self, parent: DatasetIterator, pool: WorkerPool):
        super().__init__([parent], f"mp_prefetch(num_workers={pool.num_workers})")
        self._pool = pool

    def _next(self):
        return next(self._parents[0])

    def get_state(self):
        return self._parents[0].get_state()

    def set_state(self, state):
        self._parents[0].set_state(state)

    def close(self):
        if self._closed:
            return
        super().close()
        self._pool.close()


__all__ = ["WorkerError", "WorkerPool", "PoolExecutor", "PoolOwnerIterator"]
if sys.platform == "win32":  # pragma: no cover
    warnings.warn("ember.data worker processes are not supported on Windows.", RuntimeWarning, stacklevel=2)
