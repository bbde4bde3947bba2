"""Lowering: jaxpr -> StableHLO, with jaxlib's MLIR Python bindings.

``lower_jaxpr`` builds a module whose public ``main`` takes the program's constants and
arguments and returns its results; each equation is emitted by its primitive's lowering rule,
``rule(ctx, *operands, **params) -> value | list of values``, where ``ctx`` carries the input and
output avals. Rules live with their primitive (``primitives/``); this module holds only the
machinery and the helpers rules share (types, constants, broadcasting, sub-programs).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir._mlir_libs import _chlo, _stablehlo
from jaxlib.mlir.dialects import func as func_dialect
from jaxlib.mlir.dialects import stablehlo as hlo

from . import dtypes
from .core import ShapedArray
from .jaxpr import ClosedJaxpr, Jaxpr, Literal

__all__ = [
    "LoweringError", "ModuleContext", "RuleContext", "LoweredModule", "lower_jaxpr",
    "jaxpr_subcomp", "ir_type", "dtype_to_ir_type", "constant", "full_like_aval", "hlo",
]

try:  # the dialects jaxlib registers for host callbacks (custom calls with Python callbacks)
    from jaxlib.mlir._mlir_libs import _jax_mlir_ext
except ImportError:  # pragma: no cover
    _jax_mlir_ext = None


class LoweringError(NotImplementedError):
    pass


def make_ir_context() -> ir.Context:
    context = ir.Context()
    if _jax_mlir_ext is not None:
        registry = ir.DialectRegistry()
        _jax_mlir_ext.register_dialects(registry)
        context.append_dialect_registry(registry)
        context.load_all_available_dialects()
    _stablehlo.register_dialect(context)
    _chlo.register_dialect(context)
    return context


# ----------------------------------------------------------------------------------------------
# Types and constants

_ir_type_makers: dict[np.dtype, Callable[[], ir.Type]] = {
    dtypes.bool_: lambda: ir.IntegerType.get_signless(1),
    dtypes.int8: lambda: ir.IntegerType.get_signless(8),
    dtypes.int16: lambda: ir.IntegerType.get_signless(16),
    dtypes.int32: lambda: ir.IntegerType.get_signless(32),
    dtypes.int64: lambda: ir.IntegerType.get_signless(64),
    dtypes.uint8: lambda: ir.IntegerType.get_unsigned(8),
    dtypes.uint16: lambda: ir.IntegerType.get_unsigned(16),
    dtypes.uint32: lambda: ir.IntegerType.get_unsigned(32),
    dtypes.uint64: lambda: ir.IntegerType.get_unsigned(64),
    dtypes.float16: ir.F16Type.get,
    dtypes.float32: ir.F32Type.get,
    dtypes.float64: ir.F64Type.get,
    dtypes.bfloat16: ir.BF16Type.get,
    dtypes.float8_e4m3fn: ir.Float8E4M3FNType.get,
    dtypes.float8_e5m2: ir.Float8E5M2Type.get,
    dtypes.float8_e4m3fnuz: ir.Float8E4M3FNUZType.get,
    dtypes.float8_e5m2fnuz: ir.Float8E5M2FNUZType.get,
    dtypes.float8_e4m3b11fnuz: ir.Float8E4M3B11FNUZType.get,
    dtypes.complex64: lambda: ir.ComplexType.get(ir.F32Type.get()),
    dtypes.complex128: lambda: ir.ComplexType.get(ir.F64Type.get()),
}


def dtype_to_ir_type(dtype: np.dtype) -> ir.Type:
    try:
        return _ir_type_makers[dtype]()
    except KeyError:
        raise TypeError(f"dtype {dtype} has no StableHLO type") from None


def ir_type(aval: ShapedArray) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(aval.shape, dtype_to_ir_type(aval.dtype))


def _dense_attr(value: np.ndarray, aval: ShapedArray) -> ir.DenseElementsAttr:
    element = dtype_to_ir_type(aval.dtype)
    if aval.dtype == dtypes.bool_:
        data = np.packbits(value.astype(np.bool_), bitorder="little")
        return ir.DenseElementsAttr.get(data, type=element, shape=aval.shape)
    if aval.dtype in dtypes.custom_float_dtypes:
        view = {1: np.uint8, 2: np.uint16}[aval.dtype.itemsize]
        return ir.DenseElementsAttr.get(np.ascontiguousarray(value).view(view), type=element, shape=aval.shape)
    return ir.DenseElementsAttr.get(np.ascontiguousarray(value), type=element, shape=aval.shape)


def constant(value: Any, aval: ShapedArray) -> ir.Value:
    """A constant of type ``aval`` from a NumPy value; splats become a broadcast scalar."""
    array = np.asarray(value, dtype=aval.dtype)
    if array.shape != aval.shape:
        array = np.broadcast_to(array, aval.shape)
    if array.ndim and array.size and _is_splat(array):
        return full_like_aval(array.flat[0], aval)
    return hlo.ConstantOp(_dense_attr(array, aval)).result


def _is_splat(array: np.ndarray) -> bool:
    with np.errstate(invalid="ignore"):
        return bool((array == array.flat[0]).all())  # a NaN splat is written out densely


def full_like_aval(value: Any, aval: ShapedArray) -> ir.Value:
    scalar_aval = ShapedArray((), aval.dtype)
    scalar = hlo.ConstantOp(_dense_attr(np.asarray(value, aval.dtype), scalar_aval)).result
    return scalar if not aval.shape else broadcast_in_dim(scalar, aval, ())


def broadcast_in_dim(value: ir.Value, aval_out: ShapedArray, dims: Sequence[int]) -> ir.Value:
    return hlo.BroadcastInDimOp(ir_type(aval_out), value, dense_i64(dims)).result


def dense_i64(values: Sequence[int]) -> Any:
    return ir.DenseI64ArrayAttr.get([int(v) for v in values])


def i32_attr(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(32), value)


def i64_attr(value: int) -> ir.IntegerAttr:
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)


# ----------------------------------------------------------------------------------------------
# Contexts

class ModuleContext:
    """State for lowering one module: the MLIR context, the module, and shared sub-functions."""

    def __init__(self, *, platform: str = "cpu", num_partitions: int = 1) -> None:
        self.context = make_ir_context()
        self.platform = platform
        self.num_partitions = num_partitions
        self.module = ir.Module.create(loc=ir.Location.unknown(self.context))
        self.symbol_table = ir.SymbolTable(self.module.operation)
        self.host_callbacks: list[Any] = []
        self.function_cache: dict[Any, Any] = {}
        self._names: dict[str, int] = {}

    def unique_name(self, base: str) -> str:
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else f"{base}_{n}"


@dataclasses.dataclass
class RuleContext:
    """What a lowering rule sees besides its operands."""

    module: ModuleContext
    avals_in: Sequence[ShapedArray]
    avals_out: Sequence[ShapedArray]

    def replace(self, **changes: Any) -> "RuleContext":
        return dataclasses.replace(self, **changes)


def jaxpr_subcomp(ctx: ModuleContext, jaxpr: Jaxpr, consts: Sequence[ir.Value],
                  args: Sequence[ir.Value]) -> list[ir.Value]:
    """Emit ``jaxpr``'s equations at the current insertion point; returns its output values."""
    env: dict[Any, Any] = {}

    def read(atom: Any) -> Any:
        if type(atom) is Literal:
            return constant(atom.val, atom.aval)
        return env[atom]

    for var, value in zip(jaxpr.constvars, consts):
        env[var] = value
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        rule = eqn.primitive.lowering_rule
        if rule is None:
            raise LoweringError(f"primitive {eqn.primitive.name!r} has no lowering rule")
        rule_ctx = RuleContext(ctx, [a.aval for a in eqn.invars], [v.aval for v in eqn.outvars])
        outs = rule(rule_ctx, *[read(a) for a in eqn.invars], **eqn.params)
        if eqn.primitive.multiple_results:
            outs = list(outs)
            if len(outs) != len(eqn.outvars):
                raise LoweringError(f"lowering of {eqn.primitive.name} returned {len(outs)} values, "
                                    f"expected {len(eqn.outvars)}")
            for var, value in zip(eqn.outvars, outs):
                env[var] = value
        else:
            env[eqn.outvars[0]] = outs
    return [read(a) for a in jaxpr.outvars]


def lower_function(ctx: ModuleContext, name: str, closed: ClosedJaxpr, *, public: bool = False,
                   arg_attrs: Sequence[dict[str, ir.Attribute]] | None = None,
                   result_attrs: Sequence[dict[str, ir.Attribute]] | None = None,
                   const_args: bool | Sequence[bool] = True) -> Any:
    """Emit ``closed`` as a function ``name(const args..., args...) -> results``.

    ``const_args`` says which of the jaxpr's consts are leading arguments (all, none, or one flag
    per const); the others are written into the function as constants.
    """
    jaxpr = closed.jaxpr
    if isinstance(const_args, bool):
        const_args = [const_args] * len(jaxpr.constvars)
    const_avals = [v.aval for v, as_arg in zip(jaxpr.constvars, const_args) if as_arg]
    in_types = [ir_type(a) for a in const_avals + jaxpr.in_avals]
    out_types = [ir_type(a) for a in jaxpr.out_avals]
    with ir.InsertionPoint(ctx.module.body):
        function = func_dialect.FuncOp(name, ir.FunctionType.get(in_types, out_types))
    function.attributes["sym_visibility"] = ir.StringAttr.get("public" if public else "private")
    if arg_attrs is not None:
        function.arg_attrs = ir.ArrayAttr.get([ir.DictAttr.get(a) for a in arg_attrs])
    if result_attrs is not None:
        function.result_attrs = ir.ArrayAttr.get([ir.DictAttr.get(a) for a in result_attrs])
    block = function.add_entry_block()
    with ir.InsertionPoint(block):
        args = list(block.arguments)
        n_const_args = len(const_avals)
        leading = iter(args[:n_const_args])
        consts = [next(leading) if as_arg else constant(np.asarray(c), v.aval)
                  for c, v, as_arg in zip(closed.consts, jaxpr.constvars, const_args)]
        outs = jaxpr_subcomp(ctx, jaxpr, consts, args[n_const_args:])
        func_dialect.ReturnOp(outs)
    return function


def consts_passed_as_args(closed: ClosedJaxpr) -> list[bool]:
    """Which of a top-level program's consts (arrays the function closes over) its executable
    takes as arguments: those above ``config.embedded_constants_max_bytes``. The rest are
    written into the program, where XLA can fold them, as JAX does."""
    from .config import config
    limit = config.embedded_constants_max_bytes
    return [v.aval.size * v.aval.dtype.itemsize > limit for v in closed.jaxpr.constvars]


def call_jaxpr(rule_ctx: RuleContext, closed: ClosedJaxpr, args: Sequence[ir.Value], name: str) -> list[ir.Value]:
    """Lower ``closed`` as a private function (once per jaxpr) and call it; consts are inlined."""
    ctx = rule_ctx.module
    key = (id(closed.jaxpr), name)
    entry = ctx.function_cache.get(key)
    if entry is None:
        fname = ctx.unique_name(name)
        lower_function(ctx, fname, closed, const_args=False)
        entry = ctx.function_cache[key] = (fname, closed)  # closed keeps id(closed.jaxpr) valid
    fname = entry[0]
    out_types = [ir_type(a) for a in closed.out_avals]
    call = func_dialect.CallOp(out_types, ir.FlatSymbolRefAttr.get(fname), list(args))
    return list(call.results)


@dataclasses.dataclass
class LoweredModule:
    """A lowered program: its text, the parsed module, and what compilation needs to know."""

    module: ir.Module
    text: str
    host_callbacks: list[Any]
    const_args: list[bool]  # per const of the jaxpr: a leading argument (True) or written in (False)
    context: ModuleContext

    def arguments(self, values: Sequence[Any]) -> list[Any]:
        """The entries of ``values`` (one per const of the jaxpr, then one per argument) that
        belong to arguments of ``main``: every argument, and the consts not written in."""
        return _keep_arguments(self.const_args, values)


def _keep_arguments(const_args: Sequence[bool], values: Sequence[Any]) -> list[Any]:
    return [v for i, v in enumerate(values) if i >= len(const_args) or const_args[i]]


def lower_jaxpr(closed: ClosedJaxpr, *, name: str = "main", platform: str = "cpu",
                donated: Sequence[bool] | None = None, num_partitions: int = 1,
                arg_shardings: Sequence[str | None] | None = None,
                result_shardings: Sequence[str | None] | None = None) -> LoweredModule:
    """Lower a closed jaxpr to a StableHLO module whose ``main`` takes (const args..., args...).

    Small consts are written into the program and large ones are leading arguments
    (``consts_passed_as_args``; the result's ``const_args`` says which). ``donated``,
    ``arg_shardings`` count every const first, then the arguments; entries for consts written
    into the program are dropped. ``donated[i]`` marks an argument as donated: it is aliased to an
    output of the same type when there is one, else offered to XLA as a buffer donor.
    """
    ctx = ModuleContext(platform=platform, num_partitions=num_partitions)
    jaxpr = closed.jaxpr
    const_args = consts_passed_as_args(closed)
    if donated is not None:
        donated = _keep_arguments(const_args, donated)
    if arg_shardings is not None:
        arg_shardings = _keep_arguments(const_args, arg_shardings)
    in_avals = _keep_arguments(const_args, [v.aval for v in jaxpr.constvars] + jaxpr.in_avals)
    arg_attrs: list[dict[str, ir.Attribute]] = [{} for _ in in_avals]
    result_attrs: list[dict[str, ir.Attribute]] = [{} for _ in jaxpr.outvars]
    with ctx.context, ir.Location.unknown(ctx.context):
        if donated is not None and any(donated):
            _donation_attrs(in_avals, jaxpr.out_avals, donated, arg_attrs)
        if arg_shardings is not None:
            for attrs, spec in zip(arg_attrs, arg_shardings):
                if spec is not None:
                    attrs["mhlo.sharding"] = ir.StringAttr.get(spec)
        if result_shardings is not None:
            for attrs, spec in zip(result_attrs, result_shardings):
                if spec is not None:
                    attrs["mhlo.sharding"] = ir.StringAttr.get(spec)
        if num_partitions > 1:
            ctx.module.operation.attributes["mhlo.num_partitions"] = i32_attr(num_partitions)
            ctx.module.operation.attributes["mhlo.num_replicas"] = i32_attr(1)
        ctx.module.operation.attributes["sym_name"] = ir.StringAttr.get(_module_name(name))
        lower_function(ctx, "main", closed, public=True,
                       arg_attrs=arg_attrs if any(arg_attrs) else None,
                       result_attrs=result_attrs if any(result_attrs) else None, const_args=const_args)
        if not ctx.module.operation.verify():
            raise LoweringError(f"lowered module failed verification:\n{ctx.module}")
        text = ctx.module.operation.get_asm(enable_debug_info=False)
    return LoweredModule(ctx.module, text, ctx.host_callbacks, const_args, ctx)


def _module_name(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
    return cleaned or "program"


def _donation_attrs(in_avals: Sequence[ShapedArray], out_avals: Sequence[ShapedArray],
                    donated: Sequence[bool], arg_attrs: list[dict[str, ir.Attribute]]) -> None:
    free_outputs: dict[tuple, list[int]] = {}
    for i, aval in enumerate(out_avals):
        free_outputs.setdefault((aval.shape, aval.dtype), []).append(i)
    for i, (aval, is_donated) in enumerate(zip(in_avals, donated)):
        if not is_donated:
            continue
        candidates = free_outputs.get((aval.shape, aval.dtype))
        if candidates:
            arg_attrs[i]["tf.aliasing_output"] = i32_attr(candidates.pop(0))
        else:
            arg_attrs[i]["jax.buffer_donor"] = ir.BoolAttr.get(True)


# ----------------------------------------------------------------------------------------------
# Lowering a composite of primitives

def emit_fun(ctx: "RuleContext", fun: Callable[..., Any], args: Sequence[ir.Value],
             avals_in: Sequence[ShapedArray], multiple_results: bool = False) -> Any:
    """Emit ``fun`` (a function of ember primitives) at the current insertion point: it is traced
    at ``avals_in`` and its equations are lowered in place."""
    from .tracing import trace_to_jaxpr

    def flat(*xs: Any) -> list[Any]:
        out = fun(*xs)
        return list(out) if multiple_results else [out]

    closed = trace_to_jaxpr(flat, list(avals_in))
    consts = [constant(np.asarray(c), v.aval) for c, v in zip(closed.consts, closed.jaxpr.constvars)]
    outs = jaxpr_subcomp(ctx.module, closed.jaxpr, consts, list(args))
    return outs if multiple_results else outs[0]


def lower_fun(fun: Callable[..., Any], multiple_results: bool) -> Callable[..., Any]:
    """A lowering rule made from ``fun(*operands, **params)``, written with other primitives."""

    def rule(ctx: "RuleContext", *args: Any, **params: Any) -> Any:
        return emit_fun(ctx, lambda *xs: fun(*xs, **params), args, ctx.avals_in, multiple_results)

    return rule
