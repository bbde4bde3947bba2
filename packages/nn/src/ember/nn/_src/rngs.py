"""``Rngs``: named random streams that stay deterministic under jit, vmap and scan.

Each stream holds a base key (``RngKey``) and a counter (``RngCount``), both Variables: drawing a
key returns ``random.fold_in(key, count)`` and increments the counter. Because the counter is
state, a call inside ``nn.jit`` advances it exactly as an eager call would (the new count is
written back), and the same seed always gives the same sequence.

Streams are attributes (``rngs.params()``, ``rngs.dropout()``); an unknown stream name falls
back to ``default`` (``rngs()`` is ``rngs.default()``).

    >>> import ember.nn as nn
    >>> rngs = nn.Rngs(0, dropout=1)
    >>> k1, k2 = rngs.params(), rngs.params()          # 'params' falls back to 'default'
    >>> bool((k1 != k2).any()), rngs.default.count.value.item()
    (True, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

import ember.core.numpy as jnp
from ember.core import random

from . import filters as filterlib
from .module import Module
from .variables import Variable

__all__ = [
    "Rngs", "RngStream", "RngState", "RngKey", "RngCount", "split_rngs", "fork_rngs", "restore_rngs",
    "reseed", "SplitBackups",
]


class RngState(Variable):
    """Base kind of RNG state (filter ``nn.RngState`` selects keys and counts)."""


class RngKey(RngState):
    """A stream's base key (a raw ``uint32[..., 2]`` array)."""


class RngCount(RngState):
    """A stream's counter (``uint32``, one per key)."""


def _as_key(key: Any) -> Any:
    if isinstance(key, (int, np.integer)):
        return random.PRNGKey(int(key))
    if tuple(getattr(key, "shape", (2,))) == ():
        return random.PRNGKey(key)
    key = jnp.asarray(key)
    if key.dtype != jnp.uint32 or key.shape[-1:] != (2,):
        raise ValueError(f"invalid rng key {key!r}: expected an int seed or a uint32[..., 2] key")
    return key


class RngStream(Module):
    """One named stream: ``stream()`` returns a fresh key and advances the counter."""

    def __init__(self, key: Any, *, tag: str):
        key = _as_key(key)
        self.tag = tag
        self.key = RngKey(key, tag=tag)
        self.count = RngCount(jnp.zeros(key.shape[:-1], jnp.uint32), tag=tag)

    def __call__(self) -> Any:
        count = self.count.value
        key = random.fold_in(self.key.value, count)
        self.count.value = count + 1
        return key

    def fork(self) -> "RngStream":
        """A new independent stream seeded from this one."""
        return type(self)(self(), tag=self.tag)

    def split(self, k: int | tuple[int, ...]) -> "RngStream":
        """A new stream with ``k`` keys (for use under ``nn.vmap``)."""
        return type(self)(random.split(self(), k), tag=self.tag)

    # convenience samplers, as in NNX
    def uniform(self, *args: Any, **kwargs: Any) -> Any:
        return random.uniform(self(), *args, **kwargs)

    def normal(self, *args: Any, **kwargs: Any) -> Any:
        return random.normal(self(), *args, **kwargs)

    def bernoulli(self, *args: Any, **kwargs: Any) -> Any:
        return random.bernoulli(self(), *args, **kwargs)

    def randint(self, *args: Any, **kwargs: Any) -> Any:
        return random.randint(self(), *args, **kwargs)

    def permutation(self, *args: Any, **kwargs: Any) -> Any:
        return random.permutation(self(), *args, **kwargs)

    def categorical(self, *args: Any, **kwargs: Any) -> Any:
        return random.categorical(self(), *args, **kwargs)


# attribute names probed by duck typing (arrays, Variables): never stream names
_NOT_STREAMS = frozenset({"aval", "shape", "dtype", "ndim", "size", "value"})


class Rngs(Module):
    """A set of named ``RngStream``s.

    ``Rngs(0)`` has one ``default`` stream; ``Rngs(params=0, dropout=1)`` two named ones;
    ``Rngs(0, dropout=1)`` both. Values are int seeds or raw keys.

    >>> import ember.nn as nn
    >>> rngs = nn.Rngs(params=0, dropout=1)
    >>> sorted(rngs), rngs.params().shape
    (['dropout', 'params'], (2,))
    """

    def __init__(self, default: Any = None, /, **rngs: Any):
        if default is not None:
            if isinstance(default, Mapping):
                rngs = {**default, **rngs}
            else:
                rngs["default"] = default
        for tag, key in rngs.items():
            if isinstance(key, RngStream):
                key = key.key.value
            setattr(self, tag, RngStream(key, tag=tag))

    def _get_stream(self, name: str, error: type[Exception]) -> RngStream:
        d = self.__dict__
        stream = d.get(name)
        if stream is None:
            stream = d.get("default")
            if stream is None:
                raise error(f"no RngStream named {name!r} (and no 'default' stream) in Rngs({', '.join(self)})")
        return stream

    def __getattr__(self, name: str) -> RngStream:
        if name.startswith("_") or name in _NOT_STREAMS:
            raise AttributeError(name)
        return self._get_stream(name, AttributeError)

    def __getitem__(self, name: str) -> RngStream:
        return self._get_stream(name, KeyError)

    def __call__(self) -> Any:
        return self._get_stream("default", AttributeError)()

    def __iter__(self):
        return (k for k, v in self.__dict__.items() if isinstance(v, RngStream))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, name: Any) -> bool:
        return isinstance(self.__dict__.get(name), RngStream)

    def items(self):
        return ((k, v) for k, v in self.__dict__.items() if isinstance(v, RngStream))

    def fork(self) -> "Rngs":
        """New Rngs whose streams are forked from these."""
        return Rngs(**{k: s.fork().key.value for k, s in self.items()})

    def split(self, k: int | tuple[int, ...]) -> "Rngs":
        """New Rngs whose streams hold ``k`` keys each (for ``nn.vmap`` with ``in_axes=0``)."""
        out = object.__new__(Rngs)
        for name, s in self.items():
            setattr(out, name, s.split(k))
        return out


class SplitBackups(list):
    """Returned by ``split_rngs(node, ...)``: restores the split streams (also as a context manager)."""

    def __enter__(self) -> "SplitBackups":
        return self

    def __exit__(self, *exc: Any) -> None:
        restore_rngs(self)


def _streams(node: Any):
    import ember.core as ec

    from .graph import is_graph_object, iter_graph

    roots = [x for x in ec.tree.leaves(node, is_leaf=is_graph_object) if isinstance(x, Module)]
    seen: set[int] = set()
    for i, root in enumerate(roots):
        for path, obj in iter_graph(root):
            if isinstance(obj, RngStream) and id(obj) not in seen:
                seen.add(id(obj))
                yield (i, *path), obj


_MISSING = object()


def split_rngs(node: Any = _MISSING, /, *, splits: int | tuple[int, ...], only: Any = ..., squeeze: bool = False):
    """Split the RNG streams found in ``node`` into ``splits`` keys each, in place.

    With a node: returns backups (a context manager) that restore the streams. Without: a
    decorator that splits the streams found in the function's arguments for the duration of the
    call, typically stacked on top of ``nn.vmap`` to create an ensemble:

    >>> import ember.nn as nn
    >>> @nn.split_rngs(splits=3)
    ... @nn.vmap(in_axes=0, out_axes=0)
    ... def create(rngs):
    ...     return nn.Linear(2, 2, rngs=rngs)
    >>> create(nn.Rngs(0)).kernel.shape
    (3, 2, 2)
    """
    if node is _MISSING:
        def decorator(f: Callable) -> Callable:
            import functools

            @functools.wraps(f)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                with split_rngs((args, kwargs), splits=splits, only=only, squeeze=squeeze):
                    return f(*args, **kwargs)

            return wrapper

        return decorator

    predicate = filterlib.to_predicate(only)
    backups = SplitBackups()
    for path, stream in _streams(node):
        if not (predicate((*path, "key"), stream.key) and predicate((*path, "count"), stream.count)):
            continue
        key = stream()
        backups.append((stream, stream.key.value, stream.count.value))
        keys = random.split(key, splits)
        if squeeze:
            keys = keys[0]
        stream.key.value = keys
        stream.count.value = jnp.zeros(keys.shape[:-1], jnp.uint32)
    return backups


def restore_rngs(backups: Any) -> None:
    """Undo :func:`split_rngs` (keys restored; the counters keep the draw the split made)."""
    for stream, key, count in backups:
        stream.key.value = key
        stream.count.value = count


def fork_rngs(node: Any, /, *, split: Any = None) -> SplitBackups:
    """Replace each stream's key by a fresh one drawn from it (optionally split), in place."""
    backups = SplitBackups()
    for _, stream in _streams(node):
        key = stream()
        backups.append((stream, stream.key.value, stream.count.value))
        if split is not None:
            key = random.split(key, split)
        stream.key.value = key
        stream.count.value = jnp.zeros(key.shape[:-1], jnp.uint32)
    return backups


def reseed(node: Any, /, **stream_keys: Any) -> None:
    """Give the named streams new seeds (counters reset to zero).

    >>> import ember.nn as nn
    >>> r = nn.Rngs(params=0)
    >>> a = r.params(); nn.reseed(r, params=0); b = r.params()
    >>> bool((a == b).all())
    True
    """
    for _, stream in _streams(node):
        if stream.tag in stream_keys:
            key = _as_key(stream_keys[stream.tag])
            stream.key.value = key
            stream.count.value = jnp.zeros(key.shape[:-1], jnp.uint32)
