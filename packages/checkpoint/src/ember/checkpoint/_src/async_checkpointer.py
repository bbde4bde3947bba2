"""``AsyncCheckpointer``: a save blocks only for the device-to-host copies; files are written by a
background thread while training goes on.

A second save first waits for the one in flight; an error of a background save is raised by the
next call (``save``, ``wait_until_finished``, ``close``), never lost.

    >>> import numpy as np, tempfile, os
    >>> ckptr = AsyncCheckpointer()
    >>> path = os.path.join(tempfile.mkdtemp(), "c")
    >>> ckptr.save(path, {"w": np.ones(3)})   # returns before the files are written
    >>> ckptr.wait_until_finished()
    >>> ckptr.restore(path, as_numpy=True)["w"].tolist()
    [1.0, 1.0, 1.0]
    >>> ckptr.close()
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Mapping

from .capture import SavePlan
from .checkpointer import DEFAULT_ITEM, Checkpointer, PathLike

__all__ = ["AsyncCheckpointer"]


class AsyncCheckpointer(Checkpointer):
    """A :class:`Checkpointer` whose saves write on a background thread (same arguments).

    >>> import os, tempfile
    >>> import numpy as np
    >>> import ember.checkpoint as ecp
    >>> path = os.path.join(tempfile.mkdtemp(), "params")
    >>> with ecp.AsyncCheckpointer() as ckptr:
    ...     ckptr.save(path, {"w": np.arange(3.0)})      # returns once the arrays are copied to the host
    ...     ckptr.wait_until_finished()                  # the files are written and committed
    >>> ecp.restore(path, as_numpy=True)["w"].tolist()
    [0.0, 1.0, 2.0]
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _raise_pending(self) -> None:
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def wait_until_finished(self) -> None:
        """Wait for the save in flight; raise its error, if it failed."""
        thread = self._thread
        if thread is not None:
            thread.join()
            self._thread = None
        self._raise_pending()

    def _start(self, final: Path, plan: SavePlan, *, force: bool, commit_info: dict[str, Any] | None,
               after_commit: Callable[[], None] | None) -> None:
        def run() -> None:
            try:
                self._write(final, plan, force=force, commit_info=commit_info, after_commit=after_commit)
            except BaseException as e:  # noqa: BLE001 - surfaced by the next call
                with self._lock:
                    self._error = e

        self._thread = threading.Thread(target=run, name=f"ember-ckpt-save:{final.name}", daemon=False)
        self._thread.start()

    def save(self, path: PathLike, tree: Any, *, force: bool = False) -> None:
        """Capture ``tree`` to host memory, then write it to ``path`` in the background."""
        self.save_items_async(path, {DEFAULT_ITEM: tree}, force=force, single=True)

    def save_items(self, path: PathLike, items: Mapping[str, Any], *, force: bool = False,
                   commit_info: dict[str, Any] | None = None, after_commit: Callable[[], None] | None = None) -> None:
        self.save_items_async(path, items, force=force, commit_info=commit_info, after_commit=after_commit)

    def save_items_async(self, path: PathLike, items: Mapping[str, Any], *, force: bool = False,
                         commit_info: dict[str, Any] | None = None,
                         after_commit: Callable[[], None] | None = None, single: bool = False) -> None:
        if self._closed:
            raise RuntimeError("AsyncCheckpointer is closed")
        self.wait_until_finished()  # one save at a time; a failed previous save raises here
        final, plan = self._capture(path, items, force=force, single=single, copy_host_arrays=True)
        self._start(final, plan, force=force, commit_info=commit_info, after_commit=after_commit)

    def close(self) -> None:
        """Wait for the save in flight (raising its error) and refuse further saves."""
        self._closed = True
        self.wait_until_finished()
