"""lax.while_loop / lax.fori_loop: numerics, jit, vmap (batched predicates), forward-mode
derivatives, reverse mode through static fori_loop, and the reverse-mode error."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.test_util import check_grads

X = np.float32([0.5, 1.0, -0.7])


def _allclose(a, b, **kw):
    kw.setdefault("rtol", 1e-5)
    kw.setdefault("atol", 1e-6)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), **kw)


# Loop bodies are module-level functions so tracing (and the compiled programs) are reused.
def _below_4(c):
    return c[0] < 4


def _sin_step(c):
    return c[0] + 1, jnp.sin(c[1]) * c[1] + 0.5


def sin_loop(x):
    return lax.while_loop(_below_4, _sin_step, (0, x))[1]


def sin_loop_np(x):
    for _ in range(4):
        x = np.sin(x) * x + 0.5
    return x


def _doubling_cond(c):
    return c[1] < 10.0


def _doubling_body(c):
    return c[0] + 1, c[1] * 2.0


def doubling(x):
    return lax.while_loop(_doubling_cond, _doubling_body, (0, x))


def doubling_np(x):
    n = 0
    while x < 10.0:
        n, x = n + 1, x * 2.0
    return n, x


# ----------------------------------------------------------------------------------------------
# while_loop

def test_while_numerics_eager_and_jit():
    _allclose(sin_loop(X), sin_loop_np(X))
    _allclose(ec.jit(sin_loop)(X), sin_loop_np(X))
    assert int(lax.while_loop(lambda c: c < 10, lambda c: c * 2, 1)) == 16
    n, x = doubling(np.float32(0.7))
    assert (int(n), float(x)) == doubling_np(np.float32(0.7))
    text = ec.jit(sin_loop).lower(X).as_text()
    assert "stablehlo.while" in text


def test_while_pytree_carry_closure_and_weak_promotion():
    w = jnp.asarray(np.float32([1.0, 2.0, 3.0]))

    def body(c):
        return {"i": c["i"] + 1, "acc": (c["acc"][0] + w * c["i"],)}

    out = lax.while_loop(lambda c: c["i"] < 3, body, {"i": 0, "acc": (np.zeros(3, np.float32),)})
    _allclose(out["acc"][0], 3 * np.float32([1, 2, 3]))
    # a Python int initial value promoted to the float the body returns (as in JAX)
    out = lax.while_loop(lambda c: c < 3, lambda c: c + 1.0, 0)
    assert out.dtype == np.float32 and float(out) == 3.0
    # a traced bound closed over under jit
    f = ec.jit(lambda n, x: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2), (0, x))[1])
    _allclose(f(3, X), X * 8)


def test_while_forward_mode_derivatives():
    check_grads(sin_loop, (X,), order=2, modes=("fwd",))
    y, f_jvp = ec.linearize(sin_loop, X)
    _allclose(y, sin_loop_np(X))
    _, t = ec.jvp(sin_loop, (X,), (np.ones(3, np.float32),))
    _allclose(f_jvp(np.ones(3, np.float32)), t)
    # jit of jvp
    _, t2 = ec.jit(lambda x: ec.jvp(sin_loop, (x,), (np.ones(3, np.float32),)))(X)
    _allclose(t2, t)


def test_while_reverse_mode_raises_jax_error():
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for lax.while_loop"):
        ec.grad(lambda x: lax.reduce_sum(sin_loop(x), (0,)))(X)
    with pytest.raises(ValueError, match="Try using lax.scan"):
        ec.jit(ec.grad(lambda x, n: lax.fori_loop(0, n, lambda i, c: c * 2.0, x)))(1.0, 3)


def test_vmap_while_unbatched_and_batched_predicate():
    xs = np.float32([[0.5, 1.0, -0.7], [0.1, 0.2, 0.3]])
    _allclose(ec.vmap(sin_loop)(xs), np.stack([sin_loop_np(x) for x in xs]))
    starts = np.float32([1.0, 3.0, 20.0, 0.3])
    expect_n, expect_x = zip(*[doubling_np(s) for s in starts])
    for fn in (ec.vmap(doubling), ec.jit(ec.vmap(doubling))):
        n, x = fn(starts)
        np.testing.assert_array_equal(np.asarray(n), expect_n)
        _allclose(x, expect_x)
    # batched predicate from a batched bound, unbatched carry init
    def f(n):
        return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] + 1.5), (0, np.float32(0)))

    n, acc = ec.vmap(f)(np.int32([0, 2, 5]))
    np.testing.assert_array_equal(np.asarray(n), [0, 2, 5])
    _allclose(acc, [0.0, 3.0, 7.5])


def test_vmap_of_jvp_of_while():
    xs = np.float32([[0.5, 1.0, -0.7], [0.1, 0.2, 0.3]])
    tan = np.ones(3, np.float32)
    out = ec.vmap(lambda x: ec.jvp(sin_loop, (x,), (tan,))[1])(xs)
    for x, o in zip(xs, np.asarray(out)):
        _allclose(o, ec.jvp(sin_loop, (x,), (tan,))[1])


# ----------------------------------------------------------------------------------------------
# fori_loop

def _fori_body(i, c):
    return c * jnp.sin(c) + i * 0.1


def fori(x):
    return lax.fori_loop(0, 3, _fori_body, x)


def fori_np(x):
    for i in range(3):
        x = x * np.sin(x) + i * 0.1
    return x


def test_fori_loop_static_bounds_is_a_scan_and_reverse_differentiable():
    _allclose(fori(X), fori_np(X), rtol=1e-5)
    assert [e.primitive.name for e in ec.make_jaxpr(fori)(X).eqns] == ["scan"]
    check_grads(fori, (X,), order=2, modes=("fwd", "rev"))
    for unroll in (True, 2):
        _allclose(lax.fori_loop(0, 3, _fori_body, X, unroll=unroll), fori_np(X), rtol=1e-5)
    # empty and negative ranges leave the value alone
    _allclose(lax.fori_loop(3, 1, _fori_body, X), X)


def test_fori_loop_dynamic_bounds_is_a_while():
    f = ec.jit(lambda lo, hi, x: lax.fori_loop(lo, hi, lambda i, c: c + i, x))
    assert float(f(2, 5, np.float32(0))) == 9.0
    assert float(f(5, 2, np.float32(1))) == 1.0
    jaxpr = ec.make_jaxpr(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 0))(3)
    assert [e.primitive.name for e in jaxpr.eqns] == ["while"]
    with pytest.raises(ValueError, match="unroll"):
        ec.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 0, unroll=2))(3)
    with pytest.raises(TypeError, match="must have equal types"):
        lax.fori_loop(np.int32(0), np.int16(3), lambda i, c: c, 0)


# ----------------------------------------------------------------------------------------------
# errors

def test_while_carry_type_errors_name_the_path():
    with pytest.raises(TypeError, match=r"The input carry component c\[1\] has type f32\[\] but the "
                                        r"corresponding output carry component has type i32\[\]"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1].astype(np.int32)), (0, 1.0))
    with pytest.raises(TypeError, match="same pytree structure"):
        lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1,), (0, 1.0))
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c, 1.0)
    with pytest.raises(TypeError, match="cond_fun must return a boolean scalar"):
        lax.while_loop(lambda c: (c < 1, c < 2), lambda c: c, 1.0)
