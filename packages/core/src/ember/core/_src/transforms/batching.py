"""Vectorisation: the batching trace behind ``vmap``.

A ``BatchTracer`` holds a value with an extra dimension ``batch_dim`` (or ``None`` for a value
that is the same across the batch). ``process_primitive`` applies the primitive's batching
rule on the parent trace. Named axes (``axis_name``) are kept on the trace so collectives
(``psum`` ...) can find the axis they reduce over.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .. import tree as tree_util
from ..core import ShapedArray, Trace, Tracer, get_aval, set_current_trace, trace_state
from ..jaxpr import ClosedJaxpr, eval_jaxpr
from ..rules import broadcast_batched, moveaxis_to_front
from ..tracing import trace_to_jaxpr

__all__ = ["BatchTrace", "BatchTracer", "vmap", "batch_jaxpr", "vmap_flat", "moveaxis"]

_registry = tree_util.registry


class BatchTracer(Tracer):
    __slots__ = ("val", "batch_dim")

    def __init__(self, trace: "BatchTrace", val: Any, batch_dim: int) -> None:
        self._trace = trace
        self.val = val
        self.batch_dim = batch_dim

    @property
    def aval(self) -> ShapedArray:
        aval = get_aval(self.val)
        shape = aval.shape[:self.batch_dim] + aval.shape[self.batch_dim + 1:]
        return ShapedArray(shape, aval.dtype, aval.weak_type)


class BatchTrace(Trace):
    __slots__ = ("parent", "axis_size", "axis_name", "spmd_axis_name")

    def __init__(self, parent: Trace, axis_size: int, axis_name: Any = None, spmd_axis_name: Any = None) -> None:
        super().__init__()
        self.parent = parent
        self.axis_size = axis_size
        self.axis_name = axis_name
        self.spmd_axis_name = spmd_axis_name

    def __repr__(self) -> str:
        return f"BatchTrace(axis_size={self.axis_size}, axis_name={self.axis_name!r})"

    def split(self, x: Any) -> tuple[Any, int | None]:
        if type(x) is BatchTracer and x._trace is self:
            return x.val, x.batch_dim
        if isinstance(x, Tracer) and x._trace.finished:
            from ..core import raise_escaped_tracer
            raise_escaped_tracer(x)
        return x, None

    def wrap(self, val: Any, dim: int | None) -> Any:
        return val if dim is None else BatchTracer(self, val, dim)

    def process_primitive(self, primitive: Any, args: Sequence[Any], params: dict[str, Any]) -> Any:
        vals, dims = [], []
        for x in args:
            v, d = self.split(x)
            vals.append(v)
            dims.append(d)
        with set_current_trace(self.parent):
            if all(d is None for d in dims) and not getattr(primitive, "batch_needs_axis", False):
                return primitive.bind(*vals, **params)
            rule = primitive.batch_rule
            if rule is None:
                raise NotImplementedError(f"vmap of {primitive.name!r} is not implemented (no batching rule)")
            if getattr(primitive, "batch_needs_axis", False):
                out, out_dims = rule(self, vals, dims, **params)
            else:
                out, out_dims = rule(vals, dims, **params)
        if primitive.multiple_results:
            return [self.wrap(v, d) for v, d in zip(out, out_dims)]
        return self.wrap(out, out_dims)


class _named_axis:
    """Make a vmapped axis's size visible to axis_size() in programs traced inside it."""

    def __init__(self, name: Any, size: int) -> None:
        self.entry = None if name is None else {name: size}

    def __enter__(self) -> None:
        if self.entry is not None:
            from ..primitives.collectives import mesh_axis_sizes
            mesh_axis_sizes.append(self.entry)

    def __exit__(self, *exc: Any) -> None:
        if self.entry is not None:
            from ..primitives.collectives import mesh_axis_sizes
            mesh_axis_sizes.pop()


def find_axis(name: Any) -> BatchTrace | None:
    """The innermost enclosing vmap with ``axis_name == name`` (for collectives)."""
    trace = trace_state.trace
    while trace is not None:
        if isinstance(trace, BatchTrace) and trace.axis_name == name:
            return trace
        trace = getattr(trace, "parent", None)
    return None


def moveaxis(x: Any, src: int | None, dst: int | None, size: int) -> Any:
    """Move the batch dimension of ``x`` from ``src`` to ``dst`` (``None``: absent/broadcast)."""
    if src == dst:
        return x
    if dst is None:
        raise ValueError("vmap: an output with a batch dimension cannot have out_axes None")
    x = broadcast_batched(x, src, size)  # batch dim now at 0
    if dst == 0:
        return x
    from ..primitives.shape import transpose
    ndim = get_aval(x).ndim
    perm = list(range(1, ndim))
    perm.insert(dst, 0)
    return transpose(x, tuple(perm))


def vmap_flat(fun: Callable[..., Sequence[Any]], args: Sequence[Any], in_dims: Sequence[int | None],
              out_dims: Sequence[int | None] | Callable[[int], int | None], axis_size: int,
              axis_name: Any = None, spmd_axis_name: Any = None) -> list[Any]:
    trace = BatchTrace(trace_state.trace, axis_size, axis_name, spmd_axis_name)
    inputs = [trace.wrap(a, d) for a, d in zip(args, in_dims)]
    try:
        with set_current_trace(trace), _named_axis(axis_name, axis_size):
            outputs = list(fun(*inputs))
        results = []
        for i, out in enumerate(outputs):
            val, dim = trace.split(out)
            target = out_dims(i) if callable(out_dims) else out_dims[i]
            if target is None:
                if dim is not None:
                    raise ValueError(f"vmap: output {i} varies along the mapped axis, but out_axes is None for it")
                results.append(val)
            else:
                ndim = get_aval(val).ndim + (1 if dim is None else 0)
                if not -ndim <= target < ndim:
                    raise ValueError(f"vmap: out_axes {target} is out of range for output {i} of rank {ndim}")
                results.append(moveaxis(val, dim, target % ndim, axis_size))
    finally:
        trace.invalidate()
    return results


def batch_jaxpr(closed: ClosedJaxpr, axis_size: int, in_dims: Sequence[int | None],
                out_dims: Sequence[int | None] | int | None = 0, axis_name: Any = None) -> tuple[ClosedJaxpr, list[int | None]]:
    """A jaxpr computing ``closed`` over a batch: inputs batched along ``in_dims``.

    With ``out_dims=None`` each output keeps whatever batching it gets (``None`` when unbatched)
    and the chosen dims are returned; otherwise outputs are moved (or broadcast) to ``out_dims``.
    """
    in_avals = []
    for aval, d in zip(closed.in_avals, in_dims):
        if d is None:
            in_avals.append(aval)
        else:
            shape = list(aval.shape)
            shape.insert(d, axis_size)
            in_avals.append(aval.update(shape=tuple(shape)))
    chosen: list[int | None] = []

    def fun(*args: Any) -> list[Any]:
        trace = BatchTrace(trace_state.trace, axis_size, axis_name)
        inputs = [trace.wrap(a, d) for a, d in zip(args, in_dims)]
        try:
            with set_current_trace(trace), _named_axis(axis_name, axis_size):
                outputs = eval_jaxpr(closed.jaxpr, closed.consts, *inputs)
            chosen.clear()
            results = []
            for i, out in enumerate(outputs):
                val, dim = trace.split(out)
                if out_dims is None:
                    chosen.append(dim)
                    results.append(val)
                else:
                    target = out_dims if isinstance(out_dims, int) else out_dims[i]
                    chosen.append(target)
                    results.append(val if target is None and dim is None else moveaxis(val, dim, target, axis_size))
        finally:
            trace.invalidate()
        return results

    new = trace_to_jaxpr(fun, in_avals)
    return new, list(chosen)


# ----------------------------------------------------------------------------------------------
# The public vmap

def _flatten_axes(what: str, tree_def: Any, axes: Any, args_for_error: Any) -> list[int | None]:
    """Broadcast an in_axes/out_axes prefix tree over the leaves of ``tree_def``."""
    if axes is None or isinstance(axes, int):
        return [axes] * tree_def.num_leaves
    proxy = tree_def.unflatten([object()] * tree_def.num_leaves)
    try:
        expanded = tree_util.broadcast(axes, proxy, is_leaf=lambda x: x is None)
    except (ValueError, TypeError) as e:
        raise ValueError(f"vmap: {what} {axes!r} does not match the structure of the arguments ({tree_def}): {e}") from None
    flat = tree_util.leaves(expanded, is_leaf=lambda x: x is None)
    for a in flat:
        if a is not None and not isinstance(a, int):
            raise TypeError(f"vmap: {what} entries must be int or None, got {a!r}")
    return flat


def vmap(fun: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0, axis_name: Any = None,
         axis_size: int | None = None, spmd_axis_name: Any = None) -> Callable[..., Any]:
    """Vectorise ``fun`` over an axis of its inputs.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> ec.vmap(lambda x, y: x @ y)(jnp.ones((4, 3)), jnp.ones((4, 3))).tolist()
    [3.0, 3.0, 3.0, 3.0]
    """
    import functools

    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if not (in_axes is None or isinstance(in_axes, (int, tuple, dict)) or tree_util.leaves(in_axes) is not None):
        raise TypeError(f"vmap: in_axes must be an int, None or a tuple/pytree of those, got {in_axes!r}")

    @functools.wraps(fun)
    def vmapped(*args: Any, **kwargs: Any) -> Any:
        if kwargs:
            # keyword arguments are mapped over axis 0, as in JAX
            return vmap(lambda a, k: fun(*a, **k), in_axes=(in_axes if isinstance(in_axes, tuple) else in_axes, 0),
                        out_axes=out_axes, axis_name=axis_name, axis_size=axis_size,
                        spmd_axis_name=spmd_axis_name)(args, kwargs)
        leaves, in_tree = _registry.flatten(args)
        axes_tuple = in_axes if isinstance(in_axes, tuple) or in_axes is None or isinstance(in_axes, int) else in_axes
        if isinstance(axes_tuple, tuple) and len(axes_tuple) != len(args):
            raise ValueError(f"vmap: in_axes has {len(axes_tuple)} entries but the function was called with "
                             f"{len(args)} positional arguments")
        dims = _flatten_axes("in_axes", in_tree, axes_tuple, args)
        normalized = []
        sizes: dict[int, list[int]] = {}
        for i, (leaf, d) in enumerate(zip(leaves, dims)):
            if d is None:
                normalized.append(None)
                continue
            aval = get_aval(leaf)
            if not -aval.ndim <= d < aval.ndim:
                raise ValueError(f"vmap: in_axes {d} is out of range for an argument of rank {aval.ndim} "
                                 f"(shape {aval.shape})")
            d = d % aval.ndim
            normalized.append(d)
            sizes.setdefault(aval.shape[d], []).append(i)
        if len(sizes) > 1:
            paths = tree_util.flatten_with_path(args)[0]
            detail = "; ".join(f"size {n} for {', '.join('args' + tree_util.keystr(paths[i][0]) for i in idx[:3])}"
                               for n, idx in sizes.items())
            raise ValueError(f"vmap got inconsistent sizes for the mapped axis: {detail}")
        if axis_size is not None:
            if sizes and next(iter(sizes)) != axis_size:
                raise ValueError(f"vmap: axis_size={axis_size} but the mapped inputs have size {next(iter(sizes))}")
            size = axis_size
        elif sizes:
            size = next(iter(sizes))
        else:
            raise ValueError("vmap needs at least one mapped input (in_axes not all None) or axis_size")
        cell: list[Any] = []

        def flat(*xs: Any) -> list[Any]:
            out = fun(*in_tree.unflatten(xs))
            out_leaves, out_tree = _registry.flatten(out)
            cell.append(out_tree)
            return out_leaves

        def out_dim(i: int) -> int | None:
            if not cell[1:]:
                cell.append(_flatten_axes("out_axes", cell[0], out_axes, None))
            return cell[1][i]

        outs = vmap_flat(flat, leaves, normalized, out_dim, size, axis_name, spmd_axis_name)
        return cell[0].unflatten(outs)

    return vmapped


def move_to_front(x: Any, dim: int | None) -> Any:
    return moveaxis_to_front(x, dim)
