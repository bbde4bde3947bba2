"""Collectives over named axes: ``psum``, ``pmean``, ``pmax``, ``pmin``, ``all_gather``,
``axis_index`` (and ``psum_scatter``, ``ppermute``, ``all_to_all`` under shard_map).

A collective names the axis it works over. Under ``vmap(..., axis_name=name)`` the batching
rule of the enclosing batch trace with that name implements it on the batch dimension; under
``shard_map`` it lowers to an XLA collective over the mesh axis (see ``shard_map.py``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .. import tree as tree_util
from ..core import Primitive, ShapedArray, trace_state
from ..rules import deflinear, defjvp_zero, moveaxis_to_front
from ._util import aval_of

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "axis_size"]


def _axes_tuple(axis_name: Any) -> tuple[Any, ...]:
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _unbound(name: Any, what: str) -> NameError:
    return NameError(f"{what}: unbound axis name {name!r}; collectives need an enclosing "
                     f"vmap(..., axis_name={name!r}) or shard_map over a mesh axis named {name!r}")


# Lowering of collectives is supplied by shard_map (it knows the mesh); outside it, a collective
# that reaches lowering names an axis nobody bound.
collective_lowerings: dict[str, Any] = {}


def _lowering(name: str) -> Any:
    def rule(ctx: Any, *args: Any, **params: Any) -> Any:
        impl = collective_lowerings.get(name)
        if impl is None:
            axes = params.get("axes", (params.get("axis_name"),))
            raise _unbound(axes[0] if len(axes) == 1 else axes, f"lax.{name}")
        return impl(ctx, *args, **params)
    return rule


def _reducer(name: str, combine: str) -> Primitive:
    p = Primitive(name)
    p.def_abstract_eval(lambda x, *, axes: x)
    p.def_lowering(_lowering(name))

    def batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, axes: tuple) -> tuple[Any, int | None]:
        (x,), (d,) = args, dims
        if trace.axis_name not in axes:  # another vmap's axis: pass through, keeping our batch dim
            return p.bind(x, axes=axes), d
        rest = tuple(a for a in axes if a != trace.axis_name)
        from . import reductions as red
        if d is None:
            if combine == "sum":
                from .elementwise import mul
                out = mul(x, np.array(trace.axis_size, aval_of(x).dtype))
            else:
                out = x
        else:
            op = {"sum": red.reduce_sum, "max": red.reduce_max, "min": red.reduce_min}[combine]
            out = op(x, (d,))
        if rest:
            out = p.bind(out, axes=rest)
        return out, None

    p.def_batching(batch)
    p.batch_needs_axis = True
    return p


psum_p = _reducer("psum", "sum")
pmax_p = _reducer("pmax", "max")
pmin_p = _reducer("pmin", "min")


def _psum_transpose(ct: Any, x: Any, *, axes: tuple) -> list[Any]:
    from ..rules import Zero
    return [ct if type(ct) is Zero else psum_p.bind(ct, axes=axes)]


deflinear(psum_p, _psum_transpose)


def _pmax_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axes: tuple) -> tuple[Any, Any]:
    # the tangent at the position(s) that attain the maximum, averaged over ties (as reduce_max)
    from ..rules import Zero
    from .elementwise import convert_element_type, div, eq, mul
    (x,), (t,) = primals, tangents
    out = pmax_p.bind(x, axes=axes)
    if type(t) is Zero:
        return out, t
    hit = convert_element_type(eq(x, out), aval_of(t).dtype)
    return out, div(psum_p.bind(mul(t, hit), axes=axes), psum_p.bind(hit, axes=axes))


def _pmin_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, axes: tuple) -> tuple[Any, Any]:
    from ..rules import Zero
    from .elementwise import convert_element_type, div, eq, mul
    (x,), (t,) = primals, tangents
    out = pmin_p.bind(x, axes=axes)
    if type(t) is Zero:
        return out, t
    hit = convert_element_type(eq(x, out), aval_of(t).dtype)
    return out, div(psum_p.bind(mul(t, hit), axes=axes), psum_p.bind(hit, axes=axes))


pmax_p.def_jvp(_pmax_jvp)
pmin_p.def_jvp(_pmin_jvp)


def psum(x: Any, axis_name: Any) -> Any:
    """Sum of ``x`` (a pytree) over the named axis (or axes); every member gets the total."""
    axes = _axes_tuple(axis_name)
    return tree_util.map(lambda leaf: psum_p.bind(leaf, axes=axes), x)


def pmean(x: Any, axis_name: Any) -> Any:
    """Mean of ``x`` over the named axis (or axes)."""
    from .elementwise import div
    total = psum(x, axis_name)
    n = axis_size(axis_name)
    return tree_util.map(lambda leaf: div(leaf, np.array(n, aval_of(leaf).dtype)), total)


def pmax(x: Any, axis_name: Any) -> Any:
    axes = _axes_tuple(axis_name)
    return tree_util.map(lambda leaf: pmax_p.bind(leaf, axes=axes), x)


def pmin(x: Any, axis_name: Any) -> Any:
    axes = _axes_tuple(axis_name)
    return tree_util.map(lambda leaf: pmin_p.bind(leaf, axes=axes), x)


# ----------------------------------------------------------------------------------------------
# all_gather

all_gather_p = Primitive("all_gather")


def _all_gather_abstract_eval(x: ShapedArray, *, axes: tuple, axis: int, tiled: bool, size: int) -> ShapedArray:
    shape = list(x.shape)
    if tiled:
        shape[axis] *= size
    else:
        shape.insert(axis, size)
    return x.update(shape=tuple(shape))


def _all_gather_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, axes: tuple, axis: int,
                      tiled: bool, size: int) -> tuple[Any, int | None]:
    (x,), (d,) = args, dims
    if trace.axis_name not in axes:
        if d is None:
            return all_gather_p.bind(x, axes=axes, axis=axis, tiled=tiled, size=size), None
        x = moveaxis_to_front(x, d)
        out_axis = axis + 1
        return all_gather_p.bind(x, axes=axes, axis=out_axis, tiled=tiled, size=size), 0
    if len(axes) > 1:
        raise NotImplementedError("all_gather over several vmapped axes at once")
    from ..rules import broadcast_batched
    x = broadcast_batched(x, d, trace.axis_size)  # (n, *shape): the gathered value, for every member
    if axis != 0:
        from .shape import transpose
        ndim = aval_of(x).ndim
        perm = list(range(1, ndim))
        perm.insert(axis, 0)
        x = transpose(x, tuple(perm))
    if tiled:
        from .shape import reshape
        shape = list(aval_of(x).shape)
        merged = shape[:axis] + [shape[axis] * shape[axis + 1]] + shape[axis + 2:]
        x = reshape(x, tuple(merged))
    return x, None


def _all_gather_transpose(ct: Any, x: Any, *, axes: tuple, axis: int, tiled: bool, size: int) -> list[Any]:
    raise NotImplementedError("reverse-mode differentiation of all_gather is implemented under shard_map "
                              "(psum_scatter); under vmap, gather with an explicit stack instead")


all_gather_p.def_abstract_eval(_all_gather_abstract_eval)
all_gather_p.def_lowering(_lowering("all_gather"))
all_gather_p.def_batching(_all_gather_batch)
all_gather_p.batch_needs_axis = True
deflinear(all_gather_p, _all_gather_transpose)


def all_gather(x: Any, axis_name: Any, *, axis: int = 0, tiled: bool = False) -> Any:
    """Every member's ``x`` stacked along a new axis ``axis`` (concatenated if ``tiled``)."""
    axes = _axes_tuple(axis_name)
    n = axis_size(axis_name)
    return tree_util.map(lambda leaf: all_gather_p.bind(leaf, axes=axes, axis=axis, tiled=tiled, size=n), x)


# ----------------------------------------------------------------------------------------------
# axis_index / axis_size

axis_index_p = Primitive("axis_index")
axis_index_p.def_abstract_eval(lambda *, axis_name: ShapedArray((), np.dtype(np.int32), False))
axis_index_p.def_lowering(_lowering("axis_index"))


def _axis_index_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, axis_name: Any) -> tuple[Any, Any]:
    if trace.axis_name != axis_name:
        return axis_index_p.bind(axis_name=axis_name), None
    from .shape import iota
    return iota(np.int32, trace.axis_size), 0


axis_index_p.def_batching(_axis_index_batch)
axis_index_p.batch_needs_axis = True
defjvp_zero(axis_index_p)


def axis_index(axis_name: Any) -> Any:
    """This member's position along the named axis (an int32 scalar)."""
    return axis_index_p.bind(axis_name=axis_name)


# Sizes of named axes bound by shard_map (vmap's come from the trace chain).
mesh_axis_sizes: list[dict[Any, int]] = []


def axis_size(axis_name: Any) -> int:
    """The size of the named axis (or the product over several names)."""
    total = 1
    for name in _axes_tuple(axis_name):
        total *= _one_axis_size(name)
    return total


def _one_axis_size(name: Any) -> int:
    trace = trace_state.trace
    while trace is not None:
        if getattr(trace, "axis_name", None) == name and hasattr(trace, "axis_size"):
            return trace.axis_size
        trace = getattr(trace, "parent", None)
    for sizes in reversed(mesh_axis_sizes):
        if name in sizes:
            return sizes[name]
    raise _unbound(name, "axis_size")
