"""Accumulating gradients over time: momentum (``trace``), ``ema``, gradient accumulation
(``MultiSteps``, ``apply_every``) and the skip predicates ``MultiSteps`` accepts."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core import tree as _tree
from ember.optim._src import base, numerics, utils
from ember.optim._src import tree_utils as otu
from ember.optim._src.utils import check_state, tree_map

ArrayLike = Any


class TraceState(NamedTuple):
    """Momentum buffer of :func:`trace`.

    >>> import ember.optim as eo
    >>> eo.TraceState._fields
    ('trace',)
    """

    trace: Any


def trace(decay: ArrayLike, nesterov: bool = False,
          accumulator_dtype: Any | None = None) -> base.GradientTransformation:
    """Momentum: ``t = g + decay * t``; the update is ``t`` (or ``g + decay * t`` with Nesterov).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> tx = eo.trace(decay=0.5)
    >>> s = tx.init({"w": jnp.zeros(1)})
    >>> u, s = tx.update({"w": jnp.ones(1)}, s)
    >>> u, s = tx.update({"w": jnp.ones(1)}, s)
    >>> u["w"].tolist()
    [1.5]
    """
    accumulator_dtype = utils.canonicalize_dtype(accumulator_dtype)

    def init_fn(params):
        return TraceState(trace=otu.tree_zeros_like(params, dtype=accumulator_dtype))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, TraceState, "trace")
        updates, new_trace = _trace(decay, nesterov, accumulator_dtype)(updates, state.trace)
        return updates, TraceState(trace=new_trace)

    return base.GradientTransformation(init_fn, update_fn)


@utils.kernel
def _trace(decay, nesterov, accumulator_dtype):
    def f(updates, trace):
        step = lambda g, t: g + decay * t  # noqa: E731
        new_trace = tree_map(lambda g, t: None if g is None else step(g, t), updates, trace,
                             is_leaf=lambda g: g is None, names=("updates", "state.trace"))
        updates = tree_map(step, updates, new_trace) if nesterov else new_trace
        return updates, otu.tree_cast(new_trace, accumulator_dtype)
    return f


class EmaState(NamedTuple):
    """State of ``ema``: step ``count`` and the exponential moving average ``ema``.

    >>> import ember.optim as eo
    >>> eo.EmaState._fields
    ('count', 'ema')
    """
    count: Any
    ema: Any


def ema(decay: ArrayLike, debias: bool = True, accumulator_dtype: Any | None = None) -> base.GradientTransformation:
    """Exponential moving average of the updates, debiased by ``1 - decay^t`` unless ``debias=False``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.ema(0.9)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.5000', '-0.5000']
    """
    accumulator_dtype = utils.canonicalize_dtype(accumulator_dtype)

    def init_fn(params):
        return EmaState(count=jnp.zeros([], jnp.int32), ema=otu.tree_zeros_like(params, dtype=accumulator_dtype))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, EmaState, "ema")
        updates = new_ema = otu.tree_update_moment(updates, state.ema, decay, 1)
        count_inc = numerics.safe_increment(state.count)
        if debias:
            updates = otu.tree_bias_correction(new_ema, decay, count_inc)
        return updates, EmaState(count=count_inc, ema=otu.tree_cast(new_ema, accumulator_dtype))

    return base.GradientTransformation(init_fn, update_fn)


class ApplyEvery(NamedTuple):
    """State of :func:`apply_every`.

    >>> import ember.optim as eo
    >>> eo.ApplyEvery._fields
    ('count', 'grad_acc')
    """

    count: Any
    grad_acc: Any


def apply_every(k: int = 1) -> base.GradientTransformation:
    """Accumulate (sum) updates over ``k`` steps and emit them every ``k``-th step (zeros otherwise).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.apply_every(k=2)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in updates["w"].tolist()]
    ['0.0000', '-0.0000']
    """

    def init_fn(params):
        return ApplyEvery(count=jnp.zeros([], jnp.int32), grad_acc=otu.tree_zeros_like(params))

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ApplyEvery, "apply_every")
        c = state.count % k
        acc = c != 0
        grad_acc = tree_map(lambda g, ga: acc * ga + g, updates, state.grad_acc, names=("updates", "state.grad_acc"))
        emit = c == k - 1
        updates = tree_map(lambda ga: emit * ga, grad_acc)
        return updates, ApplyEvery(count=numerics.safe_increment(state.count) % k, grad_acc=grad_acc)

    return base.GradientTransformation(init_fn, update_fn)


class ShouldSkipUpdateFunction(Protocol):
    """The protocol of ``MultiSteps``' ``should_skip_update_fn``: ``(updates, gradient_step, params) -> (should_skip, state)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> def skip_negative_steps(updates, gradient_step, params):   # (updates, step, params) -> (skip, state)
    ...     return jnp.array(False), {}
    >>> opt = eo.MultiSteps(eo.sgd(1.0), every_k_schedule=1, should_skip_update_fn=skip_negative_steps)
    >>> updates, _ = opt.update({"w": jnp.ones(1)}, opt.init({"w": jnp.zeros(1)}))
    >>> updates["w"].tolist()
    [-1.0]
    """
    def __call__(self, updates: Any, gradient_step: ArrayLike, params: Any | None) -> tuple[Any, Any]: ...


def skip_not_finite(updates: Any, gradient_step: ArrayLike, params: Any | None) -> tuple[Any, Any]:
    """For ``MultiSteps``: skip the mini-step when any update is inf or NaN.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.MultiSteps(eo.sgd(1.0), every_k_schedule=1, should_skip_update_fn=eo.skip_not_finite)
    >>> state = opt.init({"w": jnp.zeros(1)})
    >>> updates, state = opt.update({"w": jnp.array([jnp.inf])}, state)
    >>> updates["w"].tolist(), int(state.skip_state["num_not_finite"])
    ([0.0], 1)
    """
    del gradient_step, params
    counts = [jnp.sum(jnp.logical_not(jnp.isfinite(p))) for p in _tree.leaves(updates)]
    num_not_finite = jnp.sum(jnp.asarray(counts)) if counts else jnp.asarray(0)
    should_skip = num_not_finite > 0
    return should_skip, {"should_skip": should_skip, "num_not_finite": num_not_finite}


def skip_large_updates(updates: Any, gradient_step: ArrayLike, params: Any | None,
                       max_squared_norm: ArrayLike) -> tuple[Any, Any]:
    """For ``MultiSteps`` (via ``functools.partial``): skip when ``||updates||^2 >= max_squared_norm``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> from functools import partial
    >>> skip = partial(eo.skip_large_updates, max_squared_norm=10.0)
    >>> opt = eo.MultiSteps(eo.sgd(1.0), every_k_schedule=1, should_skip_update_fn=skip)
    >>> state = opt.init({"w": jnp.zeros(1)})
    >>> updates, state = opt.update({"w": jnp.array([100.0])}, state)    # norm^2 = 1e4 > 10: skipped
    >>> updates["w"].tolist()
    [0.0]
    """
    del gradient_step, params
    norm_sq = jnp.sum(jnp.asarray([jnp.sum(p ** 2) for p in _tree.leaves(updates)]))
    should_skip = jnp.logical_not(norm_sq < max_squared_norm)
    return should_skip, {"should_skip": should_skip, "norm_squared": norm_sq}


class MultiStepsState(NamedTuple):
    """State of ``MultiSteps``: the mini-step within the current step, the number of applied steps, the inner optimizer's state, the accumulated gradients and the skip function's state.

    >>> import ember.optim as eo
    >>> eo.MultiStepsState._fields
    ('mini_step', 'gradient_step', 'inner_opt_state', 'acc_grads', 'skip_state')
    """
    mini_step: Any
    gradient_step: Any
    inner_opt_state: Any
    acc_grads: Any
    skip_state: Any = ()


class MultiSteps:
    """Gradient accumulation: average (or sum) gradients over ``every_k_schedule`` mini-steps,
    then apply the inner optimizer once; the updates of the other mini-steps are zero.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.MultiSteps(eo.sgd(1.0), every_k_schedule=2)
    >>> s = opt.init({"w": jnp.zeros(1)})
    >>> u, s = opt.update({"w": jnp.asarray([1.0])}, s)
    >>> u["w"].tolist() == [0.0]
    True
    >>> u, s = opt.update({"w": jnp.asarray([3.0])}, s)
    >>> u["w"].tolist()        # the mean of the two gradients, times -lr
    [-2.0]
    """

    def __init__(self, opt: base.GradientTransformation,
                 every_k_schedule: int | Callable[[ArrayLike], ArrayLike],
                 use_grad_mean: bool = True, should_skip_update_fn: ShouldSkipUpdateFunction | None = None,
                 accumulator_dtype: Any = jnp.float32) -> None:
        self._opt = base.with_extra_args_support(opt)
        if isinstance(every_k_schedule, int):
            k = every_k_schedule
            self._every_k_schedule = lambda step: k
        else:
            self._every_k_schedule = every_k_schedule
        self._use_grad_mean = use_grad_mean
        self._accumulator_dtype = utils.canonicalize_dtype(accumulator_dtype)
        if use_grad_mean:
            self._acc_update = lambda grad, acc, *, n_acc: acc + (grad - acc) / (n_acc + 1)
        else:
            self._acc_update = lambda grad, acc, *, n_acc: grad + acc
        if should_skip_update_fn is None:
            def should_skip_update_fn(*unused_args, **unused_kwargs):
                return jnp.asarray(False), ()
        self._should_skip_update_fn = should_skip_update_fn
        self._compiled_update = utils.eager_compiled(self._update)
        self._compiled_update = utils.eager_compiled(self._update)

    @property
    def inner_opt(self) -> base.GradientTransformationExtraArgs:
        return self._opt

    def init(self, params: Any) -> MultiStepsState:
        updates = otu.tree_zeros_like(params)
        gradient_step = jnp.zeros([], dtype=jnp.int32)
        _, skip_state = self._should_skip_update_fn(updates, gradient_step, params)
        return MultiStepsState(
            mini_step=jnp.zeros([], dtype=jnp.int32), gradient_step=gradient_step,
            inner_opt_state=self._opt.init(params),
            acc_grads=otu.tree_zeros_like(params, dtype=self._accumulator_dtype), skip_state=skip_state)

    def update(self, updates: Any, state: MultiStepsState, params: Any | None = None,
               **extra_args: Any) -> tuple[Any, MultiStepsState]:
        """Accumulate ``updates``; every k-th mini-step, apply the inner optimizer."""
        return self._compiled_update(updates, state, params, **extra_args)

    def _update(self, updates: Any, state: MultiStepsState, params: Any | None = None,
                **extra_args: Any) -> tuple[Any, MultiStepsState]:
        check_state(state, MultiStepsState, "MultiSteps")
        k_steps = self._every_k_schedule(state.gradient_step)
        should_skip, skip_state = self._should_skip_update_fn(updates, state.gradient_step, params)
        should_skip = jnp.asarray(should_skip)
        if should_skip.dtype != jnp.bool_ or should_skip.shape != ():
            raise ValueError("The `should_skip_update_fn` function should return a boolean scalar array, but it "
                             f"returned an array of dtype {should_skip.dtype} and shape {should_skip.shape}")

        def _do_update(updates, state, params):
            acc_grads = tree_map(lambda upd, acc: self._acc_update(upd, acc, n_acc=state.mini_step),
                                 updates, state.acc_grads, names=("updates", "state.acc_grads"))
            final_updates, new_inner = self._opt.update(otu.tree_cast_like(acc_grads, updates), state.inner_opt_state,
                                                        params=params, **extra_args)
            emit = state.mini_step == k_steps - 1
            new_state = MultiStepsState(
                mini_step=numerics.safe_increment(state.mini_step) % k_steps,
                gradient_step=emit * numerics.safe_increment(state.gradient_step) + (1 - emit) * state.gradient_step,
                inner_opt_state=_tree.map(lambda st, nst: jnp.where(emit, nst, st).astype(st.dtype),
                                          state.inner_opt_state, new_inner),
                acc_grads=_tree.map(lambda ga: ((1 - emit) * ga).astype(self._accumulator_dtype), acc_grads),
                skip_state=skip_state)
            return _tree.map(lambda ga: emit * ga, final_updates), new_state

        def _skip_update(updates, state, params):
            static = {k: v for k, v in extra_args.items() if not isinstance(v, ec.Array)}
            dynamic = {k: v for k, v in extra_args.items() if isinstance(v, ec.Array)}
            acc_grads = otu.tree_cast_like(state.acc_grads, updates)
            shapes, _ = ec.eval_shape(functools.partial(self._opt.update, **static), acc_grads,
                                      state.inner_opt_state, params, **dynamic)
            zeros = _tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
            return zeros, MultiStepsState(mini_step=state.mini_step, gradient_step=state.gradient_step,
                                          inner_opt_state=state.inner_opt_state, acc_grads=state.acc_grads,
                                          skip_state=skip_state)

        return lax.cond(should_skip, _skip_update, _do_update, updates, state, params)

    def has_updated(self, state: MultiStepsState | Any) -> Any:
        """True right after a mini-step that applied the inner optimizer."""
        return jnp.logical_and(state.mini_step == 0, state.gradient_step > 0)

    def gradient_transformation(self) -> base.GradientTransformationExtraArgs:
        return base.GradientTransformationExtraArgs(init=self.init, update=self.update)
