"""``Dropout``: zero a fraction ``rate`` of the inputs and rescale the rest by ``1 / (1 - rate)``.

Active when ``deterministic`` is False (``model.train()``), the identity when True
(``model.eval()``). The mask key comes from the layer's own stream (forked from the ``dropout``
stream of the ``rngs`` given at construction) or from ``rngs`` passed to the call.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> drop = nn.Dropout(0.5, rngs=nn.Rngs(0))
    >>> y = drop(jnp.ones(1000))
    >>> sorted(set(y.tolist()))
    [0.0, 2.0]
    >>> drop.eval(); bool((drop(jnp.ones(4)) == 1).all())
    True
"""

from __future__ import annotations

from typing import Any, Sequence

import ember.core.numpy as jnp
from ember.core import lax, random

from ..module import Module, first_from
from ..rngs import Rngs, RngStream

__all__ = ["Dropout"]


class Dropout(Module):
    """Dropout with rate ``rate`` (the probability of zeroing), optionally sharing the mask along
    ``broadcast_dims``."""

    def __init__(self, rate: float, *, broadcast_dims: Sequence[int] = (), deterministic: bool | None = False,
                 rng_collection: str = "dropout", rngs: Rngs | RngStream | None = None):
        self.rate = rate
        self.broadcast_dims = tuple(broadcast_dims)
        self.deterministic = deterministic
        self.rng_collection = rng_collection
        if isinstance(rngs, Rngs):
            self.rngs = rngs[rng_collection].fork()
        elif isinstance(rngs, RngStream):
            self.rngs = rngs.fork()
        elif rngs is None:
            self.rngs = None
        else:
            raise TypeError(f"rngs must be Rngs, RngStream or None, got {type(rngs).__name__}")

    def __call__(self, inputs: Any, *, deterministic: bool | None = None,
                 rngs: Rngs | RngStream | Any | None = None) -> Any:
        deterministic = first_from(deterministic, self.deterministic,
                                   error_msg="no deterministic flag given to Dropout (constructor, call, or "
                                             "model.train()/model.eval())")
        if self.rate == 0.0 or deterministic:
            return inputs
        if self.rate == 1.0:
            return jnp.zeros_like(inputs)
        rngs = first_from(rngs, self.rngs,
                          error_msg="Dropout is not deterministic but has no rngs (pass rngs= to the constructor "
                                    "or the call)")
        if isinstance(rngs, Rngs):
            key = rngs[self.rng_collection]()
        elif isinstance(rngs, RngStream):
            key = rngs()
        else:
            key = rngs
        keep = 1.0 - self.rate
        shape = list(inputs.shape)
        for d in self.broadcast_dims:
            shape[d] = 1
        mask = random.bernoulli(key, p=keep, shape=tuple(shape))
        mask = jnp.broadcast_to(mask, inputs.shape)
        return lax.select(mask, inputs / keep, jnp.zeros_like(inputs))
