"""Random bits: the Threefry-2x32 block cipher as a primitive, ``threefry2x32_p``.

``threefry2x32_p.bind(k1, k2, x1, x2)`` encrypts the counter pairs ``(x1, x2)`` under the key
``(k1, k2)`` with the 20-round Threefry-2x32 of Salmon et al. (2011), exactly as JAX's default
PRNG does, and returns the two output words. All four operands are ``uint32`` arrays whose shapes
broadcast together (NumPy rules: a scalar key is the common case). The function is integer
valued (no JVP: its outputs have zero tangents) and elementwise (batching keeps the batch
dimension in front).

The user-facing API (keys, ``split``, ``uniform``...) is ``ember.core.random``.

    >>> import numpy as np
    >>> y1, y2 = threefry2x32(np.uint32(0), np.uint32(0), np.zeros(2, np.uint32), np.zeros(2, np.uint32))
    >>> y1.dtype.name
    'uint32'
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from jaxlib.mlir.dialects import stablehlo as hlo

from ..core import Primitive, ShapedArray
from ..lowering import broadcast_in_dim, full_like_aval
from ..rules import Zero, batch_size, moveaxis_to_front
from . import shape as sh
from ._util import aval_of

__all__: list[str] = []  # nothing joins ember.core.lax: the public API is ember.core.random

_uint32 = np.dtype(np.uint32)

# The rotation constants of Threefry-2x32 (Random123), four rounds per group, alternating.
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_KEY_PARITY = 0x1BD11BDA


def _broadcast_shapes(name: str, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    ndim = max(len(s) for s in shapes)
    out = []
    for dims in zip(*[(1,) * (ndim - len(s)) + tuple(s) for s in shapes]):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise TypeError(f"{name}: operand shapes {[tuple(s) for s in shapes]} do not broadcast together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


threefry2x32_p = Primitive("threefry2x32", multiple_results=True)


def _threefry2x32_abstract_eval(*avals: ShapedArray) -> list[ShapedArray]:
    if len(avals) != 4:
        raise TypeError(f"threefry2x32 takes 4 operands (k1, k2, x1, x2), got {len(avals)}")
    for i, aval in enumerate(avals):
        if aval.dtype != _uint32:
            raise TypeError(f"threefry2x32: operands must be uint32, got {aval.dtype.name} (operand {i})")
    shape = _broadcast_shapes("threefry2x32", [a.shape for a in avals])
    out = ShapedArray(shape, _uint32, False)
    return [out, out]


def _rotate_left(x: Any, r: int, aval: ShapedArray) -> Any:
    left = hlo.ShiftLeftOp(x, full_like_aval(r, aval)).result
    right = hlo.ShiftRightLogicalOp(x, full_like_aval(32 - r, aval)).result
    return hlo.OrOp(left, right).result


def threefry2x32_lowering(ctx: Any, k1: Any, k2: Any, x1: Any, x2: Any) -> list[Any]:
    """The 20 rounds as StableHLO integer ops (adds wrap modulo 2**32)."""
    out_aval = ctx.avals_out[0]
    if 0 in out_aval.shape:
        zeros = full_like_aval(0, out_aval)
        return [zeros, zeros]
    operands = []
    for value, aval in zip((k1, k2, x1, x2), ctx.avals_in):
        if aval.shape != out_aval.shape:  # NumPy broadcasting: align on the right
            offset = len(out_aval.shape) - len(aval.shape)
            value = broadcast_in_dim(value, out_aval, list(range(offset, len(out_aval.shape))))
        operands.append(value)
    k1, k2, x1, x2 = operands

    def add(a: Any, b: Any) -> Any:
        return hlo.AddOp(a, b).result

    def const(v: int) -> Any:
        return full_like_aval(np.uint32(v), out_aval)

    ks = [k1, k2, hlo.XorOp(hlo.XorOp(k1, k2).result, const(_KEY_PARITY)).result]
    x = [add(x1, ks[0]), add(x2, ks[1])]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x[0] = add(x[0], x[1])
            x[1] = hlo.XorOp(x[0], _rotate_left(x[1], r, out_aval)).result
        x[0] = add(x[0], ks[(i + 1) % 3])
        x[1] = add(add(x[1], ks[(i + 2) % 3]), const(i + 1))
    return x


threefry2x32_p.def_abstract_eval(_threefry2x32_abstract_eval)
threefry2x32_p.def_lowering(threefry2x32_lowering)


def _threefry2x32_jvp(primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    out = threefry2x32_p.bind(*primals)
    return out, [Zero(aval_of(o)) for o in out]


def _threefry2x32_batch(args: Sequence[Any], dims: Sequence[int | None]) -> tuple[list[Any], list[int]]:
    size = batch_size(args, dims)
    out_shape = _broadcast_shapes("threefry2x32", [
        aval_of(a).shape if d is None else aval_of(a).shape[:d] + aval_of(a).shape[d + 1:]
        for a, d in zip(args, dims)])
    moved = []
    for a, d in zip(args, dims):
        if d is None:
            moved.append(a)  # lower rank: broadcasts against the batched operands from the right
            continue
        a = moveaxis_to_front(a, d)
        shape = aval_of(a).shape
        padded = (size,) + (1,) * (len(out_shape) - (len(shape) - 1)) + shape[1:]
        if padded != shape:
            a = sh.reshape(a, padded)
        moved.append(a)
    outs = threefry2x32_p.bind(*moved)
    return list(outs), [0, 0]


threefry2x32_p.def_jvp(_threefry2x32_jvp)
threefry2x32_p.def_batching(_threefry2x32_batch)


def threefry2x32(k1: Any, k2: Any, x1: Any, x2: Any) -> list[Any]:
    """Threefry-2x32 of counters ``(x1, x2)`` under key ``(k1, k2)``; all ``uint32``, broadcasting."""
    return threefry2x32_p.bind(k1, k2, x1, x2)


# ----------------------------------------------------------------------------------------------
# Counters

def iota_2x32_shape(shape: tuple[int, ...]) -> tuple[Any, Any]:
    """The row-major iota of ``shape`` as a 64-bit count split into ``(hi, lo)`` uint32 words
    (JAX's ``iota_2x32_shape``). Counts beyond 2**32 are not supported."""
    n = math.prod(shape)
    if n > 2 ** 32:
        raise NotImplementedError(f"random bits for arrays of more than 2**32 elements (shape {shape})")
    hi = sh.full(shape, 0, _uint32)
    if not shape:
        return hi, hi
    if len(shape) == 1:
        lo = sh.iota(_uint32, shape[0])
    else:
        lo = sh.reshape(sh.iota(_uint32, n), shape)
    return hi, lo


def threefry_2x32(key: Any, count: Any) -> Any:
    """JAX's ``threefry_2x32(keypair, count)``: hash a uint32 array ``count`` under a raw key
    ``uint32[2]``, pairing the first half of the flattened counts with the second half.

    >>> import ember.core.random as random, ember.core.numpy as jnp
    >>> key = random.key(0)
    >>> random.threefry_2x32(key, jnp.arange(4, dtype=jnp.uint32)).tolist()
    [4146024105, 967050713, 2718843009, 1272950319]
    """
    key_aval, count_aval = aval_of(key), aval_of(count)
    if key_aval.dtype != _uint32 or count_aval.dtype != _uint32:
        raise TypeError(f"threefry_2x32 requires uint32 arguments, got {key_aval.dtype.name} and "
                        f"{count_aval.dtype.name}")
    k1 = sh.reshape(sh.slice(key, (0,), (1,)), ())
    k2 = sh.reshape(sh.slice(key, (1,), (2,)), ())
    n = count_aval.size
    flat = sh.reshape(count, (n,))
    odd = n % 2
    if odd:
        flat = sh.concatenate([flat, sh.full((1,), 0, _uint32)], 0)
    half = (n + odd) // 2
    x1 = sh.slice(flat, (0,), (half,))
    x2 = sh.slice(flat, (half,), (2 * half,))
    y1, y2 = threefry2x32_p.bind(k1, k2, x1, x2)
    out = sh.concatenate([y1, y2], 0)
    if odd:
        out = sh.slice(out, (0,), (n,))
    return sh.reshape(out, count_aval.shape)



# ----------------------------------------------------------------------------------------------
# Samplers with rejection loops: random_gamma and random_poisson
#
# Their lowering rules run the per-element algorithms of jax.random (vectorised over elements,
# each element with its own key and its own loop exit, exactly as JAX's vmapped while loops
# behave), so the samples match JAX's. The loops are emitted with ``special.Staged``.

def _rows(x: Any, i: int) -> Any:
    """``x[:, i]`` for a (n, k, ...) array."""
    shape = aval_of(x).shape
    return sh.reshape(sh.slice(x, (0, i) + (0,) * (len(shape) - 2), (shape[0], i + 1) + shape[2:]),
                      (shape[0],) + shape[2:])


def _vsplit(keys: Any, num: int) -> list[Any]:
    """Split each of the keys ``(n, 2)`` into ``num``: a list of ``num`` arrays ``(n, 2)``."""
    from .. import random as R
    from ..transforms.batching import vmap
    split = vmap(lambda k: R._split(k, (num,)))(keys)
    return [_rows(split, i) for i in range(num)]


def _vsample(fn: Any, keys: Any, dtype: np.dtype) -> Any:
    """One scalar sample per key: ``fn(key, shape=(), dtype=dtype)`` vmapped over ``(n, 2)`` keys."""
    from ..transforms.batching import vmap
    return vmap(lambda k: fn(k, shape=(), dtype=dtype))(keys)


def _uniform01(key: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    from .. import random as R
    return R._uniform(key, 0.0, 1.0, shape=shape, dtype=dtype)


random_gamma_p = Primitive("random_gamma")


def _random_gamma_abstract_eval(key: ShapedArray, a: ShapedArray, *, log_space: bool) -> ShapedArray:
    if key.dtype != _uint32 or not key.shape or key.shape[-1] != 2:
        raise TypeError(f"random_gamma: expected uint32[..., 2] keys, got {key.str_short()}")
    if key.shape[:-1] != a.shape[:key.ndim - 1]:
        raise TypeError(f"random_gamma: the key batch shape {key.shape[:-1]} must prefix the shape of a, "
                        f"{a.shape}")
    from . import _util
    _util.check_dtype_kind("random_gamma", "float", a, 1)
    return a.strip_weak_type()


def _random_gamma_lowering(ctx: Any, key: Any, a: Any, *, log_space: bool) -> Any:
    from .. import random as R
    from .elementwise import select
    from .special import Staged, any_true
    key_aval, a_aval = ctx.avals_in
    dtype, n = a_aval.dtype, a_aval.size
    if n == 0:
        return full_like_aval(0, a_aval)
    split_count = math.prod(a_aval.shape[key_aval.ndim - 1:])
    st = Staged(ctx)

    def prologue(key: Any, a: Any) -> Any:
        keys = sh.reshape(key, (n // split_count, 2))
        from ..transforms.batching import vmap
        keys = sh.reshape(vmap(lambda k: R._split(k, (split_count,)))(keys), (n, 2))
        alpha = sh.reshape(a, (n,))
        boost = alpha >= 1.0
        alpha_b = select(boost, alpha, alpha + 1.0)
        d = alpha_b - np.array(1 / 3, dtype)
        c = np.array(1 / 3, dtype) / _sqrt(d)
        key0, subkey = _vsplit(keys, 2)
        zeros = sh.full((n,), 0, dtype)
        return key0, zeros, zeros + 1.0, zeros + 2.0, d, c, subkey, alpha, boost

    def lane_continue(X: Any, V: Any, U: Any, d: Any) -> Any:
        from . import elementwise as ew
        one = np.array(1, dtype)
        first = ew.ge(U, ew.sub(one, ew.mul(np.array(0.0331, dtype), ew.mul(X, X))))
        second = ew.ge(ew.log(U), ew.add(ew.mul(X, np.array(0.5, dtype)),
                                         ew.mul(d, ew.add(ew.sub(one, V), ew.log(V)))))
        return ew.bitwise_and(first, second)

    def outer_cond(key: Any, X: Any, V: Any, U: Any, d: Any, c: Any) -> Any:
        return any_true(lane_continue(X, V, U, d))

    def outer_body(st: Any, state: list[Any]) -> list[Any]:
        key, X, V, U, d, c = state
        active, key_next, x_key, u_key = st.call(
            lambda key, X, V, U, d: (lane_continue(X, V, U, d), *_vsplit(key, 3)), key, X, V, U, d)

        def inner_init(x_key: Any, c: Any) -> Any:
            return x_key, sh.full((n,), 0, dtype), sh.full((n,), -1, dtype), c

        def inner_cond(k: Any, x: Any, v: Any, c: Any) -> Any:
            return any_true(v <= 0.0)

        def inner_body(k: Any, x: Any, v: Any, c: Any) -> Any:
            from . import elementwise as ew
            going = v <= 0.0
            k_next, subkey = _vsplit(k, 2)
            x_new = _vsample(R._normal, subkey, dtype)
            v_new = ew.add(np.array(1, dtype), ew.mul(x_new, c))
            going_k = sh.broadcast_in_dim(going, (n, 2), (0,))
            return select(going_k, k_next, k), select(going, x_new, x), select(going, v_new, v), c

        inner = st.while_loop(inner_cond, inner_body, st.call(inner_init, x_key, c))
        x, v = inner[1], inner[2]

        def finish(active: Any, key: Any, X: Any, V: Any, U: Any, key_next: Any, x: Any, v: Any, u_key: Any,
                   d: Any, c: Any) -> Any:
            from . import elementwise as ew
            X_new = ew.mul(x, x)
            V_new = ew.mul(ew.mul(v, v), v)
            U_new = _vsample(_uniform01, u_key, dtype)
            active_k = sh.broadcast_in_dim(active, (n, 2), (0,))
            return (select(active_k, key_next, key), select(active, X_new, X), select(active, V_new, V),
                    select(active, U_new, U), d, c)

        return st.call(finish, active, key, X, V, U, key_next, x, v, u_key, d, c)

    key0, X, V, U, d, c, subkey, alpha, boost = st.call(prologue, (key, key_aval), (a, a_aval))
    state = st.while_loop(outer_cond, outer_body, [key0, X, V, U, d, c], staged_body=True)
    V = state[2]

    def epilogue(d: Any, V: Any, subkey: Any, alpha: Any, boost: Any) -> Any:
        from . import elementwise as ew
        if log_space:
            log_samples = ew.neg(_vsample(R._exponential, subkey, dtype))
            log_boost = select(boost | (log_samples == 0.0), sh.full((n,), 0, dtype),
                               ew.mul(log_samples, ew.div(np.array(1, dtype), alpha)))
            out = ew.add(ew.add(ew.log(d), ew.log(V)), log_boost)
        else:
            samples = 1.0 - _vsample(_uniform01, subkey, dtype)
            boost_value = select(boost, sh.full((n,), 1, dtype),
                                 ew.pow(samples, ew.div(np.array(1, dtype), alpha)))
            out = ew.mul(ew.mul(d, V), boost_value)
        return sh.reshape(out, a_aval.shape)

    return st.call(epilogue, d, V, subkey, alpha, boost)[0][0]


def _sqrt(x: Any) -> Any:
    from . import elementwise as ew
    return ew.sqrt(x)


def _gamma_grad(sample: Any, a: Any, log_space: bool) -> Any:
    from . import elementwise as ew
    from .special import random_gamma_grad
    if log_space:
        samples = ew.exp(sample)
        tiny = ew.full_like(samples, float(np.finfo(aval_of(samples).dtype).tiny)
                            if aval_of(samples).dtype != np.dtype("bfloat16") else 1.1754944e-38)
        samples = ew.select(ew.eq(samples, ew.full_like(samples, 0)), tiny, samples)
        return ew.div(random_gamma_grad(a, samples), samples)
    return random_gamma_grad(a, sample)


def _random_gamma_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, log_space: bool) -> tuple[Any, Any]:
    from . import elementwise as ew
    key, a = primals
    out = random_gamma_p.bind(key, a, log_space=log_space)
    ta = tangents[1]
    if type(ta) is Zero:
        return out, Zero(aval_of(out))
    return out, ew.mul(ta, _gamma_grad(out, a, log_space))


def _random_gamma_batch(args: Sequence[Any], dims: Sequence[int | None], *, log_space: bool) -> tuple[Any, int]:
    from ..rules import broadcast_batched
    size = batch_size(args, dims)
    key, a = (broadcast_batched(x, d, size) for x, d in zip(args, dims))
    return random_gamma_p.bind(key, a, log_space=log_space), 0


random_gamma_p.def_abstract_eval(_random_gamma_abstract_eval)
random_gamma_p.def_lowering(_random_gamma_lowering)
random_gamma_p.def_jvp(_random_gamma_jvp)
random_gamma_p.def_batching(_random_gamma_batch)


random_poisson_p = Primitive("random_poisson")


def _random_poisson_abstract_eval(key: ShapedArray, lam: ShapedArray, *, dtype: np.dtype) -> ShapedArray:
    if key.dtype != _uint32 or not key.shape or key.shape[-1] != 2:
        raise TypeError(f"random_poisson: expected uint32[..., 2] keys, got {key.str_short()}")
    if key.shape[:-1] != lam.shape[:key.ndim - 1] or lam.dtype != np.float32:
        raise TypeError(f"random_poisson: float32 rates whose shape starts with the key batch shape "
                        f"{key.shape[:-1]} are expected, got {lam.str_short()}")
    return ShapedArray(lam.shape, dtype, False)


def _random_poisson_lowering(ctx: Any, key: Any, lam: Any, *, dtype: np.dtype) -> Any:
    from ..transforms.batching import vmap
    from . import elementwise as ew
    from .elementwise import select
    from .special import Staged, any_true
    key_aval, lam_aval = ctx.avals_in
    lanes = math.prod(key_aval.shape[:-1])
    m = math.prod(lam_aval.shape[key_aval.ndim - 1:])
    if lanes * m == 0:
        return full_like_aval(0, ctx.avals_out[0])
    f32 = np.dtype(np.float32)
    max_iters = int(np.iinfo(dtype).max)
    st = Staged(ctx)

    def lane_any(x: Any) -> Any:  # (lanes, m) -> (lanes,)
        from .reductions import reduce_or
        return reduce_or(x, (1,))

    def per_lane(mask: Any, shape: tuple[int, ...]) -> Any:
        return sh.broadcast_in_dim(mask, shape, (0,))

    def prologue(key: Any, lam: Any) -> Any:
        keys = sh.reshape(key, (lanes, 2))
        lam = sh.reshape(lam, (lanes, m))
        use_knuth = (lam != lam) | (lam < 10.0)
        lam_knuth = select(use_knuth, lam, ew.full_like(lam, 0))
        lam_rejection = select(use_knuth, ew.full_like(lam, 1e5), lam)
        return keys, lam, use_knuth, lam_knuth, lam_rejection

    keys, lam2, use_knuth, lam_knuth, lam_rej = st.call(prologue, (key, key_aval), (lam, lam_aval))

    # Knuth: multiply uniforms until the product drops below exp(-lam)
    def knuth_init(keys: Any, lam: Any) -> Any:
        return (sh.full((lanes,), 0, np.int32), sh.full((lanes, m), 0, dtype), keys,
                sh.full((lanes, m), 0, f32), lam)

    def knuth_lanes(i: Any, log_prod: Any, lam: Any) -> Any:
        return lane_any(log_prod > -lam) & (i < max_iters)

    def knuth_cond(i: Any, k: Any, rng: Any, log_prod: Any, lam: Any) -> Any:
        return any_true(knuth_lanes(i, log_prod, lam))

    def knuth_body(i: Any, k: Any, rng: Any, log_prod: Any, lam: Any) -> Any:
        active = knuth_lanes(i, log_prod, lam)
        rng_next, subkey = _vsplit(rng, 2)
        k_next = select(log_prod > -lam, k + np.array(1, dtype), k)
        u = vmap(lambda kk: _uniform01(kk, (m,), f32))(subkey)
        new = (i + 1, k_next, rng_next, log_prod + ew.log(u))
        old = (i, k, rng, log_prod)
        return (*[select(per_lane(active, aval_of(o).shape), n_, o) for n_, o in zip(new, old)], lam)

    knuth = st.while_loop(knuth_cond, knuth_body, st.call(knuth_init, keys, lam_knuth))
    k_knuth = knuth[1]

    # transformed rejection (Hormann)
    def rej_init(keys: Any, lam: Any) -> Any:
        return (sh.full((lanes,), 0, np.int32), sh.full((lanes, m), -1, f32),
                sh.full((lanes, m), False, np.bool_), keys, lam)

    def rej_lanes(i: Any, accepted: Any) -> Any:
        return lane_any(~accepted) & (i < max_iters)

    def rej_cond(i: Any, k_out: Any, accepted: Any, rng: Any, lam: Any) -> Any:
        return any_true(rej_lanes(i, accepted))

    def rej_body(i: Any, k_out: Any, accepted: Any, rng: Any, lam: Any) -> Any:
        active = rej_lanes(i, accepted)
        log_lam = ew.log(lam)
        b = 0.931 + 2.53 * ew.sqrt(lam)
        a = -0.059 + 0.02483 * b
        inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
        v_r = 0.9277 - 3.6224 / (b - 2)
        rng_next, subkey_0, subkey_1 = _vsplit(rng, 3)
        u = vmap(lambda kk: _uniform01(kk, (m,), f32))(subkey_0) - 0.5
        v = vmap(lambda kk: _uniform01(kk, (m,), f32))(subkey_1)
        u_shifted = 0.5 - ew.abs(u)
        k = ew.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = ew.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t = -lam + k * log_lam - ew.lgamma(k + 1)
        accept1 = (u_shifted >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        accept2 = s <= t
        accept = accept1 | (~reject & accept2)
        new = (i + 1, select(accept, k, k_out), accepted | accept, rng_next)
        old = (i, k_out, accepted, rng)
        return (*[select(per_lane(active, aval_of(o).shape), n_, o) for n_, o in zip(new, old)], lam)

    rejection = st.while_loop(rej_cond, rej_body, st.call(rej_init, keys, lam_rej))
    k_rej = rejection[1]

    def epilogue(use_knuth: Any, k_knuth: Any, k_rej: Any, lam: Any) -> Any:
        knuth_result = ew.convert_element_type(k_knuth - np.array(1, dtype), dtype)
        result = select(use_knuth, knuth_result, ew.convert_element_type(k_rej, dtype))
        result = select(lam == 0.0, ew.full_like(result, 0), result)
        return sh.reshape(result, lam_aval.shape)

    return st.call(epilogue, use_knuth, k_knuth, k_rej, lam2)[0][0]


def _random_poisson_batch(args: Sequence[Any], dims: Sequence[int | None], *, dtype: np.dtype) -> tuple[Any, int]:
    from ..rules import broadcast_batched
    size = batch_size(args, dims)
    key, lam = (broadcast_batched(x, d, size) for x, d in zip(args, dims))
    return random_poisson_p.bind(key, lam, dtype=dtype), 0


random_poisson_p.def_abstract_eval(_random_poisson_abstract_eval)
random_poisson_p.def_lowering(_random_poisson_lowering)
random_poisson_p.def_batching(_random_poisson_batch)
random_poisson_p.def_jvp(lambda primals, tangents, *, dtype: (
    random_poisson_p.bind(*primals, dtype=dtype), Zero(ShapedArray(aval_of(primals[1]).shape, dtype))))
