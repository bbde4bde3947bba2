"""Helpers shared by the ember.data tests."""
import json
import os

import numpy as np


def normalize(r):
    return {"image": r["image"].astype(np.float32) / 255.0, "label": r["label"]}


def assert_tree_equal(a, b):
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys()
        for k in a:
            assert_tree_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_tree_equal(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def check_resume_everywhere(make_ds, *, max_positions=None, json_roundtrip=True):
    """For every position k: state after k elements, restored on a fresh iterator, gives
    exactly the remaining elements."""
    expected = list(make_ds())
    positions = range(len(expected) + 1)
    if max_positions is not None and len(expected) + 1 > max_positions:
        step = max(1, (len(expected) + 1) // max_positions)
        positions = list(range(0, len(expected) + 1, step)) + [len(expected)]
    for k in positions:
        it = iter(make_ds())
        for _ in range(k):
            next(it)
        state = it.get_state()
        if json_roundtrip:
            state = json.loads(json.dumps(state))
        fresh = iter(make_ds())
        fresh.set_state(state)
        rest = list(fresh)
        assert len(rest) == len(expected) - k, (k, len(rest))
        for a, b in zip(rest, expected[k:]):
            assert_tree_equal(a, b)
        it.close()
        fresh.close()
    return expected


def child_pids(pid=None):
    pid = pid or os.getpid()
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except FileNotFoundError:
        pass
    return out


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
