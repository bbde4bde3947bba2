"""Low-rank adapters: ``LoRA`` (``x @ lora_a @ lora_b``, optionally added to a wrapped module)
and ``LoRALinear`` (a ``Linear`` with a ``lora`` adapter). Adapter weights are ``LoRAParam``, a
subclass of ``Param``: differentiate with ``wrt=nn.LoRAParam`` to train only the adapters.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> base = nn.Linear(3, 4, rngs=nn.Rngs(0))
    >>> adapted = nn.LoRA(3, 2, 4, base_module=base, rngs=nn.Rngs(1))
    >>> bool((adapted(jnp.ones((1, 3))) == base(jnp.ones((1, 3)))).all())   # lora_b starts at zero
    True
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import ember.core.numpy as jnp

from ... import initializers
from ..module import Module
from ..rngs import Rngs
from ..variables import Param
from .dtypes import promote_dtype
from .linear import _EMPTY, Linear

__all__ = ["LoRA", "LoRALinear", "LoRAParam"]

default_a_initializer = initializers.he_uniform()
default_b_initializer = initializers.zeros


class LoRAParam(Param):
    """Kind of LoRA adapter weights (a ``Param``)."""


class LoRA(Module):
    """``y = x @ lora_a @ lora_b (+ base_module(x))`` with ``lora_a`` ``(in, rank)`` and ``lora_b``
    ``(rank, out)``."""

    def __init__(self, in_features: int, lora_rank: int, out_features: int, *, base_module: Module | None = None,
                 dtype: Any = None, param_dtype: Any = jnp.float32,
                 a_initializer: Callable = default_a_initializer, b_initializer: Callable = default_b_initializer,
                 lora_param_type: type = LoRAParam, promote_dtype: Callable = promote_dtype, rngs: Rngs,
                 a_metadata: Mapping[str, Any] = _EMPTY, b_metadata: Mapping[str, Any] = _EMPTY):
        self.in_features = in_features
        self.out_features = out_features
        self.dtype = dtype
        self.param_dtype = param_dtype
        self.lora_param_type = lora_param_type
        self.base_module = base_module
        self.promote_dtype = promote_dtype
        self.lora_a = lora_param_type(a_initializer(rngs.params(), (in_features, lora_rank), param_dtype),
                                      **dict(a_metadata))
        self.lora_b = lora_param_type(b_initializer(rngs.params(), (lora_rank, out_features), param_dtype),
                                      **dict(b_metadata))

    def __call__(self, x: Any, **kwargs: Any) -> Any:
        x, a, b = self.promote_dtype((x, self.lora_a.value, self.lora_b.value), dtype=self.dtype)
        out = x @ a @ b
        if self.base_module is not None:
            if not callable(self.base_module):
                raise ValueError("LoRA: base_module must be callable")
            out = out + self.base_module(x, **kwargs)
        return out


class LoRALinear(Linear):
    """A ``Linear`` (same ``kernel``/``bias``, so a pretrained Linear's state loads into it) plus a
    ``lora`` adapter added to its output."""

    def __init__(self, in_features: int, out_features: int, *, lora_rank: int, lora_dtype: Any = None,
                 lora_param_dtype: Any = jnp.float32, a_initializer: Callable = default_a_initializer,
                 b_initializer: Callable = default_b_initializer, lora_param_type: type = LoRAParam,
                 lora_promote_dtype: Callable = promote_dtype, rngs: Rngs, a_metadata: Mapping[str, Any] = _EMPTY,
                 b_metadata: Mapping[str, Any] = _EMPTY, **kwargs: Any):
        super().__init__(in_features, out_features, rngs=rngs, **kwargs)
        self.lora = LoRA(in_features, lora_rank, out_features, dtype=lora_dtype, param_dtype=lora_param_dtype,
                         a_initializer=a_initializer, b_initializer=b_initializer, lora_param_type=lora_param_type,
                         promote_dtype=lora_promote_dtype, rngs=rngs, a_metadata=a_metadata, b_metadata=b_metadata)

    def __call__(self, x: Any) -> Any:
        return super().__call__(x) + self.lora(x)
