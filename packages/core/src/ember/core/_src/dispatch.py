"""Running things: host values onto devices, compiled programs, and eager primitives.

Eager mode: outside any transformation, ``primitive.bind`` runs the primitive as a single-op
program, compiled once per (primitive, parameters, input types, device) and cached.
``Executable.run`` is the one place that calls a compiled program; ``jit`` uses it too.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np

from . import dtypes, runtime
from .array import Array, from_buffer
from .config import config
from .core import Primitive, ShapedArray, Tracer, get_aval
from .jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Var, subjaxprs
from .lowering import lower_jaxpr
from .runtime import transfer
from .tree import leaves as tree_leaves

__all__ = ["Executable", "compile_jaxpr", "apply_primitive", "to_array", "default_device", "device_put"]


# ----------------------------------------------------------------------------------------------
# Devices and host -> device

def default_device() -> Any:
    return runtime.default_backend().local_devices[0]


def to_array(x: Any, *, dtype: Any = None, weak_type: bool | None = None, device: Any = None,
             committed: bool = False) -> Array:
    """Put a host value (NumPy array, scalar, nested list of numbers) on ``device``."""
    if type(x) is Array:
        if dtype is not None and x.dtype != dtype:
            raise TypeError("to_array: use astype to change an Array's dtype")
        if device is not None:
            buf = x._checked_buf()
            if type(buf._sharding) is not runtime.SingleDeviceSharding or transfer.device_of(buf) != device:
                buf = transfer.copy_to_device(buf, device) if type(buf._sharding) is runtime.SingleDeviceSharding \
                    else transfer.put(np.asarray(x), x.aval, device)
            return from_buffer(buf, x.aval, committed)
        return x
    if isinstance(x, Tracer):
        raise TypeError(f"to_array: expected a concrete value, got a traced value {x.aval.str_short()}")
    if hasattr(type(x), "__jax_array__"):  # an array stand-in (e.g. an ember.nn Variable)
        return to_array(x.__jax_array__(), dtype=dtype, weak_type=weak_type, device=device, committed=committed)
    if dtype is None:
        aval = get_aval(x) if not isinstance(x, (list, tuple)) else None
        if aval is None:
            host = np.asarray(x)
            if host.dtype == object:
                raise TypeError(f"cannot convert {type(x).__name__} to an array: {x!r}")
            aval = ShapedArray(host.shape, dtypes.canonicalize_dtype(host.dtype), False)
        dtype = aval.dtype
        weak = aval.weak_type if weak_type is None else weak_type
    else:
        dtype = dtypes.canonicalize_dtype(dtype)
        weak = bool(weak_type)
    host = np.asarray(x, dtype=dtype)
    aval = ShapedArray(host.shape, dtype, weak)
    buf = transfer.put(host, aval, default_device() if device is None else device)
    return from_buffer(buf, aval, committed)


def device_put(x: Any, device: Any = None) -> Any:
    """Place a pytree of values on a device (``device=None``: the default device, uncommitted).

    >>> import numpy as np
    >>> import ember.core as ec
    >>> x = ec.device_put(np.ones(3, np.float32), ec.devices()[0])
    >>> x.devices() == {ec.devices()[0]}, x.tolist()
    (True, [1.0, 1.0, 1.0])
    """
    from .sharding import Sharding, SingleDeviceSharding, to_sharding
    from .tree import map as tree_map
    if isinstance(device, SingleDeviceSharding):
        device = device.device
    if device is not None and not isinstance(device, runtime.Device):
        if isinstance(device, Sharding) or type(device).__name__ == "PartitionSpec":
            sharding = to_sharding(device, "device_put")
            return tree_map(lambda leaf: _put_with_sharding(leaf, sharding), x)
        if isinstance(device, (tuple, list, dict)):  # a pytree of shardings matching x
            return tree_map(lambda leaf, s: device_put(leaf, s), x, device)
        raise TypeError(f"device_put: device must be a Device or a Sharding, got {device!r}")
    committed = device is not None
    return tree_map(lambda leaf: to_array(leaf, device=device, committed=committed), x)


def _put_with_sharding(leaf: Any, sharding: Any) -> Array:
    if type(leaf) is Array:
        arr = leaf
    else:
        arr = None
    if arr is not None:
        buf = reshard_buffer(arr, sharding)
        out = from_buffer(buf, arr.aval, True)
        return out
    host = np.asarray(leaf)
    aval = get_aval(leaf) if not isinstance(leaf, (list, tuple)) else ShapedArray(
        host.shape, dtypes.canonicalize_dtype(host.dtype), False)
    host = np.asarray(host, dtype=aval.dtype)
    return from_buffer(put_sharded(host, aval, sharding), aval, True)


def device_get(x: Any) -> Any:
    """Fetch a pytree of Arrays to the host as NumPy arrays (other leaves pass through).

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> ec.device_get({"w": jnp.arange(3), "step": 7})
    {'step': 7, 'w': array([0, 1, 2], dtype=int32)}
    """
    from .tree import flatten

    leaves, treedef = flatten(x)
    for leaf in leaves:  # start every copy before waiting for any
        if type(leaf) is Array:
            leaf.copy_to_host_async()
    return treedef.unflatten([np.asarray(leaf) if type(leaf) is Array else leaf for leaf in leaves])


def block_until_ready(x: Any) -> Any:
    """Wait until every Array in the pytree ``x`` is computed; returns ``x``.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> out = ec.block_until_ready({"y": jnp.ones(3) * 2})   # waits for the computation, returns its argument
    >>> out["y"].tolist()
    [2.0, 2.0, 2.0]
    """
    bufs = [leaf._checked_buf() for leaf in tree_leaves(x) if type(leaf) is Array]
    if bufs:
        transfer.block_until_ready(bufs)
    return x


# ----------------------------------------------------------------------------------------------
# Compiled programs

class Executable:
    """A compiled program with its result handlers, ready to run on device buffers.

    Single-device programs have ``in_shardings is None``; SPMD programs (several devices) know
    the sharding each input must have and the sharding of each output."""

    __slots__ = ("loaded", "handlers", "out_avals", "in_avals", "device", "devices", "const_bufs", "lowered",
                 "donated", "in_shardings", "out_shardings")

    def __init__(self, loaded: Any, out_avals: Sequence[ShapedArray], in_avals: Sequence[ShapedArray],
                 device: Any, const_bufs: Sequence[Any], lowered: Any, donated: tuple[bool, ...], *,
                 devices: Sequence[Any] | None = None, in_shardings: Sequence[Any] | None = None,
                 out_shardings: Sequence[Any] | None = None) -> None:
        from .sharding import SingleDeviceSharding
        self.loaded = loaded
        self.out_avals = list(out_avals)
        self.in_avals = list(in_avals)
        self.device = device
        self.devices = list(devices) if devices is not None else [device]
        self.in_shardings = None if in_shardings is None else list(in_shardings)
        self.out_shardings = list(out_shardings) if out_shardings is not None else \
            [SingleDeviceSharding(device)] * len(self.out_avals)
        self.handlers = [runtime.result_handler(a, s._cpp(a.ndim), True)
                         for a, s in zip(self.out_avals, self.out_shardings)]
        self.const_bufs = list(const_bufs)
        self.lowered = lowered
        self.donated = donated

    @property
    def is_spmd(self) -> bool:
        return self.in_shardings is not None

    def prepare(self, arrays: Sequence[Array]) -> list[Any]:
        """Argument buffers placed where this program expects them."""
        if self.in_shardings is None:
            device = self.device
            return [_single_device_buffer(a, device) for a in arrays]
        return [reshard_buffer(a, s) for a, s in zip(arrays, self.in_shardings)]

    def run(self, bufs: list[Any]) -> list[Any]:
        return self.loaded.execute_sharded(bufs).consume_with_handlers(self.handlers)

    def run_checked(self, bufs: list[Any], what: str) -> list[Any]:
        try:
            return self.loaded.execute_sharded(bufs).consume_with_handlers(self.handlers)
        except runtime.RuntimeError_:
            deleted = [i for i, b in enumerate(bufs) if b.is_deleted()]
            if deleted:
                raise RuntimeError(
                    f"{what}: argument {deleted[0] - len(self.const_bufs)} was deleted or donated to an "
                    "earlier computation (donate_argnums) and cannot be used again"
                ) from None
            raise

    def cost_analysis(self) -> dict[str, float]:
        return dict(self.loaded.cost_analysis())

    def memory_analysis(self) -> Any:
        return self.loaded.get_compiled_memory_stats()

    def as_text(self) -> str:
        return self.loaded.hlo_modules()[0].to_string()


def _single_device_buffer(a: Array, device: Any) -> Any:
    buf = a._checked_buf()
    if type(buf._sharding) is runtime.SingleDeviceSharding:
        return buf if buf._sharding._device == device else transfer.copy_to_device(buf, device)
    if len(buf._sharding._devices) == 1 and buf._sharding._devices[0] == device:
        return buf  # a one-device mesh: the same buffer
    return transfer.put(np.asarray(a), a.aval, device)


def reshard_buffer(a: Array, sharding: Any) -> Any:
    """``a``'s buffer laid out as ``sharding`` (copying through the host when it is not already)."""
    buf = a._checked_buf()
    target = sharding._cpp(a.aval.ndim)
    if buf._sharding is target:
        return buf
    from .sharding import sharding_of
    if sharding_of(buf) == sharding:
        return buf
    return put_sharded(np.asarray(a), a.aval, sharding)


def put_sharded(host: np.ndarray, aval: ShapedArray, sharding: Any) -> Any:
    """Place a host array on the devices of ``sharding`` (each gets only its own slice)."""
    index_map = sharding.addressable_devices_indices_map(aval.shape)
    devices = [d for d in sharding._device_assignment if d in index_map]
    shards = [np.ascontiguousarray(host[index_map[d]]) for d in devices]
    return transfer.put_shards(aval, sharding._cpp(aval.ndim), shards, devices)


_compile_lock = threading.Lock()


def compile_jaxpr(closed: ClosedJaxpr, device: Any, *, donated: Sequence[bool] = (),
                  name: str = "main") -> Executable:
    """Lower and compile a closed jaxpr for one device; its consts become leading arguments."""
    backend = runtime.get_backend(device.platform if device.platform != "gpu" else None)
    n_consts = len(closed.consts)
    donated_all = (False,) * n_consts + tuple(donated or (False,) * len(closed.jaxpr.invars))
    lowered = lower_jaxpr(closed, name=name, platform=device.platform, donated=donated_all)
    loaded = runtime.compile_program(backend.client, lowered.text, runtime.CompileSpec([device]),
                                     host_callbacks=lowered.host_callbacks, module=lowered.module)
    const_bufs = [_const_buffer(c, v.aval, device) for c, v in lowered.arguments(_consts(closed))]
    in_avals = [v.aval for v in closed.jaxpr.invars]
    return Executable(loaded, closed.out_avals, in_avals, device, const_bufs, lowered,
                      tuple(lowered.arguments(donated_all)))


def compile_spmd(closed: ClosedJaxpr, devices: Sequence[Any], in_shardings: Sequence[Any],
                 out_shardings: Sequence[Any | None], *, donated: Sequence[bool] = (), name: str = "main") -> Executable:
    """Lower and compile one SPMD program over ``devices``: XLA partitions it by the input and
    (given or propagated) output shardings. Consts become replicated leading arguments."""
    from .sharding import Mesh, NamedSharding, PartitionSpec
    devices = list(devices)
    backend = runtime.get_backend(devices[0].platform)
    n_consts = len(closed.consts)
    replicated = NamedSharding(Mesh(np.array(devices, dtype=object), ("_all",)), PartitionSpec())
    const_shardings = [replicated] * n_consts
    arg_shardings = list(const_shardings) + list(in_shardings)
    in_avals_all = [v.aval for v in closed.jaxpr.constvars] + [v.aval for v in closed.jaxpr.invars]
    donated_all = (False,) * n_consts + tuple(donated or (False,) * len(closed.jaxpr.invars))
    lowered = lower_jaxpr(
        closed, name=name, platform=devices[0].platform, donated=donated_all, num_partitions=len(devices),
        arg_shardings=[s._spec_string(a.ndim) for s, a in zip(arg_shardings, in_avals_all)],
        result_shardings=[None if s is None else s._spec_string(a.ndim) for s, a in zip(out_shardings, closed.out_avals)],
    )
    spec = runtime.CompileSpec(devices, num_partitions=len(devices), spmd=True,
                               propagate_outputs=[s is None for s in out_shardings])
    loaded = runtime.compile_program(backend.client, lowered.text, spec, host_callbacks=lowered.host_callbacks,
                                     module=lowered.module)
    from .runtime import shardings as rs
    chosen = rs.output_hlo_shardings(loaded, len(closed.out_avals))
    meshes = _meshes_in(closed.jaxpr, in_shardings) if any(s is None for s in out_shardings) else []
    final_out = [s if s is not None else _as_named(h, a.ndim, meshes, devices)
                 for s, h, a in zip(out_shardings, chosen, closed.out_avals)]
    const_bufs = [put_sharded(np.asarray(c, dtype=v.aval.dtype), v.aval, replicated)
                  for c, v in lowered.arguments(_consts(closed))]
    in_avals = [v.aval for v in closed.jaxpr.invars]
    return Executable(loaded, closed.out_avals, in_avals, devices[0], const_bufs, lowered,
                      tuple(lowered.arguments(donated_all)),
                      devices=devices, in_shardings=list(in_shardings), out_shardings=final_out)


def _consts(closed: ClosedJaxpr) -> list[tuple[Any, Any]]:
    return list(zip(closed.consts, closed.jaxpr.constvars))


def _as_named(hlo: Any, ndim: int, meshes: Sequence[Any], devices: Sequence[Any]) -> Any:
    """A layout XLA chose, as a NamedSharding over one of ``meshes`` when one describes it
    (as JAX reports it); otherwise as a GSPMDSharding."""
    from .sharding import GSPMDSharding, named_sharding_for
    device_ids = sorted(d.id for d in devices)
    for mesh in meshes:
        if sorted(mesh._ids) != device_ids:
            continue
        named = named_sharding_for(hlo, ndim, mesh)
        if named is not None and [d.id for d in named._device_assignment] == [d.id for d in devices]:
            return named
    return GSPMDSharding(devices, hlo)


def _meshes_in(jaxpr: Any, in_shardings: Sequence[Any]) -> list[Any]:
    """The meshes a program names: its inputs', its sharding constraints', and the current one."""
    from .primitives.sharding_ops import sharding_constraint_p
    from .sharding import NamedSharding, current_mesh
    found: list[Any] = []

    def add(sharding: Any) -> None:
        if isinstance(sharding, NamedSharding) and sharding.mesh.axis_names != ("_all",) \
                and sharding.mesh not in found:
            found.append(sharding.mesh)

    for s in in_shardings:
        add(s)
    stack = [jaxpr]
    while stack:
        j = stack.pop()
        for eqn in j.eqns:
            if eqn.primitive is sharding_constraint_p:
                add(eqn.params["sharding"])
            stack.extend(subjaxprs(eqn.params))
    mesh = current_mesh()
    if mesh is not None and mesh not in found:
        found.append(mesh)
    return found


def _const_buffer(value: Any, aval: ShapedArray, device: Any) -> Any:
    if type(value) is Array:
        buf = value._checked_buf()
        return buf if transfer.device_of(buf) == device else transfer.copy_to_device(buf, device)
    return transfer.put(np.asarray(value, dtype=aval.dtype), aval, device)


# ----------------------------------------------------------------------------------------------
# Eager primitives

_eager_cache: dict[Any, Executable] = {}
_EAGER_CACHE_LIMIT = 4096  # single-op programs kept; the oldest go first (dicts keep insertion order)


def apply_primitive(primitive: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
    """Run one primitive now: look up (or compile) its single-op program and execute it."""
    arrays = [x if type(x) is Array else to_array(x) for x in args]
    key = (primitive, tuple(params.items()), *[(a.aval, a._buf._sharding) for a in arrays])
    try:
        executable = _eager_cache.get(key)
    except TypeError:  # unhashable parameter: compile without caching
        executable, key = None, None
    if executable is None:
        executable = _compile_eager(primitive, arrays, params)
        if key is not None:
            if len(_eager_cache) >= _EAGER_CACHE_LIMIT:
                del _eager_cache[next(iter(_eager_cache))]
            _eager_cache[key] = executable
    if executable.is_spmd or len(arrays) > 1:
        bufs = executable.prepare(arrays)
    else:
        bufs = [a._buf for a in arrays]
    outs = executable.run_checked(bufs, primitive.name)
    results = [from_buffer(b, a) for b, a in zip(outs, executable.out_avals)]
    if config.debug_nans:
        _check_eager_nans(primitive, arrays, results)
    return results if primitive.multiple_results else results[0]


def _check_eager_nans(primitive: Primitive, inputs: Sequence[Array], outputs: Sequence[Array]) -> None:
    from .core import user_frame_summary
    from .debugging import check_nans
    if check_nans(outputs) and not check_nans(inputs):
        raise FloatingPointError(f"invalid value (nan) encountered in {primitive.name}{user_frame_summary()}")


def _eager_device(arrays: Sequence[Array]) -> Any:
    committed = {transfer.device_of(a._buf) for a in arrays if a._committed}
    if len(committed) > 1:
        names = ", ".join(sorted(str(d) for d in committed))
        raise ValueError(f"arguments are committed to different devices ({names}); move them to one "
                         "device with ec.device_put first")
    if committed:
        return committed.pop()
    return transfer.device_of(arrays[0]._buf) if arrays else default_device()


def _compile_eager(primitive: Primitive, arrays: Sequence[Array], params: dict[str, Any]) -> Executable:
    avals = [a.aval for a in arrays]
    out = primitive.abstract_eval(*avals, **params)
    invars = [Var(a) for a in avals]
    outvars = [Var(a) for a in (out if primitive.multiple_results else [out])]
    jaxpr = Jaxpr([], invars, outvars, [JaxprEqn(primitive, invars, params, outvars)])
    placement = spmd_placement(arrays)
    if placement is not None:
        devices, shardings = placement
        return compile_spmd(ClosedJaxpr(jaxpr, []), devices, shardings, [None] * len(outvars), name=primitive.name)
    return compile_jaxpr(ClosedJaxpr(jaxpr, []), _eager_device(arrays), name=primitive.name)


def spmd_placement(arrays: Sequence[Array]) -> tuple[list[Any], list[Any]] | None:
    """For arguments some of which span several devices: the devices and each argument's layout
    (its own if it spans them, replicated otherwise). None when all are single-device."""
    from .sharding import Mesh, NamedSharding, PartitionSpec, sharding_of
    shardings = [sharding_of(a._checked_buf()) for a in arrays]
    multi = [s for s in shardings if s.num_devices > 1]
    if not multi:
        return None
    devices = multi[0]._device_assignment
    ids = [d.id for d in devices]
    for s in multi[1:]:
        if [d.id for d in s._device_assignment] != ids:
            raise ValueError(f"arguments are sharded over different devices ({[d.id for d in s._device_assignment]} "
                             f"and {ids}); reshard one of them with ec.device_put")
    replicated = NamedSharding(Mesh(np.array(devices, dtype=object), ("_all",)), PartitionSpec())
    return list(devices), [s if s.num_devices > 1 else replicated for s in shardings]
