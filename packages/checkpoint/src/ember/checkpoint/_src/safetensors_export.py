"""Export a (restored) tree to a safetensors file, for use outside the JAX world.

Needs the optional extra: ``pip install ember-checkpoint[safetensors]``. Tensor names are the
leaf paths joined with ``.`` (``params.dense.kernel``); non-array leaves go to the file's string
metadata when they are str/int/float/bool, and are skipped otherwise.

    >>> import numpy as np, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> export_safetensors({"dense": {"w": np.ones((2, 2), np.float32)}, "step": 3}, out)  # doctest: +SKIP
    ['dense.w']
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

import ember.core as ec

from .tree_codec import key_name

__all__ = ["export_safetensors"]


def export_safetensors(tree: Any, filename: str | os.PathLike, *, separator: str = ".") -> list[str]:
    """Write the array leaves of ``tree`` (ember Arrays or NumPy) to ``filename``. A path to a
    checkpoint folder may be given instead of a tree (it is restored as NumPy first). Returns the
    tensor names written."""
    try:
        from safetensors.numpy import save_file
    except ImportError as e:
        raise ImportError("export_safetensors needs the 'safetensors' package: pip install "
                          "'ember-checkpoint[safetensors]'") from e
    if isinstance(tree, (str, os.PathLike)):
        from .checkpointer import restore
        tree = restore(tree, as_numpy=True)
    leaves, _ = ec.tree.flatten_with_path(tree, is_leaf=lambda x: isinstance(x, (ec.Array, np.ndarray)))
    tensors: dict[str, np.ndarray] = {}
    meta: dict[str, str] = {}
    for path, leaf in leaves:
        name = separator.join(str(key_name(k)) for k in path) or "value"
        if name in tensors or name in meta:
            raise ValueError(f"export_safetensors: two leaves are both named {name!r}")
        if isinstance(leaf, (ec.Array, np.ndarray, np.generic)):
            tensors[name] = np.ascontiguousarray(np.asarray(leaf))
        elif isinstance(leaf, (str, int, float, bool)):
            meta[name] = str(leaf)
    save_file(tensors, os.fspath(filename), metadata=meta or None)
    return list(tensors)
