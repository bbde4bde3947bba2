"""jit: caching, static and donated arguments, pytrees, nesting, ahead-of-time lowering."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax


def test_traces_once_per_signature():
    traces = []

    @ec.jit
    def f(x, y):
        traces.append(1)
        return x * y + 1

    x = jnp.arange(3.0)
    for _ in range(3):
        out = f(x, x)
    np.testing.assert_allclose(np.asarray(out), np.arange(3.0) ** 2 + 1)
    assert len(traces) == 1
    f(jnp.arange(4.0), jnp.arange(4.0))  # new shape: a new trace
    f(jnp.arange(3), jnp.arange(3))      # new dtype: a new trace
    assert len(traces) == 3
    f(x, x)
    assert len(traces) == 3


def test_python_scalars_and_numpy_arguments():
    f = ec.jit(lambda x, y: x + y)
    out = f(np.float32([1, 2]), 2.0)
    assert out.dtype == np.float32 and np.asarray(out).tolist() == [3.0, 4.0]
    assert f(1, 2).weak_type  # two Python ints: a weakly typed int32
    assert int(f(1, 2)) == 3


def test_static_argnums_and_argnames():
    calls = []

    def power(x, n, *, mode="plain"):
        calls.append((n, mode))
        return x ** n if mode == "plain" else -(x ** n)

    f = ec.jit(power, static_argnums=1, static_argnames="mode")
    x = jnp.arange(3.0)
    np.testing.assert_allclose(np.asarray(f(x, 2)), [0, 1, 4])
    np.testing.assert_allclose(np.asarray(f(x, 3, mode="neg")), [0, -1, -8])
    f(x, 2)
    assert calls == [(2, "plain"), (3, "neg")]
    g = ec.jit(power, static_argnames=("n",))  # name given, number inferred
    np.testing.assert_allclose(np.asarray(g(x, n=2)), [0, 1, 4])
    with pytest.raises(ValueError, match="hashable"):
        ec.jit(lambda x, cfg: x, static_argnums=1)(x, [1, 2])


def test_pytree_arguments_and_results():
    @ec.jit
    def f(params, batch):
        return {"y": params["w"] * batch[0] + params["b"], "aux": (batch[1],)}

    params = {"w": jnp.asarray(np.float32(2)), "b": jnp.asarray(np.float32(1))}
    out = f(params, (jnp.arange(3.0), jnp.asarray(np.int32(7))))
    assert set(out) == {"y", "aux"}
    np.testing.assert_allclose(np.asarray(out["y"]), [1, 3, 5])
    assert int(out["aux"][0]) == 7


def test_keyword_arguments_are_traced():
    f = ec.jit(lambda x, *, scale: x * scale)
    np.testing.assert_allclose(np.asarray(f(jnp.arange(2.0), scale=jnp.asarray(np.float32(3)))), [0, 3])


def test_closure_constants():
    w = jnp.arange(3.0)
    f = ec.jit(lambda x: x * w)
    np.testing.assert_allclose(np.asarray(f(jnp.ones(3))), [0, 1, 2])


def test_nested_jit_and_jit_of_jit():
    inner = ec.jit(lambda x: jnp.sin(x) * 2)
    outer = ec.jit(lambda x: inner(x) + inner(x + 1))
    x = np.float32([0.1, 0.2])
    np.testing.assert_allclose(np.asarray(outer(x)), 2 * np.sin(x) + 2 * np.sin(x + 1), rtol=1e-6)
    assert "pjit" in str(ec.make_jaxpr(outer)(x))
    np.testing.assert_allclose(np.asarray(ec.jit(ec.jit(inner))(x)), 2 * np.sin(x), rtol=1e-6)


def test_donation_reuses_the_buffer_and_protects_later_use():
    f = ec.jit(lambda x: x + 1, donate_argnums=0)
    x = jnp.arange(4.0) * 1
    y = f(x)
    np.testing.assert_allclose(np.asarray(y), [1, 2, 3, 4])
    assert x.is_deleted()
    with pytest.raises(RuntimeError, match="deleted or donated"):
        np.asarray(x)
    with pytest.raises((RuntimeError, ValueError), match="deleted or donated"):
        f(x)


def test_lower_compile_and_cost_analysis():
    f = ec.jit(lambda x, y: jnp.tanh(x) * y)
    lowered = f.lower(ec.ShapeDtypeStruct((4,), np.float32), jnp.ones(4))
    text = lowered.as_text()
    assert "stablehlo.tanh" in text and "func.func public @main" in text
    compiled = lowered.compile()
    np.testing.assert_allclose(np.asarray(compiled(jnp.zeros(4), jnp.ones(4))), np.zeros(4))
    cost = compiled.cost_analysis()
    assert cost.get("flops", 0) >= 4 or cost.get("transcendentals", 0) >= 4
    assert "tanh" in compiled.as_text()
    with pytest.raises(TypeError, match="compiled for"):
        compiled(jnp.zeros(3), jnp.ones(3))
    assert f.eval_shape(ec.ShapeDtypeStruct((2,), np.float32), jnp.ones(2)).shape == (2,)


def test_unused_arguments_are_pruned_but_calls_still_work():
    traces = []

    @ec.jit
    def f(x, unused):
        traces.append(1)
        return x * 2

    for _ in range(2):
        np.testing.assert_allclose(np.asarray(f(jnp.ones(2), jnp.ones(5))), [2, 2])
    assert len(traces) == 1


def test_non_array_output_is_an_error():
    with pytest.raises(TypeError, match=r"returned a str at \['name'\]"):
        ec.jit(lambda x: {"name": "x", "v": x})(jnp.ones(1))


def test_non_array_argument_is_an_error():
    with pytest.raises(TypeError, match="mark it static"):
        ec.jit(lambda x, s: x)(jnp.ones(1), "hello")


def test_disable_jit_runs_python():
    seen = []

    def f(x):
        seen.append(type(x).__name__)
        return x + 1

    ec.config.update("disable_jit", True)
    try:
        ec.jit(f)(jnp.ones(2))
    finally:
        ec.config.update("disable_jit", False)
    assert seen == ["Array"]


def test_concretization_error_points_at_user_code():
    def f(x):
        if x > 0:  # a traced value in Python control flow
            return x
        return -x

    with pytest.raises(ec.ConcretizationError, match=r"(?s)truth value of a traced array.*test_jit\.py"):
        ec.jit(f)(1.0)
    # static arguments make it fine
    assert float(ec.jit(f, static_argnums=0)(2.0)) == 2.0


def test_escaped_tracer_is_reported():
    leaked = []

    @ec.jit
    def f(x):
        leaked.append(x)
        return x

    f(1.0)
    with pytest.raises(ec.UnexpectedTracerError, match="after the transformation that created it had finished"):
        ec.jit(lambda y: y + leaked[0])(1.0)


def test_jit_as_method_passes_self_as_an_argument():
    class Model:
        @ec.jit
        def apply(self, x):
            return x * 2

    # as in JAX: self is an argument, so it must be a pytree of arrays or static
    with pytest.raises(TypeError, match="argument of type Model is not an array"):
        Model().apply(jnp.ones(2))


def test_results_are_independent_of_argument_devices_on_one_device():
    f = ec.jit(lambda x: lax.reduce_sum(x, (0,)))
    assert float(f(ec.device_put(np.float32([1, 2, 3])))) == 6.0


def test_captured_scalar_arrays_become_program_constants():
    """A closed-over scalar array is written into the program (XLA can fold it), as a NumPy scalar
    would be. Weak types survive."""
    scale, offset = jnp.asarray(3.0), jnp.arange(3.0)
    f = ec.jit(lambda x: x * scale + offset)
    main = next(line for line in f.lower(jnp.ones(3)).as_text().splitlines() if "@main(" in line)
    assert main.count("%arg") == 1, main   # x alone: the scalar is inlined, the small vector embedded
    np.testing.assert_array_equal(np.asarray(f(jnp.ones(3))), [3.0, 4.0, 5.0])
    _, f_jvp = ec.linearize(jnp.sin, 0.0)   # closes over cos(0.0), a weakly typed scalar
    out = ec.jit(f_jvp)(2.0)
    assert out.weak_type and float(out) == 2.0


def _main_signature(f, *args):
    return next(line for line in f.lower(*args).as_text().splitlines() if "@main(" in line)


def test_captured_arrays_up_to_the_limit_are_embedded_larger_ones_are_arguments():
    """As in JAX, arrays a function closes over are written into its program (XLA folds them and
    keeps loop-invariant ones in loops); above ``embedded_constants_max_bytes`` they are passed
    as arguments instead. The numbers are the same either way, eagerly, jitted and with donation."""
    rng = np.random.default_rng(0)
    small_np = rng.normal(size=(4, 4)).astype(np.float32)          # 64 bytes
    large_np = rng.normal(size=(64, 4)).astype(np.float32)         # 1024 bytes
    small, large = jnp.asarray(small_np), jnp.asarray(large_np)
    x_np = rng.normal(size=(4,)).astype(np.float32)
    expected = small_np @ x_np + (large_np @ x_np).sum()

    def make():
        return ec.jit(lambda x: small @ x + (large @ x).sum(), donate_argnums=0)

    limit = ec.config.read("embedded_constants_max_bytes")
    try:
        ec.config.update("embedded_constants_max_bytes", 512)
        f = make()
        signature = _main_signature(f, jnp.ones(4))
        assert signature.count("%arg") == 2 and "tensor<64x4xf32>" in signature, signature
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(x_np))), expected, rtol=1e-5)
        np.testing.assert_allclose(np.asarray(f(jnp.asarray(x_np))), expected, rtol=1e-5)  # C++ cache hit
        ec.config.update("embedded_constants_max_bytes", 0)       # every non-scalar is an argument
        g = make()
        assert _main_signature(g, jnp.ones(4)).count("%arg") == 3
        np.testing.assert_allclose(np.asarray(g(jnp.asarray(x_np))), expected, rtol=1e-5)
    finally:
        ec.config.update("embedded_constants_max_bytes", limit)
    h = make()                                                     # the default (1 MiB): both written in
    assert _main_signature(h, jnp.ones(4)).count("%arg") == 1
    np.testing.assert_allclose(np.asarray(h(jnp.asarray(x_np))), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="embedded_constants_max_bytes.*non-negative int, got -1"):
        ec.config.update("embedded_constants_max_bytes", -1)


def test_weak_and_strong_arguments_of_one_shape_get_their_own_programs():
    """The C++ cache keys each argument by its buffer's dtype, shape and weak type: a weakly typed
    f32 scalar added to bf16 stays bf16, a strong one promotes to f32, call after call."""
    add = ec.jit(lambda x, y: x + y)
    y = jnp.ones(2, dtype=jnp.bfloat16)
    strong, weak = jnp.asarray(2.0, dtype=jnp.float32), ec.jit(lambda: 2.0)()
    assert weak.weak_type and not strong.weak_type
    for _ in range(3):
        assert [add(strong, y).dtype, add(weak, y).dtype] == [jnp.float32, jnp.bfloat16]
