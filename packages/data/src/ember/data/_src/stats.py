"""Per-stage statistics: elements, time, throughput, queue fullness and the bottleneck.

Every iterator keeps a :class:`StageStats`; ``iterator.stats()`` gathers them into a dict and
``iterator.stats_table()`` renders it::

    stage                                  elements   self time   elem/s  par  share  queue
    SegmentIterator(...)                          8      0.001s     ...

Times are seconds of work done by a stage itself (children excluded). Work done by ``n``
workers or threads counts ``1/n`` towards wall time; the stage with the largest such
effective time is reported as the bottleneck.
"""

from __future__ import annotations

import time
from typing import Any


class StageStats:
    """Counters for one stage. ``inclusive``: ``time`` includes the children's time when
    they run in the same thread (sequential iterators); otherwise ``time`` is self time."""

    __slots__ = ("name", "elements", "time", "inclusive", "parallelism", "same_thread",
                 "queue_sum", "queue_n", "children", "started")

    def __init__(self, name: str, *, inclusive: bool = True, parallelism: int = 1, same_thread: bool = True):
        self.name = name
        self.elements = 0
        self.time = 0.0
        self.inclusive = inclusive
        self.parallelism = parallelism
        self.same_thread = same_thread
        self.queue_sum = 0.0
        self.queue_n = 0
        self.children: list[StageStats] = []
        self.started: float | None = None

    def sample_queue(self, filled: int, capacity: int) -> None:
        if capacity > 0:
            self.queue_sum += min(1.0, filled / capacity)
            self.queue_n += 1

    def add(self, elements: int, seconds: float) -> None:
        self.elements += elements
        self.time += seconds


def _self_time(st: StageStats) -> float:
    if not st.inclusive:
        return st.time
    inner = sum(c.time for c in st.children if c.same_thread)
    return max(0.0, st.time - inner)


def collect(root: StageStats) -> dict[str, Any]:
    """Flattens a stats tree into a JSON-friendly dict (see module docstring)."""
    rows: list[dict[str, Any]] = []

    def visit(st: StageStats, depth: int) -> None:
        self_t = _self_time(st)
        effective = self_t / max(1, st.parallelism)
        rows.append({
            "name": st.name,
            "depth": depth,
            "elements": st.elements,
            "self_time_s": self_t,
            "effective_time_s": effective,
            "elements_per_s": (st.elements / effective) if effective > 0 else None,
            "parallelism": st.parallelism,
            "queue_fill": (st.queue_sum / st.queue_n) if st.queue_n else None,
        })
        for c in st.children:
            visit(c, depth + 1)

    visit(root, 0)
    total = sum(r["effective_time_s"] for r in rows) or 1.0
    for r in rows:
        r["share"] = r["effective_time_s"] / total
    bottleneck = max(rows, key=lambda r: r["effective_time_s"]) if rows else None
    wall = (time.perf_counter() - root.started) if root.started is not None else 0.0
    return {
        "elements": root.elements,
        "wall_time_s": wall,
        "elements_per_s": root.elements / wall if wall > 0 else None,
        "bottleneck": bottleneck["name"] if bottleneck else None,
        "stages": rows,
    }


def format_table(stats: dict[str, Any]) -> str:
    """Renders :func:`collect`'s dict as a fixed-width text table."""
    header = f"{'stage':<58} {'elements':>9} {'self s':>9} {'elem/s':>10} {'par':>4} {'share':>6} {'queue':>6}"
    lines = [header, "-" * len(header)]
    for r in stats["stages"]:
        name = ("  " * r["depth"] + r["name"])
        if len(name) > 58:
            name = name[:55] + "..."
        rate = f"{r['elements_per_s']:.0f}" if r["elements_per_s"] else "-"
        queue = f"{r['queue_fill']:.0%}" if r["queue_fill"] is not None else "-"
        lines.append(
            f"{name:<58} {r['elements']:>9} {r['self_time_s']:>9.3f} {rate:>10} "
            f"{r['parallelism']:>4} {r['share']:>6.0%} {queue:>6}"
        )
    rate = f"{stats['elements_per_s']:.1f}" if stats["elements_per_s"] else "-"
    lines.append(
        f"output: {stats['elements']} elements in {stats['wall_time_s']:.3f}s ({rate}/s); "
        f"bottleneck: {stats['bottleneck']}"
    )
    return "\n".join(lines)
