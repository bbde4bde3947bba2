"""Two processes on 127.0.0.1 (4 CPU devices each, one 8-device mesh) save one sharded checkpoint,
each writing only the shards it owns, and restore it into a different mesh; then this (single)
process restores it onto other device counts and as NumPy."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ember.checkpoint as ecp
import ember.core as ec
from ember.checkpoint._src import multihost
from ember.core.sharding import NamedSharding, P, SingleDeviceSharding

WORKERS = Path(__file__).parent / "workers"
sys.path.insert(0, str(WORKERS))
from mp_checkpoint import global_data  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_save_sharded_and_restore_into_another_mesh(tmp_path):
    address = f"127.0.0.1:{_free_port()}"
    env = {k: v for k, v in os.environ.items() if k != "EMBER_NUM_CPU_DEVICES"}
    procs = [subprocess.Popen([sys.executable, str(WORKERS / "mp_checkpoint.py"), address, str(i), str(tmp_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-4000:]
    reports = [json.loads([line for line in out.splitlines() if line.startswith("{")][-1]) for out, _ in outs]
    for r in reports:
        assert r["steps"] == [1]
        assert all(r["ok"].values()), r

    step = tmp_path / "1"
    data = global_data()
    # every block written exactly once: x has 8 row blocks, w 4x2 tiles, r one replicated block
    shard_files = sorted(str(p.relative_to(step)) for p in step.rglob("*") if p.is_file() and "/c/" in str(p))
    assert len(shard_files) == 8 + 8 + 1, shard_files
    # restore with nothing but the checkpoint: as NumPy, onto one device, onto another mesh size
    as_np = ecp.restore(step, items=["state"], as_numpy=True)["state"]
    for name in data:
        np.testing.assert_array_equal(as_np[name], data[name])
    one = SingleDeviceSharding(ec.devices()[0])
    got = ecp.restore(step, items={"state": {"w": ec.ShapeDtypeStruct((128, 96), np.float32, sharding=one)}})
    np.testing.assert_array_equal(np.asarray(got["state"]["w"]), data["w"])
    mesh2 = ec.make_mesh((2,), ("d",), devices=ec.devices()[:2])
    got = ecp.restore(step, items={"state": {"x": ec.ShapeDtypeStruct((64, 256), np.float32,
                                                                      sharding=NamedSharding(mesh2, P(None, "d")))}})
    np.testing.assert_array_equal(np.asarray(got["state"]["x"]), data["x"])


def test_barrier_timeout_names_the_missing_process(tmp_path, monkeypatch):
    def never(name, timeout_seconds):
        raise TimeoutError("deadline exceeded")

    monkeypatch.setattr(multihost, "process_count", lambda: 3)
    monkeypatch.setattr(multihost, "process_index", lambda: 0)
    monkeypatch.setattr(multihost.ec.distributed, "barrier", never)
    arrivals = tmp_path / "arrivals"
    arrivals.mkdir()
    (arrivals / "arrived-2").write_bytes(b"")
    with pytest.raises(ecp.BarrierTimeoutError, match=r"process 1 did not arrive within 5.0s"):
        multihost.sync_processes("written", 5.0, arrivals_dir=arrivals)
    assert sorted(os.listdir(arrivals)) == ["arrived-0", "arrived-2"]
