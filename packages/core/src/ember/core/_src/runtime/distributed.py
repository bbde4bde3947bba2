"""XLA's distributed runtime (coordination service + clients) and gloo CPU collectives.

One process (the coordinator, process 0) hosts the service; every process connects a client.
The CPU client is then created over all processes' devices with gloo collectives, so SPMD
programs span processes. Every wait has a timeout (seconds for the runtime, milliseconds for
barriers), so a dead peer makes the others fail instead of hang.
"""

from __future__ import annotations

from typing import Any, Callable

from jaxlib import _jax

__all__ = ["start_service", "connect_client", "cpu_collectives"]


def start_service(address: str, num_processes: int, *, heartbeat_timeout: int, register_timeout: int,
                  shutdown_timeout: int) -> Any:
    return _jax.get_distributed_runtime_service(address, num_processes, heartbeat_timeout=heartbeat_timeout,
                                                cluster_register_timeout=register_timeout,
                                                shutdown_timeout=shutdown_timeout)


def connect_client(address: str, process_id: int, *, rpc_timeout: int, init_timeout: int, shutdown_timeout: int,
                   heartbeat_timeout: int, on_missed_heartbeat: Callable[..., None] | None) -> Any:
    kwargs: dict[str, Any] = dict(rpc_timeout=rpc_timeout, init_timeout=init_timeout,
                                  shutdown_timeout=shutdown_timeout, heartbeat_timeout=heartbeat_timeout)
    if on_missed_heartbeat is not None:
        kwargs["missed_heartbeat_callback"] = on_missed_heartbeat
    client = _jax.get_distributed_runtime_client(address, process_id, **kwargs)
    client.connect()
    return client


def cpu_collectives(client: Any, hostname: str) -> Any:
    return _jax.make_gloo_tcp_collectives(client, hostname=hostname)


def make_array_from_buffers(aval: Any, cpp_sharding: Any, buffers: list[Any]) -> Any:
    """One (possibly multi-process) array from this process's per-device buffers."""
    from .jaxlib_compat import array_from_buffers
    return array_from_buffers(aval, cpp_sharding, buffers)
