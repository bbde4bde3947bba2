"""Arrays on disk: zarr v3 arrays whose chunks are the arrays' shards, with crc32c checksums.

Every array uses zarr's ``sharding_indexed`` codec: one *shard file* per saved block holds the
block of every array stacked in it (leaves of the same shape, dtype and sharding of one item share
one zarr array with a leading stack axis, so a thousand same-shaped layers are a handful of files),
each inner chunk encoded ``bytes`` (little endian) + ``crc32c``, followed by the shard index
(``uint64`` offset/length pairs + ``crc32c``). Shard files are written with positioned writes from a
thread pool (chunk sizes are known in advance, so every piece has a fixed offset) and fsynced;
reading a region reads only the inner chunks it overlaps and checks their checksums.

Any zarr v3 reader opens these arrays (``zarr.open_array(path)[...]``).

    >>> import numpy as np, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> spec = ArraySpec(d / "w", np.dtype("float32"), (4, 2), (2, 2), stack=None)
    >>> write_zarr_json(spec, attributes={})
    >>> x = np.arange(8, dtype=np.float32).reshape(4, 2)
    >>> for coords, piece in [((0, 0), x[:2]), ((1, 0), x[2:])]:
    ...     write_shard_file(spec.shard_path(coords), [piece])
    >>> ShardReader(spec).read_region(None, ((1, 3), (0, 2))).tolist()
    [[2.0, 3.0], [4.0, 5.0]]
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import layout
from .atomic import crc32c, write_file_durably
from .errors import CheckpointCorruptionError

__all__ = ["ArraySpec", "write_zarr_json", "write_group_json", "write_shard_file", "ShardReader", "dtype_to_zarr",
           "dtype_from_name", "le_bytes", "MAX_UINT64"]

MAX_UINT64 = 2 ** 64 - 1
_CRC = 4
_INDEX_ENTRY = 16

_ZARR_TYPES = {
    "bool": "bool", "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
    "uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64",
    "float16": "float16", "float32": "float32", "float64": "float64",
    "complex64": "complex64", "complex128": "complex128",
}
# dtypes zarr v3 has no core name for: stored as their raw bits, named in the attributes
_RAW_BITS = {1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64"}


def dtype_from_name(name: object) -> np.dtype:
    """A NumPy dtype from its name in (possibly untrusted) metadata: numeric types only."""
    if not isinstance(name, str):
        raise CheckpointCorruptionError(f"malformed dtype {name!r} in checkpoint metadata")
    if name in _ZARR_TYPES:
        return np.dtype(name)
    try:
        import ml_dtypes
    except ImportError as e:  # pragma: no cover - ml_dtypes ships with jaxlib
        raise CheckpointCorruptionError(f"dtype {name!r} needs the ml_dtypes package") from e
    dt = getattr(ml_dtypes, name, None)
    if dt is None or not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise CheckpointCorruptionError(f"unsupported dtype {name!r} in checkpoint metadata")
    dt = np.dtype(dt)
    if dt.itemsize not in _RAW_BITS or dt.hasobject:
        raise CheckpointCorruptionError(f"unsupported dtype {name!r} in checkpoint metadata")
    return dt


def dtype_to_zarr(dtype: np.dtype) -> tuple[str, np.dtype]:
    """The zarr ``data_type`` to store ``dtype`` as, and the NumPy dtype of the stored bytes."""
    dtype = np.dtype(dtype)
    if dtype.name in _ZARR_TYPES:
        return _ZARR_TYPES[dtype.name], dtype.newbyteorder("<")
    if dtype.itemsize in _RAW_BITS and dtype.kind == "V" and dtype.fields is None and _is_ml_dtype(dtype):
        raw = _RAW_BITS[dtype.itemsize]
        return raw, np.dtype(raw).newbyteorder("<")
    raise TypeError(f"ember.checkpoint cannot store arrays of dtype {dtype}")


def _is_ml_dtype(dtype: np.dtype) -> bool:
    """bfloat16, float8_*, int4...: the extra dtypes of ml_dtypes (what ember.core uses)."""
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover
        return False
    found = getattr(ml_dtypes, dtype.name, None)
    return found is not None and np.dtype(found) == dtype


def _fill_value(zarr_type: str) -> Any:
    if zarr_type == "bool":
        return False
    if zarr_type.startswith("complex"):
        return [0.0, 0.0]
    if zarr_type.startswith("float"):
        return 0.0
    return 0


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """One zarr array: where, what dtype, the leaf shape, the chunk (= saved shard) shape, and the
    number of leaves stacked in it (None: a single leaf, no stack axis)."""

    path: Path
    dtype: np.dtype
    shape: tuple[int, ...]
    chunk: tuple[int, ...]
    stack: int | None

    @property
    def zarr_shape(self) -> tuple[int, ...]:
        return self.shape if self.stack is None else (self.stack,) + self.shape

    @property
    def outer_chunk(self) -> tuple[int, ...]:
        return self.chunk if self.stack is None else (self.stack,) + self.chunk

    @property
    def inner_chunk(self) -> tuple[int, ...]:
        return self.chunk if self.stack is None else (1,) + self.chunk

    @property
    def chunk_nbytes(self) -> int:
        return int(np.prod(self.chunk, dtype=np.int64)) * self.dtype.itemsize

    def shard_path(self, coords: Sequence[int]) -> Path:
        """The file of the block at chunk ``coords`` (of the leaf's own dimensions)."""
        keys = ([0] if self.stack is not None else []) + [int(c) for c in coords]
        return self.path.joinpath("c", *map(str, keys)) if keys else self.path / "c"


def write_group_json(path: Path, attributes: dict[str, Any]) -> None:
    path.mkdir(parents=True, exist_ok=True)
    doc = {"zarr_format": 3, "node_type": "group", "attributes": attributes}
    write_file_durably(path / layout.ZARR_JSON, json.dumps(doc, indent=2).encode())


def write_zarr_json(spec: ArraySpec, attributes: dict[str, Any]) -> None:
    """Write ``zarr.json`` of the array ``spec`` (a zarr v3 array any reader opens)."""
    zarr_type, _ = dtype_to_zarr(spec.dtype)
    attrs = dict(attributes)
    if zarr_type != spec.dtype.name:
        attrs["ember_dtype"] = spec.dtype.name  # e.g. bfloat16 stored as its uint16 bits
    le = {"name": "bytes", "configuration": {"endian": "little"}}
    doc = {
        "zarr_format": 3,
        "node_type": "array",
        "shape": list(spec.zarr_shape),
        "data_type": zarr_type,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(spec.outer_chunk)}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": _fill_value(zarr_type),
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": list(spec.inner_chunk),
            "codecs": [le, {"name": "crc32c"}],
            "index_codecs": [le, {"name": "crc32c"}],
            "index_location": "end",
        }}],
        "attributes": attrs,
    }
    spec.path.mkdir(parents=True, exist_ok=True)
    write_file_durably(spec.path / layout.ZARR_JSON, json.dumps(doc, indent=2).encode())


def le_bytes(piece: np.ndarray, dtype: np.dtype) -> np.ndarray:
    _, stored = dtype_to_zarr(dtype)
    arr = np.asarray(piece)
    if arr.dtype != dtype:
        arr = arr.astype(dtype)
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    arr = np.ascontiguousarray(arr)
    return arr.reshape(-1).view(np.uint8)


def _pwrite_all(fd: int, buffers: list[Any], offset: int) -> None:
    views = [memoryview(b).cast("B") for b in buffers]
    while views:
        n = os.pwritev(fd, views, offset)
        offset += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if views and n:
            views[0] = views[0][n:]


class ShardFileWriter:
    """Writes one shard file: ``put(k, piece)`` for each inner chunk, from any thread and in any
    order (offsets are fixed in advance); the call that completes the last piece writes the index,
    fsyncs and closes. A failed piece makes the file fail, and it is closed only once no other
    piece is being written (a closed descriptor is never written to)."""

    def __init__(self, path: Path, n_pieces: int, piece_nbytes: int) -> None:
        self.path = path
        self.n = n_pieces
        self.piece_nbytes = piece_nbytes
        self.fd = -1
        self._left = n_pieces
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def _open(self) -> int:
        with self._lock:
            if self.fd < 0:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            return self.fd

    def put(self, k: int, data: np.ndarray) -> bool:
        """Write inner chunk ``k`` (uint8 view of its little-endian bytes). Returns True when this
        call finished the file; raises the file's error (its own or an earlier piece's) when the
        file is complete but failed."""
        try:
            if self._error is None:
                if data.nbytes != self.piece_nbytes:
                    raise ValueError(f"{self.path}: piece {k} has {data.nbytes} bytes, expected {self.piece_nbytes}")
                crc = np.uint32(crc32c(data)).tobytes()
                _pwrite_all(self._open(), [data, crc], k * (self.piece_nbytes + _CRC))
        except BaseException as e:  # noqa: BLE001 - kept for the file
            with self._lock:
                self._error = self._error or e
        with self._lock:
            self._left -= 1
            last = self._left == 0
        if not last:
            return False
        try:
            if self._error is None:
                self._finish()
        except BaseException as e:  # noqa: BLE001
            self._error = e
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1
        if self._error is not None:
            raise self._error
        return True

    def _finish(self) -> None:
        size = self.piece_nbytes + _CRC
        index = np.empty((self.n, 2), dtype="<u8")
        index[:, 0] = np.arange(self.n, dtype=np.uint64) * size
        index[:, 1] = size
        raw = index.tobytes()
        _pwrite_all(self._open(), [raw, np.uint32(crc32c(raw)).tobytes()], self.n * size)
        os.fsync(self.fd)


def write_shard_file(path: Path, pieces: Sequence[np.ndarray]) -> None:
    """Write a whole shard file at once (one inner chunk per piece, in order)."""
    dtype = np.asarray(pieces[0]).dtype
    raw = [le_bytes(p, dtype) for p in pieces]
    w = ShardFileWriter(path, len(raw), raw[0].nbytes)
    for k, r in enumerate(raw):
        w.put(k, r)


class ShardReader:
    """Reads regions of one zarr array written by :class:`ShardFileWriter` (shard indexes are
    read once per file and cached; every inner chunk's checksum is verified)."""

    def __init__(self, spec: ArraySpec, what: str = "") -> None:
        self.spec = spec
        self.what = what or str(spec.path)
        self._index: dict[Path, tuple[np.ndarray, int]] = {}
        self._lock = threading.Lock()
        _, self.stored = dtype_to_zarr(spec.dtype)

    def _fail(self, path: Path, why: str) -> CheckpointCorruptionError:
        return CheckpointCorruptionError(f"checkpoint corrupted: {self.what}, file {path}: {why}")

    def _shard_index(self, path: Path, fd: int) -> np.ndarray:
        with self._lock:
            cached = self._index.get(path)
        if cached is not None:
            return cached[0]
        n_inner = self.spec.stack or 1
        size = os.fstat(fd).st_size
        want = n_inner * _INDEX_ENTRY + _CRC
        if size < want:
            raise self._fail(path, f"truncated ({size} bytes, smaller than its index)")
        raw = os.pread(fd, want, size - want)
        if len(raw) != want or crc32c(raw[:-_CRC]) != int(np.frombuffer(raw[-_CRC:], "<u4")[0]):
            raise self._fail(path, "the shard index checksum does not match (truncated or altered file)")
        index = np.frombuffer(raw[:-_CRC], "<u8").reshape(n_inner, 2)
        with self._lock:
            self._index[path] = (index, size)
        return index

    def read_chunk(self, stack_index: int | None, coords: Sequence[int]) -> np.ndarray:
        """The chunk at leaf chunk ``coords`` of the leaf at ``stack_index``, checksum verified."""
        path = self.spec.shard_path(coords)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise self._fail(path, "missing") from None
        try:
            index = self._shard_index(path, fd)
            k = stack_index or 0
            offset, nbytes = (int(v) for v in index[k])
            if offset == MAX_UINT64:
                raise self._fail(path, f"inner chunk {k} was never written")
            if nbytes != self.spec.chunk_nbytes + _CRC:
                raise self._fail(path, f"inner chunk {k} has {nbytes} bytes, expected {self.spec.chunk_nbytes + _CRC}")
            buf = np.empty(nbytes, dtype=np.uint8)
            got = os.preadv(fd, [buf], offset)
            if got != nbytes:
                raise self._fail(path, f"truncated: inner chunk {k} has {got} of {nbytes} bytes")
        finally:
            os.close(fd)
        data = buf[:-_CRC]
        if crc32c(data) != int(buf[-_CRC:].view("<u4")[0]):
            raise self._fail(path, f"checksum mismatch in inner chunk {k} (the data was altered)")
        out = data.view(self.stored).reshape(self.spec.chunk)
        if out.dtype != self.spec.dtype:
            out = out.view(self.spec.dtype) if out.dtype.itemsize == self.spec.dtype.itemsize else out
        return out

    def read_region(self, stack_index: int | None, region: Sequence[tuple[int, int]]) -> np.ndarray:
        """The values of the leaf in ``region`` (``(start, stop)`` per dimension)."""
        chunk = self.spec.chunk
        region = tuple((int(a), int(b)) for a, b in region)
        first = tuple(a // c for (a, _), c in zip(region, chunk))
        last = tuple((b - 1) // c for (_, b), c in zip(region, chunk))
        if all(a == f * c and b == (f + 1) * c for (a, b), f, c in zip(region, first, chunk)):
            return self.read_chunk(stack_index, first)  # the common case: the region is a saved shard
        out = np.empty(tuple(b - a for a, b in region), dtype=self.spec.dtype)
        for coords in np.ndindex(*(l_ - f + 1 for f, l_ in zip(first, last))):
            coords = tuple(f + c for f, c in zip(first, coords))
            data = self.read_chunk(stack_index, coords)
            src, dst = [], []
            for (a, b), cc, c in zip(region, coords, chunk):
                lo, hi = max(a, cc * c), min(b, (cc + 1) * c)
                src.append(slice(lo - cc * c, hi - cc * c))
                dst.append(slice(lo - a, hi - a))
            out[tuple(dst)] = data[tuple(src)]
        return out
