"""Wrappers that change *where* or *when* an inner transformation applies: ``masked``,
``apply_if_finite``, ``conditionally_transform``/``conditionally_mask``, ``flatten``, ``freeze``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import ember.core.numpy as jnp
from ember.core import lax
from ember.core import tree as _tree
from ember.optim._src import base, numerics
from ember.optim._src import tree_utils as otu
from ember.optim._src.utils import check_state, eager_compiled, structure_mismatch

ArrayLike = Any


class MaskedState(NamedTuple):
    """State of :func:`masked`: the inner state, built on the masked-in parameters only.

    >>> import ember.optim as eo
    >>> eo.MaskedState._fields
    ('inner_state',)
    """

    inner_state: Any


class MaskedNode(NamedTuple):
    """Stands for a masked-out parameter (an empty pytree node, so it has no leaves).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> state = eo.masked(eo.adam(0.1), {"a": True, "b": False}).init({"a": jnp.zeros(1), "b": jnp.zeros(1)})
    >>> state.inner_state[0].mu["b"]            # masked-out leaves hold a MaskedNode
    MaskedNode()
    """


def _mask_is_callable(mask: Any) -> bool:
    flags = _tree.leaves(_tree.map(callable, mask))
    return len(flags) > 0 and all(flags)


def _mask_pytree(pytree: Any, mask_tree: Any) -> Any:
    try:
        return _tree.map(lambda m, p: p if m else MaskedNode(), mask_tree, pytree)
    except (ValueError, TypeError) as e:
        msg = structure_mismatch(mask_tree, pytree, "mask", "params/updates")
        raise ValueError(f"masked: the mask does not match the params: {msg or e}") from e


def masked(inner: base.GradientTransformation, mask: Any | Callable[[Any], Any], *,
           mask_compatible_extra_args: bool = False) -> base.GradientTransformationExtraArgs:
    """Apply ``inner`` only to the parameters where ``mask`` is True; others pass unchanged.

    ``mask``: a pytree of booleans with the params' structure (or a prefix of it), or a function
    ``params -> mask``. The inner state only holds the masked-in leaves (the others are
    :class:`MaskedNode`).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> tx = eo.masked(eo.scale(0.0), {"a": True, "b": False})
    >>> u, _ = tx.update({"a": jnp.ones(1), "b": jnp.ones(1)}, tx.init({"a": jnp.ones(1), "b": jnp.ones(1)}))
    >>> u["a"].tolist(), u["b"].tolist()
    ([0.0], [1.0])
    """
    inner = base.with_extra_args_support(inner)

    def _resolve(tree):
        return mask(tree) if _mask_is_callable(mask) else mask

    def _mask_extra(extra_args, base_tree, mask_tree):
        if not mask_compatible_extra_args:
            return extra_args
        structure = _tree.structure(base_tree)
        return {k: _mask_pytree(v, mask_tree) if _tree.structure(v) == structure else v for k, v in extra_args.items()}

    def init_fn(params):
        if isinstance(params, otu._ParamsPlaceholder):
            return MaskedState(inner_state=inner.init(params))
        mask_tree = _resolve(params)
        return MaskedState(inner_state=inner.init(_mask_pytree(params, mask_tree)))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, MaskedState, "masked")
        mask_tree = _resolve(updates)
        masked_extra = _mask_extra(extra_args, updates, mask_tree)
        masked_updates = _mask_pytree(updates, mask_tree)
        masked_params = None if params is None else _mask_pytree(params, mask_tree)
        new_masked, new_inner = inner.update(masked_updates, state.inner_state, masked_params, **masked_extra)
        new_updates = _tree.map(lambda m, new_u, old_u: new_u if m else old_u, mask_tree, new_masked, updates)
        return new_updates, MaskedState(inner_state=new_inner)

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


def freeze(mask: bool | Any | Callable[[Any], Any]) -> base.GradientTransformationExtraArgs:
    """Zero the updates of the parameters where ``mask`` is True (they stay fixed).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.chain(eo.freeze({"w": False, "b": True}), eo.sgd(1.0))
    >>> params = {"w": jnp.array([1.0]), "b": jnp.array([1.0])}
    >>> updates, _ = opt.update({"w": jnp.array([0.5]), "b": jnp.array([0.5])}, opt.init(params), params)
    >>> updates["w"].tolist(), updates["b"].tolist()      # b is frozen
    ([-0.5], [-0.0])
    """
    return masked(base.set_to_zero(), mask)


class ApplyIfFiniteState(NamedTuple):
    """State of ``apply_if_finite``: consecutive and total non-finite steps, whether the last step was finite, and the inner state.

    >>> import ember.optim as eo
    >>> eo.ApplyIfFiniteState._fields
    ('notfinite_count', 'last_finite', 'total_notfinite', 'inner_state')
    """
    notfinite_count: Any
    last_finite: Any
    total_notfinite: Any
    inner_state: Any


def _all_finite(tree: Any) -> Any:
    leaves = _tree.leaves(tree)
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(p)) for p in leaves]))


def apply_if_finite(inner: base.GradientTransformation,
                    max_consecutive_errors: int) -> base.GradientTransformationExtraArgs:
    """Apply ``inner`` only when every update is finite; otherwise emit zeros and keep the inner
    state, unless more than ``max_consecutive_errors`` non-finite steps happened in a row.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.apply_if_finite(eo.sgd(0.1), max_consecutive_errors=2)
    >>> params = {"w": jnp.array([1.0])}
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([jnp.nan])}, state, params)
    >>> updates["w"].tolist(), int(state.notfinite_count)      # the step is skipped
    ([0.0], 1)
    """
    inner = base.with_extra_args_support(inner)

    def init_fn(params):
        return ApplyIfFiniteState(notfinite_count=jnp.zeros([], jnp.int32), last_finite=jnp.asarray(True),
                                  total_notfinite=jnp.zeros([], jnp.int32), inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, ApplyIfFiniteState, "apply_if_finite")
        inner_state = state.inner_state
        isfinite = _all_finite(updates)
        notfinite_count = jnp.where(isfinite, jnp.zeros([], jnp.int32), numerics.safe_increment(state.notfinite_count))

        def do_update(_):
            return inner.update(updates, inner_state, params, **extra_args)

        def reject_update(_):
            return otu.tree_zeros_like(updates), inner_state

        updates, new_inner = lax.cond(jnp.logical_or(isfinite, notfinite_count > max_consecutive_errors),
                                      do_update, reject_update, None)
        return updates, ApplyIfFiniteState(
            notfinite_count=notfinite_count, last_finite=isfinite,
            total_notfinite=jnp.where(isfinite, state.total_notfinite, numerics.safe_increment(state.total_notfinite)),
            inner_state=new_inner)

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


class ConditionFn(Protocol):
    def __call__(self, step: ArrayLike, **extra_args: Any) -> ArrayLike: ...


class ConditionallyTransformState(NamedTuple):
    """State of ``conditionally_transform``: the inner state and the step.

    >>> import ember.optim as eo
    >>> eo.ConditionallyTransformState._fields
    ('inner_state', 'step')
    """
    inner_state: Any
    step: Any


def conditionally_transform(inner: base.GradientTransformation, should_transform_fn: ConditionFn,
                            forward_extra_args: bool = False) -> base.GradientTransformationExtraArgs:
    """Apply ``inner`` at steps where ``should_transform_fn(step)`` is True; pass updates through otherwise.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.conditionally_transform(eo.scale(10.0), lambda step: step >= 1)
    >>> params = {"w": jnp.array([1.0])}
    >>> state = opt.init(params)
    >>> u1, state = opt.update({"w": jnp.array([1.0])}, state, params)   # passed through unchanged
    >>> u2, state = opt.update({"w": jnp.array([1.0])}, state, params)   # transformed
    >>> u1["w"].tolist(), u2["w"].tolist()
    ([1.0], [10.0])
    """
    inner = base.with_extra_args_support(inner)

    def init_fn(params):
        return ConditionallyTransformState(inner_state=inner.init(params), step=jnp.zeros([], jnp.int32))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, ConditionallyTransformState, "conditionally_transform")
        kwargs = extra_args if forward_extra_args else {}
        updates, new_inner = lax.cond(should_transform_fn(state.step, **kwargs),
                                      lambda _: inner.update(updates, state.inner_state, params, **extra_args),
                                      lambda _: (updates, state.inner_state), None)
        return updates, ConditionallyTransformState(new_inner, numerics.safe_increment(state.step))

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


class ConditionallyMaskState(NamedTuple):
    """State of ``conditionally_mask``: the step and the inner state.

    >>> import ember.optim as eo
    >>> eo.ConditionallyMaskState._fields
    ('step', 'inner_state')
    """
    step: Any
    inner_state: Any


def conditionally_mask(inner: base.GradientTransformation, should_transform_fn: ConditionFn,
                       forward_extra_args: bool = False) -> base.GradientTransformationExtraArgs:
    """Apply ``inner`` at steps where ``should_transform_fn(step)`` is True; emit zeros otherwise.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.conditionally_mask(eo.sgd(1.0), lambda step: step >= 1)   # skip the first step
    >>> params = {"w": jnp.array([1.0])}
    >>> state = opt.init(params)
    >>> u1, state = opt.update({"w": jnp.array([1.0])}, state, params)
    >>> u2, state = opt.update({"w": jnp.array([1.0])}, state, params)
    >>> u1["w"].tolist(), u2["w"].tolist()
    ([0.0], [-1.0])
    """
    inner = base.with_extra_args_support(inner)

    def init_fn(params):
        return ConditionallyMaskState(step=jnp.zeros([], jnp.int32), inner_state=inner.init(params))

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, ConditionallyMaskState, "conditionally_mask")
        kwargs = extra_args if forward_extra_args else {}
        updates, new_inner = lax.cond(should_transform_fn(state.step, **kwargs),
                                      lambda _: inner.update(updates, state.inner_state, params, **extra_args),
                                      lambda _: (otu.tree_zeros_like(updates), state.inner_state), None)
        return updates, ConditionallyMaskState(step=numerics.safe_increment(state.step), inner_state=new_inner)

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


def flatten(inner: base.GradientTransformation) -> base.GradientTransformationExtraArgs:
    """Run ``inner`` on one flat vector (all leaves concatenated): one big op instead of many small ones.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.flatten(eo.adam(0.1))      # the inner state holds one flat vector
    >>> state = opt.init({"a": jnp.zeros(2), "b": jnp.zeros((2, 2))})
    >>> state[0].mu.shape
    (6,)
    """
    inner = base.with_extra_args_support(inner)

    def _flatten(tree):
        leaves = _tree.leaves(tree)
        return jnp.concatenate([jnp.reshape(x, [-1]) for x in leaves])

    def _unflatten(like, flat):
        leaves, treedef = _tree.flatten(like)
        out, offset = [], 0
        for leaf in leaves:
            size = math.prod(leaf.shape)
            out.append(jnp.reshape(flat[offset:offset + size], leaf.shape))
            offset += size
        return _tree.unflatten(treedef, out)

    def init_fn(params):
        return inner.init(_flatten(params))

    def update_fn(updates, state, params=None, **extra_args):
        if params is not None:
            params = _flatten(params)
        flat, state = inner.update(_flatten(updates), state, params, **extra_args)
        return _unflatten(updates, flat), state

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


