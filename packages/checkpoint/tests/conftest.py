"""Test setup: 8 CPU devices for single-process sharding tests (set before ember.core loads)."""

import os

os.environ.setdefault("EMBER_NUM_CPU_DEVICES", "8")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
