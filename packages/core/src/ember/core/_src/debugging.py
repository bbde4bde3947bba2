"""Debugging: ``debug.print`` / ``debug.callback`` (host callbacks from compiled code), the NaN
check mode (``config.update("debug_nans", True)``), and ``disable_jit``.

A callback is the ``debug_callback`` primitive: no outputs, marked side-effecting so it is never
dropped as dead code. Eagerly it calls the function; compiled, it lowers to XLA's Python host
callback custom call, which calls it with NumPy arrays while the program runs.
"""

from __future__ import annotations

import contextlib
import string
import sys
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from . import tree as tree_util
from .config import config
from .core import Primitive, get_aval
from .jaxpr import ClosedJaxpr, Jaxpr, Literal
from .rules import moveaxis_to_front

__all__ = ["callback", "print", "disable_jit", "debug_callback_p", "check_nans", "find_nan_source",
           "visualize_array_sharding"]

_builtin_print = print
_registry = tree_util.registry

debug_callback_p = Primitive("debug_callback", multiple_results=True)


def _to_numpy(values: Sequence[Any]) -> list[np.ndarray]:
    return [np.asarray(v) for v in values]


def _callback_impl(*args: Any, callback: Callable[..., None], has_side_effects: bool) -> list[Any]:
    callback(*_to_numpy(args))
    return []


def _callback_lowering(ctx: Any, *args: Any, callback: Callable[..., None], has_side_effects: bool) -> list[Any]:
    module = ctx.module
    index = len(module.host_callbacks)

    def host_function(*arrays: Any) -> tuple:
        callback(*arrays)
        return ()

    module.host_callbacks.append(host_function)
    target = "xla_ffi_python_gpu_callback" if module.platform in ("cuda", "rocm") else "xla_ffi_python_cpu_callback"
    hlo.CustomCallOp(
        [], list(args), call_target_name=ir.StringAttr.get(target), has_side_effect=ir.BoolAttr.get(True),
        api_version=ir.IntegerAttr.get(ir.IntegerType.get_signless(32), 4),
        backend_config=ir.DictAttr.get({"index": ir.IntegerAttr.get(ir.IntegerType.get_unsigned(64), index)}),
    )
    return []


def _callback_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, callback: Any, has_side_effects: bool) -> tuple[list, list]:
    debug_callback_p.bind(*primals, callback=callback, has_side_effects=has_side_effects)
    return [], []


def _callback_batch(args: Sequence[Any], dims: Sequence[int | None], *, callback: Any,
                    has_side_effects: bool) -> tuple[list, list]:
    batched = [d is not None for d in dims]
    moved = [moveaxis_to_front(a, d) for a, d in zip(args, dims)]
    size = next(get_aval(a).shape[0] for a, b in zip(moved, batched) if b)

    def per_example(*arrays: Any) -> None:  # one call per batch element, as under JAX's vmap
        for i in range(size):
            callback(*[a[i] if b else a for a, b in zip(arrays, batched)])

    debug_callback_p.bind(*moved, callback=per_example, has_side_effects=has_side_effects)
    return [], []


debug_callback_p.def_abstract_eval(lambda *avals, callback, has_side_effects: [])
debug_callback_p.def_impl(_callback_impl)
debug_callback_p.def_lowering(_callback_lowering)
debug_callback_p.def_jvp(_callback_jvp)
debug_callback_p.def_batching(_callback_batch)


def callback(fn: Callable[..., Any], *args: Any, ordered: bool = False, **kwargs: Any) -> None:
    """Call ``fn(*args, **kwargs)`` on the host with NumPy values, also from inside jit.

    >>> import ember.core as ec
    >>> ec.jit(lambda x: ec.debug.callback(lambda v: None, x) or x)(1.0)
    Array(1., dtype=float32, weak_type=True)
    """
    leaves, treedef = _registry.flatten((args, kwargs))
    array_positions = [i for i, leaf in enumerate(leaves) if _is_array_like(leaf)]
    static = {i: leaf for i, leaf in enumerate(leaves) if i not in array_positions}

    def host(*arrays: np.ndarray) -> None:
        full = list(leaves)
        for i, a in zip(array_positions, arrays):
            full[i] = a
        for i, v in static.items():
            full[i] = v
        a, k = treedef.unflatten(full)
        fn(*a, **k)

    debug_callback_p.bind(*[leaves[i] for i in array_positions], callback=_Callback(host), has_side_effects=True)


class _Callback:
    """A hashable-by-identity wrapper (primitive parameters key caches)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, *arrays: Any) -> None:
        self.fn(*arrays)

    @property
    def __name__(self) -> str:
        return "callback"


def _is_array_like(x: Any) -> bool:
    from .array import Array
    from .core import Tracer
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic, bool, int, float, complex))


def print(fmt: str, *args: Any, ordered: bool = False, **kwargs: Any) -> None:  # noqa: A001 - jax.debug name
    """``print(fmt.format(*args, **kwargs))`` on the host, with the runtime values, also under jit.

    >>> import ember.core as ec
    >>> _ = ec.jit(lambda x: (ec.debug.print("x = {}", x), x)[1])(1.5)
    x = 1.5
    """
    _check_format(fmt, args, kwargs)

    def show(*a: Any, **k: Any) -> None:
        _builtin_print(fmt.format(*a, **k), file=sys.stdout, flush=True)

    callback(show, *args, ordered=ordered, **kwargs)


def _check_format(fmt: str, args: tuple, kwargs: dict) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
    except ValueError as e:
        raise ValueError(f"debug.print: bad format string {fmt!r}: {e}") from None
    automatic = sum(1 for f in fields if f == "" or f[0] in ".[")
    if automatic > len(args):
        raise IndexError(f"debug.print: {fmt!r} has {automatic} positional fields but only {len(args)} positional "
                         "arguments were given")
    for f in fields:
        key = f.split(".")[0].split("[")[0]
        if key.isdigit() and int(key) >= len(args):
            raise IndexError(f"debug.print: format field {{{f}}} but only {len(args)} positional arguments")
        if key and not key.isdigit() and key not in kwargs:
            raise KeyError(f"debug.print: format field {{{f}}} has no matching keyword argument")


# ----------------------------------------------------------------------------------------------
# NaN checking

def _has_nan(value: Any) -> bool:
    aval = get_aval(value)
    if aval.dtype.kind not in "fc" and aval.dtype.name not in ("bfloat16",) and not aval.dtype.name.startswith("float8"):
        return False
    return bool(np.isnan(np.asarray(value, dtype=np.complex128 if aval.dtype.kind == "c" else np.float64)).any())


def check_nans(outputs: Sequence[Any]) -> bool:
    return any(_has_nan(o) for o in outputs)


def find_nan_source(closed: ClosedJaxpr, args: Sequence[Any], name: str) -> None:
    """Re-run ``closed`` one equation at a time and raise at the first that makes a NaN."""
    previous = config.debug_nans
    config.update("debug_nans", False)  # report here, with the equation's source line
    try:
        _replay(closed, args, name)
    finally:
        config.update("debug_nans", previous)


def _replay(closed: ClosedJaxpr, args: Sequence[Any], name: str) -> None:
    jaxpr: Jaxpr = closed.jaxpr
    env: dict[Any, Any] = {}
    for v, c in zip(jaxpr.constvars, closed.consts):
        env[v] = c
    for v, a in zip(jaxpr.invars, args):
        env[v] = a
    read = lambda a: a.val if type(a) is Literal else env[a]  # noqa: E731
    for eqn in jaxpr.eqns:
        invals = [read(a) for a in eqn.invars]
        outs = eqn.primitive.bind(*invals, **eqn.params)
        outs = outs if eqn.primitive.multiple_results else [outs]
        bad_inputs = any(_has_nan(v) for v in invals)
        if not bad_inputs and any(_has_nan(o) for o in outs):
            where = ""
            if eqn.source_info:
                file, line, fn = eqn.source_info
                where = f" at {file}:{line} ({fn})"
            raise FloatingPointError(f"invalid value (nan) encountered in {eqn.primitive.name}{where} "
                                     f"(while running {name} with debug_nans)")
        for v, o in zip(eqn.outvars, outs):
            env[v] = o
    raise FloatingPointError(f"invalid value (nan) in the outputs of {name}, but no single operation produced it "
                             "when re-run one at a time (XLA's fused code may differ numerically)")


# ----------------------------------------------------------------------------------------------
# disable_jit

@contextlib.contextmanager
def disable_jit(disable: bool = True) -> Iterator[None]:
    """Run jitted functions as plain Python inside this block (for debugging with print/pdb).

    >>> import ember.core as ec
    >>> with ec.disable_jit():
    ...     ec.jit(lambda x: type(x).__name__)(1.0)
    'float'
    """
    previous = config.disable_jit
    config.update("disable_jit", disable)
    try:
        yield
    finally:
        config.update("disable_jit", previous)



# ----------------------------------------------------------------------------------------------
# Seeing how an array is laid out

def visualize_array_sharding(x: Any, *, max_width: int = 80) -> str:
    """Print (and return) a text table of which devices hold which block of a 1-d or 2-d array.

    >>> import ember.core as ec
    >>> _ = ec.debug.visualize_array_sharding(ec.numpy.zeros((4, 4)))   # on the default device
    +-------+
    | dev 0 |
    +-------+
    """
    shape = x.shape
    if len(shape) not in (1, 2):
        raise ValueError(f"visualize_array_sharding: only 1-d and 2-d arrays can be drawn, got shape {shape}")
    shape2 = shape if len(shape) == 2 else (1, shape[0])
    index_map = x.sharding.devices_indices_map(shape)
    blocks: dict[tuple, list[int]] = {}
    for device, index in index_map.items():
        index2 = index if len(shape) == 2 else (slice(0, 1), index[0])
        key = tuple((s.start or 0, s.stop if s.stop is not None else n) for s, n in zip(index2, shape2))
        blocks.setdefault(key, []).append(device.id)
    rows = sorted({k[0] for k in blocks})
    cols = sorted({k[1] for k in blocks})
    cell = max(6, max(len(_device_label(ids)) for ids in blocks.values()) + 2)
    width = min(max_width, cell * len(cols))
    cell = max(1, width // len(cols))
    lines = ["+" + "+".join("-" * cell for _ in cols) + "+"]
    for r in rows:
        text = [_device_label(blocks[(r, c)]).center(cell) for c in cols]
        lines.append("|" + "|".join(text) + "|")
        lines.append("+" + "+".join("-" * cell for _ in cols) + "+")
    table = "\n".join(lines)
    _builtin_print(table)
    return table


def _device_label(ids: Sequence[int]) -> str:
    ids = sorted(ids)
    if len(ids) == 1:
        return f"dev {ids[0]}"
    if ids == list(range(ids[0], ids[-1] + 1)):
        return f"dev {ids[0]}-{ids[-1]}"
    return "dev " + ",".join(map(str, ids))
