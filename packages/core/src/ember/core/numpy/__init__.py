"""``ember.core.numpy``: the NumPy API, with the names and semantics of ``jax.numpy``.

    >>> import ember.core.numpy as jnp
    >>> jnp.arange(4.0).tolist()
    [0.0, 1.0, 2.0, 3.0]
"""

from ember.core._src.numpy import *  # noqa: F401,F403
from ember.core._src.numpy import _public_names

__all__ = list(_public_names)
del _public_names

from ember.core.numpy import fft, linalg  # noqa: E402,F401  (jnp.linalg.inv, jnp.fft.fft)
