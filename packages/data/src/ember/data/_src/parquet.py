"""Parquet as a random-access source, and a writer that lays files out for random access.

``ParquetDataSource`` indexes the row groups of one file, a list of files, a directory or a
glob pattern, and reads records by global row index. Reading many rows costs one decode per
row group touched (all row groups a request needs are read in one pyarrow call per file);
decoded row groups stay in a bounded LRU cache (``cache_bytes``).

Arrays are stored the way that decodes fastest: a fixed-shape array field becomes a
``fixed_size_binary`` column (dtype and shape kept in the file's metadata, decoded as one
zero-copy ``np.frombuffer``), a variable-length 1-D field a Parquet list column. Files
written by other tools read as well (lists, numbers, strings, binary, tensors).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "d.parquet")
    >>> write_parquet(({"x": np.full((2, 2), i, np.uint8), "y": i} for i in range(10)), path, row_group_size=4)
    >>> src = ParquetDataSource(path)
    >>> len(src), src[9]["x"].tolist(), int(src[9]["y"]), src.num_row_groups
    (10, [[9, 9], [9, 9]], 9, 3)
"""

from __future__ import annotations

import collections
import glob
import json
import os
import threading
from typing import Any, Iterable, Sequence

import numpy as np

from ember.data._src.sources import check_index, check_indices

_META_KEY = b"ember.data"


def _pa():
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pa, pq


def _expand_paths(paths: Any) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[str] = []
    for p in paths:
        p = os.fspath(p)
        if any(ch in p for ch in "*?["):
            found = sorted(glob.glob(p, recursive=True))
            if not found:
                raise FileNotFoundError(f"No Parquet files match the pattern {p!r}.")
            out.extend(f for f in found if os.path.isfile(f))
        elif os.path.isdir(p):
            found = sorted(glob.glob(os.path.join(glob.escape(p), "**", "*.parquet"), recursive=True))
            if not found:
                raise FileNotFoundError(f"The directory {p!r} contains no *.parquet files.")
            out.extend(found)
        elif os.path.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"Parquet file {p!r} does not exist.")
    if not out:
        raise FileNotFoundError(f"No Parquet files in {paths!r}.")
    return out


class ParquetDataSource:
    """Random access to the rows of Parquet files; each record is a dict of column values.

    Args:
      paths: a file, a directory (all ``*.parquet`` below it, sorted), a glob pattern, or a
        list of those. Files are concatenated in order.
      columns: read only these columns (default: all).
      cache_bytes: upper bound on decoded row groups kept in memory (per process).

    >>> import numpy as np
    >>> import ember.data as ed
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.parquet")
    >>> ed.write_parquet([{"x": np.full(3, i, np.float32), "label": i} for i in range(5)], path)
    >>> source = ed.ParquetDataSource(path)         # a file, a folder, a glob or a list
    >>> len(source), source[2]["x"].tolist(), int(source[2]["label"])
    (5, [2.0, 2.0, 2.0], 2)
    """

    _ember_accepts_arrays = True

    def __init__(self, paths: Any, *, columns: Sequence[str] | None = None, cache_bytes: int = 64 << 20):
        _, pq = _pa()
        self._paths = _expand_paths(paths)
        self._columns = list(columns) if columns is not None else None
        self._cache_bytes = int(cache_bytes)
        rg_file, rg_index, rg_rows = [], [], []
        self._array_meta: dict[str, dict[str, Any]] = {}
        schema_names = None
        for f, path in enumerate(self._paths):
            try:
                meta = pq.read_metadata(path)
            except Exception as e:
                raise ValueError(f"{path!r} is not a readable Parquet file: {e}") from e
            names = meta.schema.to_arrow_schema().names
            if schema_names is None:
                schema_names = names
                kv = meta.metadata or {}
                if _META_KEY in kv:
                    self._array_meta = json.loads(kv[_META_KEY])
            elif names != schema_names:
                raise ValueError(f"{path!r} has columns {names}, but {self._paths[0]!r} has {schema_names}.")
            for g in range(meta.num_row_groups):
                rg_file.append(f)
                rg_index.append(g)
                rg_rows.append(meta.row_group(g).num_rows)
        if self._columns is not None:
            missing = [c for c in self._columns if c not in (schema_names or [])]
            if missing:
                raise ValueError(f"Columns {missing} are not in the files (have {schema_names}).")
        self._names = self._columns or list(schema_names or [])
        self._rg_file = rg_file
        self._rg_index = rg_index
        self._rg_rows = np.array(rg_rows, dtype=np.int64)
        self._rg_start = np.concatenate([[0], np.cumsum(self._rg_rows)]).astype(np.int64)
        self._len = int(self._rg_start[-1])
        self._reset_process_state()

    def _reset_process_state(self) -> None:
        self._pid = os.getpid()
        self._files: dict[int, Any] = {}
        # Decoded "blocks": the row groups one read returned, decoded column-wise at once.
        self._blocks: collections.OrderedDict[int, tuple[dict[str, Any], int, list[int]]] = collections.OrderedDict()
        self._rg_loc: dict[int, tuple[int, int]] = {}  # row group -> (block id, first row in block)
        self._next_block = 0
        self._cached_bytes = 0
        self._lock = threading.Lock()
        self._file_locks: dict[int, threading.Lock] = {}
        self.decoded_row_groups = 0  # how many row groups were decoded (for tests and stats)

    def __getstate__(self) -> dict[str, Any]:
        # Lets other libraries (e.g. Grain's spawned workers) copy a source: open files and
        # the cache are per process and are rebuilt on the other side.
        state = self.__dict__.copy()
        for key in ("_files", "_blocks", "_rg_loc", "_lock", "_file_locks"):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_process_state()

    # -- basic protocol ------------------------------------------------------------------
    def __len__(self) -> int:
        return self._len

    @property
    def num_row_groups(self) -> int:
        return len(self._rg_rows)

    @property
    def paths(self) -> list[str]:
        return list(self._paths)

    def __repr__(self) -> str:
        where = self._paths[0] if len(self._paths) == 1 else f"{len(self._paths)} files"
        return f"ParquetDataSource({where!r}, rows={self._len}, row_groups={self.num_row_groups})"

    def __getitem__(self, index: int) -> dict[str, Any]:
        i = check_index(index, self._len, self)
        return self.__getitems__(np.array([i], dtype=np.int64))[0]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        idx = check_indices(indices, self._len, self)
        if idx.size == 0:
            return []
        rgs = np.searchsorted(self._rg_start, idx, side="right") - 1
        local = idx - self._rg_start[rgs]
        blocks, block_rows, block_cols = self._locate(rgs, local)
        out: list[Any] = [None] * len(idx)
        keys = self._names
        for b in np.unique(blocks).tolist():
            pos = np.flatnonzero(blocks == b)
            rows = block_rows[pos]
            cols = block_cols[b]
            taken = []
            for k in keys:
                col = cols[k]
                taken.append(col[rows] if isinstance(col, np.ndarray) else [col[r] for r in rows.tolist()])
            for p, values in zip(pos.tolist(), zip(*taken)):
                out[p] = dict(zip(keys, values))
        return out

    # -- row groups ----------------------------------------------------------------------
    def _file(self, f: int) -> Any:
        pf = self._files.get(f)
        if pf is None:
            _, pq = _pa()
            pf = self._files[f] = pq.ParquetFile(self._paths[f], memory_map=True, pre_buffer=False)
        return pf

    def _locate(self, rgs: np.ndarray, local: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, Any]]:
        """For each requested row: the decoded block holding it and its row in that block.
        Row groups not in the cache are read (one pyarrow call per file) and decoded."""
        if os.getpid() != self._pid:  # forked: do not share file handles or the cache
            self._reset_process_state()
        unique = np.unique(rgs).tolist()
        loc: dict[int, tuple[int, int]] = {}
        missing: list[int] = []
        block_cols: dict[int, dict[str, Any]] = {}
        with self._lock:
            for rg in unique:
                hit = self._rg_loc.get(rg)
                if hit is None:
                    missing.append(rg)
                else:
                    loc[rg] = hit
                    self._blocks.move_to_end(hit[0])
                    block_cols[hit[0]] = self._blocks[hit[0]][0]
        by_file: dict[int, list[int]] = {}
        for rg in missing:
            by_file.setdefault(self._rg_file[rg], []).append(rg)
        for f, group in by_file.items():
            with self._lock:
                file_lock = self._file_locks.setdefault(f, threading.Lock())
            with file_lock:  # one reader per file handle; other files and decoding overlap
                table = self._file(f).read_row_groups(
                    [self._rg_index[g] for g in group], columns=self._columns, use_threads=False)
            cols, nbytes = self._decode(table)
            with self._lock:
                block = self._next_block
                self._next_block += 1
                block_cols[block] = cols
                start = 0
                for g in group:
                    loc[g] = (block, start)
                    start += int(self._rg_rows[g])
                self.decoded_row_groups += len(group)
                self._insert(block, cols, nbytes, group, loc)
        lut_block = np.empty(len(unique), dtype=np.int64)
        lut_start = np.empty(len(unique), dtype=np.int64)
        for j, rg in enumerate(unique):
            lut_block[j], lut_start[j] = loc[rg]
        which = np.searchsorted(np.asarray(unique, dtype=np.int64), rgs)
        return lut_block[which], lut_start[which] + local, block_cols

    def _insert(self, block: int, cols: dict[str, Any], nbytes: int, group: list[int],
                loc: dict[int, tuple[int, int]]) -> None:
        if nbytes > self._cache_bytes:
            return
        self._blocks[block] = (cols, nbytes, group)
        for g in group:
            self._rg_loc[g] = loc[g]
        self._cached_bytes += nbytes
        while self._cached_bytes > self._cache_bytes and self._blocks:
            old, (_, b, rgs) = self._blocks.popitem(last=False)
            self._cached_bytes -= b
            for g in rgs:
                if self._rg_loc.get(g, (None,))[0] == old:
                    del self._rg_loc[g]

    def _decode(self, table: Any) -> tuple[dict[str, Any], int]:
        cols: dict[str, Any] = {}
        nbytes = 0
        for name in self._names:
            arr = table.column(name).combine_chunks()
            col = _to_numpy(arr, self._array_meta.get(name))
            nbytes += col.nbytes if isinstance(col, np.ndarray) else arr.nbytes
            cols[name] = col
        return cols, nbytes


def _to_numpy(arr: Any, meta: dict[str, Any] | None) -> Any:
    """One column of one row group -> a NumPy array (one row per entry) or a list."""
    pa, _ = _pa()
    t = arr.type
    n = len(arr)
    if arr.null_count:
        return arr.to_pylist()
    if pa.types.is_fixed_size_binary(t):
        width = t.byte_width
        raw = np.frombuffer(arr.buffers()[1], dtype=np.uint8)[arr.offset * width:(arr.offset + n) * width]
        if meta is not None:
            return raw.view(np.dtype(meta["dtype"])).reshape((n, *meta["shape"]))
        return [bytes(raw[i * width:(i + 1) * width]) for i in range(n)]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        values = arr.flatten()
        if pa.types.is_primitive(values.type) and not values.null_count:
            flat = values.to_numpy(zero_copy_only=False)
            offsets = np.asarray(arr.offsets)
            offsets = offsets - offsets[0]
            inner = tuple(meta.get("inner_shape", ())) if meta is not None else ()
            if inner and all(inner):  # variable-length arrays of shape (length, *inner)
                return [flat[offsets[i]:offsets[i + 1]].reshape((-1, *inner)) for i in range(n)]
            return [flat[offsets[i]:offsets[i + 1]] for i in range(n)]
        return arr.to_pylist()
    if isinstance(t, pa.ExtensionType) and hasattr(arr, "to_numpy_ndarray"):
        return arr.to_numpy_ndarray()
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return arr.to_numpy(zero_copy_only=False)
    return arr.to_pylist()


# -- writer -------------------------------------------------------------------------------------
def write_parquet(records: Iterable[dict[str, Any]], path: str | os.PathLike, *, row_group_size: int | None = None,
                  target_row_group_bytes: int = 32 << 10, compression: str | None = "none") -> None:
    """Writes dict records to a Parquet file laid out for random access.

    Row groups hold ``row_group_size`` rows, or by default about ``target_row_group_bytes`` (32 KiB)
    (small row groups: reading one record decodes little besides it). Field types: NumPy
    arrays of one shape -> ``fixed_size_binary`` + dtype/shape metadata; 1-D arrays of
    varying length -> list columns; NumPy/Python numbers, bool, str and bytes -> the
    matching Parquet types. Compression is off by default (random access favours cheap
    decoding); pass ``"zstd"`` or ``"snappy"`` to trade speed for size.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "data.parquet")
    >>> ed.write_parquet([{"tokens": np.arange(n), "id": n} for n in (2, 3)], path)   # variable length: a list column
    >>> ed.ParquetDataSource(path)[1]["tokens"].tolist()
    [0, 1, 2]
    """
    pa, pq = _pa()
    it = iter(records)
    try:
        first = next(it)
    except StopIteration:
        raise ValueError("write_parquet needs at least one record.") from None
    if not isinstance(first, dict):
        raise TypeError(f"write_parquet expects dict records, got {type(first).__name__}.")
    if row_group_size is None:
        est = sum(np.asarray(v).nbytes if not isinstance(v, (str, bytes)) else len(v) for v in first.values())
        row_group_size = max(1, int(target_row_group_bytes // max(1, est)))
    buffer = [first]
    layout: dict[str, dict[str, Any]] | None = None
    writer = None
    try:
        for rec in _chain(buffer, it):
            if rec is not first:
                buffer.append(rec)
            if len(buffer) >= row_group_size:
                layout, writer = _flush(buffer, layout, writer, path, compression, pa, pq)
                buffer = []
        if buffer:
            layout, writer = _flush(buffer, layout, writer, path, compression, pa, pq)
    finally:
        if writer is not None:
            writer.close()


def _chain(buffer: list, it: Any):
    yield buffer[0]
    yield from it


def _field_layout(name: str, values: list, pa: Any) -> dict[str, Any]:
    v0 = values[0]
    if isinstance(v0, np.ndarray) and v0.ndim >= 1:
        shapes = {np.shape(v) for v in values}
        if len(shapes) == 1:
            return {"kind": "fixed", "dtype": v0.dtype.str, "shape": list(v0.shape)}
        return {"kind": "list", "dtype": v0.dtype.str, "inner_shape": list(v0.shape[1:])}
    return {"kind": "plain"}


def _flush(rows: list, layout: Any, writer: Any, path: Any, compression: Any, pa: Any, pq: Any):
    names = list(rows[0])
    for r in rows:
        if list(r) != names:
            raise ValueError(f"write_parquet: all records need the fields {names}, got {list(r)}.")
    cols = {k: [r[k] for r in rows] for k in names}
    if layout is None:
        layout = {k: _field_layout(k, v, pa) for k, v in cols.items()}
    arrays = {}
    for k, values in cols.items():
        lay = layout[k]
        if lay["kind"] == "fixed":
            shape, dtype = tuple(lay["shape"]), np.dtype(lay["dtype"])
            for v in values:
                if np.shape(v) != shape:
                    raise ValueError(f"write_parquet: field {k!r} has shape {np.shape(v)}, expected {shape}.")
            data = np.ascontiguousarray(np.stack(values).astype(dtype, copy=False))
            arrays[k] = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(data[0].nbytes), len(values), [None, pa.py_buffer(data.tobytes())]
            )
        elif lay["kind"] == "list":
            dtype = np.dtype(lay["dtype"])
            flat = [np.asarray(v, dtype=dtype).reshape(-1) for v in values]
            offsets = np.concatenate([[0], np.cumsum([len(f) for f in flat])]).astype(np.int32)
            arrays[k] = pa.ListArray.from_arrays(pa.array(offsets), pa.array(np.concatenate(flat)))
        else:
            arrays[k] = pa.array([v.item() if isinstance(v, np.generic) and v.dtype.kind in "USO" else v for v in values],
                                 type=_plain_type(values, pa))
    table = pa.table(arrays)
    if writer is None:
        meta = {k: {kk: vv for kk, vv in v.items() if kk != "kind"} for k, v in layout.items() if v["kind"] != "plain"}
        schema = table.schema.with_metadata({_META_KEY: json.dumps(meta).encode()})
        writer = pq.ParquetWriter(os.fspath(path), schema, compression=compression, use_dictionary=False,
                                  write_statistics=False)
    table = table.replace_schema_metadata(writer.schema.metadata)
    writer.write_table(table, row_group_size=len(rows))
    return layout, writer


def _plain_type(values: list, pa: Any) -> Any:
    v0 = values[0]
    if isinstance(v0, np.generic):
        return pa.from_numpy_dtype(np.asarray(v0).dtype) if np.asarray(v0).dtype.kind not in "USO" else None
    return None
