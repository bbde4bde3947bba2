"""The program representation: a typed SSA IR ("jaxpr"), its printer and its interpreter.

    { lambda a:f32[3]; b:f32[3]. let
        c:f32[3] = add b 1.0:f32[]
        d:f32[3] = mul c a
      in (d,) }

``constvars`` are values captured from outside the traced function (closed-over arrays); a
``ClosedJaxpr`` pairs a jaxpr with their values. Sub-programs (of ``jit``, control flow) are
``ClosedJaxpr`` parameters of an equation and print nested.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .core import Primitive, ShapedArray

__all__ = ["Var", "Literal", "JaxprEqn", "Jaxpr", "ClosedJaxpr", "eval_jaxpr", "pp_jaxpr"]


class Var:
    """A program variable: a name for one value of type ``aval``."""

    __slots__ = ("aval", "suffix")

    def __init__(self, aval: ShapedArray, suffix: str = "") -> None:
        self.aval = aval
        self.suffix = suffix

    def __repr__(self) -> str:
        return f"Var({self.aval.str_short()})"


class Literal:
    """A scalar constant written into the program."""

    __slots__ = ("val", "aval")

    def __init__(self, val: Any, aval: ShapedArray) -> None:
        self.val = val
        self.aval = aval

    def __repr__(self) -> str:
        return f"{self.val}:{self.aval.str_short()}"


Atom = Var | Literal


class JaxprEqn:
    """``outvars = primitive[params] invars``."""

    __slots__ = ("primitive", "invars", "params", "outvars", "source_info")

    def __init__(self, primitive: Primitive, invars: Sequence[Atom], params: dict[str, Any],
                 outvars: Sequence[Var], source_info: Any = None) -> None:
        self.primitive = primitive
        self.invars = list(invars)
        self.params = params
        self.outvars = list(outvars)
        self.source_info = source_info

    def replace(self, **changes: Any) -> "JaxprEqn":
        fields = dict(primitive=self.primitive, invars=self.invars, params=self.params,
                      outvars=self.outvars, source_info=self.source_info)
        fields.update(changes)
        return JaxprEqn(**fields)

    def __repr__(self) -> str:
        return pp_eqn(self, _Names())


class Jaxpr:
    """A program: constants, inputs, equations in order, outputs."""

    __slots__ = ("constvars", "invars", "outvars", "eqns", "__weakref__")

    def __init__(self, constvars: Sequence[Var], invars: Sequence[Var], outvars: Sequence[Atom],
                 eqns: Sequence[JaxprEqn]) -> None:
        self.constvars = list(constvars)
        self.invars = list(invars)
        self.outvars = list(outvars)
        self.eqns = list(eqns)

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.invars]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.outvars]

    def __str__(self) -> str:
        return pp_jaxpr(self)

    __repr__ = __str__


class ClosedJaxpr:
    """A jaxpr together with the values of its constvars."""

    __slots__ = ("jaxpr", "consts")

    def __init__(self, jaxpr: Jaxpr, consts: Sequence[Any]) -> None:
        if len(consts) != len(jaxpr.constvars):
            raise ValueError(f"ClosedJaxpr: {len(jaxpr.constvars)} constvars but {len(consts)} consts")
        self.jaxpr = jaxpr
        self.consts = list(consts)

    @property
    def in_avals(self) -> list[ShapedArray]:
        return self.jaxpr.in_avals

    @property
    def out_avals(self) -> list[ShapedArray]:
        return self.jaxpr.out_avals

    @property
    def eqns(self) -> list[JaxprEqn]:
        return self.jaxpr.eqns

    def __call__(self, *args: Any) -> list[Any]:
        return eval_jaxpr(self.jaxpr, self.consts, *args)

    def __str__(self) -> str:
        return pp_jaxpr(self.jaxpr)

    __repr__ = __str__


# ----------------------------------------------------------------------------------------------
# Interpreter

def eval_jaxpr(jaxpr: Jaxpr, consts: Sequence[Any], *args: Any) -> list[Any]:
    """Evaluate ``jaxpr`` by binding each equation's primitive under the current trace.

    This is how transformations see inside a program: evaluated under a JVP or batching trace,
    each equation goes through that trace's rule.
    """
    if len(args) != len(jaxpr.invars):
        raise TypeError(f"eval_jaxpr: the program takes {len(jaxpr.invars)} arguments, got {len(args)}")
    env: dict[Var, Any] = {}

    def read(atom: Atom) -> Any:
        return atom.val if type(atom) is Literal else env[atom]

    for var, value in zip(jaxpr.constvars, consts):
        env[var] = value
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        outs = eqn.primitive.bind(*[read(a) for a in eqn.invars], **eqn.params)
        if eqn.primitive.multiple_results:
            for var, value in zip(eqn.outvars, outs):
                env[var] = value
        else:
            env[eqn.outvars[0]] = outs
    return [read(a) for a in jaxpr.outvars]


def jaxpr_as_fun(closed: ClosedJaxpr) -> Callable[..., list[Any]]:
    return lambda *args: eval_jaxpr(closed.jaxpr, closed.consts, *args)


# ----------------------------------------------------------------------------------------------
# Printer

class _Names:
    def __init__(self) -> None:
        self.names: dict[Var, str] = {}

    def __call__(self, atom: Any) -> str:
        if type(atom) is Literal:
            return _literal_str(atom)
        name = self.names.get(atom)
        if name is None:
            name = self.names[atom] = _letters(len(self.names)) + atom.suffix
        return name


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def _literal_str(lit: Literal) -> str:
    val = lit.val
    if isinstance(val, np.ndarray):
        val = val.item() if val.ndim == 0 else val
    return f"{val}:{lit.aval.str_short()}"


def _param_str(value: Any, indent: int) -> str:
    if isinstance(value, ClosedJaxpr):
        return _indent(pp_jaxpr(value.jaxpr), indent + 2)
    if isinstance(value, Jaxpr):
        return _indent(pp_jaxpr(value), indent + 2)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], (ClosedJaxpr, Jaxpr)):
        inner = ("\n" + " " * (indent + 2)).join(_param_str(v, indent) for v in value)
        return "(\n" + " " * (indent + 2) + inner + "\n" + " " * indent + ")"
    if isinstance(value, np.dtype):
        return value.name
    if callable(value) and hasattr(value, "__name__"):
        return value.__name__
    return str(value)


def _indent(text: str, n: int) -> str:
    return text.replace("\n", "\n" + " " * n)


def pp_eqn(eqn: JaxprEqn, names: _Names, indent: int = 4) -> str:
    lhs = " ".join(f"{names(v)}:{v.aval.str_short()}" for v in eqn.outvars) or "_"
    params = ""
    if eqn.params:
        params = "[" + " ".join(f"{k}={_param_str(v, indent)}" for k, v in sorted(eqn.params.items())) + "]"
    args = " ".join(names(a) for a in eqn.invars)
    return f"{lhs} = {eqn.primitive.name}{params} {args}".rstrip()


def pp_jaxpr(jaxpr: Jaxpr) -> str:
    names = _Names()
    constvars = " ".join(f"{names(v)}:{v.aval.str_short()}" for v in jaxpr.constvars)
    invars = " ".join(f"{names(v)}:{v.aval.str_short()}" for v in jaxpr.invars)
    body = "".join("\n    " + pp_eqn(e, names) for e in jaxpr.eqns)
    outs = ", ".join(names(v) for v in jaxpr.outvars)
    trailing = "," if len(jaxpr.outvars) == 1 else ""
    return f"{{ lambda {constvars}; {invars}. let{body}\n  in ({outs}{trailing}) }}"


def subjaxprs(params: dict[str, Any]) -> Iterable[Jaxpr]:
    """The sub-programs among an equation's parameters."""
    for value in params.values():
        if isinstance(value, ClosedJaxpr):
            yield value.jaxpr
        elif isinstance(value, Jaxpr):
            yield value
        elif isinstance(value, (tuple, list)):
            for v in value:
                if isinstance(v, ClosedJaxpr):
                    yield v.jaxpr
                elif isinstance(v, Jaxpr):
                    yield v
