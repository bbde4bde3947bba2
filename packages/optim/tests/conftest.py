"""Shared setup for ember.optim's tests."""

from __future__ import annotations

import os

# Eight virtual CPU devices for the sharding tests (set before ember.core creates its client).
os.environ.setdefault("EMBER_NUM_CPU_DEVICES", "8")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
