"""Worker for test_multiprocess.py: one of 2 processes (4 CPU devices each, one 8-device mesh).
Saves a sharded state with a CheckpointManager, then restores it into a different mesh and
partitioning, and checks every local shard. Prints a JSON report."""

from __future__ import annotations

import json
import os
import sys

import numpy as np


def global_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {"x": rng.normal(size=(64, 256)).astype(np.float32),
            "w": rng.normal(size=(128, 96)).astype(np.float32),
            "r": rng.normal(size=(64, 512)).astype(np.float32),
            "small": np.arange(8, dtype=np.int32)}


def main() -> None:
    address, process_id, directory = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    import ember.core as ec
    ec.distributed.initialize(address, 2, process_id, num_local_devices=4, heartbeat_timeout_seconds=10,
                              initialization_timeout=60)
    import ember.checkpoint as ecp
    from ember.core.sharding import NamedSharding, P

    assert ec.device_count() == 8 and ec.local_device_count() == 4
    data = global_data()
    mesh = ec.make_mesh((8,), ("data",))
    mesh2d = ec.make_mesh((4, 2), ("a", "b"))

    def put(value, sharding):
        return ec.make_array_from_callback(value.shape, sharding, lambda idx: value[idx])

    state = {
        "x": put(data["x"], NamedSharding(mesh, P("data"))),         # rows split over both processes
        "w": put(data["w"], NamedSharding(mesh2d, P("a", "b"))),     # 2-D tiling
        "r": put(data["r"], NamedSharding(mesh, P())),               # replicated everywhere
        "small": put(data["small"], NamedSharding(mesh, P())),
    }
    mngr = ecp.CheckpointManager(directory, ecp.CheckpointManagerOptions(max_to_keep=2, barrier_timeout=120))
    mngr.save(1, {"state": state, "meta": {"note": "two processes"}})
    mngr.wait_until_finished()
    ec.distributed.barrier("saved", timeout_seconds=120)
    steps = mngr.all_steps()

    # restore into another mesh and partitioning than at save time
    other = ec.make_mesh((2, 4), ("p", "q"))
    target = {"state": {
        "x": ec.ShapeDtypeStruct((64, 256), np.float32, sharding=NamedSharding(other, P("q", "p"))),
        "w": ec.ShapeDtypeStruct((128, 96), np.float32, sharding=NamedSharding(other, P(None, "q"))),
        "r": ec.ShapeDtypeStruct((64, 512), np.float32, sharding=NamedSharding(other, P("p", "q"))),
        "small": ec.ShapeDtypeStruct((8,), np.int32, sharding=NamedSharding(other, P("q"))),
    }}
    restored = mngr.restore(1, items=target)["state"]
    ok = {}
    for name, arr in restored.items():
        ok[name] = all(np.array_equal(np.asarray(s.data), data[name][s.index]) for s in arr.addressable_shards) \
            and arr.sharding == target["state"][name].sharding and len(arr.addressable_shards) == 4
    # and without a target: the saved layout, rebuilt from the metadata
    plain = mngr.restore(1)
    ok["saved_layout"] = plain["state"]["w"].sharding.spec == P("a", "b") and all(
        np.array_equal(np.asarray(s.data), data["w"][s.index]) for s in plain["state"]["w"].addressable_shards)
    ok["meta"] = plain["meta"] == {"note": "two processes"}
    mngr.close()
    print(json.dumps({"process": process_id, "steps": steps, "ok": ok}), flush=True)
    ec.distributed.barrier("done", timeout_seconds=120)
    ec.distributed.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
