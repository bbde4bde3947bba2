"""The main job, examples/train_lm.py, on a small setting: it learns, writes its outputs, and a
run killed with SIGKILL and started again continues with exactly the losses of an uninterrupted
run (data order, model, optimizer and RNG all come back from the checkpoint)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "train_lm.py"
FLAGS = ["--steps", "20", "--eval-every", "10", "--ckpt-every", "5", "--max-files", "60", "--no-progress",
         "--workers", "1", "--log-every", "1", "--d-model", "64", "--layers", "1", "--batch", "8",
         "--seq-len", "64", "--sample-len", "20"]

pytest.importorskip("ember.nn")
pytest.importorskip("ember.optim")
pytest.importorskip("ember.checkpoint")
pytest.importorskip("ember.data")


def _run(out: Path, data: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("EMBER_NUM_CPU_DEVICES", None)
    return subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--data-dir", str(data), *FLAGS, *extra],
                          capture_output=True, text=True, timeout=600, env=env)


def test_kill_and_resume_reproduces_the_uninterrupted_losses(tmp_path: Path):
    data = tmp_path / "data"
    full = _run(tmp_path / "full", data)
    assert full.returncode == 0, full.stderr[-3000:]
    metrics = json.loads((tmp_path / "full" / "metrics.json").read_text())
    losses = [loss for _, loss in metrics["train_loss"]]
    assert len(losses) == 20 and losses[-1] < losses[0]
    assert metrics["final_val_loss"] < metrics["unigram_baseline"] + 1.0
    assert (tmp_path / "full" / "loss.png").read_bytes().startswith(b"\x89PNG")
    assert isinstance(metrics["sample"], str) and len(metrics["sample"]) > 0

    env = dict(os.environ)
    env.pop("EMBER_NUM_CPU_DEVICES", None)
    cut = tmp_path / "cut"
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--out", str(cut), "--data-dir", str(data), *FLAGS],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    killed = False
    try:
        for line in proc.stdout:
            if line.startswith("step 12 "):
                # The step-10 save is asynchronous: kill only once it has committed, so the resumed
                # run must start from step 10 (a kill mid-save is the checkpoint package's tests' job).
                deadline = time.monotonic() + 120
                while not (cut / "checkpoints" / "10" / "_COMMITTED").exists():
                    assert time.monotonic() < deadline, "the step-10 checkpoint never committed"
                    time.sleep(0.01)
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
        proc.wait(timeout=120)
    finally:
        proc.kill()
    assert killed, "the run ended before it could be interrupted"
    resumed = _run(cut, data)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumed_from = re.search(r"resumed from step (\d+)", resumed.stdout)
    assert resumed_from and int(resumed_from.group(1)) >= 10, resumed.stdout[:500]
    again = json.loads((cut / "metrics.json").read_text())
    assert again["train_loss"] == metrics["train_loss"]  # bit for bit
    assert again["val_loss"] == metrics["val_loss"]


def test_data_parallel_over_two_devices_matches_one(tmp_path: Path):
    one = _run(tmp_path / "one", tmp_path / "data", "--steps", "6", "--ckpt-every", "6", "--eval-every", "6")
    two = _run(tmp_path / "two", tmp_path / "data", "--steps", "6", "--ckpt-every", "6", "--eval-every", "6",
               "--devices", "2")
    assert one.returncode == 0, one.stderr[-3000:]
    assert two.returncode == 0, two.stderr[-3000:]
    a = json.loads((tmp_path / "one" / "metrics.json").read_text())["train_loss"]
    b = json.loads((tmp_path / "two" / "metrics.json").read_text())["train_loss"]
    assert [round(x, 4) for _, x in a] == [round(x, 4) for _, x in b]
