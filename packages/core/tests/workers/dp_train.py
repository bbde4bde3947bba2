"""Worker for test_distributed.py: a data-parallel MLP training step over 2 processes x 4 CPU
devices (one global 8-device mesh). Prints the final parameters' checksum as JSON."""

from __future__ import annotations

import json
import sys

import numpy as np


def main() -> None:
    mode = sys.argv[1]  # "multi" (needs address, num_processes, process_id) or "single"
    import ember.core as ec
    if mode == "multi":
        address, num_processes, process_id = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        ec.distributed.initialize(address, num_processes, process_id, num_local_devices=4,
                                  heartbeat_timeout_seconds=5, initialization_timeout=30)
    else:
        ec.config.update("num_cpu_devices", 8)
        process_id, num_processes = 0, 1
    import ember.core.numpy as jnp
    from ember.core.sharding import NamedSharding, P

    assert ec.device_count() == 8, ec.device_count()
    mesh = ec.make_mesh((8,), ("data",))
    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P("data"))
    rng = np.random.default_rng(0)
    params = {"w1": rng.normal(0, 0.3, (4, 16)).astype(np.float32), "w2": rng.normal(0, 0.3, (16, 1)).astype(np.float32)}
    params = ec.device_put(params, replicated)
    x_all = rng.normal(size=(64, 4)).astype(np.float32)
    y_all = np.sin(x_all.sum(1, keepdims=True)).astype(np.float32)
    per_process = 64 // num_processes
    lo, hi = process_id * per_process, (process_id + 1) * per_process
    x = ec.make_array_from_process_local_data(batch_sharding, x_all[lo:hi], (64, 4))
    y = ec.make_array_from_process_local_data(batch_sharding, y_all[lo:hi], (64, 1))

    def loss(p, x, y):
        h = jnp.tanh(x @ p["w1"])
        return jnp.mean((h @ p["w2"] - y) ** 2)

    @ec.jit
    def step(p, x, y):
        l, g = ec.value_and_grad(loss)(p, x, y)  # the mean over the sharded batch: XLA's all-reduce
        return ec.tree.map(lambda a, b: a - 0.1 * b, p, g), l

    # the same step written per device with an explicit psum that crosses processes
    def local_grads(p, xs, ys):
        g = ec.grad(lambda q: jnp.sum((jnp.tanh(xs @ q["w1"]) @ q["w2"] - ys) ** 2) / 64)(p)
        return ec.lax.psum(g, "data")

    explicit = ec.jit(ec.shard_map(local_grads, mesh=mesh, in_specs=(P(), P("data"), P("data")), out_specs=P()))
    for _ in range(5):
        params, l = step(params, x, y)
    g_explicit = explicit(params, x, y)
    _, g_implicit = ec.jit(ec.value_and_grad(loss))(params, x, y)
    gather = ec.jit(lambda t: t, out_shardings=replicated)
    w1 = np.asarray(gather(params["w1"]).addressable_shards[0].data)
    w2 = np.asarray(gather(params["w2"]).addressable_shards[0].data)
    ge = np.asarray(gather(g_explicit["w1"]).addressable_shards[0].data)
    gi = np.asarray(gather(g_implicit["w1"]).addressable_shards[0].data)
    print(json.dumps({"process": process_id, "w1": w1.tolist(), "w2": w2.tolist(),
                      "grads_agree": bool(np.allclose(ge, gi, rtol=1e-4, atol=1e-6)), "loss": float(np.asarray(
                          gather(l).addressable_shards[0].data))}))
    sys.stdout.flush()
    if mode == "multi":
        ec.distributed.barrier("done", timeout_seconds=30)
        ec.distributed.shutdown()


if __name__ == "__main__":
    main()
