import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn
from ember.core.sharding import NamedSharding
from ember.core.sharding import PartitionSpec as P

RULES = [("batch", "data"), ("embed", None), ("mlp", "model")]


class MLP(nn.Module):
    def __init__(self, rngs):
        init = nn.initializers.lecun_normal()
        self.up = nn.Linear(16, 32, kernel_init=nn.with_partitioning(init, ("embed", "mlp")),
                            bias_init=nn.with_partitioning(nn.initializers.zeros, ("mlp",)), rngs=rngs)
        self.down = nn.Linear(32, 16, kernel_init=nn.with_partitioning(init, ("mlp", "embed")), rngs=rngs)
        self.norm = nn.LayerNorm(16, rngs=rngs)

    def __call__(self, x):
        return self.norm(self.down(nn.relu(self.up(x))))


def test_logical_to_mesh_axes_rules():
    assert nn.logical_to_mesh_axes(("batch", "mlp"), RULES) == P("data", "model")
    assert nn.logical_to_mesh_axes(("embed", "unknown"), RULES) == P(None, None)
    # a mesh axis is used once: the second 'mlp' dimension falls back to the next rule or None
    assert nn.logical_to_mesh_axes(("mlp", "mlp"), [("mlp", "model"), ("mlp", "data")]) == P("model", "data")
    assert nn.logical_to_mesh_axes(("a", "b")) == P("a", "b")       # no rules: names are mesh axes
    with nn.logical_axis_rules(RULES):
        assert nn.get_logical_axis_rules() is not None
        assert nn.logical_to_mesh_axes(("mlp",)) == P("model")
    assert nn.get_logical_axis_rules() is None


def test_get_partition_spec_follows_metadata():
    model = nn.eval_shape(lambda: MLP(nn.Rngs(0)))
    with nn.logical_axis_rules(RULES):
        specs = nn.get_partition_spec(nn.state(model))
    assert specs["up"]["kernel"].value == P(None, "model")
    assert specs["up"]["bias"].value == P("model")
    assert specs["down"]["kernel"].value == P("model", None)
    assert specs["down"]["bias"].value == P() and specs["norm"]["scale"].value == P()


@pytest.mark.skipif(ec.device_count() < 8, reason="needs 8 devices (EMBER_NUM_CPU_DEVICES=8)")
def test_sharded_initialisation_creates_the_model_directly_sharded():
    mesh = ec.make_mesh((2, 4), ("data", "model"))
    abstract = nn.eval_shape(lambda: MLP(nn.Rngs(0)))          # nothing allocated
    graphdef, abstract_state = nn.split(abstract)
    with nn.logical_axis_rules(RULES):
        shardings = nn.get_named_sharding(abstract_state, mesh)

    # ec.jit takes a pytree of out_shardings only under a tuple/list/dict at the top (core limitation)
    @ec.jit(out_shardings=(shardings,))
    def init():
        return (nn.state(MLP(nn.Rngs(0))),)

    (state,) = init()
    model = nn.merge(graphdef, state)
    kernel = model.up.kernel.value
    assert kernel.sharding == NamedSharding(mesh, P(None, "model"))
    assert {s.data.shape for s in kernel.addressable_shards} == {(16, 8)}     # each device holds a quarter
    reference = MLP(nn.Rngs(0))
    np.testing.assert_allclose(np.asarray(kernel), np.asarray(reference.up.kernel.value), rtol=1e-6)
    x = jnp.ones((8, 16))
    y = nn.jit(lambda m, x: m(x))(model, x)
    np.testing.assert_allclose(np.asarray(y), np.asarray(reference(x)), rtol=1e-4, atol=1e-5)
    abs_graphdef, abs_state = nn.get_abstract_model(lambda: MLP(nn.Rngs(0)), mesh, RULES)
    assert abs_state["up"]["kernel"].value.sharding == NamedSharding(mesh, P(None, "model"))
    with nn.logical_axis_rules(RULES):
        helper = nn.create_sharded_model(lambda: MLP(nn.Rngs(0)), mesh)
    assert helper.down.kernel.value.sharding == NamedSharding(mesh, P("model", None))
    np.testing.assert_allclose(np.asarray(helper.down.kernel.value), np.asarray(reference.down.kernel.value))
