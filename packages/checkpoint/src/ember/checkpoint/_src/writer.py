"""The background part of a save: write a :class:`SavePlan` to disk, atomically.

Order of operations (one process, or every process of a job)::

    primary: remove a stale temporary folder, create .<name>.ember-tmp     -> barrier "start"
    primary: zarr.json of the root, the items and every array; _CHECKPOINT.msgpack
    every process: its shard files (thread pool, positioned writes), fsync files and folders
                                                                            -> barrier "written"
    primary: _COMMITTED (fsync), rename to <name>, fsync the parent       -> barrier "committed"

No two processes ever write the same file: the primary writes all metadata, and each shard file
belongs to exactly one process.

    >>> import numpy as np, tempfile, pathlib
    >>> from ember.checkpoint._src.capture import capture
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_plan(capture({"default": {"w": np.ones((128, 128))}}), d / "ckpt")
    >>> sorted(p.name for p in (d / "ckpt").iterdir())
    ['_CHECKPOINT.msgpack', '_COMMITTED', 'default', 'zarr.json']
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import atomic, layout
from .array_io import ArraySpec, ShardFileWriter, le_bytes, write_group_json, write_zarr_json
from .capture import SavePlan
from .errors import BarrierTimeoutError
from .multihost import DEFAULT_BARRIER_TIMEOUT, sync_processes
from .tree_codec import packb

__all__ = ["write_plan", "io_pool"]

_POOL: list[ThreadPoolExecutor] = []
_POOL_LOCK = threading.Lock()
IO_THREADS = 8


def io_pool() -> ThreadPoolExecutor:
    """The thread pool every save and restore of this process uses for file I/O."""
    with _POOL_LOCK:
        if not _POOL or _POOL[0]._shutdown:  # type: ignore[attr-defined]
            _POOL[:] = [ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="ember-ckpt-io")]
        return _POOL[0]


def _barrier_id(final: Path, what: str, token: str) -> str:
    return f"ember.checkpoint:{final.name}:{token}:{what}"


def write_plan(plan: SavePlan, final: Path, *, overwrite: bool = False, commit_info: dict[str, Any] | None = None,
               token: str = "0", barrier_timeout: float = DEFAULT_BARRIER_TIMEOUT,
               after_commit: Callable[[], None] | None = None) -> None:
    """Write ``plan`` as the checkpoint ``final`` (it appears only once complete)."""
    final = Path(final)
    tmp = layout.tmp_path_for(final)
    primary = plan.process_index == 0
    multi = plan.process_count > 1
    if primary:
        if final.exists() and not overwrite:
            from .errors import StepAlreadyExistsError
            raise StepAlreadyExistsError(f"{final} already exists (pass force=True to replace it)")
        final.parent.mkdir(parents=True, exist_ok=True)
        atomic.remove_tree(tmp)
        tmp.mkdir()
    if multi:
        try:
            sync_processes(_barrier_id(final, "start", token), barrier_timeout)
        except BarrierTimeoutError as e:
            if not tmp.is_dir():
                raise BarrierTimeoutError(f"{e}; the primary process 0 never created {tmp} (did its save fail?)") from e
            raise
        if not tmp.is_dir():
            raise FileNotFoundError(f"{tmp} does not exist after the start barrier: does every process see the "
                                    "same checkpoint folder?")
    written: list[Path] = []
    futures = _write_shards(plan, tmp)  # data first (the long part), metadata while it runs
    try:
        if primary:
            written += _write_metadata(plan, tmp)
    finally:
        errors = [f.exception() for f in futures]
    errors = [e for e in errors if e is not None]
    if errors:
        raise errors[0]
    written += [f.result() for f in futures]
    _fsync_dirs(written, tmp)
    if multi:
        sync_processes(_barrier_id(final, "written", token), barrier_timeout, arrivals_dir=tmp / layout.ARRIVALS_DIR)
    if primary:
        atomic.remove_tree(tmp / layout.ARRIVALS_DIR)
        tree_bytes = (tmp / layout.TREE_FILE).read_bytes()
        info = dict(commit_info or {})
        info.update(tree_crc32c=atomic.crc32c(tree_bytes), tree_size=len(tree_bytes), processes=plan.process_count)
        atomic.write_commit_marker(tmp, info)
        atomic.commit(tmp, final, overwrite=overwrite)
        if after_commit is not None:
            after_commit()
    if multi:
        sync_processes(_barrier_id(final, "committed", token), barrier_timeout)


def _write_metadata(plan: SavePlan, tmp: Path) -> list[Path]:
    written = []
    write_group_json(tmp, {"ember_checkpoint": {"format": layout.FORMAT_VERSION, "items": plan.items}})
    written.append(tmp / layout.ZARR_JSON)
    for item in plan.items:
        write_group_json(tmp / item, {"ember_item": item})
        written.append(tmp / item / layout.ZARR_JSON)
    for job in plan.arrays:
        spec = _resolved(job.spec, tmp)
        write_zarr_json(spec, job.attributes)
        written.append(spec.path / layout.ZARR_JSON)
    for desc, value in plan.small:
        arr = np.asarray(value)
        desc["data"] = le_bytes(arr, arr.dtype).tobytes()
    atomic.write_file_durably(tmp / layout.TREE_FILE, packb(plan.tree_doc))
    return written + [tmp / layout.TREE_FILE]


def _resolved(spec: ArraySpec, root: Path) -> ArraySpec:
    return ArraySpec(root / spec.path, spec.dtype, spec.shape, spec.chunk, spec.stack)


def _fsync_dirs(files: list[Path], root: Path) -> None:
    dirs: set[Path] = set()
    for f in files:
        d = f.parent
        while d != root and d not in dirs and root in d.parents:
            dirs.add(d)
            d = d.parent
    for d in sorted(dirs, key=lambda p: -len(p.parts)):
        atomic.fsync_dir(d)
    atomic.fsync_dir(root)


def _write_shards(plan: SavePlan, tmp: Path) -> list[Future]:
    """Start writing this process's shard files; each future yields the path of a finished file."""
    pool = io_pool()
    futures: list[Future] = []

    def put(writer: ShardFileWriter, done: Future, k: int, piece: np.ndarray, dtype: np.dtype) -> None:
        try:
            raw = le_bytes(piece, dtype)
        except BaseException as e:  # noqa: BLE001 - the writer records it for the file
            raw = e
        try:
            if isinstance(raw, BaseException):
                writer._error = writer._error or raw
                raw = np.empty(writer.piece_nbytes, np.uint8)
            if writer.put(k, raw):
                done.set_result(writer.path)
        except BaseException as e:  # noqa: BLE001 - reported through the future
            done.set_exception(e)

    for job in plan.arrays:
        spec = _resolved(job.spec, tmp)
        for coords, pieces in job.writes:
            done: Future = Future()
            futures.append(done)
            writer = ShardFileWriter(spec.shard_path(coords), len(pieces), spec.chunk_nbytes)
            for k, piece in enumerate(pieces):
                pool.submit(put, writer, done, k, piece, spec.dtype)
    return futures
