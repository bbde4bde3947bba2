"""Second-order helpers: Hessian-vector products, Hessian and Fisher diagonals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import tree as _tree


def ravel(tree: Any) -> tuple[Any, Callable[[Any], Any]]:
    """One flat vector of all leaves, and the function that splits such a vector back into the tree.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import second_order
    >>> flat, unravel = second_order.ravel({"a": jnp.ones(2), "b": jnp.zeros((1, 1))})
    >>> flat.tolist(), unravel(flat)["b"].shape
    ([1.0, 1.0, 0.0], (1, 1))
    """
    leaves, treedef = _tree.flatten(tree)
    shapes = [jnp.shape(x) for x in leaves]
    sizes = [int(jnp.size(x)) for x in leaves]
    flat = jnp.concatenate([jnp.reshape(x, (-1,)) for x in leaves]) if leaves else jnp.zeros((0,))

    def unravel(vec):
        out, offset = [], 0
        for shape, size in zip(shapes, sizes):
            out.append(jnp.reshape(vec[offset:offset + size], shape))
            offset += size
        return _tree.unflatten(treedef, out)

    return flat, unravel


def hvp(loss: Callable[..., Any], v: Any, params: Any, inputs: Any, targets: Any) -> Any:
    """Hessian-vector product ``H v`` of ``loss(params, inputs, targets)`` at ``params``, by
    forward-over-reverse differentiation; ``v`` is a flat vector (Optax's signature).

    >>> import ember.core.numpy as jnp
    >>> loss = lambda p, x, y: jnp.sum(p["w"] ** 3)
    >>> hvp(loss, jnp.ones(2), {"w": jnp.asarray([1.0, 2.0])}, None, None)["w"].tolist()
    [6.0, 12.0]
    """
    _, unravel = ravel(params)
    return ec.jvp(ec.grad(lambda p: loss(p, inputs, targets)), (params,), (unravel(v),))[1]


def hessian_diag(loss: Callable[..., Any], params: Any, inputs: Any, targets: Any) -> Any:
    """Diagonal of the Hessian of ``loss`` w.r.t. the flattened params (one HVP per coordinate).

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import second_order
    >>> loss = lambda params, x, y: jnp.sum((x @ params["w"] - y) ** 2)
    >>> second_order.hessian_diag(loss, {"w": jnp.zeros(2)}, jnp.array([[1.0, 2.0]]), jnp.array([0.0])).tolist()
    [2.0, 8.0]
    """
    flat, _ = ravel(params)
    vs = jnp.eye(flat.size, dtype=flat.dtype)
    return ec.vmap(lambda v: jnp.vdot(v, ravel(hvp(loss, v, params, inputs, targets))[0]))(vs)


def fisher_diag(negative_log_likelihood: Callable[..., Any], params: Any, inputs: Any, targets: Any) -> Any:
    """Empirical Fisher diagonal: the squared gradient of the negative log-likelihood, flattened.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import second_order
    >>> nll = lambda params, x, y: jnp.sum((x @ params["w"] - y) ** 2)
    >>> second_order.fisher_diag(nll, {"w": jnp.array([1.0, 0.0])}, jnp.array([[1.0, 2.0]]), jnp.array([0.0])).tolist()
    [4.0, 16.0]
    """
    return jnp.square(ravel(ec.grad(negative_log_likelihood)(params, inputs, targets))[0])
