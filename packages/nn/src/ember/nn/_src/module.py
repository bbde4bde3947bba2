"""``Module``: a plain Python object whose attributes are submodules, Variables or static values.

There is no registration, no ``setup``, no special constructor: build the model as ordinary
objects and the graph functions (``nn.split``, ``nn.state``, ...) find its state by walking
attributes. Every attribute assignment bumps the structural version (see ``tracking.py``), which
is what lets ``nn.jit`` cache the result of walking the graph.

Plain ``list``/``dict`` values assigned to a Module attribute are stored as ``nn.List``/
``nn.Dict`` (subclasses of list/dict whose mutations are tracked), so ``self.layers = [...]``
followed by ``self.layers[0] = other`` is seen by cached transforms.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> class MLP(nn.Module):
    ...     def __init__(self, rngs):
    ...         self.layers = [nn.Linear(4, 8, rngs=rngs), nn.Linear(8, 2, rngs=rngs)]
    ...     def __call__(self, x):
    ...         return self.layers[1](nn.relu(self.layers[0](x)))
    >>> model = MLP(nn.Rngs(0))
    >>> model(jnp.ones((3, 4))).shape
    (3, 2)
    >>> [path for path, _ in nn.iter_modules(model)]
    [('layers', 0), ('layers', 1), ('layers',), ()]
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator

import ember.core as ec

from . import filters as filterlib
from . import tracking
from .variables import Variable, variable_type_from_name

__all__ = ["Module", "List", "Dict", "Object", "first_from", "data"]

_VERSION = tracking.VERSION


class Module:
    """Base class of every model, layer and stateful object (``Rngs``, ``Optimizer``, metrics).

    Attributes are whatever you assign. ``Variable`` attributes are state; ``Module`` attributes
    are children (shared children and reference cycles are fine); everything else is static
    (configuration, stored in the graph definition).
    """

    def __init_subclass__(cls, pytree: Any = None, **kwargs: Any) -> None:
        # ``pytree=`` is accepted for source compatibility with Flax NNX 0.12 (modules here are
        # graph nodes, never pytrees, so it has no effect).
        super().__init_subclass__(**kwargs)

    # --- graph node protocol (used by graph.py) ----------------------------------------------
    def _graph_items(self) -> list[tuple[Any, Any]]:
        d = self.__dict__
        return [(k, d[k]) for k in sorted(d)]

    @classmethod
    def _graph_new(cls) -> "Module":
        return object.__new__(cls)

    def _graph_set(self, key: Any, value: Any) -> None:
        object.__setattr__(self, key, value)

    def _graph_del(self, key: Any) -> None:
        object.__delattr__(self, key)
        _VERSION[0] += 1

    def _graph_keys(self) -> list:
        return list(self.__dict__)

    def _graph_get(self, key: Any, default: Any = None) -> Any:
        return self.__dict__.get(key, default)

    # --- attribute tracking ------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        t = type(value)
        if t is list:
            value = List(value)
        elif t is dict:
            value = Dict(value)
        object.__setattr__(self, name, value)
        _VERSION[0] += 1

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        _VERSION[0] += 1

    # --- state helpers -----------------------------------------------------------------------
    def sow(
        self,
        variable_type: type[Variable] | str,
        name: str,
        value: Any,
        reduce_fn: Callable[[Any, Any], Any] = lambda xs, x: xs + (x,),
        init_fn: Callable[[], Any] = tuple,
    ) -> bool:
        """Record an intermediate value in ``self.<name>`` (a ``variable_type`` Variable).

        By default values accumulate in a tuple, one entry per call. Retrieve and remove them
        with ``nn.pop(model, nn.Intermediate)``.

        >>> import ember.nn as nn
        >>> m = nn.Module()
        >>> m.sow(nn.Intermediate, "h", 1.0); m.sow(nn.Intermediate, "h", 2.0)
        True
        True
        >>> m.h.value
        (1.0, 2.0)
        """
        if isinstance(variable_type, str):
            variable_type = variable_type_from_name(variable_type, allow_register=True)
        current = self.__dict__.get(name)
        if current is not None:
            if not isinstance(current, Variable):
                raise ValueError(f"sow: attribute {name!r} of {type(self).__name__} is not a Variable")
            if type(current) is not variable_type:
                raise ValueError(f"sow: {name!r} is a {type(current).__name__}, not a {variable_type.__name__}")
            current.value = reduce_fn(current.value, value)
        else:
            setattr(self, name, variable_type(reduce_fn(init_fn(), value)))
        return True

    def perturb(self, name: str, value: Any, variable_type: type[Variable] | None = None) -> Any:
        """Add a zero ``Perturbation`` named ``name`` to ``value`` so its gradient can be taken.

        The first call creates ``self.<name>`` (zeros like ``value``); differentiate with respect to
        ``nn.Perturbation`` to get d(loss)/d(value).
        """
        from .variables import Perturbation

        variable_type = variable_type or Perturbation
        if name not in self.__dict__:
            import ember.core.numpy as jnp

            setattr(self, name, variable_type(jnp.zeros_like(value)))
        return value + getattr(self, name).value

    def set_attributes(self, *filters: Any, raise_if_not_found: bool = True, **attributes: Any) -> None:
        """Set ``attributes`` on this module and every submodule that has them (optionally only on
        modules matching ``filters``).

        >>> import ember.nn as nn
        >>> block = nn.Sequential(nn.Linear(2, 2, rngs=nn.Rngs(0)), nn.Dropout(0.5))
        >>> block.set_attributes(deterministic=True)
        >>> block.layers[1].deterministic
        True
        """
        from .graph import iter_modules

        remaining = set(attributes)
        predicates = [filterlib.to_predicate(f) for f in filters] or [lambda p, v: True]
        for path, module in list(iter_modules(self)):
            if any(pred(path, module) for pred in predicates):
                for name, value in attributes.items():
                    if name in module.__dict__:
                        remaining.discard(name)
                        setattr(module, name, value)
        if remaining and raise_if_not_found:
            raise ValueError(f"could not find any module with attributes {sorted(remaining)}")

    def train(self, **attributes: Any) -> None:
        """Training mode: ``deterministic=False`` (Dropout, attention) and
        ``use_running_average=False`` (BatchNorm) on every submodule that has them."""
        self.set_attributes(deterministic=False, use_running_average=False, **attributes, raise_if_not_found=False)

    def eval(self, **attributes: Any) -> None:
        """Evaluation mode: ``deterministic=True`` and ``use_running_average=True`` everywhere."""
        self.set_attributes(deterministic=True, use_running_average=True, **attributes, raise_if_not_found=False)

    def iter_modules(self) -> Iterator[tuple[tuple, "Module"]]:
        """``nn.iter_modules(self)``: every submodule (and self, last) with its path."""
        from .graph import iter_modules

        return iter_modules(self)

    def iter_children(self) -> Iterator[tuple[Any, "Module"]]:
        """The direct child modules, with their attribute names."""
        for key, value in self._graph_items():
            if isinstance(value, Module):
                yield key, value

    # --- printing ----------------------------------------------------------------------------
    def __repr__(self) -> str:
        return _repr_node(self)


_REPR_STATE = threading.local()


def _repr_value(value: Any, indent: int) -> str:
    if isinstance(value, Module):
        return _repr_node(value, indent)
    return repr(value)


def _repr_node(node: Any, indent: int = 0) -> str:
    seen = getattr(_REPR_STATE, "seen", None)
    top = seen is None
    if top:
        seen = _REPR_STATE.seen = set()
    try:
        if id(node) in seen:
            return f"{type(node).__name__}(...)"
        seen.add(id(node))
        pad = "  " * (indent + 1)
        items = node._graph_items()
        if not items:
            return f"{type(node).__name__}()"
        body = ",\n".join(f"{pad}{k}={_repr_value(v, indent + 1)}" for k, v in items)
        return f"{type(node).__name__}(\n{body}\n{'  ' * indent})"
    finally:
        if top:
            _REPR_STATE.seen = None


Object = Module  # NNX's name for a stateful non-layer object


def _convert(value: Any) -> Any:
    t = type(value)
    if t is list:
        return List(value)
    if t is dict:
        return Dict(value)
    return value


class List(Module, list):
    """A ``list`` that is a graph node: its items are children, and its mutations are tracked.

    >>> import ember.nn as nn
    >>> layers = nn.List([nn.Linear(2, 2, rngs=nn.Rngs(0))])
    >>> layers.append(nn.Linear(2, 3, rngs=nn.Rngs(1)))
    >>> [p for p, _ in nn.state(layers).flat_state()]
    [(0, 'bias'), (0, 'kernel'), (1, 'bias'), (1, 'kernel')]
    """

    def __init__(self, items: Any = ()):
        list.__init__(self, (_convert(v) for v in items))
        _VERSION[0] += 1

    def _graph_items(self) -> list[tuple[Any, Any]]:
        return list(enumerate(list.__iter__(self)))

    @classmethod
    def _graph_new(cls) -> "List":
        return list.__new__(cls)

    def _graph_set(self, key: Any, value: Any) -> None:
        n = list.__len__(self)
        if key == n:
            list.append(self, value)
        elif key < n:
            list.__setitem__(self, key, value)
        else:
            list.extend(self, [None] * (key - n))
            list.append(self, value)

    def _graph_del(self, key: Any) -> None:
        list.__delitem__(self, key)
        _VERSION[0] += 1

    def _graph_keys(self) -> list:
        return list(range(list.__len__(self)))

    def _graph_get(self, key: Any, default: Any = None) -> Any:
        if isinstance(key, int) and 0 <= key < list.__len__(self):
            return list.__getitem__(self, key)
        return default

    def __setitem__(self, index: Any, value: Any) -> None:
        list.__setitem__(self, index, _convert(value) if not isinstance(index, slice) else [_convert(v) for v in value])
        _VERSION[0] += 1

    def __delitem__(self, index: Any) -> None:
        list.__delitem__(self, index)
        _VERSION[0] += 1

    def append(self, value: Any) -> None:
        list.append(self, _convert(value))
        _VERSION[0] += 1

    def extend(self, values: Any) -> None:
        list.extend(self, [_convert(v) for v in values])
        _VERSION[0] += 1

    def insert(self, index: Any, value: Any) -> None:
        list.insert(self, index, _convert(value))
        _VERSION[0] += 1

    def pop(self, index: int = -1) -> Any:
        _VERSION[0] += 1
        return list.pop(self, index)

    def remove(self, value: Any) -> None:
        list.remove(self, value)
        _VERSION[0] += 1

    def clear(self) -> None:
        list.clear(self)
        _VERSION[0] += 1

    def sort(self, *args: Any, **kwargs: Any) -> None:
        list.sort(self, *args, **kwargs)
        _VERSION[0] += 1

    def reverse(self) -> None:
        list.reverse(self)
        _VERSION[0] += 1

    def __iadd__(self, values: Any) -> "List":
        self.extend(values)
        return self

    def __imul__(self, n: int) -> "List":
        list.__imul__(self, n)
        _VERSION[0] += 1
        return self

    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __repr__(self) -> str:
        return f"List({list.__repr__(self)})"

    def __reduce__(self):
        return (List, (list(list.__iter__(self)),))


class Dict(Module, dict):
    """A ``dict`` that is a graph node: its values are children, and its mutations are tracked."""

    def __init__(self, *args: Any, **kwargs: Any):
        dict.__init__(self)
        for k, v in dict(*args, **kwargs).items():
            dict.__setitem__(self, k, _convert(v))
        _VERSION[0] += 1

    def _graph_items(self) -> list[tuple[Any, Any]]:
        from .state import sorted_keys

        return [(k, dict.__getitem__(self, k)) for k in sorted_keys(self)]

    @classmethod
    def _graph_new(cls) -> "Dict":
        return dict.__new__(cls)

    def _graph_set(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, value)

    def _graph_del(self, key: Any) -> None:
        dict.__delitem__(self, key)
        _VERSION[0] += 1

    def _graph_keys(self) -> list:
        return list(dict.keys(self))

    def _graph_get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, _convert(value))
        _VERSION[0] += 1

    def __delitem__(self, key: Any) -> None:
        dict.__delitem__(self, key)
        _VERSION[0] += 1

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            raise AttributeError(name) from None

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        for k, v in dict(*args, **kwargs).items():
            dict.__setitem__(self, k, _convert(v))
        _VERSION[0] += 1

    def pop(self, *args: Any) -> Any:  # type: ignore[override]
        _VERSION[0] += 1
        return dict.pop(self, *args)

    def popitem(self) -> Any:
        _VERSION[0] += 1
        return dict.popitem(self)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def clear(self) -> None:
        dict.clear(self)
        _VERSION[0] += 1

    __hash__ = object.__hash__

    def __eq__(self, other: Any) -> bool:
        return self is other

    def __repr__(self) -> str:
        return f"Dict({dict.__repr__(self)})"

    def __reduce__(self):
        return (Dict, (dict(dict.items(self)),))


def _list_flatten(x: List):
    items = list(list.__iter__(x))
    return items, len(items)


def _dict_flatten(x: Dict):
    from .state import sorted_keys

    keys = sorted_keys(x)
    return [dict.__getitem__(x, k) for k in keys], tuple(keys)


def _dict_flatten_with_keys(x: Dict):
    from .state import sorted_keys

    keys = sorted_keys(x)
    return [(ec.tree.DictKey(k), dict.__getitem__(x, k)) for k in keys], tuple(keys)


# nn.List / nn.Dict are also pytrees (like list / dict), so ec.tree functions see through them.
ec.tree.register_pytree_with_keys(
    List, lambda x: ([(ec.tree.SequenceKey(i), v) for i, v in enumerate(list.__iter__(x))], len(x)),
    lambda n, children: List(children), _list_flatten)
ec.tree.register_pytree_with_keys(Dict, _dict_flatten_with_keys, lambda keys, children: Dict(zip(keys, children)),
                                  _dict_flatten)


def data(value: Any) -> Any:
    """Identity, for source compatibility with Flax NNX 0.12's ``nnx.data(...)``: ember.nn finds the
    state inside attributes by itself (Variables, arrays, modules, containers of them)."""
    return value


def first_from(*args: Any, error_msg: str) -> Any:
    """The first argument that is not None (raise ``ValueError(error_msg)`` if all are)."""
    for a in args:
        if a is not None:
            return a
    raise ValueError(error_msg)
