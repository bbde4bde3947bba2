import collections

import numpy as np
import pytest

import ember.data as ed


def test_make_batch_nested_structures():
    Point = collections.namedtuple("Point", "x y")
    recs = [{"a": (np.zeros(2), i), "p": Point(i, [i, i + 1]), "s": "t"} for i in range(3)]
    b = ed.make_batch(recs)
    assert b["a"][0].shape == (3, 2) and b["a"][1].tolist() == [0, 1, 2]
    assert isinstance(b["p"], Point) and b["p"].x.tolist() == [0, 1, 2] and b["p"].y[1].tolist() == [1, 2, 3]
    assert b["s"].tolist() == ["t", "t", "t"]


def test_unstackable_field_names_field_and_shapes():
    recs = [{"img": np.zeros((3, 4)), "y": 0}, {"img": np.zeros((3, 4)), "y": 1}, {"img": np.zeros((5, 4)), "y": 2}]
    with pytest.raises(ValueError, match=r"\['img'\].*\(3, 4\).*\[0, 1\].*\(5, 4\).*\[2\]"):
        ed.make_batch(recs)
    with pytest.raises(ValueError, match="differ in structure"):
        ed.make_batch([{"a": 1}, {"b": 1}])
    with pytest.raises(ValueError, match="0 records"):
        ed.make_batch([])


def test_batch_and_pad():
    b = ed.batch_and_pad([{"x": np.ones(2)}] * 2, batch_size=4)
    assert b["x"].shape == (4, 2) and b["x"][2:].sum() == 0
    ds = ed.MapDataset.range(5).batch(3, batch_fn=lambda v: ed.batch_and_pad(v, batch_size=3, pad_value=-1))
    assert [x.tolist() for x in ds] == [[0, 1, 2], [3, 4, -1]]


def test_streaming_batch_matches_make_batch():
    from ember_data_testing import assert_tree_equal

    from ember.data._src.batching import make_batch_streaming

    cases = [
        [{"a": np.int32(1), "b": [np.zeros(2), "x"]}, {"a": np.float64(2.5), "b": [np.ones(2), "y"]}],
        [(1, 2.0, True), (3, 4.5, False), (5, 6.0, True)],
        [np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16)],
        [{"s": np.str_("ab"), "v": np.zeros((2, 2), np.float32)}] * 4,
    ]
    for recs in cases:
        expected = ed.make_batch(recs)
        got = make_batch_streaming(iter(recs), len(recs))
        assert_tree_equal(got, expected)
        if isinstance(expected, dict) and "a" in expected:
            assert got["a"].dtype == expected["a"].dtype == np.float64
    with pytest.raises(ValueError, match=r"\['v'\].*\(2,\) at batch position 0.*\(3,\) at batch position 1"):
        make_batch_streaming(iter([{"v": np.zeros(2)}, {"v": np.zeros(3)}]), 2)
    with pytest.raises(ValueError, match="differ in structure"):
        make_batch_streaming(iter([{"v": 1}, {"w": 1}]), 2)


def test_fused_map_batch_error_index():
    def boom(x):
        if x == 21:
            raise RuntimeError("bad 21")
        return np.array([x])

    with pytest.raises(RuntimeError) as e:
        list(ed.MapDataset.range(40).to_iter_dataset().map(boom).batch(8))
    assert e.value._ember_data_index == 21
    with pytest.raises(RuntimeError) as e:
        list(ed.MapDataset.range(40).map(boom).batch(8))
    assert e.value._ember_data_index == 21
