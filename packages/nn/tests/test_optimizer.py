import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.nn as nn


def test_sgd_update_matches_manual(sgd):
    model = nn.Linear(2, 1, rngs=nn.Rngs(0))
    opt = nn.Optimizer(model, sgd(0.5), wrt=nn.Param)
    x = jnp.ones((3, 2))
    grads = nn.grad(lambda m: m(x).sum())(model)
    k0 = np.asarray(model.kernel.value)
    opt.update(model, grads)
    np.testing.assert_allclose(np.asarray(model.kernel.value), k0 - 0.5 * 3.0, rtol=1e-6)
    assert int(opt.step.value) == 1


def test_adam_training_under_jit_reduces_loss(adam):
    model = nn.Sequential(nn.Linear(2, 16, rngs=nn.Rngs(0)), nn.relu, nn.Linear(16, 1, rngs=nn.Rngs(1)))
    opt = nn.Optimizer(model, adam(0.05), wrt=nn.Param)
    x = jnp.asarray(np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32))
    y = x[:, :1] * 2 - x[:, 1:]

    @nn.jit
    def step(model, opt, x, y):
        loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean())(model)
        opt.update(model, grads)
        return loss

    losses = [float(step(model, opt, x, y)) for _ in range(40)]
    assert losses[-1] < 0.1 * losses[0]
    assert int(opt.step.value) == 40
    assert int(opt.opt_state["count"].value) == 40
    # the optimizer's state is OptState, not Param: it is not trained or counted as parameters
    assert len(nn.state(opt, nn.Param).flat_state()) == 0
    assert len(nn.state(opt, nn.OptState).flat_state()) == 1 + 1 + 2 * 4


def test_optimizer_wrt_subset_and_missing_grads(sgd):
    model = nn.LoRALinear(2, 2, lora_rank=1, rngs=nn.Rngs(0))
    opt = nn.Optimizer(model, sgd(), wrt=nn.LoRAParam)
    kernel = np.asarray(model.kernel.value)
    grads = nn.grad(lambda m: (m(jnp.ones((1, 2))) ** 2).sum(), wrt=nn.LoRAParam)(model)
    opt.update(model, grads)
    np.testing.assert_array_equal(np.asarray(model.kernel.value), kernel)
    with pytest.raises(ValueError, match="no gradient"):
        opt.update(model, nn.State({}))
    with pytest.raises(TypeError):
        nn.Optimizer(model, object())


def test_metrics():
    avg = nn.metrics.Average()
    avg.update(values=jnp.array([1.0, 2.0, 3.0]))
    avg.update(values=4.0)
    assert float(avg.compute()) == 2.5
    acc = nn.metrics.Accuracy()
    acc.update(logits=jnp.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), labels=jnp.array([0, 1, 1]))
    np.testing.assert_allclose(float(acc.compute()), 2 / 3, rtol=1e-6)
    binary = nn.metrics.Accuracy(threshold=0.5)
    binary.update(logits=jnp.array([0.7, 0.2]), labels=jnp.array([1, 1]))
    assert float(binary.compute()) == 0.5
    w = nn.metrics.Welford()
    data = np.arange(10.0)
    w.update(values=jnp.asarray(data[:4]))
    w.update(values=jnp.asarray(data[4:]))
    mean, std = w.compute()
    np.testing.assert_allclose([float(mean), float(std)], [data.mean(), data.std()], rtol=1e-5)
    multi = nn.MultiMetric(loss=nn.metrics.Average("loss"), accuracy=nn.metrics.Accuracy())

    @nn.jit
    def update(m, loss, logits, labels):
        m.update(loss=loss, logits=logits, labels=labels)

    update(multi, jnp.array(1.0), jnp.array([[0.0, 1.0]]), jnp.array([1]))
    update(multi, jnp.array(3.0), jnp.array([[0.0, 1.0]]), jnp.array([0]))
    out = multi.compute()
    assert float(out["loss"]) == 2.0 and float(out["accuracy"]) == 0.5
    multi.reset()
    assert int(multi.loss.count.value) == 0
