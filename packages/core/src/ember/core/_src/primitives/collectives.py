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
from ..rules import defjvp_zero, deflinear, moveaxis_to_front
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
    """Sum of ``x`` (a pytree) over the named axis (or axes); every member gets the total.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> import ember.core as ec
    >>> ec.vmap(lambda x: lax.psum(x, "i"), axis_name="i")(jnp.arange(4.0)).tolist()   # every member gets the total
    [6.0, 6.0, 6.0, 6.0]
    """
    axes = _axes_tuple(axis_name)
    return tree_util.map(lambda leaf: psum_p.bind(leaf, axes=axes), x)


def pmean(x: Any, axis_name: Any) -> Any:
    """Mean of ``x`` over the named axis (or axes).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> import ember.core as ec
    >>> ec.vmap(lambda x: x - lax.pmean(x, "i"), axis_name="i")(jnp.arange(4.0)).tolist()
    [-1.5, -0.5, 0.5, 1.5]
    """
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


all_gather_p.def_abstract_eval(_all_gather_abstract_eval)
all_gather_p.def_lowering(_lowering("all_gather"))
all_gather_p.def_batching(_all_gather_batch)
all_gather_p.batch_needs_axis = True


def all_gather(x: Any, axis_name: Any, *, axis: int = 0, tiled: bool = False) -> Any:
    """Every member's ``x`` stacked along a new axis ``axis`` (concatenated if ``tiled``).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> import ember.core as ec
    >>> ec.vmap(lambda x: lax.all_gather(x, "i"), axis_name="i")(jnp.arange(3)).tolist()
    [[0, 1, 2], [0, 1, 2], [0, 1, 2]]
    """
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
    """This member's position along the named axis (an int32 scalar).

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> import ember.core as ec
    >>> ec.vmap(lambda x: x * lax.axis_index("i"), axis_name="i")(jnp.ones(4, jnp.int32)).tolist()
    [0, 1, 2, 3]
    """
    return axis_index_p.bind(axis_name=axis_name)


# Sizes of named axes bound by an enclosing vmap or shard_map, innermost last. Traces of inner
# programs (a jit body under vmap) do not link to the vmap's trace, so the sizes live here too.
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


# ----------------------------------------------------------------------------------------------
# psum_scatter, ppermute, all_to_all

psum_scatter_p = Primitive("psum_scatter")


def _psum_scatter_abstract_eval(x: ShapedArray, *, axes: tuple, scatter_dimension: int, tiled: bool,
                                size: int) -> ShapedArray:
    shape = list(x.shape)
    if tiled:
        if shape[scatter_dimension] % size:
            raise ValueError(f"lax.psum_scatter: dimension {scatter_dimension} of size {shape[scatter_dimension]} "
                             f"is not divisible by the axis size {size}")
        shape[scatter_dimension] //= size
    else:
        if shape[scatter_dimension] != size:
            raise ValueError(f"lax.psum_scatter: dimension {scatter_dimension} must have the axis size {size} "
                             f"(use tiled=True to split a larger dimension), got {shape[scatter_dimension]}")
        del shape[scatter_dimension]
    return x.update(shape=tuple(shape))


def _psum_scatter_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, axes: tuple,
                        scatter_dimension: int, tiled: bool, size: int) -> tuple[Any, int | None]:
    (x,), (d,) = args, dims
    if trace.axis_name not in axes:
        if d is None:
            return psum_scatter_p.bind(x, axes=axes, scatter_dimension=scatter_dimension, tiled=tiled, size=size), None
        x = moveaxis_to_front(x, d)
        return psum_scatter_p.bind(x, axes=axes, scatter_dimension=scatter_dimension + 1, tiled=tiled, size=size), 0
    from ..rules import broadcast_batched
    from .reductions import reduce_sum
    from .shape import reshape
    x = broadcast_batched(x, d, trace.axis_size)
    total = reduce_sum(x, (0,))  # the sum every member contributes to
    shape = list(aval_of(total).shape)
    n = trace.axis_size
    if tiled:  # member i gets block i of scatter_dimension: split it into (n, block) and map the n
        block = shape[scatter_dimension] // n
        split = shape[:scatter_dimension] + [n, block] + shape[scatter_dimension + 1:]
        return reshape(total, tuple(split)), scatter_dimension
    return total, scatter_dimension


psum_scatter_p.def_abstract_eval(_psum_scatter_abstract_eval)
psum_scatter_p.def_lowering(_lowering("psum_scatter"))
psum_scatter_p.def_batching(_psum_scatter_batch)
psum_scatter_p.batch_needs_axis = True
deflinear(psum_scatter_p, lambda ct, x, *, axes, scatter_dimension, tiled, size: [
    all_gather_p.bind(ct, axes=axes, axis=scatter_dimension, tiled=tiled, size=size)])


def _all_gather_transpose_to_scatter(ct: Any, x: Any, *, axes: tuple, axis: int, tiled: bool, size: int) -> list[Any]:
    return [psum_scatter_p.bind(ct, axes=axes, scatter_dimension=axis, tiled=tiled, size=size)]


deflinear(all_gather_p, _all_gather_transpose_to_scatter)


def psum_scatter(x: Any, axis_name: Any, *, scatter_dimension: int = 0, tiled: bool = False) -> Any:
    """Sum over the named axis, then give member i only block i along ``scatter_dimension``."""
    axes = _axes_tuple(axis_name)
    n = axis_size(axis_name)
    return tree_util.map(lambda leaf: psum_scatter_p.bind(leaf, axes=axes, scatter_dimension=scatter_dimension,
                                                          tiled=tiled, size=n), x)


ppermute_p = Primitive("ppermute")
ppermute_p.def_abstract_eval(lambda x, *, axes, perm: x)
ppermute_p.def_lowering(_lowering("ppermute"))
deflinear(ppermute_p, lambda ct, x, *, axes, perm: [ppermute_p.bind(ct, axes=axes, perm=tuple((d, s) for s, d in perm))])


def _ppermute_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, axes: tuple,
                    perm: tuple) -> tuple[Any, int | None]:
    (x,), (d,) = args, dims
    if trace.axis_name not in axes:
        return ppermute_p.bind(x, axes=axes, perm=perm), d
    from ..rules import broadcast_batched
    from .elementwise import full_like
    from .shape import concatenate, index_in_dim
    x = broadcast_batched(x, d, trace.axis_size)
    sources = {dst: src for src, dst in perm}
    zero = full_like(index_in_dim(x, 0, 0), 0)
    pieces = [index_in_dim(x, sources[i], 0) if i in sources else zero for i in range(trace.axis_size)]
    return concatenate(pieces, 0), 0


ppermute_p.def_batching(_ppermute_batch)
ppermute_p.batch_needs_axis = True


def ppermute(x: Any, axis_name: Any, perm: Sequence[tuple[int, int]]) -> Any:
    """Send member ``src``'s value to member ``dst`` for each (src, dst); members nobody sends to
    get zeros.

    >>> import ember.core.lax as lax, ember.core.numpy as jnp
    >>> import ember.core as ec
    >>> shift = lambda x: lax.ppermute(x, "i", perm=[(0, 1), (1, 2), (2, 0)])   # member 0 sends to 1, ...
    >>> ec.vmap(shift, axis_name="i")(jnp.array([10, 20, 30])).tolist()
    [30, 10, 20]
    """
    axes = _axes_tuple(axis_name)
    perm = tuple((int(s), int(d)) for s, d in perm)
    if len({d for _, d in perm}) != len(perm) or len({s for s, _ in perm}) != len(perm):
        raise ValueError(f"lax.ppermute: perm {perm} sends from or to a member more than once")
    return tree_util.map(lambda leaf: ppermute_p.bind(leaf, axes=axes, perm=perm), x)


all_to_all_p = Primitive("all_to_all")


def _all_to_all_abstract_eval(x: ShapedArray, *, axes: tuple, split_axis: int, concat_axis: int, tiled: bool,
                              size: int) -> ShapedArray:
    shape = list(x.shape)
    if shape[split_axis] % size:
        raise ValueError(f"lax.all_to_all: split_axis {split_axis} of size {shape[split_axis]} is not divisible "
                         f"by the axis size {size}")
    if tiled:
        shape[split_axis] //= size
        shape[concat_axis] *= size
    else:
        if shape[split_axis] != size:
            raise ValueError(f"lax.all_to_all: split_axis {split_axis} must have the axis size {size}, "
                             f"got {shape[split_axis]} (or pass tiled=True)")
    return x.update(shape=tuple(shape))


all_to_all_p.def_abstract_eval(_all_to_all_abstract_eval)
all_to_all_p.def_lowering(_lowering("all_to_all"))
deflinear(all_to_all_p, lambda ct, x, *, axes, split_axis, concat_axis, tiled, size: [
    all_to_all_p.bind(ct, axes=axes, split_axis=concat_axis, concat_axis=split_axis, tiled=tiled, size=size)])


def all_to_all(x: Any, axis_name: Any, split_axis: int, concat_axis: int, *, tiled: bool = False) -> Any:
    """Split ``x`` along ``split_axis`` into one block per member, send block j to member j, and
    concatenate what arrives along ``concat_axis``."""
    axes = _axes_tuple(axis_name)
    n = axis_size(axis_name)
    return tree_util.map(lambda leaf: all_to_all_p.bind(leaf, axes=axes, split_axis=split_axis,
                                                        concat_axis=concat_axis, tiled=tiled, size=n), x)


__all__ += ["psum_scatter", "ppermute", "all_to_all"]
