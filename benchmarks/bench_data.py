"""ember.data vs Grain: records/s on the same data and transforms, measured in one run.

Pipeline (both libraries): 100k records of a 3x32x32 uint8 image + int64 label ->
global shuffle -> map(normalise to float32) -> batch(128), from an in-memory source and
from a Parquet file, in one process and with 2 worker processes. Both libraries read the
same source objects (ember.data's ``InMemoryDataSource`` / ``ParquetDataSource``: Grain has
no random-access Parquet source). Each configuration runs ``--repeats`` times alternating
the two libraries; medians are reported (the machine may be shared), with records per
CPU-second beside records per second.

Also measured: ``get_state``/``set_state`` cost, and an exact-resume check (ember.data:
state taken with 2 workers, restored with 0 and 1).

    python benchmarks/bench_data.py            # needs ember-data and grain installed
    python benchmarks/bench_data.py --quick    # 20k records, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time

import numpy as np

import ember.data as ed

IMAGE_SHAPE = (3, 32, 32)
BATCH = 128
SEED = 0
_SCALE = np.float32(1.0 / 255.0)


def normalize(record):
    return {"image": record["image"].astype(np.float32) * _SCALE, "label": record["label"]}


def make_data(n: int):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, *IMAGE_SHAPE), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.int64)
    return images, labels


def ember_iter(source, workers: int):
    ds = ed.MapDataset.source(source).shuffle(seed=SEED).map(normalize).batch(BATCH).to_iter_dataset()
    if workers:
        ds = ds.mp_prefetch(ed.MultiprocessingOptions(num_workers=workers))
    return iter(ds)


def grain_iter(source, workers: int):
    import grain

    ds = grain.MapDataset.source(source).shuffle(seed=SEED).map(normalize).batch(BATCH).to_iter_dataset()
    if workers:
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=workers))
    return iter(ds)


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers, once joined
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def records_per_second(make_iter, source, workers: int, limit: int) -> tuple[float, float]:
    """(records per wall-clock second, records per CPU-second of this process + workers),
    over ``limit`` records after the first batch."""
    it = make_iter(source, workers)
    first = next(it)  # start-up (worker processes) is not timed
    n, t0, c0 = 0, time.perf_counter(), _cpu_seconds()
    for batch in it:
        n += batch["image"].shape[0]
        if n >= limit:
            break
    elapsed = time.perf_counter() - t0
    del first
    if hasattr(it, "close"):
        it.close()
    time.sleep(0.2)  # let the workers be reaped so their CPU time is counted
    return n / elapsed, n / max(1e-9, _cpu_seconds() - c0)


def state_costs(make_iter, source, workers: int, k: int = 5, reps: int = 200) -> tuple[float, float]:
    it = make_iter(source, workers)
    for _ in range(k):
        next(it)
    t0 = time.perf_counter()
    for _ in range(reps):
        state = it.get_state()
    get_us = (time.perf_counter() - t0) / reps * 1e6
    fresh = make_iter(source, workers)
    t0 = time.perf_counter()
    fresh.set_state(state)
    set_us = (time.perf_counter() - t0) * 1e6
    for x in (it, fresh):
        if hasattr(x, "close"):
            x.close()
    return get_us, set_us


def ember_resume_check(source, k: int = 7, check: int = 5) -> bool:
    reference = ember_iter(source, 0)
    expected = [next(reference) for _ in range(k + check)][k:]
    saver = ember_iter(source, 2)
    for _ in range(k):
        next(saver)
    state = json.loads(json.dumps(saver.get_state()))
    saver.close()
    ok = True
    for workers in (0, 1):
        restored = ember_iter(source, workers)
        restored.set_state(state)
        got = [next(restored) for _ in range(check)]
        restored.close()
        ok &= all(np.array_equal(a["image"], b["image"]) and np.array_equal(a["label"], b["label"])
                  for a, b in zip(expected, got))
    return ok


def machine_info() -> dict[str, str]:
    import pyarrow

    info = {
        "cpus": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "pyarrow": pyarrow.__version__,
        "ember-data": ed.__version__,
    }
    try:
        import grain

        info["grain"] = grain.__version__
    except ImportError:
        info["grain"] = "not installed"
    try:
        info["load average (1 min) at start"] = f"{os.getloadavg()[0]:.2f}"
    except OSError:
        pass
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--records-per-run", type=int, default=30_000)
    parser.add_argument("--quick", action="store_true", help="20k records, 1 repeat")
    parser.add_argument("--output", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "data_results.md"))
    args = parser.parse_args()
    if args.quick:
        args.records, args.repeats, args.records_per_run = 20_000, 1, 10_000
    try:
        import grain  # noqa: F401
        from absl import flags

        flags.FLAGS.mark_as_parsed()  # Grain's worker processes read absl flags
        have_grain = True
    except ImportError:
        have_grain = False
        print("grain is not installed: measuring ember.data only", file=sys.stderr)

    info = machine_info()
    images, labels = make_data(args.records)
    memory_source = ed.InMemoryDataSource({"image": images, "label": labels})
    tmp = tempfile.mkdtemp(prefix="ember-data-bench-")
    parquet_path = os.path.join(tmp, "data.parquet")
    ed.write_parquet(({"image": images[i], "label": labels[i]} for i in range(args.records)), parquet_path)
    parquet_source = ed.ParquetDataSource(parquet_path)

    rows = []
    for source_name, source in (("in-memory", memory_source), ("parquet", parquet_source)):
        for workers in (0, 2):
            e_runs, g_runs = [], []
            for r in range(args.repeats):
                order = [ember_iter, grain_iter] if have_grain else [ember_iter]
                for make in order if r % 2 == 0 else order[::-1]:
                    result = records_per_second(make, source, workers, args.records_per_run)
                    (e_runs if make is ember_iter else g_runs).append(result)
            label = f"{source_name}, {'single process' if workers == 0 else f'{workers} workers'}"
            med = lambda runs, i: float(np.median([x[i] for x in runs])) if runs else 0.0  # noqa: E731
            ratios = [e[0] / g[0] for e, g in zip(e_runs, g_runs)]
            rows.append((label, med(e_runs, 0), med(g_runs, 0), med(e_runs, 1), med(g_runs, 1),
                         float(np.median(ratios)) if ratios else 0.0))
            print(f"{label}: ember {rows[-1][1]:,.0f}/s  grain {rows[-1][2]:,.0f}/s", file=sys.stderr)

    state_rows = []
    for workers in (0, 2):
        e_get, e_set = state_costs(ember_iter, memory_source, workers)
        g_get = g_set = float("nan")
        if have_grain:
            g_get, g_set = state_costs(grain_iter, memory_source, workers)
        state_rows.append((workers, e_get, e_set, g_get, g_set))
    resume_ok = ember_resume_check(memory_source)

    lines = [
        "# ember.data benchmark results",
        "",
        f"{args.records:,} records (3x32x32 uint8 image + int64 label), shuffle -> map(normalise to "
        f"float32) -> batch({BATCH}). Each figure is the median of {args.repeats} runs of "
        f"{args.records_per_run:,} records (after the first batch), the two libraries alternating run by run "
        "in one process; the wall-clock ratio is the median of the ratios of adjacent runs. "
        "records/CPU-s counts the CPU time of the process and its workers: it is much less "
        "sensitive than records/s to other load on the machine.",
        "",
        "| configuration | ember.data records/s | Grain records/s | ratio | ember.data records/CPU-s | Grain records/CPU-s | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, e, g, ce, cg, paired in rows:
        ratio = f"{paired:.2f}x" if g else "n/a"
        cratio = f"{ce / cg:.2f}x" if cg else "n/a"
        lines.append(f"| {label} | {e:,.0f} | {g:,.0f} | {ratio} | {ce:,.0f} | {cg:,.0f} | {cratio} |")
    lines += [
        "",
        "| state (in-memory, mid-epoch) | ember get_state | ember set_state | Grain get_state | Grain set_state |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for workers, eg, es, gg, gs in state_rows:
        lines.append(f"| {workers} workers | {eg:.1f} us | {es:.1f} us | {gg:.1f} us | {gs:.1f} us |")
    lines += [
        "",
        f"Exact resume (ember.data, state saved with 2 workers, restored with 0 and 1 workers, "
        f"next batches compared): {'PASS' if resume_ok else 'FAIL'}",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()),
        "",
    ]
    table = "\n".join(lines)
    print(table)
    with open(args.output, "w") as f:
        f.write(table)
    return 0 if resume_ok else 1


if __name__ == "__main__":
    sys.exit(main())
