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


def test_ember_jit_stays_right_when_jax_takes_over_the_dispatcher_flags() -> None:
    """jaxlib imports jax on ember's first device-to-host copy when jax is installed, and jax then
    owns the flags jaxlib's C++ dispatcher reads. ember's x64 and disable_jit must still hold."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        import ember.core as ec, ember.core.numpy as jnp
        traces = []
        double = ec.jit(lambda x: (traces.append(1), x * 2)[1])
        x = jnp.arange(3.0)
        double(x)
        float(jnp.ones(()))
        assert "jax" in sys.modules, "jaxlib no longer imports jax here: this test checks nothing"
        double(x); double(x)
        assert len(traces) == 1, traces           # not compiled again once jax is imported
        ec.config.update("enable_x64", True)
        add = ec.jit(lambda x: x + 1)
        results = [add(2 ** 40) for _ in range(3)]   # the C++ path would pass an int32 scalar
        assert all(r.dtype == "int64" and int(r) == 2 ** 40 + 1 for r in results), results
        ec.config.update("enable_x64", False)
        calls = []
        f = ec.jit(lambda x: (calls.append(1), x * 2)[1])
        f(1.0); f(1.0)
        assert len(calls) == 1, calls             # traced once, then served from the cache
        ec.config.update("disable_jit", True)
        f(1.0); f(1.0)
        assert len(calls) == 3, calls             # disable_jit: the Python function runs each time
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_elementwise_derivatives_match_jax() -> None:
    """Derivative rules written as JAX writes them give JAX's numbers to the bit, not merely
    close ones (tanh's, sqrt's and logaddexp's used to round differently)."""
    import ember.core as ec
    import ember.core.numpy as jnp

    x = np.linspace(-4.0, 4.0, 10001, dtype=np.float32)
    cases = {
        "tanh": (jnp.tanh, jax.numpy.tanh, x),
        "sin": (jnp.sin, jax.numpy.sin, x),
        "arctan": (jnp.arctan, jax.numpy.arctan, x),
        "sqrt": (jnp.sqrt, jax.numpy.sqrt, np.abs(x) + 0.01),
        "softplus": (ec.nn.softplus, jax.nn.softplus, x),
        "logaddexp": (lambda v: jnp.logaddexp(v, 0.5), lambda v: jax.numpy.logaddexp(v, 0.5), x),
    }
    for name, (ours, theirs, points) in cases.items():
        got = np.asarray(ec.jit(ec.vmap(ec.grad(ours)))(points))
        want = np.asarray(jax.jit(jax.vmap(jax.grad(theirs)))(points))
        np.testing.assert_array_equal(got, want, err_msg=name)
