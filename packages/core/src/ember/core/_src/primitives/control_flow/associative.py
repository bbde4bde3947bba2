"""``associative_scan``: an inclusive prefix scan with an associative operator, in parallel.

The classic recursive algorithm (Blelloch 1990), written with slices, pads and concatenations in
Python: combine adjacent pairs, scan the half-size result recursively (the odd positions of the
answer), combine those with the even elements, and interleave. ``fn`` runs ``O(log n)`` times on
whole arrays, so the result is differentiable, batchable and jittable like any other operation.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ... import tree as tree_util
from ...core import get_aval

__all__ = ["associative_scan"]

_registry = tree_util.registry


def _interleave(a: Any, b: Any, axis: int) -> Any:
    """Elements of ``a`` at even positions and of ``b`` at odd ones along ``axis``."""
    from ..elementwise import add, bitwise_or
    from ..shape import pad
    a_aval, b_aval = get_aval(a), get_aval(b)
    same = a_aval.shape[axis] == b_aval.shape[axis]
    a_pad = [(0, 0, 0)] * a_aval.ndim
    b_pad = [(0, 0, 0)] * b_aval.ndim
    a_pad[axis] = (0, 1 if same else 0, 1)
    b_pad[axis] = (1, 0 if same else 1, 1)
    op = bitwise_or if a_aval.dtype == np.bool_ else add
    return op(pad(a, np.zeros((), a_aval.dtype), a_pad), pad(b, np.zeros((), b_aval.dtype), b_pad))


def associative_scan(fn: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive scan of ``elems`` along ``axis`` with an associative ``fn(a, b)``.

    ``fn`` is applied elementwise over the scanned axis to whole slices (pytrees like ``elems``);
    the ``k``-th result combines the first ``k + 1`` elements.

    >>> import ember.core.numpy as jnp
    >>> from ember.core import lax
    >>> lax.associative_scan(lax.add, jnp.arange(5.0)).tolist()
    [0.0, 1.0, 3.0, 6.0, 10.0]
    """
    from ..shape import concatenate, rev, slice_in_dim
    if not callable(fn):
        raise TypeError("lax.associative_scan: fn argument should be callable.")
    elems_flat, tree = _registry.flatten(elems)
    if not elems_flat:
        return elems
    ndim = get_aval(elems_flat[0]).ndim
    if not -ndim <= axis < ndim or ndim == 0:
        raise ValueError(f"lax.associative_scan: axis {axis} is out of bounds for arrays of rank {ndim}")
    axis = axis % ndim
    if reverse:
        elems_flat = [rev(e, (axis,)) for e in elems_flat]
    num_elems = get_aval(elems_flat[0]).shape[axis]
    if not all(get_aval(e).shape[axis] == num_elems for e in elems_flat[1:]):
        raise ValueError("Array inputs to associative_scan must have the same first dimension. (saw: "
                         f"{[get_aval(e).shape for e in elems_flat]})")

    def combine(a_flat: Sequence[Any], b_flat: Sequence[Any]) -> list[Any]:
        c = fn(tree.unflatten(a_flat), tree.unflatten(b_flat))
        c_flat, c_tree = _registry.flatten(c)
        if c_tree != tree:
            raise TypeError(f"lax.associative_scan: fn must return the structure of its inputs, {tree}; "
                            f"got {c_tree}")
        return c_flat

    def scan_(elems: list[Any]) -> list[Any]:
        n = get_aval(elems[0]).shape[axis]
        if n < 2:
            return elems
        reduced = combine([slice_in_dim(e, 0, n - 1 if n % 2 else n, 2, axis) for e in elems],
                          [slice_in_dim(e, 1, None, 2, axis) for e in elems])
        odd = scan_(reduced)
        if n % 2 == 0:
            even = combine([slice_in_dim(e, 0, get_aval(e).shape[axis] - 1, 1, axis) for e in odd],
                           [slice_in_dim(e, 2, None, 2, axis) for e in elems])
        else:
            even = combine(odd, [slice_in_dim(e, 2, None, 2, axis) for e in elems])
        even = [concatenate([slice_in_dim(e, 0, 1, 1, axis), r], axis) for e, r in zip(elems, even)]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    scans = scan_(list(elems_flat))
    if reverse:
        scans = [rev(s, (axis,)) for s in scans]
    return tree.unflatten(scans)
