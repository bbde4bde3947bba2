import itertools

import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.nn as nn
from ember.core.test_util import check_grads


def conv_ref(x, k, strides, padding, dilation, groups):
    """Direct NumPy convolution, channels last: x (N, *S, C), k (*K, C/groups, O); padding pairs."""
    nd = k.ndim - 2
    x = np.pad(x, [(0, 0)] + list(padding) + [(0, 0)])
    eff = [(k.shape[i] - 1) * dilation[i] + 1 for i in range(nd)]
    out_sp = [(x.shape[1 + i] - eff[i]) // strides[i] + 1 for i in range(nd)]
    cin_g = k.shape[-2]
    cout = k.shape[-1]
    cout_g = cout // groups
    out = np.zeros((x.shape[0], *out_sp, cout), np.float64)
    for pos in itertools.product(*[range(o) for o in out_sp]):
        for kpos in itertools.product(*[range(s) for s in k.shape[:nd]]):
            idx = [pos[i] * strides[i] + kpos[i] * dilation[i] for i in range(nd)]
            patch = x[(slice(None), *idx)]                       # (N, C)
            for g in range(groups):
                out[(slice(None), *pos, slice(g * cout_g, (g + 1) * cout_g))] += (
                    patch[:, g * cin_g:(g + 1) * cin_g] @ k[(*kpos,)][:, g * cout_g:(g + 1) * cout_g])
    return out


def _same_pads(size, k, s, d):
    eff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return (total // 2, total - total // 2)


@pytest.mark.parametrize("nd,strides,dilation,groups,padding", [
    (1, 1, 1, 1, "VALID"),
    (1, 2, 1, 2, "SAME"),
    (2, (2, 1), (1, 2), 1, "SAME"),
    (2, 1, 1, 2, ((1, 0), (2, 1))),
    (3, 1, 1, 1, "VALID"),
])
def test_conv_matches_numpy(nd, strides, dilation, groups, padding):
    rng = np.random.default_rng(nd)
    spatial = (7, 6, 5)[:nd]
    ksize = (3, 2, 2)[:nd]
    conv = nn.Conv(4, 6, kernel_size=ksize, strides=strides, kernel_dilation=dilation, feature_group_count=groups,
                   padding=padding, rngs=nn.Rngs(0))
    assert conv.kernel.shape == (*ksize, 4 // groups, 6)
    x = rng.normal(size=(2, *spatial, 4)).astype(np.float32)
    s = (strides,) * nd if isinstance(strides, int) else strides
    d = (dilation,) * nd if isinstance(dilation, int) else dilation
    if padding == "VALID":
        pads = [(0, 0)] * nd
    elif padding == "SAME":
        pads = [_same_pads(spatial[i], ksize[i], s[i], d[i]) for i in range(nd)]
    else:
        pads = list(padding)
    expected = conv_ref(x, np.asarray(conv.kernel.value), s, pads, d, groups) + np.asarray(conv.bias.value)
    np.testing.assert_allclose(np.asarray(conv(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-4)


def test_conv_circular_causal_and_unbatched():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 6, 2)).astype(np.float32)
    circ = nn.Conv(2, 3, kernel_size=3, padding="CIRCULAR", rngs=nn.Rngs(0))
    xp = np.concatenate([x[:, -1:], x, x[:, :1]], axis=1)
    expected = conv_ref(xp, np.asarray(circ.kernel.value), (1,), [(0, 0)], (1,), 1) + np.asarray(circ.bias.value)
    np.testing.assert_allclose(np.asarray(circ(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)
    causal = nn.Conv(2, 3, kernel_size=3, kernel_dilation=2, padding="CAUSAL", rngs=nn.Rngs(0))
    expected = conv_ref(x, np.asarray(causal.kernel.value), (1,), [(4, 0)], (2,), 1) + np.asarray(causal.bias.value)
    np.testing.assert_allclose(np.asarray(causal(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)
    assert causal(jnp.asarray(x[0])).shape == (6, 3)                 # no batch dimension


def test_conv_gradients_numerically():
    conv = nn.Conv(2, 2, kernel_size=(2, 2), rngs=nn.Rngs(0))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 3, 3, 2)).astype(np.float32))

    def f(k, x):
        conv.kernel.value = k
        return conv(x)

    check_grads(f, (conv.kernel.value, x), order=1, modes=("rev",), atol=2e-2, rtol=2e-2)


def conv_transpose_ref(x, k, stride):
    """VALID transposed convolution (1D): each input scatters k * x into the strided output."""
    n, length, cin = x.shape
    ksize, _, cout = k.shape
    out = np.zeros((n, (length - 1) * stride + ksize, cout))
    for i in range(length):
        out[:, i * stride:i * stride + ksize] += np.einsum("nc,kco->nko", x[:, i], k)
    return out


def test_conv_transpose_matches_numpy():
    rng = np.random.default_rng(0)
    layer = nn.ConvTranspose(3, 2, kernel_size=3, strides=2, padding="VALID", rngs=nn.Rngs(0))
    assert layer.kernel.shape == (3, 3, 2)
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    k = np.asarray(layer.kernel.value)
    # lax.conv_transpose (transpose_kernel=False) flips nothing: it correlates the dilated input with k
    expected = conv_transpose_ref(x, k[::-1], 2) + np.asarray(layer.bias.value)
    np.testing.assert_allclose(np.asarray(layer(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-4)
    same = nn.ConvTranspose(3, 2, kernel_size=(3, 3), strides=2, rngs=nn.Rngs(0))
    assert same(jnp.ones((1, 4, 4, 3))).shape == (1, 8, 8, 2)
