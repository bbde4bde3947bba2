"""Shardings: where the pieces of an array live. Single-device placement for now; meshes and
``NamedSharding`` extend this module (see the parallelism issue)."""

from __future__ import annotations

from typing import Any

__all__ = ["Sharding", "SingleDeviceSharding"]


class Sharding:
    """Base class: a description of how an array is laid out over devices."""

    @property
    def device_set(self) -> set[Any]:
        raise NotImplementedError

    def is_fully_replicated(self) -> bool:
        raise NotImplementedError


class SingleDeviceSharding(Sharding):
    """The whole array on one device.

    >>> import ember.core as ec
    >>> ec.numpy.zeros(2).sharding.device_set == {ec.devices()[0]}
    True
    """

    __slots__ = ("device", "memory_kind")

    def __init__(self, device: Any, *, memory_kind: str | None = None) -> None:
        self.device = device
        self.memory_kind = memory_kind

    @property
    def device_set(self) -> set[Any]:
        return {self.device}

    def is_fully_replicated(self) -> bool:
        return True

    @property
    def num_devices(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SingleDeviceSharding) and other.device == self.device

    def __hash__(self) -> int:
        return hash(("SingleDeviceSharding", self.device))

    def __repr__(self) -> str:
        return f"SingleDeviceSharding(device={self.device!r})"
