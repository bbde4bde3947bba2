"""Generate the API reference (``docs/api/*.md``) from the public docstrings.

    python docs/gen_api.py              # rewrite docs/api/
    python docs/gen_api.py --out DIR    # write somewhere else (the staleness test does this)

For each public module (its ``__all__``), one Markdown page lists every public name, sorted, with
its signature (annotations left out) and the first paragraph of its docstring; a class also lists
its public methods and properties. Standard library only. The output is deterministic: re-running
it on unchanged sources gives the same bytes (``tests/test_docstring_examples.py`` checks that the
committed pages are up to date). A module that cannot be imported (e.g. a package that is not
installed) is skipped with a message and its page is left out.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import os
import re
import sys
from pathlib import Path

try:
    from numpy import generic as np_generic
except ImportError:  # NumPy is a dependency of every package documented here; be safe anyway
    np_generic = ()

ROOT = Path(__file__).resolve().parents[1]

# (module, one-line description) in the order of the index page.
MODULES = (
    ("ember.core", "transformations, arrays, devices (`jax`)"),
    ("ember.core.numpy", "the NumPy API (`jax.numpy`)"),
    ("ember.core.numpy.linalg", "linear algebra (`jax.numpy.linalg`)"),
    ("ember.core.numpy.fft", "discrete Fourier transforms (`jax.numpy.fft`)"),
    ("ember.core.lax", "primitive operations and control flow (`jax.lax`)"),
    ("ember.core.lax.linalg", "decompositions (`jax.lax.linalg`)"),
    ("ember.core.nn", "activations, softmax, attention (`jax.nn`)"),
    ("ember.core.nn.initializers", "parameter initializers (`jax.nn.initializers`)"),
    ("ember.core.random", "explicit-key pseudo-random numbers (`jax.random`)"),
    ("ember.core.tree", "the pytree protocol (`jax.tree`)"),
    ("ember.core.tree_util", "the pytree protocol, long names (`jax.tree_util`)"),
    ("ember.core.sharding", "meshes and shardings (`jax.sharding`)"),
    ("ember.core.scipy.special", "special functions (`jax.scipy.special`)"),
    ("ember.core.scipy.linalg", "SciPy linear algebra (`jax.scipy.linalg`)"),
    ("ember.core.debug", "printing and callbacks in compiled code (`jax.debug`)"),
    ("ember.core.distributed", "multi-process jobs (`jax.distributed`)"),
    ("ember.core.dtypes", "dtype utilities (`jax.dtypes`)"),
    ("ember.nn", "modules, variables, graph functions, lifted transforms, layers (Flax NNX)"),
    ("ember.nn.initializers", "initializers (`flax.nnx.initializers`)"),
    ("ember.nn.metrics", "metrics (`flax.nnx.metrics`)"),
    ("ember.optim", "gradient transformations and optimizers (Optax)"),
    ("ember.optim.schedules", "learning-rate schedules (`optax.schedules`)"),
    ("ember.optim.losses", "loss functions (`optax.losses`)"),
    ("ember.optim.tree_utils", "pytree arithmetic (`optax.tree_utils`)"),
    ("ember.optim.contrib", "newer optimizers (`optax.contrib`)"),
    ("ember.optim.second_order", "Hessian-vector products and diagonals (`optax.second_order`)"),
    ("ember.checkpoint", "async, atomic, sharded checkpoints (Orbax)"),
    ("ember.data", "deterministic input pipelines (Grain)"),
    ("ember.data.sources", "random-access data sources (`grain.sources`)"),
    ("ember.data.transforms", "transforms of the classic DataLoader (`grain.transforms`)"),
    ("ember.data.samplers", "index samplers (`grain.samplers`)"),
    ("ember.data.sharding", "sharding options (`grain.sharding`)"),
    ("ember.data.experimental", "packing, interleaving, mixing (`grain.experimental`)"),
)

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _clean(text: str) -> str:
    """Memory addresses out, RST double backticks to Markdown."""
    return _ADDRESS.sub("", text).replace("``", "`")


def first_paragraph(obj) -> str:
    doc = obj.__doc__ if isinstance(getattr(obj, "__doc__", None), str) else None
    if not doc:
        return ""
    doc = inspect.cleandoc(doc)
    paragraph = []
    for line in doc.splitlines():
        if not line.strip() or line.lstrip().startswith(">>>"):
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    return _clean(" ".join(paragraph))


class _Shown:
    """A default value as the reference shows it (``repr`` of this object is ``text``)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _default(value):
    """Defaults written the same way whatever the NumPy / jaxlib / Python versions: classes and
    functions by name, NumPy scalars as ``float32(1.0)``, no memory addresses."""
    if value is inspect.Parameter.empty:
        return value
    if inspect.isclass(value):
        return _Shown(value.__name__)
    if isinstance(value, np_generic):
        return _Shown(f"{type(value).__name__}({value.item()!r})")
    if callable(value):
        target = inspect.unwrap(value) if hasattr(value, "__wrapped__") else value
        return _Shown(getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or type(value).__name__)
    if type(value) is object:
        return _Shown("<sentinel>")
    return _Shown(_clean(repr(value)))


def signature(obj, name: str) -> str | None:
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        return f"{name}(value)"   # Enum's own call signature differs between Python versions
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    params = [p.replace(annotation=inspect.Parameter.empty, default=_default(p.default))
              for p in sig.parameters.values()]
    if inspect.isclass(obj) and params and params[0].name == "self":
        params = params[1:]
    sig = sig.replace(parameters=params, return_annotation=inspect.Signature.empty)
    return _clean(f"{name}{sig}")


def _anchor(title: str) -> str:
    """GitHub's heading anchor."""
    return re.sub(r"[^a-z0-9_\- ]", "", title.lower()).replace(" ", "-")


def _defined_in(obj) -> str | None:
    target = inspect.unwrap(obj) if callable(obj) else obj
    try:
        path = inspect.getsourcefile(target)
    except TypeError:
        return None
    if not path:
        return None
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return None


def _is_ember(obj) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return isinstance(module, str) and module.startswith("ember.")


def _members(cls) -> list[tuple[str, object]]:
    """Public methods and properties that ember (not a base like tuple or object) defines."""
    out = {}
    for klass in reversed(cls.__mro__):
        if not (klass.__module__ or "").startswith("ember."):
            continue
        for attr, value in vars(klass).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or inspect.isfunction(value):
                out[attr] = value
            elif attr in out:
                del out[attr]      # overridden by a plain attribute
    return sorted(out.items())


def _entry(module_name: str, name: str, obj) -> list[str]:
    lines = [f"### {name}", ""]
    if not _is_ember(obj) and not isinstance(obj, type(sys)):
        origin = getattr(obj, "__module__", None) or type(obj).__module__
        origin = origin.split(".")[0]
        lines += [f"Re-exported from `{origin}` (`{origin}.{getattr(obj, '__name__', name)}`); see its documentation.", ""]
        return lines
    sig = signature(obj, name)
    if sig:
        lines += ["```python", sig, "```", ""]
    text = first_paragraph(obj)
    lines += [text or "*(no docstring)*", ""]
    source = _defined_in(obj)
    if source:
        lines += [f"<sub>Defined in `{source}`.</sub>", ""]
    if inspect.isclass(obj):
        members = _members(obj)
        rows, others = [], []
        for attr, value in members:
            if isinstance(value, property):
                label = f"`{attr}` (property)"
                doc = first_paragraph(value.fget) if value.fget else ""
            else:
                msig = signature(value, attr)
                if msig and "(self, " in msig:
                    msig = msig.replace("(self, ", "(", 1)
                elif msig and msig.endswith("(self)"):
                    msig = msig[: -len("(self)")] + "()"
                label = f"`{msig or attr}`".replace("|", "\\|")
                doc = first_paragraph(value)
            if doc:
                rows.append(f"| {label} | {doc.replace('|', chr(92) + '|')} |")
            else:
                others.append(f"`{attr}`")
        if rows:
            lines += ["| member | |", "| --- | --- |", *rows, ""]
        if others:
            lines += [("Other members: " if rows else "Members: ") + ", ".join(others) + ".", ""]
    return lines


def module_page(module_name: str, description: str, documented: set[str]) -> str:
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    names = sorted(set(names), key=lambda n: (n.lower(), n))
    submodules, constants, entries = [], [], []
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj):
            submodules.append((name, obj.__name__))
        elif callable(obj) or inspect.isclass(obj):
            entries.append((name, obj))
        else:
            constants.append((name, obj))

    out = [f"# `{module_name}`", "", f"{description[0].upper()}{description[1:]}.", ""]
    intro = first_paragraph(module)
    if intro:
        out += [intro, ""]
    out += ["*Generated by `docs/gen_api.py` from the docstrings; do not edit by hand.* "
            "[All modules](README.md).", ""]
    if submodules:
        out += ["**Submodules:** " + ", ".join(
            f"[`{name}`]({full}.md)" if full in documented else f"`{name}`" for name, full in submodules), ""]
    if constants:
        out += ["**Constants:** " + ", ".join(f"`{name}`" for name, _ in constants), ""]
    if entries:
        out += ["**Index:** " + ", ".join(f"[`{name}`](#{_anchor(name)})" for name, _ in entries), ""]
    for name, obj in entries:
        out += _entry(module_name, name, obj)
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "api")
    args = parser.parse_args(argv)
    os.environ.setdefault("EMBER_NUM_CPU_DEVICES", "1")

    pages, skipped = {}, []
    importable = []
    for name, description in MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            skipped.append(name)
            print(f"gen_api: skipping {name} ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        importable.append((name, description))
    documented = {name for name, _ in importable}
    for name, description in importable:
        pages[f"{name}.md"] = module_page(name, description, documented)

    index = ["# API reference", "",
             "One page per public module: every public name with its signature and the first paragraph "
             "of its docstring. Most docstrings carry a runnable example (`>>>`); "
             "`tests/test_docstring_examples.py` runs them all.", "",
             "*Generated by `docs/gen_api.py`; re-run `python docs/gen_api.py` after changing a public "
             "docstring.*", "",
             "| module | what |", "| --- | --- |"]
    index += [f"| [`{name}`]({name}.md) | {description} |" for name, description in importable]
    pages["README.md"] = "\n".join(index) + "\n"

    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.md"):
        if old.name not in pages and old.stem not in skipped:
            old.unlink()
    for filename, text in sorted(pages.items()):
        (args.out / filename).write_text(text, encoding="utf-8")
    print(f"gen_api: wrote {len(pages)} pages to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
