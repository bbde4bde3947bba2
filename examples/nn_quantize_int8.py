"""Weight-only int8 quantisation of a trained model, by replacing each ``nn.Linear`` with a
``QuantizedLinear`` (int8 kernel + one float scale per output channel) through plain assignment.

    python examples/nn_quantize_int8.py --steps 150
"""

from __future__ import annotations

import argparse

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn

try:
    from ember.optim import adam
except ImportError:  # ember.optim not installed: plain gradient descent with the same protocol
    def adam(learning_rate):
        class SGD:
            def init(self, params):
                return ()

            def update(self, grads, state, params=None):
                return ec.tree.map(lambda g: -learning_rate * g, grads), state

        return SGD()


class Int8(nn.Variable):
    """Quantized storage: not a Param, so never trained."""


class QuantizedLinear(nn.Module):
    def __init__(self, linear: nn.Linear):
        w = np.asarray(linear.kernel.value)
        scale = np.maximum(np.abs(w).max(axis=0), 1e-8) / 127.0
        self.kernel = Int8(jnp.asarray(np.clip(np.round(w / scale), -127, 127).astype(np.int8)))
        self.scale = Int8(jnp.asarray(scale.astype(np.float32)))
        self.bias = linear.bias

    def __call__(self, x):
        return (x @ self.kernel.value.astype(x.dtype)) * self.scale.value + self.bias.value


class MLP(nn.Module):
    def __init__(self, rngs: nn.Rngs):
        self.layers = [nn.Linear(2, 128, rngs=rngs), nn.Linear(128, 128, rngs=rngs), nn.Linear(128, 4, rngs=rngs)]

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nn.relu(layer(x))
        return self.layers[-1](x)


def data(n: int = 2048, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32) * 2 + (x[:, 1] > 0.3 * np.sin(4 * x[:, 0])).astype(np.int32)
    return jnp.asarray(x), jnp.asarray(y)


def set_path(root, path, value):
    parent = root
    for k in path[:-1]:
        parent = parent[k] if isinstance(parent, (list, dict)) else getattr(parent, k)
    if isinstance(parent, (list, dict)):
        parent[path[-1]] = value
    else:
        setattr(parent, path[-1], value)


def nbytes(model, kind) -> int:
    return sum(v.value.nbytes for _, v in nn.state(model, kind).flat_state() if v.value.ndim == 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    x, y = data()
    model = MLP(nn.Rngs(0))
    optimizer = nn.Optimizer(model, adam(1e-2), wrt=nn.Param)

    @nn.jit
    def step(model, optimizer, x, y):
        def loss_fn(model):
            logp = ec.nn.log_softmax(model(x))
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        loss, grads = nn.value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    for _ in range(args.steps):
        loss = step(model, optimizer, x, y)
    predict = nn.jit(lambda m, x: jnp.argmax(m(x), -1))
    accuracy = float((predict(model, x) == y).mean())
    float_bytes = nbytes(model, nn.Param)
    print(f"float32 model: loss {float(loss):.3f}, accuracy {accuracy:.3f}, kernels {float_bytes} bytes")

    for path, module in list(nn.iter_modules(model)):
        if type(module) is nn.Linear:
            set_path(model, path, QuantizedLinear(module))
    q_accuracy = float((predict(model, x) == y).mean())
    print(f"int8 model:    accuracy {q_accuracy:.3f}, kernels {nbytes(model, Int8)} bytes "
          f"({[type(m).__name__ for m in model.layers]})")
    print(f"accuracy change: {q_accuracy - accuracy:+.4f}")


if __name__ == "__main__":
    main()
