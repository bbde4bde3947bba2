"""``with_sharding_constraint``: pin the layout of an intermediate value inside a program."""

from __future__ import annotations

from typing import Any, Sequence

from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import tree as tree_util
from ..core import Primitive
from ..lowering import ir_type
from ..rules import Zero
from ._util import aval_of

__all__ = ["with_sharding_constraint"]

sharding_constraint_p = Primitive("sharding_constraint")


def _abstract_eval(x: Any, *, sharding: Any) -> Any:
    sharding._hlo(x.ndim)  # validates the spec against the rank
    return x


def _impl(x: Any, *, sharding: Any) -> Any:
    from ..dispatch import device_put
    return device_put(x, sharding)


def _lowering(ctx: Any, x: Any, *, sharding: Any) -> Any:
    aval = ctx.avals_in[0]
    op = hlo.CustomCallOp([ir_type(aval)], [x], call_target_name=ir.StringAttr.get("Sharding"),
                          has_side_effect=ir.BoolAttr.get(False))
    op.attributes["mhlo.sharding"] = ir.StringAttr.get(sharding._spec_string(aval.ndim))
    return op.result


def _jvp(primals: Sequence[Any], tangents: Sequence[Any], *, sharding: Any) -> tuple[Any, Any]:
    out = sharding_constraint_p.bind(primals[0], sharding=sharding)
    t = tangents[0]
    return out, t if type(t) is Zero else sharding_constraint_p.bind(t, sharding=sharding)


def _transpose(ct: Any, x: Any, *, sharding: Any) -> list[Any]:
    return [ct if type(ct) is Zero else sharding_constraint_p.bind(ct, sharding=sharding)]


def _batch(args: Sequence[Any], dims: Sequence[int | None], *, sharding: Any) -> tuple[Any, int | None]:
    from ..sharding import NamedSharding, PartitionSpec
    (x,), (d,) = args, dims
    if isinstance(sharding, NamedSharding):
        spec = list(sharding.spec) + [None] * (aval_of(x).ndim - 1 - len(sharding.spec))
        spec.insert(d, None)  # the batch dimension is not split
        sharding = NamedSharding(sharding.mesh, PartitionSpec(*spec))
        return sharding_constraint_p.bind(x, sharding=sharding), d
    return x, d


sharding_constraint_p.def_abstract_eval(_abstract_eval)
sharding_constraint_p.def_impl(_impl)
sharding_constraint_p.def_lowering(_lowering)
sharding_constraint_p.def_jvp(_jvp)
sharding_constraint_p.def_transpose(_transpose)
sharding_constraint_p.def_batching(_batch)


def with_sharding_constraint(x: Any, shardings: Any) -> Any:
    """``x`` (a pytree) laid out as ``shardings`` (one Sharding / PartitionSpec, or a matching
    tree); inside jit this guides XLA's partitioner.

    >>> import ember.core as ec
    >>> mesh = ec.make_mesh((ec.device_count(),), ("data",))
    >>> s = ec.sharding.NamedSharding(mesh, ec.sharding.P("data"))
    >>> y = ec.jit(lambda x: ec.lax.with_sharding_constraint(x * 2, s))(ec.numpy.ones(8))
    >>> y.sharding.shard_shape(y.shape) == s.shard_shape(y.shape), y.tolist()
    (True, [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    """
    from ..sharding import Sharding, to_sharding
    is_leaf = lambda s: isinstance(s, Sharding) or type(s).__name__ == "PartitionSpec"  # noqa: E731
    if is_leaf(shardings):
        sharding = to_sharding(shardings, "with_sharding_constraint")
        return tree_util.map(lambda leaf: sharding_constraint_p.bind(leaf, sharding=sharding), x)
    return tree_util.map(lambda leaf, s: sharding_constraint_p.bind(leaf, sharding=to_sharding(s, "with_sharding_constraint")),
                         x, shardings, is_leaf=None)
