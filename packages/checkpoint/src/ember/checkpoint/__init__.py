"""ember.checkpoint: async, atomic, sharded checkpoints in zarr + msgpack (the Orbax of Ember).

    >>> import numpy as np, tempfile
    >>> import ember.checkpoint as ecp
    >>> directory = tempfile.mkdtemp()
    >>> with ecp.CheckpointManager(directory, ecp.CheckpointManagerOptions(max_to_keep=2)) as mngr:
    ...     for step in range(3):
    ...         _ = mngr.save(step, {"state": {"w": np.full(3, step)}, "meta": {"lr": 0.1}})
    ...     mngr.wait_until_finished()
    ...     print(mngr.all_steps(), mngr.restore(as_numpy=True)["state"]["w"])
    [1, 2] [2 2 2]

See packages/checkpoint/README.md for the on-disk format and the guarantees.
"""

__version__ = "0.1.0"

from ember.checkpoint._src.async_checkpointer import AsyncCheckpointer
from ember.checkpoint._src.checkpointer import Checkpointer, metadata, restore, save
from ember.checkpoint._src.errors import (
    BarrierTimeoutError,
    CheckpointCorruptionError,
    CheckpointError,
    CheckpointNotFoundError,
    StepAlreadyExistsError,
    TreeMismatchError,
)
from ember.checkpoint._src.manager import CheckpointManager, CheckpointManagerOptions
from ember.checkpoint._src.multitier import MultiTierCheckpointManager
from ember.checkpoint._src.safetensors_export import export_safetensors

__all__ = [
    "AsyncCheckpointer", "Checkpointer", "CheckpointManager", "CheckpointManagerOptions",
    "MultiTierCheckpointManager", "save", "restore", "metadata", "export_safetensors",
    "CheckpointError", "CheckpointNotFoundError", "CheckpointCorruptionError", "StepAlreadyExistsError",
    "TreeMismatchError", "BarrierTimeoutError",
]
