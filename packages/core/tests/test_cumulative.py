"""Cumulative reductions and associative_scan (primitives/cumulative.py)."""

import numpy as np
import pytest

import ember.core as ec
import ember.core.lax as lax
from ember.core._src.primitives.cumulative import associative_scan  # the copy the JVPs use
from ember.core.test_util import check_grads

rng = np.random.default_rng(1)
X = rng.standard_normal((3, 6)).astype(np.float32)

REFERENCES = {
    "cumsum": np.cumsum,
    "cumprod": np.cumprod,
    "cummax": np.maximum.accumulate,
    "cummin": np.minimum.accumulate,
    "cumlogsumexp": np.logaddexp.accumulate,
}


def _reference(name, x, axis, reverse):
    x = np.flip(x, axis) if reverse else x
    out = REFERENCES[name](x, axis=axis)
    return np.flip(out, axis) if reverse else out


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_matches_numpy(name):
    f = getattr(lax, name)
    for axis in (0, 1, -1):
        for reverse in (False, True):
            np.testing.assert_allclose(f(X, axis=axis, reverse=reverse), _reference(name, X, axis, reverse),
                                       rtol=1e-5, atol=1e-5, err_msg=f"{name} axis={axis} reverse={reverse}")


def test_integer_inputs_and_edge_sizes():
    i = np.array([[3, -1, 4], [1, 5, -9]], np.int32)
    np.testing.assert_array_equal(lax.cumsum(i, 1), np.cumsum(i, 1))
    np.testing.assert_array_equal(lax.cumprod(i, 0, reverse=True), np.flip(np.cumprod(np.flip(i, 0), 0), 0))
    np.testing.assert_array_equal(lax.cummax(i, 1), np.maximum.accumulate(i, 1))
    np.testing.assert_array_equal(lax.cummin(i.astype(np.uint8), 1), np.minimum.accumulate(i.astype(np.uint8), 1))
    assert lax.cumsum(np.zeros((2, 0), np.float32), 1).shape == (2, 0)
    np.testing.assert_array_equal(lax.cumsum(np.array([7], np.int32)), [7])


def test_cumlogsumexp_infinities_and_nans():
    x = np.array([-np.inf, -np.inf, 0.0, np.inf, 1.0], np.float32)
    np.testing.assert_array_equal(lax.cumlogsumexp(x), np.logaddexp.accumulate(x))
    np.testing.assert_array_equal(lax.cummax(np.array([1.0, np.nan, 2.0], np.float32)), [1.0, np.nan, np.nan])


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradients_second_order(name):
    f = getattr(lax, name)
    x = X[:2, :5]
    check_grads(lambda v: f(v, axis=1), (x,), order=2)
    check_grads(lambda v: f(v, axis=0, reverse=True), (x,), order=2)


def test_cumprod_gradient_with_zeros():
    x = np.array([2.0, 0.0, 3.0, 0.5], np.float32)
    check_grads(lax.cumprod, (x,), order=2)


def test_cummax_gradient_ties_match_jax():
    # JAX differentiates the max in the prefix scan, which splits ties evenly
    g = ec.grad(lambda v: lax.reduce_sum(lax.cummax(v), (0,)))(np.array([1.0, 1.0, 2.0], np.float32))
    np.testing.assert_allclose(g, [1.5, 0.5, 1.0])


def test_cumsum_transpose_is_reverse_cumsum():
    ct = np.arange(1.0, 5.0, dtype=np.float32)
    _, f_vjp = ec.vjp(lambda v: lax.cumsum(v), ct)
    np.testing.assert_allclose(f_vjp(ct)[0], np.flip(np.cumsum(np.flip(ct))))


@pytest.mark.parametrize("name", ["cumsum", "cummax", "cumlogsumexp"])
def test_vmap_matches_loop(name):
    f = getattr(lax, name)
    for in_axis in (0, 1):
        moved = np.moveaxis(X, in_axis, 0)
        expected = np.stack([np.asarray(f(m, 0, True)) for m in moved])
        np.testing.assert_allclose(ec.vmap(lambda v: f(v, 0, True), in_axes=in_axis)(X), expected, rtol=1e-6)


def test_jit_matches_eager():
    def f(x):
        return [lax.cumsum(x, 1), lax.cumprod(x, 0), lax.cummax(x, 1, True), lax.cummin(x, 0),
                lax.cumlogsumexp(x, 1)]
    for a, b in zip(ec.jit(f)(X), f(X)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_associative_scan():
    x = np.arange(1, 7, dtype=np.int32)
    np.testing.assert_array_equal(associative_scan(lax.add, x), np.cumsum(x))
    np.testing.assert_array_equal(associative_scan(lax.add, x, reverse=True), np.flip(np.cumsum(np.flip(x))))
    # a pytree of elements: running (sum, max) along axis 1
    pair = (X, X * 2)
    s, m = associative_scan(lambda a, b: (lax.add(a[0], b[0]), lax.max(a[1], b[1])), pair, axis=1)
    np.testing.assert_allclose(s, np.cumsum(X, 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m, np.maximum.accumulate(X * 2, 1))
    # a non-commutative operation: composing affine maps x -> a x + b
    a, b = rng.standard_normal(7).astype(np.float32), rng.standard_normal(7).astype(np.float32)
    out_a, out_b = associative_scan(lambda p, q: (lax.mul(q[0], p[0]), lax.add(lax.mul(q[0], p[1]), q[1])), (a, b))
    ref_a, ref_b = [a[0]], [b[0]]
    for k in range(1, 7):
        ref_a.append(a[k] * ref_a[-1])
        ref_b.append(a[k] * ref_b[-1] + b[k])
    np.testing.assert_allclose(out_a, ref_a, rtol=1e-5)
    np.testing.assert_allclose(out_b, ref_b, rtol=1e-5, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"lax.cumsum: axis 2 is out of bounds .*\(3, 6\)"):
        lax.cumsum(X, 2)
    with pytest.raises(TypeError, match=r"lax.cumsum: expected a numeric array, got bool"):
        lax.cumsum(np.array([True, False]))
    with pytest.raises(TypeError, match=r"lax.cumlogsumexp: expected a floating-point array, got int32"):
        lax.cumlogsumexp(np.array([1, 2], np.int32))
    with pytest.raises(ValueError, match=r"lax.associative_scan: all arrays must have the same size"):
        associative_scan(lambda a, b: a, (np.zeros(3), np.zeros(4)))
    with pytest.raises(TypeError, match=r"lax.associative_scan: fn must be callable"):
        associative_scan(3, np.zeros(3))
