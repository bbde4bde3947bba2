"""``ember.nn.initializers``: parameter initializers ``init(key, shape, dtype)``.

ember.core's (``ec.nn.initializers``, the same values as ``jax.nn.initializers`` for the same key)
plus Flax's ``zeros_init()``/``ones_init()`` factories.

    >>> import ember.core.random as random
    >>> from ember.nn import initializers
    >>> initializers.xavier_uniform()(random.PRNGKey(0), (3, 4)).shape
    (3, 4)
"""

from ember.core.nn.initializers import *  # noqa: F401,F403
from ember.core.nn.initializers import __all__ as _core_all
from ember.core.nn.initializers import ones, zeros


def zeros_init():
    """The ``zeros`` initializer (Flax's factory spelling)."""
    return zeros


def ones_init():
    """The ``ones`` initializer (Flax's factory spelling)."""
    return ones


__all__ = [*_core_all, "zeros_init", "ones_init"]
