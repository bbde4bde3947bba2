"""``CheckpointManager``: the checkpoints of a training run, one atomic step folder per save.

Each ``save(step, items)`` writes the named items (model state, optimizer state, data-iterator
state, RNG keys, JSON-like metadata...) together as one step; old steps are garbage-collected
after the new one has committed, following Orbax's policies: ``max_to_keep`` most recent (or best
by ``best_fn``), plus every ``keep_period``-th step and one per ``keep_time_interval``. The newest
step is never deleted.

    >>> import numpy as np, tempfile
    >>> options = CheckpointManagerOptions(save_interval_steps=2, max_to_keep=2, enable_async=False)
    >>> mngr = CheckpointManager(tempfile.mkdtemp(), options)
    >>> [mngr.save(s, {"params": {"w": np.full(2, s)}}) for s in range(7)]
    [True, False, True, False, True, False, True]
    >>> mngr.all_steps(), mngr.latest_step()
    ([4, 6], 6)
    >>> mngr.restore(items=["params"], as_numpy=True)["params"]["w"].tolist()
    [6, 6]
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from . import atomic, layout
from .async_checkpointer import AsyncCheckpointer
from .capture import DEFAULT_SMALL_LEAF_BYTES
from .checkpointer import Checkpointer, PathLike, metadata
from .errors import CheckpointCorruptionError, CheckpointNotFoundError, StepAlreadyExistsError
from .multihost import DEFAULT_BARRIER_TIMEOUT
from .restore import restore_checkpoint
from .shardings import process_index

__all__ = ["CheckpointManager", "CheckpointManagerOptions"]


def _now() -> float:
    """The save time recorded in a step's commit marker (a function, so tests can move the clock)."""
    return time.time()


@dataclasses.dataclass
class CheckpointManagerOptions:
    """How a :class:`CheckpointManager` saves and which steps it keeps (Orbax's names).

    - ``save_interval_steps``: ``should_save(step)`` is true when ``step`` is a multiple of it
      (and the first step is always saved; a step not after the latest never is).
    - ``max_to_keep``: keep this many steps (the most recent, or the best with ``best_fn``);
      None keeps all.
    - ``keep_period``: also keep every step that is a multiple of it.
    - ``keep_time_interval``: also keep one step per interval (seconds or ``timedelta``).
    - ``best_fn(metrics) -> float`` with ``best_mode`` ``"max"``/``"min"``: rank steps by the metrics
      given to ``save``; steps saved without metrics are kept when ``keep_checkpoints_without_metrics``.
    - ``step_prefix``: step folders are ``<prefix>_<step>`` instead of ``<step>``.
    - ``enable_async``: write in the background (``save`` blocks only for device-to-host copies).
    - ``create``: create ``directory`` if missing.

    >>> import tempfile
    >>> import numpy as np
    >>> import ember.checkpoint as ecp
    >>> options = ecp.CheckpointManagerOptions(save_interval_steps=100, max_to_keep=2, enable_async=False)
    >>> with ecp.CheckpointManager(tempfile.mkdtemp(), options) as mngr:
    ...     saved = [step for step in range(0, 350, 50) if mngr.save(step, {"w": np.zeros(1)})]
    ...     print(saved, mngr.all_steps())      # save() skips steps that are not due
    [0, 100, 200, 300] [200, 300]
    """

    save_interval_steps: int = 1
    max_to_keep: int | None = None
    keep_period: int | None = None
    keep_time_interval: float | datetime.timedelta | None = None
    best_fn: Callable[[Any], float] | None = None
    best_mode: str = "max"
    keep_checkpoints_without_metrics: bool = True
    step_prefix: str | None = None
    enable_async: bool = True
    create: bool = True
    cleanup_tmp_directories: bool = True
    small_leaf_bytes: int = DEFAULT_SMALL_LEAF_BYTES
    stack_leaves: bool = True
    barrier_timeout: float = DEFAULT_BARRIER_TIMEOUT

    def __post_init__(self) -> None:
        if not isinstance(self.save_interval_steps, int) or self.save_interval_steps < 1:
            raise ValueError(f"save_interval_steps must be a positive int, got {self.save_interval_steps!r}")
        if self.max_to_keep is not None and (not isinstance(self.max_to_keep, int) or self.max_to_keep < 1):
            raise ValueError(f"max_to_keep must be None or a positive int, got {self.max_to_keep!r}")
        if self.keep_period is not None and (not isinstance(self.keep_period, int) or self.keep_period < 1):
            raise ValueError(f"keep_period must be None or a positive int, got {self.keep_period!r}")
        if self.best_mode not in ("max", "min"):
            raise ValueError(f"best_mode must be 'max' or 'min', got {self.best_mode!r}")
        if self.step_prefix is not None:
            layout.step_dir_name(0, self.step_prefix)  # validates

    @property
    def keep_seconds(self) -> float | None:
        t = self.keep_time_interval
        return t.total_seconds() if isinstance(t, datetime.timedelta) else (None if t is None else float(t))


def _plain_metrics(metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if metrics is None:
        return None
    if not isinstance(metrics, Mapping):
        raise TypeError(f"metrics must be a dict of str -> number, got {type(metrics).__name__}")
    out = {}
    for k, v in metrics.items():
        if not isinstance(k, str):
            raise TypeError(f"metric names must be str, got {k!r}")
        if isinstance(v, (bool, int, float, str)):
            out[k] = v
        else:
            arr = np.asarray(v)
            if arr.size != 1:
                raise TypeError(f"metric {k!r} must be a scalar, got shape {arr.shape}")
            out[k] = arr.reshape(()).item()
    return out


class CheckpointManager:
    """Saves, lists, restores and garbage-collects the step checkpoints of ``directory``.

    Only the primary process (``ec.process_index() == 0``) creates folders, writes metadata and
    deletes old steps; every process writes the shards it owns.

    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember.checkpoint as ecp
    >>> options = ecp.CheckpointManagerOptions(max_to_keep=2, best_fn=lambda m: m["loss"], best_mode="min")
    >>> with ecp.CheckpointManager(tempfile.mkdtemp(), options) as mngr:
    ...     for step, loss in enumerate([3.0, 1.0, 2.0, 4.0]):
    ...         _ = mngr.save(step, {"state": {"w": np.full(2, step)}, "meta": {"loss": loss}}, metrics={"loss": loss})
    ...     mngr.wait_until_finished()
    ...     print(mngr.all_steps(), mngr.best_step(), mngr.latest_step())   # the newest step is always kept
    ...     print(mngr.restore(1, as_numpy=True)["state"]["w"].tolist())
    [1, 2, 3] 1 3
    [1, 1]
    """

    def __init__(self, directory: PathLike, options: CheckpointManagerOptions | None = None) -> None:
        self.directory = Path(directory)
        self.options = options or CheckpointManagerOptions()
        self._primary = process_index() == 0
        if not self.directory.exists():
            if not self.options.create:
                raise FileNotFoundError(f"{self.directory} does not exist (CheckpointManagerOptions(create=True) "
                                        "creates it)")
            if self._primary:
                self.directory.mkdir(parents=True, exist_ok=True)
        if self._primary and self.options.cleanup_tmp_directories:
            atomic.cleanup_leftovers(self.directory)
        kwargs = dict(small_leaf_bytes=self.options.small_leaf_bytes, stack_leaves=self.options.stack_leaves,
                      barrier_timeout=self.options.barrier_timeout)
        self._checkpointer: Checkpointer = AsyncCheckpointer(**kwargs) if self.options.enable_async \
            else Checkpointer(**kwargs)
        self._info: dict[int, dict[str, Any]] = {}
        self._info_lock = threading.Lock()
        self._in_flight: int | None = None
        self._last_saved: int | None = self.latest_step()  # should_save then needs no folder scan
        self._closed = False

    # -- listing --
    def _step_path(self, step: int) -> Path:
        return self.directory / layout.step_dir_name(step, self.options.step_prefix)

    def all_steps(self) -> list[int]:
        """The committed steps, ascending (interrupted or in-flight saves are not listed)."""
        steps = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            return []
        for entry in entries:
            step = layout.parse_step(entry.name, self.options.step_prefix)
            if step is not None and layout.is_committed(Path(entry.path)):
                steps.append(step)
        return sorted(steps)

    def latest_step(self) -> int | None:
        """The newest committed step, or None."""
        steps = self.all_steps()
        return steps[-1] if steps else None

    def _step_info(self, step: int) -> dict[str, Any]:
        with self._info_lock:
            info = self._info.get(step)
        if info is None:
            try:
                info = atomic.read_commit_marker(self._step_path(step))
            except (FileNotFoundError, CheckpointCorruptionError):
                info = {}
            with self._info_lock:
                self._info[step] = info
        return info

    def metrics(self, step: int) -> dict[str, Any] | None:
        """The metrics saved with ``step`` (None if none were given)."""
        m = self._step_info(step).get("metrics")
        return m if isinstance(m, dict) else None

    def _metric_value(self, step: int) -> float | None:
        m = self.metrics(step)
        if m is None or self.options.best_fn is None:
            return None
        return float(self.options.best_fn(m))

    def best_step(self) -> int | None:
        """The step with the best metric by ``best_fn`` (the latest step without ``best_fn``)."""
        steps = self.all_steps()
        if self.options.best_fn is None:
            return steps[-1] if steps else None
        scored = [(v, s) for s in steps if (v := self._metric_value(s)) is not None and not math.isnan(v)]
        if not scored:
            return None
        pick = max if self.options.best_mode == "max" else min
        return pick(scored, key=lambda vs: (vs[0], vs[1]))[1]

    # -- saving --
    def should_save(self, step: int) -> bool:
        """Whether ``save(step, ...)`` would write (Orbax's rule: after the latest step, and on a
        multiple of ``save_interval_steps`` or when nothing was saved yet)."""
        last = self._last_saved
        if last is not None and step <= last:
            return False
        return last is None or step % self.options.save_interval_steps == 0

    def save(self, step: int, items: Mapping[str, Any], metrics: Mapping[str, Any] | None = None,
             force: bool = False) -> bool:
        """Save ``items`` (name -> pytree) as ``step`` if :meth:`should_save` (or ``force``).
        Returns whether a save was started. With ``enable_async`` it returns once the data is on the
        host; an error of the background write is raised by the next call."""
        if self._closed:
            raise RuntimeError("CheckpointManager is closed")
        layout.step_dir_name(step)
        if not isinstance(items, Mapping) or not items:
            raise TypeError("items must be a non-empty dict of item name -> pytree")
        if not force and not self.should_save(step):
            return False
        if step in self.all_steps():
            raise StepAlreadyExistsError(f"step {step} already exists in {self.directory}")
        info = {"step": step, "time": _now(), "metrics": _plain_metrics(metrics)}
        self._checkpointer.wait_until_finished()  # a failed previous save raises here
        self._in_flight = step
        self._checkpointer.save_items(self._step_path(step), items, commit_info=info,
                                      after_commit=self._garbage_collect if self._primary else None)
        self._last_saved = step
        if not self.options.enable_async:
            self._in_flight = None
        return True

    def _garbage_collect(self) -> None:
        """Delete the steps no policy keeps (runs after a new step has committed)."""
        steps = self.all_steps()
        keep = self._steps_to_keep(steps)
        for step in steps:
            if step not in keep:
                self._delete_step(step)

    def _steps_to_keep(self, steps: Sequence[int]) -> set[int]:
        o = self.options
        if not steps:
            return set()
        keep = {steps[-1]}  # never the newest
        if o.max_to_keep is None:
            keep.update(steps)
        elif o.best_fn is None:
            keep.update(steps[-o.max_to_keep:])
        else:
            scored = [(v, s) for s in steps if (v := self._metric_value(s)) is not None]
            unscored = [s for s in steps if self._metric_value(s) is None]
            scored.sort(key=lambda vs: (vs[0], vs[1]), reverse=(o.best_mode == "max"))
            keep.update(s for _, s in scored[:o.max_to_keep])
            if o.keep_checkpoints_without_metrics:
                keep.update(unscored)
        if o.keep_period:
            keep.update(s for s in steps if s % o.keep_period == 0)
        if o.keep_seconds:
            last_kept: float | None = None
            for s in steps:
                t = self._step_info(s).get("time")
                if not isinstance(t, (int, float)):
                    continue
                if last_kept is None or t - last_kept >= o.keep_seconds:
                    keep.add(s)
                    last_kept = t
        return keep

    def _delete_step(self, step: int) -> None:
        atomic.delete_checkpoint(self._step_path(step))
        with self._info_lock:
            self._info.pop(step, None)

    def delete(self, step: int) -> None:
        """Delete the checkpoint of ``step`` (primary process only; others return at once)."""
        if step == self._in_flight:
            self.wait_until_finished()
        if self._primary:
            if step not in self.all_steps():
                raise CheckpointNotFoundError(f"no step {step} in {self.directory}")
            self._delete_step(step)

    # -- restoring --
    def restore(self, step: int | None = None, items: Sequence[str] | Mapping[str, Any] | None = None, *,
                as_numpy: bool = False) -> dict[str, Any]:
        """Restore ``step`` (None: the latest). ``items``: None (all), item names, or
        name -> target tree (see :func:`ember.checkpoint.restore` for targets). Returns a dict."""
        if step is not None and step == self._in_flight:
            self.wait_until_finished()
        if step is None:
            step = self.latest_step()
            if step is None:
                raise CheckpointNotFoundError(f"no committed checkpoint in {self.directory}")
        path = self._step_path(step)
        if not layout.is_committed(path):
            raise CheckpointNotFoundError(f"no committed step {step} in {self.directory} "
                                          f"(steps: {self.all_steps()})")
        if isinstance(items, str):
            items = [items]
        return restore_checkpoint(path, items=items, as_numpy=as_numpy)

    def item_metadata(self, step: int | None = None) -> dict[str, Any]:
        """The structure of ``step``'s items with ``ShapeDtypeStruct`` leaves (no data read)."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise CheckpointNotFoundError(f"no committed checkpoint in {self.directory}")
        return metadata(self._step_path(step))

    # -- lifetime --
    def wait_until_finished(self) -> None:
        """Wait for the save in flight; raise its error if it failed."""
        try:
            self._checkpointer.wait_until_finished()
        finally:
            self._in_flight = None

    def close(self) -> None:
        """Wait for the save in flight and release the manager."""
        if not self._closed:
            self._closed = True
            self.wait_until_finished()

    def __enter__(self) -> "CheckpointManager":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CheckpointManager({str(self.directory)!r}, steps={self.all_steps()})"

