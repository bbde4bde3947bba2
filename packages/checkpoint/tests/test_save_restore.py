"""save / restore of one pytree: leaves of every kind, shardings, targets, partial restore, casts."""

from __future__ import annotations

import collections
import os

import numpy as np
import pytest

import ember.checkpoint as ecp
import ember.core as ec
import ember.core.numpy as jnp
import ember.core.random as er
from ember.core.sharding import NamedSharding, P, SingleDeviceSharding


def _files(path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(r, f), path) for r, _, fs in os.walk(path) for f in fs)


def test_every_leaf_kind_round_trips(tmp_path, rng):
    NT = collections.namedtuple("NT", "a b")
    tree = {
        "ember": jnp.arange(6.0).reshape(2, 3),
        "ember_big": ec.device_put(rng.normal(size=(128, 160)).astype(np.float32)),
        "bf16": jnp.ones((4,), jnp.bfloat16) * 1.5,
        "key": er.PRNGKey(42),
        "np": rng.integers(0, 100, size=(5,)).astype(np.int64),
        "np_big": rng.normal(size=(200, 100)),
        "np_scalar": np.float32(2.5),
        "ints": [1, -(2 ** 70), 2 ** 63],
        "float": 0.25, "bool": True, "complex": 1 + 2j, "str": "héllo", "bytes": b"\x00\x01",
        "none": None, "empty_list": [], "empty_dict": {}, "empty_tuple": (),
        "tuple": (1, (2, None)), "nt": NT(np.zeros(2), 3), 7: "int key",
    }
    ecp.save(tmp_path / "c", tree)
    out = ecp.restore(tmp_path / "c")
    assert isinstance(out["ember"], ec.Array) and out["ember"].dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out["ember"]), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(np.asarray(out["ember_big"]), np.asarray(tree["ember_big"]))
    assert out["bf16"].dtype == jnp.bfloat16 and np.asarray(out["bf16"]).astype(np.float32).tolist() == [1.5] * 4
    assert out["key"].dtype == np.uint32 and np.asarray(out["key"]).tolist() == np.asarray(er.PRNGKey(42)).tolist()
    assert isinstance(out["np"], np.ndarray) and out["np"].dtype == np.int64
    np.testing.assert_array_equal(out["np"], tree["np"])
    np.testing.assert_array_equal(out["np_big"], tree["np_big"])
    assert isinstance(out["np_scalar"], np.float32) and out["np_scalar"] == 2.5
    assert out["ints"] == [1, -(2 ** 70), 2 ** 63]
    assert (out["float"], out["bool"], out["complex"]) == (0.25, True, 1 + 2j)
    assert (out["str"], out["bytes"]) == ("héllo", b"\x00\x01")
    assert out["none"] is None and out["empty_list"] == [] and out["empty_dict"] == {} and out["empty_tuple"] == ()
    assert out["tuple"] == (1, (2, None))
    assert set(out["nt"]) == {"a", "b"} and out["nt"]["b"] == 3  # custom nodes come back as dicts
    assert out[7] == "int key"
    assert list(out) == list(tree)  # dict order kept


def test_target_restores_custom_node_types(tmp_path):
    NT = collections.namedtuple("NT", "a b")
    ecp.save(tmp_path / "c", {"opt": NT(np.arange(3.0), 2)})
    out = ecp.restore(tmp_path / "c", {"opt": NT(np.zeros(3), 0)})
    assert isinstance(out["opt"], NT) and out["opt"].b == 2
    np.testing.assert_array_equal(out["opt"].a, [0.0, 1.0, 2.0])


def test_sharded_array_restores_with_its_saved_sharding(tmp_path, rng):
    mesh = ec.make_mesh((4, 2), ("data", "model"))
    x_host = rng.normal(size=(128, 256)).astype(np.float32)
    x = ec.device_put(x_host, NamedSharding(mesh, P("data", "model")))
    ecp.save(tmp_path / "c", {"x": x})
    out = ecp.restore(tmp_path / "c")["x"]
    assert isinstance(out.sharding, NamedSharding)
    assert out.sharding.spec == P("data", "model") and dict(out.sharding.mesh.shape) == {"data": 4, "model": 2}
    np.testing.assert_array_equal(np.asarray(out), x_host)
    # chunks follow the shards: one shard file per distinct block (8 blocks)
    data_files = [f for f in _files(tmp_path / "c") if "/c/" in f]
    assert len(data_files) == 8


def test_replicated_array_writes_each_block_once(tmp_path, rng):
    mesh = ec.make_mesh((4, 2), ("data", "model"))
    x = ec.device_put(rng.normal(size=(128, 256)).astype(np.float32), NamedSharding(mesh, P(None, "model")))
    ecp.save(tmp_path / "c", {"x": x})
    assert len([f for f in _files(tmp_path / "c") if "/c/" in f]) == 2  # 2 blocks, 4 replicas each
    np.testing.assert_array_equal(ecp.restore(tmp_path / "c", as_numpy=True)["x"], np.asarray(x))


def test_restore_into_another_mesh_and_dtype(tmp_path, rng):
    mesh = ec.make_mesh((4, 2), ("data", "model"))
    x_host = rng.normal(size=(64, 256)).astype(np.float32)
    ecp.save(tmp_path / "c", {"x": ec.device_put(x_host, NamedSharding(mesh, P("data", "model"))), "y": 1})
    other = ec.make_mesh((2, 4), ("a", "b"))
    target = {"x": ec.ShapeDtypeStruct((64, 256), jnp.bfloat16, sharding=NamedSharding(other, P("b", "a")))}
    out = ecp.restore(tmp_path / "c", target)
    assert set(out) == {"x"}  # partial: only what the target asks for
    assert out["x"].dtype == jnp.bfloat16 and out["x"].sharding.spec == P("b", "a")
    np.testing.assert_array_equal(np.asarray(out["x"]), x_host.astype(jnp.bfloat16))
    shard = out["x"].addressable_shards[0]
    np.testing.assert_array_equal(np.asarray(shard.data), x_host[shard.index].astype(jnp.bfloat16))


def test_restore_onto_one_device_and_as_numpy(tmp_path, rng):
    mesh = ec.make_mesh((8,), ("d",))
    x_host = rng.normal(size=(64, 64)).astype(np.float32)
    ecp.save(tmp_path / "c", {"x": ec.device_put(x_host, NamedSharding(mesh, P("d")))})
    dev = ec.devices()[3]
    out = ecp.restore(tmp_path / "c",
                      {"x": ec.ShapeDtypeStruct((64, 64), np.float32, sharding=SingleDeviceSharding(dev))})
    assert out["x"].devices() == {dev}
    np.testing.assert_array_equal(np.asarray(out["x"]), x_host)
    as_np = ecp.restore(tmp_path / "c", as_numpy=True)["x"]
    assert type(as_np) is np.ndarray and as_np.flags.writeable
    np.testing.assert_array_equal(as_np, x_host)
    # an Array as target: its sharding and dtype
    like = ec.device_put(np.zeros((64, 64), np.float32), NamedSharding(ec.make_mesh((2, 4), ("u", "v")), P("v", "u")))
    got = ecp.restore(tmp_path / "c", {"x": like})["x"]
    assert got.sharding == like.sharding
    np.testing.assert_array_equal(np.asarray(got), x_host)


def test_restore_reads_only_needed_chunks(tmp_path, rng, monkeypatch):
    from ember.checkpoint._src import array_io
    mesh = ec.make_mesh((8,), ("d",))
    x_host = rng.normal(size=(256, 128)).astype(np.float32)
    ecp.save(tmp_path / "c", {"x": ec.device_put(x_host, NamedSharding(mesh, P("d")))})
    reads = []
    original = array_io.ShardReader.read_chunk

    def spy(self, stack_index, coords):
        reads.append(tuple(coords))
        return original(self, stack_index, coords)

    monkeypatch.setattr(array_io.ShardReader, "read_chunk", spy)
    one = SingleDeviceSharding(ec.devices()[0])
    # a target that only needs the first quarter of rows: shard rows [0:16) of a (4,) mesh over 4 devices
    mesh4 = ec.make_mesh((4,), ("q",), devices=ec.devices()[:4])
    target = {"x": ec.ShapeDtypeStruct((256, 128), np.float32, sharding=NamedSharding(mesh4, P("q")))}
    out = ecp.restore(tmp_path / "c", target)
    assert sorted(set(reads)) == [(i, 0) for i in range(8)]  # every saved chunk once, none twice
    assert len(reads) == 8
    np.testing.assert_array_equal(np.asarray(out["x"]), x_host)
    reads.clear()
    out = ecp.restore(tmp_path / "c", {"x": ec.ShapeDtypeStruct((256, 128), np.float32, sharding=one)})
    assert len(reads) == 8
    del out


def test_partial_restore_of_a_subtree(tmp_path):
    tree = {"params": {"w": np.ones((3, 3)), "b": np.zeros(3)}, "opt": {"mu": np.full(3, 2.0)}}
    ecp.save(tmp_path / "c", tree)
    out = ecp.restore(tmp_path / "c", {"params": {"b": np.empty(3)}})
    assert out == {"params": {"b": out["params"]["b"]}}
    np.testing.assert_array_equal(out["params"]["b"], np.zeros(3))


def test_mismatched_target_names_the_leaf(tmp_path):
    ecp.save(tmp_path / "c", {"params": {"w": np.ones((3, 3))}})
    with pytest.raises(ecp.TreeMismatchError, match=r"\['params'\]\['v'\].*not in the checkpoint"):
        ecp.restore(tmp_path / "c", {"params": {"v": np.ones((3, 3))}})
    with pytest.raises(ecp.TreeMismatchError, match=r"\['params'\]\['w'\].*shape \(3, 3\).*\(4, 3\)"):
        ecp.restore(tmp_path / "c", {"params": {"w": ec.ShapeDtypeStruct((4, 3), np.float32)}})
    with pytest.raises(ecp.TreeMismatchError, match=r"\['params'\].*sub-tree"):
        ecp.restore(tmp_path / "c", {"params": np.ones(1)})


def test_python_scalar_targets_and_casts(tmp_path):
    ecp.save(tmp_path / "c", {"step": 3, "lr": np.float32(0.5), "arr": jnp.arange(3)})
    out = ecp.restore(tmp_path / "c", {"step": 0.0, "lr": 0.0, "arr": np.zeros(3, np.float64)})
    assert out["step"] == 3.0 and isinstance(out["step"], float)
    assert out["lr"] == 0.5 and isinstance(out["lr"], float)
    assert out["arr"].dtype == np.float64 and out["arr"].tolist() == [0.0, 1.0, 2.0]


def test_existing_checkpoint_needs_force(tmp_path):
    ecp.save(tmp_path / "c", {"a": 1})
    with pytest.raises(ecp.StepAlreadyExistsError):
        ecp.save(tmp_path / "c", {"a": 2})
    ecp.save(tmp_path / "c", {"a": 2}, force=True)
    assert ecp.restore(tmp_path / "c") == {"a": 2}
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]


def test_thousands_of_tiny_arrays_write_a_handful_of_files(tmp_path, rng):
    tree = {f"layer{i}": {"w": rng.normal(size=(8, 8)).astype(np.float32), "b": np.zeros(8, np.float32)}
            for i in range(1500)}
    ecp.save(tmp_path / "c", tree)
    files = _files(tmp_path / "c")
    assert len(files) <= 5, files
    out = ecp.restore(tmp_path / "c")
    np.testing.assert_array_equal(out["layer1234"]["w"], tree["layer1234"]["w"])


def test_same_shaped_leaves_are_stacked_and_unstacked_gives_same_values(tmp_path, rng):
    tree = {f"w{i}": ec.device_put(rng.normal(size=(64, 300)).astype(np.float32)) for i in range(10)}
    tree["other"] = ec.device_put(rng.normal(size=(100, 300)).astype(np.float32))
    ecp.save(tmp_path / "stacked", tree)
    ecp.Checkpointer(stack_leaves=False).save(tmp_path / "plain", tree)
    n_stacked = len(_files(tmp_path / "stacked"))
    n_plain = len(_files(tmp_path / "plain"))
    assert n_stacked < n_plain and n_stacked == 3 + 1 + 2 * 2  # root files + item group + 2 arrays x 2 files
    for name in ("stacked", "plain"):
        out = ecp.restore(tmp_path / name, as_numpy=True)
        for k, v in tree.items():
            np.testing.assert_array_equal(out[k], np.asarray(v))


def test_metadata_describes_without_reading_data(tmp_path):
    ecp.save(tmp_path / "c", {"w": jnp.zeros((2, 3)), "n": np.zeros(4, np.int64), "s": "x"})
    meta = ecp.metadata(tmp_path / "c")
    assert meta["w"] == ec.ShapeDtypeStruct((2, 3), np.float32)
    assert meta["n"].shape == (4,) and meta["n"].dtype == np.int64 and meta["s"] == "x"


def test_unsupported_leaves_and_keys_are_rejected(tmp_path):
    with pytest.raises(TypeError, match=r"\['bad'\].*object"):
        ecp.save(tmp_path / "c", {"bad": object()})
    with pytest.raises(TypeError, match="dtype"):
        ecp.save(tmp_path / "c", {"s": np.array(["a", "b"])})
    with pytest.raises(TypeError, match="key"):
        ecp.save(tmp_path / "c", {(1, 2): 1})
    assert not (tmp_path / "c").exists()


def test_weird_leaf_names_stay_inside_the_checkpoint(tmp_path, rng):
    tree = {"../../escape": rng.normal(size=(100, 100)), "/abs": rng.normal(size=(100, 90)),
            "a/b": rng.normal(size=(90, 90))}
    ecp.save(tmp_path / "c", tree)
    assert sorted(os.listdir(tmp_path)) == ["c"]
    for f in _files(tmp_path / "c"):
        assert ".." not in f.split(os.sep)
    out = ecp.restore(tmp_path / "c", as_numpy=True)
    for k in tree:
        np.testing.assert_array_equal(out[k], tree[k])


def test_zero_size_arrays(tmp_path):
    ecp.save(tmp_path / "c", {"z": jnp.zeros((0, 3)), "n": np.zeros((5, 0), np.int16)})
    out = ecp.restore(tmp_path / "c")
    assert out["z"].shape == (0, 3) and isinstance(out["z"], ec.Array)
    assert out["n"].shape == (5, 0) and out["n"].dtype == np.int16
