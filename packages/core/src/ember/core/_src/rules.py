"""Vocabulary shared by primitive rules and the transformations that apply them.

- ``Zero(aval)``: a symbolic zero tangent/cotangent (no array is built for it).
- ``UndefinedPrimal(aval)``: in a transpose rule, marks the linear input being solved for.
- ``not_mapped``: in a batching rule, marks an input without a batch dimension.

and helpers that write the common rules once: ``defjvp`` (one tangent rule per argument),
``defjvp_zero`` (outputs with no derivative), ``deflinear``, ``defbroadcasting`` (elementwise
batching), ``defvectorized`` (unary elementwise batching).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from .core import Primitive, ShapedArray

__all__ = [
    "Zero", "UndefinedPrimal", "not_mapped", "is_undefined", "instantiate", "add_tangents",
    "defjvp", "defjvp_zero", "deflinear", "defbroadcasting", "defvectorized", "moveaxis_to_front",
    "broadcast_batched", "zeros_like_aval",
]


class Zero:
    """A symbolic zero of type ``aval``."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    def __repr__(self) -> str:
        return f"Zero({self.aval.str_short()})"

    @staticmethod
    def from_value(x: Any) -> "Zero":
        from .core import get_aval
        return Zero(tangent_aval(get_aval(x)))


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """Integer and boolean values have float0-like tangents; we keep their aval but never build them."""
    return aval.strip_weak_type() if aval.weak_type else aval


class UndefinedPrimal:
    """The unknown linear input of a transpose rule."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    def __repr__(self) -> str:
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x: Any) -> bool:
    return type(x) is UndefinedPrimal


not_mapped: Any = None  # batching rules use None for "no batch dimension", as JAX does


def zeros_like_aval(aval: ShapedArray) -> Any:
    from .primitives.shape import full
    return full(aval.shape, 0, aval.dtype)


def instantiate(t: Any) -> Any:
    """An array for a tangent that may be a symbolic Zero."""
    return zeros_like_aval(t.aval) if type(t) is Zero else t


def add_tangents(a: Any, b: Any) -> Any:
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    from .primitives.elementwise import add_any
    return add_any(a, b)


# ----------------------------------------------------------------------------------------------
# JVP helpers

def defjvp(primitive: Primitive, *rules: Callable[..., Any] | None) -> None:
    """One rule per argument: ``rule(tangent_i, *primals, **params) -> tangent contribution``.
    ``None`` means the output does not depend differentiably on that argument."""

    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        out = primitive.bind(*primals, **params)
        total: Any = Zero(tangent_aval(_aval_of(out)))
        for rule, t in zip(rules, tangents):
            if rule is not None and type(t) is not Zero:
                total = add_tangents(total, rule(t, *primals, **params))
        return out, total

    primitive.def_jvp(jvp)


def defjvp_with_output(primitive: Primitive, *rules: Callable[..., Any] | None) -> None:
    """Like ``defjvp`` but each rule also receives the primal output: ``rule(t, out, *primals)``."""

    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        out = primitive.bind(*primals, **params)
        total: Any = Zero(tangent_aval(_aval_of(out)))
        for rule, t in zip(rules, tangents):
            if rule is not None and type(t) is not Zero:
                total = add_tangents(total, rule(t, out, *primals, **params))
        return out, total

    primitive.def_jvp(jvp)


def defjvp_zero(primitive: Primitive) -> None:
    """Outputs that are piecewise constant (comparisons, rounding, integer ops)."""

    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        out = primitive.bind(*primals, **params)
        if primitive.multiple_results:
            return out, [Zero(tangent_aval(_aval_of(o))) for o in out]
        return out, Zero(tangent_aval(_aval_of(out)))

    primitive.def_jvp(jvp)


def deflinear(primitive: Primitive, transpose: Callable[..., Sequence[Any]]) -> None:
    """A primitive linear in all its array arguments: its JVP is itself applied to the tangents."""

    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        out = primitive.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            if primitive.multiple_results:
                return out, [Zero(tangent_aval(_aval_of(o))) for o in out]
            return out, Zero(tangent_aval(_aval_of(out)))
        return out, primitive.bind(*[instantiate(t) for t in tangents], **params)

    primitive.def_jvp(jvp)
    primitive.def_transpose(transpose)


def _aval_of(x: Any) -> ShapedArray:
    from .core import get_aval
    return get_aval(x)


# ----------------------------------------------------------------------------------------------
# Batching helpers

def moveaxis_to_front(x: Any, dim: int | None) -> Any:
    if dim is None or dim == 0:
        return x
    from .primitives.shape import transpose
    ndim = _aval_of(x).ndim
    perm = (dim,) + tuple(i for i in range(ndim) if i != dim)
    return transpose(x, perm)


def broadcast_batched(x: Any, dim: int | None, size: int) -> Any:
    """``x`` with its batch dimension at the front; an unmapped ``x`` is broadcast to ``size``."""
    if dim is not None:
        return moveaxis_to_front(x, dim)
    from .primitives.shape import broadcast_in_dim
    aval = _aval_of(x)
    return broadcast_in_dim(x, (size,) + aval.shape, tuple(range(1, aval.ndim + 1)))


def batch_size(args: Sequence[Any], dims: Sequence[int | None]) -> int:
    for x, d in zip(args, dims):
        if d is not None:
            return _aval_of(x).shape[d]
    raise ValueError("batching rule called with no batched argument")


def defvectorized(primitive: Primitive) -> None:
    """Unary elementwise: the batch dimension stays where it is."""

    def batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, Any]:
        (x,), (d,) = args, dims
        out = primitive.bind(x, **params)
        return out, ([d] * len(out) if primitive.multiple_results else d)

    primitive.def_batching(batch)


def defbroadcasting(primitive: Primitive) -> None:
    """n-ary elementwise on equal shapes: batched args keep their dim if all agree, else move to 0."""

    def batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, Any]:
        mapped = [d for d in dims if d is not None]
        if all(d is not None for d in dims) and len(set(mapped)) == 1:
            out = primitive.bind(*args, **params)
            return out, ([mapped[0]] * len(out) if primitive.multiple_results else mapped[0])
        size = batch_size(args, dims)
        moved = [broadcast_batched(x, d, size) for x, d in zip(args, dims)]
        out = primitive.bind(*moved, **params)
        return out, ([0] * len(out) if primitive.multiple_results else 0)

    primitive.def_batching(batch)
