"""CheckpointManager: save schedule, retention policies, items, metrics, leftovers, multi-tier."""

from __future__ import annotations

import os

import numpy as np
import pytest

import ember.checkpoint as ecp
import ember.core as ec
import ember.core.random as er
from ember.checkpoint._src import layout
from ember.checkpoint._src import manager as manager_mod


def _opts(**kw) -> ecp.CheckpointManagerOptions:
    kw.setdefault("enable_async", False)
    return ecp.CheckpointManagerOptions(**kw)


def _items(step: int) -> dict:
    return {"state": {"w": np.full((4,), float(step))}, "meta": {"step": step}}


def test_items_are_saved_together_and_restored_by_name(tmp_path, rng):
    mngr = ecp.CheckpointManager(tmp_path, _opts())
    items = {
        "model": {"w": ec.device_put(rng.normal(size=(64, 512)).astype(np.float32))},
        "opt": {"count": np.int32(3), "mu": {"w": np.zeros((64, 512), np.float32)}},
        "data": {"index": 1234, "epoch": 2, "seed": 0},
        "rng": er.PRNGKey(7),
        "metadata": {"lr": 1e-3, "config": {"layers": [1, 2], "name": "run"}},
    }
    assert mngr.save(10, items)
    out = mngr.restore()
    assert set(out) == set(items)
    np.testing.assert_array_equal(np.asarray(out["model"]["w"]), np.asarray(items["model"]["w"]))
    assert out["data"] == items["data"] and out["metadata"] == items["metadata"]
    assert np.asarray(out["rng"]).tolist() == np.asarray(items["rng"]).tolist()
    only = mngr.restore(10, items=["data"])
    assert only == {"data": items["data"]}
    target = mngr.restore(10, items={"model": {"w": ec.ShapeDtypeStruct((64, 512), np.float16)}})
    assert target["model"]["w"].dtype == np.float16
    meta = mngr.item_metadata(10)
    assert meta["model"]["w"].shape == (64, 512)


def test_save_interval_and_should_save(tmp_path):
    mngr = ecp.CheckpointManager(tmp_path, _opts(save_interval_steps=3))
    assert mngr.should_save(1)  # nothing saved yet: the first save always happens
    saved = [s for s in range(1, 11) if mngr.save(s, _items(s))]
    assert saved == [1, 3, 6, 9]
    assert not mngr.should_save(9) and not mngr.should_save(5)
    assert mngr.save(10, _items(10), force=True)
    assert mngr.all_steps() == [1, 3, 6, 9, 10] and mngr.latest_step() == 10
    with pytest.raises(ecp.StepAlreadyExistsError):
        mngr.save(10, _items(10), force=True)


def test_max_to_keep_and_keep_period(tmp_path):
    mngr = ecp.CheckpointManager(tmp_path, _opts(max_to_keep=2, keep_period=4))
    for s in range(10):
        mngr.save(s, _items(s))
    assert mngr.all_steps() == [0, 4, 8, 9]
    out = mngr.restore(8)
    assert out["meta"]["step"] == 8


def test_best_fn_keeps_the_best(tmp_path):
    losses = {0: 5.0, 1: 1.0, 2: 3.0, 3: 0.5, 4: 4.0, 5: 2.0}
    mngr = ecp.CheckpointManager(tmp_path, _opts(max_to_keep=2, best_fn=lambda m: m["loss"], best_mode="min"))
    for s, loss in losses.items():
        mngr.save(s, _items(s), metrics={"loss": np.float32(loss)})
    assert mngr.all_steps() == [1, 3, 5]  # the best two, and the newest (never deleted)
    assert mngr.best_step() == 3
    assert mngr.metrics(3) == {"loss": 0.5}
    again = ecp.CheckpointManager(tmp_path, _opts(best_fn=lambda m: m["loss"], best_mode="min"))
    assert again.best_step() == 3  # metrics live in the checkpoint
    high = ecp.CheckpointManager(tmp_path / "max", _opts(max_to_keep=1, best_fn=lambda m: m["acc"]))
    for s, acc in enumerate([0.1, 0.9, 0.5]):
        high.save(s, _items(s), metrics={"acc": acc})
    assert high.all_steps() == [1, 2] and high.best_step() == 1


def test_keep_time_interval(tmp_path, monkeypatch):
    clock = iter([0.0, 10.0, 20.0, 100.0, 110.0, 250.0])
    monkeypatch.setattr(manager_mod, "_now", lambda: next(clock))
    mngr = ecp.CheckpointManager(tmp_path, _opts(max_to_keep=1, keep_time_interval=100))
    for s in range(6):
        mngr.save(s, _items(s))
    assert mngr.all_steps() == [0, 3, 5]


def test_step_prefix_delete_and_context_manager(tmp_path):
    with ecp.CheckpointManager(tmp_path, _opts(step_prefix="ckpt")) as mngr:
        for s in (1, 2, 3):
            mngr.save(s, _items(s))
        assert sorted(os.listdir(tmp_path)) == ["ckpt_1", "ckpt_2", "ckpt_3"]
        mngr.delete(2)
        assert mngr.all_steps() == [1, 3]
        with pytest.raises(ecp.CheckpointNotFoundError):
            mngr.restore(2)
    with pytest.raises(RuntimeError, match="closed"):
        mngr.save(4, _items(4))
    with pytest.raises(FileNotFoundError):
        ecp.CheckpointManager(tmp_path / "absent", _opts(create=False))
    with pytest.raises(ecp.CheckpointNotFoundError):
        ecp.CheckpointManager(tmp_path / "empty", _opts()).restore()


def test_leftovers_are_invisible_and_cleaned_up(tmp_path):
    mngr = ecp.CheckpointManager(tmp_path, _opts())
    mngr.save(1, _items(1))
    # an interrupted save of step 2, an uncommitted step 3 folder, an interrupted deletion
    (tmp_path / layout.tmp_path_for(tmp_path / "2").name).mkdir()
    (tmp_path / "3").mkdir()
    (tmp_path / layout.deleting_path_for(tmp_path / "0").name).mkdir()
    assert mngr.latest_step() == 1 and mngr.all_steps() == [1]
    ecp.CheckpointManager(tmp_path, _opts())
    assert sorted(os.listdir(tmp_path)) == ["1", "3"]


def test_async_manager_saves_in_background(tmp_path, rng):
    mngr = ecp.CheckpointManager(tmp_path, ecp.CheckpointManagerOptions(max_to_keep=2))
    w = rng.normal(size=(256, 256)).astype(np.float32)
    for s in range(4):
        state = {"w": w + s}
        assert mngr.save(s, {"state": state})
        state["w"][...] = -1  # mutating NumPy input after save returns must not change the checkpoint
    mngr.wait_until_finished()
    assert mngr.all_steps() == [2, 3]
    np.testing.assert_array_equal(mngr.restore(3)["state"]["w"], w + 3)
    mngr.close()


def test_async_error_surfaces_on_next_call(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    ckptr = ecp.AsyncCheckpointer()
    ckptr.save(blocker / "c", {"w": np.zeros(3)})  # fails in the background: parent is a file
    with pytest.raises(OSError):
        ckptr.wait_until_finished()
    ckptr.wait_until_finished()  # reported once
    ckptr.save(blocker / "c", {"w": np.zeros(3)})
    with pytest.raises(OSError):
        ckptr.save(tmp_path / "ok", {"w": np.zeros(3)})  # the next save raises the pending error
    ckptr.save(tmp_path / "ok", {"w": np.zeros(3)})
    ckptr.close()
    assert ecp.restore(tmp_path / "ok", as_numpy=True)["w"].tolist() == [0.0] * 3


def test_second_async_save_waits_for_the_first(tmp_path, monkeypatch):
    from ember.checkpoint._src import async_checkpointer as ac
    events = []
    original = ac.Checkpointer._write

    def slow_write(self, final, plan, **kw):
        events.append(("start", final.name))
        import time
        time.sleep(0.2)
        original(self, final, plan, **kw)
        events.append(("end", final.name))

    monkeypatch.setattr(ac.Checkpointer, "_write", slow_write)
    ckptr = ecp.AsyncCheckpointer()
    ckptr.save(tmp_path / "a", {"x": np.ones(2)})
    ckptr.save(tmp_path / "b", {"x": np.ones(2)})
    ckptr.wait_until_finished()
    assert events == [("start", "a"), ("end", "a"), ("start", "b"), ("end", "b")]


def test_multi_tier_restores_newest_of_either_tier(tmp_path):
    local, persistent = tmp_path / "shm", tmp_path / "disk"
    mt = ecp.MultiTierCheckpointManager(
        local, persistent,
        local_options=_opts(save_interval_steps=2, max_to_keep=1),
        persistent_options=_opts(save_interval_steps=5))
    for s in range(12):
        mt.save(s, _items(s))
    assert mt.local.all_steps() == [10] and mt.persistent.all_steps() == [0, 5, 10]
    assert mt.latest_step() == 10
    # the fast tier is lost (e.g. the machine restarted): the persistent tier still restores
    import shutil
    shutil.rmtree(local)
    mt2 = ecp.MultiTierCheckpointManager(local, persistent, local_options=_opts(), persistent_options=_opts())
    assert mt2.latest_step() == 10 and mt2.restore()["meta"]["step"] == 10
    mt2.save(11, _items(11))  # the local tier (interval 1) gets newer than the persistent one
    assert mt2.restore()["meta"]["step"] == 11 and mt2.all_steps() == [0, 5, 10, 11]
    mt2.close()


def test_options_are_validated():
    with pytest.raises(ValueError):
        ecp.CheckpointManagerOptions(save_interval_steps=0)
    with pytest.raises(ValueError):
        ecp.CheckpointManagerOptions(best_mode="median")
    with pytest.raises(ValueError):
        ecp.CheckpointManagerOptions(step_prefix="../x")


def test_async_save_survives_deleting_or_donating_the_arrays(tmp_path):
    import ember.core.numpy as jnp
    ckptr = ecp.AsyncCheckpointer()
    xs = {f"x{i}": ec.device_put(np.full((256, 256), i, np.float32)) for i in range(4)}
    ckptr.save(tmp_path / "a", xs)
    for v in xs.values():
        v.delete()  # training frees its buffers as soon as save returns
    double = ec.jit(lambda t: t * 2, donate_argnums=0)
    ys = {f"y{i}": ec.device_put(np.full((256, 256), i, np.float32)) for i in range(4)}
    ckptr.wait_until_finished()
    ckptr.save(tmp_path / "b", ys)
    doubled = [double(v) for v in ys.values()]
    scratch = [jnp.full((256, 256), -7.0) + 1 for _ in range(8)]  # reuse freed device memory
    ckptr.close()
    a, b = ecp.restore(tmp_path / "a", as_numpy=True), ecp.restore(tmp_path / "b", as_numpy=True)
    assert all((a[f"x{i}"] == i).all() and (b[f"y{i}"] == i).all() for i in range(4))
    assert [float(d[0, 0]) for d in doubled] == [0.0, 2.0, 4.0, 6.0] and float(scratch[0][0, 0]) == -6.0
