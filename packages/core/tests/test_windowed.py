"""Windowed reductions (primitives/windowed.py): reduce_window sum/max/min and generic, the
pooling gradients (select_and_gather_add / select_and_scatter_add), vmap, jit, errors."""

import itertools

import numpy as np
import pytest

import ember.core as ec
import ember.core.lax as lax
from ember.core._src.primitives.windowed import padtype_to_pads
from ember.core.test_util import check_grads

rng = np.random.default_rng(2)
X = rng.standard_normal((2, 5, 6)).astype(np.float32)


def reference(x, init, op, window, strides, padding, base_dilation=None, window_dilation=None):
    """Literal NumPy reduce_window: dilate, pad with init, reduce every (dilated) window."""
    nd = x.ndim
    base_dilation = base_dilation or (1,) * nd
    window_dilation = window_dilation or (1,) * nd
    dilated_shape = [0 if n == 0 else (n - 1) * d + 1 for n, d in zip(x.shape, base_dilation)]
    dilated = np.full(dilated_shape, init, x.dtype)
    dilated[tuple(slice(None, None, d) for d in base_dilation)] = x
    padded_shape = [n + lo + hi for n, (lo, hi) in zip(dilated_shape, padding)]
    padded = np.full(padded_shape, init, x.dtype)
    src = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(dilated_shape, padding))
    dst = tuple(slice(max(lo, 0), max(lo, 0) + s.stop - s.start) for s, (lo, _) in zip(src, padding))
    padded[dst] = dilated[src]
    span = [(w - 1) * d + 1 for w, d in zip(window, window_dilation)]
    out_shape = [0 if p < s else (p - s) // st + 1 for p, s, st in zip(padded_shape, span, strides)]
    out = np.empty(out_shape, x.dtype)
    for idx in itertools.product(*map(range, out_shape)):
        acc = np.array(init, x.dtype)
        for k in itertools.product(*map(range, window)):
            pos = tuple(i * st + kk * d for i, st, kk, d in zip(idx, strides, k, window_dilation))
            acc = op(acc, padded[pos])
        out[idx] = acc
    return out


CASES = [
    dict(window=(1, 2, 2), strides=(1, 2, 2), padding="VALID"),
    dict(window=(1, 3, 2), strides=(1, 2, 1), padding="SAME"),
    dict(window=(2, 2, 3), strides=(1, 1, 2), padding=((0, 0), (1, 2), (-1, 1))),
    dict(window=(1, 2, 2), strides=(1, 1, 1), padding=((0, 0), (1, 0), (0, 1)), base_dilation=(1, 2, 1),
         window_dilation=(1, 1, 2)),
]


def _pads(case, shape):
    if isinstance(case["padding"], str):
        bd = case.get("base_dilation") or (1,) * len(shape)
        wd = case.get("window_dilation") or (1,) * len(shape)
        dshape = [(n - 1) * d + 1 for n, d in zip(shape, bd)]
        dwin = [(w - 1) * d + 1 for w, d in zip(case["window"], wd)]
        return padtype_to_pads(dshape, dwin, case["strides"], case["padding"])
    return case["padding"]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_monoids_match_reference(case):
    c = CASES[case]
    kw = dict(base_dilation=c.get("base_dilation"), window_dilation=c.get("window_dilation"))
    pads = _pads(c, X.shape)
    for init, op, np_op in ((0.0, lax.add, np.add), (-np.inf, lax.max, np.maximum), (np.inf, lax.min, np.minimum)):
        got = lax.reduce_window(X, init, op, c["window"], c["strides"], c["padding"], **kw)
        want = reference(X, init, np_op, c["window"], c["strides"], pads, **kw)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=f"{op} {c}")


def test_padtype_to_pads():
    assert padtype_to_pads((5, 6), (3, 2), (2, 2), "SAME") == [(1, 1), (0, 0)]
    assert padtype_to_pads((4,), (3,), (1,), "SAME") == [(1, 1)]
    assert padtype_to_pads((4,), (4,), (1,), "SAME_LOWER") == [(2, 1)]
    assert padtype_to_pads((4,), (4,), (1,), "valid") == [(0, 0)]


def test_generic_and_integer_reductions():
    x = np.arange(1, 11, dtype=np.float32)
    np.testing.assert_allclose(lax.reduce_window(x, 1.0, lax.mul, (2,), (1,)), x[:-1] * x[1:])
    # a sum with a non-identity init value takes the generic path and adds the init per window
    np.testing.assert_allclose(lax.reduce_window(x, 1.0, lax.add, (3,), (3,)), [7, 16, 25])
    i = np.arange(12, dtype=np.int32).reshape(3, 4)
    np.testing.assert_array_equal(lax.reduce_window(i, np.iinfo(np.int32).min, lax.max, (2, 2), (1, 1)),
                                  [[5, 6, 7], [9, 10, 11]])
    # a pytree of operands: window sums of x and window maxima of 2x together
    s, m = lax.reduce_window((x, 2 * x), (0.0, -np.inf), lambda a, b: (lax.add(a[0], b[0]), lax.max(a[1], b[1])),
                             (2,), (2,))
    np.testing.assert_allclose(s, x[::2] + x[1::2])
    np.testing.assert_allclose(m, 2 * x[1::2])


@pytest.mark.parametrize("case", range(len(CASES)))
def test_gradients_second_order(case):
    c = CASES[case]
    kw = dict(base_dilation=c.get("base_dilation"), window_dilation=c.get("window_dilation"))
    x = X[:1]
    modes = ("fwd", "rev") if not kw["window_dilation"] else ("fwd",)
    check_grads(lambda v: lax.reduce_window(v, 0.0, lax.add, c["window"], c["strides"], c["padding"], **kw), (x,),
                order=2)
    check_grads(lambda v: lax.reduce_window(v, -np.inf, lax.max, c["window"], c["strides"], c["padding"], **kw),
                (x,), order=2, modes=modes)


def test_max_pool_gradient_routes_to_argmax():
    x = np.array([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 8.0, 7.0]], np.float32)
    pool = lambda v: lax.reduce_window(v, -np.inf, lax.max, (2, 2), (2, 2), "VALID")  # noqa: E731
    g = ec.grad(lambda v: lax.reduce_sum(pool(v) * np.array([[1.0, 10.0]], np.float32), (0, 1)))(x)
    np.testing.assert_allclose(g, [[0, 1, 0, 0], [0, 0, 10, 0]])
    check_grads(lambda v: lax.reduce_window(v, np.inf, lax.min, (2, 2), (1, 1), "SAME"), (x + X[0, :2, :4],),
                order=2)
    # the generic path (a product) differentiates forward through the JVP of its reducer
    prod = lambda v: lax.reduce_window(v, 1.0, lax.mul, (1, 2), (1, 1), "VALID")  # noqa: E731
    check_grads(prod, (x,), order=2, modes=("fwd",))
    with pytest.raises(NotImplementedError, match="reverse-mode differentiation of 'reduce_window'"):
        ec.grad(lambda v: lax.reduce_sum(prod(v), (0, 1)))(x)


def test_vmap_matches_loop():
    pool = lambda v: lax.reduce_window(v, -np.inf, lax.max, (3, 2), (2, 2), "SAME")  # noqa: E731
    pooled_sum = lambda v: lax.reduce_window(v, 0.0, lax.add, (2, 2), (1, 2), "VALID")  # noqa: E731
    grad_pool = ec.grad(lambda v: lax.reduce_sum(pool(v) ** 2, (0, 1)))
    for f in (pool, pooled_sum, grad_pool):
        for in_axis in (0, 2):
            moved = np.moveaxis(X, in_axis, 0)
            expected = np.stack([np.asarray(f(m)) for m in moved])
            np.testing.assert_allclose(ec.vmap(f, in_axes=in_axis)(X), expected, rtol=1e-5)


def test_jit_matches_eager():
    def f(x):
        return (lax.reduce_window(x, -np.inf, lax.max, (1, 2, 2), (1, 2, 2), "SAME"),
                lax.reduce_window(x, 0.0, lax.add, (2, 1, 3), (1, 1, 1), "VALID"),
                ec.grad(lambda v: lax.reduce_sum(lax.reduce_window(v, -np.inf, lax.max, (1, 2, 2), (1, 1, 1),
                                                                   "VALID"), (0, 1, 2)))(x))
    for a, b in zip(ec.jit(f)(X), f(X)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_errors():
    with pytest.raises(TypeError, match=r"lax.reduce_window_max: window_dimensions \(2, 2\) must have one entry per "
                                        r"dimension of the operand shape \(2, 5, 6\)"):
        lax.reduce_window(X, -np.inf, lax.max, (2, 2), (1, 1))
    with pytest.raises(ValueError, match=r"lax.reduce_window_sum: window_strides must be positive"):
        lax.reduce_window(X, 0.0, lax.add, (1, 1, 1), (1, 0, 1))
    with pytest.raises(ValueError, match=r"lax.reduce_window: operand and init_value must have the same structure"):
        lax.reduce_window((X, X), 0.0, lax.add, (1, 1, 1))
    with pytest.raises(ValueError, match=r"padding must be 'VALID', 'SAME' or 'SAME_LOWER'"):
        lax.reduce_window(X, 0.0, lax.add, (1, 1, 1), padding="FULL")
    with pytest.raises(NotImplementedError, match=r"window_dilation"):
        ec.grad(lambda v: lax.reduce_sum(lax.reduce_window(v, -np.inf, lax.max, (1, 2, 2), (1, 1, 1), "VALID",
                                                           window_dilation=(1, 2, 1)), (0, 1, 2)))(X)
