"""PJRT clients (one per platform) and their devices.

The CPU client always exists; CUDA/ROCm/TPU clients exist when their plugin is installed.
Clients are created lazily, on first use, so ``config.update("num_cpu_devices", n)`` works
until then.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from jaxlib import _jax
from jaxlib import xla_client as xc

from ..config import config
from . import jaxlib_compat, plugins

__all__ = ["Backend", "get_backend", "backends", "default_backend", "clear_backends"]

Device = _jax.Device


class Backend:
    """One platform's PJRT client and its devices."""

    def __init__(self, platform: str, client: Any) -> None:
        self.platform = platform
        self.client = client
        self.devices: list[Device] = list(client.devices())
        self.local_devices: list[Device] = list(client.local_devices())
        self.platform_version: str = getattr(client, "platform_version", "")

    def __repr__(self) -> str:
        return f"Backend({self.platform!r}, {len(self.devices)} devices)"


_lock = threading.RLock()
_backends: dict[str, Backend] | None = None
_distributed_options: dict[str, Any] = {}


def _make_cpu_client() -> Any:
    kwargs: dict[str, Any] = {}
    accepted = jaxlib_compat.cpu_client_kwargs()
    if config.num_cpu_devices is not None:
        kwargs["num_devices"] = config.num_cpu_devices
    for name, value in _distributed_options.items():
        if name in accepted:
            kwargs[name] = value
    return xc.make_cpu_client(**kwargs)


def _initialize() -> dict[str, Backend]:
    global _backends
    with _lock:
        if _backends is not None:
            return _backends
        jaxlib_compat.install_sharding_hooks()
        jaxlib_compat.settle_jax_lookups()
        wanted = None if config.platforms is None else {p.strip() for p in config.platforms.split(",")}
        result: dict[str, Backend] = {}
        if wanted is None or "cpu" in wanted:
            result["cpu"] = Backend("cpu", _make_cpu_client())
        for platform, plugin in sorted(plugins.discover_plugins().items(), key=lambda kv: -kv[1].priority):
            if wanted is not None and platform not in wanted:
                continue
            try:
                result[platform] = Backend(platform, plugins.load_plugin_client(plugin))
            except Exception as e:  # a broken plugin must not take the CPU down with it
                if wanted is not None:
                    raise RuntimeError(f"could not start the {platform!r} PJRT plugin at {plugin.library}: {e}") from e
                warnings.warn(f"ember: skipping the {platform!r} PJRT plugin at {plugin.library}: {e}", stacklevel=2)
        if not result:
            raise RuntimeError(f"no platform could be started (EMBER_PLATFORMS={config.platforms!r})")
        _backends = result
        return result


def backends() -> dict[str, Backend]:
    """All started backends, by platform name."""
    return _backends if _backends is not None else _initialize()


def default_backend() -> Backend:
    """The preferred backend: an accelerator if one is available, else the CPU."""
    started = backends()
    for platform in ("tpu", "cuda", "rocm"):
        if platform in started:
            return started[platform]
    return next(iter(started.values()))


def get_backend(platform: str | None = None) -> Backend:
    if platform is None:
        return default_backend()
    started = backends()
    key = platform.lower()
    if key == "gpu":
        key = "cuda" if "cuda" in started else "rocm"
    if key not in started:
        raise RuntimeError(
            f"backend {platform!r} is not available; available backends: {', '.join(started)}"
        )
    return started[key]


def is_initialized() -> bool:
    return _backends is not None


def set_distributed_options(**options: Any) -> None:
    """Used by ``ec.distributed.initialize`` before the first client is created."""
    if _backends is not None:
        raise RuntimeError(
            "ec.distributed.initialize must be called before any ember.core computation "
            "(the backends have already been started)"
        )
    _distributed_options.update(options)


def clear_backends() -> None:
    """Forget the started clients (tests; arrays from the old clients become unusable)."""
    global _backends
    with _lock:
        _backends = None
    from . import transfer
    transfer.reset_device_count_cache()


def _refuse_after_start(value: Any) -> None:
    if _backends is not None and value != config.num_cpu_devices:
        raise RuntimeError(
            "config 'num_cpu_devices' must be set before the first use of ember.core "
            f"(the CPU backend already has {len(_backends['cpu'].devices) if 'cpu' in _backends else '?'} devices)"
        )


config.add_hook("num_cpu_devices", _refuse_after_start)
config.add_hook("platforms", lambda value: _refuse_after_start(config.num_cpu_devices) if _backends is not None and value != config.platforms else None)
