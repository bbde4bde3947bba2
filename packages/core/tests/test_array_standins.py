"""Objects that stand for an array (``__jax_array__``, as ember.nn Variables do) work wherever an
array does: numpy functions, lax primitives, and under jit, grad, vmap and jvp, where a stand-in
registered as a pytree arrives rebuilt around a tracer."""

from __future__ import annotations

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax


@ec.tree.register_pytree_node_class
class Box:
    """A minimal stand-in: a pytree holding one array, exposing it with __jax_array__."""

    def __init__(self, value):
        self.value = value

    def __jax_array__(self):
        return self.value

    def tree_flatten(self):
        return (self.value,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


X = np.arange(6.0, dtype=np.float32).reshape(2, 3)


def test_numpy_functions_and_lax_accept_stand_ins():
    box = Box(jnp.asarray(X))
    np.testing.assert_allclose(np.asarray(jnp.sum(box)), X.sum())
    np.testing.assert_allclose(np.asarray(jnp.cumsum(box, axis=1)), np.cumsum(X, axis=1))
    np.testing.assert_allclose(np.asarray(jnp.stack([box, box])), np.stack([X, X]))
    np.testing.assert_allclose(np.asarray(jnp.tanh(box)), np.tanh(X), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(lax.add(box, 1.0)), X + 1)
    np.testing.assert_allclose(np.asarray(ec.nn.relu(box)), np.maximum(X, 0))


def test_stand_ins_under_transformations_carry_their_tracers():
    box = Box(jnp.asarray(X))
    np.testing.assert_allclose(np.asarray(ec.jit(lambda b: jnp.sum(b) + lax.mul(b, b).sum())(box)),
                               X.sum() + (X * X).sum())
    grad = ec.grad(lambda b: lax.mul(b, b).sum() + jnp.sum(b))(box)  # the tangent must flow through b
    assert isinstance(grad, Box)
    np.testing.assert_allclose(np.asarray(grad.value), 2 * X + 1)
    np.testing.assert_allclose(np.asarray(ec.vmap(lambda b: lax.mul(b, 2.0))(box)), 2 * X)
    _, tangent = ec.jvp(lambda b: lax.sin(b), (box,), (Box(jnp.ones_like(X)),))
    np.testing.assert_allclose(np.asarray(tangent), np.cos(X), rtol=1e-6)
