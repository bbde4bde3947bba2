"""Attention: ``dot_product_attention_weights``, ``dot_product_attention``, ``MultiHeadAttention``
(masks, causal, grouped-query heads, dropout, decode mode with a KV cache), mask helpers.

Shapes follow Flax: ``query`` ``(batch..., q_len, heads, head_dim)``, ``key``/``value``
``(batch..., kv_len, kv_heads, head_dim)``, masks ``(batch..., heads, q_len, kv_len)`` with True
where attention is allowed. ``MultiHeadAttention``'s projections are ``LinearGeneral`` modules
named ``query``, ``key``, ``value``, ``out`` with Flax NNX's shapes.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> mha = nn.MultiHeadAttention(num_heads=2, in_features=8, rngs=nn.Rngs(0), decode=False)
    >>> mha.query.kernel.shape, mha.out.kernel.shape
    ((8, 2, 4), (2, 4, 8))
    >>> mha(jnp.ones((3, 5, 8)), mask=nn.make_causal_mask(jnp.ones((3, 5)))).shape
    (3, 5, 8)
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax, random

from ... import initializers
from ..module import Module, first_from
from ..rngs import Rngs, RngStream
from ..variables import Cache, Intermediate
from .dtypes import promote_dtype
from .linear import _EMPTY, LinearGeneral, default_kernel_init
from .normalization import LayerNorm

__all__ = ["dot_product_attention_weights", "dot_product_attention", "MultiHeadAttention", "make_attention_mask",
           "make_causal_mask", "combine_masks"]


def _check_qkv(query: Any, key: Any, value: Any | None = None) -> None:
    arrays = (query, key) if value is None else (query, key, value)
    if not all(a.ndim == arrays[0].ndim for a in arrays[1:]):
        raise ValueError(f"q, k{', v' if value is not None else ''} must have the same rank, "
                         f"got {[a.ndim for a in arrays]}")
    if not all(a.shape[:-3] == arrays[0].shape[:-3] for a in arrays[1:]):
        raise ValueError(f"q, k{', v' if value is not None else ''} batch dims must match, "
                         f"got {[a.shape for a in arrays]}")


def dot_product_attention_weights(query: Any, key: Any, bias: Any = None, mask: Any = None,
                                  broadcast_dropout: bool = True, dropout_rng: Any = None, dropout_rate: float = 0.0,
                                  deterministic: bool = False, dtype: Any = None, precision: Any = None,
                                  module: Module | None = None, promote_dtype: Callable = promote_dtype,
                                  is_causal: bool = False) -> Any:
    """``softmax(q k^T / sqrt(depth) + bias, masked)``: shape ``(batch..., heads, q_len, kv_len)``.

    With ``module`` given, the weights are recorded with ``module.sow(nn.Intermediate,
    'attention_weights', ...)``.
    """
    query, key = promote_dtype((query, key), dtype=dtype)
    dtype = query.dtype
    _check_qkv(query, key)
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"q, k depths must match, got {query.shape[-1]} and {key.shape[-1]}")
    gqa = query.shape[-2] != key.shape[-2]
    q_heads = query.shape[-2]
    if gqa:
        k_heads = key.shape[-2]
        if q_heads % k_heads:
            raise ValueError(f"query heads ({q_heads}) must be a multiple of key heads ({k_heads})")
        query = query.reshape(query.shape[:-2] + (k_heads, q_heads // k_heads, query.shape[-1]))
        spec = "...qhgd,...khd->...hgqk"
    else:
        spec = "...qhd,...khd->...hqk"
    query = query / jnp.sqrt(query.shape[-1]).astype(dtype)
    weights = jnp.einsum(spec, query, key, precision=precision)
    if gqa:
        weights = weights.reshape(weights.shape[:-4] + (q_heads,) + weights.shape[-2:])
    if bias is not None:
        weights = weights + bias
    if mask is not None or is_causal:
        masks = [mask] if mask is not None else []
        if is_causal:
            t, s = weights.shape[-2:]
            causal = jnp.tril(jnp.ones((t, s), dtype=dtype))
            masks.append(jnp.broadcast_to(causal, mask.shape if mask is not None else weights.shape))
        combined = combine_masks(*masks, dtype=dtype)
        weights = jnp.where(combined, weights, jnp.finfo(dtype).min)
    weights = ec.nn.softmax(weights).astype(dtype)
    if module is not None:
        module.sow(Intermediate, "attention_weights", weights)
    if not deterministic and dropout_rate > 0.0:
        keep = 1.0 - dropout_rate
        base_ndim = key.ndim
        if broadcast_dropout:
            shape = (1,) * (base_ndim - 2) + weights.shape[-2:]
        else:
            shape = weights.shape
        keep_mask = random.bernoulli(dropout_rng, keep, shape)
        weights = weights * (keep_mask.astype(dtype) / jnp.asarray(keep, dtype=dtype))
    return weights


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          broadcast_dropout: bool = True, dropout_rng: Any = None, dropout_rate: float = 0.0,
                          deterministic: bool = False, dtype: Any = None, precision: Any = None,
                          module: Module | None = None, promote_dtype: Callable = promote_dtype,
                          is_causal: bool = False) -> Any:
    """Attention output ``weights @ value``: shape ``(batch..., q_len, heads, head_dim)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> q = jnp.ones((2, 3, 4, 8))
    >>> nn.dot_product_attention(q, q, q, is_causal=True).shape
    (2, 3, 4, 8)
    """
    query, key, value = promote_dtype((query, key, value), dtype=dtype)
    dtype = query.dtype
    _check_qkv(query, key, value)
    if key.shape[-3] != value.shape[-3]:
        raise ValueError("key and value lengths must match")
    weights = dot_product_attention_weights(query, key, bias, mask, broadcast_dropout, dropout_rng, dropout_rate,
                                            deterministic, dtype, precision, module, promote_dtype, is_causal)
    if query.shape[-2] != value.shape[-2]:
        q_heads, k_heads = query.shape[-2], value.shape[-2]
        w = weights.reshape(weights.shape[:-3] + (k_heads, q_heads // k_heads) + weights.shape[-2:])
        out = jnp.einsum("...hgqk,...khd->...qhgd", w, value, precision=precision)
        return out.reshape(out.shape[:-3] + (q_heads, out.shape[-1]))
    return jnp.einsum("...hqk,...khd->...qhd", weights, value, precision=precision)


class MultiHeadAttention(Module):
    """Multi-head (and grouped-query) attention with ``query``/``key``/``value``/``out`` projections.

    ``decode=True`` enables the autoregressive cache (call ``init_cache(input_shape)`` first, then
    feed one token at a time): ``cached_key``, ``cached_value`` and ``cache_index`` are ``Cache``
    Variables, updated in place (also under ``nn.jit``).
    """

    def __init__(self, num_heads: int, in_features: int, qkv_features: int | None = None,
                 out_features: int | None = None, num_kv_heads: int | None = None,
                 in_kv_features: int | None = None, *, dtype: Any = None, param_dtype: Any = jnp.float32,
                 broadcast_dropout: bool = True, dropout_rate: float = 0.0, deterministic: bool | None = None,
                 precision: Any = None, kernel_init: Callable = default_kernel_init,
                 out_kernel_init: Callable | None = None, bias_init: Callable = initializers.zeros_init(),
                 out_bias_init: Callable | None = None, use_bias: bool = True,
                 attention_fn: Callable = dot_product_attention, decode: bool | None = None,
                 normalize_qk: bool = False, qkv_promote_dtype: Callable = promote_dtype,
                 out_promote_dtype: Callable = promote_dtype, ln_promote_dtype: Callable = promote_dtype,
                 qkv_dot_general: Callable | None = None, out_dot_general: Callable | None = None,
                 qkv_dot_general_cls: Any = None, out_dot_general_cls: Any = None, rngs: Rngs, keep_rngs: bool = True,
                 kernel_metadata: Mapping[str, Any] = _EMPTY, out_kernel_metadata: Mapping[str, Any] = _EMPTY,
                 bias_metadata: Mapping[str, Any] = _EMPTY, out_bias_metadata: Mapping[str, Any] = _EMPTY,
                 query_ln_scale_metadata: Mapping[str, Any] = _EMPTY,
                 key_ln_scale_metadata: Mapping[str, Any] = _EMPTY):
        self.num_heads = num_heads
        self.in_features = in_features
        self.qkv_features = qkv_features if qkv_features is not None else in_features
        self.out_features = out_features if out_features is not None else in_features
        self.in_kv_features = in_kv_features if in_kv_features is not None else in_features
        self.num_kv_heads = num_kv_heads if num_kv_heads is not None else num_heads
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_heads ({num_heads}) must be divisible by num_kv_heads ({self.num_kv_heads})")
        if self.qkv_features % num_heads:
            raise ValueError(f"qkv_features ({self.qkv_features}) must be divisible by num_heads ({num_heads})")
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.broadcast_dropout = broadcast_dropout
        self.dropout_rate = dropout_rate
        self.deterministic = deterministic
        self.precision = precision
        self.use_bias = use_bias
        self.attention_fn = attention_fn
        self.decode = decode
        self.normalize_qk = normalize_qk
        self.head_dim = self.qkv_features // num_heads
        linear = functools.partial(LinearGeneral, dtype=dtype, param_dtype=param_dtype, kernel_init=kernel_init,
                                   bias_init=bias_init, use_bias=use_bias, precision=precision,
                                   promote_dtype=qkv_promote_dtype, dot_general=qkv_dot_general,
                                   dot_general_cls=qkv_dot_general_cls, kernel_metadata=kernel_metadata,
                                   bias_metadata=bias_metadata)
        self.query = linear(self.in_features, out_features=(num_heads, self.head_dim), rngs=rngs)
        self.key = linear(self.in_kv_features, out_features=(self.num_kv_heads, self.head_dim), rngs=rngs)
        self.value = linear(self.in_kv_features, out_features=(self.num_kv_heads, self.head_dim), rngs=rngs)
        if normalize_qk:
            self.query_ln = LayerNorm(self.head_dim, use_bias=False, dtype=dtype, param_dtype=param_dtype,
                                      promote_dtype=ln_promote_dtype, rngs=rngs, scale_metadata=query_ln_scale_metadata)
            self.key_ln = LayerNorm(self.head_dim, use_bias=False, dtype=dtype, param_dtype=param_dtype,
                                    promote_dtype=ln_promote_dtype, rngs=rngs, scale_metadata=key_ln_scale_metadata)
        else:
            self.query_ln = None
            self.key_ln = None
        self.out = LinearGeneral(in_features=(num_heads, self.head_dim), out_features=self.out_features,
                                 axis=(-2, -1), kernel_init=out_kernel_init or kernel_init,
                                 bias_init=out_bias_init or bias_init, use_bias=use_bias, dtype=dtype,
                                 param_dtype=param_dtype, precision=precision, promote_dtype=out_promote_dtype,
                                 dot_general=out_dot_general, dot_general_cls=out_dot_general_cls, rngs=rngs,
                                 kernel_metadata=out_kernel_metadata or kernel_metadata,
                                 bias_metadata=out_bias_metadata or bias_metadata)
        self.rngs = rngs.dropout.fork() if keep_rngs and dropout_rate > 0 else None
        self.cached_key = None
        self.cached_value = None
        self.cache_index = None

    def __call__(self, inputs_q: Any, inputs_k: Any = None, inputs_v: Any = None, *, mask: Any = None,
                 deterministic: bool | None = None, rngs: Rngs | RngStream | None = None, sow_weights: bool = False,
                 decode: bool | None = None, is_causal: bool = False) -> Any:
        if rngs is None:
            rngs = self.rngs
        elif isinstance(rngs, Rngs):
            rngs = rngs.dropout
        if inputs_k is None:
            if inputs_v is not None:
                raise ValueError("inputs_k cannot be None when inputs_v is given")
            inputs_k = inputs_q
        if inputs_v is None:
            inputs_v = inputs_k
        if inputs_q.shape[-1] != self.in_features:
            raise ValueError(f"incompatible input dimension: got {inputs_q.shape[-1]}, "
                             f"the module expects {self.in_features}")
        query = self.query(inputs_q)
        key = self.key(inputs_k)
        value = self.value(inputs_v)
        if self.normalize_qk:
            query = self.query_ln(query)
            key = self.key_ln(key)
        decode = first_from(decode, self.decode, False, error_msg="")
        if decode:
            if self.cached_key is None or self.cached_value is None or self.cache_index is None:
                raise ValueError("autoregressive cache not initialized: call init_cache(input_shape) first")
            *batch_dims, max_length, num_kv_heads, depth = self.cached_key.value.shape
            expected = tuple(batch_dims) + (1, num_kv_heads, depth)
            if expected != tuple(key.shape):
                raise ValueError(f"autoregressive cache shape error: expected key shape {expected}, got {key.shape}")
            cur = self.cache_index.value
            zero = jnp.array(0, dtype=cur.dtype)
            indices = (zero,) * len(batch_dims) + (cur, zero, zero)
            key = lax.dynamic_update_slice(self.cached_key.value, key, indices)
            value = lax.dynamic_update_slice(self.cached_value.value, value, indices)
            self.cached_key.value = key
            self.cached_value.value = value
            self.cache_index.value = cur + 1
            mask = combine_masks(mask, jnp.broadcast_to(jnp.arange(max_length) <= cur,
                                                        tuple(batch_dims) + (1, 1, max_length)))
        if self.dropout_rate > 0.0:
            deterministic = first_from(deterministic, self.deterministic,
                                       error_msg="no deterministic flag given to MultiHeadAttention")
            if not deterministic:
                if rngs is None:
                    raise ValueError("MultiHeadAttention needs rngs for dropout (keep_rngs=False: pass rngs=)")
                dropout_rng = rngs()
            else:
                dropout_rng = None
        else:
            deterministic = True
            dropout_rng = None
        x = self.attention_fn(query, key, value, mask=mask, dropout_rng=dropout_rng, dropout_rate=self.dropout_rate,
                              broadcast_dropout=self.broadcast_dropout, deterministic=deterministic, dtype=self.dtype,
                              precision=self.precision, module=self if sow_weights else None, is_causal=is_causal)
        return self.out(x)

    def init_cache(self, input_shape: tuple[int, ...], dtype: Any = jnp.float32) -> None:
        """Create the decode cache for inputs of shape ``(batch..., max_length, features)``."""
        shape = (*input_shape[:-1], self.num_kv_heads, self.head_dim)
        self.cached_key = Cache(jnp.zeros(shape, dtype))
        self.cached_value = Cache(jnp.zeros(shape, dtype))
        self.cache_index = Cache(jnp.array(0, dtype=jnp.int32))


def make_attention_mask(query_input: Any, key_input: Any, pairwise_fn: Callable = jnp.multiply,
                        extra_batch_dims: int = 0, dtype: Any = jnp.float32) -> Any:
    """``pairwise_fn(q[..., :, None], k[..., None, :])`` with a heads axis: ``(batch..., 1, q, k)``."""
    mask = pairwise_fn(jnp.expand_dims(query_input, axis=-1), jnp.expand_dims(key_input, axis=-2))
    mask = jnp.expand_dims(mask, axis=-3)
    mask = jnp.expand_dims(mask, axis=tuple(range(extra_batch_dims)))
    return mask.astype(dtype)


def make_causal_mask(x: Any, extra_batch_dims: int = 0, dtype: Any = jnp.float32) -> Any:
    """The causal mask of a ``(batch..., length)`` input: ``(batch..., 1, length, length)``."""
    idxs = jnp.broadcast_to(jnp.arange(x.shape[-1], dtype=jnp.int32), x.shape)
    return make_attention_mask(idxs, idxs, jnp.greater_equal, extra_batch_dims=extra_batch_dims, dtype=dtype)


def combine_masks(*masks: Any, dtype: Any = jnp.float32) -> Any:
    """Logical AND of the given masks (Nones skipped); None if there are none."""
    ms = [m for m in masks if m is not None]
    if not ms:
        return None
    if not all(m.ndim == ms[0].ndim for m in ms):
        raise ValueError(f"masks must have the same rank, got {[m.ndim for m in ms]}")
    out = ms[0]
    for m in ms[1:]:
        out = jnp.logical_and(out, m)
    return out.astype(dtype)
