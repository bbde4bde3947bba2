"""The runtime: the only part of ember.core that touches jaxlib's private surface.

Clients and PJRT plugins (``backends``, ``plugins``), host <-> device transfers (``transfer``),
compilation and the persistent cache (``compiler``), the C++ pytree registry (``pytree``), and
every jaxlib-version difference (``jaxlib_compat``). Code elsewhere in ember.core imports these
names from here, never from jaxlib directly (the MLIR builder bindings used by lowering aside).
"""

from __future__ import annotations

from jaxlib import _jax

from . import backends, compiler, jaxlib_compat, plugins, transfer
from .backends import Backend, default_backend, get_backend
from .compiler import CompileSpec, compile_program
from .jaxlib_compat import JAXLIB_VERSION, JAXLIB_VERSION_STRING, result_handler

Device = _jax.Device
DeviceList = _jax.DeviceList
RuntimeError_ = _jax.JaxRuntimeError
ArrayImpl = _jax.ArrayImpl
SingleDeviceSharding = _jax.SingleDeviceSharding

__all__ = [
    "backends", "compiler", "jaxlib_compat", "plugins", "transfer",
    "Backend", "default_backend", "get_backend", "CompileSpec", "compile_program",
    "JAXLIB_VERSION", "JAXLIB_VERSION_STRING", "result_handler",
    "Device", "DeviceList", "RuntimeError_", "ArrayImpl", "SingleDeviceSharding",
]
