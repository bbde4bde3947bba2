"""Train a small MLP regression with ember.core's jit and grad.

    python examples/train_regression.py --steps 500

Fits y = sin(3x) + 0.5x on [-1, 1] with a 1-64-64-1 tanh network and plain SGD with momentum,
printing the loss as it falls. Every step is one compiled XLA program (forward, backward and
update together).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp


def init_params(rng: np.random.Generator, sizes: list[int]) -> list[dict[str, ec.Array]]:
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out)).astype(np.float32)
        params.append({"w": jnp.asarray(w), "b": jnp.zeros(fan_out)})
    return params


def predict(params: list[dict[str, ec.Array]], x: ec.Array) -> ec.Array:
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params: list[dict[str, ec.Array]], x: ec.Array, y: ec.Array) -> ec.Array:
    return jnp.mean((predict(params, x) - y) ** 2)


@ec.jit
def train_step(params, velocity, x, y, learning_rate):
    loss, grads = ec.value_and_grad(loss_fn)(params, x, y)
    velocity = ec.tree.map(lambda v, g: 0.9 * v + g, velocity, grads)
    params = ec.tree.map(lambda p, v: p - learning_rate * v, params, velocity)
    return params, velocity, loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    params = init_params(rng, [1, 64, 64, 1])
    velocity = ec.tree.map(jnp.zeros_like, params)
    x_test = np.linspace(-1, 1, 512, dtype=np.float32)[:, None]
    y_test = np.sin(3 * x_test) + 0.5 * x_test
    initial = float(loss_fn(params, jnp.asarray(x_test), jnp.asarray(y_test)))
    print(f"ember.core {ec.__version__} on {ec.default_backend()} ({ec.device_count()} device(s))")
    print(f"initial test loss {initial:.4f}")

    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        x = rng.uniform(-1, 1, size=(args.batch, 1)).astype(np.float32)
        y = np.sin(3 * x) + 0.5 * x
        params, velocity, loss = train_step(params, velocity, x, y, args.learning_rate)
        if step == 1 or step % max(args.steps // 10, 1) == 0:
            print(f"step {step:5d}  train loss {float(loss):.5f}")
    elapsed = time.perf_counter() - start

    final = float(loss_fn(params, jnp.asarray(x_test), jnp.asarray(y_test)))
    print(f"final test loss {final:.5f} (from {initial:.4f}) after {args.steps} steps in {elapsed:.1f}s")
    if not final < 0.1 * initial:
        raise SystemExit("training did not reduce the test loss tenfold")


if __name__ == "__main__":
    main()
