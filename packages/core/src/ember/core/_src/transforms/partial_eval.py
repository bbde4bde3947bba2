"""Partial evaluation: run what is known now, record what is not.

A ``PartialEvalTrace`` owns the *unknown* values; anything else is known. A primitive whose
inputs are all known is bound on the parent trace (computed now, or staged into an outer
program); one with an unknown input is recorded into this trace's jaxpr, and the known inputs
it uses become the jaxpr's constants (the *residuals*). Linearize is JVP over this trace with
the tangents unknown: the primal runs, the tangent computation becomes a linear jaxpr.

Higher-order primitives (pjit, control flow) give a ``partial_eval_rule`` that splits their
sub-program with ``partial_eval_jaxpr`` instead of recording it whole.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from ..core import ShapedArray, Trace, set_current_trace, trace_state
from ..jaxpr import ClosedJaxpr, Jaxpr, eval_jaxpr
from ..tracing import JaxprTrace, JaxprTracer, dce_jaxpr, trace_to_jaxpr

__all__ = ["PartialEvalTrace", "partial_eval_jaxpr", "is_unknown"]


class PartialEvalTrace(JaxprTrace):
    """A JaxprTrace that only records operations touching its own (unknown) tracers."""

    __slots__ = ("parent",)

    def __init__(self, parent: Trace) -> None:
        super().__init__()
        self.parent = parent

    def __repr__(self) -> str:
        return "PartialEvalTrace"

    def owns(self, x: Any) -> bool:
        return type(x) is JaxprTracer and x._trace is self

    def process_primitive(self, primitive: Any, args: Sequence[Any], params: dict[str, Any]) -> Any:
        if not any(self.owns(x) for x in args):
            with set_current_trace(self.parent):
                return primitive.bind(*args, **params)
        rule = getattr(primitive, "partial_eval_rule", None)
        if rule is not None:
            return rule(self, args, **params)
        return super().process_primitive(primitive, args, params)

    def record(self, primitive: Any, args: Sequence[Any], params: dict[str, Any]) -> Any:
        """Record ``primitive`` as an unknown equation regardless of its inputs."""
        return JaxprTrace.process_primitive(self, primitive, args, params)


def is_unknown(trace: PartialEvalTrace, x: Any) -> bool:
    return trace.owns(x)


def partial_eval_jaxpr(closed: ClosedJaxpr, unknowns: Sequence[bool], instantiate: bool | Sequence[bool] = False
                       ) -> tuple[ClosedJaxpr, ClosedJaxpr, list[bool], int]:
    """Split ``closed`` by which inputs are unknown.

    Returns ``(known, unknown, out_unknowns, num_residuals)``:
    - ``known`` takes the known inputs and returns the known outputs, then the residuals;
    - ``unknown`` takes the residuals, then the unknown inputs, and returns the unknown outputs;
    - ``out_unknowns[i]`` says whether output i is computed by ``unknown``.
    An output listed in ``instantiate`` is made unknown even if it could be known.
    """
    in_avals = closed.in_avals
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * len(closed.out_avals)
    known_avals = [a for a, u in zip(in_avals, unknowns) if not u]
    cell: dict[str, Any] = {}

    def known_fun(*known_values: Any) -> list[Any]:
        pe = PartialEvalTrace(trace_state.trace)
        it = iter(known_values)
        args = [pe.new_arg(a) if u else next(it) for a, u in zip(in_avals, unknowns)]
        try:
            with set_current_trace(pe):
                outs = eval_jaxpr(closed.jaxpr, closed.consts, *args)
            outs = [_instantiated(pe, o) if inst and not pe.owns(o) else o for o, inst in zip(outs, instantiate)]
            out_unknowns = [pe.owns(o) for o in outs]
            unknown_outs = [o for o in outs if pe.owns(o)]
            unknown_jaxpr = pe.to_jaxpr(unknown_outs)
        finally:
            pe.invalidate()
        unknown_jaxpr = dce_jaxpr(unknown_jaxpr)
        # residuals: the known values the unknown part needs (its constants)
        residuals = list(unknown_jaxpr.consts)
        jaxpr = unknown_jaxpr.jaxpr
        unknown_only = Jaxpr([], list(jaxpr.constvars) + list(jaxpr.invars), jaxpr.outvars, jaxpr.eqns)
        cell["unknown"] = ClosedJaxpr(unknown_only, [])
        cell["out_unknowns"] = out_unknowns
        cell["num_res"] = len(residuals)
        known_outs = [o for o in outs if not pe.owns(o)]
        return known_outs + residuals

    known = trace_to_jaxpr(known_fun, known_avals)
    return known, cell["unknown"], cell["out_unknowns"], cell["num_res"]


def _instantiated(pe: PartialEvalTrace, value: Any) -> Any:
    """Make a known value an unknown one (an identity equation fed by a residual)."""
    from ..primitives.shape import copy_p
    return pe.record(copy_p, [value], {})


def trace_partial(fun: Callable[..., Sequence[Any]], known_args: Sequence[Any], unknown_avals: Sequence[ShapedArray],
                  order: Sequence[bool]) -> tuple[list[Any], ClosedJaxpr, list[bool]]:
    """Run ``fun`` with some arguments unknown; return the outputs (known values, or None where
    unknown), the unknown computation as a jaxpr (inputs: the unknown args; consts: residuals),
    and which outputs are unknown."""
    pe = PartialEvalTrace(trace_state.trace)
    it_known, it_unknown = iter(known_args), iter(unknown_avals)
    args = [pe.new_arg(next(it_unknown)) if u else next(it_known) for u in order]
    try:
        with set_current_trace(pe):
            outs = list(fun(*args))
        out_unknowns = [pe.owns(o) for o in outs]
        jaxpr = pe.to_jaxpr([o for o in outs if pe.owns(o)])
    finally:
        pe.invalidate()
    return [None if u else o for o, u in zip(outs, out_unknowns)], dce_jaxpr(jaxpr), out_unknowns
