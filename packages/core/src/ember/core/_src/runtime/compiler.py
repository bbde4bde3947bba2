"""Compiling StableHLO programs with a PJRT client, and the persistent compilation cache.

The cache is opt-in: set ``config.update("compilation_cache_dir", path)`` (or the environment
variable ``EMBER_COMPILATION_CACHE_DIR``) and compiled executables are serialized there, keyed
by a hash of the program, the compile options, the jaxlib version and the devices, so a
restarted job skips XLA compilation.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from jaxlib import _jax
from jaxlib import xla_client as xc

from ..config import config
from .jaxlib_compat import JAXLIB_VERSION_STRING

__all__ = ["CompileSpec", "compile_program", "cache_stats"]

logger = logging.getLogger("ember.core.compile")


class CompileSpec:
    """How to compile: the devices, and for SPMD programs the number of partitions."""

    __slots__ = ("devices", "num_partitions", "num_replicas", "spmd", "propagate_outputs")

    def __init__(self, devices: Sequence[Any], *, num_partitions: int = 1, num_replicas: int = 1,
                 spmd: bool = False, propagate_outputs: Sequence[bool] = ()) -> None:
        self.devices = tuple(devices)
        self.num_partitions = num_partitions
        self.num_replicas = num_replicas
        self.spmd = spmd
        # outputs whose layout XLA may choose (sharding propagation), instead of replicating them
        self.propagate_outputs = tuple(propagate_outputs)

    def options(self) -> Any:
        options = xc.CompileOptions()
        build = options.executable_build_options
        build.num_replicas = self.num_replicas
        build.num_partitions = self.num_partitions
        if self.spmd:
            build.use_spmd_partitioning = True
            if any(self.propagate_outputs):
                build.allow_spmd_sharding_propagation_to_output = list(self.propagate_outputs)
        ids = np.array([d.id for d in self.devices], dtype=np.int64)
        build.device_assignment = xc.DeviceAssignment.create(
            ids.reshape(self.num_replicas, self.num_partitions)
        )
        return options


_stats = {"hits": 0, "misses": 0, "writes": 0, "errors": 0}
_stats_lock = threading.Lock()


def cache_stats() -> dict[str, int]:
    """Counters of the persistent cache in this process: hits, misses, writes, errors."""
    with _stats_lock:
        return dict(_stats)


def _count(name: str) -> None:
    with _stats_lock:
        _stats[name] += 1


def _cache_key(program: str, options: Any, client: Any, devices: Sequence[Any]) -> str:
    digest = hashlib.sha256()
    digest.update(program.encode())
    digest.update(options.SerializeAsString())
    digest.update(JAXLIB_VERSION_STRING.encode())
    digest.update(f"{client.platform}|{getattr(client, 'platform_version', '')}".encode())
    digest.update(",".join(f"{d.platform}:{d.device_kind}:{d.id}" for d in devices).encode())
    return digest.hexdigest()


def _read_cached(path: Path, client: Any, device_list: Any, options: Any) -> Any | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        logger.warning("ember: cannot read compilation cache entry %s: %s", path, e)
        _count("errors")
        return None
    try:
        return client.deserialize_executable(data, device_list, options)
    except Exception as e:  # a stale or corrupt entry is a miss, never a failure
        logger.warning("ember: ignoring unreadable compilation cache entry %s: %s", path, e)
        _count("errors")
        return None


def _write_cached(path: Path, client: Any, executable: Any) -> None:
    try:
        data = client.serialize_executable(executable)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".exe")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)  # atomic: a reader sees the whole entry or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _count("writes")
    except Exception as e:
        logger.warning("ember: could not write compilation cache entry %s: %s", path, e)
        _count("errors")


_memory_cache: "OrderedDict[tuple, Any]" = OrderedDict()
_MEMORY_CACHE_SIZE = 512  # compiled programs kept in memory, keyed by program text and options


def compile_program(client: Any, program: str, spec: CompileSpec, *, host_callbacks: Sequence[Any] = (),
                    module: Any = None) -> Any:
    """Compile StableHLO text for ``spec.devices``; returns jaxlib's LoadedExecutable.

    ``module`` (the parsed ``ir.Module``) is required when ``host_callbacks`` are given: jaxlib
    only accepts callbacks together with a module object. Such programs bypass the disk cache,
    since the callbacks are live Python objects.
    """
    options = spec.options()
    device_list = _jax.DeviceList(spec.devices)
    if host_callbacks:
        return client.compile_and_load(module, executable_devices=device_list, compile_options=options,
                                       host_callbacks=list(host_callbacks))
    # the same program compiled again (a re-created jitted function, a re-traced body) is reused
    memory_key = (id(client), program, spec.num_partitions, spec.num_replicas, spec.spmd,
                  spec.propagate_outputs, tuple(d.id for d in spec.devices))
    with _memory_lock:
        executable = _memory_cache.get(memory_key)
        if executable is not None:
            _memory_cache.move_to_end(memory_key)
            return executable
    executable = _compile_uncached(client, program, options, device_list, spec)
    with _memory_lock:
        _memory_cache[memory_key] = executable
        if len(_memory_cache) > _MEMORY_CACHE_SIZE:
            _memory_cache.popitem(last=False)
    return executable


_memory_lock = threading.Lock()


def _compile_uncached(client: Any, program: str, options: Any, device_list: Any, spec: CompileSpec) -> Any:
    cache_dir = config.compilation_cache_dir
    if cache_dir is None:
        return client.compile_and_load(program, device_list, options)
    path = Path(cache_dir) / (_cache_key(program, options, client, spec.devices) + ".exe")
    executable = _read_cached(path, client, device_list, options)
    if executable is not None:
        _count("hits")
        return executable
    _count("misses")
    executable = client.compile_and_load(program, device_list, options)
    _write_cached(path, client, executable)
    return executable
