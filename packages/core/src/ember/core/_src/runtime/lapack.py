"""The LAPACK kernels jaxlib ships for XLA's CPU backend, registered as custom-call targets.

jaxlib's ``jaxlib.cpu._lapack`` module holds typed-FFI handlers (``lapack_sgetrf_ffi``,
``lapack_dsyevd_ffi``, ...) but registers none of them by itself: the caller initialises the
module (``_lapack.initialize()`` binds the kernels to the LAPACK routines exported by
``scipy.linalg.cython_lapack``; SciPy is a dependency of jaxlib) and hands each handler to
``xla_client.register_custom_call_target``. ``ensure_registered`` does that once per process;
lowering rules that emit such a custom call call it first.
"""

from __future__ import annotations

import threading

__all__ = ["ensure_registered", "target_name"]

_lock = threading.Lock()
_registered = False

_dtype_prefix = {"float32": "s", "float64": "d", "complex64": "c", "complex128": "z"}


def ensure_registered() -> None:
    """Register every LAPACK FFI handler of jaxlib with the CPU platform (idempotent)."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        from jaxlib import xla_client
        from jaxlib.cpu import _lapack
        _lapack.initialize()
        for name, handler in _lapack.registrations().items():
            api_version = 1 if name.endswith("_ffi") else 0
            xla_client.register_custom_call_target(name, handler, platform="cpu", api_version=api_version)
        _registered = True


def target_name(base: str, dtype_name: str) -> str:
    """``target_name("getrf", "float32") == "lapack_sgetrf_ffi"`` (registering targets first)."""
    ensure_registered()
    try:
        prefix = _dtype_prefix[dtype_name]
    except KeyError:
        raise NotImplementedError(f"LAPACK has no {base} kernel for dtype {dtype_name}") from None
    return f"lapack_{prefix}{base}_ffi"
