"""``check_grads``: compare a function's derivatives with finite differences (public as
``ember.core.test_util``), for ember's own tests and for users' custom rules.

    >>> import ember.core.numpy as jnp
    >>> check_grads(jnp.sin, (0.5,), order=2)
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from . import dtypes
from . import tree as tree_util
from .core import get_aval
from .transforms.ad import jvp, vjp

__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp"]

_default_eps = {np.dtype(np.float16): 1e-1, dtypes.bfloat16: 1e-1, np.dtype(np.float32): 1e-3,
                np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 1e-3, np.dtype(np.complex128): 1e-5}
_default_tol = {np.dtype(np.float16): 1e-1, dtypes.bfloat16: 1e-1, np.dtype(np.float32): 2e-2,
                np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 2e-2, np.dtype(np.complex128): 1e-5}


def _leaves(x: Any) -> list[Any]:
    return tree_util.leaves(x)


def _dtype_of_tree(x: Any) -> np.dtype:
    inexact = [get_aval(l).dtype for l in _leaves(x) if dtypes.is_inexact(get_aval(l).dtype)]
    return max(inexact, key=lambda d: d.itemsize) if inexact else np.dtype(np.float32)


def _random_like(x: Any, rng: np.random.Generator) -> Any:
    def one(leaf: Any) -> Any:
        aval = get_aval(leaf)
        if not dtypes.is_inexact(aval.dtype):
            return np.zeros(aval.shape, aval.dtype)
        value = rng.standard_normal(aval.shape)
        if aval.dtype.kind == "c":
            value = value + 1j * rng.standard_normal(aval.shape)
        return np.asarray(value, dtype=aval.dtype)
    return tree_util.map(one, x)


def _axpy(a: float, x: Any, y: Any) -> Any:
    return tree_util.map(lambda xi, yi: np.asarray(yi, np.float64 if np.asarray(yi).dtype.kind != "c" else np.complex128)
                         + a * np.asarray(xi, np.float64 if np.asarray(xi).dtype.kind != "c" else np.complex128), x, y)


def _cast_like(x: Any, like: Any) -> Any:
    return tree_util.map(lambda xi, li: np.asarray(xi).astype(get_aval(li).dtype), x, like)


def numerical_jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], eps: float) -> Any:
    """Central finite difference of ``f`` at ``primals`` along ``tangents``."""
    plus = _cast_like(_axpy(eps, tangents, primals), primals)
    minus = _cast_like(_axpy(-eps, tangents, primals), primals)
    f_plus, f_minus = f(*plus), f(*minus)
    return tree_util.map(lambda a, b: (np.asarray(a, np.complex128 if np.asarray(a).dtype.kind == "c" else np.float64)
                                       - np.asarray(b, np.complex128 if np.asarray(b).dtype.kind == "c" else np.float64))
                         / (2 * eps), f_plus, f_minus)


def _assert_close(name: str, actual: Any, expected: Any, atol: float, rtol: float) -> None:
    a_leaves, e_leaves = _leaves(actual), _leaves(expected)
    if len(a_leaves) != len(e_leaves):
        raise AssertionError(f"{name}: {len(a_leaves)} outputs vs {len(e_leaves)} expected")
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves)):
        a = np.asarray(a).astype(np.complex128 if np.asarray(a).dtype.kind == "c" else np.float64)
        e = np.asarray(e).astype(np.complex128 if np.asarray(e).dtype.kind == "c" else np.float64)
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=f"{name} (output {i})")


def _conj(x: Any) -> Any:
    def one(leaf: Any) -> Any:
        return np.conj(leaf) if np.asarray(leaf).dtype.kind == "c" else leaf
    return tree_util.map(one, x)


def check_jvp(f: Callable[..., Any], primals: Sequence[Any], *, eps: float | None = None,
              atol: float | None = None, rtol: float | None = None, seed: int = 0) -> None:
    """Assert that ``jvp(f)`` matches central finite differences along a random direction."""
    rng = np.random.default_rng(seed)
    dtype = _dtype_of_tree(primals)
    eps = eps or _default_eps.get(dtype, 1e-3)
    tol = _default_tol.get(dtype, 2e-2)
    tangents = _random_like(tuple(primals), rng)
    _, tangent_out = jvp(f, tuple(primals), tuple(tangents))
    expected = numerical_jvp(f, primals, tangents, eps)
    _assert_close("jvp vs finite differences", tangent_out, expected, atol or tol, rtol or tol)


def check_vjp(f: Callable[..., Any], primals: Sequence[Any], *, eps: float | None = None,
              atol: float | None = None, rtol: float | None = None, seed: int = 0) -> None:
    """Assert ``<vjp(ct), t> == <ct, J t>`` with J t from finite differences."""
    rng = np.random.default_rng(seed + 1)
    dtype = _dtype_of_tree(primals)
    eps = eps or _default_eps.get(dtype, 1e-3)
    tol = _default_tol.get(dtype, 2e-2)
    out, f_vjp = vjp(f, *primals)
    cts = _random_like(out, rng)
    # JAX's convention: vjp applies J^T (not J^H) to a cotangent, so conj(vjp(conj(ct))) = J^H ct
    cts_in = _conj(f_vjp(_conj(cts)))
    tangents = _random_like(tuple(primals), rng)
    jt = numerical_jvp(f, primals, tangents, eps)
    lhs = sum(np.vdot(np.asarray(t, np.float64 if np.asarray(t).dtype.kind != "c" else np.complex128),
                      np.asarray(c, np.float64 if np.asarray(c).dtype.kind != "c" else np.complex128)).real
              for t, c in zip(_leaves(tangents), _leaves(cts_in)) if np.asarray(c).dtype.names is None)
    rhs = sum(np.vdot(np.asarray(j), np.asarray(c, np.float64 if np.asarray(c).dtype.kind != "c" else np.complex128)).real
              for j, c in zip(_leaves(jt), _leaves(cts)))
    scale = max(1.0, abs(rhs))
    if abs(lhs - rhs) > (atol or tol) * scale + (rtol or tol) * abs(rhs):
        raise AssertionError(f"vjp does not match finite differences: <vjp(ct), t> = {lhs}, <ct, J t> = {rhs}")


def check_grads(f: Callable[..., Any], args: Sequence[Any], order: int = 1,
                modes: Sequence[str] = ("fwd", "rev"), atol: float | None = None, rtol: float | None = None,
                eps: float | None = None) -> None:
    """Check derivatives of ``f`` at ``args`` up to ``order`` in forward and/or reverse mode.

    Higher orders are checked by differentiating the JVP / VJP functions themselves.
    """
    args = tuple(args)
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {mode!r}")
    _check(f, args, order, tuple(modes), atol, rtol, eps)


def _check(f: Callable[..., Any], args: tuple, order: int, modes: tuple, atol: Any, rtol: Any, eps: Any) -> None:
    if "fwd" in modes:
        check_jvp(f, args, eps=eps, atol=atol, rtol=rtol)
        if order > 1:
            tangents = _random_like(args, np.random.default_rng(7))

            def f_jvp(*primals: Any) -> Any:
                return jvp(f, primals, tuple(tangents))[1]
            _check(f_jvp, args, order - 1, ("fwd",), atol, rtol, eps)
    if "rev" in modes:
        check_vjp(f, args, eps=eps, atol=atol, rtol=rtol)
        if order > 1:
            cts = _random_like(f(*args), np.random.default_rng(8))

            def f_vjp(*primals: Any) -> Any:
                return vjp(f, *primals)[1](cts)
            _check(f_vjp, args, order - 1, ("rev",), atol, rtol, eps)
