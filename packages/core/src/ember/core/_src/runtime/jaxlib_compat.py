"""Every difference between jaxlib releases that ember.core meets is absorbed here.

Supported: jaxlib 0.10.x (Python 3.11 leg), 0.11.x (GPU machines) and 0.12.x (Python 3.12 leg).
Each shim below says which releases differ and how; the tests in test_runtime.py pin them.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from typing import Any

import jaxlib
from jaxlib import _jax
from jaxlib import xla_client as xc

__all__ = ["JAXLIB_VERSION", "result_handler", "install_sharding_hooks", "settle_jax_lookups"]


def _parse_version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


JAXLIB_VERSION: tuple[int, ...] = _parse_version(jaxlib.__version__)
JAXLIB_VERSION_STRING: str = jaxlib.__version__


def _handler_takes_skip_checks() -> bool:
    # 0.10.x: array_result_handler(aval, sharding, committed, _skip_checks=False) and the checks
    # call a Python method jax would have attached. 0.12.x: (aval, sharding, committed) only.
    try:
        return "_skip_checks" in (_jax.array_result_handler.__doc__ or "")
    except Exception:  # pragma: no cover - defensive
        return False


_SKIP_CHECKS = _handler_takes_skip_checks()


def result_handler(aval: Any, sharding: Any, committed: bool) -> Any:
    """A C++ result handler that turns one raw output of an executable into an ArrayImpl."""
    if _SKIP_CHECKS:
        return _jax.array_result_handler(aval, sharding, committed, _skip_checks=True)
    return _jax.array_result_handler(aval, sharding, committed)


def install_sharding_hooks() -> None:
    """jaxlib's C++ transfer code asks a sharding for ``_to_xla_hlo_sharding(ndim)``, a method jax
    normally attaches from Python. Attach ember's own, once, for the sharding classes we use."""
    if getattr(_jax.SingleDeviceSharding, "_ember_hooks", False):
        return
    _jax.SingleDeviceSharding._to_xla_hlo_sharding = lambda self, ndim: xc.HloSharding.replicate()
    _jax.GSPMDSharding._to_xla_hlo_sharding = lambda self, ndim: self._hlo_sharding
    _jax.SingleDeviceSharding._ember_hooks = True


def cpu_client_kwargs() -> set[str]:
    """Keyword arguments this jaxlib's ``make_cpu_client`` accepts."""
    try:
        return set(inspect.signature(xc.make_cpu_client).parameters)
    except (TypeError, ValueError):  # pragma: no cover
        return {"asynchronous", "num_devices"}


def array_from_buffers(aval: Any, cpp_sharding: Any, buffers: list[Any]) -> Any:
    """jaxlib's ArrayImpl constructor assembling per-device buffers (0.10 takes ``_skip_checks``)."""
    try:
        return _jax.ArrayImpl(aval, cpp_sharding, buffers, True, _skip_checks=True)
    except TypeError:
        return _jax.ArrayImpl(aval, cpp_sharding, buffers, True)


# Modules jaxlib's C++ imports, when it can, while it makes arrays and shardings: jax.core for
# ShapedArray (once per process) and jax._src.sharding_impls (on every new single-device view of
# an array, i.e. on every first device-to-host copy of an array).
_JAX_MODULES_JAXLIB_LOOKS_UP = ("jax.core", "jax._src.sharding_impls")


def settle_jax_lookups() -> None:
    """Where jax is not installed, make jaxlib's lookups of jax modules fail at once.

    Each failed lookup otherwise walks the whole import system: about 90 us on every
    device-to-host copy, ten times the copy itself. A ``None`` entry in ``sys.modules`` is
    Python's way to say "this module does not exist" without searching. Where jax is installed,
    jaxlib imports it on the first copy (it is then found at once); see fast_dispatch for what
    that changes for ember's jit.
    """
    if "jax" in sys.modules or importlib.util.find_spec("jax") is not None:
        return
    for name in _JAX_MODULES_JAXLIB_LOOKS_UP:
        sys.modules.setdefault(name, None)
