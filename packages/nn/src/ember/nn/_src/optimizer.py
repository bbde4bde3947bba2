"""``nn.Optimizer``: a module holding an optimizer's state for a model's parameters.

It works with any gradient transformation object exposing ``init(params)`` and
``update(grads, state, params)`` (the Optax protocol, which ember.optim follows); ember.nn
does not import ember.optim.

    >>> import ember.core.numpy as jnp
    >>> import ember.nn as nn
    >>> class SGD:                                      # any init/update object will do
    ...     def init(self, params): return ()
    ...     def update(self, grads, state, params=None):
    ...         import ember.core as ec
    ...         return ec.tree.map(lambda g: -0.1 * g, grads), state
    >>> model = nn.Linear(2, 1, rngs=nn.Rngs(0))
    >>> opt = nn.Optimizer(model, SGD(), wrt=nn.Param)
    >>> grads = nn.grad(lambda m: m(jnp.ones((1, 2))).sum())(model)
    >>> before = model.bias.value
    >>> opt.update(model, grads)
    >>> (model.bias.value - before).tolist(), int(opt.step.value)
    ([-0.10000000149011612], 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ember.core as ec
import ember.core.numpy as jnp

from . import filters as filterlib
from . import tracking
from .graph import state as graph_state
from .module import Module
from .state import State, from_flat_state, to_flat_state
from .tracking import is_array
from .variables import Param, Variable

__all__ = ["Optimizer", "OptState", "OptArray", "OptVariable"]


class OptState(Variable):
    """Kind of the optimizer's state (moments, step count)."""


OptArray = OptState
OptVariable = OptState


def _is_var(x: Any) -> bool:
    return isinstance(x, Variable)


def _raw_state(flat: list) -> State:
    return from_flat_state([(p, v._value if isinstance(v, Variable) else v) for p, v in flat])


class Optimizer(Module):
    """``Optimizer(model, tx, wrt=nn.Param)``: ``tx.init`` on the model's ``wrt`` state; then
    ``optimizer.update(model, grads)`` applies ``tx.update`` and writes the new parameters into
    the model's Variables (in place, so it works inside ``nn.jit``).

    ``grads`` is the State returned by ``nn.grad`` (same ``wrt`` filter) or any mapping with the
    same paths. ``step`` counts updates.
    """

    def __init__(self, model: Module, tx: Any, wrt: Any = Param):
        if not (hasattr(tx, "init") and hasattr(tx, "update")):
            raise TypeError(f"tx must have init and update methods (a gradient transformation), got {tx!r}")
        self.step = OptState(jnp.array(0, dtype=jnp.uint32))
        self.tx = tx
        self.wrt = wrt
        params = _raw_state(to_flat_state(graph_state(model, wrt)))
        opt_state = ec.tree.map(lambda x: OptState(x) if is_array(x) else x, tx.init(params))
        # stored as returned (no list/dict -> nn.List/nn.Dict conversion): tx.update gets back the
        # same container types it produced
        object.__setattr__(self, "opt_state", opt_state)
        tracking.bump()

    def update(self, model: Module, grads: Mapping, /, **kwargs: Any) -> None:
        """Apply one step: ``params += tx.update(grads, opt_state, params)``."""
        flat = to_flat_state(graph_state(model, self.wrt))
        params = _raw_state(flat)
        grad_values = []
        for path, _ in flat:
            node: Any = grads
            try:
                for k in path:
                    node = node[k]
            except (KeyError, TypeError, IndexError):
                raise ValueError(
                    f"Optimizer.update: no gradient for {'/'.join(map(str, path))}; the gradients must cover the "
                    f"optimizer's wrt filter ({self.wrt!r}); take them with nn.grad(..., wrt=the same filter)"
                ) from None
            grad_values.append((path, node._value if isinstance(node, Variable) else node))
        grads_raw = from_flat_state(grad_values)
        opt_leaves, opt_def = ec.tree.flatten(self.opt_state, is_leaf=_is_var)
        opt_values = opt_def.unflatten([v._value if isinstance(v, Variable) else v for v in opt_leaves])
        updates, new_opt = self.tx.update(grads_raw, opt_values, params, **kwargs)
        for (_, var), p, u in zip(flat, ec.tree.leaves(params), ec.tree.leaves(updates)):
            new = jnp.asarray(p + u).astype(p.dtype)
            if isinstance(var, Variable):
                var.value = new
        new_leaves = opt_def.flatten_up_to(new_opt)
        for old, new in zip(opt_leaves, new_leaves):
            if isinstance(old, Variable):
                old.value = new
        self.step.value = self.step.value + 1


del filterlib
