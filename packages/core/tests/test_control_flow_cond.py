"""lax.cond / lax.switch: numerics against Python, jit, vmap, derivatives, errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.test_util import check_grads

rng = np.random.default_rng(0)
X = rng.standard_normal(3).astype(np.float32)


def _allclose(a, b, **kw):
    kw.setdefault("rtol", 1e-5)
    kw.setdefault("atol", 1e-6)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), **kw)


# Branches are module-level functions: tracing is cached per function, so the eager calls made by
# check_grads reuse one compiled program per transformation instead of compiling each call.
def _sin_x(x):
    return jnp.sin(x) * x


def _cos_xx(x):
    return jnp.cos(x) + x * x


def branchy(x):
    return lax.cond(lax.reduce_sum(x, (0,)) > 0, _sin_x, _cos_xx, x)


def branchy_np(x):
    return np.sin(x) * x if x.sum() > 0 else np.cos(x) + x * x


# ----------------------------------------------------------------------------------------------
# numerics

@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_numerics_eager_and_jit(sign):
    x = X * sign + sign
    _allclose(branchy(x), branchy_np(x))
    _allclose(ec.jit(branchy)(x), branchy_np(x))


@pytest.mark.parametrize("pred", [True, False, 1, 0, 2.5, 0.0, np.bool_(True), np.int32(0)])
def test_cond_predicate_kinds(pred):
    out = lax.cond(pred, lambda a, b: a + b, lambda a, b: a - b, np.float32(3.0), np.float32(1.0))
    assert float(out) == (4.0 if pred else 2.0)


def test_cond_pytrees_closures_and_old_forms():
    w = jnp.asarray(np.float32([1.0, 2.0, 3.0]))

    def t(d):
        return {"a": d["x"] * w, "b": (d["y"] + 1,)}

    def f(d):
        return {"a": d["x"] - w, "b": (d["y"] * 0,)}

    d = {"x": X, "y": np.int32(4)}
    out = lax.cond(True, t, f, d)
    _allclose(out["a"], X * np.arange(1, 4))
    assert int(out["b"][0]) == 5
    out = ec.jit(lambda d, p: lax.cond(p, t, f, d))(d, False)
    _allclose(out["a"], X - np.arange(1, 4))
    assert int(out["b"][0]) == 0
    # the `operand=` keyword and the 5-argument form
    assert float(lax.cond(False, lambda x: x + 1, lambda x: x - 1, operand=np.float32(1))) == 0.0
    assert float(lax.cond(True, np.float32(2), lambda x: x * 3, np.float32(5), lambda x: x)) == 6.0
    # no operands; branches returning constants and closed-over tracers
    assert float(lax.cond(False, lambda: 1.0, lambda: 2.0)) == 2.0
    g = ec.jit(lambda x, p: lax.cond(p, lambda: x * 2, lambda: x))
    _allclose(g(X, True), 2 * X)


def test_switch_clamps_index():
    branches = [lambda x: x + 1, lambda x: x * 10, lambda x: -x]
    for i in range(-2, 5):
        expect = [3.0, 20.0, -2.0][min(max(i, 0), 2)]
        assert float(lax.switch(i, branches, np.float32(2.0))) == expect
        assert float(ec.jit(lambda i: lax.switch(i, branches, np.float32(2.0)))(i)) == expect
    assert float(lax.switch(7, [lambda: 4.0])) == 4.0


def test_cond_is_one_equation_and_lowers_to_case():
    jaxpr = ec.make_jaxpr(branchy)(X)
    assert [e.primitive.name for e in jaxpr.eqns].count("cond") == 1
    text = ec.jit(branchy).lower(X).as_text()
    assert "stablehlo.case" in text


# ----------------------------------------------------------------------------------------------
# derivatives

@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_grads(sign):
    check_grads(branchy, (X * sign + sign,), order=2, modes=("fwd", "rev"))


def _sin_wx(w, x):
    return jnp.sin(x * w) * x


def _cube_sum(w, x):
    return lax.reduce_sum(x * x * x, (0,)) + x


def _two_residual_kinds(w, x, p):
    # branches with different residual types; w is only used by one branch
    return lax.cond(p, _sin_wx, _cube_sum, w, x)


@pytest.mark.parametrize("p", [True, False])
def test_cond_grad_with_different_residuals(p):
    w = np.float32([0.5, -1.0, 2.0])
    check_grads(functools.partial(_two_residual_kinds, p=p), (w, X), order=2, modes=("fwd", "rev"))


def test_cond_grad_of_closed_over_value():
    w = np.float32([0.5, -1.0, 2.0])

    def loss(w, x):
        return lax.reduce_sum(lax.cond(True, lambda x: jnp.sin(x * w) * x, lambda x: x, x), (0,))

    _allclose(ec.grad(loss)(w, X), np.cos(X * w) * X * X, rtol=1e-5)
    _allclose(ec.jit(ec.grad(loss))(w, X), np.cos(X * w) * X * X, rtol=1e-5)


def _cube(x):
    return x * x * x


def _switched(x, i):
    return lax.switch(i, [jnp.sin, jnp.cos, _cube], x)


def test_switch_grads_and_jit_grad():
    check_grads(functools.partial(_switched, i=2), (X,), order=2, modes=("fwd", "rev"))
    def loss(x, i):
        return lax.reduce_sum(_switched(x, i), (0,))

    for i, expect in enumerate([np.cos(X), -np.sin(X), 3 * X * X]):
        _allclose(ec.jit(ec.grad(loss))(X, i), expect)


# ----------------------------------------------------------------------------------------------
# vmap

def test_vmap_batched_predicate_selects():
    xs = np.stack([X + 1, X - 1, -X - 1, X * 0.1]).astype(np.float32)
    expect = np.stack([branchy_np(x) for x in xs])
    _allclose(ec.vmap(branchy)(xs), expect)
    _allclose(ec.jit(ec.vmap(branchy))(xs), expect)
    # grad of the batched cond (select of both branches)
    g = ec.grad(lambda xs: lax.reduce_sum(ec.vmap(branchy)(xs), (0, 1)))(xs)
    for x, gx in zip(xs, np.asarray(g)):
        _allclose(gx, ec.grad(lambda x: lax.reduce_sum(branchy(x), (0,)))(x))


def test_vmap_unbatched_predicate_and_switch_index():
    xs = rng.standard_normal((4, 3)).astype(np.float32)
    out = ec.vmap(lambda x: lax.cond(True, lambda x: x * 2, lambda x: x, x))(xs)
    _allclose(out, xs * 2)
    branches = [lambda x: x + 1, lambda x: x * 10, lambda x: -x]
    idx = np.int32([0, 2, 1, 7])
    out = ec.vmap(lambda i, x: lax.switch(i, branches, x))(idx, xs)
    _allclose(out, np.stack([[x + 1, -x, x * 10, -x][k] for k, x in enumerate(xs)]))
    # batched index, unbatched operand; outputs that ignore the operand
    out = ec.vmap(lambda i: lax.switch(i, [lambda x: x, lambda x: x * 0 + 5.0], np.float32(2.0)))(np.int32([0, 1]))
    _allclose(out, [2.0, 5.0])


def test_vmap_of_grad_of_cond():
    xs = np.stack([X + 1, -X - 1]).astype(np.float32)
    g = ec.vmap(ec.grad(lambda x: lax.reduce_sum(branchy(x), (0,))))(xs)
    for x, gx in zip(xs, np.asarray(g)):
        _allclose(gx, ec.grad(lambda x: lax.reduce_sum(branchy(x), (0,)))(x))


# ----------------------------------------------------------------------------------------------
# errors

def test_branch_type_mismatch_message():
    with pytest.raises(TypeError, match="true_fun and false_fun output must have identical types") as e:
        lax.cond(True, lambda x: x, lambda x: x.astype(np.int32), X)
    assert "f32[3]" in str(e.value) and "i32[3]" in str(e.value)
    with pytest.raises(TypeError, match=r"at path \[1\]"):
        lax.cond(True, lambda x: (x, x), lambda x: (x, lax.slice_in_dim(x, 0, 2)), X)
    with pytest.raises(TypeError, match="same pytree structure"):
        lax.cond(True, lambda x: (x, x), lambda x: x, X)
    with pytest.raises(TypeError, match="branch 0 and branch 1 output must have identical types"):
        lax.switch(0, [lambda: 1.0, lambda: np.int32(1)])


def test_bad_predicates_and_indices():
    with pytest.raises(TypeError, match="Pred must be a scalar"):
        lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="callable"):
        lax.cond(True, 1.0, 2.0)
    with pytest.raises(TypeError, match="Index type must be an integer"):
        lax.switch(1.5, [lambda: 1.0, lambda: 2.0])
    with pytest.raises(ValueError, match="Empty branch sequence"):
        lax.switch(0, [])


def test_batched_predicate_grad_has_no_nan_from_the_branch_not_taken():
    def f(x):
        return lax.cond(x > 0, jnp.sqrt, lambda x: x * 0.0, x)

    xs = np.float32([4.0, -1.0])
    g = ec.grad(lambda xs: lax.reduce_sum(ec.vmap(f)(xs), (0,)))(xs)
    _allclose(g, [0.25, 0.0])
    _allclose(ec.vmap(ec.grad(f))(xs), [0.25, 0.0])
