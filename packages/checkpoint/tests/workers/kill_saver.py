"""Worker for test_kill.py: a small fork server. It imports ember.checkpoint once, then for each
line ``run <directory> <async 0/1>`` on stdin forks a child that saves steps into ``directory``
forever (resuming after the latest committed step), and prints the child's pid; when the test has
killed the child (SIGKILL) it prints ``exited <status>``."""

from __future__ import annotations

import os
import sys

import numpy as np

import ember.checkpoint as ecp


def items_for(step: int) -> dict:
    return {
        "state": {"w": np.full((64, 1024), step, np.float32), "v": np.full((32, 1024), -step, np.float32),
                  "tiny": [np.full((4,), step + i, np.int32) for i in range(50)]},
        "meta": {"step": step},
    }


def save_forever(directory: str, use_async: bool) -> None:
    mngr = ecp.CheckpointManager(directory, ecp.CheckpointManagerOptions(max_to_keep=3, enable_async=use_async))
    step = (mngr.latest_step() or 0) + 1
    while True:
        mngr.save(step, items_for(step))
        step += 1


def main() -> None:
    for line in sys.stdin:
        cmd, directory, use_async = line.split()
        pid = os.fork()
        if pid == 0:
            try:
                save_forever(directory, use_async == "1")
            finally:
                os._exit(3)
        print(pid, flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exited {status}", flush=True)


if __name__ == "__main__":
    main()
