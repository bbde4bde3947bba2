import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.nn as nn
from ember.core.test_util import check_grads


def _np(x):
    return np.asarray(x)


def test_linear_formula_and_no_bias():
    layer = nn.Linear(3, 4, rngs=nn.Rngs(0))
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(_np(layer(jnp.asarray(x))), x @ _np(layer.kernel.value) + _np(layer.bias.value),
                               rtol=1e-5, atol=1e-6)
    nobias = nn.Linear(3, 4, use_bias=False, rngs=nn.Rngs(0))
    assert nobias.bias is None and "bias" not in nn.state(nobias)
    np.testing.assert_allclose(_np(nobias(jnp.asarray(x))), x @ _np(nobias.kernel.value), rtol=1e-5, atol=1e-6)


def test_linear_default_initializers_and_dtypes():
    layer = nn.Linear(256, 64, rngs=nn.Rngs(0))
    k = _np(layer.kernel.value)
    assert abs(k.std() - 1 / np.sqrt(256)) < 0.1 / np.sqrt(256)       # lecun_normal
    assert (_np(layer.bias.value) == 0).all()
    half = nn.Linear(2, 2, dtype=jnp.bfloat16, rngs=nn.Rngs(0))
    assert half(jnp.ones((1, 2))).dtype == jnp.bfloat16 and half.kernel.dtype == jnp.float32


def test_linear_gradients_numerically():
    layer = nn.Linear(3, 2, rngs=nn.Rngs(0))
    x = jnp.asarray(np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32))

    def f(k, b, x):
        layer.kernel.value, layer.bias.value = k, b
        return layer(x)

    check_grads(f, (layer.kernel.value, layer.bias.value, x), order=1, modes=("rev",), atol=2e-2, rtol=2e-2)


def test_linear_general_contracting_several_axes_and_batch_axis():
    layer = nn.LinearGeneral((2, 3), (4, 5), axis=(1, -1), rngs=nn.Rngs(0))
    assert layer.kernel.shape == (2, 3, 4, 5) and layer.bias.shape == (4, 5)
    x = np.random.default_rng(0).normal(size=(7, 2, 6, 3)).astype(np.float32)
    k, b = _np(layer.kernel.value), _np(layer.bias.value)
    expected = np.einsum("nasb,abcd->nscd", x, k) + b
    np.testing.assert_allclose(_np(layer(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)
    batched = nn.LinearGeneral(3, 4, batch_axis={0: 2}, rngs=nn.Rngs(0))
    assert batched.kernel.shape == (2, 3, 4)
    xb = np.random.default_rng(1).normal(size=(2, 5, 3)).astype(np.float32)
    expected = np.einsum("bnx,bxy->bny", xb, _np(batched.kernel.value)) + _np(batched.bias.value)[:, None, :]
    np.testing.assert_allclose(_np(batched(jnp.asarray(xb))), expected, rtol=1e-4, atol=1e-5)


def test_einsum_layer_with_bias_broadcast():
    layer = nn.Einsum("nta,hab->nthb", (8, 2, 4), (8, 4), rngs=nn.Rngs(0))
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype(np.float32)
    expected = np.einsum("nta,hab->nthb", x, _np(layer.kernel.value)) + _np(layer.bias.value)
    np.testing.assert_allclose(_np(layer(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)
    ell = nn.Einsum("...a,ab->...b", (2, 3), (3,), rngs=nn.Rngs(0))
    y = ell(jnp.ones((4, 5, 2)))
    assert y.shape == (4, 5, 3)
    with pytest.raises(ValueError):
        nn.Einsum("ab,bc", (2, 3), rngs=nn.Rngs(0))


def test_embed_lookup_and_attend():
    emb = nn.Embed(10, 4, rngs=nn.Rngs(0))
    table = _np(emb.embedding.value)
    ids = np.array([[1, 9], [0, 3]])
    np.testing.assert_allclose(_np(emb(jnp.asarray(ids))), table[ids])
    q = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    np.testing.assert_allclose(_np(emb.attend(jnp.asarray(q))), q @ table.T, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        emb(jnp.ones(2))
