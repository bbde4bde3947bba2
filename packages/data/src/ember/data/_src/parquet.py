"""Parquet as a random-access source, and a writer that lays files out for random access.

``ParquetDataSource`` indexes the row groups of one file, a list of files, a directory or a
glob pattern, and reads records by global row index. Reading many rows costs one decode per
row group touched (all row groups a request needs are read in one pyarrow call per file);
decoded row groups stay in a bounded LRU cache (``cache_bytes``).

Arrays are stored the way that decodes fastest: a fixed-shape array field becomes a
``fixed_size_binary`` column (dtype and shape kept in the file's metadata, decoded as one
zero-copy ``np.frombuffer``), an array field whose first dimension varies a Parquet list
column. Files written by other tools read as well (lists, numbers, strings, binary, tensors).

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
import itertools
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
        # Per file: write_parquet decides a field's layout per file (fixed shape in one, a list in another).
        self._array_meta: list[dict[str, dict[str, Any]]] = []
        schema_names = None
        for f, path in enumerate(self._paths):
            try:
                meta = pq.read_metadata(path)
            except Exception as e:
                raise ValueError(f"{path!r} is not a readable Parquet file: {e}") from e
            names = meta.schema.to_arrow_schema().names
            kv = meta.metadata or {}
            self._array_meta.append(json.loads(kv[_META_KEY]) if _META_KEY in kv else {})
            if schema_names is None:
                schema_names = names
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
            cols, nbytes = self._decode(table, f)
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

    def _decode(self, table: Any, f: int) -> tuple[dict[str, Any], int]:
        cols: dict[str, Any] = {}
        nbytes = 0
        for name in self._names:
            arr = table.column(name).combine_chunks()
            col = _to_numpy(arr, self._array_meta[f].get(name))
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
                  target_row_group_bytes: int = 32 << 10, compression: str | None = "none",
                  layout_sample: int = 64, variable_shape: str | Sequence[str] = ()) -> None:
    """Writes dict records to a Parquet file laid out for random access.

    Row groups hold ``row_group_size`` rows, or by default about ``target_row_group_bytes`` (32 KiB)
    (small row groups: reading one record decodes little besides it). Field types: NumPy
    arrays of one shape -> ``fixed_size_binary`` + dtype/shape metadata; arrays whose first
    dimension varies -> list columns (read back with their other dimensions); NumPy/Python
    numbers, bool, str and bytes -> the matching Parquet types. Compression is off by default
    (random access favours cheap decoding); pass ``"zstd"`` or ``"snappy"`` to trade speed
    for size.

    Each field's layout is decided from a look-ahead sample: the first ``layout_sample``
    records (or the whole first row group, when that is larger) are held in memory before
    anything is written. An array field is stored as fixed shape only if every sampled record
    has the same shape; a later record of another shape (or of a dtype that does not cast
    safely to the sampled one) raises a ``ValueError`` naming the field and the record, and
    leaves nothing at ``path``: values are never converted silently. Name the fields whose
    length varies in ``variable_shape`` to store them as list columns whatever the sample holds.

    >>> import numpy as np
    >>> import ember.data as ed
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "data.parquet")
    >>> ed.write_parquet([{"tokens": np.arange(n), "id": n} for n in (2, 3)], path)   # variable length: a list column
    >>> ed.ParquetDataSource(path)[1]["tokens"].tolist()
    [0, 1, 2]
    >>> docs = [{"tokens": np.ones(7 if i == 100 else 4, np.uint8)} for i in range(101)]
    >>> ed.write_parquet(docs, path, row_group_size=10)   # records 0..63 decide: a fixed shape (4,)
    Traceback (most recent call last):
    ValueError: write_parquet: field 'tokens' of record 100 has shape (7,), but the first 64 record(s) ...
    >>> ed.write_parquet(docs, path, row_group_size=10, variable_shape=("tokens",))
    >>> ed.ParquetDataSource(path)[100]["tokens"].shape
    (7,)

    Args:
      records: an iterable of dicts, all with the same fields; read once, front to back.
      path: the file to write (replaced only once every record is written).
      row_group_size: rows per row group (default: from ``target_row_group_bytes``).
      target_row_group_bytes: the size a default row group aims at, estimated from the sample.
      compression: a Parquet codec name, or ``"none"``.
      layout_sample: how many records, at least, decide the fields' layouts.
      variable_shape: fields (NumPy arrays) to store as list columns even if the sampled
        records all have the same shape.
    """
    pa, pq = _pa()
    variable = (variable_shape,) if isinstance(variable_shape, str) else tuple(variable_shape)
    if isinstance(layout_sample, bool) or not isinstance(layout_sample, (int, np.integer)) or layout_sample < 1:
        raise ValueError(f"write_parquet: layout_sample must be a positive int, got {layout_sample!r}.")
    if row_group_size is not None and (isinstance(row_group_size, bool) or not isinstance(row_group_size, (int, np.integer))
                                       or row_group_size < 1):
        raise ValueError(f"write_parquet: row_group_size must be a positive int or None, got {row_group_size!r}.")
    it = iter(records)
    sample: list[dict[str, Any]] = []
    check = _RecordCheck()
    for rec in itertools.islice(it, max(int(layout_sample), row_group_size or 0)):
        check(rec, len(sample))
        sample.append(rec)
    if not sample:
        raise ValueError("write_parquet needs at least one record.")
    names = check.names
    unknown = [v for v in variable if v not in names]
    if unknown:
        raise ValueError(f"write_parquet: variable_shape names {unknown}, which are not fields of the records "
                         f"(they have {names}).")
    if row_group_size is None:
        est = sum(_nbytes(v) for r in sample for v in r.values()) / len(sample)
        row_group_size = max(1, int(target_row_group_bytes // max(1, est)))
        # The first row group is held in memory anyway: let all of it decide the layout.
        for rec in itertools.islice(it, max(0, row_group_size - len(sample))):
            check(rec, len(sample))
            sample.append(rec)
    layout = {k: _field_layout(k, [r[k] for r in sample], k in variable, pa) for k in names}
    sampled = len(sample)

    path = os.fspath(path)
    # Written beside the target and renamed at the end: a failed write leaves no partial file.
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{os.getpid()}-{id(sample):x}.tmp")
    writer = None
    try:
        buffer: list[dict[str, Any]] = []
        start = 0
        for i, rec in enumerate(_drain(sample, it, check)):
            buffer.append(rec)
            if len(buffer) >= row_group_size:
                writer = _write_row_group(buffer, start, sampled, names, layout, writer, tmp, compression, pa, pq)
                buffer, start = [], i + 1
        if buffer:
            writer = _write_row_group(buffer, start, sampled, names, layout, writer, tmp, compression, pa, pq)
        writer.close()
        writer = None
        os.replace(tmp, path)
    finally:
        if writer is not None:
            writer.close()
        if os.path.exists(tmp):
            os.remove(tmp)


class _RecordCheck:
    """Every record is a dict with the fields of the first one (in any order)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._keys: set[str] | None = None

    def __call__(self, rec: Any, index: int) -> None:
        if not isinstance(rec, dict):
            raise TypeError(f"write_parquet expects dict records; record {index} is a {type(rec).__name__}.")
        if self._keys is None:
            self.names, self._keys = list(rec), set(rec)
        elif rec.keys() != self._keys:
            missing = [k for k in self.names if k not in rec]
            extra = [k for k in rec if k not in self._keys]
            raise ValueError(f"write_parquet: record {index} has the fields {list(rec)}, but record 0 has "
                             f"{self.names} (missing: {missing}, unexpected: {extra}); all records need the same fields.")


def _drain(sample: list, it: Any, check: _RecordCheck):
    """The sampled records (releasing each once taken), then the rest of the input, checked."""
    n = len(sample)
    sample.reverse()
    while sample:
        yield sample.pop()
    for i, rec in enumerate(it, n):
        check(rec, i)
        yield rec


def _nbytes(v: Any) -> int:
    if isinstance(v, (str, bytes)):
        return len(v)
    if isinstance(v, (np.ndarray, np.generic)):
        return v.nbytes
    try:
        return np.asarray(v).nbytes
    except (TypeError, ValueError):  # e.g. ragged nested lists
        return 8


def _field_layout(name: str, values: list, variable: bool, pa: Any) -> dict[str, Any]:
    if any(isinstance(v, np.ndarray) and v.ndim >= 1 for v in values):  # an array field
        arrays = [_as_array(name, v, i) for i, v in enumerate(values)]
        ndims = {a.ndim for a in arrays}
        if 0 in ndims:
            i = next(i for i, a in enumerate(arrays) if a.ndim == 0)
            raise ValueError(f"write_parquet: field {name!r} holds arrays, but record {i} has the scalar "
                             f"{values[i]!r}; every record needs an array of 1 or more dimensions.")
        dtype = np.result_type(*{a.dtype for a in arrays})
        shapes = {a.shape for a in arrays}
        # (Parquet has no zero-width fixed-size binary: empty arrays go to a list column.)
        if len(shapes) == 1 and not variable and arrays[0].size:
            return {"kind": "fixed", "dtype": dtype.str, "shape": list(arrays[0].shape)}
        inner = arrays[0].shape[1:]
        for i, a in enumerate(arrays):
            if a.shape[1:] != inner:
                raise ValueError(
                    f"write_parquet: field {name!r} has shape {a.shape} in record {i} but {arrays[0].shape} in "
                    "record 0; arrays of varying shape must agree in all but their first dimension.")
        if 0 in inner:
            raise ValueError(f"write_parquet: cannot store field {name!r} of shape {arrays[0].shape}: neither a "
                             "fixed-size column (empty arrays) nor a list column (a zero-size dimension after the "
                             "first) can keep it.")
        # Native byte order: Arrow's list values are native (same values, same dtype when read back).
        dtype = dtype.newbyteorder("=")
        try:
            pa.from_numpy_dtype(dtype)
        except (pa.ArrowException, TypeError) as e:
            raise ValueError(f"write_parquet: field {name!r} varies in shape, and Parquet list columns cannot hold "
                             f"its dtype {dtype} ({e}); pad it to one shape or convert it.") from e
        return {"kind": "list", "dtype": dtype.str, "inner_shape": list(inner)}
    if variable:
        raise ValueError(f"write_parquet: variable_shape names {name!r}, but its values are not NumPy arrays "
                         "of 1 or more dimensions.")
    try:
        arrow_type = _plain_array(values, pa).type
    except (pa.ArrowException, TypeError, ValueError) as e:
        raise ValueError(f"write_parquet: cannot store field {name!r}: {e}") from e
    return {"kind": "plain", "arrow_type": arrow_type}


def _as_array(name: str, v: Any, index: int) -> np.ndarray:
    a = v if isinstance(v, np.ndarray) else np.asarray(v)
    if a.dtype.kind == "O":
        raise TypeError(f"write_parquet: field {name!r} of record {index} is {type(v).__name__} "
                        f"{v!r:.60}, not an array of numbers, bool, str or bytes.")
    return a


def _checked(name: str, v: Any, index: int, lay: dict[str, Any], sampled: int) -> np.ndarray:
    a = _as_array(name, v, index)
    dtype = np.dtype(lay["dtype"])
    if lay["kind"] == "fixed":
        shape = tuple(lay["shape"])
        if a.shape != shape:
            raise ValueError(
                f"write_parquet: field {name!r} of record {index} has shape {a.shape}, but the first {sampled} "
                f"record(s) all had shape {shape}, so the field is stored as a fixed-shape column. Pass "
                f"variable_shape=({name!r},) to store it as a list column (or a larger layout_sample).")
    else:
        inner = tuple(lay["inner_shape"])
        if a.ndim != len(inner) + 1 or a.shape[1:] != inner:
            expected = "(length" + "".join(f", {d}" for d in inner) + (")" if inner else ",)")
            raise ValueError(f"write_parquet: field {name!r} of record {index} has shape {a.shape}, but the field "
                             f"holds arrays of shape {expected}: all dimensions but the first must agree.")
    if a.dtype != dtype and not np.can_cast(a.dtype, dtype, "safe"):
        raise ValueError(f"write_parquet: field {name!r} of record {index} has dtype {a.dtype}, which does not "
                         f"cast safely to the field's dtype {dtype} (from the first {sampled} record(s)); "
                         "convert the values to one dtype.")
    return a


def _write_row_group(rows: list, start: int, sampled: int, names: list[str], layout: dict[str, dict[str, Any]],
                     writer: Any, path: str, compression: Any, pa: Any, pq: Any) -> Any:
    arrays = {}
    for k in names:
        lay = layout[k]
        values = [r[k] for r in rows]
        if lay["kind"] == "fixed":
            dtype, shape = np.dtype(lay["dtype"]), tuple(lay["shape"])
            if not all(type(v) is np.ndarray and v.shape == shape and v.dtype == dtype for v in values):
                values = [_checked(k, v, start + j, lay, sampled) for j, v in enumerate(values)]
            data = np.ascontiguousarray(np.stack(values, dtype=dtype, casting="safe"))
            arrays[k] = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(data[0].nbytes), len(values), [None, pa.py_buffer(data)])
        elif lay["kind"] == "list":
            dtype, inner = np.dtype(lay["dtype"]), tuple(lay["inner_shape"])
            if not all(type(v) is np.ndarray and v.shape[1:] == inner and v.ndim == len(inner) + 1
                       and v.dtype == dtype for v in values):
                values = [_checked(k, v, start + j, lay, sampled) for j, v in enumerate(values)]
            offsets = np.zeros(len(values) + 1, dtype=np.int64)
            np.cumsum([v.size for v in values], out=offsets[1:])
            if offsets[-1] > np.iinfo(np.int32).max:
                raise ValueError(f"write_parquet: field {k!r} holds {offsets[-1]} values in the row group of records "
                                 f"{start}..{start + len(rows) - 1}, more than a list column allows; lower row_group_size.")
            flat = np.concatenate([v.reshape(-1) for v in values], dtype=dtype, casting="safe")
            arrays[k] = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(flat))
        else:
            arrays[k] = _plain_column(k, values, lay["arrow_type"], start, pa)
    table = pa.table(arrays)
    if writer is None:
        meta = {k: {kk: vv for kk, vv in v.items() if kk != "kind"} for k, v in layout.items() if v["kind"] != "plain"}
        schema = table.schema.with_metadata({_META_KEY: json.dumps(meta).encode()})
        writer = pq.ParquetWriter(path, schema, compression=compression, use_dictionary=False, write_statistics=False)
    table = table.replace_schema_metadata(writer.schema.metadata)
    writer.write_table(table, row_group_size=len(rows))
    return writer


def _plain_array(values: list, pa: Any) -> Any:
    return pa.array([v.item() if isinstance(v, np.generic) and v.dtype.kind in "USO" else v for v in values],
                    type=_plain_type(values, pa))


def _plain_column(name: str, values: list, arrow_type: Any, start: int, pa: Any) -> Any:
    """One row group's values of a plain field, in the type the sample gave it, or a clear error."""
    try:
        arr = _plain_array(values, pa)
    except (pa.ArrowException, TypeError, ValueError):
        arr = None
    out = None if arr is None else _cast_losslessly(arr, arrow_type, pa)
    if out is not None:
        return out
    read_as = "values of mixed types" if arr is None else arr.type
    first = next((start + j for j, v in enumerate(values) if not _fits(v, arrow_type, pa)), start)
    raise ValueError(f"write_parquet: field {name!r} of record {first} does not fit the field's type {arrow_type} "
                     f"(taken from the first records; records {start}..{start + len(values) - 1} read as "
                     f"{read_as}); give the field values of one type.")


def _cast_losslessly(arr: Any, arrow_type: Any, pa: Any) -> Any:
    """``arr`` as ``arrow_type`` if no value changes (nulls; integers to integers or floats), else None."""
    t = arr.type
    if t == arrow_type:
        return arr
    if pa.types.is_null(t) or (
            pa.types.is_integer(t) and (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type))):
        try:
            return arr.cast(arrow_type, safe=True)  # checked: out-of-range or inexact values raise
        except pa.ArrowInvalid:
            return None
    return None


def _fits(v: Any, arrow_type: Any, pa: Any) -> bool:
    try:
        return _cast_losslessly(_plain_array([v], pa), arrow_type, pa) is not None
    except (pa.ArrowException, TypeError, ValueError):
        return False


def _plain_type(values: list, pa: Any) -> Any:
    """The Arrow type of NumPy scalars all of one dtype; None (pyarrow infers it) for anything else, so
    that no value is cast to another value's type (an int64 field holding 0.5, a float32 one 0.1)."""
    dtypes = {v.dtype for v in values if v is not None and isinstance(v, np.generic)}
    if len(dtypes) != 1 or any(v is not None and not isinstance(v, np.generic) for v in values):
        return None
    dtype = dtypes.pop()
    return pa.from_numpy_dtype(dtype) if dtype.kind not in "USO" else None
