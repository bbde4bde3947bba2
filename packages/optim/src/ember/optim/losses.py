"""``ember.optim.losses``: loss functions (as ``optax.losses``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.losses.l2_loss(jnp.asarray([2.0]), jnp.asarray([0.0])).tolist()
    [2.0]
"""

from ember.optim._src.losses._classification import (
    convex_kl_divergence,
    ctc_loss,
    ctc_loss_with_forward_probs,
    generalized_kl_divergence,
    hinge_loss,
    kl_divergence,
    kl_divergence_with_log_targets,
    multiclass_hinge_loss,
    multiclass_perceptron_loss,
    perceptron_loss,
    poly_loss_cross_entropy,
    safe_softmax_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
)
from ember.optim._src.losses._ranking import ranking_softmax_loss
from ember.optim._src.losses._regression import (
    cosine_distance,
    cosine_similarity,
    huber_loss,
    l2_loss,
    log_cosh,
    squared_error,
)
from ember.optim._src.losses._smoothing import smooth_labels

__all__ = [
    "convex_kl_divergence", "cosine_distance", "cosine_similarity", "ctc_loss", "ctc_loss_with_forward_probs",
    "generalized_kl_divergence", "hinge_loss", "huber_loss", "kl_divergence", "kl_divergence_with_log_targets",
    "l2_loss", "log_cosh", "multiclass_hinge_loss", "multiclass_perceptron_loss", "perceptron_loss",
    "poly_loss_cross_entropy", "ranking_softmax_loss", "safe_softmax_cross_entropy", "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss", "smooth_labels", "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels",
    "squared_error",
]
