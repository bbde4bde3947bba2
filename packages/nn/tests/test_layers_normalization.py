import numpy as np

import ember.core.numpy as jnp
import ember.nn as nn
from ember.core.test_util import check_grads

RNG = np.random.default_rng(0)


def test_layernorm_formula_with_learned_scale_and_bias():
    ln = nn.LayerNorm(4, epsilon=1e-6, rngs=nn.Rngs(0))
    ln.scale.value = jnp.array([1.0, 2.0, 0.5, -1.0])
    ln.bias.value = jnp.array([0.0, 1.0, 0.0, 3.0])
    x = RNG.normal(size=(3, 4)).astype(np.float32)
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    expected = (x - mu) / np.sqrt(var + 1e-6) * np.asarray(ln.scale.value) + np.asarray(ln.bias.value)
    np.testing.assert_allclose(np.asarray(ln(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)


def test_layernorm_over_several_axes_and_grads():
    ln = nn.LayerNorm(6, reduction_axes=(1, 2), feature_axes=-1, rngs=nn.Rngs(0))
    x = RNG.normal(size=(2, 3, 6)).astype(np.float32)
    mu, var = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    np.testing.assert_allclose(np.asarray(ln(jnp.asarray(x))), (x - mu) / np.sqrt(var + 1e-6), rtol=1e-4, atol=1e-4)
    x2 = jnp.asarray(RNG.normal(size=(2, 3)).astype(np.float32))
    check_grads(lambda x: nn.LayerNorm(3, rngs=nn.Rngs(0))(x), (x2,), order=1, modes=("rev",), atol=5e-2, rtol=5e-2)


def test_rmsnorm_formula():
    rms = nn.RMSNorm(3, epsilon=1e-6, rngs=nn.Rngs(0))
    rms.scale.value = jnp.array([1.0, 2.0, 3.0])
    x = RNG.normal(size=(4, 3)).astype(np.float32)
    expected = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * np.array([1, 2, 3])
    np.testing.assert_allclose(np.asarray(rms(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-5)
    assert "bias" not in nn.state(rms)


def test_batchnorm_train_updates_running_stats_and_eval_uses_them():
    bn = nn.BatchNorm(3, momentum=0.9, epsilon=1e-5, rngs=nn.Rngs(0))
    x = RNG.normal(loc=2.0, size=(8, 5, 3)).astype(np.float32)
    y = np.asarray(bn(jnp.asarray(x)))                     # training mode by default
    mu, var = x.mean((0, 1)), x.var((0, 1))
    np.testing.assert_allclose(y, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(np.asarray(bn.mean.value), 0.1 * mu, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(bn.var.value), 0.9 + 0.1 * var, rtol=1e-4)
    bn.eval()
    mean_before = np.asarray(bn.mean.value)
    y_eval = np.asarray(bn(jnp.asarray(x)))
    np.testing.assert_array_equal(np.asarray(bn.mean.value), mean_before)         # eval: no update
    expected = (x - mean_before) / np.sqrt(np.asarray(bn.var.value) + 1e-5)
    np.testing.assert_allclose(y_eval, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(bn(jnp.asarray(x), use_running_average=False)), y, rtol=1e-4, atol=1e-4)


def test_batchnorm_stats_get_no_gradient():
    bn = nn.BatchNorm(2, rngs=nn.Rngs(0))
    grads = nn.grad(lambda m, x: m(x).sum(), wrt=...)(bn, jnp.asarray(RNG.normal(size=(4, 2)).astype(np.float32)))
    np.testing.assert_array_equal(np.asarray(grads["mean"].value), 0.0)


def test_groupnorm_formula():
    gn = nn.GroupNorm(6, num_groups=2, epsilon=1e-6, rngs=nn.Rngs(0))
    x = RNG.normal(size=(2, 4, 6)).astype(np.float32)
    g = x.reshape(2, 4, 2, 3)
    mu = g.mean((1, 3), keepdims=True)
    var = g.var((1, 3), keepdims=True)
    expected = ((g - mu) / np.sqrt(var + 1e-6)).reshape(2, 4, 6)
    np.testing.assert_allclose(np.asarray(gn(jnp.asarray(x))), expected, rtol=1e-4, atol=1e-4)
    one = nn.GroupNorm(6, num_groups=1, rngs=nn.Rngs(0))
    ln = nn.LayerNorm(6, reduction_axes=(1, 2), rngs=nn.Rngs(0))
    np.testing.assert_allclose(np.asarray(one(jnp.asarray(x))), np.asarray(ln(jnp.asarray(x))), rtol=1e-4, atol=1e-4)
    assert nn.GroupNorm(6, num_groups=None, group_size=3, rngs=nn.Rngs(0)).num_groups == 2
