import gc
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from ember_data_testing import assert_tree_equal, normalize, pid_alive

import ember.data as ed
from ember.data._src import multiprocessing as mp_lib
from ember.data._src import shm


def _opts(n, buf=2):
    return ed.MultiprocessingOptions(num_workers=n, per_worker_buffer_size=buf)


def _pipeline(images, workers):
    ds = (ed.MapDataset.source(images).shuffle(seed=3).map(normalize)
          .to_iter_dataset().filter(lambda r: r["label"] % 4 != 1).batch(8))
    return ds.mp_prefetch(_opts(workers)) if workers is not None else ds


def _shm_files(prefix="ember-data-"):
    return [f for f in os.listdir(shm.SHM_DIR) if f.startswith(prefix + str(os.getpid()))]


def test_output_does_not_depend_on_worker_count(images):
    reference = list(_pipeline(images, None))
    for workers in (0, 1, 3):
        got = list(_pipeline(images, workers))
        assert len(got) == len(reference)
        for a, b in zip(got, reference):
            assert_tree_equal(a, b)
    assert not _shm_files()


def test_resume_after_changing_the_worker_count(images):
    reference = list(_pipeline(images, None))
    it = iter(_pipeline(images, 2))
    for _ in range(7):
        next(it)
    state = json.loads(json.dumps(it.get_state()))
    it.close()
    for workers in (None, 1, 3):
        fresh = iter(_pipeline(images, workers))
        fresh.set_state(state)
        rest = list(fresh)
        assert len(rest) == len(reference) - 7
        for a, b in zip(rest, reference[7:]):
            assert_tree_equal(a, b)
    # and from a single-process state into workers, mid-way through a set_state-restarted iterator
    sp = iter(_pipeline(images, None))
    for _ in range(3):
        next(sp)
    mp_it = iter(_pipeline(images, 2))
    next(mp_it)
    mp_it.set_state(sp.get_state())
    assert_tree_equal(next(mp_it), reference[3])
    mp_it.close()


def test_unfusible_steps_run_in_the_main_process_with_segments_in_workers():
    seqs = [{"t": np.arange(n % 7 + 1, dtype=np.int32)} for n in range(60)]
    def make(workers):
        ds = ed.MapDataset.source(seqs).to_iter_dataset().map(lambda r: {"t": r["t"] * 2})
        ds = ds.pack({"t": 8}, num_packing_bins=2).batch(3)
        return ds.mp_prefetch(_opts(workers)) if workers else ds
    ref = list(make(0))
    it = iter(make(2))
    assert type(it).__name__ == "PoolOwnerIterator"
    got = list(it)
    assert len(got) == len(ref)
    for a, b in zip(got, ref):
        assert_tree_equal(a, b)


def test_worker_exception_carries_traceback_and_index():
    def explode(x):
        if x == 37:
            raise ZeroDivisionError("cannot handle record 37")
        return x

    ds = ed.MapDataset.range(100).map(explode).to_iter_dataset().mp_prefetch(_opts(2))
    it = iter(ds)
    with pytest.raises(ed.WorkerError) as e:
        list(it)
    err = e.value
    assert err.index == 37 and err.original_type == "ZeroDivisionError"
    assert "explode" in err.worker_traceback and "cannot handle record 37" in str(err)
    assert "record index 37" in str(err) and "Traceback" in str(err)
    it.close()


def test_untransferable_records_are_a_clear_error():
    class Opaque:
        pass

    ds = ed.MapDataset.range(4).map(lambda x: Opaque()).to_iter_dataset().mp_prefetch(_opts(1))
    with pytest.raises(ed.WorkerError, match="Cannot send.*Opaque.*never pickles"):
        list(ds)


def test_worker_init_fn_runs_in_each_worker():
    import ember_data_testing as helpers

    def init(index, count):
        helpers.WORKER_TAG = 1000 + count

    ds = ed.MapDataset.range(6).map(lambda x: x + getattr(helpers, "WORKER_TAG", 0)).to_iter_dataset()
    assert list(ds.mp_prefetch(_opts(2), worker_init_fn=init)) == [1002 + i for i in range(6)]
    assert getattr(helpers, "WORKER_TAG", None) is None  # never ran in this process

    def bad_init(index, count):
        raise RuntimeError("init failed")

    with pytest.raises(ed.WorkerError, match="worker_init_fn failed.*init failed"):
        list(ds.mp_prefetch(_opts(1), worker_init_fn=bad_init))


def test_break_gc_and_close_leave_no_processes_or_shared_memory(images):
    ds = _pipeline(images, 2)
    for how in ("break", "close"):
        it = iter(ds)
        for i, _ in enumerate(it):
            if i == 3:
                break
        pids = list(it._pool.pids) if hasattr(it, "_pool") else list(it._owned_pool.pids)
        assert pids and all(pid_alive(p) for p in pids)
        if how == "close":
            it.close()
        else:
            del it
            gc.collect()
        for p in pids:
            os.waitpid(p, os.WNOHANG) if pid_alive(p) else None
        assert not any(pid_alive(p) for p in pids), how
        assert not _shm_files(), how


def test_batches_survive_close_and_slots_are_reused(images):
    ds = ed.MapDataset.source(images).map(normalize).batch(4).to_iter_dataset().mp_prefetch(_opts(2))
    it = iter(ds)
    kept = next(it)
    for _ in range(30):
        next(it)
    it_prefix = it._owned_pool.prefix
    assert len(shm.list_prefix(it_prefix)) <= 2 * 4 + 2  # slots are recycled, not one per batch
    it.close()
    assert kept["image"].shape == (4, 3, 4, 4) and float(kept["image"].max()) <= 1.0
    assert not shm.list_prefix(it_prefix)


_KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    import ember.data as ed
    def slow(x):
        time.sleep(0.02)
        return x
    ds = ed.MapDataset.range(100000).map(slow).to_iter_dataset().mp_prefetch(ed.MultiprocessingOptions(2))
    it = iter(ds)
    next(it)
    os.kill(it._owned_pool.pids[0], signal.SIGKILL)
    try:
        for _ in it:
            pass
    except ed.WorkerError as e:
        print("ERROR:", e)
        sys.exit(3)
""")


def test_killed_worker_is_a_clear_error():
    out = subprocess.run([sys.executable, "-c", _KILL_SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stderr
    assert "SIGKILL" in out.stdout and "worker 0" in out.stdout


_CTRL_C_SCRIPT = textwrap.dedent("""
    import os, signal, sys, time
    # A test run started in the background by a non-interactive shell (`pytest ... &`) passes
    # on an ignored SIGINT, which Python keeps ignored: the child would never see this Ctrl-C.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    import ember.data as ed
    ds = ed.MapDataset.range(10**9).map(lambda x: np.full(1000, x)).batch(4).to_iter_dataset()
    it = iter(ds.mp_prefetch(ed.MultiprocessingOptions(2)))
    next(it)
    print(" ".join(map(str, it._owned_pool.pids)), it._owned_pool.prefix, flush=True)
    for _ in it:
        pass
""")


def test_ctrl_c_leaves_no_orphans_or_shared_memory():
    proc = subprocess.Popen([sys.executable, "-c", _CTRL_C_SCRIPT], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert select.select([proc.stdout], [], [], 120)[0], "the child never started its workers"
        line = proc.stdout.readline().split()
        pids, prefix = [int(p) for p in line[:-1]], line[-1]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # a no-op unless the test failed; never leave it running
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    for _ in range(50):  # reparented workers are reaped by init; give it a moment
        if not any(pid_alive(p) for p in pids):
            break
        time.sleep(0.1)
    assert not any(pid_alive(p) for p in pids)
    assert not shm.list_prefix(prefix)


def test_ctrl_c_while_closing_still_stops_workers_and_removes_shared_memory(monkeypatch):
    it = iter(ed.MapDataset.range(1000).to_iter_dataset().mp_prefetch(_opts(2)))
    next(it)
    pids, prefix = it._owned_pool.pids, it._owned_pool.prefix
    assert shm.list_prefix(prefix)

    def interrupted(conns):
        raise KeyboardInterrupt

    monkeypatch.setattr(mp_lib, "_ask_to_stop", interrupted)
    with pytest.raises(KeyboardInterrupt):
        it.close()
    assert not any(pid_alive(p) for p in pids)
    assert not shm.list_prefix(prefix)


def test_ctrl_c_while_a_result_is_filed_breaks_the_pool_instead_of_hanging(monkeypatch):
    """A result read from a worker but not yet filed is gone: carrying on would wait forever
    for it. The interrupted pool says so on the next call, and has stopped its workers."""
    it = iter(ed.MapDataset.range(1000).to_iter_dataset().mp_prefetch(_opts(2)))
    assert next(it) == 0
    pids, prefix = it._owned_pool.pids, it._owned_pool.prefix
    receive = mp_lib.WorkerPool._receive

    def interrupted_once(self, w, msg):
        monkeypatch.setattr(mp_lib.WorkerPool, "_receive", receive)
        raise KeyboardInterrupt

    monkeypatch.setattr(mp_lib.WorkerPool, "_receive", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        while True:  # until a result is received (prefetched ones are served first)
            next(it)
    outcome = []
    waiter = threading.Thread(target=lambda: outcome.append(_raised_by(lambda: next(it))), daemon=True)
    waiter.start()
    waiter.join(60)
    assert not waiter.is_alive(), "next() hung after an interrupted receive"
    assert isinstance(outcome[0], ed.WorkerError), outcome
    assert "interrupted while receiving a result from worker" in str(outcome[0])
    assert not any(pid_alive(p) for p in pids)
    assert not shm.list_prefix(prefix)


def _raised_by(fn):
    try:
        fn()
    except BaseException as e:  # noqa: BLE001 - the test inspects whatever came out
        return e
    return None


def test_freeing_a_chunk_runs_no_python_code():
    # Python code run from a deallocation is where a Ctrl-C can be raised, then swallowed as
    # "Exception ignored in ...", and the program goes on.
    writer, reader = shm.SlotWriter(f"ember-data-{os.getpid()}-free-"), shm.SlotReader()
    try:
        elements, _, _ = reader.read(writer.write([np.arange(3)], [1]))
        calls = []
        sys.setprofile(lambda frame, event, arg: calls.append(frame.f_code.co_name) if event == "call" else None)
        try:
            del elements
        finally:
            sys.setprofile(None)
        assert calls == []
        assert reader.freed() == [0] and reader.freed() == []
    finally:
        writer.cleanup()


def test_stats_report_worker_parallelism(images):
    it = iter(_pipeline(images, 2))
    list(it)
    stats = it.stats()
    worker_rows = [r for r in stats["stages"] if r["parallelism"] == 2]
    assert worker_rows and all(r["elements"] > 0 for r in worker_rows)
    assert stats["bottleneck"] in [r["name"] for r in stats["stages"]]
    assert "bottleneck:" in it.stats_table()


def test_steps_after_mp_prefetch_run_in_this_process():
    main = os.getpid()
    ds = (ed.MapDataset.range(12).to_iter_dataset().map(lambda x: (x, os.getpid()))
          .mp_prefetch(_opts(2)).map(lambda t: (t[0], t[1] != main, os.getpid() == main)))
    out = list(ds)
    assert [x for x, _, _ in out] == list(range(12))
    assert all(in_worker and in_main for _, in_worker, in_main in out)


def test_mp_prefetch_without_any_random_access_input_warns():
    with pytest.warns(RuntimeWarning, match="no work to give"):
        it = iter(ed.IterDataset.interleave([]).mp_prefetch(_opts(2)))
    assert list(it) == []
