"""ember.core vs JAX on the same workloads, each library in its own process.

    python benchmarks/bench_core.py            # both libraries must be importable
    python benchmarks/bench_core.py --quick    # fewer repetitions

Prints a markdown table (times, and ember / JAX ratios: below 1.0 means ember is faster) and
writes it to benchmarks/core_results.md. Dispatch timings are medians of many calls; compile
timings are first calls of freshly created functions (trace + lower + compile).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------------------------
# The workloads, written once against a jax-like module pair (ec/jnp): run inside a child process

def _timeit(fn, number: int, repeat: int) -> float:
    for _ in range(min(number, 100)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def run_workloads(lib: str, quick: bool) -> dict[str, float]:
    import numpy as np

    if lib == "ember":
        import ember.core as ec
        import ember.core.numpy as jnp
        from ember.core import lax
    else:
        import jax as ec
        import jax.numpy as jnp
        from jax import lax
    n = 2000 if quick else 20000
    repeat = 5 if quick else 9
    results: dict[str, float] = {}
    block = ec.block_until_ready

    # dispatch
    scalar = jnp.asarray(np.float32(1.0))
    f = ec.jit(lambda x: x + 1)
    block(f(scalar))
    results["jit dispatch, scalar (us)"] = _timeit(lambda: f(scalar), n, repeat) * 1e6
    tree = {str(i): jnp.ones(3) for i in range(100)}
    g = ec.jit(lambda t: ec.tree_util.tree_map(lambda v: v + 1, t))
    block(g(tree))
    results["jit dispatch, pytree of 100 arrays (us)"] = _timeit(lambda: g(tree), n // 20, repeat) * 1e6
    a = jnp.ones((8, 8))
    block(jnp.add(a, a))
    results["eager add 8x8 (us)"] = _timeit(lambda: jnp.add(a, a), n, repeat) * 1e6
    block(jnp.dot(a, a))
    results["eager dot 8x8 (us)"] = _timeit(lambda: jnp.dot(a, a), n, repeat) * 1e6

    # the MLP of the issue: 784-512-512-10, batch 256
    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    params = [(jnp.asarray(rng.normal(0, 0.05, (m, k)).astype(np.float32)), jnp.zeros(k)) for m, k in zip(sizes[:-1], sizes[1:])]
    x = jnp.asarray(rng.normal(size=(256, 784)).astype(np.float32))
    y = jnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 256)])

    def forward(params, x):
        for w, b in params[:-1]:
            x = jnp.tanh(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def loss(params, x, y):
        logits = forward(params, x)
        return -jnp.mean(jnp.sum(y * (logits - jnp.log(jnp.sum(jnp.exp(logits), axis=1, keepdims=True))), axis=1))

    def train_step(params, x, y):
        l, grads = ec.value_and_grad(loss)(params, x, y)
        return [(w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads)], l

    def first_call(make, batch):
        # a new function and a new batch size each time: nothing can come from a cache
        fn = ec.jit(make())
        xb = jnp.asarray(rng.normal(size=(batch, 784)).astype(np.float32))
        yb = jnp.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)])
        start = time.perf_counter()
        block(fn(params, xb) if make is make_forward else fn(params, xb, yb))
        return time.perf_counter() - start

    def make_forward():
        return lambda p, v: forward(p, v)

    def make_step():
        return lambda p, v, t: train_step(p, v, t)

    results["MLP forward: trace+lower+compile (ms)"] = statistics.median(
        first_call(make_forward, 256 + i) for i in range(3)) * 1e3
    results["MLP train step: trace+lower+compile (ms)"] = statistics.median(
        first_call(make_step, 256 + i) for i in range(3)) * 1e3
    fwd = ec.jit(forward)
    block(fwd(params, x))
    results["MLP forward: steady state (ms)"] = _timeit(lambda: block(fwd(params, x)), max(n // 200, 20), repeat) * 1e3
    step = ec.jit(train_step)
    block(step(params, x, y))
    results["MLP train step: steady state (ms)"] = _timeit(lambda: block(step(params, x, y)), max(n // 400, 10), repeat) * 1e3

    # per-example gradients
    per_example = ec.jit(ec.vmap(ec.grad(lambda p, v, t: loss(p, v[None], t[None])), in_axes=(None, 0, 0)))
    xs, ys = x[:64], y[:64]
    block(per_example(params, xs, ys))
    results["per-example grads, 64 examples (ms)"] = _timeit(lambda: block(per_example(params, xs, ys)), 10, repeat) * 1e3

    # a scan of 1000 RNN steps
    if hasattr(lax, "scan"):
        wh = jnp.asarray(rng.normal(0, 0.1, (64, 64)).astype(np.float32))
        xs_rnn = jnp.asarray(rng.normal(size=(1000, 64)).astype(np.float32))

        def rnn(h0, xs):
            def cell(h, x_t):
                h = jnp.tanh(h @ wh + x_t)
                return h, h.sum()
            return lax.scan(cell, h0, xs)

        h0 = jnp.zeros(64)
        start = time.perf_counter()
        scan_fn = ec.jit(rnn)
        block(scan_fn(h0, xs_rnn))
        results["scan of 1000 RNN steps: first call (ms)"] = (time.perf_counter() - start) * 1e3
        results["scan of 1000 RNN steps: steady state (ms)"] = _timeit(lambda: block(scan_fn(h0, xs_rnn)), 10, repeat) * 1e3
    return results


# ----------------------------------------------------------------------------------------------
# The parent: run each library in a clean process and compare

def _child(lib: str, quick: bool) -> dict[str, float]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, __file__, "--child", lib] + (["--quick"] if quick else []),
                         capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode != 0:
        raise RuntimeError(f"{lib} benchmark failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _versions() -> str:
    from importlib import metadata
    found = []
    for dist in ("jaxlib", "jax", "ember-core", "numpy"):
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
    jax = _child("jax", args.quick)
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; {_versions()}",
        "",
        "| workload | ember | JAX | ember / JAX |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key in ember:
        if key in jax:
            lines.append(f"| {key} | {ember[key]:.3g} | {jax[key]:.3g} | {ember[key] / jax[key]:.2f}x |")
    table = "\n".join(lines)
    print(table)
    (HERE / "core_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
