"""The optimizers: each a short ``chain`` of transforms, with Optax's names, defaults and order.

Learning rates and weight decays may be numbers (compile-time constants; Optax's state),
arrays or schedules (kept in the state: see ``hyperparams.py``). Every optimizer with decoupled
weight decay applies it through ``add_decayed_weights(weight_decay, mask)``, so masks mean the
same thing everywhere: a pytree of booleans (True = decayed) or a function of the params.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ember.optim._src import base, combine, hyperparams, transform
from ember.optim._src.accumulation import ema, trace
from ember.optim._src.adding import add_decayed_weights, add_noise
from ember.optim._src.clipping import clip_by_block_rms
from ember.optim._src.factorized import scale_by_factored_rms
from ember.optim._src.wrappers import masked

ArrayLike = Any
MaskOrFn = Any | Callable[[Any], Any] | None
ScalarOrSchedule = base.ScalarOrSchedule


def sgd(learning_rate: ScalarOrSchedule, momentum: ArrayLike | None = None, nesterov: bool = False,
        accumulator_dtype: Any | None = None) -> base.GradientTransformationExtraArgs:
    """Stochastic gradient descent, with optional (Nesterov) momentum: ``t = g + momentum * t``,
    ``u = -lr * t`` (Nesterov: ``u = -lr * (g + momentum * t)``).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.sgd(0.1, momentum=0.9)
    >>> params = {"w": jnp.asarray([1.0])}
    >>> state = opt.init(params)
    >>> u, state = opt.update({"w": jnp.asarray([1.0])}, state)
    >>> u["w"].tolist()
    [-0.10000000149011612]
    """
    inner = (trace(decay=momentum, nesterov=nesterov, accumulator_dtype=accumulator_dtype)
             if momentum is not None else base.identity())
    return combine.chain(inner, transform.scale_by_learning_rate(learning_rate))


def noisy_sgd(learning_rate: ScalarOrSchedule, eta: ArrayLike = 0.01, gamma: ArrayLike = 0.55, key: Any = None, *,
              seed: int | None = None) -> base.GradientTransformationExtraArgs:
    """SGD with annealed Gaussian gradient noise of variance ``eta / t^gamma``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.noisy_sgd(learning_rate=0.1, seed=0)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9480', '-1.9423']
    """
    return combine.chain(add_noise(eta, gamma, key, seed=seed), transform.scale_by_learning_rate(learning_rate))


def sign_sgd(learning_rate: ScalarOrSchedule) -> base.GradientTransformationExtraArgs:
    """SGD on the signs of the gradients: ``u = -lr * sign(g)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.sign_sgd(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9000', '-1.9000']
    """
    return combine.chain(transform.scale_by_sign(), transform.scale_by_learning_rate(learning_rate))


def signum(learning_rate: ScalarOrSchedule, beta: ArrayLike = 0.9,
           accumulator_dtype: Any | None = None) -> base.GradientTransformationExtraArgs:
    """signSGD with momentum: ``u = -lr * sign(EMA_beta(g))``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.signum(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9000', '-1.9000']
    """
    return combine.chain(ema(beta, debias=False, accumulator_dtype=accumulator_dtype), transform.scale_by_sign(),
                         transform.scale_by_learning_rate(learning_rate))


def adam(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
         eps_root: ArrayLike = 0.0, mu_dtype: Any | None = None, *,
         nesterov: bool = False) -> base.GradientTransformationExtraArgs:
    """Adam (Kingma & Ba 2014): ``u = -lr * m_hat / (sqrt(v_hat + eps_root) + eps)``; see
    :func:`scale_by_adam`. State: ``(ScaleByAdamState(count, mu, nu), <learning-rate state>)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.adam(1e-3)
    >>> state = opt.init({"w": jnp.zeros(3)})
    >>> type(state[0]).__name__, int(state[0].count)
    ('ScaleByAdamState', 0)
    """
    return combine.chain(
        transform.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov),
        transform.scale_by_learning_rate(learning_rate))


nadam = functools.partial(adam, nesterov=True)
nadam.__doc__ = """NAdam (Dozat 2016): :func:`adam` with ``nesterov=True``."""


def adamw(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
          eps_root: ArrayLike = 0.0, mu_dtype: Any | None = None, weight_decay: ScalarOrSchedule = 1e-4,
          mask: MaskOrFn = None, *, nesterov: bool = False) -> base.GradientTransformationExtraArgs:
    """AdamW (Loshchilov & Hutter 2019): Adam plus decoupled weight decay,
    ``u = -lr * (m_hat / (sqrt(v_hat + eps_root) + eps) + weight_decay * p)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> opt = eo.adamw(1e-3, weight_decay=0.1, mask=lambda p: {"w": True, "b": False})
    >>> p = {"w": jnp.ones(2), "b": jnp.ones(2)}
    >>> u, _ = opt.update({"w": jnp.zeros(2), "b": jnp.zeros(2)}, opt.init(p), p)
    >>> [round(x, 6) for x in u["w"].tolist()], u["b"].tolist() == [0.0, 0.0]
    ([-0.0001, -0.0001], True)
    """
    return combine.chain(
        transform.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov),
        add_decayed_weights(weight_decay, mask),
        transform.scale_by_learning_rate(learning_rate))


nadamw = functools.partial(adamw, nesterov=True)
nadamw.__doc__ = """NAdamW: :func:`adamw` with ``nesterov=True``."""


def amsgrad(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
            eps_root: ArrayLike = 0.0, mu_dtype: Any | None = None, bias_correction_mu: bool = True,
            bias_correction_nu: bool = True) -> base.GradientTransformationExtraArgs:
    """AMSGrad (Reddi et al. 2018): Adam with the running maximum of the second moment.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.amsgrad(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9000', '-1.9000']
    """
    return combine.chain(
        transform.scale_by_amsgrad(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype,
                                   bias_correction_mu=bias_correction_mu, bias_correction_nu=bias_correction_nu),
        transform.scale_by_learning_rate(learning_rate))


def adamax(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999,
           eps: ArrayLike = 1e-8) -> base.GradientTransformationExtraArgs:
    """Adamax (Kingma & Ba 2014): Adam with the infinity norm.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.adamax(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9000', '-1.9000']
    """
    return combine.chain(transform.scale_by_adamax(b1=b1, b2=b2, eps=eps),
                         transform.scale_by_learning_rate(learning_rate))


def adamaxw(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
            weight_decay: ScalarOrSchedule = 1e-4, mask: MaskOrFn = None) -> base.GradientTransformationExtraArgs:
    """Adamax with decoupled weight decay.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.adamaxw(learning_rate=0.1, weight_decay=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.8900', '-1.8800']
    """
    return combine.chain(transform.scale_by_adamax(b1=b1, b2=b2, eps=eps), add_decayed_weights(weight_decay, mask),
                         transform.scale_by_learning_rate(learning_rate))


def adan(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.98, b2: ArrayLike = 0.92, b3: ArrayLike = 0.99,
         eps: ArrayLike = 1e-8, eps_root: ArrayLike = 1e-8, weight_decay: ScalarOrSchedule = 0.0,
         mask: MaskOrFn = None) -> base.GradientTransformationExtraArgs:
    """Adan (Xie et al. 2022).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.adan(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9000', '-1.9000']
    """
    return combine.chain(transform.scale_by_adan(b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root),
                         add_decayed_weights(weight_decay, mask), transform.scale_by_learning_rate(learning_rate))


def radam(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8,
          eps_root: ArrayLike = 0.0, threshold: ArrayLike = 5.0, *,
          nesterov: bool = False) -> base.GradientTransformationExtraArgs:
    """Rectified Adam (Liu et al. 2020).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.radam(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9500', '-1.9500']
    """
    return combine.chain(
        transform.scale_by_radam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, threshold=threshold, nesterov=nesterov),
        transform.scale_by_learning_rate(learning_rate))


def adabelief(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-16,
              eps_root: ArrayLike = 1e-16, *, nesterov: bool = False) -> base.GradientTransformationExtraArgs:
    """AdaBelief (Zhuang et al. 2020).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.adabelief(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.8889', '-1.8889']
    """
    return combine.chain(transform.scale_by_belief(b1=b1, b2=b2, eps=eps, eps_root=eps_root, nesterov=nesterov),
                         transform.scale_by_learning_rate(learning_rate))


def adagrad(learning_rate: ScalarOrSchedule, initial_accumulator_value: ArrayLike = 0.1,
            eps: ArrayLike = 1e-7) -> base.GradientTransformationExtraArgs:
    """AdaGrad (Duchi et al. 2011): ``u = -lr * g / sqrt(sum of past g^2 + eps)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.adagrad(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9155', '-1.9155']
    """
    return combine.chain(transform.scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
                         transform.scale_by_learning_rate(learning_rate))


def adadelta(learning_rate: ScalarOrSchedule | None = None, rho: ArrayLike = 0.9, eps: ArrayLike = 1e-6,
             weight_decay: ScalarOrSchedule = 0.0,
             weight_decay_mask: MaskOrFn = None) -> base.GradientTransformationExtraArgs:
    """AdaDelta (Zeiler 2012); ``learning_rate=None`` applies the raw AdaDelta step.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.adadelta(learning_rate=1.0)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9968', '-1.9968']
    """
    return combine.chain(add_decayed_weights(weight_decay, mask=weight_decay_mask),
                         transform.scale_by_adadelta(rho=rho, eps=eps),
                         transform.scale_by_learning_rate(learning_rate))


def adafactor(learning_rate: ScalarOrSchedule | None = None, min_dim_size_to_factor: int = 128,
              decay_rate: ArrayLike = 0.8, decay_offset: int = 0, multiply_by_parameter_scale: bool = True,
              clipping_threshold: ArrayLike | None = 1.0, momentum: ArrayLike | None = None,
              dtype_momentum: Any = "float32", weight_decay_rate: ScalarOrSchedule | None = None,
              eps: ArrayLike = 1e-30, factored: bool = True,
              weight_decay_mask: MaskOrFn = None) -> base.GradientTransformationExtraArgs:
    """Adafactor (Shazeer & Stern 2018): factored second moments, update clipping, relative
    step sizes.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([[1.0, -2.0], [0.0, 3.0]])}
    >>> opt = eo.adafactor(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([[0.5, -0.5], [1.0, 0.0]])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"][0].tolist()]
    ['0.8129', '-1.8129']
    """
    tx = [scale_by_factored_rms(factored, decay_rate, decay_offset, min_dim_size_to_factor, eps)]
    if clipping_threshold is not None:
        tx.append(clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        tx.append(transform.scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        tx.append(transform.scale_by_param_block_rms())
    if momentum is not None:
        tx.append(ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        tx.append(add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    tx.append(transform.scale(-1))
    return combine.chain(*tx)


def rmsprop(learning_rate: ScalarOrSchedule, decay: ArrayLike = 0.9, eps: ArrayLike = 1e-8,
            initial_scale: ArrayLike = 0.0, eps_in_sqrt: bool = True, centered: bool = False,
            momentum: ArrayLike | None = None, nesterov: bool = False,
            bias_correction: bool = False) -> base.GradientTransformationExtraArgs:
    """RMSProp (Hinton 2012); ``centered=True`` divides by the standard deviation instead.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.rmsprop(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.6838', '-1.6838']
    """
    scaler = transform.scale_by_stddev if centered else transform.scale_by_rms
    return combine.chain(
        scaler(decay=decay, eps=eps, initial_scale=initial_scale, eps_in_sqrt=eps_in_sqrt,
               bias_correction=bias_correction),
        transform.scale_by_learning_rate(learning_rate),
        trace(decay=momentum, nesterov=nesterov) if momentum is not None else base.identity())


def lamb(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-6,
         eps_root: ArrayLike = 0.0, weight_decay: ScalarOrSchedule = 0.0,
         mask: MaskOrFn = None) -> base.GradientTransformationExtraArgs:
    """LAMB (You et al. 2020): AdamW rescaled layer-wise by the trust ratio ``||p|| / ||u||``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.lamb(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.8419', '-1.8419']
    """
    return combine.chain(transform.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
                         add_decayed_weights(weight_decay=weight_decay, mask=mask),
                         transform.scale_by_trust_ratio(), transform.scale_by_learning_rate(learning_rate))


def lars(learning_rate: ScalarOrSchedule, weight_decay: ScalarOrSchedule = 0.0, weight_decay_mask: MaskOrFn = True,
         trust_coefficient: ArrayLike = 0.001, eps: ArrayLike = 0.0, trust_ratio_mask: MaskOrFn = True,
         momentum: ArrayLike = 0.9, nesterov: bool = False) -> base.GradientTransformationExtraArgs:
    """LARS (You et al. 2017): SGD with momentum and a layer-wise trust ratio.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.lars(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9998', '-1.9998']
    """
    return combine.chain(
        add_decayed_weights(weight_decay, mask=weight_decay_mask),
        masked(inner=transform.scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps),
               mask=trust_ratio_mask),
        transform.scale_by_learning_rate(learning_rate),
        trace(decay=momentum, nesterov=nesterov))


def lion(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.99, mu_dtype: Any | None = None,
         weight_decay: ScalarOrSchedule = 1e-3, mask: MaskOrFn = None) -> base.GradientTransformationExtraArgs:
    """Lion (Chen et al. 2023): ``u = -lr * (sign(b1 m + (1 - b1) g) + weight_decay * p)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.lion(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.8999', '-1.8998']
    """
    return combine.chain(transform.scale_by_lion(b1=b1, b2=b2, mu_dtype=mu_dtype),
                         add_decayed_weights(weight_decay, mask), transform.scale_by_learning_rate(learning_rate))


def novograd(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.25, eps: ArrayLike = 1e-6,
             eps_root: ArrayLike = 0.0, weight_decay: ArrayLike = 0.0) -> base.GradientTransformationExtraArgs:
    """NovoGrad (Ginsburg et al. 2019): layer-wise second moments (its weight decay is applied
    inside the moment, as published, not decoupled).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.novograd(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9293', '-1.9293']
    """
    return combine.chain(
        transform.scale_by_novograd(b1=b1, b2=b2, eps=eps, eps_root=eps_root, weight_decay=weight_decay),
        transform.scale_by_learning_rate(learning_rate))


def yogi(learning_rate: ScalarOrSchedule, b1: ArrayLike = 0.9, b2: ArrayLike = 0.999,
         eps: ArrayLike = 1e-3) -> base.GradientTransformationExtraArgs:
    """Yogi (Zaheer et al. 2018).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.yogi(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9004', '-1.9004']
    """
    return combine.chain(transform.scale_by_yogi(b1=b1, b2=b2, eps=eps),
                         transform.scale_by_learning_rate(learning_rate))


def sm3(learning_rate: ArrayLike, momentum: ArrayLike = 0.9) -> base.GradientTransformationExtraArgs:
    """SM3 (Anil et al. 2019).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.sm3(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9900', '-1.9900']
    """
    return combine.chain(transform.scale_by_sm3(momentum), transform.scale_by_learning_rate(learning_rate))


def fromage(learning_rate: ScalarOrSchedule, min_norm: ArrayLike = 1e-6) -> base.GradientTransformationExtraArgs:
    """Fromage (Bernstein et al. 2020): trust-ratio steps with the weights shrunk by
    ``1 / sqrt(1 + lr^2)``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.fromage(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.8377', '-1.8327']
    """
    if not callable(learning_rate):
        with hyperparams.static_hyperparams():
            mult = 1 / (1 + learning_rate ** 2) ** 0.5
            return combine.chain(transform.scale_by_trust_ratio(min_norm),
                                 transform.scale_by_learning_rate(learning_rate * mult),
                                 add_decayed_weights(mult - 1))
    mult_lr = lambda count: 1 / (1 + learning_rate(count) ** 2) ** 0.5  # noqa: E731
    return combine.chain(transform.scale_by_trust_ratio(min_norm),
                         transform.scale_by_learning_rate(lambda c: mult_lr(c) * learning_rate(c)),
                         add_decayed_weights(lambda c: mult_lr(c) - 1))


def polyak_sgd(max_learning_rate: ArrayLike = 1.0, scaling: ScalarOrSchedule = 1.0, f_min: ArrayLike = 0.0,
               eps: ArrayLike = 0.0, variant: str = "sps") -> base.GradientTransformationExtraArgs:
    """SGD with Polyak step sizes (Loizou et al. 2021); ``update`` needs ``value=loss``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.polyak_sgd(max_learning_rate=1.0)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params, value=jnp.array(0.25))
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.7500', '-1.7500']
    """
    return combine.chain(sgd(learning_rate=scaling),
                         transform.scale_by_polyak(max_learning_rate=max_learning_rate, f_min=f_min, eps=eps,
                                                   variant=variant))


def optimistic_gradient_descent(learning_rate: ScalarOrSchedule, alpha: ScalarOrSchedule = 1.0,
                                beta: ScalarOrSchedule = 1.0) -> base.GradientTransformationExtraArgs:
    """Optimistic gradient descent (for min-max games): ``u = -lr ((alpha + beta) g_t - beta g_{t-1})``.

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.optimistic_gradient_descent(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.9500', '-1.9500']
    """
    return combine.chain(transform.scale_by_optimistic_gradient(alpha=alpha, beta=beta),
                         transform.scale_by_learning_rate(learning_rate))


def optimistic_adam_v2(learning_rate: ScalarOrSchedule, *, alpha: ArrayLike = 1.0, beta: ArrayLike = 1.0,
                       b1: ArrayLike = 0.9, b2: ArrayLike = 0.999, eps: ArrayLike = 1e-8, eps_root: ArrayLike = 0.0,
                       mu_dtype: Any | None = None, nesterov: bool = True) -> base.GradientTransformationExtraArgs:
    """Optimistic Adam (Daskalakis et al. 2018).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.optimistic_adam_v2(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    >>> [f"{v:.4f}" for v in eo.apply_updates(params, updates)["w"].tolist()]
    ['0.8526', '-1.8526']
    """
    return combine.chain(
        transform.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov),
        transform.scale_by_optimistic_gradient(alpha=alpha, beta=beta),
        transform.scale_by_learning_rate(learning_rate))


def rprop(learning_rate: ArrayLike, eta_minus: ArrayLike = 0.5, eta_plus: ArrayLike = 1.2,
          min_step_size: ArrayLike = 1e-6, max_step_size: ArrayLike = 50.0) -> base.GradientTransformationExtraArgs:
    """Rprop (Riedmiller & Braun 1993).

    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.array([1.0, -2.0])}
    >>> opt = eo.rprop(learning_rate=0.1)
    >>> state = opt.init(params)
    >>> for _ in range(3):      # as in Optax, each update applies the step sizes chosen one step earlier
    ...     updates, state = opt.update({"w": jnp.array([0.5, -0.5])}, state, params)
    ...     print([f"{v:.2f}" for v in updates["w"].tolist()])
    ['-0.00', '-0.00']
    ['-0.10', '0.10']
    ['-0.12', '0.12']
    """
    return combine.chain(transform.scale_by_rprop(learning_rate=learning_rate, eta_minus=eta_minus,
                                                  eta_plus=eta_plus, min_step_size=min_step_size,
                                                  max_step_size=max_step_size),
                         transform.scale(-1.0))
