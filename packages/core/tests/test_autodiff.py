"""jvp, linearize, vjp, grad, value_and_grad, jacfwd, jacrev, hessian: values against closed
forms and finite differences, composition with jit and vmap, and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.test_util import check_grads


def total(x):
    return lax.reduce_sum(x, tuple(range(np.ndim(x) if not hasattr(x, "ndim") else x.ndim)))


def f_scalar(x):
    return jnp.sin(x) * x


def df(x):
    return np.cos(x) * x + np.sin(x)


def test_grad_of_scalar_function_and_higher_orders():
    x = 0.7
    assert abs(float(ec.grad(f_scalar)(x)) - df(x)) < 1e-6
    d2 = -np.sin(x) * x + 2 * np.cos(x)
    d3 = -np.cos(x) * x - 3 * np.sin(x)
    assert abs(float(ec.grad(ec.grad(f_scalar))(x)) - d2) < 1e-5
    assert abs(float(ec.grad(ec.grad(ec.grad(f_scalar)))(x)) - d3) < 1e-5


def test_grad_composes_with_jit_both_ways():
    x = np.float32(0.3)
    expected = df(0.3)
    assert abs(float(ec.jit(ec.grad(ec.jit(f_scalar)))(x)) - expected) < 1e-6
    assert abs(float(ec.jit(ec.grad(f_scalar))(x)) - expected) < 1e-6
    assert abs(float(ec.grad(ec.jit(f_scalar))(x)) - expected) < 1e-6
    d2 = -np.sin(0.3) * 0.3 + 2 * np.cos(0.3)
    assert abs(float(ec.grad(ec.grad(ec.jit(f_scalar)))(x)) - d2) < 1e-5


def test_jit_of_grad_is_one_program():
    jaxpr = ec.make_jaxpr(ec.grad(lambda x: total(jnp.tanh(x) * x)))(np.ones(3, np.float32))
    names = {e.primitive.name for e in jaxpr.eqns}
    assert "pjit" not in names and "tanh" in names


def test_pytree_inputs_argnums_and_has_aux():
    def loss(params, x):
        y = params["w"] * x + params["b"]
        return total(y * y), {"y": y}

    params = {"w": np.float32([1.0, 2.0]), "b": np.float32(0.5)}
    x = np.float32([3.0, -1.0])
    grads, aux = ec.grad(loss, has_aux=True)(params, x)
    y = params["w"] * x + params["b"]
    np.testing.assert_allclose(np.asarray(grads["w"]), 2 * y * x, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(grads["b"]), np.sum(2 * y), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(aux["y"]), y)
    (value, _), (gp, gx) = ec.value_and_grad(loss, argnums=(0, 1), has_aux=True)(params, x)
    assert abs(float(value) - np.sum(y * y)) < 1e-5
    np.testing.assert_allclose(np.asarray(gx), 2 * y * params["w"], rtol=1e-6)


def test_jvp_and_linearize():
    x = np.float32([0.1, 0.5])
    t = np.float32([1.0, -2.0])
    y, dy = ec.jvp(lambda v: jnp.exp(v) * v, (x,), (t,))
    np.testing.assert_allclose(np.asarray(y), np.exp(x) * x, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(dy), (np.exp(x) * x + np.exp(x)) * t, rtol=1e-6)
    y2, f_jvp = ec.linearize(lambda v: jnp.exp(v) * v, x)
    np.testing.assert_allclose(np.asarray(f_jvp(t)), np.asarray(dy), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(f_jvp(2 * t)), 2 * np.asarray(dy), rtol=1e-6)


def test_vjp_with_multiple_outputs():
    def f(x, y):
        return x * y, jnp.sin(x)

    x, y = np.float32([1.0, 2.0]), np.float32([3.0, 4.0])
    (a, b), f_vjp = ec.vjp(f, x, y)
    gx, gy = f_vjp((np.float32([1, 1]), np.float32([2, 0])))
    np.testing.assert_allclose(np.asarray(gx), y + 2 * np.cos(x) * np.array([1, 0]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gy), x, rtol=1e-6)
    with pytest.raises(ValueError, match="cotangent must have the structure of the output"):
        f_vjp(np.float32([1, 1]))


def test_jacobians_and_hessian():
    def f(x):
        return jnp.sin(x) * lax.reduce_sum(x * x, (0,))

    x = np.float32([0.3, -0.2, 0.5])
    s = np.sum(x * x)
    expected = np.diag(np.cos(x) * s) + np.outer(np.sin(x), 2 * x)
    np.testing.assert_allclose(np.asarray(ec.jacfwd(f)(x)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ec.jacrev(f)(x)), expected, rtol=1e-5, atol=1e-6)
    h = np.asarray(ec.hessian(lambda v: lax.reduce_sum(v * v * v, (0,)))(x))
    np.testing.assert_allclose(h, np.diag(6 * x), rtol=1e-5, atol=1e-6)


def test_jacobian_of_pytree_and_multiple_argnums():
    def f(a, b):
        return {"s": a * b}

    a, b = np.float32([1.0, 2.0]), np.float32([3.0, 4.0])
    ja, jb = ec.jacrev(f, argnums=(0, 1))(a, b)["s"]
    np.testing.assert_allclose(np.asarray(ja), np.diag(b))
    np.testing.assert_allclose(np.asarray(jb), np.diag(a))
    fa, fb = ec.jacfwd(f, argnums=(0, 1))(a, b)["s"]
    np.testing.assert_allclose(np.asarray(fa), np.diag(b))


def test_per_example_gradients_vmap_of_grad_and_grad_of_vmap():
    w = np.float32([0.5, -1.0])
    xs = np.float32([[1, 2], [3, 4], [5, 6]])

    def loss(w, x):
        return jnp.tanh(lax.reduce_sum(w * x, (0,)))

    per_example = ec.vmap(ec.grad(loss), in_axes=(None, 0))(w, xs)
    expected = np.stack([(1 - np.tanh(np.sum(w * x)) ** 2) * x for x in xs])
    np.testing.assert_allclose(np.asarray(per_example), expected, rtol=1e-4)
    summed = ec.grad(lambda w: lax.reduce_sum(ec.vmap(loss, in_axes=(None, 0))(w, xs), (0,)))(w)
    np.testing.assert_allclose(np.asarray(summed), expected.sum(0), rtol=1e-4)


def test_python_control_flow_on_concrete_values_under_grad():
    def relu_ish(x):
        return x if x > 0 else 0.1 * x  # fine: grad sees the concrete primal

    assert float(ec.grad(relu_ish)(2.0)) == 1.0
    assert abs(float(ec.grad(relu_ish)(-2.0)) - 0.1) < 1e-7


def test_integer_inputs():
    with pytest.raises(TypeError, match="grad requires real- or complex-valued inputs.*int32.*allow_int"):
        ec.grad(lambda x: x * 2.0)(np.int32(3))
    g = ec.grad(lambda x, y: y * 2.0, argnums=(0, 1), allow_int=True)(np.int32(3), 1.0)
    assert g[0].dtype == ec.float0 and float(g[1]) == 2.0


def test_output_errors():
    with pytest.raises(TypeError, match=r"grad requires scalar outputs, got an output of shape \(2,\)"):
        ec.grad(lambda x: x * 2)(np.float32([1.0, 2.0]))
    with pytest.raises(TypeError, match="real-valued"):
        ec.grad(lambda x: lax.convert_element_type(x, np.int32))(1.0)


def test_gradient_through_stop_of_zero_paths():
    # outputs that do not depend on the input give zero gradients, not errors
    g = ec.grad(lambda x, y: total(y * 2.0), argnums=0)(np.float32([1.0]), np.float32([2.0]))
    np.testing.assert_array_equal(np.asarray(g), [0.0])


def test_check_grads_of_composite():
    check_grads(lambda x, y: jnp.tanh(x * y) / (1.0 + jnp.exp(-x)), (np.float32([0.3, -0.4]), np.float32([1.2, 0.7])),
                order=2)


def test_aux_values_are_values_not_tracers():
    x = np.float32([1.0, 2.0])
    (value, aux), g = ec.value_and_grad(lambda v: (lax.reduce_sum(v * 2, (0,)), {"y": v * 3, "tag": "t"}),
                                        has_aux=True)(x)
    assert isinstance(aux["y"], ec.Array) and aux["tag"] == "t"
    np.testing.assert_allclose(np.asarray(aux["y"]), x * 3)
    (_, aux_jit), _ = ec.jit(ec.value_and_grad(lambda v: (lax.reduce_sum(v, (0,)), v * 3), has_aux=True))(x)
    np.testing.assert_allclose(np.asarray(aux_jit), x * 3)
    _, _, aux_jvp = ec.jvp(lambda v: (v * 2, v + 1), (x,), (x,), has_aux=True)
    np.testing.assert_allclose(np.asarray(aux_jvp), x + 1)
    out, _ = ec.vjp(lambda v: (lax.reduce_sum(v, (0,)), jnp.zeros((), np.uint32) + 1), x)
    assert isinstance(out[1], ec.Array) and int(out[1]) == 1


def test_python_scalar_operands_stay_weakly_typed():
    # JAX semantics: a Python scalar never makes a result strongly typed
    _, tangent = ec.jvp(jnp.sin, (0.0,), (1.0,))
    assert tangent.weak_type and tangent.dtype == np.float32 and float(tangent) == 1.0
    weak = jnp.asarray(2.0)  # from a Python float: weakly typed
    assert weak.weak_type
    assert ec.lax.mul(weak, 3.0).weak_type and float(ec.lax.mul(weak, 3.0)) == 6.0
    assert ec.jit(lambda x: ec.lax.mul(x, 3.0))(weak).weak_type
    strong = jnp.asarray(np.float32(2.0))
    assert not ec.lax.mul(strong, 3.0).weak_type
    bf16 = jnp.ones(3, jnp.bfloat16)
    _, t = ec.jvp(lambda x: x * 2, (bf16,), (jnp.ones(3, jnp.bfloat16),))
    assert t.dtype == jnp.bfloat16
    _, t = ec.jvp(lambda x: jnp.sin(x) * 2.0, (jnp.bfloat16(1.0),), (1.0,))
    assert t.dtype == jnp.bfloat16  # JAX rejects this weak tangent; Ember accepts it at the primal dtype
