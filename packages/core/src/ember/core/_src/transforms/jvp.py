"""Forward-mode differentiation: the JVP trace.

A ``JVPTracer`` carries a primal and a tangent. ``process_primitive`` runs the primitive's JVP
rule with the parent trace current, so primal and tangent computations both land in the parent
(evaluated eagerly, recorded into a jaxpr, or differentiated again). Tangents may be symbolic
``Zero``s; an output whose tangent is zero leaves the trace as a plain value.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..core import ShapedArray, Trace, Tracer, get_aval, set_current_trace, trace_state
from ..jaxpr import ClosedJaxpr, eval_jaxpr
from ..rules import Zero, instantiate, tangent_aval
from ..tracing import trace_to_jaxpr

__all__ = ["JVPTrace", "JVPTracer", "jvp_flat", "jvp_jaxpr"]


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace: "JVPTrace", primal: Any, tangent: Any) -> None:
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self) -> ShapedArray:
        return get_aval(self.primal)

    def to_concrete_value(self) -> Any:
        primal = self.primal
        if isinstance(primal, Tracer):
            return primal.to_concrete_value()
        return primal


class JVPTrace(Trace):
    __slots__ = ("parent",)

    def __init__(self, parent: Trace) -> None:
        super().__init__()
        self.parent = parent

    def __repr__(self) -> str:
        return "JVPTrace"

    def split(self, x: Any) -> tuple[Any, Any]:
        if type(x) is JVPTracer and x._trace is self:
            return x.primal, x.tangent
        if isinstance(x, Tracer) and x._trace.finished:
            from ..core import raise_escaped_tracer
            raise_escaped_tracer(x)
        return x, Zero(tangent_aval(get_aval(x)))

    def wrap(self, primal: Any, tangent: Any) -> Any:
        return primal if type(tangent) is Zero else JVPTracer(self, primal, tangent)

    def process_primitive(self, primitive: Any, args: Sequence[Any], params: dict[str, Any]) -> Any:
        primals, tangents = [], []
        for x in args:
            p, t = self.split(x)
            primals.append(p)
            tangents.append(t)
        with set_current_trace(self.parent):
            if all(type(t) is Zero for t in tangents):
                return primitive.bind(*primals, **params)
            rule = primitive.jvp_rule
            if rule is None:
                raise NotImplementedError(f"differentiation of {primitive.name!r} is not implemented "
                                          "(it has no JVP rule)")
            primal_out, tangent_out = rule(primals, tangents, **params)
        if primitive.multiple_results:
            return [self.wrap(p, t) for p, t in zip(primal_out, tangent_out)]
        return self.wrap(primal_out, tangent_out)


def jvp_flat(fun: Callable[..., Sequence[Any]], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """JVP of a flat function (list in, list out); tangents may be ``Zero``; outputs may be ``Zero``."""
    parent = trace_state.trace
    trace = JVPTrace(parent)
    inputs = [trace.wrap(p, t) for p, t in zip(primals, tangents)]
    try:
        with set_current_trace(trace):
            outputs = fun(*inputs)
        primals_out, tangents_out = [], []
        for out in outputs:
            p, t = trace.split(out)
            primals_out.append(p)
            tangents_out.append(t)
    finally:
        trace.invalidate()
    return primals_out, tangents_out


def jvp_jaxpr(closed: ClosedJaxpr, nonzeros: Sequence[bool], instantiate_outputs: bool | Sequence[bool]
              ) -> tuple[ClosedJaxpr, list[bool]]:
    """A jaxpr computing ``closed``'s outputs and tangents.

    Inputs: primals, then the tangents of the inputs marked in ``nonzeros``. Outputs: primals,
    then the tangents that are not symbolically zero (or instantiated). Returns the jaxpr and
    which output tangents it produces.
    """
    in_avals = closed.in_avals
    n = len(in_avals)
    tangent_avals = [tangent_aval(a) for a, nz in zip(in_avals, nonzeros) if nz]
    out_nonzero: list[bool] = []
    if isinstance(instantiate_outputs, bool):
        instantiate_outputs = [instantiate_outputs] * len(closed.out_avals)

    def fun(*args: Any) -> list[Any]:
        primals, nonzero_tangents = args[:n], list(args[n:])
        tangents = [nonzero_tangents.pop(0) if nz else Zero(tangent_aval(a)) for a, nz in zip(in_avals, nonzeros)]
        primals_out, tangents_out = jvp_flat(lambda *xs: eval_jaxpr(closed.jaxpr, closed.consts, *xs),
                                             primals, tangents)
        kept = []
        out_nonzero.clear()
        for t, inst in zip(tangents_out, instantiate_outputs):
            if type(t) is Zero and not inst:
                out_nonzero.append(False)
            else:
                out_nonzero.append(True)
                kept.append(instantiate(t))
        return list(primals_out) + kept

    new = trace_to_jaxpr(fun, list(in_avals) + tangent_avals)
    return new, list(out_nonzero)
