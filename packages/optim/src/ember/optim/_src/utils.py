"""Small helpers every module uses: tree maps whose errors name the leaf path, state checks,
dtype canonicalisation, and arrays created "like" a parameter (same sharding)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import tree as _tree


class TreeMismatchError(ValueError):
    """Two trees that must have the same structure (params/updates/state) do not; the message
    names the first leaf path where they differ.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.adam(0.1)
    >>> state = opt.init({"w": jnp.zeros(2)})
    >>> try:
    ...     opt.update({"w": jnp.zeros(2), "b": jnp.zeros(1)}, state)
    ... except eo.TreeMismatchError as e:
    ...     print("mismatch:", str(e)[:40])
    mismatch: moments has no leaf at path ['b'] (prese
    """


def _paths(tree: Any, is_leaf: Callable[[Any], bool] | None) -> list[tuple[str, Any]]:
    return [(_tree.keystr(p), leaf) for p, leaf in _tree.flatten_with_path(tree, is_leaf=is_leaf)[0]]


def _describe(leaf: Any) -> str:
    shape = getattr(leaf, "shape", None)
    dtype = getattr(leaf, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{np.dtype(dtype).name}{list(shape)}"
    return type(leaf).__name__


def structure_mismatch(a: Any, b: Any, name_a: str, name_b: str,
                       is_leaf: Callable[[Any], bool] | None = None) -> str | None:
    """A message naming the first path where ``b`` does not have the structure of ``a``, or None."""
    sa, sb = _tree.structure(a, is_leaf=is_leaf), _tree.structure(b, is_leaf=is_leaf)
    if sa == sb:
        return None
    pa, pb = _paths(a, is_leaf), _paths(b, is_leaf)
    keys_b = {p for p, _ in pb}
    keys_a = {p for p, _ in pa}
    for p, _ in pa:
        if p not in keys_b:
            return f"{name_b} has no leaf at path {p or '<root>'} (present in {name_a})"
    for p, _ in pb:
        if p not in keys_a:
            return f"{name_b} has a leaf at path {p or '<root>'} that {name_a} does not have"
    return f"{name_a} and {name_b} have different tree structures: {sa} vs {sb}"


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None,
             names: Sequence[str] | None = None) -> Any:
    """``ember.core.tree.map`` whose errors name the leaf path (structure mismatch, or the leaf
    where ``f`` failed, e.g. shapes that do not broadcast). No cost when nothing goes wrong."""
    try:
        return _tree.map(f, tree, *rest, is_leaf=is_leaf)
    except (ValueError, TypeError) as e:
        if isinstance(e, TreeMismatchError):
            raise
        raise _diagnose(e, f, tree, rest, is_leaf, names) from e


def _diagnose(e: Exception, f, tree, rest, is_leaf, names) -> Exception:
    names = list(names) if names is not None else ["tree"] + [f"tree argument {i + 1}" for i in range(len(rest))]
    for i, other in enumerate(rest):
        msg = structure_mismatch(tree, other, names[0], names[i + 1], is_leaf)
        if msg is not None:
            return TreeMismatchError(msg)
    # Same structures: find the leaf where f fails.
    flat = [_tree.flatten_with_path(t, is_leaf=is_leaf)[0] for t in (tree, *rest)]
    for items in zip(*flat):
        path = _tree.keystr(items[0][0])
        leaves = [leaf for _, leaf in items]
        try:
            f(*leaves)
        except Exception as inner:  # noqa: BLE001 - re-raised with the path
            shapes = ", ".join(f"{n}: {_describe(leaf)}" for n, leaf in zip(names, leaves))
            msg = f"at leaf path {path or '<root>'} ({shapes}): {inner}"
            try:
                return type(inner)(msg)
            except Exception:  # noqa: BLE001
                return ValueError(msg)
    return e


def check_state(state: Any, cls: type | tuple[type, ...], transform: str) -> None:
    """Raise a clear error when ``update`` receives a state of another transformation."""
    if not isinstance(state, cls):
        expected = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        raise TypeError(
            f"{transform}.update received a state of type {type(state).__name__}, expected {expected}: "
            "pass the state returned by this transformation's own init (or previous update)")


def canonicalize_dtype(dtype: Any) -> Any:
    """``None`` stays None; otherwise the dtype ember uses for it (float64 -> float32 without x64)."""
    if dtype is None:
        return None
    return jnp.result_type(dtype)


def is_number(x: Any) -> bool:
    """A Python or NumPy scalar: a compile-time constant (not an array, a tracer, or a callable)."""
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _sharding_of(x: Any) -> Any:
    """The sharding of a concrete multi-device array, else None (tracers, numpy, single device)."""
    if not isinstance(x, ec.Array):
        return None
    try:
        sharding = x.sharding
    except Exception:  # noqa: BLE001
        return None
    if len(getattr(sharding, "device_set", ())) <= 1:
        return None
    return sharding


def place_like(value: Any, like: Any) -> Any:
    """Put ``value`` (same shape as ``like``) on ``like``'s sharding when ``like`` is sharded."""
    sharding = _sharding_of(like)
    if sharding is None or getattr(value, "shape", None) != like.shape:
        return value
    return ec.device_put(value, sharding)


def full_like(x: Any, fill_value: Any, dtype: Any = None) -> Any:
    """``jnp.full_like`` that keeps ``x``'s sharding (so optimizer state is sharded like params)."""
    return place_like(jnp.full_like(x, fill_value, dtype=dtype), x)


def zeros_like(x: Any, dtype: Any = None) -> Any:
    return place_like(jnp.zeros_like(x, dtype=dtype), x)


# ------------------------------------------------------------------------------ fused kernels

def _is_static(h: Any) -> bool:
    if h is None or isinstance(h, (bool, int, float, complex, str, np.number, np.dtype)):
        return True
    if isinstance(h, type):
        return True
    if isinstance(h, tuple):
        return all(_is_static(x) for x in h)
    return False


def kernel(make: Callable[..., Callable[..., Any]]) -> Callable[..., Callable[..., Any]]:
    """Compile the tree-level math of a transform into one program.

    ``make(*hyperparams)`` returns the math as a function of trees (updates, moments...). When
    every hyperparameter is a Python constant, ``kernel(make)(*hyperparams)`` is that function
    under ``ec.jit(inline=True)``, cached per hyperparameter values: called eagerly, a whole
    update is one compiled program (instead of one dispatch per operation and leaf); under a
    trace it is simply inlined, so jitted programs are unchanged. When a hyperparameter is an
    array or a tracer (``inject_hyperparams``), the plain function is returned.
    """
    cache: dict[Any, Callable[..., Any]] = {}

    def get(*hyperparams: Any) -> Callable[..., Any]:
        if not all(_is_static(h) for h in hyperparams):
            return make(*hyperparams)
        key = tuple((type(h), h) for h in hyperparams)
        fn = cache.get(key)
        if fn is None:
            fn = cache[key] = ec.jit(make(*hyperparams), inline=True)
        return fn

    get.__name__ = getattr(make, "__name__", "kernel")
    get.__doc__ = make.__doc__
    return get


def _is_array_like(x: Any) -> bool:
    return isinstance(x, (ec.Array, np.ndarray, np.number, int, float, bool)) or hasattr(x, "aval")


def eager_compiled(update: Callable[..., Any]) -> Callable[..., Any]:
    """An ``update`` that, called outside any transformation, runs as one compiled program
    (``ec.jit(inline=True)``, cached per tree structure and types) instead of one dispatch per
    operation and leaf; under ``ec.jit``/``vmap``/``grad`` it is inlined, so traced programs are
    unchanged. Extra keyword arguments that are not arrays or numbers (e.g. functions) fall back
    to the plain function.
    """
    jitted = ec.jit(update, inline=True)

    def wrapped(updates: Any, state: Any, params: Any = None, **extra_args: Any) -> Any:
        if extra_args and not all(_is_array_like(x) for x in _tree.leaves(extra_args)):
            return update(updates, state, params, **extra_args)
        return jitted(updates, state, params, **extra_args)

    wrapped.__name__ = getattr(update, "__name__", "update")
    wrapped.__qualname__ = getattr(update, "__qualname__", "update")
    wrapped.__wrapped__ = update  # type: ignore[attr-defined]
    return wrapped
