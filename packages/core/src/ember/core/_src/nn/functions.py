"""Activation functions, softmax, normalisation and attention with the names, defaults and
semantics of ``jax.nn`` (public as ``ember.core.nn``).

Each function compiles to one program when called eagerly and inlines under a transformation.

    >>> import numpy as np
    >>> import ember.core.nn as nn
    >>> nn.relu(np.array([-1.0, 0.0, 2.0], np.float32)).tolist()
    [0.0, 0.0, 2.0]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import dtypes
from ..core import Tracer, get_aval, operator_index
from ..numpy import ufuncs as uf
from ..numpy.util import (
    broadcast_shapes,
    broadcast_to_shape,
    canonicalize_axes,
    canonicalize_axis,
    check_arraylike,
    numpy_jit,
    promote_args_inexact,
    promote_dtypes_inexact,
)
from ..primitives import elementwise as lax
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives.elementwise import stop_gradient
from ..scipy.special import (
    broadcast_where,
    expand_reduced,
    keep_dims,
    logsumexp,
    masked_max,
    masked_sum,
)

__all__ = [
    "celu", "dot_product_attention", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "identity", "leaky_relu", "log1mexp", "log_sigmoid", "log_softmax", "logmeanexp",
    "logsumexp", "mish", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "soft_sign", "softmax",
    "softplus", "sparse_plus", "sparse_sigmoid", "squareplus", "standardize", "swish", "tanh",
]

Axis = int | Sequence[int] | None


def _aval(x: Any) -> Any:
    return get_aval(x)


def _inexact(name: str, x: Any) -> Any:
    (x,) = promote_args_inexact(name, x)
    return x


def _zeros(x: Any) -> Any:
    aval = _aval(x)
    return sh.full(aval.shape, 0, aval.dtype)


def _const(x: Any, value: Any) -> Any:
    aval = _aval(x)
    return sh.full(aval.shape, value, aval.dtype)


def _axis_tuple(axis: Axis) -> Axis:
    return tuple(axis) if isinstance(axis, list) else axis


# ----------------------------------------------------------------------------------------------
# Elementwise activations

@numpy_jit
def identity(x: Any) -> Any:
    """``x`` unchanged.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> nn.identity(jnp.array([1.0, -1.0])).tolist()
    [1.0, -1.0]
    """
    check_arraylike("identity", x)
    return x


@numpy_jit
def relu(x: Any) -> Any:
    """``max(x, 0)``, with derivative 0 at 0 (as ``jax.nn.relu``).

    >>> import numpy as np
    >>> relu(np.float32(-2.0)).item()
    0.0
    """
    check_arraylike("relu", x)
    (x,) = promote_args_inexact("relu", x) if _aval(x).dtype == dtypes.bool_ else (x,)
    # x where x > 0 (NaN propagates), else 0: the select's derivative is 1 for x > 0, 0 elsewhere
    return lax.select(uf.less_equal(x, 0), _zeros(x), x)


@numpy_jit
def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``, with derivative 0 at 0 and at 6.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> nn.relu6(jnp.array([-1.0, 3.0, 9.0])).tolist()
    [0.0, 3.0, 6.0]
    """
    check_arraylike("relu6", x)
    return lax.select(uf.less_equal(x, 0), _zeros(x), lax.select(uf.greater_equal(x, 6), _const(x, 6), x))


@numpy_jit
def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.sigmoid(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['0.2689', '0.5000', '0.7311']
    """
    return lax.logistic(_inexact("sigmoid", x))


@numpy_jit
def softplus(x: Any) -> Any:
    """``log(1 + exp(x))``, computed without overflow.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.softplus(jnp.array([-1.0, 0.0, 100.0])).tolist()]
    ['0.3133', '0.6931', '100.0000']
    """
    return uf.logaddexp(x, 0)


@numpy_jit
def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.log_sigmoid(jnp.array([-100.0, 0.0])).tolist()]
    ['-100.0000', '-0.6931']
    """
    x = _inexact("log_sigmoid", x)
    return lax.neg(softplus(lax.neg(x)))


@numpy_jit
def soft_sign(x: Any) -> Any:
    """``x / (|x| + 1)``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> nn.soft_sign(jnp.array([-1.0, 3.0])).tolist()
    [-0.5, 0.75]
    """
    x = _inexact("soft_sign", x)
    return x / (lax.abs(x) + 1)


@numpy_jit
def silu(x: Any) -> Any:
    """``x * sigmoid(x)`` (also ``swish``).

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.silu(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['-0.2689', '0.0000', '0.7311']
    """
    x = _inexact("silu", x)
    return lax.mul(x, lax.logistic(x))


swish = silu


@numpy_jit
def mish(x: Any) -> Any:
    """``x * tanh(softplus(x))``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.mish(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['-0.3034', '0.0000', '0.8651']
    """
    x = _inexact("mish", x)
    return lax.mul(x, lax.tanh(softplus(x)))


def gelu(x: Any, approximate: bool = True) -> Any:
    """Gaussian error linear unit: ``x * Phi(x)``; ``approximate=True`` (the default, as in JAX)
    uses the tanh approximation.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.gelu(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['-0.1588', '0.0000', '0.8412']
    >>> f"{float(nn.gelu(1.0, approximate=False)):.4f}"   # the exact erf form
    '0.8413'
    """
    return _gelu(x, approximate=bool(approximate))


@numpy_jit(static_argnames=("approximate",))
def _gelu(x: Any, approximate: bool) -> Any:
    x = _inexact("gelu", x)
    dtype = _aval(x).dtype
    if approximate:
        sqrt_2_over_pi = np.array(np.sqrt(2 / np.pi), dtype)
        cdf = 0.5 * (1.0 + lax.tanh(sqrt_2_over_pi * (x + 0.044715 * lax.integer_pow(x, 3))))
        return x * cdf
    sqrt_half = np.array(np.sqrt(0.5), dtype)
    return 0.5 * x * lax.erfc(lax.neg(x) * sqrt_half)


@numpy_jit
def elu(x: Any, alpha: Any = 1.0) -> Any:
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.elu(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['-0.6321', '0.0000', '1.0000']
    """
    x = _inexact("elu", x)
    positive = uf.greater(x, 0)
    return uf.where(positive, x, uf.multiply(alpha, lax.expm1(lax.select(positive, _zeros(x), x))))


@numpy_jit
def celu(x: Any, alpha: Any = 1.0) -> Any:
    """``max(x, 0) + alpha * expm1(min(x, 0) / alpha)``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.celu(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['-0.6321', '0.0000', '1.0000']
    """
    x = _inexact("celu", x)
    return uf.add(uf.maximum(x, 0.0), uf.multiply(alpha, uf.expm1(uf.divide(uf.minimum(x, 0.0), alpha))))


@numpy_jit
def selu(x: Any) -> Any:
    """Scaled ELU with the self-normalising constants.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.selu(jnp.array([-1.0, 1.0])).tolist()]
    ['-1.1113', '1.0507']
    """
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return uf.multiply(scale, elu(x, alpha))


@numpy_jit
def leaky_relu(x: Any, negative_slope: Any = 1e-2) -> Any:
    """``x`` for x >= 0, ``negative_slope * x`` otherwise.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.leaky_relu(jnp.array([-1.0, 2.0])).tolist()]
    ['-0.0100', '2.0000']
    >>> [f"{v:.4f}" for v in nn.leaky_relu(jnp.array([-1.0]), negative_slope=0.2).tolist()]
    ['-0.2000']
    """
    x = _inexact("leaky_relu", x) if _aval(x).dtype.kind not in "fc" else x
    return uf.where(uf.greater_equal(x, 0), x, uf.multiply(negative_slope, x))


@numpy_jit
def hard_tanh(x: Any) -> Any:
    """``x`` clipped to [-1, 1].

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.hard_tanh(jnp.array([-2.0, 0.5, 2.0])).tolist()]
    ['-1.0000', '0.5000', '1.0000']
    """
    check_arraylike("hard_tanh", x)
    return uf.where(uf.greater(x, 1), _const(x, 1), uf.where(uf.less(x, -1), _const(x, -1), x))


@numpy_jit
def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.hard_sigmoid(jnp.array([-4.0, 0.0, 4.0])).tolist()]
    ['0.0000', '0.5000', '1.0000']
    """
    return uf.divide(relu6(uf.add(x, 3.0)), 6.0)


@numpy_jit
def hard_silu(x: Any) -> Any:
    """``x * hard_sigmoid(x)`` (also ``hard_swish``).

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.hard_silu(jnp.array([-1.0, 1.0, 4.0])).tolist()]
    ['-0.3333', '0.6667', '4.0000']
    """
    check_arraylike("hard_silu", x)
    return uf.multiply(x, hard_sigmoid(x))


hard_swish = hard_silu


@numpy_jit
def sparse_plus(x: Any) -> Any:
    """0 for x <= -1, ``(x + 1)**2 / 4`` on (-1, 1), ``x`` for x >= 1.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> nn.sparse_plus(jnp.array([-2.0, 0.0, 2.0])).tolist()
    [0.0, 0.25, 2.0]
    """
    x = _inexact("sparse_plus", x)
    return uf.where(uf.less_equal(x, -1.0), _zeros(x),
                    uf.where(uf.greater_equal(x, 1.0), x, lax.integer_pow(x + 1.0, 2) / 4))


@numpy_jit
def sparse_sigmoid(x: Any) -> Any:
    """``0.5 * clip(x + 1, 0, 2)``, the derivative of ``sparse_plus``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> nn.sparse_sigmoid(jnp.array([-2.0, 0.0, 2.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    x = _inexact("sparse_sigmoid", x)
    return 0.5 * uf.clip(x + 1.0, 0.0, 2.0)


@numpy_jit
def squareplus(x: Any, b: Any = 4) -> Any:
    """``(x + sqrt(x**2 + b)) / 2``.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> nn.squareplus(jnp.array([0.0])).tolist()
    [1.0]
    """
    x, b = promote_args_inexact("squareplus", x, b)
    return (x + lax.sqrt(lax.mul(x, x) + b)) / 2


@numpy_jit
def log1mexp(x: Any) -> Any:
    """``log(1 - exp(-x))`` for x > 0, accurate for small and large x.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> f"{float(nn.log1mexp(1.0)):.4f}"   # log(1 - exp(-x))
    '-0.4587'
    """
    x = _inexact("log1mexp", x)
    return uf.where(uf.less(x, math.log(2.0)), lax.log(lax.neg(lax.expm1(lax.neg(x)))),
                    lax.log1p(lax.neg(lax.exp(lax.neg(x)))))


@numpy_jit
def tanh(x: Any) -> Any:
    """The hyperbolic tangent.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.tanh(jnp.array([-1.0, 0.0, 1.0])).tolist()]
    ['-0.7616', '0.0000', '0.7616']
    """
    return lax.tanh(_inexact("tanh", x))


def glu(x: Any, axis: int = -1) -> Any:
    """Gated linear unit: the first half of ``x`` along ``axis`` times the sigmoid of the second.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> nn.glu(jnp.array([1.0, 2.0, 0.0, 100.0])).tolist()   # first half * sigmoid(second half)
    [0.5, 2.0]
    """
    return _glu(x, axis=operator_index(axis))


@numpy_jit(static_argnames=("axis",))
def _glu(x: Any, axis: int) -> Any:
    check_arraylike("glu", x)
    aval = _aval(x)
    axis = canonicalize_axis(axis, aval.ndim)
    size = aval.shape[axis]
    if size % 2:
        raise ValueError(f"glu: the size of axis {axis} must be divisible by 2, got {size}")
    x1 = sh.slice_in_dim(x, 0, size // 2, axis=axis)
    x2 = sh.slice_in_dim(x, size // 2, size, axis=axis)
    return uf.multiply(x1, sigmoid(x2))


# ----------------------------------------------------------------------------------------------
# Softmax family

def softmax(x: Any, axis: Axis = -1, where: Any = None) -> Any:
    """``exp(x) / sum(exp(x), axis)``; masked-out entries (``where`` False) are 0.

    >>> import numpy as np
    >>> softmax(np.zeros(4, np.float32)).tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    return _softmax(x, where, axis=_axis_tuple(axis))


@numpy_jit(static_argnames=("axis",))
def _softmax(x: Any, where: Any, axis: Axis) -> Any:
    x = _inexact("softmax", x)
    shape = _aval(x).shape
    dims = canonicalize_axes(axis, len(shape))
    where = broadcast_where("softmax", where, shape)
    x_max = _shift(x, dims, where)
    x_safe = x if where is None else lax.select(where, x, _const(x, -np.inf))
    unnormalized = lax.exp(lax.sub(x_safe, expand_reduced(x_max, shape, dims)))
    total = masked_sum(unnormalized, dims, where)
    result = lax.div(unnormalized, expand_reduced(total, shape, dims))
    if where is not None:
        result = lax.select(where, result, _zeros(result))
    return result


def _shift(x: Any, dims: tuple[int, ...], where: Any) -> Any:
    """The max over ``dims``, with no derivative (softmax does not change when it shifts). Under a
    mask, an all-masked slice shifts by 0 instead of -inf."""
    x_max = masked_max(x, dims, where)
    if where is not None:
        x_max = lax.select(lax.is_finite(x_max), x_max, _zeros(x_max))
    return stop_gradient(x_max)


def log_softmax(x: Any, axis: Axis = -1, where: Any = None) -> Any:
    """``x - logsumexp(x, axis)``; masked-out entries (``where`` False) are -inf.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.log_softmax(jnp.array([0.0, 0.0])).tolist()]
    ['-0.6931', '-0.6931']
    """
    return _log_softmax(x, where, axis=_axis_tuple(axis))


@numpy_jit(static_argnames=("axis",))
def _log_softmax(x: Any, where: Any, axis: Axis) -> Any:
    x = _inexact("log_softmax", x)
    shape = _aval(x).shape
    dims = canonicalize_axes(axis, len(shape))
    where = broadcast_where("log_softmax", where, shape)
    x_max = _shift(x, dims, where)
    x_safe = x if where is None else lax.select(where, x, _const(x, -np.inf))
    shifted = lax.sub(x_safe, expand_reduced(x_max, shape, dims))
    shifted_lse = lax.log(masked_sum(lax.exp(shifted), dims, where))
    result = lax.sub(shifted, expand_reduced(shifted_lse, shape, dims))
    if where is not None:
        result = lax.select(where, result, _const(result, -np.inf))
    return result


def logmeanexp(x: Any, axis: Axis = None, where: Any = None, keepdims: bool = False) -> Any:
    """``logsumexp(x, axis) - log(n)`` with ``n`` the number of (unmasked) entries reduced.

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> f"{float(nn.logmeanexp(jnp.array([1.0, 1.0, 1.0]))):.4f}"
    '1.0000'
    """
    return _logmeanexp(x, where, axis=_axis_tuple(axis), keepdims=bool(keepdims))


@numpy_jit(static_argnames=("axis", "keepdims"))
def _logmeanexp(x: Any, where: Any, axis: Axis, keepdims: bool) -> Any:
    x = _inexact("logmeanexp", x)
    shape = _aval(x).shape
    dims = canonicalize_axes(axis, len(shape))
    lse = logsumexp(x, axis=dims, where=where, keepdims=keepdims)
    where_b = broadcast_where("logmeanexp", where, shape)
    if where_b is None:
        count = np.array(math.prod(shape[d] for d in dims), _aval(lse).dtype)
        return uf.subtract(lse, np.log(count))
    count = red.reduce_sum(lax.convert_element_type(where_b, _aval(lse).dtype), dims)
    if keepdims:
        count = keep_dims(count, shape, dims)
    return lax.sub(lse, lax.log(count))


# ----------------------------------------------------------------------------------------------
# one_hot and standardize

def one_hot(x: Any, num_classes: int, *, dtype: Any = None, axis: int = -1) -> Any:
    """Encode integer indices as one-hot vectors of length ``num_classes`` along ``axis``; indices
    outside ``[0, num_classes)`` give all zeros.

    >>> import numpy as np
    >>> one_hot(np.array([0, 2]), 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if isinstance(num_classes, Tracer):
        from ..core import ConcretizationError
        raise ConcretizationError(num_classes, "the num_classes argument of nn.one_hot")
    if not isinstance(axis, (int, np.integer)):
        raise NotImplementedError("nn.one_hot with a named (vmap) axis")
    dtype = dtypes.canonicalize_dtype(dtypes.default_float_dtype() if dtype is None else dtype)
    return _one_hot(x, num_classes=operator_index(num_classes), dtype=dtype, axis=int(axis))


@numpy_jit(static_argnames=("num_classes", "dtype", "axis"))
def _one_hot(x: Any, num_classes: int, dtype: np.dtype, axis: int) -> Any:
    check_arraylike("one_hot", x)
    aval = _aval(x)
    out_axis = canonicalize_axis(axis, aval.ndim + 1)
    out_shape = list(aval.shape)
    out_shape.insert(out_axis, num_classes)
    out_shape = tuple(out_shape)
    kept = tuple(d for d in range(len(out_shape)) if d != out_axis)
    lhs = sh.broadcast_in_dim(x, out_shape, kept)
    rhs = sh.broadcasted_iota(aval.dtype, out_shape, out_axis)
    return lax.convert_element_type(lax.eq(lhs, rhs), dtype)


def standardize(x: Any, axis: Axis = -1, mean: Any = None, variance: Any = None, epsilon: Any = 1e-5,
                where: Any = None, *, algorithm: str = "fast") -> Any:
    """``(x - mean) / sqrt(variance + epsilon)`` over ``axis``; the mean and variance are computed
    when not given (``algorithm='fast'``: E[x^2] - E[x]^2 clipped at 0; ``'stable'``: two passes).

    >>> import ember.core.nn as nn, ember.core.numpy as jnp
    >>> [f"{v:.4f}" for v in nn.standardize(jnp.array([1.0, 2.0, 3.0])).tolist()]   # mean 0, variance 1
    ['-1.2247', '0.0000', '1.2247']
    """
    if algorithm not in ("fast", "stable"):
        raise ValueError(f"Unknown algorithm '{algorithm}'. Expected 'fast' or 'stable'.")
    return _standardize(x, mean, variance, epsilon, where, axis=_axis_tuple(axis), algorithm=algorithm)


@numpy_jit(static_argnames=("axis", "algorithm"))
def _standardize(x: Any, mean: Any, variance: Any, epsilon: Any, where: Any, axis: Axis, algorithm: str) -> Any:
    check_arraylike("standardize", x)
    x = _inexact("standardize", x)
    shape = _aval(x).shape
    dims = canonicalize_axes(axis, len(shape))
    where = broadcast_where("standardize", where, shape)
    if where is None:
        count: Any = np.array(math.prod(shape[d] for d in dims), _aval(x).dtype)
    else:
        count = keep_dims(red.reduce_sum(lax.convert_element_type(where, _aval(x).dtype), dims), shape, dims)

    def masked_mean(v: Any) -> Any:
        return uf.divide(keep_dims(masked_sum(v, dims, where), shape, dims), count)

    if mean is None:
        mean = masked_mean(x)
    if variance is None:
        if algorithm == "stable":
            centered = uf.subtract(x, mean)
            variance = masked_mean(uf.multiply(centered, centered))
        else:
            variance = uf.maximum(uf.subtract(masked_mean(uf.multiply(x, x)), uf.multiply(mean, mean)), 0)
    return uf.multiply(uf.subtract(x, mean), _rsqrt(uf.add(variance, epsilon)))


def _rsqrt(x: Any) -> Any:
    (x,) = promote_dtypes_inexact(x)
    return lax.rsqrt(x)


# ----------------------------------------------------------------------------------------------
# Attention

def _large_negative(dtype: np.dtype) -> float:
    return -0.7 * min(float(dtypes.finfo(dtype).max), float(np.finfo(np.float32).max))


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None, *,
                          scale: float | None = None, is_causal: bool = False,
                          query_seq_lengths: Any = None, key_value_seq_lengths: Any = None,
                          local_window_size: int | tuple[int, int] | None = None,
                          implementation: str | None = None, return_residual: bool = False) -> Any:
    """Scaled dot-product attention, ``softmax(Q K^T * scale + bias) V`` per head (the XLA
    implementation of ``jax.nn.dot_product_attention``).

    Shapes: ``query`` ``(B, T, N, H)``, ``key``/``value`` ``(B, S, K, H)`` with ``N`` a multiple of
    ``K`` (grouped-query attention), or the same without the batch dimension. ``bias`` and ``mask``
    broadcast to ``(B, N, T, S)``; ``mask`` is boolean, True where attention is allowed. The
    logits are computed in at least float32 and the softmax in float32.

    >>> import numpy as np
    >>> q = np.ones((1, 3, 2, 4), np.float32)
    >>> dot_product_attention(q, q, q).shape
    (1, 3, 2, 4)
    """
    if implementation not in (None, "xla"):
        raise ValueError(f"Unsupported implementation option: {implementation} (ember implements 'xla')")
    if isinstance(local_window_size, int):
        local_window_size = (local_window_size, local_window_size)
    elif local_window_size is not None:
        local_window_size = tuple(int(w) for w in local_window_size)
    return _attention(query, key, value, bias, mask, query_seq_lengths, key_value_seq_lengths,
                      scale=None if scale is None else float(scale), is_causal=bool(is_causal),
                      local_window_size=local_window_size, return_residual=bool(return_residual))


def _to_4d(x: Any) -> Any:
    aval = _aval(x)
    if aval.ndim < 4:
        return sh.reshape(x, (1,) * (4 - aval.ndim) + aval.shape)
    return x


@numpy_jit(static_argnames=("scale", "is_causal", "local_window_size", "return_residual"))
def _attention(query: Any, key: Any, value: Any, bias: Any, mask: Any, q_seqlen: Any, kv_seqlen: Any,
               scale: float | None, is_causal: bool, local_window_size: tuple[int, int] | None,
               return_residual: bool) -> Any:
    check_arraylike("dot_product_attention", query, key, value)
    out_shape = _aval(query).shape
    query, key, value = _to_4d(query), _to_4d(key), _to_4d(value)
    B, S, K, H = _aval(key).shape
    _, T, N, _ = _aval(query).shape
    if _aval(value).shape != (B, S, K, H) or _aval(value).dtype != _aval(key).dtype:
        raise ValueError(f"value shape/dtype should be {(B, S, K, H)} {_aval(key).dtype}, got "
                         f"{_aval(value).shape} {_aval(value).dtype}")
    if _aval(query).shape[0] != B or _aval(query).shape[3] != H or _aval(query).dtype != _aval(key).dtype:
        raise ValueError(f"query should have shape (B={B}, T, N, H={H}) and dtype {_aval(key).dtype}, got "
                         f"{_aval(query).shape} {_aval(query).dtype}")
    if N % K:
        raise ValueError(f"The number of query heads must be a multiple of key/value heads, but got {N} vs {K}")
    G = N // K
    scale_val = 1.0 / math.sqrt(H) if scale is None else scale
    from ..primitives.dot import dot_general

    logits_dtype = dtypes.promote_types(_aval(query).dtype, np.float32)
    q5 = sh.reshape(query, (B, T, K, G, H))
    # logits[b, k, t, g, s] = sum_h q[b, t, k, g, h] * key[b, s, k, h]
    logits = dot_general(q5, key, (((4,), (3,)), ((0, 2), (0, 2))), preferred_element_type=logits_dtype)
    logits = sh.reshape(sh.transpose(logits, (0, 1, 3, 2, 4)), (B, N, T, S))
    logits = lax.mul(logits, np.array(scale_val, logits_dtype))
    if bias is not None:
        bias = _to_4d(bias)
        logits = lax.convert_element_type(uf.add(logits, bias), logits_dtype)
    masks = []
    if mask is not None:
        mask = _to_4d(mask)
        if _aval(mask).dtype != dtypes.bool_:
            raise ValueError(f"mask dtype should be bool, but got {_aval(mask).dtype}")
        masks.append(mask)
    t_pos = sh.broadcasted_iota(np.int32, (T, S), 0)
    s_pos = sh.broadcasted_iota(np.int32, (T, S), 1)
    if is_causal:  # tril(ones((T, S)))
        masks.append(sh.reshape(uf.greater_equal(t_pos, s_pos), (1, 1, T, S)))
    if local_window_size is not None:
        left, right = local_window_size
        window = uf.logical_and(uf.less_equal(t_pos, s_pos + left), uf.greater_equal(t_pos, s_pos - right))
        masks.append(sh.reshape(window, (1, 1, T, S)))
    if q_seqlen is not None:
        q_ok = uf.less(sh.broadcasted_iota(np.int32, (B, T), 1), sh.broadcast_in_dim(q_seqlen, (B, T), (0,)))
        masks.append(sh.broadcast_in_dim(q_ok, (B, 1, T, S), (0, 2)))
    if kv_seqlen is not None:
        kv_ok = uf.less(sh.broadcasted_iota(np.int32, (B, S), 1), sh.broadcast_in_dim(kv_seqlen, (B, S), (0,)))
        masks.append(sh.broadcast_in_dim(kv_ok, (B, 1, T, S), (0, 3)))
    if masks:
        combined = masks[0]
        for m in masks[1:]:
            combined = uf.logical_and(combined, m)
        combined = broadcast_to_shape(combined, broadcast_shapes(_aval(combined).shape, (B, N, T, S)))
        logits = uf.where(combined, logits, np.array(_large_negative(logits_dtype), logits_dtype))
    padded = lax.convert_element_type(logits, np.float32)  # the softmax runs in float32, as in JAX
    probs = lax.convert_element_type(softmax(padded, axis=-1), _aval(key).dtype)
    # encoded[b, k, g, t, h] = sum_s probs[b, k, g, t, s] * value[b, s, k, h]
    probs5 = sh.reshape(probs, (B, K, G, T, S))
    encoded = dot_general(probs5, value, (((4,), (1,)), ((0, 1), (0, 2))))
    encoded = sh.reshape(sh.transpose(encoded, (0, 3, 1, 2, 4)), (B, T, N, H))
    if q_seqlen is not None:
        q_ok = uf.less(sh.broadcasted_iota(np.int32, (B, T), 1), sh.broadcast_in_dim(q_seqlen, (B, T), (0,)))
        encoded = uf.multiply(encoded, lax.convert_element_type(sh.reshape(q_ok, (B, T, 1, 1)), _aval(encoded).dtype))
    encoded = sh.reshape(encoded, out_shape)
    if return_residual:
        lse = lax.convert_element_type(logsumexp(padded, axis=-1), _aval(key).dtype)  # (B, N, T)
        lse = stop_gradient(sh.transpose(lse, (0, 2, 1)))
        return encoded, sh.reshape(lse, out_shape[:-1])
    return encoded
