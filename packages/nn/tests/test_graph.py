import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn


class Block(nn.Module):
    def __init__(self, rngs):
        self.linear = nn.Linear(2, 2, rngs=rngs)
        self.bn = nn.BatchNorm(2, rngs=rngs)

    def __call__(self, x):
        return self.bn(self.linear(x))


class Tied(nn.Module):
    def __init__(self, rngs):
        self.embed = nn.Embed(5, 3, rngs=rngs)
        self.head = self.embed                 # shared module
        self.scale = nn.Param(jnp.ones(()))
        self.alias = self.scale                 # shared Variable


def test_split_merge_roundtrip_preserves_values_and_types():
    model = Block(nn.Rngs(0))
    graphdef, state = nn.split(model)
    copy = nn.merge(graphdef, state)
    assert type(copy) is Block and type(copy.bn) is nn.BatchNorm
    assert copy.linear.kernel is model.linear.kernel      # merge reuses the state's Variables
    assert copy.bn.momentum == 0.99 and copy.bn.use_running_average is False
    x = jnp.ones((3, 2))
    np.testing.assert_allclose(np.asarray(copy.linear(x)), np.asarray(model.linear(x)))


def test_split_with_filters_partitions_state():
    model = Block(nn.Rngs(0))
    graphdef, params, stats = nn.split(model, nn.Param, nn.BatchStat)
    assert len(params.flat_state()) == 4 and len(stats.flat_state()) == 2
    copy = nn.merge(graphdef, params, stats)
    assert copy.bn.mean is model.bn.mean
    with pytest.raises(KeyError, match="bn/mean"):
        nn.merge(graphdef, params)


def test_shared_modules_and_variables_stay_shared():
    model = Tied(nn.Rngs(0))
    graphdef, state = nn.split(model)
    assert set(state.keys()) == {"alias", "embed"}           # each object once, at its first (sorted) path
    copy = nn.merge(graphdef, state)
    assert copy.head is copy.embed and copy.alias is copy.scale
    cloned = nn.clone(model)
    assert cloned.head is cloned.embed and cloned.alias is cloned.scale
    assert cloned.embed.embedding is not model.embed.embedding
    assert sorted(map(sorted, nn.find_duplicates(model))) == [[("alias",), ("scale",)], [("embed",), ("head",)]]


def test_reference_cycles():
    a = nn.Module()
    b = nn.Module()
    a.child = b
    b.parent = a
    a.w = nn.Param(jnp.ones(2))
    graphdef, state = nn.split(a)
    assert [p for p, _ in state.flat_state()] == [("w",)]
    copy = nn.merge(graphdef, state)
    assert copy.child.parent is copy
    paths = [p for p, _ in nn.iter_graph(a)]
    assert paths == [("child",), ("w",), ()]
    assert "Module(...)" in repr(a)


def test_graphdef_is_hashable_and_structural():
    g1 = nn.graphdef(Block(nn.Rngs(0)))
    g2 = nn.graphdef(Block(nn.Rngs(1)))
    assert g1 == g2 and hash(g1) == hash(g2)
    other = Block(nn.Rngs(0))
    other.bn.momentum = 0.5
    assert nn.graphdef(other) != g1
    assert {g1: 1}[g2] == 1


def test_state_update_and_raw_array_attributes():
    m = nn.Module()
    m.w = nn.Param(jnp.zeros(2))
    m.buffer = jnp.arange(3.0)              # raw arrays are state too
    s = nn.state(m)
    assert set(s.keys()) == {"w", "buffer"}
    nn.update(m, nn.State({"w": jnp.ones(2), "buffer": jnp.zeros(3)}))
    np.testing.assert_array_equal(np.asarray(m.w.value), [1, 1])
    np.testing.assert_array_equal(np.asarray(m.buffer), [0, 0, 0])
    other = nn.Module()
    nn.update(other, nn.State({"extra": nn.Intermediate(1.0)}))   # update creates missing paths
    assert other.extra.value == 1.0


def test_iter_graph_and_iter_modules_paths():
    model = Block(nn.Rngs(0))
    items = [(p, type(v).__name__) for p, v in nn.iter_graph(model)]
    assert items[-1] == ((), "Block")
    assert (("bn", "mean"), "BatchStat") in items and (("linear",), "Linear") in items
    modules = [p for p, _ in nn.iter_modules(model)]
    assert modules == [("bn",), ("linear",), ()]
    assert [k for k, _ in nn.iter_children(model)] == ["bn", "linear"]


def test_pop_removes_variables():
    model = Block(nn.Rngs(0))
    model.linear.sow(nn.Intermediate, "h", jnp.ones(2))
    popped = nn.pop(model, nn.Intermediate)
    assert popped["linear"]["h"].value[0].shape == (2,)
    assert not hasattr(model.linear, "h")
    assert len(nn.state(model, nn.Intermediate).flat_state()) == 0


def test_containers_tuples_dicts_and_lists():
    m = nn.Module()
    m.pair = (nn.Linear(1, 1, rngs=nn.Rngs(0)), 3)           # tuple: pytree container
    m.named = {"a": nn.Param(jnp.ones(1)), "cfg": 2}          # dict -> nn.Dict
    m.stack = [nn.Param(jnp.zeros(1))]                        # list -> nn.List
    assert isinstance(m.named, nn.Dict) and isinstance(m.stack, nn.List)
    paths = {p for p, _ in nn.state(m).flat_state()}
    assert paths == {("pair", 0, "kernel"), ("pair", 0, "bias"), ("named", "a"), ("stack", 0)}
    copy = nn.clone(m)
    assert copy.pair[1] == 3 and copy.named["cfg"] == 2 and isinstance(copy.pair[0], nn.Linear)
    g, s = nn.split(m)
    nn.update(m, ec.tree.map(lambda x: x + 1, s))
    assert float(m.stack[0].value[0]) == 1.0


def test_structural_mutations_bump_the_version():
    m = nn.Module()
    m.layers = []
    v0 = nn.graph_version()
    m.layers.append(nn.Linear(1, 1, rngs=nn.Rngs(0)))
    v1 = nn.graph_version()
    m.layers[0].kernel.value = jnp.zeros((1, 1))             # value writes are not structural
    assert nn.graph_version() == v1 > v0
    m.layers[0] = nn.Linear(1, 2, rngs=nn.Rngs(0))
    assert nn.graph_version() > v1


def test_graphdef_apply_is_functional():
    layer = nn.BatchNorm(2, rngs=nn.Rngs(0))
    g, s = nn.split(layer)
    y, (g2, s2) = g.apply(s)(jnp.arange(4.0).reshape(2, 2))
    assert g2 == g and y.shape == (2, 2)
    np.testing.assert_allclose(np.asarray(s2["mean"].value), [0.01, 0.02], rtol=1e-5)
