"""Shape primitives: values against NumPy, derivatives, batching and errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
from ember.core import lax
from ember.core.test_util import check_grads

RNG = np.random.default_rng(1)
A = RNG.normal(size=(2, 3, 4)).astype(np.float32)


def test_values_match_numpy():
    ops = [
        (lambda x: lax.broadcast_in_dim(lax.slice(x, (0, 0, 0), (1, 3, 1)), (5, 3, 4), (0, 1, 2)), lambda x: np.broadcast_to(x[:1, :, :1], (5, 3, 4))),
        (lambda x: lax.reshape(x, (4, 6)), lambda x: x.reshape(4, 6)),
        (lambda x: lax.reshape(x, (6, 4), dimensions=(1, 0, 2)), lambda x: x.transpose(1, 0, 2).reshape(6, 4)),
        (lambda x: lax.transpose(x, (2, 0, 1)), lambda x: x.transpose(2, 0, 1)),
        (lambda x: lax.squeeze(lax.slice_in_dim(x, 0, 1), (0,)), lambda x: x[0]),
        (lambda x: lax.expand_dims(x, (0, 3)), lambda x: x[None, :, :, None]),
        (lambda x: lax.rev(x, (0, 2)), lambda x: x[::-1, :, ::-1]),
        (lambda x: lax.slice(x, (0, 1, 0), (2, 3, 4), (1, 1, 2)), lambda x: x[:, 1:3, ::2]),
        (lambda x: lax.slice_in_dim(x, 1, 4, 2, axis=2), lambda x: x[:, :, 1:4:2]),
        (lambda x: lax.index_in_dim(x, -1, axis=1, keepdims=False), lambda x: x[:, -1]),
        (lambda x: lax.concatenate([x, lax.slice_in_dim(x, 0, 1, axis=1)], 1), lambda x: np.concatenate([x, x[:, :1]], 1)),
        (lambda x: lax.pad(x, np.float32(9), [(1, 0, 0), (0, 2, 1), (-1, 1, 0)]),
         lambda x: _np_pad(x, 9, [(1, 0, 0), (0, 2, 1), (-1, 1, 0)])),
        (lambda x: lax.broadcast(x, (2,)), lambda x: np.broadcast_to(x, (2,) + x.shape)),
    ]
    outs = ec.jit(lambda x: [f(x) for f, _ in ops])(A)
    for i, ((_, ref), out) in enumerate(zip(ops, outs)):
        np.testing.assert_array_equal(np.asarray(out), ref(A), err_msg=f"op {i}")


def _np_pad(x, value, config):
    out = x
    for axis, (lo, hi, interior) in enumerate(config):
        if interior:
            idx = np.arange(out.shape[axis] - 1) + 1
            out = np.insert(out, np.repeat(idx, interior), value, axis=axis)
        if lo >= 0:
            out = np.concatenate([np.full_like(np.take(out, [0] * lo, axis=axis), value), out], axis) if lo else out
        else:
            out = np.take(out, range(-lo, out.shape[axis]), axis=axis)
        if hi >= 0:
            out = np.concatenate([out, np.full_like(np.take(out, [0] * hi, axis=axis), value)], axis) if hi else out
        else:
            out = np.take(out, range(0, out.shape[axis] + hi), axis=axis)
    return out


def test_iota_and_full():
    np.testing.assert_array_equal(np.asarray(lax.iota(np.int32, 5)), np.arange(5))
    np.testing.assert_array_equal(np.asarray(lax.broadcasted_iota(np.float32, (2, 3), 1)), np.tile(np.arange(3), (2, 1)))
    f = lax.full((2, 2), 3.5, np.float16)
    assert f.dtype == np.float16 and np.asarray(f).tolist() == [[3.5, 3.5], [3.5, 3.5]]


def test_dynamic_slice_and_update_clamp_like_xla():
    x = np.arange(10, dtype=np.float32)
    out = ec.jit(lambda x, i: lax.dynamic_slice(x, (i,), (3,)))(x, np.int32(8))
    np.testing.assert_array_equal(np.asarray(out), [7, 8, 9])  # start clamped to 7
    upd = ec.jit(lambda x, i: lax.dynamic_update_slice(x, np.float32([-1, -2]), (i,)))(x, np.int32(-5))
    np.testing.assert_array_equal(np.asarray(upd)[:3], [-1, -2, 2])
    np.testing.assert_array_equal(np.asarray(lax.dynamic_index_in_dim(A, 1, axis=1, keepdims=False)), A[:, 1])


@pytest.mark.parametrize("name,f", [
    ("broadcast_in_dim", lambda x: lax.broadcast_in_dim(lax.slice_in_dim(x, 0, 1, axis=1), (3, 2, 3), (1, 2))),
    ("reshape", lambda x: lax.reshape(x, (3, 2))),
    ("transpose", lambda x: lax.transpose(x, (1, 0))),
    ("rev", lambda x: lax.rev(x, (1,))),
    ("slice", lambda x: lax.slice(x, (0, 1), (2, 3), (1, 2))),
    ("concatenate", lambda x: lax.concatenate([x, lax.mul(x, x)], 0)),
    ("pad", lambda x: lax.pad(x, np.float32(0.5), [(1, -1, 1), (0, 2, 0)])),
    ("dynamic_slice", lambda x: lax.dynamic_slice(x, (np.int32(1), np.int32(1)), (1, 2))),
    ("dynamic_update_slice", lambda x: lax.dynamic_update_slice(x, lax.mul(lax.slice(x, (0, 0), (1, 2)), np.float32(3)), (np.int32(1), np.int32(0)))),
    ("squeeze", lambda x: lax.squeeze(lax.reshape(x, (1, 2, 3)), (0,))),
])
def test_gradients(name, f):
    check_grads(f, (np.ascontiguousarray(A[0, :2, :3]),), order=2)


def test_pad_gradient_wrt_padding_value():
    check_grads(lambda v: lax.pad(np.float32([[1.0, 2.0]]), v, [(1, 1, 0), (0, 1, 1)]), (np.float32(0.3),))


def test_batching_matches_loop():
    xs = RNG.normal(size=(4, 3, 5)).astype(np.float32)
    f = lambda x: lax.concatenate([lax.rev(lax.slice(x, (0, 1), (3, 4)), (1,)), lax.transpose(lax.reshape(x, (5, 3)), (1, 0))], 1)  # noqa: E731
    out = ec.vmap(f, in_axes=1, out_axes=2)(np.moveaxis(xs, 0, 1))
    expected = np.stack([np.concatenate([x[0:3, 1:4][:, ::-1], x.reshape(5, 3).T], 1) for x in xs], axis=2)
    np.testing.assert_array_equal(np.asarray(out), expected)
    idx = np.int32([0, 2, 1, 3])
    ds = ec.vmap(lambda x, i: lax.dynamic_slice(x, (np.int32(0), i), (3, 2)), in_axes=(0, None))(xs, np.int32(2))
    np.testing.assert_array_equal(np.asarray(ds), xs[:, :, 2:4])
    pads = ec.vmap(lambda x, v: lax.pad(x, v, [(1, 1, 0), (0, 0, 0)]))(xs, np.float32([1, 2, 3, 4]))
    np.testing.assert_array_equal(np.asarray(pads)[:, 0, 0], [1, 2, 3, 4])
    del idx


def test_errors():
    with pytest.raises(TypeError, match=r"cannot reshape an array of shape \(2, 3, 4\) \(24 elements\) into shape \(5, 5\)"):
        lax.reshape(A, (5, 5))
    with pytest.raises(TypeError, match=r"lax\.transpose: permutation \(0, 0, 1\)"):
        lax.transpose(A, (0, 0, 1))
    with pytest.raises(TypeError, match=r"operand dimension 1 of size 3 cannot be broadcast"):
        lax.broadcast_in_dim(A, (2, 4, 4), (0, 1, 2))
    with pytest.raises(ValueError, match=r"invalid slice \[0:5:1\] of dimension 1"):
        lax.slice(A, (0, 0, 0), (2, 5, 4))
    with pytest.raises(TypeError, match=r"lax\.concatenate: operand 1 has shape"):
        lax.concatenate([A, np.ones((2, 4, 3), np.float32)], 1)
    with pytest.raises(TypeError, match=r"lax\.dynamic_slice: needs 3 start indices"):
        lax.dynamic_slice(A, (0,), (1, 1, 1))
