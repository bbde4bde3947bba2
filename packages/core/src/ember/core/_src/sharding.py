"""Shardings: where the pieces of an array live.

- ``Mesh``: an n-d array of devices with named axes (``make_mesh((2, 4), ("data", "model"))``).
- ``PartitionSpec`` (``P``): for each array dimension, the mesh axis (or axes) it is split over,
  or ``None`` (not split). Mesh axes a spec does not mention replicate the array.
- ``NamedSharding(mesh, spec)``: the two together; ``SingleDeviceSharding(device)``; and
  ``GSPMDSharding`` for layouts XLA chose (outputs of programs with propagated shardings).

Every sharding can give its XLA form (``_hlo(ndim)``) and the jaxlib C++ object buffers carry
(``_cpp(ndim)``); both are cached. ``sharding_of(buffer)`` maps a buffer back to its sharding.
"""

from __future__ import annotations

import itertools
import math
import threading
from typing import Any, Sequence

import numpy as np

from . import runtime
from .runtime import shardings as rs
from .runtime import transfer

__all__ = ["Sharding", "SingleDeviceSharding", "NamedSharding", "GSPMDSharding", "Mesh", "PartitionSpec", "P",
           "make_mesh", "sharding_of", "current_mesh"]

Index = tuple[slice, ...]


class Sharding:
    """Base class: how an array is laid out over devices.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> from ember.core.sharding import Sharding
    >>> isinstance(jnp.ones(2).sharding, Sharding)
    True
    """

    @property
    def device_set(self) -> set[Any]:
        return set(self._device_assignment)

    @property
    def addressable_devices(self) -> set[Any]:
        process = self._device_assignment[0].client.process_index()
        return {d for d in self._device_assignment if d.process_index == process}

    @property
    def is_fully_addressable(self) -> bool:
        return self.addressable_devices == self.device_set

    @property
    def num_devices(self) -> int:
        return len(self._device_assignment)

    @property
    def memory_kind(self) -> str | None:
        return None

    @property
    def _device_assignment(self) -> list[Any]:
        raise NotImplementedError

    @property
    def is_fully_replicated(self) -> bool:
        """Whether every device holds the whole array."""
        raise NotImplementedError

    def is_equivalent_to(self, other: "Sharding", ndim: int) -> bool:
        """Whether ``self`` and ``other`` put the same pieces of an ``ndim``-d array on the same devices.

        >>> import ember.core as ec
        >>> from ember.core.sharding import NamedSharding, SingleDeviceSharding, P
        >>> mesh = ec.make_mesh((1,), ("x",), devices=ec.devices()[:1])
        >>> NamedSharding(mesh, P()).is_equivalent_to(SingleDeviceSharding(ec.devices()[0]), 2)
        True
        """
        if not isinstance(other, Sharding):
            raise TypeError(f"is_equivalent_to: other must be a Sharding, got {type(other).__name__}")
        if [d.id for d in self._device_assignment] != [d.id for d in other._device_assignment]:
            return False
        if self.is_fully_replicated and other.is_fully_replicated:
            return True
        return self._spec_string(ndim) == other._spec_string(ndim)

    def devices_indices_map(self, global_shape: Sequence[int]) -> dict[Any, Index]:
        """For each device, the slice of a ``global_shape`` array it holds."""
        raise NotImplementedError

    def addressable_devices_indices_map(self, global_shape: Sequence[int]) -> dict[Any, Index]:
        addressable = self.addressable_devices
        return {d: i for d, i in self.devices_indices_map(global_shape).items() if d in addressable}

    def shard_shape(self, global_shape: Sequence[int]) -> tuple[int, ...]:
        index = next(iter(self.devices_indices_map(global_shape).values()))
        return tuple(len(range(*s.indices(n))) for s, n in zip(index, global_shape))

    def _hlo(self, ndim: int) -> Any:
        raise NotImplementedError

    def _cpp(self, ndim: int) -> Any:
        raise NotImplementedError

    def _spec_string(self, ndim: int) -> str:
        return str(self._hlo(ndim))


# ----------------------------------------------------------------------------------------------
# Single device

class SingleDeviceSharding(Sharding):
    """The whole array on one device.

    >>> import ember.core as ec
    >>> ec.numpy.zeros(2).sharding.device_set == {ec.devices()[0]}
    True
    """

    def __init__(self, device: Any, *, memory_kind: str | None = None) -> None:
        self.device = device
        self._memory_kind = memory_kind

    @property
    def _device_assignment(self) -> list[Any]:
        return [self.device]

    @property
    def is_fully_replicated(self) -> bool:
        return True

    def devices_indices_map(self, global_shape: Sequence[int]) -> dict[Any, Index]:
        return {self.device: tuple(slice(None) for _ in global_shape)}

    def shard_shape(self, global_shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(global_shape)

    def _hlo(self, ndim: int) -> Any:
        return rs.replicated_hlo_sharding()

    def _cpp(self, ndim: int) -> Any:
        return transfer.single_device_sharding(self.device)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SingleDeviceSharding) and other.device == self.device

    def __hash__(self) -> int:
        return hash(("SingleDeviceSharding", self.device))

    def __repr__(self) -> str:
        return f"SingleDeviceSharding(device={self.device!r})"


# ----------------------------------------------------------------------------------------------
# Meshes and partition specs

class PartitionSpec(tuple):
    """How each dimension of an array is split over mesh axes: ``P("data", None)`` splits dim 0
    over the ``data`` axis; ``P(("x", "y"))`` splits dim 0 over both; ``P()`` replicates.

    >>> from ember.core.sharding import P, PartitionSpec
    >>> P("data", None), P() == PartitionSpec()
    (PartitionSpec('data', None), True)
    """

    def __new__(cls, *partitions: Any) -> "PartitionSpec":
        for p in partitions:
            if not (p is None or isinstance(p, str) or (isinstance(p, tuple) and all(isinstance(a, str) for a in p))):
                raise TypeError(f"PartitionSpec entries must be None, a mesh axis name or a tuple of names, got {p!r}")
        return tuple.__new__(cls, partitions)

    def __repr__(self) -> str:
        return f"PartitionSpec{tuple.__repr__(self)}"

    def axes_of(self, dim: int) -> tuple[str, ...]:
        if dim >= len(self) or self[dim] is None:
            return ()
        entry = self[dim]
        return (entry,) if isinstance(entry, str) else tuple(entry)


P = PartitionSpec


class Mesh:
    """Devices arranged in an n-d array with named axes.

    >>> import ember.core as ec
    >>> mesh = ec.sharding.Mesh(np.array(ec.devices()[:1]).reshape(1, 1), ("data", "model"))
    >>> mesh.shape
    {'data': 1, 'model': 1}
    """

    def __init__(self, devices: Any, axis_names: Sequence[str]) -> None:
        devices = np.asarray(devices, dtype=object)
        axis_names = tuple(axis_names)
        if devices.ndim != len(axis_names):
            raise ValueError(f"Mesh: {len(axis_names)} axis names {axis_names} for a device array of rank "
                             f"{devices.ndim} (shape {devices.shape})")
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"Mesh: axis names must be distinct, got {axis_names}")
        ids = [d.id for d in devices.flat]
        if len(set(ids)) != len(ids):
            raise ValueError("Mesh: a device appears more than once")
        self.devices = devices
        self.axis_names = axis_names
        self._ids = tuple(ids)

    @property
    def shape(self) -> dict[str, int]:
        return dict(zip(self.axis_names, self.devices.shape))

    @property
    def axis_sizes(self) -> tuple[int, ...]:
        return tuple(self.devices.shape)

    @property
    def size(self) -> int:
        return int(self.devices.size)

    @property
    def device_ids(self) -> np.ndarray:
        return np.array(self._ids).reshape(self.devices.shape)

    @property
    def local_devices(self) -> list[Any]:
        process = self.devices.flat[0].client.process_index()
        return [d for d in self.devices.flat if d.process_index == process]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mesh) and other._ids == self._ids and other.axis_names == self.axis_names \
            and other.devices.shape == self.devices.shape

    def __hash__(self) -> int:
        return hash((self._ids, self.axis_names, self.devices.shape))

    def __repr__(self) -> str:
        return f"Mesh({', '.join(f'{k}={v}' for k, v in self.shape.items())})"

    def __enter__(self) -> "Mesh":
        _mesh_stack.stack.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _mesh_stack.stack.pop()


class _MeshStack(threading.local):
    def __init__(self) -> None:
        self.stack: list[Mesh] = []


_mesh_stack = _MeshStack()


def current_mesh() -> Mesh | None:
    """The mesh of the innermost ``with mesh:`` block, if any."""
    return _mesh_stack.stack[-1] if _mesh_stack.stack else None


def make_mesh(axis_shapes: Sequence[int], axis_names: Sequence[str], *, devices: Sequence[Any] | None = None) -> Mesh:
    """A mesh of ``axis_shapes`` over ``devices`` (default: all devices, in order).

    >>> import ember.core as ec
    >>> mesh = ec.make_mesh((ec.device_count(), 1), ("data", "model"))
    >>> mesh.axis_names, mesh.shape["model"]
    (('data', 'model'), 1)
    """
    axis_shapes = tuple(int(s) for s in axis_shapes)
    devices = list(devices) if devices is not None else list(runtime.default_backend().devices)
    needed = math.prod(axis_shapes)
    if needed != len(devices):
        raise ValueError(f"make_mesh: a mesh of shape {axis_shapes} needs {needed} devices, got {len(devices)}; "
                         "pass devices=... (e.g. ec.devices()[:n]) or set EMBER_NUM_CPU_DEVICES")
    return Mesh(np.array(devices, dtype=object).reshape(axis_shapes), axis_names)


# ----------------------------------------------------------------------------------------------
# Tiled shardings (named and XLA-chosen) share the tile arithmetic

class _Tiled(Sharding):
    """A sharding given by a tile grid: ``tile_dims`` (per array dim, + a trailing replication
    dim when ``replicate_last``) and, per tile position, the partition number holding it."""

    _devices: list[Any]

    def _tiles(self, ndim: int) -> tuple[list[int], np.ndarray, bool]:
        raise NotImplementedError

    @property
    def _device_assignment(self) -> list[Any]:
        return self._devices

    def devices_indices_map(self, global_shape: Sequence[int]) -> dict[Any, Index]:
        global_shape = tuple(global_shape)
        tile_dims, grid, replicate_last = self._tiles(len(global_shape))
        array_tiles = tile_dims[:len(global_shape)]
        for d, (n, t) in enumerate(zip(global_shape, array_tiles)):
            if n % t:
                raise ValueError(f"{self!r}: dimension {d} of size {n} is not divisible by the {t} shards it is "
                                 f"split into (array shape {global_shape})")
        result: dict[Any, Index] = {}
        for coords in np.ndindex(*grid.shape):
            partition = int(grid[coords])
            index = tuple(slice(c * (n // t), (c + 1) * (n // t)) if t > 1 else slice(None)
                          for c, n, t in zip(coords, global_shape, array_tiles))
            result[self._devices[partition]] = index
        return result


class NamedSharding(_Tiled):
    """An array split over a mesh as a PartitionSpec says.

    >>> import ember.core as ec
    >>> from ember.core.sharding import NamedSharding, P
    >>> mesh = ec.make_mesh((ec.device_count(),), ("data",))
    >>> s = NamedSharding(mesh, P("data"))          # dim 0 split over the "data" axis
    >>> s.shard_shape((8 * ec.device_count(), 2))    # each device holds an (8, 2) block
    (8, 2)
    """

    def __init__(self, mesh: Mesh, spec: PartitionSpec | Sequence[Any] | None = None, *,
                 memory_kind: str | None = None) -> None:
        if spec is None:
            spec = PartitionSpec()
        if not isinstance(mesh, Mesh):
            raise TypeError(f"NamedSharding: mesh must be a Mesh, got {type(mesh).__name__}")
        spec = spec if isinstance(spec, PartitionSpec) else PartitionSpec(*spec)
        used: list[str] = []
        for entry in spec:
            for name in ((entry,) if isinstance(entry, str) else (entry or ())):
                if name not in mesh.axis_names:
                    raise ValueError(f"NamedSharding: spec {spec} names axis {name!r}, which is not an axis of "
                                     f"{mesh} (axes: {mesh.axis_names})")
                if name in used:
                    raise ValueError(f"NamedSharding: spec {spec} uses mesh axis {name!r} more than once")
                used.append(name)
        self.mesh = mesh
        self.spec = spec
        self._memory_kind = memory_kind
        self._devices = list(mesh.devices.flat)
        self._cache: dict[int, Any] = {}

    def _tiles(self, ndim: int) -> tuple[list[int], np.ndarray, bool]:
        ndim = max(ndim, len(self.spec))
        mesh = self.mesh
        dims_axes = [self.spec.axes_of(d) for d in range(ndim)]
        used = [a for axes in dims_axes for a in axes]
        unused = [a for a in mesh.axis_names if a not in used]
        tile_dims = [math.prod(mesh.shape[a] for a in axes) for axes in dims_axes]
        replication = math.prod(mesh.shape[a] for a in unused)
        order = [mesh.axis_names.index(a) for a in used + unused]
        positions = np.arange(mesh.size).reshape(mesh.axis_sizes).transpose(order)
        replicate_last = replication > 1
        full_dims = tile_dims + ([replication] if replicate_last else [])
        return full_dims, positions.reshape(full_dims if full_dims else ()), replicate_last

    def _hlo(self, ndim: int) -> Any:
        key = ("hlo", ndim)
        if key not in self._cache:
            if len(self.spec) > ndim:
                raise ValueError(f"NamedSharding: spec {self.spec} has {len(self.spec)} entries, but the array has "
                                 f"only {ndim} dimensions")
            tile_dims, grid, replicate_last = self._tiles(ndim)
            self._cache[key] = rs.tiled_hlo_sharding(tile_dims, [int(p) for p in grid.flat], replicate_last)
        return self._cache[key]

    def _cpp(self, ndim: int) -> Any:
        key = ("cpp", ndim)
        if key not in self._cache:
            cpp = rs.cpp_sharding(self._devices, self._hlo(ndim))
            _remember(cpp, self)
            self._cache[key] = cpp
        return self._cache[key]

    @property
    def is_fully_replicated(self) -> bool:
        return all(not self.spec.axes_of(d) for d in range(len(self.spec)))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NamedSharding) and other.mesh == self.mesh and _trim(other.spec) == _trim(self.spec)

    def __hash__(self) -> int:
        return hash((self.mesh, _trim(self.spec)))

    def __repr__(self) -> str:
        return f"NamedSharding(mesh={self.mesh!r}, spec={self.spec!r})"


def _trim(spec: PartitionSpec) -> tuple:
    entries = tuple(spec)
    while entries and entries[-1] is None:
        entries = entries[:-1]
    return entries


class GSPMDSharding(_Tiled):
    """A layout XLA chose (for outputs whose sharding was propagated).

    >>> from ember.core.sharding import GSPMDSharding, Sharding
    >>> issubclass(GSPMDSharding, Sharding)   # you meet it as an output's ``.sharding``; build NamedShardings
    True
    """

    def __init__(self, devices: Sequence[Any], hlo_sharding: Any) -> None:
        self._devices = list(devices)
        self._hlo_sharding = hlo_sharding
        self._cpp_obj: Any = None

    def _tiles(self, ndim: int) -> tuple[list[int], np.ndarray, bool]:
        hlo = self._hlo_sharding
        if hlo.is_replicated():
            return [1] * ndim + [len(self._devices)], np.arange(len(self._devices)).reshape(
                [1] * ndim + [len(self._devices)]), True
        dims = list(hlo.tile_assignment_dimensions())
        devices = np.array(hlo.tile_assignment_devices()).reshape(dims)
        replicate_last = len(dims) > ndim
        if len(dims) > ndim + 1:  # subgroups other than replication: fold them into replication
            devices = devices.reshape(dims[:ndim] + [-1])
            dims = dims[:ndim] + [devices.shape[-1]]
        return dims, devices, replicate_last

    @property
    def is_fully_replicated(self) -> bool:
        return bool(self._hlo_sharding.is_replicated())

    def _hlo(self, ndim: int) -> Any:
        return self._hlo_sharding

    def _cpp(self, ndim: int) -> Any:
        if self._cpp_obj is None:
            self._cpp_obj = rs.cpp_sharding(self._devices, self._hlo_sharding)
            _remember(self._cpp_obj, self)
        return self._cpp_obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GSPMDSharding) and [d.id for d in other._devices] == [d.id for d in self._devices] \
            and str(other._hlo_sharding) == str(self._hlo_sharding)

    def __hash__(self) -> int:
        return hash((tuple(d.id for d in self._devices), str(self._hlo_sharding)))

    def __repr__(self) -> str:
        return f"GSPMDSharding({self._hlo_sharding}, {len(self._devices)} devices)"


# ----------------------------------------------------------------------------------------------
# From a layout XLA chose back to a NamedSharding

def named_sharding_for(hlo: Any, ndim: int, mesh: Mesh) -> NamedSharding | None:
    """The NamedSharding over ``mesh`` whose XLA layout is ``hlo`` for an ``ndim``-d array, if any.

    Mesh axes of size 1 are left out of the spec. Each other axis either splits one array dimension
    or replicates; the search keeps only assignments whose per-dimension split counts match
    ``hlo``'s tiles, then tries the orders of axes that share a dimension.
    """
    if hlo.is_replicated():
        return NamedSharding(mesh, PartitionSpec())
    tiles = list(hlo.tile_assignment_dimensions())[:ndim]
    if len(tiles) < ndim:
        return None
    axes = [(name, size) for name, size in zip(mesh.axis_names, mesh.axis_sizes) if size > 1]
    text = str(hlo)

    def assignments(i: int, left: list[int], chosen: list[list[str]]):
        if i == len(axes):
            if all(n == 1 for n in left):
                yield [list(c) for c in chosen]
            return
        name, size = axes[i]
        yield from assignments(i + 1, left, chosen)  # this axis replicates
        for d in range(ndim):
            if left[d] % size == 0:
                left[d] //= size
                chosen[d].append(name)
                yield from assignments(i + 1, left, chosen)
                chosen[d].pop()
                left[d] *= size

    for per_dim in assignments(0, list(tiles), [[] for _ in range(ndim)]):
        for ordered in itertools.product(*[itertools.permutations(a) for a in per_dim]):
            entries = [None if not a else a[0] if len(a) == 1 else tuple(a) for a in ordered]
            while entries and entries[-1] is None:
                entries.pop()
            candidate = NamedSharding(mesh, PartitionSpec(*entries))
            if candidate._spec_string(ndim) == text:
                return candidate
    return None


# ----------------------------------------------------------------------------------------------
# From a device buffer back to its sharding

_by_cpp: dict[int, tuple[Any, Sharding]] = {}


def _remember(cpp: Any, sharding: Sharding) -> None:
    _by_cpp[id(cpp)] = (cpp, sharding)  # the tuple keeps cpp alive, so its id stays unique


def sharding_for_cpp(cpp: Any) -> Sharding:
    """The ember sharding a jaxlib C++ sharding object stands for."""
    found = _by_cpp.get(id(cpp))
    if found is not None:
        return found[1]
    if type(cpp) is runtime.SingleDeviceSharding:
        return SingleDeviceSharding(cpp._device)
    sharding = GSPMDSharding(list(cpp._devices), cpp._hlo_sharding)
    _remember(cpp, sharding)
    return sharding


def sharding_of(buffer: Any) -> Sharding:
    cpp = buffer._sharding
    found = _by_cpp.get(id(cpp))
    if found is not None:
        return found[1]
    if type(cpp) is runtime.SingleDeviceSharding:
        return SingleDeviceSharding(cpp._device)
    # a buffer made elsewhere (e.g. a shard of a sharded array): describe it as XLA does
    sharding = GSPMDSharding(list(cpp._devices), cpp._hlo_sharding)
    _remember(cpp, sharding)
    return sharding


def to_sharding(x: Any, what: str = "sharding") -> Sharding:
    """Accept a Sharding, a Device, or a PartitionSpec (with a current mesh)."""
    if isinstance(x, Sharding):
        return x
    if isinstance(x, runtime.Device):
        return SingleDeviceSharding(x)
    if isinstance(x, PartitionSpec):
        mesh = current_mesh()
        if mesh is None:
            raise ValueError(f"{what}: a bare PartitionSpec {x} needs a mesh; use NamedSharding(mesh, spec) or "
                             "call inside `with mesh:`")
        return NamedSharding(mesh, x)
    raise TypeError(f"{what}: expected a Sharding, a Device or a PartitionSpec, got {type(x).__name__}")

