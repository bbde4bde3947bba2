"""Pooling, normalisation and activation functions under ``ec.jit``: the same numbers as eagerly
and as a NumPy reference (no host-side conversion of traced values anywhere in ember.nn)."""

import math

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3, 4)).astype(np.float32) * 3


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(x, 0.0)


def _relu6(x):
    return np.clip(x, 0, 6)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _logsumexp(x, axis=None, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


_ERF = np.vectorize(math.erf)

# name -> (call, NumPy reference); defaults are Flax's / JAX's.
ACTIVATIONS = {
    "celu": (lambda x: nn.celu(x, 0.5), lambda x: np.maximum(x, 0) + 0.5 * np.expm1(np.minimum(x, 0) / 0.5)),
    "elu": (nn.elu, _elu),
    "gelu": (nn.gelu, lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    "gelu_exact": (lambda x: nn.gelu(x, approximate=False), lambda x: 0.5 * x * (1 + _ERF(x / np.sqrt(2)))),
    "glu": (nn.glu, lambda x: x[..., :2] * _sigmoid(x[..., 2:])),
    "hard_sigmoid": (nn.hard_sigmoid, lambda x: _relu6(x + 3) / 6),
    "hard_silu": (nn.hard_silu, lambda x: x * _relu6(x + 3) / 6),
    "hard_swish": (nn.hard_swish, lambda x: x * _relu6(x + 3) / 6),
    "hard_tanh": (nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
    "identity": (nn.identity, lambda x: x),
    "leaky_relu": (nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    "log_sigmoid": (nn.log_sigmoid, lambda x: -_softplus(-x)),
    "log_softmax": (nn.log_softmax, lambda x: x - _logsumexp(x, -1, keepdims=True)),
    "logsumexp": (nn.logsumexp, _logsumexp),
    "logsumexp_axis": (lambda x: nn.logsumexp(x, axis=1), lambda x: _logsumexp(x, 1)),
    "mish": (nn.mish, lambda x: x * np.tanh(_softplus(x))),
    "relu": (nn.relu, lambda x: np.maximum(x, 0)),
    "relu6": (nn.relu6, _relu6),
    "selu": (nn.selu, lambda x: 1.0507009873554805 * _elu(x, 1.6732632423543772)),
    "sigmoid": (nn.sigmoid, _sigmoid),
    "silu": (nn.silu, lambda x: x * _sigmoid(x)),
    "swish": (nn.swish, lambda x: x * _sigmoid(x)),
    "soft_sign": (nn.soft_sign, lambda x: x / (np.abs(x) + 1)),
    "softmax": (nn.softmax, _softmax),
    "softplus": (nn.softplus, _softplus),
    "standardize": (nn.standardize,
                    lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)),
    "tanh": (nn.tanh, np.tanh),
}


def _check_jit_eager_numpy(fn, ref, *args, rtol=1e-5, atol=1e-5):
    eager = np.asarray(fn(*[jnp.asarray(a) for a in args]))
    jitted = np.asarray(ec.jit(fn)(*[jnp.asarray(a) for a in args]))
    np.testing.assert_allclose(jitted, eager, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jitted, ref, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_under_jit_matches_eager_and_numpy(name):
    fn, ref = ACTIVATIONS[name]
    _check_jit_eager_numpy(fn, ref(X.astype(np.float64)), X)


def test_one_hot_under_jit():
    labels = np.array([0, 3, 1])
    _check_jit_eager_numpy(lambda i: nn.one_hot(i, 4), np.eye(4, dtype=np.float32)[labels], labels)


# --- pooling --------------------------------------------------------------------------------------

def _same_pads(size, window, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def _np_pool(x, window, strides, padding, reduce, pad_value):
    """Reference pooling over the spatial axes of ``(batch, *spatial, features)`` by explicit loops;
    returns the reduction and the number of real (unpadded) elements in each window."""
    spatial = x.shape[1:-1]
    if padding == "VALID":
        pads = [(0, 0)] * len(window)
    elif padding == "SAME":
        pads = [_same_pads(n, w, s) for n, w, s in zip(spatial, window, strides)]
    else:
        pads = list(padding)
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)], constant_values=pad_value)
    real = np.pad(np.ones(spatial), pads)
    out_shape = [(n + lo + hi - w) // s + 1 for n, (lo, hi), w, s in zip(spatial, pads, window, strides)]
    out = np.empty((x.shape[0], *out_shape, x.shape[-1]), x.dtype)
    counts = np.empty(out_shape)
    for idx in np.ndindex(*out_shape):
        sl = tuple(slice(i * s, i * s + w) for i, s, w in zip(idx, strides, window))
        out[(slice(None), *idx, slice(None))] = reduce(xp[(slice(None), *sl, slice(None))],
                                                       axis=tuple(range(1, 1 + len(window))))
        counts[idx] = real[sl].sum()
    return out, counts[None, ..., None]


POOL_CASES = [
    ((2, 2), (2, 2), "VALID"),
    ((3, 3), (1, 1), "SAME"),
    ((3, 2), (2, 1), "SAME"),
    ((2, 3), (1, 2), ((1, 0), (2, 1))),
]


@pytest.mark.parametrize("window,strides,padding", POOL_CASES)
def test_pooling_under_jit_matches_eager_and_numpy(window, strides, padding):
    x = RNG.normal(size=(2, 5, 6, 3)).astype(np.float32)
    total, counts = _np_pool(x, window, strides, padding, np.sum, 0.0)
    # Flax semantics: count_include_pad=True (the default) divides by the full window size,
    # padding included; False divides by the number of real elements in each window.
    _check_jit_eager_numpy(lambda v: nn.avg_pool(v, window, strides, padding), total / np.prod(window), x)
    _check_jit_eager_numpy(lambda v: nn.avg_pool(v, window, strides, padding, count_include_pad=False),
                           total / counts, x)
    _check_jit_eager_numpy(lambda v: nn.max_pool(v, window, strides, padding),
                           _np_pool(x, window, strides, padding, np.max, -np.inf)[0], x)
    _check_jit_eager_numpy(lambda v: nn.min_pool(v, window, strides, padding),
                           _np_pool(x, window, strides, padding, np.min, np.inf)[0], x)
    _check_jit_eager_numpy(lambda v: nn.pool(v, 0.0, ec.lax.add, window, strides, padding), total, x)


def test_avg_pool_the_reported_case_and_unbatched_inputs():
    f = ec.jit(lambda x: nn.avg_pool(x, window_shape=(2, 2), strides=(2, 2)))
    np.testing.assert_array_equal(np.asarray(f(jnp.ones((1, 4, 4, 1)))), np.ones((1, 2, 2, 1)))
    x = RNG.normal(size=(4, 6, 2)).astype(np.float32)       # no batch axis
    ref = x.reshape(2, 2, 3, 2, 2).mean(axis=(1, 3))
    _check_jit_eager_numpy(lambda v: nn.avg_pool(v, (2, 2), strides=(2, 2)), ref, x)
    y = ec.jit(lambda v: nn.avg_pool(v, (2,), strides=(2,)))(jnp.arange(8, dtype=jnp.int32).reshape(1, 8, 1))
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(y)[0, :, 0], [0.5, 2.5, 4.5, 6.5])


def test_pooling_bad_arguments_are_named():
    x = jnp.ones((1, 4, 4, 1))
    with pytest.raises(TypeError, match="window_shape"):
        nn.avg_pool(x, 2)
    with pytest.raises(TypeError, match="window_shape"):
        ec.jit(lambda v, w: nn.avg_pool(v, (w, w)))(x, 2)     # traced window: it fixes the shape
    with pytest.raises(TypeError, match="strides"):
        nn.max_pool(x, (2, 2), strides=(1.5, 1))
    with pytest.raises(ValueError, match="strides"):
        nn.max_pool(x, (2, 2), strides=(1,))
    with pytest.raises(ValueError, match="padding"):
        nn.min_pool(x, (2, 2), padding=((1,), (1,)))
    with pytest.raises(ValueError, match="padding"):
        nn.avg_pool(x, (2, 2), padding=((1, 1),))
    with pytest.raises(ValueError, match="window_shape"):
        nn.avg_pool(x, (2, 2, 2, 2))


# --- normalisation --------------------------------------------------------------------------------

def _np_norm(x, axes, eps):
    mu = x.mean(axes, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axes, keepdims=True) + eps)


def test_normalization_layers_under_jit_match_eager_and_numpy():
    x = RNG.normal(loc=1.0, size=(3, 5, 4)).astype(np.float32)
    ln = nn.LayerNorm(4, rngs=nn.Rngs(0))
    ln.scale[...] = jnp.array([1.0, 2.0, 0.5, -1.0])
    ln.bias[...] = jnp.array([0.0, 1.0, 0.0, 3.0])
    ref = _np_norm(x, -1, 1e-6) * np.array([1.0, 2.0, 0.5, -1.0]) + np.array([0.0, 1.0, 0.0, 3.0])
    _check_jit_eager_numpy(ln, ref, x, rtol=1e-4)

    rms = nn.RMSNorm(4, rngs=nn.Rngs(0))
    rms.scale[...] = jnp.array([1.0, 2.0, 3.0, 4.0])
    ref = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * np.array([1.0, 2.0, 3.0, 4.0])
    _check_jit_eager_numpy(rms, ref, x, rtol=1e-4)

    gn = nn.GroupNorm(4, num_groups=2, rngs=nn.Rngs(0))
    groups = x.reshape(3, 5, 2, 2)
    ref = _np_norm(groups, (1, 3), 1e-6).reshape(x.shape)
    _check_jit_eager_numpy(gn, ref, x, rtol=1e-4, atol=1e-4)

    bn = nn.BatchNorm(4, use_running_average=True, rngs=nn.Rngs(0))
    bn.mean[...] = jnp.array([1.0, 0.0, -1.0, 2.0])
    bn.var[...] = jnp.array([4.0, 1.0, 0.25, 1.0])
    ref = (x - np.array([1.0, 0.0, -1.0, 2.0])) / np.sqrt(np.array([4.0, 1.0, 0.25, 1.0]) + 1e-5)
    _check_jit_eager_numpy(bn, ref, x, rtol=1e-4)


def test_batchnorm_training_step_under_jit_matches_eager_and_numpy():
    x = RNG.normal(loc=2.0, size=(8, 3)).astype(np.float32)
    eager, jitted = nn.BatchNorm(3, momentum=0.9, rngs=nn.Rngs(0)), nn.BatchNorm(3, momentum=0.9, rngs=nn.Rngs(0))
    y_eager = eager(jnp.asarray(x))
    y_jit = nn.jit(lambda m, v: m(v))(jitted, jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(y_jit), np.asarray(y_eager), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(y_jit), _np_norm(x, 0, 1e-5), rtol=1e-4, atol=1e-4)
    for m in (eager, jitted):
        np.testing.assert_allclose(np.asarray(m.mean[...]), 0.1 * x.mean(0), rtol=1e-5)
        np.testing.assert_allclose(np.asarray(m.var[...]), 0.9 + 0.1 * x.var(0), rtol=1e-5)


def test_prelu_dropout_and_attention_under_jit():
    prelu = nn.PReLU(0.25)
    _check_jit_eager_numpy(prelu, np.where(X >= 0, X, 0.25 * X), X)
    key = ec.random.PRNGKey(0)
    drop = nn.Dropout(0.5)
    eager = np.asarray(drop(jnp.asarray(X), rngs=key))
    jitted = np.asarray(ec.jit(lambda v, k: drop(v, rngs=k))(jnp.asarray(X), key))
    np.testing.assert_array_equal(jitted, eager)
    assert set(np.unique(np.round(jitted / X, 5))) <= {0.0, 2.0}
    q = RNG.normal(size=(2, 5, 2, 4)).astype(np.float32)
    logits = np.einsum("bqhd,bkhd->bhqk", q, q) / 2.0
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    _check_jit_eager_numpy(lambda a: nn.dot_product_attention(a, a, a), np.einsum("bhqk,bkhd->bqhd", weights, q), q)
