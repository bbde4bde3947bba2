"""``Variable`` and its kinds: the mutable boxes that hold a module's arrays.

A Variable owns one value (usually an array) plus metadata (for example ``sharding_names``).
Its *type* is its kind: ``Param`` (trainable), ``BatchStat``, ``Cache``, ``Intermediate`` or any
user subclass; filters select state by kind. Variables are pytree nodes (one child, ``value``;
the metadata rides in the treedef), so a ``State`` of Variables can go through ``ec.tree.map``,
``ec.jit`` and ``ec.grad`` as it is.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> w = nn.Param(jnp.ones((2, 3)), sharding_names=("embed", "mlp"))
    >>> w.shape, w.sharding_names
    ((2, 3), ('embed', 'mlp'))
    >>> w.value = w.value * 2
    >>> float(w[...].sum())
    12.0
    >>> float(jnp.tanh(w).sum() - jnp.tanh(w[...]).sum())   # a Variable stands for its value
    0.0
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable, Generic, TypeVar

import ember.core as ec

from . import tracking

A = TypeVar("A")

__all__ = [
    "Variable", "Param", "BatchStat", "Cache", "Intermediate", "Perturbation", "VariableMetadata",
    "with_metadata", "variable_type_from_name", "variable_name_from_type",
]

_VALUE_KEY = ec.tree.GetAttrKey("value")


class _Meta:
    """Hashable wrapper around a Variable's metadata dict (the pytree aux data)."""

    __slots__ = ("items", "_key")

    def __init__(self, items: dict[str, Any]):
        self.items = items
        self._key = tracking.freeze_mapping(items) if items else ()

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, _Meta) and self._key == other._key

    def __repr__(self) -> str:
        return f"_Meta({self.items!r})"


_EMPTY_META = _Meta({})


class VariableMetadata(Generic[A]):
    """A value plus metadata, as returned by initializers wrapped with :func:`with_metadata` or
    :func:`ember.nn.with_partitioning`; a Variable built from it takes both."""

    __slots__ = ("raw_value", "metadata")

    def __init__(self, raw_value: A, metadata: dict[str, Any]):
        self.raw_value = raw_value
        self.metadata = dict(metadata)

    def replace_value(self, value: Any) -> "VariableMetadata":
        return VariableMetadata(value, self.metadata)

    @property
    def shape(self):
        return self.raw_value.shape

    @property
    def dtype(self):
        return self.raw_value.dtype


def with_metadata(initializer: Callable[..., Any], **metadata: Any) -> Callable[..., VariableMetadata]:
    """Wrap ``initializer`` so that the Variable it initialises carries ``metadata``.

    >>> import ember.nn as nn
    >>> init = nn.with_metadata(nn.initializers.ones, tag="frozen")
    >>> nn.Param(init(None, (2,))).tag
    'frozen'
    """

    def wrapped(*args: Any, **kwargs: Any) -> VariableMetadata:
        return VariableMetadata(initializer(*args, **kwargs), metadata)

    wrapped.__wrapped__ = initializer  # type: ignore[attr-defined]
    return wrapped


def _make(cls: type, value: Any, meta: dict[str, Any]) -> "Variable":
    var = object.__new__(cls)
    object.__setattr__(var, "_value", value)
    object.__setattr__(var, "_meta", meta)
    return var


def _flatten_with_keys(var: "Variable"):
    meta = var._meta
    return ((_VALUE_KEY, var._value),), (_Meta(meta) if meta else _EMPTY_META)


def _flatten(var: "Variable"):
    meta = var._meta
    return (var._value,), (_Meta(meta) if meta else _EMPTY_META)


def _register(cls: type) -> None:
    def unflatten(aux: _Meta, children: Any) -> Variable:
        (value,) = children
        return _make(cls, value, dict(aux.items) if aux.items else {})

    ec.tree.register_pytree_with_keys(cls, _flatten_with_keys, unflatten, _flatten)


class Variable(Generic[A]):
    """A mutable box holding one value of a module's state, plus metadata.

    Read with ``var.value`` or ``var[...]``; write with ``var.value = x`` or ``var[...] = x``
    (``var[idx] = x`` writes a slice). Extra keyword arguments become metadata, readable as
    attributes (``var.sharding_names``).

    As in Flax NNX, a Variable stands for its value wherever an array is expected: ``ember.core``
    functions accept it (``jnp.tanh(v)``, ``x @ v``; it defines ``__jax_array__``), operators apply
    to the value (arithmetic and reflected, comparisons, ``==``/``!=`` elementwise, unary), as do
    ``shape``/``dtype``/``ndim``/``size``, indexing, ``len``, iteration, ``int``/``float``/``index``
    and ``np.asarray(v)``. The results are plain arrays; the Variable is unchanged. In-place
    operators (``v += 1``) raise: write ``v[...] += 1``. Like an array (and NNX's Variable), a
    Variable is not hashable; ``bool(v)`` is always True (``if module.bias:`` tests presence).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> v = nn.BatchStat(jnp.zeros(3))
    >>> v[...] += 1
    >>> (v + 1).tolist(), jnp.exp(v * 0).tolist(), (v == 1).tolist()
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0], [True, True, True])
    """

    __slots__ = ("_value", "_meta")
    __array_priority__ = 100  # NumPy defers `ndarray + v` to v (as it does for ember Arrays)
    __hash__ = None  # type: ignore[assignment]  # == is elementwise, as for arrays and NNX Variables

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _register(cls)

    def __init__(self, value: A, **metadata: Any):
        if isinstance(value, VariableMetadata):
            metadata = {**value.metadata, **metadata}
            value = value.raw_value
        if "sharding" in metadata and "sharding_names" not in metadata:
            metadata["sharding_names"] = metadata.pop("sharding")
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "_meta", metadata)

    # --- value -------------------------------------------------------------------------------
    @property
    def value(self) -> A:
        return self._value

    @value.setter
    def value(self, value: A) -> None:
        object.__setattr__(self, "_value", value)

    def get_value(self) -> A:
        return self._value

    def set_value(self, value: A) -> None:
        object.__setattr__(self, "_value", value)

    raw_value = value

    def __getitem__(self, index: Any) -> Any:
        if index is Ellipsis:
            return self._value
        return self._value[index]

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(value, Variable):  # `v[...] = w` copies w's value, never nests a Variable
            value = value._value
        if index is Ellipsis:
            object.__setattr__(self, "_value", value)
        else:
            object.__setattr__(self, "_value", self._value.at[index].set(value))

    def __contains__(self, item: Any) -> bool:
        return item in self._value

    def __jax_array__(self) -> Any:
        """The value: ember.core functions given a Variable use its value (as ``jnp.asarray(v)``)."""
        return self._value

    # --- metadata ----------------------------------------------------------------------------
    def get_metadata(self) -> dict[str, Any]:
        return dict(self._meta)

    def set_metadata(self, **metadata: Any) -> None:
        self._meta.update(metadata)
        tracking.bump()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            meta = object.__getattribute__(self, "_meta")
        except AttributeError:
            raise AttributeError(name) from None
        if name in meta:
            return meta[name]
        try:
            value = object.__getattribute__(self, "_value")
        except AttributeError:
            raise AttributeError(name) from None
        try:
            return getattr(value, name)
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no metadata or value attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_value" or name == "value" or name == "raw_value":
            object.__setattr__(self, "_value", value)
        elif name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self._meta[name] = value
            tracking.bump()

    def __delattr__(self, name: str) -> None:
        if name in self._meta:
            del self._meta[name]
            tracking.bump()
        else:
            object.__delattr__(self, name)

    # --- copies ------------------------------------------------------------------------------
    def copy(self) -> "Variable[A]":
        """A new Variable of the same type with the same value and a copy of the metadata."""
        return _make(type(self), self._value, dict(self._meta))

    def replace(self, value: Any = ..., **metadata: Any) -> "Variable":
        """A new Variable of the same type, with ``value`` and/or metadata replaced."""
        new_value = self._value if value is Ellipsis else value
        return _make(type(self), new_value, {**self._meta, **metadata})

    @classmethod
    def from_metadata(cls, value: Any, metadata: dict[str, Any]) -> "Variable":
        return _make(cls, value, dict(metadata))

    def __copy__(self) -> "Variable[A]":
        return self.copy()

    def __deepcopy__(self, memo: dict) -> "Variable[A]":
        import copy

        return _make(type(self), copy.deepcopy(self._value, memo), copy.deepcopy(self._meta, memo))

    def __reduce__(self):
        return (_make, (type(self), self._value, dict(self._meta)))

    # --- array-like behaviour ----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> Any:
        return self._value.dtype

    @property
    def ndim(self) -> int:
        return self._value.ndim

    @property
    def size(self) -> int:
        return self._value.size

    def __len__(self) -> int:
        return len(self._value)

    def __iter__(self):
        return iter(self._value)

    def __bool__(self) -> bool:
        return True  # a Variable is an object: `if module.bias:` means "is there a bias"

    def __array__(self, dtype: Any = None, copy: Any = None):
        import numpy as np

        out = np.asarray(self._value, dtype=dtype)
        return out.copy() if copy else out

    def __repr__(self) -> str:
        value = self._value
        if tracking.is_array(value) and hasattr(value, "shape"):
            try:
                body = repr(value) if getattr(value, "size", 0) <= 8 and not hasattr(value, "aval") else (
                    f"{getattr(value, 'dtype', '?')}{list(value.shape)}")
            except Exception:  # noqa: BLE001 - repr must not fail
                body = f"{getattr(value, 'dtype', '?')}{list(value.shape)}"
        else:
            body = repr(value)
        meta = "".join(f", {k}={v!r}" for k, v in self._meta.items())
        return f"{type(self).__name__}({body}{meta})"


def _binary(fn: Callable[[Any, Any], Any], name: str, reflected: bool = False):
    def op(self: Variable, other: Any) -> Any:
        if isinstance(other, Variable):
            other = other._value
        return fn(other, self._value) if reflected else fn(self._value, other)

    op.__name__ = name
    return op


_BINARY = {  # name -> (function, in-place symbol)
    "add": (operator.add, "+"), "sub": (operator.sub, "-"), "mul": (operator.mul, "*"),
    "truediv": (operator.truediv, "/"), "floordiv": (operator.floordiv, "//"), "mod": (operator.mod, "%"),
    "pow": (operator.pow, "**"), "matmul": (operator.matmul, "@"), "and": (operator.and_, "&"),
    "or": (operator.or_, "|"), "xor": (operator.xor, "^"), "lshift": (operator.lshift, "<<"),
    "rshift": (operator.rshift, ">>"), "divmod": (divmod, None),
}
_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
            "ge": operator.ge}
_UNARY = {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs, "invert": operator.invert,
          "int": int, "float": float, "complex": complex, "index": operator.index}


def _inplace(name: str, symbol: str):
    def op(self: Variable, other: Any) -> Any:
        raise NotImplementedError(
            f"in-place operators on a {type(self).__name__} are not supported (`v {symbol}= x` would rebind "
            f"the name to an array): write `v[...] {symbol}= x`")

    op.__name__ = name
    return op


def _unary(fn: Callable[[Any], Any], name: str):
    def op(self: Variable) -> Any:
        return fn(self._value)

    op.__name__ = name
    return op


for _name, (_fn, _symbol) in _BINARY.items():
    setattr(Variable, f"__{_name}__", _binary(_fn, f"__{_name}__"))
    setattr(Variable, f"__r{_name}__", _binary(_fn, f"__r{_name}__", reflected=True))
    if _symbol is not None:
        setattr(Variable, f"__i{_name}__", _inplace(f"__i{_name}__", _symbol))
for _name, _fn in _COMPARE.items():
    setattr(Variable, f"__{_name}__", _binary(_fn, f"__{_name}__"))
for _name, _fn in _UNARY.items():
    setattr(Variable, f"__{_name}__", _unary(_fn, f"__{_name}__"))


def _round(self: Variable, ndigits: Any = None) -> Any:
    return round(self._value) if ndigits is None else round(self._value, ndigits)


Variable.__round__ = _round  # type: ignore[attr-defined]
for _name in ("trunc", "floor", "ceil"):
    setattr(Variable, f"__{_name}__", _unary(getattr(math, _name), f"__{_name}__"))


def _unary_method(name: str):
    def method(self: Variable, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._value, name)(*args, **kwargs)

    method.__name__ = name
    return method


for _name in ("sum", "mean", "reshape", "astype", "transpose", "tolist", "item", "max", "min", "std", "var"):
    setattr(Variable, _name, _unary_method(_name))

Variable.T = property(lambda self: self._value.T)  # type: ignore[attr-defined]

_register(Variable)


class Param(Variable[A]):
    """A trainable parameter (the default ``wrt`` of ``nn.grad`` and ``nn.Optimizer``)."""


class BatchStat(Variable[A]):
    """Running statistics (BatchNorm's ``mean``/``var``): state, not trained by gradient."""


class Cache(Variable[A]):
    """Autoregressive caches (attention's ``cached_key``/``cached_value``/``cache_index``)."""


class Intermediate(Variable[A]):
    """Values recorded with ``Module.sow`` (retrieve them with ``nn.pop(model, nn.Intermediate)``)."""


class Perturbation(Intermediate[A]):
    """Zeros added to an intermediate so that its gradient can be taken (``Module.perturb``)."""


_NAME_TO_TYPE: dict[str, type[Variable]] = {
    "params": Param,
    "batch_stats": BatchStat,
    "cache": Cache,
    "intermediates": Intermediate,
    "perturbations": Perturbation,
}


def variable_type_from_name(name: str, *, allow_register: bool = False) -> type[Variable]:
    """The Variable type of a Linen-style collection name (``'params'`` -> ``Param``)."""
    if name in _NAME_TO_TYPE:
        return _NAME_TO_TYPE[name]
    if not allow_register:
        raise ValueError(f"no Variable type registered for collection {name!r}")
    cls = type(name, (Variable,), {})
    _NAME_TO_TYPE[name] = cls
    return cls


def variable_name_from_type(cls: type[Variable]) -> str:
    for name, t in _NAME_TO_TYPE.items():
        if t is cls:
            return name
    return cls.__name__
