"""Array: properties, conversions, Python protocols, repr."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp


def test_properties():
    x = jnp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.dtype == np.float32
    assert x.nbytes == 24 and x.itemsize == 4 and not x.weak_type
    assert x.devices() == {ec.devices()[0]} and x.sharding.device_set == {ec.devices()[0]}
    assert x.block_until_ready() is x and x.is_ready()


def test_conversions():
    x = jnp.asarray(np.float32([1.5, -2.0]))
    np.testing.assert_array_equal(np.asarray(x), [1.5, -2.0])
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert x.tolist() == [1.5, -2.0]
    s = jnp.asarray(np.float32(3.25))
    assert s.item() == 3.25 and float(s) == 3.25 and int(s) == 3 and complex(s) == 3.25
    assert f"{s:.1f}" == "3.2" or f"{s:.1f}" == "3.3"
    np.testing.assert_array_equal(np.from_dlpack(x), [1.5, -2.0])
    assert [float(v) for v in x] == [1.5, -2.0] and len(x) == 2


def test_astype_and_operators():
    x = jnp.asarray(np.int32([1, 2, 3]))
    y = x.astype(np.float32) / 2
    assert y.dtype == np.float32 and y.tolist() == [0.5, 1.0, 1.5]
    assert (x + 1).tolist() == [2, 3, 4] and (1 - x).tolist() == [0, -1, -2] and (-x).tolist() == [-1, -2, -3]
    assert (x * x).tolist() == [1, 4, 9] and (x ** 2).tolist() == [1, 4, 9] and (2 ** x).tolist() == [2, 4, 8]
    assert (x // 2).tolist() == [0, 1, 1] and (x % 2).tolist() == [1, 0, 1] and (-x // 2).tolist() == [-1, -1, -2]
    assert (x == 2).tolist() == [False, True, False] and (x >= 2).tolist() == [False, True, True]
    assert (x & 1).tolist() == [1, 0, 1] and (x | 4).tolist() == [5, 6, 7] and (~x).tolist() == [-2, -3, -4]
    assert (x << 1).tolist() == [2, 4, 6] and abs(-x).tolist() == [1, 2, 3]
    assert (np.float32(2) * jnp.ones(2)).tolist() == [2.0, 2.0]


def test_truthiness():
    assert bool(jnp.asarray(np.float32(1))) is True
    with pytest.raises(ValueError, match="truth value of an array with more than one element"):
        bool(jnp.ones(2))
    with pytest.raises(TypeError, match="only integer scalar arrays can be used as an index"):
        [1, 2][jnp.ones(1)]


def test_repr_and_str():
    assert repr(jnp.asarray(np.float32([1.0, 2.0]))) == "Array([1., 2.], dtype=float32)"
    assert repr(jnp.asarray(1.0)) == "Array(1., dtype=float32, weak_type=True)"
    assert repr(jnp.asarray(np.int8([1]))) == "Array([1], dtype=int8)"
    assert str(jnp.asarray(np.int32([1, 2]))) == "[1 2]"


def test_pickle_and_copy():
    x = jnp.asarray(np.float32([1, 2]))
    y = pickle.loads(pickle.dumps(x))
    assert isinstance(y, ec.Array) and y.tolist() == [1.0, 2.0]
    assert copy.copy(x) is x and copy.deepcopy(x) is x


def test_arrays_are_immutable_and_unhashable():
    x = jnp.ones(2)
    with pytest.raises(TypeError):
        x[0] = 5  # arrays are immutable: use x.at[0].set(5)
    with pytest.raises(TypeError, match="unhashable"):
        {x: 1}
    with pytest.raises(TypeError, match="not created directly"):
        ec.Array(np.ones(2))


def test_delete():
    x = jnp.ones(3) * 2
    x.delete()
    assert x.is_deleted()
    assert "deleted" in repr(x)
    with pytest.raises(RuntimeError, match="deleted or donated"):
        x.tolist()
