"""ember.core.random: bit-for-bit parity with jax.random's default Threefry PRNG (expected values
recorded from JAX 0.10.2, jax_threefry_partitionable=True), transformations, and statistics.

Statistical checks use fixed seeds, so they are deterministic; their bounds are loose enough for
any correct sampler (KS statistics below the 0.1% critical value, moments within several standard
errors) and tight enough to catch a wrong distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.core.random as random
from ember.core.test_util import check_grads

K0 = random.PRNGKey(0)
K42 = random.PRNGKey(42)
N = 20000


def _a(x):
    return np.asarray(x)


def _ks(samples, cdf) -> float:
    """The Kolmogorov-Smirnov statistic of ``samples`` against the CDF ``cdf``."""
    x = np.sort(np.asarray(samples, np.float64).ravel())
    n = len(x)
    f = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


KS_BOUND = 1.95 / math.sqrt(N)  # the 0.1% critical value
_erf = np.vectorize(math.erf)


def _normal_cdf(x):
    return 0.5 * (1 + _erf(np.asarray(x) / math.sqrt(2)))


# ----------------------------------------------------------------------------------------------
# Parity with jax.random

def test_keys_match_jax():
    assert _a(K0).tolist() == [0, 0] and _a(K0).dtype == np.uint32
    assert _a(K42).tolist() == [0, 42]
    assert _a(random.key(42)).tolist() == [0, 42]
    assert _a(random.split(K42)).tolist() == [[1832780943, 270669613], [64467757, 2916123636]]
    assert _a(random.split(K42, 3)).tolist() == [[1832780943, 270669613], [64467757, 2916123636],
                                                 [2465931498, 255383827]]
    assert _a(random.split(K0, (2, 2))).tolist() == [[[1797259609, 2579123966], [928981903, 3453687069]],
                                                     [[4146024105, 2718843009], [2467461003, 3840466878]]]
    assert _a(random.fold_in(K42, 7)).tolist() == [2547012911, 1371500959]
    assert _a(random.fold_in(K42, 2 ** 32 - 1)).tolist() == [2398536845, 3890976714]
    assert _a(random.fold_in(K42, np.int32(-1))).tolist() == [2398536845, 3890976714]


@pytest.mark.parametrize("seed, expected", [
    (-1, [0, 4294967295]), (2 ** 31 - 1, [0, 2147483647]), (2 ** 32 + 5, [0, 5]), (2 ** 40, [0, 0]),
    (np.uint32(7), [0, 7]), (np.int32(-5), [0, 4294967291]),
])
def test_seeds_match_jax_in_32_bit_mode(seed, expected):
    assert _a(random.PRNGKey(seed)).tolist() == expected


def test_traced_seed():
    assert _a(ec.jit(random.PRNGKey)(7)).tolist() == [0, 7]
    assert _a(ec.vmap(random.PRNGKey)(jnp.arange(3))).tolist() == [[0, 0], [0, 1], [0, 2]]
    assert _a(ec.jit(random.PRNGKey)(jnp.asarray(-5))).tolist() == [0, 4294967291]


def test_bits_match_jax():
    assert _a(random.bits(K42, (6,))).tolist() == [2098992034, 2919706841, 2646866425, 2409546199,
                                                   1935504149, 2516274904]
    assert _a(random.bits(K42, (5,), jnp.uint8)).tolist() == [162, 217, 249, 215, 21]
    assert _a(random.bits(K42, (2, 3), jnp.uint16)).tolist() == [[5026, 12505, 63993], [49623, 29461, 20184]]
    assert _a(random.bits(K42)).dtype == np.uint32


def test_uniform_and_normal_match_jax():
    np.testing.assert_array_equal(_a(random.uniform(K42, (6,))), np.array(
        [0.48870956897735596, 0.6797971725463867, 0.6162714958190918, 0.5610160827636719,
         0.4506446123123169, 0.58586585521698], np.float32))
    np.testing.assert_array_equal(_a(random.uniform(K42, (2, 2), minval=-3.0, maxval=5.0)), np.array(
        [[0.9096765518188477, 2.4383773803710938], [1.9301719665527344, 1.488128662109375]], np.float32))
    np.testing.assert_array_equal(_a(random.uniform(K42, (4,), jnp.bfloat16)).astype(np.float32),
                                  [0.6328125, 0.84375, 0.96875, 0.8359375])
    np.testing.assert_array_equal(_a(random.uniform(K42, (4,), jnp.float16)).astype(np.float32),
                                  [0.076171875, 0.1904296875, 0.9755859375, 0.7568359375])
    np.testing.assert_allclose(_a(random.normal(K42, (6,))), [
        -0.02830461598932743, 0.4671318531036377, 0.2957029640674591, 0.15354591608047485,
        -0.12403281778097153, 0.21692314743995667], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(float(random.normal(K0)), 1.622642159461975, rtol=1e-6)
    z = _a(random.normal(K42, (3,), jnp.complex64))
    assert z.dtype == np.complex64
    np.testing.assert_allclose(z.real, [0.05368746072053909, -0.34389618039131165, 0.9123944640159607], rtol=1e-6)
    np.testing.assert_allclose(z.imag, [0.4283398389816284, 0.5650094747543335, -0.6427084803581238], rtol=1e-6)


_PARITY = {
    "truncated_normal": (lambda: random.truncated_normal(K42, -1.0, 2.0, (5,)),
                         [0.14770005643367767, 0.5684449076652527, 0.42102551460266113, 0.29997000098228455,
                          0.0691138207912445]),
    "bernoulli": (lambda: random.bernoulli(K42, 0.3, (8,)), [False] * 6 + [True, False]),
    "randint": (lambda: random.randint(K42, (8,), -5, 1000), [184, 514, 736, 539, 804, 979, 102, 652]),
    "randint_uint8": (lambda: random.randint(K42, (6,), 0, 256, jnp.uint8), [196, 18, 183, 193, 141, 107]),
    "exponential": (lambda: random.exponential(K42, (4,)),
                    [0.670817494392395, 1.1388006210327148, 0.9578199982643127, 0.8232924938201904]),
    "gumbel": (lambda: random.gumbel(K42, (4,)),
               [0.3340933918952942, 0.952019453048706, 0.7255305647850037, 0.5481715202331543]),
    "laplace": (lambda: random.laplace(K42, (4,)),
                [0.022839652374386787, -0.4456535577774048, -0.2646729052066803, -0.1301453858613968]),
    "logistic": (lambda: random.logistic(K42, (4,)),
                 [-0.0451694130897522, 0.7528398036956787, 0.47375231981277466, 0.245286762714386]),
    "cauchy": (lambda: random.cauchy(K42, (4,)),
               [-0.03548463061451912, 0.6337261199951172, 0.38244056701660156, 0.1940706968307495]),
    "rademacher": (lambda: random.rademacher(K42, (6,)), [1, -1, -1, -1, 1, -1]),
    "categorical": (lambda: random.categorical(K42, jnp.array([[0.1, 2.0, -1.0], [1.0, 1.0, 1.0]]), shape=(3, 2)),
                    [[1, 2], [1, 2], [1, 0]]),
    "gamma": (lambda: random.gamma(K42, jnp.array([0.3, 1.0, 2.5, 10.0, 0.01])),
              [0.43624743819236755, 0.33158406615257263, 4.194111347198486, 8.321683883666992, 0.0]),
    "loggamma": (lambda: random.loggamma(K42, jnp.array([0.3, 1.0, 2.5, 10.0, 0.01])),
                 [-0.8295456171035767, -1.1038738489151, 1.4336814880371094, 2.1188647747039795, -292.3972473144531]),
    "beta": (lambda: random.beta(K42, 2.0, 3.0, (4,)),
             [0.4319617748260498, 0.3128182888031006, 0.6368728280067444, 0.6900200843811035]),
    "dirichlet": (lambda: random.dirichlet(K42, jnp.array([1.0, 2.0, 0.5])),
                  [0.4389829635620117, 0.22352668642997742, 0.3374902606010437]),
    "poisson": (lambda: random.poisson(K42, jnp.array([0.0, 0.5, 3.0, 9.0, 15.0, 100.0])), [0, 1, 2, 7, 9, 90]),
    "permutation": (lambda: random.permutation(K42, 10), [7, 4, 2, 5, 3, 6, 8, 9, 0, 1]),
    "permutation_2d": (lambda: random.permutation(K42, jnp.arange(12).reshape(3, 4), axis=1),
                       [[2, 3, 0, 1], [6, 7, 4, 5], [10, 11, 8, 9]]),
    "choice_no_replace": (lambda: random.choice(K42, 10, (5,), replace=False), [7, 4, 2, 5, 3]),
    "choice_p": (lambda: random.choice(K42, 5, (6,), p=jnp.array([0.1, 0.2, 0.3, 0.25, 0.15])), [2] * 6),
    "t": (lambda: random.t(K42, 5.0, (3,)), [0.08416180312633514, -1.1023223400115967, 1.9336762428283691]),
    "chisquare": (lambda: random.chisquare(K42, 3.0, (3,)), [5.87071418762207, 1.3978509902954102, 5.559423446655273]),
}


@pytest.mark.parametrize("name", sorted(_PARITY))
def test_samplers_match_jax(name):
    fn, expected = _PARITY[name]
    out = _a(fn())
    expected = np.asarray(expected)
    assert out.shape == expected.shape
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(out, expected)
    else:
        np.testing.assert_allclose(out, expected, rtol=2e-6, atol=1e-7)


def test_gamma_gradient_matches_jax():
    # implicit reparameterization: d sample / d alpha = -(dF/dalpha) / f at the sample
    g = ec.grad(lambda a: random.gamma(K0, a).sum())(jnp.array([0.5, 2.0, 5.0]))
    np.testing.assert_allclose(_a(g), [1.7750096321105957, 1.0179104804992676, 0.8884313702583313], rtol=1e-5)


def test_gamma_gradient_matches_finite_differences():
    # for a fixed key the sample is a smooth function of alpha (away from alpha = 1, where the
    # sampler switches strategy), so central differences apply
    a = np.array([2.5, 4.0, 7.0], np.float32)
    eps = 1e-2
    fd = (_a(random.gamma(K42, a + eps)) - _a(random.gamma(K42, a - eps))) / (2 * eps)
    jac = _a(ec.grad(lambda a: random.gamma(K42, a).sum())(a))  # elementwise: the diagonal
    np.testing.assert_allclose(jac, fd, rtol=2e-2)
    log_jac = _a(ec.grad(lambda a: random.loggamma(K42, a).sum())(a))
    np.testing.assert_allclose(log_jac, fd / _a(random.gamma(K42, a)), rtol=2e-2)


# ----------------------------------------------------------------------------------------------
# Transformations

def test_jit_matches_eager():
    f = ec.jit(lambda k: (random.uniform(k, (5,)), random.normal(k, (5,)), random.bits(k, (3,)),
                          random.randint(k, (4,), 0, 7), random.split(k, 3)))
    for a, b in zip(f(K42), (random.uniform(K42, (5,)), random.normal(K42, (5,)), random.bits(K42, (3,)),
                             random.randint(K42, (4,), 0, 7), random.split(K42, 3))):
        np.testing.assert_allclose(_a(a), _a(b), rtol=1e-6)


def test_vmap_over_keys():
    keys = random.split(K0, 8)
    out = ec.jit(ec.vmap(lambda k: random.normal(k, (3,))))(keys)
    assert out.shape == (8, 3)
    expected = np.stack([_a(random.normal(keys[i], (3,))) for i in range(8)])
    np.testing.assert_array_equal(_a(out), expected)
    # keys of keys, fold_in with batched data, samplers with loops
    assert ec.vmap(lambda k: random.split(k, 3))(keys).shape == (8, 3, 2)
    folded = ec.vmap(lambda d: random.fold_in(K0, d))(jnp.arange(3))
    np.testing.assert_array_equal(_a(folded)[2], _a(random.fold_in(K0, 2)))
    for fn in (lambda k: random.gamma(k, 2.0, (3,)), lambda k: random.poisson(k, 4.0, (3,)),
               lambda k: random.permutation(k, 6), lambda k: random.randint(k, (3,), 0, 9)):
        batched = _a(ec.jit(ec.vmap(fn))(keys[:4]))
        looped = np.stack([_a(fn(keys[i])) for i in range(4)])
        np.testing.assert_allclose(batched, looped, rtol=1e-6)


def test_vmap_over_parameters():
    a = jnp.array([0.5, 1.0, 2.0])
    batched = _a(ec.jit(ec.vmap(lambda a: random.gamma(K0, a)))(a))
    np.testing.assert_allclose(batched, [float(random.gamma(K0, a[i])) for i in range(3)], rtol=1e-6)
    lo = jnp.array([-1.0, 0.0])
    out = _a(ec.jit(ec.vmap(lambda m: random.uniform(K0, (2,), minval=m, maxval=1.0)))(lo))
    np.testing.assert_allclose(out[1], _a(random.uniform(K0, (2,), minval=0.0, maxval=1.0)), rtol=1e-6)


def test_gradients_through_parameters():
    check_grads(lambda lo, hi: random.uniform(K42, (4,), minval=lo, maxval=hi), (np.float32(-1.0), np.float32(2.0)),
                order=2)
    check_grads(lambda lo: random.truncated_normal(K42, lo, 2.0, (4,)), (np.float32(-0.5),), order=1)
    check_grads(lambda m, s: m + s * random.normal(K42, (3,)), (np.float32(0.5), np.float32(2.0)), order=2)


# ----------------------------------------------------------------------------------------------
# Distributions

def test_uniform_statistics():
    u = _a(random.uniform(K0, (N,)))
    assert u.min() >= 0.0 and u.max() < 1.0
    assert _ks(u, lambda x: np.clip(x, 0, 1)) < KS_BOUND
    v = _a(random.uniform(K0, (N,), minval=-2.0, maxval=3.0))
    assert v.min() >= -2.0 and v.max() < 3.0
    assert _ks(v, lambda x: np.clip((x + 2) / 5, 0, 1)) < KS_BOUND


def test_normal_statistics():
    z = _a(random.normal(K0, (N,)))
    assert _ks(z, _normal_cdf) < KS_BOUND
    assert abs(z.mean()) < 4 / math.sqrt(N) and abs(z.var() - 1) < 0.05
    c = _a(random.normal(K42, (N,), jnp.complex64))
    assert abs(np.var(c.real) - 0.5) < 0.03 and abs(np.var(c.imag) - 0.5) < 0.03


def test_truncated_normal_statistics():
    lo, hi = -1.0, 2.0
    z = _a(random.truncated_normal(K0, lo, hi, (N,)))
    assert z.min() > lo and z.max() < hi
    mass = _normal_cdf(hi) - _normal_cdf(lo)
    assert _ks(z, lambda x: (_normal_cdf(x) - _normal_cdf(lo)) / mass) < KS_BOUND


@pytest.mark.parametrize("name, sample, mean, var", [
    ("exponential", lambda k: random.exponential(k, (N,)), 1.0, 1.0),
    ("gumbel", lambda k: random.gumbel(k, (N,)), 0.5772156649, math.pi ** 2 / 6),
    ("laplace", lambda k: random.laplace(k, (N,)), 0.0, 2.0),
    ("logistic", lambda k: random.logistic(k, (N,)), 0.0, math.pi ** 2 / 3),
    ("rademacher", lambda k: random.rademacher(k, (N,)), 0.0, 1.0),
    ("bernoulli", lambda k: random.bernoulli(k, 0.3, (N,)), 0.3, 0.21),
])
def test_moments(name, sample, mean, var):
    x = _a(sample(K0)).astype(np.float64)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N)
    assert abs(x.var() - var) < 0.08 * var


def test_exponential_gumbel_ks():
    assert _ks(_a(random.exponential(K42, (N,))), lambda x: 1 - np.exp(-np.maximum(x, 0))) < KS_BOUND
    assert _ks(_a(random.gumbel(K42, (N,))), lambda x: np.exp(-np.exp(-x))) < KS_BOUND
    assert _ks(_a(random.gumbel(K42, (N,), mode="high")), lambda x: np.exp(-np.exp(-x))) < KS_BOUND
    c = _a(random.cauchy(K42, (N,)))
    assert _ks(c, lambda x: 0.5 + np.arctan(x) / math.pi) < KS_BOUND


def test_randint_is_uniform():
    x = _a(random.randint(K0, (N,), 3, 10))
    assert x.dtype == np.int32 and x.min() == 3 and x.max() == 9
    counts = np.bincount(x - 3, minlength=7)
    chi2 = ((counts - N / 7) ** 2 / (N / 7)).sum()
    assert chi2 < 22.5  # 6 degrees of freedom, 0.1% critical value
    # bounds broadcast; maxval <= minval gives minval
    y = _a(random.randint(K0, (1000, 2), jnp.array([0, 5]), jnp.array([2, 5])))
    assert set(np.unique(y[:, 0])) == {0, 1} and (y[:, 1] == 5).all()
    z = _a(random.randint(K0, (1000,), -128, 128, jnp.int8))
    assert z.dtype == np.int8 and z.min() == -128 and z.max() == 127


def test_categorical_frequencies():
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4], np.float32))
    x = _a(random.categorical(K0, logits, shape=(N,)))
    freq = np.bincount(x, minlength=4) / N
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.3, 0.4], atol=0.015)
    # a batch of distributions along axis 0; without replacement indices are distinct
    batch = _a(random.categorical(K0, np.stack([logits, logits[::-1]], 1), axis=0))
    assert batch.shape == (2,)
    norep = _a(random.categorical(K0, logits, shape=(4,), replace=False))
    assert sorted(norep.tolist()) == [0, 1, 2, 3]


def test_gamma_statistics():
    alphas = np.array([0.3, 1.0, 2.5, 9.0], np.float32)
    x = _a(random.gamma(K0, alphas, (N, 4)))
    assert (x >= 0).all()
    np.testing.assert_allclose(x.mean(0), alphas, rtol=0.04)
    np.testing.assert_allclose(x.var(0), alphas, rtol=0.1)
    logs = _a(random.loggamma(K0, np.float32(0.01), (N,)))
    assert np.isfinite(logs).all()
    # E[log X] = digamma(a); digamma(0.01) = -100.56...
    assert abs(logs.mean() - (-100.5608)) < 2.0


def test_gamma_ks_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    x = _a(random.gamma(K42, 2.5, (N,)))
    assert _ks(x, stats.gamma(2.5).cdf) < KS_BOUND


def test_beta_dirichlet_chisquare_t():
    b = _a(random.beta(K0, 2.0, 5.0, (N,)))
    assert (b > 0).all() and (b < 1).all()
    assert abs(b.mean() - 2 / 7) < 0.005 and abs(b.var() - 10 / (49 * 8)) < 0.002
    alpha = np.array([1.0, 2.0, 3.0], np.float32)
    d = _a(random.dirichlet(K0, alpha, (N // 4,)))
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(d.mean(0), alpha / alpha.sum(), atol=0.01)
    c = _a(random.chisquare(K0, 4.0, (N,)))
    assert abs(c.mean() - 4) < 0.15 and abs(c.var() - 8) < 0.8
    t = _a(random.t(K0, 6.0, (N,)))
    assert abs(np.median(t)) < 0.05 and abs(t.var() - 1.5) < 0.2


def test_poisson_statistics():
    lam = np.array([0.0, 2.0, 30.0], np.float32)
    x = _a(random.poisson(K0, lam, (N // 2, 3)))
    assert x.dtype == np.int32 and (x[:, 0] == 0).all()
    np.testing.assert_allclose(x.mean(0)[1:], lam[1:], rtol=0.03)
    np.testing.assert_allclose(x.var(0)[1:], lam[1:], rtol=0.1)


def test_permutation_and_choice():
    p = _a(random.permutation(K0, 50))
    assert sorted(p.tolist()) == list(range(50))
    x = np.arange(24).reshape(4, 6)
    rows = _a(random.permutation(K0, x, axis=1))
    assert (np.sort(rows, axis=1) == x).all()
    assert len({tuple(np.argsort(r)) for r in rows}) == 1  # the same permutation for every row
    indep = _a(random.permutation(K0, x, axis=1, independent=True))
    assert (np.sort(indep, axis=1) == x).all()
    # the first element of a permutation of 4 is uniform
    keys = random.split(K42, 4000)
    firsts = _a(ec.jit(ec.vmap(lambda k: random.permutation(k, 4)[0]))(keys))
    np.testing.assert_allclose(np.bincount(firsts, minlength=4) / 4000, 0.25, atol=0.03)
    c = _a(random.choice(K0, 10, (8,), replace=False))
    assert len(set(c.tolist())) == 8
    probs = np.array([0.1, 0.0, 0.6, 0.3], np.float32)
    draws = _a(random.choice(K0, 4, (N,), p=probs))
    np.testing.assert_allclose(np.bincount(draws, minlength=4) / N, probs, atol=0.012)
    arr = np.arange(20.0, dtype=np.float32).reshape(4, 5)
    picked = _a(random.choice(K0, arr, (3,), axis=1))
    assert picked.shape == (4, 3) and set(picked[0].tolist()) <= set(arr[0].tolist())
    no_rep_p = _a(random.choice(K0, 4, (2,), replace=False, p=probs))
    assert len(set(no_rep_p.tolist())) == 2 and 1 not in no_rep_p


def test_multivariate_normal_and_orthogonal():
    mean = np.array([1.0, -2.0], np.float32)
    cov = np.array([[2.0, 0.6], [0.6, 1.0]], np.float32)
    for method in ("cholesky", "eigh", "svd"):
        x = _a(random.multivariate_normal(K0, mean, cov, (N,), method=method))
        np.testing.assert_allclose(x.mean(0), mean, atol=0.05)
        np.testing.assert_allclose(np.cov(x.T), cov, atol=0.08)
    q = _a(random.orthogonal(K0, 5))
    np.testing.assert_allclose(q.T @ q, np.eye(5), atol=1e-5)
    wide = _a(random.orthogonal(K0, 3, (2,), m=6))
    assert wide.shape == (2, 3, 6)
    np.testing.assert_allclose(wide[1] @ wide[1].T, np.eye(3), atol=1e-5)


def test_other_samplers():
    b = _a(random.ball(K0, 3, shape=(1000,)))
    assert b.shape == (1000, 3) and (np.linalg.norm(b, axis=-1) <= 1 + 1e-6).all()
    assert (_a(random.pareto(K0, 3.0, (100,))) >= 1).all()
    assert (_a(random.geometric(K0, 0.5, (100,))) >= 1).all()
    assert (_a(random.maxwell(K0, (100,))) >= 0).all()
    tri = _a(random.triangular(K0, 0.0, 0.3, 1.0, (100,)))
    assert (tri >= 0).all() and (tri <= 1).all()
    assert (_a(random.lognormal(K0, 0.5, (100,))) > 0).all()


# ----------------------------------------------------------------------------------------------
# Errors and key helpers

def test_key_helpers():
    keys = random.split(K0, 3)
    assert random.key_data(keys) is keys
    assert _a(random.wrap_key_data(np.array([0, 1], np.uint32))).tolist() == [0, 1]
    assert random.key_impl(K0) == "threefry2x32"
    assert random.clone(K0) is K0


def test_errors():
    with pytest.raises(ValueError, match="single key"):
        random.normal(random.split(K0), (2,))
    with pytest.raises(TypeError, match="PRNG key"):
        random.uniform(jnp.arange(2), (2,))
    with pytest.raises(ValueError, match="float"):
        random.uniform(K0, (2,), jnp.int32)
    with pytest.raises(ValueError, match="broadcast"):
        random.uniform(K0, (3,), minval=np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="larger sample"):
        random.choice(K0, 3, (4,), replace=False)
    with pytest.raises(TypeError, match="scalar"):
        random.fold_in(K0, np.arange(2))
