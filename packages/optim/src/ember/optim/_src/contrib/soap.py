"""SOAP (Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam"): Adam run in
the eigenbasis of Shampoo's preconditioner, a second-order method of the Shampoo family.

For a matrix gradient ``G`` (parameters of rank >= 3 are seen as ``(prod(shape[:-1]),
shape[-1])``, as in ``muon``), with Kronecker factors ``L = EMA(G G^T)``, ``R = EMA(G^T G)`` and
their eigenvectors ``Q_L``, ``Q_R`` (recomputed every ``precondition_frequency`` steps):

    G' = Q_L^T G Q_R,   M' = Q_L^T M Q_R     (M = EMA_b1(G), kept in the original basis)
    V  = EMA_b2(G'^2)                          (kept in the eigenbasis)
    u  = Q_L (M'_hat / (sqrt(V_hat) + eps)) Q_R^T

A side larger than ``max_precond_dim`` (or of size 1) is not rotated; vectors and scalars get
plain Adam.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import ember.core.numpy as jnp
import ember.core.numpy.linalg as jla
from ember.core import lax
from ember.core import tree as _tree
from ember.optim._src import base, combine, numerics, transform
from ember.optim._src.adding import add_decayed_weights
from ember.optim._src.utils import check_state

ArrayLike = Any


class ScaleBySoapState(NamedTuple):
    """``mu``: first moment (original basis); ``nu``: second moment (eigenbasis); ``gg``: per
    leaf ``[L, R]`` Kronecker factors; ``q``: per leaf ``[Q_L, Q_R]`` eigenbases (None for a side
    that is not rotated).

    >>> from ember.optim import contrib
    >>> contrib.ScaleBySoapState._fields
    ('count', 'mu', 'nu', 'gg', 'q')
    """

    count: Any
    mu: Any
    nu: Any
    gg: Any
    q: Any


def _matrix_shape(shape: tuple[int, ...]) -> tuple[int, int] | None:
    if len(shape) < 2:
        return None
    return math.prod(shape[:-1]), shape[-1]


def scale_by_soap(b1: ArrayLike = 0.95, b2: ArrayLike = 0.95, shampoo_beta: ArrayLike = 0.95, eps: ArrayLike = 1e-8,
                  precondition_frequency: int = 10, max_precond_dim: int = 10000) -> base.GradientTransformation:
    """SOAP's scaling (see the module docstring).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.ones((4, 3))}
    >>> opt = eo.scale_by_soap()
    >>> updates, state = opt.update({"w": jnp.ones((4, 3))}, opt.init(params), params)
    >>> updates["w"].shape, int(state.count)
    ((4, 3), 1)
    """
    if precondition_frequency < 1:
        raise ValueError("precondition_frequency must be >= 1")

    def sides(shape):
        ms = _matrix_shape(shape)
        if ms is None:
            return None, (False, False)
        return ms, tuple(1 < d <= max_precond_dim for d in ms)

    def init_leaf(p):
        ms, use = sides(p.shape)
        if ms is None:
            return [None, None], [None, None]
        gg = [jnp.zeros((d, d), p.dtype) if u else None for d, u in zip(ms, use)]
        q = [jnp.eye(d, dtype=p.dtype) if u else None for d, u in zip(ms, use)]
        return gg, q

    def init_fn(params):
        leaves, treedef = _tree.flatten(params)
        parts = [init_leaf(p) for p in leaves]
        from ember.optim._src import tree_utils as otu
        return ScaleBySoapState(count=jnp.zeros([], jnp.int32), mu=otu.tree_zeros_like(params),
                                nu=otu.tree_zeros_like(params),
                                gg=_tree.unflatten(treedef, [p[0] for p in parts]),
                                q=_tree.unflatten(treedef, [p[1] for p in parts]))

    def project(x, ql, qr):
        if ql is not None:
            x = ql.T @ x
        if qr is not None:
            x = x @ qr
        return x

    def project_back(x, ql, qr):
        if ql is not None:
            x = ql @ x
        if qr is not None:
            x = x @ qr.T
        return x

    def update_leaf(g, m, v, gg, q, count, count_inc):
        shape = g.shape
        m = b1 * m + (1 - b1) * g
        ms, use = sides(shape)
        if ms is None or not any(use):
            v = b2 * v + (1 - b2) * g * g
            m_hat = m / (1 - b1 ** count_inc).astype(g.dtype)
            v_hat = v / (1 - b2 ** count_inc).astype(g.dtype)
            return m_hat / (jnp.sqrt(v_hat) + eps), m, v, gg, q
        g2, m2, v2 = g.reshape(ms), m.reshape(ms), v.reshape(ms)
        new_gg = [
            shampoo_beta * gg[0] + (1 - shampoo_beta) * (g2 @ g2.T) if use[0] else None,
            shampoo_beta * gg[1] + (1 - shampoo_beta) * (g2.T @ g2) if use[1] else None,
        ]
        refresh = jnp.logical_or(count == 0, count_inc % precondition_frequency == 0)
        new_q = []
        for side in (0, 1):
            if not use[side]:
                new_q.append(None)
                continue
            new_q.append(lax.cond(refresh, lambda a, _: jla.eigh(a)[1].astype(a.dtype), lambda a, old: old,
                                  new_gg[side], q[side]))
        gp = project(g2, *new_q)
        v2 = b2 * v2 + (1 - b2) * gp * gp
        mp = project(m2, *new_q)
        m_hat = mp / (1 - b1 ** count_inc).astype(g.dtype)
        v_hat = v2 / (1 - b2 ** count_inc).astype(g.dtype)
        u = project_back(m_hat / (jnp.sqrt(v_hat) + eps), *new_q)
        return u.reshape(shape), m, v2.reshape(shape), new_gg, new_q

    def update_fn(updates, state, params=None):
        del params
        check_state(state, ScaleBySoapState, "scale_by_soap")
        leaves, treedef = _tree.flatten(updates)
        mus = treedef.flatten_up_to(state.mu)
        nus = treedef.flatten_up_to(state.nu)
        ggs = treedef.flatten_up_to(state.gg)
        qs = treedef.flatten_up_to(state.q)
        count_inc = numerics.safe_increment(state.count)
        out = [update_leaf(g, m, v, gg, q, state.count, count_inc) for g, m, v, gg, q in zip(leaves, mus, nus, ggs, qs)]
        pick = lambda i: _tree.unflatten(treedef, [o[i] for o in out])  # noqa: E731
        return pick(0), ScaleBySoapState(count=count_inc, mu=pick(1), nu=pick(2), gg=pick(3), q=pick(4))

    return base.GradientTransformation(init_fn, update_fn)


def soap(learning_rate: base.ScalarOrSchedule = 3e-3, b1: ArrayLike = 0.95, b2: ArrayLike = 0.95,
         shampoo_beta: ArrayLike = 0.95, eps: ArrayLike = 1e-8, weight_decay: base.ScalarOrSchedule = 0.0,
         mask: Any = None, precondition_frequency: int = 10,
         max_precond_dim: int = 10000) -> base.GradientTransformationExtraArgs:
    """SOAP: :func:`scale_by_soap`, decoupled weight decay (``mask`` as in ``adamw``), learning rate.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.soap(1e-2)
    >>> p = {"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}
    >>> s = opt.init(p)
    >>> u, s = opt.update({"w": jnp.ones((4, 3)), "b": jnp.ones(3)}, s, p)
    >>> s[0].q["w"][0].shape, s[0].q["b"]
    ((4, 4), [None, None])
    """
    return combine.chain(
        scale_by_soap(b1=b1, b2=b2, shampoo_beta=shampoo_beta, eps=eps, precondition_frequency=precondition_frequency,
                      max_precond_dim=max_precond_dim),
        add_decayed_weights(weight_decay, mask),
        transform.scale_by_learning_rate(learning_rate))
