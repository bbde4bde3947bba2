import numpy as np
import pytest

import ember.core.numpy as jnp
import ember.nn as nn
from ember.nn._src import tracking


class MLP(nn.Module):
    def __init__(self, rngs):
        self.l1 = nn.Linear(3, 8, rngs=rngs)
        self.bn = nn.BatchNorm(8, rngs=rngs)
        self.drop = nn.Dropout(0.5, rngs=rngs)
        self.l2 = nn.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.l2(self.drop(self.bn(nn.relu(self.l1(x)))))


def test_mutations_propagate_and_match_eager():
    x = jnp.arange(12.0).reshape(4, 3) / 10
    eager, jitted = MLP(nn.Rngs(0)), MLP(nn.Rngs(0))
    f = nn.jit(lambda m, x: m(x))
    for _ in range(2):
        y_e, y_j = eager(x), f(jitted, x)
        np.testing.assert_allclose(np.asarray(y_j), np.asarray(y_e), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(jitted.bn.mean.value), np.asarray(eager.bn.mean.value), rtol=1e-5)
    assert int(jitted.drop.rngs.count.value) == int(eager.drop.rngs.count.value) == 2


def test_graph_is_walked_once_and_rewalked_after_structural_change():
    model = MLP(nn.Rngs(0))
    model.eval()
    f = nn.jit(lambda m, x: m(x))
    x = jnp.ones((2, 3))
    f(model, x)
    walks = tracking.WALKS[0]
    for _ in range(5):
        f(model, x)
    assert tracking.WALKS[0] == walks                    # cached: no graph walk per call
    model.l2 = nn.Linear(8, 2, rngs=nn.Rngs(1))          # structural change: re-walk, new program
    assert f(model, x).shape == (2, 2)
    assert tracking.WALKS[0] > walks
    model.l2.kernel.value = jnp.zeros((8, 2))            # value change: same entry, new values read
    np.testing.assert_allclose(np.asarray(f(model, x)), 0.0, atol=1e-6)


def test_train_eval_switch_under_jit():
    model = MLP(nn.Rngs(0))
    f = nn.jit(lambda m, x: m(x))
    x = jnp.ones((4, 3))
    model.eval()
    a, b = f(model, x), f(model, x)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))     # eval: deterministic
    mean_before = np.asarray(model.bn.mean.value)
    model.train()
    f(model, x)
    assert not np.allclose(np.asarray(model.bn.mean.value), mean_before)


def test_shared_module_between_arguments_and_returned_modules():
    shared = nn.Linear(2, 2, rngs=nn.Rngs(0))
    a = nn.Sequential(shared)
    b = nn.Sequential(shared)

    @nn.jit
    def f(a, b):
        a.layers[0].kernel.value = a.layers[0].kernel.value + 1
        return b.layers[0], nn.Linear(2, 5, rngs=nn.Rngs(3))

    before = np.asarray(shared.kernel.value)
    same, new = f(a, b)
    assert same is shared                                # the caller's own object comes back
    np.testing.assert_allclose(np.asarray(shared.kernel.value), before + 1)
    assert isinstance(new, nn.Linear) and new.kernel.shape == (2, 5)


def test_sow_under_jit_creates_intermediates():
    class M(nn.Module):
        def __init__(self):
            self.l = nn.Linear(2, 2, rngs=nn.Rngs(0))

        def __call__(self, x):
            h = self.l(x)
            self.sow(nn.Intermediate, "h", h)
            return h.sum()

    m = M()
    f = nn.jit(lambda m, x: m(x))
    f(m, jnp.ones((1, 2)))
    (h,) = nn.pop(m, nn.Intermediate)["h"].value
    np.testing.assert_allclose(np.asarray(h), np.asarray(m.l(jnp.ones((1, 2)))), rtol=1e-6)
    f(m, jnp.ones((1, 2)))                               # after pop: the original structure again
    assert len(nn.pop(m, nn.Intermediate)["h"].value) == 1


def test_static_args_kwargs_and_methods():
    calls = []

    class M(nn.Module):
        def __init__(self):
            self.w = nn.Param(jnp.ones(2))

        @nn.jit(static_argnums=(2,))
        def scaled(self, x, factor):
            calls.append(factor)
            return self.w.value * x * factor

    m = M()
    np.testing.assert_allclose(np.asarray(m.scaled(jnp.ones(2), 3)), [3, 3])
    np.testing.assert_allclose(np.asarray(m.scaled(jnp.ones(2), 3)), [3, 3])
    np.testing.assert_allclose(np.asarray(m.scaled(jnp.ones(2), 4)), [4, 4])
    assert calls == [3, 4]
    g = nn.jit(lambda m, *, scale: m.w.value * scale, static_argnames="scale")
    np.testing.assert_allclose(np.asarray(g(m, scale=2.0)), [2, 2])


def test_donation_of_module_state():
    model = nn.Linear(2, 2, rngs=nn.Rngs(0))

    @nn.jit(donate_argnums=0)
    def step(m, x):
        m.bias.value = m.bias.value + x.sum()
        return m.kernel.value.sum()

    step(model, jnp.ones((1, 2)))
    step(model, jnp.ones((1, 2)))
    np.testing.assert_allclose(np.asarray(model.bias.value), [4.0, 4.0])
    np.asarray(model.kernel.value)                       # unchanged but donated: still valid (returned)


def test_variable_argument_and_raw_array_attribute():
    counter = nn.BatchStat(jnp.zeros(()))
    m = nn.Module()
    m.buf = jnp.zeros(2)

    @nn.jit
    def bump(c, m):
        c.value = c.value + 1
        m.buf = m.buf + 2

    bump(counter, m)
    bump(counter, m)
    assert float(counter.value) == 2.0
    np.testing.assert_allclose(np.asarray(m.buf), [4, 4])


def test_errors_inside_are_not_swallowed():
    f = nn.jit(lambda m: m(jnp.ones((1, 5))))
    with pytest.raises((TypeError, ValueError)):
        f(nn.Linear(2, 2, rngs=nn.Rngs(0)))


def test_modules_in_containers_kwargs_and_repeated_arguments():
    a, b = nn.Linear(2, 2, rngs=nn.Rngs(0)), nn.Linear(2, 2, rngs=nn.Rngs(1))

    @nn.jit
    def f(pair, x, *, scale):
        first, second = pair
        first.bias.value = first.bias.value + 1
        return second(first(x)) * scale

    x = jnp.ones((1, 2))
    expected = np.asarray(b(a(x) + 1)) * 2
    np.testing.assert_allclose(np.asarray(f([a, b], x, scale=2.0)), expected, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(a.bias.value), [1, 1])
    g = nn.jit(lambda m1, m2: m1.bias.value + m2.bias.value)
    np.testing.assert_allclose(np.asarray(g(a, a)), [2, 2])        # the same module twice


def test_structural_change_inside_jit_propagates():
    class Growing(nn.Module):
        def __init__(self):
            self.layers = []

    m = Growing()

    @nn.jit
    def grow(m, x):
        m.layers.append(nn.Linear(2, 2, rngs=nn.Rngs(len(m.layers))))
        m.count = nn.BatchStat(x.sum())
        return m.layers[-1](x)

    grow(m, jnp.ones((1, 2)))
    grow(m, jnp.ones((1, 2)))
    assert len(m.layers) == 2 and isinstance(m.layers[1], nn.Linear)
    assert float(m.count.value) == 2.0
    np.testing.assert_allclose(np.asarray(m.layers[0].kernel.value),
                               np.asarray(nn.Linear(2, 2, rngs=nn.Rngs(0)).kernel.value))


def test_cycle_through_jit():
    a = nn.Module()
    a.me = a
    a.w = nn.Param(jnp.ones(2))

    @nn.jit
    def f(a):
        a.me.w.value = a.w.value * 3
        return a.me

    out = f(a)
    assert out is a and a.me is a
    np.testing.assert_allclose(np.asarray(a.w.value), [3, 3])


def test_in_shardings_is_rejected_with_a_pointer():
    with pytest.raises(NotImplementedError, match="in_shardings"):
        nn.jit(lambda m: m, in_shardings=None or ())
    assert nn.data(3) == 3
