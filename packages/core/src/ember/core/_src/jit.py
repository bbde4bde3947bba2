"""``jit``: trace once per argument signature, lower to StableHLO, compile with XLA, cache.

A call looks its compiled program up by (argument structure, abstract values, devices) and runs
it; that lookup and ``Executable.run`` are all the Python work on the hot path. Under another
transformation (grad, vmap, an outer jit) the traced program is bound as the ``pjit`` primitive,
whose rules apply the transformation to the whole program.
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from . import tree as tree_util
from .array import Array, from_buffer
from .config import config
from .core import Primitive, ShapedArray, Tracer, eval_trace, get_aval, trace_state
from .dispatch import Executable, compile_jaxpr, compile_spmd, default_device, to_array
from .jaxpr import ClosedJaxpr, Jaxpr, Var
from .lowering import call_jaxpr, lower_jaxpr
from .runtime import ArrayImpl as runtime_ArrayImpl
from .runtime import RuntimeError_ as runtime_error
from .runtime import fast_dispatch, transfer
from .tracing import trace_to_jaxpr

__all__ = ["jit", "JitFunction", "pjit_p", "ShapeDtypeStruct", "make_jaxpr", "eval_shape",
           "abstractify", "flatten_fun"]

_registry = tree_util.registry
_dispatch_registry = tree_util.dispatch_registry


# An Array is a node whose only child is its buffer: no metadata, so the C++ argument signature
# hashes no Python objects (the buffer's shape, dtype and weak type are in it already) and an
# output Array takes its aval from its buffer.
_dispatch_registry_ready = _dispatch_registry.register_dataclass_node(Array, ["_buf"], [])
def _sync(**changed: Any) -> None:
    flags = dict(disable_jit=config.disable_jit, enable_x64=config.enable_x64, debug_nans=config.debug_nans)
    flags.update(changed)
    fast_dispatch.sync_config(**flags)


_sync()
config.add_hook("disable_jit", lambda v: _sync(disable_jit=v))
config.add_hook("enable_x64", lambda v: _sync(enable_x64=v))
config.add_hook("debug_nans", lambda v: _sync(debug_nans=v))
if fast_dispatch.available():
    from .core import tracing_hook as _tracing_hook
    _tracing_hook[:] = [fast_dispatch.set_tracing]


# ----------------------------------------------------------------------------------------------
# Abstract arguments

class ShapeDtypeStruct:
    """The shape and dtype of an array, without the array (for ``eval_shape``, ``.lower``).

    >>> ShapeDtypeStruct((2, 3), "float32")
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    __slots__ = ("shape", "dtype", "sharding", "weak_type")

    def __init__(self, shape: Sequence[int], dtype: Any, *, sharding: Any = None, weak_type: bool = False) -> None:
        from . import dtypes
        from .core import canonicalize_shape
        self.shape = canonicalize_shape(shape)
        self.dtype = dtypes.canonicalize_dtype(dtype)
        self.sharding = sharding
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ShapeDtypeStruct) and self.shape == other.shape
                and self.dtype == other.dtype and self.sharding == other.sharding)

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype))

    def __repr__(self) -> str:
        sharding = f", sharding={self.sharding}" if self.sharding is not None else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{sharding})"


def abstractify(x: Any) -> ShapedArray:
    if isinstance(x, ShapeDtypeStruct):
        return ShapedArray(x.shape, x.dtype, x.weak_type)
    return get_aval(x)


# ----------------------------------------------------------------------------------------------
# Flattening a user function

class _OutStore:
    __slots__ = ("treedef",)

    def __init__(self) -> None:
        self.treedef: Any = None


def flatten_fun(fun: Callable[..., Any], in_tree: Any, store: _OutStore, *, what: str = "jit") -> Callable[..., list[Any]]:
    """A flat version of ``fun``: leaves in -> leaves out; the output structure goes to ``store``."""

    def flat(*leaves: Any) -> list[Any]:
        args, kwargs = in_tree.unflatten(leaves)
        out = fun(*args, **kwargs)
        out_leaves, out_tree = _registry.flatten(out)
        store.treedef = out_tree
        for i, leaf in enumerate(out_leaves):
            if not _is_array_like(leaf):
                path = tree_util.keystr(tree_util.flatten_with_path(out)[0][i][0]) or "the output"
                raise TypeError(f"{what}: the function returned a {type(leaf).__name__} at {path}; "
                                "outputs must be arrays (or pytrees of arrays)")
        return out_leaves

    return flat


def _is_array_like(x: Any) -> bool:
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic, bool, int, float, complex))


# ----------------------------------------------------------------------------------------------
# The pjit primitive: a call to a traced program

pjit_p = Primitive("pjit", multiple_results=True)


def _pjit_abstract_eval(*avals: ShapedArray, jaxpr: ClosedJaxpr, name: str, donated: tuple[bool, ...]) -> list[ShapedArray]:
    return jaxpr.out_avals


_pjit_exec_cache: "weakref.WeakKeyDictionary[Any, dict[Any, Executable]]" = weakref.WeakKeyDictionary()


def _pjit_impl(*args: Any, jaxpr: ClosedJaxpr, name: str, donated: tuple[bool, ...]) -> list[Any]:
    from .dispatch import spmd_placement
    arrays = [a if type(a) is Array else to_array(a) for a in args]
    placement = spmd_placement(arrays)
    per_jaxpr = _pjit_exec_cache.setdefault(jaxpr.jaxpr, {})
    if placement is None:
        device = _device_for(arrays)
        key: Any = (device, tuple(a.aval for a in arrays))
    else:
        key = (tuple(placement[1]), tuple(a.aval for a in arrays))
    executable = per_jaxpr.get(key)
    if executable is None:
        if placement is None:
            executable = compile_jaxpr(jaxpr, device, donated=donated, name=name)
        else:
            executable = compile_spmd(jaxpr, placement[0], placement[1], [None] * len(jaxpr.out_avals),
                                      donated=donated, name=name)
        per_jaxpr[key] = executable
    bufs = executable.const_bufs + executable.prepare(arrays)
    outs = executable.run_checked(bufs, name)
    out_arrays = [from_buffer(b, a) for b, a in zip(outs, executable.out_avals)]
    if config.debug_nans:
        _check_nans(jaxpr, arrays, out_arrays, f"jit({name})")
    return out_arrays


def _check_nans(jaxpr: ClosedJaxpr, args: Sequence[Any], outs: Sequence[Any], name: str) -> None:
    from .debugging import check_nans, find_nan_source
    if check_nans(outs):
        find_nan_source(jaxpr, args, name)


def _pjit_lowering(ctx: Any, *args: Any, jaxpr: ClosedJaxpr, name: str, donated: tuple[bool, ...]) -> list[Any]:
    return call_jaxpr(ctx, jaxpr, args, name)


pjit_p.def_abstract_eval(_pjit_abstract_eval)
pjit_p.def_impl(_pjit_impl)
pjit_p.def_lowering(_pjit_lowering)


def _on_device(a: Array, device: Any) -> Any:
    buf = a._checked_buf()
    return buf if transfer.device_of(buf) == device else transfer.copy_to_device(buf, device)


def _device_for(arrays: Sequence[Array]) -> Any:
    committed = {transfer.device_of(a._buf) for a in arrays if a._committed}
    if len(committed) > 1:
        names = ", ".join(sorted(str(d) for d in committed))
        raise ValueError(f"jit: arguments are committed to different devices ({names}); put them on one "
                         "device with ec.device_put, or shard them (ec.sharding)")
    if committed:
        return committed.pop()
    return default_device()


def closure_convert(closed: ClosedJaxpr) -> tuple[ClosedJaxpr, list[Any]]:
    """Move a jaxpr's constants to leading arguments: (jaxpr without consts, the const values)."""
    jaxpr = closed.jaxpr
    if not jaxpr.constvars:
        return closed, []
    converted = Jaxpr([], list(jaxpr.constvars) + list(jaxpr.invars), jaxpr.outvars, jaxpr.eqns)
    return ClosedJaxpr(converted, []), list(closed.consts)


# ----------------------------------------------------------------------------------------------
# jit

class _CacheEntry:
    __slots__ = ("executable", "out_tree", "out_avals", "kept", "const_bufs", "donate", "jaxpr", "handlers",
                 "fastpath_data")

    def fastpath(self, num_args: int) -> Any:
        """What jaxlib's C++ dispatcher needs to run this program on a cache hit."""
        if self.fastpath_data is None:
            ex = self.executable
            kept = [True] * len(self.const_bufs) + (
                [True] * num_args if self.kept is None else [i in set(self.kept) for i in range(num_args)])
            n_in = sum(kept)
            if ex.is_spmd:
                in_cpp = [_replicated_over(ex.devices)._cpp(v.aval.ndim)
                          for v in ex.lowered.arguments(self.jaxpr.jaxpr.constvars)] + \
                    [s._cpp(a.ndim) for s, a in zip(ex.in_shardings, ex.in_avals)]
            else:
                in_cpp = [transfer.single_device_sharding(ex.device)] * n_in
            out_cpp = [s._cpp(a.ndim) for s, a in zip(ex.out_shardings, self.out_avals)]
            placeholders = [from_buffer(0, a) for a in self.out_avals]  # 0: any leaf (None is a node)
            out_tree = _dispatch_registry.flatten(self.out_tree.unflatten(placeholders))[1]
            self.fastpath_data = fast_dispatch.fastpath_data(
                ex.loaded, out_tree, in_cpp, out_cpp, self.out_avals, kept, self.const_bufs)
        return self.fastpath_data

    def __init__(self, executable: Executable, out_tree: Any, kept: list[int] | None,
                 donate: tuple[bool, ...], jaxpr: ClosedJaxpr) -> None:
        self.fastpath_data: Any = None
        self.executable = executable
        self.out_tree = out_tree
        self.out_avals = executable.out_avals
        self.kept = kept
        self.const_bufs = executable.const_bufs
        self.handlers = executable.handlers
        self.donate = donate
        self.jaxpr = jaxpr


def _normalize_argnums(argnums: int | Sequence[int] | None, what: str) -> tuple[int, ...]:
    if argnums is None:
        return ()
    if isinstance(argnums, int):
        return (argnums,)
    try:
        return tuple(int(a) for a in argnums)
    except TypeError:
        raise TypeError(f"jit: {what} must be an int or a sequence of ints, got {argnums!r}") from None


def _normalize_argnames(argnames: str | Sequence[str] | None, what: str) -> tuple[str, ...]:
    if argnames is None:
        return ()
    if isinstance(argnames, str):
        return (argnames,)
    return tuple(argnames)


class JitFunction:
    """The callable ``jit`` returns. Also offers ``lower``, ``trace`` and ``eval_shape``."""

    def __init__(self, fun: Callable[..., Any], *, static_argnums: Any = None, static_argnames: Any = None,
                 donate_argnums: Any = None, donate_argnames: Any = None, device: Any = None,
                 keep_unused: bool = False, inline: bool = False, in_shardings: Any = None,
                 out_shardings: Any = None) -> None:
        if not callable(fun):
            raise TypeError(f"jit: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self._fun = fun
        self._signature = _signature_or_none(fun)
        static_argnums = _normalize_argnums(static_argnums, "static_argnums")
        static_argnames = _normalize_argnames(static_argnames, "static_argnames")
        donate_argnums = _normalize_argnums(donate_argnums, "donate_argnums")
        donate_argnames = _normalize_argnames(donate_argnames, "donate_argnames")
        self._static_argnums, self._static_argnames = _infer_static(self._signature, static_argnums, static_argnames)
        self._donate_argnums, _ = _infer_static(self._signature, donate_argnums, donate_argnames)
        if set(self._static_argnums) & set(self._donate_argnums):
            raise ValueError("jit: an argument cannot be both static and donated")
        self._device = device
        self._keep_unused = keep_unused
        self._inline = inline
        self._name = getattr(fun, "__name__", "fun")
        self._cache: dict[Any, _CacheEntry] = {}
        self._lock = threading.Lock()
        self._in_shardings = in_shardings
        self._out_shardings = out_shardings
        self._simple = not (self._static_argnums or self._static_argnames or self._donate_argnums
                            or device is not None or in_shardings is not None or out_shardings is not None)

    def __repr__(self) -> str:
        return f"<jit-compiled function {self._name}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    # -- the call --
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The hot path: a dictionary lookup on (structure, types[, placements]) and one execute.
        if self._simple and not kwargs and trace_state.trace is eval_trace:
            leaves, treedef = _registry.flatten(args)
            try:
                if transfer.single_device_process():
                    entry = self._cache[(treedef, *[x.aval for x in leaves])]
                else:
                    entry = self._cache[(treedef, *[(x.aval, x._buf._sharding) for x in leaves])]
            except (AttributeError, KeyError, TypeError):
                pass  # a non-Array leaf (NumPy array, Python scalar) or a first call
            else:
                kept = entry.kept
                bufs = [x._buf for x in leaves] if kept is None else [leaves[i]._buf for i in kept]
                if entry.const_bufs:
                    bufs = entry.const_bufs + bufs
                try:
                    outs = entry.executable.loaded.execute_sharded(bufs).consume_with_handlers(entry.handlers)
                except runtime_error:
                    entry.executable.run_checked(bufs, self._name)  # raises the explanatory error
                    raise
                return entry.out_tree.unflatten([from_buffer(b, a) for b, a in zip(outs, entry.out_avals)])
        if config.disable_jit and trace_state.trace is eval_trace:
            return self._fun(*args, **kwargs)
        if trace_state.trace is not eval_trace:
            return self._bind(args, kwargs)
        return self._call_slow(args, kwargs)

    def _split_static(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple, dict, tuple]:
        nargs = len(args)  # a static argnum not passed positionally may come by name (static_argnames)
        static_pos = {i % nargs for i in self._static_argnums if -nargs <= i < nargs}
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_pos)
        statics = tuple((i, args[i]) for i in sorted(static_pos))
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self._static_argnames}
        statics += tuple(sorted((k, v) for k, v in kwargs.items() if k in self._static_argnames))
        for name, value in statics:
            try:
                hash(value)
            except TypeError:
                raise ValueError(
                    f"jit({self._name}): static argument {name!r} must be hashable, got a "
                    f"{type(value).__name__}; pass it as a tuple or make it a regular (traced) argument"
                ) from None
        return dyn_args, dyn_kwargs, statics

    def _with_statics(self, statics: tuple) -> Callable[..., Any]:
        positional = [(i, v) for i, v in statics if isinstance(i, int)]
        named = {k: v for k, v in statics if isinstance(k, str)}
        fun = self._fun

        def call(*dyn_args: Any, **dyn_kwargs: Any) -> Any:
            full = list(dyn_args)
            for i, v in positional:
                full.insert(i, v)
            return fun(*full, **dyn_kwargs, **named)

        return call

    def _donated_leaves(self, dyn_args: tuple, dyn_kwargs: dict, statics: tuple) -> tuple[bool, ...]:
        if not self._donate_argnums:
            return ()
        static_pos = sorted(i for i, _ in statics if isinstance(i, int))
        flags = []
        for j, arg in enumerate(dyn_args):
            original = j + sum(1 for s in static_pos if s <= j)
            n = len(_registry.flatten(arg)[0])
            flags += [original in self._donate_argnums] * n
        flags += [False] * len(_registry.flatten(dyn_kwargs)[0])
        return tuple(flags)

    def _call_slow(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._call_slow_with_entry(args, kwargs)[0]

    def _call_slow_with_entry(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, "_CacheEntry"]:
        dyn_args, dyn_kwargs, statics = self._split_static(args, kwargs)
        leaves, in_tree = _registry.flatten((dyn_args, dyn_kwargs))
        arrays = [x if type(x) is Array else _to_jit_arg(x, self._name) for x in leaves]
        avals = [a.aval for a in arrays]
        key = (in_tree, statics, *[(a.aval, transfer.placement_key(a._checked_buf()._sharding)) for a in arrays])
        entry = self._cache.get(key)
        if entry is None:
            entry = self._compile(in_tree, statics, avals, dyn_args, arrays,
                                  self._donated_leaves(dyn_args, dyn_kwargs, statics))
            with self._lock:
                self._cache[key] = entry
                if self._simple and not dyn_kwargs:  # the key the Python fast path computes
                    args_tree = _registry.flatten(dyn_args)[1]
                    if transfer.single_device_process():
                        self._cache[(args_tree, *avals)] = entry
                    else:
                        self._cache[(args_tree, *[(a.aval, a._buf._sharding) for a in arrays])] = entry
        call_arrays = arrays if entry.kept is None else [arrays[i] for i in entry.kept]
        bufs = entry.executable.prepare(call_arrays)
        outs = entry.executable.run_checked(entry.const_bufs + bufs, self._name)
        out_arrays = [from_buffer(b, a) for b, a in zip(outs, entry.out_avals)]
        if config.debug_nans:
            _check_nans(entry.jaxpr, call_arrays, out_arrays, f"jit({self._name})")
        return entry.out_tree.unflatten(out_arrays), entry

    def _placement(self, dyn_args: tuple, arrays: Sequence[Array], inner: Sequence[Any] = ()) -> Any:
        """Where the program runs: a device, or (devices, per-argument shardings) for SPMD.
        ``inner``: shardings named inside the program (sharding constraints, shard_map meshes)."""
        from .sharding import sharding_of
        explicit = _flat_shardings(self._in_shardings, dyn_args, len(arrays), "in_shardings", self._name)
        current = [sharding_of(a._checked_buf()) for a in arrays]
        inner = [s for s in inner if s.num_devices > 1]
        spmd = self._in_shardings is not None or self._out_shardings is not None or inner or \
            any(s.num_devices > 1 for s in current)
        if not spmd:
            return self._device if self._device is not None else _device_for(arrays)
        candidates = [s for s in explicit if s is not None]
        candidates += [s for s in _leaves_of_shardings(self._out_shardings)]
        candidates += list(inner)
        candidates += [s for s in current if s.num_devices > 1]
        devices = candidates[0]._device_assignment
        for s in candidates[1:]:
            if [d.id for d in s._device_assignment] != [d.id for d in devices]:
                raise ValueError(
                    f"jit({self._name}): received incompatible devices: {s!r} is laid out over devices "
                    f"{[d.id for d in s._device_assignment]} but another sharding uses {[d.id for d in devices]}; "
                    "use one mesh for all arguments and outputs")
        replicated = _replicated_over(devices)
        targets = []
        for i, (a, e, c) in enumerate(zip(arrays, explicit, current)):
            if e is not None:
                targets.append(e)
            elif c.num_devices > 1:
                targets.append(c)
            else:
                if a._committed and c._device_assignment[0] not in devices:
                    raise ValueError(f"jit({self._name}): argument {i} is committed to "
                                     f"{c._device_assignment[0]}, which is not among the program's devices")
                targets.append(replicated)
        return (list(devices), targets)

    # -- jaxlib's C++ dispatcher calls this on a cache miss --
    def _cache_miss(self, *args: Any, **kwargs: Any) -> tuple[Any, Any, bool]:
        if trace_state.trace is not eval_trace:
            return self._bind(args, kwargs), None, False
        if config.disable_jit:
            return self._fun(*args, **kwargs), None, False
        out, entry = self._call_slow_with_entry(args, kwargs)
        if config.debug_nans:  # keep every call on the Python path, where outputs are checked
            return out, None, False
        if not fast_dispatch.cpp_may_serve(enable_x64=config.enable_x64, disable_jit=config.disable_jit):
            return out, None, False  # jax owns the dispatcher's flags and they differ from ember's
        return out, entry.fastpath(len(_dispatch_registry.flatten((args, kwargs))[0])), False

    def _trace(self, in_tree: Any, statics: tuple, avals: Sequence[ShapedArray]) -> tuple[ClosedJaxpr, Any]:
        store = _OutStore()
        flat = flatten_fun(self._with_statics(statics), in_tree, store, what=f"jit({self._name})")
        closed = trace_to_jaxpr(flat, avals)
        return closed, store.treedef

    def _compile(self, in_tree: Any, statics: tuple, avals: Sequence[ShapedArray], dyn_args: tuple,
                 arrays: Sequence[Array], donated: tuple[bool, ...]) -> _CacheEntry:
        closed, out_tree = self._trace(in_tree, statics, avals)
        placement = self._placement(dyn_args, arrays, shardings_in_program(closed.jaxpr))
        kept = None
        arg_shardings = placement[1] if isinstance(placement, tuple) else None
        if not self._keep_unused:
            used = _used_inputs(closed.jaxpr)
            if not all(used):
                kept = [i for i, u in enumerate(used) if u]
                closed = ClosedJaxpr(Jaxpr(closed.jaxpr.constvars, [closed.jaxpr.invars[i] for i in kept],
                                           closed.jaxpr.outvars, closed.jaxpr.eqns), closed.consts)
                donated = tuple(donated[i] for i in kept) if donated else ()
                if arg_shardings is not None:
                    arg_shardings = [arg_shardings[i] for i in kept]
        if isinstance(placement, tuple):
            out_shardings = _flat_out_shardings(self._out_shardings, out_tree, self._name)
            executable = compile_spmd(closed, placement[0], arg_shardings, out_shardings, donated=donated,
                                      name=f"jit_{self._name}")
        else:
            executable = compile_jaxpr(closed, placement, donated=donated, name=f"jit_{self._name}")
        return _CacheEntry(executable, out_tree, kept, donated, closed)

    # -- under another transformation --
    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self._inline:  # the function's operations go straight into the current trace
            return self._fun(*args, **kwargs)
        dyn_args, dyn_kwargs, statics = self._split_static(args, kwargs)
        leaves, in_tree = _registry.flatten((dyn_args, dyn_kwargs))
        avals = [abstractify(x) for x in leaves]
        closed, out_tree = self._trace(in_tree, statics, avals)
        converted, consts = closure_convert(closed)
        donated = (False,) * len(consts) + (self._donated_leaves(dyn_args, dyn_kwargs, statics) or (False,) * len(leaves))
        outs = pjit_p.bind(*consts, *leaves, jaxpr=converted, name=self._name, donated=donated)
        return out_tree.unflatten(outs)

    # -- ahead-of-time --
    def trace(self, *args: Any, **kwargs: Any) -> "Traced":
        dyn_args, dyn_kwargs, statics = self._split_static(args, kwargs)
        leaves, in_tree = _registry.flatten((dyn_args, dyn_kwargs))
        avals = [abstractify(x) for x in leaves]
        closed, out_tree = self._trace(in_tree, statics, avals)
        return Traced(self, closed, out_tree, self._donated_leaves(dyn_args, dyn_kwargs, statics))

    def lower(self, *args: Any, **kwargs: Any) -> "Lowered":
        """Lower for arguments like ``args`` (arrays or ShapeDtypeStructs) without running."""
        return self.trace(*args, **kwargs).lower()

    def eval_shape(self, *args: Any, **kwargs: Any) -> Any:
        return self.trace(*args, **kwargs).out_info

    def clear_cache(self) -> None:
        self._cache.clear()

    def _cache_size(self) -> int:
        return len({id(e) for e in self._cache.values()})


def shardings_in_program(jaxpr: Jaxpr) -> list[Any]:
    """Shardings that equations name (``sharding`` / ``mesh`` parameters), in sub-programs too."""
    from .jaxpr import subjaxprs
    from .sharding import NamedSharding, PartitionSpec, Sharding
    found: list[Any] = []
    for eqn in jaxpr.eqns:
        for value in eqn.params.values():
            if isinstance(value, Sharding):
                found.append(value)
            elif type(value).__name__ == "Mesh":
                found.append(NamedSharding(value, PartitionSpec()))
        for sub in subjaxprs(eqn.params):
            found += shardings_in_program(sub)
    return found


def _replicated_over(devices: Sequence[Any]) -> Any:
    from .sharding import Mesh, NamedSharding, PartitionSpec
    return NamedSharding(Mesh(np.array(list(devices), dtype=object), ("_all",)), PartitionSpec())


def _leaves_of_shardings(tree: Any) -> list[Any]:
    from .sharding import Sharding
    if tree is None:
        return []
    return [s for s in _registry.flatten(tree, lambda x: isinstance(x, Sharding))[0] if isinstance(s, Sharding)]


def _is_sharding_leaf(x: Any) -> bool:
    """A single sharding (for every leaf), as opposed to a pytree of them."""
    from .runtime import Device
    from .sharding import Sharding
    return isinstance(x, (Sharding, Device)) or type(x).__name__ == "PartitionSpec"


def _flat_shardings(spec: Any, dyn_args: tuple, n_leaves: int, what: str, name: str) -> list[Any]:
    """Broadcast an in_shardings prefix tree over the flattened (args, kwargs) leaves."""
    from .sharding import Sharding, to_sharding
    if spec is None:
        return [None] * n_leaves
    if _is_sharding_leaf(spec):
        one = to_sharding(spec, f"jit({name}) {what}")
        return [one] * n_leaves
    spec = tuple(spec) if isinstance(spec, list) else spec
    if isinstance(spec, tuple) and len(spec) != len(dyn_args):
        raise ValueError(f"jit({name}): {what} has {len(spec)} entries but the function takes {len(dyn_args)} "
                         "positional arguments")
    is_leaf = lambda x: x is None or isinstance(x, Sharding) or type(x).__name__ == "PartitionSpec"  # noqa: E731
    try:
        expanded = tree_util.broadcast(spec, dyn_args, is_leaf=is_leaf)
    except (ValueError, TypeError) as e:
        raise ValueError(f"jit({name}): {what} does not match the structure of the arguments: {e}") from None
    flat = _registry.flatten(expanded, is_leaf)[0]
    flat = [None if s is None else to_sharding(s, f"jit({name}) {what}") for s in flat]
    return flat + [None] * (n_leaves - len(flat))  # keyword arguments: unspecified


def _flat_out_shardings(spec: Any, out_tree: Any, name: str) -> list[Any]:
    from .sharding import Sharding, to_sharding
    n = out_tree.num_leaves
    if spec is None:
        return [None] * n
    if _is_sharding_leaf(spec):
        return [to_sharding(spec, f"jit({name}) out_shardings")] * n
    is_leaf = lambda x: x is None or isinstance(x, Sharding) or type(x).__name__ == "PartitionSpec"  # noqa: E731
    proxy = out_tree.unflatten([0] * n)
    try:
        expanded = tree_util.broadcast(spec, proxy, is_leaf=is_leaf)
    except (ValueError, TypeError) as e:
        raise ValueError(f"jit({name}): out_shardings does not match the structure of the outputs: {e}") from None
    return [None if s is None else to_sharding(s, f"jit({name}) out_shardings")
            for s in _registry.flatten(expanded, is_leaf)[0]]


def _used_inputs(jaxpr: Jaxpr) -> list[bool]:
    used: set[Var] = {v for v in jaxpr.outvars if type(v) is Var}
    for eqn in jaxpr.eqns:
        used.update(a for a in eqn.invars if type(a) is Var)
    return [v in used for v in jaxpr.invars]


def _to_jit_arg(x: Any, name: str) -> Array:
    if isinstance(x, Tracer):
        from .core import raise_escaped_tracer
        raise_escaped_tracer(x)
    if isinstance(x, ShapeDtypeStruct):
        raise TypeError(f"jit({name}): got a ShapeDtypeStruct; abstract arguments are for .lower() and "
                        "eval_shape, not for calls")
    if hasattr(x, "__jax_array__"):  # an array stand-in: its array is the argument
        x = x.__jax_array__()
        if type(x) is Array:
            return x
    try:
        return to_array(x)
    except TypeError:
        raise TypeError(f"jit({name}): argument of type {type(x).__name__} is not an array; "
                        "mark it static with static_argnums/static_argnames if it is configuration") from None


def _signature_or_none(fun: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fun)
    except (TypeError, ValueError):
        return None


def _infer_static(sig: inspect.Signature | None, argnums: tuple[int, ...], argnames: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Fill argnames from argnums and vice versa, as JAX does, using the signature."""
    if sig is None:
        return argnums, argnames
    params = list(sig.parameters.values())
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = set(argnames)
    nums = set(argnums)
    for i in argnums:
        if 0 <= i < len(positional):
            names.add(positional[i])
    for n in argnames:
        if n in positional:
            nums.add(positional.index(n))
        elif n not in sig.parameters and not any(p.kind == p.VAR_KEYWORD for p in params):
            raise ValueError(f"jit: static/donated argument name {n!r} is not a parameter of the function")
    return tuple(sorted(nums)), tuple(sorted(names))


class Traced:
    """A traced function: its program (``jaxpr``) and output structure."""

    def __init__(self, owner: JitFunction, jaxpr: ClosedJaxpr, out_tree: Any, donated: tuple[bool, ...]) -> None:
        self._owner = owner
        self.jaxpr = jaxpr
        self.out_tree = out_tree
        self._donated = donated

    @property
    def out_info(self) -> Any:
        return self.out_tree.unflatten([ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type)
                                        for a in self.jaxpr.out_avals])

    def lower(self) -> "Lowered":
        device = self._owner._device or default_device()
        lowered = lower_jaxpr(self.jaxpr, name=f"jit_{self._owner._name}", platform=device.platform,
                              donated=(False,) * len(self.jaxpr.consts) + (self._donated or (False,) * len(self.jaxpr.in_avals)))
        return Lowered(self, lowered, device)


class Lowered:
    """A lowered program: ``as_text()`` gives its StableHLO; ``compile()`` compiles it."""

    def __init__(self, traced: Traced, lowered: Any, device: Any) -> None:
        self._traced = traced
        self._lowered = lowered
        self._device = device

    def as_text(self, dialect: str = "stablehlo") -> str:
        if dialect != "stablehlo":
            raise ValueError(f"Lowered.as_text: only dialect='stablehlo' is available, got {dialect!r}")
        return self._lowered.text

    def compile(self) -> "Compiled":
        t = self._traced
        executable = compile_jaxpr(t.jaxpr, self._device, donated=t._donated, name=f"jit_{t._owner._name}")
        return Compiled(executable, t.out_tree, t._owner._name)

    def cost_analysis(self) -> dict[str, float]:
        return self.compile().cost_analysis()


class Compiled:
    """A compiled program; call it with arrays of the shapes it was lowered for."""

    def __init__(self, executable: Executable, out_tree: Any, name: str) -> None:
        self._executable = executable
        self._out_tree = out_tree
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves, _ = _registry.flatten((args, kwargs))
        arrays = [x if type(x) is Array else to_array(x) for x in leaves]
        ex = self._executable
        if [a.aval.strip_weak_type() for a in arrays] != [a.strip_weak_type() for a in ex.in_avals]:
            got = ", ".join(a.aval.str_short() for a in arrays)
            want = ", ".join(a.str_short() for a in ex.in_avals)
            raise TypeError(f"Compiled({self._name}): called with ({got}) but compiled for ({want})")
        bufs = ex.const_bufs + [_on_device(a, ex.device) for a in arrays]
        outs = ex.run_checked(bufs, self._name)
        return self._out_tree.unflatten([from_buffer(b, a) for b, a in zip(outs, ex.out_avals)])

    def cost_analysis(self) -> dict[str, float]:
        return self._executable.cost_analysis()

    def memory_analysis(self) -> Any:
        return self._executable.memory_analysis()

    def as_text(self) -> str:
        return self._executable.as_text()


def jit(fun: Callable[..., Any] | None = None, *, in_shardings: Any = None, out_shardings: Any = None,
        static_argnums: Any = None, static_argnames: Any = None,
        donate_argnums: Any = None, donate_argnames: Any = None, device: Any = None,
        keep_unused: bool = False, inline: bool = False) -> Any:
    """Compile ``fun`` with XLA; usable as ``@jit`` or ``@jit(static_argnums=...)``.

    >>> import ember.core as ec
    >>> f = ec.jit(lambda x: x * 2 + 1)
    >>> f(ec.numpy.arange(3.0)).tolist()
    [1.0, 3.0, 5.0]
    """
    options = dict(static_argnums=static_argnums, static_argnames=static_argnames, donate_argnums=donate_argnums,
                   donate_argnames=donate_argnames, device=device, keep_unused=keep_unused, inline=inline,
                   in_shardings=in_shardings, out_shardings=out_shardings)
    if fun is None:
        return lambda f: _make_jit(f, options)
    return _make_jit(fun, options)


def _make_jit(fun: Callable[..., Any], options: dict[str, Any]) -> Any:
    python_jit = JitFunction(fun, **options)
    if not fast_dispatch.available() or options["device"] is not None:
        return python_jit
    cpp = fast_dispatch.make_cpp_jit(
        python_jit._name, fun, python_jit._cache_miss, python_jit._static_argnums, python_jit._static_argnames,
        (id(python_jit),), _dispatch_registry, _shard_arg_fallback)
    functools.update_wrapper(cpp, fun)
    # per-instance attributes: nothing is set on jaxlib's shared PjitFunction class
    cpp._python_jit = python_jit
    cpp.lower = python_jit.lower
    cpp.trace = python_jit.trace
    cpp.eval_shape = python_jit.eval_shape
    cpp.clear_cache = python_jit.clear_cache
    cpp._cache_size = python_jit._cache_size
    return cpp


def _shard_arg_fallback(x: Any, sharding: Any, layout: Any) -> Any:
    """Called by the C++ dispatcher for an argument not already laid out as the program expects:
    a device buffer with another sharding, a NumPy array, a Python scalar."""
    from .dispatch import reshard_buffer
    from .sharding import sharding_for_cpp
    target = sharding_for_cpp(sharding)
    if isinstance(x, runtime_ArrayImpl):
        x = from_buffer(x, x.aval)
    elif type(x) is not Array:
        x = to_array(x)
    return reshard_buffer(x, target)


# ----------------------------------------------------------------------------------------------
# make_jaxpr and eval_shape

def make_jaxpr(fun: Callable[..., Any], static_argnums: Any = (), return_shape: bool = False) -> Callable[..., Any]:
    """A function that returns ``fun``'s program for the given arguments (arrays or ShapeDtypeStructs).

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> print(ec.make_jaxpr(lambda x: jnp.sin(x) * 2.0)(jnp.ones(3)))
    { lambda ; a:f32[3]. let
        b:f32[3] = sin a
        c:f32[3] = broadcast_in_dim[broadcast_dimensions=() shape=(3,)] 2.0:f32[]
        d:f32[3] = mul b c
      in (d,) }
    """
    static = _normalize_argnums(static_argnums, "static_argnums")

    def make(*args: Any, **kwargs: Any) -> Any:
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static)

        def with_statics(*dyn: Any, **kw: Any) -> Any:
            it = iter(dyn)
            full = [args[i] if i in static else next(it) for i in range(len(args))]
            return fun(*full, **kw)

        leaves, in_tree = _registry.flatten((dyn_args, kwargs))
        store = _OutStore()
        closed = trace_to_jaxpr(flatten_fun(with_statics, in_tree, store, what="make_jaxpr"),
                                [abstractify(x) for x in leaves])
        if return_shape:
            shapes = store.treedef.unflatten([ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type)
                                              for a in closed.out_avals])
            return closed, shapes
        return closed

    functools.update_wrapper(make, fun)
    return make


def eval_shape(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The output shapes/dtypes of ``fun(*args)`` as ShapeDtypeStructs, computing nothing.

    >>> import ember.core as ec
    >>> ec.eval_shape(lambda x: x.sum(0), ec.ShapeDtypeStruct((3, 4), "float32"))
    ShapeDtypeStruct(shape=(4,), dtype=float32)
    """
    _, shapes = make_jaxpr(fun, return_shape=True)(*args, **kwargs)
    return shapes


# ----------------------------------------------------------------------------------------------
# pjit under transformations: each rule transforms the whole sub-program and calls it as one.

def _pjit_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, jaxpr: ClosedJaxpr, name: str,
              donated: tuple[bool, ...]) -> tuple[list[Any], list[Any]]:
    from .rules import Zero
    from .transforms.jvp import jvp_jaxpr
    nonzeros = [type(t) is not Zero for t in tangents]
    new, out_nonzero = jvp_jaxpr(jaxpr, nonzeros, instantiate_outputs=False)
    nz_tangents = [t for t in tangents if type(t) is not Zero]
    outs = pjit_p.bind(*primals, *nz_tangents, jaxpr=new, name=name, donated=(False,) * len(new.in_avals))
    n = len(jaxpr.out_avals)
    it = iter(outs[n:])
    tangents_out = [next(it) if nz else Zero(a.strip_weak_type() if a.weak_type else a)
                    for nz, a in zip(out_nonzero, jaxpr.out_avals)]
    return list(outs[:n]), tangents_out


def _pjit_batch(trace: Any, args: Sequence[Any], dims: Sequence[int | None], *, jaxpr: ClosedJaxpr, name: str,
                donated: tuple[bool, ...]) -> tuple[list[Any], list[int | None]]:
    from .transforms.batching import batch_jaxpr
    new, out_dims = batch_jaxpr(jaxpr, trace.axis_size, dims, out_dims=None, axis_name=trace.axis_name)
    outs = pjit_p.bind(*args, jaxpr=new, name=name, donated=(False,) * len(new.in_avals))
    return outs, out_dims


def _pjit_transpose(cts: Sequence[Any], *args: Any, jaxpr: ClosedJaxpr, name: str,
                    donated: tuple[bool, ...]) -> list[Any]:
    from .rules import UndefinedPrimal, Zero, instantiate, is_undefined
    from .transforms.ad import backward_pass
    undefined = [is_undefined(a) for a in args]
    known_vals = [a for a, u in zip(args, undefined) if not u]
    known_avals = [get_aval(a) for a in known_vals]
    nonzero = [type(c) is not Zero for c in cts]
    nz_cts = [c for c in cts if type(c) is not Zero]
    if not nz_cts:
        return [Zero(a.aval) if u else None for a, u in zip(args, undefined)]

    def fun(*xs: Any) -> list[Any]:
        known_it = iter(xs[:len(known_vals)])
        ct_it = iter(xs[len(known_vals):])
        primals_in = [UndefinedPrimal(a.aval) if u else next(known_it) for a, u in zip(args, undefined)]
        cts_full = [next(ct_it) if nz else Zero(aval) for nz, aval in zip(nonzero, jaxpr.out_avals)]
        cts_in = backward_pass(jaxpr.jaxpr, jaxpr.consts, primals_in, cts_full)
        return [instantiate(ct) for ct, u in zip(cts_in, undefined) if u]

    t_jaxpr = trace_to_jaxpr(fun, known_avals + [get_aval(c) for c in nz_cts])
    outs = iter(pjit_p.bind(*known_vals, *nz_cts, jaxpr=t_jaxpr, name=f"transpose_{name}",
                            donated=(False,) * len(t_jaxpr.in_avals)))
    return [next(outs) if u else None for u in undefined]


def _pjit_partial_eval(trace: Any, args: Sequence[Any], *, jaxpr: ClosedJaxpr, name: str,
                       donated: tuple[bool, ...]) -> list[Any]:
    from .core import set_current_trace
    from .transforms.partial_eval import partial_eval_jaxpr
    unknowns = [trace.owns(a) for a in args]
    known, unknown, out_unknowns, num_res = partial_eval_jaxpr(jaxpr, unknowns)
    known_args = [a for a, u in zip(args, unknowns) if not u]
    with set_current_trace(trace.parent):
        known_outs = pjit_p.bind(*known_args, jaxpr=known, name=name, donated=(False,) * len(known_args))
    n_known = len(known_outs) - num_res
    residuals = known_outs[n_known:]
    unknown_args = [a for a, u in zip(args, unknowns) if u]
    unknown_outs = trace.record(pjit_p, [*residuals, *unknown_args],
                                dict(jaxpr=unknown, name=name, donated=(False,) * len(unknown.in_avals)))
    known_it, unknown_it = iter(known_outs[:n_known]), iter(unknown_outs)
    return [next(unknown_it) if u else next(known_it) for u in out_unknowns]


pjit_p.def_jvp(_pjit_jvp)
pjit_p.def_batching(_pjit_batch)
pjit_p.batch_needs_axis = True
pjit_p.def_transpose(_pjit_transpose)
pjit_p.is_linear = False  # linear only in the arguments the transpose is asked about
pjit_p.partial_eval_rule = _pjit_partial_eval
