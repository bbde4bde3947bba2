"""Several processes, one program: ``ec.distributed.initialize`` and multi-process arrays.

    # on each of N processes (process_id 0 also hosts the coordinator):
    ec.distributed.initialize("10.0.0.1:1234", num_processes=N, process_id=i)
    mesh = ec.make_mesh((ec.device_count(),), ("data",))    # global devices
    batch = ec.make_array_from_process_local_data(NamedSharding(mesh, P("data")), local_batch)

Must be called before any other ember.core computation (the CPU client is created over all
processes' devices, with gloo collectives between processes).
"""

from __future__ import annotations

import atexit
import threading
from typing import Any, Callable, Sequence

import numpy as np

from . import dtypes
from .array import Array, from_buffer
from .core import ShapedArray, canonicalize_shape
from .runtime import backends, transfer
from .runtime import distributed as rd

__all__ = ["initialize", "shutdown", "is_initialized", "make_array_from_process_local_data",
           "make_array_from_callback", "make_array_from_single_device_arrays", "barrier"]

_state: dict[str, Any] = {}
_lock = threading.Lock()


def initialize(coordinator_address: str, num_processes: int, process_id: int,
               local_device_ids: Sequence[int] | None = None, *, num_local_devices: int | None = None,
               heartbeat_timeout_seconds: int = 10, initialization_timeout: int = 60,
               shutdown_timeout_seconds: int = 5) -> None:
    """Join a job of ``num_processes`` processes coordinated at ``coordinator_address`` ("host:port").

    ``num_local_devices`` CPU devices per process (default: ``config.num_cpu_devices`` or 1).
    A peer that stops answering for ``heartbeat_timeout_seconds`` fails the job.

    >>> import ember.core as ec
    >>> # in each of 2 processes (process_id 0 and 1), before any other ember.core call:
    >>> # ec.distributed.initialize("10.0.0.1:1234", num_processes=2, process_id=0)
    >>> # afterwards ec.devices() lists both processes' devices and ec.process_count() == 2
    >>> ec.distributed.is_initialized()
    False
    """
    if not isinstance(num_processes, int) or num_processes < 1:
        raise ValueError(f"distributed.initialize: num_processes must be a positive int, got {num_processes!r}")
    if not isinstance(process_id, int) or not 0 <= process_id < num_processes:
        raise ValueError(f"distributed.initialize: process_id must be in [0, {num_processes}), got {process_id!r}")
    if ":" not in coordinator_address:
        raise ValueError(f"distributed.initialize: coordinator_address must be 'host:port', got {coordinator_address!r}")
    with _lock:
        if _state:
            raise RuntimeError("distributed.initialize was already called in this process")
        if backends.is_initialized():
            raise RuntimeError("distributed.initialize must be called before any ember.core computation "
                               "(devices have already been created)")
        service = None
        if process_id == 0:
            service = rd.start_service(coordinator_address, num_processes, heartbeat_timeout=heartbeat_timeout_seconds,
                                       register_timeout=initialization_timeout,
                                       shutdown_timeout=shutdown_timeout_seconds)
        client = rd.connect_client(coordinator_address, process_id, rpc_timeout=initialization_timeout,
                                   init_timeout=initialization_timeout, shutdown_timeout=shutdown_timeout_seconds,
                                   heartbeat_timeout=heartbeat_timeout_seconds,
                                   on_missed_heartbeat=None)  # jaxlib then ends this process with a
        # clear message when a peer dies (a Python callback is not safe to pass on 0.10)
        host = coordinator_address.rsplit(":", 1)[0]
        collectives = rd.cpu_collectives(client, "127.0.0.1" if host in ("localhost", "127.0.0.1") else host)
        from .config import config
        n_local = num_local_devices or config.num_cpu_devices or (len(local_device_ids) if local_device_ids else 1)
        if config.num_cpu_devices != n_local:
            config.update("num_cpu_devices", n_local)
        backends.set_distributed_options(distributed_client=client, node_id=process_id, num_nodes=num_processes,
                                         collectives=collectives)
        _state.update(service=service, client=client, process_id=process_id, num_processes=num_processes)
    atexit.register(shutdown)


def is_initialized() -> bool:
    """True after ``initialize`` joined a multi-process job.

    >>> import ember.core as ec
    >>> ec.distributed.is_initialized()   # True after ec.distributed.initialize(...)
    False
    """
    return bool(_state)


def client() -> Any:
    if not _state:
        raise RuntimeError("ember.core.distributed is not initialized")
    return _state["client"]


def barrier(name: str, timeout_seconds: float = 60.0) -> None:
    """Wait until every process reaches ``barrier(name)``; raise after ``timeout_seconds``.

    >>> import ember.core as ec
    >>> if ec.distributed.is_initialized():   # a no-op question in a single-process program
    ...     ec.distributed.barrier("after-setup", timeout_seconds=60)
    """
    if not _state:
        return
    try:
        _state["client"].wait_at_barrier(name, int(timeout_seconds * 1000))
    except Exception as e:
        raise TimeoutError(f"barrier {name!r}: not every process arrived within {timeout_seconds}s ({e})") from e


def shutdown() -> None:
    """Leave the job (called automatically at exit).

    >>> import ember.core as ec
    >>> ec.distributed.shutdown()   # leaving a job you never joined does nothing
    """
    with _lock:
        if not _state:
            return
        try:
            _state["client"].shutdown()
        except Exception:
            pass
        service = _state.get("service")
        if service is not None:
            try:
                service.shutdown()
            except Exception:
                pass
        _state.clear()


# ----------------------------------------------------------------------------------------------
# Building arrays that span processes

def _global_aval(shape: Sequence[int], dtype: Any) -> ShapedArray:
    return ShapedArray(canonicalize_shape(shape), dtypes.canonicalize_dtype(dtype), False)


def make_array_from_callback(shape: Sequence[int], sharding: Any, data_callback: Callable[[tuple], Any],
                             dtype: Any = None) -> Array:
    """A global array whose shard for each local device is ``data_callback(index)`` (index: a
    tuple of slices of the global array).

    >>> import numpy as np
    >>> import ember.core as ec
    >>> from ember.core.sharding import NamedSharding, PartitionSpec as P
    >>> mesh = ec.make_mesh((ec.device_count(),), ("data",))
    >>> host = np.arange(8.0, dtype=np.float32)
    >>> x = ec.make_array_from_callback((8,), NamedSharding(mesh, P("data")), lambda index: host[index])
    >>> x.tolist(), len(x.addressable_shards) == ec.device_count()
    ([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], True)
    """
    shape = canonicalize_shape(shape)
    index_map = sharding.addressable_devices_indices_map(shape)
    devices = [d for d in sharding._device_assignment if d in index_map]
    pieces = [np.asarray(data_callback(index_map[d])) for d in devices]
    aval = _global_aval(shape, dtype or (pieces[0].dtype if pieces else np.float32))
    pieces = [np.ascontiguousarray(p, dtype=aval.dtype) for p in pieces]
    for d, p in zip(devices, pieces):
        want = tuple(len(range(*s.indices(n))) for s, n in zip(index_map[d], shape))
        if p.shape != want:
            raise ValueError(f"make_array_from_callback: the callback returned shape {p.shape} for the shard of "
                             f"device {d.id} at {index_map[d]}, expected {want}")
    buf = transfer.put_shards(aval, sharding._cpp(len(shape)), pieces, devices)
    return from_buffer(buf, aval, True)


def make_array_from_process_local_data(sharding: Any, local_data: Any, global_shape: Sequence[int] | None = None) -> Array:
    """A global array from each process's local block (e.g. its part of the batch).

    >>> import numpy as np
    >>> import ember.core as ec
    >>> from ember.core.sharding import NamedSharding, PartitionSpec as P
    >>> mesh = ec.make_mesh((ec.device_count(),), ("data",))
    >>> local_batch = np.arange(8.0, dtype=np.float32)   # this process's part (here: all of it)
    >>> batch = ec.make_array_from_process_local_data(NamedSharding(mesh, P("data")), local_batch)
    >>> batch.shape, batch.sharding.spec
    ((8,), PartitionSpec('data',))
    """
    local = np.asarray(local_data)
    index_map = sharding.addressable_devices_indices_map(global_shape or local.shape)
    if global_shape is None:
        global_shape = _infer_global_shape(sharding, local.shape)
    global_shape = canonicalize_shape(global_shape)
    index_map = sharding.addressable_devices_indices_map(global_shape)
    starts = [min((s.indices(n)[0] for s in (idx[d] for idx in index_map.values())), default=0)
              for d, n in enumerate(global_shape)]

    def callback(index: tuple) -> np.ndarray:
        local_index = tuple(slice(s.indices(n)[0] - st, s.indices(n)[1] - st) for s, n, st in zip(index, global_shape, starts))
        return local[local_index]

    return make_array_from_callback(global_shape, sharding, callback, dtype=local.dtype)


def _infer_global_shape(sharding: Any, local_shape: tuple[int, ...]) -> tuple[int, ...]:
    processes = len({d.process_index for d in sharding._device_assignment})
    if processes == 1:
        return tuple(local_shape)
    spec = getattr(sharding, "spec", None)
    if spec is None or not spec or spec[0] is None:
        raise ValueError("make_array_from_process_local_data: pass global_shape for this sharding")
    return (local_shape[0] * processes,) + tuple(local_shape[1:])


def make_array_from_single_device_arrays(shape: Sequence[int], sharding: Any, arrays: Sequence[Array]) -> Array:
    """A global array from one single-device Array per local device (in ``sharding``'s order).

    >>> import numpy as np
    >>> import ember.core as ec
    >>> from ember.core.sharding import NamedSharding, PartitionSpec as P
    >>> n = ec.device_count()
    >>> mesh = ec.make_mesh((n,), ("data",))
    >>> pieces = [ec.device_put(np.full(8 // n, i, np.float32), d) for i, d in enumerate(mesh.devices.flat)]
    >>> x = ec.make_array_from_single_device_arrays((8,), NamedSharding(mesh, P("data")), pieces)
    >>> x.shape, float(x.sum()) == sum(i * (8 // n) for i in range(n))
    ((8,), True)
    """
    shape = canonicalize_shape(shape)
    if not arrays:
        raise ValueError("make_array_from_single_device_arrays: no arrays given")
    aval = _global_aval(shape, arrays[0].dtype)
    buffers = [a._checked_buf() for a in arrays]
    cpp = sharding._cpp(len(shape))
    return from_buffer(rd.make_array_from_buffers(aval, cpp, buffers), aval, True)

