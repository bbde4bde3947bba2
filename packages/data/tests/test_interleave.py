import pytest
from ember_data_testing import check_resume_everywhere

import ember.data as ed


def test_interleave_semantics():
    dss = [ed.MapDataset.range(i * 10, i * 10 + n) for i, n in enumerate([3, 1, 2, 4])]
    assert list(ed.IterDataset.interleave(dss, cycle_length=2)) == [0, 10, 1, 20, 2, 21, 30, 31, 32, 33]
    assert list(ed.IterDataset.interleave(dss, cycle_length=1)) == [0, 1, 2, 10, 20, 21, 30, 31, 32, 33]
    assert sorted(ed.InterleaveIterDataset(dss)) == sorted(x for d in dss for x in d)
    with pytest.raises(ValueError):
        ed.IterDataset.interleave(dss, cycle_length=0)


def test_resume_through_interleave_and_filter():
    def make():
        dss = [ed.MapDataset.range(i * 100, i * 100 + n).to_iter_dataset().filter(lambda x: x % 3)
               for i, n in enumerate([7, 3, 9, 5])]
        return ed.IterDataset.interleave(dss, cycle_length=3).batch(2)

    check_resume_everywhere(make)


def test_mix_iter_datasets():
    a = ed.MapDataset.source(["a"] * 50).to_iter_dataset()
    b = ed.MapDataset.source(["b"] * 50).to_iter_dataset()
    out = list(ed.IterDataset.mix([a, b], [2, 1]))
    assert out[:6] == ["a", "b", "a", "a", "b", "a"] and out.count("a") == 50 and len(out) == 75
    named = ed.IterDataset.mix({"x": a, "y": b}, {"x": 1, "y": 1})
    it = iter(named)
    next(it)
    assert set(it.get_state()["parents"]) == {"x", "y"}


def test_resume_through_mix_with_filter():
    def make():
        a = ed.MapDataset.range(40).shuffle(seed=1).to_iter_dataset().filter(lambda x: x % 2)
        b = ed.MapDataset.range(100, 130).to_iter_dataset().map(lambda x: -x)
        return ed.IterDataset.mix([a, b], [0.6, 0.4]).batch(3)

    check_resume_everywhere(make)
