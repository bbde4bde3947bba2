"""Sharded params: optimizer state is created with the params' shardings and keeps them
through jitted updates."""

from __future__ import annotations

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo
from ember.core.sharding import NamedSharding, P

pytestmark = pytest.mark.skipif(ec.device_count() < 8, reason="needs EMBER_NUM_CPU_DEVICES=8 (tests/conftest.py)")


def _equivalent(a, b, ndim):
    """Same placement: each device holds the same slice of the array."""
    shape = (8,) * ndim
    return a.devices_indices_map(shape) == b.devices_indices_map(shape)


def _setup():
    mesh = ec.make_mesh((4, 2), ("data", "model"))
    shardings = {"w": NamedSharding(mesh, P("data", "model")), "b": NamedSharding(mesh, P("data")),
                 "v": NamedSharding(mesh, P())}
    r = np.random.default_rng(0)
    params = {"w": r.normal(size=(8, 4)).astype(np.float32), "b": r.normal(size=(8,)).astype(np.float32),
              "v": r.normal(size=(4,)).astype(np.float32)}
    return mesh, shardings, {k: ec.device_put(jnp.asarray(v), shardings[k]) for k, v in params.items()}


@pytest.mark.parametrize("make", [lambda: eo.adamw(1e-2), lambda: eo.sgd(0.1, momentum=0.9),
                                  lambda: eo.lion(1e-3), lambda: eo.adafactor(1e-2)],
                         ids=["adamw", "sgd_momentum", "lion", "adafactor"])
def test_state_is_sharded_like_params(make):
    _, shardings, params = _setup()
    opt = make()
    state = opt.init(params)
    for path, leaf in ec.tree.flatten_with_path(state)[0]:
        key = ec.tree.keystr(path)
        for name in params:
            if key.endswith(f"['{name}']") and leaf.shape == params[name].shape:
                assert leaf.sharding == params[name].sharding, key
    if hasattr(state[0], "mu"):
        assert state[0].mu["w"].sharding == shardings["w"]


def test_jitted_update_keeps_the_shardings():
    _, shardings, params = _setup()
    opt = eo.chain(eo.clip_by_global_norm(1.0), eo.adamw(eo.schedules.cosine_decay_schedule(1e-2, 100)))
    state = opt.init(params)

    def loss(p):
        return jnp.sum(p["w"] ** 2) + jnp.sum(p["b"] ** 2) + jnp.sum(p["v"] ** 2)

    def step(p, s):
        updates, s = opt.update(ec.grad(loss)(p), s, p)
        return eo.apply_updates(p, updates), s

    new_params, new_state = ec.jit(step)(params, state)
    new_params, new_state = ec.jit(step)(new_params, new_state)
    for k in params:
        for leaf in (new_params[k], new_state[1][0].mu[k], new_state[1][0].nu[k]):
            assert _equivalent(leaf.sharding, shardings[k], leaf.ndim), (k, leaf.sharding)
    # and the numbers are those of the unsharded computation
    plain = {k: jnp.asarray(np.asarray(v)) for k, v in params.items()}
    ref_params, ref_state = step(*step(plain, opt.init(plain)))
    for k in params:
        np.testing.assert_allclose(np.asarray(new_params[k]), np.asarray(ref_params[k]), rtol=1e-5, atol=1e-6)
