"""The core of the tracer: abstract values, primitives, traces and tracers.

Every operation in ember.core ends in ``primitive.bind(*args, **params)``. ``bind`` hands the
operation to the *current trace* (a context variable, as in JAX's "stackless" core):

- the ``EvalTrace`` (the default) runs it now on device (``primitive.impl``);
- a ``JaxprTrace`` (``tracing.py``) records it into a program, for ``jit`` and ``make_jaxpr``;
- the transformation traces (``transforms/``) apply the primitive's JVP or batching rule and
  bind the results on their *parent* trace.

Each trace wraps the values it owns in its own ``Tracer`` subclass; a value that belongs to no
trace or to an outer one is a constant for it. A primitive keeps all its rules on itself
(``abstract_eval``, ``impl``, ``lowering``, ``jvp``, ``transpose``, ``batch``), defined in one
file under ``primitives/``.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import sys
import threading
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from . import dtypes

__all__ = [
    "ShapedArray", "Primitive", "Trace", "Tracer", "EvalTrace", "eval_trace", "current_trace",
    "set_current_trace", "ConcretizationError", "UnexpectedTracerError", "get_aval",
    "raise_to_shaped", "canonicalize_shape",
]


# ----------------------------------------------------------------------------------------------
# Abstract values

class ShapedArray(tuple):
    """The abstract value of an array: shape, dtype, and whether its dtype is weak.

    A tuple ``(shape, dtype, weak_type)`` underneath, so hashing and equality run in C: avals
    key every cache on the dispatch path.

    >>> ShapedArray((2, 3), np.dtype("float32")).str_short()
    'f32[2,3]'
    """

    __slots__ = ()

    def __new__(cls, shape: tuple[int, ...], dtype: np.dtype, weak_type: bool = False) -> "ShapedArray":
        return tuple.__new__(cls, (shape, dtype, weak_type))

    shape = property(operator.itemgetter(0))
    dtype = property(operator.itemgetter(1))
    weak_type = property(operator.itemgetter(2))

    def __getnewargs__(self) -> tuple:
        return tuple(self)

    @property
    def ndim(self) -> int:
        return len(self[0])

    @property
    def size(self) -> int:
        return int(np.prod(self[0], dtype=np.int64))

    def update(self, shape: tuple[int, ...] | None = None, dtype: np.dtype | None = None,
               weak_type: bool | None = None) -> "ShapedArray":
        return ShapedArray(self[0] if shape is None else shape,
                           self[1] if dtype is None else dtype,
                           self[2] if weak_type is None else weak_type)

    def strip_weak_type(self) -> "ShapedArray":
        return self if not self[2] else ShapedArray(self[0], self[1], False)

    def str_short(self) -> str:
        return f"{dtype_short_name(self[1])}[{','.join(map(str, self[0]))}]"

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self[2] else ""
        return f"ShapedArray({self.str_short()}{weak})"


_short_names = {
    "bool": "bool", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64",
    "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64", "float16": "f16",
    "float32": "f32", "float64": "f64", "bfloat16": "bf16", "complex64": "c64", "complex128": "c128",
}


def dtype_short_name(dtype: np.dtype) -> str:
    return _short_names.get(dtype.name, dtype.name)


def canonicalize_shape(shape: Any, *, argname: str = "shape") -> tuple[int, ...]:
    """A tuple of non-negative Python ints from an int or a sequence of ints."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        result = tuple(operator_index(d) for d in shape)
    except TypeError:
        raise TypeError(f"{argname} must be a sequence of integers, got {shape!r}") from None
    if any(d < 0 for d in result):
        raise ValueError(f"{argname} must be non-negative, got {result}")
    return result


def operator_index(x: Any) -> int:
    """``operator.index`` with a message that explains traced values."""
    if isinstance(x, Tracer):
        raise ConcretizationError(x, "an integer (e.g. a shape, an axis or an index)")
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError(f"expected an integer, got {x!r} of type {type(x).__name__}") from None


# ----------------------------------------------------------------------------------------------
# Errors

class ConcretizationError(TypeError):
    """A traced value was used where a concrete Python value is needed.

    >>> import ember.core as ec
    >>> @ec.jit
    ... def relu(x):
    ...     return x if x > 0 else 0.0     # Python `if` on a traced value
    >>> try:
    ...     relu(1.0)
    ... except ec.ConcretizationError:
    ...     print("use jnp.where or lax.cond instead")
    use jnp.where or lax.cond instead
    """

    def __init__(self, tracer: "Tracer", context: str) -> None:
        where = user_frame_summary()
        super().__init__(
            f"A traced value ({tracer.aval.str_short()}) was used where a concrete value is needed: "
            f"{context}.{where}\nUnder jit (and other transformations) values are abstract: the "
            "program is traced once for all values of this shape and dtype. Use lax.cond / "
            "ec.numpy.where instead of Python control flow on traced values, or mark the argument "
            "static with jit(..., static_argnums=...)."
        )


class UnexpectedTracerError(RuntimeError):
    """A tracer outlived the transformation that created it (e.g. stored in a global).

    >>> import ember.core as ec
    >>> leaked = []
    >>> @ec.jit
    ... def f(x):
    ...     leaked.append(x)       # a tracer escapes the trace
    ...     return x + 1
    >>> _ = f(1.0)
    >>> try:
    ...     leaked[0] + 1
    ... except ec.UnexpectedTracerError:
    ...     print("tracer used after its trace ended")
    tracer used after its trace ended
    """


# ----------------------------------------------------------------------------------------------
# Primitives

Rule = Callable[..., Any]


# Operand types bind passes on as they are (the rest may be array stand-ins with __jax_array__);
# Tracer subclasses and Array add themselves.
plain_operand_types: set[type] = {int, float, bool, complex, np.ndarray}


class Primitive:
    """A named operation with its rules. ``bind`` applies it under the current trace.

    >>> neg_p = Primitive("neg")
    >>> neg_p.def_abstract_eval(lambda x: x)  # doctest: +ELLIPSIS
    <function ...>
    """

    multiple_results = False

    def __init__(self, name: str, *, multiple_results: bool = False) -> None:
        self.name = name
        self.multiple_results = multiple_results
        self.abstract_eval_rule: Rule | None = None
        self.impl_rule: Rule | None = None
        self.lowering_rule: Rule | None = None
        self.jvp_rule: Rule | None = None
        self.transpose_rule: Rule | None = None
        self.batch_rule: Rule | None = None
        self.is_linear = False  # set by def_transpose

    def __repr__(self) -> str:
        return self.name

    def bind(self, *args: Any, **params: Any) -> Any:
        for a in args:
            if type(a) not in plain_operand_types and hasattr(type(a), "__jax_array__"):
                # an array stand-in (e.g. an ember.nn Variable) is bound as its array, so every
                # trace (jvp, vmap, ...) sees the tracer inside it, not a constant
                args = tuple(x.__jax_array__() if hasattr(type(x), "__jax_array__") and not isinstance(x, Tracer)
                             else x for x in args)
                break
        return trace_state.trace.process_primitive(self, args, params)

    # -- rule registration (used as decorators) --
    def def_abstract_eval(self, rule: Rule) -> Rule:
        self.abstract_eval_rule = rule
        return rule

    def def_impl(self, rule: Rule) -> Rule:
        self.impl_rule = rule
        return rule

    def def_lowering(self, rule: Rule) -> Rule:
        self.lowering_rule = rule
        return rule

    def def_jvp(self, rule: Rule) -> Rule:
        self.jvp_rule = rule
        return rule

    def def_transpose(self, rule: Rule) -> Rule:
        self.transpose_rule = rule
        self.is_linear = True
        return rule

    def def_batching(self, rule: Rule) -> Rule:
        self.batch_rule = rule
        return rule

    # -- applying rules --
    def abstract_eval(self, *avals: ShapedArray, **params: Any) -> Any:
        if self.abstract_eval_rule is None:
            raise NotImplementedError(f"primitive {self.name!r} has no abstract evaluation rule")
        return self.abstract_eval_rule(*avals, **params)

    def impl(self, *args: Any, **params: Any) -> Any:
        if self.impl_rule is not None:
            return self.impl_rule(*args, **params)
        from .dispatch import apply_primitive  # the eager path: one cached single-op executable
        return apply_primitive(self, args, params)


# ----------------------------------------------------------------------------------------------
# Traces and tracers

class Trace:
    """Interprets primitives. Subclasses: EvalTrace, JaxprTrace, JVPTrace, BatchTrace, ..."""

    __slots__ = ("finished",)

    def __init__(self) -> None:
        self.finished = False

    def process_primitive(self, primitive: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def invalidate(self) -> None:
        self.finished = True


class EvalTrace(Trace):
    """The trace at the bottom: primitives run now, on device."""

    __slots__ = ()

    def process_primitive(self, primitive: Primitive, args: Sequence[Any], params: dict[str, Any]) -> Any:
        for arg in args:
            if isinstance(arg, Tracer):
                raise_escaped_tracer(arg, primitive)
        return primitive.impl(*args, **params)

    def __repr__(self) -> str:
        return "EvalTrace"


eval_trace = EvalTrace()


class _TraceState(threading.local):
    def __init__(self) -> None:
        self.trace: Trace = eval_trace


trace_state = _TraceState()


def current_trace() -> Trace:
    return trace_state.trace


# Called with True/False when the current trace stops/starts being the EvalTrace, so jit's C++
# dispatcher (runtime/fast_dispatch.py) never serves a cached program inside a transformation.
tracing_hook: list[Callable[[bool], None]] = []


@contextlib.contextmanager
def set_current_trace(trace: Trace) -> Iterator[None]:
    state = trace_state
    previous = state.trace
    state.trace = trace
    changed = (previous is eval_trace) != (trace is eval_trace)
    if changed and tracing_hook:
        tracing_hook[0](trace is not eval_trace)
    try:
        yield
    finally:
        state.trace = previous
        if changed and tracing_hook:
            tracing_hook[0](previous is not eval_trace)


def raise_escaped_tracer(tracer: "Tracer", primitive: Any = None) -> None:
    op = f" by {primitive}" if primitive is not None else ""
    raise UnexpectedTracerError(
        f"A tracer ({tracer.aval.str_short()}) was used{op} after the transformation that created "
        f"it had finished (trace {tracer._trace!r}). This happens when a traced value is stored "
        "outside the function being transformed (a global, an attribute, a list) and used later. "
        "Return the value from the function instead."
    )


class Tracer:
    """A value that belongs to a trace. Array methods and operators are attached by the numpy
    layer (``numpy/array_methods.py``), so a Tracer behaves like an Array."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        plain_operand_types.add(cls)

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return len(self.aval.shape)

    @property
    def size(self) -> int:
        return self.aval.size

    @property
    def weak_type(self) -> bool:
        return self.aval.weak_type

    def to_concrete_value(self) -> Any:
        """A concrete value when the trace knows one (e.g. the primal under grad), else None."""
        return None

    def _concrete(self, context: str) -> Any:
        value = self.to_concrete_value()
        if value is None:
            raise ConcretizationError(self, context)
        return value

    def __bool__(self) -> bool:
        return bool(self._concrete("the truth value of a traced array (`if x:`, `while x:`, `and`/`or`)"))

    def __int__(self) -> int:
        return int(self._concrete("int() of a traced array"))

    def __float__(self) -> float:
        return float(self._concrete("float() of a traced array"))

    def __complex__(self) -> complex:
        return complex(self._concrete("complex() of a traced array"))

    def __index__(self) -> int:
        return operator_index(self._concrete("an integer index (e.g. range(x), list[x])"))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        value = self.to_concrete_value()
        if value is None:
            raise ConcretizationError(self, "conversion to a NumPy array (np.asarray(x), print of its values)")
        return np.asarray(value, dtype=dtype)

    def __hash__(self) -> int:
        raise TypeError(f"unhashable type: traced array ({self.aval.str_short()})")

    def __len__(self) -> int:
        shape = self.aval.shape
        if not shape:
            raise TypeError("len() of unsized object (a 0-d array)")
        return shape[0]

    def __iter__(self) -> Iterator[Any]:
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))  # type: ignore[index]

    def __repr__(self) -> str:
        return f"Traced<{self.aval.str_short()}>with<{self._trace!r}>"


# ----------------------------------------------------------------------------------------------
# Abstract values of concrete Python/NumPy values

_python_scalar_types = (bool, int, float, complex)


def get_aval(x: Any) -> ShapedArray:
    """The abstract value of any array-like: an Array, a Tracer, a NumPy value or a Python scalar."""
    aval = getattr(x, "aval", None)
    if aval is not None and type(aval) is ShapedArray:
        return aval
    t = type(x)
    if t in _python_scalar_types:
        if t is int:
            check_int_range(x)
        dtype, weak = dtypes.result_type(x, return_weak_type_flag=True)
        return ShapedArray((), dtype, weak)
    if isinstance(x, (np.ndarray, np.generic)):
        return ShapedArray(x.shape, dtypes.canonicalize_dtype(dtypes.to_dtype(x.dtype, argname="array")), False)
    if isinstance(x, (list, tuple)):
        raise TypeError(
            f"expected an array, got a {t.__name__}; convert it with ec.numpy.asarray(...) first"
        )
    if hasattr(t, "__jax_array__"):  # an array stand-in (e.g. an ember.nn Variable)
        return get_aval(x.__jax_array__())
    raise TypeError(f"expected an array-like value (Array, NumPy array or Python scalar), got {t.__name__}: {x!r}")


def check_int_range(x: int) -> None:
    dtype = dtypes.default_int_dtype()
    info = np.iinfo(dtype)
    if not info.min <= x <= info.max:
        hint = "" if dtype == np.int64 else " (enable 64-bit types with ec.config.update('enable_x64', True))"
        raise OverflowError(f"Python int {x} is too large for the default integer type {dtype.name}{hint}")


def raise_to_shaped(aval: ShapedArray, weak_type: bool | None = None) -> ShapedArray:
    return aval if weak_type is None else aval.update(weak_type=weak_type)


# ----------------------------------------------------------------------------------------------
# Source locations: the user's line, for error messages and program locations

_ember_src_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame() -> tuple[str, int, str] | None:
    """(file, line, function) of the innermost frame outside ember.core, if any."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_ember_src_dir) and not filename.startswith("<frozen"):
            return filename, frame.f_lineno, frame.f_code.co_name
        frame = frame.f_back  # type: ignore[assignment]
    return None


def user_frame_summary() -> str:
    found = user_frame()
    return "" if found is None else f"\n  at {found[0]}:{found[1]} ({found[2]})"


_counter = itertools.count()


def fresh_id() -> int:
    return next(_counter)
