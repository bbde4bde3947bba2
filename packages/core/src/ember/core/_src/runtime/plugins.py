"""Finding PJRT plugins (CUDA, ROCm, TPU) in installed packages, and loading them through jaxlib.

A plugin is a shared library implementing the PJRT C API. JAX's GPU plugins install as
``jax_plugins/xla_cuda12/xla_cuda_plugin.so`` (``jax-cuda12-plugin``, likewise cuda13 and rocm);
TPU's as ``libtpu/libtpu.so`` (``libtpu``). ``EMBER_PJRT_PLUGINS="name:/path/lib.so,..."`` adds
or overrides entries, and ``EMBER_PLATFORMS`` picks which platforms to use.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Iterable

__all__ = ["PluginLibrary", "discover_plugins"]

# Directory name under jax_plugins/ -> (platform, library file names to look for)
_JAX_PLUGIN_DIRS = {
    "xla_cuda12": ("cuda", ("xla_cuda_plugin.so", "pjrt_c_api_gpu_plugin.so")),
    "xla_cuda13": ("cuda", ("xla_cuda_plugin.so", "pjrt_c_api_gpu_plugin.so")),
    "xla_rocm60": ("rocm", ("xla_rocm_plugin.so",)),
    "xla_rocm7": ("rocm", ("xla_rocm_plugin.so",)),
}
_PLATFORM_PRIORITY = {"tpu": 300, "cuda": 200, "rocm": 200}


@dataclasses.dataclass(frozen=True)
class PluginLibrary:
    """A PJRT plugin found on disk: the platform it serves and its shared library."""

    platform: str
    library: Path
    origin: str  # where it was found: a package directory or the environment variable

    @property
    def priority(self) -> int:
        return _PLATFORM_PRIORITY.get(self.platform, 100)


def _platform_of_plugin_dir(name: str) -> str | None:
    if name in _JAX_PLUGIN_DIRS:
        return _JAX_PLUGIN_DIRS[name][0]
    if name.startswith("xla_cuda"):
        return "cuda"
    if name.startswith("xla_rocm"):
        return "rocm"
    return None


def _from_jax_plugins(search_path: Iterable[str]) -> list[PluginLibrary]:
    found: list[PluginLibrary] = []
    for entry in search_path:
        base = Path(entry) / "jax_plugins"
        if not base.is_dir():
            continue
        for plugin_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            platform = _platform_of_plugin_dir(plugin_dir.name)
            if platform is None:
                continue
            names = _JAX_PLUGIN_DIRS.get(plugin_dir.name, (platform, ()))[1]
            candidates = [plugin_dir / n for n in names] + sorted(plugin_dir.glob("*.so"))
            library = next((c for c in candidates if c.is_file()), None)
            if library is not None:
                found.append(PluginLibrary(platform, library, str(plugin_dir)))
    return found


def _from_libtpu(search_path: Iterable[str]) -> list[PluginLibrary]:
    for entry in search_path:
        library = Path(entry) / "libtpu" / "libtpu.so"
        if library.is_file():
            return [PluginLibrary("tpu", library, str(library.parent))]
    return []


def _from_environment(value: str | None) -> list[PluginLibrary]:
    if not value:
        return []
    found = []
    for item in value.split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, path = item.partition(":")
        if not sep or not name or not path:
            raise ValueError(
                f"EMBER_PJRT_PLUGINS: expected entries 'platform:/path/to/plugin.so', got {item!r}"
            )
        found.append(PluginLibrary(name.lower(), Path(path), "EMBER_PJRT_PLUGINS"))
    return found


def discover_plugins(
    search_path: Iterable[str] | None = None, environ: dict[str, str] | None = None
) -> dict[str, PluginLibrary]:
    """Map platform -> plugin library, from installed packages and ``EMBER_PJRT_PLUGINS``.

    >>> discover_plugins(search_path=[])   # nothing installed
    {}
    """
    search = list(sys.path if search_path is None else search_path)
    environ = os.environ if environ is None else environ
    result: dict[str, PluginLibrary] = {}
    for plugin in _from_jax_plugins(search) + _from_libtpu(search):
        result.setdefault(plugin.platform, plugin)
    for plugin in _from_environment(environ.get("EMBER_PJRT_PLUGINS")):
        result[plugin.platform] = plugin  # explicit configuration wins
    return result


def load_plugin_client(plugin: PluginLibrary) -> object:
    """Load a plugin's library through jaxlib and create its PJRT client (not run on CPU-only CI)."""
    from jaxlib import xla_client as xc

    if not plugin.library.is_file():
        raise FileNotFoundError(f"PJRT plugin for {plugin.platform!r} not found at {plugin.library}")
    if not xc.pjrt_plugin_loaded(plugin.platform):
        xc.load_pjrt_plugin_dynamically(plugin.platform, str(plugin.library))
    if not xc.pjrt_plugin_initialized(plugin.platform):
        xc.initialize_pjrt_plugin(plugin.platform)
    options = xc.generate_pjrt_gpu_plugin_options() if plugin.platform in ("cuda", "rocm") else {}
    return xc.make_c_api_client(plugin.platform, options, None)
