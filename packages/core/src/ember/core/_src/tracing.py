"""Tracing a Python function into a jaxpr (for jit, make_jaxpr, eval_shape, control flow).

A ``JaxprTrace`` is made the current trace while the function runs on ``JaxprTracer``s; every
primitive bound on them is recorded as an equation instead of being run. Values that do not
belong to this trace (closed-over arrays, NumPy constants, tracers of an outer trace) become
constvars; Python and NumPy scalars become literals.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .core import (
    ShapedArray,
    Trace,
    Tracer,
    get_aval,
    raise_escaped_tracer,
    set_current_trace,
    user_frame,
)
from .jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var

__all__ = ["JaxprTrace", "JaxprTracer", "trace_to_jaxpr", "dce_jaxpr"]

_scalar_types = (bool, int, float, complex)


class JaxprTracer(Tracer):
    __slots__ = ("_aval", "_var")

    def __init__(self, trace: "JaxprTrace", aval: ShapedArray, var: Var) -> None:
        self._trace = trace
        self._aval = aval
        self._var = var

    @property
    def aval(self) -> ShapedArray:
        return self._aval


class JaxprTrace(Trace):
    """Records primitives into equations."""

    __slots__ = ("eqns", "invars", "constvars", "consts", "_const_ids", "_keepalive")

    def __init__(self) -> None:
        super().__init__()
        self.eqns: list[JaxprEqn] = []
        self.invars: list[Var] = []
        self.constvars: list[Var] = []
        self.consts: list[Any] = []
        self._const_ids: dict[int, Var] = {}
        self._keepalive: list[Any] = []

    def __repr__(self) -> str:
        return f"JaxprTrace({'finished' if self.finished else 'tracing'})"

    def new_arg(self, aval: ShapedArray) -> JaxprTracer:
        var = Var(aval)
        self.invars.append(var)
        return JaxprTracer(self, aval, var)

    def to_atom(self, x: Any) -> Var | Literal:
        if type(x) is JaxprTracer and x._trace is self:
            return x._var
        if isinstance(x, Tracer):
            if x._trace.finished:
                raise_escaped_tracer(x)
            return self._constvar(x, x.aval)
        t = type(x)
        if t in _scalar_types:
            return Literal(x, get_aval(x))
        if isinstance(x, np.generic) or (isinstance(x, np.ndarray) and x.ndim == 0):
            aval = get_aval(x)
            return Literal(np.asarray(x, dtype=aval.dtype), aval)
        aval = get_aval(x)
        if not aval.shape and isinstance(aval.dtype, np.dtype) and hasattr(x, "__array__"):
            # A captured scalar array is written into the program, as a NumPy scalar would be, so
            # XLA can fold it instead of receiving it as an argument on every call.
            value = np.asarray(x)
            return Literal(value.item() if aval.weak_type else value, aval)  # a Python scalar stays weak
        return self._constvar(x, aval)

    def _constvar(self, value: Any, aval: ShapedArray) -> Var:
        var = self._const_ids.get(id(value))
        if var is None:
            var = Var(aval)
            self._const_ids[id(value)] = var
            self._keepalive.append(value)
            self.constvars.append(var)
            self.consts.append(value)
        return var

    def process_primitive(self, primitive: Any, args: Sequence[Any], params: dict[str, Any]) -> Any:
        atoms = [self.to_atom(x) for x in args]
        out = primitive.abstract_eval(*[a.aval for a in atoms], **params)
        source = user_frame()
        if primitive.multiple_results:
            outvars = [Var(aval) for aval in out]
            self.eqns.append(JaxprEqn(primitive, atoms, params, outvars, source))
            return [JaxprTracer(self, v.aval, v) for v in outvars]
        var = Var(out)
        self.eqns.append(JaxprEqn(primitive, atoms, params, [var], source))
        return JaxprTracer(self, out, var)

    def to_jaxpr(self, outputs: Sequence[Any]) -> ClosedJaxpr:
        outvars = [self.to_atom(x) for x in outputs]
        jaxpr = Jaxpr(self.constvars, self.invars, outvars, self.eqns)
        return ClosedJaxpr(jaxpr, self.consts)


def trace_to_jaxpr(fun: Callable[..., Sequence[Any]], in_avals: Sequence[ShapedArray]) -> ClosedJaxpr:
    """Trace ``fun`` (flat list of arrays in, flat list of arrays out) at ``in_avals``."""
    trace = JaxprTrace()
    args = [trace.new_arg(aval) for aval in in_avals]
    try:
        with set_current_trace(trace):
            outputs = fun(*args)
            closed = trace.to_jaxpr(list(outputs))
    finally:
        trace.invalidate()
    return dce_jaxpr(closed)


def dce_jaxpr(closed: ClosedJaxpr) -> ClosedJaxpr:
    """Drop equations whose results are never used (and constvars that become unused)."""
    jaxpr = closed.jaxpr
    live: set[Var] = {v for v in jaxpr.outvars if type(v) is Var}
    kept: list[JaxprEqn] = []
    for eqn in reversed(jaxpr.eqns):
        if eqn.params.get("has_side_effects") or any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(a for a in eqn.invars if type(a) is Var)
    if len(kept) == len(jaxpr.eqns) and all(v in live for v in jaxpr.constvars):
        return closed
    kept.reverse()
    pairs = [(v, c) for v, c in zip(jaxpr.constvars, closed.consts) if v in live]
    constvars = [v for v, _ in pairs]
    consts = [c for _, c in pairs]
    return ClosedJaxpr(Jaxpr(constvars, jaxpr.invars, jaxpr.outvars, kept), consts)
