import operator

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


# --- a Variable stands for its value (Flax NNX's __jax_array__ and operator dunders) ------------

def test_jnp_functions_accept_variables():
    a = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    b = np.array([[1.0, 2.0], [-3.0, 0.5]], np.float32)
    v, w = nn.Param(jnp.asarray(a)), nn.BatchStat(jnp.asarray(b))
    np.testing.assert_allclose(np.asarray(jnp.tanh(v)), np.tanh(a), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jnp.dot(v, w)), a @ b, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jnp.where(v > 0, v, w)), np.where(a > 0, a, b))
    np.testing.assert_allclose(np.asarray(jnp.concatenate([v, w])), np.concatenate([a, b]))
    np.testing.assert_allclose(np.asarray(jnp.maximum(v, 0.0)), np.maximum(a, 0))
    np.testing.assert_allclose(np.asarray(nn.gelu(v)), np.asarray(nn.gelu(jnp.asarray(a))))
    assert type(jnp.asarray(v)) is ec.Array and v.__jax_array__() is v.value
    np.testing.assert_array_equal(np.asarray(jnp.asarray(v)), a)


def test_operators_apply_to_the_value():
    a = np.array([1.0, -2.0, 3.0], np.float32)
    b = np.array([0.5, 4.0, -1.0], np.float32)
    v, w = nn.Param(jnp.asarray(a)), nn.Param(jnp.asarray(b))
    cases = {
        "v + w": (v + w, a + b), "2 + v": (2 + v, 2 + a), "v - 1": (v - 1, a - 1), "1 - v": (1 - v, 1 - a),
        "v * w": (v * w, a * b), "3 * v": (3 * v, 3 * a), "v / 2": (v / 2, a / 2), "2 / v": (2 / v, 2 / a),
        "v // 2": (v // 2, a // 2), "7 // v": (7 // v, 7 // a), "v % 2": (v % 2, a % 2), "7 % v": (7 % v, 7 % a),
        "v ** 2": (v ** 2, a ** 2), "2 ** v": (2 ** v, 2 ** a), "v @ w": (v @ w, a @ b),
        "array @ v": (jnp.asarray(b) @ v, b @ a), "array + v": (jnp.asarray(b) + v, b + a),
        "numpy + v": (b + v, b + a), "numpy * v": (b * v, b * a),
        "-v": (-v, -a), "+v": (+v, a), "abs(v)": (abs(v), np.abs(a)),
        "v < w": (v < w, a < b), "v <= 1": (v <= 1, a <= 1), "v > w": (v > w, a > b), "v >= 1": (v >= 1, a >= 1),
        "1 < v": (1 < v, 1 < a), "array > v": (jnp.asarray(b) > v, b > a),
        "v == w": (v == w, a == b), "v == 3": (v == 3, a == 3), "v != w": (v != w, a != b),
        "array == v": (jnp.asarray(a) == v, np.ones(3, bool)),
        "divmod(v, 2)": (divmod(v, 2)[1], np.mod(a, 2)), "divmod(7, w)": (divmod(7, w)[0], 7 // b),
    }
    for name, (got, want) in cases.items():
        assert isinstance(got, ec.Array), name                     # a plain array, not a Variable
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, err_msg=name)
    i, j = nn.Param(jnp.array([6, 3])), nn.Param(jnp.array([3, 5]))
    for name, got, want in [("&", i & j, [2, 1]), ("|", i | j, [7, 7]), ("^", i ^ j, [5, 6]), ("<<", i << 1, [12, 6]),
                            (">>", i >> 1, [3, 1]), ("~", ~i, [-7, -4]), ("r&", 3 & i, [2, 3])]:
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=name)
    np.testing.assert_allclose(np.asarray(v[1:]), a[1:])
    np.testing.assert_allclose(np.asarray(v.T), a)


def test_array_protocol_properties_and_conversions():
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    v = nn.Param(jnp.asarray(a))
    assert (v.shape, v.dtype, v.ndim, v.size, len(v)) == ((2, 3), jnp.float32, 2, 6, 2)
    assert isinstance(np.asarray(v), np.ndarray)
    np.testing.assert_array_equal(np.asarray(v), a)
    assert np.asarray(v, dtype=np.int32).dtype == np.int32
    c = np.array(v, copy=True)
    c[0, 0] = 100.0
    assert float(v[0, 0]) == 0.0
    np.testing.assert_array_equal(np.stack([np.asarray(r) for r in v]), a)
    assert 4.0 in nn.Param(jnp.asarray(a[1])) and 7.0 not in nn.Param(jnp.asarray(a[1]))
    s = nn.Param(jnp.float32(2.75))
    assert float(s) == 2.75 and int(s) == 2 and complex(s) == 2.75 and float(round(s)) == 3.0
    k = nn.Param(jnp.int32(2))
    assert [10, 11, 12][k] == 12 and operator.index(k) == 2
    assert bool(nn.Param(jnp.zeros(()))) is True      # an object: `if module.bias:` tests presence


def test_variables_are_unhashable_and_in_place_operators_raise():
    v = nn.Param(jnp.ones(2))
    with pytest.raises(TypeError, match="unhashable"):
        hash(v)
    with pytest.raises(TypeError, match="unhashable"):
        {v}
    w = v
    with pytest.raises(NotImplementedError, match=r"v\[\.\.\.\] \+= x"):
        w += 1
    assert w is v
    v[...] += 1                     # the supported spelling: read, add, write back
    v[...] *= 3
    np.testing.assert_array_equal(np.asarray(v.value), [6.0, 6.0])
    v[...] = nn.Param(jnp.zeros(2))   # assigning a Variable copies its value, never nests it
    assert type(v.value) is ec.Array


def test_jit_and_grad_receive_variables_as_pytrees():
    v = nn.Param(jnp.array([0.5, -1.0, 2.0]), tag="w")
    seen = []

    def f(p):
        seen.append(type(p))
        return jnp.sum(jnp.tanh(p[...]) * p)

    out = ec.jit(f)(v)
    assert seen == [nn.Param]                 # the function gets a Variable (holding a tracer)
    a = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(float(out), np.sum(np.tanh(a) * a), rtol=1e-6)
    g = ec.grad(f)(v)
    assert type(g) is nn.Param and g.tag == "w"
    np.testing.assert_allclose(np.asarray(g.value), np.tanh(a) + a * (1 - np.tanh(a) ** 2), rtol=1e-5)
    same = ec.jit(lambda p: p)(v)
    assert type(same) is nn.Param and same is not v and same.tag == "w"
    np.testing.assert_allclose(np.asarray(ec.vmap(lambda p: jnp.sin(p) + p)(v)), np.sin(a) + a, rtol=1e-6)


def test_modules_using_variables_directly_in_jnp_under_nn_jit_and_grad():
    class Block(nn.Module):
        def __init__(self):
            self.w = nn.Param(jnp.array([[1.0, -2.0], [0.5, 3.0]]))
            self.b = nn.Param(jnp.array([0.1, -0.2]))

        def __call__(self, x):
            return jnp.tanh(x @ self.w + self.b) * jnp.exp(self.b)

    m = Block()
    x = np.array([[1.0, 2.0]], np.float32)
    w, b = np.asarray(m.w, np.float64), np.asarray(m.b, np.float64)
    ref = np.tanh(x @ w + b) * np.exp(b)
    np.testing.assert_allclose(np.asarray(nn.jit(lambda m, x: m(x))(m, jnp.asarray(x))), ref, rtol=1e-6)
    grads = nn.grad(lambda m: m(jnp.asarray(x)).sum())(m)
    t = np.tanh(x @ w + b)
    dz = (1 - t ** 2) * np.exp(b)
    np.testing.assert_allclose(np.asarray(grads["w"].value), x.T @ dz, rtol=1e-4)
    np.testing.assert_allclose(np.asarray(grads["b"].value), (dz + t * np.exp(b)).sum(0), rtol=1e-4)


def test_graph_functions_use_identity_not_equality_for_variables():
    m = nn.Module()
    m.a = nn.Param(jnp.float32(1.0))
    m.b = nn.Param(jnp.float32(1.0))        # equal values, distinct Variables
    m.c = m.a                                # tied
    m.layers = [nn.Param(jnp.float32(1.0)), m.b]
    graphdef, state = nn.split(m)
    assert sorted(state.keys()) == ["a", "b", "layers"] and sorted(state["layers"].keys()) == [0]
    m2 = nn.merge(graphdef, state)
    assert m2.a is m2.c and m2.a is not m2.b and m2.layers[1] is m2.b and m2.layers[0] is not m2.a
    assert nn.state(m) == nn.state(m)          # the same Variables: equal by identity first

    @nn.jit
    def bump(m):
        m.a[...] = m.a + 1

    bump(m)
    assert float(m.a[...]) == 2.0 and float(m.c[...]) == 2.0 and float(m.b[...]) == 1.0
    assert float(m.layers[0][...]) == 1.0
