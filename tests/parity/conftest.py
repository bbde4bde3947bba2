"""Reference parity: ember against JAX, Flax, Optax, Orbax and Grain as test oracles.

How to run: `nox -s parity` (Python 3.11). That session installs the five ember packages next to the
reference libraries (jax==0.10.2, so jax and ember.core share jaxlib 0.10.2, plus flax, optax,
orbax-checkpoint, grain). The reference libraries are never dependencies of an ember package and are
installed by no other session.

Layout: one file per ember package and topic, named after the package it checks, e.g.
`test_core_numpy.py`, `test_core_grad.py`, `test_nn_linear.py`, `test_optim_adam.py`,
`test_checkpoint_orbax_layout.py`, `test_data_grain_shuffle.py`. Import the oracles at module top
(`import jax`, `import optax`...): this conftest keeps such files out of collection wherever jax is not
importable (e.g. `nox -s tests`), so they never fail there; `test_reference_libraries.py` alone stays
collected and reports the folder as skipped.

Compare values, not timings (timings belong in benchmarks/, `nox -s bench`).
"""

import importlib.util
from pathlib import Path

if importlib.util.find_spec("jax") is None:
    _here = Path(__file__).parent
    collect_ignore = [
        p.name
        for p in _here.iterdir()
        if p.name not in ("conftest.py", "__init__.py", "__pycache__", "test_reference_libraries.py")
    ]
