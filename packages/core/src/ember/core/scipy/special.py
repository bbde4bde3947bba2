"""``ember.core.scipy.special``: special functions, as ``jax.scipy.special``.

    >>> import numpy as np
    >>> from ember.core.scipy.special import logsumexp
    >>> float(logsumexp(np.array([0.0, 0.0], np.float32)))  # log(2)
    0.693147...
"""

from ember.core._src.scipy.special import *  # noqa: F401,F403
from ember.core._src.scipy.special import __all__  # noqa: F401
