"""vmap: axes specifications, nesting, out_axes, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax

RNG = np.random.default_rng(2)


def test_in_axes_out_axes_and_none():
    xs = RNG.normal(size=(3, 4)).astype(np.float32)
    y = RNG.normal(size=(4,)).astype(np.float32)
    out = ec.vmap(lambda a, b: a * b + 1, in_axes=(0, None))(xs, y)
    np.testing.assert_allclose(np.asarray(out), xs * y + 1, rtol=1e-6)
    out = ec.vmap(lambda a, b: a * b, in_axes=(1, None), out_axes=1)(xs.T.copy(), np.float32(2.0))
    np.testing.assert_allclose(np.asarray(out), xs.T * 2)
    out = ec.vmap(lambda a: a, in_axes=-1, out_axes=-1)(xs)
    np.testing.assert_array_equal(np.asarray(out), xs)


def test_pytree_in_axes():
    tree = {"a": RNG.normal(size=(5, 2)).astype(np.float32), "b": np.float32(3.0)}
    out = ec.vmap(lambda t: t["a"] * t["b"], in_axes=({"a": 0, "b": None},))(tree)
    np.testing.assert_allclose(np.asarray(out), tree["a"] * 3.0)


def test_nested_vmap_computes_outer_product():
    a, b = np.float32([1, 2, 3]), np.float32([10, 20])
    out = ec.vmap(lambda x: ec.vmap(lambda y: x * y)(b))(a)
    np.testing.assert_array_equal(np.asarray(out), np.outer(a, b))


def test_unbatched_output_is_broadcast():
    out = ec.vmap(lambda x: np.float32(7.0), axis_size=3)(np.float32([1, 2, 3]))
    np.testing.assert_array_equal(np.asarray(out), [7, 7, 7])
    out2 = ec.vmap(lambda x: (x, np.float32(1.0)), out_axes=(0, None))(np.float32([1, 2]))
    assert np.asarray(out2[1]).shape == ()


def test_vmap_of_jit_and_jit_of_vmap():
    f = ec.jit(lambda x: jnp.sin(x) * 2)
    xs = np.float32([[0.1, 0.2], [0.3, 0.4]])
    np.testing.assert_allclose(np.asarray(ec.vmap(f)(xs)), 2 * np.sin(xs), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ec.jit(ec.vmap(f))(xs)), 2 * np.sin(xs), rtol=1e-6)


def test_keyword_arguments_are_mapped():
    out = ec.vmap(lambda x, *, y: x + y)(np.float32([1, 2]), y=np.float32([10, 20]))
    np.testing.assert_array_equal(np.asarray(out), [11, 22])


def test_reduction_inside_vmap():
    xs = RNG.normal(size=(4, 3)).astype(np.float32)
    out = ec.vmap(lambda x: lax.reduce_max(x, (0,)))(xs)
    np.testing.assert_allclose(np.asarray(out), xs.max(1))
    out = ec.vmap(lambda x: lax.reduce_sum(x, (0,)), in_axes=1)(xs)
    np.testing.assert_allclose(np.asarray(out), xs.sum(0), rtol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match=r"inconsistent sizes for the mapped axis: size 3 .*; size 4"):
        ec.vmap(lambda a, b: a)(np.ones(3, np.float32), np.ones(4, np.float32))
    with pytest.raises(ValueError, match="in_axes 2 is out of range"):
        ec.vmap(lambda a: a, in_axes=2)(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="in_axes has 1 entries but the function was called with 2"):
        ec.vmap(lambda a, b: a, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="varies along the mapped axis, but out_axes is None"):
        ec.vmap(lambda a: a, out_axes=None)(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="needs at least one mapped input"):
        ec.vmap(lambda a: a, in_axes=None)(np.ones(3, np.float32))
