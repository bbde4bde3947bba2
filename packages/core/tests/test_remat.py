"""checkpoint/remat: same gradients, recomputation instead of saved intermediates, policies."""

from __future__ import annotations

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax


def mlp(w, x):
    h = jnp.tanh(lax.dot_general(x, w, (((1,), (0,)), ((), ()))) if hasattr(lax, "dot_general") else x * w)
    return jnp.sin(h) * h


def loss(f, w, x):
    return lax.reduce_sum(f(w, x), (0, 1))


W = np.random.default_rng(0).normal(size=(3, 3)).astype(np.float32)
X = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)


def test_gradients_match_without_checkpoint():
    expected = np.asarray(ec.grad(lambda w: loss(mlp, w, X))(W))
    for policy in (None, ec.checkpoint_policies.dots_saveable, ec.checkpoint_policies.everything_saveable):
        got = ec.grad(lambda w, policy=policy: loss(ec.checkpoint(mlp, policy=policy), w, X))(W)
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5, atol=1e-6)
        got_jit = ec.jit(ec.grad(lambda w, policy=policy: loss(ec.remat(mlp, policy=policy), w, X)))(W)
        np.testing.assert_allclose(np.asarray(got_jit), expected, rtol=1e-5, atol=1e-6)


def test_second_order_and_vmap():
    f = ec.checkpoint(lambda x: jnp.sin(jnp.sin(x)))
    g = lambda x: jnp.sin(jnp.sin(x))  # noqa: E731
    assert abs(float(ec.grad(ec.grad(f))(0.5)) - float(ec.grad(ec.grad(g))(0.5))) < 1e-6
    xs = np.float32([0.1, 0.7])
    np.testing.assert_allclose(np.asarray(ec.vmap(ec.grad(f))(xs)), np.asarray(ec.vmap(ec.grad(g))(xs)), rtol=1e-6)


def _backward_program(policy):
    f = ec.checkpoint(lambda x: jnp.sin(jnp.sin(jnp.sin(x))), policy=policy)
    return ec.make_jaxpr(ec.grad(f))(0.5)


def test_save_nothing_recomputes_behind_a_barrier():
    names = [e.primitive.name for e in _backward_program(None).eqns]
    assert "optimization_barrier" in names
    assert names.count("sin") >= 2  # the inner sines are recomputed for the backward pass


def test_everything_saveable_needs_no_recomputation():
    prog = _backward_program(ec.checkpoint_policies.everything_saveable)
    barrier = [i for i, e in enumerate(prog.eqns) if e.primitive.name == "optimization_barrier"]
    after = [e.primitive.name for e in prog.eqns[barrier[0] + 1:]] if barrier else []
    assert "sin" not in after


def test_static_argnums():
    f = ec.checkpoint(lambda x, n: x ** n, static_argnums=(1,))
    assert float(ec.grad(f)(2.0, 3)) == 12.0
