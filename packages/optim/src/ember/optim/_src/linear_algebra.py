"""Linear algebra on pytrees: global norm, power iteration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ember.core.numpy as jnp
import ember.core.random as random
from ember.core import lax
from ember.optim._src import tree_utils as otu

ArrayLike = Any


def global_norm(updates: Any) -> Any:
    """The l2 norm of all leaves together (``tree_norm``).

    >>> import ember.core.numpy as jnp
    >>> float(global_norm({"a": jnp.asarray([3.0]), "b": [jnp.asarray([4.0])]}))
    5.0
    """
    return otu.tree_norm(updates)


def _normalize_tree(x: Any) -> Any:
    return otu.tree_scale(1.0 / otu.tree_norm(x), x)


def power_iteration(matrix: ArrayLike | Callable[[Any], Any], *, v0: Any | None = None,
                    num_iters: int = 100, error_tolerance: float = 1e-6, key: Any | None = None) -> tuple[Any, Any]:
    """Dominant eigenvalue and eigenvector of a symmetric ``matrix`` (or of a matrix-vector
    product function on pytrees, with ``v0`` given).

    >>> import ember.core.numpy as jnp
    >>> ev, _ = power_iteration(jnp.diag(jnp.asarray([1.0, 3.0])))
    >>> round(float(ev), 4)
    3.0
    """
    if callable(matrix):
        mvp = matrix
        if v0 is None:
            raise ValueError("v0 must be provided when `matrix` is a callable.")
    else:
        mvp = lambda v: jnp.matmul(matrix, v)  # noqa: E731
        if v0 is None:
            key = random.PRNGKey(0) if key is None else key
            v0 = random.uniform(key, matrix.shape[-1:], matrix.dtype, -1.0, 1.0)
    v0 = _normalize_tree(v0)

    def cond_fun(loop_vars):
        eigvec, z, eig, i = loop_vars
        residual = otu.tree_norm(otu.tree_sub(z, otu.tree_scale(eig, eigvec)))
        converged = jnp.abs(residual / eig) < error_tolerance
        return jnp.logical_and(jnp.logical_not(converged), i < num_iters)

    def body_fun(loop_vars):
        _, z, _, i = loop_vars
        eigvec = _normalize_tree(z)
        z = mvp(eigvec)
        return eigvec, z, otu.tree_vdot(eigvec, z), i + 1

    init = (v0, mvp(v0), jnp.asarray(0.0), jnp.asarray(0))
    _, z, eig, _ = lax.while_loop(cond_fun, body_fun, init)
    return eig, _normalize_tree(z)
