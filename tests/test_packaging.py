"""Cross-package checks of the five distributions.

- metadata: names, versions, bounds between siblings, the files every package ships;
- each package builds a wheel and installs ALONE (with only its declared dependencies) into a fresh
  virtualenv, where it imports;
- the layering rules, checked statically on the source (deliberately duplicating the import-linter
  contracts of `nox -s lint`, so that the test suite alone catches a violation).
"""

from __future__ import annotations

import ast
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "nn", "optim", "checkpoint", "data")
HIGHER = ("nn", "optim", "checkpoint", "data")
# Reference libraries: test oracles for `nox -s parity` / `nox -s bench`, never imported nor depended on.
REFERENCE_IMPORTS = frozenset({"jax", "flax", "optax", "orbax", "grain"})
REFERENCE_DISTRIBUTIONS = frozenset({"jax", "flax", "optax", "orbax", "orbax-checkpoint", "grain", "grain-nightly"})

_VERSION_RE = re.compile(r"""^__version__\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", re.MULTILINE)


def _pyproject(name: str) -> dict:
    return tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text(encoding="utf-8"))


def _init_version(name: str) -> str:
    init = ROOT / "packages" / name / "src" / "ember" / name / "__init__.py"
    match = _VERSION_RE.search(init.read_text(encoding="utf-8"))
    assert match, f"{init.relative_to(ROOT)} has no literal __version__ = '...'"
    return match.group(1)


def _version(name: str) -> str:
    """The package's version as its build backend sees it (static, or dynamic from __init__.py)."""
    project = _pyproject(name)["project"]
    if "version" in project:
        return project["version"]
    assert "version" in project.get("dynamic", []), f"packages/{name}: [project] has neither version nor dynamic"
    return _init_version(name)


def _requirements(name: str, *, extras: bool = True) -> list[Requirement]:
    """Declared runtime requirements; with extras=True also those of every optional extra."""
    project = _pyproject(name)["project"]
    reqs = list(project.get("dependencies", []))
    if extras:
        for extra in project.get("optional-dependencies", {}).values():
            reqs += extra
    return [Requirement(r) for r in reqs]


# ------------------------------------------------------------------------------------------- metadata


@pytest.mark.parametrize("name", PACKAGES)
def test_package_metadata(name: str) -> None:
    pkg = ROOT / "packages" / name
    project = _pyproject(name)["project"]
    assert project["name"] == f"ember-{name}"
    version = _version(name)
    Version(version)  # a valid PEP 440 version
    assert _init_version(name) == version, f"ember.{name}.__version__ differs from packages/{name}/pyproject.toml"
    dynamic_path = _pyproject(name).get("tool", {}).get("hatch", {}).get("version", {}).get("path")
    if dynamic_path is not None:
        assert dynamic_path == f"src/ember/{name}/__init__.py"
    assert project.get("requires-python") == ">=3.11"

    for required in ("README.md", "CHANGELOG.md", f"src/ember/{name}/py.typed", f"src/ember/{name}/__init__.py"):
        assert (pkg / required).is_file(), f"packages/{name}/{required} is missing"
    changelog = (pkg / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^##\s+\[?{re.escape(version)}\b", changelog, re.MULTILINE), (
        f"packages/{name}/CHANGELOG.md has no '## {version}' section"
    )


@pytest.mark.parametrize("name", PACKAGES)
def test_no_ember_init_py(name: str) -> None:
    """`ember` is a PEP 420 namespace: no distribution may ship ember/__init__.py."""
    offenders = [p.relative_to(ROOT) for p in (ROOT / "packages" / name).rglob("ember/__init__.py")]
    assert not offenders, f"namespace package broken by {offenders}"


@pytest.mark.parametrize("name", PACKAGES)
def test_dependencies(name: str) -> None:
    """Bounds on siblings admit the sibling's current version; no reference library is a dependency."""
    for req in _requirements(name):
        dist = canonicalize_name(req.name)
        assert dist not in REFERENCE_DISTRIBUTIONS, f"ember-{name} depends on the reference library {req}"
        if dist.startswith("ember-"):
            sibling = dist.removeprefix("ember-")
            assert sibling in PACKAGES, f"ember-{name} depends on unknown {req}"
            assert sibling != name
            assert req.specifier, f"ember-{name}: {req} must carry version bounds"
            assert req.specifier.contains(_version(sibling), prereleases=True), (
                f"ember-{name} requires {req} but packages/{sibling} is at {_version(sibling)}"
            )
    if name == "data":
        # ember-core is optional for ember-data (an extra), never a hard dependency.
        assert "ember-core" not in {canonicalize_name(r.name) for r in _requirements("data", extras=False)}


# ------------------------------------------------------------------------------------ static layering


def _module_name(path: Path, src: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(src).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def _imports(path: Path, src: Path):
    """(absolute module name, line) for every import in a file, relative imports resolved."""
    module, is_package = _module_name(path, src)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base_parts = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield base, node.lineno
            for alias in node.names:  # `from ember.core import _src` imports the submodule ember.core._src
                if alias.name != "*":
                    yield f"{base}.{alias.name}", node.lineno
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            func_name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if func_name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                yield node.args[0].value, node.lineno


def _source_files(name: str):
    src = ROOT / "packages" / name / "src"
    for path in sorted(src.rglob("*.py")):
        yield path, src


@pytest.mark.parametrize("name", HIGHER)
def test_no_core_private_imports(name: str) -> None:
    """ember.nn/optim/checkpoint/data use only ember.core's public API, never ember.core._src."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {mod}"
        for path, src in _source_files(name)
        for mod, line in _imports(path, src)
        if mod == "ember.core._src" or mod.startswith("ember.core._src.")
    ]
    assert not offenders, "imports of ember.core._src:\n" + "\n".join(offenders)


@pytest.mark.parametrize("name", PACKAGES)
def test_no_reference_library_imports(name: str) -> None:
    """No ember package imports jax, flax, optax, orbax or grain (jaxlib is allowed)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {mod}"
        for path, src in _source_files(name)
        for mod, line in _imports(path, src)
        if mod.split(".")[0] in REFERENCE_IMPORTS
    ]
    assert not offenders, "imports of reference libraries:\n" + "\n".join(offenders)


def test_static_import_scan_catches_violations(tmp_path: Path) -> None:
    """The scanner above sees absolute, relative, `from x import submodule` and importlib imports."""
    src = tmp_path / "src"
    mod = src / "ember" / "nn" / "sub" / "mod.py"
    mod.parent.mkdir(parents=True)
    mod.write_text(
        "import jax.numpy as jnp\n"
        "from ember.core import _src\n"
        "from ...core._src.tree import flatten\n"
        "from . import sibling\n"
        "import importlib\n"
        "importlib.import_module('flax.nnx')\n"
        "import jaxlib\n",
        encoding="utf-8",
    )
    found = {m for m, _ in _imports(mod, src)}
    assert {"jax.numpy", "ember.core._src", "ember.core._src.tree", "ember.nn.sub.sibling", "flax.nnx"} <= found
    assert "jaxlib" in found and "jaxlib" not in REFERENCE_IMPORTS


# ------------------------------------------------------------------------------ install each alone


def _run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, **kwargs)
    if proc.returncode != 0:
        raise AssertionError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"--- stdout\n{proc.stdout[-4000:]}\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc


def _pip_supports_python_option() -> bool:
    """pip >= 22.3 can install into another interpreter (`pip --python`): venvs then need no pip of their own."""
    try:
        import pip
    except ImportError:
        return False
    return Version(pip.__version__) >= Version("22.3")


def _install_alone(name: str, wheels: dict[str, Path], wheel_dir: Path, base: Path) -> dict:
    venv_dir = base / f"venv-{name}"
    outer_pip = _pip_supports_python_option()
    _run([sys.executable, "-m", "venv", *([] if not outer_pip else ["--without-pip"]), venv_dir])
    python = venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pip = [sys.executable, "-m", "pip", "--python", python] if outer_pip else [python, "-m", "pip"]

    # The package's own wheel and those of the ember packages it hard-depends on (not extras: ember-data
    # installs without ember-core); every other dependency comes from the index.
    needs = [name] + [
        canonicalize_name(r.name).removeprefix("ember-")
        for r in _requirements(name, extras=False)
        if canonicalize_name(r.name).startswith("ember-")
    ]
    _run([*pip, "install", "--no-compile", "--find-links", wheel_dir, *[wheels[n] for n in needs]])
    _run([*pip, "check"])
    probe = (
        "import importlib, importlib.util, json, sys\n"
        f"m = importlib.import_module('ember.{name}')\n"
        "import ember\n"
        "print(json.dumps({'version': m.__version__,"
        " 'ember_file': getattr(ember, '__file__', None),"
        " 'present': sorted(n for n in ['ember.' + p for p in %r] + %r if importlib.util.find_spec(n))}))\n"
    ) % (list(PACKAGES), sorted(REFERENCE_IMPORTS | {"jaxlib"}))
    out = _run([python, "-I", "-c", probe], cwd=base).stdout
    return {"needs": needs, **json.loads(out.strip().splitlines()[-1])}


def test_each_package_builds_and_installs_alone(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheels"
    sources = [ROOT / "packages" / n for n in PACKAGES]
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", wheel_dir, *sources])
    wheels: dict[str, Path] = {}
    for whl in wheel_dir.glob("ember_*.whl"):
        dist, version = whl.name.split("-")[:2]
        name = dist.removeprefix("ember_")
        assert version == _version(name)
        wheels[name] = whl
    assert sorted(wheels) == sorted(PACKAGES)

    for name, whl in wheels.items():
        with zipfile.ZipFile(whl) as zf:
            files = zf.namelist()
        stray = [f for f in files if not f.startswith((f"ember/{name}/", f"ember_{name}-"))]
        assert not stray, f"{whl.name} ships files outside ember/{name}/: {stray[:10]}"
        assert f"ember/{name}/py.typed" in files
        assert "ember/__init__.py" not in files

    workers = min(len(PACKAGES), max(2, os.cpu_count() or 2))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {n: pool.submit(_install_alone, n, wheels, wheel_dir, tmp_path) for n in PACKAGES}
        results = {n: f.result() for n, f in futures.items()}

    for name, res in results.items():
        assert res["version"] == _version(name)
        assert res["ember_file"] is None, f"`ember` is not a namespace package in the ember-{name} venv"
        expected = {f"ember.{n}" for n in res["needs"]} | ({"jaxlib"} if "core" in res["needs"] else set())
        assert set(res["present"]) == expected, f"ember-{name} alone: want {sorted(expected)}, got {res['present']}"
