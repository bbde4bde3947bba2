"""Classification losses: cross-entropies, hinge, focal, KL divergences, CTC."""

from __future__ import annotations

import operator
from typing import Any

import ember.core as ec
import ember.core.nn as enn
import ember.core.numpy as jnp
from ember.core import lax
from ember.optim._src.losses._common import check_floating, check_same_shape

ArrayLike = Any
Axis = int | tuple[int, ...] | None


def _canonical_axis(axis: int, ndim: int) -> int:
    axis = operator.index(axis)
    if -ndim <= axis < ndim:
        return axis % ndim
    raise ValueError(f"axis {axis} is out of bounds for array of dimension {ndim}")


def sigmoid_binary_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> Any:
    """``-y log(sigmoid(x)) - (1 - y) log(1 - sigmoid(x))`` elementwise; labels may be soft.

    >>> round(float(sigmoid_binary_cross_entropy(jnp.asarray(0.0), jnp.asarray(1.0))), 4)
    0.6931
    """
    logits = check_floating(logits, "logits", "sigmoid_binary_cross_entropy")
    labels = jnp.asarray(labels).astype(logits.dtype)
    return -labels * enn.log_sigmoid(logits) - (1.0 - labels) * enn.log_sigmoid(-logits)


def sigmoid_focal_loss(logits: ArrayLike, labels: ArrayLike, *, alpha: ArrayLike | None = None,
                       gamma: ArrayLike = 2.0) -> Any:
    """Focal loss (Lin et al. 2017): ``(1 - p_t)^gamma`` times the binary cross-entropy, optionally
    weighted by ``alpha`` for positives and ``1 - alpha`` for negatives.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> logits, labels = jnp.array([3.0, -3.0]), jnp.array([1.0, 1.0])
    >>> [f"{v:.4f}" for v in losses.sigmoid_focal_loss(logits, labels, gamma=2.0).tolist()]   # easy example down-weighted
    ['0.0001', '2.7663']
    """
    logits = check_floating(logits, "logits", "sigmoid_focal_loss")
    labels = jnp.asarray(labels).astype(logits.dtype)
    ce = sigmoid_binary_cross_entropy(logits, labels)
    log_p, log_q = enn.log_sigmoid(logits), enn.log_sigmoid(-logits)
    log_one_minus_p_t = enn.logsumexp(jnp.stack([log_p, log_q], axis=-1), axis=-1,
                                      b=jnp.stack([1 - labels, labels], axis=-1))
    loss = ce * jnp.exp(gamma * log_one_minus_p_t)
    if alpha is None:
        return loss
    return (alpha * labels + (1.0 - alpha) * (1.0 - labels)) * loss


def hinge_loss(predictor_outputs: ArrayLike, targets: ArrayLike) -> Any:
    """``max(0, 1 - y * f(x))`` for targets in {-1, +1}.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> losses.hinge_loss(jnp.array([2.0, 0.5, -1.0]), jnp.array([1.0, 1.0, 1.0])).tolist()   # max(0, 1 - y * f)
    [0.0, 0.5, 2.0]
    """
    return jnp.maximum(0, 1 - predictor_outputs * targets)


def perceptron_loss(predictor_outputs: ArrayLike, targets: ArrayLike) -> Any:
    """``max(0, -y * f(x))``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> losses.perceptron_loss(jnp.array([2.0, -1.0]), jnp.array([1.0, 1.0])).tolist()   # max(0, -y * f)
    [0.0, 1.0]
    """
    check_same_shape(predictor_outputs, targets, ("predictor_outputs", "targets"), "perceptron_loss")
    return jnp.maximum(0, -predictor_outputs * targets)


def _one_hot_dot(scores: Any, labels: Any) -> tuple[Any, Any]:
    one_hot = enn.one_hot(labels, scores.shape[-1], dtype=scores.dtype)
    return one_hot, jnp.sum(scores * one_hot, axis=-1)


def multiclass_hinge_loss(scores: ArrayLike, labels: ArrayLike) -> Any:
    """``max_k(s_k + 1[k != y]) - s_y`` (Crammer-Singer).

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> losses.multiclass_hinge_loss(jnp.array([[2.0, 1.5, 0.0]]), jnp.array([0])).tolist()
    [0.5]
    """
    one_hot, true_score = _one_hot_dot(scores, labels)
    return jnp.max(scores + 1.0 - one_hot, axis=-1) - true_score


def multiclass_perceptron_loss(scores: ArrayLike, labels: ArrayLike) -> Any:
    """``max_k s_k - s_y``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> losses.multiclass_perceptron_loss(jnp.array([[1.0, 3.0, 0.0]]), jnp.array([0])).tolist()
    [2.0]
    """
    _, true_score = _one_hot_dot(scores, labels)
    return jnp.max(scores, axis=-1) - true_score


@ec.custom_jvp
def _weighted_logsoftmax(x: Any, weights: Any) -> Any:
    logsoftmax = enn.log_softmax(x, axis=-1)
    return jnp.where(weights != 0.0, weights * logsoftmax, jnp.zeros_like(logsoftmax))


@_weighted_logsoftmax.defjvp
def _weighted_logsoftmax_jvp(primals, tangents):
    x, weights = primals
    x_dot, weights_dot = tangents
    logsoftmax = enn.log_softmax(x, axis=-1)
    result = jnp.where(weights != 0.0, weights * logsoftmax, jnp.zeros_like(logsoftmax))
    out = (weights * x_dot - weights * jnp.sum(x_dot * enn.softmax(x, axis=-1), axis=-1, keepdims=True)
           + weights_dot * jnp.where(weights != 0.0, logsoftmax, 0.0))
    return result, out


def safe_softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> Any:
    """Softmax cross-entropy that stays finite (value and gradient) when logits are ``-inf``
    where labels are 0.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> logits = jnp.array([[0.0, -jnp.inf]])            # a -inf logit where the label is 0 is fine
    >>> losses.safe_softmax_cross_entropy(logits, jnp.array([[1.0, 0.0]])).tolist() == [0.0]
    True
    """
    logits = check_floating(logits, "logits", "safe_softmax_cross_entropy")
    return -jnp.sum(_weighted_logsoftmax(logits, jnp.asarray(labels, dtype=logits.dtype)), axis=-1)


def softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike, axis: Axis = -1,
                          where: ArrayLike | None = None) -> Any:
    """``-sum(labels * log_softmax(logits))`` over ``axis`` (classes where ``where`` is False are
    excluded).

    >>> round(float(softmax_cross_entropy(jnp.zeros(4), jnp.asarray([0.0, 1.0, 0.0, 0.0]))), 4)
    1.3863
    """
    logits = check_floating(logits, "logits", "softmax_cross_entropy")
    if where is not None:
        where = jnp.asarray(where)
        if where.ndim != logits.ndim:
            where = jnp.expand_dims(where, axis)
    log_probs = enn.log_softmax(logits, axis, where)
    return -jnp.sum(labels * log_probs, axis=axis, where=where)


def softmax_cross_entropy_with_integer_labels(logits: ArrayLike, labels: ArrayLike, axis: int | tuple[int, ...] = -1,
                                              where: ArrayLike | None = None) -> Any:
    """Softmax cross-entropy with integer class labels: ``logsumexp(logits) - logits[label]``.
    ``axis``: the class axis (or axes, flattened); ``where``: classes to include.

    >>> round(float(softmax_cross_entropy_with_integer_labels(jnp.zeros(4), jnp.asarray(1))), 4)
    1.3863
    """
    logits = check_floating(logits, "logits", "softmax_cross_entropy_with_integer_labels")
    labels = jnp.asarray(labels)
    if not jnp.issubdtype(labels.dtype, jnp.integer):
        raise TypeError(f"softmax_cross_entropy_with_integer_labels: labels must be integers, got {labels.dtype}")
    if where is not None:
        where = jnp.asarray(where)
        if where.ndim != logits.ndim:
            where = jnp.expand_dims(where, axis)
    if isinstance(axis, int):
        axis = _canonical_axis(axis, logits.ndim)
    elif isinstance(axis, tuple):
        logit_axes = tuple(_canonical_axis(a, logits.ndim) for a in axis)
        batch_axes = tuple(a for a in range(logits.ndim) if a not in logit_axes)
        axis = len(batch_axes)
        logits = jnp.transpose(logits, batch_axes + logit_axes)
        logits = logits.reshape(logits.shape[:len(batch_axes)] + (-1,))
        if where is not None:
            where = jnp.transpose(where, batch_axes + logit_axes)
            where = where.reshape(where.shape[:len(batch_axes)] + (-1,))
    else:
        raise ValueError(f"axis must be an int or a tuple of ints, got {type(axis).__name__}")
    label_logits = jnp.take(jnp.take_along_axis(logits, jnp.expand_dims(labels, axis), axis=axis), 0, axis=axis)
    log_normalizers = enn.logsumexp(logits, axis=axis, where=where)
    out = log_normalizers - label_logits
    if where is not None:
        out = jnp.where(jnp.any(where, axis), out, 0.0)
    return out


def poly_loss_cross_entropy(logits: ArrayLike, labels: ArrayLike, *, epsilon: ArrayLike = 2.0, axis: Axis = -1,
                            where: ArrayLike | None = None) -> Any:
    """PolyLoss (Leng et al. 2022): cross-entropy ``+ epsilon * (1 - p_t)``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> logits, labels = jnp.array([[2.0, 0.0]]), jnp.array([[1.0, 0.0]])
    >>> ce = losses.softmax_cross_entropy(logits, labels)
    >>> poly = losses.poly_loss_cross_entropy(logits, labels, epsilon=1.0)   # ce + epsilon * (1 - p_t)
    >>> f"{float(ce[0]):.4f}", f"{float(poly[0]):.4f}"
    ('0.1269', '0.2461')
    """
    logits = check_floating(logits, "logits", "poly_loss_cross_entropy")
    p = enn.softmax(logits, axis=axis, where=where)
    one_minus_pt = jnp.sum(labels * (1 - p), axis=axis, where=where)
    return softmax_cross_entropy(logits, labels, axis=axis, where=where) + epsilon * one_minus_pt


def kl_divergence(log_predictions: ArrayLike, targets: ArrayLike, axis: Axis = -1,
                  where: ArrayLike | None = None) -> Any:
    """``KL(targets || predictions) = sum(t * (log t - log p))``, with ``0 log 0 = 0``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> targets = jnp.array([0.5, 0.5])
    >>> f"{float(losses.kl_divergence(jnp.log(jnp.array([0.25, 0.75])), targets)):.4f}"
    '0.1438'
    """
    log_predictions = check_floating(log_predictions, "log_predictions", "kl_divergence")
    targets = check_floating(targets, "targets", "kl_divergence")
    loss = targets * (jnp.where(targets == 0, 0, jnp.log(jnp.where(targets == 0, 1, targets))) - log_predictions)
    return jnp.sum(loss, axis=axis, where=where)


def kl_divergence_with_log_targets(log_predictions: ArrayLike, log_targets: ArrayLike, axis: Axis = -1,
                                   where: ArrayLike | None = None) -> Any:
    """``KL`` with targets given as log-probabilities: ``sum(exp(lt) * (lt - lp))``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> log_p = jnp.log(jnp.array([0.5, 0.5]))
    >>> f"{float(losses.kl_divergence_with_log_targets(jnp.log(jnp.array([0.25, 0.75])), log_p)):.4f}"
    '0.1438'
    """
    log_predictions = check_floating(log_predictions, "log_predictions", "kl_divergence_with_log_targets")
    log_targets = check_floating(log_targets, "log_targets", "kl_divergence_with_log_targets")
    return jnp.sum(jnp.exp(log_targets) * (log_targets - log_predictions), axis=axis, where=where)


def generalized_kl_divergence(log_predictions: ArrayLike, targets: ArrayLike, axis: Axis = -1,
                              where: ArrayLike | None = None) -> Any:
    """KL for unnormalised measures: ``KL + sum(p - t)``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> p = jnp.array([0.5, 0.5])
    >>> f"{float(losses.convex_kl_divergence(jnp.log(p), p)):.4f}"    # zero when the distributions agree
    '0.0000'
    """
    return (kl_divergence(log_predictions, targets, axis=axis, where=where)
            + jnp.sum(jnp.exp(log_predictions) - targets, axis=axis, where=where))


convex_kl_divergence = generalized_kl_divergence


def ctc_loss_with_forward_probs(logits: ArrayLike, logit_paddings: ArrayLike, labels: ArrayLike,
                                label_paddings: ArrayLike, *, blank_id: int = 0,
                                log_epsilon: ArrayLike = -1e5) -> tuple[Any, Any, Any]:
    """CTC loss (Graves et al. 2006) with the forward log-probabilities. ``logits`` [B, T, K],
    ``labels`` [B, N]; paddings are 1.0 at padded positions.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> logits = jnp.zeros((1, 4, 3))
    >>> loss, logalpha_phi, logalpha_emit = losses.ctc_loss_with_forward_probs(
    ...     logits, jnp.zeros((1, 4)), jnp.array([[1, 2]]), jnp.zeros((1, 2)))
    >>> loss.shape, logalpha_phi.shape, logalpha_emit.shape
    ((1,), (4, 1, 3), (4, 1, 2))
    """
    logits, labels = jnp.asarray(logits), jnp.asarray(labels)
    if logits.ndim != 3:
        raise ValueError(f"ctc_loss: logits must have rank 3 [B, T, K], got shape {logits.shape}")
    if labels.ndim != 2:
        raise ValueError(f"ctc_loss: labels must have rank 2 [B, N], got shape {labels.shape}")
    check_same_shape(labels, label_paddings, ("labels", "label_paddings"), "ctc_loss")
    check_same_shape(logits[..., 0], logit_paddings, ("logits[..., 0]", "logit_paddings"), "ctc_loss")
    batchsize, _, num_classes = logits.shape
    if labels.shape[0] != batchsize:
        raise ValueError(f"ctc_loss: labels have batch size {labels.shape[0]}, logits {batchsize}")
    maxlabellen = labels.shape[1]
    logprobs = enn.log_softmax(logits)
    labellens = maxlabellen - jnp.sum(label_paddings, axis=1).astype(jnp.int32)
    repeat = (labels[:, :-1] == labels[:, 1:]).astype(jnp.float32)
    repeat = jnp.pad(repeat, ((0, 0), (0, 1)))
    logprobs_phi = jnp.transpose(logprobs[:, :, blank_id:blank_id + 1], (1, 0, 2))
    one_hot = enn.one_hot(labels, num_classes)
    logprobs_emit = jnp.transpose(jnp.einsum("btk,bnk->btn", logprobs, one_hot), (1, 0, 2))
    phi_init = jnp.ones((batchsize, maxlabellen + 1)) * log_epsilon
    phi_init = jnp.concatenate([jnp.zeros((batchsize, 1)), phi_init[:, 1:]], axis=1)
    emit_init = jnp.ones((batchsize, maxlabellen)) * log_epsilon

    def update_phi_score(phi, added_score):
        return jnp.concatenate([phi[:, :1], jnp.logaddexp(phi[:, 1:], added_score)], axis=-1)

    def loop_body(prev, x):
        prev_phi, prev_emit = prev
        prev_phi_orig = prev_phi
        prev_phi = update_phi_score(prev_phi, prev_emit + log_epsilon * repeat)
        logprob_emit, logprob_phi, pad = x
        next_emit = jnp.logaddexp(prev_phi[:, :-1] + logprob_emit, prev_emit + logprob_emit)
        next_phi = prev_phi + logprob_phi
        next_phi = update_phi_score(next_phi, prev_emit + logprob_phi + log_epsilon * (1.0 - repeat))
        pad = pad.reshape((batchsize, 1))
        next_emit = pad * prev_emit + (1.0 - pad) * next_emit
        next_phi = pad * prev_phi_orig + (1.0 - pad) * next_phi
        return (next_phi, next_emit), (next_phi, next_emit)

    xs = (logprobs_emit, logprobs_phi, jnp.transpose(jnp.asarray(logit_paddings), (1, 0)))
    _, (logalpha_phi, logalpha_emit) = lax.scan(loop_body, (phi_init, emit_init), xs)
    last = update_phi_score(logalpha_phi[-1], logalpha_emit[-1])
    logalpha_phi = jnp.concatenate([logalpha_phi[:-1], last[None]], axis=0)
    per_seq_loss = -jnp.sum(last * enn.one_hot(labellens, maxlabellen + 1, dtype=last.dtype), axis=1)
    return per_seq_loss, logalpha_phi, logalpha_emit


def ctc_loss(logits: ArrayLike, logit_paddings: ArrayLike, labels: ArrayLike, label_paddings: ArrayLike, *,
             blank_id: int = 0, log_epsilon: ArrayLike = -1e5) -> Any:
    """Per-sequence CTC loss ``-log p(labels | logits)``; see :func:`ctc_loss_with_forward_probs`.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import losses
    >>> logits = jnp.zeros((1, 4, 3))                   # (batch, time, classes); class 0 is the blank
    >>> labels = jnp.array([[1, 2]])
    >>> loss = losses.ctc_loss(logits, jnp.zeros((1, 4)), labels, jnp.zeros((1, 2)))
    >>> loss.shape, bool(loss[0] > 0)
    ((1,), True)
    """
    return ctc_loss_with_forward_probs(logits, logit_paddings, labels, label_paddings, blank_id=blank_id,
                                       log_epsilon=log_epsilon)[0]
