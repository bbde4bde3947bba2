"""Two processes on 127.0.0.1, 4 CPU devices each, one 8-device mesh: a data-parallel step whose
gradient reduction crosses processes equals the single-process result; a dead peer makes the
other process fail within seconds."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WORKERS = Path(__file__).parent / "workers"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("EMBER_NUM_CPU_DEVICES", None)
    return env


def _last_json(text: str) -> dict:
    return json.loads([line for line in text.splitlines() if line.startswith("{")][-1])


def test_two_processes_train_like_one():
    address = f"127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen([sys.executable, str(WORKERS / "dp_train.py"), "multi", address, "2", str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for i in range(2)]
    try:
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
    results = [_last_json(out) for out, _ in outs]
    single = subprocess.run([sys.executable, str(WORKERS / "dp_train.py"), "single"], capture_output=True, text=True,
                            env=_env(), timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    reference = _last_json(single.stdout)
    assert results[0]["w1"] == results[1]["w1"] and results[0]["w2"] == results[1]["w2"]
    np.testing.assert_allclose(results[0]["w1"], reference["w1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0]["w2"], reference["w2"], rtol=1e-5, atol=1e-6)
    assert all(r["grads_agree"] for r in results)


def test_a_dead_peer_fails_the_job_quickly():
    address = f"127.0.0.1:{_free_port()}"
    start = time.monotonic()
    procs = [subprocess.Popen([sys.executable, str(WORKERS / "peer_dies.py"), address, str(i)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for i in range(2)]
    try:
        outs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            p.kill()
    elapsed = time.monotonic() - start
    survivor_out, survivor_err = outs[0]
    assert procs[1].returncode == 17
    assert "NO ERROR" not in survivor_out
    failed_cleanly = procs[0].returncode != 0 or "ERROR" in survivor_out
    assert failed_cleanly
    assert "another task died" in survivor_err or "unhealthy" in survivor_err or "ERROR" in survivor_out
    assert elapsed < 110  # well within the communicate() timeout: no hang
