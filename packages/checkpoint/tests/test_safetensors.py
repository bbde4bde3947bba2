"""The optional safetensors export."""

from __future__ import annotations

import numpy as np
import pytest

import ember.checkpoint as ecp
import ember.core.numpy as jnp

safetensors_numpy = pytest.importorskip("safetensors.numpy")


def test_export_a_restored_tree_and_a_checkpoint_folder(tmp_path, rng):
    tree = {"dense": {"kernel": rng.normal(size=(300, 200)).astype(np.float32), "bias": jnp.zeros(200)},
            "layers": [np.arange(4, dtype=np.int64)], "step": 5}
    ecp.save(tmp_path / "c", tree)
    names = ecp.export_safetensors(ecp.restore(tmp_path / "c"), tmp_path / "a.safetensors")
    assert sorted(names) == ["dense.bias", "dense.kernel", "layers.0"]
    loaded = safetensors_numpy.load_file(str(tmp_path / "a.safetensors"))
    np.testing.assert_array_equal(loaded["dense.kernel"], tree["dense"]["kernel"])
    assert loaded["layers.0"].dtype == np.int64
    ecp.export_safetensors(tmp_path / "c", tmp_path / "b.safetensors")  # straight from the folder
    again = safetensors_numpy.load_file(str(tmp_path / "b.safetensors"))
    assert set(again) == set(loaded)
    np.testing.assert_array_equal(again["dense.bias"], np.zeros(200, np.float32))
