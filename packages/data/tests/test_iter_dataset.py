import json

import pytest
from ember_data_testing import assert_tree_equal, check_resume_everywhere, normalize

import ember.data as ed


def test_iter_ops_match_python():
    ds = ed.MapDataset.range(20).to_iter_dataset().map(lambda x: x * 3).filter(lambda x: x % 2 == 0).batch(3)
    assert [b.tolist() for b in ds] == [[0, 6, 12], [18, 24, 30], [36, 42, 48], [54]]
    dr = ed.MapDataset.range(7).to_iter_dataset().batch(3, drop_remainder=True)
    assert [b.tolist() for b in dr] == [[0, 1, 2], [3, 4, 5]]


def test_fused_and_sequential_execution_agree():
    def rm(x, rng):
        return int(x * 1000 + rng.integers(1000))

    fused = ed.MapDataset.range(50).to_iter_dataset().random_map(rm, seed=1).map_with_index(lambda i, x: (i, x))
    seq = ed.MapDataset.range(50).to_iter_dataset()
    # a thread prefetch below an unfusible step forces the sequential implementations
    seq = ed.IterDataset.mix([seq]).random_map(rm, seed=1).map_with_index(lambda i, x: (i, x))
    assert list(fused) == list(seq)
    assert "Segment" in str(iter(fused)) and "Segment" not in str(iter(seq))


def test_random_map_after_filter_uses_a_position_counter():
    ds = (ed.MapDataset.range(30).to_iter_dataset().filter(lambda x: x % 3 == 0)
          .random_map(lambda x, rng: x + rng.random(), seed=2).batch(4))
    assert [b.tolist() for b in ds] == [b.tolist() for b in ds]
    check_resume_everywhere(lambda: ds)


@pytest.mark.parametrize("read_options", [ed.ReadOptions(), ed.ReadOptions(num_threads=3, prefetch_buffer_size=7)])
def test_threads_and_prefetch_depth_do_not_change_output(images, read_options):
    def make(ro=read_options, pf=None):
        ds = ed.MapDataset.source(images).shuffle(seed=1).map(normalize).to_iter_dataset(ro)
        ds = ds.filter(lambda r: r["label"] % 5 != 0).batch(16)
        return ds.prefetch(pf) if pf else ds

    reference = list(make(ed.ReadOptions()))
    for pf in (None, 1, 4):
        got = list(make(pf=pf))
        assert len(got) == len(reference)
        for a, b in zip(got, reference):
            assert_tree_equal(a, b)


def test_resume_through_map_filter_batch_with_threads(images):
    def make():
        return (ed.MapDataset.source(images).shuffle(seed=5).map(normalize)
                .to_iter_dataset(ed.ReadOptions(num_threads=2))
                .filter(lambda r: r["label"] % 3 != 0).batch(10).prefetch(3))

    check_resume_everywhere(make)


def test_resume_mid_epoch_with_repeat_and_states_are_small_json():
    ds = ed.MapDataset.range(30).shuffle(seed=1).repeat(3).to_iter_dataset().batch(7)
    it = iter(ds)
    for _ in range(5):
        next(it)
    state = it.get_state()
    assert state == json.loads(json.dumps(state)) and len(json.dumps(state)) < 100
    fresh = iter(ds)
    fresh.set_state(state)
    assert next(fresh).tolist() == list(ds)[5].tolist()


def test_bad_states_are_clear_errors():
    it = iter(ed.MapDataset.range(5).to_iter_dataset())
    with pytest.raises(ValueError, match="missing"):
        it.set_state({"foo": 1})
    with pytest.raises(ValueError, match="next_index"):
        it.set_state({"next_index": 99})
    with pytest.raises(TypeError):
        it.set_state([1])


def test_close_and_context_manager():
    with iter(ed.MapDataset.range(5).to_iter_dataset().prefetch(2)) as it:
        assert next(it) == 0
    with pytest.raises(ValueError, match="closed"):
        next(it)


def test_debug_mode_runs_inline_with_same_results(images):
    def make():
        return ed.MapDataset.source(images).map(normalize).to_iter_dataset(ed.ReadOptions(num_threads=2)).batch(32).prefetch(2)

    normal = list(make())
    with ed.debug_mode():
        it = iter(make())
        assert type(it._executor).__name__ == "InlineExecutor"
        debug = list(it)
    for a, b in zip(normal, debug):
        assert_tree_equal(a, b)


def test_errors_in_iter_functions_carry_the_index():
    def boom(x):
        if x == 13:
            raise ValueError("no thirteen")
        return x

    with pytest.raises(ValueError, match="no thirteen") as e:
        list(ed.MapDataset.range(20).to_iter_dataset().map(boom))
    assert e.value._ember_data_index == 13 and any("13" in n for n in e.value.__notes__)


def test_seed_on_iter_dataset():
    a = list(ed.MapDataset.range(10).to_iter_dataset().seed(3).random_map(lambda x, r: r.integers(100)))
    b = list(ed.MapDataset.range(10).to_iter_dataset().seed(3).random_map(lambda x, r: r.integers(100)))
    c = list(ed.MapDataset.range(10).to_iter_dataset().seed(4).random_map(lambda x, r: r.integers(100)))
    assert a == b and a != c


def test_graph_of_iter_pipeline():
    ds = ed.MapDataset.range(4).to_iter_dataset().map(str).batch(2).mp_prefetch(ed.MultiprocessingOptions(2))
    g = ds.graph()
    assert g.splitlines()[0] == "mp_prefetch(num_workers=2)" and "MapToIterDataset" in g and "map(str)" in g
