import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn


def _mse(m, x, y):
    return ((m(x) - y) ** 2).mean()


def test_grad_matches_functional_grad():
    model = nn.Linear(3, 2, rngs=nn.Rngs(0))
    x = jnp.arange(6.0).reshape(2, 3) / 5
    y = jnp.ones((2, 2))
    grads = nn.grad(_mse)(model, x, y)
    assert type(grads) is nn.State and type(grads["kernel"]) is nn.Param

    def f(k, b):
        return (((x @ k + b) - y) ** 2).mean()

    gk, gb = ec.grad(f, argnums=(0, 1))(model.kernel.value, model.bias.value)
    np.testing.assert_allclose(np.asarray(grads["kernel"].value), np.asarray(gk), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grads["bias"].value), np.asarray(gb), rtol=1e-5)


def test_value_and_grad_with_aux_argnums_and_state_updates():
    model = nn.Sequential(nn.Linear(2, 2, rngs=nn.Rngs(0)), nn.BatchNorm(2, rngs=nn.Rngs(0)))
    x = jnp.arange(8.0).reshape(4, 2)

    def loss(m, x):
        out = m(x)
        return (out ** 2).sum(), {"out": out}

    (value, aux), (g_model, g_x) = nn.value_and_grad(loss, argnums=(0, 1), has_aux=True)(model, x)
    assert aux["out"].shape == (4, 2) and isinstance(aux["out"], ec.Array)
    assert g_x.shape == (4, 2)
    assert set(g_model["layers"][1].keys()) == {"scale", "bias"}     # BatchStats are not differentiated
    assert not np.allclose(np.asarray(model.layers[1].mean.value), 0.0)   # running stats written back
    assert float(value) > 0


def test_grad_wrt_filter_only_lora():
    model = nn.LoRALinear(3, 2, lora_rank=2, rngs=nn.Rngs(0))
    x, y = jnp.ones((4, 3)), jnp.zeros((4, 2))
    grads = nn.grad(_mse, wrt=nn.LoRAParam)(model, x, y)
    assert set(grads.keys()) == {"lora"} and set(grads["lora"].keys()) == {"lora_a", "lora_b"}
    g2 = nn.grad(_mse, argnums=nn.DiffState(0, nn.All(nn.Param, nn.Not(nn.LoRAParam))))(model, x, y)
    assert set(g2.keys()) == {"kernel", "bias"}


def test_vmap_ensemble_creation_and_forward():
    @nn.split_rngs(splits=3)
    @nn.vmap(in_axes=0, out_axes=0)
    def create(rngs):
        return nn.Linear(2, 4, rngs=rngs)

    models = create(nn.Rngs(0))
    assert models.kernel.shape == (3, 2, 4)
    k = np.asarray(models.kernel.value)
    assert not np.allclose(k[0], k[1])
    x = jnp.ones((5, 2))
    out = nn.vmap(lambda m, x: m(x), in_axes=(0, None))(models, x)
    np.testing.assert_allclose(np.asarray(out[1]), np.ones((5, 2)) @ k[1] + np.asarray(models.bias.value[1]),
                               rtol=1e-5)


def test_vmap_state_axes_and_batched_updates():
    bn = nn.BatchNorm(2, rngs=nn.Rngs(0))
    axes = nn.StateAxes({nn.BatchStat: 0, ...: None})
    bn.mean.value = jnp.zeros((3, 2))      # one running mean per member
    bn.var.value = jnp.ones((3, 2))
    x = jnp.arange(24.0).reshape(3, 4, 2)
    nn.vmap(lambda m, x: m(x), in_axes=(axes, 0))(bn, x)
    expected = 0.01 * np.asarray(x).mean(axis=1)
    np.testing.assert_allclose(np.asarray(bn.mean.value), expected, rtol=1e-5)
    assert bn.scale.shape == (2,)


def test_scan_over_stacked_layers_equals_loop():
    @nn.split_rngs(splits=3)
    @nn.vmap(in_axes=0, out_axes=0)
    def make(rngs):
        return nn.Linear(4, 4, rngs=rngs)

    layers = make(nn.Rngs(0))
    x = jnp.arange(8.0).reshape(2, 4) / 8

    @nn.scan(in_axes=(nn.Carry, 0), out_axes=(nn.Carry, 0))
    def forward(h, layer):
        h = jnp.tanh(layer(h))
        return h, h.sum()

    h, sums = forward(x, layers)
    ref = np.asarray(x)
    k, b = np.asarray(layers.kernel.value), np.asarray(layers.bias.value)
    ref_sums = []
    for i in range(3):
        ref = np.tanh(ref @ k[i] + b[i])
        ref_sums.append(ref.sum())
    np.testing.assert_allclose(np.asarray(h), ref, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(sums), ref_sums, rtol=1e-5)


def test_scan_carried_module_state_and_scanned_updates():
    counter = nn.Module()
    counter.total = nn.BatchStat(jnp.zeros(()))
    per_step = nn.Module()
    per_step.seen = nn.BatchStat(jnp.zeros(4))

    @nn.scan(in_axes=(nn.Carry, 0, 0), out_axes=nn.Carry)
    def accumulate(c, p, x):
        c.total.value = c.total.value + x
        p.seen.value = x * 2
        return c

    out = accumulate(counter, per_step, jnp.arange(4.0))
    assert out is counter and float(counter.total.value) == 6.0
    np.testing.assert_allclose(np.asarray(per_step.seen.value), [0, 2, 4, 6])


def test_scan_rejects_mutating_broadcast_state():
    m = nn.Module()
    m.v = nn.BatchStat(jnp.zeros(()))

    def body(c, m):
        m.v.value = m.v.value + c
        return c

    with pytest.raises(ValueError, match="broadcast"):
        nn.scan(body, in_axes=(nn.Carry, None), out_axes=nn.Carry, length=2)(jnp.ones(()), m)


def test_remat_gives_the_same_gradients():
    model = nn.Sequential(nn.Linear(3, 3, rngs=nn.Rngs(0)), jnp.tanh, nn.Linear(3, 1, rngs=nn.Rngs(1)))
    x = jnp.ones((2, 3))
    g1 = nn.grad(lambda m: m(x).sum())(model)
    g2 = nn.grad(lambda m: nn.remat(lambda m: m(x))(m).sum())(model)
    for (p, a), (_, b) in zip(g1.flat_state(), g2.flat_state()):
        np.testing.assert_allclose(np.asarray(a.value), np.asarray(b.value), rtol=1e-5, err_msg=str(p))


def test_cond_and_switch_with_module_state():
    m = nn.Module()
    m.v = nn.BatchStat(jnp.zeros(()))

    def add(k):
        def branch(m):
            m.v.value = m.v.value + k
            return m.v.value * 10
        return branch

    out = nn.cond(jnp.array(True), add(1.0), add(5.0), m)
    assert float(m.v.value) == 1.0 and float(out) == 10.0
    nn.cond(False, add(1.0), add(5.0), m)
    assert float(m.v.value) == 6.0
    nn.switch(2, [add(1.0), add(2.0), add(3.0)], m)
    assert float(m.v.value) == 9.0
    f = nn.jit(lambda m, i: nn.switch(i, [add(1.0), add(100.0)], m))
    f(m, jnp.array(1))
    assert float(m.v.value) == 109.0


def test_eval_shape_allocates_nothing():
    def create():
        return nn.Sequential(nn.Linear(512, 256, rngs=nn.Rngs(0)), nn.BatchNorm(256, rngs=nn.Rngs(0)))

    abstract = nn.eval_shape(create)
    k = abstract.layers[0].kernel.value
    assert isinstance(k, ec.ShapeDtypeStruct) and k.shape == (512, 256)
    assert isinstance(abstract.layers[1].mean.value, ec.ShapeDtypeStruct)
    g, s = nn.split(abstract)
    assert g == nn.graphdef(nn.Sequential(nn.Linear(512, 256, rngs=nn.Rngs(1)), nn.BatchNorm(256, rngs=nn.Rngs(0))))


def test_tied_weights_stay_shared_through_grad_and_jit():
    class TiedLM(nn.Module):
        def __init__(self, rngs):
            self.embed = nn.Embed(6, 3, rngs=rngs)

        def __call__(self, ids):
            return self.embed.attend(self.embed(ids))       # input and output share the table

    model = TiedLM(nn.Rngs(0))
    ids = jnp.array([0, 2, 5])
    grads = nn.grad(lambda m: m(ids).sum())(model)
    table = np.asarray(model.embed.embedding.value)

    def loss(t):
        return ((t[np.asarray(ids)]) @ t.T).sum()

    expected = ec.grad(loss)(jnp.asarray(table))
    np.testing.assert_allclose(np.asarray(grads["embed"]["embedding"].value), np.asarray(expected), rtol=1e-5)


def test_gradients_of_attention_and_recurrent_cells_numerically():
    from ember.core.test_util import check_grads

    rng = np.random.default_rng(0)
    q, k, v = (jnp.asarray(rng.normal(size=(1, 3, 2, 2)).astype(np.float32)) for _ in range(3))
    check_grads(lambda q, k, v: nn.dot_product_attention(q, k, v, is_causal=True), (q, k, v), order=1,
                modes=("rev",), atol=5e-2, rtol=5e-2)
    cell = nn.GRUCell(2, 2, rngs=nn.Rngs(0))
    h, x = (jnp.asarray(rng.normal(size=(1, 2)).astype(np.float32)) for _ in range(2))
    check_grads(lambda h, x: cell(h, x)[0], (h, x), order=1, modes=("rev",), atol=5e-2, rtol=5e-2)


def test_initializers_are_exported():
    for name in ("lecun_normal", "xavier_uniform", "kaiming_normal", "orthogonal", "truncated_normal", "normal",
                 "uniform", "zeros", "ones", "constant", "variance_scaling", "zeros_init", "ones_init"):
        assert hasattr(nn.initializers, name), name
    assert nn.initializers.constant(2.0)(None, (2,)).tolist() == [2.0, 2.0]
