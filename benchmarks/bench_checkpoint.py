"""ember.checkpoint vs Orbax: save and restore a 1 GiB tree, measured in one run on one disk.

Tree (both libraries, CPU device arrays): 60 leaves of 16 MiB (float32 2048x2048, random) +
1000 leaves of 1 KiB (float32 256). Measured per library, each in its own subprocess (ember.core's
fast dispatch is disabled when jax is imported first in a process), alternating the libraries
``--rounds`` times; medians are reported (the machine may be shared):

- blocking save: ``save`` returns only when the checkpoint is complete (ember: ``save``; Orbax:
  ``Checkpointer(StandardCheckpointHandler())``);
- async save: time ``save`` blocks the caller, and the total until ``wait_until_finished``;
- restore: into a target of ``ShapeDtypeStruct``s (device arrays, warm page cache);
- files in one checkpoint;
- sustained write throughput (bytes / blocking save time) as a fraction of the raw disk write
  bandwidth, measured in the same run by a sequential 1 GiB write + fsync in the same folder.

    python benchmarks/bench_checkpoint.py           # needs ember-checkpoint and orbax-checkpoint
    python benchmarks/bench_checkpoint.py --quick   # 10 x 16 MiB + 100 x 1 KiB, 1 round

Writes the table to benchmarks/checkpoint_results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

BIG_SHAPE = (2048, 2048)  # float32: 16 MiB
SMALL_SHAPE = (256,)  # float32: 1 KiB
HERE = os.path.dirname(os.path.abspath(__file__))


def host_tree(n_big: int, n_small: int) -> dict:
    rng = np.random.default_rng(0)
    tree = {f"big_{i:03d}": rng.random(BIG_SHAPE, dtype=np.float32) for i in range(n_big)}
    tree.update({f"small_{i:04d}": rng.random(SMALL_SHAPE, dtype=np.float32) for i in range(n_small)})
    return tree


def count_files(path: str) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


def raw_disk_bandwidth(directory: str, nbytes: int = 1 << 30) -> float:
    """Bytes/s of a sequential write of ``nbytes`` (16 MiB blocks) + fsync."""
    block = np.random.default_rng(1).integers(0, 255, 16 << 20, dtype=np.uint8).tobytes()
    path = os.path.join(directory, "raw.bin")
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for _ in range(nbytes // len(block)):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - t0
    os.unlink(path)
    return nbytes / elapsed


# ------------------------------------------------------------------------------------- workers

def ember_worker(directory: str, n_big: int, n_small: int, reps: int) -> dict:
    import ember.checkpoint as ecp
    import ember.core as ec

    tree = ec.device_put(host_tree(n_big, n_small))
    ec.block_until_ready(tree)
    target = ec.tree.map(lambda x: ec.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)
    out: dict[str, list[float]] = {"save": [], "async_block": [], "async_total": [], "restore": []}
    ckptr = ecp.Checkpointer()
    actr = ecp.AsyncCheckpointer()
    for r in range(reps):
        path = os.path.join(directory, f"ember_sync_{r}")
        t0 = time.perf_counter()
        ckptr.save(path, tree)
        out["save"].append(time.perf_counter() - t0)
        files = count_files(path)
        t0 = time.perf_counter()
        restored = ckptr.restore(path, target)
        ec.block_until_ready(restored)
        out["restore"].append(time.perf_counter() - t0)
        assert np.array_equal(np.asarray(restored["big_007"]), np.asarray(tree["big_007"]))
        del restored
        shutil.rmtree(path)
        path = os.path.join(directory, f"ember_async_{r}")
        t0 = time.perf_counter()
        actr.save(path, tree)
        out["async_block"].append(time.perf_counter() - t0)
        actr.wait_until_finished()
        out["async_total"].append(time.perf_counter() - t0)
        shutil.rmtree(path)
    actr.close()
    import ember.checkpoint
    return {"times": out, "files": files, "version": ember.checkpoint.__version__}


def orbax_worker(directory: str, n_big: int, n_small: int, reps: int) -> dict:
    import jax
    import orbax.checkpoint as ocp

    tree = jax.device_put(host_tree(n_big, n_small))
    jax.block_until_ready(tree)
    target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)
    out: dict[str, list[float]] = {"save": [], "async_block": [], "async_total": [], "restore": []}
    ckptr = ocp.Checkpointer(ocp.StandardCheckpointHandler())
    actr = ocp.AsyncCheckpointer(ocp.StandardCheckpointHandler())
    for r in range(reps):
        path = os.path.join(directory, f"orbax_sync_{r}")
        t0 = time.perf_counter()
        ckptr.save(path, args=ocp.args.StandardSave(tree))
        out["save"].append(time.perf_counter() - t0)
        files = count_files(path)
        t0 = time.perf_counter()
        restored = ckptr.restore(path, args=ocp.args.StandardRestore(target))
        jax.block_until_ready(restored)
        out["restore"].append(time.perf_counter() - t0)
        assert np.array_equal(np.asarray(restored["big_007"]), np.asarray(tree["big_007"]))
        del restored
        shutil.rmtree(path)
        path = os.path.join(directory, f"orbax_async_{r}")
        t0 = time.perf_counter()
        actr.save(path, args=ocp.args.StandardSave(tree))
        out["async_block"].append(time.perf_counter() - t0)
        actr.wait_until_finished()
        out["async_total"].append(time.perf_counter() - t0)
        shutil.rmtree(path)
    actr.close()
    return {"times": out, "files": files, "version": ocp.__version__ if hasattr(ocp, "__version__") else "?",
            "jax": jax.__version__}


def run_worker(lib: str, directory: str, n_big: int, n_small: int, reps: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--dir", directory,
           "--n-big", str(n_big), "--n-small", str(n_small), "--reps", str(reps)]
    env = dict(os.environ, EMBER_NUM_CPU_DEVICES="1", XLA_FLAGS="--xla_force_host_platform_device_count=1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} worker failed:\n{proc.stderr[-4000:]}")
    return json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])


# ---------------------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", choices=["ember", "orbax"])
    ap.add_argument("--dir", default=None, help="folder for the checkpoints (default: a temp folder)")
    ap.add_argument("--n-big", type=int, default=60)
    ap.add_argument("--n-small", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=2, help="saves/restores per worker")
    ap.add_argument("--rounds", type=int, default=2, help="worker runs per library, alternating")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(HERE, "checkpoint_results.md"))
    args = ap.parse_args()
    if args.worker:
        fn = ember_worker if args.worker == "ember" else orbax_worker
        print(json.dumps(fn(args.dir, args.n_big, args.n_small, args.reps)), flush=True)
        return
    if args.quick:
        args.n_big, args.n_small, args.rounds, args.reps = 10, 100, 1, 1
    base = args.dir or tempfile.mkdtemp(prefix="bench_checkpoint_")
    os.makedirs(base, exist_ok=True)
    nbytes = args.n_big * int(np.prod(BIG_SHAPE)) * 4 + args.n_small * int(np.prod(SMALL_SHAPE)) * 4
    try:
        raw = [raw_disk_bandwidth(base)]
        results: dict[str, list[dict]] = {"ember": [], "orbax": []}
        for _ in range(args.rounds):
            for lib in ("ember", "orbax"):
                results[lib].append(run_worker(lib, base, args.n_big, args.n_small, args.reps))
                print(f"{lib}: {results[lib][-1]['times']}", file=sys.stderr, flush=True)
            raw.append(raw_disk_bandwidth(base))
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)

    def med(lib: str, key: str) -> float:
        return statistics.median(t for r in results[lib] for t in r["times"][key])

    raw_bw = statistics.median(raw)
    e, o = {k: med("ember", k) for k in ("save", "async_block", "async_total", "restore")}, \
        {k: med("orbax", k) for k in ("save", "async_block", "async_total", "restore")}
    files_e, files_o = results["ember"][0]["files"], results["orbax"][0]["files"]
    gib = nbytes / 2 ** 30
    rows = [
        ("blocking save (s)", e["save"], o["save"], "<= 1", o["save"] / e["save"]),
        ("async save: time blocked (s)", e["async_block"], o["async_block"], ">= 2",
         o["async_block"] / e["async_block"]),
        ("async save: total (s)", e["async_total"], o["async_total"], ">= 1", o["async_total"] / e["async_total"]),
        ("restore (s)", e["restore"], o["restore"], ">= 1", o["restore"] / e["restore"]),
        ("files in the checkpoint", files_e, files_o, ">= 1", files_o / files_e),
    ]
    lines = [
        "# ember.checkpoint vs Orbax",
        "",
        f"Tree: {args.n_big} x 16 MiB + {args.n_small} x 1 KiB float32 leaves ({gib:.2f} GiB), CPU device arrays. "
        f"Medians of {args.rounds} alternating rounds x {args.reps} repetitions, each library in its own process. "
        "Restores read a warm page cache. Speed-up = Orbax / ember (higher is better for ember).",
        "",
        "| metric | ember.checkpoint | Orbax | target (Orbax / ember) | Orbax / ember |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, ev, ov, goal, ratio in rows:
        fmt = (lambda v: f"{v:.0f}") if "files" in name else (lambda v: f"{v:.3f}")
        goal = ">= 1" if name.startswith("blocking") else goal
        lines.append(f"| {name} | {fmt(ev)} | {fmt(ov)} | {goal} | {ratio:.2f}x |")
    thr_e, thr_o = nbytes / e["save"], nbytes / o["save"]
    lines += [
        "",
        f"Raw disk write bandwidth (sequential 1 GiB + fsync, same folder, median of {len(raw)}): "
        f"{raw_bw / 2 ** 20:.0f} MiB/s.",
        "",
        "| sustained write throughput (blocking save) | MiB/s | fraction of raw disk bandwidth |",
        "| --- | ---: | ---: |",
        f"| ember.checkpoint | {thr_e / 2 ** 20:.0f} | {thr_e / raw_bw:.2f} |",
        f"| Orbax | {thr_o / 2 ** 20:.0f} | {thr_o / raw_bw:.2f} |",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the end (the machine is shared). "
        f"Versions: ember-checkpoint {results['ember'][0]['version']}, orbax-checkpoint "
        f"{results['orbax'][0]['version']}, jax {results['orbax'][0]['jax']}.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
