"""Gather every benchmark's report into benchmarks/RESULTS.md.

Each ``bench_<name>.py`` writes its own ``<name>_results.md`` (its table, the machine and the
versions it ran with). This script puts them together in one page, in a fixed order, under a
header saying when they were collected. Everything in RESULTS.md below the line
``<!-- notes -->`` is kept as it is: that is where the reading of the figures goes (which rows
are slower than the peer, and why).

    python benchmarks/collect_results.py      # nox -s bench runs it after the benchmarks
"""

from __future__ import annotations

import datetime
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
NOTES_MARKER = "<!-- notes -->"

# (report file, section title, the peer it is measured against)
SECTIONS = [
    ("train_lm_results.md", "The main job: examples/train_lm.py", "JAX + Flax NNX + Optax + Orbax + Grain"),
    ("core_results.md", "ember.core", "JAX"),
    ("sharding_results.md", "ember.core sharding", "JAX"),
    ("nn_results.md", "ember.nn", "Flax NNX"),
    ("optim_results.md", "ember.optim", "Optax"),
    ("checkpoint_results.md", "ember.checkpoint", "Orbax"),
    ("data_results.md", "ember.data", "Grain"),
]


def _demote_headings(text: str) -> str:
    """A report's own ``# title`` becomes a line of text under the section's heading."""
    lines = text.strip().splitlines()
    return "\n".join(f"**{line.lstrip('# ')}**" if line.startswith("#") else line for line in lines)


def collect() -> str:
    parts = [
        "# Benchmark results",
        "",
        "Ember against the peer library on the same workload, in the same run; ratios are "
        "ember / peer for times (below 1 is better for ember) unless a table says otherwise. "
        "Each section is the report its `benchmarks/bench_*.py` wrote, with the machine and the "
        "versions it ran on. Regenerate with `nox -s bench` (or run a single `bench_*.py`, then "
        "`python benchmarks/collect_results.py`).",
        "",
        f"Collected {datetime.date.today().isoformat()} on {platform.machine()}, {platform.system()}.",
        "",
    ]
    for filename, title, peer in SECTIONS:
        path = HERE / filename
        parts += [f"## {title} vs {peer}", ""]
        if path.exists():
            parts += [f"From `benchmarks/{filename}`.", "", _demote_headings(path.read_text()), ""]
        else:
            parts += [f"Not run yet: `python benchmarks/bench_{filename.removesuffix('_results.md')}.py`.", ""]
    return "\n".join(parts)


def main() -> None:
    notes = ""
    if RESULTS.exists() and NOTES_MARKER in (text := RESULTS.read_text()):
        notes = text[text.index(NOTES_MARKER):]
    RESULTS.write_text(collect() + "\n" + (notes or NOTES_MARKER + "\n"))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
