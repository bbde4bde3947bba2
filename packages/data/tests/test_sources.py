import sys

import numpy as np
import pytest

import ember.data as ed


def test_in_memory_array_dict_and_sequence():
    arr = np.arange(24).reshape(6, 4)
    src = ed.InMemoryDataSource(arr)
    assert len(src) == 6 and src[2].tolist() == [8, 9, 10, 11] and src[-1].tolist() == arr[5].tolist()
    assert [r.tolist() for r in src.__getitems__([5, 0])] == [arr[5].tolist(), arr[0].tolist()]
    cols = ed.InMemoryDataSource({"x": arr, "name": ["a", "b", "c", "d", "e", "f"]})
    rec = cols[3]
    assert rec["x"].tolist() == arr[3].tolist() and rec["name"] == "d"
    recs = cols.__getitems__(np.array([1, 4]))
    assert [r["name"] for r in recs] == ["b", "e"] and recs[1]["x"].tolist() == arr[4].tolist()
    seq = ed.InMemoryDataSource([{"a": 1}, {"a": 2}])
    assert seq.__getitems__([1, 0]) == [{"a": 2}, {"a": 1}]


def test_index_out_of_range_is_a_clear_error():
    src = ed.InMemoryDataSource(np.zeros((3, 2)))
    with pytest.raises(IndexError, match="Index 3 is out of range.*length 3"):
        src[3]
    with pytest.raises(IndexError, match="Index -4"):
        src[-4]
    with pytest.raises(IndexError, match="Index 10 is out of range"):
        src.__getitems__([0, 10])
    with pytest.raises(TypeError, match="integers"):
        src["a"]
    with pytest.raises(ValueError, match="same length"):
        ed.InMemoryDataSource({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(TypeError):
        ed.InMemoryDataSource(5)


def test_range_source_and_user_source():
    r = ed.RangeDataSource(3, 20, 4)
    assert len(r) == 5 and r[1] == 7 and r.__getitems__([0, 4]) == [3, 19]
    with pytest.raises(IndexError):
        r[5]

    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            if not 0 <= i < 5:
                raise IndexError(i)
            return i * i

    assert isinstance(Squares(), ed.RandomAccessDataSource)
    assert list(ed.MapDataset.source(Squares())) == [0, 1, 4, 9, 16]


def test_source_with_getitems_is_read_in_bulk():
    calls = []

    class Bulk:
        def __len__(self):
            return 100

        def __getitem__(self, i):
            raise AssertionError("per-record read used")

        def __getitems__(self, idx):
            calls.append(list(idx))
            return [i * 2 for i in idx]

    out = list(ed.MapDataset.source(Bulk()).to_iter_dataset())
    assert out == [i * 2 for i in range(100)]
    assert len(calls) < 20 and all(isinstance(c, list) for c in calls)


def test_array_record_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "array_record", None)
    monkeypatch.setitem(sys.modules, "array_record.python", None)
    with pytest.raises(ImportError, match="pip install"):
        ed.ArrayRecordDataSource("x.array_record")


def test_array_record_roundtrip(tmp_path):
    pytest.importorskip("array_record.python.array_record_module")
    from array_record.python.array_record_module import ArrayRecordWriter

    path = str(tmp_path / "d.array_record")
    w = ArrayRecordWriter(path, "group_size:1")
    for i in range(10):
        w.write(f"rec{i}".encode())
    w.close()
    src = ed.ArrayRecordDataSource(path)
    assert len(src) == 10 and src[3] == b"rec3" and src.__getitems__([9, 0]) == [b"rec9", b"rec0"]
    assert list(ed.MapDataset.source(src).map(bytes.decode))[:2] == ["rec0", "rec1"]
