"""``fft``: XLA's fast Fourier transforms over the trailing ``len(fft_lengths)`` dimensions.

Four kinds (``FftType``): complex-to-complex ``FFT`` and ``IFFT`` (unnormalised forward, ``1/n``
inverse, as NumPy), real-to-complex ``RFFT`` (keeps ``n//2 + 1`` frequencies of the last
dimension) and its inverse ``IRFFT``. All are linear; their transposes follow JAX's.

    >>> import numpy as np
    >>> np.asarray(fft(np.array([1, 2, 3, 4], np.complex64), "FFT", (4,))).real.tolist()
    [10.0, -2.0, -2.0, -2.0]
"""

from __future__ import annotations

import enum
import math
from typing import Any, Sequence

import numpy as np
from jaxlib.mlir.dialects import stablehlo as hlo

from .. import dtypes
from ..core import Primitive, ShapedArray, operator_index
from ..lowering import dense_i64, ir_type
from ..rules import Zero, deflinear, moveaxis_to_front
from . import elementwise as ew
from . import shape as sh
from ._util import aval_of

__all__ = ["FftType", "fft"]


class FftType(enum.IntEnum):
    """Which transform ``lax.fft`` computes."""

    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3


def _fft_type(fft_type: Any) -> FftType:
    if isinstance(fft_type, FftType):
        return fft_type
    if isinstance(fft_type, str) and fft_type.upper() in FftType.__members__:
        return FftType[fft_type.upper()]
    raise ValueError(f"lax.fft: unknown FFT type {fft_type!r}; expected one of FFT, IFFT, RFFT, IRFFT")


def _is_wide(dtype: np.dtype) -> bool:
    return dtype in (dtypes.float64, dtypes.complex128, dtypes.int64, dtypes.uint64)


def _complex_dtype(dtype: np.dtype) -> np.dtype:
    return dtypes.canonicalize_dtype(dtypes.complex128 if _is_wide(dtype) else dtypes.complex64)


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return dtypes.canonicalize_dtype(dtypes.float64 if _is_wide(dtype) else dtypes.float32)


fft_p = Primitive("fft")


def _fft_abstract_eval(x: ShapedArray, *, fft_type: FftType, fft_lengths: tuple[int, ...]) -> ShapedArray:
    k = len(fft_lengths)
    if k > x.ndim:
        raise ValueError(f"lax.fft: input shape {x.shape} has fewer dimensions than fft_lengths {fft_lengths}")
    minor = x.shape[x.ndim - k:]
    if fft_type == FftType.RFFT:
        if x.dtype not in (dtypes.float32, dtypes.float64):
            raise TypeError(f"lax.fft: RFFT input must be float32 or float64, got {x.dtype.name}")
        if minor != fft_lengths:
            raise ValueError(f"lax.fft: RFFT input shape {x.shape} must end in fft_lengths {fft_lengths}")
        shape = x.shape[:x.ndim - k] + fft_lengths[:-1] + (fft_lengths[-1] // 2 + 1,)
        return ShapedArray(shape, _complex_dtype(x.dtype))
    if x.dtype.kind != "c":
        raise TypeError(f"lax.fft: {fft_type.name} input must be complex64 or complex128, got {x.dtype.name}")
    if fft_type == FftType.IRFFT:
        if minor[:-1] != fft_lengths[:-1]:
            raise ValueError(f"lax.fft: IRFFT input shape {x.shape} must end in fft_lengths {fft_lengths} (all but "
                             "the last)")
        if minor[-1] != fft_lengths[-1] // 2 + 1:
            raise ValueError(f"lax.fft: IRFFT input's last dimension must be fft_lengths[-1] // 2 + 1 = "
                             f"{fft_lengths[-1] // 2 + 1}, got shape {x.shape}")
        return ShapedArray(x.shape[:x.ndim - k] + fft_lengths, _real_dtype(x.dtype))
    if minor != fft_lengths:
        raise ValueError(f"lax.fft: {fft_type.name} input shape {x.shape} must end in fft_lengths {fft_lengths}")
    return x.strip_weak_type()


def _fft_lowering(ctx: Any, x: Any, *, fft_type: FftType, fft_lengths: tuple[int, ...]) -> Any:
    return hlo.FftOp(x, hlo.FftTypeAttr.get(fft_type.name), dense_i64(fft_lengths),
                     results=[ir_type(ctx.avals_out[0])]).result


def _rfft_transpose(ct: Any, fft_lengths: tuple[int, ...]) -> Any:
    # rfft = slice(FFT(x)) for real x; the transpose of the real -> complex embedding is the real part
    aval = aval_of(ct)
    n = fft_lengths[-1]
    pad = [(0, 0, 0)] * (aval.ndim - 1) + [(0, n - aval.shape[-1], 0)]
    full = sh.pad(ct, np.zeros((), aval.dtype), pad)
    return ew.real(fft_p.bind(full, fft_type=FftType.FFT, fft_lengths=fft_lengths))


def _irfft_transpose(ct: Any, fft_lengths: tuple[int, ...]) -> Any:
    # the RFFT of the cotangent, scaled, with the Hermitian-duplicated frequencies counted twice
    x = fft_p.bind(ct, fft_type=FftType.RFFT, fft_lengths=fft_lengths)
    aval = aval_of(x)
    n = aval.shape[-1]
    odd = fft_lengths[-1] % 2
    mask = np.concatenate([np.ones(1), np.full(n - 2 + odd, 2.0), np.ones(1 - odd)])[:n]
    scale = mask / math.prod(fft_lengths)
    scale_arr = sh.broadcast_in_dim(np.asarray(scale, aval.dtype), aval.shape, (aval.ndim - 1,))
    return ew.conj(ew.mul(x, scale_arr))


def _fft_transpose(ct: Any, x: Any, *, fft_type: FftType, fft_lengths: tuple[int, ...]) -> list[Any]:
    if type(ct) is Zero:
        return [Zero(x.aval)]
    if fft_type == FftType.RFFT:
        return [_rfft_transpose(ct, fft_lengths)]
    if fft_type == FftType.IRFFT:
        return [_irfft_transpose(ct, fft_lengths)]
    # the DFT matrix is symmetric: FFT and IFFT are their own transposes
    return [fft_p.bind(ct, fft_type=fft_type, fft_lengths=fft_lengths)]


def _fft_batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, int]:
    return fft_p.bind(moveaxis_to_front(args[0], dims[0]), **params), 0


fft_p.def_abstract_eval(_fft_abstract_eval)
fft_p.def_lowering(_fft_lowering)
deflinear(fft_p, _fft_transpose)
fft_p.def_batching(_fft_batch)


def fft(x: Any, fft_type: FftType | str, fft_lengths: Sequence[int]) -> Any:
    """The ``fft_type`` transform of ``x`` over its trailing ``len(fft_lengths)`` dimensions.

    Inputs are converted as needed: to complex for FFT/IFFT/IRFFT, to floating for RFFT.
    """
    typ = _fft_type(fft_type)
    lengths = tuple(operator_index(n) for n in fft_lengths)
    dtype = aval_of(x).dtype
    if typ == FftType.RFFT:
        if dtype.kind == "c":
            raise ValueError("lax.fft: RFFT needs a real input, got a complex one")
        if dtype not in (dtypes.float32, dtypes.float64):
            x = ew.convert_element_type(x, _real_dtype(dtype))
    elif dtype.kind != "c":
        x = ew.convert_element_type(x, _complex_dtype(dtype))
    if not lengths:
        return x
    return fft_p.bind(x, fft_type=typ, fft_lengths=lengths)
