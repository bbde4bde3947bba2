"""Clipping: elementwise, by global norm, by block RMS, and adaptive (unit-wise) clipping."""

from __future__ import annotations

from typing import Any

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core import tree as _tree
from ember.optim._src import base, numerics, utils
from ember.optim._src import tree_utils as otu
from ember.optim._src.utils import tree_map

ArrayLike = Any


def clip(max_delta: ArrayLike) -> base.GradientTransformation:
    """Clip every update element to ``[-max_delta, max_delta]``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.clip(1.0).update({"w": jnp.asarray([-3.0, 0.5])}, eo.EmptyState())[0]["w"].tolist()
    [-1.0, 0.5]
    """

    def update_fn(updates, state, params=None):
        del params
        return otu.tree_clip(updates, -max_delta, max_delta), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def clip_by_block_rms(threshold: ArrayLike) -> base.GradientTransformation:
    """Scale each leaf down so that its root-mean-square is at most ``threshold``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.clip_by_block_rms(0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.1000', '-0.1000']
    """

    def update_fn(updates, state, params=None):
        del params

        def _clip(u):
            return u / jnp.maximum(1.0, jnp.sqrt(jnp.mean(numerics.abs_sq(u))) / threshold)

        return tree_map(_clip, updates), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def clip_by_global_norm(max_norm: ArrayLike) -> base.GradientTransformation:
    """Scale all updates by ``max_norm / ||updates||`` when the global l2 norm exceeds ``max_norm``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> u, _ = eo.clip_by_global_norm(1.0).update({"w": jnp.asarray([3.0, 4.0])}, eo.EmptyState())
    >>> [round(x, 3) for x in u["w"].tolist()]
    [0.6, 0.8]
    """

    if jnp.ndim(max_norm) != 0:
        raise ValueError(f"clip_by_global_norm: max_norm must be a scalar, got shape {jnp.shape(max_norm)}")

    def update_fn(updates, state, params=None):
        del params
        return _clip_by_global_norm(max_norm)(updates), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


@utils.kernel
def _clip_by_global_norm(max_norm):
    def f(updates):
        g_norm = otu.tree_norm(updates)
        trigger = jnp.squeeze(g_norm < max_norm)
        return tree_map(lambda t: lax.select(trigger, t, (t / g_norm.astype(t.dtype)) * max_norm), updates)
    return f


def per_example_global_norm_clip(grads: Any, l2_norm_clip: ArrayLike) -> tuple[Any, Any]:
    """Clip per-example gradients (leading batch axis) to global norm ``l2_norm_clip``, then sum.
    Returns ``(summed clipped gradients, number of clipped examples)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> grads = [jnp.array([[3.0, 4.0], [0.3, 0.4]])]     # one row per example
    >>> summed, num_clipped = eo.per_example_global_norm_clip(grads, l2_norm_clip=1.0)
    >>> [f"{v:.2f}" for v in summed[0].tolist()], int(num_clipped)
    (['0.90', '1.20'], 1)
    """
    leaves = _tree.leaves(grads)
    batch = leaves[0].shape[0]
    if not all(g.ndim >= 1 and g.shape[0] == batch for g in leaves):
        raise ValueError("per_example_global_norm_clip expects grads with a batch dimension in axis 0")
    norms = ec.vmap(otu.tree_norm)(grads)
    multipliers = jnp.nan_to_num(jnp.minimum(l2_norm_clip / norms, 1.0), nan=1.0)
    num_clipped = jnp.sum(multipliers < 1.0)
    return tree_map(lambda g: jnp.tensordot(multipliers, g, axes=1), grads), num_clipped


def unitwise_norm(x: ArrayLike, axis: int | tuple[int, ...] | None = None) -> Any:
    """Norm per output unit (NFNets): whole vector for rank <= 1, axis 0 for rank 2/3, all but the
    last axis for conv kernels of rank 4/5; broadcast back to ``x.shape``."""
    sq = numerics.abs_sq(x)
    if axis is not None:
        squared_norm = jnp.sum(sq, axis=axis, keepdims=True)
    elif jnp.squeeze(x).ndim <= 1:
        squared_norm = jnp.sum(sq, keepdims=True)
    elif x.ndim in (2, 3):
        squared_norm = jnp.sum(sq, axis=0, keepdims=True)
    elif x.ndim == 4:
        squared_norm = jnp.sum(sq, axis=(0, 1, 2), keepdims=True)
    elif x.ndim == 5:
        squared_norm = jnp.sum(sq, axis=(0, 1, 2, 3), keepdims=True)
    else:
        raise ValueError(f"Expected parameter with rank in (1, 2, 3, 4, 5), got shape {x.shape}; use `axis`.")
    return jnp.broadcast_to(jnp.sqrt(squared_norm), x.shape)


def unitwise_clip(g_norm: ArrayLike, max_norm: ArrayLike, grad: ArrayLike, div_eps: ArrayLike = 1e-6) -> Any:
    """``grad`` where ``g_norm < max_norm``, else ``grad * max_norm / g_norm``."""
    clipped = grad * (max_norm / jnp.maximum(g_norm, div_eps))
    return jnp.where(g_norm < max_norm, grad, clipped)


def adaptive_grad_clip(clipping: ArrayLike, eps: ArrayLike = 1e-3,
                       axis: int | tuple[int, ...] | None = None) -> base.GradientTransformation:
    """Adaptive gradient clipping (Brock et al. 2021): clip each unit's gradient norm to
    ``clipping * max(||p_unit||, eps)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.adaptive_grad_clip(0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.1581', '-0.1581']
    """

    def update_fn(updates, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        g_norm = tree_map(lambda x: unitwise_norm(x, axis=axis), updates)
        p_norm = tree_map(lambda x: unitwise_norm(x, axis=axis), params)
        max_norm = tree_map(lambda x: clipping * jnp.maximum(x, eps), p_norm)
        return tree_map(unitwise_clip, g_norm, max_norm, updates,
                        names=("norm(updates)", "max_norm(params)", "updates")), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


ClipState = base.EmptyState
ClipByGlobalNormState = base.EmptyState
AdaptiveGradClipState = base.EmptyState
