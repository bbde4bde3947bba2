"""Convolutions (channels last): ``Conv`` (1-3D, strides, dilations, groups, padding ``SAME``/
``VALID``/``CIRCULAR``/``REFLECT``/``CAUSAL``/explicit) and ``ConvTranspose``.

``kernel`` has shape ``(*kernel_size, in_features // feature_group_count, out_features)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> conv = nn.Conv(3, 8, kernel_size=(3, 3), strides=2, rngs=nn.Rngs(0))
    >>> conv.kernel.shape, conv(jnp.ones((2, 16, 16, 3))).shape
    ((3, 3, 3, 8), (2, 8, 8, 8))
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import ember.core.numpy as jnp
from ember.core import lax

from ..module import Module
from ..rngs import Rngs
from ..variables import Param
from .dtypes import promote_dtype
from .linear import _EMPTY, canonicalize_padding, default_bias_init, default_kernel_init

__all__ = ["Conv", "ConvTranspose"]


def _conv_dimension_numbers(ndim: int) -> Any:
    lhs_spec = (0, ndim - 1) + tuple(range(1, ndim - 1))
    rhs_spec = (ndim - 1, ndim - 2) + tuple(range(0, ndim - 2))
    return lax.ConvDimensionNumbers(lhs_spec, rhs_spec, lhs_spec)


def _broadcast(x: Any, n: int) -> tuple[int, ...]:
    if x is None:
        x = 1
    if isinstance(x, int):
        return (x,) * n
    return tuple(x)


class Conv(Module):
    """A convolution over ``len(kernel_size)`` spatial axes; inputs ``(*batch, *spatial, features)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> causal = nn.Conv(1, 1, kernel_size=3, padding="CAUSAL", rngs=nn.Rngs(0))
    >>> causal(jnp.ones((1, 5, 1))).shape
    (1, 5, 1)
    """

    def __init__(self, in_features: int, out_features: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] | None = 1, *, padding: Any = "SAME",
                 input_dilation: int | Sequence[int] | None = 1, kernel_dilation: int | Sequence[int] | None = 1,
                 feature_group_count: int = 1, use_bias: bool = True, mask: Any = None, dtype: Any = None,
                 param_dtype: Any = jnp.float32, precision: Any = None, kernel_init: Callable = default_kernel_init,
                 bias_init: Callable = default_bias_init, conv_general_dilated: Callable = lax.conv_general_dilated,
                 promote_dtype: Callable = promote_dtype, preferred_element_type: Any = None, rngs: Rngs,
                 kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        kernel_size = (kernel_size,) if isinstance(kernel_size, int) else tuple(kernel_size)
        if in_features % feature_group_count:
            raise ValueError(f"in_features ({in_features}) must be divisible by feature_group_count "
                             f"({feature_group_count})")
        kernel_shape = kernel_size + (in_features // feature_group_count, out_features)
        self.kernel_shape = kernel_shape
        self.kernel = Param(kernel_init(rngs.params(), kernel_shape, param_dtype), **dict(kernel_metadata))
        self.bias = Param(bias_init(rngs.params(), (out_features,), param_dtype), **dict(bias_metadata)) \
            if use_bias else None
        self.in_features = in_features
        self.out_features = out_features
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.input_dilation = input_dilation
        self.kernel_dilation = kernel_dilation
        self.feature_group_count = feature_group_count
        self.use_bias = use_bias
        self.mask = mask
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.precision = precision
        self.conv_general_dilated = conv_general_dilated
        self.promote_dtype = promote_dtype
        self.preferred_element_type = preferred_element_type

    def __call__(self, inputs: Any) -> Any:
        kernel_size = self.kernel_size
        n = len(kernel_size)
        num_batch = inputs.ndim - (n + 1)
        if num_batch != 1:
            batch_shape = inputs.shape[:num_batch]
            inputs = jnp.reshape(inputs, (-1,) + inputs.shape[num_batch:])
        strides = _broadcast(self.strides, n)
        input_dilation = _broadcast(self.input_dilation, n)
        kernel_dilation = _broadcast(self.kernel_dilation, n)
        padding = canonicalize_padding(self.padding, n)
        if padding in ("CIRCULAR", "REFLECT"):
            dilated = [(k - 1) * d + 1 for k, d in zip(kernel_size, kernel_dilation)]
            pads = [(0, 0)] + [((k - 1) // 2, k // 2) for k in dilated] + [(0, 0)]
            inputs = jnp.pad(inputs, pads, mode={"CIRCULAR": "wrap", "REFLECT": "reflect"}[padding])
            padding = "VALID"
        elif padding == "CAUSAL":
            if n != 1:
                raise ValueError("causal padding is only implemented for 1D convolutions")
            left = kernel_dilation[0] * (kernel_size[0] - 1)
            inputs = jnp.pad(inputs, [(0, 0), (left, 0), (0, 0)])
            padding = "VALID"
        kernel = self.kernel.value
        if self.mask is not None:
            if tuple(self.mask.shape) != tuple(self.kernel_shape):
                raise ValueError(f"mask shape {self.mask.shape} must equal the kernel shape {self.kernel_shape}")
            kernel = kernel * self.mask
        bias = self.bias.value if self.bias is not None else None
        inputs, kernel, bias = self.promote_dtype((inputs, kernel, bias), dtype=self.dtype)
        kwargs = {} if self.preferred_element_type is None else {"preferred_element_type": self.preferred_element_type}
        y = self.conv_general_dilated(inputs, kernel, strides, padding, lhs_dilation=input_dilation,
                                      rhs_dilation=kernel_dilation,
                                      dimension_numbers=_conv_dimension_numbers(inputs.ndim),
                                      feature_group_count=self.feature_group_count, precision=self.precision, **kwargs)
        if bias is not None:
            y = y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
        if num_batch != 1:
            y = jnp.reshape(y, batch_shape + y.shape[1:])
        return y


class ConvTranspose(Module):
    """A transposed convolution (``lax.conv_transpose``); ``kernel`` is
    ``(*kernel_size, in_features, out_features)`` (or ``(..., out, in)`` with ``transpose_kernel``).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> up = nn.ConvTranspose(4, 2, kernel_size=(3, 3), strides=2, rngs=nn.Rngs(0))
    >>> up(jnp.ones((1, 5, 5, 4))).shape
    (1, 10, 10, 2)
    """

    def __init__(self, in_features: int, out_features: int, kernel_size: int | Sequence[int],
                 strides: int | Sequence[int] | None = None, *, padding: Any = "SAME",
                 kernel_dilation: int | Sequence[int] | None = None, use_bias: bool = True, mask: Any = None,
                 dtype: Any = None, param_dtype: Any = jnp.float32, precision: Any = None,
                 kernel_init: Callable = default_kernel_init, bias_init: Callable = default_bias_init,
                 transpose_kernel: bool = False, promote_dtype: Callable = promote_dtype,
                 preferred_element_type: Any = None, rngs: Rngs,
                 kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        kernel_size = (kernel_size,) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.kernel_size = kernel_size
        self.in_features = in_features
        self.out_features = out_features
        self.strides = strides
        self.padding = padding
        self.kernel_dilation = kernel_dilation
        self.use_bias = use_bias
        self.mask = mask
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.precision = precision
        self.transpose_kernel = transpose_kernel
        self.promote_dtype = promote_dtype
        self.preferred_element_type = preferred_element_type
        kernel_shape = kernel_size + ((out_features, in_features) if transpose_kernel else (in_features, out_features))
        self.kernel_shape = kernel_shape
        self.kernel = Param(kernel_init(rngs.params(), kernel_shape, param_dtype), **dict(kernel_metadata))
        self.bias = Param(bias_init(rngs.params(), (out_features,), param_dtype), **dict(bias_metadata)) \
            if use_bias else None

    def __call__(self, inputs: Any) -> Any:
        kernel_size = self.kernel_size
        n = len(kernel_size)
        num_batch = inputs.ndim - (n + 1)
        if num_batch != 1:
            batch_shape = inputs.shape[:num_batch]
            inputs = jnp.reshape(inputs, (-1,) + inputs.shape[num_batch:])
        strides = _broadcast(self.strides, n)
        kernel_dilation = _broadcast(self.kernel_dilation, n)
        kernel = self.kernel.value
        if self.mask is not None:
            kernel = kernel * self.mask
        padding = canonicalize_padding(self.padding, n)
        if padding == "CIRCULAR":
            padding = "VALID"
        bias = self.bias.value if self.bias is not None else None
        inputs, kernel, bias = self.promote_dtype((inputs, kernel, bias), dtype=self.dtype)
        y = lax.conv_transpose(inputs, kernel, strides, padding, rhs_dilation=kernel_dilation,
                               dimension_numbers=_conv_dimension_numbers(inputs.ndim),
                               transpose_kernel=self.transpose_kernel, precision=self.precision,
                               preferred_element_type=self.preferred_element_type)
        if self.padding == "CIRCULAR":
            scaled = [x * s for x, s in zip(inputs.shape[1:-1], strides)]
            diffs = [-(yd - xd) % (2 * xd) for yd, xd in zip(y.shape[1:-1], scaled)]
            if self.transpose_kernel:
                total = [(d // 2, (d + 1) // 2) for d in diffs]
            else:
                total = [((d + 1) // 2, d // 2) for d in diffs]
            y = jnp.pad(y, [(0, 0)] + total + [(0, 0)])
            for i in range(1, y.ndim - 1):
                y = y.reshape(y.shape[:i] + (-1, scaled[i - 1]) + y.shape[i + 1:])
                y = y.sum(axis=i)
        if bias is not None:
            y = y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
        if num_batch != 1:
            y = jnp.reshape(y, batch_shape + y.shape[1:])
        return y
