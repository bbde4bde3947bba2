"""Muon (Jordan et al. 2024): momentum whose update is orthogonalised by Newton-Schulz
iterations, for every parameter of rank >= 2; AdamW for the rest.

The reshape rule (what ember adds to Optax's Muon, which sends every non-matrix to AdamW):

- rank 0 and 1 (biases, norms' scales): AdamW;
- rank 2 ``(fan_in, fan_out)``: orthogonalised as is (Optax's default);
- rank >= 3: all axes but the last are fan-in, the last is fan-out, so a conv kernel
  ``(H, W, C_in, C_out)`` is the matrix ``(H*W*C_in, C_out)``;
- stacked layers (``(L, fan_in, fan_out)`` from ``nn.scan``/``vmap``): say so with
  ``muon_weight_dimension_numbers``: axes that are neither reduction nor output axes are batch
  axes, each slice is orthogonalised on its own. E.g. for every leaf of rank >= 2:
  ``MuonDimensionNumbers(reduction_axis=-2, output_axis=-1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

import ember.core.numpy as jnp
from ember.core import lax
from ember.core import tree as _tree
from ember.optim._src import alias, base, combine, numerics, transform, utils
from ember.optim._src import tree_utils as otu
from ember.optim._src.adding import add_decayed_weights
from ember.optim._src.utils import check_state
from ember.optim._src.wrappers import MaskedNode

ArrayLike = Any

_DEFAULT_NS_COEFFS = (3.4445, -4.775, 2.0315)
_DION_NS_COEFFS = ((4.0848, -6.8946, 2.927), (3.9505, -6.3029, 2.6377), (3.7418, -5.5913, 2.3037),
                   (2.8769, -3.1427, 1.2046), (2.8366, -3.0525, 1.2012))
_NS_COEFFS_PRESETS = {"standard": _DEFAULT_NS_COEFFS, "dion": _DION_NS_COEFFS}
_PRECONDITIONINGS = ("frobenius", "spectral", "aol", "schatten")


class MuonDimensionNumbers(NamedTuple):
    """Which axes of a parameter are its fan-in (``reduction_axis``) and fan-out
    (``output_axis``); all other axes are batch axes.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> dims = eo.MuonDimensionNumbers(reduction_axis=-2, output_axis=-1)   # stacked layers (L, in, out)
    >>> opt = eo.muon(0.02, muon_weight_dimension_numbers={"w": dims})
    >>> opt.init({"w": jnp.zeros((2, 4, 3))}) is not None
    True
    """

    reduction_axis: Sequence[int] | int = 0
    output_axis: Sequence[int] | int = 1


WeightDimNumOrFn = MuonDimensionNumbers | Any | Callable[[Any], Any]


def _is_dim_nums(x: Any) -> bool:
    return isinstance(x, MuonDimensionNumbers)


def default_dimension_numbers(x: Any) -> MuonDimensionNumbers | None:
    """ember's reshape rule: None (AdamW) for rank < 2, else all axes but the last are fan-in.

    >>> import ember.core.numpy as jnp
    >>> from ember.optim import contrib
    >>> contrib.default_dimension_numbers(jnp.zeros((3, 3, 16, 32)))    # a conv kernel: all axes but the last are fan-in
    MuonDimensionNumbers(reduction_axis=(0, 1, 2), output_axis=3)
    >>> contrib.default_dimension_numbers(jnp.zeros(8)) is None       # vectors go to AdamW
    True
    """
    if x.ndim < 2:
        return None
    return MuonDimensionNumbers(reduction_axis=tuple(range(x.ndim - 1)), output_axis=x.ndim - 1)


def _axes(x: Any, dim_nums: MuonDimensionNumbers) -> tuple[tuple[int, ...], tuple[int, ...]]:
    red = dim_nums.reduction_axis
    out = dim_nums.output_axis
    red = (red,) if isinstance(red, int) else tuple(red)
    out = (out,) if isinstance(out, int) else tuple(out)
    return tuple(a % x.ndim for a in red), tuple(a % x.ndim for a in out)


def _reshape_fns(x: Any, dim_nums: MuonDimensionNumbers):
    if x.ndim < 2:
        raise ValueError(f"Muon orthogonalises parameters of rank >= 2, got shape {x.shape}")
    red, out = _axes(x, dim_nums)
    if set(red) & set(out):
        raise ValueError(f"reduction axes {red} and output axes {out} overlap (shape {x.shape})")
    batch = tuple(sorted(set(range(x.ndim)) - set(red) - set(out)))
    perm = batch + red + out
    inv = tuple(sorted(range(x.ndim), key=lambda i: perm[i]))
    shape = lambda axes: tuple(x.shape[a] for a in axes)  # noqa: E731
    flat = (math.prod(shape(batch)), math.prod(shape(red)), math.prod(shape(out)))
    unflat = shape(batch) + shape(red) + shape(out)
    return (lambda y: jnp.transpose(y, perm).reshape(flat)), (lambda y: jnp.transpose(y.reshape(unflat), inv))


def _fan(x: Any, dim_nums: MuonDimensionNumbers) -> tuple[int, int]:
    red, out = _axes(x, dim_nums)
    return math.prod(x.shape[a] for a in red), math.prod(x.shape[a] for a in out)


def _mT(x: Any) -> Any:
    return jnp.swapaxes(x, -1, -2)


def _ns_step(x: Any, c: Any) -> Any:
    a = x @ _mT(x).conj()
    b = c[1] * a + c[2] * (a @ a)
    return c[0] * x + b @ x


def orthogonalize_via_newton_schulz(x: Any, ns_coeffs: Any, ns_steps: int = 5,
                                    preconditioning: Literal["frobenius", "spectral", "aol", "schatten"] = "frobenius",
                                    eps: ArrayLike = 1e-8,
                                    dimension_numbers: MuonDimensionNumbers | None = None) -> Any:
    """Approximate ``U V^T`` of ``x = U S V^T`` (for each matrix slice of ``x``) with
    ``ns_steps`` quintic Newton-Schulz iterations ``x <- a x + (b A + c A^2) x``, ``A = x x^T``.

    >>> import ember.core.numpy as jnp
    >>> o = orthogonalize_via_newton_schulz(jnp.asarray([[3.0, 0.0], [0.0, 1.0]]), jnp.asarray(_DEFAULT_NS_COEFFS))
    >>> bool(jnp.all(jnp.abs(jnp.diag(o) - 1.0) < 0.35))
    True
    """
    if preconditioning not in _PRECONDITIONINGS:
        raise ValueError(f"Unknown preconditioning {preconditioning!r}; use one of {_PRECONDITIONINGS}")
    if dimension_numbers is None:
        if x.ndim != 2:
            raise ValueError(f"Input must have shape (m, n) or dimension_numbers must be given, got shape {x.shape}")
        dimension_numbers = MuonDimensionNumbers(0, 1)
    ns_coeffs = jnp.asarray(ns_coeffs)
    if ns_coeffs.ndim > 2 or ns_coeffs.shape[-1] != 3:
        raise ValueError(f"Newton-Schulz coefficients must have shape (3,) or (n, 3), got {ns_coeffs.shape}")
    reshape, inverse = _reshape_fns(x, dimension_numbers)
    m = reshape(x)  # (batch, fan_in, fan_out)
    transposed = m.shape[1] > m.shape[2]
    if transposed:
        m = _mT(m)
    coeffs = ns_coeffs.astype(m.dtype)
    if preconditioning == "frobenius":
        m = m / (jnp.sqrt(jnp.sum(numerics.abs_sq(m), axis=(-2, -1), keepdims=True)) + eps)
    elif preconditioning == "spectral":
        s = jnp.linalg.svd(m, compute_uv=False)
        m = m / (s[..., :1, None] + eps)
    steps = [coeffs] * ns_steps if coeffs.ndim == 1 else [coeffs[i] for i in range(coeffs.shape[0])]
    for i, c in enumerate(steps):
        if i == 0 and preconditioning in ("aol", "schatten"):
            a = m @ _mT(m).conj()
            if preconditioning == "aol":
                s = lax.rsqrt(jnp.clip(jnp.sum(jnp.abs(a), axis=-1), eps, None))[..., :, None]
                m, a = m * s, a * s * _mT(s)
            else:
                fro = jnp.sqrt(jnp.sum(numerics.abs_sq(a), axis=(-2, -1), keepdims=True))
                s = lax.rsqrt(jnp.clip(fro, eps, None))
                m, a = m * s, a * s * s
            b = c[1] * a + c[2] * (a @ a)
            m = c[0] * m + b @ m
        else:
            m = _ns_step(m, c)
    if transposed:
        m = _mT(m)
    return inverse(m)


class MuonState(NamedTuple):
    """State of ``scale_by_muon``: step ``count``, momentum ``mu`` and the Newton-Schulz coefficients.

    >>> from ember.optim import contrib
    >>> contrib.MuonState._fields
    ('count', 'mu', 'ns_coeffs')
    """
    count: Any
    mu: Any
    ns_coeffs: Any


def _resolve(dim_nums: Any, updates: Any) -> Any:
    if dim_nums is None:
        return _tree.map(default_dimension_numbers, updates)
    return dim_nums(updates) if callable(dim_nums) else dim_nums


def scale_by_muon(ns_coeffs: tuple | str = _DEFAULT_NS_COEFFS, ns_steps: int = 5, beta: ArrayLike = 0.95,
                  eps: ArrayLike = 1e-8, mu_dtype: Any | None = None, *, nesterov: bool = True,
                  adaptive: bool = False,
                  preconditioning: Literal["frobenius", "spectral", "aol", "schatten"] = "frobenius",
                  weight_dimension_numbers: WeightDimNumOrFn | None = None) -> base.GradientTransformation:
    """Muon's scaling: momentum (``beta``, Nesterov by default, bias corrected), then
    Newton-Schulz orthogonalisation of every leaf. ``weight_dimension_numbers``: a pytree of
    :class:`MuonDimensionNumbers` (or a function of the updates returning one); default: the
    module's reshape rule (every leaf must then have rank >= 2).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.ones((4, 3))}
    >>> opt = eo.scale_by_muon()
    >>> grads = {"w": jnp.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])}
    >>> updates, _ = opt.update(grads, opt.init(params), params)
    >>> s = jnp.linalg.svd(updates["w"], compute_uv=False)     # Newton-Schulz: singular values near 1
    >>> bool(jnp.all((s > 0.5) & (s < 1.5)))
    True
    """
    mu_dtype = utils.canonicalize_dtype(mu_dtype)
    if isinstance(ns_coeffs, str):
        if ns_coeffs not in _NS_COEFFS_PRESETS:
            raise ValueError(f"Unknown ns_coeffs preset {ns_coeffs!r}; use one of {sorted(_NS_COEFFS_PRESETS)}")
        ns_coeffs = _NS_COEFFS_PRESETS[ns_coeffs]

    def init_fn(params):
        coeffs = jnp.asarray(ns_coeffs)
        if coeffs.ndim > 2 or coeffs.shape[-1] != 3:
            raise ValueError(f"ns_coeffs must have shape (3,) or (n, 3), got {coeffs.shape}")
        if coeffs.ndim == 2:
            if coeffs.shape[0] > ns_steps:
                coeffs = coeffs[-ns_steps:]
        return MuonState(count=jnp.zeros([], jnp.int32), mu=otu.tree_zeros_like(params, dtype=mu_dtype),
                         ns_coeffs=coeffs)

    def update_fn(updates, state, params=None):
        del params
        check_state(state, MuonState, "scale_by_muon")
        dims = _resolve(weight_dimension_numbers, updates)
        mu = otu.tree_update_moment(updates, state.mu, beta, 1)
        count_inc = numerics.safe_increment(state.count)
        if nesterov:
            mu_hat = transform._nesterov_mu_hat(mu, updates, beta, count_inc)
        else:
            mu_hat = otu.tree_bias_correction(mu, beta, count_inc)
        new_updates = _tree.map(
            lambda x, dn: orthogonalize_via_newton_schulz(x, state.ns_coeffs, ns_steps, preconditioning, eps, dn),
            mu_hat, dims, is_leaf=_is_dim_nums)
        if adaptive:
            new_updates = _tree.map(lambda x, y: jnp.sum(x.conj() * y) * y, mu_hat, new_updates)
        return new_updates, MuonState(count=count_inc, mu=otu.tree_cast(mu, mu_dtype), ns_coeffs=state.ns_coeffs)

    return base.GradientTransformation(init_fn, update_fn)


def scale_by_shape(weight_dimension_numbers: WeightDimNumOrFn | None = None,
                   consistent_rms: ArrayLike | None = None) -> base.GradientTransformation:
    """Rescale orthogonalised updates by their shape: ``sqrt(max(1, fan_out / fan_in))`` (width
    transfer), or ``consistent_rms * sqrt(max(fan_in, fan_out))`` when ``consistent_rms`` is given.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> from ember.optim import contrib
    >>> tx = contrib.scale_by_shape()                 # Muon's shape-dependent scale, sqrt(max(1, fan_out / fan_in))
    >>> params = {"w": jnp.ones((2, 8))}
    >>> updates, _ = tx.update({"w": jnp.ones((2, 8))}, tx.init(params), params)
    >>> float(updates["w"][0, 0])
    2.0
    """

    def _scale(u, dn):
        fan_in, fan_out = _fan(u, dn)
        if consistent_rms is not None:
            return math.sqrt(max(fan_in, fan_out)) * consistent_rms * u
        return math.sqrt(max(1.0, fan_out / fan_in)) * u

    def update_fn(updates, state, params=None):
        del params
        dims = _resolve(weight_dimension_numbers, updates)
        return _tree.map(_scale, updates, dims, is_leaf=_is_dim_nums), state

    return base.GradientTransformation(base.init_empty_state, update_fn)


def muon(learning_rate: base.ScalarOrSchedule, ns_coeffs: tuple | str = _DEFAULT_NS_COEFFS, ns_steps: int = 5,
         beta: ArrayLike = 0.95, eps: ArrayLike = 1e-8, weight_decay: base.ScalarOrSchedule = 0.0,
         weight_decay_mask: Any | None = None, mu_dtype: Any | None = None, *, nesterov: bool = True,
         adaptive: bool = False, preconditioning: Literal["frobenius", "spectral", "aol", "schatten"] = "frobenius",
         adam_b1: ArrayLike = 0.9, adam_b2: ArrayLike = 0.999, adam_eps_root: ArrayLike = 0.0,
         adam_weight_decay: base.ScalarOrSchedule = 0.0, adam_learning_rate: base.ScalarOrSchedule | None = None,
         muon_weight_dimension_numbers: WeightDimNumOrFn | None = None,
         consistent_rms: ArrayLike | None = None) -> base.GradientTransformationExtraArgs:
    """Muon for the parameters of rank >= 2 (see the module's reshape rule), AdamW for the others.

    ``weight_decay`` (Muon's) and ``adam_weight_decay`` are decoupled and both use
    ``weight_decay_mask``, with the same semantics as every other optimizer (pytree of booleans
    or function of the params; True = decayed). State: ``PartitionState`` with the ``'muon'``
    and ``'adam'`` groups, as Optax's.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.muon(0.02)
    >>> params = {"conv": jnp.ones((3, 3, 4, 8)), "b": jnp.zeros(8)}
    >>> state = opt.init(params)
    >>> u, state = opt.update({"conv": jnp.ones((3, 3, 4, 8)), "b": jnp.ones(8)}, state, params)
    >>> u["conv"].shape, u["b"].shape
    ((3, 3, 4, 8), (8,))
    """
    if adam_learning_rate is None:
        adam_learning_rate = learning_rate

    def dims_of(params):
        return _resolve(muon_weight_dimension_numbers, params)

    def param_labels(params):
        return _tree.map(lambda dn, x: _tree.map(lambda _: "muon" if dn is not None else "adam", x),
                         dims_of(params), params, is_leaf=lambda x: x is None or _is_dim_nums(x))

    def muon_dims(params):
        dims = dims_of(params)
        mask = _tree.map(lambda label: label == "muon", param_labels(params))
        return _tree.map(lambda dn, sub: _tree.map(lambda m: dn if m else MaskedNode(), sub), dims, mask,
                         is_leaf=lambda x: x is None or _is_dim_nums(x) or isinstance(x, MaskedNode))

    return combine.partition(
        transforms={
            "muon": combine.chain(
                scale_by_muon(ns_coeffs=ns_coeffs, ns_steps=ns_steps, beta=beta, eps=eps, mu_dtype=mu_dtype,
                              nesterov=nesterov, adaptive=adaptive, preconditioning=preconditioning,
                              weight_dimension_numbers=muon_dims),
                scale_by_shape(weight_dimension_numbers=muon_dims, consistent_rms=consistent_rms),
                add_decayed_weights(weight_decay, weight_decay_mask),
                transform.scale_by_learning_rate(learning_rate)),
            "adam": alias.adamw(learning_rate=adam_learning_rate, b1=adam_b1, b2=adam_b2, eps=eps,
                                eps_root=adam_eps_root, weight_decay=adam_weight_decay, mask=weight_decay_mask,
                                mu_dtype=mu_dtype, nesterov=nesterov),
        },
        param_labels=param_labels)
