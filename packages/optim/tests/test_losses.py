"""Losses against their formulas, computed in NumPy float64."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo

L = eo.losses
_r = np.random.default_rng(0)
X = _r.normal(size=(4, 5)).astype(np.float32)
Y = _r.uniform(size=(4, 5)).astype(np.float32)
Y = Y / Y.sum(-1, keepdims=True)
I = np.asarray([0, 3, 4, 1], np.int32)
B = (_r.uniform(size=(4, 5)) > 0.5).astype(np.float32)


def _log_softmax(x, axis=-1):
    x = x.astype(np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x.astype(np.float64)))


CASES = [
    ("softmax_cross_entropy", lambda: L.softmax_cross_entropy(X, Y), -(Y * _log_softmax(X)).sum(-1)),
    ("softmax_ce_integer_labels", lambda: L.softmax_cross_entropy_with_integer_labels(X, I),
     -_log_softmax(X)[np.arange(4), I]),
    ("softmax_ce_integer_labels_axis0", lambda: L.softmax_cross_entropy_with_integer_labels(X.T, I, axis=0),
     -_log_softmax(X)[np.arange(4), I]),
    ("safe_softmax_cross_entropy", lambda: L.safe_softmax_cross_entropy(X, Y), -(Y * _log_softmax(X)).sum(-1)),
    ("sigmoid_binary_cross_entropy", lambda: L.sigmoid_binary_cross_entropy(X, B),
     -(B * np.log(_sigmoid(X)) + (1 - B) * np.log(1 - _sigmoid(X)))),
    ("sigmoid_focal_loss", lambda: L.sigmoid_focal_loss(X, B, alpha=0.25, gamma=2.0),
     (lambda p: (0.25 * B + 0.75 * (1 - B)) * (1 - (B * p + (1 - B) * (1 - p))) ** 2
      * -(B * np.log(p) + (1 - B) * np.log(1 - p)))(_sigmoid(X))),
    ("l2_loss", lambda: L.l2_loss(X, Y), 0.5 * (X - Y) ** 2),
    ("squared_error", lambda: L.squared_error(X, Y), (X - Y) ** 2),
    ("huber_loss", lambda: L.huber_loss(X, Y, delta=0.5),
     np.where(np.abs(X - Y) <= 0.5, 0.5 * (X - Y) ** 2, 0.5 * (np.abs(X - Y) - 0.25))),
    ("log_cosh", lambda: L.log_cosh(X, Y), np.log(np.cosh((X - Y).astype(np.float64)))),
    ("hinge_loss", lambda: L.hinge_loss(X, 2 * B - 1), np.maximum(0, 1 - X * (2 * B - 1))),
    ("multiclass_hinge_loss", lambda: L.multiclass_hinge_loss(X, I),
     (X + 1 - np.eye(5)[I]).max(-1) - X[np.arange(4), I]),
    ("cosine_similarity", lambda: L.cosine_similarity(X, Y),
     (X * Y).sum(-1) / np.linalg.norm(X, axis=-1) / np.linalg.norm(Y, axis=-1)),
    ("cosine_distance", lambda: L.cosine_distance(X, Y),
     1 - (X * Y).sum(-1) / np.linalg.norm(X, axis=-1) / np.linalg.norm(Y, axis=-1)),
    ("kl_divergence", lambda: L.kl_divergence(_log_softmax(X).astype(np.float32), Y),
     (Y * (np.log(Y) - _log_softmax(X))).sum(-1)),
    ("kl_divergence_with_log_targets",
     lambda: L.kl_divergence_with_log_targets(_log_softmax(X).astype(np.float32), np.log(Y)),
     (Y * (np.log(Y) - _log_softmax(X))).sum(-1)),
    ("generalized_kl_divergence", lambda: L.generalized_kl_divergence(X, Y),
     (Y * (np.log(Y) - X)).sum(-1) + (np.exp(X) - Y).sum(-1)),
    ("smooth_labels", lambda: L.smooth_labels(Y, 0.1), 0.9 * Y + 0.1 / 5),
    ("ranking_softmax_loss", lambda: L.ranking_softmax_loss(X, B), np.mean(-(B * _log_softmax(X)).sum(-1))),
]


@pytest.mark.parametrize("name,fn,expected", CASES, ids=[c[0] for c in CASES])
def test_loss_formula(name, fn, expected):
    np.testing.assert_allclose(np.asarray(fn()), expected, rtol=2e-5, atol=2e-6)


def test_softmax_cross_entropy_where():
    where = np.asarray([[True, True, False, True, True]] * 4)
    got = L.softmax_cross_entropy(X, Y, where=where)
    masked = np.where(where, X, -np.inf)
    expected = -(np.where(where, Y * _log_softmax(masked), 0.0)).sum(-1)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-5)
    got = L.softmax_cross_entropy_with_integer_labels(X, I, where=where)
    np.testing.assert_allclose(np.asarray(got), -_log_softmax(masked)[np.arange(4), I], rtol=1e-5)


def test_safe_softmax_cross_entropy_is_finite_with_minus_inf_logits():
    logits = jnp.asarray([[0.0, -jnp.inf, 1.0]])
    labels = jnp.asarray([[0.5, 0.0, 0.5]])
    value, grad = ec.value_and_grad(lambda x: jnp.sum(L.safe_softmax_cross_entropy(x, labels)))(logits)
    assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(grad)))


def _ctc_brute_force(logits, labels, blank=0):
    """-log of the sum over all alignments that collapse to `labels`."""
    logp = _log_softmax(logits)
    T, K = logits.shape
    total = 0.0
    for path in itertools.product(range(K), repeat=T):
        collapsed = [c for i, c in enumerate(path) if (i == 0 or c != path[i - 1]) and c != blank]
        if collapsed == list(labels):
            total += math.exp(sum(logp[t, c] for t, c in enumerate(path)))
    return -math.log(total)


def test_ctc_loss_against_brute_force():
    logits = _r.normal(size=(2, 4, 3)).astype(np.float32)
    labels = np.asarray([[1, 2], [1, 1]], np.int32)
    got = L.ctc_loss(logits, np.zeros((2, 4), np.float32), labels, np.zeros((2, 2), np.float32))
    expected = [_ctc_brute_force(logits[b], labels[b]) for b in range(2)]
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4)
    # padding: the second sequence is only 3 frames long, its label 1 symbol long
    pads = np.asarray([[0, 0, 0, 0], [0, 0, 0, 1]], np.float32)
    label_pads = np.asarray([[0, 0], [0, 1]], np.float32)
    got = L.ctc_loss(logits, pads, labels, label_pads)
    np.testing.assert_allclose(float(got[1]), _ctc_brute_force(logits[1, :3], [1]), rtol=1e-4)


def test_loss_argument_errors():
    with pytest.raises(TypeError, match="floating"):
        L.softmax_cross_entropy(np.ones((2, 3), np.int32), Y[:2, :3])
    with pytest.raises(TypeError, match="integers"):
        L.softmax_cross_entropy_with_integer_labels(X, I.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        L.squared_error(X, Y[:, :3])


def test_common_losses_are_also_top_level_names_as_in_optax():
    import ember.optim as eo
    for name in ["l2_loss", "squared_error", "huber_loss", "softmax_cross_entropy",
                 "softmax_cross_entropy_with_integer_labels", "sigmoid_binary_cross_entropy", "kl_divergence",
                 "cosine_similarity", "smooth_labels", "ctc_loss"]:
        assert getattr(eo, name) is getattr(eo.losses, name) and name in eo.__all__
