"""Host <-> device transfers of single-device buffers (jaxlib ArrayImpl objects)."""

from __future__ import annotations

from typing import Any

import numpy as np
from jaxlib import _jax

__all__ = ["single_device_sharding", "put", "fetch", "copy_to_device", "placement_key"]

_shardings: dict[Any, Any] = {}
_single_device: list[bool] = []


def single_device_process() -> bool:
    """True when this process sees exactly one device (then placement never varies, and the jit
    cache can be keyed on types alone)."""
    if _single_device:
        return _single_device[0]
    from .backends import backends
    total = sum(len(b.devices) for b in backends().values())
    _single_device.append(total == 1)
    return _single_device[0]


def reset_device_count_cache() -> None:
    _single_device.clear()


def single_device_sharding(device: Any) -> Any:
    """jaxlib's SingleDeviceSharding for ``device`` (cached: one object per device)."""
    sharding = _shardings.get(device)
    if sharding is None:
        sharding = _shardings[device] = _jax.SingleDeviceSharding(device)
    return sharding


def put(host: np.ndarray, aval: Any, device: Any) -> Any:
    """Copy a NumPy array whose dtype is ``aval.dtype`` onto ``device``."""
    return _jax.batched_device_put(aval, single_device_sharding(device), [host], [device], enable_x64=True)


def put_shards(aval: Any, sharding: Any, shards: list[np.ndarray], devices: list[Any]) -> Any:
    """Build one (possibly multi-device) array from per-device host shards."""
    return _jax.batched_device_put(aval, sharding, shards, devices, enable_x64=True)


def fetch(buffer: Any) -> np.ndarray:
    """Device -> host for a single-device buffer (may share memory on CPU; treat as read-only)."""
    return buffer._single_device_array_to_np_array_did_copy()[0]


def copy_to_device(buffer: Any, device: Any) -> Any:
    """A copy of a single-device buffer on another device (same client)."""
    sharding = single_device_sharding(device)
    (out,) = _jax.batched_copy_array_to_devices_with_sharding(
        [buffer], [_jax.DeviceList((device,))], [sharding], [_jax.ArrayCopySemantics.REUSE_INPUT]
    )
    return out


def device_of(buffer: Any) -> Any:
    """The device of a buffer that lives on one device (whatever kind of sharding it carries)."""
    sharding = buffer._sharding
    device = getattr(sharding, "_device", None)
    if device is not None:
        return device
    devices = list(sharding._devices)
    if len(devices) != 1:
        raise ValueError(f"the array spans {len(devices)} devices; it has no single device")
    return devices[0]


def block_until_ready(buffers: list[Any]) -> None:
    _jax.batched_block_until_ready(buffers)


def placement_key(sharding: Any) -> Any:
    """A cache key for where a buffer lives, stable for the life of the process.

    jaxlib's sharding objects hash by identity until jax is imported, which patches value-based
    hashing onto them, so a key holding the object would miss once jax arrives (jaxlib imports it
    on the first device-to-host copy where it is installed) and every jitted function would be
    compiled again. A single device is keyed by the device itself.
    """
    if type(sharding) is _jax.SingleDeviceSharding:
        return sharding._device, sharding._memory_kind
    return sharding
