import numpy as np

import ember.core as ec
import ember.core.numpy as jnp
import ember.nn as nn
from ember.core import random


def test_streams_fold_in_the_counter_like_nnx():
    rngs = nn.Rngs(0, dropout=1)
    k0 = rngs.params()                                   # falls back to 'default'
    k1 = rngs()
    np.testing.assert_array_equal(np.asarray(k0), np.asarray(random.fold_in(random.PRNGKey(0), 0)))
    np.testing.assert_array_equal(np.asarray(k1), np.asarray(random.fold_in(random.PRNGKey(0), 1)))
    assert int(rngs.default.count.value) == 2 and int(rngs.dropout.count.value) == 0
    np.testing.assert_array_equal(np.asarray(rngs.dropout()), np.asarray(random.fold_in(random.PRNGKey(1), 0)))
    np.testing.assert_array_equal(np.asarray(k0), [1797259609, 2579123966])   # jax.random.fold_in(key(0), 0)
    assert "dropout" in rngs and "params" not in rngs and sorted(rngs) == ["default", "dropout"]


def test_same_seed_same_model_and_missing_stream_error():
    a = nn.Linear(3, 3, rngs=nn.Rngs(params=7))
    b = nn.Linear(3, 3, rngs=nn.Rngs(params=7))
    np.testing.assert_array_equal(np.asarray(a.kernel.value), np.asarray(b.kernel.value))
    try:
        nn.Rngs(params=0).dropout
    except AttributeError as e:
        assert "dropout" in str(e)
    else:
        raise AssertionError("missing stream without default should raise")


def test_rng_counter_advances_under_jit_exactly_like_eager():
    eager = nn.Rngs(3)
    jitted = nn.Rngs(3)
    f = nn.jit(lambda r: random.uniform(r(), (2,)) + random.uniform(r(), (2,)))
    for _ in range(3):
        expected = random.uniform(eager(), (2,)) + random.uniform(eager(), (2,))
        np.testing.assert_allclose(np.asarray(f(jitted)), np.asarray(expected), rtol=1e-6)
    assert int(jitted.default.count.value) == int(eager.default.count.value) == 6


def test_fork_split_reseed():
    rngs = nn.Rngs(params=0)
    forked = rngs.fork()
    assert int(rngs.params.count.value) == 1 and forked.params.key.value.shape == (2,)
    split = rngs.split(4)
    assert split.params.key.value.shape == (4, 2) and split.params.count.value.shape == (4,)
    a = rngs.params()
    nn.reseed(rngs, params=0)
    b = rngs.params()
    np.testing.assert_array_equal(np.asarray(b), np.asarray(random.fold_in(random.PRNGKey(0), 0)))
    assert not bool((a == b).all())


def test_split_rngs_context_restores_keys():
    rngs = nn.Rngs(params=0, dropout=1)
    key_before = np.asarray(rngs.params.key.value)
    with nn.split_rngs(rngs, splits=3, only="params"):
        assert rngs.params.key.value.shape == (3, 2)
        assert rngs.dropout.key.value.shape == (2,)
    np.testing.assert_array_equal(np.asarray(rngs.params.key.value), key_before)
    assert int(rngs.params.count.value) == 1          # the split consumed one draw


def test_rngs_under_vmap_give_different_keys_per_member():
    rngs = nn.Rngs(0)

    @nn.split_rngs(splits=4)
    @nn.vmap(in_axes=0, out_axes=0)
    def draw(r):
        return random.normal(r(), ())

    values = np.asarray(draw(rngs))
    assert values.shape == (4,) and len(set(values.tolist())) == 4
    assert rngs.default.key.value.shape == (2,)
    assert ec.tree.structure(nn.state(rngs)) is not None


def test_rngs_as_scan_carry_match_the_eager_sequence():
    eager, scanned = nn.Rngs(5), nn.Rngs(5)
    expected = [float(random.normal(eager(), ())) for _ in range(4)]

    @nn.scan(in_axes=(nn.Carry, 0), out_axes=(nn.Carry, 0))
    def draw(r, x):
        return r, random.normal(r(), ()) + x

    _, values = draw(scanned, jnp.zeros(4))
    np.testing.assert_allclose(np.asarray(values), expected, rtol=1e-6)
    assert int(scanned.default.count.value) == 4
