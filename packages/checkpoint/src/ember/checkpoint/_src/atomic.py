"""Durability and atomicity: fsync, the commit marker, the final rename, and cleanup.

A save writes everything into ``.<name>.ember-tmp``, fsyncs every file and folder, writes the
commit marker ``_COMMITTED`` last (fsynced), renames the folder to its final name and fsyncs the
parent. A crash at any moment leaves either the old state or the complete new checkpoint; the
leftover temporary folder is invisible to listings and removed by :func:`cleanup_leftovers`.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_file_durably(d / "x", b"hello")
    >>> (d / "x").read_bytes()
    b'hello'
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import google_crc32c

from . import layout
from .errors import CheckpointCorruptionError, CheckpointError, StepAlreadyExistsError
from .tree_codec import packb, unpackb

__all__ = ["fsync_dir", "write_file_durably", "write_commit_marker", "read_commit_marker", "commit",
           "remove_tree", "delete_checkpoint", "cleanup_leftovers", "crc32c"]


def crc32c(data: Any) -> int:
    """CRC-32C of a bytes-like object (what zarr's ``crc32c`` codec stores)."""
    if isinstance(data, memoryview):
        data = bytes(data) if not data.readonly else data
    return int(google_crc32c.value(data))


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (created, renamed files) durable."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def write_file_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it (the folder entry is synced by the caller)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_commit_marker(directory: Path, info: dict[str, Any]) -> None:
    """Write the commit marker of ``directory`` (last file of a save), fsynced with its folder."""
    body = dict(info)
    body.setdefault("format", layout.FORMAT_VERSION)
    body.setdefault("time", time.time())
    write_file_durably(directory / layout.COMMIT_FILE, packb(body))
    fsync_dir(directory)


def read_commit_marker(directory: Path) -> dict[str, Any]:
    """The commit marker's contents (raises CheckpointCorruptionError if unreadable)."""
    path = directory / layout.COMMIT_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    try:
        info = unpackb(data)
    except Exception as e:
        raise CheckpointCorruptionError(f"{path}: unreadable commit marker ({e})") from e
    if not isinstance(info, dict):
        raise CheckpointCorruptionError(f"{path}: malformed commit marker")
    return info


def commit(tmp: Path, final: Path, *, overwrite: bool = False) -> None:
    """Atomically move the finished ``tmp`` folder (commit marker included) to ``final``."""
    if final.exists():
        if not overwrite:
            raise StepAlreadyExistsError(f"{final} already exists")
        old = layout.deleting_path_for(final)
        remove_tree(old)
        os.rename(final, old)  # the old checkpoint leaves its name atomically ...
        os.rename(tmp, final)  # ... and the new one takes it
        fsync_dir(final.parent)
        remove_tree(old)
        return
    os.rename(tmp, final)
    fsync_dir(final.parent)


def remove_tree(path: Path) -> None:
    """Remove a folder (or file) if present; never follows a symlink out of it."""
    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path)
    except FileNotFoundError:
        pass


def delete_checkpoint(final: Path) -> None:
    """Delete a checkpoint: first rename it away (so it vanishes at once from listings), then
    remove its files. An interruption leaves only a ``.ember-deleting`` folder to clean up."""
    if not final.exists():
        return
    doomed = layout.deleting_path_for(final)
    remove_tree(doomed)
    try:
        os.rename(final, doomed)
    except FileNotFoundError:
        return
    fsync_dir(final.parent)
    remove_tree(doomed)


def cleanup_leftovers(directory: Path, *, keep: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Remove interrupted saves and deletions under ``directory`` (not the names in ``keep``,
    which saves of this process are writing). Returns the names removed."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return removed
    for entry in entries:
        name = entry.name
        if name.startswith(".") and (name.endswith(layout.TMP_SUFFIX) or name.endswith(layout.DELETING_SUFFIX)):
            if name in keep:
                continue
            if name.endswith(layout.TMP_SUFFIX):
                # a forced overwrite interrupted between its two renames: roll the complete new
                # checkpoint forward rather than lose both
                final = directory / name[1:-len(layout.TMP_SUFFIX)]
                if layout.is_committed(Path(entry.path)) and not final.exists():
                    os.rename(entry.path, final)
                    fsync_dir(directory)
                    continue
            try:
                remove_tree(Path(entry.path))
            except OSError as e:  # pragma: no cover - e.g. permissions
                raise CheckpointError(f"could not remove the leftover {entry.path}: {e}") from e
            removed.append(name)
    return removed
