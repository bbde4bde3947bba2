"""Reading a checkpoint back: into its saved structure, into a target tree, or as NumPy.

A target tree decides, leaf by leaf, what comes back: a ``ShapeDtypeStruct`` (with or without a
sharding) or an ember ``Array`` gives an ember Array with that dtype and placement; a NumPy array
gives NumPy; a Python scalar gives a Python value. Only the leaves in the target are read (a
sub-tree restores part of a checkpoint), and each process reads only the chunks its devices need.
Without a target the saved structure comes back; arrays are placed as they were saved when the
current devices allow it (the layout is rebuilt from the metadata), else on the default device.

    >>> import numpy as np, tempfile, pathlib
    >>> from ember.checkpoint._src.capture import capture
    >>> from ember.checkpoint._src.writer import write_plan
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "c"
    >>> write_plan(capture({"default": {"w": np.arange(4.0), "n": 3}}, single=True), d)
    >>> restore_checkpoint(d, as_numpy=True)
    {'w': array([0., 1., 2., 3.]), 'n': 3}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

import ember.core as ec

from . import atomic, layout
from .array_io import ArraySpec, ShardReader, dtype_from_name, dtype_to_zarr
from .errors import CheckpointCorruptionError, CheckpointNotFoundError, TreeMismatchError
from .shardings import rebuild_sharding, region_of
from .tree_codec import decode_structure, key_name, leaf_paths, path_str, subtree_at, unpackb

__all__ = ["CheckpointReader", "restore_checkpoint", "read_metadata"]


def read_metadata(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The commit marker and the tree document of the committed checkpoint at ``path``."""
    path = Path(path)
    if not layout.is_committed(path):
        what = "is not a committed checkpoint (no commit marker)" if path.exists() else "does not exist"
        raise CheckpointNotFoundError(f"{path} {what}")
    marker = atomic.read_commit_marker(path)
    tree_path = path / layout.TREE_FILE
    try:
        data = tree_path.read_bytes()
    except FileNotFoundError:
        raise CheckpointCorruptionError(f"checkpoint corrupted: {tree_path} is missing") from None
    if "tree_size" in marker and (len(data) != marker["tree_size"] or atomic.crc32c(data) != marker["tree_crc32c"]):
        raise CheckpointCorruptionError(f"checkpoint corrupted: {tree_path} does not match the checksum in its "
                                        f"commit marker ({len(data)} bytes, expected {marker['tree_size']})")
    try:
        doc = unpackb(data)
    except Exception as e:
        raise CheckpointCorruptionError(f"checkpoint corrupted: {tree_path} is not valid msgpack ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), dict):
        raise CheckpointCorruptionError(f"checkpoint corrupted: {tree_path} is malformed")
    if doc.get("format", 0) > layout.FORMAT_VERSION:
        raise CheckpointCorruptionError(f"{path} was written in format {doc['format']}, newer than this "
                                        f"ember.checkpoint reads ({layout.FORMAT_VERSION}); upgrade it")
    return marker, doc


@dataclasses.dataclass
class _Want:
    """What one restored leaf should be."""

    kind: str  # "ember", "numpy", "python"
    dtype: np.dtype | None = None
    sharding: Any = None
    shape: tuple[int, ...] | None = None
    pytype: type | None = None
    scalar: bool = False  # NumPy scalar (np.float32(...)) rather than 0-d array


def _want_from_target(leaf: Any, where: str) -> _Want:
    if isinstance(leaf, ec.ShapeDtypeStruct):  # no sharding: the saved layout, when the devices allow
        return _Want("ember", np.dtype(leaf.dtype), leaf.sharding or "saved", tuple(leaf.shape))
    if isinstance(leaf, ec.Array):
        return _Want("ember", np.dtype(leaf.dtype), leaf.sharding, tuple(leaf.shape))
    if isinstance(leaf, np.ndarray):
        return _Want("numpy", leaf.dtype, None, tuple(leaf.shape))
    if isinstance(leaf, np.generic):
        return _Want("numpy", leaf.dtype, None, (), scalar=True)
    if isinstance(leaf, (bool, int, float, complex, str, bytes)):
        return _Want("python", pytype=type(leaf))
    raise TreeMismatchError(f"restore target leaf {where} is a {type(leaf).__name__}; use a ShapeDtypeStruct, an "
                            "Array, a NumPy array or a Python scalar (or None to skip)")


def _want_from_desc(desc: dict[str, Any], as_numpy: bool) -> _Want:
    kind = desc.get("k")
    if kind == "p":
        return _Want("python")
    t = desc.get("t")
    if t == "npscalar":
        return _Want("numpy", scalar=True)
    if t == "numpy" or as_numpy:
        return _Want("numpy")
    return _Want("ember", sharding="saved")


class CheckpointReader:
    """An open committed checkpoint: its metadata, and readers of its zarr arrays."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.marker, self.doc = read_metadata(self.path)
        self._readers: dict[tuple[str, str], ShardReader] = {}

    @property
    def items(self) -> list[str]:
        return list(self.doc["items"])

    @property
    def single(self) -> bool:
        return bool(self.doc.get("single"))

    def item_doc(self, item: str) -> dict[str, Any]:
        try:
            doc = self.doc["items"][item]
        except KeyError:
            raise KeyError(f"{self.path} has no item {item!r} (items: {', '.join(self.items)})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("leaves"), list):
            raise CheckpointCorruptionError(f"checkpoint corrupted: item {item!r} metadata is malformed")
        return doc

    def reader(self, item: str, desc: dict[str, Any], where: str) -> ShardReader:
        name = layout.check_node_name(desc.get("arr"))
        key = (item, name)
        r = self._readers.get(key)
        if r is None:
            dtype, shape = _dtype_shape(desc, where)
            shd = desc.get("shd")
            chunk = tuple(int(c) for c in shd["chunk"]) if isinstance(shd, dict) and "chunk" in shd else shape
            stack = desc.get("n")
            if len(chunk) != len(shape) or any(c <= 0 or n % c for c, n in zip(chunk, shape)):
                raise CheckpointCorruptionError(f"checkpoint corrupted: chunk {chunk} of {where} does not tile {shape}")
            if stack is not None and (not isinstance(stack, int) or stack < 1):
                raise CheckpointCorruptionError(f"checkpoint corrupted: bad stack size for {where}")
            path = layout.safe_join(self.path, layout.check_item_name(item), name)
            r = self._readers[key] = ShardReader(ArraySpec(path, dtype, shape, chunk, stack), what=f"leaf {where}")
        return r


def _dtype_shape(desc: dict[str, Any], where: str) -> tuple[np.dtype, tuple[int, ...]]:
    shape = desc.get("sh")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise CheckpointCorruptionError(f"checkpoint corrupted: bad shape for leaf {where}")
    return dtype_from_name(desc.get("dt")), tuple(shape)


def _small_value(desc: dict[str, Any], where: str) -> np.ndarray:
    dtype, shape = _dtype_shape(desc, where)
    data = desc.get("data")
    _, stored = dtype_to_zarr(dtype)
    if not isinstance(data, bytes) or len(data) != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
        raise CheckpointCorruptionError(f"checkpoint corrupted: the value of leaf {where} has the wrong size")
    return np.frombuffer(data, dtype=stored).view(dtype).reshape(shape)


def _python_value(desc: dict[str, Any], where: str) -> Any:
    if "v" in desc:
        return desc["v"]
    if "big" in desc and isinstance(desc["big"], str) and len(desc["big"]) < 10000:
        return int(desc["big"])
    if "c" in desc and isinstance(desc["c"], list) and len(desc["c"]) == 2:
        return complex(*desc["c"])
    raise CheckpointCorruptionError(f"checkpoint corrupted: malformed value of leaf {where}")


@dataclasses.dataclass
class _Job:
    item: str
    desc: dict[str, Any]
    want: _Want
    where: str
    regions: list[tuple] = dataclasses.field(default_factory=list)
    sharding: Any = None
    shape: tuple[int, ...] = ()
    saved_dtype: np.dtype | None = None


def _plan_item(ckpt: CheckpointReader, item: str, target: Any, as_numpy: bool) -> tuple[Any, list[_Job], Any]:
    """(how to rebuild the item, one job per leaf to restore, structure document)."""
    doc = ckpt.item_doc(item)
    descs = doc["leaves"]
    paths = leaf_paths(doc["structure"])
    if len(paths) != len(descs):
        raise CheckpointCorruptionError(f"checkpoint corrupted: item {item!r} has {len(descs)} leaf descriptors "
                                        f"for {len(paths)} leaves")
    if target is None:
        jobs = [_Job(item, descs[i], _want_from_desc(descs[i], as_numpy), path_str(paths[i], item))
                for i in range(len(descs))]
        return None, jobs, doc["structure"]
    by_path = {tuple(p): i for i, p in paths.items()}
    target_leaves, treedef = ec.tree.flatten_with_path(
        target, is_leaf=lambda x: isinstance(x, (ec.ShapeDtypeStruct, ec.Array, np.ndarray, np.generic)))
    jobs = []
    for keypath, leaf in target_leaves:
        path = tuple(key_name(k) for k in keypath)
        where = path_str(path, item)
        i = by_path.get(path)
        if i is None:
            node = subtree_at(doc["structure"], path)
            if node is not None:
                raise TreeMismatchError(f"restore target leaf {where} is a sub-tree in the checkpoint {ckpt.path}, "
                                        "not a leaf; give the target that sub-tree's structure")
            near = ", ".join(path_str(p, item) for p in list(paths.values())[:5])
            raise TreeMismatchError(f"restore target leaf {where} is not in the checkpoint {ckpt.path} "
                                    f"(its leaves include: {near or 'none'})")
        want = _want_from_target(leaf, where)
        if as_numpy and want.kind == "ember":
            want = _Want("numpy", want.dtype, None, want.shape)
        jobs.append(_Job(item, descs[i], want, where))
    return treedef, jobs, None


def _check_shape(job: _Job, shape: tuple[int, ...], dtype: np.dtype | None) -> None:
    want = job.want.shape
    if want is not None and tuple(want) != tuple(shape):
        raise TreeMismatchError(f"restore target leaf {job.where}: the checkpoint holds shape {tuple(shape)} "
                                f"{'' if dtype is None else dtype}, the target asks for shape {tuple(want)}")


def _placement(job: _Job) -> Any:
    if job.want.sharding == "saved":
        return rebuild_sharding(job.desc.get("shd"), job.shape)
    return job.want.sharding


def restore_checkpoint(path: Path | str, target: Any = None, *, items: Sequence[str] | Mapping[str, Any] | None = None,
                       as_numpy: bool = False, pool: Any = None) -> Any:
    """Restore a committed checkpoint.

    ``items``: None (all), names, or name -> target (None: saved structure). For a checkpoint
    written by ``save(path, tree)``, ``target`` applies to its one tree and the tree is returned;
    otherwise a dict of items is returned (``target`` may then be a dict of item targets)."""
    ckpt = CheckpointReader(path)
    if ckpt.single and items is None:
        return restore_items(ckpt, {ckpt.items[0]: target}, as_numpy, pool)[ckpt.items[0]]
    if items is None:
        wanted: dict[str, Any] = {name: None for name in ckpt.items}
        if target is not None:
            if not isinstance(target, Mapping):
                raise TreeMismatchError(f"{ckpt.path} holds items {ckpt.items}: give a target per item as a dict")
            wanted = dict(target)
    elif isinstance(items, Mapping):
        wanted = dict(items)
    else:
        wanted = {name: None for name in items}
    return restore_items(ckpt, wanted, as_numpy, pool)


def restore_items(ckpt: CheckpointReader, wanted: Mapping[str, Any], as_numpy: bool, pool: Any) -> dict[str, Any]:
    plans = {item: _plan_item(ckpt, item, target, as_numpy) for item, target in wanted.items()}
    # decide every leaf's regions, then read all chunks in parallel
    tasks: dict[tuple, Any] = {}
    for _, jobs, _ in plans.values():
        for job in jobs:
            if job.desc.get("k") == "p":
                continue
            dtype, shape = _dtype_shape(job.desc, job.where)
            job.shape, job.saved_dtype = shape, dtype
            _check_shape(job, shape, dtype)
            if job.want.kind == "ember":
                job.sharding = _placement(job)
            if job.desc.get("k") != "a":
                continue
            reader = ckpt.reader(job.item, job.desc, job.where)
            if job.want.kind == "ember" and job.sharding is not None:
                index_map = job.sharding.addressable_devices_indices_map(shape)
                job.regions = sorted({region_of(ix, shape) for ix in index_map.values()})
            else:
                job.regions = [tuple((0, n) for n in shape)]
            stack = job.desc.get("s")
            for region in job.regions:
                key = (id(reader), stack, region)
                if key not in tasks:
                    tasks[key] = (reader, stack, region)
    if pool is None:
        from .writer import io_pool
        pool = io_pool()
    futures = {key: pool.submit(r.read_region, s, region) for key, (r, s, region) in tasks.items()}
    results = {key: f.result() for key, f in futures.items()}
    out: dict[str, Any] = {}
    for item, (treedef, jobs, structure) in plans.items():
        values = [_finish(ckpt, job, results) for job in jobs]
        out[item] = decode_structure(structure, values) if treedef is None else ec.tree.unflatten(treedef, values)
    return out


def _finish(ckpt: CheckpointReader, job: _Job, results: dict[tuple, Any]) -> Any:
    kind = job.desc.get("k")
    want = job.want
    if kind == "p":
        value = _python_value(job.desc, job.where)
        if want.kind == "python":
            return want.pytype(value) if want.pytype not in (None, type(value)) else value
        host = np.asarray(value)
        _check_shape(job, host.shape, host.dtype)
        return _convert_host(host, job)
    if kind == "b":
        host = _small_value(job.desc, job.where)
        return _convert_host(host, job)
    if kind != "a":
        raise CheckpointCorruptionError(f"checkpoint corrupted: unknown leaf kind {kind!r} at {job.where}")
    reader = ckpt.reader(job.item, job.desc, job.where)
    stack = job.desc.get("s")
    if want.kind == "ember" and job.sharding is not None:
        dtype = want.dtype or job.saved_dtype
        cache = {r: results[(id(reader), stack, r)] for r in job.regions}

        def callback(index: tuple) -> np.ndarray:
            return np.asarray(cache[region_of(index, job.shape)], dtype=dtype)

        return ec.make_array_from_callback(job.shape, job.sharding, callback, dtype=dtype)
    host = results[(id(reader), stack, job.regions[0])]
    return _convert_host(host, job)


def _convert_host(host: np.ndarray, job: _Job) -> Any:
    want = job.want
    if want.kind == "python":
        if host.size != 1:
            raise TreeMismatchError(f"restore target leaf {job.where} is a Python {want.pytype.__name__}, but the "
                                    f"checkpoint holds an array of shape {host.shape}")
        return want.pytype(host.reshape(()).item())
    dtype = want.dtype or host.dtype
    if want.kind == "numpy":
        value = np.array(host, dtype=dtype, copy=True)
        return value[()] if want.scalar else value
    if job.sharding is None:
        return ec.device_put(np.asarray(host, dtype=dtype))
    return ec.make_array_from_callback(host.shape, job.sharding, lambda ix: np.asarray(host[ix], dtype=dtype),
                                       dtype=dtype)

