"""ember.optim: composable gradient transformations, optimizers, schedules and losses on
ember.core -- the Optax of Ember (same names, defaults, formulas and state structures).

    >>> import ember.core as ec
    >>> import ember.core.numpy as jnp
    >>> import ember.optim as eo
    >>> params = {"w": jnp.asarray([1.0, -2.0])}
    >>> opt = eo.adamw(learning_rate=jnp.asarray(0.1))   # an array learning rate lives in the state
    >>> state = opt.init(params)
    >>> loss = lambda p: jnp.sum(p["w"] ** 2)
    >>> @ec.jit
    ... def step(params, state):
    ...     grads = ec.grad(loss)(params)
    ...     updates, state = opt.update(grads, state, params)
    ...     return eo.apply_updates(params, updates), state
    >>> params, state = step(params, state)
    >>> state = eo.set_hyperparams(state, learning_rate=0.05)   # no recompilation
    >>> params, state = step(params, state)
    >>> round(float(eo.hyperparams(state)["learning_rate"]), 3)
    0.05

See packages/optim/README.md.
"""

__version__ = "0.1.0"

from ember.optim import contrib, losses, schedules, second_order, tree_utils  # noqa: E402
from ember.optim._src.accumulation import (  # noqa: E402
    ApplyEvery,
    EmaState,
    MultiSteps,
    MultiStepsState,
    ShouldSkipUpdateFunction,
    TraceState,
    apply_every,
    ema,
    skip_large_updates,
    skip_not_finite,
    trace,
)
from ember.optim._src.adding import (  # noqa: E402
    AddDecayedWeightsState,
    AddNoiseState,
    DecayedWeightsState,
    WeightDecaySchedule,
    add_decayed_weights,
    add_noise,
)
from ember.optim._src.alias import (  # noqa: E402
    MaskOrFn,
    adabelief,
    adadelta,
    adafactor,
    adagrad,
    adam,
    adamax,
    adamaxw,
    adamw,
    adan,
    amsgrad,
    fromage,
    lamb,
    lars,
    lion,
    nadam,
    nadamw,
    noisy_sgd,
    novograd,
    optimistic_adam_v2,
    optimistic_gradient_descent,
    polyak_sgd,
    radam,
    rmsprop,
    rprop,
    sgd,
    sign_sgd,
    signum,
    sm3,
    yogi,
)
from ember.optim._src.base import (  # noqa: E402
    EmptyState,
    GradientTransformation,
    GradientTransformationExtraArgs,
    OptState,
    Params,
    ScalarOrSchedule,
    Schedule,
    StatefulSchedule,
    TransformInitFn,
    TransformUpdateExtraArgsFn,
    TransformUpdateFn,
    Updates,
    identity,
    init_empty_state,
    set_to_zero,
    stateless,
    stateless_with_tree_map,
    with_extra_args_support,
)
from ember.optim._src.clipping import (  # noqa: E402
    AdaptiveGradClipState,
    ClipByGlobalNormState,
    ClipState,
    adaptive_grad_clip,
    clip,
    clip_by_block_rms,
    clip_by_global_norm,
    per_example_global_norm_clip,
)
from ember.optim._src.combine import (  # noqa: E402
    MultiTransformState,
    PartitionState,
    chain,
    multi_transform,
    named_chain,
    partition,
)
from ember.optim._src.constraining import (  # noqa: E402
    NonNegativeParamsState,
    ZeroNansState,
    keep_params_nonnegative,
    zero_nans,
)
from ember.optim._src.contrib.muon import MuonDimensionNumbers, muon, scale_by_muon  # noqa: E402
from ember.optim._src.contrib.schedule_free import (  # noqa: E402
    ScheduleFreeState,
    schedule_free,
    schedule_free_adamw,
    schedule_free_eval_params,
    schedule_free_sgd,
)
from ember.optim._src.contrib.soap import scale_by_soap, soap  # noqa: E402
from ember.optim._src.factorized import FactoredState, scale_by_factored_rms  # noqa: E402
from ember.optim._src.hyperparams import hyperparams, set_hyperparams  # noqa: E402
from ember.optim._src.linear_algebra import global_norm, power_iteration  # noqa: E402
from ember.optim._src.lookahead import LookaheadParams, LookaheadState, lookahead  # noqa: E402
from ember.optim._src.numerics import safe_increment, safe_int32_increment, safe_norm, safe_root_mean_squares  # noqa: E402
from ember.optim._src.schedules._inject import (  # noqa: E402
    InjectHyperparamsState,
    InjectStatefulHyperparamsState,
    inject_hyperparams,
    inject_stateful_hyperparams,
)
from ember.optim._src.schedules._join import join_schedules  # noqa: E402
from ember.optim._src.schedules._schedule import (  # noqa: E402
    constant_schedule,
    cosine_decay_schedule,
    cosine_onecycle_schedule,
    exponential_decay,
    linear_onecycle_schedule,
    linear_schedule,
    piecewise_constant_schedule,
    piecewise_interpolate_schedule,
    polynomial_schedule,
    sgdr_schedule,
    warmup_constant_schedule,
    warmup_cosine_decay_schedule,
    warmup_exponential_decay_schedule,
)
from ember.optim._src.second_order import hvp  # noqa: E402
from ember.optim._src.transform import (  # noqa: E402
    LearningRateScheduleState,
    ScaleByAdaDeltaState,
    ScaleByAdamState,
    ScaleByAdanState,
    ScaleByAmsgradState,
    ScaleByBeliefState,
    ScaleByLearningRateState,
    ScaleByLionState,
    ScaleByNovogradState,
    ScaleByOptimisticGradientState,
    ScaleByRmsState,
    ScaleByRmsWithCountState,
    ScaleByRpropState,
    ScaleByRssState,
    ScaleByRStdDevState,
    ScaleByRStdDevWithCountState,
    ScaleByScheduleState,
    ScaleBySM3State,
    ScaleByTrustRatioState,
    ScaleState,
    centralize,
    normalize_by_update_norm,
    scale,
    scale_by_adadelta,
    scale_by_adam,
    scale_by_adamax,
    scale_by_adan,
    scale_by_amsgrad,
    scale_by_belief,
    scale_by_distance_over_gradients,
    scale_by_learning_rate,
    scale_by_lion,
    scale_by_novograd,
    scale_by_optimistic_gradient,
    scale_by_param_block_norm,
    scale_by_param_block_rms,
    scale_by_polyak,
    scale_by_radam,
    scale_by_rms,
    scale_by_rprop,
    scale_by_rss,
    scale_by_schedule,
    scale_by_sign,
    scale_by_sm3,
    scale_by_stddev,
    scale_by_trust_ratio,
    scale_by_yogi,
)
from ember.optim._src.tree_utils import (  # noqa: E402
    tree_add,
    tree_cast,
    tree_l2_norm,
    tree_map_params,
    tree_scalar_mul,
    tree_zeros_like,
)
from ember.optim._src.update import apply_updates, incremental_update, periodic_update  # noqa: E402
from ember.optim._src.utils import TreeMismatchError  # noqa: E402
from ember.optim._src.wrappers import (  # noqa: E402
    ApplyIfFiniteState,
    ConditionallyMaskState,
    ConditionallyTransformState,
    MaskedNode,
    MaskedState,
    apply_if_finite,
    conditionally_mask,
    conditionally_transform,
    flatten,
    freeze,
    masked,
)

bias_correction = tree_utils.tree_bias_correction
update_moment = tree_utils.tree_update_moment
update_moment_per_elem_norm = tree_utils.tree_update_moment_per_elem_norm
update_infinity_moment = tree_utils.tree_update_infinity_moment

# Optax also exposes its common losses at the top level (optax.l2_loss, ...); so do we.
from ember.optim.losses import (  # noqa: E402
    convex_kl_divergence,
    cosine_distance,
    cosine_similarity,
    ctc_loss,
    ctc_loss_with_forward_probs,
    generalized_kl_divergence,
    hinge_loss,
    huber_loss,
    kl_divergence,
    l2_loss,
    log_cosh,
    safe_softmax_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    smooth_labels,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    squared_error,
)

__all__ = [
    # the abstraction
    "GradientTransformation", "GradientTransformationExtraArgs", "EmptyState", "OptState", "Params", "Updates",
    "Schedule", "ScalarOrSchedule", "StatefulSchedule", "TransformInitFn", "TransformUpdateFn",
    "TransformUpdateExtraArgsFn", "apply_updates", "incremental_update", "periodic_update", "chain", "named_chain",
    "identity", "init_empty_state", "set_to_zero", "stateless", "stateless_with_tree_map", "with_extra_args_support",
    "TreeMismatchError",
    # hyperparameters as state
    "hyperparams", "set_hyperparams", "inject_hyperparams", "inject_stateful_hyperparams", "InjectHyperparamsState",
    "InjectStatefulHyperparamsState",
    # transforms
    "scale", "scale_by_learning_rate", "scale_by_schedule", "scale_by_adam", "scale_by_amsgrad", "scale_by_adamax",
    "scale_by_adadelta", "scale_by_adan", "scale_by_rms", "scale_by_rss", "scale_by_stddev", "scale_by_belief",
    "scale_by_radam", "scale_by_novograd", "scale_by_yogi", "scale_by_lion", "scale_by_sm3", "scale_by_trust_ratio",
    "scale_by_factored_rms", "scale_by_param_block_norm", "scale_by_param_block_rms", "scale_by_sign",
    "scale_by_rprop", "scale_by_polyak", "scale_by_optimistic_gradient", "scale_by_distance_over_gradients",
    "scale_by_muon", "scale_by_soap", "trace", "ema", "add_decayed_weights", "add_noise", "centralize", "clip",
    "clip_by_global_norm", "clip_by_block_rms", "adaptive_grad_clip", "per_example_global_norm_clip", "zero_nans",
    "keep_params_nonnegative", "normalize_by_update_norm", "apply_every",
    # optimizers
    "sgd", "noisy_sgd", "sign_sgd", "signum", "adam", "adamw", "amsgrad", "adamax", "adamaxw", "adan", "nadam",
    "nadamw", "radam", "adabelief", "adagrad", "adadelta", "adafactor", "rmsprop", "lamb", "lars", "lion",
    "novograd", "yogi", "sm3", "fromage", "polyak_sgd", "optimistic_gradient_descent", "optimistic_adam_v2", "rprop",
    "muon", "MuonDimensionNumbers", "schedule_free", "schedule_free_sgd", "schedule_free_adamw",
    "schedule_free_eval_params", "soap", "MaskOrFn",
    # wrappers
    "MultiSteps", "MultiStepsState", "ShouldSkipUpdateFunction", "skip_not_finite", "skip_large_updates",
    "lookahead", "LookaheadParams", "LookaheadState", "masked", "MaskedNode", "MaskedState", "freeze", "partition",
    "multi_transform", "PartitionState", "MultiTransformState", "apply_if_finite", "ApplyIfFiniteState",
    "conditionally_mask", "conditionally_transform", "ConditionallyMaskState", "ConditionallyTransformState",
    "flatten",
    # schedules
    "constant_schedule", "linear_schedule", "polynomial_schedule", "cosine_decay_schedule",
    "warmup_cosine_decay_schedule", "exponential_decay", "piecewise_constant_schedule",
    "piecewise_interpolate_schedule", "join_schedules", "cosine_onecycle_schedule", "linear_onecycle_schedule",
    "warmup_exponential_decay_schedule", "sgdr_schedule", "warmup_constant_schedule",
    # numerics, tree utilities, second order
    "global_norm", "power_iteration", "safe_norm", "safe_root_mean_squares", "safe_increment",
    "safe_int32_increment", "tree_add", "tree_cast", "tree_l2_norm", "tree_scalar_mul", "tree_zeros_like",
    "tree_map_params", "bias_correction", "update_moment", "update_moment_per_elem_norm", "update_infinity_moment",
    "hvp",
    # states
    "ApplyEvery", "EmaState", "TraceState", "AddDecayedWeightsState", "AddNoiseState", "DecayedWeightsState",
    "WeightDecaySchedule", "AdaptiveGradClipState", "ClipByGlobalNormState", "ClipState", "NonNegativeParamsState",
    "ZeroNansState", "FactoredState", "ScheduleFreeState", "LearningRateScheduleState", "ScaleByLearningRateState",
    "ScaleByAdaDeltaState", "ScaleByAdamState", "ScaleByAdanState", "ScaleByAmsgradState", "ScaleByBeliefState",
    "ScaleByLionState", "ScaleByNovogradState", "ScaleByOptimisticGradientState", "ScaleByRmsState",
    "ScaleByRmsWithCountState", "ScaleByRpropState", "ScaleByRssState", "ScaleByRStdDevState",
    "ScaleByRStdDevWithCountState", "ScaleByScheduleState", "ScaleBySM3State", "ScaleByTrustRatioState",
    "ScaleState",
    # losses (also in ember.optim.losses)
    "convex_kl_divergence", "cosine_distance", "cosine_similarity", "ctc_loss", "ctc_loss_with_forward_probs", "generalized_kl_divergence",
    "hinge_loss", "huber_loss", "kl_divergence", "l2_loss", "log_cosh", "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy", "sigmoid_focal_loss", "smooth_labels", "softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels", "squared_error",
    # submodules
    "contrib", "losses", "schedules", "second_order", "tree_utils",
]
