"""The exceptions ember.checkpoint raises (all subclass :class:`CheckpointError`)."""

from __future__ import annotations

__all__ = ["CheckpointError", "CheckpointNotFoundError", "CheckpointCorruptionError", "StepAlreadyExistsError",
           "TreeMismatchError", "BarrierTimeoutError"]


class CheckpointError(Exception):
    """Base class of every error of ember.checkpoint.

    >>> import ember.checkpoint as ecp
    >>> sorted(e.__name__ for e in (ecp.CheckpointNotFoundError, ecp.CheckpointCorruptionError, ecp.TreeMismatchError,
    ...        ecp.StepAlreadyExistsError, ecp.BarrierTimeoutError) if issubclass(e, ecp.CheckpointError))
    ['BarrierTimeoutError', 'CheckpointCorruptionError', 'CheckpointNotFoundError', 'StepAlreadyExistsError', 'TreeMismatchError']
    """


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No committed checkpoint at the given path or step.

    >>> import os, tempfile
    >>> import ember.checkpoint as ecp
    >>> try:
    ...     ecp.restore(os.path.join(tempfile.mkdtemp(), "missing"))
    ... except ecp.CheckpointNotFoundError:
    ...     print("no committed checkpoint there")
    no committed checkpoint there
    """


class CheckpointCorruptionError(CheckpointError, ValueError):
    """A file of a committed checkpoint is truncated, altered or malformed (a checksum failed).

    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember.checkpoint as ecp
    >>> path = os.path.join(tempfile.mkdtemp(), "c")
    >>> ecp.save(path, {"w": np.arange(100_000, dtype=np.float32)})     # large enough for a zarr array
    >>> shard = next(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if "/c/" in os.path.join(d, f))
    >>> with open(shard, "r+b") as f:
    ...     _ = f.seek(100); _ = f.write(b"X")                                # flip a byte
    >>> try:
    ...     ecp.restore(path, as_numpy=True)
    ... except ecp.CheckpointCorruptionError:
    ...     print("checksum mismatch detected")
    checksum mismatch detected
    """


class StepAlreadyExistsError(CheckpointError, FileExistsError):
    """A checkpoint already exists where a save was asked to write (pass ``force=True`` to replace it).

    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember.checkpoint as ecp
    >>> path = os.path.join(tempfile.mkdtemp(), "c")
    >>> ecp.save(path, {"w": np.zeros(2)})
    >>> try:
    ...     ecp.save(path, {"w": np.ones(2)})
    ... except ecp.StepAlreadyExistsError:
    ...     print("already exists")
    already exists
    >>> ecp.save(path, {"w": np.ones(2)}, force=True)        # replaces it, atomically
    >>> ecp.restore(path, as_numpy=True)["w"].tolist()
    [1.0, 1.0]

    A ``CheckpointManager`` never overwrites a step (there ``force=True`` only bypasses
    ``should_save``): ``delete(step)`` first.
    """


class TreeMismatchError(CheckpointError, ValueError):
    """A restore target does not match the checkpoint (the message names the leaf path).

    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember.checkpoint as ecp
    >>> path = os.path.join(tempfile.mkdtemp(), "c")
    >>> ecp.save(path, {"params": {"w": np.zeros((2, 3), np.float32)}})
    >>> try:
    ...     ecp.restore(path, {"params": {"w": np.zeros((3, 2), np.float32)}})   # another shape
    ... except ecp.TreeMismatchError as e:
    ...     print(type(e).__name__)
    TreeMismatchError
    """


class BarrierTimeoutError(CheckpointError, TimeoutError):
    """Not every process reached a save's barrier in time (the message names the missing ones).

    >>> import ember.checkpoint as ecp
    >>> issubclass(ecp.BarrierTimeoutError, ecp.CheckpointError)   # raised in multi-process saves only
    True
    """
