"""Device queries and placement: ``devices``, ``device_count``, ``default_backend``..."""

from __future__ import annotations

from typing import Any

from . import runtime

__all__ = ["devices", "local_devices", "device_count", "local_device_count", "default_backend",
           "process_index", "process_count"]


def devices(backend: str | None = None) -> list[Any]:
    """All devices of ``backend`` (default: the preferred backend), across processes."""
    return list(runtime.get_backend(backend).devices)


def local_devices(process_index: int | None = None, backend: str | None = None) -> list[Any]:
    """The devices attached to this process (or to process ``process_index``)."""
    b = runtime.get_backend(backend)
    if process_index is None:
        return list(b.local_devices)
    return [d for d in b.devices if d.process_index == process_index]


def device_count(backend: str | None = None) -> int:
    return len(runtime.get_backend(backend).devices)


def local_device_count(backend: str | None = None) -> int:
    return len(runtime.get_backend(backend).local_devices)


def default_backend() -> str:
    """The platform name of the default backend: 'cpu', 'cuda', 'rocm' or 'tpu'."""
    return runtime.default_backend().platform


def process_index(backend: str | None = None) -> int:
    return runtime.get_backend(backend).client.process_index()


def process_count(backend: str | None = None) -> int:
    return len({d.process_index for d in runtime.get_backend(backend).devices})
