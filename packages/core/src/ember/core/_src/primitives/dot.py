"""``dot_general``: XLA's general tensor contraction, and the ``lax.dot`` helpers on top of it.

The output dimensions are ordered as XLA orders them: the batch dimensions (in the order the
dimension numbers list them), then the free dimensions of ``lhs``, then those of ``rhs``.

    >>> import numpy as np
    >>> x = np.ones((2, 3), np.float32)
    >>> dot_general(x, x, (((1,), (1,)), ((), ()))).shape
    (2, 2)
"""

from __future__ import annotations

import enum
from typing import Any, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, operator_index
from ..lowering import ir_type
from ..rules import Zero, add_tangents, is_undefined
from ._util import aval_of

__all__ = [
    "Precision",
    "batch_matmul",
    "canonicalize_precision",
    "dot",
    "dot_general",
]

DotDimensionNumbers = tuple[tuple[tuple[int, ...], tuple[int, ...]], tuple[tuple[int, ...], tuple[int, ...]]]


# ----------------------------------------------------------------------------------------------
# Precision

class Precision(enum.Enum):
    """How precisely a float32 contraction is computed on accelerators (no effect on CPU).

    ``DEFAULT`` (aliases ``'default'``, ``'fastest'``, ``'bfloat16'``), ``HIGH`` (``'high'``,
    ``'tensorfloat32'``, ``'bfloat16_3x'``) and ``HIGHEST`` (``'highest'``, ``'float32'``).

    >>> Precision("highest")
    Precision.HIGHEST
    """

    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value: object) -> "Precision | None":
        return _precision_names.get(value.lower() if isinstance(value, str) else value)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Precision.{self.name}"

    def __str__(self) -> str:
        return self.name


_precision_names: dict[Any, Precision] = {
    "default": Precision.DEFAULT, "fastest": Precision.DEFAULT, "bfloat16": Precision.DEFAULT,
    "high": Precision.HIGH, "tensorfloat32": Precision.HIGH, "bfloat16_3x": Precision.HIGH,
    "highest": Precision.HIGHEST, "float32": Precision.HIGHEST,
}

PrecisionLike = Any


def canonicalize_precision(precision: PrecisionLike) -> tuple[Precision, Precision] | None:
    """``None`` or a pair ``(lhs_precision, rhs_precision)`` from any accepted precision spelling."""
    if precision is None:
        return None
    if isinstance(precision, (Precision, str)):
        p = _one_precision(precision)
        return (p, p)
    if isinstance(precision, (tuple, list)) and len(precision) == 2:
        return (_one_precision(precision[0]), _one_precision(precision[1]))
    raise ValueError(f"precision must be None, a Precision, a string such as 'highest', or a pair of "
                     f"those, got {precision!r}")


def _one_precision(p: Any) -> Precision:
    if isinstance(p, Precision):
        return p
    try:
        return Precision(p)
    except ValueError:
        names = ", ".join(repr(n) for n in _precision_names)
        raise ValueError(f"unknown precision {p!r}; expected a Precision or one of {names}") from None


def precision_attr(precision: tuple[Precision, Precision] | None) -> ir.ArrayAttr:
    pair = precision or (Precision.DEFAULT, Precision.DEFAULT)
    return ir.ArrayAttr.get([hlo.PrecisionAttr.get(str(p)) for p in pair])


# ----------------------------------------------------------------------------------------------
# Lowering a composite of lax operations (shared with conv.py and linalg.py)

# ----------------------------------------------------------------------------------------------
# dtype rule: XLA's "higher precision type" (shape_inference.cc), as JAX applies it

def _type_rank(dtype: np.dtype) -> tuple:
    is_complex = dtype.kind == "c"
    real = np.dtype(np.finfo(dtype).dtype) if is_complex else dtype
    is_float = dtypes.is_float(real)
    info = dtypes.finfo(real) if is_float else None
    bits = 1 if real == dtypes.bool_ else real.itemsize * 8
    return (is_complex, int(info.maxexp) if info is not None else -1,
            int(info.nmant) if info is not None else -1, bits, real.kind != "u")


def dot_result_dtype(name: str, lhs: np.dtype, rhs: np.dtype, preferred: np.dtype | None) -> np.dtype:
    """The output dtype of a contraction of ``lhs`` and ``rhs`` elements (shared with conv)."""
    if lhs == rhs:
        result = lhs
    else:
        lr, rr = _type_rank(lhs), _type_rank(rhs)
        if lr == rr:
            raise TypeError(f"lax.{name}: operand dtypes {lhs.name} and {rhs.name} cannot be combined "
                            "(neither is more precise); convert one with astype() or pass "
                            "preferred_element_type")
        result = lhs if lr > rr else rhs
    if preferred is None or preferred == result:
        return result
    if not dtypes.is_float(result) and _bits(preferred) < _bits(result):
        raise TypeError(f"lax.{name}: preferred_element_type {preferred.name} must not be narrower than "
                        f"the result type {result.name}")
    return preferred


def _bits(dtype: np.dtype) -> int:
    return 1 if dtype == dtypes.bool_ else dtype.itemsize * 8


# ----------------------------------------------------------------------------------------------
# dot_general

dot_general_p = Primitive("dot_general")


def _check_dims(name: str, which: str, dims: tuple[int, ...], ndim: int, shape: tuple[int, ...]) -> None:
    for d in dims:
        if not 0 <= d < ndim:
            raise TypeError(f"lax.{name}: {which} dimension {d} is out of range for an operand of shape {shape}")
    if len(set(dims)) != len(dims):
        raise TypeError(f"lax.{name}: repeated {which} dimensions {dims}")


def _dot_general_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, dimension_numbers: DotDimensionNumbers,
                               precision: Any, preferred_element_type: np.dtype | None) -> ShapedArray:
    (lc, rc), (lb, rb) = dimension_numbers
    name = "dot_general"
    if len(lc) != len(rc):
        raise TypeError(f"lax.{name}: lhs and rhs must have the same number of contracting dimensions, got "
                        f"{lc} and {rc}")
    if len(lb) != len(rb):
        raise TypeError(f"lax.{name}: lhs and rhs must have the same number of batch dimensions, got {lb} and {rb}")
    _check_dims(name, "lhs contracting", lc, lhs.ndim, lhs.shape)
    _check_dims(name, "rhs contracting", rc, rhs.ndim, rhs.shape)
    _check_dims(name, "lhs batch", lb, lhs.ndim, lhs.shape)
    _check_dims(name, "rhs batch", rb, rhs.ndim, rhs.shape)
    if set(lc) & set(lb) or set(rc) & set(rb):
        raise TypeError(f"lax.{name}: a dimension cannot be both batch and contracting, got dimension_numbers "
                        f"{dimension_numbers}")
    for l, r in zip(lb, rb):
        if lhs.shape[l] != rhs.shape[r]:
            raise TypeError(f"lax.{name}: batch dimensions must have equal sizes, got lhs dimension {l} of size "
                            f"{lhs.shape[l]} and rhs dimension {r} of size {rhs.shape[r]} (shapes {lhs.shape} "
                            f"and {rhs.shape})")
    for l, r in zip(lc, rc):
        if lhs.shape[l] != rhs.shape[r]:
            raise TypeError(f"lax.{name}: contracting dimensions must have equal sizes, got lhs dimension {l} of "
                            f"size {lhs.shape[l]} and rhs dimension {r} of size {rhs.shape[r]} (shapes "
                            f"{lhs.shape} and {rhs.shape})")
    dtype = dot_result_dtype(name, lhs.dtype, rhs.dtype, preferred_element_type)
    lhs_free = [n for i, n in enumerate(lhs.shape) if i not in lc and i not in lb]
    rhs_free = [n for i, n in enumerate(rhs.shape) if i not in rc and i not in rb]
    shape = tuple(lhs.shape[i] for i in lb) + tuple(lhs_free) + tuple(rhs_free)
    weak = lhs.weak_type and rhs.weak_type and preferred_element_type is None
    return ShapedArray(shape, dtype, weak)


def convert_ir(value: Any, aval: ShapedArray, dtype: np.dtype) -> Any:
    """``value`` (of type ``aval``) converted to the wider ``dtype`` inside a lowering rule."""
    if aval.dtype == dtype:
        return value
    return hlo.ConvertOp(ir_type(aval.update(dtype=dtype)), value).result


def _dot_general_lowering(ctx: Any, lhs: Any, rhs: Any, *, dimension_numbers: DotDimensionNumbers,
                          precision: Any, preferred_element_type: np.dtype | None) -> Any:
    lhs_aval, rhs_aval = ctx.avals_in
    out_aval = ctx.avals_out[0]
    if lhs_aval.dtype != rhs_aval.dtype:  # XLA's CPU/GPU code generators want one input type
        lhs = convert_ir(lhs, lhs_aval, out_aval.dtype)
        rhs = convert_ir(rhs, rhs_aval, out_aval.dtype)
    (lc, rc), (lb, rb) = dimension_numbers
    dnums = hlo.DotDimensionNumbers.get(
        lhs_batching_dimensions=list(lb), rhs_batching_dimensions=list(rb),
        lhs_contracting_dimensions=list(lc), rhs_contracting_dimensions=list(rc))
    return hlo.DotGeneralOp(ir_type(out_aval), lhs, rhs, dnums, precision_config=precision_attr(precision)).result


def _dot_general_jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    lhs, rhs = primals
    t_lhs, t_rhs = tangents
    out = dot_general_p.bind(lhs, rhs, **params)
    total: Any = Zero(aval_of(out).strip_weak_type())
    if type(t_lhs) is not Zero:
        total = add_tangents(total, dot_general_p.bind(t_lhs, rhs, **params))
    if type(t_rhs) is not Zero:
        total = add_tangents(total, dot_general_p.bind(lhs, t_rhs, **params))
    return out, total


def _ranges_like(*xs: Sequence[Any]) -> list[tuple[int, ...]]:
    start, out = 0, []
    for x in xs:
        out.append(tuple(range(start, start + len(x))))
        start += len(x)
    return out


def _free_dims(ndim: int, *groups: Sequence[int]) -> list[int]:
    used = {d for g in groups for d in g}
    return [d for d in range(ndim) if d not in used]


def _transpose_operand(ct: Any, x_aval: ShapedArray, y: Any, dimension_numbers: DotDimensionNumbers,
                       precision: Any, preferred_element_type: Any, swap_ans: bool) -> Any:
    """Cotangent of operand x of ``dot_general(x, y)`` (or ``(y, x)`` when ``swap_ans``)."""
    from .elementwise import convert_element_type
    from .shape import transpose
    (x_contract, y_contract), (x_batch, y_batch) = dimension_numbers
    x_kept = _free_dims(x_aval.ndim, x_contract, x_batch)
    y_kept = _free_dims(aval_of(y).ndim, y_contract, y_batch)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(x_batch, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(x_batch, x_kept, y_kept)
    dims = ((tuple(ans_y), tuple(y_kept)), (tuple(ans_batch), tuple(y_batch)))
    x_contract_sorted_by_y = [x_contract[i] for i in np.argsort(y_contract)]
    unsorted = list(x_batch) + x_kept + x_contract_sorted_by_y
    out = dot_general_p.bind(ct, y, dimension_numbers=dims, precision=precision,
                             preferred_element_type=preferred_element_type)
    out = transpose(out, tuple(int(i) for i in np.argsort(unsorted)))
    if aval_of(out).dtype != x_aval.dtype:
        out = convert_element_type(out, x_aval.dtype, x_aval.weak_type)
    return out


def _dot_general_transpose(ct: Any, lhs: Any, rhs: Any, *, dimension_numbers: DotDimensionNumbers,
                           precision: Any, preferred_element_type: Any) -> list[Any]:
    if is_undefined(lhs) and is_undefined(rhs):
        raise ValueError("dot_general is linear in one operand at a time, not both")
    (lc, rc), (lb, rb) = dimension_numbers
    if is_undefined(lhs):
        if type(ct) is Zero:
            return [Zero(lhs.aval), None]
        return [_transpose_operand(ct, lhs.aval, rhs, dimension_numbers, precision, preferred_element_type,
                                   swap_ans=False), None]
    if type(ct) is Zero:
        return [None, Zero(rhs.aval)]
    swapped = ((rc, lc), (rb, lb))
    return [None, _transpose_operand(ct, rhs.aval, lhs, swapped, precision, preferred_element_type,
                                     swap_ans=True)]


def _bump(dims: Sequence[int], b: int) -> tuple[int, ...]:
    return tuple(d + (d >= b) for d in dims)


def batched_dimension_numbers(ndims: tuple[int, int], bdims: tuple[int | None, int | None],
                              dimension_numbers: DotDimensionNumbers) -> tuple[DotDimensionNumbers, int]:
    """Dimension numbers of the batched contraction and where its output batch dimension lands."""
    lhs_ndim, rhs_ndim = ndims
    lbd, rbd = bdims
    (lc, rc), (lb, rb) = dimension_numbers
    if lbd is not None and rbd is not None:
        # both mapped: the vmapped axis becomes a leading batch dimension
        new = ((_bump(lc, lbd), _bump(rc, rbd)), ((lbd,) + _bump(lb, lbd), (rbd,) + _bump(rb, rbd)))
        return new, 0
    if lbd is not None:
        # lhs only: the vmapped axis is a free lhs dimension
        lhs_free = _free_dims(lhs_ndim - 1, lc, lb)
        out_dim = len(lb) + sum(1 for d in lhs_free if d < lbd)
        return ((_bump(lc, lbd), rc), (_bump(lb, lbd), rb)), out_dim
    assert rbd is not None
    rhs_free = _free_dims(rhs_ndim - 1, rc, rb)
    out_dim = (lhs_ndim - len(lc)) + sum(1 for d in rhs_free if d < rbd)
    return ((lc, _bump(rc, rbd)), (lb, _bump(rb, rbd))), out_dim


def _dot_general_batch(args: Sequence[Any], dims: Sequence[int | None], *, dimension_numbers: DotDimensionNumbers,
                       precision: Any, preferred_element_type: Any) -> tuple[Any, int]:
    lhs, rhs = args
    new_dnums, out_dim = batched_dimension_numbers((aval_of(lhs).ndim, aval_of(rhs).ndim), (dims[0], dims[1]),
                                                   dimension_numbers)
    out = dot_general_p.bind(lhs, rhs, dimension_numbers=new_dnums, precision=precision,
                             preferred_element_type=preferred_element_type)
    return out, out_dim


dot_general_p.def_abstract_eval(_dot_general_abstract_eval)
dot_general_p.def_lowering(_dot_general_lowering)
dot_general_p.def_jvp(_dot_general_jvp)
dot_general_p.def_transpose(_dot_general_transpose)
dot_general_p.def_batching(_dot_general_batch)


def _index_tuple(dims: Any, what: str) -> tuple[int, ...]:
    if isinstance(dims, (int, np.integer)):
        return (operator_index(dims),)
    try:
        return tuple(operator_index(d) for d in dims)
    except TypeError:
        raise TypeError(f"lax.dot_general: {what} must be a sequence of integers, got {dims!r}") from None


def canonicalize_dimension_numbers(dimension_numbers: Any) -> DotDimensionNumbers:
    try:
        (lc, rc), (lb, rb) = dimension_numbers
    except (TypeError, ValueError):
        raise TypeError("lax.dot_general: dimension_numbers must be ((lhs_contracting, rhs_contracting), "
                        f"(lhs_batch, rhs_batch)), got {dimension_numbers!r}") from None
    return ((_index_tuple(lc, "lhs_contracting"), _index_tuple(rc, "rhs_contracting")),
            (_index_tuple(lb, "lhs_batch"), _index_tuple(rb, "rhs_batch")))


def _preferred(preferred_element_type: Any) -> np.dtype | None:
    return None if preferred_element_type is None else dtypes.canonicalize_dtype(preferred_element_type)


def _as_operand(x: Any) -> Any:
    if isinstance(x, (bool, int, float, complex)):
        from ..dispatch import to_array
        return to_array(x)
    return x


def dot_general(lhs: Any, rhs: Any, dimension_numbers: Any, precision: PrecisionLike = None,
                preferred_element_type: Any = None) -> Any:
    """General contraction: ``dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``.

    The result has the batch dimensions first, then lhs's free dimensions, then rhs's.

    >>> import numpy as np
    >>> a, b = np.ones((5, 2, 3), np.float32), np.ones((5, 3, 4), np.float32)
    >>> dot_general(a, b, (((2,), (1,)), ((0,), (0,)))).shape
    (5, 2, 4)
    """
    return dot_general_p.bind(_as_operand(lhs), _as_operand(rhs),
                              dimension_numbers=canonicalize_dimension_numbers(dimension_numbers),
                              precision=canonicalize_precision(precision),
                              preferred_element_type=_preferred(preferred_element_type))


def dot(lhs: Any, rhs: Any, *, dimension_numbers: Any = None, precision: PrecisionLike = None,
        preferred_element_type: Any = None) -> Any:
    """Vector/matrix products of 1-D and 2-D arrays (or any contraction given ``dimension_numbers``).

    >>> import numpy as np
    >>> dot(np.ones((2, 3), np.float32), np.ones(3, np.float32)).tolist()
    [3.0, 3.0]
    """
    if dimension_numbers is None:
        ls, rs = aval_of(lhs).shape, aval_of(rhs).shape
        if 1 <= len(ls) <= 2 and 1 <= len(rs) <= 2 and ls[-1] == rs[0]:
            dimension_numbers = (((len(ls) - 1,), (0,)), ((), ()))
        else:
            raise TypeError("lax.dot: dimension_numbers must be given unless lhs and rhs are 1-D or 2-D with "
                            f"matching inner dimensions, got shapes {ls} and {rs}")
    return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type)


def batch_matmul(lhs: Any, rhs: Any, precision: PrecisionLike = None) -> Any:
    """Matrix products over leading batch dimensions: ``[..., m, k] x [..., k, n] -> [..., m, n]``.

    >>> import numpy as np
    >>> batch_matmul(np.ones((4, 2, 3), np.float32), np.ones((4, 3, 5), np.float32)).shape
    (4, 2, 5)
    """
    ls, rs = aval_of(lhs).shape, aval_of(rhs).shape
    if len(ls) < 2 or len(ls) != len(rs) or ls[:-2] != rs[:-2]:
        raise ValueError("lax.batch_matmul: operands must have equal rank >= 2 and equal batch dimensions, "
                         f"got shapes {ls} and {rs}")
    nb = len(ls) - 2
    batch = tuple(range(nb))
    return dot_general(lhs, rhs, (((nb + 1,), (nb,)), (batch, batch)), precision=precision)
