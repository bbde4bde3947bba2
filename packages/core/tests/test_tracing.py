"""Tracing into jaxprs: the printed IR, eval_shape, constants and literals, dead code."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax


def test_make_jaxpr_prints_a_readable_program():
    text = str(ec.make_jaxpr(lambda x, y: jnp.exp(x) * y + 1.0)(np.ones(3, np.float32), np.ones(3, np.float32)))
    assert text.startswith("{ lambda ; a:f32[3] b:f32[3]. let")
    assert "c:f32[3] = exp a" in text
    assert "mul c b" in text
    assert text.rstrip().endswith("in (f,) }") or "in (" in text


def test_literals_and_constants():
    w = jnp.arange(4.0)
    jaxpr = ec.make_jaxpr(lambda x: x * w + 2.0)(np.ones(4, np.float32))
    assert len(jaxpr.jaxpr.constvars) == 1 and jaxpr.consts[0] is w
    assert "2.0:f32[]" in str(jaxpr)


def test_dead_code_is_dropped():
    def f(x):
        unused = jnp.sin(x) * 100  # noqa: F841
        return x + 1

    jaxpr = ec.make_jaxpr(f)(np.ones(2, np.float32))
    names = [e.primitive.name for e in jaxpr.eqns]
    assert "sin" not in names and "mul" not in names and names[-1] == "add"


def test_nested_jaxprs_print_indented():
    inner = ec.jit(lambda x: jnp.tanh(x))
    text = str(ec.make_jaxpr(lambda x: inner(x) * 2)(np.ones(2, np.float32)))
    assert "pjit[" in text and "tanh" in text


def test_eval_shape_with_shape_dtype_structs():
    def f(params, x):
        return {"out": lax.reduce_sum(params["w"] * x, (1,)), "n": lax.convert_element_type(x, np.int32)}

    params = {"w": ec.ShapeDtypeStruct((4, 3), np.float32)}
    out = ec.eval_shape(f, params, ec.ShapeDtypeStruct((4, 3), np.float32))
    assert out["out"].shape == (4,) and out["out"].dtype == np.float32
    assert out["n"].dtype == np.int32 and out["n"].shape == (4, 3)
    assert repr(ec.ShapeDtypeStruct((2,), "bfloat16")) == "ShapeDtypeStruct(shape=(2,), dtype=bfloat16)"


def test_weak_types_in_tracing():
    jaxpr = ec.make_jaxpr(lambda x: x * 2)(1.0)
    assert jaxpr.in_avals[0].weak_type and jaxpr.out_avals[0].weak_type
    jaxpr = ec.make_jaxpr(lambda x: x * 2)(np.float16(1.0))
    assert jaxpr.out_avals[0].dtype == np.float16 and not jaxpr.out_avals[0].weak_type


def test_concretization_errors_for_int_and_index():
    with pytest.raises(ec.ConcretizationError, match="int\\(\\) of a traced array"):
        ec.jit(lambda x: int(x))(1)
    with pytest.raises(ec.ConcretizationError, match="conversion to a NumPy array"):
        ec.jit(lambda x: np.asarray(x))(1.0)


def test_tracers_are_not_hashable():
    with pytest.raises(TypeError, match="unhashable"):
        ec.jit(lambda x: {x: 1} and x)(1.0)


def test_shape_errors_are_raised_at_trace_time_with_the_shapes():
    with pytest.raises(ValueError, match=r"shapes \(3,\), \(4,\) cannot be broadcast together"):
        ec.jit(lambda a, b: a + b)(np.ones(3, np.float32), np.ones(4, np.float32))


def test_tracers_are_instances_of_array_as_in_jax():
    seen = []

    def record(x):
        seen.append(isinstance(x, ec.Array))
        return x.sum()

    x = jnp.ones(3)
    ec.jit(record)(x)
    ec.grad(record)(x)
    ec.vmap(record)(jnp.ones((2, 3)))
    ec.eval_shape(record, ec.ShapeDtypeStruct((3,), jnp.float32))
    assert seen == [True, True, True, True]
    assert isinstance(x, ec.Array) and type(x) is ec.Array
    assert not isinstance(np.ones(3), ec.Array) and not isinstance(1.0, ec.Array)
    assert not isinstance(ec.ShapeDtypeStruct((3,), jnp.float32), ec.Array)
