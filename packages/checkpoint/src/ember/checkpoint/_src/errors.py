"""The exceptions ember.checkpoint raises (all subclass :class:`CheckpointError`)."""

from __future__ import annotations

__all__ = ["CheckpointError", "CheckpointNotFoundError", "CheckpointCorruptionError", "StepAlreadyExistsError",
           "TreeMismatchError", "BarrierTimeoutError"]


class CheckpointError(Exception):
    """Base class of every error of ember.checkpoint."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No committed checkpoint at the given path or step."""


class CheckpointCorruptionError(CheckpointError, ValueError):
    """A file of a committed checkpoint is truncated, altered or malformed (a checksum failed)."""


class StepAlreadyExistsError(CheckpointError, FileExistsError):
    """A checkpoint already exists where a save was asked to write (pass ``force=True`` to replace it)."""


class TreeMismatchError(CheckpointError, ValueError):
    """A restore target does not match the checkpoint (the message names the leaf path)."""


class BarrierTimeoutError(CheckpointError, TimeoutError):
    """Not every process reached a save's barrier in time (the message names the missing ones)."""
