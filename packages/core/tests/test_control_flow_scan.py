"""lax.scan / lax.map / lax.associative_scan: numerics against Python loops, jit, vmap, reverse
mode (linearize of scan = known scan + linear scan; transpose = reverse scan), nesting, errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.test_util import check_grads

rng = np.random.default_rng(0)
W = (rng.standard_normal((3, 3)) * 0.5).astype(np.float32)
XS = rng.standard_normal((5, 3)).astype(np.float32)
H0 = rng.standard_normal(3).astype(np.float32)


def _allclose(a, b, **kw):
    kw.setdefault("rtol", 1e-5)
    kw.setdefault("atol", 1e-6)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), **kw)


def _matvec(w, h):
    return lax.reduce_sum(w * lax.broadcast_in_dim(h, (3, 3), (1,)), (1,))


# A small RNN; bodies are module-level so their traces (and compiled programs) are reused.
def _rnn_step(w, h, x):
    h = jnp.tanh(_matvec(w, h) + x)
    return h, h * h


def rnn(w, h0, xs):
    h, ys = lax.scan(functools.partial(_rnn_step, w), h0, xs)
    return h, ys


def rnn_np(w, h0, xs):
    h, ys = h0, []
    for x in xs:
        h = np.tanh(w @ h + x)
        ys.append(h * h)
    return h, np.stack(ys)


def rnn_loss(w, h0, xs):
    h, ys = rnn(w, h0, xs)
    return lax.reduce_sum(h, (0,)) + lax.reduce_sum(ys, (0, 1))


# ----------------------------------------------------------------------------------------------
# numerics

def test_scan_rnn_numerics_eager_and_jit():
    for fn in (rnn, ec.jit(rnn)):
        h, ys = fn(W, H0, XS)
        eh, eys = rnn_np(W, H0, XS)
        _allclose(h, eh)
        _allclose(ys, eys)
    assert "stablehlo.while" in ec.jit(rnn).lower(W, H0, XS).as_text()


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroll", [1, 2, 3, 5, True, 0])
def test_scan_pytrees_reverse_unroll(reverse, unroll):
    xs = {"a": XS, "b": (np.arange(5, dtype=np.int32),)}

    def f(carry, x):
        s, n = carry
        s = s + x["a"] * x["b"][0]
        return (s, n + 1), {"s": s, "n": n}

    (s, n), ys = lax.scan(f, (np.zeros(3, np.float32), 0), xs, reverse=reverse, unroll=unroll)
    order = range(4, -1, -1) if reverse else range(5)
    acc, cnt, ss, ns = np.zeros(3, np.float32), 0, [None] * 5, [None] * 5
    for i in order:
        acc = acc + XS[i] * i
        ss[i], ns[i] = acc, cnt
        cnt += 1
    _allclose(s, acc)
    assert int(n) == 5
    _allclose(ys["s"], np.stack(ss))
    np.testing.assert_array_equal(np.asarray(ys["n"]), ns)


def test_scan_without_xs_and_zero_length():
    c, ys = lax.scan(lambda c, _: (c * 2, c), np.float32(1.0), None, length=4)
    assert float(c) == 16.0
    _allclose(ys, [1, 2, 4, 8])
    c, ys = lax.scan(lambda c, x: (c + x, c), np.zeros(3, np.float32), np.zeros((0, 3), np.float32))
    assert ys.shape == (0, 3)
    _allclose(c, np.zeros(3))
    # y may be None, and the carry may be empty
    c, ys = lax.scan(lambda c, x: (c + x, None), np.float32(0), np.arange(4.0, dtype=np.float32))
    assert ys is None and float(c) == 6.0
    _, ys = lax.scan(lambda c, x: ((), x * 2), (), XS)
    _allclose(ys, XS * 2)


def test_scan_weak_carry_promotion_and_tracing_cache():
    calls = []

    def body(c, x):
        calls.append(1)
        return c + x, c

    c, ys = lax.scan(body, 0, XS[:, 0])  # a Python int carry becomes float32, as in JAX
    assert c.dtype == np.float32
    _allclose(c, XS[:, 0].sum(), rtol=1e-5)
    n = len(calls)
    for _ in range(3):
        lax.scan(body, 0, XS[:, 0])
    assert len(calls) == n  # traced once, then cached


def test_map():
    _allclose(lax.map(lambda x: x * x, XS), XS * XS)
    ys = np.arange(5.0, dtype=np.float32)
    out = lax.map(lambda d: {"s": lax.reduce_sum(d["x"], (0,)) + d["y"]}, {"x": XS, "y": ys})
    _allclose(out["s"], XS.sum(1) + np.arange(5))
    for bs in (0, 1, 2, 5, 7):
        _allclose(lax.map(jnp.sin, XS, batch_size=bs), np.sin(XS))
    _allclose(ec.jit(lambda xs: lax.map(jnp.sin, xs, batch_size=2))(XS), np.sin(XS))
    _allclose(ec.vmap(lambda xs: lax.map(jnp.sin, xs))(np.stack([XS, 2 * XS])), np.sin(np.stack([XS, 2 * XS])))


# ----------------------------------------------------------------------------------------------
# derivatives

def test_scan_rnn_grads_order2():
    check_grads(rnn, (W, H0, XS), order=2, modes=("fwd", "rev"))


def test_scan_grad_matches_unrolled_and_jit_grad_is_one_program():
    g = ec.grad(rnn_loss, argnums=(0, 1, 2))(W, H0, XS)
    ge = ec.grad(_unrolled_loss, argnums=(0, 1, 2))(W, H0, XS)
    for a, b in zip(g, ge):
        _allclose(a, b, rtol=1e-4, atol=1e-5)
    jg = ec.jit(ec.grad(rnn_loss, argnums=(0, 1, 2)))
    for a, b in zip(jg(W, H0, XS), ge):
        _allclose(a, b, rtol=1e-4, atol=1e-5)
    jaxpr = ec.make_jaxpr(ec.grad(rnn_loss))(W, H0, XS)
    scans = [e for e in jaxpr.eqns if e.primitive.name == "scan"]
    assert [e.params["reverse"] for e in scans] == [False, True]  # forward (known) + transposed
    # loop-invariant residuals (the weights) are hoisted, not stacked per step: the transposed
    # scan takes W itself as a loop constant
    bwd = scans[1]
    assert jaxpr.jaxpr.invars[0] in bwd.invars[:bwd.params["num_consts"]]


def _unrolled_loss(w, h0, xs):
    h, total = h0, 0.0
    for i in range(xs.shape[0]):
        h, y = _rnn_step(w, h, lax.index_in_dim(xs, i, 0, keepdims=False))
        total = total + lax.reduce_sum(y, (0,))
    return lax.reduce_sum(h, (0,)) + total


def _poly_step(c, x):
    return c * x + jnp.sin(c), c * c


def poly_scan(c0):
    c, ys = lax.scan(_poly_step, c0, np.float32([0.5, -0.3, 0.9, 1.1]))
    return c + lax.reduce_sum(ys, (0,))


def test_grad_of_grad_of_scan():
    c0 = np.float32(0.7)
    # the same function written as a Python loop gives the reference derivatives
    def unrolled(c):
        total = 0.0
        for x in [0.5, -0.3, 0.9, 1.1]:
            total = total + c * c
            c = c * x + jnp.sin(c)
        return c + total
    _allclose(ec.grad(ec.grad(poly_scan))(c0), ec.grad(ec.grad(unrolled))(c0), rtol=1e-4)
    _allclose(ec.jit(ec.grad(ec.grad(poly_scan)))(c0), ec.grad(ec.grad(unrolled))(c0), rtol=1e-4)
    check_grads(poly_scan, (c0,), order=2, modes=("fwd", "rev"))


def test_grad_through_closed_over_weights_and_reverse_scan():
    def loss(w, xs):
        h, ys = lax.scan(lambda h, x: _rnn_step(w, h, x), H0, xs, reverse=True)
        return lax.reduce_sum(ys, (0, 1))

    def loss_np_like(w, xs):
        return rnn_loss_rev(w, xs)

    g = ec.grad(loss)(W, XS)
    ge = ec.grad(loss_np_like)(W, XS)
    _allclose(g, ge, rtol=1e-4, atol=1e-5)


def rnn_loss_rev(w, xs):
    h, total = H0, 0.0
    for i in reversed(range(xs.shape[0])):
        h, y = _rnn_step(w, h, lax.index_in_dim(xs, i, 0, keepdims=False))
        total = total + lax.reduce_sum(y, (0,))
    return total


# ----------------------------------------------------------------------------------------------
# vmap

def test_vmap_scan_batched_xs_init_and_consts():
    ws = np.stack([W, W * 0.5])
    h0s = np.stack([H0, -H0])
    xss = np.stack([XS, XS * 2])
    cases = [((0, None, None), (ws, H0, XS)), ((None, 0, None), (W, h0s, XS)),
             ((None, None, 0), (W, H0, xss)), ((0, 0, 1), (ws, h0s, np.moveaxis(xss, 0, 1)))]
    for in_axes, args in cases:
        h, ys = ec.vmap(rnn, in_axes=in_axes)(*args)
        for b in range(2):
            per = [np.moveaxis(a, ax, 0)[b] if ax is not None else a for a, ax in zip(args, in_axes)]
            eh, eys = rnn_np(*per)
            _allclose(h[b], eh, rtol=1e-5)
            _allclose(ys[b], eys, rtol=1e-5)
    h, _ = ec.jit(ec.vmap(rnn, in_axes=(0, None, None)))(ws, H0, XS)
    _allclose(h[1], rnn_np(W * 0.5, H0, XS)[0])


def test_vmap_of_grad_and_grad_of_vmap_scan():
    ws = np.stack([W, W * 0.5])
    g = ec.vmap(ec.grad(rnn_loss), in_axes=(0, None, None))(ws, H0, XS)
    for b in range(2):
        _allclose(g[b], ec.grad(rnn_loss)(ws[b], H0, XS), rtol=1e-4, atol=1e-5)
    g2 = ec.grad(lambda ws: lax.reduce_sum(ec.vmap(rnn_loss, in_axes=(0, None, None))(ws, H0, XS), (0,)))(ws)
    _allclose(g2, g, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# nesting: scan inside cond inside scan

def _inner_step(c, x):
    return c * 0.9 + x, c


def _positive_branch(h, xrow):
    c, _ = lax.scan(_inner_step, h, xrow)
    return c


def _negative_branch(h, xrow):
    return h * jnp.cos(h)


def _outer_step(h, xrow):
    h = lax.cond(lax.reduce_sum(xrow, (0,)) > 0, _positive_branch, _negative_branch, h, xrow)
    return h, h


def nested(h0, xs):
    return lax.scan(_outer_step, h0, xs)


def nested_np(h0, xs):
    h, hs = h0, []
    for row in xs:
        if row.sum() > 0:
            for x in row:
                h = h * 0.9 + x
        else:
            h = h * np.cos(h)
        hs.append(h)
    return h, np.stack(hs)


def test_nested_control_flow():
    h0 = np.float32(0.3)
    xs = XS
    for fn in (nested, ec.jit(nested)):
        h, hs = fn(h0, xs)
        eh, ehs = nested_np(h0, xs)
        _allclose(h, eh, rtol=1e-5)
        _allclose(hs, ehs, rtol=1e-5)
    check_grads(nested, (h0, xs), order=1, modes=("fwd", "rev"))
    hb, _ = ec.vmap(nested, in_axes=(0, None))(np.float32([0.3, -0.2]), xs)
    _allclose(hb, [nested_np(np.float32(0.3), xs)[0], nested_np(np.float32(-0.2), xs)[0]], rtol=1e-5)
    # batched predicate inside: each example takes its own branches
    hb, _ = ec.vmap(nested, in_axes=(None, 0))(h0, np.stack([xs, -xs]))
    _allclose(hb, [nested_np(h0, xs)[0], nested_np(h0, -xs)[0]], rtol=1e-5)


# ----------------------------------------------------------------------------------------------
# associative_scan

@ec.jit
def _cumsum_and_revmax(x):
    return lax.associative_scan(lax.add, x), lax.associative_scan(lax.max, x, reverse=True)


def test_associative_scan():
    for n in (1, 2, 5, 8, 13):
        x = rng.standard_normal((n, 2)).astype(np.float32)
        s, m = _cumsum_and_revmax(x)
        _allclose(s, np.cumsum(x, 0), rtol=1e-5, atol=1e-5)
        _allclose(m, np.maximum.accumulate(x[::-1], 0)[::-1])
    x = rng.standard_normal((2, 6)).astype(np.float32)
    _allclose(lax.associative_scan(lax.add, x, axis=1), np.cumsum(x, 1), rtol=1e-5, atol=1e-5)
    # a pytree operator: affine maps a*x+b composed left to right
    a, b = rng.uniform(0.5, 1.5, 7).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    def fn(p, q):
        return p[0] * q[0], p[1] * q[0] + q[1]

    out_a, out_b = ec.jit(lambda a, b: lax.associative_scan(fn, (a, b)))(a, b)
    ea, eb, acc = [], [], (1.0, 0.0)
    for ai, bi in zip(a, b):
        acc = (acc[0] * ai, acc[1] * ai + bi)
        ea.append(acc[0])
        eb.append(acc[1])
    _allclose(out_a, ea, rtol=1e-5)
    _allclose(out_b, eb, rtol=1e-5, atol=1e-5)
    _allclose(ec.vmap(lambda x: lax.associative_scan(lax.add, x))(np.stack([a, b])),
              np.cumsum(np.stack([a, b]), 1), rtol=1e-5, atol=1e-5)
    g = ec.jit(ec.grad(lambda a: lax.reduce_sum(lax.associative_scan(lax.mul, a), (0,))))(a)
    _allclose(g, [sum(np.prod(a[:k + 1]) / a[i] for k in range(i, 7)) for i in range(7)], rtol=1e-4)


# ----------------------------------------------------------------------------------------------
# errors

def test_scan_errors():
    with pytest.raises(TypeError, match=r"The input carry component c\[1\] has type f32\[\] but the "
                                        r"corresponding output carry component has type f32\[3\]"):
        lax.scan(lambda c, x: ((c[0], x), x), (np.float32(1), np.float32(2)), XS)
    with pytest.raises(TypeError, match="carry input and carry output must have equal types"):
        lax.scan(lambda c, x: (c.astype(np.int32), x), np.float32(0), XS)
    with pytest.raises(TypeError, match="same pytree structure"):
        lax.scan(lambda c, x: ((c,), x), np.float32(0), XS)
    with pytest.raises(TypeError, match="scan body output must be a pair"):
        lax.scan(lambda c, x: c, np.float32(0), XS)
    with pytest.raises(ValueError, match="different leading axis sizes"):
        lax.scan(lambda c, x: (c, x), 0.0, (XS, XS[:2]))
    with pytest.raises(ValueError, match="disagrees with leading axis sizes"):
        lax.scan(lambda c, x: (c, x), 0.0, XS, length=4)
    with pytest.raises(ValueError, match="no values to scan over"):
        lax.scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(TypeError, match="callable"):
        lax.scan(1, 0.0, XS)


def test_collectives_inside_loop_bodies_under_vmap():
    xs = np.arange(6, dtype=np.float32).reshape(2, 3)

    def f(x):
        return lax.scan(lambda c, x: (c + lax.psum(x, "i"), c), np.float32(0), x)[0]

    _allclose(ec.vmap(f, axis_name="i")(xs), [15.0, 15.0])

    def g(x):  # the body ignores the batched input but its outputs vary along the axis
        return lax.cond(True, lambda: lax.axis_index("i") * 1.0, lambda: 0.0)

    _allclose(ec.vmap(g, axis_name="i")(xs), [0.0, 1.0])
