import sys

import numpy as np
import pytest
from ember_data_testing import normalize

import ember.data as ed


def test_source_range_and_indexing():
    ds = ed.MapDataset.source(["a", "b", "c"])
    assert len(ds) == 3 and ds[0] == "a" and ds[-1] == "c" and ds[4] == "b"  # wraps (Grain)
    assert list(ed.MapDataset.range(3, 9, 2)) == [3, 5, 7]
    assert list(ed.MapDataset.range(4)[1:3]) == [1, 2]
    with pytest.raises(IndexError):
        ds[-4]
    with pytest.raises(TypeError):
        ed.MapDataset.source(42)


def test_map_filter_map_with_index():
    ds = ed.MapDataset.range(6).map(lambda x: x * 2).filter(lambda x: x % 4 == 0)
    assert [ds[i] for i in range(6)] == [0, None, 4, None, 8, None]
    assert list(ds) == [0, 4, 8]
    assert list(ds.to_iter_dataset(allow_nones=True)) == [0, None, 4, None, 8, None]
    assert list(ed.MapDataset.source("abc").map_with_index(lambda i, x: f"{i}{x}")) == ["0a", "1b", "2c"]

    class Plus(ed.transforms.Map):
        def map(self, x):
            return x + 100

    assert ed.MapDataset.range(2).map(Plus())[1] == 101


def test_random_map_is_a_function_of_seed_and_index():
    def add_noise(x, rng):
        return x + rng.random()

    ds = ed.MapDataset.range(20).random_map(add_noise, seed=4)
    forward = [ds[i] for i in range(20)]
    backward = [ds[i] for i in reversed(range(20))][::-1]
    assert forward == backward == list(ds)
    assert forward != list(ed.MapDataset.range(20).random_map(add_noise, seed=5))
    rep = ed.MapDataset.range(5).random_map(add_noise, seed=1).repeat(2)
    assert [rep[i] for i in range(5)] != [rep[i] for i in range(5, 10)]
    with pytest.raises(ValueError, match="needs a seed"):
        ed.MapDataset.range(3).random_map(add_noise)


def test_seed_derives_distinct_reproducible_seeds():
    a = ed.MapDataset.range(30).seed(7).shuffle().random_map(lambda x, r: (x, r.integers(1000)))
    b = ed.MapDataset.range(30).seed(7).shuffle().random_map(lambda x, r: (x, r.integers(1000)))
    assert list(a) == list(b)
    c = ed.MapDataset.range(30).seed(8).shuffle()
    assert [x for x, _ in a] != list(c)
    assert list(ed.MapDataset.range(30).seed(7).shuffle()) != list(ed.MapDataset.range(30).seed(7).map(int).shuffle())


def test_bad_seeds_are_clear_errors():
    with pytest.raises(ValueError, match="non-negative"):
        ed.MapDataset.range(3).shuffle(seed=-1)
    with pytest.raises(TypeError, match="non-negative integer"):
        ed.MapDataset.range(3).shuffle(seed=1.5)
    with pytest.raises(ValueError, match="non-negative"):
        ed.MapDataset.range(3).seed(-5)
    with pytest.raises(ValueError, match="needs a seed"):
        ed.MapDataset.range(3).shuffle()


def test_batch_variants(images):
    ds = ed.MapDataset.source(images).map(normalize).batch(64)
    assert len(ds) == 4 and ds[3]["image"].shape == (8, 3, 4, 4) and ds[0]["image"].dtype == np.float32
    assert len(ed.MapDataset.source(images).batch(64, drop_remainder=True)) == 3
    tup = ed.MapDataset.range(5).map(lambda x: (x, {"sq": np.array([x * x])})).batch(2)
    assert tup[1][0].tolist() == [2, 3] and tup[1][1]["sq"].tolist() == [[4], [9]]
    custom = ed.MapDataset.range(5).batch(2, batch_fn=lambda xs: sum(xs))
    assert list(custom) == [1, 5, 4]
    with pytest.raises(ValueError, match="cannot follow `MapDataset.filter`"):
        ed.MapDataset.range(5).filter(lambda x: x).batch(2)
    with pytest.raises(ValueError, match="positive"):
        ed.MapDataset.range(5).batch(0)
    ragged = ed.MapDataset.range(4).map(lambda x: {"v": np.zeros(x)}).batch(4)
    with pytest.raises(ValueError, match=r"\['v'\]: records have different shapes") as e:
        ragged[0]
    assert "BatchMapDataset" in "\n".join(getattr(e.value, "__notes__", []))


def test_slice_repeat_lengths():
    ds = ed.MapDataset.range(10)
    assert list(ds.slice(slice(1, None, 3))) == [1, 4, 7]
    assert list(ds[2::4]) == [2, 6]
    assert len(ds.repeat()) == sys.maxsize and ds.repeat()[23] == 3
    assert list(ds.repeat(2))[9:12] == [9, 0, 1]
    with pytest.raises(ValueError):
        ds.repeat(0)
    with pytest.raises(ValueError, match="infinite"):
        ds.repeat().repeat(2)
    with pytest.raises(ValueError, match="infinite"):
        ds.repeat().shuffle(seed=1)


def test_mix_is_weighted_and_deterministic():
    a = ed.MapDataset.source(["a"] * 1000)
    b = ed.MapDataset.source(["b"] * 1000)
    mixed = ed.MapDataset.mix([a, b], weights=[3, 1])
    first = [mixed[i] for i in range(400)]
    assert first.count("a") == 300 and first.count("b") == 100
    assert len(mixed) == 1333
    assert [mixed[i] for i in range(8)] == [mixed[i] for i in range(8)]
    assert list(ed.MapDataset.mix([ed.MapDataset.range(3), ed.MapDataset.range(10, 12)])) == [0, 10, 1, 11, 2]
    nums = ed.MapDataset.mix([ed.MapDataset.range(100), ed.MapDataset.range(100, 200)], [0.7, 0.3])
    assert sorted(nums[i] for i in range(len(nums))) == sorted(set(nums[i] for i in range(len(nums))))
    with pytest.raises(ValueError, match="positive"):
        ed.MapDataset.mix([a, b], [1, 0])
    with pytest.raises(ValueError, match="empty"):
        ed.MapDataset.mix([a, ed.MapDataset.source([])])


def test_concatenate():
    ds = ed.MapDataset.concatenate([ed.MapDataset.range(2), ed.MapDataset.source([]), ed.MapDataset.range(5, 8)])
    assert list(ds) == [0, 1, 5, 6, 7] and len(ds) == 5 and ds[5] == 0
    with pytest.raises(ValueError, match="infinite"):
        ed.MapDataset.concatenate([ed.MapDataset.range(2).repeat()])


def test_errors_in_user_functions_name_the_index():
    def boom(x):
        if x == 7:
            raise KeyError("bad record")
        return x

    ds = ed.MapDataset.range(10).map(boom)
    with pytest.raises(KeyError) as e:
        list(ds)
    notes = "\n".join(e.value.__notes__)
    assert "element 7" in notes and "boom" in notes


def test_graph_rendering():
    ds = ed.MapDataset.mix([ed.MapDataset.range(3).map(str), ed.MapDataset.range(2)])
    g = ds.graph()
    assert g.splitlines()[0].startswith("MixedMapDataset") and "├─ MapMapDataset(fn=str)" in g
    assert "RangeMapDataset(start=0, stop=2, step=1)" in g


def test_apply_transform_objects():
    class Double(ed.transforms.Map):
        def map(self, x):
            return 2 * x

    class Even(ed.transforms.Filter):
        def filter(self, x):
            return x % 4 == 0

    ds = ed.MapDataset.range(6).apply([Double()])
    assert list(ds) == [0, 2, 4, 6, 8, 10]
    it = ds.to_iter_dataset().apply([Even(), ed.transforms.Batch(2)])
    assert [b.tolist() for b in it] == [[0, 4], [8]]
