"""Products and contractions: dot, matmul, vdot, vecdot, matvec, vecmat, inner, outer, tensordot,
einsum, kron, and trace / diagonal / cross.

Every contraction is one ``dot_general`` (einsum: one per pair of operands, in a greedy order),
with NumPy's broadcasting of batch dimensions done by the dimension numbers rather than by
materialising broadcast copies.

    >>> import ember.core.numpy as jnp
    >>> jnp.einsum("ij,jk->ik", jnp.ones((2, 3)), jnp.ones((3, 4))).shape
    (2, 4)
"""

from __future__ import annotations

import math
import string
from typing import Any, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import Tracer, get_aval, operator_index
from ..primitives import elementwise as ew
from ..primitives import reductions as red
from ..primitives import shape as sh
from ..primitives.dot import canonicalize_precision, dot_general
from .util import canonicalize_axis, check_arraylike, numpy_jit, promote_dtypes

__all__ = [
    "cross",
    "diagonal",
    "dot",
    "einsum",
    "einsum_path",
    "inner",
    "kron",
    "matmul",
    "matvec",
    "outer",
    "tensordot",
    "trace",
    "vdot",
    "vecdot",
    "vecmat",
]

_i32 = np.dtype(np.int32)


# ----------------------------------------------------------------------------------------------
# Helpers

def _arr(name: str, *xs: Any) -> list[Any]:
    check_arraylike(name, *xs)
    from .creation import asarray
    return [x if isinstance(x, (Array, Tracer)) else asarray(x) for x in xs]


def _shape(x: Any) -> tuple[int, ...]:
    return get_aval(x).shape


def _ndim(x: Any) -> int:
    return get_aval(x).ndim


def _result_dtype(preferred: Any, *xs: Any) -> tuple[np.dtype, bool]:
    """The output dtype and weak type of a contraction of ``xs`` (``preferred`` wins when given)."""
    if preferred is not None:
        return dtypes.canonicalize_dtype(preferred), False
    dtype, weak = dtypes.result_type(*xs, return_weak_type_flag=True)
    return dtype, weak


def _finish(x: Any, dtype: np.dtype, weak: bool) -> Any:
    return ew.convert_element_type(x, dtype, weak)


def _contract(a: Any, b: Any, dims: Any, precision: Any, dtype: np.dtype) -> Any:
    return dot_general(a, b, dims, precision=precision, preferred_element_type=dtype)


def _moveaxis(x: Any, src: int, dst: int) -> Any:
    nd = _ndim(x)
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return sh.transpose(x, tuple(perm))


def _ravel(x: Any) -> Any:
    return sh.reshape(x, (math.prod(_shape(x)),))


def _mul_broadcast(a: Any, b: Any) -> Any:
    from .ufuncs import multiply
    return multiply(a, b)


def _conj_if_complex(x: Any) -> Any:
    return ew.conj(x) if get_aval(x).dtype.kind == "c" else x


def _index(x: Any, i: int, axis: int) -> Any:
    """``x`` at static index ``i`` of ``axis`` (the axis removed)."""
    return sh.index_in_dim(x, i, axis, keepdims=False)


# ----------------------------------------------------------------------------------------------
# dot / matmul / vdot / vecdot / matvec / vecmat / inner / outer / tensordot

@numpy_jit(static_argnames=("precision", "preferred_element_type"))
def dot(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """NumPy's ``dot``: a product of scalars, an inner product of vectors, or a contraction of
    the last axis of ``a`` with the second-to-last (or only) axis of ``b``.

    >>> import ember.core.numpy as jnp
    >>> jnp.dot(jnp.ones((2, 3)), jnp.ones(3)).tolist()
    [3.0, 3.0]
    """
    a, b = _arr("dot", a, b)
    dtype, weak = _result_dtype(preferred_element_type, a, b)
    a, b = promote_dtypes(a, b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        return _finish(_mul_broadcast(a, b), dtype, weak)
    b_axis = 0 if _ndim(b) == 1 else _ndim(b) - 2
    if _shape(a)[-1] != _shape(b)[b_axis]:
        raise ValueError(f"dot: shapes {_shape(a)} and {_shape(b)} are not aligned: {_shape(a)[-1]} (dim "
                         f"{_ndim(a) - 1}) != {_shape(b)[b_axis]} (dim {b_axis})")
    out = _contract(a, b, (((_ndim(a) - 1,), (b_axis,)), ((), ())), precision, dtype)
    return _finish(out, dtype, weak)


@numpy_jit(static_argnames=("precision", "preferred_element_type"))
def matmul(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Matrix product with NumPy's broadcasting of the leading (batch) dimensions; 1-D operands
    are treated as vectors.

    >>> import ember.core.numpy as jnp
    >>> (jnp.ones((5, 2, 3)) @ jnp.ones((3, 4))).shape
    (5, 2, 4)
    """
    a, b = _arr("matmul", a, b)
    for i, x in enumerate((a, b)):
        if _ndim(x) < 1:
            raise ValueError(f"matmul: argument {i} is a scalar (0-d); use multiply or * for scalars")
    dtype, weak = _result_dtype(preferred_element_type, a, b)
    a, b = promote_dtypes(a, b)
    a_shape, b_shape = _shape(a), _shape(b)
    a_mat, b_mat = len(a_shape) > 1, len(b_shape) > 1
    a_contract = a_shape[-1]
    b_contract = b_shape[-2] if b_mat else b_shape[0]
    if a_contract != b_contract:
        raise ValueError(f"matmul: input operand 1 has a mismatch in its core dimension 0 (size {b_contract} "
                         f"is different from {a_contract}); shapes {a_shape} and {b_shape}")
    a_batch = a_shape[:-2] if a_mat else ()
    b_batch = b_shape[:-2] if b_mat else ()
    nb = max(len(a_batch), len(b_batch))
    a_batch = (None,) * (nb - len(a_batch)) + tuple(a_batch)
    b_batch = (None,) * (nb - len(b_batch)) + tuple(b_batch)
    # Each output batch dimension is a dot_general batch dimension (present in both), or a free
    # dimension of whichever operand has it (the other is missing or has size 1, squeezed away).
    a_squeeze: list[int] = []
    b_squeeze: list[int] = []
    a_bdims: list[int] = []
    b_bdims: list[int] = []
    idx_batch: list[int] = []
    idx_a: list[int] = []
    idx_b: list[int] = []
    for i, (na, nbb) in enumerate(zip(a_batch, b_batch)):
        if na is None:
            idx_b.append(i)
        elif nbb is None:
            idx_a.append(i)
        elif na == 1 and nbb != 1:
            idx_b.append(i)
            a_squeeze.append(len(idx_batch) + len(idx_a) + len(a_squeeze))
        elif nbb == 1 and na != 1:
            idx_a.append(i)
            b_squeeze.append(len(idx_batch) + len(idx_b) + len(b_squeeze))
        elif na == nbb:
            a_bdims.append(len(idx_batch) + len(idx_a))
            b_bdims.append(len(idx_batch) + len(idx_b))
            idx_batch.append(i)
        else:
            raise ValueError(f"matmul: batch dimensions of shapes {a_shape} and {b_shape} cannot be broadcast")
    if a_mat:
        idx_a.append(nb)
    if b_mat:
        idx_b.append(nb + int(a_mat))
    a = sh.squeeze(a, tuple(a_squeeze))
    b = sh.squeeze(b, tuple(b_squeeze))
    dims = (((_ndim(a) - 1,), (_ndim(b) - 1 - int(b_mat),)), (tuple(a_bdims), tuple(b_bdims)))
    out = _contract(a, b, dims, precision, dtype)
    perm = tuple(int(p) for p in np.argsort(idx_batch + idx_a + idx_b))
    return _finish(sh.transpose(out, perm), dtype, weak)


@numpy_jit(static_argnames=("precision", "preferred_element_type"))
def vdot(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """The dot product of the flattened arrays, conjugating ``a``.

    >>> import ember.core.numpy as jnp
    >>> float(jnp.vdot(jnp.arange(3.0), jnp.arange(3.0)))
    5.0
    """
    a, b = _arr("vdot", a, b)
    return dot(_ravel(_conj_if_complex(a)), _ravel(b), precision=precision,
               preferred_element_type=preferred_element_type)


@numpy_jit(static_argnames=("axis", "precision", "preferred_element_type"))
def vecdot(x1: Any, x2: Any, /, *, axis: int = -1, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Vector dot products along ``axis`` (``x1`` conjugated), broadcasting the other dimensions.

    >>> import ember.core.numpy as jnp
    >>> jnp.vecdot(jnp.ones((2, 3)), jnp.ones(3)).tolist()
    [3.0, 3.0]
    """
    x1, x2 = _arr("vecdot", x1, x2)
    ax1 = canonicalize_axis(axis, _ndim(x1), "axis")
    ax2 = canonicalize_axis(axis, _ndim(x2), "axis")
    if _shape(x1)[ax1] != _shape(x2)[ax2]:
        raise ValueError(f"vecdot: axes must have equal sizes, got shapes {_shape(x1)} and {_shape(x2)} with "
                         f"axis={axis}")
    x1 = _moveaxis(_conj_if_complex(x1), ax1, -1)
    x2 = _moveaxis(x2, ax2, -1)
    out = matmul(sh.expand_dims(x1, (_ndim(x1) - 1,)), sh.expand_dims(x2, (_ndim(x2),)), precision=precision,
                 preferred_element_type=preferred_element_type)
    return sh.squeeze(out, (_ndim(out) - 2, _ndim(out) - 1))


@numpy_jit
def matvec(x1: Any, x2: Any, /) -> Any:
    """Matrix-vector products ``x1[..., m, n] @ x2[..., n]``, broadcasting batch dimensions.

    >>> import ember.core.numpy as jnp
    >>> jnp.matvec(jnp.eye(2) * 2, jnp.array([1.0, 3.0])).tolist()
    [2.0, 6.0]
    """
    x1, x2 = _arr("matvec", x1, x2)
    if _ndim(x1) < 2 or _ndim(x2) < 1:
        raise ValueError(f"matvec: needs a matrix and a vector, got shapes {_shape(x1)} and {_shape(x2)}")
    out = matmul(x1, sh.expand_dims(x2, (_ndim(x2),)))
    return sh.squeeze(out, (_ndim(out) - 1,))


@numpy_jit
def vecmat(x1: Any, x2: Any, /) -> Any:
    """Vector-matrix products ``conj(x1[..., m]) @ x2[..., m, n]``, broadcasting batch dimensions.

    >>> import ember.core.numpy as jnp
    >>> jnp.vecmat(jnp.array([1.0, 3.0]), jnp.eye(2) * 2).tolist()
    [2.0, 6.0]
    """
    x1, x2 = _arr("vecmat", x1, x2)
    if _ndim(x1) < 1 or _ndim(x2) < 2:
        raise ValueError(f"vecmat: needs a vector and a matrix, got shapes {_shape(x1)} and {_shape(x2)}")
    out = matmul(sh.expand_dims(_conj_if_complex(x1), (_ndim(x1) - 1,)), x2)
    return sh.squeeze(out, (_ndim(out) - 2,))


@numpy_jit(static_argnames=("precision", "preferred_element_type"))
def inner(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Contraction of the last axes of ``a`` and ``b`` (a product when either is a scalar).

    >>> import ember.core.numpy as jnp
    >>> float(jnp.inner(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0])))
    11.0
    """
    a, b = _arr("inner", a, b)
    if _ndim(a) == 0 or _ndim(b) == 0:
        dtype, weak = _result_dtype(preferred_element_type, a, b)
        return _finish(_mul_broadcast(*promote_dtypes(a, b)), dtype, weak)
    return tensordot(a, b, (-1, -1), precision=precision, preferred_element_type=preferred_element_type)


@numpy_jit
def outer(a: Any, b: Any, out: None = None) -> Any:
    """The outer product of the flattened ``a`` and ``b``.

    >>> import ember.core.numpy as jnp
    >>> jnp.outer(jnp.arange(2), jnp.arange(3)).tolist()
    [[0, 0, 0], [0, 1, 2]]
    """
    if out is not None:
        raise NotImplementedError("outer: the out argument is not supported (arrays are immutable)")
    a, b = _arr("outer", a, b)
    a, b = promote_dtypes(a, b)
    a = sh.reshape(a, (math.prod(_shape(a)), 1))
    return _mul_broadcast(a, _ravel(b))


def _tensordot_axes(axes: Any, a_nd: int, b_nd: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        n = operator_index(axes)
        if n < 0 or n > min(a_nd, b_nd):
            raise ValueError(f"tensordot: number of axes {n} exceeds the input ranks ({a_nd} and {b_nd})")
        return tuple(range(a_nd - n, a_nd)), tuple(range(n))
    if isinstance(axes, (tuple, list)) and len(axes) == 2:
        ax1, ax2 = axes
        if isinstance(ax1, (int, np.integer)) and isinstance(ax2, (int, np.integer)):
            return (canonicalize_axis(ax1, a_nd),), (canonicalize_axis(ax2, b_nd),)
        if isinstance(ax1, (tuple, list)) and isinstance(ax2, (tuple, list)):
            if len(ax1) != len(ax2):
                raise ValueError(f"tensordot: axes lists must have equal lengths, got {ax1} and {ax2}")
            return (tuple(canonicalize_axis(i, a_nd) for i in ax1), tuple(canonicalize_axis(i, b_nd) for i in ax2))
        raise TypeError(f"tensordot: both axes lists must be ints or sequences of ints, got {ax1!r} and {ax2!r}")
    raise TypeError(f"tensordot: axes must be an int, a pair of ints or a pair of sequences, got {axes!r}")


def tensordot(a: Any, b: Any, axes: Any = 2, *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Contract ``axes`` of ``a`` with ``axes`` of ``b``: an int ``n`` means the last ``n`` of ``a``
    with the first ``n`` of ``b``; a pair gives the axes explicitly.

    >>> import ember.core.numpy as jnp
    >>> jnp.tensordot(jnp.ones((2, 3, 4)), jnp.ones((3, 4, 5))).shape
    (2, 5)
    """
    a, b = _arr("tensordot", a, b)
    dims = _tensordot_axes(axes, _ndim(a), _ndim(b))
    return _tensordot(a, b, dims=dims, precision=canonicalize_precision(precision),
                      preferred_element_type=preferred_element_type)


@numpy_jit(static_argnames=("dims", "precision", "preferred_element_type"))
def _tensordot(a: Any, b: Any, dims: Any, precision: Any, preferred_element_type: Any) -> Any:
    dtype, weak = _result_dtype(preferred_element_type, a, b)
    a, b = promote_dtypes(a, b)
    for i, j in zip(*dims):
        if _shape(a)[i] != _shape(b)[j]:
            raise ValueError(f"tensordot: shape mismatch for sum: axis {i} of {_shape(a)} and axis {j} of "
                             f"{_shape(b)}")
    out = _contract(a, b, (dims, ((), ())), precision, dtype)
    return _finish(out, dtype, weak)


# ----------------------------------------------------------------------------------------------
# einsum

def _einsum_terms(subscripts: Any, operands: Sequence[Any]) -> tuple[str, list[Any]]:
    """Normalise the interleaved form ``einsum(x, [0, 1], y, [1, 2], [0, 2])`` to a string."""
    if isinstance(subscripts, str):
        return subscripts, list(operands)
    args = [subscripts] + list(operands)
    arrays, terms = args[0::2], args[1::2]
    out_term = None
    if len(arrays) > len(terms):  # a trailing output sublist
        out_term = arrays.pop()

    def to_str(sub: Any) -> str:
        chars = []
        for s in sub:
            if s is Ellipsis:
                chars.append("...")
            else:
                i = operator_index(s)
                if not 0 <= i < 52:
                    raise ValueError(f"einsum: subscript indices must be in [0, 52), got {i}")
                chars.append(string.ascii_letters[i])
        return "".join(chars)

    spec = ",".join(to_str(t) for t in terms)
    if out_term is not None:
        spec += "->" + to_str(out_term)
    return spec, arrays


def _parse_einsum(spec: str, shapes: Sequence[tuple[int, ...]]) -> tuple[tuple[str, ...], str]:
    spec = spec.replace(" ", "")
    if "->" in spec:
        lhs, out = spec.split("->")
        explicit = True
    else:
        lhs, out, explicit = spec, "", False
    terms = lhs.split(",") if lhs or shapes else []
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the subscripts {spec!r} name {len(terms)} operands but {len(shapes)} were given")
    for t in terms + [out]:
        bad = set(t.replace("...", "")) - set(string.ascii_letters)
        if bad or t.count("...") > 1:
            raise ValueError(f"einsum: invalid subscript term {t!r} in {spec!r} (use letters and at most one '...')")
    used = set("".join(terms).replace("...", "")) | set(out.replace("...", ""))
    free = [c for c in string.ascii_letters if c not in used]
    ell_ranks = []
    for t, shape in zip(terms, shapes):
        named = len(t.replace("...", ""))
        if "..." in t:
            if named > len(shape):
                raise ValueError(f"einsum: operand of shape {shape} has fewer dimensions than subscript {t!r}")
            ell_ranks.append(len(shape) - named)
        elif named != len(shape):
            raise ValueError(f"einsum: subscript {t!r} has {named} indices but its operand has shape {shape}")
        else:
            ell_ranks.append(0)
    n_ell = max(ell_ranks, default=0)
    ell = "".join(free[:n_ell])
    expanded = tuple(t.replace("...", ell[n_ell - r:] if r else "") for t, r in zip(terms, ell_ranks))
    if explicit:
        out = out.replace("...", ell)  # without '...' in the output, the broadcast dimensions are summed
    else:
        counts: dict[str, int] = {}
        for t in expanded:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    if len(set(out)) != len(out):
        raise ValueError(f"einsum: output subscript {out!r} repeats an index")
    known = set("".join(expanded))
    for c in out:
        if c not in known:
            raise ValueError(f"einsum: output index {c!r} does not appear in the inputs of {spec!r}")
    sizes: dict[str, int] = {}
    for t, shape in zip(expanded, shapes):
        for c, n in zip(t, shape):
            if c in sizes and n != sizes[c] and 1 not in (n, sizes[c]):
                raise ValueError(f"einsum: index {c!r} has inconsistent sizes {sizes[c]} and {n} in {spec!r}")
            sizes[c] = max(sizes.get(c, n), n) if n != 1 else sizes.get(c, 1)
    return expanded, out


def _take_diagonal(x: Any, term: str) -> tuple[Any, str]:
    """Collapse repeated indices within one operand (``'ii' -> 'i'``)."""
    while len(set(term)) != len(term):
        c = next(ch for ch in term if term.count(ch) > 1)
        i = term.index(c)
        j = term.index(c, i + 1)
        shape = _shape(x)
        mask = ew.eq(sh.broadcasted_iota(_i32, shape, i), sh.broadcasted_iota(_i32, shape, j))
        x = red.reduce_sum(ew.select(mask, x, ew.full_like(x, 0)), (j,))
        term = term[:j] + term[j + 1:]
    return x, term


def _sum_unneeded(x: Any, term: str, needed: set[str]) -> tuple[Any, str]:
    axes = tuple(i for i, c in enumerate(term) if c not in needed)
    if not axes:
        return x, term
    return red.reduce_sum(x, axes), "".join(c for c in term if c in needed)


def _squeeze_broadcast(x: Any, term: str, sizes: dict[str, int]) -> tuple[Any, str]:
    """Drop size-1 dimensions whose index has a larger size elsewhere (they broadcast)."""
    shape = _shape(x)
    axes = tuple(i for i, (c, n) in enumerate(zip(term, shape)) if n == 1 and sizes[c] != 1)
    if not axes:
        return x, term
    return sh.squeeze(x, axes), "".join(c for i, c in enumerate(term) if i not in axes)


def _greedy_pair(terms: Sequence[str], sizes: dict[str, int], output: str) -> tuple[int, int]:
    best, best_key = (0, 1), None
    for i in range(len(terms)):
        for j in range(i + 1, len(terms)):
            others = set(output).union(*(set(t) for k, t in enumerate(terms) if k not in (i, j)))
            union = set(terms[i]) | set(terms[j])
            kept = [c for c in union if c in others]
            out_size = math.prod(sizes[c] for c in kept)
            in_size = math.prod(sizes[c] for c in terms[i]) + math.prod(sizes[c] for c in terms[j])
            flops = math.prod(sizes[c] for c in union)
            key = (out_size - in_size, flops)
            if best_key is None or key < best_key:
                best, best_key = (i, j), key
    return best


def _einsum_path(terms: Sequence[str], output: str, sizes: dict[str, int], optimize: Any) -> list[tuple[int, ...]]:
    n = len(terms)
    if isinstance(optimize, (list, tuple)) and optimize and optimize[0] == "einsum_path":
        optimize = optimize[1:]
    if isinstance(optimize, (list, tuple)):
        return [tuple(operator_index(i) for i in step) for step in optimize]
    if optimize is False or optimize is None:
        return [(0, 1)] * (n - 1)
    if optimize not in (True, "auto", "greedy", "optimal", "dp", "branch-2", "branch-all", "auto-hq"):
        raise ValueError(f"einsum: unknown optimize value {optimize!r}")
    if n <= 5 and optimize != "greedy":
        return _optimal_path(list(terms), output, sizes)
    path = []
    current = list(terms)
    while len(current) > 1:
        i, j = _greedy_pair(current, sizes, output)
        current, _ = _after_pair(current, i, j, output, sizes)
        path.append((i, j))
    return path


def _after_pair(terms: list[str], i: int, j: int, output: str, sizes: dict[str, int]) -> tuple[list[str], int]:
    """The operand terms after contracting ``i`` with ``j`` (result appended last), and its flop count."""
    others = set(output).union(*(set(t) for k, t in enumerate(terms) if k not in (i, j)))
    new = "".join(c for c in terms[i] if c in others) + "".join(
        c for c in terms[j] if c in others and c not in terms[i])
    flops = math.prod(sizes[c] for c in set(terms[i]) | set(terms[j]))
    return [t for k, t in enumerate(terms) if k not in (i, j)] + [new], flops


def _optimal_path(terms: list[str], output: str, sizes: dict[str, int]) -> list[tuple[int, ...]]:
    """The pairwise order with the fewest multiply-adds, by exhaustive search (few operands only)."""
    best: list[Any] = [None, None]

    def search(current: list[str], path: list[tuple[int, int]], cost: int) -> None:
        if best[0] is not None and cost >= best[0]:
            return
        if len(current) == 1:
            best[0], best[1] = cost, list(path)
            return
        for i in range(len(current)):
            for j in range(i + 1, len(current)):
                nxt, flops = _after_pair(current, i, j, output, sizes)
                search(nxt, path + [(i, j)], cost + flops)

    search(terms, [], 0)
    return best[1] or []


def _contract_pair(x: Any, tx: str, y: Any, ty: str, needed: set[str], sizes: dict[str, int], precision: Any,
                   dtype: np.dtype) -> tuple[Any, str]:
    x, tx = _sum_unneeded(x, tx, needed | set(ty))
    y, ty = _sum_unneeded(y, ty, needed | set(tx))
    shared = [c for c in tx if c in ty]
    batch = [c for c in shared if c in needed]
    contract = [c for c in shared if c not in needed]
    dims = ((tuple(tx.index(c) for c in contract), tuple(ty.index(c) for c in contract)),
            (tuple(tx.index(c) for c in batch), tuple(ty.index(c) for c in batch)))
    out = _contract(x, y, dims, precision, dtype)
    term = "".join(batch) + "".join(c for c in tx if c not in shared) + "".join(c for c in ty if c not in shared)
    return out, term


@numpy_jit(static_argnames=("terms", "output", "optimize", "precision", "preferred_element_type"))
def _einsum(operands: tuple[Any, ...], terms: tuple[str, ...], output: str, optimize: Any, precision: Any,
            preferred_element_type: Any) -> Any:
    dtype, weak = _result_dtype(preferred_element_type, *operands)
    ops = list(promote_dtypes(*operands)) if len(operands) > 1 else list(operands)
    sizes: dict[str, int] = {}
    for t, x in zip(terms, ops):
        for c, n in zip(t, _shape(x)):
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    cur = list(terms)
    for k in range(len(ops)):
        ops[k], cur[k] = _take_diagonal(ops[k], cur[k])
        ops[k], cur[k] = _squeeze_broadcast(ops[k], cur[k], sizes)
    for k in range(len(ops)):
        needed = set(output).union(*(set(t) for m, t in enumerate(cur) if m != k))
        ops[k], cur[k] = _sum_unneeded(ops[k], cur[k], needed)
    for step in _einsum_path(cur, output, sizes, optimize):
        if len(set(step)) != len(step) or any(not 0 <= i < len(ops) for i in step):
            raise ValueError(f"einsum: invalid contraction {step} for {len(ops)} operands")
        chosen = [ops[i] for i in step]
        chosen_terms = [cur[i] for i in step]
        rest = [i for i in range(len(ops)) if i not in step]
        ops = [ops[i] for i in rest]
        cur = [cur[i] for i in rest]
        x, tx = chosen[0], chosen_terms[0]
        for m in range(1, len(chosen)):
            needed = set(output).union(*(set(t) for t in cur), *(set(t) for t in chosen_terms[m + 1:]))
            x, tx = _contract_pair(x, tx, chosen[m], chosen_terms[m], needed, sizes, precision, dtype)
        ops.append(x)
        cur.append(tx)
    if len(ops) != 1:
        raise ValueError(f"einsum: the contraction path leaves {len(ops)} operands instead of one")
    x, term = _sum_unneeded(ops[0], cur[0], set(output))
    missing = [c for c in output if c not in term]
    if missing:  # an output index whose every occurrence had size 1
        x = sh.reshape(x, _shape(x) + (1,) * len(missing))
        term += "".join(missing)
    x = sh.transpose(x, tuple(term.index(c) for c in output))
    return _finish(x, dtype, weak)


def einsum(subscripts: Any, /, *operands: Any, out: None = None, optimize: Any = "auto", precision: Any = None,
           preferred_element_type: Any = None) -> Any:
    """Einstein summation, NumPy's ``einsum``: ``'ij,jk->ik'``, implicit outputs, ``'...'``
    broadcasting, repeated indices (diagonals) and the interleaved ``(x, [0, 1], y, [1, 2])`` form.

    Operands are contracted pairwise with ``dot_general`` in a greedy order (``optimize``:
    ``'auto'``/``True``/``'greedy'``/``'optimal'``), left to right (``False``), or along an explicit
    path such as ``[(0, 1), (0, 1)]``.

    >>> import ember.core.numpy as jnp
    >>> float(jnp.einsum("ii", jnp.eye(3)))
    3.0
    """
    if out is not None:
        raise NotImplementedError("einsum: the out argument is not supported (arrays are immutable)")
    spec, arrays = _einsum_terms(subscripts, operands)
    arrays = _arr("einsum", *arrays) if arrays else []
    terms, output = _parse_einsum(spec, [_shape(x) for x in arrays])
    if not arrays:
        raise ValueError("einsum: at least one operand is required")
    if isinstance(optimize, list):
        optimize = tuple(tuple(s) if isinstance(s, (list, tuple)) else s for s in optimize)
    return _einsum(tuple(arrays), terms=terms, output=output, optimize=optimize,
                   precision=canonicalize_precision(precision), preferred_element_type=preferred_element_type)


def einsum_path(subscripts: Any, /, *operands: Any, optimize: Any = "auto") -> tuple[list[Any], str]:
    """The pairwise contraction order ``einsum`` uses: ``([(i, j), ...], description)``.

    >>> import ember.core.numpy as jnp
    >>> einsum_path("ij,jk,kl->il", jnp.ones((2, 3)), jnp.ones((3, 4)), jnp.ones((4, 5)))[0]
    [(0, 1), (0, 1)]
    """
    spec, arrays = _einsum_terms(subscripts, operands)
    shapes = [tuple(np.shape(x)) if not isinstance(x, (Array, Tracer)) else _shape(x) for x in arrays]
    terms, output = _parse_einsum(spec, shapes)
    sizes: dict[str, int] = {}
    for t, shape in zip(terms, shapes):
        for c, n in zip(t, shape):
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    path = _einsum_path(terms, output, sizes, optimize if optimize is not None else "auto")
    desc = f"  Complete contraction:  {','.join(terms)}->{output}\n  Contraction path: {path}"
    return list(path), desc


# ----------------------------------------------------------------------------------------------
# kron / trace / diagonal / cross

@numpy_jit
def kron(a: Any, b: Any) -> Any:
    """The Kronecker product: blocks ``a[i, j] * b``.

    >>> import ember.core.numpy as jnp
    >>> jnp.kron(jnp.eye(2), jnp.ones((2, 2))).shape
    (4, 4)
    """
    a, b = _arr("kron", a, b)
    a, b = promote_dtypes(a, b)
    nd = max(_ndim(a), _ndim(b))
    a = sh.reshape(a, (1,) * (nd - _ndim(a)) + _shape(a))
    b = sh.reshape(b, (1,) * (nd - _ndim(b)) + _shape(b))
    a_shape, b_shape = _shape(a), _shape(b)
    a_r = sh.reshape(a, tuple(n for d in a_shape for n in (d, 1)))
    b_r = sh.reshape(b, tuple(n for d in b_shape for n in (1, d)))
    return sh.reshape(_mul_broadcast(a_r, b_r), tuple(m * n for m, n in zip(a_shape, b_shape)))


def diagonal_last_two(x: Any, offset: int) -> Any:
    """The ``offset`` diagonal of the last two dimensions, as ``[..., k]``."""
    shape = _shape(x)
    nd = len(shape)
    rows, cols = shape[-2:]
    k = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    r0, c0 = max(-offset, 0), max(offset, 0)
    block = sh.slice(x, (0,) * (nd - 2) + (r0, c0), shape[:-2] + (r0 + k, c0 + k))
    bshape = _shape(block)
    mask = ew.eq(sh.broadcasted_iota(_i32, bshape, nd - 2), sh.broadcasted_iota(_i32, bshape, nd - 1))
    # select + sum (not a product with the identity) keeps off-diagonal infs and NaNs out
    return red.reduce_sum(ew.select(mask, block, ew.full_like(block, 0)), (nd - 1,))


@numpy_jit(static_argnames=("offset", "axis1", "axis2"))
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The ``offset`` diagonal over ``axis1``/``axis2``, as the last axis of the result.

    >>> import ember.core.numpy as jnp
    >>> jnp.diagonal(jnp.arange(9).reshape(3, 3), 1).tolist()
    [1, 5]
    """
    (a,) = _arr("diagonal", a)
    nd = _ndim(a)
    if nd < 2:
        raise ValueError(f"diagonal requires an array of at least two dimensions, got shape {_shape(a)}")
    offset = operator_index(offset)
    ax1, ax2 = canonicalize_axis(axis1, nd, "axis1"), canonicalize_axis(axis2, nd, "axis2")
    if ax1 == ax2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    perm = tuple(i for i in range(nd) if i not in (ax1, ax2)) + (ax1, ax2)
    return diagonal_last_two(sh.transpose(a, perm), offset)


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """NumPy's accumulator for sums: small integers and bools widen to the default integer."""
    default = dtypes.default_int_dtype()
    if dtype == dtypes.bool_:
        return default
    if dtype.kind == "i" and dtype.itemsize < default.itemsize:
        return default
    if dtype.kind == "u" and dtype.itemsize < default.itemsize:
        return np.dtype(f"uint{default.itemsize * 8}")
    return dtype


@numpy_jit(static_argnames=("offset", "axis1", "axis2", "dtype"))
def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: None = None) -> Any:
    """The sum of the ``offset`` diagonal over ``axis1``/``axis2``.

    >>> import ember.core.numpy as jnp
    >>> float(jnp.trace(jnp.eye(3)))
    3.0
    """
    if out is not None:
        raise NotImplementedError("trace: the out argument is not supported (arrays are immutable)")
    (a,) = _arr("trace", a)
    d = diagonal(a, offset, axis1, axis2)
    aval = get_aval(d)
    target = _sum_dtype(aval.dtype) if dtype is None else dtypes.canonicalize_dtype(dtype)
    d = ew.convert_element_type(d, target, aval.weak_type and dtype is None)
    return red.reduce_sum(d, (aval.ndim - 1,))


@numpy_jit(static_argnames=("axisa", "axisb", "axisc", "axis"))
def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None) -> Any:
    """Cross products of 2- or 3-vectors along the given axes (broadcasting the rest).

    >>> import ember.core.numpy as jnp
    >>> jnp.cross(jnp.array([1.0, 0, 0]), jnp.array([0.0, 1, 0])).tolist()
    [0.0, 0.0, 1.0]
    """
    a, b = _arr("cross", a, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a = _moveaxis(a, canonicalize_axis(axisa, _ndim(a), "axisa"), -1)
    b = _moveaxis(b, canonicalize_axis(axisb, _ndim(b), "axisb"), -1)
    if _shape(a)[-1] not in (2, 3) or _shape(b)[-1] not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must be 2 or 3), got "
                         f"shapes {_shape(a)} and {_shape(b)}")
    a, b = promote_dtypes(a, b)
    from .ufuncs import multiply, subtract
    a0, a1 = _index(a, 0, _ndim(a) - 1), _index(a, 1, _ndim(a) - 1)
    b0, b1 = _index(b, 0, _ndim(b) - 1), _index(b, 1, _ndim(b) - 1)
    if _shape(a)[-1] == 2 and _shape(b)[-1] == 2:
        return subtract(multiply(a0, b1), multiply(a1, b0))
    zero_a = ew.full_like(a0, 0)
    zero_b = ew.full_like(b0, 0)
    a2 = _index(a, 2, _ndim(a) - 1) if _shape(a)[-1] == 3 else zero_a
    b2 = _index(b, 2, _ndim(b) - 1) if _shape(b)[-1] == 3 else zero_b
    c = [subtract(multiply(a1, b2), multiply(a2, b1)), subtract(multiply(a2, b0), multiply(a0, b2)),
         subtract(multiply(a0, b1), multiply(a1, b0))]
    shape = _shape(c[0])
    stacked = sh.concatenate([sh.reshape(ci, (1,) + shape) for ci in c], 0)
    out_nd = len(shape) + 1
    return _moveaxis(stacked, 0, canonicalize_axis(axisc, out_nd, "axisc"))
