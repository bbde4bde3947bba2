"""``Checkpointer``: save and restore one pytree (or a dict of named items) at a path, blocking.

    >>> import numpy as np, tempfile, os
    >>> import ember.checkpoint as ecp
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt")
    >>> ecp.save(path, {"w": np.ones((2, 2)), "step": 7})
    >>> ecp.restore(path, as_numpy=True)["step"]
    7
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

import ember.core as ec

from .capture import DEFAULT_SMALL_LEAF_BYTES, SavePlan, capture
from .errors import StepAlreadyExistsError
from .multihost import DEFAULT_BARRIER_TIMEOUT
from .restore import CheckpointReader, _dtype_shape, _python_value, restore_checkpoint
from .shardings import process_index
from .tree_codec import decode_structure, leaf_paths
from .writer import write_plan

__all__ = ["Checkpointer", "save", "restore", "metadata", "DEFAULT_ITEM"]

DEFAULT_ITEM = "default"
PathLike = str | os.PathLike


class Checkpointer:
    """Blocking saves and restores of pytrees.

    ``small_leaf_bytes``: arrays up to this size go to the one msgpack file instead of zarr.
    ``stack_leaves``: store same-shaped, same-sharded arrays of an item as one stacked zarr array
    (fewer files). ``barrier_timeout``: seconds a multi-process save waits for the slowest process.

    >>> import numpy as np, tempfile, os
    >>> ckptr = Checkpointer()
    >>> path = os.path.join(tempfile.mkdtemp(), "c")
    >>> ckptr.save(path, {"a": np.arange(3)})
    >>> ckptr.restore(path, as_numpy=True)["a"].tolist()
    [0, 1, 2]
    """

    def __init__(self, *, small_leaf_bytes: int = DEFAULT_SMALL_LEAF_BYTES, stack_leaves: bool = True,
                 barrier_timeout: float = DEFAULT_BARRIER_TIMEOUT) -> None:
        self.small_leaf_bytes = small_leaf_bytes
        self.stack_leaves = stack_leaves
        self.barrier_timeout = barrier_timeout
        self._tokens = itertools.count()

    # -- saving --
    def _capture(self, path: PathLike, items: Mapping[str, Any], *, force: bool, single: bool,
                 copy_host_arrays: bool) -> tuple[Path, SavePlan]:
        final = Path(path)
        if not force and process_index() == 0 and final.exists():
            raise StepAlreadyExistsError(f"{final} already exists (pass force=True to replace it)")
        plan = capture(items, small_leaf_bytes=self.small_leaf_bytes, stack_leaves=self.stack_leaves,
                       copy_host_arrays=copy_host_arrays, single=single)
        return final, plan

    def _write(self, final: Path, plan: SavePlan, *, force: bool, commit_info: dict[str, Any] | None,
               after_commit: Any = None) -> None:
        write_plan(plan, final, overwrite=force, commit_info=commit_info, token=str(next(self._tokens)),
                   barrier_timeout=self.barrier_timeout, after_commit=after_commit)

    def save(self, path: PathLike, tree: Any, *, force: bool = False) -> None:
        """Write ``tree`` to the folder ``path`` (which appears only once complete)."""
        final, plan = self._capture(path, {DEFAULT_ITEM: tree}, force=force, single=True, copy_host_arrays=False)
        self._write(final, plan, force=force, commit_info=None)

    def save_items(self, path: PathLike, items: Mapping[str, Any], *, force: bool = False,
                   commit_info: dict[str, Any] | None = None, after_commit: Any = None) -> None:
        """Write several named pytrees as one checkpoint (restored as a dict of items)."""
        final, plan = self._capture(path, items, force=force, single=False, copy_host_arrays=False)
        self._write(final, plan, force=force, commit_info=commit_info, after_commit=after_commit)

    # -- restoring --
    def restore(self, path: PathLike, target: Any = None, *, items: Sequence[str] | Mapping[str, Any] | None = None,
                as_numpy: bool = False) -> Any:
        """Read the checkpoint at ``path`` (see :func:`ember.checkpoint.restore`)."""
        return restore_checkpoint(path, target, items=items, as_numpy=as_numpy)

    def metadata(self, path: PathLike) -> Any:
        """The saved structure with a ``ShapeDtypeStruct`` for every array leaf (no data read)."""
        return metadata(path)

    # -- lifetime --
    def wait_until_finished(self) -> None:
        """Nothing to wait for: a blocking save is finished when it returns."""

    def close(self) -> None:
        self.wait_until_finished()

    def __enter__(self) -> "Checkpointer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def save(path: PathLike, tree: Any, *, force: bool = False) -> None:
    """Save one pytree to the folder ``path``, atomically (blocking).

    Leaves: ember Arrays (single-device or sharded, also across processes), NumPy arrays and
    scalars, Python ``bool``/``int``/``float``/``complex``/``str``/``bytes``; ``None`` and empty
    containers are kept. ``force=True`` replaces an existing checkpoint.

    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c")
    >>> save(p, {"x": np.zeros(2), "none": None, "empty": []})
    >>> restore(p, as_numpy=True)
    {'x': array([0., 0.]), 'none': None, 'empty': []}
    """
    Checkpointer().save(path, tree, force=force)


def restore(path: PathLike, target: Any = None, *, items: Sequence[str] | Mapping[str, Any] | None = None,
            as_numpy: bool = False) -> Any:
    """Restore the checkpoint at ``path``.

    ``target`` (optional) is a pytree whose leaves say what to restore and how: a
    ``ShapeDtypeStruct(shape, dtype, sharding=...)`` or an ``Array`` (-> an ember Array with that
    dtype and placement: another mesh or partitioning than at save time is fine, each process reads
    only the chunks it needs), a NumPy array (-> NumPy of its dtype), a Python scalar. Leaves absent
    from the target are not read (partial restore); a target leaf absent from the checkpoint, or of
    another shape, raises :class:`TreeMismatchError` naming it. ``as_numpy=True`` restores arrays
    as NumPy without touching any device. For checkpoints of several items (``CheckpointManager``),
    ``items`` selects them (names, or name -> target).

    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c")
    >>> save(p, {"w": np.arange(6.0).reshape(2, 3), "b": np.zeros(3)})
    >>> restore(p, {"w": np.zeros((2, 3), np.float32)})   # partial, cast to float32
    {'w': array([[0., 1., 2.],
           [3., 4., 5.]], dtype=float32)}
    """
    return restore_checkpoint(path, target, items=items, as_numpy=as_numpy)


def metadata(path: PathLike) -> Any:
    """The structure of the checkpoint at ``path`` with ``ShapeDtypeStruct`` leaves for ember arrays
    (zero-memory NumPy stand-ins for NumPy leaves), and the values of Python leaves (a dict of items
    for a multi-item checkpoint). Reads no array data.

    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "c")
    >>> import ember.core as ec
    >>> save(p, {"w": ec.device_put(np.zeros((2, 3), np.float32)), "n": 1})
    >>> metadata(p)
    {'w': ShapeDtypeStruct(shape=(2, 3), dtype=float32), 'n': 1}
    """
    ckpt = CheckpointReader(path)
    out = {}
    for item in ckpt.items:
        idoc = ckpt.item_doc(item)
        values = []
        paths = leaf_paths(idoc["structure"])
        for i, desc in enumerate(idoc["leaves"]):
            if desc.get("k") == "p":
                values.append(_python_value(desc, str(paths.get(i))))
            else:
                dtype, shape = _dtype_shape(desc, str(paths.get(i)))
                if desc.get("t") in ("numpy", "npscalar"):  # a zero-memory NumPy stand-in keeps its exact dtype
                    values.append(np.broadcast_to(np.zeros((), dtype), shape) if desc.get("t") == "numpy"
                                  else np.zeros((), dtype)[()])
                else:
                    values.append(ec.ShapeDtypeStruct(shape, dtype))
        out[item] = decode_structure(idoc["structure"], values)
    return out[ckpt.items[0]] if ckpt.single else out

