"""ember.optim vs Optax on the same optimizer updates, each library in its own process.

    python benchmarks/bench_optim.py            # ember (ember-core, ember-optim) and optax must be importable
    python benchmarks/bench_optim.py --quick    # fewer repetitions

Workloads: one optimizer step (update + apply_updates) on a 10M-parameter tree of 100 leaves,
jitted and eager, for `adamw` and for `chain(clip_by_global_norm, adamw(warmup_cosine_decay))`.
Prints a markdown table (times in ms, ember / Optax ratios: below 1.0 means ember is faster) and
writes it to benchmarks/optim_results.md. The two libraries alternate over several rounds and
each workload keeps its best time, so that load from other processes weighs less.
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

N_LEAVES = 100
MATRIX = (400, 496)  # 50 matrices of 198,400 parameters + 50 vectors of 496: 9,944,800 parameters


def _timeit(fn, number: int, repeat: int) -> float:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return min(samples)   # the least disturbed sample: the machine may be shared


def run_workloads(lib: str, quick: bool) -> dict[str, float]:
    import numpy as np

    if lib == "ember":
        import ember.core as ec
        import ember.core.numpy as jnp
        import ember.optim as opt_lib
    else:
        import jax as ec
        import jax.numpy as jnp
        import optax as opt_lib

    rng = np.random.default_rng(0)
    params, grads = {}, {}
    for i in range(N_LEAVES):
        shape = MATRIX if i % 2 == 0 else (MATRIX[1],)
        params[f"p{i:03d}"] = jnp.asarray(rng.normal(0, 0.02, shape).astype(np.float32))
        grads[f"p{i:03d}"] = jnp.asarray(rng.normal(0, 1e-3, shape).astype(np.float32))
    n_params = sum(int(np.prod(v.shape)) for v in params.values())
    assert len(params) == N_LEAVES and n_params > 9.9e6, n_params

    schedule = opt_lib.warmup_cosine_decay_schedule(0.0, 1e-3, warmup_steps=100, decay_steps=10_000)
    optimizers = {
        "adamw": opt_lib.adamw(1e-3, weight_decay=1e-4),
        "clip+adamw(warmup_cosine)": opt_lib.chain(opt_lib.clip_by_global_norm(1.0),
                                                   opt_lib.adamw(schedule, weight_decay=1e-4)),
    }
    block = ec.block_until_ready
    repeat = 3 if quick else 7
    results: dict[str, float] = {}
    for name, opt in optimizers.items():
        def step(params, state, grads, opt=opt):
            updates, state = opt.update(grads, state, params)
            return opt_lib.apply_updates(params, updates), state

        state = opt.init(params)
        jitted = ec.jit(step)
        block(jitted(params, state, grads))
        results[f"{name}: jitted step (ms)"] = _timeit(
            lambda f=jitted, s=state: block(f(params, s, grads)), 5 if quick else 10, repeat) * 1e3
        block(step(params, state, grads))
        results[f"{name}: eager step (ms)"] = _timeit(
            lambda f=step, s=state: block(f(params, s, grads)), 1 if quick else 3, repeat) * 1e3
    return results


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
    for dist in ("ember-core", "ember-optim", "jaxlib", "jax", "optax", "numpy"):
        try:
            found.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=2, help="alternating runs of each library")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_workloads(args.child, args.quick)))
        return
    ember: dict[str, float] = {}
    optax: dict[str, float] = {}
    for _ in range(args.rounds):
        for lib, best in (("ember", ember), ("optax", optax)):
            for key, value in _child(lib, args.quick).items():
                best[key] = min(value, best.get(key, float("inf")))
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs{load}, Python {platform.python_version()}; "
        f"{_versions()}",
        f"Tree: {N_LEAVES} leaves, 9,944,800 float32 parameters; best of {args.rounds} alternating rounds; times in ms.",
        "",
        "| workload | ember | Optax | ember / Optax |",
        "| --- | ---: | ---: | ---: |",
    ]
    for key in ember:
        if key in optax:
            lines.append(f"| {key} | {ember[key]:.3g} | {optax[key]:.3g} | {ember[key] / optax[key]:.2f}x |")
    table = "\n".join(lines)
    print(table)
    (HERE / "optim_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
