"""Dtypes: JAX's promotion lattice, weak types, 64-bit canonicalisation."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core._src import dtypes

bf16, f16, f32, f64 = dtypes.bfloat16, np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
i8, i16, i32, i64 = (np.dtype(t) for t in ("int8", "int16", "int32", "int64"))
u8, u16, u32, u64 = (np.dtype(t) for t in ("uint8", "uint16", "uint32", "uint64"))
b1, c64, c128 = np.dtype("bool"), np.dtype("complex64"), np.dtype("complex128")

# From JAX's documented promotion table (jax.numpy type promotion semantics), as
# jax.numpy.promote_types reports it with 64-bit mode off: integer results are canonicalised
# (u32 + i32 -> i64 -> i32), floats are not (u64 + i64 -> f64).
TABLE = [
    (b1, i8, i8), (u8, i8, i16), (u8, u16, u16), (u16, i16, i32), (u32, i32, i32), (u64, i64, f64),
    (i8, bf16, bf16), (u8, f16, f16), (bf16, f16, f32), (f16, f32, f32), (f32, c64, c64), (f64, c64, c128),
    (i64, f16, f16), (u64, bf16, bf16), (b1, b1, b1), (i32, i32, i32),
]


@pytest.mark.parametrize("a,b,expected", TABLE)
def test_promotion_table(a, b, expected):
    got = dtypes.promote_types(a, b)
    want = dtypes.default_float_dtype() if isinstance(expected, str) else expected
    assert got == want
    assert dtypes.promote_types(b, a) == want  # symmetric


def test_weak_python_scalars_do_not_widen_arrays():
    assert dtypes.result_type(f16, 1.0) == f16
    assert dtypes.result_type(bf16, 2) == bf16
    assert dtypes.result_type(i8, 3) == i8
    assert dtypes.result_type(i32, 1.5) == f32
    assert dtypes.result_type(u8, 1j) == c64
    assert dtypes.result_type(1, 2.0, return_weak_type_flag=True) == (f32, True)
    assert dtypes.result_type(True, 1) == i32


def test_float8_has_no_common_type_with_other_floats():
    with pytest.raises(dtypes.TypePromotionError, match="float8_e4m3fn and float16 have no common type"):
        dtypes.promote_types(dtypes.float8_e4m3fn, f16)
    assert dtypes.promote_types(dtypes.float8_e5m2, dtypes.float8_e5m2) == dtypes.float8_e5m2


def test_array_arithmetic_follows_the_lattice():
    assert (jnp.ones(2, "bfloat16") * 2.0).dtype == bf16
    assert (jnp.ones(2, "float16") + jnp.ones(2, "float32")).dtype == f32
    assert (jnp.asarray(np.int8([1])) + np.uint8(1)).dtype == i16


def test_64_bit_values_become_32_bit_by_default():
    assert ec.numpy.asarray(np.arange(3, dtype=np.int64)).dtype == i32
    assert ec.numpy.asarray(np.float64(1.5)).dtype == f32
    assert dtypes.canonicalize_dtype(c128) == c64


def test_enable_x64_flag():
    ec.config.update("enable_x64", True)
    try:
        x = ec.numpy.asarray(np.float64(1.5))
        assert x.dtype == f64
        assert (x * 2).dtype == f64
        assert dtypes.result_type(1.0) == f64
    finally:
        ec.config.update("enable_x64", False)
    assert dtypes.result_type(1.0) == f32


def test_issubdtype_knows_custom_floats():
    assert dtypes.issubdtype(bf16, np.floating) and dtypes.issubdtype(dtypes.float8_e4m3fn, np.inexact)
    assert not dtypes.issubdtype(i32, np.floating) and dtypes.issubdtype(u8, np.unsignedinteger)
    assert float(dtypes.finfo(bf16).eps) == 2 ** -7
    assert dtypes.iinfo(i8).min == -128


def test_unsupported_dtype_message():
    with pytest.raises(TypeError, match="dtype 'str64'|not supported|expected a dtype"):
        dtypes.to_dtype("U8")


def test_array_values_roundtrip_for_every_dtype():
    for dt in dtypes.all_dtypes:
        if dt.itemsize == 8 and dt.kind != "c":
            continue
        if dt == c128:
            continue
        host = np.arange(4).astype(dt)
        arr = ec.device_put(host)
        assert arr.dtype == dt
        np.testing.assert_array_equal(np.asarray(arr), host)
