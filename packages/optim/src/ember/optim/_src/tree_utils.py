"""Arithmetic on pytrees (``tree_add``, ``tree_norm``, moments, casts, random trees) and lookups
of named values inside optimizer states (``tree_get``, ``tree_set``)."""

from __future__ import annotations

import dataclasses
import functools
import operator
from collections.abc import Callable
from typing import Any

import ember.core.numpy as jnp
import ember.core.random as random
from ember.core import tree as _tree
from ember.optim._src import numerics, utils

ArrayLike = Any


# ----------------------------------------------------------------------------------------- math

def tree_add(tree_x: Any, tree_y: Any, *other_trees: Any) -> Any:
    """Leafwise sum of two or more trees.

    >>> tree_add({"a": 1.0}, {"a": 2.0}, {"a": 3.0})
    {'a': 6.0}
    """
    trees = [tree_x, tree_y, *other_trees]
    return utils.tree_map(lambda *leaves: sum(leaves[1:], leaves[0]), *trees)


def tree_sub(tree_x: Any, tree_y: Any) -> Any:
    """Leafwise ``x - y``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_sub({"w": jnp.array([3.0])}, {"w": jnp.array([2.0])})["w"].tolist()
    [1.0]
    """
    return utils.tree_map(operator.sub, tree_x, tree_y)


def tree_mul(tree_x: Any, tree_y: Any) -> Any:
    """Leafwise ``x * y``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_mul({"w": jnp.array([3.0])}, {"w": jnp.array([2.0])})["w"].tolist()
    [6.0]
    """
    return utils.tree_map(operator.mul, tree_x, tree_y)


def tree_div(tree_x: Any, tree_y: Any) -> Any:
    """Leafwise ``x / y``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_div({"w": jnp.array([3.0])}, {"w": jnp.array([2.0])})["w"].tolist()
    [1.5]
    """
    return utils.tree_map(operator.truediv, tree_x, tree_y)


def tree_scale(scalar: ArrayLike, tree: Any) -> Any:
    """``scalar * tree``.

    >>> tree_scale(2.0, {"a": 1.5})
    {'a': 3.0}
    """
    return utils.tree_map(lambda x: scalar * x, tree)


tree_scalar_mul = tree_scale


def tree_add_scale(tree_x: Any, scalar: ArrayLike, tree_y: Any) -> Any:
    """``tree_x + scalar * tree_y``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_add_scalar_mul({"w": jnp.array([1.0])}, 0.5, {"w": jnp.array([4.0])})["w"].tolist()   # x + 0.5 * y
    [3.0]
    """
    scalar = jnp.asarray(scalar)
    return utils.tree_map(lambda x, y: None if x is None else x + scalar * y, tree_x, tree_y,
                          is_leaf=lambda x: x is None)


tree_add_scalar_mul = tree_add_scale


def _vdot(a: Any, b: Any) -> Any:
    a, b = jnp.asarray(a), jnp.asarray(b)
    if jnp.iscomplexobj(a):
        a = jnp.conj(a)
    return jnp.sum(a * b)


def tree_vdot(tree_x: Any, tree_y: Any) -> Any:
    """Inner product ``sum(conj(x) * y)`` over all leaves.

    >>> float(tree_vdot({"a": jnp.ones(3)}, {"a": jnp.full(3, 2.0)}))
    6.0
    """
    vdots = utils.tree_map(_vdot, tree_x, tree_y)
    return functools.reduce(operator.add, _tree.leaves(vdots), jnp.asarray(0.0))


def tree_sum(tree: Any) -> Any:
    """Sum of every element of every leaf.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> float(otu.tree_sum({"a": jnp.array([1.0, 2.0]), "b": jnp.array([3.0])}))
    6.0
    """
    sums = [jnp.sum(x) for x in _tree.leaves(tree)]
    return functools.reduce(operator.add, sums, 0)


def tree_max(tree: Any) -> Any:
    """Largest element over all leaves (``-inf`` for an empty tree).

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> float(otu.tree_max({"a": jnp.array([-1.0, 2.0]), "b": jnp.array([0.5])}))
    2.0
    """
    maxes = [jnp.max(x) for x in _tree.leaves(tree) if jnp.size(x)]
    return functools.reduce(jnp.maximum, maxes, -float("inf"))


def tree_min(tree: Any) -> Any:
    """Smallest element over all leaves (``inf`` for an empty tree).

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> float(otu.tree_min({"a": jnp.array([-1.0, 2.0]), "b": jnp.array([0.5])}))
    -1.0
    """
    mins = [jnp.min(x) for x in _tree.leaves(tree) if jnp.size(x)]
    return functools.reduce(jnp.minimum, mins, float("inf"))


def tree_size(tree: Any) -> int:
    """Total number of elements.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_size({"a": jnp.zeros((2, 3)), "b": jnp.zeros(4)})
    10
    """
    return sum(int(jnp.size(x)) for x in _tree.leaves(tree))


def tree_conj(tree: Any) -> Any:
    """The complex conjugate of every leaf.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_conj({"w": jnp.array([1 + 2j])})["w"].tolist()
    [(1-2j)]
    """
    return utils.tree_map(jnp.conj, tree)


def tree_real(tree: Any) -> Any:
    """The real part of every leaf.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_real({"w": jnp.array([1 + 2j])})["w"].tolist()
    [1.0]
    """
    return utils.tree_map(jnp.real, tree)


def _square(leaf: Any) -> Any:
    leaf = jnp.asarray(leaf)
    if jnp.iscomplexobj(leaf):
        return jnp.square(leaf.real) + jnp.square(leaf.imag)
    return jnp.square(leaf)


def tree_norm(tree: Any, ord: int | str | float | None = None, squared: bool = False) -> Any:
    """Norm of the tree seen as one flat vector: ``ord`` None/2 (Euclidean), 1, or ``inf``.

    >>> float(tree_norm({"a": jnp.asarray([3.0]), "b": jnp.asarray([4.0])}))
    5.0
    """
    if ord is None or ord == 2:
        sqnorm = tree_sum(utils.tree_map(_square, tree))
        return jnp.asarray(sqnorm if squared else jnp.sqrt(sqnorm))
    if ord == 1:
        ret = tree_sum(utils.tree_map(jnp.abs, tree))
    elif ord in ("inf", "infinity") or ord == float("inf"):
        ret = tree_max(utils.tree_map(jnp.abs, tree))
    else:
        raise ValueError(f"Unsupported ord: {ord!r} (use None, 1, 2 or 'inf')")
    return jnp.asarray(_square(jnp.asarray(ret)) if squared else ret)


def tree_l2_norm(tree: Any, squared: bool = False) -> Any:
    """Euclidean norm of the tree (``tree_norm(tree)``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> float(eo.tree_l2_norm({"a": jnp.array([3.0]), "b": jnp.array([4.0])}))
    5.0
    """
    return tree_norm(tree, squared=squared)


def tree_l1_norm(tree: Any) -> Any:
    """The l1 norm of all the leaves together: the sum of the absolute values.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> float(otu.tree_l1_norm({"a": jnp.array([-1.0, 2.0]), "b": jnp.array([3.0])}))
    6.0
    """
    return tree_norm(tree, ord=1)


def tree_linf_norm(tree: Any) -> Any:
    """The infinity norm of all the leaves together: the largest absolute value.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> float(otu.tree_linf_norm({"a": jnp.array([-1.0, 2.0]), "b": jnp.array([-3.0])}))
    3.0
    """
    return tree_norm(tree, ord="inf")


def tree_batch_shape(tree: Any, shape: tuple[int, ...] = ()) -> Any:
    """Broadcast every leaf to ``(*shape, *leaf.shape)``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_batch_shape({"w": 0.0}, (3,))
    {'w': Array([0., 0., 0.], dtype=float32, weak_type=True)}
    """
    return utils.tree_map(lambda x: jnp.broadcast_to(x, (*shape, *jnp.shape(x))), tree)


def tree_zeros_like(tree: Any, dtype: Any = None) -> Any:
    """Zeros shaped (and sharded) like every leaf.

    >>> tree_zeros_like({"a": jnp.ones(2)})["a"].tolist()
    [0.0, 0.0]
    """
    return utils.tree_map(lambda x: utils.zeros_like(x, dtype=dtype), tree)


def tree_ones_like(tree: Any, dtype: Any = None) -> Any:
    """A tree of ones with the structure, shapes and dtypes of ``tree``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_ones_like({"w": jnp.zeros(2)})["w"].tolist()
    [1.0, 1.0]
    """
    return utils.tree_map(lambda x: utils.full_like(x, 1, dtype=dtype), tree)


def tree_full_like(tree: Any, fill_value: ArrayLike, dtype: Any = None) -> Any:
    """A tree of the structure, shapes (and dtypes, unless ``dtype`` is given) of ``tree``, filled with ``fill_value``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_full_like({"w": jnp.zeros(2)}, 7.0)["w"].tolist()
    [7.0, 7.0]
    """
    return utils.tree_map(lambda x: utils.full_like(x, fill_value, dtype=dtype), tree)


def tree_clip(tree: Any, min_value: ArrayLike | None = None, max_value: ArrayLike | None = None) -> Any:
    """Clip every leaf to ``[min_value, max_value]``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_clip({"w": jnp.array([-2.0, 0.5, 3.0])}, -1.0, 1.0)["w"].tolist()
    [-1.0, 0.5, 1.0]
    """
    return utils.tree_map(lambda g: jnp.clip(g, min_value, max_value), tree)


def _pow(g: Any, order: Any) -> Any:
    if isinstance(order, int) and not isinstance(order, bool):
        if order == 1:
            return g
        if order == 2:
            return g * g
    return g ** order


def _is_none(x: Any) -> bool:
    return x is None


@utils.kernel
def _moment(decay: ArrayLike, order: int):
    def f(updates, moments):
        return utils.tree_map(lambda g, t: None if g is None else (1 - decay) * _pow(g, order) + decay * t,
                              updates, moments, is_leaf=_is_none, names=("updates", "moments"))
    return f


def tree_update_moment(updates: Any, moments: Any, decay: ArrayLike, order: int) -> Any:
    """``(1 - decay) * g**order + decay * moment`` leafwise (an exponential moving average).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.update_moment({"w": jnp.array([2.0])}, {"w": jnp.array([0.0])}, decay=0.5, order=2)["w"].tolist()
    [2.0]
    """
    return _moment(decay, order)(updates, moments)


@utils.kernel
def _infinity_moment(decay: ArrayLike, eps: ArrayLike):
    def f(updates, moments):
        return utils.tree_map(lambda g, t: None if g is None else jnp.maximum(jnp.abs(g) + eps, decay * t),
                              updates, moments, is_leaf=_is_none, names=("updates", "moments"))
    return f


def tree_update_infinity_moment(updates: Any, moments: Any, decay: ArrayLike, eps: ArrayLike) -> Any:
    """``max(|g| + eps, decay * moment)`` leafwise (Adamax's infinity norm).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.update_infinity_moment({"w": jnp.array([-3.0])}, {"w": jnp.array([2.0])}, decay=0.5, eps=0.0)["w"].tolist()
    [3.0]
    """
    return _infinity_moment(decay, eps)(updates, moments)


def _orderth_norm(g: Any, order: Any) -> Any:
    if not jnp.iscomplexobj(g):
        return _pow(g, order)
    half = order / 2
    half = int(half) if float(half).is_integer() else half
    return _pow(numerics.abs_sq(g), half)


@utils.kernel
def _moment_per_elem_norm(decay: ArrayLike, order: int):
    def f(updates, moments):
        return utils.tree_map(lambda g, t: None if g is None else (1 - decay) * _orderth_norm(g, order) + decay * t,
                              updates, moments, is_leaf=_is_none, names=("updates", "moments"))
    return f


def tree_update_moment_per_elem_norm(updates: Any, moments: Any, decay: ArrayLike, order: int) -> Any:
    """As :func:`tree_update_moment` with ``|g|**order`` (same for real ``g``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.update_moment_per_elem_norm({"w": jnp.array([3.0, 4.0])}, {"w": jnp.array(0.0)}, decay=0.5, order=2)["w"].tolist()
    [4.5, 8.0]
    """
    return _moment_per_elem_norm(decay, order)(updates, moments)


@utils.kernel
def _bias_correction(decay: ArrayLike):
    def f(moment, count):
        correction = 1 - decay ** count
        return _tree.map(lambda t: t / correction.astype(t.dtype), moment)
    return f


def tree_bias_correction(moment: Any, decay: ArrayLike, count: ArrayLike) -> Any:
    """``moment / (1 - decay**count)`` leafwise (Adam's debiasing).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> [f"{v:.4f}" for v in eo.bias_correction({"m": jnp.array([0.1])}, decay=0.9, count=1)["m"].tolist()]   # m / (1 - 0.9)
    ['1.0000']
    """
    return _bias_correction(decay)(moment, count)


def tree_where(condition: ArrayLike, tree_x: Any, tree_y: Any) -> Any:
    """Leafwise ``where(condition, x, y)``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_where(jnp.array(True), {"w": jnp.array([1.0])}, {"w": jnp.array([2.0])})["w"].tolist()
    [1.0]
    """
    return utils.tree_map(lambda x, y: jnp.where(condition, x, y), tree_x, tree_y)


def tree_allclose(a: Any, b: Any, rtol: ArrayLike = 1e-5, atol: ArrayLike = 1e-8, equal_nan: bool = False) -> Any:
    """True when every pair of leaves is ``allclose``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_allclose({"w": jnp.array([1.0])}, {"w": jnp.array([1.0 + 1e-7])})
    Array(True, dtype=bool)
    """
    close = utils.tree_map(lambda x, y: jnp.allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), a, b)
    return functools.reduce(operator.and_, _tree.leaves(close), True)


# ------------------------------------------------------------------------------------- casting

def tree_cast(tree: Any, dtype: Any) -> Any:
    """Cast every leaf to ``dtype`` (no-op when ``dtype`` is None).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> eo.tree_cast({"w": jnp.ones(2)}, jnp.bfloat16)["w"].dtype
    dtype(bfloat16)
    """
    if dtype is None:
        return tree
    return utils.tree_map(lambda t: t.astype(dtype), tree)


def tree_cast_like(tree: Any, other_tree: Any) -> Any:
    """Cast every leaf to the dtype of the matching leaf of ``other_tree``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_cast_like({"w": jnp.ones(2)}, {"w": jnp.zeros(2, jnp.bfloat16)})["w"].dtype
    dtype(bfloat16)
    """
    return utils.tree_map(lambda t, o: t.astype(o.dtype) if hasattr(o, "dtype") else t, tree, other_tree)


def _lower(d1: Any, d2: Any) -> Any:
    p = jnp.promote_types(d1, d2)
    if p == d1:
        return d2
    if p == d2:
        return d1
    raise ValueError(f"Cannot order dtypes {d1} and {d2}: neither promotes to the other")


def tree_dtype(tree: Any, mixed_dtype_handler: str | None = None) -> Any:
    """The dtype of the tree's leaves. With mixed dtypes: error (None), or ``'promote'``,
    ``'highest'``, ``'lowest'``.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import tree_utils as otu
    >>> otu.tree_dtype({"a": jnp.ones(1), "b": jnp.ones(1, jnp.bfloat16)}, "promote")
    dtype('float32')
    """
    leaves = _tree.leaves(tree)
    if not leaves:
        return jnp.asarray(0.0).dtype
    dtypes = [jnp.asarray(x).dtype for x in leaves]
    if mixed_dtype_handler is None:
        paths = utils._paths(tree, None)
        bad = [f"{p}: {d}" for (p, _), d in zip(paths, dtypes) if d != dtypes[0]]
        if bad:
            raise ValueError(f"Expected dtype={dtypes[0]} for every leaf but got " + ", ".join(bad))
        return dtypes[0]
    if mixed_dtype_handler == "promote":
        return functools.reduce(jnp.promote_types, dtypes)
    if mixed_dtype_handler == "highest":
        return functools.reduce(lambda a, b: b if _lower(a, b) == a else a, dtypes)
    if mixed_dtype_handler == "lowest":
        return functools.reduce(_lower, dtypes)
    raise ValueError(f"Invalid mixed_dtype_handler={mixed_dtype_handler!r}: use None, 'promote', 'highest' or 'lowest'")


# -------------------------------------------------------------------------------------- random

def tree_split_key_like(rng_key: Any, target_tree: Any) -> Any:
    """One key per leaf of ``target_tree``, as a tree of the same structure.

    >>> import ember.core.numpy as jnp, ember.core.random as random
    >>> from ember.optim import tree_utils as otu
    >>> keys = otu.tree_split_key_like(random.key(0), {"a": jnp.zeros(2), "b": jnp.zeros(3)})
    >>> keys["a"].shape, keys["a"].tolist() != keys["b"].tolist()
    ((2,), True)
    """
    treedef = _tree.structure(target_tree)
    keys = random.split(rng_key, treedef.num_leaves)
    return _tree.unflatten(treedef, [keys[i] for i in range(treedef.num_leaves)])


def tree_random_like(rng_key: Any, target_tree: Any, sampler: Callable[..., Any] = random.normal,
                     dtype: Any = None) -> Any:
    """A tree of random arrays shaped like ``target_tree``: ``sampler(key, shape, dtype)`` per leaf.

    >>> import ember.core.random as random
    >>> tree_random_like(random.PRNGKey(0), {"a": jnp.zeros(3)})["a"].shape
    (3,)
    """
    keys = tree_split_key_like(rng_key, target_tree)
    return utils.tree_map(lambda leaf, key: sampler(key, leaf.shape, dtype or leaf.dtype), target_tree, keys)


# ------------------------------------------------------------------------ named values in states

@dataclasses.dataclass(frozen=True)
class NamedTupleKey:
    """A path entry naming a NamedTuple field together with the NamedTuple's class.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> from ember.optim import tree_utils as otu
    >>> state = eo.adam(0.1).init({"w": jnp.zeros(2)})
    >>> [path for path, _ in otu.tree_get_all_with_path(state, "count")]
    [(SequenceKey(idx=0), NamedTupleKey(tuple_name='ScaleByAdamState', name='count'))]
    """

    tuple_name: str
    name: str

    def __str__(self) -> str:
        return f"{self.tuple_name}.{self.name}"


def _is_named_tuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _is_keyed(node: Any) -> bool:
    return _is_named_tuple(node) or isinstance(node, dict)


def _children(path: tuple, node: Any) -> list[tuple[tuple, Any, Any]]:
    """(child path, key, child) of a NamedTuple, dict, list or tuple node, else []."""
    if _is_named_tuple(node):
        name = type(node).__name__
        return [((*path, NamedTupleKey(name, f)), f, getattr(node, f)) for f in node._fields]
    if isinstance(node, dict):
        return [((*path, _tree.DictKey(k)), k, v) for k, v in node.items()]
    if isinstance(node, (list, tuple)):
        return [((*path, _tree.SequenceKey(i)), i, v) for i, v in enumerate(node)]
    return []


def tree_get_all_with_path(tree: Any, key: Any,
                           filtering: Callable[[tuple, Any], bool] | None = None) -> list[tuple[tuple, Any]]:
    """Every value stored under ``key`` (a NamedTuple field, a dict key, or a NamedTuple class
    name) anywhere in ``tree``, with its path.

    >>> import ember.optim as eo
    >>> state = eo.adam(1e-3).init({"w": jnp.zeros(2)})
    >>> [str(p[-1]) for p, _ in tree_get_all_with_path(state, "count")]
    ['ScaleByAdamState.count']
    """
    found: list[tuple[tuple, Any]] = []

    def walk(path, node):
        if _is_named_tuple(node) and type(node).__name__ == key:
            if filtering is None or filtering(path, node):
                found.append((path, node))
        for child_path, k, child in _children(path, node):
            if _is_keyed(node) and k == key:
                if filtering is None or filtering(child_path, child):
                    found.append((child_path, child))
            walk(child_path, child)

    walk((), tree)
    return found


def tree_get(tree: Any, key: Any, default: Any = None, filtering: Callable[[tuple, Any], bool] | None = None) -> Any:
    """The single value stored under ``key`` in ``tree`` (``default`` if none; KeyError if several).

    >>> import ember.optim as eo
    >>> opt = eo.inject_hyperparams(eo.sgd)(learning_rate=0.1)
    >>> round(float(tree_get(opt.init({"w": jnp.zeros(2)}), "learning_rate")), 3)
    0.1
    """
    found = tree_get_all_with_path(tree, key, filtering)
    if len(found) > 1:
        paths = ", ".join("".join(str(k) for k in p) for p, _ in found)
        raise KeyError(f"Found several values for {key!r} (at {paths}); use filtering to select one")
    return found[0][1] if found else default


def tree_set(tree: Any, filtering: Callable[[tuple, Any], bool] | None = None, /, **kwargs: Any) -> Any:
    """A copy of ``tree`` where every value stored under each keyword's name is replaced.

    >>> import ember.optim as eo
    >>> opt = eo.inject_hyperparams(eo.sgd)(learning_rate=0.1)
    >>> state = tree_set(opt.init({"w": jnp.zeros(2)}), learning_rate=jnp.asarray(0.5))
    >>> float(tree_get(state, "learning_rate"))
    0.5
    """
    for key in kwargs:
        if not tree_get_all_with_path(tree, key, filtering):
            raise KeyError(f"Found no value stored under {key!r} in the tree")

    def rebuild(path, node):
        if _is_named_tuple(node) and type(node).__name__ in kwargs and (filtering is None or filtering(path, node)):
            return kwargs[type(node).__name__]
        children = _children(path, node)
        if not children:
            return node
        new = {}
        for child_path, k, child in children:
            if _is_keyed(node) and k in kwargs and (filtering is None or filtering(child_path, child)):
                new[k] = kwargs[k]
            else:
                new[k] = rebuild(child_path, child)
        if _is_named_tuple(node):
            return type(node)(**new)
        if isinstance(node, dict):
            out = type(node)() if type(node) is not dict else {}
            for k in node:
                out[k] = new[k]
            return out
        values = [new[i] for i in range(len(node))]
        return type(node)(values) if isinstance(node, list) else tuple(values)

    return rebuild((), tree)


# ---------------------------------------------------------------------- per-parameter mapping

class _ParamsPlaceholder:
    """Stands for the params when building a state with :func:`tree_map_params`."""


_tree.register_pytree_node(_ParamsPlaceholder, lambda x: ((), None), lambda aux, children: _ParamsPlaceholder())


def tree_map_params(initable: Any, f: Callable[..., Any], state: Any, /, *rest: Any,
                    transform_non_params: Callable[..., Any] | None = None,
                    is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Apply ``f`` to the parts of an optimizer ``state`` that are shaped like the params (e.g.
    ``mu`` and ``nu`` of Adam), and ``transform_non_params`` (default: identity) to the rest.

    ``initable`` is the optimizer (or its ``init``) that produced ``state``.

    >>> import ember.optim as eo
    >>> opt = eo.adam(1e-3)
    >>> state = opt.init({"w": jnp.ones(2)})
    >>> doubled = tree_map_params(opt, lambda x: 2 * x + 1, state)
    >>> doubled[0].mu["w"].tolist(), int(doubled[0].count)
    ([1.0, 1.0], 0)
    """
    init = initable.init if hasattr(initable, "init") else initable
    with_placeholders = init(_ParamsPlaceholder())

    def map_params(placeholder_or_value, value):
        if isinstance(placeholder_or_value, _ParamsPlaceholder):
            return _tree.map(f, value, *rest, is_leaf=is_leaf)
        if transform_non_params is not None:
            return transform_non_params(value)
        return value

    return _tree.map(map_params, with_placeholders, state, is_leaf=lambda v: isinstance(v, _ParamsPlaceholder))
