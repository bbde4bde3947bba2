"""Shared fixtures for ember.nn's tests: 8 CPU devices (sharding tests) and tiny optimizers."""

import os

os.environ.setdefault("EMBER_NUM_CPU_DEVICES", "8")

import pytest  # noqa: E402

import ember.core as ec  # noqa: E402
import ember.core.numpy as jnp  # noqa: E402


class SGD:
    """A minimal gradient transformation (init/update), so tests do not depend on ember.optim."""

    def __init__(self, learning_rate: float = 0.1):
        self.learning_rate = learning_rate

    def init(self, params):
        return ()

    def update(self, grads, state, params=None):
        return ec.tree.map(lambda g: -self.learning_rate * g, grads), state


class Adam:
    def __init__(self, learning_rate=1e-2, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = learning_rate, b1, b2, eps

    def init(self, params):
        zeros = ec.tree.map(jnp.zeros_like, params)
        return {"count": jnp.zeros((), jnp.int32), "mu": zeros, "nu": ec.tree.map(jnp.zeros_like, params)}

    def update(self, grads, state, params=None):
        count = state["count"] + 1
        mu = ec.tree.map(lambda m, g: self.b1 * m + (1 - self.b1) * g, state["mu"], grads)
        nu = ec.tree.map(lambda v, g: self.b2 * v + (1 - self.b2) * g * g, state["nu"], grads)
        c = count.astype(jnp.float32)
        updates = ec.tree.map(
            lambda m, v: -self.lr * (m / (1 - self.b1 ** c)) / (jnp.sqrt(v / (1 - self.b2 ** c)) + self.eps), mu, nu)
        return updates, {"count": count, "mu": mu, "nu": nu}


@pytest.fixture
def sgd():
    return SGD


@pytest.fixture
def adam():
    return Adam
