import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.nn as nn

RNG = np.random.default_rng(0)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention_ref(q, k, v, mask=None):
    logits = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        logits = np.where(mask, logits, np.finfo(np.float32).min)
    return np.einsum("bhqk,bkhd->bqhd", softmax(logits), v)


def test_dot_product_attention_formula_masks_and_causal():
    q, k, v = (RNG.normal(size=(2, 5, 3, 4)).astype(np.float32) for _ in range(3))
    np.testing.assert_allclose(np.asarray(nn.dot_product_attention(q, k, v)), attention_ref(q, k, v),
                               rtol=1e-4, atol=1e-5)
    causal = np.tril(np.ones((5, 5), bool))[None, None]
    np.testing.assert_allclose(np.asarray(nn.dot_product_attention(q, k, v, is_causal=True)),
                               attention_ref(q, k, v, causal), rtol=1e-4, atol=1e-5)
    mask = np.asarray(nn.make_causal_mask(jnp.ones((2, 5))))
    assert mask.shape == (2, 1, 5, 5)
    np.testing.assert_allclose(np.asarray(nn.dot_product_attention(q, k, v, mask=mask)),
                               attention_ref(q, k, v, mask.astype(bool)), rtol=1e-4, atol=1e-5)
    pad = np.asarray(nn.make_attention_mask(jnp.ones((2, 5)), jnp.array([[1, 1, 1, 0, 0]] * 2)))
    out = np.asarray(nn.dot_product_attention(q, k, v, mask=pad))
    np.testing.assert_allclose(out, attention_ref(q[:, :, :, :], k[:, :3], v[:, :3]), rtol=1e-4, atol=1e-5)


def test_grouped_query_attention():
    q = RNG.normal(size=(1, 4, 4, 2)).astype(np.float32)
    k, v = (RNG.normal(size=(1, 4, 2, 2)).astype(np.float32) for _ in range(2))
    expected = attention_ref(q, np.repeat(k, 2, axis=2), np.repeat(v, 2, axis=2))
    np.testing.assert_allclose(np.asarray(nn.dot_product_attention(q, k, v)), expected, rtol=1e-4, atol=1e-5)


def test_multihead_attention_formula():
    mha = nn.MultiHeadAttention(num_heads=2, in_features=6, qkv_features=4, out_features=5, rngs=nn.Rngs(0),
                                decode=False)
    x = RNG.normal(size=(2, 3, 6)).astype(np.float32)
    p = {n: (np.asarray(getattr(mha, n).kernel.value), np.asarray(getattr(mha, n).bias.value))
         for n in ("query", "key", "value", "out")}
    q = np.einsum("bti,ihd->bthd", x, p["query"][0]) + p["query"][1]
    k = np.einsum("bti,ihd->bthd", x, p["key"][0]) + p["key"][1]
    v = np.einsum("bti,ihd->bthd", x, p["value"][0]) + p["value"][1]
    expected = np.einsum("bthd,hdo->bto", attention_ref(q, k, v), p["out"][0]) + p["out"][1]
    np.testing.assert_allclose(np.asarray(mha(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)
    assert p["query"][0].shape == (6, 2, 2) and p["out"][0].shape == (2, 2, 5)


def test_decode_with_kv_cache_equals_causal_attention():
    mha = nn.MultiHeadAttention(num_heads=2, in_features=4, rngs=nn.Rngs(1), decode=False)
    x = jnp.asarray(RNG.normal(size=(1, 5, 4)).astype(np.float32))
    full = np.asarray(mha(x, is_causal=True))
    mha.init_cache(x.shape)
    step = nn.jit(lambda m, t: m(t, decode=True))
    outs = [np.asarray(step(mha, x[:, i:i + 1])) for i in range(5)]
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=1e-4, atol=1e-5)
    assert int(mha.cache_index.value) == 5
    with pytest.raises(ValueError, match="cache"):
        nn.MultiHeadAttention(num_heads=1, in_features=4, rngs=nn.Rngs(0))(x, decode=True)


def test_attention_dropout_and_sow_weights():
    mha = nn.MultiHeadAttention(num_heads=1, in_features=4, dropout_rate=0.5, rngs=nn.Rngs(0), decode=False)
    x = jnp.ones((1, 3, 4))
    mha.eval()
    a, b = mha(x), mha(x)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    mha.train()
    mha(x, sow_weights=True)
    (w,) = nn.pop(mha, nn.Intermediate)["attention_weights"].value
    assert w.shape == (1, 1, 3, 3)
