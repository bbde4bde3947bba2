"""custom_jvp, custom_vjp, stop_gradient: rules used under grad, jit, vmap and higher order."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax


@ec.custom_jvp
def log1pexp(x):
    return jnp.log1p(jnp.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return log1pexp(x), t * (1 - 1 / (1 + jnp.exp(x)))


def test_custom_jvp_rule_is_used_everywhere():
    # the naive derivative of log1p(exp(x)) is nan at x = 100; the rule gives 1
    assert float(ec.grad(log1pexp)(100.0)) == 1.0
    assert float(ec.jit(ec.grad(log1pexp))(100.0)) == 1.0
    assert float(ec.grad(ec.jit(log1pexp))(100.0)) == 1.0
    xs = np.float32([0.0, 100.0])
    np.testing.assert_allclose(np.asarray(ec.vmap(ec.grad(log1pexp))(xs)), [0.5, 1.0])
    np.testing.assert_allclose(np.asarray(ec.grad(lambda v: lax.reduce_sum(ec.vmap(log1pexp)(v), (0,)))(xs)), [0.5, 1.0])
    _, t = ec.jvp(log1pexp, (3.0,), (2.0,))
    assert abs(float(t) - 2 / (1 + np.exp(-3.0))) < 1e-6
    # second order differentiates the rule itself: d/dx sigmoid(x) at 0 = 1/4
    assert abs(float(ec.grad(ec.grad(log1pexp))(0.0)) - 0.25) < 1e-6
    # eagerly, outside transformations, the function just runs
    assert abs(float(log1pexp(1.0)) - np.log1p(np.e)) < 1e-6


def test_custom_jvp_defjvps_and_nondiff_argnums():
    @ec.custom_jvp
    def f(x, y):
        return x * y

    f.defjvps(lambda tx, out, x, y: tx * y * 10, lambda ty, out, x, y: ty * x)
    gx, gy = ec.grad(f, argnums=(0, 1))(2.0, 3.0)
    assert float(gx) == 30.0 and float(gy) == 2.0

    @ec.custom_jvp
    def apply(fn, x):
        return fn(x)

    apply.nondiff_argnums = (0,)

    @apply.defjvp
    def _apply_jvp(fn, primals, tangents):
        (x,), (t,) = primals, tangents
        return fn(x), 7.0 * t

    assert float(ec.grad(lambda x: apply(jnp.sin, x))(0.3)) == 7.0


def test_custom_jvp_errors():
    @ec.custom_jvp
    def f(x):
        return x

    with pytest.raises(AttributeError, match="No JVP defined for custom_jvp function f"):
        ec.grad(f)(1.0)

    @f.defjvp
    def _bad(primals, tangents):
        return primals[0], jnp.ones(3)

    with pytest.raises(ValueError, match=r"tangent/cotangent of shape \(3,\) for output 0"):
        ec.grad(f)(1.0)


def test_custom_vjp_with_residuals_and_higher_order():
    @ec.custom_vjp
    def f(x, y):
        return jnp.sin(x) * y

    def fwd(x, y):
        return f(x, y), (jnp.cos(x), jnp.sin(x), y)

    def bwd(res, g):
        cos_x, sin_x, y = res
        return cos_x * g * y, sin_x * g

    f.defvjp(fwd, bwd)
    gx, gy = ec.grad(f, argnums=(0, 1))(0.5, 2.0)
    assert abs(float(gx) - 2 * np.cos(0.5)) < 1e-6 and abs(float(gy) - np.sin(0.5)) < 1e-6
    assert abs(float(ec.grad(ec.grad(f))(0.5, 2.0)) + 2 * np.sin(0.5)) < 1e-5
    assert abs(float(ec.jit(ec.grad(f))(0.5, 2.0)) - 2 * np.cos(0.5)) < 1e-6


def test_custom_vjp_clip_gradient_under_vmap_both_ways():
    @ec.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (lax.clamp(-1.0, g, 1.0),))
    xs = np.float32([1.0, 2.0])
    loss = lambda x: 5.0 * clip_gradient(x)  # noqa: E731
    np.testing.assert_array_equal(np.asarray(ec.vmap(ec.grad(loss))(xs)), [1.0, 1.0])
    np.testing.assert_array_equal(np.asarray(ec.grad(lambda v: lax.reduce_sum(ec.vmap(loss)(v), (0,)))(xs)), [1.0, 1.0])
    with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
        ec.jvp(clip_gradient, (1.0,), (1.0,))


def test_custom_vjp_bwd_errors():
    @ec.custom_vjp
    def f(x):
        return x

    f.defvjp(lambda x: (x, None), lambda _, g: g)  # not a tuple
    with pytest.raises(TypeError, match="bwd of f must return a tuple"):
        ec.grad(f)(1.0)


def test_closed_over_value_is_not_differentiated_silently():
    def outer(w):
        @ec.custom_jvp
        def f(x):
            return x * w

        f.defjvp(lambda p, t: (f(p[0]), t[0] * w))
        return f(2.0)

    with pytest.raises(TypeError, match="closes over"):
        ec.grad(outer)(3.0)


def test_stop_gradient():
    assert float(ec.grad(lambda v: v * lax.stop_gradient(v))(3.0)) == 3.0
    tree = lax.stop_gradient({"a": jnp.ones(2), "n": jnp.asarray(np.int32(1))})
    assert tree["a"].shape == (2,) and tree["n"].dtype == np.int32
    np.testing.assert_array_equal(np.asarray(ec.vmap(lax.stop_gradient)(np.float32([1, 2]))), [1, 2])
