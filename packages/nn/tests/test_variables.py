import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn


def test_value_access_and_setitem():
    v = nn.Param(jnp.zeros(3))
    v[...] = jnp.ones(3)
    v[1] = 5.0
    np.testing.assert_array_equal(np.asarray(v.value), [1, 5, 1])
    v.value = jnp.arange(3.0)
    np.testing.assert_array_equal(np.asarray(v[...]), [0, 1, 2])
    assert v.shape == (3,) and v.dtype == jnp.float32 and v.ndim == 1 and v.size == 3 and len(v) == 3


def test_arithmetic_delegates_to_value():
    v = nn.Param(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(np.asarray(v + 1), [2, 3])
    np.testing.assert_allclose(np.asarray(1 - v), [0, -1])
    np.testing.assert_allclose(np.asarray(v * v), [1, 4])
    np.testing.assert_allclose(np.asarray(-v), [-1, -2])
    m = nn.Param(jnp.eye(2))
    np.testing.assert_allclose(np.asarray(jnp.ones((1, 2)) @ m), [[1, 1]])
    assert float(v.sum()) == 3.0


def test_metadata_attributes_and_aliases():
    v = nn.Param(jnp.ones(2), sharding=("a",), note="x")
    assert v.sharding_names == ("a",) and v.note == "x"
    assert v.get_metadata() == {"sharding_names": ("a",), "note": "x"}
    v2 = v.replace(value=jnp.zeros(2), note="y")
    assert type(v2) is nn.Param and v2.note == "y" and v.note == "x"
    with pytest.raises(AttributeError):
        v.missing_attribute


def test_metadata_change_bumps_structure_version():
    v = nn.Param(1.0)
    before = nn.graph_version()
    v.note = "hello"
    assert nn.graph_version() > before


def test_variables_are_pytrees_with_metadata_in_treedef():
    v = nn.BatchStat(jnp.ones(2), tag="t")
    leaves, treedef = ec.tree.flatten(v)
    assert len(leaves) == 1
    w = ec.tree.map(lambda x: x * 3, v)
    assert type(w) is nn.BatchStat and w.tag == "t" and w is not v
    np.testing.assert_allclose(np.asarray(w.value), [3, 3])
    (path, _), = ec.tree.leaves_with_path(v)
    assert ec.tree.keystr(path) == ".value"
    assert ec.tree.structure(nn.Param(1.0, a=1)) != ec.tree.structure(nn.Param(1.0, a=2))


def test_user_defined_kind_is_a_pytree_and_filterable():
    class Frozen(nn.Param):
        pass

    m = nn.Module()
    m.a = Frozen(jnp.ones(1))
    m.b = nn.Param(jnp.ones(1))
    assert list(nn.state(m, Frozen).keys()) == ["a"]
    assert sorted(nn.state(m, nn.Param).keys()) == ["a", "b"]
    assert type(ec.tree.map(lambda x: x, m.a)) is Frozen


def test_with_metadata_initializer():
    init = nn.with_metadata(nn.initializers.zeros, sharding_names=("x",))
    layer = nn.Linear(2, 3, bias_init=init, rngs=nn.Rngs(0))
    assert layer.bias.sharding_names == ("x",)
    assert not hasattr(layer.kernel, "sharding_names")


def test_copy_is_independent():
    v = nn.Param(jnp.ones(1), a=1)
    c = v.copy()
    c.value = jnp.zeros(1)
    c.a = 2
    assert float(v.value[0]) == 1.0 and v.a == 1
