"""ember.core.nn: activations, softmax family, one_hot, standardize, dot_product_attention and
initializers, against NumPy references (float64), with gradients, jit and vmap. Initializer
values for fixed keys were recorded from JAX 0.10.2."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.core.random as random
from ember.core import nn
from ember.core.nn import initializers as init
from ember.core.test_util import check_grads

_erf = np.vectorize(math.erf)
RNG = np.random.default_rng(0)
X = (RNG.standard_normal((3, 5)) * 3).astype(np.float32)
X[0, 0] = 0.0
# points away from kinks (0, +-1, 6, -3, 3) for finite differences
SMOOTH = np.array([-2.3, -0.7, -0.2, 0.4, 0.9, 1.6, 2.7], np.float32)


def _a(x):
    return np.asarray(x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(x, 0)


_REFERENCE = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.minimum(np.maximum(x, 0), 6),
    "sigmoid": _sigmoid,
    "log_sigmoid": lambda x: -_softplus(-x),
    "softplus": _softplus,
    "soft_sign": lambda x: x / (np.abs(x) + 1),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "celu": lambda x: np.maximum(x, 0) + np.expm1(np.minimum(x, 0)),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "hard_sigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "hard_silu": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hard_swish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "tanh": np.tanh,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "sparse_sigmoid": lambda x: 0.5 * np.clip(x + 1, 0, 2),
    "squareplus": lambda x: (x + np.sqrt(x * x + 4)) / 2,
    "identity": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(_REFERENCE))
def test_activation_values(name):
    out = _a(getattr(nn, name)(X))
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_allclose(out, _REFERENCE[name](X.astype(np.float64)), rtol=2e-6, atol=2e-6)


def test_gelu_exact_and_log1mexp():
    x64 = X.astype(np.float64)
    np.testing.assert_allclose(_a(nn.gelu(X, approximate=False)), 0.5 * x64 * (1 + _erf(x64 / np.sqrt(2))),
                               rtol=1e-5, atol=1e-6)
    pos = np.abs(X) + 0.01
    np.testing.assert_allclose(_a(nn.log1mexp(pos)), np.log(-np.expm1(-pos.astype(np.float64))), rtol=1e-5)


@pytest.mark.parametrize("name", ["sigmoid", "log_sigmoid", "softplus", "soft_sign", "silu", "gelu", "celu",
                                  "selu", "elu", "mish", "tanh", "squareplus", "leaky_relu", "relu", "relu6",
                                  "hard_tanh", "hard_sigmoid", "hard_silu", "sparse_plus", "sparse_sigmoid"])
def test_activation_gradients(name):
    order = 2 if name in {"sigmoid", "log_sigmoid", "softplus", "silu", "gelu", "mish", "tanh", "squareplus",
                          "soft_sign"} else 1
    check_grads(getattr(nn, name), (SMOOTH,), order=order)


def test_relu_derivative_at_kinks_is_zero():
    # JAX's convention: relu'(0) = 0, relu6'(0) = relu6'(6) = 0
    assert float(ec.grad(nn.relu)(0.0)) == 0.0
    assert float(ec.grad(nn.relu)(2.0)) == 1.0
    assert float(ec.grad(nn.relu6)(0.0)) == 0.0 and float(ec.grad(nn.relu6)(6.0)) == 0.0
    assert float(ec.grad(nn.relu6)(3.0)) == 1.0
    assert np.isnan(float(nn.relu(np.float32(np.nan))))
    assert _a(nn.relu(np.array([-3, 4], np.int32))).tolist() == [0, 4]
    exact = 0.5 * (1 + math.erf(0.5 / math.sqrt(2))) + 0.5 * math.exp(-0.125) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(_a(ec.grad(lambda x: nn.gelu(x, approximate=False))(np.float32(0.5))), exact, rtol=1e-5)


def test_glu():
    x = X[:, :4]
    np.testing.assert_allclose(_a(nn.glu(x)), x[:, :2] * _sigmoid(x[:, 2:]), rtol=1e-6)
    np.testing.assert_allclose(_a(nn.glu(X[:2], axis=0)), X[:1] * _sigmoid(X[1:2]), rtol=1e-6)
    with pytest.raises(ValueError):
        nn.glu(X)


# ----------------------------------------------------------------------------------------------
# softmax family

def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, (0, 1), None])
def test_softmax_and_log_softmax(axis):
    x64 = X.astype(np.float64)
    ref = _np_softmax(x64, axis)
    np.testing.assert_allclose(_a(nn.softmax(X, axis=axis)), ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_a(nn.log_softmax(X, axis=axis)), np.log(ref), rtol=1e-5, atol=1e-5)


def test_softmax_is_stable_and_masked():
    big = np.array([1000.0, 1001.0, 999.0], np.float32)
    np.testing.assert_allclose(_a(nn.softmax(big)), _np_softmax(big.astype(np.float64), -1), rtol=1e-5)
    np.testing.assert_allclose(_a(nn.log_softmax(big)), np.log(_np_softmax(big.astype(np.float64), -1)), rtol=1e-5)
    mask = X > 0
    s = _a(nn.softmax(X, where=mask))
    assert (s[~mask] == 0).all()
    np.testing.assert_allclose(s.sum(-1)[mask.any(-1)], 1.0, rtol=1e-5)
    ls = _a(nn.log_softmax(X, where=mask))
    assert np.isneginf(ls[~mask]).all()
    np.testing.assert_allclose(np.exp(ls[mask]), s[mask], rtol=1e-5)
    # a fully masked row: zeros (softmax), -inf (log_softmax), and gradients stay finite
    row_mask = np.array([[False] * 5, [True] * 5, [True, False] * 2 + [True]])
    assert (_a(nn.softmax(X, where=row_mask))[0] == 0).all()
    g = _a(ec.grad(lambda x: (nn.softmax(x, where=row_mask) ** 2).sum())(X))
    assert np.isfinite(g).all() and (g[0] == 0).all()
    g = _a(ec.grad(lambda x: jnp.where(row_mask, nn.log_softmax(x, where=row_mask), 0.0).sum())(X))
    assert np.isfinite(g).all()


def test_softmax_gradients():
    w = np.arange(5, dtype=np.float32)
    check_grads(lambda x: nn.softmax(x) * w, (X,), order=2)
    check_grads(lambda x: nn.log_softmax(x, axis=0), (X,), order=2)
    # the shift is not differentiated: softmax is invariant to it, so the Jacobian rows sum to 0
    jac = _a(ec.jacrev(nn.softmax)(X[1]))
    np.testing.assert_allclose(jac.sum(-1), 0.0, atol=1e-6)


def test_logsumexp():
    x64 = X.astype(np.float64)
    np.testing.assert_allclose(float(nn.logsumexp(X)), np.log(np.exp(x64).sum()), rtol=1e-6)
    np.testing.assert_allclose(_a(nn.logsumexp(X, axis=1, keepdims=True)),
                               np.log(np.exp(x64).sum(1, keepdims=True)), rtol=1e-6)
    big = np.array([1000.0, 1000.0], np.float32)
    np.testing.assert_allclose(float(nn.logsumexp(big)), 1000 + math.log(2), rtol=1e-6)
    b = X[0]
    out, sign = nn.logsumexp(X, axis=0, b=b, return_sign=True)
    total = (b * np.exp(x64)).sum(0)  # b[0] == 0: log|0| = -inf
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(_a(out), np.log(np.abs(total)), rtol=1e-5)
    np.testing.assert_array_equal(_a(sign), np.sign(total))
    plain = _a(nn.logsumexp(X, axis=0, b=b))
    assert np.isnan(plain[total < 0]).all()
    masked = _a(nn.logsumexp(X, axis=1, where=X > 0))
    np.testing.assert_allclose(masked, np.log(np.where(X > 0, np.exp(x64), 0).sum(1)), rtol=1e-6)
    np.testing.assert_allclose(_a(nn.logmeanexp(X, axis=1)), np.log(np.exp(x64).mean(1)), rtol=1e-6)


def test_logsumexp_with_infinities():
    x = np.array([[-np.inf, 1.0, 2.0], [-np.inf, -np.inf, -np.inf]], np.float32)
    out = _a(nn.logsumexp(x, axis=1))
    np.testing.assert_allclose(out[0], np.log(np.exp(1.0) + np.exp(2.0)), rtol=1e-6)
    assert np.isneginf(out[1])
    g = _a(ec.grad(nn.logsumexp)(x[0]))
    np.testing.assert_allclose(g, [0.0, _sigmoid(-1.0), _sigmoid(1.0)], rtol=1e-6)
    check_grads(lambda v: nn.logsumexp(v, axis=1), (X,), order=2)
    check_grads(lambda v, w: nn.logsumexp(v, axis=0, b=w), (X, np.abs(X) + 0.5), order=1)


# ----------------------------------------------------------------------------------------------
# one_hot and standardize

def test_one_hot():
    idx = np.array([0, 2, 5, -1], np.int32)
    out = _a(nn.one_hot(idx, 4))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    idx2 = np.array([[0, 2], [1, 3]], np.int32)
    out0 = _a(nn.one_hot(idx2, 4, axis=0, dtype=jnp.int32))
    assert out0.dtype == np.int32 and out0.shape == (4, 2, 2)
    np.testing.assert_array_equal(np.moveaxis(out0, 0, -1), np.eye(4, dtype=np.int32)[idx2])
    assert ec.vmap(lambda i: nn.one_hot(i, 3))(np.arange(3)).shape == (3, 3)


def test_standardize():
    x64 = X.astype(np.float64)
    ref = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(_a(nn.standardize(X)), ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(_a(nn.standardize(X, algorithm="stable")), ref, rtol=1e-5, atol=1e-6)
    ref0 = (x64 - x64.mean(0)) / np.sqrt(x64.var(0) + 1e-3)
    np.testing.assert_allclose(_a(nn.standardize(X, axis=0, epsilon=1e-3)), ref0, rtol=1e-4, atol=1e-5)
    given = _a(nn.standardize(X, mean=1.0, variance=4.0, epsilon=0.0))
    np.testing.assert_allclose(given, (x64 - 1) / 2, rtol=1e-6)
    mask = X > -1
    m = np.array([x64[i][mask[i]].mean() for i in range(3)])[:, None]
    v = np.array([x64[i][mask[i]].var() for i in range(3)])[:, None]
    np.testing.assert_allclose(_a(nn.standardize(X, where=mask)), (x64 - m) / np.sqrt(v + 1e-5), rtol=1e-4, atol=1e-4)
    check_grads(lambda x: nn.standardize(x, algorithm="stable"), (X,), order=1)


# ----------------------------------------------------------------------------------------------
# dot_product_attention

def _np_attention(q, k, v, bias=None, mask=None, scale=None, causal=False, window=None, q_len=None, kv_len=None):
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    B, T, N, H = q.shape
    S, K = k.shape[1], k.shape[2]
    k = np.repeat(k, N // K, axis=2)
    v = np.repeat(v, N // K, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, k) * (1 / math.sqrt(H) if scale is None else scale)
    if bias is not None:
        logits = logits + bias
    allowed = np.ones((B, N, T, S), bool)
    if mask is not None:
        allowed &= mask
    t, s = np.arange(T)[:, None], np.arange(S)[None, :]
    if causal:
        allowed &= t >= s
    if window is not None:
        allowed &= (t <= s + window[0]) & (t >= s - window[1])
    if q_len is not None:
        allowed &= (np.arange(T)[None, :, None] < q_len[:, None, None])[:, None]
    if kv_len is not None:
        allowed &= (np.arange(S)[None, None, :] < kv_len[:, None, None])[:, None]
    logits = np.where(allowed, logits, -0.7 * np.finfo(np.float32).max)
    out = np.einsum("bnts,bsnh->btnh", _np_softmax(logits, -1), v)
    if q_len is not None:
        out = out * (np.arange(T)[None, :] < q_len[:, None])[:, :, None, None]
    return out


Q = RNG.standard_normal((2, 4, 4, 8)).astype(np.float32)
KEY = RNG.standard_normal((2, 6, 2, 8)).astype(np.float32)
VAL = RNG.standard_normal((2, 6, 2, 8)).astype(np.float32)


@pytest.mark.parametrize("kwargs", [
    {},
    {"bias": RNG.standard_normal((1, 4, 4, 6)).astype(np.float32), "mask": RNG.uniform(size=(2, 1, 4, 6)) > 0.3},
    {"is_causal": True, "scale": 0.3},
    {"local_window_size": (1, 2)},
    {"query_seq_lengths": np.array([2, 4], np.int32), "key_value_seq_lengths": np.array([3, 6], np.int32)},
])
def test_dot_product_attention(kwargs):
    out = _a(nn.dot_product_attention(Q, KEY, VAL, **kwargs))
    ref = _np_attention(Q, KEY, VAL, bias=kwargs.get("bias"), mask=kwargs.get("mask"), scale=kwargs.get("scale"),
                        causal=kwargs.get("is_causal", False), window=kwargs.get("local_window_size"),
                        q_len=kwargs.get("query_seq_lengths"), kv_len=kwargs.get("key_value_seq_lengths"))
    assert out.shape == Q.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=2e-5, atol=2e-5)


def test_dot_product_attention_variants():
    # unbatched (TNH) inputs, the logsumexp residual, bfloat16, grads, jit and vmap
    out3 = _a(nn.dot_product_attention(Q[0], KEY[0], VAL[0]))
    np.testing.assert_allclose(out3, _np_attention(Q[:1], KEY[:1], VAL[:1])[0], rtol=2e-5, atol=2e-5)
    out, lse = nn.dot_product_attention(Q, KEY, VAL, return_residual=True)
    assert lse.shape == (2, 4, 4)
    logits = np.einsum("btnh,bsnh->bnts", Q.astype(np.float64), np.repeat(KEY, 2, 2).astype(np.float64)) / math.sqrt(8)
    np.testing.assert_allclose(_a(lse), np.log(np.exp(logits).sum(-1)).transpose(0, 2, 1), rtol=1e-5)
    bf = nn.dot_product_attention(*(jnp.asarray(a).astype(jnp.bfloat16) for a in (Q, KEY, VAL)))
    assert bf.dtype == jnp.bfloat16
    np.testing.assert_allclose(_a(bf).astype(np.float32), _np_attention(Q, KEY, VAL), atol=0.05)
    check_grads(lambda q, k: nn.dot_product_attention(q, k, VAL[:1, :3], is_causal=True),
                (Q[:1, :3], KEY[:1, :3]), order=1, modes=("rev",))
    jitted = ec.jit(lambda q: nn.dot_product_attention(q, KEY, VAL, is_causal=True))(Q)
    np.testing.assert_allclose(_a(jitted), _a(nn.dot_product_attention(Q, KEY, VAL, is_causal=True)), rtol=1e-6)
    per_example = ec.vmap(lambda q, k, v: nn.dot_product_attention(q, k, v))(Q, KEY, VAL)
    np.testing.assert_allclose(_a(per_example), _a(nn.dot_product_attention(Q, KEY, VAL)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="multiple"):
        nn.dot_product_attention(Q[:, :, :3], KEY, VAL)


# ----------------------------------------------------------------------------------------------
# initializers

K7 = random.PRNGKey(7)


def test_initializers_match_jax():
    np.testing.assert_allclose(_a(init.lecun_normal()(K7, (3, 4))), [
        [0.28181323409080505, 1.0993263721466064, -0.32208481431007385, -0.08827228844165802],
        [0.38329675793647766, 0.20909379422664642, -0.08100109547376633, -0.14006485044956207],
        [-0.8826920986175537, -0.8106590509414673, -0.2055887132883072, 0.6152722835540771]], rtol=2e-6)
    np.testing.assert_allclose(_a(init.glorot_uniform()(K7, (3, 4))), [
        [0.32235187292099, 0.8788197040557861, -0.36506277322769165, -0.10376865416765213],
        [0.4275188744068146, 0.24243448674678802, -0.09526625275611877, -0.1639050841331482],
        [-0.7966422438621521, -0.7596684098243713, -0.23850280046463013, 0.6318743228912354]], rtol=2e-6)
    he = _a(init.he_normal()(K7, (2, 3, 4)))
    np.testing.assert_allclose(he[1, 0], [0.32944419980049133, -1.0134469270706177, 0.880841851234436,
                                          -0.02362755499780178], rtol=2e-6)
    np.testing.assert_allclose(_a(init.normal(0.5)(K7, (4,))), [0.22561757266521454, 0.9767254590988159,
                                                                 -0.25811973214149475, -0.07047014683485031], rtol=2e-6)
    vs = _a(init.variance_scaling(2.0, "fan_geo_avg", "uniform", in_axis=0, out_axis=(1, 2))(K7, (2, 3, 2)))
    np.testing.assert_allclose(vs[1, 1], [-1.1324447393417358, -1.0798856019973755], rtol=2e-6)


def test_simple_initializers():
    assert _a(init.zeros(K7, (2, 3))).tolist() == [[0.0] * 3] * 2
    assert _a(init.ones(K7, (2,), jnp.int32)).tolist() == [1, 1]
    assert _a(init.constant(-7)(K7, (2,))).tolist() == [-7.0, -7.0]
    u = _a(init.uniform(3.0)(K7, (1000,)))
    assert u.min() >= 0 and u.max() < 3 and abs(u.mean() - 1.5) < 0.15
    tn = _a(init.truncated_normal(0.5, lower=-1.0, upper=1.5)(K7, (2000,)))
    assert tn.min() > -0.5 and tn.max() < 0.75
    bf = init.lecun_normal()(K7, (4, 4), jnp.bfloat16)
    assert bf.dtype == jnp.bfloat16
    assert isinstance(init.lecun_normal(), init.Initializer)


@pytest.mark.parametrize("name, scale, fan", [
    ("lecun_normal", 1.0, "in"), ("lecun_uniform", 1.0, "in"), ("glorot_normal", 1.0, "avg"),
    ("glorot_uniform", 1.0, "avg"), ("he_normal", 2.0, "in"), ("he_uniform", 2.0, "in"),
    ("xavier_uniform", 1.0, "avg"), ("kaiming_normal", 2.0, "in"),
])
def test_variance_scaling_statistics(name, scale, fan):
    shape = (3, 3, 40, 60)  # a conv kernel: receptive field 9, fan_in 360, fan_out 540
    w = _a(getattr(init, name)()(K7, shape))
    n = {"in": 360, "avg": 450}[fan]
    np.testing.assert_allclose(w.std(), math.sqrt(scale / n), rtol=0.03)
    assert abs(w.mean()) < 0.1 * w.std()
    if "uniform" in name:
        assert np.abs(w).max() <= math.sqrt(3 * scale / n)
    else:  # truncated at two standard deviations of the untruncated normal
        assert np.abs(w).max() < 2 * math.sqrt(scale / n) / 0.87962566103423978


def test_variance_scaling_modes_and_errors():
    w = _a(init.variance_scaling(0.5, "fan_out", "normal")(K7, (50, 400)))
    np.testing.assert_allclose(w.std(), math.sqrt(0.5 / 400), rtol=0.03)
    with pytest.raises(ValueError, match="mode"):
        init.variance_scaling(1.0, "fan_sideways", "normal")
    with pytest.raises(ValueError, match="2D"):
        init.lecun_normal()(K7, (5,))
    c = _a(init.glorot_uniform()(K7, (30, 30), jnp.complex64))
    assert c.dtype == np.complex64 and abs(np.var(c) - 1 / 30) < 0.01


def test_orthogonal_initializers():
    q = _a(init.orthogonal()(K7, (6, 4)))
    np.testing.assert_allclose(q.T @ q, np.eye(4), atol=1e-5)
    q = _a(init.orthogonal(scale=2.0, column_axis=0)(K7, (3, 5, 2)))  # columns along axis 0
    flat = np.moveaxis(q, 0, -1).reshape(10, 3)
    np.testing.assert_allclose(flat.T @ flat, 4 * np.eye(3), atol=1e-4)
    d = np.array(init.delta_orthogonal()(K7, (3, 3, 4, 5)))
    centre = d[1, 1]
    np.testing.assert_allclose(centre @ centre.T, np.eye(4), atol=1e-5)
    d[1, 1] = 0
    assert (d == 0).all()
    keys = random.split(K7, 3)
    batch = ec.vmap(lambda k: init.lecun_normal()(k, (4, 3)))(keys)
    np.testing.assert_allclose(_a(batch)[2], _a(init.lecun_normal()(keys[2], (4, 3))), rtol=1e-6, atol=1e-6)
