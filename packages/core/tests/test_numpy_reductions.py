"""ec.numpy reductions, statistics and cumulative functions (numpy/reductions.py)."""

import warnings

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core.test_util import check_grads

rng = np.random.default_rng(4)
X = rng.standard_normal((3, 4, 5)).astype(np.float32)
XN = X.copy()
XN[0, 1, 2] = XN[2, 0, :] = np.nan
I = rng.integers(-4, 5, (3, 4)).astype(np.int32)
W = rng.random((3, 4, 5)) > 0.3


@pytest.mark.parametrize("axis", [None, 0, (0, 2), -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_basic_reductions_match_numpy(axis, keepdims):
    kw = dict(axis=axis, keepdims=keepdims)
    for name in ("sum", "prod", "mean", "var", "std", "max", "min", "ptp"):
        np.testing.assert_allclose(getattr(jnp, name)(X, **kw), getattr(np, name)(X, **kw), rtol=2e-5, atol=1e-6,
                                   err_msg=name)
    for name in ("all", "any"):
        np.testing.assert_array_equal(getattr(jnp, name)(W, **kw), getattr(np, name)(W, **kw))
    for name in ("nansum", "nanprod", "nanmean", "nanmax", "nanmin", "nanvar", "nanstd"):
        with warnings.catch_warnings():  # NumPy warns about the all-NaN slice
            warnings.simplefilter("ignore", RuntimeWarning)
            want = getattr(np, name)(XN, **kw)
        np.testing.assert_allclose(getattr(jnp, name)(XN, **kw), want, rtol=2e-5, atol=1e-6, err_msg=name)
    np.testing.assert_array_equal(jnp.count_nonzero(I, axis=axis if axis != (0, 2) else 0, keepdims=keepdims),
                                  np.count_nonzero(I, axis=axis if axis != (0, 2) else 0, keepdims=keepdims))


DTYPES = {  # what jax.numpy 0.10 returns
    "sum_i8": (lambda: jnp.sum(np.arange(3, dtype=np.int8)), "int32"),
    "sum_u8": (lambda: jnp.sum(np.arange(3, dtype=np.uint8)), "uint32"),
    "sum_bool": (lambda: jnp.sum(np.array([True, True])), "int32"),
    "sum_f16": (lambda: jnp.sum(np.ones(3, np.float16)), "float16"),
    "sum_i8_nopromote": (lambda: jnp.sum(np.arange(3, dtype=np.int8), promote_integers=False), "int8"),
    "prod_bool": (lambda: jnp.prod(np.array([True, False])), "int32"),
    "mean_i": (lambda: jnp.mean(np.arange(3, dtype=np.int32)), "float32"),
    "var_i": (lambda: jnp.var(np.arange(3, dtype=np.int32)), "float32"),
    "var_c": (lambda: jnp.var(np.ones(2, np.complex64)), "float32"),
    "max_bool": (lambda: jnp.max(np.array([True])), "bool"),
    "cumsum_i8": (lambda: jnp.cumsum(np.arange(3, dtype=np.int8)), "int8"),
    "cumsum_bool": (lambda: jnp.cumsum(np.array([True])), "int32"),
    "cumprod_u8": (lambda: jnp.cumprod(np.arange(3, dtype=np.uint8)), "uint8"),
    "cumulative_sum_i8": (lambda: jnp.cumulative_sum(np.arange(3, dtype=np.int8)), "int32"),
    "argmax": (lambda: jnp.argmax(np.arange(3.0)), "int32"),
    "count_nonzero": (lambda: jnp.count_nonzero(np.arange(3.0)), "int32"),
    "nansum_i8": (lambda: jnp.nansum(np.arange(3, dtype=np.int8)), "int32"),
    "nanmean_i": (lambda: jnp.nanmean(np.arange(3, dtype=np.int32)), "float32"),
    "median_i": (lambda: jnp.median(np.arange(3, dtype=np.int32)), "float32"),
    "quantile_f16": (lambda: jnp.quantile(np.ones(3, np.float16), 0.5), "float16"),
    "ptp_u8": (lambda: jnp.ptp(np.arange(3, dtype=np.uint8)), "uint8"),
    "average_i": (lambda: jnp.average(np.arange(3, dtype=np.int32)), "float32"),
    "all_f": (lambda: jnp.all(np.ones(2, np.float32)), "bool"),
    "std_f16": (lambda: jnp.std(np.ones(2, np.float16)), "float16"),
}


def test_result_dtypes_follow_jax():
    got = {name: str(f().dtype) for name, (f, _) in DTYPES.items()}
    assert got == {name: want for name, (_, want) in DTYPES.items()}


def test_sum_of_float16_accumulates_in_float32():
    x = np.full(4096, 1.0, np.float16)  # 4096 > 2048: float16 accumulation would stall
    assert float(jnp.sum(x + np.float16(0.0001))) == pytest.approx(4096.4, rel=1e-3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's mean of an all-masked slice
def test_where_initial_dtype():
    np.testing.assert_allclose(jnp.sum(X, axis=1, where=W[:, :, :], initial=2.0),
                               np.sum(X, axis=1, where=W, initial=2.0), rtol=1e-5)
    np.testing.assert_allclose(jnp.max(X, axis=(0, 2), where=W, initial=-1.0),
                               np.max(X, axis=(0, 2), where=W, initial=-1.0))
    np.testing.assert_allclose(jnp.mean(X, axis=0, where=W), np.mean(X, axis=0, where=W), rtol=1e-5)
    np.testing.assert_allclose(jnp.var(X, axis=2, where=W, ddof=1), np.var(X, axis=2, where=W, ddof=1), rtol=1e-4)
    np.testing.assert_allclose(jnp.std(X, correction=1.5), np.std(X, ddof=1.5), rtol=1e-5)
    np.testing.assert_array_equal(jnp.prod(I, axis=0, dtype=np.float32), np.prod(I, axis=0, dtype=np.float32))
    np.testing.assert_array_equal(jnp.max(np.zeros((0, 3), np.float32), axis=0, initial=5.0), [5.0, 5.0, 5.0])
    np.testing.assert_allclose(jnp.var(X, axis=1, mean=np.mean(X, axis=1, keepdims=True)), np.var(X, axis=1),
                               rtol=1e-5)
    assert bool(jnp.isnan(jnp.var(np.ones(1, np.float32), ddof=1)))


def test_arg_reductions():
    for f, ref in ((jnp.argmax, np.argmax), (jnp.argmin, np.argmin)):
        for axis in (None, 0, 2):
            np.testing.assert_array_equal(f(X, axis=axis), ref(X, axis=axis))
            np.testing.assert_array_equal(f(X, axis=axis, keepdims=True), ref(X, axis=axis, keepdims=True))
    for f, ref in ((jnp.nanargmax, np.nanargmax), (jnp.nanargmin, np.nanargmin)):
        np.testing.assert_array_equal(f(XN[:2], axis=1), ref(XN[:2], axis=1))
    np.testing.assert_array_equal(jnp.nanargmax(np.array([[np.nan, np.nan], [1.0, np.nan]]), axis=1), [-1, 0])


def test_cumulative():
    for f, ref in ((jnp.cumsum, np.cumsum), (jnp.cumprod, np.cumprod)):
        np.testing.assert_allclose(f(X), ref(X), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(f(X, axis=1), ref(X, axis=1), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(f(I, axis=0, dtype=np.float32), ref(I, axis=0, dtype=np.float32))
    for f, ref in ((jnp.nancumsum, np.nancumsum), (jnp.nancumprod, np.nancumprod)):
        np.testing.assert_allclose(f(XN, axis=2), ref(XN, axis=2), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(jnp.cumsum(np.array([1, -1, 2]), dtype=bool), [True, True, True])
    np.testing.assert_array_equal(jnp.cumulative_sum(np.array([1, 2, 3]), include_initial=True), [0, 1, 3, 6])
    np.testing.assert_array_equal(jnp.cumulative_prod(I, axis=1, include_initial=True)[:, 1:], np.cumprod(I, 1))


def test_quantiles_and_medians():
    q = np.array([0.0, 0.1, 0.45, 0.77, 1.0], np.float32)  # no exact halves: see the 'nearest' check below
    for method in ("linear", "lower", "higher", "midpoint", "nearest"):
        for axis in (None, 1, (0, 2)):
            np.testing.assert_allclose(jnp.quantile(X, q, axis=axis, method=method),
                                       np.quantile(X, q, axis=axis, method=method), rtol=1e-5, atol=1e-6,
                                       err_msg=f"{method} {axis}")
    np.testing.assert_allclose(jnp.quantile(X, 0.3, axis=1, keepdims=True), np.quantile(X, 0.3, axis=1, keepdims=True),
                               rtol=1e-5)
    np.testing.assert_allclose(jnp.percentile(X, np.array([25, 50]), axis=0), np.percentile(X, [25, 50], axis=0),
                               rtol=1e-5)
    np.testing.assert_allclose(jnp.median(X, axis=(1, 2), keepdims=True), np.median(X, axis=(1, 2), keepdims=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_allclose(jnp.nanquantile(XN, q, axis=2), np.nanquantile(XN, q, axis=2), rtol=1e-5)
        np.testing.assert_allclose(jnp.nanmedian(XN, axis=0), np.nanmedian(XN, axis=0), rtol=1e-5)
        np.testing.assert_allclose(jnp.nanpercentile(XN, 40), np.nanpercentile(XN, 40), rtol=1e-5)
    np.testing.assert_array_equal(np.isnan(jnp.median(XN, axis=2)), np.isnan(XN).any(axis=2))
    # 'nearest' rounds an exact half down, as JAX does (NumPy rounds it to even)
    assert float(jnp.quantile(np.arange(4.0), 0.5, method="nearest")) == 1.0
    assert float(jnp.quantile(np.arange(6.0), 0.5, method="nearest")) == 2.0


def test_average():
    w = rng.random(4).astype(np.float32)
    np.testing.assert_allclose(jnp.average(X, axis=1, weights=w), np.average(X, axis=1, weights=w), rtol=1e-5)
    avg, total = jnp.average(X, axis=(0, 1), weights=rng.random((3, 4, 5)).astype(np.float32) + 1, returned=True)
    assert avg.shape == total.shape == (5,)
    avg, total = jnp.average(X, returned=True)
    np.testing.assert_allclose(avg, np.average(X), rtol=1e-5)
    assert float(total) == X.size


def test_gradients():
    x = X[:2, :3, :2]
    check_grads(lambda v: jnp.var(v, axis=1), (x,), order=2)
    check_grads(lambda v: jnp.mean(v, where=W[:2, :3, :2]), (x,), order=2)
    check_grads(lambda v: jnp.max(v, axis=0), (x,), order=2)
    check_grads(lambda v: jnp.quantile(v, np.array([0.25, 0.5], np.float32), axis=1), (x,), order=1)
    check_grads(lambda v: jnp.cumprod(v, axis=2), (x,), order=1)
    xn = XN[0, :2, :3]
    g = ec.grad(lambda v: jnp.nansum(v) + jnp.nanvar(v))(xn)
    assert not np.isnan(np.asarray(g)).any()


def test_vmap_and_jit():
    f = lambda v: (jnp.var(v, axis=0), jnp.argmax(v), jnp.median(v, axis=1), jnp.cumsum(v, axis=0))  # noqa: E731
    batched = ec.vmap(f)(X)
    for i in range(3):
        for b, e in zip(batched, f(X[i])):
            np.testing.assert_allclose(b[i], e, rtol=1e-5, atol=1e-6)
    for a, b in zip(ec.jit(f)(X[0]), f(X[0])):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_array_methods():
    a = jnp.asarray(X)
    np.testing.assert_allclose(a.sum(axis=1), X.sum(1), rtol=1e-5)
    np.testing.assert_allclose(a.mean(), X.mean(), rtol=1e-5)
    np.testing.assert_array_equal(a.argmax(axis=2), X.argmax(2))
    np.testing.assert_allclose(a.cumsum(axis=0), X.cumsum(0), rtol=1e-5)
    np.testing.assert_allclose(a.std(ddof=1), X.std(ddof=1), rtol=1e-5)


def test_errors():
    with pytest.raises(NotImplementedError, match=r"The 'out' argument to jnp.sum is not supported"):
        jnp.sum(X, out=np.zeros(()))
    with pytest.raises(ValueError, match=r"jnp.sum: where must be None or a boolean array; got dtype=int32"):
        jnp.sum(I, where=I)
    with pytest.raises(ValueError, match=r"jnp.max: zero-size array to reduction operation max which has no identity"):
        jnp.max(np.zeros((0,), np.float32))
    with pytest.raises(ValueError, match=r"jnp.min: reduction operation min does not have an identity"):
        jnp.min(X, where=W)
    with pytest.raises(ValueError, match=r"jnp.mean: axis 3 is out of bounds for an array of dimension 3"):
        jnp.mean(X, axis=3)
    with pytest.raises(ValueError, match=r"jnp.sum: duplicate value in 'axis'"):
        jnp.sum(X, axis=(1, -2))
    with pytest.raises(ValueError, match=r"ddof and correction can't be provided simultaneously"):
        jnp.var(X, ddof=1, correction=1)
    with pytest.raises(ValueError, match=r"jnp.argmax: attempt to get argmax of an empty sequence"):
        jnp.argmax(np.zeros((0,), np.float32))
    with pytest.raises(ValueError, match=r"cumulative_sum: the input must be non-scalar"):
        jnp.cumulative_sum(np.float32(1))
    with pytest.raises(ValueError, match=r"jnp.quantile: method must be one of"):
        jnp.quantile(X, 0.5, method="bogus")
    with pytest.raises(TypeError, match=r"jnp.quantile: q must be floating point"):
        jnp.quantile(X, 1)
    with pytest.raises(TypeError, match=r"sum: argument 0 must be an array or a scalar, got list"):
        jnp.sum([1, 2])
