"""Jacobians and Hessians: ``jacfwd`` (vmap of jvp), ``jacrev`` (vmap of vjp), ``hessian``."""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from .. import dtypes
from .. import tree as tree_util
from ..core import get_aval
from .ad import _check_argnums, _split_aux, jvp, vjp
from .batching import vmap

__all__ = ["jacfwd", "jacrev", "jacobian", "hessian"]

_registry = tree_util.registry


def _std_basis(leaves: Sequence[Any]) -> tuple[Any, list[int]]:
    """An identity matrix laid out as a list of per-leaf basis blocks (for vmapped jvp/vjp)."""
    from ..primitives import elementwise as ew
    from ..primitives import shape as sh
    sizes = [int(np.prod(get_aval(x).shape, dtype=np.int64)) for x in leaves]
    total = sum(sizes)
    dtype = dtypes.result_type(*[get_aval(x).dtype for x in leaves]) if leaves else dtypes.float32
    eye = ew.convert_element_type(ew.eq(sh.broadcasted_iota(np.int32, (total, total), 0),
                                        sh.broadcasted_iota(np.int32, (total, total), 1)), dtype)
    blocks = []
    offset = 0
    for x, n in zip(leaves, sizes):
        aval = get_aval(x)
        block = sh.slice(eye, (0, offset), (total, offset + n))
        blocks.append(ew.convert_element_type(sh.reshape(block, (total,) + aval.shape), aval.dtype))
        offset += n
    return blocks, sizes


def _unravel(out_leaf: Any, in_leaves: Sequence[Any], sizes: Sequence[int], batch_first: bool) -> list[Any]:
    """Split the batch dimension of a jvp/vjp result into per-input blocks shaped (out..., in...)."""
    from ..primitives import shape as sh
    results = []
    offset = 0
    out_aval = get_aval(out_leaf)
    for x, n in zip(in_leaves, sizes):
        in_shape = get_aval(x).shape
        if batch_first:  # (total, *out_shape) -> (*out_shape, *in_shape)
            block = sh.slice_in_dim(out_leaf, offset, offset + n, 1, 0)
            rest = out_aval.shape[1:]
            block = sh.reshape(block, (n,) + rest)
            perm = tuple(range(1, len(rest) + 1)) + (0,)
            block = sh.reshape(sh.transpose(block, perm), rest + in_shape)
        else:  # (*out_shape, total) -> (*out_shape, *in_shape)
            axis = out_aval.ndim - 1
            block = sh.slice_in_dim(out_leaf, offset, offset + n, 1, axis)
            block = sh.reshape(block, out_aval.shape[:-1] + in_shape)
        results.append(block)
        offset += n
    return results


def jacfwd(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by forward mode (one jvp per input element, vectorised).

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> ec.jacfwd(lambda x: x ** 2)(jnp.array([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """

    @functools.wraps(fun)
    def jac(*args: Any, **kwargs: Any) -> Any:
        nums = _check_argnums(argnums, len(args), "jacfwd")
        diff = tuple(args[i] for i in nums)
        d_leaves, d_tree = _registry.flatten(diff)

        def partial(*d: Any) -> Any:
            full = list(args)
            for i, v in zip(nums, d_tree.unflatten(d)):
                full[i] = v
            return fun(*full, **kwargs)

        basis, sizes = _std_basis(d_leaves)
        aux_cell: list[Any] = []

        def push(*tangent_leaves: Any) -> Any:
            result = jvp(partial, tuple(d_leaves), tuple(tangent_leaves), has_aux=has_aux)
            if has_aux:
                aux_cell.append(result[2])
            return result[1]

        primal_out = partial(*d_leaves)
        if has_aux:
            primal_out, _ = _split_aux(primal_out, "jacfwd")
        out_leaves, out_tree = _registry.flatten(primal_out)
        pushed = vmap(push, out_axes=-1)(*basis)
        pushed_leaves = _registry.flatten(pushed)[0]
        per_out = [_unravel(p, d_leaves, sizes, batch_first=False) for p in pushed_leaves]
        result = _assemble(out_tree, per_out, d_tree, argnums)
        return (result, primal_out_aux(fun, args, kwargs)) if has_aux else result

    def primal_out_aux(f: Any, args: Any, kwargs: Any) -> Any:
        return _split_aux(f(*args, **kwargs), "jacfwd")[1]

    return jac


def jacrev(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
           holomorphic: bool = False, allow_int: bool = False) -> Callable[..., Any]:
    """The Jacobian of ``fun`` by reverse mode (one vjp per output element, vectorised).

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> ec.jacobian(lambda x: jnp.sin(x[0]) * x)(jnp.array([0.0, 2.0])).tolist()
    [[0.0, 0.0], [2.0, 0.0]]
    """

    @functools.wraps(fun)
    def jac(*args: Any, **kwargs: Any) -> Any:
        nums = _check_argnums(argnums, len(args), "jacrev")
        diff = tuple(args[i] for i in nums)
        d_leaves, d_tree = _registry.flatten(diff)

        def partial(*d: Any) -> Any:
            full = list(args)
            for i, v in zip(nums, d_tree.unflatten(d)):
                full[i] = v
            return fun(*full, **kwargs)

        result = vjp(partial, *d_tree.unflatten(d_leaves), has_aux=has_aux)
        out, f_vjp = result[0], result[1]
        out_leaves, out_tree = _registry.flatten(out)
        basis, sizes = _std_basis(out_leaves)

        def pull(*ct_leaves: Any) -> Any:
            return f_vjp(out_tree.unflatten(ct_leaves))

        pulled = vmap(pull)(*basis)  # tuple over diff args, each with leading total dim
        pulled_leaves = _registry.flatten(pulled)[0]
        # pulled_leaves[j]: (total_out, *in_shape_j); build per-output blocks (*out_shape, *in_shape)
        per_out: list[list[Any]] = [[] for _ in out_leaves]
        from ..primitives import shape as sh
        for j, p in enumerate(pulled_leaves):
            offset = 0
            in_shape = get_aval(d_leaves[j]).shape
            for k, (o, n) in enumerate(zip(out_leaves, sizes)):
                block = sh.slice_in_dim(p, offset, offset + n, 1, 0)
                per_out[k].append(sh.reshape(block, get_aval(o).shape + in_shape))
                offset += n
        jac_tree = _assemble(out_tree, per_out, d_tree, argnums)
        return (jac_tree, result[2]) if has_aux else jac_tree

    return jac


jacobian = jacrev


def _assemble(out_tree: Any, per_out: list[list[Any]], d_tree: Any, argnums: int | Sequence[int]) -> Any:
    """Nest as out_tree of (argnums-structured) trees of blocks, as JAX does."""
    outs = []
    for blocks in per_out:
        diff_struct = d_tree.unflatten(blocks)
        outs.append(diff_struct[0] if isinstance(argnums, int) else diff_struct)
    return out_tree.unflatten(outs)


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
            holomorphic: bool = False) -> Callable[..., Any]:
    """The Hessian of a scalar ``fun``: ``jacfwd(jacrev(fun))``.

    >>> import ember.core as ec, ember.core.numpy as jnp
    >>> ec.hessian(lambda x: jnp.sum(x ** 3))(jnp.array([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)
