"""Device queries and placement: ``devices``, ``device_count``, ``default_backend``..."""

from __future__ import annotations

from typing import Any

from . import runtime

__all__ = ["devices", "local_devices", "device_count", "local_device_count", "default_backend",
           "process_index", "process_count"]


def devices(backend: str | None = None) -> list[Any]:
    """All devices of ``backend`` (default: the preferred backend), across processes.

    >>> import ember.core as ec
    >>> d = ec.devices()[0]
    >>> d.id, d.platform in ("cpu", "gpu", "tpu")
    (0, True)
    """
    return list(runtime.get_backend(backend).devices)


def local_devices(process_index: int | None = None, backend: str | None = None) -> list[Any]:
    """The devices attached to this process (or to process ``process_index``).

    >>> import ember.core as ec
    >>> all(d.process_index == ec.process_index() for d in ec.local_devices())
    True
    """
    b = runtime.get_backend(backend)
    if process_index is None:
        return list(b.local_devices)
    return [d for d in b.devices if d.process_index == process_index]


def device_count(backend: str | None = None) -> int:
    """The number of devices of ``backend`` (default: the preferred backend), across processes.

    >>> import ember.core as ec
    >>> ec.device_count() == len(ec.devices())
    True
    """
    return len(runtime.get_backend(backend).devices)


def local_device_count(backend: str | None = None) -> int:
    """The number of devices attached to this process.

    >>> import ember.core as ec
    >>> ec.local_device_count() == len(ec.local_devices())
    True
    """
    return len(runtime.get_backend(backend).local_devices)


def default_backend() -> str:
    """The platform name of the default backend: 'cpu', 'cuda', 'rocm' or 'tpu'.

    >>> import ember.core as ec
    >>> ec.default_backend() in ("cpu", "cuda", "rocm", "tpu")
    True
    """
    return runtime.default_backend().platform


def process_index(backend: str | None = None) -> int:
    """This process's index in the job, in ``[0, process_count())``.

    >>> import ember.core as ec
    >>> ec.process_index()        # this process's rank in a multi-process job
    0
    """
    return runtime.get_backend(backend).client.process_index()


def process_count(backend: str | None = None) -> int:
    """The number of processes in the job (1 unless ``distributed.initialize`` was called).

    >>> import ember.core as ec
    >>> ec.process_count()        # 1 unless ec.distributed.initialize joined a multi-process job
    1
    """
    return len({d.process_index for d in runtime.get_backend(backend).devices})
