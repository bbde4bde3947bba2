"""``ember.core.scipy.linalg``: linear algebra with the names and semantics of ``jax.scipy.linalg``.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.scipy import linalg
    >>> linalg.solve_triangular(jnp.array([[2.0, 0.0], [1.0, 1.0]]), jnp.array([2.0, 2.0]), lower=True).tolist()
    [1.0, 1.0]
"""

from ember.core._src.scipy.linalg import *  # noqa: F401,F403
from ember.core._src.scipy.linalg import __all__  # noqa: F401
