"""Hyperparameters as runtime state.

The rule, for the learning rate and weight decay of every optimizer: a Python number is a
compile-time constant (Optax's behaviour, and the state is exactly Optax's); an **array** or a
**schedule** lives in the optimizer state, so it can be read with :func:`hyperparams` and an array
can be changed between steps with :func:`set_hyperparams` without recompiling a jitted step.
:func:`ember.optim.inject_hyperparams` puts *every* numeric hyperparameter of an optimizer in
the state (Optax's wrapper); :func:`hyperparams` and :func:`set_hyperparams` read and write those too.

State classes that carry hyperparameters say so with two class attributes:
``_ember_hyperparams`` (the field names) and ``_ember_settable`` (False when a schedule computes them).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import ember.core.numpy as jnp
from ember.core import tree as _tree
from ember.optim._src import utils

_local = threading.local()


@contextlib.contextmanager
def static_hyperparams() -> Iterator[None]:
    """Inside this context, transforms treat array hyperparameters as constants (closed over, as
    Optax does). ``inject_hyperparams`` builds its inner optimizer in it: the hyperparameters
    already live in *its* state."""
    depth = getattr(_local, "depth", 0)
    _local.depth = depth + 1
    try:
        yield
    finally:
        _local.depth = depth


def kind_of(value: Any) -> str:
    """``'static'`` (a Python/NumPy number, or any non-callable inside :func:`static_hyperparams`),
    ``'schedule'`` (a callable of the step count) or ``'array'`` (an array or tracer: kept in state)."""
    if callable(value):
        return "schedule"
    if utils.is_number(value) or getattr(_local, "depth", 0) > 0:
        return "static"
    if isinstance(value, (str, bytes, dict, list, tuple, set)) or value is None:
        raise TypeError(f"a hyperparameter must be a number, an array or a schedule, got {type(value).__name__}")
    return "array"


def to_state_value(value: Any, name: str) -> Any:
    """``value`` as a strongly typed floating array (so state avals never change between steps)."""
    try:
        arr = jnp.asarray(value)
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"hyperparameter {name!r}: expected a number or an array, got {value!r}") from e
    dtype = arr.dtype if jnp.issubdtype(arr.dtype, jnp.floating) else jnp.float32
    # astype, not asarray(..., dtype=): ember.core's asarray keeps a weak type (JAX drops it).
    return arr.astype(dtype)


def schedule_value(schedule: Callable[[Any], Any], count: Any, name: str) -> Any:
    """Evaluate a schedule and check that it returned a scalar number."""
    return check_schedule_output(schedule(count), name, count)


def check_schedule_output(value: Any, name: str, count: Any = None) -> Any:
    """``value`` as an array, or a TypeError/ValueError naming the hyperparameter."""
    if isinstance(value, (str, bytes, dict, list, tuple, set)) or value is None:
        raise TypeError(f"the schedule given as {name!r} returned {type(value).__name__} ({value!r}) at step "
                        f"count {count!r}; a schedule must return a scalar number or a 0-d array")
    try:
        value = jnp.asarray(value)
    except Exception as e:  # noqa: BLE001
        raise TypeError(f"the schedule given as {name!r} returned {value!r}, not a number") from e
    if not (jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)):
        raise TypeError(f"the schedule given as {name!r} returned an array of dtype {value.dtype}; "
                        "expected a real number")
    if value.ndim != 0:
        raise ValueError(f"the schedule given as {name!r} returned an array of shape {tuple(value.shape)}; "
                         "expected a scalar")
    return value


# ------------------------------------------------------------------------- reading and writing

def _fmt(path: tuple) -> str:
    out = ""
    for k in path:
        if isinstance(k, _tree.SequenceKey):
            out += f"[{k.idx}]"
        elif isinstance(k, _tree.DictKey):
            out += f"[{k.key!r}]"
        else:
            out += f".{k}"
    return out.lstrip(".")


def _entries(state: Any) -> list[tuple[tuple, str, Any, bool]]:
    """(path to the value, hyperparameter name, value, settable) for every hyperparameter."""
    from ember.optim._src.schedules._inject import InjectHyperparamsState

    found: list[tuple[tuple, str, Any, bool]] = []

    def walk(path: tuple, node: Any) -> None:
        names = getattr(type(node), "_ember_hyperparams", None)
        if names is not None and hasattr(node, "_fields"):
            settable = getattr(type(node), "_ember_settable", True)
            for n in names:
                found.append(((*path, n), n, getattr(node, n), settable))
        if isinstance(node, InjectHyperparamsState):
            scheduled = node.hyperparams_states
            for n, v in node.hyperparams.items():
                found.append(((*path, "hyperparams", _tree.DictKey(n)), n, v, n not in scheduled))
            walk((*path, "inner_state"), node.inner_state)
            return
        if hasattr(node, "_fields") and isinstance(node, tuple):
            for f in node._fields:
                walk((*path, f), getattr(node, f))
        elif isinstance(node, dict):
            for k, v in node.items():
                walk((*path, _tree.DictKey(k)), v)
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk((*path, _tree.SequenceKey(i)), v)

    walk((), state)
    return found


def _keys(entries: list[tuple[tuple, str, Any, bool]]) -> list[str]:
    counts: dict[str, int] = {}
    for _, name, _, _ in entries:
        counts[name] = counts.get(name, 0) + 1
    return [name if counts[name] == 1 else _fmt(path) for path, name, _, _ in entries]


def hyperparams(state: Any) -> dict[str, Any]:
    """The hyperparameters held in an optimizer state, by name.

    A name found once is the key itself (``"learning_rate"``); a name found several times (e.g.
    the two learning rates of ``muon``) is keyed by its path in the state. Schedules report the
    value used by the most recent ``update`` (before any update: the value the first one uses).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.adam(learning_rate=jnp.asarray(1e-3))        # an array: it lives in the state
    >>> state = opt.init({"w": jnp.zeros(3)})
    >>> round(float(eo.hyperparams(state)["learning_rate"]), 6)
    0.001
    >>> state = eo.set_hyperparams(state, learning_rate=1e-4)  # same avals: no recompilation
    >>> round(float(eo.hyperparams(state)["learning_rate"]), 6)
    0.0001
    """
    entries = _entries(state)
    return {key: value for key, (_, _, value, _) in zip(_keys(entries), entries)}


def set_hyperparams(state: Any, **values: Any) -> Any:
    """A copy of ``state`` with hyperparameters replaced (by name, or by the path keys that
    :func:`hyperparams` shows for names found several times). A plain name sets every occurrence.

    New values are cast to the dtype and shape of the old ones, so a jitted step that takes the
    state as an argument keeps its compiled program. Values computed by a schedule cannot be set.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> state = eo.adam(learning_rate=jnp.asarray(1e-3)).init({"w": jnp.zeros(2)})
    >>> state = eo.set_hyperparams(state, learning_rate=1e-4)    # same shape and dtype: no recompilation
    >>> f"{float(eo.hyperparams(state)['learning_rate']):.4f}"
    '0.0001'
    """
    entries = _entries(state)
    keys = _keys(entries)
    replacements: dict[tuple, Any] = {}
    for key, value in values.items():
        targets = [(e, k) for e, k in zip(entries, keys) if k == key or e[1] == key]
        if not targets:
            available = ", ".join(keys) or (
                "none (pass an array or a schedule as learning_rate, or use inject_hyperparams)")
            raise KeyError(f"no hyperparameter {key!r} in this optimizer state; available: {available}")
        for (path, _, old, settable), k in targets:
            if not settable:
                raise ValueError(f"hyperparameter {k!r} is computed by a schedule at every step and cannot be set; "
                                 "give an array instead of a schedule to control it directly")
            old = jnp.asarray(old)
            new = jnp.asarray(value).astype(old.dtype)
            if new.shape != old.shape:
                try:
                    new = jnp.broadcast_to(new, old.shape)
                except Exception as e:  # noqa: BLE001
                    raise ValueError(f"hyperparameter {k!r} has shape {tuple(old.shape)}; "
                                     f"cannot set it to a value of shape {tuple(new.shape)}") from e
            replacements[path] = new
    return _rebuild((), state, replacements)


def _rebuild(path: tuple, node: Any, replacements: dict[tuple, Any]) -> Any:
    if not any(p[:len(path)] == path for p in replacements):
        return node
    if path in replacements:
        return replacements[path]
    if hasattr(node, "_fields") and isinstance(node, tuple):
        return type(node)(*[_rebuild((*path, f), getattr(node, f), replacements) for f in node._fields])
    if isinstance(node, dict):
        out = {k: _rebuild((*path, _tree.DictKey(k)), v, replacements) for k, v in node.items()}
        return out if type(node) is dict else type(node)(out)
    if isinstance(node, (list, tuple)):
        items = [_rebuild((*path, _tree.SequenceKey(i)), v, replacements) for i, v in enumerate(node)]
        return items if isinstance(node, list) else tuple(items)
    return node
