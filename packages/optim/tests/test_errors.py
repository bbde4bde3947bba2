"""Bad input gives an error that names the leaf path (or the hyperparameter / state type)."""

from __future__ import annotations

import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo

PARAMS = {"dense": {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}, "head": jnp.ones(3)}


def test_grads_with_a_missing_leaf_name_the_path():
    opt = eo.adamw(1e-3)
    state = opt.init(PARAMS)
    grads = {"dense": {"w": jnp.ones((2, 3)), "bias": jnp.zeros(3)}, "head": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"\['dense'\]\['b'\]|\['dense'\]\['bias'\]") as info:
        opt.update(grads, state, PARAMS)
    assert isinstance(info.value, eo.TreeMismatchError)


def test_grads_with_a_wrong_shape_name_the_path_and_shapes():
    opt = eo.adam(1e-3)
    state = opt.init(PARAMS)
    grads = {"dense": {"w": jnp.ones((3, 2)), "b": jnp.zeros(3)}, "head": jnp.ones(3)}
    with pytest.raises(ValueError, match=r"\['dense'\]\['w'\].*float32\[3, 2\].*float32\[2, 3\]"):
        opt.update(grads, state, PARAMS)


def test_params_and_updates_mismatch_names_the_path():
    with pytest.raises(eo.TreeMismatchError, match=r"\['head'\]"):
        eo.apply_updates(PARAMS, {"dense": PARAMS["dense"]})
    opt = eo.adamw(1e-3)     # weight decay reads params: params and grads must match
    grads = ec.tree.map(jnp.ones_like, PARAMS)
    with pytest.raises(eo.TreeMismatchError, match=r"\['head'\]"):
        opt.update(grads, opt.init(PARAMS), {"dense": PARAMS["dense"], "other": jnp.ones(3)})


def test_state_of_another_optimizer_is_named():
    grads = ec.tree.map(jnp.ones_like, PARAMS)
    with pytest.raises(TypeError, match="scale_by_adam.update received a state of type TraceState"):
        eo.adam(1e-3).update(grads, eo.sgd(0.1, momentum=0.9).init(PARAMS))
    with pytest.raises(ValueError, match="expects a tuple of 3 states"):
        eo.adamw(1e-3).update(grads, eo.adam(1e-3).init(PARAMS), PARAMS)
    with pytest.raises(TypeError, match="expected MaskedState"):
        eo.masked(eo.adam(1e-3), {"dense": True, "head": False}).update(grads, eo.adam(1e-3).init(PARAMS))


def test_state_for_other_params_names_the_path():
    opt = eo.sgd(0.1, momentum=0.9)
    state = opt.init({"a": jnp.ones(3)})
    with pytest.raises(eo.TreeMismatchError, match="state.trace"):
        opt.update(ec.tree.map(jnp.ones_like, PARAMS), state)


@pytest.mark.parametrize("bad,match", [
    (lambda count: "0.1", "returned str"),
    (lambda count: (0.1, 0.2), "returned tuple"),
    (lambda count: jnp.ones(3) * 0.1, r"shape \(3,\)"),
    (lambda count: jnp.asarray(True), "dtype bool"),
])
def test_schedule_returning_the_wrong_type_names_the_hyperparameter(bad, match):
    with pytest.raises((TypeError, ValueError), match=match) as info:
        eo.adam(bad).init(PARAMS)
    assert "learning_rate" in str(info.value)
    with pytest.raises((TypeError, ValueError), match="weight_decay"):
        eo.adamw(1e-3, weight_decay=bad).init(PARAMS)


def test_mask_that_does_not_match_the_params():
    opt = eo.adamw(1e-3, mask={"dense": True, "tail": False})
    with pytest.raises(ValueError, match="mask"):
        opt.init(PARAMS)


def test_missing_params_and_missing_value():
    grads = ec.tree.map(jnp.ones_like, PARAMS)
    opt = eo.adamw(1e-3)
    with pytest.raises(ValueError, match="params"):
        opt.update(grads, opt.init(PARAMS))
    opt = eo.polyak_sgd()
    with pytest.raises(TypeError, match="value"):
        opt.update(grads, opt.init(PARAMS))


def test_hyperparameter_of_the_wrong_type():
    with pytest.raises(TypeError, match="hyperparameter"):
        eo.sgd("fast")
    opt = eo.adam(jnp.asarray(1e-3))
    with pytest.raises(ValueError, match=r"shape \(\)"):
        eo.set_hyperparams(opt.init(PARAMS), learning_rate=jnp.ones(4))
