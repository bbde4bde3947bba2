"""Transforms that add a term to the updates: decoupled weight decay and gradient noise."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import ember.core.numpy as jnp
import ember.core.random as random
from ember.optim._src import base, hyperparams, numerics, utils
from ember.optim._src import tree_utils as otu
from ember.optim._src.utils import check_state, tree_map

ArrayLike = Any
MaskOrFn = Any | Callable[[Any], Any] | None


class WeightDecaySchedule(NamedTuple):
    """State of :func:`add_decayed_weights` with a scheduled weight decay: the step ``count``
    (as Optax) and the ``weight_decay`` used by the most recent update (an ember addition).

    >>> import ember.optim as eo
    >>> eo.WeightDecaySchedule._fields
    ('count', 'weight_decay')
    """

    count: Any
    weight_decay: Any
    _ember_hyperparams = ("weight_decay",)
    _ember_settable = False


class DecayedWeightsState(NamedTuple):
    """State of :func:`add_decayed_weights` given an **array** weight decay (settable with
    ``ember.optim.set_hyperparams``).

    >>> import ember.optim as eo
    >>> eo.DecayedWeightsState._fields
    ('weight_decay',)
    """

    weight_decay: Any
    _ember_hyperparams = ("weight_decay",)
    _ember_settable = True


def add_decayed_weights(weight_decay: ArrayLike | base.ScalarOrSchedule = 0.0,
                        mask: MaskOrFn = None) -> base.GradientTransformation:
    """Decoupled weight decay: ``u + weight_decay * p`` (placed before the learning-rate scaling,
    the decay is multiplied by the learning rate, as in AdamW).

    ``mask`` (the same in every optimizer that decays weights): None decays every parameter;
    otherwise a pytree of booleans with the structure of the params (or a prefix of it: one
    boolean for a whole sub-tree), or a function ``params -> such a pytree``. True = decayed.
    ``weight_decay`` may be a number (constant), an array (kept in the state, settable) or a schedule.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> tx = eo.add_decayed_weights(0.1, mask={"w": True, "b": False})
    >>> p = {"w": jnp.ones(1), "b": jnp.ones(1)}
    >>> u, _ = tx.update({"w": jnp.zeros(1), "b": jnp.zeros(1)}, tx.init(p), p)
    >>> u["w"].tolist(), u["b"].tolist()
    ([0.10000000149011612], [0.0])
    """
    kind = hyperparams.kind_of(weight_decay)

    def init_fn(params):
        del params
        if kind == "schedule":
            count = jnp.zeros([], jnp.int32)
            value = hyperparams.schedule_value(weight_decay, count, "weight_decay")
            return WeightDecaySchedule(count=count, weight_decay=hyperparams.to_state_value(value, "weight_decay"))
        if kind == "array":
            return DecayedWeightsState(weight_decay=hyperparams.to_state_value(weight_decay, "weight_decay"))
        return base.EmptyState()

    def _decay(updates, params, s):
        if kind == "static":
            return _decay_static(s)(updates, params)
        return _decay_array()(updates, params, jnp.asarray(s))

    def update_fn(updates, state, params):
        if params is None:
            raise ValueError(base.NO_PARAMS_MSG)
        if kind == "schedule":
            check_state(state, WeightDecaySchedule, "add_decayed_weights")
            s = hyperparams.schedule_value(weight_decay, state.count, "weight_decay")
            value = hyperparams.to_state_value(s, "weight_decay").astype(state.weight_decay.dtype)
            return _decay(updates, params, s), WeightDecaySchedule(numerics.safe_increment(state.count), value)
        if kind == "array":
            check_state(state, DecayedWeightsState, "add_decayed_weights")
            return _decay(updates, params, state.weight_decay), state
        if isinstance(weight_decay, (int, float)) and weight_decay == 0.0:
            return updates, state
        return _decay(updates, params, weight_decay), state

    tx = base.GradientTransformation(init_fn, update_fn)
    if mask is not None:
        from ember.optim._src.wrappers import masked
        return masked(tx, mask)
    return tx


def _is_none(x: Any) -> bool:
    return x is None


@utils.kernel
def _decay_static(weight_decay):
    return lambda updates, params: tree_map(lambda g, p: None if g is None else g + weight_decay * p, updates, params,
                                            is_leaf=_is_none, names=("updates", "params"))


@utils.kernel
def _decay_array():
    return lambda updates, params, s: tree_map(lambda g, p: None if g is None else g + s.astype(p.dtype) * p,
                                               updates, params, is_leaf=_is_none, names=("updates", "params"))


AddDecayedWeightsState = base.EmptyState


class AddNoiseState(NamedTuple):
    """State of ``add_noise``: step ``count`` and the random key.

    >>> import ember.optim as eo
    >>> eo.AddNoiseState._fields
    ('count', 'rng_key')
    """
    count: Any
    rng_key: Any


def add_noise(eta: ArrayLike, gamma: ArrayLike, key: Any = None, *,
              seed: int | None = None) -> base.GradientTransformation:
    """Annealed Gaussian gradient noise (Neelakantan et al. 2014): ``g + N(0, eta / t^gamma)``.
    ``key``: an ``ember.core.random`` key or an integer seed.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.add_noise(eta=0.01, gamma=0.55, seed=0)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> updates["w"].shape       # the gradient plus N(0, eta / (1 + t) ** gamma) noise
    (2,)
    """
    if seed is not None:
        if key is not None:
            raise ValueError("Only one of seed or key can be specified.")
        key = seed
    if key is None:
        warnings.warn("add_noise: no key given, using seed 0; pass key=... for independent noise", stacklevel=2)
        key = 0

    def init_fn(params):
        del params
        rng = random.PRNGKey(key) if isinstance(key, int) else jnp.asarray(key)
        return AddNoiseState(count=jnp.zeros([], jnp.int32), rng_key=rng)

    def update_fn(updates, state, params=None):
        del params
        check_state(state, AddNoiseState, "add_noise")
        count_inc = numerics.safe_increment(state.count)
        std = jnp.sqrt(eta / count_inc ** gamma)
        keys = random.split(state.rng_key)
        noise = otu.tree_random_like(keys[1], updates, sampler=random.normal)
        updates = otu.tree_add_scale(updates, std, noise)
        return updates, AddNoiseState(count=count_inc, rng_key=keys[0])

    return base.GradientTransformation(init_fn, update_fn)
