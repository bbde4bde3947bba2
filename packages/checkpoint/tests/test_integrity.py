"""Corruption is detected with a clear error; untrusted metadata cannot escape or run code; the
on-disk format opens with plain zarr."""

from __future__ import annotations

import os
from pathlib import Path

import msgpack
import numpy as np
import pytest
import zarr

import ember.checkpoint as ecp
import ember.core as ec
import ember.core.numpy as jnp
from ember.checkpoint._src import atomic, layout
from ember.core.sharding import NamedSharding, P


def _save_big(path: Path, rng) -> np.ndarray:
    x = rng.normal(size=(256, 128)).astype(np.float32)
    ecp.save(path, {"params": {"w": x}})
    return x


def _chunk_file(path: Path) -> Path:
    return next(p for p in path.rglob("*") if p.is_file() and "/c/" in str(p.relative_to(path.parent)))


def test_flipped_byte_in_a_chunk_is_detected(tmp_path, rng):
    _save_big(tmp_path / "c", rng)
    f = _chunk_file(tmp_path / "c")
    data = bytearray(f.read_bytes())
    data[1000] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(ecp.CheckpointCorruptionError, match=r"\['params'\]\['w'\].*checksum"):
        ecp.restore(tmp_path / "c")
    with pytest.raises(ValueError, match="checksum"):  # plain zarr sees it too (crc32c codec)
        zarr.open_array(str(tmp_path / "c" / "default" / "params.w"))[...]


def test_truncated_chunk_is_detected(tmp_path, rng):
    _save_big(tmp_path / "c", rng)
    f = _chunk_file(tmp_path / "c")
    size = f.stat().st_size
    with open(f, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(ecp.CheckpointCorruptionError, match=r"\['params'\]\['w'\]"):
        ecp.restore(tmp_path / "c")
    f.unlink()
    with pytest.raises(ecp.CheckpointCorruptionError, match="missing"):
        ecp.restore(tmp_path / "c")


def test_corrupted_tree_file_is_detected(tmp_path, rng):
    _save_big(tmp_path / "c", rng)
    f = tmp_path / "c" / layout.TREE_FILE
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(ecp.CheckpointCorruptionError, match="_CHECKPOINT.msgpack"):
        ecp.restore(tmp_path / "c")


def test_uncommitted_folder_is_not_a_checkpoint(tmp_path, rng):
    _save_big(tmp_path / "c", rng)
    (tmp_path / "c" / layout.COMMIT_FILE).unlink()
    with pytest.raises(ecp.CheckpointNotFoundError, match="not a committed checkpoint"):
        ecp.restore(tmp_path / "c")
    with pytest.raises(ecp.CheckpointNotFoundError, match="does not exist"):
        ecp.restore(tmp_path / "nothing")


def _rewrite_tree(path: Path, edit) -> None:
    tree_file = path / layout.TREE_FILE
    doc = msgpack.unpackb(tree_file.read_bytes(), raw=False, strict_map_key=False)
    edit(doc)
    data = msgpack.packb(doc, use_bin_type=True)
    tree_file.write_bytes(data)
    marker = atomic.read_commit_marker(path)
    marker.update(tree_crc32c=atomic.crc32c(data), tree_size=len(data))
    (path / layout.COMMIT_FILE).write_bytes(msgpack.packb(marker, use_bin_type=True))


def test_malicious_metadata_cannot_escape_the_folder(tmp_path, rng):
    _save_big(tmp_path / "c", rng)
    secret = tmp_path / "secret"
    secret.mkdir()

    def escape(doc):
        doc["items"]["default"]["leaves"][0]["arr"] = "../../secret"

    _rewrite_tree(tmp_path / "c", escape)
    with pytest.raises(ecp.CheckpointError, match="invalid array name"):
        ecp.restore(tmp_path / "c")


def test_metadata_with_unknown_dtype_or_extension_types_is_refused(tmp_path, rng):
    _save_big(tmp_path / "c", rng)

    def bad_dtype(doc):
        doc["items"]["default"]["leaves"][0]["dt"] = "object"

    _rewrite_tree(tmp_path / "c", bad_dtype)
    with pytest.raises(ecp.CheckpointCorruptionError, match="dtype"):
        ecp.restore(tmp_path / "c")
    # msgpack extension types (the only way msgpack could carry foreign objects) are refused
    tree_file = tmp_path / "c" / layout.TREE_FILE
    data = msgpack.packb({"items": {}, "x": msgpack.ExtType(42, b"payload")}, use_bin_type=True)
    tree_file.write_bytes(data)
    marker = atomic.read_commit_marker(tmp_path / "c")
    marker.update(tree_crc32c=atomic.crc32c(data), tree_size=len(data))
    (tmp_path / "c" / layout.COMMIT_FILE).write_bytes(msgpack.packb(marker, use_bin_type=True))
    with pytest.raises(ecp.CheckpointCorruptionError, match="extension type"):
        ecp.restore(tmp_path / "c")


def test_item_names_cannot_escape(tmp_path):
    mngr = ecp.CheckpointManager(tmp_path, ecp.CheckpointManagerOptions(enable_async=False))
    for bad in ("../x", "/abs", ".hidden", "a/b", ""):
        with pytest.raises(ValueError, match="item name"):
            mngr.save(0, {bad: np.zeros(2)}, force=True)
    assert mngr.all_steps() == []
    assert sorted(os.listdir(tmp_path)) == []


def test_no_pickle_in_the_package():
    src = Path(ecp.__file__).parent
    for f in src.rglob("*.py"):
        text = f.read_text()
        assert "import pickle" not in text and "pickle.load" not in text, f


def test_checkpoint_opens_with_plain_zarr(tmp_path, rng):
    mesh = ec.make_mesh((4, 2), ("a", "b"))
    x = rng.normal(size=(256, 256)).astype(np.float32)
    tree = {
        "x": ec.device_put(x, NamedSharding(mesh, P("a", "b"))),
        "y": ec.device_put(x * 2, NamedSharding(mesh, P("a", "b"))),  # stacked with x
        "bf": ec.device_put(jnp.asarray(x, jnp.bfloat16)),
        "small": np.arange(4),
    }
    ecp.save(tmp_path / "c", tree)
    root = zarr.open_group(str(tmp_path / "c"), mode="r")
    assert root.attrs["ember_checkpoint"]["items"] == ["default"]
    item = root["default"]
    arrays = {name: item[name] for name in item.array_keys()}
    stacked = next(a for a in arrays.values() if "ember_leaves" in a.attrs)
    leaves = stacked.attrs["ember_leaves"]
    np.testing.assert_array_equal(stacked[leaves.index("default['x']")], x)
    np.testing.assert_array_equal(stacked[leaves.index("default['y']")], x * 2)
    bf = next(a for a in arrays.values() if a.attrs.get("ember_dtype") == "bfloat16")
    np.testing.assert_array_equal(bf[...].view(jnp.bfloat16), np.asarray(tree["bf"]))
    # a sub-block read through zarr
    np.testing.assert_array_equal(stacked[leaves.index("default['x']"), 10:50, 100:200], x[10:50, 100:200])
