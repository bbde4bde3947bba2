"""``ember.core.random``: pseudo-random numbers with explicit keys, as ``jax.random``.

The default generator is JAX's Threefry-2x32 (partitionable layout), bit-for-bit: the same seed
gives the same numbers as ``jax.random``. Keys are raw ``uint32[2]`` arrays from ``PRNGKey`` or
``key`` (ember has no typed key dtype); split them, never reuse them.

    >>> import ember.core.random as random
    >>> key = random.PRNGKey(0)
    >>> key, sub = random.split(key)
    >>> random.normal(sub, (2, 3)).shape
    (2, 3)
"""

from ember.core._src.random import *  # noqa: F401,F403
from ember.core._src.random import __all__  # noqa: F401
