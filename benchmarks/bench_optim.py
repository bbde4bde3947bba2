"""ember.optim vs Optax on the same optimizer updates, the two libraries alternating in one process.

    python benchmarks/bench_optim.py            # ember (ember-core, ember-optim) and optax must be importable
    python benchmarks/bench_optim.py --quick    # fewer repetitions

Workloads: one optimizer step (update + apply_updates) on a 10M-parameter tree of 100 leaves,
jitted and eager, for `adamw` and for `chain(clip_by_global_norm, adamw(warmup_cosine_decay))`.
Prints a markdown table (times in ms, ember / Optax ratios: below 1.0 means ember is faster) and
writes it to benchmarks/optim_results.md. Both libraries run in one process (ember imported
first, as a user of both would) on the same host data; each workload is timed for ember, then
for Optax, over several rounds, and keeps its best time, so that load from other processes and
process-to-process differences in memory placement weigh less.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

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


def prepare_workloads(lib: str) -> dict[str, Any]:
    """The workloads of ``lib`` as zero-argument callables that run one step and wait for it."""
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
    workloads: dict[str, Any] = {}
    for name, opt in optimizers.items():
        def step(params, state, grads, opt=opt):
            updates, state = opt.update(grads, state, params)
            return opt_lib.apply_updates(params, updates), state

        state = opt.init(params)
        jitted = ec.jit(step)
        workloads[f"{name}: jitted step (ms)"] = lambda f=jitted, s=state: block(f(params, s, grads))
        workloads[f"{name}: eager step (ms)"] = lambda f=step, s=state: block(f(params, s, grads))
    return workloads


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
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timings of each workload")
    args = parser.parse_args()
    suites = {"ember": prepare_workloads("ember"), "optax": prepare_workloads("optax")}
    repeat = 3 if args.quick else 7
    best: dict[str, dict[str, float]] = {"ember": {}, "optax": {}}
    for _ in range(args.rounds):
        for key in suites["ember"]:
            number = (5 if args.quick else 10) if "jitted" in key else (1 if args.quick else 3)
            for lib in ("ember", "optax"):
                t = _timeit(suites[lib][key], number, repeat) * 1e3
                best[lib][key] = min(t, best[lib].get(key, float("inf")))
    ember, optax = best["ember"], best["optax"]
    try:
        load = f", load average {os.getloadavg()[0]:.1f}"
    except OSError:
        load = ""
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs{load}, Python {platform.python_version()}; "
        f"{_versions()}",
        f"Tree: {N_LEAVES} leaves, 9,944,800 float32 parameters; best of {args.rounds} rounds, the two libraries alternating in one process; times in ms.",
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
