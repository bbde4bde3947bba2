"""``PReLU``: a leaky ReLU whose negative slope is a learned parameter.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> nn.PReLU()(jnp.array([-1.0, 2.0])).tolist()
    [-0.009999999776482582, 2.0]
"""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp

from ..module import Module
from ..variables import Param

__all__ = ["PReLU"]


class PReLU(Module):
    """``where(x >= 0, x, negative_slope * x)`` with ``negative_slope`` a ``Param``."""

    def __init__(self, negative_slope_init: float = 0.01, param_dtype: Any = jnp.float32):
        self.negative_slope = Param(jnp.asarray(negative_slope_init, dtype=param_dtype))
        self.param_dtype = param_dtype

    def __call__(self, inputs: Any) -> Any:
        return jnp.where(inputs >= 0, inputs, jnp.asarray(self.negative_slope.value, inputs.dtype) * inputs)
