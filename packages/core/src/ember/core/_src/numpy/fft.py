"""``ember.core.numpy.fft``: NumPy's discrete Fourier transforms with JAX's names and semantics.

Every transform moves its axes last, crops or zero-pads them to the requested lengths, runs one
``lax.fft`` and applies the ``norm`` scaling (``'backward'``, the default, ``'ortho'`` or
``'forward'``). XLA transforms at most three axes at once.

    >>> import ember.core.numpy as jnp
    >>> from ember.core.numpy import fft as jfft
    >>> jfft.fft(jnp.array([1.0, 0.0, 0.0, 0.0])).real.tolist()
    [1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .. import dtypes
from ..array import Array
from ..core import Tracer, get_aval, operator_index
from ..primitives import elementwise as ew
from ..primitives import shape as sh
from ..primitives.fft import FftType
from ..primitives.fft import fft as lax_fft
from .util import canonicalize_axis, check_arraylike, numpy_jit

__all__ = [
    "fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn", "ifftshift", "ihfft",
    "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn",
]


def _arr(name: str, x: Any) -> Any:
    check_arraylike(name, x)
    if isinstance(x, (Array, Tracer)):
        return x
    from .creation import asarray
    return asarray(x)


def _shape(x: Any) -> tuple[int, ...]:
    return get_aval(x).shape


def _moveaxes(x: Any, src: Sequence[int], dst: Sequence[int]) -> Any:
    nd = len(_shape(x))
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(nd) if i not in src)
    perm = tuple(o if o is not None else next(rest) for o in order)
    return sh.transpose(x, perm)


def _resize_axis(x: Any, axis: int, n: int) -> Any:
    """Crop or zero-pad ``axis`` to length ``n`` (at the end)."""
    size = _shape(x)[axis]
    if size == n:
        return x
    if size > n:
        return sh.slice_in_dim(x, 0, n, 1, axis)
    config = [(0, 0, 0)] * len(_shape(x))
    config[axis] = (0, n - size, 0)
    return sh.pad(x, np.zeros((), get_aval(x).dtype), config)


def _norm_factor(n: int, name: str, norm: str | None) -> float | None:
    inverse = name.startswith("i")
    if norm is None or norm == "backward":
        return None
    if norm == "ortho":
        return math.sqrt(n) if inverse else 1 / math.sqrt(n)
    if norm == "forward":
        return float(n) if inverse else 1 / n
    raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')


def _fft_core(name: str, fft_type: FftType, a: Any, s: Sequence[int] | None, axes: Sequence[int] | None,
              norm: str | None) -> Any:
    full_name = f"numpy.fft.{name}"
    nd = len(_shape(a))
    if s is not None:
        s = tuple(operator_index(n) for n in s)
        if any(n < 0 for n in s):
            raise ValueError(f"{full_name}: shape should be non-negative, got s={s}")
    if s is not None and axes is not None and len(s) != len(axes):
        raise ValueError(f"{full_name}: shape and axes have different lengths ({s} and {tuple(axes)})")
    orig_axes = axes
    if axes is None:
        axes = tuple(range(nd)) if s is None else tuple(range(nd - len(s), nd))
    axes = tuple(canonicalize_axis(ax, nd) for ax in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{full_name} does not support repeated axes, got axes {tuple(orig_axes or axes)}")
    if len(axes) > 3:
        raise ValueError(f"{full_name} only supports 1D, 2D and 3D FFTs; got axes {tuple(orig_axes or axes)} with "
                         f"input rank {nd}")
    last = tuple(range(nd - len(axes), nd))
    if orig_axes is not None:
        a = _moveaxes(a, axes, last)
    if s is not None:
        sizes = list(s)
        if fft_type == FftType.IRFFT:
            sizes[-1] = sizes[-1] // 2 + 1
        for ax, n in zip(last, sizes):
            a = _resize_axis(a, ax, n)
        lengths = tuple(s)
    elif fft_type == FftType.IRFFT:
        shape = _shape(a)
        lengths = tuple(shape[ax] for ax in last[:-1]) + ((max(0, 2 * (shape[last[-1]] - 1)),) if last else ())
    else:
        lengths = tuple(_shape(a)[ax] for ax in last)
    out = lax_fft(a, fft_type, lengths)
    factor = _norm_factor(math.prod(lengths), name, norm)
    if factor is not None:
        out = ew.mul(out, np.asarray(factor, get_aval(out).dtype))
    if orig_axes is not None:
        out = _moveaxes(out, last, axes)
    return out


@numpy_jit(static_argnames=("name", "fft_type", "s", "axes", "norm"))
def _fft_jit(a: Any, name: str, fft_type: FftType, s: Any, axes: Any, norm: Any) -> Any:
    return _fft_core(name, fft_type, a, s, axes, norm)


def _tuple_or_none(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, (int, np.integer)):
        return (operator_index(x),)
    return tuple(operator_index(v) for v in x)


def _one_d(name: str, fft_type: FftType, a: Any, n: int | None, axis: int, norm: str | None) -> Any:
    a = _arr(f"numpy.fft.{name}", a)
    if isinstance(axis, (tuple, list)):
        raise ValueError(f"numpy.fft.{name} does not support multiple axes; use {name}n instead")
    return _fft_jit(a, name=name, fft_type=fft_type, s=None if n is None else (operator_index(n),),
                    axes=(operator_index(axis),), norm=norm)


def _n_d(name: str, fft_type: FftType, a: Any, s: Any, axes: Any, norm: str | None) -> Any:
    a = _arr(f"numpy.fft.{name}", a)
    return _fft_jit(a, name=name, fft_type=fft_type, s=_tuple_or_none(s), axes=_tuple_or_none(axes), norm=norm)


def fft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """One-dimensional discrete Fourier transform along ``axis`` (cropped or zero-padded to ``n``).

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.fft(jnp.array([1.0, 0.0, 0.0, 0.0])).tolist()
    [(1+0j), (1+0j), (1+0j), (1+0j)]
    """
    return _one_d("fft", FftType.FFT, a, n, axis, norm)


def ifft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """One-dimensional inverse discrete Fourier transform along ``axis``.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.ifft(jnp.fft.fft(jnp.array([1.0, 2.0]))).real.tolist()
    [1.0, 2.0]
    """
    return _one_d("ifft", FftType.IFFT, a, n, axis, norm)


def rfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Fourier transform of a real signal: the ``n // 2 + 1`` non-negative frequencies.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.rfft(jnp.array([1.0, 1.0, 1.0, 1.0])).tolist()
    [(4+0j), 0j, 0j]
    """
    return _one_d("rfft", FftType.RFFT, a, n, axis, norm)


def irfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Inverse of ``rfft``: a real signal of length ``n`` (default ``2 * (m - 1)``).

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.irfft(jnp.fft.rfft(jnp.array([1.0, 2.0, 3.0, 4.0]))).tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    return _one_d("irfft", FftType.IRFFT, a, n, axis, norm)


def hfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Fourier transform of a Hermitian-symmetric signal given by its first half (a real result).

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.hfft(jnp.array([1.0, 0.0, 0.0])).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    a = _arr("numpy.fft.hfft", a)
    nn = (_shape(a)[canonicalize_axis(axis, len(_shape(a)))] - 1) * 2 if n is None else operator_index(n)
    conj_a = ew.conj(a) if get_aval(a).dtype.kind == "c" else a
    out = _one_d("hfft", FftType.IRFFT, conj_a, n, axis, norm)
    return ew.mul(out, np.asarray(nn, get_aval(out).dtype))


def ihfft(a: Any, n: int | None = None, axis: int = -1, norm: str | None = None) -> Any:
    """Inverse of ``hfft``: the first half of a Hermitian-symmetric spectrum of a real signal.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.ihfft(jnp.array([1.0, 1.0, 1.0, 1.0])).tolist()
    [(1+0j), 0j, 0j]
    """
    a = _arr("numpy.fft.ihfft", a)
    nn = _shape(a)[canonicalize_axis(axis, len(_shape(a)))] if n is None else operator_index(n)
    out = _one_d("ihfft", FftType.RFFT, a, n, axis, norm)
    return ew.mul(ew.conj(out), np.asarray(1 / nn, get_aval(out).dtype))


def fftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional discrete Fourier transform over ``axes`` (default: all, at most three).

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.fftn(jnp.ones((2, 2, 2))).real[0, 0, 0].tolist()
    8.0
    """
    return _n_d("fftn", FftType.FFT, a, s, axes, norm)


def ifftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional inverse discrete Fourier transform.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.ifftn(jnp.fft.fftn(jnp.ones((2, 2)))).real.tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    return _n_d("ifftn", FftType.IFFT, a, s, axes, norm)


def rfftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """N-dimensional Fourier transform of a real signal (half spectrum along the last axis).

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.rfftn(jnp.ones((2, 2, 4))).shape
    (2, 2, 3)
    """
    return _n_d("rfftn", FftType.RFFT, a, s, axes, norm)


def irfftn(a: Any, s: Any = None, axes: Any = None, norm: str | None = None) -> Any:
    """Inverse of ``rfftn``.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.irfftn(jnp.fft.rfftn(jnp.ones((2, 4)))).tolist()
    [[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    """
    return _n_d("irfftn", FftType.IRFFT, a, s, axes, norm)


def _check_2d(name: str, axes: Any) -> None:
    if axes is not None and len(tuple(axes)) != 2:
        raise ValueError(f"numpy.fft.{name} takes exactly two axes, got {axes!r}")


def fft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """Two-dimensional discrete Fourier transform over ``axes``.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.fft2(jnp.ones((2, 2))).real.tolist()
    [[4.0, 0.0], [0.0, 0.0]]
    """
    _check_2d("fft2", axes)
    return _n_d("fft2", FftType.FFT, a, s, axes, norm)


def ifft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """Two-dimensional inverse discrete Fourier transform.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.ifft2(jnp.fft.fft2(jnp.eye(2))).real.tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    _check_2d("ifft2", axes)
    return _n_d("ifft2", FftType.IFFT, a, s, axes, norm)


def rfft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """Two-dimensional Fourier transform of a real signal.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.rfft2(jnp.ones((2, 4))).shape
    (2, 3)
    """
    _check_2d("rfft2", axes)
    return _n_d("rfft2", FftType.RFFT, a, s, axes, norm)


def irfft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: str | None = None) -> Any:
    """Inverse of ``rfft2``.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.irfft2(jnp.fft.rfft2(jnp.ones((2, 4)))).shape
    (2, 4)
    """
    _check_2d("irfft2", axes)
    return _n_d("irfft2", FftType.IRFFT, a, s, axes, norm)


def fftfreq(n: int, d: Any = 1.0, *, dtype: Any = None, device: Any = None) -> Any:
    """Sample frequencies ``[0, 1, ..., n/2 - 1, -n/2, ..., -1] / (d * n)`` of an ``fft`` of length ``n``.

    >>> fftfreq(4).tolist()
    [0.0, 0.25, -0.5, -0.25]
    """
    n = operator_index(n)
    dtype = dtypes.default_float_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    k = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)]) if n else np.zeros(0)
    return _freqs(k, n, d, dtype, device)


def rfftfreq(n: int, d: Any = 1.0, *, dtype: Any = None, device: Any = None) -> Any:
    """Sample frequencies ``[0, 1, ..., n // 2] / (d * n)`` of an ``rfft`` of length ``n``.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.rfftfreq(8, d=0.5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    n = operator_index(n)
    dtype = dtypes.default_float_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    return _freqs(np.arange(0, n // 2 + 1), n, d, dtype, device)


def _freqs(k: np.ndarray, n: int, d: Any, dtype: np.dtype, device: Any) -> Any:
    from .creation import asarray
    base = asarray(np.asarray(k, dtype), device=device)
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        return ew.mul(base, np.asarray(1.0 / (d * n), dtype))
    from .ufuncs import divide, multiply
    return divide(base, multiply(d, n)).astype(dtype)


def _shift(x: Any, axes: Any, inverse: bool) -> Any:
    nd = len(_shape(x))
    axes = tuple(range(nd)) if axes is None else _tuple_or_none(axes)
    for ax in axes:
        ax = canonicalize_axis(ax, nd)
        n = _shape(x)[ax]
        shift = -(n // 2) if inverse else n // 2
        k = shift % n if n else 0
        if k:
            head = sh.slice_in_dim(x, n - k, n, 1, ax)
            tail = sh.slice_in_dim(x, 0, n - k, 1, ax)
            x = sh.concatenate([head, tail], ax)
    return x


@numpy_jit(static_argnames=("axes", "inverse"))
def _shift_jit(x: Any, axes: Any, inverse: bool) -> Any:
    return _shift(x, axes, inverse)


def fftshift(x: Any, axes: Any = None) -> Any:
    """Move the zero frequency to the centre (a roll by ``n // 2`` along ``axes``, default all).

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.fftshift(jnp.arange(5)).tolist()
    [3, 4, 0, 1, 2]
    """
    x = _arr("numpy.fft.fftshift", x)
    return _shift_jit(x, axes=_tuple_or_none(axes), inverse=False)


def ifftshift(x: Any, axes: Any = None) -> Any:
    """The inverse of ``fftshift``.

    >>> import ember.core.numpy as jnp
    >>> jnp.fft.ifftshift(jnp.fft.fftshift(jnp.arange(5))).tolist()
    [0, 1, 2, 3, 4]
    """
    x = _arr("numpy.fft.ifftshift", x)
    return _shift_jit(x, axes=_tuple_or_none(axes), inverse=True)
