"""``ember.core.numpy.fft``: discrete Fourier transforms with the names and semantics of
``jax.numpy.fft``.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.numpy import fft
    >>> fft.rfft(jnp.array([1.0, 1.0, 1.0, 1.0])).real.tolist()
    [4.0, 0.0, 0.0]
"""

from ember.core._src.numpy.fft import *  # noqa: F401,F403
from ember.core._src.numpy.fft import __all__  # noqa: F401
