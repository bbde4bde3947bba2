"""Insert LoRA adapters into a pretrained model's Linear layers and train only the adapters.

    python examples/nn_lora_finetune.py --steps 100

A small MLP is trained on one task, every ``nn.Linear`` is wrapped in an ``nn.LoRA`` adapter with
``nn.recursive_map``, and the model is fine-tuned on a second task with gradients and optimizer
state for the ``nn.LoRAParam`` Variables only; the pretrained weights do not move.
"""

from __future__ import annotations

import argparse

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn

try:
    from ember.optim import adam
except ImportError:  # ember.optim not installed: a minimal Adam with the same init/update protocol
    def adam(learning_rate, b1=0.9, b2=0.999, eps=1e-8):
        class Adam:
            def init(self, params):
                return (jnp.zeros((), jnp.int32), ec.tree.map(jnp.zeros_like, params),
                        ec.tree.map(jnp.zeros_like, params))

            def update(self, grads, state, params=None):
                count, mu, nu = state
                count = count + 1
                mu = ec.tree.map(lambda m, g: b1 * m + (1 - b1) * g, mu, grads)
                nu = ec.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, nu, grads)
                c = count.astype(jnp.float32)
                return ec.tree.map(lambda m, v: -learning_rate * m / (1 - b1 ** c) /
                                   (jnp.sqrt(v / (1 - b2 ** c)) + eps), mu, nu), (count, mu, nu)

        return Adam()


class MLP(nn.Module):
    def __init__(self, rngs: nn.Rngs):
        self.layers = [nn.Linear(2, 64, rngs=rngs), nn.Linear(64, 64, rngs=rngs), nn.Linear(64, 1, rngs=rngs)]

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = jnp.tanh(layer(x))
        return self.layers[-1](x)


def make_task(seed: int, n: int = 256):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    freq = 2.0 + seed
    y = np.sin(freq * x[:, :1]) * np.cos(freq * x[:, 1:])
    return jnp.asarray(x), jnp.asarray(y.astype(np.float32))


def train(model: nn.Module, x, y, steps: int, wrt) -> list[float]:
    optimizer = nn.Optimizer(model, adam(1e-2), wrt=wrt)

    @nn.jit
    def step(model, optimizer, x, y):
        loss, grads = nn.value_and_grad(lambda m: ((m(x) - y) ** 2).mean(), wrt=wrt)(model)
        optimizer.update(model, grads)
        return loss

    return [float(step(model, optimizer, x, y)) for _ in range(steps)]


def add_lora(rank: int, rngs: nn.Rngs):
    def wrap(path, value):
        if type(value) is nn.Linear:
            return nn.LoRA(value.in_features, rank, value.out_features, base_module=value, rngs=rngs)
        return value

    return wrap


def count(model: nn.Module, kind) -> int:
    return sum(v.size for _, v in nn.state(model, kind).flat_state())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rank", type=int, default=4)
    args = parser.parse_args()

    pretrained = MLP(nn.Rngs(0))
    xa, ya = make_task(0)
    losses = train(pretrained, xa, ya, args.steps, wrt=nn.Param)
    print(f"pretraining on task A: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    snapshot = {p: np.asarray(v.value) for p, v in nn.state(pretrained, nn.Param).flat_state()}

    model = nn.recursive_map(add_lora(args.rank, nn.Rngs(1)), pretrained)
    xb, yb = make_task(1)
    losses = train(model, xb, yb, args.steps, wrt=nn.LoRAParam)
    print(f"LoRA fine-tuning on task B: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    print(f"trainable (LoRA) parameters: {count(model, nn.LoRAParam)} of {count(model, nn.Param)}")
    unchanged = all(np.array_equal(np.asarray(v.value), snapshot[p])
                    for p, v in nn.state(pretrained, nn.Param).flat_state())
    print("pretrained weights unchanged:", unchanged)


if __name__ == "__main__":
    main()
