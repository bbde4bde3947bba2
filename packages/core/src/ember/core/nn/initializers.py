"""``ember.core.nn.initializers``: ``init(key, shape, dtype=None)`` parameter initializers, as
``jax.nn.initializers`` (same values for the same key).

    >>> import ember.core.random as random
    >>> from ember.core.nn.initializers import lecun_normal
    >>> lecun_normal()(random.PRNGKey(0), (4, 2)).shape
    (4, 2)
"""

from ember.core._src.nn.initializers import *  # noqa: F401,F403
from ember.core._src.nn.initializers import __all__  # noqa: F401
