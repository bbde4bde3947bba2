"""ember.core.numpy shape operations against NumPy: values, dtypes (JAX's), jit, vmap, grads."""

import ml_dtypes
import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
from ember.core.test_util import check_grads

rng = np.random.default_rng(0)
A23 = np.arange(6, dtype=np.float32).reshape(2, 3)
A234 = rng.normal(size=(2, 3, 4)).astype(np.float32)
I5 = np.arange(1, 6, dtype=np.int32)


def check(actual, expected, dtype=None):
    if isinstance(expected, (list, tuple)) and not isinstance(actual, ec.Array):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            check(a, e, dtype)
        return
    assert isinstance(actual, ec.Array), type(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(np.asarray(actual, np.float64) if actual.dtype.kind != "c" else np.asarray(actual),
                               np.asarray(expected), rtol=1e-6, atol=1e-6)
    if dtype is not None:
        assert actual.dtype == np.dtype(dtype), (actual.dtype, dtype)


# (name, ember call, numpy call): each a function of the module (jnp or np)
CASES = [
    ("reshape", lambda m, x: m.reshape(x, (3, -1)), A23),
    ("reshape_F", lambda m, x: m.reshape(x, (3, 2), order="F"), A23),
    ("reshape_int", lambda m, x: m.reshape(x, 6), A23),
    ("ravel", lambda m, x: m.ravel(x), A234),
    ("ravel_F", lambda m, x: m.ravel(x, order="F"), A234),
    ("transpose", lambda m, x: m.transpose(x), A234),
    ("transpose_axes", lambda m, x: m.transpose(x, (1, 0, 2)), A234),
    ("permute_dims", lambda m, x: m.permute_dims(x, (2, 0, 1)), A234),
    ("matrix_transpose", lambda m, x: m.matrix_transpose(x), A234),
    ("moveaxis", lambda m, x: m.moveaxis(x, 0, -1), A234),
    ("moveaxis_multi", lambda m, x: m.moveaxis(x, [0, 1], [-1, -2]), A234),
    ("swapaxes", lambda m, x: m.swapaxes(x, 0, 2), A234),
    ("rollaxis", lambda m, x: m.rollaxis(x, 2), A234),
    ("rollaxis_start", lambda m, x: m.rollaxis(x, 0, 3), A234),
    ("expand_dims", lambda m, x: m.expand_dims(x, (0, 3)), A23),
    ("expand_dims_neg", lambda m, x: m.expand_dims(x, -1), A23),
    ("squeeze", lambda m, x: m.squeeze(x), A23.reshape(1, 2, 1, 3)),
    ("squeeze_axis", lambda m, x: m.squeeze(x, axis=(0, 2)), A23.reshape(1, 2, 1, 3)),
    ("flip", lambda m, x: m.flip(x), A234),
    ("flip_axis", lambda m, x: m.flip(x, (0, 2)), A234),
    ("fliplr", lambda m, x: m.fliplr(x), A23),
    ("flipud", lambda m, x: m.flipud(x), A23),
    ("rot90", lambda m, x: m.rot90(x), A234),
    ("rot90_k2", lambda m, x: m.rot90(x, 2), A234),
    ("rot90_k3_axes", lambda m, x: m.rot90(x, 3, axes=(1, 2)), A234),
    ("roll", lambda m, x: m.roll(x, 2), A234),
    ("roll_axis", lambda m, x: m.roll(x, -1, axis=1), A234),
    ("roll_multi", lambda m, x: m.roll(x, (1, 2), axis=(0, 2)), A234),
    ("tile", lambda m, x: m.tile(x, (2, 1, 2)), A23),
    ("tile_int", lambda m, x: m.tile(x, 2), A23),
    ("repeat", lambda m, x: m.repeat(x, 2), A23),
    ("repeat_axis", lambda m, x: m.repeat(x, 3, axis=1), A23),
    ("repeat_array", lambda m, x: m.repeat(x, np.array([1, 0, 2]), axis=1), A23),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (4, 2, 3)), A23),
    ("atleast_3d", lambda m, x: m.atleast_3d(x), A23),
    ("resize_grow", lambda m, x: m.resize(x, (4, 4)), A23),
    ("resize_shrink", lambda m, x: m.resize(x, (2, 2)), A23),
    ("append", lambda m, x: m.append(x, x), A23),
    ("append_axis", lambda m, x: m.append(x, x, axis=1), A23),
    ("delete", lambda m, x: m.delete(x, [0, 2], axis=1), A23),
    ("delete_flat", lambda m, x: m.delete(x, 1), A23),
    ("delete_slice", lambda m, x: m.delete(x, slice(0, 3, 2), axis=1), A23),
    ("insert_scalar", lambda m, x: m.insert(x, 1, 9.0, axis=1), A23),
    ("insert_seq", lambda m, x: m.insert(x, np.array([1, 1, 3]), np.array([7.0, 8.0, 9.0])), A23),
    ("insert_row", lambda m, x: m.insert(x, 2, np.array([5.0, 6.0, 7.0]), axis=0), A23),
    ("insert_flat_end", lambda m, x: m.insert(x, 6, 1.0), A23),
]


@pytest.mark.parametrize("name,fn,x", CASES, ids=[c[0] for c in CASES])
def test_unary_shape_ops(name, fn, x):
    expected = fn(np, x)
    check(fn(jnp, jnp.asarray(x)), expected, x.dtype)


JOIN_CASES = [
    ("concatenate", lambda m, a, b: m.concatenate([a, b])),
    ("concatenate_axis1", lambda m, a, b: m.concatenate([a, b, a], axis=1)),
    ("concatenate_none", lambda m, a, b: m.concatenate([a, b], axis=None)),
    ("concat", lambda m, a, b: m.concat([a, b], axis=-1)),
    ("stack", lambda m, a, b: m.stack([a, b])),
    ("stack_axis", lambda m, a, b: m.stack([a, b], axis=-1)),
    ("vstack", lambda m, a, b: m.vstack([a, b])),
    ("hstack", lambda m, a, b: m.hstack([a, b])),
    ("dstack", lambda m, a, b: m.dstack([a, b])),
    ("column_stack", lambda m, a, b: m.column_stack([a, b])),
    ("block", lambda m, a, b: m.block([[a, b], [b, a]])),
    ("broadcast_arrays", lambda m, a, b: m.broadcast_arrays(a[:1], b)),
]


@pytest.mark.parametrize("name,fn", JOIN_CASES, ids=[c[0] for c in JOIN_CASES])
def test_joining(name, fn):
    a, b = A23, A23 + 10
    check(fn(jnp, jnp.asarray(a), jnp.asarray(b)), fn(np, a, b), np.float32)


def test_joining_1d():
    a, b = np.arange(3.0, dtype=np.float32), np.arange(3.0, 6.0, dtype=np.float32)
    for name in ("vstack", "hstack", "dstack", "column_stack"):
        check(getattr(jnp, name)([a, b]), getattr(np, name)([a, b]))
    check(jnp.row_stack([a, b]), np.vstack([a, b]))
    check(jnp.stack(jnp.asarray(A23)), np.stack(A23))  # an array is a sequence of its rows
    check(jnp.block([a, b]), np.block([a, b]))
    check(jnp.block([[A23], [A23]]), np.block([[A23], [A23]]))


def test_split_family():
    x = np.arange(24.0, dtype=np.float32).reshape(4, 6)
    check(jnp.split(x, 2), np.split(x, 2))
    check(jnp.split(x, [1, 4, 10], axis=1), np.split(x, [1, 4, 10], axis=1))
    check(jnp.split(x, [-2], axis=1), np.split(x, [-2], axis=1))
    check(jnp.array_split(x, 4, axis=1), np.array_split(x, 4, axis=1))
    check(jnp.hsplit(x, 3), np.hsplit(x, 3))
    check(jnp.vsplit(x, [1]), np.vsplit(x, [1]))
    check(jnp.dsplit(x.reshape(2, 2, 6), 2), np.dsplit(x.reshape(2, 2, 6), 2))
    check(list(jnp.unstack(x, axis=1)), [x[:, i] for i in range(6)])
    assert isinstance(jnp.unstack(x), tuple)
    with pytest.raises(ValueError, match="equal division"):
        jnp.split(x, 5)


def test_pad_modes():
    x2 = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    xi = np.array([1, 5, 2, 8], np.int32)
    modes = ("constant", "edge", "reflect", "symmetric", "wrap", "linear_ramp", "maximum", "minimum", "mean", "median",
             "empty")
    widths = (2, (1, 3), ((2, 1), (0, 5)))
    # one program for all modes and widths (compiling is the slow part of these tests)
    outs = ec.jit(lambda x, xi: ([jnp.pad(x, w, mode=m) for m in modes for w in widths],
                                 [jnp.pad(xi, (3, 6), mode=m) for m in modes]))(x2, xi)
    for k, (m, w) in enumerate((m, w) for m in modes for w in widths):
        check(outs[0][k], np.pad(x2, w, mode=m if m != "empty" else "constant"), np.float32)
    for k, m in enumerate(modes):
        check(outs[1][k], np.pad(xi, (3, 6), mode=m if m != "empty" else "constant"), np.int32)
    for mode in ("reflect", "symmetric"):  # pads longer than the array, odd reflection
        check(jnp.pad(xi, (9, 7), mode=mode), np.pad(xi, (9, 7), mode=mode))
        check(jnp.pad(x2, ((5, 2), (1, 6)), mode=mode, reflect_type="odd"),
              np.pad(x2, ((5, 2), (1, 6)), mode=mode, reflect_type="odd"))
    check(jnp.pad(x2, 1, constant_values=((5, 6), (7, 8))), np.pad(x2, 1, constant_values=((5, 6), (7, 8))))
    check(jnp.pad(x2, 2, constant_values=jnp.asarray(3.5)), np.pad(x2, 2, constant_values=3.5))
    check(jnp.pad(x2, 2, mode="linear_ramp", end_values=(5, -1)), np.pad(x2, 2, mode="linear_ramp", end_values=(5, -1)))
    check(jnp.pad(x2, 3, mode="maximum", stat_length=2), np.pad(x2, 3, mode="maximum", stat_length=2))
    check(jnp.pad(xi, 2, mode="mean", stat_length=(1, 3)), np.pad(xi, 2, mode="mean", stat_length=(1, 3)))
    check(jnp.pad(np.array([1, 2], np.int32), 1, mode="mean"), [2, 1, 2, 2], np.int32)  # half to even

    def custom(row, pad_width, iaxis, kwargs):
        before, after = pad_width
        n = row.shape[0]
        idx = jnp.arange(n)
        return jnp.where(idx < before, kwargs["lo"], jnp.where(idx >= n - after, kwargs["hi"], row))
    check(jnp.pad(xi, 2, custom, lo=-10, hi=10), [-10, -10, 1, 5, 2, 8, 10, 10])
    with pytest.raises(ValueError):
        jnp.pad(xi, -1)
    with pytest.raises(ValueError, match="unsupported keyword"):
        jnp.pad(xi, 1, mode="edge", constant_values=3)
    with pytest.raises(NotImplementedError):
        jnp.pad(xi, 1, mode="nope")


def test_trim_zeros_and_misc_errors():
    check(jnp.trim_zeros(np.array([0, 0, 1, 0, 2, 0], np.int32)), [1, 0, 2])
    check(jnp.trim_zeros(np.array([0, 1, 0], np.int32), "f"), [1, 0])
    check(jnp.trim_zeros(np.zeros(3, np.int32)), np.zeros(0))
    with pytest.raises(ec.ConcretizationError):
        ec.jit(jnp.trim_zeros)(jnp.arange(3))
    with pytest.raises(ValueError):
        jnp.reshape(jnp.arange(6), (4, -1))
    with pytest.raises(ValueError):
        jnp.reshape(jnp.arange(6), (-1, -1))
    with pytest.raises(ValueError):
        jnp.squeeze(jnp.ones((2, 1)), 0)
    with pytest.raises(ValueError):
        jnp.broadcast_to(jnp.ones((2, 3)), (3, 3))
    with pytest.raises(ValueError):
        jnp.concatenate([jnp.ones(2), jnp.ones((2, 2))])
    with pytest.raises(ValueError):
        jnp.stack([jnp.ones(2), jnp.ones(3)])
    with pytest.raises(ValueError):
        jnp.concatenate([jnp.asarray(1.0), jnp.asarray(2.0)])
    with pytest.raises(IndexError):
        jnp.delete(jnp.arange(3), 5)


def test_method_forms():
    x = jnp.arange(6)
    assert x.reshape(2, 3).shape == (2, 3)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape(2, 3).transpose(1, 0).shape == (3, 2)
    assert x.reshape(2, 3).transpose().shape == (3, 2)
    assert x.reshape(1, 6, 1).squeeze().shape == (6,)
    assert x.reshape(2, 3).swapaxes(0, 1).shape == (3, 2)
    assert x.repeat(2).shape == (12,)
    assert x.astype(jnp.float32).dtype == np.float32
    assert x.reshape(2, 3).T.shape == (3, 2)
    assert jnp.reshape(x, newshape=(3, 2)).shape == (3, 2)


def test_broadcast_shapes_and_astype():
    assert jnp.broadcast_shapes((2, 1), (3,)) == (2, 3)
    assert jnp.broadcast_shapes(3, (2, 1)) == (2, 3)
    with pytest.raises(ValueError):
        jnp.broadcast_shapes((2,), (3,))
    check(jnp.astype(np.array([1.7, -1.7], np.float32), "int32"), [1, -1], np.int32)
    check(jnp.astype(np.array([1 + 2j], np.complex64), jnp.float32), [1.0], np.float32)
    check(jnp.astype(np.array([0.0, 2.0], np.float32), bool), [False, True], np.bool_)
    out = jnp.atleast_1d(1.0, np.ones((2, 2)))
    assert [o.shape for o in out] == [(1,), (2, 2)]
    assert jnp.atleast_2d(np.arange(3)).shape == (1, 3)


# dtypes of promotion and weak types, as jax.numpy 0.10 gives them (measured once, hard-coded)
_i32, _f32 = jnp.arange(3), jnp.arange(3.0)
_bf, _i8, _u8 = jnp.arange(3, dtype=jnp.bfloat16), jnp.arange(3, dtype=jnp.int8), jnp.arange(3, dtype=jnp.uint8)
DTYPE_CASES = [
    ("concat_i32_bf16", lambda: jnp.concatenate([_i32, _bf]), "bfloat16"),
    ("stack_i8_u8", lambda: jnp.stack([_i8, _u8]), "int16"),
    ("concat_i32_f32", lambda: jnp.concatenate([_i32, _f32]), "float32"),
    ("concat_dtype", lambda: jnp.concatenate([_i32, _i32], dtype=jnp.float16), "float16"),
    ("hstack_py", lambda: jnp.hstack([1, 2.5]), "float32w"),
    ("stack_py", lambda: jnp.stack([1, 2]), "int32w"),
    ("append_py", lambda: jnp.append(_i32, 1.5), "float32w"),
    ("pad_const_float", lambda: jnp.pad(_i32, 1, constant_values=1.5), "int32"),
    ("insert_float", lambda: jnp.insert(_i32, 1, 2.7), "int32"),
    ("repeat_weak", lambda: jnp.repeat(2.0, 3), "float32w"),
    ("tile_weak", lambda: jnp.tile(2.0, 2), "float32w"),
    ("reshape_weak", lambda: jnp.reshape(2.0, (1,)), "float32w"),
    ("broadcast_to_weak", lambda: jnp.broadcast_to(2.0, (2,)), "float32w"),
    ("atleast_1d_weak", lambda: jnp.atleast_1d(2.0), "float32w"),
    ("roll_bool", lambda: jnp.roll(jnp.asarray([True, False]), 1), "bool"),
    ("resize_weak", lambda: jnp.resize(4, (3, 2)), "int32w"),
    ("vstack_mixed", lambda: jnp.vstack([_i8, _f32]), "float32"),
    ("block_mixed", lambda: jnp.block([_i32, _f32]), "float32"),
    ("column_stack_mixed", lambda: jnp.column_stack([_i32, _bf]), "bfloat16"),
]


@pytest.mark.parametrize("name,fn,expected", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_result_dtypes_match_jax(name, fn, expected):
    out = fn()
    assert str(out.dtype) + ("w" if out.weak_type else "") == expected


def test_dtypes_preserved():
    def ops(x):
        return [jnp.roll(x, 1), jnp.pad(x, 1), jnp.pad(x, 2, mode="symmetric"), jnp.tile(x, 2),
                jnp.repeat(x, 2, axis=0), jnp.flip(x), jnp.rot90(x), jnp.insert(x, 1, 1, axis=1),
                jnp.delete(x, 0, axis=0), jnp.resize(x, (4, 4))]
    for dt in (np.int8, np.uint32, np.bool_, ml_dtypes.bfloat16, np.float16, np.complex64):
        host = np.arange(6).reshape(2, 3).astype(dt)
        outs = ec.jit(ops)(jnp.asarray(host))
        for out in outs:
            assert out.dtype == np.dtype(dt)
        np.testing.assert_array_equal(np.asarray(outs[2]), np.pad(host, 2, mode="symmetric"))


def test_under_jit():
    x = jnp.asarray(A234)

    @ec.jit
    def f(x, shift):
        parts = jnp.split(x, [1], axis=2)
        y = jnp.concatenate([parts[1], parts[0]], axis=2)
        y = jnp.pad(y, ((0, 0), (1, 1), (2, 0)), mode="reflect")
        return jnp.roll(y, shift, axis=1), jnp.repeat(x[0, 0], jnp.asarray([1, 0, 2, 1]), total_repeat_length=5)

    y, r = f(x, 2)
    expected = np.roll(np.pad(np.concatenate([A234[:, :, 1:], A234[:, :, :1]], 2), ((0, 0), (1, 1), (2, 0)),
                              mode="reflect"), 2, axis=1)
    check(y, expected)
    # a total longer than sum(repeats) repeats the last element
    check(r, np.concatenate([np.repeat(A234[0, 0], [1, 0, 2, 1]), A234[0, 0, -1:]]))
    # traced shifts, including negative and multiple axes
    g = ec.jit(lambda x, s: jnp.roll(x, s, axis=(0, 2)))
    check(g(x, jnp.asarray([-1, 5])), np.roll(A234, (-1, 5), axis=(0, 2)))
    with pytest.raises(ec.ConcretizationError):
        ec.jit(lambda x, r: jnp.repeat(x, r))(jnp.arange(3), jnp.asarray([1, 2, 0]))


def test_under_vmap():
    xs = jnp.asarray(A234)

    def f(x):
        first = jnp.split(x, [1])[0]
        return jnp.concatenate([jnp.pad(jnp.roll(x, 1, axis=1), ((1, 0), (0, 0)), mode="edge"),
                                jnp.tile(first, (1, 1))], axis=0)

    expected = np.stack([np.concatenate([np.pad(np.roll(a, 1, axis=1), ((1, 0), (0, 0)), mode="edge"), a[:1]], axis=0)
                         for a in A234])
    check(ec.vmap(f)(xs), expected)
    shifts = jnp.asarray([0, 1])
    check(ec.vmap(lambda x, s: jnp.roll(x, s, axis=0))(xs, shifts),
          np.stack([np.roll(A234[i], i, axis=0) for i in range(2)]))
    check(ec.vmap(jnp.moveaxis, in_axes=(0, None, None))(xs, 0, 1), np.moveaxis(A234, 1, 2))


GRAD_CASES = [
    ("pad_reflect", lambda x: jnp.pad(x, ((1, 2), (0, 1), (3, 0)), mode="reflect")),
    ("pad_linear_ramp", lambda x: jnp.pad(x, 2, mode="linear_ramp", end_values=1.0)),
    ("pad_symmetric_odd", lambda x: jnp.pad(x, 1, mode="symmetric", reflect_type="odd")),
    ("pad_mean", lambda x: jnp.pad(x, 1, mode="mean")),
    ("concatenate_flip", lambda x: jnp.concatenate([x, jnp.flip(x, 0)], axis=1)),
    ("split_stack", lambda x: jnp.stack(jnp.split(x, 3, axis=1), axis=-1)),
    ("tile_roll", lambda x: jnp.roll(jnp.tile(x, (1, 2, 1)), 3, axis=1)),
    ("repeat", lambda x: jnp.repeat(x, np.array([2, 0, 1]), axis=1)),
    ("insert_delete", lambda x: jnp.insert(jnp.delete(x, 1, axis=2), 0, 2.0, axis=0)),
    ("rot90_moveaxis", lambda x: jnp.rot90(jnp.moveaxis(x, 0, -1), 3)),
    ("reshape_F_transpose", lambda x: jnp.transpose(jnp.reshape(x, (4, 6), order="F"))),
]


@pytest.mark.parametrize("name,fn", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grads(name, fn):
    check_grads(ec.jit(fn), (A234,), order=1)


def test_grad_of_pad_value():
    check_grads(ec.jit(lambda x, c: jnp.pad(x, 1, constant_values=c)), (A23, np.float32(2.0)), order=1)
