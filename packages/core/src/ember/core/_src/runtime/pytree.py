"""jaxlib's C++ pytree registry, the one piece of jaxlib that ember.core.tree builds on."""

from __future__ import annotations

from jaxlib import _jax

_pytree = _jax.pytree

PyTreeRegistry = _pytree.PyTreeRegistry
PyTreeDef = _pytree.PyTreeDef
DictKey = _pytree.DictKey
SequenceKey = _pytree.SequenceKey
GetAttrKey = _pytree.GetAttrKey
FlattenedIndexKey = _pytree.FlattenedIndexKey

__all__ = ["PyTreeRegistry", "PyTreeDef", "DictKey", "SequenceKey", "GetAttrKey", "FlattenedIndexKey"]
