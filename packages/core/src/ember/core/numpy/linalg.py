"""``ember.core.numpy.linalg``: linear algebra with the names and semantics of ``jax.numpy.linalg``.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.numpy import linalg
    >>> linalg.inv(jnp.array([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
"""

from ember.core._src.numpy.linalg import *  # noqa: F401,F403
from ember.core._src.numpy.linalg import __all__  # noqa: F401
