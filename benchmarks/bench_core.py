"""ember.core vs JAX on the same workloads.

    python benchmarks/bench_core.py            # both libraries must be importable
    python benchmarks/bench_core.py --quick    # fewer repetitions

Prints a markdown table (times, and ember / JAX ratios: below 1.0 means ember is faster) and
writes it to benchmarks/core_results.md.

Two kinds of rows, measured two ways:

- dispatch, eager and first-call (trace + lower + compile) rows run each library in fresh
  processes of its own, because importing the other library changes them (jax takes over
  jaxlib's process-wide dispatcher states; compile caches warm up). Dispatch timings are medians
  of many calls; compile timings are medians of 3 first calls of freshly created functions, each
  for a new shape. A few processes per library run, taking turns, and each row keeps its best.
- steady-state rows time the same compiled programs in long-lived worker processes, a few per
  library, that take turns row by row (only one runs at a time); each library keeps its best
  time. Timing the libraries one after the other let load on this shared machine fall on one
  library's run and not the other's; taking turns spreads it over both, and the best of several
  processes evens out how fast one process happens to be (up to 8% apart for the same library).
  The libraries are not put in one process: there each one's XLA CPU client keeps its own thread
  pool, and on a 2-core machine one pool's spinning threads slow the other's programs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent


# ----------------------------------------------------------------------------------------------
# The workloads, written once against a jax-like module triple (ec/jnp/lax)

def _modules(lib: str) -> tuple[Any, Any, Any]:
    if lib == "ember":
        import ember.core as ec
        import ember.core.numpy as jnp
        from ember.core import lax
    else:
        import jax as ec
        import jax.numpy as jnp
        from jax import lax
    return ec, jnp, lax


def _timeit(fn, number: int, repeat: int, *, best: bool = False) -> float:
    for _ in range(min(number, 100)):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return min(samples) if best else statistics.median(samples)


class _MLP:
    """The MLP of the issue: 784-512-512-10, batch 256, softmax cross-entropy, plain SGD."""

    def __init__(self, ec: Any, jnp: Any, seed: int = 0) -> None:
        import numpy as np

        self.ec, self.jnp = ec, jnp
        self.rng = np.random.default_rng(seed)
        sizes = [784, 512, 512, 10]
        self.params = [(jnp.asarray(self.rng.normal(0, 0.05, (m, k)).astype(np.float32)), jnp.zeros(k))
                       for m, k in zip(sizes[:-1], sizes[1:])]
        self.x, self.y = self.batch(256)

    def batch(self, size: int) -> tuple[Any, Any]:
        import numpy as np

        x = self.rng.normal(size=(size, 784)).astype(np.float32)
        y = np.eye(10, dtype=np.float32)[self.rng.integers(0, 10, size)]
        return self.jnp.asarray(x), self.jnp.asarray(y)

    def forward(self, params: Any, x: Any) -> Any:
        jnp = self.jnp
        for w, b in params[:-1]:
            x = jnp.tanh(x @ w + b)
        w, b = params[-1]
        return x @ w + b

    def loss(self, params: Any, x: Any, y: Any) -> Any:
        jnp = self.jnp
        logits = self.forward(params, x)
        return -jnp.mean(jnp.sum(y * (logits - jnp.log(jnp.sum(jnp.exp(logits), axis=1, keepdims=True))), axis=1))

    def train_step(self, params: Any, x: Any, y: Any) -> Any:
        value, grads = self.ec.value_and_grad(self.loss)(params, x, y)
        return [(w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads)], value


def _rnn(jnp: Any, lax: Any, seed: int = 1, steps: int = 1000) -> tuple[Any, Any, Any]:
    """A scan of ``steps`` steps of a 64-unit tanh RNN: (function, initial state, inputs)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    wh = jnp.asarray(rng.normal(0, 0.1, (64, 64)).astype(np.float32))
    xs = jnp.asarray(rng.normal(size=(steps, 64)).astype(np.float32))

    def rnn(h0, xs):
        def cell(h, x_t):
            h = jnp.tanh(h @ wh + x_t)
            return h, h.sum()
        return lax.scan(cell, h0, xs)

    return rnn, jnp.zeros(64), xs


def per_process_rows(lib: str, quick: bool) -> dict[str, float]:
    """Dispatch, eager and first-call rows: run in a fresh process holding ``lib`` alone."""
    import numpy as np

    ec, jnp, lax = _modules(lib)
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

    # first calls: a new function and a new batch size each time, so nothing comes from a cache
    mlp = _MLP(ec, jnp)

    def first_call(step: bool, batch: int) -> float:
        xb, yb = mlp.batch(batch)
        if step:
            fn, args = ec.jit(lambda p, v, t: mlp.train_step(p, v, t)), (mlp.params, xb, yb)
        else:
            fn, args = ec.jit(lambda p, v: mlp.forward(p, v)), (mlp.params, xb)
        start = time.perf_counter()
        block(fn(*args))
        return time.perf_counter() - start

    results["MLP forward: trace+lower+compile (ms)"] = statistics.median(
        first_call(False, 256 + i) for i in range(3)) * 1e3
    results["MLP train step: trace+lower+compile (ms)"] = statistics.median(
        first_call(True, 256 + i) for i in range(3)) * 1e3
    if hasattr(lax, "scan"):
        def scan_first_call(steps: int) -> float:
            rnn, h0, xs = _rnn(jnp, lax, steps=steps)
            start = time.perf_counter()
            block(ec.jit(rnn)(h0, xs))
            return time.perf_counter() - start

        results["scan of 1000 RNN steps: first call (ms)"] = (
            statistics.median(scan_first_call(1000 + i) for i in range(3)) * 1e3)
    return results


def steady_workloads(lib: str) -> dict[str, tuple[Callable[[], Any], int]]:
    """Compiled programs ready to run: ``{row: (run once and wait, calls per sample)}``."""
    ec, jnp, lax = _modules(lib)
    block = ec.block_until_ready
    mlp = _MLP(ec, jnp)
    params, x, y = mlp.params, mlp.x, mlp.y
    forward = ec.jit(mlp.forward)
    step = ec.jit(mlp.train_step)
    per_example = ec.jit(ec.vmap(ec.grad(lambda p, v, t: mlp.loss(p, v[None], t[None])), in_axes=(None, 0, 0)))
    xs, ys = x[:64], y[:64]
    rnn, h0, xs_rnn = _rnn(jnp, lax)
    scan = ec.jit(rnn)
    return {
        "MLP forward: steady state (ms)": (lambda: block(forward(params, x)), 40),
        "MLP train step: steady state (ms)": (lambda: block(step(params, x, y)), 20),
        "per-example grads, 64 examples (ms)": (lambda: block(per_example(params, xs, ys)), 2),
        "scan of 1000 RNN steps: steady state (ms)": (lambda: block(scan(h0, xs_rnn)), 40),
    }


def serve_steady(lib: str, quick: bool) -> None:
    """A worker holding ``lib`` alone: builds the steady-state workloads, then times the row named
    on each line of stdin and answers with the time in ms, until stdin closes."""
    workloads = steady_workloads(lib)
    repeat = 3 if quick else 7
    print(json.dumps(sorted(workloads)), flush=True)
    for line in sys.stdin:
        run, number = workloads[line.strip()]
        number = max(number // (4 if quick else 1), 1)
        print(json.dumps(_timeit(run, number, repeat, best=True) * 1e3), flush=True)


def steady_rows(quick: bool, rounds: int, processes: int) -> tuple[dict[str, float], dict[str, float]]:
    """``processes`` worker processes per library, all taking turns row by row (only one runs at
    a time); each library keeps its best time over its workers and ``rounds`` turns.

    Several processes per library, because one process's speed on these memory-bound programs
    differs from another's by up to 8% on this machine even for the same library (where the
    allocator places buffers); the best of a few is stable from run to run."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    command = [sys.executable, __file__, "--serve"]
    workers = [(lib, subprocess.Popen(command + [lib] + (["--quick"] if quick else []), stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, env=env))
               for _ in range(processes) for lib in ("ember", "jax")]
    best: dict[str, dict[str, float]] = {"ember": {}, "jax": {}}
    try:
        keys = [json.loads(_read_line(worker, lib)) for lib, worker in workers][0]
        for round_index in range(rounds):
            turn = workers if round_index % 2 == 0 else workers[::-1]
            for key in keys:
                for lib, worker in turn:
                    worker.stdin.write(key + "\n")
                    worker.stdin.flush()
                    t = json.loads(_read_line(worker, lib))
                    best[lib][key] = min(t, best[lib].get(key, float("inf")))
    finally:
        for _, worker in workers:
            worker.stdin.close()
        for _, worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
    return best["ember"], best["jax"]


def _read_line(worker: subprocess.Popen, lib: str, timeout: float = 600.0) -> str:
    if not select.select([worker.stdout], [], [], timeout)[0]:
        worker.kill()
        raise RuntimeError(f"the {lib} steady-state worker sent nothing for {timeout:.0f} s")
    line = worker.stdout.readline()
    if not line:
        raise RuntimeError(f"the {lib} steady-state worker exited with status {worker.wait(timeout=60)}")
    return line


# ----------------------------------------------------------------------------------------------
# The parent: per-process rows from clean children, steady rows here, then the table

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
    parser.add_argument("--serve")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="turns of each steady-state row per worker")
    parser.add_argument("--processes", type=int, default=3, help="steady-state worker processes per library")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(per_process_rows(args.child, args.quick)))
        return
    if args.serve:
        serve_steady(args.serve, args.quick)
        return
    runs: dict[str, list[dict[str, float]]] = {"ember": [], "jax": []}
    for index in range(args.processes):  # fresh processes, the libraries taking turns
        for lib in ("ember", "jax") if index % 2 == 0 else ("jax", "ember"):
            runs[lib].append(_child(lib, args.quick))
    ember, jax = ({key: min(run[key] for run in runs[lib]) for key in runs[lib][0]} for lib in ("ember", "jax"))
    ember_steady, jax_steady = steady_rows(args.quick, args.rounds, args.processes)
    ember.update(ember_steady)
    jax.update(jax_steady)
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs{load}, Python {platform.python_version()}; {_versions()}",
        f"Dispatch, eager and first-call rows: best of {args.processes} fresh processes per library, "
        f"the libraries taking turns (each a median of many calls, or of 3 first calls). "
        f"Steady-state rows: best of {args.processes} worker processes per library x {args.rounds} turns, "
        f"all workers taking turns row by row.",
        "",
        "| workload | ember | JAX | ember / JAX |",
        "| --- | ---: | ---: | ---: |",
    ]
    order = ["jit dispatch, scalar (us)", "jit dispatch, pytree of 100 arrays (us)", "eager add 8x8 (us)",
             "eager dot 8x8 (us)", "MLP forward: trace+lower+compile (ms)", "MLP train step: trace+lower+compile (ms)",
             "MLP forward: steady state (ms)", "MLP train step: steady state (ms)",
             "per-example grads, 64 examples (ms)", "scan of 1000 RNN steps: first call (ms)",
             "scan of 1000 RNN steps: steady state (ms)"]
    for key in order + [k for k in ember if k not in order]:
        if key in ember and key in jax:
            lines.append(f"| {key} | {ember[key]:.3g} | {jax[key]:.3g} | {ember[key] / jax[key]:.2f}x |")
    table = "\n".join(lines)
    print(table)
    (HERE / "core_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
