"""How much of NumPy's public API ``ember.core.numpy`` implements.

NumPy's public callables are ``[n for n in dir(numpy) if callable(getattr(numpy, n)) and not
n.startswith('_')]`` plus those of ``numpy.linalg`` and ``numpy.fft`` (counted as ``linalg.x`` and
``fft.x``). A name is implemented when ``ember.core.numpy`` (or its ``linalg`` / ``fft`` module)
has it. Usable from a script::

    python packages/core/tests/numpy_coverage.py          # the summary line
    python packages/core/tests/numpy_coverage.py --missing  # and the names still missing
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType

import numpy as np

SUBMODULES = ("linalg", "fft")


def _public_callables(module: ModuleType) -> list[str]:
    names = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated aliases warn on access
        for name in dir(module):
            if name.startswith("_"):
                continue
            try:
                value = getattr(module, name)
            except AttributeError:
                continue
            if callable(value) and not isinstance(value, ModuleType):
                names.append(name)
    return sorted(names)


def numpy_names() -> list[str]:
    """NumPy's public callables, with ``linalg.``/``fft.`` prefixes for the submodules."""
    names = _public_callables(np)
    for sub in SUBMODULES:
        names += [f"{sub}.{n}" for n in _public_callables(getattr(np, sub))]
    return names


def _ember_module(sub: str | None) -> ModuleType | None:
    name = "ember.core.numpy" + (f".{sub}" if sub else "")
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def has(name: str) -> bool:
    """Whether ``ember.core.numpy`` provides ``name`` (``'linalg.inv'`` style for submodules)."""
    sub, _, leaf = name.rpartition(".")
    module = _ember_module(sub or None)
    return module is not None and hasattr(module, leaf)


def coverage() -> tuple[int, int, list[str]]:
    """(implemented, total, missing names) over NumPy's public callables."""
    names = numpy_names()
    missing = [n for n in names if not has(n)]
    return len(names) - len(missing), len(names), missing


def summary() -> str:
    implemented, total, _ = coverage()
    return f"ember.core.numpy implements {implemented} of NumPy's {total} public functions"


if __name__ == "__main__":
    implemented, total, missing = coverage()
    print(summary())
    if "--missing" in sys.argv[1:]:
        print("missing:", " ".join(missing))
