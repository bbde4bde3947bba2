"""The examples in the public docstrings of the five packages run and print what they say.

Every public module's own docstring and the docstrings of the names it exports (classes with their
methods) are collected with ``doctest.DocTestFinder``; each object is tested once, under the first
public module that exports it. Examples run in the namespace of the module that defines the object,
as ``doctest.testmod`` would run them. ``ember.nn`` is skipped when it cannot be imported.

The second test checks that the API reference in ``docs/api/`` is what ``docs/gen_api.py`` writes
from the current docstrings (re-run ``python docs/gen_api.py`` after changing a public docstring),
and the third that the Python blocks of the Markdown guides in ``docs/`` run.
"""

from __future__ import annotations

import doctest
import filecmp
import importlib
import inspect
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# The sharding examples use every device; the package test suites run on eight virtual CPU devices.
os.environ.setdefault("EMBER_NUM_CPU_DEVICES", "8")

ROOT = Path(__file__).resolve().parents[1]

# Public modules, in the order that decides which module "owns" an object exported by several.
PUBLIC_MODULES = (
    "ember.core", "ember.core.numpy", "ember.core.numpy.linalg", "ember.core.numpy.fft",
    "ember.core.lax", "ember.core.lax.linalg", "ember.core.nn", "ember.core.nn.initializers",
    "ember.core.random", "ember.core.tree", "ember.core.tree_util", "ember.core.sharding",
    "ember.core.scipy", "ember.core.scipy.special", "ember.core.scipy.linalg", "ember.core.debug",
    "ember.core.distributed", "ember.core.dtypes",
    "ember.optim", "ember.optim.schedules", "ember.optim.losses", "ember.optim.tree_utils",
    "ember.optim.contrib", "ember.optim.second_order",
    "ember.checkpoint",
    "ember.data", "ember.data.sources", "ember.data.transforms", "ember.data.samplers",
    "ember.data.sharding", "ember.data.experimental",
    "ember.nn", "ember.nn.initializers", "ember.nn.metrics",
)
OPTIONAL = ("ember.nn",)   # another package may still be in progress: skip it if it does not import
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _import(name: str):
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001
        if name.startswith(OPTIONAL):
            return exc
        raise


def _public_objects() -> dict[str, list[tuple[str, object]]]:
    """module name -> [(qualified name, object)], each object under the first module exporting it."""
    seen: set[int] = set()
    owned: dict[str, list[tuple[str, object]]] = {}
    for name in PUBLIC_MODULES:
        module = _import(name)
        if isinstance(module, Exception):
            owned[name] = []
            continue
        objects = [(name, module)]           # the module's own docstring (not recursing into it)
        exported = getattr(module, "__all__", None)
        if exported is None:
            exported = [n for n in vars(module) if not n.startswith("_")]
        for attr in sorted(set(exported)):
            obj = getattr(module, attr, None)
            if obj is None or inspect.ismodule(obj) or not (callable(obj) or inspect.isclass(obj)):
                continue
            if not str(getattr(obj, "__module__", None) or "").startswith("ember."):
                continue   # re-exported from NumPy (jnp.save, ...): documented there
            objects.append((f"{name}.{attr}", obj))
        owned[name] = []
        for qualname, obj in objects:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            owned[name].append((qualname, obj))
    return owned


_OWNED = _public_objects()


def _tests_of(qualname: str, obj) -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(recurse=not inspect.ismodule(obj))
    try:
        return finder.find(obj, qualname)
    except ValueError:   # an object whose defining module cannot be found: use no globals
        return finder.find(obj, qualname, module=False, globs={})


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_docstring_examples(module_name, tmp_path, monkeypatch):
    module = _import(module_name)
    if isinstance(module, Exception):
        pytest.skip(f"{module_name} does not import: {module!r}")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))   # the examples' tempfile.mkdtemp() folders
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failures: list[str] = []
    for qualname, obj in _OWNED[module_name]:
        for test in _tests_of(qualname, obj):
            report: list[str] = []
            result = runner.run(test, out=report.append, clear_globs=True)
            if result.failed:
                failures.append("".join(report))
    assert not failures, f"{len(failures)} docstring(s) with failing examples:\n" + "\n".join(failures)


def test_api_reference_is_up_to_date(tmp_path):
    """docs/api/ is what docs/gen_api.py writes now (modules that do not import here are left out)."""
    out = tmp_path / "api"
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "gen_api.py"), "--out", str(out)],
                          env={**os.environ, "EMBER_NUM_CPU_DEVICES": "1"}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    committed = ROOT / "docs" / "api"
    skipped = {line.split()[2] + ".md" for line in proc.stderr.splitlines() if line.startswith("gen_api: skipping")}
    generated = sorted(p.name for p in out.iterdir())
    expected = sorted(p.name for p in committed.iterdir() if p.name not in skipped)
    assert generated == expected, "docs/api/ has other files than docs/gen_api.py writes: run python docs/gen_api.py"
    compared = [name for name in generated if not (skipped and name == "README.md")]   # the index lists the modules
    _, mismatch, errors = filecmp.cmpfiles(committed, out, compared, shallow=False)
    assert not mismatch + errors, f"docs/api/ is stale ({', '.join(mismatch + errors)}): run python docs/gen_api.py"


GUIDES = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name not in {"architecture.md", "README.md"})
NEEDS_NN = {"getting-started.md", "guide-nn.md", "coming-from-flax.md"}


@pytest.mark.parametrize("page", GUIDES)
def test_guide_code_blocks_run(page):
    """Every ```python block of the guides runs (docs/check_snippets.py; ```python notest blocks are shown only)."""
    if page in NEEDS_NN and isinstance(_import("ember.nn"), Exception):
        pytest.skip("ember.nn does not import")
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "check_snippets.py"), str(ROOT / "docs" / page)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
