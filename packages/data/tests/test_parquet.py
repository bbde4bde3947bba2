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


# -- write_parquet: layouts decided from a look-ahead sample ------------------------------------------
def _assert_reads_back(path, records):
    """The source returns exactly the records: same fields, types, dtypes, shapes and values."""
    src = ed.ParquetDataSource(path)
    assert len(src) == len(records)
    got = src.__getitems__(list(range(len(records))))
    for i, (g, r) in enumerate(zip(got, records)):
        assert list(g) == list(r), i
        for k, v in r.items():
            if isinstance(v, np.ndarray):
                assert isinstance(g[k], np.ndarray), (i, k)
                assert (g[k].dtype, g[k].shape) == (v.dtype, v.shape), (i, k)
                np.testing.assert_array_equal(g[k], v)
            else:
                assert g[k] == v, (i, k)
    for i in (0, len(records) - 1):  # single-row reads decode the same way
        np.testing.assert_array_equal(src[i]["tokens"], records[i]["tokens"])
    return src


def _column_type(path, name):
    return pq.read_schema(path).field(name).type


@pytest.mark.parametrize("base", [4, 40_000])  # 40_000 bytes: the automatic row_group_size is 1
def test_variable_length_decided_from_the_sample_not_the_first_row_group(tmp_path, base):
    # the first 10 records share a length; record 10 differs (within the default sample of 64)
    lengths = [base] * 10 + [base + 3] + [base] * 20 + [base - 2]
    records = [{"tokens": (np.arange(n) % 251).astype(np.uint8) + i % 3, "id": i} for i, n in enumerate(lengths)]
    path = tmp_path / "v.parquet"
    ed.write_parquet(records, path)
    assert pa.types.is_list(_column_type(path, "tokens"))
    src = _assert_reads_back(path, records)
    if base == 40_000:
        assert src.num_row_groups == len(records)  # big records: one per row group, as before


@pytest.mark.parametrize("layout_sample,row_group_size", [(64, 10), (8, None)])
def test_shape_change_after_the_sample_is_a_clear_error(tmp_path, layout_sample, row_group_size):
    base = 4 if row_group_size else 40_000  # (8, None): big records, automatic row_group_size 1
    records = [{"tokens": np.full(base + (i == 80), i, np.uint8), "id": i} for i in range(100)]
    path = tmp_path / "t.parquet"
    ed.write_parquet([{"tokens": np.zeros(1, np.uint8), "id": -1}], path)  # an older file at the path
    msg = (rf"field 'tokens' of record 80 has shape \({base + 1},\), but the first {max(layout_sample, row_group_size or 0)} "
           rf"record\(s\) all had shape \({base},\).*variable_shape=\('tokens',\)")
    with pytest.raises(ValueError, match=msg):
        ed.write_parquet(iter(records), path, layout_sample=layout_sample, row_group_size=row_group_size)
    # nothing half-written: the older file is intact, no temporary file is left behind
    assert sorted(os.listdir(tmp_path)) == ["t.parquet"] and len(ed.ParquetDataSource(path)) == 1
    for forced in (("tokens",), "tokens"):
        ed.write_parquet(iter(records), path, layout_sample=layout_sample, row_group_size=row_group_size,
                         variable_shape=forced)
        assert pa.types.is_list(_column_type(path, "tokens"))
        _assert_reads_back(path, records)
    assert sorted(os.listdir(tmp_path)) == ["t.parquet"]


def test_multidimensional_arrays_with_varying_leading_dim(tmp_path):
    # the first 20 records share (3, 2, 2); others differ in the leading dimension only
    lead = [3] * 20 + [5, 1, 0, 3] + [2] * 30
    records = [{"tokens": np.full((n, 2, 2), i, np.float32) + np.arange(4, dtype=np.float32).reshape(2, 2),
                "image": np.full((2, 3), i, np.int16)} for i, n in enumerate(lead)]
    path = tmp_path / "m.parquet"
    ed.write_parquet(records, path, row_group_size=4)
    assert pa.types.is_list(_column_type(path, "tokens"))
    assert pa.types.is_fixed_size_binary(_column_type(path, "image"))
    _assert_reads_back(path, records)
    # forcing a list column on a field that never varies keeps its shape too
    ed.write_parquet(records, path, row_group_size=4, variable_shape=("tokens", "image"))
    assert pa.types.is_list(_column_type(path, "image"))
    _assert_reads_back(path, records)
    # beyond the sample, the other dimensions must still agree
    bad = records[:30] + [{"tokens": np.zeros((2, 2, 3), np.float32), "image": records[0]["image"]}]
    with pytest.raises(ValueError, match=r"field 'tokens' of record 30 has shape \(2, 2, 3\).*\(length, 2, 2\)"):
        ed.write_parquet(bad, path, layout_sample=24, row_group_size=4)  # records 0..23: a list column
    with pytest.raises(ValueError, match="must agree in all but their first dimension"):
        ed.write_parquet(bad, path)  # within the sample


def test_empty_arrays_round_trip(tmp_path):
    records = [{"tokens": np.zeros((0, 3), np.int32), "e": np.zeros(0, np.float64)} for _ in range(3)]
    path = tmp_path / "e.parquet"
    ed.write_parquet(records, path)
    _assert_reads_back(path, records)
    with pytest.raises(ValueError, match="cannot store field 'x'"):
        ed.write_parquet([{"x": np.zeros((3, 0))}], path)


def test_field_names_must_match_in_every_record(tmp_path):
    path = tmp_path / "f.parquet"
    records = [{"a": np.int64(i), "b": np.zeros(2)} for i in range(100)]
    for at in (5, 70):  # within and beyond the sample
        bad = list(records)
        bad[at] = {"a": np.int64(0), "c": np.zeros(2)}
        with pytest.raises(ValueError, match=rf"record {at} has the fields \['a', 'c'\], but record 0 has "
                                             r"\['a', 'b'\] \(missing: \['b'\], unexpected: \['c'\]\)"):
            ed.write_parquet(iter(bad), path, row_group_size=4)
        bad[at] = [0, 1]
        with pytest.raises(TypeError, match=rf"record {at} is a list"):
            ed.write_parquet(iter(bad), path, row_group_size=4)
    assert not os.listdir(tmp_path)
    # the same fields in another order are fine
    ed.write_parquet([{"a": 1, "b": "x"}, {"b": "y", "a": 2}], path)
    assert ed.ParquetDataSource(path)[1] == {"a": 2, "b": "y"}


def test_write_parquet_argument_checks(tmp_path):
    path = tmp_path / "a.parquet"
    records = [{"tokens": np.zeros(3), "id": 1}]
    with pytest.raises(ValueError, match=r"variable_shape names \['token'\], which are not fields"):
        ed.write_parquet(records, path, variable_shape=["token"])
    with pytest.raises(ValueError, match="variable_shape names 'id', but its values are not NumPy arrays"):
        ed.write_parquet(records, path, variable_shape=("id",))
    for bad in (0, -1, 2.5, None):
        with pytest.raises(ValueError, match="layout_sample must be a positive int"):
            ed.write_parquet(records, path, layout_sample=bad)
    for bad in (0, -3, 1.5, True):
        with pytest.raises(ValueError, match="row_group_size must be a positive int or None"):
            ed.write_parquet(records, path, row_group_size=bad)
    assert not os.listdir(tmp_path)


def test_values_are_never_converted_silently(tmp_path):
    path = tmp_path / "c.parquet"
    # array dtypes: a later record must cast safely to the sampled dtype
    ints = [{"tokens": np.arange(3, dtype=np.int32)} for _ in range(20)]
    with pytest.raises(ValueError, match=r"field 'tokens' of record 12 has dtype float64.*int32"):
        ed.write_parquet(ints[:12] + [{"tokens": np.full(3, 0.5)}] + ints, path, layout_sample=4, row_group_size=4)
    ed.write_parquet(ints[:12] + [{"tokens": np.array([1, 2, 300], np.int16)}], path, layout_sample=4)
    assert ed.ParquetDataSource(path)[12]["tokens"].tolist() == [1, 2, 300]
    with pytest.raises(TypeError, match="field 'tokens' of record 3 is NoneType"):
        ed.write_parquet(ints[:3] + [{"tokens": None}], path)
    with pytest.raises(ValueError, match="record 2 has the scalar 7"):
        ed.write_parquet(ints[:2] + [{"tokens": 7}], path)
    with pytest.raises(ValueError, match="list columns cannot hold its dtype complex64"):
        ed.write_parquet([{"z": np.ones(n, np.complex64)} for n in (1, 2)], path)
    # plain fields: mixed numbers in one row group keep their values (no cast to the first one's type)
    ed.write_parquet([{"w": np.int64(1)}, {"w": np.float64(0.5)}, {"w": np.float32(0.1)}], path)
    assert [ed.ParquetDataSource(path)[i]["w"] for i in range(3)] == [1.0, 0.5, float(np.float32(0.1))]
    # a later row group must fit the sampled type: integers widen losslessly, floats do not become ints
    ed.write_parquet([{"w": 0.5}] * 4 + [{"w": 3}] * 4, path, layout_sample=2, row_group_size=2)
    assert [ed.ParquetDataSource(path)[i]["w"] for i in (0, 7)] == [0.5, 3.0]
    with pytest.raises(ValueError, match=r"field 'w' of record 5 does not fit the field's type int64"):
        ed.write_parquet([{"w": 1}] * 4 + [{"w": 2}, {"w": 2.5}], path, layout_sample=2, row_group_size=2)
    with pytest.raises(ValueError, match=r"field 'w' of record 4 does not fit the field's type float"):
        ed.write_parquet([{"w": np.float32(1)}] * 4 + [{"w": np.float64(0.1)}], path, layout_sample=2,
                         row_group_size=2)


def test_writer_holds_a_bounded_number_of_records(tmp_path):
    import weakref

    alive = [0]
    peak = [0]

    def gone():
        alive[0] -= 1

    def records():
        for i in range(2000):
            a = np.full(16, i % 256, np.uint8)
            weakref.finalize(a, gone)
            alive[0] += 1
            peak[0] = max(peak[0], alive[0])
            yield {"tokens": a}

    path = tmp_path / "big.parquet"
    ed.write_parquet(records(), path, layout_sample=32, row_group_size=8)
    assert len(ed.ParquetDataSource(path)) == 2000
    assert peak[0] <= 32 + 8 + 1


def test_files_with_different_layouts_read_together(tmp_path):
    # write_parquet decides the layout per file; the reader decodes each file with its own metadata
    ed.write_parquet([{"x": np.full((2, 2), i, np.uint8), "tokens": np.arange(3)} for i in range(4)],
                     tmp_path / "part-0.parquet")
    ed.write_parquet([{"x": np.full(4, i, np.uint8), "tokens": np.arange(i + 1)} for i in range(4)],
                     tmp_path / "part-1.parquet")
    src = ed.ParquetDataSource(tmp_path)
    assert src[1]["x"].shape == (2, 2) and src[5]["x"].shape == (4,)
    assert src[1]["tokens"].tolist() == [0, 1, 2] and src[7]["tokens"].tolist() == [0, 1, 2, 3]
    assert [r["x"].shape for r in src.__getitems__([6, 2])] == [(4,), (2, 2)]
