"""The oracles of the parity session import, and run in one process with ember.core on the same jaxlib."""

import importlib

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="reference libraries not installed (run `nox -s parity`)")


@pytest.mark.parametrize("module", ["flax.nnx", "optax", "orbax.checkpoint", "grain"])
def test_reference_library_imports(module: str) -> None:
    importlib.import_module(module)


def test_jax_and_ember_share_jaxlib() -> None:
    import jaxlib

    import ember.core as ec

    assert jax.__version__ == jaxlib.__version__, "jax and jaxlib versions differ: comparisons would be unfair"

    def f(x):
        return x * 2.0 + 1.0

    x = np.arange(4.0, dtype=np.float32)
    np.testing.assert_allclose(np.asarray(ec.jit(f)(x)), np.asarray(jax.jit(f)(x)))
