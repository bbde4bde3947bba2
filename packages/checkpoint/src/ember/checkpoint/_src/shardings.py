"""What a checkpoint records of an array's sharding, and how it is rebuilt on restore.

Saving needs, for every array, its *blocks* (the distinct shard regions), which devices hold each
block, and which one of them writes it (exactly one replica per block, the same choice on every
process). Restoring needs nothing but the recorded description: a NamedSharding is rebuilt on a
mesh of the same shape over the current devices when there are as many; otherwise the array goes
to the default device (or is replicated when several processes must share it).

    >>> import ember.core as ec
    >>> x = ec.device_put(__import__("numpy").zeros((4, 2)))
    >>> blocks = array_blocks(x.sharding, x.shape)
    >>> [(b.coords, b.chunk) for b in blocks]
    [((0, 0), (4, 2))]
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import ember.core as ec

__all__ = ["Block", "array_blocks", "describe_sharding", "rebuild_sharding", "region_of", "process_count",
           "process_index"]

Region = tuple[tuple[int, int], ...]


def process_index() -> int:
    """This process's index (0 without ``ec.distributed``; never creates devices then)."""
    return ec.process_index() if ec.distributed.is_initialized() else 0


def process_count() -> int:
    return ec.process_count() if ec.distributed.is_initialized() else 1


@dataclasses.dataclass(frozen=True)
class Block:
    """One distinct shard region of an array: its chunk coordinates, region, chunk shape and the
    ids of the devices holding it (in the sharding's device order), with their processes."""

    coords: tuple[int, ...]
    region: Region
    chunk: tuple[int, ...]
    device_ids: tuple[int, ...]
    processes: tuple[int, ...]


def region_of(index: Sequence[slice], shape: Sequence[int]) -> Region:
    """``(start, stop)`` per dimension of a tuple of slices into an array of ``shape``."""
    out = []
    for s, n in zip(index, shape):
        start, stop, step = s.indices(n)
        if step != 1:
            raise ValueError(f"strided shard index {index}")
        out.append((start, max(start, stop)))
    return tuple(out)


def array_blocks(sharding: Any, shape: Sequence[int]) -> list[Block]:
    """The distinct shard regions of an array of ``shape`` placed by ``sharding`` (global view:
    the same list on every process), in chunk-coordinate order."""
    shape = tuple(shape)
    by_region: dict[Region, list[Any]] = {}
    for device, index in sharding.devices_indices_map(shape).items():
        by_region.setdefault(region_of(index, shape), []).append(device)
    chunk = tuple(stop - start for start, stop in next(iter(by_region)))
    blocks = []
    for region, devices in by_region.items():
        size = tuple(stop - start for start, stop in region)
        if size != chunk:
            raise ValueError(f"uneven shards ({size} and {chunk}) of an array of shape {shape}")
        coords = tuple(start // c if c else 0 for (start, _), c in zip(region, chunk))
        blocks.append(Block(coords, region, chunk, tuple(d.id for d in devices),
                            tuple(d.process_index for d in devices)))
    blocks.sort(key=lambda b: b.coords)
    return blocks


def _spec_to_doc(spec: Any) -> list:
    out = []
    for entry in spec:
        if entry is None or isinstance(entry, str):
            out.append(entry)
        else:
            out.append(list(entry))
    return out


def describe_sharding(sharding: Any, shape: Sequence[int], blocks: Sequence[Block]) -> dict[str, Any]:
    """A plain-data description of ``sharding`` for the checkpoint metadata."""
    doc: dict[str, Any] = {"chunk": list(blocks[0].chunk),
                           "tiles": [len({b.coords[d] for b in blocks}) for d in range(len(shape))],
                           "num_devices": len(sharding.device_set)}
    if isinstance(sharding, ec.sharding.NamedSharding):
        mesh = sharding.mesh
        doc.update(kind="named", axis_names=list(mesh.axis_names), axis_sizes=list(mesh.axis_sizes),
                   spec=_spec_to_doc(sharding.spec))
    elif isinstance(sharding, ec.sharding.SingleDeviceSharding) or len(sharding.device_set) == 1:
        doc.update(kind="single")
    else:
        doc.update(kind="tiled")
    return doc


def _spec_from_doc(doc: Any) -> Any:
    entries = []
    for e in doc:
        if e is None or isinstance(e, str):
            entries.append(e)
        elif isinstance(e, list) and all(isinstance(a, str) for a in e):
            entries.append(tuple(e))
        else:
            raise ValueError(f"malformed partition spec {doc!r}")
    return ec.sharding.P(*entries)


def rebuild_sharding(doc: dict[str, Any] | None, shape: Sequence[int]) -> Any | None:
    """The sharding to restore an array with when no target says where: the saved layout on the
    current devices when there are enough of them, else None (= the default device), or a fully
    replicated sharding when several processes share the job."""
    n_devices = ec.device_count()
    if doc and doc.get("kind") == "named" and doc.get("num_devices") == n_devices:
        try:
            sizes = [int(s) for s in doc["axis_sizes"]]
            names = [str(a) for a in doc["axis_names"]]
            if _product(sizes) == n_devices:
                mesh = ec.make_mesh(tuple(sizes), tuple(names))
                return ec.sharding.NamedSharding(mesh, _spec_from_doc(doc["spec"]))
        except Exception:  # fall through to a synthesized layout
            pass
    if doc and doc.get("kind") in ("named", "tiled") and doc.get("num_devices") == n_devices:
        tiles = [int(t) for t in doc.get("tiles", [])]
        if len(tiles) == len(shape) and n_devices % max(1, _product(tiles)) == 0:
            replicas = n_devices // max(1, _product(tiles))
            names = tuple(f"d{i}" for i in range(len(tiles))) + ("replica",)
            mesh = ec.make_mesh(tuple(tiles) + (replicas,), names)
            return ec.sharding.NamedSharding(mesh, ec.sharding.P(*names[:-1]))
    if process_count() > 1:
        mesh = ec.make_mesh((n_devices,), ("all",))
        return ec.sharding.NamedSharding(mesh, ec.sharding.P())
    return None


def _product(xs: Sequence[int]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out
