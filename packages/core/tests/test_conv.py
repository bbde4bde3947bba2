"""conv_general_dilated and the lax.conv helpers: numerics against a NumPy reference, gradients
with respect to both operands (strides, padding, dilations, feature and batch groups), batching,
dimension-number strings, errors."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
from ember.core import lax
from ember.core.test_util import check_grads

# ----------------------------------------------------------------------------------------------
# A direct NumPy convolution in NC.../OI... layout

def _dilate(x, factors, axes):
    for ax, f in zip(axes, factors):
        if f == 1 or x.shape[ax] == 0:
            continue
        shape = list(x.shape)
        shape[ax] = (x.shape[ax] - 1) * f + 1
        y = np.zeros(shape, x.dtype)
        idx = [slice(None)] * x.ndim
        idx[ax] = slice(None, None, f)
        y[tuple(idx)] = x
        x = y
    return x


def _pad(x, pads, axes):
    for ax, (lo, hi) in zip(axes, pads):
        widths = [(0, 0)] * x.ndim
        widths[ax] = (max(lo, 0), max(hi, 0))
        x = np.pad(x, widths)
        idx = [slice(None)] * x.ndim
        idx[ax] = slice(max(-lo, 0), x.shape[ax] - max(-hi, 0))
        x = x[tuple(idx)]
    return x


def np_conv(lhs, rhs, strides, padding, lhs_dil=None, rhs_dil=None, fgc=1, bgc=1):
    nsp = lhs.ndim - 2
    sp = tuple(range(2, 2 + nsp))
    x = _pad(_dilate(lhs, lhs_dil or (1,) * nsp, sp), padding, sp)
    k = _dilate(rhs, rhs_dil or (1,) * nsp, sp)
    win = np.lib.stride_tricks.sliding_window_view(x, k.shape[2:], axis=sp)
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)]
    n, c = lhs.shape[:2]
    o = rhs.shape[0]
    sl, kl = "abc"[:nsp], "xyz"[:nsp]
    if bgc > 1:
        win = win.reshape((bgc, n // bgc) + win.shape[1:])
        kg = k.reshape((bgc, o // bgc) + k.shape[1:])
        out = np.einsum(f"gnc{sl}{kl},goc{kl}->ngo{sl}", win, kg)
        return out.reshape((n // bgc, o) + out.shape[3:])
    win = win.reshape((n, fgc, c // fgc) + win.shape[2:])
    kg = k.reshape((fgc, o // fgc) + k.shape[1:])
    out = np.einsum(f"ngc{sl}{kl},goc{kl}->ngo{sl}", win, kg)
    return out.reshape((n, o) + out.shape[3:])


CASES = {
    "1d_stride_dilate_groups": dict(lhs=(2, 4, 9), rhs=(6, 2, 3), strides=(2,), padding=((1, 2),), lhs_dil=(1,),
                                    rhs_dil=(2,), fgc=2),
    "2d_lhs_rhs_dilation": dict(lhs=(2, 3, 7, 6), rhs=(4, 3, 3, 2), strides=(1, 2), padding=((1, 1), (0, 1)),
                                lhs_dil=(2, 1), rhs_dil=(1, 2)),
    "2d_batch_groups": dict(lhs=(4, 2, 6, 5), rhs=(6, 2, 2, 2), strides=(1, 1), padding=((0, 0), (1, 0)), bgc=2),
    "2d_depthwise_negative_pad": dict(lhs=(2, 4, 6, 5), rhs=(4, 1, 3, 3), strides=(2, 1), padding=((-1, 1), (1, 1)),
                                      fgc=4),
}


def _conv_fn(c):
    return lambda x, k: lax.conv_general_dilated(
        x, k, c["strides"], c["padding"], c.get("lhs_dil"), c.get("rhs_dil"),
        feature_group_count=c.get("fgc", 1), batch_group_count=c.get("bgc", 1))


def _operands(rng, c):
    return (rng.standard_normal(c["lhs"]).astype(np.float32), rng.standard_normal(c["rhs"]).astype(np.float32))


@pytest.mark.parametrize("name", list(CASES))
def test_conv_matches_numpy(rng, name):
    c = CASES[name]
    x, k = _operands(rng, c)
    out = _conv_fn(c)(x, k)
    expected = np_conv(x.astype(np.float64), k.astype(np.float64), c["strides"], c["padding"], c.get("lhs_dil"),
                       c.get("rhs_dil"), c.get("fgc", 1), c.get("bgc", 1))
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(ec.jit(_conv_fn(c))(x, k)), np.asarray(out), atol=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_conv_grads(rng, name):
    c = CASES[name]
    check_grads(_conv_fn(c), _operands(rng, c), order=2, modes=("fwd", "rev"), atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize("name", ["1d_stride_dilate_groups", "2d_batch_groups", "2d_depthwise_negative_pad"])
def test_conv_vmap(rng, name):
    c = CASES[name]
    f = _conv_fn(c)
    x, k = _operands(rng, c)
    xb = np.stack([x * (i + 1) for i in range(3)])
    kb = np.stack([k - i for i in range(3)])
    for axes in [(0, None), (None, 0), (0, 0)]:
        out = ec.vmap(f, in_axes=axes)(xb if axes[0] is not None else x, kb if axes[1] is not None else k)
        expected = np.stack([np.asarray(f(xb[i] if axes[0] is not None else x, kb[i] if axes[1] is not None else k))
                             for i in range(3)])
        np.testing.assert_allclose(np.asarray(out), expected, atol=1e-4, rtol=1e-4)


def test_vmap_batched_axis_in_the_middle(rng):
    x = rng.standard_normal((2, 3, 5, 8)).astype(np.float32)  # vmapped over axis 2
    k = rng.standard_normal((4, 3, 3)).astype(np.float32)
    out = ec.vmap(lambda a: lax.conv(a, k, (1,), "SAME"), in_axes=2, out_axes=1)(x)
    expected = np.stack([np.asarray(lax.conv(x[:, :, i], k, (1,), "SAME")) for i in range(5)], axis=1)
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)


def test_string_dimension_numbers_and_same_padding(rng):
    x = rng.standard_normal((2, 7, 6, 3)).astype(np.float32)   # NHWC
    k = rng.standard_normal((3, 2, 3, 5)).astype(np.float32)   # HWIO
    out = lax.conv_general_dilated(x, k, (2, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    pads = lax.padtype_to_pads((7, 6), (3, 2), (2, 1), "SAME")
    assert pads == [(1, 1), (0, 1)]
    expected = np_conv(x.transpose(0, 3, 1, 2), k.transpose(3, 2, 0, 1), (2, 1), pads).transpose(0, 2, 3, 1)
    assert out.shape == (2, 4, 6, 5)
    np.testing.assert_allclose(np.asarray(out), expected, atol=1e-4, rtol=1e-4)
    dn = lax.conv_dimension_numbers(x.shape, k.shape, ("NHWC", "HWIO", "NHWC"))
    assert dn == lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    assert lax.padtype_to_pads((5,), (2,), (1,), "SAME_LOWER") == [(1, 0)]
    assert lax.padtype_to_pads((5,), (3,), (2,), "VALID") == [(0, 0)]
    check_grads(lambda a, b: lax.conv_general_dilated(a, b, (2, 1), "SAME",
                                                      dimension_numbers=("NHWC", "HWIO", "NHWC")),
                (x, k), order=1, atol=2e-2, rtol=2e-2)


def test_conv_transpose_is_the_gradient_of_conv(rng):
    # conv_transpose with transpose_kernel=True computes the cotangent of a strided conv's input
    x = rng.standard_normal((1, 8, 8, 2)).astype(np.float32)
    k = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    dn = ("NHWC", "HWIO", "NHWC")
    for padding in ("SAME", "VALID"):
        def forward(a, padding=padding):
            return lax.conv_general_dilated(a, k, (2, 2), padding, dimension_numbers=dn)
        y, f_vjp = ec.vjp(forward, x)
        g = rng.standard_normal(y.shape).astype(np.float32)
        expected = f_vjp(g)[0]
        out = lax.conv_transpose(g, k, (2, 2), padding, dimension_numbers=dn, transpose_kernel=True)
        n = min(out.shape[1], expected.shape[1])
        np.testing.assert_allclose(np.asarray(out)[:, :n, :n], np.asarray(expected)[:, :n, :n], atol=1e-4)


def test_conv_transpose_shape_and_grads(rng):
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)   # NHC (default for rank 3)
    k = rng.standard_normal((3, 3, 4)).astype(np.float32)   # HIO
    out = lax.conv_transpose(x, k, (2,), "SAME")
    assert out.shape == (2, 10, 4)
    assert lax.conv_transpose(x, k, (2,), "VALID").shape == (2, 11, 4)
    check_grads(lambda a, b: lax.conv_transpose(a, b, (2,), "SAME"), (x, k), order=1, atol=2e-2, rtol=2e-2)


def test_conv_with_general_padding_and_conv(rng):
    x = rng.standard_normal((1, 2, 6)).astype(np.float32)
    k = rng.standard_normal((3, 2, 2)).astype(np.float32)
    a = lax.conv_with_general_padding(x, k, (1,), ((1, 0),), (2,), (1,))
    np.testing.assert_allclose(np.asarray(a), np_conv(x, k, (1,), ((1, 0),), (2,), (1,)), atol=1e-4)
    b = lax.conv(x, k, (2,), "VALID")
    np.testing.assert_allclose(np.asarray(b), np_conv(x, k, (2,), ((0, 0),)), atol=1e-4)


def test_complex_and_integer_conv(rng):
    x = (rng.standard_normal((1, 2, 5)) + 1j * rng.standard_normal((1, 2, 5))).astype(np.complex64)
    k = (rng.standard_normal((3, 2, 2)) + 1j * rng.standard_normal((3, 2, 2))).astype(np.complex64)
    out = lax.conv(x, k, (1,), "VALID")
    np.testing.assert_allclose(np.asarray(out), np_conv(x, k, (1,), ((0, 0),)), atol=1e-4)
    xi = np.arange(10, dtype=np.int8).reshape(1, 2, 5)
    ki = np.ones((1, 2, 2), np.int8)
    oi = lax.conv(xi, ki, (1,), "VALID", preferred_element_type=np.int32)
    assert oi.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(oi), np_conv(xi.astype(np.int32), ki.astype(np.int32), (1,), ((0, 0),)))


def test_conv_errors():
    x = np.ones((1, 4, 5), np.float32)
    k = np.ones((2, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"lax\.conv_general_dilated.*input feature size 3"):
        lax.conv(x, k, (1,), "VALID")
    with pytest.raises(ValueError, match="feature_group_count=3 must divide"):
        lax.conv_general_dilated(x, k, (1,), "VALID", feature_group_count=3)
    with pytest.raises(TypeError, match="same dtype"):
        lax.conv(x, np.ones((2, 4, 3), np.float16), (1,), "VALID")
    with pytest.raises(TypeError, match="window_strides must have one entry per spatial dimension"):
        lax.conv(x, np.ones((2, 4, 3), np.float32), (1, 1), ((0, 0),))
    with pytest.raises(ValueError, match="string padding is not implemented"):
        lax.conv_general_dilated(x, np.ones((2, 4, 3), np.float32), (1,), "SAME", lhs_dilation=(2,))
    with pytest.raises(TypeError, match="must contain the characters"):
        lax.conv_dimension_numbers((1, 2, 3), (1, 2, 3), ("NCH", "OXH", "NCH"))
    with pytest.raises(RuntimeError, match="Unrecognized padding"):
        lax.padtype_to_pads((5,), (3,), (1,), "FULL")
