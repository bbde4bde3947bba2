"""Label smoothing."""

from __future__ import annotations

from typing import Any

import ember.core.numpy as jnp
from ember.optim._src.losses._common import check_floating


def smooth_labels(labels: Any, alpha: Any, *, axis: int | tuple[int, ...] | None = -1,
                  where: Any | None = None) -> Any:
    """``(1 - alpha) * labels + alpha / num_categories`` (Szegedy et al. 2016).

    >>> [round(x, 3) for x in smooth_labels(jnp.asarray([0.0, 1.0]), 0.2).tolist()]
    [0.1, 0.9]
    """
    labels = check_floating(labels, "labels", "smooth_labels")
    if where is None:
        num_categories = labels.shape[axis] if isinstance(axis, int) else jnp.size(labels)
    else:
        num_categories = jnp.sum(where, axis, keepdims=True)
    return (1.0 - alpha) * labels + alpha / num_categories
