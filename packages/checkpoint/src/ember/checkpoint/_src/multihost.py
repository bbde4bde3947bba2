"""Barriers between the processes of a job, with timeouts that name who did not arrive.

Each process first drops a marker file ``arrived-<process>`` into a folder every process can see
(the checkpoint's temporary folder), then waits at ``ec.distributed.barrier``. On a timeout the
markers tell which processes never got there. Without ``ec.distributed`` (one process) every
barrier returns at once.

    >>> sync_processes("example", timeout_seconds=1.0)  # one process: returns at once
"""

from __future__ import annotations

import os
from pathlib import Path

import ember.core as ec

from .errors import BarrierTimeoutError
from .shardings import process_count, process_index

__all__ = ["sync_processes", "missing_processes", "DEFAULT_BARRIER_TIMEOUT"]

DEFAULT_BARRIER_TIMEOUT = 300.0


def missing_processes(arrivals_dir: Path | None, n_processes: int) -> list[int] | None:
    """The processes with no ``arrived-<p>`` marker in ``arrivals_dir`` (None: unknown)."""
    if arrivals_dir is None:
        return None
    try:
        present = set(os.listdir(arrivals_dir))
    except OSError:
        present = set()
    return [p for p in range(n_processes) if f"arrived-{p}" not in present]


def sync_processes(name: str, timeout_seconds: float = DEFAULT_BARRIER_TIMEOUT, *,
                   arrivals_dir: Path | None = None) -> None:
    """Wait until every process reaches the barrier ``name`` (at most ``timeout_seconds``).

    Raises :class:`BarrierTimeoutError` naming the processes that did not arrive (from the
    ``arrived-<p>`` markers in ``arrivals_dir`` when given)."""
    n = process_count()
    if n == 1:
        return
    if arrivals_dir is not None:
        arrivals_dir.mkdir(parents=True, exist_ok=True)
        (arrivals_dir / f"arrived-{process_index()}").write_bytes(b"")
    try:
        ec.distributed.barrier(name, timeout_seconds=timeout_seconds)
    except TimeoutError as e:
        raise _timeout_error(name, timeout_seconds, missing_processes(arrivals_dir, n), n) from e


def _timeout_error(name: str, timeout: float, missing: list[int] | None, n: int) -> BarrierTimeoutError:
    if missing is None:
        who = "some processes"
    elif missing:
        who = "process" + ("es " if len(missing) > 1 else " ") + ", ".join(map(str, missing))
    else:
        who = "no process is missing a marker, but the coordination service"
    return BarrierTimeoutError(f"ember.checkpoint barrier {name!r}: {who} did not arrive within {timeout}s "
                               f"(job of {n} processes)")
