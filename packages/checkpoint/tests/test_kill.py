"""kill -9 the saving process at random moments: earlier checkpoints are never damaged, the
interrupted save is invisible to latest_step and cleaned up by the next manager."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import ember.checkpoint as ecp

WORKER = Path(__file__).parent / "workers" / "kill_saver.py"
ITERATIONS = 20


def _check_all_steps(directory: Path) -> list[int]:
    mngr = ecp.CheckpointManager(directory, ecp.CheckpointManagerOptions(enable_async=False))
    steps = mngr.all_steps()
    for step in steps:
        out = mngr.restore(step)
        assert out["meta"] == {"step": step}
        assert np.all(out["state"]["w"] == step) and np.all(out["state"]["v"] == -step)
        assert [int(t[0]) for t in out["state"]["tiny"]] == [step + i for i in range(50)]
    leftovers = [n for n in os.listdir(directory) if n.startswith(".")]
    assert leftovers == [], leftovers  # the manager above removed interrupted saves and deletions
    return steps


def test_kill_minus_nine_never_damages_a_checkpoint(tmp_path):
    rand = random.Random(1234)
    server = subprocess.Popen([sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={k: v for k, v in os.environ.items() if k != "EMBER_NUM_CPU_DEVICES"})
    latest = 0
    killed_mid_save = 0
    try:
        for i in range(ITERATIONS):
            server.stdin.write(f"run {tmp_path} {i % 2}\n")
            server.stdin.flush()
            pid = int(server.stdout.readline())
            time.sleep(rand.uniform(0.02, 0.4))
            os.kill(pid, signal.SIGKILL)
            status = server.stdout.readline().split()
            assert status[0] == "exited" and os.WIFSIGNALED(int(status[1])), status  # killed, not crashed
            killed_mid_save += any(n.endswith(".ember-tmp") for n in os.listdir(tmp_path))
            steps = _check_all_steps(tmp_path)
            if latest:
                assert steps and steps[-1] >= latest  # a committed step is never lost, progress never undone
            latest = steps[-1] if steps else latest
    finally:
        server.kill()
        server.wait(timeout=30)
    assert latest > ITERATIONS // 2  # the children did save
    assert killed_mid_save > 0  # and some kills did land in the middle of a save
