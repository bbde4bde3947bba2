"""``ember.core.tree_util``: the ``jax.tree_util`` names (``tree_map``, ``tree_flatten``...) for
scripts that port from JAX; the same functions as ``ember.core.tree``."""

from ember.core._src.tree import (  # noqa: F401
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    Partial,
    PyTreeDef,
    SequenceKey,
    all_leaves,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_node_class,
    register_pytree_with_keys,
    register_static,
    treedef_is_leaf,
)
from ember.core._src.tree import all as tree_all
from ember.core._src.tree import broadcast as tree_broadcast
from ember.core._src.tree import flatten as tree_flatten
from ember.core._src.tree import flatten_with_path as tree_flatten_with_path
from ember.core._src.tree import leaves as tree_leaves
from ember.core._src.tree import leaves_with_path as tree_leaves_with_path
from ember.core._src.tree import map as tree_map
from ember.core._src.tree import map_with_path as tree_map_with_path
from ember.core._src.tree import reduce as tree_reduce
from ember.core._src.tree import structure as tree_structure
from ember.core._src.tree import transpose as tree_transpose
from ember.core._src.tree import unflatten as tree_unflatten

__all__ = [
    "DictKey", "FlattenedIndexKey", "GetAttrKey", "Partial", "PyTreeDef", "SequenceKey", "all_leaves",
    "keystr", "register_dataclass", "register_pytree_node", "register_pytree_node_class",
    "register_pytree_with_keys", "register_static", "treedef_is_leaf", "tree_all", "tree_broadcast",
    "tree_flatten", "tree_flatten_with_path", "tree_leaves", "tree_leaves_with_path", "tree_map",
    "tree_map_with_path", "tree_reduce", "tree_structure", "tree_transpose", "tree_unflatten",
]
