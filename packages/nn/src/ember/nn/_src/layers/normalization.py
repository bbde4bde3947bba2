"""Normalization layers: ``BatchNorm``, ``LayerNorm``, ``RMSNorm``, ``GroupNorm``.

Statistics are computed in at least float32; with ``use_fast_variance`` (default) the variance is
``max(0, E[x^2] - E[x]^2)``. ``BatchNorm`` keeps running ``mean``/``var`` (``BatchStat``) updated as
``momentum * running + (1 - momentum) * batch`` in training mode (``use_running_average=False``,
switch with ``model.train()``/``model.eval()``).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> ln = nn.LayerNorm(4, rngs=nn.Rngs(0))
    >>> y = ln(jnp.arange(8.0).reshape(2, 4))
    >>> [round(float(v), 4) for v in y.mean(-1)]
    [0.0, 0.0]
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import ember.core.numpy as jnp
from ember.core import lax

from ... import initializers
from ..module import Module, first_from
from ..rngs import Rngs
from ..variables import BatchStat, Param
from .dtypes import canonicalize_dtype, promote_dtype
from .linear import _EMPTY

__all__ = ["BatchNorm", "LayerNorm", "RMSNorm", "GroupNorm"]


def _canonicalize_axes(ndim: int, axes: Any) -> tuple[int, ...]:
    if not isinstance(axes, Sequence):
        axes = (axes,)
    return tuple(sorted({a % ndim for a in axes}))


def _abs_sq(x: Any) -> Any:
    if jnp.iscomplexobj(x):
        return lax.square(lax.real(x)) + lax.square(lax.imag(x))
    return lax.square(x)


def _compute_stats(x: Any, axes: Any, dtype: Any, axis_name: Any = None, use_mean: bool = True,
                   use_fast_variance: bool = True, mask: Any = None) -> tuple[Any, Any]:
    if dtype is None:
        dtype = jnp.result_type(x)
    dtype = jnp.promote_types(dtype, jnp.float32)
    x = jnp.asarray(x, dtype)
    axes = _canonicalize_axes(x.ndim, axes)

    def mean(*xs: Any) -> Any:
        mus = tuple(v.mean(axes, where=mask) for v in xs)
        if axis_name is not None:
            mus = tuple(lax.pmean(m, axis_name) for m in mus)
        return mus if len(mus) > 1 else mus[0]

    if use_mean:
        if use_fast_variance:
            mu, mu2 = mean(x, _abs_sq(x))
            var = jnp.maximum(0.0, mu2 - _abs_sq(mu))
        else:
            mu = mean(x)
            var = mean(_abs_sq(x - jnp.expand_dims(mu, axes)))
    else:
        var = mean(_abs_sq(x))
        mu = jnp.zeros_like(var)
    return mu, var


def _normalize(x: Any, mean: Any, var: Any, scale: Any, bias: Any, reduction_axes: Any, feature_axes: Any,
               dtype: Any, epsilon: float) -> Any:
    reduction_axes = _canonicalize_axes(x.ndim, reduction_axes)
    feature_axes = _canonicalize_axes(x.ndim, feature_axes)
    stats_shape = list(x.shape)
    for ax in reduction_axes:
        stats_shape[ax] = 1
    mean = mean.reshape(stats_shape)
    var = var.reshape(stats_shape)
    feature_shape = [1] * x.ndim
    for ax in feature_axes:
        feature_shape[ax] = x.shape[ax]
    y = x - mean
    mul = lax.rsqrt(var + epsilon)
    args = [x]
    if scale is not None:
        scale = scale.reshape(feature_shape)
        mul = mul * scale
        args.append(scale)
    y = y * mul
    if bias is not None:
        bias = bias.reshape(feature_shape)
        y = y + bias
        args.append(bias)
    return jnp.asarray(y, canonicalize_dtype(*args, dtype=dtype))


class BatchNorm(Module):
    """Batch normalization with running statistics ``mean``/``var`` and learned ``scale``/``bias``.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> bn = nn.BatchNorm(2, momentum=0.5, rngs=nn.Rngs(0))
    >>> _ = bn(jnp.array([[0.0, 2.0], [2.0, 4.0]]))      # training mode: batch stats, running update
    >>> bn.mean.value.tolist()
    [0.5, 1.5]
    >>> bn.eval(); bn(jnp.array([[0.5, 1.5]])).shape     # eval mode: running stats
    (1, 2)
    """

    def __init__(self, num_features: int, *, use_running_average: bool | None = False, axis: int = -1,
                 momentum: float = 0.99, epsilon: float = 1e-5, dtype: Any = None, param_dtype: Any = jnp.float32,
                 use_bias: bool = True, use_scale: bool = True, bias_init: Callable = initializers.zeros_init(),
                 scale_init: Callable = initializers.ones_init(), axis_name: Any = None, axis_index_groups: Any = None,
                 use_fast_variance: bool = True, promote_dtype: Callable = promote_dtype, rngs: Rngs,
                 bias_metadata: Mapping[str, Any] = _EMPTY, scale_metadata: Mapping[str, Any] = _EMPTY):
        feature_shape = (num_features,)
        self.mean = BatchStat(jnp.zeros(feature_shape, jnp.float32))
        self.var = BatchStat(jnp.ones(feature_shape, jnp.float32))
        self.scale = Param(scale_init(rngs.params(), feature_shape, param_dtype), **dict(scale_metadata)) \
            if use_scale else None
        self.bias = Param(bias_init(rngs.params(), feature_shape, param_dtype), **dict(bias_metadata)) \
            if use_bias else None
        self.num_features = num_features
        self.use_running_average = use_running_average
        self.axis = axis
        self.momentum = momentum
        self.epsilon = epsilon
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.use_bias = use_bias
        self.use_scale = use_scale
        self.axis_name = axis_name
        self.axis_index_groups = axis_index_groups
        self.use_fast_variance = use_fast_variance
        self.promote_dtype = promote_dtype

    def __call__(self, x: Any, use_running_average: bool | None = None, *, mask: Any = None) -> Any:
        use_running_average = first_from(
            use_running_average, self.use_running_average,
            error_msg="no use_running_average given to BatchNorm (constructor, call, or model.train()/eval())")
        feature_axes = _canonicalize_axes(x.ndim, self.axis)
        reduction_axes = tuple(i for i in range(x.ndim) if i not in feature_axes)
        scale = self.scale.value if self.scale is not None else None
        bias = self.bias.value if self.bias is not None else None
        x, mean, var, scale, bias = self.promote_dtype((x, self.mean.value, self.var.value, scale, bias),
                                                       dtype=self.dtype)
        if not use_running_average:
            mean, var = _compute_stats(x, reduction_axes, dtype=self.dtype, axis_name=self.axis_name,
                                       use_fast_variance=self.use_fast_variance, mask=mask)
            m = self.momentum
            self.mean.value = lax.stop_gradient(m * self.mean.value + (1 - m) * mean)
            self.var.value = lax.stop_gradient(m * self.var.value + (1 - m) * var)
        return _normalize(x, mean, var, scale, bias, reduction_axes, feature_axes, self.dtype, self.epsilon)


class LayerNorm(Module):
    """Normalize over ``reduction_axes`` (default the last) with learned ``scale``/``bias``.

    >>> import ember.nn as nn
    >>> ln = nn.LayerNorm(4, rngs=nn.Rngs(0))
    >>> ln.scale.shape, ln.bias.shape
    ((4,), (4,))
    """

    def __init__(self, num_features: int, *, epsilon: float = 1e-6, dtype: Any = None,
                 param_dtype: Any = jnp.float32, use_bias: bool = True, use_scale: bool = True,
                 bias_init: Callable = initializers.zeros_init(), scale_init: Callable = initializers.ones_init(),
                 reduction_axes: Any = -1, feature_axes: Any = -1, axis_name: Any = None,
                 axis_index_groups: Any = None, use_fast_variance: bool = True,
                 promote_dtype: Callable = promote_dtype, rngs: Rngs,
                 bias_metadata: Mapping[str, Any] = _EMPTY, scale_metadata: Mapping[str, Any] = _EMPTY):
        feature_shape = (num_features,)
        self.scale = Param(scale_init(rngs.params(), feature_shape, param_dtype), **dict(scale_metadata)) \
            if use_scale else None
        self.bias = Param(bias_init(rngs.params(), feature_shape, param_dtype), **dict(bias_metadata)) \
            if use_bias else None
        self.num_features = num_features
        self.epsilon = epsilon
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.use_bias = use_bias
        self.use_scale = use_scale
        self.reduction_axes = reduction_axes
        self.feature_axes = feature_axes
        self.axis_name = axis_name
        self.axis_index_groups = axis_index_groups
        self.use_fast_variance = use_fast_variance
        self.promote_dtype = promote_dtype

    def __call__(self, x: Any, *, mask: Any = None) -> Any:
        scale = self.scale.value if self.scale is not None else None
        bias = self.bias.value if self.bias is not None else None
        x, scale, bias = self.promote_dtype((x, scale, bias), dtype=self.dtype)
        mean, var = _compute_stats(x, self.reduction_axes, self.dtype, self.axis_name,
                                   use_fast_variance=self.use_fast_variance, mask=mask)
        return _normalize(x, mean, var, scale, bias, self.reduction_axes, self.feature_axes, self.dtype, self.epsilon)


class RMSNorm(Module):
    """``x / sqrt(mean(x^2) + epsilon) * scale`` (no mean subtraction, no bias).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> rms = nn.RMSNorm(2, rngs=nn.Rngs(0))
    >>> [round(float(v), 3) for v in rms(jnp.array([3.0, 4.0]))]
    [0.849, 1.131]
    """

    def __init__(self, num_features: int, *, epsilon: float = 1e-6, dtype: Any = None,
                 param_dtype: Any = jnp.float32, use_scale: bool = True,
                 scale_init: Callable = initializers.ones_init(), reduction_axes: Any = -1, feature_axes: Any = -1,
                 axis_name: Any = None, axis_index_groups: Any = None, use_fast_variance: bool = True,
                 promote_dtype: Callable = promote_dtype, rngs: Rngs, scale_metadata: Mapping[str, Any] = _EMPTY):
        feature_shape = (num_features,)
        self.scale = Param(scale_init(rngs.params(), feature_shape, param_dtype), **dict(scale_metadata)) \
            if use_scale else None
        self.num_features = num_features
        self.epsilon = epsilon
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.use_scale = use_scale
        self.reduction_axes = reduction_axes
        self.feature_axes = feature_axes
        self.axis_name = axis_name
        self.axis_index_groups = axis_index_groups
        self.use_fast_variance = use_fast_variance
        self.promote_dtype = promote_dtype

    def __call__(self, x: Any, mask: Any = None) -> Any:
        scale = self.scale.value if self.scale is not None else None
        x, scale = self.promote_dtype((x, scale), dtype=self.dtype)
        mean, var = _compute_stats(x, self.reduction_axes, self.dtype, self.axis_name, use_mean=False,
                                   use_fast_variance=self.use_fast_variance, mask=mask)
        return _normalize(x, mean, var, scale, None, self.reduction_axes, self.feature_axes, self.dtype, self.epsilon)


class GroupNorm(Module):
    """Normalize over groups of channels (and the spatial axes); ``num_groups=1`` is LayerNorm
    over all non-batch axes.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> gn = nn.GroupNorm(6, num_groups=3, rngs=nn.Rngs(0))
    >>> gn(jnp.ones((2, 4, 6))).shape
    (2, 4, 6)
    """

    def __init__(self, num_features: int, num_groups: int | None = 32, group_size: int | None = None, *,
                 epsilon: float = 1e-6, dtype: Any = None, param_dtype: Any = jnp.float32, use_bias: bool = True,
                 use_scale: bool = True, bias_init: Callable = initializers.zeros_init(),
                 scale_init: Callable = initializers.ones_init(), reduction_axes: Any = None, axis_name: Any = None,
                 axis_index_groups: Any = None, use_fast_variance: bool = True,
                 promote_dtype: Callable = promote_dtype, rngs: Rngs,
                 bias_metadata: Mapping[str, Any] = _EMPTY, scale_metadata: Mapping[str, Any] = _EMPTY):
        self.feature_axis = -1
        if (num_groups is None) == (group_size is None):
            raise ValueError("give exactly one of num_groups and group_size (pass num_groups=None to use group_size)")
        if group_size is not None:
            if num_features % group_size:
                raise ValueError(f"number of features ({num_features}) is not a multiple of group_size ({group_size})")
            num_groups = num_features // group_size
        elif not isinstance(num_groups, int) or num_groups <= 0 or num_features % num_groups:
            raise ValueError(f"number of groups ({num_groups}) does not divide the number of features ({num_features})")
        self.num_groups = num_groups
        self.group_size = num_features // num_groups
        feature_shape = (num_features,)
        self.scale = Param(scale_init(rngs.params(), feature_shape, param_dtype), **dict(scale_metadata)) \
            if use_scale else None
        self.bias = Param(bias_init(rngs.params(), feature_shape, param_dtype), **dict(bias_metadata)) \
            if use_bias else None
        self.num_features = num_features
        self.epsilon = epsilon
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.use_bias = use_bias
        self.use_scale = use_scale
        self.reduction_axes = reduction_axes
        self.axis_name = axis_name
        self.axis_index_groups = axis_index_groups
        self.use_fast_variance = use_fast_variance
        self.promote_dtype = promote_dtype

    def __call__(self, x: Any, *, mask: Any = None) -> Any:
        if self.reduction_axes is not None:
            reduction_axes = self.reduction_axes
        else:
            reduction_axes = list(range(1, x.ndim - 1)) + [-1]
        reduction_axes = _canonicalize_axes(x.ndim, reduction_axes)
        group_shape = x.shape[:-1] + (self.num_groups, self.group_size)
        if mask is not None:
            mask = mask.reshape(mask.shape[:-1] + (self.num_groups, self.group_size))
        scale = self.scale.value if self.scale is not None else None
        bias = self.bias.value if self.bias is not None else None
        x, scale, bias = self.promote_dtype((x, scale, bias), dtype=self.dtype)
        mean, var = _compute_stats(x.reshape(group_shape), list(reduction_axes[:-1]) + [-1], self.dtype,
                                   self.axis_name, use_fast_variance=self.use_fast_variance, mask=mask)
        mean = jnp.repeat(mean, self.group_size, axis=1)
        var = jnp.repeat(var, self.group_size, axis=1)
        return _normalize(x, mean, var, scale, bias, reduction_axes[:-1], (self.feature_axis,), self.dtype,
                          self.epsilon)
