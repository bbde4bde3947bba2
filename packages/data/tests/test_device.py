import sys

import numpy as np
import pytest

import ember.data as ed


def test_device_put_without_core_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ember.core", None)
    with pytest.raises(ImportError, match="pip install ember-core"):
        ed.device_put(ed.MapDataset.range(4).batch(2).to_iter_dataset())


def test_device_put_places_batches_and_keeps_state():
    ec = pytest.importorskip("ember.core")
    ds = ed.MapDataset.range(10).map(lambda x: np.full(3, x, np.float32)).batch(2).to_iter_dataset()
    it = iter(ed.device_put(ds, ec.devices()[0], buffer_size=2))
    first = next(it)
    assert isinstance(first, ec.Array) and np.asarray(first).tolist() == [[0, 0, 0], [1, 1, 1]]
    state = it.get_state()
    assert state == {"next_index": 1}  # one batch handed out; the one in flight is not counted
    fresh = iter(ed.device_put(ds, buffer_size=3))
    fresh.set_state(state)
    assert np.asarray(next(fresh))[0, 0] == 2
    assert len(list(fresh)) == 3
    plain = list(ed.device_put(iter([np.ones(2), np.zeros(2)])))
    assert [np.asarray(x).tolist() for x in plain] == [[1, 1], [0, 0]]
    with pytest.raises(ValueError):
        ed.device_put(ds, buffer_size=0)
