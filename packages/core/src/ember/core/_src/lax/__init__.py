"""The primitive-level API (public as ``ember.core.lax``): one function per primitive, no
implicit broadcasting or promotion (a Python or NumPy scalar operand takes the other operand's
dtype and shape). Each primitive module lists its functions in ``__all__``; this package
gathers them, plus the control-flow and convenience modules under ``lax/``."""

from __future__ import annotations

import importlib

_modules = [
    "ember.core._src.primitives.elementwise",
    "ember.core._src.primitives.shape",
    "ember.core._src.primitives.reductions",
    "ember.core._src.primitives.cumulative",
    "ember.core._src.primitives.windowed",
    "ember.core._src.primitives.sorting",
    "ember.core._src.primitives.indexing",
    "ember.core._src.primitives.dot",
    "ember.core._src.primitives.conv",
    "ember.core._src.primitives.linalg",
    "ember.core._src.primitives.fft",
    "ember.core._src.primitives.control_flow",
    "ember.core._src.primitives.random_bits",
    "ember.core._src.primitives.special",
    "ember.core._src.primitives.collectives",
    "ember.core._src.primitives.sharding_ops",
    "ember.core._src.lax.extras",
]

__all__: list[str] = []

for _module_name in _modules:
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as _e:  # a family not written yet
        if _e.name != _module_name:
            raise
        continue
    for _name in getattr(_module, "__all__", ()):
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
