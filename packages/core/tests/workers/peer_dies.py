"""Worker for test_distributed.py: process 1 dies right after joining; process 0 then runs a
cross-process computation and must fail with an error (not hang)."""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    address, process_id = sys.argv[1], int(sys.argv[2])
    import ember.core as ec
    ec.distributed.initialize(address, 2, process_id, num_local_devices=2, heartbeat_timeout_seconds=3,
                              initialization_timeout=30)
    import numpy as np

    from ember.core.sharding import NamedSharding, P
    mesh = ec.make_mesh((4,), ("data",))
    if process_id == 1:
        os._exit(17)  # a crash: no shutdown, no goodbye
    time.sleep(1.0)
    start = time.monotonic()
    try:
        x = ec.make_array_from_process_local_data(NamedSharding(mesh, P("data")), np.ones((2, 3), np.float32), (4, 3))
        total = ec.jit(lambda v: v.sum(), out_shardings=NamedSharding(mesh, P()))(x)
        total.block_until_ready()
        ec.distributed.barrier("after", timeout_seconds=5)
        print("NO ERROR", flush=True)
    except Exception as e:  # noqa: BLE001 - report whatever the runtime raised
        print(f"ERROR after {time.monotonic() - start:.1f}s: {type(e).__name__}: {str(e)[:200]}", flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
