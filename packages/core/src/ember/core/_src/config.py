"""Global configuration flags (``ec.config``).

Flags are read at the points where they matter (dtype canonicalisation, client creation, compile
cache) and are set either from environment variables at import or with ``config.update``::

    import ember.core as ec
    ec.config.update("enable_x64", True)
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable

__all__ = ["Config", "config"]


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"environment variable {name} must be a positive integer, got {value!r}")
    return number


class Config:
    """A small set of named, typed flags with validation and change hooks."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._validators: dict[str, Callable[[Any], Any]] = {}
        self._hooks: dict[str, list[Callable[[Any], None]]] = {}
        self._lock = threading.Lock()

    def define(self, name: str, default: Any, validator: Callable[[Any], Any]) -> None:
        self._values[name] = default
        self.__dict__[name] = default  # plain attribute: reads on hot paths cost one lookup
        self._validators[name] = validator
        self._hooks[name] = []

    def add_hook(self, name: str, hook: Callable[[Any], None]) -> None:
        """Call ``hook(new_value)`` before ``name`` changes; the hook may raise to refuse."""
        self._hooks[name].append(hook)

    def update(self, name: str, value: Any) -> None:
        """Set flag ``name`` to ``value``, e.g. ``config.update("enable_x64", True)``."""
        if name not in self._values:
            known = ", ".join(sorted(self._values))
            raise ValueError(f"config.update: unknown flag {name!r}; known flags: {known}")
        value = self._validators[name](value)
        with self._lock:
            for hook in self._hooks[name]:
                hook(value)
            self._values[name] = value
            self.__dict__[name] = value

    def read(self, name: str) -> Any:
        return self._values[name]

    def __getattr__(self, name: str) -> Any:  # only reached for names that are not flags
        raise AttributeError(f"ember.core.config has no flag {name!r}")

    def values(self) -> dict[str, Any]:
        return dict(self._values)


def _as_bool(name: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, (bool, int)):
            raise TypeError(f"config flag {name!r} expects a bool, got {value!r}")
        return bool(value)

    return check


def _as_optional_positive_int(name: str) -> Callable[[Any], int | None]:
    def check(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"config flag {name!r} expects a positive int, got {value!r}")
        return value

    return check


def _as_non_negative_int(name: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"config flag {name!r} expects a non-negative int, got {value!r}")
        return value

    return check


def _env_non_negative_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return _as_non_negative_int(name)(int(value))
    except ValueError:
        raise ValueError(f"environment variable {name} must be a non-negative integer, got {value!r}") from None


def _as_optional_str(name: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"config flag {name!r} expects a path or None, got {value!r}")
        return os.fspath(value)

    return check


def _as_optional_platform(name: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"config flag {name!r} expects a platform name such as 'cpu' or 'cuda', got {value!r}")
        return value.lower()

    return check


config = Config()
config.define("enable_x64", _env_bool("EMBER_ENABLE_X64", False), _as_bool("enable_x64"))
config.define("num_cpu_devices", _env_int("EMBER_NUM_CPU_DEVICES"), _as_optional_positive_int("num_cpu_devices"))
config.define("platforms", _as_optional_platform("platforms")(os.environ.get("EMBER_PLATFORMS")),
              _as_optional_platform("platforms"))
config.define("compilation_cache_dir", os.environ.get("EMBER_COMPILATION_CACHE_DIR") or None,
              _as_optional_str("compilation_cache_dir"))
config.define("debug_nans", _env_bool("EMBER_DEBUG_NANS", False), _as_bool("debug_nans"))
config.define("disable_jit", _env_bool("EMBER_DISABLE_JIT", False), _as_bool("disable_jit"))
# Arrays a jitted function closes over are written into its program up to this size (XLA can then
# fold them and keep loop-invariant ones inside loops, as JAX's programs do); larger ones are
# passed to the executable as arguments, so the program text and the executable stay small.
config.define("embedded_constants_max_bytes",
              _env_non_negative_int("EMBER_EMBEDDED_CONSTANTS_MAX_BYTES", 1 << 20),
              _as_non_negative_int("embedded_constants_max_bytes"))
