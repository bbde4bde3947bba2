"""The public API: names (as Optax's), submodules, and the package's layering rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ember.optim as eo

SRC = Path(eo.__file__).resolve().parent

ISSUE_NAMES = """
GradientTransformation GradientTransformationExtraArgs apply_updates chain named_chain identity set_to_zero stateless
with_extra_args_support scale scale_by_learning_rate scale_by_schedule scale_by_adam scale_by_amsgrad
scale_by_adamax scale_by_rms scale_by_stddev scale_by_belief scale_by_radam scale_by_novograd scale_by_yogi
scale_by_lion scale_by_sm3 scale_by_trust_ratio scale_by_factored_rms scale_by_param_block_norm
scale_by_param_block_rms scale_by_sign trace ema add_decayed_weights add_noise centralize clip clip_by_global_norm
clip_by_block_rms adaptive_grad_clip zero_nans keep_params_nonnegative normalize_by_update_norm sgd noisy_sgd
sign_sgd adam adamw amsgrad adamax adamaxw nadam nadamw radam adabelief adagrad adadelta adafactor rmsprop lamb lars
lion novograd yogi sm3 fromage polyak_sgd optimistic_gradient_descent muon schedule_free_sgd schedule_free_adamw
soap MultiSteps apply_every lookahead masked multi_transform partition inject_hyperparams apply_if_finite
skip_not_finite flatten tree_l2_norm tree_add tree_scalar_mul tree_zeros_like tree_cast global_norm hvp
hyperparams set_hyperparams
""".split()

SCHEDULES = """constant linear cosine_decay warmup_cosine_decay exponential_decay piecewise_constant piecewise_interpolate
polynomial join_schedules cosine_onecycle linear_onecycle warmup_exponential_decay sgdr warmup_constant
inject_hyperparams constant_schedule linear_schedule cosine_decay_schedule warmup_cosine_decay_schedule""".split()

LOSSES = """softmax_cross_entropy softmax_cross_entropy_with_integer_labels safe_softmax_cross_entropy
sigmoid_binary_cross_entropy sigmoid_focal_loss l2_loss squared_error huber_loss log_cosh hinge_loss
multiclass_hinge_loss cosine_similarity cosine_distance kl_divergence kl_divergence_with_log_targets
generalized_kl_divergence smooth_labels ctc_loss ranking_softmax_loss""".split()


def test_public_names():
    missing = [n for n in ISSUE_NAMES if not hasattr(eo, n)]
    assert not missing, missing
    assert not [n for n in SCHEDULES if not hasattr(eo.schedules, n)]
    assert not [n for n in LOSSES if not hasattr(eo.losses, n)]
    assert hasattr(eo.tree_utils, "tree_get") and hasattr(eo.contrib, "muon") and hasattr(eo.second_order, "hvp")
    assert all(hasattr(eo, n) for n in eo.__all__)
    assert eo.__version__ == "0.1.0"


def test_optax_state_structures_are_kept():
    import ember.core.numpy as jnp

    params = {"w": jnp.zeros(2)}
    state = eo.adamw(1e-3).init(params)
    assert [type(s).__name__ for s in state] == ["ScaleByAdamState", "EmptyState", "EmptyState"]
    assert state[0]._fields == ("count", "mu", "nu")
    state = eo.adamw(1e-3, mask={"w": True}).init(params)
    assert type(state[1]).__name__ == "MaskedState"
    state = eo.sgd(1e-3, momentum=0.9).init(params)
    assert type(state[0]).__name__ == "TraceState" and isinstance(state[1], eo.EmptyState)
    state = eo.inject_hyperparams(eo.sgd)(learning_rate=0.1).init(params)
    assert state._fields[:2] == ("count", "hyperparams") and hasattr(state, "inner_state")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_layering(path):
    for name in _imports(path):
        assert not name.startswith("ember.core._src"), f"{path.name} imports {name}"
        assert name.split(".")[0] not in {"jax", "optax", "flax", "orbax", "grain"}, f"{path.name} imports {name}"


def test_namespace_package():
    assert not (SRC.parent / "__init__.py").exists()
    assert (SRC / "py.typed").exists()
