import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.nn as nn


def test_sow_accumulates_and_custom_reduce():
    m = nn.Module()
    m.sow(nn.Intermediate, "h", 1)
    m.sow(nn.Intermediate, "h", 2)
    assert m.h.value == (1, 2)
    m.sow(nn.Intermediate, "total", 3, init_fn=lambda: 0, reduce_fn=lambda a, b: a + b)
    m.sow(nn.Intermediate, "total", 4, init_fn=lambda: 0, reduce_fn=lambda a, b: a + b)
    assert m.total.value == 7
    m.not_var = 1
    with pytest.raises(ValueError):
        m.sow(nn.Intermediate, "not_var", 1)


def test_train_eval_switch_flags_recursively():
    class Net(nn.Module):
        def __init__(self, rngs):
            self.drop = nn.Dropout(0.5, rngs=rngs)
            self.bn = nn.BatchNorm(2, rngs=rngs)
            self.mha = nn.MultiHeadAttention(1, 2, dropout_rate=0.1, rngs=rngs, decode=False)

    net = Net(nn.Rngs(0))
    net.eval()
    assert net.drop.deterministic and net.bn.use_running_average and net.mha.deterministic
    net.train()
    assert not net.drop.deterministic and not net.bn.use_running_average and not net.mha.deterministic
    net.set_attributes(nn.Dropout, deterministic=True)
    assert net.drop.deterministic and not net.mha.deterministic
    with pytest.raises(ValueError):
        net.set_attributes(no_such_flag=True)


def test_replace_submodule_by_assignment():
    model = nn.Sequential(nn.Linear(2, 4, rngs=nn.Rngs(0)), nn.relu, nn.Linear(4, 1, rngs=nn.Rngs(1)))
    model.layers[2] = nn.Linear(4, 3, rngs=nn.Rngs(2))
    assert model(jnp.ones((1, 2))).shape == (1, 3)
    assert nn.state(model)["layers"][2]["kernel"].shape == (4, 3)


def test_repr_lists_attributes():
    text = repr(nn.Linear(2, 3, rngs=nn.Rngs(0)))
    assert text.startswith("Linear(") and "kernel=Param(" in text and "in_features=2" in text


def test_perturb_gives_intermediate_gradients():
    class M(nn.Module):
        def __init__(self):
            self.w = nn.Param(jnp.array(3.0))

        def __call__(self, x):
            h = self.perturb("h", x * self.w.value)
            return (h ** 2).sum()

    m = M()
    m(jnp.ones(2))
    grads = nn.grad(lambda m, x: m(x), wrt=nn.Perturbation)(m, jnp.ones(2))
    np.testing.assert_allclose(np.asarray(grads["h"].value), [6.0, 6.0])
