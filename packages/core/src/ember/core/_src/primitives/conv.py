"""``conv_general_dilated``: XLA's N-d convolution with strides, padding, dilations and groups,
and the ``lax.conv*`` helpers on top of it.

Dimension numbers say where the batch, feature and spatial dimensions live: ``lhs_spec`` is
``(batch, feature, spatial...)``, ``rhs_spec`` ``(out feature, in feature, spatial...)`` and
``out_spec`` ``(batch, feature, spatial...)``, each a tuple of dimension indices. Strings such as
``("NHWC", "HWIO", "NHWC")`` are accepted everywhere and converted.

    >>> import numpy as np
    >>> x, k = np.ones((1, 1, 5), np.float32), np.ones((1, 1, 3), np.float32)
    >>> np.asarray(conv(x, k, (1,), "VALID")).tolist()
    [[[3.0, 3.0, 3.0]]]
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np
from jaxlib.mlir import ir
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, operator_index
from ..lowering import dense_i64, i64_attr, ir_type, lower_fun
from ..rules import Zero, add_tangents, is_undefined
from . import elementwise as ew
from . import shape as sh
from ._util import aval_of
from .dot import PrecisionLike, canonicalize_precision, precision_attr

__all__ = [
    "ConvDimensionNumbers",
    "conv",
    "conv_dimension_numbers",
    "conv_general_dilated",
    "conv_transpose",
    "conv_with_general_padding",
    "padtype_to_pads",
]


class ConvDimensionNumbers(NamedTuple):
    """Where the batch/feature/spatial dimensions of lhs, rhs and the output are.

    ``lhs_spec = (batch, feature, spatial...)``, ``rhs_spec = (out feature, in feature, spatial...)``,
    ``out_spec = (batch, feature, spatial...)``.
    """

    lhs_spec: tuple[int, ...]
    rhs_spec: tuple[int, ...]
    out_spec: tuple[int, ...]


# ----------------------------------------------------------------------------------------------
# Dimension numbers and padding

def conv_general_permutations(dimension_numbers: tuple[str, str, str]) -> tuple[tuple[int, ...], ...]:
    """Dimension permutations for string specs such as ``("NCHW", "OIHW", "NCHW")``."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    charpairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (a, b) in enumerate(charpairs):
        spec = dimension_numbers[i]
        if not spec.count(a) == spec.count(b) == 1:
            raise TypeError(f"convolution dimension_numbers[{i}] must contain the characters '{a}' and '{b}' "
                            f"exactly once, got {spec!r}")
        if len(spec) != len(set(spec)):
            raise TypeError(f"convolution dimension_numbers[{i}] cannot repeat characters, got {spec!r}")
    spatial = [set(s) - set(c) for s, c in zip(dimension_numbers, charpairs)]
    if not spatial[0] == spatial[1] == spatial[2]:
        raise TypeError("convolution dimension_numbers must name the same spatial dimensions in lhs, rhs and "
                        f"output, got {dimension_numbers}")

    def perm(spec: str, pair: tuple[str, str]) -> tuple[int, ...]:
        # spatial dimensions are ordered as they appear in rhs_spec
        dims = [i for i, c in enumerate(spec) if c not in pair]
        if spec is not rhs_spec:
            dims.sort(key=lambda i: rhs_spec.index(spec[i]))
        return (spec.index(pair[0]), spec.index(pair[1])) + tuple(dims)

    return perm(lhs_spec, charpairs[0]), perm(rhs_spec, charpairs[1]), perm(out_spec, charpairs[2])


def conv_dimension_numbers(lhs_shape: Sequence[int], rhs_shape: Sequence[int],
                           dimension_numbers: Any) -> ConvDimensionNumbers:
    """Canonical ``ConvDimensionNumbers`` from ``None`` (``NC...``/``OI...``), strings, or dimension numbers."""
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return ConvDimensionNumbers(*(tuple(int(d) for d in s) for s in dimension_numbers))
    if len(lhs_shape) != len(rhs_shape):
        raise TypeError(f"convolution requires lhs and rhs of equal rank, got shapes {tuple(lhs_shape)} and "
                        f"{tuple(rhs_shape)}")
    if dimension_numbers is None:
        iota = tuple(range(len(lhs_shape)))
        return ConvDimensionNumbers(iota, iota, iota)
    if isinstance(dimension_numbers, (list, tuple)):
        if len(dimension_numbers) != 3:
            raise TypeError(f"convolution dimension_numbers must have 3 entries, got {dimension_numbers!r}")
        if all(isinstance(s, str) for s in dimension_numbers):
            for i, spec in enumerate(dimension_numbers):
                if len(spec) != len(lhs_shape):
                    raise TypeError(f"convolution dimension_numbers[{i}] = {spec!r} must have one character per "
                                    f"dimension of lhs and rhs (shapes {tuple(lhs_shape)} and {tuple(rhs_shape)})")
            return ConvDimensionNumbers(*conv_general_permutations(tuple(dimension_numbers)))  # type: ignore[arg-type]
        return ConvDimensionNumbers(*(tuple(operator_index(d) for d in s) for s in dimension_numbers))
    raise TypeError(f"convolution dimension_numbers must be None, a tuple of 3 strings or ConvDimensionNumbers, "
                    f"got {type(dimension_numbers).__name__}")


def padtype_to_pads(in_shape: Sequence[int], window_shape: Sequence[int], window_strides: Sequence[int],
                    padding: str) -> list[tuple[int, int]]:
    """``(low, high)`` padding per spatial dimension for ``'SAME'``, ``'SAME_LOWER'`` or ``'VALID'``.

    >>> padtype_to_pads((5,), (3,), (2,), "SAME")
    [(1, 1)]
    """
    kind = padding.upper() if isinstance(padding, str) else getattr(padding, "name", padding)
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise RuntimeError(f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {padding}.")
    pads = []
    for n, w, s in zip(in_shape, window_shape, window_strides):
        out = -(-int(n) // int(s))
        total = max((out - 1) * int(s) + int(w) - int(n), 0)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if kind == "SAME" else (big, small))
    return pads


def _dilate(n: int, d: int) -> int:
    return 0 if n == 0 else 1 + d * (n - 1)


# ----------------------------------------------------------------------------------------------
# The primitive

conv_general_dilated_p = Primitive("conv_general_dilated")

_conv_params = ("window_strides", "padding", "lhs_dilation", "rhs_dilation", "dimension_numbers",
                "feature_group_count", "batch_group_count", "precision", "preferred_element_type")


def _conv_abstract_eval(lhs: ShapedArray, rhs: ShapedArray, *, window_strides: tuple[int, ...],
                        padding: tuple[tuple[int, int], ...], lhs_dilation: tuple[int, ...],
                        rhs_dilation: tuple[int, ...], dimension_numbers: ConvDimensionNumbers,
                        feature_group_count: int, batch_group_count: int, precision: Any,
                        preferred_element_type: np.dtype | None) -> ShapedArray:
    name = "lax.conv_general_dilated"
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise TypeError(f"{name}: lhs and rhs must have the same rank >= 2, got shapes {lhs.shape} and {rhs.shape}")
    for spec_name, spec in zip(("lhs_spec", "rhs_spec", "out_spec"), dimension_numbers):
        if sorted(spec) != list(range(lhs.ndim)):
            raise TypeError(f"{name}: dimension_numbers.{spec_name} {spec} must be a permutation of the "
                            f"{lhs.ndim} dimensions")
    nsp = lhs.ndim - 2
    for arg, val in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                     ("rhs_dilation", rhs_dilation), ("padding", padding)):
        if len(val) != nsp:
            raise TypeError(f"{name}: {arg} must have one entry per spatial dimension ({nsp}), got {val}")
    for arg, val in (("window_strides", window_strides), ("lhs_dilation", lhs_dilation),
                     ("rhs_dilation", rhs_dilation)):
        if any(v < 1 for v in val):
            raise ValueError(f"{name}: {arg} must be positive, got {val}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"{name}: lhs and rhs must have the same dtype, got {lhs.dtype.name} and {rhs.dtype.name}")
    if feature_group_count < 1 or batch_group_count < 1:
        raise ValueError(f"{name}: feature_group_count and batch_group_count must be positive, got "
                         f"{feature_group_count} and {batch_group_count}")
    if feature_group_count > 1 and batch_group_count > 1:
        raise ValueError(f"{name}: at most one of feature_group_count ({feature_group_count}) and "
                         f"batch_group_count ({batch_group_count}) may exceed 1")
    in_features = lhs.shape[lhs_spec[1]]
    out_features = rhs.shape[rhs_spec[0]]
    if in_features % feature_group_count:
        raise ValueError(f"{name}: feature_group_count={feature_group_count} must divide the lhs feature "
                         f"dimension of size {in_features} (lhs shape {lhs.shape})")
    if in_features // feature_group_count != rhs.shape[rhs_spec[1]]:
        raise ValueError(f"{name}: the lhs feature size {in_features} divided by feature_group_count="
                         f"{feature_group_count} must equal the rhs input feature size {rhs.shape[rhs_spec[1]]} "
                         f"(shapes {lhs.shape} and {rhs.shape})")
    if out_features % feature_group_count or out_features % batch_group_count:
        raise ValueError(f"{name}: the rhs output feature size {out_features} must be a multiple of "
                         f"feature_group_count={feature_group_count} and batch_group_count={batch_group_count}")
    batch = lhs.shape[lhs_spec[0]]
    if batch % batch_group_count:
        raise ValueError(f"{name}: batch_group_count={batch_group_count} must divide the lhs batch size {batch}")
    spatial = []
    for i in range(nsp):
        n = _dilate(lhs.shape[lhs_spec[2 + i]], lhs_dilation[i]) + padding[i][0] + padding[i][1]
        if n < 0:
            raise ValueError(f"{name}: padding {padding} is more negative than spatial dimension {i} of lhs "
                             f"(shape {lhs.shape})")
        w = _dilate(rhs.shape[rhs_spec[2 + i]], rhs_dilation[i])
        spatial.append(max((n - w) // window_strides[i] + 1, 0))
    canonical = (batch // batch_group_count, out_features) + tuple(spatial)
    shape = [0] * lhs.ndim
    for pos, d in enumerate(out_spec):
        shape[d] = canonical[pos]
    dtype = lhs.dtype if preferred_element_type is None else _check_preferred(lhs.dtype, preferred_element_type)
    return ShapedArray(tuple(shape), dtype, lhs.weak_type and rhs.weak_type and preferred_element_type is None)


def _check_preferred(dtype: np.dtype, preferred: np.dtype) -> np.dtype:
    ok = ((dtype.kind in "iu" and preferred.kind in "iuf") or (dtypes.is_float(dtype) and dtypes.is_float(preferred))
          or (dtype.kind == "c" and preferred.kind == "c") or dtype == preferred)
    if not ok:
        raise TypeError(f"lax.conv_general_dilated: preferred_element_type {preferred.name} is incompatible with "
                        f"inputs of {dtype.name}; the compatible combinations are (integer, integer), "
                        "(integer, floating), (floating, floating) and (complex, complex)")
    return preferred


def _conv_lowering(ctx: Any, lhs: Any, rhs: Any, *, window_strides: tuple[int, ...],
                   padding: tuple[tuple[int, int], ...], lhs_dilation: tuple[int, ...], rhs_dilation: tuple[int, ...],
                   dimension_numbers: ConvDimensionNumbers, feature_group_count: int, batch_group_count: int,
                   precision: Any, preferred_element_type: Any) -> Any:
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    dnums = hlo.ConvDimensionNumbers.get(
        input_batch_dimension=lhs_spec[0], input_feature_dimension=lhs_spec[1],
        input_spatial_dimensions=list(lhs_spec[2:]),
        kernel_output_feature_dimension=rhs_spec[0], kernel_input_feature_dimension=rhs_spec[1],
        kernel_spatial_dimensions=list(rhs_spec[2:]),
        output_batch_dimension=out_spec[0], output_feature_dimension=out_spec[1],
        output_spatial_dimensions=list(out_spec[2:]))
    nsp = len(rhs_spec) - 2
    pads = np.asarray(padding, np.int64).reshape(nsp, 2)
    return hlo.ConvolutionOp(
        ir_type(ctx.avals_out[0]), lhs, rhs, dimension_numbers=dnums,
        feature_group_count=i64_attr(feature_group_count), batch_group_count=i64_attr(batch_group_count),
        window_strides=dense_i64(window_strides),
        padding=ir.DenseIntElementsAttr.get(pads, type=ir.IntegerType.get_signless(64)),
        lhs_dilation=dense_i64(lhs_dilation), rhs_dilation=dense_i64(rhs_dilation),
        window_reversal=ir.DenseBoolArrayAttr.get([False] * nsp),
        precision_config=precision_attr(precision)).result


def _complex_conv(lhs: Any, rhs: Any, **params: Any) -> Any:
    """A complex convolution from three real ones (Gauss's trick); XLA's CPU complex conv is a slow loop."""
    preferred = params["preferred_element_type"]
    if preferred is not None:
        params = dict(params, preferred_element_type=np.dtype(np.finfo(preferred).dtype))

    def c(a: Any, b: Any) -> Any:
        return conv_general_dilated_p.bind(a, b, **params)

    x_re, x_im, y_re, y_im = ew.real(lhs), ew.imag(lhs), ew.real(rhs), ew.imag(rhs)
    k1 = c(ew.add(x_re, x_im), y_re)
    k2 = c(x_re, ew.sub(y_im, y_re))
    k3 = c(x_im, ew.add(y_re, y_im))
    return ew.complex(ew.sub(k1, k3), ew.add(k1, k2))


def _conv_lowering_rule(ctx: Any, lhs: Any, rhs: Any, **params: Any) -> Any:
    if ctx.avals_in[0].dtype.kind == "c" and ctx.module.platform in ("cpu", "cuda", "rocm", "gpu"):
        return lower_fun(_complex_conv, multiple_results=False)(ctx, lhs, rhs, **params)
    return _conv_lowering(ctx, lhs, rhs, **params)


def _conv_jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    lhs, rhs = primals
    t_lhs, t_rhs = tangents
    out = conv_general_dilated_p.bind(lhs, rhs, **params)
    total: Any = Zero(aval_of(out).strip_weak_type())
    if type(t_lhs) is not Zero:
        total = add_tangents(total, conv_general_dilated_p.bind(t_lhs, rhs, **params))
    if type(t_rhs) is not Zero:
        total = add_tangents(total, conv_general_dilated_p.bind(lhs, t_rhs, **params))
    return out, total


# -- transposes ----------------------------------------------------------------------------------
# Ignoring spatial dimensions, a convolution is the contraction [m, j] x [j, k] -> [m, k] (batch m,
# input feature j, output feature k); its transposes are the matmul ones, [m, k] x [k, j] -> [m, j]
# for lhs and [j, m] x [m, k] -> [j, k] for rhs. Feature groups on the forward pass become
# feature groups (lhs) or batch groups (rhs) on the backward pass, and batch groups the reverse.

def _spec_transpose(spec: tuple[int, ...]) -> tuple[int, ...]:
    return (spec[1], spec[0]) + tuple(spec[2:])


def _reshape_axis_into(src: int, dst: int, x: Any) -> Any:
    """Merge dimension ``src`` into ``dst`` (``dst`` counted after removing ``src``), src major."""
    shape = aval_of(x).shape
    perm = [i for i in range(len(shape)) if i != src]
    perm.insert(dst, src)
    new_shape = [n for i, n in enumerate(shape) if i != src]
    new_shape[dst] *= shape[src]
    return sh.reshape(x, tuple(new_shape), tuple(perm))


def _reshape_axis_out_of(src: int, size1: int, x: Any) -> Any:
    """Split dimension ``src`` into ``(size1, rest)``."""
    shape = list(aval_of(x).shape)
    size2, ragged = divmod(shape[src], size1)
    assert not ragged
    shape[src:src + 1] = [size1, size2]
    return sh.reshape(x, tuple(shape))


def _lhs_transpose_padding(in_shape: Sequence[int], window: Sequence[int], strides: Sequence[int],
                           out_shape: Sequence[int], padding: Sequence[tuple[int, int]],
                           lhs_dilation: Sequence[int], rhs_dilation: Sequence[int]) -> tuple[tuple[int, int], ...]:
    pads = []
    for i in range(len(in_shape)):
        lhs_d = _dilate(in_shape[i], lhs_dilation[i])
        rhs_d = _dilate(window[i], rhs_dilation[i])
        out_d = _dilate(out_shape[i], strides[i])
        before = rhs_d - padding[i][0] - 1
        after = lhs_d + rhs_d - 1 - out_d - before
        pads.append((int(before), int(after)))
    return tuple(pads)


def _rhs_transpose_padding(in_shape: Sequence[int], window: Sequence[int], strides: Sequence[int],
                           out_shape: Sequence[int], padding: Sequence[tuple[int, int]],
                           lhs_dilation: Sequence[int], rhs_dilation: Sequence[int]) -> tuple[tuple[int, int], ...]:
    pads = []
    for i in range(len(in_shape)):
        lhs_d = _dilate(in_shape[i], lhs_dilation[i])
        rhs_d = _dilate(window[i], rhs_dilation[i])
        out_d = _dilate(out_shape[i], strides[i])
        lo = padding[i][0]
        hi = (out_d - lhs_d) + (rhs_d - lo - 1)
        pads.append((int(lo), int(hi)))
    return tuple(pads)


def _transpose_lhs(ct: Any, lhs_aval: ShapedArray, rhs: Any, *, window_strides: tuple[int, ...],
                   padding: tuple[tuple[int, int], ...], lhs_dilation: tuple[int, ...], rhs_dilation: tuple[int, ...],
                   dimension_numbers: ConvDimensionNumbers, feature_group_count: int, batch_group_count: int,
                   precision: Any, preferred_element_type: Any) -> Any:
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    rhs_shape = aval_of(rhs).shape
    lhs_sdims, rhs_sdims, out_sdims = lhs_spec[2:], rhs_spec[2:], out_spec[2:]
    t_rhs_spec = _spec_transpose(rhs_spec)
    if feature_group_count > 1:
        # move the group axis from the kernel's output features into its input features
        rhs = _reshape_axis_out_of(rhs_spec[0], feature_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
    elif batch_group_count > 1:
        rhs = _reshape_axis_out_of(rhs_spec[0], batch_group_count, rhs)
        rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[1], rhs)
        feature_group_count = batch_group_count
    trans_dnums = ConvDimensionNumbers(out_spec, t_rhs_spec, lhs_spec)
    ct_shape = aval_of(ct).shape
    pads = _lhs_transpose_padding([lhs_aval.shape[d] for d in lhs_sdims], [rhs_shape[d] for d in rhs_sdims],
                                  window_strides, [ct_shape[d] for d in out_sdims], padding, lhs_dilation,
                                  rhs_dilation)
    reversed_rhs = sh.rev(rhs, rhs_sdims)
    if aval_of(ct).dtype != aval_of(reversed_rhs).dtype:
        reversed_rhs = ew.convert_element_type(reversed_rhs, aval_of(ct).dtype)
    out = conv_general_dilated_p.bind(
        ct, reversed_rhs, window_strides=lhs_dilation, padding=pads, lhs_dilation=window_strides,
        rhs_dilation=rhs_dilation, dimension_numbers=trans_dnums, feature_group_count=feature_group_count,
        batch_group_count=1, precision=precision, preferred_element_type=preferred_element_type)
    if batch_group_count > 1:
        out = _reshape_axis_out_of(lhs_spec[1], batch_group_count, out)
        out = _reshape_axis_into(lhs_spec[1], lhs_spec[0], out)
    if aval_of(out).dtype != lhs_aval.dtype:
        out = ew.convert_element_type(out, lhs_aval.dtype)
    return out


def _transpose_rhs(ct: Any, lhs: Any, rhs_aval: ShapedArray, *, window_strides: tuple[int, ...],
                   padding: tuple[tuple[int, int], ...], lhs_dilation: tuple[int, ...], rhs_dilation: tuple[int, ...],
                   dimension_numbers: ConvDimensionNumbers, feature_group_count: int, batch_group_count: int,
                   precision: Any, preferred_element_type: Any) -> Any:
    if int(np.prod(aval_of(ct).shape)) == 0:
        return Zero(rhs_aval)
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_shape = aval_of(lhs).shape
    lhs_sdims, rhs_sdims, out_sdims = lhs_spec[2:], rhs_spec[2:], out_spec[2:]
    lhs_t, rhs_t, out_t = (_spec_transpose(s) for s in dimension_numbers)
    if batch_group_count > 1:
        feature_group_count, batch_group_count = batch_group_count, 1
    elif feature_group_count > 1:
        feature_group_count, batch_group_count = 1, feature_group_count
    trans_dnums = ConvDimensionNumbers(lhs_t, out_t, rhs_t)
    ct_shape = aval_of(ct).shape
    pads = _rhs_transpose_padding([lhs_shape[d] for d in lhs_sdims], [rhs_aval.shape[d] for d in rhs_sdims],
                                  window_strides, [ct_shape[d] for d in out_sdims], padding, lhs_dilation,
                                  rhs_dilation)
    if aval_of(lhs).dtype != aval_of(ct).dtype:
        lhs = ew.convert_element_type(lhs, aval_of(ct).dtype)
    out = conv_general_dilated_p.bind(
        lhs, ct, window_strides=rhs_dilation, padding=pads, lhs_dilation=lhs_dilation,
        rhs_dilation=window_strides, dimension_numbers=trans_dnums, feature_group_count=feature_group_count,
        batch_group_count=batch_group_count, precision=precision, preferred_element_type=preferred_element_type)
    if aval_of(out).dtype != rhs_aval.dtype:
        out = ew.convert_element_type(out, rhs_aval.dtype)
    return out


def _conv_transpose_rule(ct: Any, lhs: Any, rhs: Any, **params: Any) -> list[Any]:
    if is_undefined(lhs) and is_undefined(rhs):
        raise ValueError("conv_general_dilated is linear in one operand at a time, not both")
    if is_undefined(lhs):
        if type(ct) is Zero:
            return [Zero(lhs.aval), None]
        return [_transpose_lhs(ct, lhs.aval, rhs, **params), None]
    if type(ct) is Zero:
        return [None, Zero(rhs.aval)]
    return [None, _transpose_rhs(ct, lhs, rhs.aval, **params)]


# -- batching ------------------------------------------------------------------------------------

def _conv_batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, int]:
    lhs, rhs = args
    lhs_bdim, rhs_bdim = dims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    fgc, bgc = params["feature_group_count"], params["batch_group_count"]
    bind = conv_general_dilated_p.bind
    if lhs_bdim is not None and rhs_bdim is not None:
        size = aval_of(lhs).shape[lhs_bdim]
        # each vmapped pair is its own group: fold the axis into lhs features (or batch) and kernel outputs
        if bgc > 1:
            new_lhs = _reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
            params = dict(params, batch_group_count=bgc * size)
        else:
            new_lhs = _reshape_axis_into(lhs_bdim, lhs_spec[1], lhs)
            params = dict(params, feature_group_count=fgc * size)
        new_rhs = _reshape_axis_into(rhs_bdim, rhs_spec[0], rhs)
        out = bind(new_lhs, new_rhs, **params)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    if lhs_bdim is not None:
        size = aval_of(lhs).shape[lhs_bdim]
        if bgc == 1:
            new_lhs = _reshape_axis_into(lhs_bdim, lhs_spec[0], lhs)
            out = bind(new_lhs, rhs, **params)
            return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
        # batch groups must stay outermost in the lhs batch dimension
        new_lhs = _reshape_axis_out_of(lhs_spec[0] + int(lhs_bdim <= lhs_spec[0]), bgc, lhs)
        new_lhs = _reshape_axis_into(lhs_bdim + int(lhs_spec[0] < lhs_bdim), lhs_spec[0] + 1, new_lhs)
        new_lhs = _reshape_axis_into(lhs_spec[0], lhs_spec[0], new_lhs)
        out = bind(new_lhs, rhs, **params)
        return _reshape_axis_out_of(out_spec[0], size, out), out_spec[0]
    assert rhs_bdim is not None
    size = aval_of(rhs).shape[rhs_bdim]
    if fgc == 1 and bgc == 1:
        new_rhs = _reshape_axis_into(rhs_bdim, rhs_spec[0], rhs)
        out = bind(lhs, new_rhs, **params)
        return _reshape_axis_out_of(out_spec[1], size, out), out_spec[1]
    # groups must stay outermost in the kernel's output features: factor them out, fold the
    # vmapped axis in, and undo the same on the output
    groups = fgc if fgc > 1 else bgc
    new_rhs = _reshape_axis_out_of(rhs_spec[0] + int(rhs_bdim <= rhs_spec[0]), groups, rhs)
    new_rhs = _reshape_axis_into(rhs_bdim + int(rhs_spec[0] < rhs_bdim), rhs_spec[0] + 1, new_rhs)
    new_rhs = _reshape_axis_into(rhs_spec[0], rhs_spec[0], new_rhs)
    out = bind(lhs, new_rhs, **params)
    out = _reshape_axis_out_of(out_spec[1], groups, out)
    out = _reshape_axis_out_of(out_spec[1] + 1, size, out)
    out = _reshape_axis_into(out_spec[1], out_spec[1] + 1, out)
    return out, out_spec[1]


conv_general_dilated_p.def_abstract_eval(_conv_abstract_eval)
conv_general_dilated_p.def_lowering(_conv_lowering_rule)
conv_general_dilated_p.def_jvp(_conv_jvp)
conv_general_dilated_p.def_transpose(_conv_transpose_rule)
conv_general_dilated_p.def_batching(_conv_batch)


# ----------------------------------------------------------------------------------------------
# The lax functions

def _ints(name: str, values: Any, n: int) -> tuple[int, ...]:
    if values is None:
        return (1,) * n
    try:
        return tuple(operator_index(v) for v in values)
    except TypeError:
        raise TypeError(f"lax.conv_general_dilated: {name} must be a sequence of integers, got {values!r}") from None


def conv_general_dilated(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: Any,
                         lhs_dilation: Sequence[int] | None = None, rhs_dilation: Sequence[int] | None = None,
                         dimension_numbers: Any = None, feature_group_count: int = 1, batch_group_count: int = 1,
                         precision: PrecisionLike = None, preferred_element_type: Any = None) -> Any:
    """General N-d convolution (XLA's ConvGeneralDilated).

    ``padding`` is ``'SAME'``, ``'SAME_LOWER'``, ``'VALID'`` or ``n`` ``(low, high)`` pairs;
    ``lhs_dilation`` gives transposed convolutions, ``rhs_dilation`` atrous ones. With
    ``dimension_numbers=None`` the layout is ``NC...`` / ``OI...`` / ``NC...``.

    >>> import numpy as np
    >>> x, k = np.ones((1, 5, 5, 3), np.float32), np.ones((3, 3, 3, 8), np.float32)
    >>> conv_general_dilated(x, k, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")).shape
    (1, 5, 5, 8)
    """
    lhs_shape, rhs_shape = aval_of(lhs).shape, aval_of(rhs).shape
    dnums = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    nsp = len(lhs_shape) - 2
    strides = _ints("window_strides", window_strides, nsp)
    lhs_dil = _ints("lhs_dilation", lhs_dilation, nsp)
    rhs_dil = _ints("rhs_dilation", rhs_dilation, nsp)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dil):
            raise ValueError("lax.conv_general_dilated: string padding is not implemented for transposed "
                             "convolutions (lhs_dilation > 1); give explicit (low, high) padding or use "
                             "lax.conv_transpose")
        in_spatial = [lhs_shape[d] for d in dnums.lhs_spec[2:]]
        window = [_dilate(rhs_shape[d], r) for d, r in zip(dnums.rhs_spec[2:], rhs_dil)]
        pads = tuple(padtype_to_pads(in_spatial, window, strides, padding))
    else:
        try:
            pads = tuple((operator_index(lo), operator_index(hi)) for lo, hi in padding)
        except (TypeError, ValueError):
            raise ValueError("lax.conv_general_dilated: padding must be a string or a sequence of (low, high) "
                             f"pairs, got {padding!r}") from None
    preferred = None if preferred_element_type is None else dtypes.canonicalize_dtype(preferred_element_type)
    return conv_general_dilated_p.bind(
        lhs, rhs, window_strides=strides, padding=pads, lhs_dilation=lhs_dil, rhs_dilation=rhs_dil,
        dimension_numbers=dnums, feature_group_count=operator_index(feature_group_count),
        batch_group_count=operator_index(batch_group_count), precision=canonicalize_precision(precision),
        preferred_element_type=preferred)


def conv(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: str, precision: PrecisionLike = None,
         preferred_element_type: Any = None) -> Any:
    """``conv_general_dilated`` with ``NC...``/``OI...`` layouts and no dilation."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, precision=precision,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs: Any, rhs: Any, window_strides: Sequence[int], padding: Any,
                              lhs_dilation: Sequence[int] | None, rhs_dilation: Sequence[int] | None,
                              precision: PrecisionLike = None, preferred_element_type: Any = None) -> Any:
    """``conv_general_dilated`` with ``NC...``/``OI...`` layouts."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=lhs_dilation,
                                rhs_dilation=rhs_dilation, precision=precision,
                                preferred_element_type=preferred_element_type)


def _conv_transpose_padding(k: int, s: int, padding: Any) -> tuple[int, int]:
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        pad_a, pad_len = pads[0], sum(pads)
    else:
        raise ValueError(f"lax.conv_transpose: invalid padding {padding!r}")
    return pad_a, pad_len - pad_a


def conv_transpose(lhs: Any, rhs: Any, strides: Sequence[int], padding: Any,
                   rhs_dilation: Sequence[int] | None = None, dimension_numbers: Any = None,
                   transpose_kernel: bool = False, precision: PrecisionLike = None,
                   preferred_element_type: Any = None, use_consistent_padding: bool = False) -> Any:
    """A fractionally strided ("transposed") convolution, computed directly.

    Defaults to the TensorFlow layouts (``NHWC``/``HWIO``). ``transpose_kernel`` flips the kernel's
    spatial axes and swaps its feature axes, giving the gradient of the forward ``conv``.
    """
    lhs_shape, rhs_shape = aval_of(lhs).shape, aval_of(rhs).shape
    ndims = len(lhs_shape)
    if dimension_numbers is None:
        defaults = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"), 4: ("NHWC", "HWIO", "NHWC"),
                    5: ("NHWDC", "HWDIO", "NHWDC")}
        if ndims not in defaults:
            raise ValueError(f"lax.conv_transpose: no default dimension_numbers for rank {ndims}; pass them")
        dimension_numbers = defaults[ndims]
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    k_sdims = [rhs_shape[d] for d in dn.rhs_spec[2:]]
    rhs_dilation = (1,) * (ndims - 2) if rhs_dilation is None else tuple(rhs_dilation)
    if use_consistent_padding or (isinstance(padding, str) and padding in ("SAME", "VALID")):
        effective = [_dilate(k, r) for k, r in zip(k_sdims, rhs_dilation)]
        per_dim = [padding] * len(strides) if isinstance(padding, str) else [tuple(p) for p in padding]
        pads: Any = tuple(_conv_transpose_padding(k, s, p) for k, s, p in zip(effective, strides, per_dim))
    else:
        pads = padding
    if transpose_kernel:
        rhs = sh.rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(ndims))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = sh.transpose(rhs, tuple(perm))
    return conv_general_dilated(lhs, rhs, (1,) * (ndims - 2), pads, strides, rhs_dilation, dn,
                                precision=precision, preferred_element_type=preferred_element_type)


