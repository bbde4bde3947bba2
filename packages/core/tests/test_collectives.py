"""Collectives over vmapped axes: psum, pmean, pmax, pmin, all_gather, axis_index."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
from ember.core import lax

X = np.float32([1, 2, 3, 4])


def test_reductions_over_a_named_axis():
    norm = ec.vmap(lambda v: v / lax.psum(v, "i"), axis_name="i")(X)
    np.testing.assert_allclose(np.asarray(norm), X / X.sum())
    np.testing.assert_allclose(np.asarray(ec.vmap(lambda v: lax.pmean(v, "i"), axis_name="i")(X)), [2.5] * 4)
    np.testing.assert_array_equal(np.asarray(ec.vmap(lambda v: lax.pmax(v, "i"), axis_name="i")(X)), [4] * 4)
    np.testing.assert_array_equal(np.asarray(ec.vmap(lambda v: lax.pmin(v, "i"), axis_name="i")(X)), [1] * 4)
    # an unbatched value summed over the axis is multiplied by its size
    np.testing.assert_array_equal(np.asarray(ec.vmap(lambda v: lax.psum(np.float32(2), "i") + v * 0, axis_name="i")(X)), [8] * 4)


def test_all_gather_and_axis_index():
    gathered = ec.vmap(lambda v: lax.all_gather(v, "i"), axis_name="i")(X)
    np.testing.assert_array_equal(np.asarray(gathered), np.tile(X, (4, 1)))
    np.testing.assert_array_equal(np.asarray(ec.vmap(lambda v: lax.axis_index("i") * v, axis_name="i")(X)), [0, 2, 6, 12])
    tiled = ec.vmap(lambda v: lax.all_gather(v, "i", tiled=True), axis_name="i")(X.reshape(2, 2))
    np.testing.assert_array_equal(np.asarray(tiled), np.tile(X, (2, 1)))


def test_nested_axes_and_jit():
    m = np.float32([[1, 2], [3, 4]])
    over_i = ec.vmap(lambda row: ec.vmap(lambda v: lax.psum(v, "i"), axis_name="j")(row), axis_name="i")(m)
    np.testing.assert_array_equal(np.asarray(over_i), [[4, 6], [4, 6]])
    over_j = ec.vmap(lambda row: ec.vmap(lambda v: lax.psum(v, "j"), axis_name="j")(row), axis_name="i")(m)
    np.testing.assert_array_equal(np.asarray(over_j), [[3, 3], [7, 7]])
    both = ec.vmap(lambda row: ec.vmap(lambda v: lax.psum(v, ("i", "j")), axis_name="j")(row), axis_name="i")(m)
    np.testing.assert_array_equal(np.asarray(both), [[10, 10], [10, 10]])
    jitted = ec.jit(ec.vmap(lambda v: ec.jit(lambda u: u / lax.psum(u, "i"))(v), axis_name="i"))(X)
    np.testing.assert_allclose(np.asarray(jitted), X / X.sum())


def test_gradient_through_psum():
    g = ec.grad(lambda v: lax.reduce_sum(ec.vmap(lambda w: w * lax.psum(w, "i"), axis_name="i")(v), (0,)))(X)
    np.testing.assert_allclose(np.asarray(g), [2 * X.sum()] * 4)


def test_unbound_axis_name():
    with pytest.raises(NameError, match="unbound axis name 'k'"):
        ec.jit(lambda v: lax.psum(v, "k"))(X)
    with pytest.raises(NameError, match="unbound axis name 'k'"):
        ec.vmap(lambda v: lax.axis_size("k"), axis_name="i")(X)
