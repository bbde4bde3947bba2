import numpy as np
import pytest
from ember_data_testing import check_resume_everywhere

import ember.data as ed


def _seqs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return [{"inputs": rng.integers(1, 100, rng.integers(1, 9)).astype(np.int32),
             "targets": rng.integers(1, 100, rng.integers(1, 5)).astype(np.int32)} for _ in range(n)]


def _ds(seqs, **kw):
    return ed.MapDataset.source(seqs).to_iter_dataset().pack({"inputs": 10, "targets": 6}, **kw)


def test_rows_have_segment_ids_positions_and_keep_every_token():
    seqs = _seqs()
    rows = list(_ds(seqs, num_packing_bins=3))
    for r in rows:
        assert r["inputs"].shape == (10,) and r["targets"].shape == (6,)
        seg, pos = r["inputs_segment_ids"], r["inputs_positions"]
        assert seg.dtype == np.int32 and (r["inputs"][seg == 0] == 0).all()
        for s in range(1, seg.max() + 1):
            assert pos[seg == s].tolist() == list(range((seg == s).sum()))
        assert seg.max() == r["targets_segment_ids"].max()  # features packed together
    packed = [r["inputs"][r["inputs_segment_ids"] == s].tolist() for r in rows for s in range(1, r["inputs_segment_ids"].max() + 1)]
    assert sorted(map(tuple, packed)) == sorted(tuple(s["inputs"].tolist()) for s in seqs)


def test_first_fit_order_and_truncation():
    seqs = [{"t": np.arange(n) + 1} for n in (3, 2, 4, 1, 9)]
    rows = list(ed.MapDataset.source(seqs).to_iter_dataset().pack({"t": 5}, num_packing_bins=2))
    assert rows[0]["t"].tolist() == [1, 2, 3, 1, 2] and rows[0]["t_segment_ids"].tolist() == [1, 1, 1, 2, 2]
    assert rows[1]["t"].tolist() == [1, 2, 3, 4, 1] and rows[1]["t_positions"].tolist() == [0, 1, 2, 3, 0]
    assert rows[2]["t"].tolist() == [1, 2, 3, 4, 5]  # truncated from 9


def test_meta_features_and_errors():
    seqs = [{"t": np.arange(3), "w": np.ones(3)}]
    row = next(iter(ed.MapDataset.source(seqs).to_iter_dataset().pack({"t": 4, "w": 4}, meta_features=["w"])))
    assert "w_segment_ids" not in row and row["w"].tolist() == [1, 1, 1, 0]
    with pytest.raises(TypeError, match="dict"):
        list(ed.MapDataset.range(3).to_iter_dataset().pack(4))
    with pytest.raises(KeyError, match="nope"):
        list(ed.MapDataset.source(seqs).to_iter_dataset().pack({"nope": 4}))


@pytest.mark.parametrize("shuffle_bins", [False, True])
def test_exact_resume_through_packing(shuffle_bins):
    seqs = _seqs(30, seed=3)
    check_resume_everywhere(lambda: _ds(seqs, num_packing_bins=2, shuffle_bins=shuffle_bins, seed=1).batch(2))


def test_packing_class_name_matches_grain():
    ds = ed.FirstFitPackIterDataset(ed.MapDataset.source(_seqs(5)).to_iter_dataset(),
                                    length_struct={"inputs": 8, "targets": 8}, num_packing_bins=2)
    assert len(list(ds)) >= 1
