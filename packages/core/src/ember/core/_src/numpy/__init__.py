"""The NumPy API on ember.core's primitives (public as ``ember.core.numpy``).

Modules by topic: ``creation``, ``ufuncs``, ``shape_ops``, ``reductions``, ``indexing``,
``searching`` (sorting and searching), ``linalg_ops`` (dot, matmul, einsum...), ``dtype_api``.
Each module lists its public names in ``__all__``; this package gathers them.
"""

from __future__ import annotations

import importlib

_modules = ["creation", "ufuncs", "shape_ops", "reductions", "indexing", "searching", "linalg_ops",
            "dtype_api", "misc"]
_public_names: list[str] = []
for _name in _modules:
    try:
        _module = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as _e:  # a topic not written yet
        if _e.name != f"{__name__}.{_name}":
            raise
        continue
    for _public in getattr(_module, "__all__", ()):
        globals()[_public] = getattr(_module, _public)
        _public_names.append(_public)

from . import array_methods as _array_methods  # noqa: E402
from .indexing import _getitem, _IndexUpdateHelper  # noqa: E402,F401  (array_methods uses them)

_array_methods.install()

__all__ = list(_public_names)
