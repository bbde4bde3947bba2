"""``ember.core.nn``: activation functions, softmax, normalisation and attention, as ``jax.nn``;
parameter initializers in ``ember.core.nn.initializers``.

    >>> import numpy as np
    >>> import ember.core.nn as nn
    >>> nn.softmax(np.zeros(2, np.float32)).tolist()
    [0.5, 0.5]
"""

from ember.core._src.nn.functions import *  # noqa: F401,F403
from ember.core._src.nn.functions import __all__ as _function_names
from ember.core.nn import initializers  # noqa: F401

__all__ = [*_function_names, "initializers"]
del _function_names
