"""The step directory format: names of files and folders, and the checks that keep them inside.

A committed checkpoint directory::

    <step>/
      zarr.json               root zarr group (attributes: format version, item names)
      _CHECKPOINT.msgpack     tree structure of every item, leaf descriptors, small leaf values
      _COMMITTED              commit marker, written last (msgpack: time, metrics, checksum of the above)
      <item>/zarr.json        one zarr group per item
      <item>/<array>/zarr.json, <item>/<array>/c/...   zarr v3 arrays (sharding codec, crc32c)

While being written it is ``.<name>.ember-tmp`` beside its final place; a step being deleted is
first renamed to ``.<name>.ember-deleting``. Neither is ever listed as a checkpoint.

    >>> step_dir_name(42, "ckpt")
    'ckpt_42'
    >>> parse_step("ckpt_42", "ckpt")
    42
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import CheckpointError

__all__ = ["FORMAT_VERSION", "TREE_FILE", "COMMIT_FILE", "ZARR_JSON", "ARRIVALS_DIR", "TMP_SUFFIX",
           "DELETING_SUFFIX", "step_dir_name", "parse_step", "tmp_path_for", "deleting_path_for",
           "check_item_name", "check_node_name", "safe_join", "is_committed"]

FORMAT_VERSION = 1
TREE_FILE = "_CHECKPOINT.msgpack"
COMMIT_FILE = "_COMMITTED"
ZARR_JSON = "zarr.json"
ARRIVALS_DIR = "_arrivals"
TMP_SUFFIX = ".ember-tmp"
DELETING_SUFFIX = ".ember-deleting"

_ITEM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_NODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-~]{0,254}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def step_dir_name(step: int, prefix: str | None = None) -> str:
    """The directory name of ``step``: ``"<prefix>_<step>"``, or ``"<step>"`` without a prefix."""
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ValueError(f"a step must be a non-negative int, got {step!r}")
    if prefix:
        if not _PREFIX_RE.match(prefix):
            raise ValueError(f"step_prefix {prefix!r}: use letters, digits, '_', '.', '-'")
        return f"{prefix}_{step}"
    return str(step)


def parse_step(name: str, prefix: str | None = None) -> int | None:
    """The step a directory name stands for, or None when it is not a step directory."""
    if prefix:
        if not name.startswith(prefix + "_"):
            return None
        name = name[len(prefix) + 1:]
    if not name.isdigit() or not name.isascii() or (len(name) > 1 and name[0] == "0"):
        return None
    return int(name)


def tmp_path_for(final: Path) -> Path:
    """Where a checkpoint is written before its rename to ``final`` (the same on every process)."""
    return final.parent / f".{final.name}{TMP_SUFFIX}"


def deleting_path_for(final: Path) -> Path:
    return final.parent / f".{final.name}{DELETING_SUFFIX}"


def check_item_name(name: object) -> str:
    """An item name is one path component of letters, digits, '_', '.', '-' (not starting with
    '.' or '_'): it can never name a parent folder or an absolute path."""
    if not isinstance(name, str) or not _ITEM_RE.match(name):
        raise ValueError(f"item name {name!r}: use 1-128 letters, digits, '_', '.', '-', starting with a letter "
                         "or digit")
    return name


def check_node_name(name: object) -> str:
    """A zarr node name read from (possibly untrusted) metadata: one safe path component."""
    if not isinstance(name, str) or not _NODE_RE.match(name):
        raise CheckpointError(f"invalid array name {name!r} in checkpoint metadata")
    return name


def safe_join(root: Path, *parts: str) -> Path:
    """``root / parts...``, refusing anything that would leave ``root``."""
    for p in parts:
        if not p or p in (".", "..") or "/" in p or "\\" in p or "\0" in p:
            raise CheckpointError(f"refusing path component {p!r} under {root}")
    out = root.joinpath(*parts)
    real_root = os.path.realpath(root)
    real = os.path.realpath(out)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise CheckpointError(f"refusing path {out}: it resolves outside {root}")
    return out


def is_committed(path: Path) -> bool:
    """True when ``path`` is a directory holding a commit marker."""
    return (path / COMMIT_FILE).is_file()
