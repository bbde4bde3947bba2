"""lax.fft and ember.core.numpy.fft: numerics against numpy.fft, transposes (gradients), batching."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core import lax
from ember.core.numpy import fft as jfft
from ember.core.test_util import check_grads

TOL = dict(atol=1e-4, rtol=1e-4)


def _complex(rng, shape):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def test_lax_fft_types(rng):
    x = _complex(rng, (3, 8))
    r = rng.standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(lax.fft(x, "fft", (8,))), np.fft.fft(x), **TOL)
    np.testing.assert_allclose(np.asarray(lax.fft(x, lax.FftType.IFFT, (3, 8))), np.fft.ifft2(x), **TOL)
    np.testing.assert_allclose(np.asarray(lax.fft(r, "rfft", (3, 8))), np.fft.rfft2(r), **TOL)
    h = np.fft.rfft2(r).astype(np.complex64)
    out = lax.fft(h, "IRFFT", (3, 8))
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), r, **TOL)
    # real input to a complex transform is converted
    np.testing.assert_allclose(np.asarray(lax.fft(r, "fft", (8,))), np.fft.fft(r), **TOL)


@pytest.mark.parametrize("lengths", [(8,), (3, 8)])
def test_lax_fft_grads(rng, lengths):
    x = _complex(rng, (3, 8))
    r = rng.standard_normal((3, 8)).astype(np.float32)
    for kind in ("fft", "ifft"):
        check_grads(lambda a, kind=kind: lax.fft(a, kind, lengths), (x,), order=2, modes=("fwd", "rev"))
    check_grads(lambda a: lax.fft(a, "rfft", lengths), (r,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("n", [8, 7])
def test_irfft_grads(rng, n):
    r = rng.standard_normal((3, n)).astype(np.float32)
    h1 = np.fft.rfft(r).astype(np.complex64)
    check_grads(lambda a: lax.fft(a, "irfft", (n,)), (h1,), order=2, modes=("fwd", "rev"))
    h2 = np.fft.rfft2(r).astype(np.complex64)
    check_grads(lambda a: lax.fft(a, "irfft", (3, n)), (h2,), order=1, modes=("fwd", "rev"))


def test_fft_vmap_and_jit(rng):
    x = _complex(rng, (4, 5, 8))
    out = ec.vmap(lambda a: lax.fft(a, "fft", (8,)), in_axes=1, out_axes=1)(x)
    np.testing.assert_allclose(np.asarray(out), np.fft.fft(x), **TOL)
    out2 = ec.vmap(lambda a: jfft.fft2(a), in_axes=2)(x)
    np.testing.assert_allclose(np.asarray(out2), np.stack([np.fft.fft2(x[:, :, i]) for i in range(8)]), **TOL)
    np.testing.assert_allclose(np.asarray(ec.jit(jfft.ifftn)(x)), np.fft.ifftn(x), **TOL)


def test_lax_fft_errors():
    with pytest.raises(ValueError, match="unknown FFT type"):
        lax.fft(np.ones(4, np.complex64), "dct", (4,))
    with pytest.raises(ValueError, match=r"lax\.fft: FFT input shape \(4,\) must end in fft_lengths \(5,\)"):
        lax.fft(np.ones(4, np.complex64), "fft", (5,))
    with pytest.raises(ValueError, match="RFFT needs a real input"):
        lax.fft(np.ones(4, np.complex64), "rfft", (4,))
    with pytest.raises(ValueError, match="fewer dimensions"):
        lax.fft(np.ones(4, np.complex64), "fft", (1, 4))


ONE_D = [{}, dict(n=5), dict(n=9, axis=0), dict(norm="ortho"), dict(norm="forward")]


@pytest.mark.parametrize("name", ["fft", "ifft", "rfft", "hfft", "ihfft"])
def test_numpy_fft_1d(rng, name):
    real = name in ("rfft", "ihfft")
    x = rng.standard_normal((4, 6)).astype(np.float32) if real else _complex(rng, (4, 6))
    for kw in ONE_D:
        np.testing.assert_allclose(np.asarray(getattr(jfft, name)(x, **kw)), getattr(np.fft, name)(x, **kw),
                                   atol=1e-4, rtol=1e-4, err_msg=f"{name} {kw}")


def test_numpy_irfft(rng):
    h = np.fft.rfft(rng.standard_normal((4, 6))).astype(np.complex64)
    for kw in [{}, dict(n=6), dict(n=7), dict(n=3), dict(norm="ortho"), dict(axis=0, n=5)]:
        np.testing.assert_allclose(np.asarray(jfft.irfft(h, **kw)), np.fft.irfft(h, **kw), atol=1e-4,
                                   err_msg=str(kw))


@pytest.mark.parametrize("name", ["fftn", "ifftn", "rfftn", "fft2", "ifft2", "rfft2"])
def test_numpy_fft_nd(rng, name):
    real = name.startswith("r")
    x = rng.standard_normal((3, 4, 5)).astype(np.float32) if real else _complex(rng, (3, 4, 5))
    for kw in [{}, dict(axes=(0, 2)), dict(s=(3, 6), axes=(1, 0)), dict(norm="ortho")]:
        np.testing.assert_allclose(np.asarray(getattr(jfft, name)(x, **kw)), getattr(np.fft, name)(x, **kw),
                                   atol=1e-4, rtol=1e-4, err_msg=f"{name} {kw}")


def test_numpy_irfftn(rng):
    h = np.fft.rfftn(rng.standard_normal((3, 4, 5))).astype(np.complex64)
    np.testing.assert_allclose(np.asarray(jfft.irfftn(h)), np.fft.irfftn(h), atol=1e-4)
    np.testing.assert_allclose(np.asarray(jfft.irfftn(h, s=(3, 4, 5), axes=(0, 1, 2))),
                               np.fft.irfftn(h, s=(3, 4, 5), axes=(0, 1, 2)), atol=1e-4)
    np.testing.assert_allclose(np.asarray(jfft.irfft2(h)), np.fft.irfft2(h), atol=1e-4)


def test_numpy_fft_grads(rng):
    x = rng.standard_normal((4, 6)).astype(np.float32)
    check_grads(lambda a: jnp.real(jfft.rfft(a, n=8, norm="ortho")), (x,), order=1)
    check_grads(lambda a: jfft.irfft(jfft.rfft(a)), (x,), order=1)
    check_grads(lambda a: jnp.abs(jfft.fft2(a)), (x,), order=1)


def test_freqs_and_shifts(rng):
    np.testing.assert_allclose(np.asarray(jfft.fftfreq(7, 0.5)), np.fft.fftfreq(7, 0.5), **TOL)
    np.testing.assert_allclose(np.asarray(jfft.fftfreq(8)), np.fft.fftfreq(8), **TOL)
    np.testing.assert_allclose(np.asarray(jfft.rfftfreq(7, 0.5)), np.fft.rfftfreq(7, 0.5), **TOL)
    assert jfft.fftfreq(4).dtype == np.float32
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(jfft.fftshift(x)), np.fft.fftshift(x))
    np.testing.assert_array_equal(np.asarray(jfft.fftshift(x, axes=1)), np.fft.fftshift(x, axes=1))
    np.testing.assert_array_equal(np.asarray(jfft.ifftshift(x, axes=(0, 2))), np.fft.ifftshift(x, axes=(0, 2)))


def test_numpy_fft_errors():
    x = np.ones((2, 2, 2, 2), np.complex64)
    with pytest.raises(ValueError, match="only supports 1D, 2D and 3D"):
        jfft.fftn(x)
    with pytest.raises(ValueError, match="repeated axes"):
        jfft.fftn(x, axes=(0, 0))
    with pytest.raises(ValueError, match="Invalid norm"):
        jfft.fft(x, norm="bogus")
    with pytest.raises(ValueError, match="exactly two axes"):
        jfft.fft2(x, axes=(0,))
