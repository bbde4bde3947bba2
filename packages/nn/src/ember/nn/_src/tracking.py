"""Structural version counter and small value predicates shared by the graph code.

Every structural mutation of a module graph (assigning or deleting a Module attribute, changing a
Variable's metadata, mutating an ``nn.List``/``nn.Dict``) bumps one global counter. Lifted
transforms cache the result of walking a graph keyed by the identity of its roots plus this
counter, so a call that finds the counter unchanged can skip the walk entirely.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import ember.core as ec

# A one-element list: cheaper to bump from every module than a module-level global statement.
VERSION = [0]

# Counts whole-graph walks (split/state/graphdef/...): tests use it to check that nn.jit's cached
# path does not walk the graph.
WALKS = [0]


def bump() -> None:
    VERSION[0] += 1


def version() -> int:
    """The current structural version (changes whenever any module graph changes shape)."""
    return VERSION[0]


_ARRAY_TYPES = (ec.Array, np.ndarray, np.generic, ec.ShapeDtypeStruct)


def is_array(x: Any) -> bool:
    """True for ember Arrays, tracers, NumPy arrays and ``ShapeDtypeStruct`` (abstract arrays).

    ember.core's tracers are not instances of ``ec.Array`` (unlike JAX's), so tracers are recognised
    by duck typing: they carry ``aval``, ``shape`` and ``dtype``.
    """
    if isinstance(x, _ARRAY_TYPES):
        return True
    return hasattr(x, "aval") and hasattr(x, "shape") and hasattr(x, "dtype")


class HashableValue:
    """Wraps a static value so that it can live in a hashable graph definition.

    Equality is the value's own ``==`` (falling back to identity when that fails or is ambiguous);
    the hash falls back to the type when the value itself is unhashable.
    """

    __slots__ = ("value", "_hash")

    def __init__(self, value: Any):
        self.value = value
        try:
            self._hash = hash(value)
        except TypeError:
            self._hash = hash(type(value).__qualname__)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, HashableValue):
            return False
        return static_equal(self.value, other.value)

    def __repr__(self) -> str:
        return repr(self.value)


def static_equal(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    try:
        result = a == b
        if isinstance(result, bool):
            return result
        if isinstance(result, np.ndarray):
            return bool(result.all()) and np.shape(a) == np.shape(b)
        return bool(result)
    except Exception:  # noqa: BLE001 - any failing comparison means "not equal"
        return False


def freeze_mapping(mapping: dict[str, Any]) -> tuple:
    """A hashable, order-independent form of a metadata dictionary."""
    return tuple(sorted((k, HashableValue(v)) for k, v in mapping.items()))
