"""Composing transformations: ``chain``, ``named_chain``, ``partition`` (``multi_transform``)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple

from ember.core import tree as _tree
from ember.optim._src import base
from ember.optim._src.utils import check_state, eager_compiled


def _name_of(tx: Any) -> str:
    fn = getattr(tx, "update", None)
    fn = getattr(fn, "__wrapped__", fn)
    qualname = getattr(fn, "__qualname__", type(tx).__name__)
    return qualname.split(".<locals>")[0]


def chain(*args: base.GradientTransformation) -> base.GradientTransformationExtraArgs:
    """Apply transformations in sequence; the state is the tuple of their states.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.chain(eo.clip_by_global_norm(1.0), eo.scale_by_adam(), eo.scale(-1e-3))
    >>> state = opt.init({"w": jnp.zeros(2)})
    >>> len(state), type(state[1]).__name__
    (3, 'ScaleByAdamState')
    """
    names = [_name_of(t) for t in args]
    transforms = [base.with_extra_args_support(t) for t in args]
    init_fns = [t.init for t in transforms]
    update_fns = [t.update for t in transforms]
    n = len(transforms)

    def init_fn(params):
        return tuple(fn(params) for fn in init_fns)

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, tuple) or len(state) != n:
            got = (f"a {type(state).__name__} of length {len(state)}" if isinstance(state, (tuple, list))
                   else type(state).__name__)
            raise ValueError(f"chain of {n} transformations ({', '.join(names)}) expects a tuple of {n} states, got "
                             f"{got}: pass the state returned by this optimizer's init")
        new_state = []
        for i, (s, fn) in enumerate(zip(state, update_fns)):
            try:
                updates, new_s = fn(updates, s, params, **extra_args)
            except Exception as e:
                e.add_note(f"(in element {i} of chain: {names[i]})")
                raise
            new_state.append(new_s)
        return updates, tuple(new_state)

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


def named_chain(*args: tuple[str, base.GradientTransformation]) -> base.GradientTransformationExtraArgs:
    """``chain`` whose state is a dict keyed by the given names.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.named_chain(("clip", eo.clip(1.0)), ("adam", eo.scale_by_adam()))
    >>> list(opt.init({"w": jnp.zeros(1)}))
    ['clip', 'adam']
    """
    names = [name for name, _ in args]
    if len(names) != len(set(names)):
        raise ValueError(f"Named transformations must have unique names, but got {names}")
    transforms = [(name, base.with_extra_args_support(t)) for name, t in args]

    def init_fn(params):
        return {name: tx.init(params) for name, tx in transforms}

    def update_fn(updates, state, params=None, **extra_args):
        if not isinstance(state, Mapping) or set(state) != set(names):
            got = sorted(state) if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"named_chain expects a state dict with keys {names}, got {got}")
        new_state = {}
        for name, tx in transforms:
            try:
                updates, new_state[name] = tx.update(updates, state[name], params, **extra_args)
            except Exception as e:
                e.add_note(f"(in named_chain element {name!r})")
                raise
        return updates, new_state

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


class PartitionState(NamedTuple):
    """State of :func:`partition`: one (masked) inner state per label.

    >>> import ember.optim as eo
    >>> eo.MultiTransformState._fields
    ('inner_states',)
    """

    inner_states: Mapping[Hashable, Any]


def partition(transforms: Mapping[Hashable, base.GradientTransformation],
              param_labels: Any | Callable[[Any], Any], *,
              mask_compatible_extra_args: bool = False) -> base.GradientTransformationExtraArgs:
    """Apply a different transformation to each group of parameters, grouped by label.

    ``param_labels``: a pytree of labels with the params' structure (or a function of the
    params returning it); ``transforms`` maps every label to its transformation.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.partition({"train": eo.sgd(1.0), "freeze": eo.set_to_zero()}, {"w": "train", "b": "freeze"})
    >>> p = {"w": jnp.ones(1), "b": jnp.ones(1)}
    >>> u, _ = opt.update({"w": jnp.ones(1), "b": jnp.ones(1)}, opt.init(p), p)
    >>> u["w"].tolist(), u["b"].tolist()
    ([-1.0], [0.0])
    """
    from ember.optim._src.wrappers import masked

    transforms = {k: base.with_extra_args_support(v) for k, v in transforms.items()}

    def make_mask(labels, group):
        return _tree.map(lambda label: label == group, labels)

    def _labels(tree):
        return param_labels(tree) if callable(param_labels) else param_labels

    def init_fn(params):
        labels = _labels(params)
        label_set = set(_tree.leaves(labels))
        if not label_set.issubset(transforms.keys()):
            missing = sorted(map(str, label_set - set(transforms)))
            raise ValueError(f"Some parameters have no corresponding transformation: labels {missing} are not keys "
                             f"of transforms ({sorted(map(str, transforms))})")
        return PartitionState({group: masked(tx, make_mask(labels, group),
                                             mask_compatible_extra_args=mask_compatible_extra_args).init(params)
                               for group, tx in transforms.items()})

    def update_fn(updates, state, params=None, **extra_args):
        check_state(state, PartitionState, "partition")
        labels = _labels(updates)
        new_inner = {}
        for group, tx in transforms.items():
            masked_tx = masked(tx, make_mask(labels, group), mask_compatible_extra_args=mask_compatible_extra_args)
            updates, new_inner[group] = masked_tx.update(updates, state.inner_states[group], params, **extra_args)
        return updates, PartitionState(new_inner)

    return base.GradientTransformationExtraArgs(init_fn, eager_compiled(update_fn))


multi_transform = partition
MultiTransformState = PartitionState
