"""Argument checks shared by the losses."""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp


def check_floating(x: Any, name: str, fn: str) -> Any:
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise TypeError(f"{fn}: {name} must have a floating dtype, got {x.dtype}")
    return x


def check_same_shape(a: Any, b: Any, names: tuple[str, str], fn: str) -> None:
    if jnp.shape(a) != jnp.shape(b):
        raise ValueError(f"{fn}: {names[0]} has shape {jnp.shape(a)} but {names[1]} has shape {jnp.shape(b)}")
