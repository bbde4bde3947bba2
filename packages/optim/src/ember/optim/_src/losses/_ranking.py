"""Ranking losses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember.core.nn as enn
import ember.core.numpy as jnp
from ember.optim._src.losses._common import check_floating


def _safe_reduce(a: Any, where: Any | None, reduce_fn: Callable[..., Any] | None) -> Any:
    output = reduce_fn(a, where=where) if reduce_fn is not None else a
    if reduce_fn is jnp.mean:
        valid = jnp.logical_not(jnp.any(jnp.isnan(a)))
        output = jnp.where(jnp.isnan(output) & valid, 0.0, output)
    if reduce_fn is None and where is not None:
        output = jnp.where(where, output, 0.0)
    return output


def ranking_softmax_loss(logits: Any, labels: Any, *, where: Any | None = None, weights: Any | None = None,
                         reduce_fn: Callable[..., Any] | None = jnp.mean) -> Any:
    """Listwise softmax cross-entropy over the last axis (items of a list), reduced over lists
    by ``reduce_fn`` (None: per list).

    >>> round(float(ranking_softmax_loss(jnp.asarray([0.0, 0.0]), jnp.asarray([1.0, 0.0]))), 4)
    0.6931
    """
    logits = check_floating(logits, "logits", "ranking_softmax_loss")
    labels = jnp.asarray(labels).astype(logits.dtype)
    if where is not None:
        labels = jnp.where(where, labels, jnp.zeros_like(labels))
        logits = jnp.where(where, logits, -jnp.ones_like(logits) * jnp.inf)
    if weights is not None:
        labels = labels * weights
    log_softmax = enn.log_softmax(logits, axis=-1)
    loss = -jnp.sum(labels * log_softmax, axis=-1, where=where)
    if where is not None:
        where = jnp.any(where, axis=-1)
    return _safe_reduce(loss, where, reduce_fn)
