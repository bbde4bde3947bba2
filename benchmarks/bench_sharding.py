"""A sharded MLP training step on 8 CPU devices: ember.core vs JAX, each in its own process.

    python benchmarks/bench_sharding.py [--quick]

Data parallel (batch over all 8 devices) and Megatron-style tensor parallel (4 x 2 mesh: the
first layer split by columns and the second by rows over "model", the batch over "data").
Reports compile time (trace + lower + compile of the step) and steady-state step time, and
writes benchmarks/sharding_results.md.
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


def run(lib: str, quick: bool) -> dict[str, float]:
    import numpy as np
    if lib == "ember":
        os.environ["EMBER_NUM_CPU_DEVICES"] = "8"
        import ember.core as ec
        import ember.core.numpy as jnp
        from ember.core.sharding import Mesh, NamedSharding, P
    else:
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
        import jax as ec
        import jax.numpy as jnp
        from jax.sharding import Mesh, NamedSharding
        from jax.sharding import PartitionSpec as P
    devices = np.array(ec.devices()[:8], dtype=object)
    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    params = {f"w{i}": rng.normal(0, 0.05, (m, k)).astype(np.float32) for i, (m, k) in enumerate(zip(sizes[:-1], sizes[1:]))}
    x = rng.normal(size=(256, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 256)]

    def loss(p, x, y):
        h = jnp.tanh(x @ p["w0"])
        h = jnp.tanh(h @ p["w1"])
        logits = h @ p["w2"]
        return -jnp.mean(jnp.sum(y * (logits - jnp.log(jnp.sum(jnp.exp(logits), axis=1, keepdims=True))), axis=1))

    def step(p, x, y):
        g = ec.grad(loss)(p, x, y)
        return {k: p[k] - 0.01 * g[k] for k in p}

    flat = Mesh(devices, ("batch",))
    grid = Mesh(devices.reshape(4, 2), ("data", "model"))
    layouts = {
        "data parallel": ({k: NamedSharding(flat, P()) for k in params}, NamedSharding(flat, P("batch"))),
        "tensor parallel": ({"w0": NamedSharding(grid, P(None, "model")), "w1": NamedSharding(grid, P("model", None)),
                             "w2": NamedSharding(grid, P())}, NamedSharding(grid, P("data"))),
    }
    repeat = 5 if quick else 9
    results: dict[str, float] = {}
    for name, (p_shard, batch_shard) in layouts.items():
        p = ec.device_put(params, p_shard)
        xb, yb = ec.device_put(x, batch_shard), ec.device_put(y, batch_shard)
        compile_times = []
        for i in range(3):  # a new function each time: no cache can serve it
            # a distinct constant per sample: a new program, so no in-memory cache can serve it
            fn = ec.jit(lambda a, b, c, i=i: step(a, b * (1.0 + 1e-7 * (i + 1)), c),
                        in_shardings=(p_shard, batch_shard, batch_shard),
                        out_shardings=p_shard)
            start = time.perf_counter()
            ec.block_until_ready(fn(p, xb, yb))
            compile_times.append(time.perf_counter() - start)
        results[f"{name}: compile (ms)"] = statistics.median(compile_times) * 1e3
        fn = ec.jit(step, in_shardings=(p_shard, batch_shard, batch_shard), out_shardings=p_shard)
        ec.block_until_ready(fn(p, xb, yb))
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(10):
                p = fn(p, xb, yb)
            ec.block_until_ready(p)
            samples.append((time.perf_counter() - start) / 10)
        results[f"{name}: step (ms)"] = statistics.median(samples) * 1e3
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.quick)))
        return
    out = {}
    for lib in ("ember", "jax"):
        proc = subprocess.run([sys.executable, __file__, "--child", lib] + (["--quick"] if args.quick else []),
                              capture_output=True, text=True, timeout=1800, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        if proc.returncode:
            raise SystemExit(f"{lib} failed:\n{proc.stderr[-3000:]}")
        out[lib] = json.loads(proc.stdout.strip().splitlines()[-1])
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, 8 virtual CPU devices, Python {platform.python_version()}",
             "", "| workload | ember | JAX | ember / JAX |", "| --- | ---: | ---: | ---: |"]
    for key, value in out["ember"].items():
        lines.append(f"| {key} | {value:.3g} | {out['jax'][key]:.3g} | {value / out['jax'][key]:.2f}x |")
    table = "\n".join(lines)
    print(table)
    (HERE / "sharding_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
