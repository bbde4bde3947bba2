"""Dense layers: ``Linear``, ``LinearGeneral``, ``Einsum``, ``Embed``.

Parameter names, shapes and default initializers are Flax NNX's, so weights port both ways:
``Linear.kernel`` is ``(in_features, out_features)`` (lecun_normal), ``Linear.bias`` is
``(out_features,)`` (zeros), ``Embed.embedding`` is ``(num_embeddings, features)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> layer = nn.Linear(3, 4, rngs=nn.Rngs(0))
    >>> layer(jnp.ones((2, 3))).shape
    (2, 4)
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

import numpy as np

import ember.core.numpy as jnp
from ember.core import lax

from ... import initializers
from ..module import Module
from ..rngs import Rngs
from ..variables import Param, VariableMetadata
from .dtypes import promote_dtype

__all__ = ["Linear", "LinearGeneral", "Einsum", "Embed", "default_kernel_init", "default_bias_init",
           "default_embed_init", "canonicalize_padding"]

default_kernel_init = initializers.lecun_normal()
default_bias_init = initializers.zeros_init()
default_embed_init = initializers.variance_scaling(1.0, "fan_in", "normal", out_axis=0)

_EMPTY: Mapping[str, Any] = {}


def _init_reshaped(init: Callable, key: Any, flat_shape: tuple, shape: tuple, dtype: Any) -> Any:
    value = init(key, flat_shape, dtype)
    if isinstance(value, VariableMetadata):
        return value.replace_value(jnp.reshape(value.raw_value, shape))
    return jnp.reshape(value, shape)


def _canonicalize_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, Sequence) else (x,)


def _normalize_axes(axes: tuple, ndim: int) -> tuple:
    return tuple(sorted(ax if ax >= 0 else ndim + ax for ax in axes))


class Linear(Module):
    """``y = x @ kernel + bias`` over the last axis.

    >>> import ember.nn as nn
    >>> layer = nn.Linear(3, 4, rngs=nn.Rngs(0))
    >>> layer.kernel.shape, layer.bias.shape
    ((3, 4), (4,))
    """

    def __init__(self, in_features: int, out_features: int, *, use_bias: bool = True, dtype: Any = None,
                 param_dtype: Any = jnp.float32, precision: Any = None,
                 kernel_init: Callable = default_kernel_init, bias_init: Callable = default_bias_init,
                 dot_general: Callable = lax.dot_general, promote_dtype: Callable = promote_dtype,
                 preferred_element_type: Any = None, rngs: Rngs,
                 kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        self.kernel = Param(kernel_init(rngs.params(), (in_features, out_features), param_dtype),
                            **dict(kernel_metadata))
        self.bias = Param(bias_init(rngs.params(), (out_features,), param_dtype), **dict(bias_metadata)) \
            if use_bias else None
        self.in_features = in_features
        self.out_features = out_features
        self.use_bias = use_bias
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.precision = precision
        self.dot_general = dot_general
        self.promote_dtype = promote_dtype
        self.preferred_element_type = preferred_element_type

    def __call__(self, inputs: Any) -> Any:
        kernel = self.kernel.value
        bias = self.bias.value if self.bias is not None else None
        inputs, kernel, bias = self.promote_dtype((inputs, kernel, bias), dtype=self.dtype)
        kwargs = {} if self.preferred_element_type is None else {"preferred_element_type": self.preferred_element_type}
        y = self.dot_general(inputs, kernel, (((inputs.ndim - 1,), (0,)), ((), ())), precision=self.precision,
                             **kwargs)
        if bias is not None:
            y = y + jnp.reshape(bias, (1,) * (y.ndim - 1) + (-1,))
        return y


class LinearGeneral(Module):
    """A linear map contracting several input axes into several output axes.

    ``kernel`` has shape ``(*batch_shape, *in_features, *out_features)``; ``axis`` names the input
    axes contracted (default the last ``len(in_features)``).

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> layer = nn.LinearGeneral(4, (2, 3), rngs=nn.Rngs(0))      # 4 -> 2 heads x 3
    >>> layer.kernel.shape, layer(jnp.ones((5, 4))).shape
    ((4, 2, 3), (5, 2, 3))
    """

    def __init__(self, in_features: int | Sequence[int], out_features: int | Sequence[int], *,
                 axis: int | Sequence[int] = -1, batch_axis: Mapping[int, int] = _EMPTY, use_bias: bool = True,
                 dtype: Any = None, param_dtype: Any = jnp.float32, kernel_init: Callable = default_kernel_init,
                 bias_init: Callable = default_bias_init, precision: Any = None,
                 promote_dtype: Callable = promote_dtype, dot_general: Callable | None = None,
                 dot_general_cls: Any = None, preferred_element_type: Any = None, rngs: Rngs,
                 kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        self.in_features = _canonicalize_tuple(in_features)
        self.out_features = _canonicalize_tuple(out_features)
        self.axis = _canonicalize_tuple(axis)
        self.batch_axis = tuple(sorted(dict(batch_axis).items()))
        self.use_bias = use_bias
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.precision = precision
        self.dot_general = dot_general
        self.dot_general_cls = dot_general_cls
        self.promote_dtype = promote_dtype
        self.preferred_element_type = preferred_element_type
        if len(self.in_features) != len(self.axis):
            raise ValueError(f"in_features and axis must have the same length, got {self.in_features} and {self.axis}")
        if batch_axis:
            dims = [k for k, _ in self.batch_axis]
            if dims != list(range(max(dims) + 1)):
                raise ValueError(f"batch_axis dims {dims} must be consecutive leading dimensions starting from 0")
        n_batch = len(self.batch_axis)
        batch_shape = tuple(v for _, v in self.batch_axis)
        kernel_shape = (*batch_shape, *self.in_features, *self.out_features)
        flat = (int(np.prod(kernel_shape[:n_batch + len(self.in_features)])), int(np.prod(self.out_features)))
        self.kernel = Param(_init_reshaped(kernel_init, rngs.params(), flat, kernel_shape, param_dtype),
                            **dict(kernel_metadata))
        if use_bias:
            bias_shape = (*batch_shape, *self.out_features)
            self.bias = Param(_init_reshaped(bias_init, rngs.params(), (int(np.prod(bias_shape)),), bias_shape,
                                             param_dtype), **dict(bias_metadata))
        else:
            self.bias = None

    def __call__(self, inputs: Any) -> Any:
        ndim = inputs.ndim
        n_batch = len(self.batch_axis)
        axis = _normalize_axes(self.axis, ndim)
        batch_axis = _normalize_axes(tuple(k for k, _ in self.batch_axis), ndim)
        n_axis = len(axis)
        expanded_batch_shape = tuple(inputs.shape[ax] if ax in batch_axis else 1
                                     for ax in range(ndim) if ax not in axis)
        kernel = self.kernel.value
        bias = self.bias.value if self.bias is not None else None
        batch_ind = tuple(range(n_batch))
        contract_ind = tuple(range(n_batch, n_axis + n_batch))
        inputs, kernel, bias = self.promote_dtype((inputs, kernel, bias), dtype=self.dtype)
        if self.dot_general_cls is not None:
            dot_general = self.dot_general_cls()
        else:
            dot_general = self.dot_general or lax.dot_general
        kwargs = {} if self.preferred_element_type is None else {"preferred_element_type": self.preferred_element_type}
        out = dot_general(inputs, kernel, ((axis, contract_ind), (batch_axis, batch_ind)), precision=self.precision,
                          **kwargs)
        if bias is not None:
            out = out + jnp.reshape(bias, (*expanded_batch_shape, *self.out_features))
        return out


_EINSUM_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Einsum(Module):
    """``y = einsum(einsum_str, x, kernel) + bias`` with a learned ``kernel`` of ``kernel_shape``.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> layer = nn.Einsum("nta,hab->nthb", (8, 2, 4), (8, 4), rngs=nn.Rngs(0))
    >>> layer(jnp.ones((16, 11, 2))).shape
    (16, 11, 8, 4)
    """

    def __init__(self, einsum_str: str | None, kernel_shape: Sequence[int], bias_shape: Sequence[int] | None = None,
                 *, dtype: Any = None, param_dtype: Any = jnp.float32, precision: Any = None,
                 kernel_init: Callable = default_kernel_init, bias_init: Callable = default_bias_init,
                 promote_dtype: Callable = promote_dtype, einsum_op: Callable = jnp.einsum,
                 preferred_element_type: Any = None, rngs: Rngs,
                 kernel_metadata: Mapping[str, Any] = _EMPTY, bias_metadata: Mapping[str, Any] = _EMPTY):
        if einsum_str is not None:
            einsum_str = einsum_str.replace(" ", "")
            self._check(einsum_str)
        self.kernel_shape = tuple(kernel_shape)
        self.bias_shape = tuple(bias_shape) if bias_shape is not None else None
        self.kernel = Param(kernel_init(rngs.params(), self.kernel_shape, param_dtype), **dict(kernel_metadata))
        self.bias = Param(bias_init(rngs.params(), self.bias_shape, param_dtype), **dict(bias_metadata)) \
            if bias_shape is not None else None
        self.einsum_str = einsum_str
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.precision = precision
        self.promote_dtype = promote_dtype
        self.einsum_op = einsum_op
        self.preferred_element_type = preferred_element_type

    @staticmethod
    def _check(einsum_str: str) -> None:
        if "->" not in einsum_str:
            raise ValueError("`einsum_str` equation must be explicit and include '->'")
        if einsum_str.count(",") != 1:
            raise ValueError(f"`einsum_str` equation must have exactly two operands, got {einsum_str!r}")

    def __call__(self, inputs: Any, einsum_str: str | None = None) -> Any:
        if einsum_str is None:
            einsum_str = self.einsum_str
        if einsum_str is None:
            raise ValueError("no einsum_str given to Einsum (constructor or call)")
        einsum_str = einsum_str.replace(" ", "")
        self._check(einsum_str)
        inputs, kernel, bias = self.promote_dtype(
            (inputs, self.kernel.value, self.bias.value if self.bias is not None else None), dtype=self.dtype)
        kwargs = {} if self.preferred_element_type is None else {"preferred_element_type": self.preferred_element_type}
        y = self.einsum_op(einsum_str, inputs, kernel, precision=self.precision, **kwargs)
        if bias is not None:
            y = y + jnp.reshape(bias, self._bias_broadcast_shape(einsum_str, inputs.ndim, kernel.ndim))
        return y

    def _bias_broadcast_shape(self, einsum_str: str, lhs_ndim: int, rhs_ndim: int) -> list[int]:
        lhs, rest = einsum_str.split(",")
        rhs, out = rest.split("->")
        used = set(re.sub(r"\.\.\.", "", einsum_str).replace(",", "").replace("-", "").replace(">", ""))
        free = iter(c for c in _EINSUM_LETTERS if c not in used)
        if "..." in einsum_str:
            n_ell = max(lhs_ndim - len(lhs.replace("...", "")), rhs_ndim - len(rhs.replace("...", "")), 0)
            ell = "".join(next(free) for _ in range(n_ell))
            lhs, rhs, out = (s.replace("...", ell) for s in (lhs, rhs, out))
        rhs_pos = {c: i for i, c in enumerate(rhs)}
        return [self.kernel_shape[rhs_pos[c]] if c in rhs_pos else 1 for c in out]


class Embed(Module):
    """A lookup table: integer ids -> vectors; ``attend(query)`` reuses it as an output layer.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> emb = nn.Embed(10, 4, rngs=nn.Rngs(0))
    >>> emb(jnp.array([1, 2, 3])).shape, emb.attend(jnp.ones((2, 4))).shape
    ((3, 4), (2, 10))
    """

    def __init__(self, num_embeddings: int, features: int, *, dtype: Any = None, param_dtype: Any = jnp.float32,
                 embedding_init: Callable = default_embed_init, promote_dtype: Callable = promote_dtype,
                 rngs: Rngs, embedding_metadata: Mapping[str, Any] = _EMPTY):
        self.embedding = Param(embedding_init(rngs.params(), (num_embeddings, features), param_dtype),
                               **dict(embedding_metadata))
        self.num_embeddings = num_embeddings
        self.features = features
        self.dtype = dtype or self.embedding.value.dtype
        self.param_dtype = param_dtype
        self.promote_dtype = promote_dtype

    def __call__(self, inputs: Any) -> Any:
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            raise ValueError("Embed: input type must be an integer or unsigned integer")
        (embedding,) = self.promote_dtype((self.embedding.value,), dtype=self.dtype, inexact=False)
        if self.num_embeddings == 1:
            return jnp.broadcast_to(embedding, inputs.shape + (self.features,))
        return jnp.take(embedding, inputs, axis=0)

    def attend(self, query: Any) -> Any:
        """``query @ embedding.T``: logits over the vocabulary (tied output projection)."""
        query, embedding = self.promote_dtype((query, self.embedding.value), dtype=self.dtype)
        return jnp.dot(query, embedding.T)


def canonicalize_padding(padding: Any, rank: int) -> Any:
    """Conv padding as a string or a list of ``(low, high)`` pairs."""
    if isinstance(padding, str):
        return padding
    if isinstance(padding, int):
        return [(padding, padding)] * rank
    if isinstance(padding, Sequence) and len(padding) == rank:
        out = []
        for p in padding:
            if isinstance(p, int):
                out.append((p, p))
            elif isinstance(p, (tuple, list)) and len(p) == 2:
                out.append(tuple(p))
            else:
                break
        if len(out) == rank:
            return out
    raise ValueError(f"invalid padding {padding!r}: expected a str, an int, or a sequence of {rank} ints or pairs")
