"""The blocking part of a save: turn named items into a :class:`SavePlan` holding host data.

Everything a background writer needs is decided and copied here, so training may go on (and even
donate or delete its arrays) as soon as this returns: the tree structure is encoded, every leaf is
classified (a large array goes to a zarr array, a small one to the msgpack file, a Python value to
the msgpack file), leaves of one item with the same shape, dtype and sharding are stacked into one
zarr array, and the shards this process writes are copied device-to-host (all copies started
before any is awaited; on a CPU backend the host view of a device buffer is taken without a copy,
the buffer being immutable and kept alive by the view). NumPy leaves are copied (they are mutable).

    >>> import numpy as np
    >>> plan = capture({"default": {"w": np.zeros((128, 128)), "step": 3}})
    >>> [a.spec.shape for a in plan.arrays], len(plan.small)
    ([(128, 128)], 0)
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

import ember.core as ec

from . import layout
from .array_io import ArraySpec, dtype_to_zarr
from .shardings import Block, array_blocks, describe_sharding, process_count, process_index
from .tree_codec import encode_structure, path_str

__all__ = ["SavePlan", "ArrayJob", "capture", "DEFAULT_SMALL_LEAF_BYTES"]

DEFAULT_SMALL_LEAF_BYTES = 64 * 1024
_INT_RANGE = (-(2 ** 63), 2 ** 64 - 1)


@dataclasses.dataclass
class ArrayJob:
    """One zarr array of the checkpoint, and the shard files this process writes for it."""

    item: str
    name: str
    spec: ArraySpec  # its path is relative to the checkpoint folder until the writer resolves it
    attributes: dict[str, Any]
    writes: list[tuple[tuple[int, ...], list[np.ndarray]]]  # (block coords, one piece per stacked leaf)


@dataclasses.dataclass
class SavePlan:
    """What to write: the metadata document (tree structure + leaf descriptors), the small values,
    and the zarr arrays with this process's host copies of their shards."""

    items: list[str]
    tree_doc: dict[str, Any]
    small: list[tuple[dict[str, Any], np.ndarray]]  # (descriptor to fill with the bytes, value)
    arrays: list[ArrayJob]
    process_index: int
    process_count: int

    @property
    def nbytes(self) -> int:
        """Bytes of array data this process writes."""
        return sum(p.nbytes for a in self.arrays for _, pieces in a.writes for p in pieces)


@dataclasses.dataclass
class _Big:
    path: tuple
    desc: dict[str, Any]
    value: Any
    dtype: np.dtype
    shape: tuple[int, ...]
    blocks: list[Block] | None  # None: a host (NumPy) array, written whole by the primary


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def _array_name(path: tuple, used: set[str]) -> str:
    base = ".".join(str(p) for p in path) or "value"
    base = _NAME_CHARS.sub("_", base)[:200]
    if not base[0].isalnum():
        base = "x" + base
    name, n = base, 1
    while name in used:
        n += 1
        name = f"{base}-{n}"
    used.add(name)
    return name


_DTYPE_NAMES: dict[np.dtype, str | None] = {}


def _dtype_name(dtype: np.dtype) -> str | None:
    """``dtype.name`` (slow in NumPy, so cached), or None for a dtype that cannot be stored."""
    name = _DTYPE_NAMES.get(dtype, "")
    if name == "":
        try:
            dtype_to_zarr(dtype)
            name = np.dtype(dtype).name
        except TypeError:
            name = None
        _DTYPE_NAMES[dtype] = name
    return name


def _check_dtype(dtype: np.dtype, path: tuple, item: str) -> np.dtype:
    if _dtype_name(dtype) is None:
        raise TypeError(f"ember.checkpoint: leaf {path_str(path, item)} has dtype {dtype}, which cannot be stored "
                        "(numeric and bool arrays only)")
    return dtype


def _python_desc(value: Any, path: tuple, item: str) -> dict[str, Any]:
    if isinstance(value, bool) or isinstance(value, (float, str, bytes)):
        return {"k": "p", "v": value}
    if isinstance(value, int):
        if _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            return {"k": "p", "v": value}
        return {"k": "p", "big": str(value)}
    if isinstance(value, complex):
        return {"k": "p", "c": [value.real, value.imag]}
    raise TypeError(f"ember.checkpoint: leaf {path_str(path, item)} of type {type(value).__name__} cannot be stored "
                    "(arrays, Python scalars, str, bytes and None only)")


def _primary_holds(blocks: list[Block]) -> bool:
    return all(0 in b.processes for b in blocks)


def _host_value(x: Any) -> np.ndarray:
    """The full value of an ember Array on this process (assembled from its shards when it spans
    several devices)."""
    if x.is_fully_addressable:
        return np.asarray(x)
    out = np.empty(x.shape, dtype=x.dtype)
    for shard in x.addressable_shards:
        out[shard.index] = np.asarray(shard.data)
    return out


def capture(items: Mapping[str, Any], *, small_leaf_bytes: int = DEFAULT_SMALL_LEAF_BYTES,
            stack_leaves: bool = True, copy_host_arrays: bool = True, single: bool = False) -> SavePlan:
    """Encode ``items`` (name -> pytree) and copy the data this process writes to host memory."""
    pid, nproc = process_index(), process_count()
    names = [layout.check_item_name(n) for n in items]
    item_docs: dict[str, Any] = {}
    small: list[tuple[dict[str, Any], np.ndarray]] = []
    bigs_per_item: dict[str, list[_Big]] = {}
    for item in names:
        doc, leaves = encode_structure(items[item])
        descs: list[dict[str, Any]] = []
        bigs: list[_Big] = []
        for path, leaf in leaves:
            if isinstance(leaf, ec.Array):
                dtype = _check_dtype(leaf.dtype, path, item)
                shape = tuple(leaf.shape)
                size = math.prod(shape)
                sharding = leaf.sharding
                one_device = isinstance(sharding, ec.sharding.SingleDeviceSharding)
                if one_device:  # the common case, without the general block computation
                    device = next(iter(sharding.device_set))
                    blocks = [Block((0,) * len(shape), tuple((0, n) for n in shape), shape, (device.id,),
                                    (device.process_index,))] if size else []
                    shd = {"kind": "single", "chunk": list(shape), "tiles": [1] * len(shape), "num_devices": 1}
                else:
                    blocks = array_blocks(sharding, shape) if size else []
                    shd = describe_sharding(sharding, shape, blocks) if blocks else None
                desc = {"k": "a", "t": "ember", "dt": _dtype_name(dtype), "sh": list(shape), "shd": shd}
                nbytes = size * dtype.itemsize
                if size == 0 or (nbytes <= small_leaf_bytes and (nproc == 1 or _primary_holds(blocks))):
                    desc["k"] = "b"
                    value = (np.asarray(leaf) if one_device or nproc == 1 else _host_value(leaf)) if pid == 0 \
                        else np.empty(0, dtype)
                    small.append((desc, value))
                else:
                    bigs.append(_Big(path, desc, leaf, dtype, shape, blocks))
            elif isinstance(leaf, (np.ndarray, np.generic)):
                arr = np.asarray(leaf)
                dtype = _check_dtype(arr.dtype, path, item)
                kind = "npscalar" if isinstance(leaf, np.generic) else "numpy"
                desc = {"k": "b", "t": kind, "dt": _dtype_name(dtype), "sh": list(arr.shape), "shd": None}
                if arr.nbytes <= small_leaf_bytes or arr.size == 0:
                    small.append((desc, np.array(arr, copy=True) if copy_host_arrays else arr))
                else:
                    desc["k"] = "a"
                    bigs.append(_Big(path, desc, np.array(arr, copy=copy_host_arrays or None), dtype,
                                     tuple(arr.shape), None))
            else:
                desc = _python_desc(leaf, path, item)
            descs.append(desc)
        item_docs[item] = {"structure": doc, "leaves": descs}
        bigs_per_item[item] = bigs

    arrays: list[ArrayJob] = []
    ordinal = 0
    for item in names:
        used: set[str] = set()
        groups: dict[Any, list[_Big]] = {}
        for big in bigs_per_item[item]:
            if big.blocks is None:
                key: Any = ("host", big.dtype.str, big.shape, id(big))
            else:
                key = (big.dtype.str, big.shape, tuple((b.coords, b.device_ids) for b in big.blocks))
                if not stack_leaves:
                    key = key + (id(big),)
            groups.setdefault(key, []).append(big)
        for members in groups.values():
            stacked = len(members) > 1
            name = _array_name(("stacked", str(len(arrays))), used) if stacked else _array_name(members[0].path, used)
            first = members[0]
            chunk = first.blocks[0].chunk if first.blocks else first.shape
            spec = ArraySpec(Path(item) / name, first.dtype, first.shape, chunk, len(members) if stacked else None)
            for k, m in enumerate(members):
                m.desc.update(arr=name, s=k if stacked else None, n=len(members) if stacked else None)
            attributes = ({"ember_leaves": [path_str(m.path, item) for m in members]} if stacked
                          else {"ember_leaf": path_str(first.path, item)})
            arrays.append(ArrayJob(item, name, spec, attributes, _owned_pieces(members, ordinal, pid)))
            ordinal += 1

    # start every device-to-host copy before waiting for any
    for job in arrays:
        for _, pieces in job.writes:
            for p in pieces:
                if isinstance(p, ec.Array):
                    p.copy_to_host_async()
    for job in arrays:
        job.writes = [(coords, [np.asarray(p) if isinstance(p, ec.Array) else p for p in pieces])
                      for coords, pieces in job.writes]
    tree_doc = {"format": layout.FORMAT_VERSION, "single": bool(single), "items": item_docs}
    return SavePlan(names, tree_doc, small, arrays, pid, nproc)


def _owned_pieces(members: list[_Big], ordinal: int, pid: int) -> list[tuple[tuple[int, ...], list[Any]]]:
    """The blocks of a (stacked) array this process writes, with each member's shard of it: each
    block is written by exactly one of the devices holding it, the same choice on every process."""
    first = members[0]
    if first.blocks is None:  # host arrays: the primary writes them whole
        return [((0,) * len(first.shape), [m.value for m in members])] if pid == 0 else []
    out = []
    shards_by_member: list[dict[int, Any]] | None = None
    for block in first.blocks:
        owner = ordinal % len(block.device_ids)
        if block.processes[owner] != pid:
            continue
        owner_id = block.device_ids[owner]
        if shards_by_member is None:
            shards_by_member = [_shards_by_device(m.value) for m in members]
        out.append((block.coords, [s[owner_id] for s in shards_by_member]))
    return out


def _shards_by_device(x: Any) -> dict[int, Any]:
    if len(x.sharding.device_set) == 1:
        return {next(iter(x.sharding.device_set)).id: x}
    return {s.device.id: s.data for s in x.addressable_shards}
