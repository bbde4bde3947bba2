"""Build, test and lint sessions for the Ember monorepo.

    nox -l                      list sessions
    nox                         = nox -s lint tests-3.11   (the README's test command runs tests-3.11)
    nox -s tests                the whole suite on every (Python, jaxlib) leg of the matrix
    nox -s tests-3.12 -- -k tree -x       extra arguments after `--` go to pytest
    nox -s test_nn-3.11         one package's tests (test_data also runs without ember-core)
    nox -s demo                 python examples/train_lm.py (the main job)
    nox -s bench                benchmarks/bench_*.py against jax/flax/optax/orbax/grain
    nox -s parity               tests/parity against the same reference libraries
    nox -r -s tests-3.11        reuse the session's virtualenv (-R: reuse it and skip installs)

Every session installs into its own fresh virtualenv. The reference libraries (jax, flax, optax,
orbax-checkpoint, grain) are installed only by `bench` and `parity`: they are test oracles, never
dependencies of an ember package.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox
import nox.command

ROOT = Path(__file__).resolve().parent
PACKAGES = ("core", "nn", "optim", "checkpoint", "data")

# The (Python, jaxlib) matrix: the oldest supported jaxlib on the oldest Python, the newest on the newest.
JAXLIB = {
    "3.11": "jaxlib>=0.10,<0.11",
    "3.12": "jaxlib>=0.12,<0.13",
}
PYTHONS = list(JAXLIB)

# Test oracles for `bench` and `parity`, pinned to the jaxlib of the 3.11 leg.
REFERENCE_LIBRARIES = ("jax==0.10.2", "flax", "optax", "orbax-checkpoint", "grain")
REFERENCE_PYTHON = "3.11"

TEST_TOOLS = ("pytest", "pytest-xdist")

nox.options.sessions = ["lint", "tests-3.11"]
nox.options.error_on_missing_interpreters = True  # a leg whose Python is missing must fail, not pass silently


def _editable(*packages: str) -> list[str]:
    args: list[str] = []
    for name in packages:
        args += ["-e", f"packages/{name}"]
    return args


def _install_ember(session: nox.Session, *packages: str, extra: tuple[str, ...] = TEST_TOOLS) -> None:
    """Install ember packages (editable) with the jaxlib of this session's leg, in one resolver call."""
    jaxlib = JAXLIB.get(str(session.python), JAXLIB[PYTHONS[0]])
    session.install(jaxlib, *extra, *_editable(*packages))


def _test_dirs(*packages: str) -> list[str]:
    """The tests/ folders of these packages that exist (git does not keep empty folders)."""
    return [f"packages/{name}/tests" for name in packages if (ROOT / "packages" / name / "tests").is_dir()]


def _pytest(session: nox.Session, *paths: str) -> None:
    if not paths:
        session.warn("no test folders found; nothing to run")
        return
    # Exit code 5 = "no tests collected": packages may have an empty tests/ while they are being written.
    session.run("pytest", "-n", "auto", "--durations=15", *paths, *session.posargs, success_codes=[0, 5])


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Whole suite: every package's tests/ and the cross-package tests/ at the root."""
    _install_ember(session, *PACKAGES)
    paths = _test_dirs(*PACKAGES)
    if (ROOT / "tests").is_dir():
        paths.append("tests")
    _pytest(session, *paths)


def _package_session(name: str):
    def session_func(session: nox.Session) -> None:
        _install_ember(session, "core", name)
        _pytest(session, *_test_dirs(name))

    session_func.__doc__ = f"ember.{name} tests (with ember-core installed)."
    return session_func


for _name in ("core", "nn", "optim", "checkpoint"):
    nox.session(name=f"test_{_name}", python=PYTHONS)(_package_session(_name))


_ABSENT_CHECK = (
    "import importlib.util as u, sys; f = [m for m in %r if u.find_spec(m)]; sys.exit(f'installed: {f}' if f else 0)"
)


@nox.session(python=PYTHONS)
def test_data(session: nox.Session) -> None:
    """ember.data tests twice: first WITHOUT ember-core (and jaxlib) installed, then with it."""
    session.install(*TEST_TOOLS, *_editable("data"))
    # A reused virtualenv (-r) still holds ember-core from the second half of the previous run.
    uninstall = ("python", "-m", "pip", "uninstall", "--yes", "ember-core", "jaxlib", "ml_dtypes")
    if session.run_install(*uninstall, silent=True) is None:  # -R / --no-install on a reused virtualenv
        session.warn("--no-install: skipping the tests without ember-core (run without -R to include them)")
    else:
        session.log("ember.data tests without ember-core")
        session.run("python", "-c", _ABSENT_CHECK % ["ember.core", "jaxlib"])
        _pytest(session, *_test_dirs("data"))

    session.log("ember.data tests with ember-core")
    _install_ember(session, "core", "data")
    _pytest(session, *_test_dirs("data"))


@nox.session(python=REFERENCE_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check, then the import-linter contracts of pyproject.toml [tool.importlinter]."""
    session.install("ruff", "import-linter")
    # import-linter only needs the sources importable: install without dependencies (no jaxlib download).
    session.install("--no-deps", *_editable(*PACKAGES))
    targets = [p for p in ("packages", "tests", "examples", "benchmarks", "noxfile.py") if (ROOT / p).exists()]
    # Run both checks even when the first fails, so that one CI run reports everything.
    ruff_env = {"RUFF_OUTPUT_FORMAT": os.environ.get("RUFF_OUTPUT_FORMAT", "concise")}
    failed = []
    checks = [(["ruff", "check", *targets, *session.posargs], ruff_env), (["lint-imports", "--no-cache"], {})]
    for command, env in checks:
        try:
            session.run(*command, env=env)
        except nox.command.CommandFailed:
            failed.append(command[0])
    if failed:
        session.error(f"failed: {', '.join(failed)}")


@nox.session(python=REFERENCE_PYTHON)
def demo(session: nox.Session) -> None:
    """Install everything and run the main job: train the byte-level language model of
    examples/train_lm.py (all five packages; about 5 minutes on 2 CPU cores). Arguments after
    `--` go to the script (e.g. `nox -s demo -- --steps 100 --devices 2`)."""
    _install_ember(session, *PACKAGES, extra=())
    session.run("python", "examples/train_lm.py", *session.posargs)


@nox.session(python=REFERENCE_PYTHON)
def bench(session: nox.Session) -> None:
    """Every benchmarks/bench_*.py, each printing ratios against the reference library."""
    scripts = sorted((ROOT / "benchmarks").glob("bench_*.py"))
    if not scripts:
        session.skip("no benchmarks/bench_*.py yet")
    _install_ember(session, *PACKAGES, extra=REFERENCE_LIBRARIES)
    for script in scripts:
        session.log(f"--- {script.relative_to(ROOT)}")
        session.run("python", str(script.relative_to(ROOT)), *session.posargs)
    session.run("python", "benchmarks/collect_results.py")  # every report into benchmarks/RESULTS.md


@nox.session(python=REFERENCE_PYTHON)
def parity(session: nox.Session) -> None:
    """tests/parity: ember against jax, flax, optax, orbax and grain as oracles."""
    _install_ember(session, *PACKAGES, extra=(*TEST_TOOLS, *REFERENCE_LIBRARIES))
    _pytest(session, "tests/parity")
