"""``shard_map``: write the per-device program yourself (manual SPMD), with explicit collectives.

``shard_map(f, mesh=mesh, in_specs=P("data"), out_specs=P())`` runs ``f`` on each device's shard:
inputs are split by ``in_specs``, ``f`` sees per-shard shapes and may call ``psum``, ``all_gather``,
``ppermute``... over mesh axes, and outputs are reassembled by ``out_specs``. In the compiled
program the body is a *manual* region (XLA's ``SPMDFullToShardShape`` / ``SPMDShardToFullShape``
custom calls around it) and each collective is an XLA collective over the mesh axis's groups of
devices. ``pmap`` is a thin layer on top.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from . import tree as tree_util
from .core import Primitive, ShapedArray, get_aval, set_current_trace
from .jaxpr import ClosedJaxpr, eval_jaxpr
from .jit import closure_convert
from .lowering import ir_type, jaxpr_subcomp
from .primitives import collectives
from .rules import Zero, instantiate, is_undefined
from .sharding import Mesh, NamedSharding, PartitionSpec, current_mesh
from .tracing import trace_to_jaxpr

__all__ = ["shard_map", "pmap", "shard_map_p"]

_registry = tree_util.registry
_is_spec = lambda x: x is None or isinstance(x, PartitionSpec)  # noqa: E731


def _shard_shape(name: str, shape: tuple[int, ...], spec: PartitionSpec, mesh: Mesh, what: str) -> tuple[int, ...]:
    if len(spec) > len(shape):
        raise ValueError(f"shard_map: {what} spec {spec} has {len(spec)} entries for an array of rank {len(shape)}")
    out = list(shape)
    for d in range(len(shape)):
        n = math.prod(mesh.shape[a] for a in spec.axes_of(d))
        if shape[d] % n:
            raise ValueError(f"shard_map: {what} of shape {shape}: dimension {d} (size {shape[d]}) is not divisible "
                             f"by the {n} shards of mesh axes {spec.axes_of(d)}")
        out[d] = shape[d] // n
    return tuple(out)


def _global_shape(shape: tuple[int, ...], spec: PartitionSpec, mesh: Mesh) -> tuple[int, ...]:
    return tuple(n * math.prod(mesh.shape[a] for a in spec.axes_of(d)) for d, n in enumerate(shape))


def _unmentioned(spec: PartitionSpec, mesh: Mesh) -> tuple[str, ...]:
    used = {a for d in range(len(spec)) for a in spec.axes_of(d)}
    return tuple(a for a in mesh.axis_names if a not in used)


# ----------------------------------------------------------------------------------------------
# The primitive

shard_map_p = Primitive("shard_map", multiple_results=True)


def _abstract_eval(*avals: ShapedArray, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: tuple, out_specs: tuple,
                   check_rep: bool) -> list[ShapedArray]:
    return [a.update(shape=_global_shape(a.shape, s, mesh)) for a, s in zip(jaxpr.out_avals, out_specs)]


@functools.lru_cache(maxsize=256)
def _impl_fn(jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: tuple, out_specs: tuple, check_rep: bool) -> Any:
    from .jit import jit
    params = dict(jaxpr=jaxpr, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=check_rep)
    return jit(lambda *args: tuple(shard_map_p.bind(*args, **params)),
               in_shardings=tuple(NamedSharding(mesh, s) for s in in_specs),
               out_shardings=tuple(NamedSharding(mesh, s) for s in out_specs))


def _impl(*args: Any, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: tuple, out_specs: tuple, check_rep: bool) -> list[Any]:
    return list(_impl_fn(jaxpr, mesh, in_specs, out_specs, check_rep)(*args))


class ShardMapContext:
    """What collectives lowered inside a shard_map body need: the mesh (partition numbering =
    position in ``mesh.devices.flat``)."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh
        self.positions = np.arange(mesh.size).reshape(mesh.axis_sizes)

    def groups(self, axes: Sequence[str]) -> list[list[int]]:
        """Partition groups that vary along ``axes`` (one group per setting of the other axes)."""
        names = self.mesh.axis_names
        order = [names.index(a) for a in names if a not in axes] + [names.index(a) for a in axes]
        moved = self.positions.transpose(order)
        size = math.prod(self.mesh.shape[a] for a in axes)
        return moved.reshape(-1, size).tolist()

    def group_size(self, axes: Sequence[str]) -> int:
        return math.prod(self.mesh.shape[a] for a in axes)


def _custom_call(name: str, x: Any, result_type: Any, sharding: str) -> Any:
    op = hlo.CustomCallOp([result_type], [x], call_target_name=ir.StringAttr.get(name),
                          has_side_effect=ir.BoolAttr.get(False), backend_config=ir.StringAttr.get(""))
    op.attributes["mhlo.sharding"] = ir.StringAttr.get(sharding)
    return op.result


def _lowering(ctx: Any, *args: Any, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: tuple, out_specs: tuple,
              check_rep: bool) -> list[Any]:
    module = ctx.module
    shards = []
    for x, aval_in, aval_body, spec in zip(args, ctx.avals_in, jaxpr.in_avals, in_specs):
        full = NamedSharding(mesh, spec)._spec_string(aval_in.ndim)
        x = _custom_call("Sharding", x, ir_type(aval_in), full)
        shards.append(_custom_call("SPMDFullToShardShape", x, ir_type(aval_body), "{manual}"))
    previous = getattr(module, "axis_context", None)
    module.axis_context = ShardMapContext(mesh)
    try:
        outs = jaxpr_subcomp(module, jaxpr.jaxpr, [], shards)
    finally:
        module.axis_context = previous
    results = []
    for y, aval_body, aval_out, spec in zip(outs, jaxpr.out_avals, ctx.avals_out, out_specs):
        y = _custom_call("Sharding", y, ir_type(aval_body), "{manual}")
        results.append(_custom_call("SPMDShardToFullShape", y, ir_type(aval_out),
                                    NamedSharding(mesh, spec)._spec_string(aval_out.ndim)))
    return results


def _jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: tuple,
         out_specs: tuple, check_rep: bool) -> tuple[list[Any], list[Any]]:
    from .transforms.jvp import jvp_jaxpr
    nonzeros = [type(t) is not Zero for t in tangents]
    with _axes_bound(mesh):
        new, out_nonzero = jvp_jaxpr(jaxpr, nonzeros, instantiate_outputs=False)
    specs_in = in_specs + tuple(s for s, nz in zip(in_specs, nonzeros) if nz)
    specs_out = out_specs + tuple(s for s, nz in zip(out_specs, out_nonzero) if nz)
    outs = shard_map_p.bind(*primals, *[t for t in tangents if type(t) is not Zero], jaxpr=new, mesh=mesh,
                            in_specs=specs_in, out_specs=specs_out, check_rep=check_rep)
    n = len(out_specs)
    it = iter(outs[n:])
    out_avals = _abstract_eval(jaxpr=jaxpr, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=check_rep)
    return list(outs[:n]), [next(it) if nz else Zero(a.strip_weak_type()) for nz, a in zip(out_nonzero, out_avals)]


def _transpose(cts: Sequence[Any], *args: Any, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: tuple, out_specs: tuple,
               check_rep: bool) -> list[Any]:
    from .primitives.elementwise import div
    from .transforms.ad import backward_pass
    undefined = [is_undefined(a) for a in args]
    known = [a for a, u in zip(args, undefined) if not u]
    known_specs = tuple(s for s, u in zip(in_specs, undefined) if not u)
    nonzero = [type(c) is not Zero for c in cts]
    nz_cts = [c for c in cts if type(c) is not Zero]
    if not nz_cts:
        return [Zero(a.aval) if u else None for a, u in zip(args, undefined)]
    ct_specs = tuple(s for s, nz in zip(out_specs, nonzero) if nz)
    body_in_avals = [a for a, u in zip(jaxpr.in_avals, undefined) if not u] + \
        [a.strip_weak_type() for a, nz in zip(jaxpr.out_avals, nonzero) if nz]
    linear_specs = tuple(s for s, u in zip(in_specs, undefined) if u)

    def body(*xs: Any) -> list[Any]:
        known_it = iter(xs[:len(known)])
        ct_it = iter(xs[len(known):])
        primals = [_undefined(a) if u else next(known_it) for a, u in zip(jaxpr.in_avals, undefined)]
        body_cts = []
        for nz, spec in zip(nonzero, out_specs):
            if not nz:
                body_cts.append(Zero(ShapedArray((), np.dtype(np.float32))))
                continue
            ct = next(ct_it)
            # an output replicated over some mesh axes has one cotangent, seen by each device:
            # share it out so that the transposed collectives sum it back once
            n = math.prod(mesh.shape[a] for a in _unmentioned(spec, mesh))
            body_cts.append(div(ct, np.array(n, get_aval(ct).dtype)) if n > 1 else ct)
        body_cts = [c if type(c) is not Zero else Zero(a.strip_weak_type()) for c, a in zip(body_cts, jaxpr.out_avals)]
        cts_in = backward_pass(jaxpr.jaxpr, jaxpr.consts, primals, body_cts)
        outs = []
        for ct, u, spec in zip(cts_in, undefined, in_specs):
            if not u:
                continue
            ct = instantiate(ct)
            missing = _unmentioned(spec, mesh)
            outs.append(collectives.psum_p.bind(ct, axes=missing) if missing else ct)
        return outs

    with _axes_bound(mesh):
        t_jaxpr = trace_to_jaxpr(body, body_in_avals)
    outs = iter(shard_map_p.bind(*known, *nz_cts, jaxpr=t_jaxpr, mesh=mesh, in_specs=known_specs + ct_specs,
                                 out_specs=linear_specs, check_rep=check_rep))
    return [next(outs) if u else None for u in undefined]


def _undefined(aval: ShapedArray) -> Any:
    from .rules import UndefinedPrimal
    return UndefinedPrimal(aval)


def _batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, jaxpr: ClosedJaxpr, mesh: Mesh,
           in_specs: tuple, out_specs: tuple, check_rep: bool) -> tuple[list[Any], list[int]]:
    from .rules import moveaxis_to_front
    from .transforms.batching import batch_jaxpr
    moved = [moveaxis_to_front(a, d) for a, d in zip(args, dims)]
    new_dims = [None if d is None else 0 for d in dims]
    with _axes_bound(mesh):
        new, _ = batch_jaxpr(jaxpr, trace.axis_size, new_dims, out_dims=0, axis_name=trace.axis_name)
    specs_in = tuple(s if d is None else PartitionSpec(None, *s) for s, d in zip(in_specs, new_dims))
    specs_out = tuple(PartitionSpec(None, *s) for s in out_specs)
    outs = shard_map_p.bind(*moved, jaxpr=new, mesh=mesh, in_specs=specs_in, out_specs=specs_out, check_rep=check_rep)
    return outs, [0] * len(outs)


def _partial_eval(trace: Any, args: Sequence[Any], *, jaxpr: ClosedJaxpr, mesh: Mesh, in_specs: tuple,
                  out_specs: tuple, check_rep: bool) -> list[Any]:
    """Known inputs -> known outputs + residuals (one block per device); the unknown part reads
    them back shard by shard."""
    from .primitives.shape import reshape
    from .transforms.partial_eval import partial_eval_jaxpr
    unknowns = [trace.owns(a) for a in args]
    with _axes_bound(mesh):
        known, unknown, out_unknowns, num_res = partial_eval_jaxpr(jaxpr, unknowns)
    all_axes = PartitionSpec(tuple(mesh.axis_names))
    n_known_out = len(known.out_avals) - num_res
    res_avals = known.out_avals[n_known_out:]

    def known_body(*xs: Any) -> list[Any]:  # residual r -> r[None]: one row per device
        outs = eval_jaxpr(known.jaxpr, known.consts, *xs)
        return outs[:n_known_out] + [reshape(r, (1,) + get_aval(r).shape) for r in outs[n_known_out:]]

    def unknown_body(*xs: Any) -> list[Any]:
        res = [reshape(r, get_aval(r).shape[1:]) for r in xs[:num_res]]
        return eval_jaxpr(unknown.jaxpr, unknown.consts, *res, *xs[num_res:])

    known_in_specs = tuple(s for s, u in zip(in_specs, unknowns) if not u)
    unknown_in_specs = tuple(s for s, u in zip(in_specs, unknowns) if u)
    known_out_specs = tuple(s for s, u in zip(out_specs, out_unknowns) if not u)
    unknown_out_specs = tuple(s for s, u in zip(out_specs, out_unknowns) if u)
    with _axes_bound(mesh):
        known_wrapped = trace_to_jaxpr(known_body, known.in_avals)
        unknown_wrapped = trace_to_jaxpr(
            unknown_body, [a.update(shape=(1,) + a.shape) for a in res_avals] +
            [a for a, u in zip(jaxpr.in_avals, unknowns) if u])
    known_args = [a for a, u in zip(args, unknowns) if not u]
    with set_current_trace(trace.parent):
        known_outs = shard_map_p.bind(*known_args, jaxpr=known_wrapped, mesh=mesh, in_specs=known_in_specs,
                                      out_specs=known_out_specs + (all_axes,) * num_res, check_rep=check_rep)
    residuals = known_outs[n_known_out:]
    unknown_args = [a for a, u in zip(args, unknowns) if u]
    unknown_outs = trace.record(shard_map_p, [*residuals, *unknown_args], dict(
        jaxpr=unknown_wrapped, mesh=mesh, in_specs=(all_axes,) * num_res + unknown_in_specs,
        out_specs=unknown_out_specs, check_rep=check_rep))
    known_it, unknown_it = iter(known_outs[:n_known_out]), iter(unknown_outs)
    return [next(unknown_it) if u else next(known_it) for u in out_unknowns]


shard_map_p.def_abstract_eval(_abstract_eval)
shard_map_p.def_impl(_impl)
shard_map_p.def_lowering(_lowering)
shard_map_p.def_jvp(_jvp)
shard_map_p.def_transpose(_transpose)
shard_map_p.def_batching(_batch)
shard_map_p.batch_needs_axis = True
shard_map_p.partial_eval_rule = _partial_eval


class _axes_bound:
    """Mesh axis sizes visible to axis_size()/all_gather while tracing a body."""

    def __init__(self, mesh: Mesh) -> None:
        self.mesh = mesh

    def __enter__(self) -> None:
        collectives.mesh_axis_sizes.append(self.mesh.shape)

    def __exit__(self, *exc: Any) -> None:
        collectives.mesh_axis_sizes.pop()


# ----------------------------------------------------------------------------------------------
# Collective lowerings inside a shard_map body

def _context(ctx: Any, name: str, axes: Sequence[Any]) -> ShardMapContext:
    context = getattr(ctx.module, "axis_context", None)
    if context is None:
        raise collectives._unbound(axes[0] if len(axes) == 1 else tuple(axes), f"lax.{name}")
    for a in axes:
        if a not in context.mesh.axis_names:
            raise NameError(f"lax.{name}: axis {a!r} is not an axis of the shard_map mesh {context.mesh}")
    return context


_channel_ids = itertools.count(1)


def _channel() -> Any:
    return hlo.ChannelHandle.get(next(_channel_ids), 1)


def _groups_attr(groups: list[list[int]]) -> Any:
    return ir.DenseIntElementsAttr.get(np.asarray(groups, dtype=np.int64))


def _all_reduce(ctx: Any, x: Any, axes: tuple, combine: str) -> Any:
    context = _context(ctx, f"p{combine}", axes)
    aval = ctx.avals_in[0]
    op = hlo.AllReduceOp([ir_type(aval)], [x], _groups_attr(context.groups(axes)), channel_handle=_channel(),
                         use_global_device_ids=True)
    scalar = ir_type(ShapedArray((), aval.dtype))
    block = op.regions[0].blocks.append(scalar, scalar)
    with ir.InsertionPoint(block):
        a, b = block.arguments
        if combine == "sum":
            r = hlo.OrOp(a, b) if aval.dtype == np.bool_ else hlo.AddOp(a, b)
        elif combine == "max":
            r = hlo.MaxOp(a, b)
        else:
            r = hlo.MinOp(a, b)
        hlo.ReturnOp([r.result])
    return op.results[0]


def _all_gather(ctx: Any, x: Any, *, axes: tuple, axis: int, tiled: bool, size: int) -> Any:
    context = _context(ctx, "all_gather", axes)
    aval_in, aval_out = ctx.avals_in[0], ctx.avals_out[0]
    if not tiled:
        shape = list(aval_in.shape)
        shape.insert(axis, 1)
        x = hlo.ReshapeOp(ir_type(aval_in.update(shape=tuple(shape))), x).result
    return hlo.AllGatherOp([ir_type(aval_out)], [x], axis, _groups_attr(context.groups(axes)),
                           channel_handle=_channel(), use_global_device_ids=True).results[0]


def _psum_scatter(ctx: Any, x: Any, *, axes: tuple, scatter_dimension: int, tiled: bool, size: int) -> Any:
    context = _context(ctx, "psum_scatter", axes)
    aval_in, aval_out = ctx.avals_in[0], ctx.avals_out[0]
    shape = list(aval_in.shape)
    shape[scatter_dimension] //= size
    scattered = ShapedArray(tuple(shape), aval_in.dtype)
    op = hlo.ReduceScatterOp(ir_type(scattered), x, scatter_dimension, _groups_attr(context.groups(axes)),
                             channel_handle=_channel(), use_global_device_ids=True)
    scalar = ir_type(ShapedArray((), aval_in.dtype))
    block = op.regions[0].blocks.append(scalar, scalar)
    with ir.InsertionPoint(block):
        a, b = block.arguments
        hlo.ReturnOp([hlo.AddOp(a, b).result])
    out = op.result
    if not tiled:
        out = hlo.ReshapeOp(ir_type(aval_out), out).result
    return out


def _ppermute(ctx: Any, x: Any, *, axes: tuple, perm: tuple) -> Any:
    context = _context(ctx, "ppermute", axes)
    pairs = []
    for group in context.groups(axes):
        for src, dst in perm:
            pairs.append([group[src], group[dst]])
    attr = ir.DenseIntElementsAttr.get(np.asarray(pairs, dtype=np.int64).reshape(-1, 2))
    return hlo.CollectivePermuteOp(x, attr, channel_handle=_channel()).result


def _all_to_all(ctx: Any, x: Any, *, axes: tuple, split_axis: int, concat_axis: int, tiled: bool, size: int) -> Any:
    context = _context(ctx, "all_to_all", axes)
    aval_out = ctx.avals_out[0]
    op = hlo.AllToAllOp([x], split_axis, concat_axis, size, _groups_attr(context.groups(axes)),
                        channel_handle=_channel(), results=[ir_type(aval_out)] if tiled else None)
    out = op.results[0]
    if not tiled:  # the split axis had exactly `size` entries: the result keeps the shape
        out = hlo.ReshapeOp(ir_type(aval_out), out).result
    return out


def _axis_index(ctx: Any, *, axis_name: Any) -> Any:
    context = _context(ctx, "axis_index", (axis_name,))
    names = context.mesh.axis_names
    stride = math.prod(context.mesh.shape[a] for a in names[names.index(axis_name) + 1:])
    size = context.mesh.shape[axis_name]
    u32 = ir.RankedTensorType.get([], ir.IntegerType.get_unsigned(32))
    pid = hlo.PartitionIdOp().result
    stride_c = hlo.ConstantOp(ir.DenseElementsAttr.get(np.array(stride, np.uint32), type=u32.element_type, shape=[])).result
    size_c = hlo.ConstantOp(ir.DenseElementsAttr.get(np.array(size, np.uint32), type=u32.element_type, shape=[])).result
    index = hlo.RemOp(hlo.DivOp(pid, stride_c).result, size_c).result
    return hlo.ConvertOp(ir.RankedTensorType.get([], ir.IntegerType.get_signless(32)), index).result


collectives.collective_lowerings.update({
    "psum": lambda ctx, x, *, axes: _all_reduce(ctx, x, axes, "sum"),
    "pmax": lambda ctx, x, *, axes: _all_reduce(ctx, x, axes, "max"),
    "pmin": lambda ctx, x, *, axes: _all_reduce(ctx, x, axes, "min"),
    "all_gather": _all_gather,
    "psum_scatter": _psum_scatter,
    "ppermute": _ppermute,
    "all_to_all": _all_to_all,
    "axis_index": _axis_index,
})


# ----------------------------------------------------------------------------------------------
# The public functions

def shard_map(f: Callable[..., Any], mesh: Mesh | None = None, in_specs: Any = None, out_specs: Any = None, *,
              check_rep: bool = True, check_vma: bool | None = None, auto: frozenset = frozenset(),
              axis_names: Any = None) -> Callable[..., Any]:
    """Map ``f`` over the shards of its inputs, one call per device of ``mesh``.

    >>> import ember.core as ec
    >>> from ember.core.sharding import P
    >>> mesh = ec.make_mesh((ec.device_count(),), ("i",))   # every device on one axis
    >>> total = ec.jit(ec.shard_map(lambda x: ec.lax.psum(x.sum(), "i"), mesh=mesh, in_specs=P("i"), out_specs=P()))
    >>> float(total(ec.numpy.arange(8.0)))   # each device sums its block, psum adds the blocks
    28.0
    """
    if auto:
        raise NotImplementedError("shard_map: auto (partially manual) axes are not supported yet")
    check = check_rep if check_vma is None else check_vma

    @functools.wraps(f)
    def mapped(*args: Any) -> Any:
        m = mesh if mesh is not None else current_mesh()
        if m is None:
            raise ValueError("shard_map: pass mesh=... or call inside `with mesh:`")
        if in_specs is None or out_specs is None:
            raise ValueError("shard_map: in_specs and out_specs are required")
        leaves, in_tree = _registry.flatten(args)
        specs = _broadcast_specs(in_specs, args, "in_specs")
        body_avals = []
        for i, (x, spec) in enumerate(zip(leaves, specs)):
            aval = get_aval(x)
            body_avals.append(aval.update(shape=_shard_shape(f"arg {i}", aval.shape, spec, m, f"argument {i}")))
        cell: list[Any] = []

        def flat(*xs: Any) -> list[Any]:
            out = f(*in_tree.unflatten(xs))
            out_leaves, out_tree = _registry.flatten(out)
            cell.append(out_tree)
            return out_leaves

        with _axes_bound(m):
            closed = trace_to_jaxpr(flat, body_avals)
        converted, consts = closure_convert(closed)
        out_tree = cell[0]
        out_specs_flat = _broadcast_specs(out_specs, out_tree.unflatten([0] * out_tree.num_leaves), "out_specs")
        const_specs = tuple(PartitionSpec() for _ in consts)
        outs = shard_map_p.bind(*consts, *leaves, jaxpr=converted, mesh=m, in_specs=const_specs + tuple(specs),
                                out_specs=tuple(out_specs_flat), check_rep=check)
        return out_tree.unflatten(outs)

    return mapped


def _broadcast_specs(specs: Any, tree: Any, what: str) -> list[PartitionSpec]:
    if isinstance(specs, PartitionSpec) or specs is None:
        n = len(_registry.flatten(tree)[0])
        return [specs if specs is not None else PartitionSpec()] * n
    if isinstance(specs, list):
        specs = tuple(specs)
    try:
        expanded = tree_util.broadcast(specs, tree, is_leaf=_is_spec)
    except (ValueError, TypeError) as e:
        raise ValueError(f"shard_map: {what} {specs!r} does not match the structure {tree_util.structure(tree)}: {e}") from None
    out = _registry.flatten(expanded, _is_spec)[0]
    return [PartitionSpec() if s is None else s for s in out]


def pmap(fun: Callable[..., Any], axis_name: Any = None, *, in_axes: Any = 0, out_axes: Any = 0,
         devices: Sequence[Any] | None = None, static_broadcasted_argnums: Any = (),
         donate_argnums: Any = ()) -> Callable[..., Any]:
    """Map ``fun`` over the leading axis of its inputs, one slice per device (``jax.pmap``),
    written as ``jit`` of ``shard_map`` over a one-axis mesh.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> n = ec.local_device_count()
    >>> f = ec.pmap(lambda x: x / ec.lax.psum(x, "i"), axis_name="i")
    >>> float(f(jnp.ones(n)).sum())
    1.0
    """
    from . import api
    from .jit import jit
    name = axis_name if axis_name is not None else "_pmap"
    if in_axes not in (0, None) and not isinstance(in_axes, (tuple, list)):
        raise NotImplementedError("pmap: in_axes must be 0, None or a tuple of those")
    if out_axes != 0:
        raise NotImplementedError("pmap: only out_axes=0 is supported")

    @functools.wraps(fun)
    def mapped(*args: Any) -> Any:
        axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
        sizes = {get_aval(leaf).shape[0] for a, ax in zip(args, axes) if ax == 0 for leaf in _registry.flatten(a)[0]}
        if len(sizes) != 1:
            raise ValueError(f"pmap: mapped arguments must share one leading size, got {sorted(sizes)}")
        n = sizes.pop()
        devs = list(devices) if devices is not None else api.local_devices()[:n]
        if len(devs) < n:
            raise ValueError(f"pmap: the leading axis has size {n} but only {len(devs)} devices are available")
        mesh = Mesh(np.array(devs[:n], dtype=object), (name,))
        specs = tuple(PartitionSpec(name) if ax == 0 else PartitionSpec() for ax in axes)

        def body(*shards: Any) -> Any:
            from .primitives.shape import expand_dims, squeeze
            squeezed = [tree_util.map(lambda s: squeeze(s, (0,)), sh) if ax == 0 else sh for sh, ax in zip(shards, axes)]
            out = fun(*squeezed)
            return tree_util.map(lambda o: expand_dims(o, (0,)), out)

        return jit(shard_map(body, mesh=mesh, in_specs=specs, out_specs=PartitionSpec(name)))(*args)

    return mapped
