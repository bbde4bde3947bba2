"""Regression losses."""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp
from ember.optim._src.losses._common import check_floating, check_same_shape

ArrayLike = Any


def squared_error(predictions: ArrayLike, targets: ArrayLike | None = None) -> Any:
    """``(predictions - targets)^2`` elementwise (no 1/2 factor).

    >>> squared_error(jnp.asarray([1.0, 2.0]), jnp.asarray([0.0, 0.0])).tolist()
    [1.0, 4.0]
    """
    predictions = check_floating(predictions, "predictions", "squared_error")
    if targets is not None:
        check_same_shape(predictions, targets, ("predictions", "targets"), "squared_error")
    errors = predictions - targets if targets is not None else predictions
    return errors ** 2


def l2_loss(predictions: ArrayLike, targets: ArrayLike | None = None) -> Any:
    """``0.5 * (predictions - targets)^2`` elementwise.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> losses.l2_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 1.0])).tolist()   # 0.5 * (p - t) ** 2
    [0.5, 2.0]
    """
    return 0.5 * squared_error(predictions, targets)


def huber_loss(predictions: ArrayLike, targets: ArrayLike | None = None, *, delta: ArrayLike = 1.0) -> Any:
    """Quadratic ``0.5 e^2`` for ``|e| <= delta``, linear ``delta (|e| - delta/2)`` beyond.

    >>> huber_loss(jnp.asarray([0.5, 3.0])).tolist()
    [0.125, 2.5]
    """
    predictions = check_floating(predictions, "predictions", "huber_loss")
    errors = predictions - targets if targets is not None else predictions
    abs_errors = jnp.abs(errors)
    quadratic = jnp.minimum(abs_errors, delta)
    linear = abs_errors - quadratic
    return 0.5 * quadratic ** 2 + delta * linear


def log_cosh(predictions: ArrayLike, targets: ArrayLike | None = None) -> Any:
    """``log(cosh(predictions - targets))``, computed stably.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> [f"{v:.4f}" for v in losses.log_cosh(jnp.array([0.0, 1.0, 10.0])).tolist()]
    ['0.0000', '0.4338', '9.3069']
    """
    predictions = check_floating(predictions, "predictions", "log_cosh")
    errors = predictions - targets if targets is not None else predictions
    return jnp.logaddexp(errors, -errors) - jnp.log(2.0).astype(errors.dtype)


def cosine_similarity(predictions: ArrayLike, targets: ArrayLike, *, epsilon: ArrayLike = 0.0,
                      axis: int | tuple[int, ...] | None = -1, where: ArrayLike | None = None) -> Any:
    """Cosine of the angle between ``predictions`` and ``targets`` along ``axis``.

    >>> float(cosine_similarity(jnp.asarray([1.0, 0.0]), jnp.asarray([1.0, 1.0])))  # doctest: +ELLIPSIS
    0.7071...
    """
    a = check_floating(predictions, "predictions", "cosine_similarity")
    b = check_floating(targets, "targets", "cosine_similarity")
    a_norm = jnp.sqrt(jnp.clip(jnp.sum(jnp.square(a), axis=axis, where=where, keepdims=True), epsilon, None))
    b_norm = jnp.sqrt(jnp.clip(jnp.sum(jnp.square(b), axis=axis, where=where, keepdims=True), epsilon, None))
    return jnp.sum((a / a_norm) * (b / b_norm), axis=axis, where=where)


def cosine_distance(predictions: ArrayLike, targets: ArrayLike, *, epsilon: ArrayLike = 0.0,
                    axis: int | tuple[int, ...] | None = -1, where: ArrayLike | None = None) -> Any:
    """``1 - cosine_similarity``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> losses.cosine_distance(jnp.array([1.0, 0.0]), jnp.array([0.0, 2.0])).tolist()   # 1 - cosine similarity
    1.0
    """
    return 1.0 - cosine_similarity(predictions, targets, epsilon=epsilon, axis=axis, where=where)
