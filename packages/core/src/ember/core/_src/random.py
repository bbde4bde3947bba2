"""Pseudo-random numbers with explicit keys (public as ``ember.core.random``), as ``jax.random``.

The generator is JAX's default: Threefry-2x32 with the "partitionable" counter layout (the default
since JAX 0.5), so ``PRNGKey(0)``, ``split``, ``fold_in``, ``bits``, ``uniform``, ``normal`` and the
samplers built on them give bit-for-bit the numbers ``jax.random`` gives.

Keys are raw ``uint32[2]`` arrays, whether made by ``PRNGKey(seed)`` or ``key(seed)`` (JAX's
``key`` returns a typed scalar key; ember has no key dtype). ``key_data`` and ``wrap_key_data``
are the identity on such arrays. Keys are ordinary arrays: they pass through ``jit``, ``vmap``
(a batch of keys is a ``uint32[n, 2]`` array) and checkpoints like any other array.

    >>> import ember.core.random as random
    >>> key = random.PRNGKey(0)
    >>> k1, k2 = random.split(key)
    >>> random.uniform(k1, (3,)).shape
    (3,)
"""

from __future__ import annotations

import math
import operator
from typing import Any, Sequence

import numpy as np

from . import dtypes
from .config import config
from .core import Tracer, canonicalize_shape, get_aval
from .numpy import ufuncs as uf
from .numpy.util import broadcast_shapes, broadcast_to_shape, numpy_jit, promote_dtypes_inexact
from .primitives import elementwise as lax
from .primitives import reductions as red
from .primitives import shape as sh
from .primitives.random_bits import (
    iota_2x32_shape,
    random_gamma_p,
    random_poisson_p,
    threefry2x32_p,
    threefry_2x32,
)

__all__ = [
    "PRNGKey", "key", "key_data", "wrap_key_data", "key_impl", "clone", "split", "fold_in", "bits",
    "uniform", "normal", "truncated_normal", "bernoulli", "randint", "categorical", "choice",
    "permutation", "exponential", "gumbel", "laplace", "logistic", "cauchy", "rademacher", "gamma",
    "loggamma", "beta", "dirichlet", "chisquare", "t", "f", "poisson", "multivariate_normal",
    "orthogonal", "ball", "generalized_normal", "pareto", "weibull_min", "rayleigh", "maxwell",
    "double_sided_maxwell", "lognormal", "triangular", "wald", "geometric", "threefry_2x32",
    "threefry2x32_p", "random_gamma_p",
]

Shape = Sequence[int]
_uint32 = np.dtype(np.uint32)
_UINT_DTYPES = {8: dtypes.uint8, 16: dtypes.uint16, 32: dtypes.uint32, 64: dtypes.uint64}


# ----------------------------------------------------------------------------------------------
# Argument checks

def _check_key(name: str, key: Any, *, allow_batched: bool = False) -> Any:
    try:
        aval = get_aval(key)
    except TypeError:
        raise TypeError(f"random.{name}: expected a PRNG key (a uint32[2] array from random.PRNGKey "
                        f"or random.split), got {type(key).__name__}") from None
    if aval.dtype != _uint32 or not aval.shape or aval.shape[-1] != 2:
        raise TypeError(f"random.{name}: expected a PRNG key, a uint32 array of shape (2,) "
                        f"(from random.PRNGKey or random.split), got {aval.str_short()}")
    if not allow_batched and aval.ndim != 1:
        raise ValueError(f"random.{name} accepts a single key, but was given a key array of shape "
                         f"{aval.shape[:-1]} != (). Use ember.core.vmap for batching.")
    if isinstance(key, np.ndarray):
        return np.asarray(key, _uint32)
    return key


def _float_dtype(name: str, dtype: Any, *, inexact: bool = False) -> np.dtype:
    dtype = dtypes.canonicalize_dtype(dtypes.default_float_dtype() if dtype is None else dtype)
    ok = dtypes.is_inexact(dtype) if inexact else dtypes.is_float(dtype)
    if not ok:
        kind = "a float or complex" if inexact else "a float"
        raise ValueError(f"dtype argument to `{name}` must be {kind} dtype, got {dtype}")
    return dtype


def _int_dtype(name: str, dtype: Any) -> np.dtype:
    dtype = dtypes.canonicalize_dtype(dtypes.default_int_dtype() if dtype is None else dtype)
    if dtype.kind not in "iu":
        raise TypeError(f"{name} only accepts integer dtypes, got {dtype}")
    return dtype


def _shape_of(x: Any) -> tuple[int, ...]:
    return tuple(get_aval(x).shape) if not isinstance(x, (int, float, bool)) else ()


def _check_shape(name: str, shape: tuple[int, ...], *param_shapes: tuple[int, ...]) -> None:
    if param_shapes:
        try:
            result = broadcast_shapes(shape, *param_shapes)
        except ValueError:
            result = None
        if result != tuple(shape):
            raise ValueError(f"{name} parameter shapes must be broadcast-compatible with the shape "
                             f"argument, and the result of broadcasting the shapes must equal the shape "
                             f"argument, but got result {result} for shape argument {tuple(shape)}.")


def _shape_or_broadcast(name: str, shape: Any, *params: Any) -> tuple[int, ...]:
    shapes = [_shape_of(p) for p in params]
    if shape is None:
        return broadcast_shapes(*shapes) if shapes else ()
    shape = canonicalize_shape(shape)
    _check_shape(name, shape, *shapes)
    return shape


def _cast(x: Any, dtype: np.dtype) -> Any:
    if isinstance(x, (int, float, bool)) or isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x, dtype)
    return lax.convert_element_type(x, dtype)


def _key_words(key: Any) -> tuple[Any, Any]:
    k1 = sh.reshape(sh.slice(key, (0,), (1,)), ())
    k2 = sh.reshape(sh.slice(key, (1,), (2,)), ())
    return k1, k2


# ----------------------------------------------------------------------------------------------
# Keys

def _is_concrete_int(seed: Any) -> bool:
    if isinstance(seed, bool):
        return False
    if isinstance(seed, (int, np.integer)):
        return True
    return isinstance(seed, np.ndarray) and seed.ndim == 0 and seed.dtype.kind in "iu"


def PRNGKey(seed: int | Any, *, impl: Any = None) -> Any:  # noqa: N802 - JAX name
    """A PRNG key (``uint32[2]``) from an integer seed, as ``jax.random.PRNGKey``.

    A 64-bit seed fills both words; without ``enable_x64`` a Python int seed is first truncated to
    32 bits, as in JAX.

    >>> PRNGKey(42).tolist()
    [0, 42]
    """
    if impl not in (None, "threefry2x32"):
        raise NotImplementedError(f"PRNG implementation {impl!r}: ember implements 'threefry2x32' only")
    if isinstance(seed, (Tracer,)) or not _is_concrete_int(seed):
        aval = get_aval(seed)
        if aval.shape:
            raise TypeError(f"PRNGKey accepts a scalar seed, but was given an array of shape {aval.shape} "
                            "!= (). Use ember.core.vmap for batching")
        if aval.dtype.kind not in "iu":
            raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
        return _seed(seed)
    value = int(seed)
    if config.enable_x64:
        value %= 2 ** 64
        words = [value >> 32, value & 0xFFFFFFFF]
    else:
        words = [0, value & 0xFFFFFFFF]  # int32 truncation keeps the low word
    from .dispatch import device_put
    return device_put(np.array(words, _uint32))


@numpy_jit
def _seed(seed: Any) -> Any:
    aval = get_aval(seed)
    if aval.dtype.itemsize == 8:
        hi = lax.convert_element_type(lax.shift_right_logical(seed, np.array(32, aval.dtype)), _uint32)
    else:
        hi = sh.full((), 0, _uint32)
    lo = lax.convert_element_type(seed, _uint32)
    return sh.concatenate([sh.reshape(hi, (1,)), sh.reshape(lo, (1,))], 0)


def key(seed: int | Any, *, impl: Any = None, dtype: Any = None) -> Any:
    """Same as ``PRNGKey``: ember's keys are raw ``uint32[2]`` arrays (JAX's ``key`` returns a
    typed scalar key instead; every ember random function takes the raw key).

    >>> import ember.core.random as random
    >>> key = random.key(42)
    >>> key.dtype, key.shape                      # a raw key, not a typed key<fry> scalar
    (dtype('uint32'), (2,))
    >>> key, subkey = random.split(key)           # split, never reuse
    >>> random.uniform(subkey, (3,)).shape
    (3,)
    """
    return PRNGKey(seed, impl=impl if dtype is None else dtype)


def key_data(keys: Any) -> Any:
    """The ``uint32`` words of ``keys``: the keys themselves, since ember's keys are raw.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.key_data(random.key(7)).tolist()
    [0, 7]
    """
    return _check_key("key_data", keys, allow_batched=True)


def wrap_key_data(key_bits_array: Any, *, impl: Any = None, dtype: Any = None) -> Any:
    """Keys from their ``uint32[..., 2]`` words: the identity, after checking the type.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> words = jnp.array([0, 42], dtype=jnp.uint32)
    >>> random.wrap_key_data(words).tolist() == random.key(42).tolist()
    True
    """
    if (impl or dtype) not in (None, "threefry2x32"):
        raise NotImplementedError("ember implements the 'threefry2x32' PRNG only")
    return _check_key("wrap_key_data", key_bits_array, allow_batched=True)


def key_impl(keys: Any) -> str:
    """The name of the PRNG implementation: always ``'threefry2x32'``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.key_impl(key)
    'threefry2x32'
    """
    _check_key("key_impl", keys, allow_batched=True)
    return "threefry2x32"


def clone(key: Any) -> Any:
    """``key`` itself (keys are immutable arrays).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.clone(key).tolist()
    [0, 0]
    """
    return key


def split(key: Any, num: int | tuple[int, ...] = 2) -> Any:
    """``num`` new keys (or an array of keys of shape ``num``), as ``jax.random.split``.

    >>> split(PRNGKey(0), 3).shape
    (3, 2)
    """
    key = _check_key("split", key)
    shape = tuple(operator.index(n) for n in num) if isinstance(num, Sequence) else (operator.index(num),)
    return _split(key, shape)


@numpy_jit(static_argnames=("shape",))
def _split(key: Any, shape: tuple[int, ...]) -> Any:
    k1, k2 = _key_words(key)
    hi, lo = iota_2x32_shape(shape)
    b1, b2 = threefry2x32_p.bind(k1, k2, hi, lo)
    n = len(shape)
    return sh.concatenate([sh.expand_dims(b1, (n,)), sh.expand_dims(b2, (n,))], n)


def _split_list(key: Any, num: int = 2) -> list[Any]:
    keys = _split(key, (num,))
    return [sh.reshape(sh.slice(keys, (i, 0), (i + 1, 2)), (2,)) for i in range(num)]


def fold_in(key: Any, data: Any) -> Any:
    """A new key from ``key`` and a 32-bit integer ``data``, as ``jax.random.fold_in``.

    >>> fold_in(PRNGKey(0), 5).shape
    (2,)
    """
    key = _check_key("fold_in", key)
    if np.ndim(data) if not isinstance(data, Tracer) else data.ndim:
        raise TypeError(f"fold_in accepts a scalar, but was given an array of shape {np.shape(data)} != (). "
                        "Use ember.core.vmap for batching.")
    if isinstance(data, (int, np.integer)) and not isinstance(data, bool):
        if not 0 <= int(data) < 2 ** 32 and isinstance(data, int):
            raise OverflowError(f"Python integer {data} out of bounds for uint32")
        data = np.asarray(np.asarray(data).astype(np.int64) & 0xFFFFFFFF, _uint32)
    else:
        data = lax.convert_element_type(data, _uint32)
    return _fold_in(key, data)


@numpy_jit
def _fold_in(key: Any, data: Any) -> Any:
    count = sh.concatenate([sh.full((1,), 0, _uint32), sh.reshape(data, (1,))], 0)
    return threefry_2x32(key, count)


# ----------------------------------------------------------------------------------------------
# Bits

@numpy_jit(static_argnames=("bit_width", "shape"))
def _random_bits(key: Any, bit_width: int, shape: tuple[int, ...]) -> Any:
    k1, k2 = _key_words(key)
    hi, lo = iota_2x32_shape(shape)
    b1, b2 = threefry2x32_p.bind(k1, k2, hi, lo)
    dtype = _UINT_DTYPES[bit_width]
    if bit_width == 64:
        b1 = lax.convert_element_type(b1, dtype)
        b2 = lax.convert_element_type(b2, dtype)
        return lax.bitwise_or(lax.shift_left(b1, np.array(32, dtype)), b2)
    out = lax.bitwise_xor(b1, b2)
    return out if bit_width == 32 else lax.convert_element_type(out, dtype)


def bits(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Uniform random bits as unsigned integers (``uint32`` by default, ``uint64`` with x64).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.bits(key, (2,))
    Array([4070199207, 4202968722], dtype=uint32)
    """
    key = _check_key("bits", key)
    default = dtypes.uint64 if config.enable_x64 else dtypes.uint32
    dtype = dtypes.canonicalize_dtype(default if dtype is None else dtype)
    if dtype.kind != "u":
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    return _random_bits(key, dtype.itemsize * 8, canonicalize_shape(shape))


# ----------------------------------------------------------------------------------------------
# Continuous distributions

def uniform(key: Any, shape: Shape = (), dtype: Any = None, minval: Any = 0.0, maxval: Any = 1.0) -> Any:
    """Uniform values in ``[minval, maxval)``.

    >>> float(uniform(PRNGKey(0)))  # the same number jax.random.uniform gives
    0.947667...
    """
    key = _check_key("uniform", key)
    dtype = _float_dtype("uniform", dtype)
    return _uniform(key, minval, maxval, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _uniform(key: Any, minval: Any, maxval: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    minval = lax.convert_element_type(minval, dtype)
    maxval = lax.convert_element_type(maxval, dtype)
    _check_shape("uniform", shape, get_aval(minval).shape, get_aval(maxval).shape)
    finfo = dtypes.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    if nbits not in (8, 16, 32, 64):
        raise TypeError(f"uniform only accepts 8-, 16-, 32-, or 64-bit dtypes, got {dtype}.")
    rng_bits = 8 if nmant < 8 else nbits
    raw = _random_bits(key, rng_bits, shape)
    uint_dtype = _UINT_DTYPES[nbits]
    if rng_bits != nbits:
        raw = lax.convert_element_type(raw, uint_dtype)
    # random mantissa bits under the exponent of 1.0: a float in [1, 2), then shift to [0, 1)
    float_bits = lax.shift_right_logical(raw, np.array(rng_bits - nmant, uint_dtype))
    one_bits = np.array(1.0, dtype).view(uint_dtype)
    float_bits = lax.bitwise_or(float_bits, one_bits)
    floats = lax.sub(lax.bitcast_convert_type(float_bits, dtype), np.array(1.0, dtype))
    return uf.maximum(minval, uf.add(uf.multiply(floats, uf.subtract(maxval, minval)), minval))


def normal(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard normal values (complex dtypes: real and imaginary parts each of variance 1/2).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.normal(key, (10000,))
    >>> x.dtype, abs(float(x.mean())) < 0.05, round(float(x.std()), 1)
    (dtype('float32'), True, 1.0)
    """
    key = _check_key("normal", key)
    dtype = _float_dtype("normal", dtype, inexact=True)
    return _normal(key, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _normal(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    if dtype.kind == "c":
        real_dtype = np.dtype(np.finfo(dtype).dtype)
        key_re, key_im = _split_list(key)
        re = _normal_real(key_re, shape, real_dtype)
        im = _normal_real(key_im, shape, real_dtype)
        return lax.div(lax.complex(re, im), np.array(np.sqrt(2), dtype))
    return _normal_real(key, shape, dtype)


def _normal_real(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype), dtype=dtype)
    u = _uniform(key, lo, np.array(1.0, dtype), shape=shape, dtype=dtype)
    return lax.mul(np.array(np.sqrt(2), dtype), lax.erf_inv(u))


def truncated_normal(key: Any, lower: Any, upper: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Standard normal values truncated to ``(lower, upper)``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.truncated_normal(key, -1.0, 1.0, (100,))
    >>> bool(jnp.all((x > -1) & (x < 1)))
    True
    """
    key = _check_key("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    shape = _shape_or_broadcast("truncated_normal", shape, lower, upper)
    return _truncated_normal(key, lower, upper, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _truncated_normal(key: Any, lower: Any, upper: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    sqrt2 = np.array(np.sqrt(2), dtype)
    lower = lax.convert_element_type(lower, dtype)
    upper = lax.convert_element_type(upper, dtype)
    a = lax.erf(lax.div(lower, sqrt2))
    b = lax.erf(lax.div(upper, sqrt2))
    u = _uniform(key, a, b, shape=shape, dtype=dtype)
    out = lax.mul(sqrt2, lax.erf_inv(u))
    lo = lax.nextafter(lax.stop_gradient(lower), np.full(get_aval(lower).shape, np.inf, dtype))
    hi = lax.nextafter(lax.stop_gradient(upper), np.full(get_aval(upper).shape, -np.inf, dtype))
    return uf.minimum(uf.maximum(out, lo), hi)


def bernoulli(key: Any, p: Any = 0.5, shape: Shape | None = None, mode: str = "low") -> Any:
    """Booleans that are True with probability ``p``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.bernoulli(key, 0.5, (4,)).tolist()
    [False, False, True, True]
    """
    if mode not in ("high", "low"):
        raise ValueError(f"got mode={mode!r}, expected 'high' or 'low'")
    key = _check_key("bernoulli", key)
    dtype = dtypes.canonicalize_dtype(dtypes.dtype_of(p))
    if not dtypes.is_float(dtype):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {dtype}.")
    shape = _shape_or_broadcast("bernoulli", shape, p) if shape is not None else _shape_of(p)
    return _bernoulli(key, _cast(p, dtype), shape=shape, mode=mode)


@numpy_jit(static_argnames=("shape", "mode"))
def _bernoulli(key: Any, p: Any, shape: tuple[int, ...], mode: str) -> Any:
    dtype = get_aval(p).dtype
    if mode == "high":
        u = _uniform(key, 0.0, 1.0, shape=(2, *shape), dtype=dtype)
        u1 = sh.reshape(sh.slice_in_dim(u, 0, 1, axis=0), shape)
        u2 = sh.reshape(sh.slice_in_dim(u, 1, 2, axis=0), shape)
        u2 = lax.mul(u2, np.array(2.0 ** -dtypes.finfo(dtype).nmant, dtype))
        return uf.less(u2, uf.subtract(p, u1))
    return uf.less(_uniform(key, 0.0, 1.0, shape=shape, dtype=dtype), p)


def exponential(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Exponential values with rate 1.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.exponential(key, (1000,))
    >>> bool(jnp.all(x >= 0)), round(float(x.mean()))
    (True, 1)
    """
    key = _check_key("exponential", key)
    dtype = _float_dtype("exponential", dtype)
    return _exponential(key, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _exponential(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    u = _uniform(key, 0.0, 1.0, shape=shape, dtype=dtype)
    return lax.neg(lax.log1p(lax.neg(u)))


def gumbel(key: Any, shape: Shape = (), dtype: Any = None, mode: str | None = None) -> Any:
    """Standard Gumbel values. ``mode='high'`` (or ``'highest'`` for float32) spends more bits to
    resolve the far tail.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.gumbel(key, (2, 2)).dtype
    dtype('float32')
    """
    key = _check_key("gumbel", key)
    dtype = _float_dtype("gumbel", dtype)
    mode = "low" if mode is None else mode
    if mode not in ("highest", "high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    return _gumbel(key, shape=canonicalize_shape(shape), dtype=dtype, mode=mode)


def _safe_int_to_float(hi: Any, lo: Any) -> Any:
    """Two uint32 words of a 64-bit fixed-point fraction to the float32 nearest below, in (0, 1)."""
    finfo = dtypes.finfo(np.float32)
    hiclz, loclz = lax.clz(hi), lax.clz(lo)
    all_hi = uf.equal(hiclz, np.uint32(32))
    mantissa = lax.bitwise_or(
        lax.shift_left(hi, hiclz),
        lax.select(all_hi, lax.shift_left(lo, loclz),
                   lax.shift_right_logical(lo, lax.sub(np.full(get_aval(hiclz).shape, 32, np.uint32), hiclz))))
    mantissa = lax.shift_right_logical(mantissa, np.array(finfo.bits - finfo.nmant - 1, np.uint32))
    mantissa = lax.bitwise_and(mantissa, np.array((1 << finfo.nmant) - 1, np.uint32))
    lead = lax.select(all_hi, lax.add(loclz, np.array(32, np.uint32)), hiclz)
    exp = lax.shift_left(lax.sub(np.array(-finfo.minexp, np.uint32), lead), np.array(finfo.nmant, np.uint32))
    exp = lax.bitwise_and(exp, np.array((1 << (finfo.bits - 2)) - (1 << (finfo.nmant - 1)), np.uint32))
    return lax.bitcast_convert_type(lax.bitwise_or(exp, mantissa), np.float32)


@numpy_jit(static_argnames=("shape", "dtype", "mode"))
def _gumbel(key: Any, shape: tuple[int, ...], dtype: np.dtype, mode: str) -> Any:
    info = dtypes.finfo(dtype)
    if dtype == np.float32 and mode == "highest":
        raw = _random_bits(key, 32, (2, *shape))
        hi = sh.reshape(sh.slice_in_dim(raw, 0, 1, axis=0), shape)
        lo = sh.reshape(sh.slice_in_dim(raw, 1, 2, axis=0), shape)
        neg_hi, neg_lo = lax.bitwise_not(hi), lax.bitwise_not(lo)
        # 1 - bits in 64-bit fixed point
        carry = lax.convert_element_type(uf.equal(neg_lo, np.uint32(0xFFFFFFFF)), np.uint32)
        neg_hi = lax.add(neg_hi, carry)
        neg_lo = lax.add(neg_lo, np.full(shape, 1, np.uint32))
        flip = uf.less(hi, np.uint32(1 << 31))
        x = _safe_int_to_float(lax.select(flip, hi, neg_hi), lax.select(flip, lo, neg_lo))
        return lax.select(flip, lax.neg(lax.log(lax.neg(lax.log1p(lax.neg(x))))),
                          lax.neg(lax.log(lax.neg(lax.log(x)))))
    if mode in ("high", "highest"):
        u = _uniform(key, 0.0, 1.0, shape=(2, *shape), dtype=dtype)
        high = sh.reshape(sh.slice_in_dim(u, 0, 1, axis=0), shape)
        low = sh.reshape(sh.slice_in_dim(u, 1, 2, axis=0), shape)
        x = uf.where(uf.greater_equal(high, 0.5), high,
                     uf.add(uf.add(high, uf.multiply(np.array(2.0 ** -info.nmant, dtype), low)),
                            np.array(info.tiny, dtype)))
        return uf.negative(uf.log(uf.negative(uf.log1p(uf.negative(x)))))
    u = _uniform(key, np.array(info.tiny, dtype), 1.0, shape=shape, dtype=dtype)
    return uf.negative(uf.log(uf.negative(uf.log(u))))


def laplace(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Laplace values with density exp(-|x|) / 2.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.laplace(key, (3,)).shape
    (3,)
    """
    key = _check_key("laplace", key)
    dtype = _float_dtype("laplace", dtype)
    return _laplace(key, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _laplace(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    u = _uniform(key, np.array(-1.0 + float(dtypes.finfo(dtype).epsneg), dtype), 1.0, shape=shape, dtype=dtype)
    return lax.mul(lax.sign(u), lax.log1p(lax.neg(lax.abs(u))))


def logistic(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard logistic values.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.logistic(key, (3,)).shape
    (3,)
    """
    key = _check_key("logistic", key)
    dtype = _float_dtype("logistic", dtype)
    return _logistic(key, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _logistic(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    x = _uniform(key, np.array(dtypes.finfo(dtype).tiny, dtype), 1.0, shape=shape, dtype=dtype)
    return lax.sub(lax.log(x), lax.log1p(lax.neg(x)))


def cauchy(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Standard Cauchy values.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.cauchy(key, (2, 3)).shape
    (2, 3)
    """
    key = _check_key("cauchy", key)
    dtype = _float_dtype("cauchy", dtype)
    return _cauchy(key, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _cauchy(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    u = _uniform(key, np.array(dtypes.finfo(dtype).eps, dtype), 1.0, shape=shape, dtype=dtype)
    return lax.tan(lax.mul(np.array(np.pi, dtype), lax.sub(u, np.array(0.5, dtype))))


def rademacher(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """-1 or 1 with equal probability (integers by default).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.rademacher(key, (4,)).tolist()
    [-1, -1, 1, 1]
    """
    key = _check_key("rademacher", key)
    dtype = dtypes.canonicalize_dtype(dtypes.default_int_dtype() if dtype is None else dtype)
    return _rademacher(key, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _rademacher(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    b = lax.convert_element_type(_bernoulli(key, np.float32(0.5), shape=shape, mode="low"), dtype)
    return lax.sub(lax.mul(np.array(2, dtype), b), np.array(1, dtype))


def pareto(key: Any, b: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Pareto values with shape ``b`` on [1, inf).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> bool(jnp.all(random.pareto(key, 3.0, (100,)) >= 1))
    True
    """
    key = _check_key("pareto", key)
    dtype = _float_dtype("pareto", dtype)
    shape = _shape_or_broadcast("pareto", shape, b)
    return _pareto(key, b, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _pareto(key: Any, b: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    b = lax.convert_element_type(b, dtype)
    e = _exponential(key, shape=shape, dtype=dtype)
    return uf.exp(uf.divide(e, b))


def weibull_min(key: Any, scale: Any, concentration: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Weibull values with the given ``scale`` and ``concentration``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> bool(jnp.all(random.weibull_min(key, 1.0, 2.0, (100,)) >= 0))
    True
    """
    key = _check_key("weibull_min", key)
    dtype = _float_dtype("weibull_min", dtype)
    return _weibull_min(key, scale, concentration, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _weibull_min(key: Any, scale: Any, concentration: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    u = _uniform(key, 0.0, 1.0, shape=shape, dtype=dtype)
    return uf.multiply(uf.power(uf.negative(uf.log1p(uf.negative(u))), uf.divide(1.0, concentration)), scale)


def rayleigh(key: Any, scale: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Rayleigh values with the given ``scale``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> bool(jnp.all(random.rayleigh(key, 2.0, (100,)) >= 0))
    True
    """
    key = _check_key("rayleigh", key)
    dtype = _float_dtype("rayleigh", dtype)
    shape = _shape_or_broadcast("rayleigh", shape, scale)
    return _rayleigh(key, scale, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _rayleigh(key: Any, scale: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    u = _uniform(key, 0.0, 1.0, shape=shape, dtype=dtype)
    scale = broadcast_to_shape(lax.convert_element_type(scale, dtype), shape)
    return lax.mul(scale, lax.sqrt(lax.mul(lax.log(u), np.array(-2, dtype))))


def maxwell(key: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Maxwell values: the norm of a 3-d standard normal vector.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> bool(jnp.all(random.maxwell(key, (100,)) >= 0))
    True
    """
    key = _check_key("maxwell", key)
    dtype = _float_dtype("maxwell", dtype)
    return _maxwell(key, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _maxwell(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    z = _normal(key, shape=(*shape, 3), dtype=dtype)
    return lax.sqrt(red.reduce_sum(lax.mul(z, z), (len(shape),)))


def double_sided_maxwell(key: Any, loc: Any, scale: Any, shape: Shape = (), dtype: Any = None) -> Any:
    """Maxwell values with a random sign, scaled and shifted.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.double_sided_maxwell(key, 0.0, 1.0, (5,)).shape
    (5,)
    """
    key = _check_key("double_sided_maxwell", key)
    dtype = _float_dtype("double_sided_maxwell", dtype)
    return _double_sided_maxwell(key, loc, scale, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _double_sided_maxwell(key: Any, loc: Any, scale: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    params_shape = broadcast_shapes(get_aval(loc).shape, get_aval(scale).shape)
    shape = (shape or params_shape) + params_shape
    maxwell_key, sign_key = _split_list(key)
    m = _maxwell(maxwell_key, shape=shape, dtype=dtype)
    s = _rademacher(sign_key, shape=shape, dtype=dtype)
    return uf.add(uf.multiply(uf.multiply(s, m), scale), loc)


_ONE_F32 = np.float32(1)


def lognormal(key: Any, sigma: Any = _ONE_F32, shape: Shape | None = None, dtype: Any = None) -> Any:
    """exp(sigma * N(0, 1)).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> bool(jnp.all(random.lognormal(key, 0.5, (100,)) > 0))
    True
    """
    key = _check_key("lognormal", key)
    dtype = _float_dtype("lognormal", dtype)
    shape = _shape_or_broadcast("lognormal", shape, sigma)
    return _lognormal(key, sigma, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _lognormal(key: Any, sigma: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    sigma = lax.convert_element_type(sigma, dtype)
    return uf.exp(uf.multiply(_normal(key, shape=shape, dtype=dtype), sigma))


def triangular(key: Any, left: Any, mode: Any, right: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Triangular values on [left, right] with the given mode.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.triangular(key, 0.0, 0.5, 1.0, (100,))
    >>> bool(jnp.all((x >= 0) & (x <= 1)))
    True
    """
    key = _check_key("triangular", key)
    dtype = _float_dtype("triangular", dtype)
    shape = _shape_or_broadcast("triangular", shape, left, mode, right)
    return _triangular(key, left, mode, right, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _triangular(key: Any, left: Any, mode: Any, right: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    left, mode, right = (broadcast_to_shape(lax.convert_element_type(v, dtype), shape) for v in (left, mode, right))
    fc = (mode - left) / (right - left)
    u = _uniform(key, 0.0, 1.0, shape=shape, dtype=dtype)
    out1 = left + lax.sqrt(u * (right - left) * (mode - left))
    out2 = right - lax.sqrt((1 - u) * (right - left) * (right - mode))
    return lax.select(uf.less(u, fc), out1, out2)


def wald(key: Any, mean: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Wald (inverse Gaussian) values with the given mean.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> bool(jnp.all(random.wald(key, 1.0, (100,)) > 0))
    True
    """
    key = _check_key("wald", key)
    dtype = _float_dtype("wald", dtype)
    shape = _shape_or_broadcast("wald", shape, mean)
    return _wald(key, mean, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _wald(key: Any, mean: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    k1, k2 = _split_list(key)
    mean = broadcast_to_shape(lax.convert_element_type(mean, dtype), shape)
    v = _normal(k1, shape=shape, dtype=dtype)
    z = _uniform(k2, 0.0, 1.0, shape=shape, dtype=dtype)
    y = lax.integer_pow(v, 2)
    y_sq = lax.integer_pow(y, 2)
    mean_sq = lax.integer_pow(mean, 2)
    sqrt_term = lax.sqrt(4 * mean * y + mean_sq * y_sq)
    x = mean + mean_sq * y / 2 - mean / 2 * sqrt_term
    return lax.select(uf.less_equal(z, mean / (mean + x)), x, mean_sq / x)


def geometric(key: Any, p: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Number of Bernoulli(p) trials up to and including the first success.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.geometric(key, 0.5, (1000,))
    >>> int(x.min()) >= 1, x.dtype
    (True, dtype('int32'))
    """
    key = _check_key("geometric", key)
    dtype = _int_dtype("geometric", dtype)
    shape = _shape_or_broadcast("geometric", shape, p)
    return _geometric(key, p, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _geometric(key: Any, p: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    (p,) = promote_dtypes_inexact(p)
    fdtype = get_aval(p).dtype
    u = _uniform(key, 0.0, 1.0, shape=shape, dtype=fdtype)
    u = uf.where(uf.equal(u, 0.0), np.array(1.0, fdtype), u)
    log_one_minus_p = broadcast_to_shape(lax.log1p(lax.neg(p)), shape)
    g = lax.add(lax.floor(lax.div(lax.log(u), log_one_minus_p)), np.array(1.0, fdtype))
    return lax.convert_element_type(g, dtype)


# ----------------------------------------------------------------------------------------------
# Integers

def _convert_and_clip_integer(val: Any, dtype: np.dtype) -> Any:
    src = get_aval(val).dtype
    lo = max(int(dtypes.iinfo(dtype).min), int(dtypes.iinfo(src).min))
    hi = min(int(dtypes.iinfo(dtype).max), int(dtypes.iinfo(src).max))
    clipped = lax.clamp(np.array(lo, src), val, np.array(hi, src))
    return lax.convert_element_type(clipped, dtype)


def randint(key: Any, shape: Shape, minval: Any, maxval: Any, dtype: Any = None) -> Any:
    """Integers uniform in ``[minval, maxval)`` (modulo-based, as JAX: slightly biased when the
    span is not a power of 2).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.randint(key, (5,), 0, 10).tolist()      # the same numbers as jax.random.randint
    [9, 0, 2, 3, 1]
    """
    key = _check_key("randint", key)
    dtype = _int_dtype("randint", dtype)
    shape = canonicalize_shape(shape)
    info = dtypes.iinfo(dtype)
    if info.bits < 32:  # sample in 32 bits to avoid bias, then cast
        from .numpy.creation import asarray
        minval = lax.clamp(np.int32(info.min), lax.convert_element_type(asarray(minval), np.int32), np.int32(info.max))
        maxval = lax.clamp(np.int32(info.min), lax.convert_element_type(asarray(maxval), np.int32),
                           np.int32(int(info.max) + 1))
        out = _randint(key, minval, maxval, shape=shape, dtype=np.dtype(np.int32))
        return lax.convert_element_type(out, dtype)
    return _randint(key, minval, maxval, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _randint(key: Any, minval: Any, maxval: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    _check_shape("randint", shape, get_aval(minval).shape, get_aval(maxval).shape)
    if get_aval(minval).dtype.kind not in "iu":
        minval = lax.convert_element_type(minval, dtypes.default_int_dtype())
    if get_aval(maxval).dtype.kind not in "iu":
        maxval = lax.convert_element_type(maxval, dtypes.default_int_dtype())
    maxval_dtype = get_aval(maxval).dtype
    dtype_max = _convert_and_clip_integer(np.array(dtypes.iinfo(dtype).max, dtype), maxval_dtype)
    maxval_out_of_range = uf.greater(maxval, dtype_max)
    minval = _convert_and_clip_integer(minval, dtype)
    maxval = _convert_and_clip_integer(maxval, dtype)
    nbits = dtypes.iinfo(dtype).bits
    k1, k2 = _split_list(key)
    higher_bits = _random_bits(k1, nbits, shape)
    lower_bits = _random_bits(k2, nbits, shape)
    unsigned = _UINT_DTYPES[nbits]
    span = lax.convert_element_type(uf.subtract(maxval, minval), unsigned)
    span = uf.where(uf.less_equal(maxval, minval), np.array(1, unsigned), span)  # maxval <= minval: minval
    span = uf.where(uf.logical_and(maxval_out_of_range, uf.greater(maxval, minval)),
                    uf.add(span, np.array(1, unsigned)), span)
    span = broadcast_to_shape(span, shape)
    # (hi * 2**nbits + lo) % span without overflow: ((hi % span) * (2**nbits % span) + lo % span) % span
    multiplier = lax.rem(np.full(shape, 2 ** (nbits // 2), unsigned), span)
    multiplier = lax.rem(lax.mul(multiplier, multiplier), span)
    offset = lax.add(lax.mul(lax.rem(higher_bits, span), multiplier), lax.rem(lower_bits, span))
    offset = lax.rem(offset, span)
    return uf.add(minval, lax.convert_element_type(offset, dtype))


# ----------------------------------------------------------------------------------------------
# Gamma family (the sampler is the ``random_gamma`` primitive: a Marsaglia-Tsang loop per element)

def gamma(key: Any, a: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Gamma(a, 1) values, differentiable in ``a`` (implicit reparameterization).

    >>> gamma(PRNGKey(0), 2.0, (2,)).shape
    (2,)
    """
    key = _check_key("gamma", key)
    dtype = _float_dtype("gamma", dtype)
    shape = canonicalize_shape(shape) if shape is not None else None
    return _gamma(key, a, shape=shape, dtype=dtype, log_space=False)


def loggamma(key: Any, a: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """log of Gamma(a, 1) values, computed in log space (accurate for small ``a``).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.loggamma(key, 0.01, (4,))    # Gamma(0.01) underflows in float32; its log does not
    >>> bool(jnp.all(jnp.isfinite(x)))
    True
    """
    key = _check_key("loggamma", key)
    dtype = _float_dtype("loggamma", dtype)
    shape = canonicalize_shape(shape) if shape is not None else None
    return _gamma(key, a, shape=shape, dtype=dtype, log_space=True)


@numpy_jit(static_argnames=("shape", "dtype", "log_space"))
def _gamma(key: Any, a: Any, shape: tuple[int, ...] | None, dtype: np.dtype, log_space: bool) -> Any:
    a_shape = get_aval(a).shape
    if shape is None:
        shape = a_shape
    else:
        _check_shape("gamma", shape, a_shape)
    a = lax.convert_element_type(a, dtype)
    if a_shape != shape:
        a = broadcast_to_shape(a, shape)
    return random_gamma_p.bind(key, a, log_space=log_space)


def beta(key: Any, a: Any, b: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Beta(a, b) values.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.beta(key, 2.0, 5.0, (1000,))
    >>> bool(jnp.all((x > 0) & (x < 1))), round(float(x.mean()), 1)   # mean a / (a + b) = 0.29
    (True, 0.3)
    """
    key = _check_key("beta", key)
    dtype = _float_dtype("beta", dtype)
    shape = _shape_or_broadcast("beta", shape, a, b)
    return _beta(key, a, b, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _beta(key: Any, a: Any, b: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    a = broadcast_to_shape(lax.convert_element_type(a, dtype), shape)
    b = broadcast_to_shape(lax.convert_element_type(b, dtype), shape)
    key_a, key_b = _split_list(key)
    log_gamma_a = _gamma(key_a, a, shape=shape, dtype=dtype, log_space=True)
    log_gamma_b = _gamma(key_b, b, shape=shape, dtype=dtype, log_space=True)
    log_max = lax.max(log_gamma_a, log_gamma_b)
    gamma_a_scaled = lax.exp(lax.sub(log_gamma_a, log_max))
    gamma_b_scaled = lax.exp(lax.sub(log_gamma_b, log_max))
    return lax.div(gamma_a_scaled, lax.add(gamma_a_scaled, gamma_b_scaled))


def dirichlet(key: Any, alpha: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Dirichlet(alpha) vectors along the last axis of ``alpha``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.dirichlet(key, jnp.ones(3), (2,))
    >>> x.shape, jnp.round(x.sum(-1), 5).tolist()
    ((2, 3), [1.0, 1.0])
    """
    key = _check_key("dirichlet", key)
    dtype = _float_dtype("dirichlet", dtype)
    alpha_shape = _shape_of(alpha)
    if len(alpha_shape) < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {len(alpha_shape)}")
    if shape is None:
        shape = alpha_shape[:-1]
    else:
        shape = canonicalize_shape(shape)
        _check_shape("dirichlet", shape, alpha_shape[:-1])
    return _dirichlet(key, alpha, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _dirichlet(key: Any, alpha: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    alpha = lax.convert_element_type(alpha, dtype)
    full = shape + get_aval(alpha).shape[-1:]
    log_gamma = _gamma(key, alpha, shape=full, dtype=dtype, log_space=True)
    # softmax over the last axis (the max is a constant shift: no gradient through it)
    axis = len(full) - 1
    m = lax.stop_gradient(red.reduce_max(log_gamma, (axis,)))
    unnormalized = lax.exp(lax.sub(log_gamma, sh.broadcast_in_dim(m, full, tuple(range(axis)))))
    total = red.reduce_sum(unnormalized, (axis,))
    return lax.div(unnormalized, sh.broadcast_in_dim(total, full, tuple(range(axis))))


def chisquare(key: Any, df: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Chi-square values with ``df`` degrees of freedom.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.chisquare(key, 4.0, (2000,))
    >>> bool(jnp.all(x > 0)), round(float(x.mean()))   # mean = df
    (True, 4)
    """
    key = _check_key("chisquare", key)
    dtype = _float_dtype("chisquare", dtype)
    shape = _shape_or_broadcast("chisquare", shape, df)
    return _chisquare(key, df, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _chisquare(key: Any, df: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    half_df = lax.div(lax.convert_element_type(df, dtype), np.array(2, dtype))
    log_g = _gamma(key, half_df, shape=shape, dtype=dtype, log_space=True)
    return lax.mul(lax.exp(log_g), np.array(2, dtype))


def t(key: Any, df: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Student's t values with ``df`` degrees of freedom.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.t(key, 3.0, (4,)).shape
    (4,)
    """
    key = _check_key("t", key)
    dtype = _float_dtype("t", dtype)
    shape = _shape_or_broadcast("t", shape, df)
    return _t(key, df, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _t(key: Any, df: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    df = lax.convert_element_type(df, dtype)
    key_n, key_g = _split_list(key)
    n = _normal(key_n, shape=shape, dtype=dtype)
    half_df = lax.div(df, np.array(2, dtype))
    g = _gamma(key_g, half_df, shape=shape, dtype=dtype, log_space=False)
    return uf.multiply(n, uf.sqrt(uf.divide(half_df, g)))


def f(key: Any, dfnum: Any, dfden: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """F-distribution values with ``dfnum`` and ``dfden`` degrees of freedom.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> bool(jnp.all(random.f(key, 5.0, 10.0, (100,)) > 0))
    True
    """
    key = _check_key("f", key)
    dtype = _float_dtype("f", dtype)
    shape = _shape_or_broadcast("f", shape, dfnum, dfden)
    return _f(key, dfnum, dfden, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _f(key: Any, dfnum: Any, dfden: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    dfden = lax.convert_element_type(dfden, dtype)
    dfnum = lax.convert_element_type(dfnum, dtype)
    key_dfd, key_dfn = _split_list(key)
    chi2_dfn = _chisquare(key_dfn, dfnum, shape=shape, dtype=dtype)
    chi2_dfd = _chisquare(key_dfd, dfden, shape=shape, dtype=dtype)
    return uf.divide(uf.divide(chi2_dfn, dfnum), uf.divide(chi2_dfd, dfden))


def generalized_normal(key: Any, p: float, shape: Shape = (), dtype: Any = None) -> Any:
    """Values with density proportional to exp(-|x|**p).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.generalized_normal(key, 2.0, (3,)).shape   # p=2: a normal with variance 1/2
    (3,)
    """
    key = _check_key("generalized_normal", key)
    dtype = _float_dtype("generalized_normal", dtype)
    return _generalized_normal(key, p, shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _generalized_normal(key: Any, p: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    k1, k2 = _split_list(key)
    g = _gamma(k1, broadcast_to_shape(uf.divide(1, p), shape), shape=shape, dtype=dtype, log_space=False)
    r = _rademacher(k2, shape=shape, dtype=dtype)
    return uf.multiply(r, uf.power(g, uf.divide(1, p)))


def ball(key: Any, d: int, p: float = 2, shape: Shape = (), dtype: Any = None) -> Any:
    """Points uniform in the unit Lp ball of dimension ``d``: shape ``(*shape, d)``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.ball(key, 3, shape=(100,))
    >>> x.shape, bool(jnp.all(jnp.linalg.norm(x, axis=-1) <= 1))
    ((100, 3), True)
    """
    key = _check_key("ball", key)
    dtype = _float_dtype("ball", dtype)
    return _ball(key, p, d=operator.index(d), shape=canonicalize_shape(shape), dtype=dtype)


@numpy_jit(static_argnames=("d", "shape", "dtype"))
def _ball(key: Any, p: Any, d: int, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    k1, k2 = _split_list(key)
    g = _generalized_normal(k1, p, shape=(*shape, d), dtype=dtype)
    e = _exponential(k2, shape=shape, dtype=dtype)
    norm = uf.power(uf.add(red.reduce_sum(uf.power(uf.absolute(g), p), (len(shape),)), e), uf.divide(1, p))
    return uf.divide(g, sh.expand_dims(norm, (len(shape),)))


# ----------------------------------------------------------------------------------------------
# Poisson (rejection loops, in the ``random_poisson`` primitive)

def poisson(key: Any, lam: Any, shape: Shape | None = None, dtype: Any = None) -> Any:
    """Poisson(lam) counts (Knuth's method for lam < 10, transformed rejection otherwise).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> x = random.poisson(key, 3.0, (2000,))
    >>> x.dtype, round(float(x.mean()))
    (dtype('int32'), 3)
    """
    key = _check_key("poisson", key)
    dtype = _int_dtype("poisson", dtype)
    shape = canonicalize_shape(shape) if shape is not None else _shape_of(lam)
    return _poisson(key, lam, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _poisson(key: Any, lam: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    lam = broadcast_to_shape(lax.convert_element_type(lam, np.float32), shape)
    return random_poisson_p.bind(key, lam, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# Discrete choices: categorical, permutation, choice

def _lax(name: str) -> Any:
    """A lax function another module provides (sorting, top_k, cumsum), looked up when used."""
    from . import lax as lax_namespace
    return getattr(lax_namespace, name, None)


def _sort_key_val(keys: Any, values: Any, axis: int) -> Any:
    sort_key_val = _lax("sort_key_val")
    if sort_key_val is not None:
        return sort_key_val(keys, values, dimension=axis)[1]
    sort = _lax("sort")
    if sort is not None:
        return sort((keys, values), dimension=axis, num_keys=1)[1]
    raise NotImplementedError("random.permutation needs lax.sort (not available in this build)")


def _top_k_indices(x: Any, k: int) -> Any:
    top_k = _lax("top_k")
    if top_k is None:
        raise NotImplementedError("sampling without replacement with probabilities needs lax.top_k "
                                  "(not available in this build)")
    return top_k(x, k)[1]


def _take(a: Any, indices: Any, axis: int) -> Any:
    """``a`` indexed by integer ``indices`` along ``axis`` (``numpy.take`` for in-range indices)."""
    try:
        from .numpy.indexing import take  # type: ignore[import-not-found]
    except ImportError:
        take = None
    if take is not None:
        return take(a, indices, axis=axis)
    # fallback without gather: a one-hot selection summed over the axis
    a_aval, i_aval = get_aval(a), get_aval(indices)
    n = a_aval.shape[axis]
    moved = sh.transpose(a, (axis,) + tuple(d for d in range(a_aval.ndim) if d != axis)) if axis else a
    rest = get_aval(moved).shape[1:]
    out_shape = i_aval.shape + (n,) + rest
    onehot = uf.equal(sh.broadcast_in_dim(indices, out_shape, tuple(range(i_aval.ndim))),
                      sh.broadcasted_iota(i_aval.dtype, out_shape, i_aval.ndim))
    expanded = sh.broadcast_in_dim(moved, out_shape, tuple(range(i_aval.ndim, len(out_shape))))
    zeros = sh.full(out_shape, 0, a_aval.dtype)
    picked = red.reduce_sum(lax.select(onehot, expanded, zeros), (i_aval.ndim,))
    if axis == 0:
        return picked
    # move the index dimensions to where ``axis`` was
    k = i_aval.ndim
    perm = tuple(range(k, k + axis)) + tuple(range(k)) + tuple(range(k + axis, k + len(rest)))
    return sh.transpose(picked, perm)


def categorical(key: Any, logits: Any, axis: int = -1, shape: Shape | None = None, replace: bool = True,
                mode: str | None = None) -> Any:
    """Indices sampled from ``softmax(logits, axis)`` (Gumbel-max; top-k without replacement).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> logits = jnp.log(jnp.array([0.1, 0.0, 0.9]))     # class 1 has probability 0
    >>> samples = random.categorical(key, logits, shape=(1000,))
    >>> samples.shape, bool(jnp.all(samples != 1))
    ((1000,), True)
    """
    key = _check_key("categorical", key)
    logits_shape = _shape_of(logits)
    ndim = len(logits_shape)
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for logits of rank {ndim}")
    axis %= ndim
    batch_shape = logits_shape[:axis] + logits_shape[axis + 1:]
    if shape is None:
        shape = batch_shape
    else:
        shape = canonicalize_shape(shape)
        _check_shape("categorical", shape, batch_shape)
    return _categorical(key, logits, shape=shape, batch_shape=batch_shape, axis=axis, replace=replace,
                        mode=mode or "low")


@numpy_jit(static_argnames=("shape", "batch_shape", "axis", "replace", "mode"))
def _categorical(key: Any, logits: Any, shape: tuple[int, ...], batch_shape: tuple[int, ...], axis: int,
                 replace: bool, mode: str) -> Any:
    (logits,) = promote_dtypes_inexact(logits)
    logits_aval = get_aval(logits)
    dtype = logits_aval.dtype
    prefix = shape[:len(shape) - len(batch_shape)]
    index_dtype = dtypes.default_int_dtype()
    if replace:
        logits_shape = list(shape[len(shape) - len(batch_shape):])
        logits_shape.insert(axis, logits_aval.shape[axis])
        full = (*prefix, *logits_shape)
        g = _gumbel(key, shape=full, dtype=dtype, mode=mode)
        expanded = logits
        if full != logits_aval.shape:
            expanded = sh.broadcast_in_dim(logits, full, tuple(range(len(prefix), len(full))))
        return red.argmax(lax.add(g, expanded), len(prefix) + axis, index_dtype)
    k = math.prod(prefix)
    if k > logits_aval.shape[axis]:
        raise ValueError(f"Number of samples without replacement ({k}) cannot exceed number of "
                         f"categories ({logits_aval.shape[axis]}).")
    perturbed = lax.add(logits, _gumbel(key, shape=logits_aval.shape, dtype=dtype, mode=mode))
    moved = sh.transpose(perturbed, tuple(d for d in range(logits_aval.ndim) if d != axis) + (axis,))
    indices = lax.convert_element_type(_top_k_indices(moved, k), index_dtype)
    nd = get_aval(indices).ndim
    return sh.reshape(indices, shape, (nd - 1, *range(nd - 1)))


def permutation(key: Any, x: int | Any, axis: int = 0, independent: bool = False) -> Any:
    """A random permutation of ``arange(x)`` or of ``x`` along ``axis`` (with ``independent``,
    each slice along ``axis`` is shuffled separately).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.permutation(key, 5).tolist()
    [0, 1, 4, 3, 2]
    >>> sorted(random.permutation(key, jnp.array([10, 20, 30])).tolist())
    [10, 20, 30]
    """
    key = _check_key("permutation", key)
    if not np.ndim(x) if not isinstance(x, Tracer) else not x.ndim:
        if dtypes.canonicalize_dtype(dtypes.dtype_of(x)).kind not in "iu":
            raise TypeError("x must be an integer or at least 1-dimensional")
        if isinstance(x, Tracer):
            from .core import ConcretizationError
            raise ConcretizationError(x, "argument x of random.permutation() (the length of the range)")
        n = operator.index(int(np.asarray(x)) if not isinstance(x, int) else x)
        from .numpy.creation import arange
        return _shuffle(key, arange(n), axis=0)
    ndim = np.ndim(x) if not isinstance(x, Tracer) else x.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of bounds for an array of dimension {ndim}")
    axis %= ndim
    if independent or ndim == 1:
        return _shuffle(key, x, axis=axis)
    return _permute_slices(key, x, axis=axis)


@numpy_jit(static_argnames=("axis",))
def _shuffle(key: Any, x: Any, axis: int) -> Any:
    # sort by random 32-bit keys, repeated so that ties (which a stable sort leaves in order)
    # are unlikely to bias the result (the rounds heuristic of TensorFlow / JAX)
    size = get_aval(x).size
    num_rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(num_rounds):
        key, subkey = _split_list(key)
        sort_keys = _random_bits(subkey, 32, get_aval(x).shape)
        x = _sort_key_val(sort_keys, x, axis)
    return x


@numpy_jit(static_argnames=("axis",))
def _permute_slices(key: Any, x: Any, axis: int) -> Any:
    # the permutation JAX computes by shuffling arange(n), applied to every slice along ``axis``
    # by sorting all of ``x`` with keys that are constant across the other dimensions
    x_aval = get_aval(x)
    n = x_aval.shape[axis]
    num_rounds = int(np.ceil(3 * np.log(max(1, n)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(num_rounds):
        key, subkey = _split_list(key)
        sort_keys = sh.broadcast_in_dim(_random_bits(subkey, 32, (n,)), x_aval.shape, (axis,))
        x = _sort_key_val(sort_keys, x, axis)
    return x


def choice(key: Any, a: int | Any, shape: Shape = (), replace: bool = True, p: Any = None, axis: int = 0,
           mode: str | None = None) -> Any:
    """A random sample of ``a`` (an array, or ``arange(a)`` for an int) of the given shape.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.choice(key, 5, (3,), replace=False).tolist()   # 3 distinct values of arange(5)
    [0, 1, 4]
    >>> random.choice(key, jnp.array([10, 20]), (4,), p=jnp.array([0.0, 1.0])).tolist()
    [20, 20, 20, 20]
    """
    key = _check_key("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of random.choice must be a sequence, got {shape}")
    from .numpy.creation import asarray
    arr = asarray(a)
    arr_aval = get_aval(arr)
    if arr_aval.ndim == 0:
        if isinstance(a, Tracer):
            from .core import ConcretizationError
            raise ConcretizationError(a, "argument a of random.choice() (the population size)")
        n_inputs = operator.index(int(np.asarray(a)) if not isinstance(a, int) else a)
    else:
        if not -arr_aval.ndim <= axis < arr_aval.ndim:
            raise ValueError(f"axis {axis} is out of bounds for an array of dimension {arr_aval.ndim}")
        axis %= arr_aval.ndim
        n_inputs = arr_aval.shape[axis]
    shape = canonicalize_shape(shape)
    n_draws = math.prod(shape)
    if n_draws == 0:
        return sh.full(shape, 0, arr_aval.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"Cannot take a larger sample (size {n_draws}) than population (size {n_inputs}) "
                         "when 'replace=False'")
    if p is None:
        if replace:
            ind = randint(key, shape, 0, n_inputs)
            result = ind if arr_aval.ndim == 0 else _take(arr, ind, axis)
        else:
            perm = permutation(key, n_inputs if arr_aval.ndim == 0 else arr, axis)
            result = sh.slice_in_dim(perm, 0, n_draws, axis=axis if arr_aval.ndim else 0)
    else:
        (p_arr,) = promote_dtypes_inexact(p)
        if get_aval(p_arr).shape != (n_inputs,):
            raise ValueError("p must be None or a 1D vector with the same size as a.shape[axis]. "
                             f"p has shape {get_aval(p_arr).shape} and a.shape[axis] is {n_inputs}.")
        if replace:
            ind = _choice_p_replace(key, p_arr, shape=shape)
        else:
            g = uf.add(gumbel(key, (n_inputs,), dtype=get_aval(p_arr).dtype, mode=mode), uf.log(p_arr))
            ind = lax.convert_element_type(_top_k_indices(g, n_draws), dtypes.default_int_dtype())
        result = ind if arr_aval.ndim == 0 else _take(arr, ind, axis)
    out_shape = shape if arr_aval.ndim == 0 else arr_aval.shape[:axis] + shape + arr_aval.shape[axis + 1:]
    return sh.reshape(result, out_shape)


@numpy_jit(static_argnames=("shape",))
def _choice_p_replace(key: Any, p: Any, shape: tuple[int, ...]) -> Any:
    cumsum = _lax("cumsum")
    n = get_aval(p).shape[0]
    if cumsum is not None:
        p_cuml = cumsum(p, axis=0)
    else:  # a triangular sum: fine for the population sizes choice is used with
        tri = uf.less_equal(sh.broadcasted_iota(np.int32, (n, n), 1), sh.broadcasted_iota(np.int32, (n, n), 0))
        p_cuml = red.reduce_sum(lax.select(tri, sh.broadcast_in_dim(p, (n, n), (1,)),
                                           sh.full((n, n), 0, get_aval(p).dtype)), (1,))
    total = sh.reshape(sh.slice(p_cuml, (n - 1,), (n,)), ())
    r = uf.multiply(total, uf.subtract(1, _uniform(key, 0.0, 1.0, shape=shape, dtype=get_aval(p).dtype)))
    # searchsorted(p_cuml, r, side='left') == the number of cumulative sums below r
    nd = len(shape)
    below = uf.less(sh.broadcast_in_dim(p_cuml, shape + (n,), (nd,)), sh.expand_dims(r, (nd,)))
    return red.reduce_sum(lax.convert_element_type(below, dtypes.default_int_dtype()), (nd,))


# ----------------------------------------------------------------------------------------------
# Multivariate

def _linalg(name: str) -> Any:
    """``lax.linalg``-style ``cholesky``, ``qr``, ``eigh`` or ``svd`` (another module's), looked up when used."""
    fn = _lax(name)
    if fn is None:
        raise NotImplementedError(f"this random function needs lax.{name} (not available in this build)")
    return fn


def multivariate_normal(key: Any, mean: Any, cov: Any, shape: Shape | None = None, dtype: Any = None,
                        method: str = "cholesky") -> Any:
    """Normal vectors with the given mean and covariance (factor by 'cholesky', 'eigh' or 'svd').

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> mean, cov = jnp.zeros(2), jnp.array([[1.0, 0.9], [0.9, 1.0]])
    >>> x = random.multivariate_normal(key, mean, cov, (5000,))
    >>> x.shape, round(float(jnp.corrcoef(x.T)[0, 1]), 1)
    ((5000, 2), 0.9)
    """
    key = _check_key("multivariate_normal", key)
    mean, cov = promote_dtypes_inexact(mean, cov)
    if method not in {"svd", "eigh", "cholesky"}:
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    dtype = get_aval(mean).dtype if dtype is None else dtypes.canonicalize_dtype(dtype)
    if not dtypes.is_float(dtype):
        raise ValueError(f"dtype argument to `multivariate_normal` must be a float dtype, got {dtype}")
    mean_shape, cov_shape = get_aval(mean).shape, get_aval(cov).shape
    if len(mean_shape) < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == {len(mean_shape)}")
    if len(cov_shape) < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == {len(cov_shape)}")
    n = mean_shape[-1]
    if cov_shape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, but got "
                         f"cov.shape == {cov_shape}.")
    if shape is None:
        shape = broadcast_shapes(mean_shape[:-1], cov_shape[:-2])
    else:
        shape = canonicalize_shape(shape)
        _check_shape("normal", shape, mean_shape[:-1], cov_shape[:-2])
    if method == "svd":
        u, s, _ = _linalg("svd")(cov, full_matrices=True)
        factor = uf.multiply(u, sh.expand_dims(uf.sqrt(s), (get_aval(s).ndim - 1,)))
    elif method == "eigh":
        v, w = _linalg("eigh")(cov)  # lax order: vectors first
        factor = uf.multiply(v, sh.expand_dims(uf.sqrt(w), (get_aval(w).ndim - 1,)))
    else:
        factor = _linalg("cholesky")(cov)
    return _mvn_apply(key, mean, factor, shape=shape, dtype=dtype)


@numpy_jit(static_argnames=("shape", "dtype"))
def _mvn_apply(key: Any, mean: Any, factor: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    n = get_aval(mean).shape[-1]
    z = _normal(key, shape=shape + (n,), dtype=dtype)
    # einsum('...ij,...j->...i', factor, z) as a broadcast product and a sum
    fz = uf.multiply(factor, sh.expand_dims(z, (len(shape),)))
    fz_aval = get_aval(fz)
    return uf.add(mean, red.reduce_sum(fz, (fz_aval.ndim - 1,)))


def orthogonal(key: Any, n: int, shape: Shape = (), dtype: Any = None, m: int | None = None) -> Any:
    """A matrix uniform on the orthogonal group O(n) (semi-orthogonal n x m when ``m`` is given).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> q = random.orthogonal(key, 3)
    >>> bool(jnp.allclose(q @ q.T, jnp.eye(3), atol=1e-5))
    True
    """
    key = _check_key("orthogonal", key)
    dtype = _float_dtype("orthogonal", dtype, inexact=True)
    n = operator.index(n)
    m = n if m is None else operator.index(m)
    shape = canonicalize_shape(shape)
    z = normal(key, (*shape, max(n, m), min(n, m)), dtype)
    q, r = _linalg("qr")(z, full_matrices=False)
    nd = len(shape) + 2
    k = min(n, m)
    # diag(r) as a masked sum (no gather needed)
    eye = uf.equal(sh.broadcasted_iota(np.int32, (k, k), 0), sh.broadcasted_iota(np.int32, (k, k), 1))
    r_sq = sh.slice(r, (0,) * nd, (*shape, k, k))
    d = red.reduce_sum(lax.select(sh.broadcast_in_dim(eye, get_aval(r_sq).shape, (nd - 2, nd - 1)), r_sq,
                                  sh.full(get_aval(r_sq).shape, 0, get_aval(r_sq).dtype)), (nd - 1,))
    x = uf.multiply(q, sh.expand_dims(uf.sign(d), (nd - 2,)))
    if n < m:
        perm = tuple(range(nd - 2)) + (nd - 1, nd - 2)
        x = sh.transpose(x, perm)
    return x
