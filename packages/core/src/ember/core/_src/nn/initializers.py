"""Parameter initializers with the call convention and defaults of ``jax.nn.initializers``
(public as ``ember.core.nn.initializers``): ``init(key, shape, dtype=None) -> Array``.

Built on ``ember.core.random``, they give the same values as JAX's for the same key.

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> w = initializers.glorot_uniform()(random.PRNGKey(0), (3, 4))
    >>> w.shape, str(w.dtype)
    ((3, 4), 'float32')
"""

from __future__ import annotations

import math
from typing import Any, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from .. import dtypes, random
from ..core import canonicalize_shape
from ..numpy import ufuncs as uf
from ..numpy.util import numpy_jit
from ..primitives import elementwise as lax
from ..primitives import shape as sh

__all__ = [
    "Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform", "normal", "ones",
    "orthogonal", "truncated_normal", "uniform", "variance_scaling", "xavier_normal", "xavier_uniform",
    "zeros",
]

Axes = int | Sequence[int]

# stddev of a standard normal truncated to (-2, 2), and of the complex one truncated at modulus 2
_TRUNCATED_STDDEV = 0.87962566103423978
_COMPLEX_TRUNCATED_STDDEV = 0.95311164380491208


@runtime_checkable
class Initializer(Protocol):
    """``init(key, shape, dtype=None) -> Array``.

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> init = initializers.zeros          # an Initializer is any f(key, shape, dtype=None)
    >>> init(random.key(0), (2,)).tolist()
    [0.0, 0.0]
    """

    def __call__(self, key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
        raise NotImplementedError


def _dtype(dtype: Any) -> np.dtype:
    return dtypes.canonicalize_dtype(dtypes.default_float_dtype() if dtype is None else dtype)


def _full(shape: Sequence[int], value: Any, dtype: Any) -> Any:
    from ..numpy.creation import full
    return full(canonicalize_shape(shape), value, _dtype(dtype))


def zeros(key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
    """Zeros (the key is ignored).

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> initializers.zeros(random.key(0), (2, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    return _full(shape, 0, dtype)


def ones(key: Any, shape: Sequence[int], dtype: Any = None) -> Any:
    """Ones (the key is ignored).

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> initializers.ones(random.key(0), (2,)).tolist()
    [1.0, 1.0]
    """
    return _full(shape, 1, dtype)


def constant(value: Any, dtype: Any = None) -> Initializer:
    """An initializer filling with ``value``.

    >>> constant(-7)(None, (2,)).tolist()
    [-7.0, -7.0]
    """
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        return _full(shape, value, dtype)
    return init


@numpy_jit(static_argnames=("shape", "dtype", "kind"))
def _scaled_sample(key: Any, factor: Any, shape: tuple[int, ...], dtype: np.dtype, kind: str) -> Any:
    """``sample * factor`` as one program; ``factor`` is a scalar of ``dtype``."""
    if kind == "uniform":
        sample = random._uniform(key, 0.0, 1.0, shape=shape, dtype=dtype)
    elif kind == "uniform_pm1":
        sample = random._uniform(key, -1.0, 1.0, shape=shape, dtype=dtype)
    elif kind == "normal":
        sample = random._normal(key, shape=shape, dtype=dtype)
    elif kind == "truncated_normal":
        sample = random._truncated_normal(key, -2.0, 2.0, shape=shape, dtype=dtype)
    elif kind == "complex_uniform":
        sample = _complex_uniform(key, shape, dtype)
    elif kind == "complex_truncated_normal":
        sample = _complex_truncated_normal(key, 2.0, shape, dtype)
    else:  # pragma: no cover
        raise ValueError(kind)
    return uf.multiply(sample, factor)


def _sample(key: Any, factor: Any, shape: Sequence[int], dtype: np.dtype, kind: str) -> Any:
    key = random._check_key("initializer", key)
    return _scaled_sample(key, np.asarray(factor, dtype), shape=canonicalize_shape(shape), dtype=dtype, kind=kind)


def uniform(scale: Any = 1e-2, dtype: Any = None) -> Initializer:
    """Values uniform in ``[0, scale)``.

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> w = initializers.uniform(scale=0.5)(random.key(0), (1000,))
    >>> bool((w >= 0).all() and (w < 0.5).all())
    True
    """
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        dtype = _dtype(dtype)
        return _sample(key, scale, shape, dtype, "uniform")
    return init


def normal(stddev: Any = 1e-2, dtype: Any = None) -> Initializer:
    """Normal values with mean 0 and standard deviation ``stddev``.

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> w = initializers.normal(stddev=2.0)(random.key(0), (10000,))
    >>> f"{float(w.std()):.1f}"
    '2.0'
    """
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        dtype = _dtype(dtype)
        return _sample(key, stddev, shape, dtype, "normal")
    return init


def truncated_normal(stddev: Any = 1e-2, dtype: Any = None, lower: Any = -2.0, upper: Any = 2.0) -> Initializer:
    """A standard normal truncated to ``(lower, upper)``, times ``stddev`` (no variance correction).

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> w = initializers.truncated_normal(stddev=1.0)(random.key(0), (1000,))
    >>> bool((abs(w) <= 2.0).all())    # cut at two standard deviations
    True
    """
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        dtype = _dtype(dtype)
        sample = random.truncated_normal(key, lower, upper, shape, dtype)
        return lax.mul(sample, np.asarray(stddev, dtype))
    return init


def _compute_fans(shape: Sequence[int], in_axis: Axes = -2, out_axis: Axes = -1,
                  batch_axis: Axes = ()) -> tuple[float, float]:
    """(fan_in, fan_out) of a weight shape; axes in none of the three are the receptive field."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional weights "
                         "tensor with default in_axis. Must be at least 2D or specify in_axis explicitly.")

    def size(axes: Axes) -> int:
        return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)

    in_size, out_size, batch_size = size(in_axis), size(out_axis), size(batch_axis)
    receptive_field = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field, out_size * receptive_field


def _real_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.finfo(dtype).dtype) if dtype.kind == "c" else dtype


def _complex_uniform(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Uniform in the unit disk scaled to unit variance."""
    key_r, key_theta = random._split_list(key)
    real = _real_dtype(dtype)
    r = lax.sqrt(lax.mul(np.array(2, real), random._uniform(key_r, 0.0, 1.0, shape=shape, dtype=real)))
    theta = lax.mul(np.array(2 * np.pi, real), random._uniform(key_theta, 0.0, 1.0, shape=shape, dtype=real))
    return lax.complex(lax.mul(r, lax.cos(theta)), lax.mul(r, lax.sin(theta)))


def _complex_truncated_normal(key: Any, upper: float, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """A centred complex normal of unit variance with modulus truncated at ``upper``."""
    key_r, key_theta = random._split_list(key)
    real = _real_dtype(dtype)
    t = lax.mul(np.array(1 - np.exp(-upper ** 2), real), random._uniform(key_r, 0.0, 1.0, shape=shape, dtype=real))
    r = lax.sqrt(lax.neg(lax.log1p(lax.neg(t))))
    theta = lax.mul(np.array(2 * np.pi, real), random._uniform(key_theta, 0.0, 1.0, shape=shape, dtype=real))
    return lax.complex(lax.mul(r, lax.cos(theta)), lax.mul(r, lax.sin(theta)))


def variance_scaling(scale: Any, mode: Literal["fan_in", "fan_out", "fan_avg", "fan_geo_avg"],
                     distribution: Literal["truncated_normal", "normal", "uniform"], in_axis: Axes = -2,
                     out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """Samples with variance ``scale / n``, ``n`` the fan chosen by ``mode``.

    ``truncated_normal`` truncates at two standard deviations (and corrects the stddev by
    0.87962566103423978); ``uniform`` is uniform on ``[-sqrt(3 scale / n), sqrt(3 scale / n))``
    (a disk for complex dtypes).

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> init = initializers.variance_scaling(2.0, "fan_in", "normal")   # = he_normal
    >>> w = init(random.key(0), (512, 256))
    >>> f"{float(w.std()):.3f}"
    '0.063'
    """
    if mode not in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")

    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        shape = canonicalize_shape(shape)
        dtype = _dtype(dtype)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
                       "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
        variance = np.array(scale / denominator, dtype)  # rounded to dtype first, as JAX
        if distribution == "truncated_normal":
            if dtype.kind == "f" or dtypes.is_float(dtype):
                stddev = np.sqrt(variance) / np.array(_TRUNCATED_STDDEV, dtype)
                return _sample(key, stddev, shape, dtype, "truncated_normal")
            stddev = np.sqrt(variance) / np.array(_COMPLEX_TRUNCATED_STDDEV, dtype)
            return _sample(key, stddev, shape, dtype, "complex_truncated_normal")
        if distribution == "normal":
            return _sample(key, np.sqrt(variance), shape, dtype, "normal")
        if dtypes.is_float(dtype):
            return _sample(key, np.sqrt(np.array(3, dtype) * variance), shape, dtype, "uniform_pm1")
        return _sample(key, np.sqrt(variance), shape, dtype, "complex_uniform")

    return init


def glorot_uniform(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """``variance_scaling(1.0, "fan_avg", "uniform")`` (Glorot & Bengio, 2010).

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> w = initializers.glorot_uniform()(random.key(0), (64, 32))
    >>> bool(abs(w).max() <= (6 / (64 + 32)) ** 0.5)
    True
    """
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """``variance_scaling(1.0, "fan_avg", "truncated_normal")``.

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> w = initializers.glorot_normal()(random.key(0), (256, 256))
    >>> w.shape, f"{float(w.std()):.2f}"    # stddev sqrt(2 / (fan_in + fan_out)) = 0.0625
    ((256, 256), '0.06')
    """
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def lecun_uniform(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """``variance_scaling(1.0, "fan_in", "uniform")``.

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> initializers.lecun_uniform()(random.key(0), (4, 3)).shape
    (4, 3)
    """
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """``variance_scaling(1.0, "fan_in", "truncated_normal")`` (the default kernel init of Flax layers).

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> from ember.core.nn import initializers
    >>> initializers.lecun_normal(dtype=jnp.bfloat16)(random.key(0), (4, 3)).dtype
    dtype(bfloat16)
    """
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


def he_uniform(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """``variance_scaling(2.0, "fan_in", "uniform")`` (He et al., 2015).

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> initializers.he_uniform()(random.key(0), (4, 3)).shape
    (4, 3)
    """
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype: Any = None) -> Initializer:
    """``variance_scaling(2.0, "fan_in", "truncated_normal")``.

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> w = initializers.he_normal()(random.key(0), (512, 256))
    >>> f"{float(w.std()):.3f}"    # sqrt(2 / fan_in) = 0.0625
    '0.063'
    """
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis, dtype)


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """Uniformly random (semi-)orthogonal matrices: the other axes are flattened into rows and the
    rows or columns (whichever are fewer) are orthonormal, times ``scale``.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> from ember.core.nn import initializers
    >>> w = initializers.orthogonal()(random.key(0), (4, 4))
    >>> bool(jnp.allclose(w.T @ w, jnp.eye(4), atol=1e-5))
    True
    """
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        shape = canonicalize_shape(shape)
        dtype = _dtype(dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(d == 0 for d in shape):
            return _full(shape, 0, dtype)
        axis = column_axis % len(shape)
        n_cols = shape[axis]
        n_rows = math.prod(shape) // n_cols
        q = random.orthogonal(key, n_rows, (), dtype, n_cols)
        rest = tuple(d for i, d in enumerate(shape) if i != axis)
        q = sh.reshape(q, rest + (n_cols,))
        perm = list(range(len(rest)))
        perm.insert(axis, len(rest))
        q = sh.transpose(q, tuple(perm))
        return lax.mul(np.asarray(scale, dtype), q)
    return init


def delta_orthogonal(scale: Any = 1.0, column_axis: int = -1, dtype: Any = None) -> Initializer:
    """Convolution kernels (3-D to 5-D) that are zero except for an orthogonal matrix at the
    spatial centre (Xiao et al., 2018).

    >>> import ember.core.random as random
    >>> from ember.core.nn import initializers
    >>> initializers.delta_orthogonal()(random.key(0), (3, 3, 4, 4)).shape   # conv kernel: spatial dims, in, out
    (3, 3, 4, 4)
    """
    def init(key: Any, shape: Sequence[int], dtype: Any = dtype) -> Any:
        shape = canonicalize_shape(shape)
        dtype = _dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        ortho = orthogonal(scale=scale, column_axis=column_axis, dtype=dtype)(key, shape[-2:])
        spatial = shape[:-2]
        centre = [(k - 1) // 2 for k in spatial]
        block = sh.reshape(ortho, (1,) * len(spatial) + shape[-2:])
        config = [(c, k - c - 1, 0) for c, k in zip(centre, spatial)] + [(0, 0, 0), (0, 0, 0)]
        return sh.pad(block, np.array(0, dtype), config)
    return init
