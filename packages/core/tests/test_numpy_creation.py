"""ember.core.numpy array creation against NumPy, with jax.numpy's dtypes and weak types."""

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core.test_util import check_grads


def kind(x):
    """dtype name plus 'w' for a weakly typed result (how the JAX expectations were recorded)."""
    return str(x.dtype) + ("w" if x.weak_type else "")


def check(actual, expected, dtype=None):
    assert isinstance(actual, ec.Array)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    host = np.asarray(actual)
    host = host.astype(np.float64) if host.dtype.kind != "c" else host
    np.testing.assert_allclose(host, np.asarray(expected), rtol=2e-6, atol=1e-6)
    if dtype is not None:
        assert kind(actual) == dtype, (kind(actual), dtype)


# expectations measured with jax.numpy 0.10.2 (x64 disabled), then hard-coded
DTYPE_CASES = [
    ("array_py_float", lambda: jnp.array(1.0), "float32w"),
    ("array_py_int", lambda: jnp.asarray(1), "int32w"),
    ("array_int8_and_int", lambda: jnp.array([np.int8(1), 2]), "int8"),
    ("array_f16_and_float", lambda: jnp.array([np.float16(1), 2.0]), "float16"),
    ("array_mixed_list", lambda: jnp.array([1, 2.5]), "float32"),
    ("array_empty", lambda: jnp.array([]), "float32"),
    ("array_with_arrays", lambda: jnp.array([jnp.float16(1), 2]), "float16"),
    ("array_nested_arrays", lambda: jnp.array([jnp.ones(2, jnp.bfloat16), [1, 2]]), "bfloat16"),
    ("array_f64_host", lambda: jnp.array(np.arange(3.0)), "float32"),
    ("full_py_float", lambda: jnp.full((2,), 1.0), "float32w"),
    ("full_py_int", lambda: jnp.full((2,), 1), "int32w"),
    ("full_np_int8", lambda: jnp.full((2,), np.int8(1)), "int8"),
    ("full_array_fill", lambda: jnp.full((2, 3), jnp.arange(3)), "int32"),
    ("zeros", lambda: jnp.zeros(3), "float32"),
    ("ones_int", lambda: jnp.ones(3, int), "int32"),
    ("zeros_like_weak", lambda: jnp.zeros_like(1.0), "float32w"),
    ("zeros_like_int", lambda: jnp.zeros_like(jnp.arange(3)), "int32"),
    ("full_like_truncates", lambda: jnp.full_like(jnp.arange(3), 2.5), "int32"),
    ("ones_like_host", lambda: jnp.ones_like(np.array([1, 2])), "int32"),
    ("empty_like_bf16", lambda: jnp.empty_like(jnp.ones(2, jnp.bfloat16)), "bfloat16"),
    ("linspace_1", lambda: jnp.linspace(0, 1, 1), "float32"),
    ("linspace_int", lambda: jnp.linspace(0, 10, 5, dtype=int), "int32"),
    ("logspace", lambda: jnp.logspace(0, 2, 3), "float32"),
    ("geomspace", lambda: jnp.geomspace(1, 8, 4), "float32"),
    ("tri", lambda: jnp.tri(3), "float32"),
    ("tri_int", lambda: jnp.tri(3, dtype=int), "int32"),
    ("diag_int", lambda: jnp.diag(jnp.arange(3), 1), "int32"),
    ("indices", lambda: jnp.indices((2, 3)), "int32"),
    ("fromfunction", lambda: jnp.fromfunction(lambda i, j: i + j, (2, 3)), "float32"),
    ("fromfunction_int", lambda: jnp.fromfunction(lambda i, j: i + j, (2, 3), dtype=int), "int32"),
    ("arange_int", lambda: jnp.arange(5), "int32"),
    ("arange_float", lambda: jnp.arange(5.0), "float32"),
    ("arange_int8", lambda: jnp.arange(np.int8(5)), "int8"),
    ("arange_step", lambda: jnp.arange(0, 1, 0.25), "float32"),
    ("eye", lambda: jnp.eye(2), "float32"),
    ("copy_weak", lambda: jnp.copy(1.0), "float32w"),
    ("frombuffer", lambda: jnp.frombuffer(b"\x01\x02\x03\x04", dtype=jnp.uint8), "uint8"),
    ("fromstring", lambda: jnp.fromstring("1 2", sep=" ", dtype=int), "int32"),
]


@pytest.mark.parametrize("name,fn,expected", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_dtypes_match_jax(name, fn, expected):
    assert kind(fn()) == expected


def test_array_values():
    check(jnp.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]], "int32")
    check(jnp.array((1.5, 2)), [1.5, 2.0], "float32")
    check(jnp.array(np.arange(4, dtype=np.int16)), np.arange(4), "int16")
    check(jnp.array([1, 2], dtype=jnp.float16), [1, 2], "float16")
    check(jnp.array(3, ndmin=2), [[3]], "int32w")
    check(jnp.array([True, False]), [1, 0], "bool")
    x = jnp.arange(3.0)
    check(jnp.array([x, x + 1]), [[0, 1, 2], [1, 2, 3]], "float32")
    check(jnp.array([[jnp.float32(7), 5.0], [1, 2]]), [[7, 5], [1, 2]], "float32")
    check(jnp.array(memoryview(np.arange(3, dtype=np.int8))), [0, 1, 2], "int8")
    with pytest.raises(ValueError):
        jnp.array([jnp.ones(2), jnp.ones(3)])
    with pytest.raises(ValueError):
        jnp.array([1, None])
    with pytest.raises(OverflowError):
        jnp.array(2 ** 40)


def test_array_of_tracers_under_jit_and_vmap():
    f = ec.jit(lambda a, b: jnp.array([[a, b], [b, a]]))
    check(f(1.0, 2.0), [[1, 2], [2, 1]], "float32")
    g = ec.vmap(lambda a: jnp.asarray([a, 2 * a, 3]))
    check(g(jnp.arange(3.0)), [[0, 0, 3], [1, 2, 3], [2, 4, 3]], "float32")
    check_grads(lambda a, b: jnp.array([a * b, a]), (np.float32(1.5), np.float32(-2.0)), order=1)


def test_asarray_and_copy():
    x = jnp.arange(3)
    assert jnp.asarray(x) is x
    assert jnp.asarray(x, dtype=jnp.int32) is x
    check(jnp.asarray(x, dtype=jnp.float32), [0, 1, 2], "float32")
    check(jnp.asarray(np.arange(3), copy=False), [0, 1, 2], "int32")
    check(jnp.asarray([1, 2], copy=True), [1, 2], "int32")
    check(jnp.copy(x), [0, 1, 2], "int32")
    check(jnp.asarray(x, device=ec.devices()[0]), [0, 1, 2])
    check(jnp.from_dlpack(np.arange(4, dtype=np.float32)), [0, 1, 2, 3], "float32")
    check(jnp.from_dlpack(x), [0, 1, 2], "int32")
    check(jnp.fromiter(range(3), dtype=np.float32), [0, 1, 2], "float32")


def test_full_zeros_ones_empty():
    dev = ec.devices()[0]
    check(jnp.zeros((2, 3), device=dev), np.zeros((2, 3)), "float32")
    check(jnp.ones(3, jnp.bfloat16), np.ones(3), "bfloat16")
    check(jnp.empty((2,), device=dev), np.zeros(2), "float32")
    check(jnp.full(3, 7, dtype=np.uint8), [7, 7, 7], "uint8")
    check(jnp.full((2, 2), jnp.asarray(2.5)), [[2.5, 2.5], [2.5, 2.5]], "float32w")  # weak in, weak out
    check(jnp.full((2, 3), np.array([1, 2, 3], np.int8)), [[1, 2, 3]] * 2, "int8")
    check(jnp.full_like(jnp.ones((2, 2)), 3, shape=(3,)), [3, 3, 3], "float32")
    check(jnp.zeros_like(np.ones((2,)), dtype=bool), [0, 0], "bool")
    check(jnp.ones_like(jnp.ones((1, 2), jnp.int8), shape=4), [1, 1, 1, 1], "int8")
    check(jnp.zeros(np.int64(2)), [0, 0])
    with pytest.raises(ValueError):
        jnp.full((2,), jnp.ones(3))
    with pytest.raises(TypeError):
        jnp.zeros((2,), dtype=np.dtype("O"))
    out = ec.jit(lambda v: jnp.full((2,), v))(jnp.asarray(4.0))
    check(out, [4, 4], "float32w")


@pytest.mark.parametrize("args", [(5,), (2, 7), (1, 10, 3), (10, 1, -3), (0.5, 3.0, 0.7), (3, 1), (-2.5, 2.5)])
def test_arange(args):
    expected = np.arange(*args)
    check(jnp.arange(*args), expected)
    check(jnp.arange(*args, dtype=np.float32), expected.astype(np.float32), "float32")


def test_arange_errors():
    with pytest.raises(ValueError):
        jnp.arange(0, 5, 0)
    with pytest.raises(ec.ConcretizationError):
        ec.jit(lambda n: jnp.arange(n))(3)


def test_linspace_family():
    for num, endpoint in ((5, True), (5, False), (1, True), (1, False), (0, True), (2, True)):
        check(jnp.linspace(-1.0, 3.0, num, endpoint=endpoint), np.linspace(-1.0, 3.0, num, endpoint=endpoint))
    out, step = jnp.linspace(0, 1, 5, retstep=True)
    assert float(step) == 0.25
    start, stop = np.array([0.0, 1.0], np.float32), np.array([1.0, -1.0], np.float32)
    check(jnp.linspace(start, stop, 4), np.linspace(start, stop, 4))
    check(jnp.linspace(start, stop, 4, axis=-1), np.linspace(start, stop, 4, axis=-1))
    check(jnp.linspace(0, 10, 5, dtype=int), np.linspace(0, 10, 5, dtype=int), "int32")
    check(jnp.logspace(0, 3, 4), np.logspace(0, 3, 4))
    check(jnp.logspace(0, 3, 4, base=2.0, endpoint=False), np.logspace(0, 3, 4, base=2.0, endpoint=False))
    check(jnp.geomspace(1, 1000, 4), np.geomspace(1, 1000, 4))
    check(jnp.geomspace(-1, -16, 5), np.geomspace(-1, -16, 5))
    check(jnp.geomspace(1, 16, 4, endpoint=False), np.geomspace(1, 16, 4, endpoint=False))
    check(jnp.geomspace(np.array([1.0, 2.0]), np.array([8.0, 32.0]), 3, axis=1),
          np.geomspace([1.0, 2.0], [8.0, 32.0], 3, axis=1))
    # linspace is differentiable in its end points
    check_grads(ec.jit(lambda a, b: jnp.linspace(a, b, 5)), (np.float32(0.5), np.float32(2.0)), order=1)
    check_grads(ec.jit(lambda a, b: jnp.logspace(a, b, 4)), (np.float32(0.5), np.float32(1.0)), order=1)
    f = ec.vmap(lambda a: jnp.linspace(0.0, a, 3))
    check(f(jnp.asarray([1.0, 2.0])), [[0, 0.5, 1], [0, 1, 2]])


def test_matrices():
    for N, M, k in ((3, None, 0), (3, 5, 1), (4, 2, -1), (2, 3, 5)):
        check(jnp.eye(N, M, k), np.eye(N, M, k), "float32")
        check(jnp.tri(N, M, k), np.tri(N, M, k), "float32")
    check(jnp.identity(3, dtype=int), np.identity(3), "int32")
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for k in (-2, -1, 0, 1, 3):
        check(jnp.tril(x, k), np.tril(x, k), "float32")
        check(jnp.triu(x, k), np.triu(x, k), "float32")
        check(jnp.diag(x[0], k), np.diag(x[0], k))
        check(jnp.diag(np.arange(1, 4), k), np.diag(np.arange(1, 4), k), "int32")
    check(jnp.diag(np.array([[True, False], [False, True]])), [True, True], "bool")
    check(jnp.diagflat(np.array([[1, 2], [3, 4]]), -1), np.diagflat([[1, 2], [3, 4]], -1))
    with pytest.raises(ValueError):
        jnp.tril(jnp.arange(3))
    with pytest.raises(ValueError):
        jnp.diag(jnp.ones((2, 2, 2)))
    check_grads(ec.jit(lambda m: jnp.tril(m, -1) + jnp.diag(jnp.diag(m)) + jnp.triu(m, 2)), (x[0, :3, :3],), order=1)
    f = ec.vmap(lambda v: jnp.diag(v, 1))
    check(f(jnp.asarray([[1, 2], [3, 4]])), np.stack([np.diag([1, 2], 1), np.diag([3, 4], 1)]))


def test_grids():
    x, y, z = np.arange(3.0), np.arange(2), np.arange(4.0)
    for indexing in ("xy", "ij"):
        for sparse in (False, True):
            got = jnp.meshgrid(x, y, z, indexing=indexing, sparse=sparse)
            expected = np.meshgrid(x, y, z, indexing=indexing, sparse=sparse)
            for g, e in zip(got, expected):
                check(g, e)
    assert [kind(g) for g in jnp.meshgrid(jnp.arange(3), jnp.arange(2.0))] == ["int32", "float32"]
    check(jnp.indices((2, 3)), np.indices((2, 3)), "int32")
    for g, e in zip(jnp.indices((2, 3), sparse=True), np.indices((2, 3), sparse=True)):
        check(g, e, "int32")
    check(jnp.indices((2, 2), dtype=jnp.float32), np.indices((2, 2)), "float32")
    check(jnp.fromfunction(lambda i, j: i * 10 + j, (2, 3)), np.fromfunction(lambda i, j: i * 10 + j, (2, 3)))
    check(jnp.fromfunction(lambda i, j: 1, (2, 3)), np.ones((2, 3)))
    check(jnp.fromfunction(lambda i, j, k: i - k + j, (2, 2, 3), dtype=np.int8),
          np.fromfunction(lambda i, j, k: i - k + j, (2, 2, 3)), "int8")
