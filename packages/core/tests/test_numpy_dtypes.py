"""ember.core.numpy's dtype API: scalar types, dtype functions, predicates and constants
(expectations from jax.numpy 0.10.2 with x64 disabled, hard-coded)."""

import math

import ml_dtypes
import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp

SCALAR_TYPES = {
    "bool_": np.bool_, "bool": np.bool_, "int8": np.int8, "int16": np.int16, "int32": np.int32,
    "int64": np.int64, "uint8": np.uint8, "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64,
    "float16": np.float16, "float32": np.float32, "float64": np.float64, "bfloat16": ml_dtypes.bfloat16,
    "complex64": np.complex64, "complex128": np.complex128, "float8_e4m3fn": ml_dtypes.float8_e4m3fn,
    "float8_e5m2": ml_dtypes.float8_e5m2, "float8_e4m3fnuz": ml_dtypes.float8_e4m3fnuz,
    "float8_e5m2fnuz": ml_dtypes.float8_e5m2fnuz, "float8_e4m3b11fnuz": ml_dtypes.float8_e4m3b11fnuz,
    "int_": np.int64, "uint": np.uint64, "float_": np.float64, "complex_": np.complex128, "single": np.float32,
    "double": np.float64, "half": np.float16, "csingle": np.complex64, "cdouble": np.complex128,
}
_canonical = {np.dtype(np.int64): "int32", np.dtype(np.uint64): "uint32", np.dtype(np.float64): "float32",
              np.dtype(np.complex128): "complex64"}


@pytest.mark.parametrize("name", sorted(SCALAR_TYPES))
def test_scalar_types(name):
    t = getattr(jnp, name)
    np_type = SCALAR_TYPES[name]
    assert t.dtype == np.dtype(np_type)
    assert np.dtype(t) == np.dtype(np_type)
    assert t == np_type and hash(t) == hash(np_type)
    assert isinstance(np_type(1), t)
    # usable wherever a dtype is expected
    assert jnp.zeros(2, t).dtype.name == _canonical.get(np.dtype(np_type), np.dtype(np_type).name)
    x = t(1)
    assert isinstance(x, ec.Array) and x.shape == () and not x.weak_type
    assert x.dtype.name == _canonical.get(np.dtype(np_type), np.dtype(np_type).name)


def test_scalar_type_calls():
    assert jnp.float32([1, 2]).tolist() == [1.0, 2.0]
    assert jnp.int8(3.7).tolist() == 3
    assert jnp.bool_(1).tolist() is True
    assert jnp.bfloat16(1.5).dtype == ml_dtypes.bfloat16
    assert ec.jit(lambda x: jnp.float16(x) * 2)(3).dtype == np.float16
    assert "float32" in repr(jnp.float32)
    assert jnp.dtype(jnp.bfloat16) == np.dtype(ml_dtypes.bfloat16)
    assert jnp.dtype is np.dtype and jnp.ndarray is ec.Array
    assert isinstance(jnp.ones(2), jnp.ndarray)


def test_categories_are_numpys():
    for name in ("generic", "number", "integer", "signedinteger", "unsignedinteger", "inexact", "floating",
                 "complexfloating", "character", "flexible"):
        assert getattr(jnp, name) is getattr(np, name)


def test_finfo_iinfo():
    assert jnp.finfo(jnp.bfloat16).eps == 0.0078125
    assert jnp.finfo(jnp.complex64).dtype == np.float32
    assert jnp.finfo(float).dtype == np.float64
    assert jnp.finfo(jnp.ones(2, jnp.float16)).bits == 16
    assert jnp.finfo(jnp.float8_e4m3fn).max == 448
    assert jnp.iinfo(jnp.int8).max == 127
    assert jnp.iinfo(np.uint16).max == 65535
    assert jnp.iinfo(jnp.arange(3)).bits == 32
    with pytest.raises(ValueError):
        jnp.finfo(jnp.int32)
    with pytest.raises(ValueError):
        jnp.iinfo(jnp.float32)


PROMOTION = [
    ("result_type(1, 2.0)", lambda: jnp.result_type(1, 2.0), "float32"),
    ("result_type(int8, 1.0)", lambda: jnp.result_type(jnp.int8, 1.0), "float32"),
    ("result_type(float64)", lambda: jnp.result_type(np.float64), "float32"),
    ("result_type(f32 array, 1j)", lambda: jnp.result_type(jnp.float32(1), 1j), "complex64"),
    ("result_type(bf16, f16)", lambda: jnp.result_type(jnp.bfloat16, jnp.float16), "float32"),
    ("result_type(u8, i8)", lambda: jnp.result_type(jnp.uint8, jnp.int8), "int16"),
    ("result_type(bf16, 2)", lambda: jnp.result_type(jnp.ones(2, jnp.bfloat16), 2), "bfloat16"),
    ("result_type(bool, int)", lambda: jnp.result_type(True, 1), "int32"),
    ("promote_types(f64, i32)", lambda: jnp.promote_types(np.float64, np.int32), "float64"),
    ("promote_types(bf16, f16)", lambda: jnp.promote_types("bfloat16", "float16"), "float32"),
    ("promote_types(i8, u8)", lambda: jnp.promote_types(jnp.int8, jnp.uint8), "int16"),
]


@pytest.mark.parametrize("name,fn,expected", PROMOTION, ids=[p[0] for p in PROMOTION])
def test_promotion(name, fn, expected):
    assert fn() == np.dtype(expected)


def test_can_cast_and_subdtypes():
    assert jnp.can_cast(jnp.int8, jnp.float32)
    assert not jnp.can_cast(jnp.float32, jnp.bfloat16)
    assert not jnp.can_cast(jnp.arange(3), jnp.float32)
    assert jnp.can_cast(jnp.float32, jnp.int8, casting="unsafe")
    assert jnp.issubdtype(jnp.bfloat16, jnp.floating)
    assert jnp.issubdtype(jnp.float8_e5m2, jnp.inexact)
    assert jnp.issubdtype(jnp.float32, jnp.float32)
    assert jnp.issubdtype(np.float32, jnp.float32)
    assert jnp.issubdtype(jnp.int32, np.signedinteger)
    assert not jnp.issubdtype(jnp.int32, jnp.floating)
    assert jnp.issubdtype(jnp.ones(2, jnp.bfloat16).dtype, jnp.number)
    assert jnp.issubdtype(bool, jnp.bool_) and jnp.issubdtype(np.floating, np.inexact)
    assert not jnp.issubdtype(jnp.uint8, jnp.signedinteger)


ISDTYPE = [
    (jnp.float32, "real floating", True), (jnp.bfloat16, "real floating", True), (jnp.int8, ("bool", "integral"), True),
    (jnp.uint8, "signed integer", False), (jnp.uint8, "unsigned integer", True),
    (jnp.complex64, "complex floating", True),
    (jnp.complex64, "numeric", True), (jnp.bool_, "numeric", False), (jnp.bool_, "bool", True),
    (jnp.float16, jnp.float16, True), (jnp.float16, (jnp.float32, "integral"), False),
]


@pytest.mark.parametrize("dtype,kind,expected", ISDTYPE)
def test_isdtype(dtype, kind, expected):
    assert jnp.isdtype(dtype, kind) is expected


def test_isdtype_rejects_unknown_kind():
    with pytest.raises(ValueError):
        jnp.isdtype(jnp.float32, "floaty")


def test_predicates_and_properties():
    assert jnp.isscalar(1) and jnp.isscalar(1.5) and jnp.isscalar(np.float32(1))
    assert jnp.isscalar(jnp.asarray(1)) and jnp.isscalar(np.array(1))  # 0-d arrays count, as in JAX
    assert not jnp.isscalar([1]) and not jnp.isscalar(jnp.arange(2))
    assert jnp.ndim([1, 2]) == 1 and jnp.ndim(jnp.ones((2, 3))) == 2 and jnp.ndim(3.0) == 0
    assert jnp.shape([[1], [2]]) == (2, 1) and jnp.shape(jnp.ones((2, 3))) == (2, 3)
    assert jnp.size(jnp.ones((2, 3)), 1) == 3 and jnp.size(3) == 1 and jnp.size(jnp.ones((2, 3))) == 6
    assert jnp.iscomplexobj(1j) and jnp.iscomplexobj(jnp.ones(2, jnp.complex64))
    assert not jnp.iscomplexobj(jnp.ones(2)) and jnp.isrealobj(1.0) and not jnp.isrealobj(1j)
    assert jnp.iscomplex(jnp.asarray([1 + 1j, 2])).tolist() == [True, False]
    assert jnp.isreal(jnp.asarray([1 + 1j, 2])).tolist() == [False, True]
    assert jnp.iscomplex(jnp.arange(2.0)).tolist() == [False, False]
    r = jnp.isreal(1.0)
    assert r.dtype == np.bool_ and bool(r)
    # they work on traced values, with static answers where the answer is static
    out = ec.jit(lambda x: (jnp.shape(x), jnp.ndim(x), jnp.iscomplex(x)))
    assert out(jnp.ones((2, 2)))[2].shape == (2, 2)
    shapes = []
    ec.jit(lambda x: shapes.append((jnp.shape(x), jnp.size(x), jnp.ndim(x), jnp.isscalar(x))) or x)(jnp.ones(3))
    assert shapes == [((3,), 3, 1, False)]


def test_constants():
    assert jnp.pi == math.pi and jnp.e == math.e and jnp.inf == math.inf and math.isnan(jnp.nan)
    assert abs(jnp.euler_gamma - 0.5772156649015329) < 1e-16
    assert jnp.newaxis is None
