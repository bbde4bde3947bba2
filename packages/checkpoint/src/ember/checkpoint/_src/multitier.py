"""Multi-tier ("emergency") checkpointing: frequent saves to fast local storage (e.g. /dev/shm),
rarer saves to persistent storage, and restore from the newest complete step of either.

    >>> import numpy as np, tempfile
    >>> local, persistent = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> mt = MultiTierCheckpointManager(
    ...     local, persistent,
    ...     local_options=CheckpointManagerOptions(save_interval_steps=1, max_to_keep=2, enable_async=False),
    ...     persistent_options=CheckpointManagerOptions(save_interval_steps=5, enable_async=False))
    >>> for step in range(7):
    ...     _ = mt.save(step, {"w": np.full(2, step)})
    >>> mt.local.all_steps(), mt.persistent.all_steps(), mt.latest_step()
    ([5, 6], [0, 5], 6)
    >>> mt.restore(as_numpy=True)["w"].tolist()
    [6, 6]
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .checkpointer import PathLike
from .errors import CheckpointNotFoundError
from .manager import CheckpointManager, CheckpointManagerOptions

__all__ = ["MultiTierCheckpointManager"]


class MultiTierCheckpointManager:
    """Two :class:`CheckpointManager` tiers saving the same items on their own schedules.

    ``local_options`` typically has a short ``save_interval_steps`` and a small ``max_to_keep``;
    ``persistent_options`` a long interval. ``restore(step=None)`` picks the newest step committed
    in either tier (from the local tier when both have it: it is the faster one).

    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember.checkpoint as ecp
    >>> local = ecp.CheckpointManagerOptions(save_interval_steps=1, max_to_keep=1)        # e.g. /dev/shm
    >>> persistent = ecp.CheckpointManagerOptions(save_interval_steps=2)                 # e.g. a bucket
    >>> with ecp.MultiTierCheckpointManager(tempfile.mkdtemp(), tempfile.mkdtemp(),
    ...                                     local_options=local, persistent_options=persistent) as mngr:
    ...     for step in range(4):
    ...         _ = mngr.save(step, {"w": np.full(2, step)})
    ...     mngr.wait_until_finished()
    ...     print([tier.all_steps() for tier in mngr.tiers], mngr.latest_step())
    [[3], [0, 2]] 3
    """

    def __init__(self, local_directory: PathLike, persistent_directory: PathLike, *,
                 local_options: CheckpointManagerOptions | None = None,
                 persistent_options: CheckpointManagerOptions | None = None) -> None:
        self.local = CheckpointManager(local_directory, local_options or CheckpointManagerOptions(
            save_interval_steps=1, max_to_keep=2))
        self.persistent = CheckpointManager(persistent_directory, persistent_options or CheckpointManagerOptions(
            save_interval_steps=100))

    @property
    def tiers(self) -> tuple[CheckpointManager, CheckpointManager]:
        return self.local, self.persistent

    def should_save(self, step: int) -> bool:
        return any(m.should_save(step) for m in self.tiers)

    def save(self, step: int, items: Mapping[str, Any], metrics: Mapping[str, Any] | None = None,
             force: bool = False) -> bool:
        """Save to every tier whose schedule asks for ``step`` (``force``: to both tiers)."""
        saved = False
        for m in self.tiers:
            saved = m.save(step, items, metrics=metrics, force=force) or saved
        return saved

    def all_steps(self) -> list[int]:
        return sorted(set(self.local.all_steps()) | set(self.persistent.all_steps()))

    def latest_step(self) -> int | None:
        steps = self.all_steps()
        return steps[-1] if steps else None

    def restore(self, step: int | None = None, items: Sequence[str] | Mapping[str, Any] | None = None, *,
                as_numpy: bool = False) -> dict[str, Any]:
        """Restore ``step`` (None: the newest in either tier) from the tier that holds it."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise CheckpointNotFoundError(f"no committed checkpoint in {self.local.directory} or "
                                          f"{self.persistent.directory}")
        for m in self.tiers:
            if step in m.all_steps():
                return m.restore(step, items, as_numpy=as_numpy)
        raise CheckpointNotFoundError(f"step {step} is in neither {self.local.directory} nor "
                                      f"{self.persistent.directory}")

    def wait_until_finished(self) -> None:
        errors = []
        for m in self.tiers:
            try:
                m.wait_until_finished()
            except Exception as e:  # noqa: BLE001 - both tiers are waited for
                errors.append(e)
        if errors:
            raise errors[0]

    def close(self) -> None:
        errors = []
        for m in self.tiers:
            try:
                m.close()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        if errors:
            raise errors[0]

    def __enter__(self) -> "MultiTierCheckpointManager":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
