import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return {
        "image": rng.integers(0, 256, (200, 3, 4, 4), dtype=np.uint8),
        "label": np.arange(200, dtype=np.int64),
    }
