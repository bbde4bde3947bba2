import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.nn as nn

RNG = np.random.default_rng(0)


def test_dropout_train_and_eval():
    drop = nn.Dropout(0.25, rngs=nn.Rngs(dropout=0))
    x = jnp.ones((4000,))
    y = np.asarray(drop(x))
    assert set(np.unique(y).tolist()) <= {0.0, float(np.float32(1) / np.float32(0.75))}
    assert abs((y == 0).mean() - 0.25) < 0.03
    assert not np.array_equal(y, np.asarray(drop(x)))              # a fresh mask per call
    drop.eval()
    np.testing.assert_array_equal(np.asarray(drop(x)), np.asarray(x))
    np.testing.assert_array_equal(np.asarray(nn.Dropout(0.0)(x)), np.asarray(x))
    shared = nn.Dropout(0.5, broadcast_dims=(0,), rngs=nn.Rngs(dropout=1))
    z = np.asarray(shared(jnp.ones((3, 50))))
    assert (z == z[0]).all()
    with pytest.raises(ValueError, match="rngs"):
        nn.Dropout(0.5)(x)


def test_dropout_rngs_passed_at_call():
    drop = nn.Dropout(0.5)
    a = np.asarray(drop(jnp.ones(16), rngs=nn.Rngs(dropout=3)))
    b = np.asarray(drop(jnp.ones(16), rngs=nn.Rngs(dropout=3)))
    np.testing.assert_array_equal(a, b)


def test_pooling_against_numpy():
    x = RNG.normal(size=(2, 4, 6, 3)).astype(np.float32)
    mx = np.asarray(nn.max_pool(jnp.asarray(x), (2, 3), strides=(2, 3)))
    ref = x.reshape(2, 2, 2, 2, 3, 3).max(axis=(2, 4))
    np.testing.assert_allclose(mx, ref)
    av = np.asarray(nn.avg_pool(jnp.asarray(x), (2, 2), strides=(2, 2)))
    np.testing.assert_allclose(av, x.reshape(2, 2, 2, 3, 2, 3).mean(axis=(2, 4)), rtol=1e-5)
    mn = np.asarray(nn.min_pool(jnp.asarray(x), (4, 1)))
    np.testing.assert_allclose(mn, x.min(axis=1, keepdims=True))
    padded = np.asarray(nn.avg_pool(jnp.ones((1, 3, 1)), (2,), padding="SAME", count_include_pad=False))
    np.testing.assert_allclose(padded, np.ones((1, 3, 1)))
    assert np.asarray(nn.avg_pool(jnp.ones((1, 3, 1)), (2,), padding=((0, 1),))).tolist() == [[[1.0], [1.0], [0.5]]]


def test_sequential_and_prelu():
    seq = nn.Sequential(nn.Linear(2, 3, rngs=nn.Rngs(0)), nn.PReLU(), lambda x: (x, x), lambda a, b: a + b)
    x = jnp.asarray(RNG.normal(size=(4, 2)).astype(np.float32))
    h = np.asarray(seq.layers[0](x))
    np.testing.assert_allclose(np.asarray(seq(x)), 2 * np.where(h >= 0, h, 0.01 * h), rtol=1e-5, atol=1e-6)
    assert "negative_slope" in nn.state(seq)["layers"][1]


def test_lora_formula():
    base = nn.Linear(3, 2, rngs=nn.Rngs(0))
    lora = nn.LoRA(3, 2, 2, base_module=base, rngs=nn.Rngs(1))
    lora.lora_b.value = jnp.asarray(RNG.normal(size=(2, 2)).astype(np.float32))
    x = RNG.normal(size=(5, 3)).astype(np.float32)
    expected = x @ np.asarray(lora.lora_a.value) @ np.asarray(lora.lora_b.value) + np.asarray(base(jnp.asarray(x)))
    np.testing.assert_allclose(np.asarray(lora(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)
    ll = nn.LoRALinear(3, 2, lora_rank=1, rngs=nn.Rngs(0))
    assert type(ll.lora.lora_a) is nn.LoRAParam and isinstance(ll.lora.lora_a, nn.Param)
    assert set(nn.state(ll).keys()) == {"kernel", "bias", "lora"}
