import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn


def _model():
    class M(nn.Module):
        def __init__(self):
            self.layers = [nn.Linear(2, 3, rngs=nn.Rngs(0)), nn.Linear(3, 1, rngs=nn.Rngs(1))]
            self.bn = nn.BatchNorm(1, rngs=nn.Rngs(2))

    return M()


def test_nested_access_and_flat_state():
    s = nn.state(_model())
    assert s["layers"][0]["kernel"].shape == (2, 3)
    assert s.layers[1].kernel.shape == (3, 1)
    paths = [p for p, _ in s.flat_state()]
    assert paths == sorted(paths, key=lambda p: tuple(str(x) for x in p))
    assert ("bn", "mean") in paths and ("layers", 0, "bias") in paths
    assert len(s.flat_state()) == 8


def test_state_is_a_pytree_and_maps_keep_variable_types():
    s = nn.state(_model())
    doubled = ec.tree.map(lambda x: x * 2, s)
    assert type(doubled) is nn.State and type(doubled["bn"]["mean"]) is nn.BatchStat
    np.testing.assert_allclose(np.asarray(doubled.layers[0].kernel.value), 2 * np.asarray(s.layers[0].kernel.value))
    assert ec.tree.structure(doubled) == ec.tree.structure(s)
    keys = [ec.tree.keystr(p) for p, _ in ec.tree.leaves_with_path(s)]
    assert "['layers'][0]['kernel'].value" in keys


def test_filter_split_merge():
    s = nn.state(_model())
    params, stats = s.split(nn.Param, nn.BatchStat)
    assert {p[-1] for p, _ in params.flat_state()} == {"kernel", "bias", "scale"}
    assert {p[-1] for p, _ in stats.flat_state()} == {"mean", "var"}
    merged = nn.State.merge(params, stats)
    assert len(merged.flat_state()) == 8
    only = s.filter(nn.BatchStat)
    assert set(only["bn"].keys()) == {"mean", "var"}
    with pytest.raises(ValueError):
        s.split(nn.Param)


def test_pure_dict_roundtrip():
    model = _model()
    pure = nn.state(model).to_pure_dict()
    assert isinstance(pure["layers"][0]["kernel"], ec.Array)
    # a pure dict with string keys (as after saving) replaces the values in place
    saved = {"layers": {str(k): v for k, v in pure["layers"].items()}, "bn": pure["bn"]}
    saved["layers"]["0"] = {"kernel": jnp.zeros((2, 3)), "bias": jnp.ones(3)}
    s = nn.state(model)
    s.replace_by_pure_dict(saved)
    np.testing.assert_array_equal(np.asarray(model.layers[0].kernel.value), np.zeros((2, 3)))
    np.testing.assert_array_equal(np.asarray(model.layers[0].bias.value), np.ones(3))


def test_from_flat_state_and_map_state():
    flat = [(("a", "x"), 1), (("a", "y"), 2), (("b",), 3)]
    s = nn.from_flat_state(flat)
    assert s["a"]["y"] == 2 and s["b"] == 3
    assert nn.map_state(lambda p, v: v * 10, s)["a"]["x"] == 10
    assert list(nn.to_flat_state(s)) == flat
