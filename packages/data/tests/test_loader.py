import json

import numpy as np
import pytest
from ember_data_testing import assert_tree_equal

import ember.data as ed


class Normalize(ed.transforms.Map):
    def map(self, r):
        return {"x": r["x"].astype(np.float32) / 10, "y": r["y"]}


class Jitter(ed.transforms.RandomMap):
    def random_map(self, r, rng):
        return {"x": r["x"] + rng.random(), "y": r["y"]}


class Odd(ed.transforms.Filter):
    def filter(self, r):
        return int(r["y"]) % 2 == 1


def _source(n=60):
    return ed.InMemoryDataSource({"x": np.arange(n * 2).reshape(n, 2), "y": np.arange(n)})


def _loader(workers=0, shard=None, ops=None, epochs=1):
    shard = shard or ed.NoSharding()
    return ed.DataLoader(
        data_source=_source(),
        sampler=ed.IndexSampler(60, shard, shuffle=True, num_epochs=epochs, seed=4),
        operations=ops if ops is not None else [Normalize(), Jitter(), Odd(), ed.transforms.Batch(4)],
        worker_count=workers, shard_options=shard,
    )


def test_dataloader_output_and_worker_invariance():
    ref = list(_loader())
    assert sum(len(b["y"]) for b in ref) == 30 and all(int(y) % 2 for b in ref for y in b["y"])
    assert sorted(int(y) for b in ref for y in b["y"]) == list(range(1, 60, 2))
    for workers in (1, 2):
        got = list(_loader(workers))
        for a, b in zip(got, ref):
            assert_tree_equal(a, b)


def test_dataloader_resume_with_different_worker_count():
    ref = list(_loader(epochs=2))
    it = iter(_loader(2, epochs=2))
    for _ in range(9):
        next(it)
    state = json.dumps(it.get_state())
    it.close()
    fresh = iter(_loader(0, epochs=2))
    fresh.set_state(state)
    rest = list(fresh)
    assert len(rest) == len(ref) - 9
    for a, b in zip(rest, ref[9:]):
        assert_tree_equal(a, b)
    other = ed.DataLoader(data_source=_source(), sampler=ed.IndexSampler(60, ed.NoSharding(), seed=5),
                          shard_options=ed.NoSharding())
    with pytest.raises(ValueError, match="different sampler"):
        iter(other).set_state(state)


def test_sharding_partitions_records():
    seen = []
    for i in range(3):
        shard = ed.ShardOptions(shard_index=i, shard_count=3)
        loader = _loader(shard=shard, ops=[])
        seen.append(sorted(int(r["y"]) for r in loader))
    assert sorted(sum(seen, [])) == list(range(60))
    assert all(len(s) == 20 for s in seen)
    assert ed.sharding.even_split(10, ed.ShardOptions(2, 3)) == (7, 10)
    assert ed.sharding.even_split(10, ed.ShardOptions(2, 3, drop_remainder=True)) == (6, 9)


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match=r"shard_index must be in \[0, shard_count - 1\]"):
        ed.ShardOptions(shard_index=3, shard_count=3)
    with pytest.raises(ValueError, match="positive"):
        ed.ShardOptions(shard_index=0, shard_count=0)
    with pytest.raises(ValueError, match="non-negative"):
        ed.IndexSampler(10, ed.NoSharding(), shuffle=True, seed=-3)
    with pytest.raises(ValueError, match="needs a seed"):
        ed.IndexSampler(10, ed.NoSharding(), shuffle=True)
    with pytest.raises(ValueError, match="num_records"):
        ed.IndexSampler(0)
    with pytest.raises(ValueError):
        ed.MultiprocessingOptions(num_workers=-1)


def test_shard_by_process_without_and_with_core(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "ember.core", None)
    s = ed.ShardByProcess()
    assert (s.shard_index, s.shard_count) == (0, 1)
    monkeypatch.undo()
    ec = pytest.importorskip("ember.core")
    s = ed.ShardByProcess(drop_remainder=True)
    assert (s.shard_index, s.shard_count) == (ec.process_index(), ec.process_count()) and s.drop_remainder


def test_index_sampler_semantics():
    s = ed.IndexSampler(5, ed.NoSharding(), shuffle=True, num_epochs=2, seed=1)
    first = [s[i].record_key for i in range(5)]
    second = [s[i].record_key for i in range(5, 10)]
    assert sorted(first) == sorted(second) == list(range(5)) and first != second
    with pytest.raises(IndexError):
        s[10]
    seq = ed.SequentialSampler(4)
    assert [seq[i].record_key for i in range(4)] == [0, 1, 2, 3] and len(seq) == 4
