import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ember.data as ed


def _records(n):
    for i in range(n):
        yield {
            "image": np.full((2, 3), i, np.uint8),
            "tokens": np.arange(i % 5 + 1, dtype=np.int32),
            "label": np.int64(i),
            "weight": float(i) / 2,
            "name": f"r{i}",
            "blob": bytes([i % 256]) * 3,
            "frames": np.full((i % 3 + 1, 2), i, np.float32),
        }


@pytest.fixture
def parquet_file(tmp_path):
    path = tmp_path / "d.parquet"
    ed.write_parquet(_records(50), path, row_group_size=8)
    return path


def test_roundtrip_types_and_row_groups(parquet_file):
    src = ed.ParquetDataSource(parquet_file)
    assert len(src) == 50 and src.num_row_groups == 7
    r = src[13]
    assert r["image"].shape == (2, 3) and r["image"].dtype == np.uint8 and int(r["image"][0, 0]) == 13
    assert r["tokens"].tolist() == list(range(13 % 5 + 1)) and r["tokens"].dtype == np.int32
    assert r["frames"].shape == (2, 2) and r["frames"].dtype == np.float32 and r["frames"][1, 1] == 13
    assert int(r["label"]) == 13 and r["weight"] == 6.5 and r["name"] == "r13" and r["blob"] == b"\x0d" * 3
    bulk = src.__getitems__([49, 0, 13])
    assert [int(x["label"]) for x in bulk] == [49, 0, 13]
    assert bulk[2]["tokens"].tolist() == r["tokens"].tolist()
    # the layout is an ordinary Parquet file any reader opens
    table = pq.read_table(parquet_file)
    assert table.num_rows == 50 and pa.types.is_fixed_size_binary(table.schema.field("image").type)


def test_many_rows_of_one_row_group_cost_one_decode(parquet_file):
    src = ed.ParquetDataSource(parquet_file, cache_bytes=0)
    src.__getitems__(list(range(8, 16)))  # all in row group 1
    assert src.decoded_row_groups == 1
    src.__getitems__([0, 20, 40, 1, 21])  # row groups 0, 2, 5: one decode each
    assert src.decoded_row_groups == 4


def test_row_group_cache_is_bounded(parquet_file):
    src = ed.ParquetDataSource(parquet_file, cache_bytes=1 << 20)
    for i in range(50):
        src[i]
    assert src.decoded_row_groups == 7  # sequential access hits the cache
    tiny = ed.ParquetDataSource(parquet_file, cache_bytes=1)
    for i in (0, 8, 0, 8):
        tiny[i]
    assert tiny.decoded_row_groups == 4  # nothing fits: every access decodes
    assert tiny._cached_bytes <= 1


def test_default_row_groups_are_sized_for_random_access(tmp_path):
    path = tmp_path / "big.parquet"
    ed.write_parquet(({"x": np.zeros(1024, np.uint8)} for _ in range(1000)), path)
    assert 16 < ed.ParquetDataSource(path).num_row_groups < 64  # ~32 KiB per row group


def test_directory_glob_and_file_list(tmp_path):
    for k in range(3):
        ed.write_parquet(({"v": np.int64(k * 10 + i)} for i in range(10)), tmp_path / f"part-{k}.parquet")
    by_dir = ed.ParquetDataSource(tmp_path)
    by_glob = ed.ParquetDataSource(str(tmp_path / "part-*.parquet"))
    by_list = ed.ParquetDataSource([tmp_path / "part-0.parquet", tmp_path / "part-2.parquet"])
    assert len(by_dir) == 30 and [int(by_dir[i]["v"]) for i in (0, 15, 29)] == [0, 15, 29]
    assert len(by_glob) == 30 and len(by_list) == 20 and int(by_list[10]["v"]) == 20
    assert [int(r["v"]) for r in by_dir.__getitems__([29, 3, 11])] == [29, 3, 11]


def test_columns_selection_and_foreign_parquet(tmp_path):
    path = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3], "s": ["x", "y", "z"], "l": [[1], [2, 3], []]}), path)
    src = ed.ParquetDataSource(path, columns=["s", "l"])
    assert src[1] == {"s": "y", "l": src[1]["l"]} and src[1]["l"].tolist() == [2, 3]
    with pytest.raises(ValueError, match="not in the files"):
        ed.ParquetDataSource(path, columns=["nope"])


def test_bad_inputs_are_clear_errors(tmp_path, parquet_file):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ed.ParquetDataSource(tmp_path / "missing.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        ed.ParquetDataSource(bad)
    with pytest.raises(FileNotFoundError, match="no \\*.parquet"):
        ed.ParquetDataSource(tmp_path / "emptydir" if os.makedirs(tmp_path / "emptydir") is None else None)
    with pytest.raises(FileNotFoundError, match="match"):
        ed.ParquetDataSource(str(tmp_path / "zzz*.parquet"))
    with pytest.raises(IndexError, match="out of range"):
        ed.ParquetDataSource(parquet_file)[50]
    other = tmp_path / "other"
    other.mkdir()
    ed.write_parquet([{"a": 1}], other / "a.parquet")
    ed.write_parquet([{"b": 1}], other / "b.parquet")
    with pytest.raises(ValueError, match="has columns"):
        ed.ParquetDataSource(other)


def test_parquet_pipeline_matches_in_memory(tmp_path):
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 255, (64, 3, 2, 2), dtype=np.uint8)
    path = tmp_path / "p.parquet"
    ed.write_parquet(({"image": imgs[i], "label": np.int64(i)} for i in range(64)), path, row_group_size=5)
    def pipeline(src):
        return ed.MapDataset.source(src).shuffle(seed=2).batch(10).to_iter_dataset()
    a = list(pipeline(ed.ParquetDataSource(path)))
    b = list(pipeline({"image": imgs, "label": np.arange(64)}))
    assert len(a) == len(b) == 7
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x["image"], y["image"])
        np.testing.assert_array_equal(x["label"], y["label"])


def test_write_parquet_errors(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        ed.write_parquet([], tmp_path / "e.parquet")
    with pytest.raises(ValueError, match="shape"):
        ed.write_parquet([{"x": np.zeros((2, 2))}, {"x": np.zeros((2, 2))}, {"x": np.zeros((3, 3))}],
                         tmp_path / "s.parquet", row_group_size=2)


def test_parquet_with_threads_and_workers(tmp_path):
    path = tmp_path / "t.parquet"
    ed.write_parquet(({"v": np.full(4, i, np.int32)} for i in range(300)), path, row_group_size=7)
    src = ed.ParquetDataSource(path, cache_bytes=2048)
    src[0]  # the parent's cache and file handles must not leak into forked workers

    def make(read_options=None, workers=0):
        ds = ed.MapDataset.source(src).shuffle(seed=9).to_iter_dataset(read_options).batch(16)
        return ds.mp_prefetch(ed.MultiprocessingOptions(workers)) if workers else ds

    ref = [b["v"].tolist() for b in make()]
    assert sorted(x[0] for b in ref for x in b) == list(range(300))
    assert [b["v"].tolist() for b in make(ed.ReadOptions(num_threads=3))] == ref
    assert [b["v"].tolist() for b in make(workers=2)] == ref
