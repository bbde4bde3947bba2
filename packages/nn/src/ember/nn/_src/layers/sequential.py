"""``Sequential``: apply modules (or any callables) in order.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> model = nn.Sequential(nn.Linear(2, 4, rngs=nn.Rngs(0)), nn.relu, nn.Linear(4, 1, rngs=nn.Rngs(1)))
    >>> model(jnp.ones((3, 2))).shape
    (3, 1)
"""

from __future__ import annotations

from typing import Any, Callable

from ..module import List, Module

__all__ = ["Sequential"]


class Sequential(Module):
    """``Sequential(f1, f2, ...)(x) == f2(f1(x))``; a tuple output is unpacked into the next call.
    The layers live in ``self.layers`` (an ``nn.List``), so ``model.layers[1] = other`` works."""

    def __init__(self, *fns: Callable[..., Any]):
        self.layers = List(fns)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.layers:
            raise ValueError("empty Sequential")
        out: Any = args
        first = True
        for f in self.layers:
            if first:
                out = f(*args, **kwargs)
                first = False
            elif isinstance(out, tuple):
                out = f(*out)
            else:
                out = f(out)
        return out
