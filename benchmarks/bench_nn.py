"""ember.nn vs Flax NNX on the same workloads, each library in its own process.

    python benchmarks/bench_nn.py            # ember-nn and flax must both be importable
    python benchmarks/bench_nn.py --quick    # fewer repetitions

Prints a markdown table (times, and ember / NNX ratios: below 1.0 means ember is faster) and
writes it to benchmarks/nn_results.md. Workloads:

- a train step (forward, backward, Adam update through ``nn.Optimizer``) on a tiny MLP at batch 1,
  with the library's lifted jit (``nn.jit`` / ``nnx.jit``), and written functionally (split outside,
  merge inside ``ec.jit`` / ``jax.jit``);
- the 784-512-512-10 MLP at batch 256 (SGD): the lifted-jit step against the same step written
  as a plain functional ``jit`` over a list of arrays (ember's target: within 1.05x);
- ``split`` / ``merge`` / ``state`` of a 200-Variable model (100 Linear layers).

Steady-state timings are the best (minimum) of repeated batches of calls, after warm-up: on a
shared machine the minimum is the estimate least disturbed by other processes. The two MLP
variants are measured in interleaved batches, so that load changes hit both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _timeit(fn, number: int, repeat: int) -> float:
    for _ in range(min(number, 50)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return min(samples)


# ----------------------------------------------------------------------------------------------
# The workloads, run inside a child process

def run_workloads(lib: str, quick: bool) -> dict[str, float]:
    import numpy as np

    if lib == "ember":
        import ember.core as ec
        import ember.core.numpy as jnp
        import ember.nn as nn

        try:
            import ember.optim as optim

            adam, sgd = optim.adam, optim.sgd
        except ImportError:  # ember.optim not installed: the same math, written here
            adam, sgd = _local_adam(ec, jnp), _local_sgd(ec)
        lifted_jit = nn.jit
        value_and_grad = nn.value_and_grad
        jit = ec.jit
        functional_vg = ec.value_and_grad
        tree_map = ec.tree.map
        block = ec.block_until_ready
        rngs = nn.Rngs
    else:
        import jax
        import jax.numpy as jnp
        import optax
        from flax import nnx as nn

        adam, sgd = optax.adam, optax.sgd
        lifted_jit = nn.jit
        value_and_grad = nn.value_and_grad
        jit = jax.jit
        functional_vg = jax.value_and_grad
        tree_map = jax.tree.map
        block = jax.block_until_ready
        rngs = nn.Rngs

    n = 300 if quick else 2000
    repeat = 5 if quick else 9
    results: dict[str, float] = {}

    class Tiny(nn.Module):
        def __init__(self, rngs):
            self.l1 = nn.Linear(8, 32, rngs=rngs)
            self.l2 = nn.Linear(32, 1, rngs=rngs)

        def __call__(self, x):
            return self.l2(nn.relu(self.l1(x)))

    rng = np.random.default_rng(0)
    x1 = jnp.asarray(rng.normal(size=(1, 8)).astype(np.float32))
    y1 = jnp.asarray(rng.normal(size=(1, 1)).astype(np.float32))

    def make_optimizer(model, tx):
        return nn.Optimizer(model, tx, wrt=nn.Param)

    # 1. tiny train step with the lifted jit
    model = Tiny(rngs(0))
    optimizer = make_optimizer(model, adam(1e-3))

    @lifted_jit
    def train_step(model, optimizer, x, y):
        def loss_fn(model):
            return ((model(x) - y) ** 2).mean()

        loss, grads = value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss

    block(train_step(model, optimizer, x1, y1))
    results["tiny MLP train step, batch 1, lifted jit (us)"] = _timeit(
        lambda: train_step(model, optimizer, x1, y1), n, repeat) * 1e6

    # 2. the same step, functional: split outside, merge inside jit
    model = Tiny(rngs(0))
    optimizer = make_optimizer(model, adam(1e-3))
    graphdef, state = nn.split((model, optimizer))

    @jit
    def functional_step(state, x, y):
        model, optimizer = nn.merge(graphdef, state)

        def loss_fn(model):
            return ((model(x) - y) ** 2).mean()

        loss, grads = value_and_grad(loss_fn)(model)
        optimizer.update(model, grads)
        return loss, nn.state((model, optimizer))

    box = [state]

    def run_functional():
        loss, box[0] = functional_step(box[0], x1, y1)
        return loss

    block(run_functional())
    results["tiny MLP train step, batch 1, split/merge inside jit (us)"] = _timeit(run_functional, n, repeat) * 1e6

    # 3. the 784-512-512-10 MLP at batch 256: lifted jit against a plain functional jit
    sizes = [784, 512, 512, 10]

    class MLP(nn.Module):
        def __init__(self, rngs):
            self.layers = nn.List([nn.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])]) \
                if hasattr(nn, "List") else [nn.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:])]

        def __call__(self, x):
            for layer in self.layers[:-1]:
                x = jnp.tanh(layer(x))
            return self.layers[-1](x)

    xb = jnp.asarray(rng.normal(size=(256, 784)).astype(np.float32))
    yb = jnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 256)])

    def xent(logits, labels):
        return -jnp.mean(jnp.sum(labels * (logits - jnp.log(jnp.sum(jnp.exp(logits), axis=1, keepdims=True))), axis=1))

    mlp = MLP(rngs(0))
    mlp_opt = make_optimizer(mlp, sgd(0.01))

    @lifted_jit
    def mlp_step(model, optimizer, x, y):
        loss, grads = value_and_grad(lambda m: xent(m(x), y))(model)
        optimizer.update(model, grads)
        return loss

    params = [(jnp.asarray(rng.normal(0, 0.05, (a, b)).astype(np.float32)), jnp.zeros(b, jnp.float32))
              for a, b in zip(sizes[:-1], sizes[1:])]

    def forward(params, x):
        for w, b in params[:-1]:
            x = jnp.tanh(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    @jit
    def plain_step(params, x, y):
        loss, grads = functional_vg(lambda p: xent(forward(p, x), y))(params)
        return tree_map(lambda p, g: p - 0.01 * g, params, grads), loss

    pbox = [params]

    def run_plain():
        pbox[0], loss = plain_step(pbox[0], xb, yb)
        return loss

    def run_lifted():
        return mlp_step(mlp, mlp_opt, xb, yb)

    # interleaved batches, so that load changes on a shared machine hit both alike
    m = max(n // 100, 10)
    lifted_t, plain_t = [], []
    for fn in (run_lifted, run_plain):
        for _ in range(3):
            block(fn())
    for _ in range(repeat):
        for fn, out in ((run_lifted, lifted_t), (run_plain, plain_t)):
            start = time.perf_counter()
            for _ in range(m):
                block(fn())
            out.append((time.perf_counter() - start) / m)
    results["MLP 784-512-512-10 train step, batch 256, lifted jit (ms)"] = min(lifted_t) * 1e3
    results["MLP 784-512-512-10 train step, batch 256, plain functional jit (ms)"] = min(plain_t) * 1e3

    # 4. graph functions on a 200-Variable model
    class Deep(nn.Module):
        def __init__(self, rngs):
            layers = [nn.Linear(4, 4, rngs=rngs) for _ in range(100)]
            self.layers = nn.List(layers) if hasattr(nn, "List") else layers

    deep = Deep(rngs(0))
    g, s = nn.split(deep)
    k = max(n // 20, 20)
    results["split, 200-Variable model (us)"] = _timeit(lambda: nn.split(deep), k, repeat) * 1e6
    results["merge, 200-Variable model (us)"] = _timeit(lambda: nn.merge(g, s), k, repeat) * 1e6
    results["state, 200-Variable model (us)"] = _timeit(lambda: nn.state(deep), k, repeat) * 1e6
    return results


def _local_sgd(ec):
    class SGD:
        def __init__(self, lr):
            self.lr = lr

        def init(self, params):
            return ()

        def update(self, grads, state, params=None):
            return ec.tree.map(lambda g: -self.lr * g, grads), state

    return SGD


def _local_adam(ec, jnp):
    class Adam:
        def __init__(self, lr, b1=0.9, b2=0.999, eps=1e-8):
            self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps

        def init(self, params):
            return (jnp.zeros((), jnp.int32), ec.tree.map(jnp.zeros_like, params),
                    ec.tree.map(jnp.zeros_like, params))

        def update(self, grads, state, params=None):
            count, mu, nu = state
            count = count + 1
            mu = ec.tree.map(lambda m, g: self.b1 * m + (1 - self.b1) * g, mu, grads)
            nu = ec.tree.map(lambda v, g: self.b2 * v + (1 - self.b2) * g * g, nu, grads)
            c = count.astype(jnp.float32)
            upd = ec.tree.map(lambda m, v: -self.lr * (m / (1 - self.b1 ** c)) /
                              (jnp.sqrt(v / (1 - self.b2 ** c)) + self.eps), mu, nu)
            return upd, (count, mu, nu)

    return Adam


# ----------------------------------------------------------------------------------------------
# The parent: run each library in a clean process and compare

def _child(lib: str, quick: bool) -> dict[str, float]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, __file__, "--child", lib] + (["--quick"] if quick else []),
                         capture_output=True, text=True, env=env, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"{lib} benchmark failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _versions() -> str:
    from importlib import metadata

    found = []
    for dist in ("ember-nn", "ember-core", "ember-optim", "flax", "jax", "jaxlib", "optax", "numpy"):
        try:
            found.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_workloads(args.child, args.quick)))
        return
    ember = _child("ember", args.quick)
    flax = _child("flax", args.quick)
    try:
        load = f"; load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}{load}; "
        f"{_versions()}",
        "",
        "| workload | ember | Flax NNX | ember / NNX |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key in ember:
        if key in flax:
            lines.append(f"| {key} | {ember[key]:.3g} | {flax[key]:.3g} | {ember[key] / flax[key]:.2f}x |")
    tiny_nnx = flax["tiny MLP train step, batch 1, lifted jit (us)"]
    tiny_ember = ember["tiny MLP train step, batch 1, lifted jit (us)"]
    mlp_lifted = ember["MLP 784-512-512-10 train step, batch 256, lifted jit (ms)"]
    mlp_plain = ember["MLP 784-512-512-10 train step, batch 256, plain functional jit (ms)"]
    lines += [
        "",
        "| target | measured | goal |",
        "| --- | ---: | ---: |",
        f"| nn.jit tiny train step / nnx.jit tiny train step | {tiny_ember / tiny_nnx:.2f}x | <= 0.25x |",
        f"| nn.jit MLP step / plain ec.jit functional MLP step | {mlp_lifted / mlp_plain:.3f}x | <= 1.05x |",
    ]
    for op in ("split", "merge", "state"):
        key = f"{op}, 200-Variable model (us)"
        lines.append(f"| nn.{op} / nnx.{op} (200 Variables) | {ember[key] / flax[key]:.2f}x | < 1x |")
    table = "\n".join(lines)
    print(table)
    (HERE / "nn_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
