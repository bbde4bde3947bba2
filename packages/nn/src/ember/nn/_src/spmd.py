"""Sharding: logical axis names on parameters, logical -> mesh rules, partition specs.

A parameter carries logical axis names in its ``sharding_names`` metadata (set with
``nn.with_partitioning(init, ("embed", "mlp"))`` or a layer's ``kernel_metadata``). Rules map
logical names to mesh axes (``[("embed", None), ("mlp", "model"), ("batch", "data")]``); without
rules the names are taken as mesh axes directly. ``get_partition_spec(state)`` turns a State into
the same structure of ``PartitionSpec``s, ``get_named_sharding(state, mesh)`` into
``NamedSharding``s, ready for ``ec.jit(out_shardings=...)``:

    >>> import ember.core as ec
    >>> import ember.nn as nn
    >>> init = nn.with_partitioning(nn.initializers.lecun_normal(), ("embed", "mlp"))
    >>> layer = nn.eval_shape(lambda: nn.Linear(8, 16, kernel_init=init, rngs=nn.Rngs(0)))
    >>> with nn.logical_axis_rules([("embed", None), ("mlp", "model")]):
    ...     specs = nn.get_partition_spec(nn.state(layer))
    >>> specs["kernel"].value, specs["bias"].value
    (PartitionSpec(None, 'model'), PartitionSpec())
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Sequence

import ember.core as ec
from ember.core.sharding import NamedSharding, PartitionSpec

from .state import State, from_flat_state, to_flat_state
from .variables import Variable, _make, with_metadata

__all__ = [
    "logical_axis_rules", "get_logical_axis_rules", "logical_to_mesh_axes", "get_partition_spec",
    "get_named_sharding", "with_partitioning", "get_abstract_model", "abstract_with_sharding",
    "PARTITION_NAME", "create_sharded_model",
]

PARTITION_NAME = "partition_name"
_LOCAL = threading.local()

Rules = Sequence[tuple[str, Any]]


@contextlib.contextmanager
def logical_axis_rules(rules: Rules) -> Iterator[Rules]:
    """Context in which logical axis names are translated to mesh axes with ``rules``."""
    stack = getattr(_LOCAL, "stack", None)
    if stack is None:
        stack = _LOCAL.stack = []
    stack.append(tuple((name, axis) for name, axis in rules))
    try:
        yield rules
    finally:
        stack.pop()


def get_logical_axis_rules() -> Rules | None:
    stack = getattr(_LOCAL, "stack", None)
    return stack[-1] if stack else None


def logical_to_mesh_axes(names: Sequence[Any] | None, rules: Rules | None = None) -> PartitionSpec:
    """Translate logical axis names into a ``PartitionSpec`` of mesh axes.

    Each name takes the first rule for it whose mesh axis is not already used by an earlier
    dimension; names without a rule (and ``None``) are replicated. Without any rules the names are
    used as mesh axes.

    >>> import ember.nn as nn
    >>> nn.logical_to_mesh_axes(("batch", "embed"), [("batch", "data"), ("embed", "model")])
    PartitionSpec('data', 'model')
    """
    if names is None:
        return PartitionSpec()
    if rules is None:
        rules = get_logical_axis_rules()
    if rules is None:
        return PartitionSpec(*names)
    used: set = set()
    out = []
    for name in names:
        chosen = None
        if name is not None:
            for logical, mesh_axis in rules:
                if logical != name:
                    continue
                axes = mesh_axis if isinstance(mesh_axis, tuple) else (mesh_axis,)
                if mesh_axis is None or not any(a in used for a in axes):
                    chosen = mesh_axis
                    break
        if chosen is not None:
            used.update(chosen if isinstance(chosen, tuple) else (chosen,))
        out.append(chosen)
    return PartitionSpec(*out)


def _names_of(leaf: Any) -> Any:
    if isinstance(leaf, Variable):
        meta = leaf._meta
        return meta.get("sharding_names", meta.get(PARTITION_NAME))
    return None


def _map_leaves(tree: Any, f: Callable[[Any, Any], Any]) -> Any:
    """Apply ``f(names, leaf)`` to each Variable/array of a State (or any pytree of Variables)."""
    if isinstance(tree, Mapping):
        return from_flat_state([(p, f(_names_of(v), v)) for p, v in to_flat_state(tree)])
    return ec.tree.map(lambda v: f(_names_of(v), v), tree, is_leaf=lambda x: isinstance(x, Variable))


def _rewrap(leaf: Any, value: Any) -> Any:
    if isinstance(leaf, Variable):
        return _make(type(leaf), value, dict(leaf._meta))
    return value


def get_partition_spec(tree: Any, rules: Rules | None = None) -> Any:
    """The same structure with each Variable's value replaced by its ``PartitionSpec``
    (``PartitionSpec()`` for state without sharding names)."""
    return _map_leaves(tree, lambda names, leaf: _rewrap(leaf, logical_to_mesh_axes(names, rules)))


def get_named_sharding(tree: Any, mesh: Any, rules: Rules | None = None) -> Any:
    """The same structure with each Variable's value replaced by its ``NamedSharding`` on ``mesh``."""
    return _map_leaves(tree, lambda names, leaf: _rewrap(leaf, NamedSharding(mesh, logical_to_mesh_axes(names, rules))))


def with_partitioning(initializer: Callable[..., Any], sharding: Sequence[Any], mesh: Any = None,
                      **metadata: Any) -> Callable[..., Any]:
    """Wrap an initializer so the Variable it creates carries ``sharding_names=sharding``.

    >>> import ember.nn as nn
    >>> layer = nn.Linear(4, 8, kernel_init=nn.with_partitioning(nn.initializers.lecun_normal(), (None, "model")),
    ...                   rngs=nn.Rngs(0))
    >>> layer.kernel.sharding_names
    (None, 'model')
    """
    extra = {"mesh": mesh} if mesh is not None else {}
    return with_metadata(initializer, sharding_names=tuple(sharding), **extra, **metadata)


def abstract_with_sharding(tree: Any, mesh: Any, rules: Rules | None = None) -> Any:
    """Abstract state: each Variable holds a ``ShapeDtypeStruct`` with its ``NamedSharding``."""
    def f(names: Any, leaf: Any) -> Any:
        value = leaf._value if isinstance(leaf, Variable) else leaf
        sds = ec.ShapeDtypeStruct(value.shape, value.dtype,
                                  sharding=NamedSharding(mesh, logical_to_mesh_axes(names, rules)))
        return _rewrap(leaf, sds)

    return _map_leaves(tree, f)


def get_abstract_model(init_fn: Callable[[], Any], mesh: Any, rules: Rules | None = None) -> tuple[Any, State]:
    """``(graphdef, abstract_state)`` of the module ``init_fn()`` would build, without allocating
    it; the abstract state's ShapeDtypeStructs carry the shardings on ``mesh``."""
    from .graph import split
    from .transforms import eval_shape

    gdef, abstract = split(eval_shape(init_fn))
    return gdef, abstract_with_sharding(abstract, mesh, rules)


def create_sharded_model(create_fn: Callable[[], Any], mesh: Any, rules: Rules | None = None) -> Any:
    """Build ``create_fn()``'s module directly sharded on ``mesh``: no full copy is ever made.

    The module is first created abstractly (``nn.eval_shape``) to read its parameters' logical axis
    names; then ``create_fn`` runs under ``ec.jit`` with ``out_shardings`` derived from them, so
    each device computes and stores only its own shard of every parameter.

    >>> import ember.core as ec
    >>> import ember.nn as nn
    >>> mesh = ec.make_mesh((1,), ("model",), devices=ec.devices()[:1])
    >>> init = nn.with_partitioning(nn.initializers.lecun_normal(), (None, "model"))
    >>> layer = nn.create_sharded_model(lambda: nn.Linear(4, 8, kernel_init=init, rngs=nn.Rngs(0)), mesh)
    >>> layer.kernel.shape, layer.kernel.sharding_names
    ((4, 8), (None, 'model'))
    """
    from .graph import merge, split, state
    from .transforms import eval_shape

    graphdef, abstract = split(eval_shape(create_fn))
    shardings = get_named_sharding(abstract, mesh, rules)

    def init() -> tuple:
        return (state(create_fn()),)

    if mesh.devices.size == 1:
        # ec.jit(out_shardings=<sharding on a 1-device mesh>) fails in ember.core (see README):
        # on one device there is nothing to shard anyway.
        (sharded,) = ec.jit(init)()
        return merge(graphdef, sharded)
    # ec.jit only accepts out_shardings as a pytree when its top level is a tuple/list/dict (see
    # README), hence the 1-tuple around the State.
    (sharded,) = ec.jit(init, out_shardings=(shardings,))()
    return merge(graphdef, sharded)
