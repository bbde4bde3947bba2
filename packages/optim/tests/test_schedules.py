"""Schedules against their formulas (NumPy) and hand-checked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember.core as ec
import ember.core.numpy as jnp
import ember.optim as eo

S = eo.schedules


def _values(schedule, steps):
    """The schedule at each step, evaluated in one jitted, vmapped program."""
    return np.asarray(ec.jit(ec.vmap(schedule))(jnp.asarray(list(steps))), dtype=np.float64)


def _cos(init, steps, alpha=0.0, exponent=1.0):
    return lambda c: init * ((1 - alpha) * (0.5 * (1 + math.cos(math.pi * min(c, steps) / steps))) ** exponent + alpha)


CASES = [
    ("constant", S.constant_schedule(0.3), lambda c: 0.3),
    ("linear", S.linear_schedule(1.0, 0.1, 10, transition_begin=3),
     lambda c: 1.0 + (0.1 - 1.0) * min(max(c - 3, 0), 10) / 10),
    ("polynomial", S.polynomial_schedule(1.0, 0.1, 2.0, 10), lambda c: 0.9 * (1 - min(c, 10) / 10) ** 2 + 0.1),
    ("cosine_decay", S.cosine_decay_schedule(1.0, 12, alpha=0.1, exponent=2.0), _cos(1.0, 12, 0.1, 2.0)),
    ("exponential_decay", S.exponential_decay(2.0, 4, 0.5), lambda c: 2.0 * 0.5 ** (c / 4)),
    ("exponential_staircase_end", S.exponential_decay(1.0, 3, 0.5, transition_begin=2, staircase=True, end_value=0.2),
     lambda c: max(1.0 if c <= 2 else 0.5 ** math.floor((c - 2) / 3), 0.2)),
    ("piecewise_constant", S.piecewise_constant_schedule(1.0, {3: 0.5, 8: 0.1}),
     lambda c: 1.0 if c < 3 else (0.5 if c < 8 else 0.05)),
    ("warmup_cosine_decay", S.warmup_cosine_decay_schedule(0.0, 1.0, 4, 20, end_value=0.1),
     lambda c: c / 4 if c < 4 else _cos(1.0, 16, 0.1)(c - 4)),
    ("warmup_constant", S.warmup_constant_schedule(0.0, 2.0, 5), lambda c: 2.0 * min(c, 5) / 5),
    ("warmup_exponential_decay", S.warmup_exponential_decay_schedule(0.0, 1.0, 3, 4, 0.5),
     lambda c: c / 3 if c < 3 else 0.5 ** ((c - 3) / 4)),
    ("sgdr", S.sgdr_schedule([dict(init_value=0.0, peak_value=1.0, warmup_steps=2, decay_steps=8)] * 2),
     lambda c: (lambda k: k / 2 if k < 2 else _cos(1.0, 6)(k - 2))(c % 8 if c < 16 else 8)),
    ("join", S.join_schedules([S.constant_schedule(1.0), S.linear_schedule(1.0, 0.0, 4)], [5]),
     lambda c: 1.0 if c < 5 else 1.0 - min(c - 5, 4) / 4),
]


@pytest.mark.parametrize("name,schedule,formula", CASES, ids=[c[0] for c in CASES])
def test_schedule_formula(name, schedule, formula):
    steps = list(range(0, 26))
    np.testing.assert_allclose(_values(schedule, steps), [formula(c) for c in steps], rtol=1e-5, atol=1e-6)


def test_interpolating_and_onecycle_schedules():
    s = S.piecewise_interpolate_schedule("linear", 1.0, {4: 0.5, 8: 0.5})
    np.testing.assert_allclose(_values(s, [0, 2, 4, 6, 8, 20]), [1.0, 0.75, 0.5, 0.375, 0.25, 0.25], rtol=1e-6)
    s = S.piecewise_interpolate_schedule("cosine", 1.0, {4: 0.0})
    np.testing.assert_allclose(_values(s, [0, 2, 4, 9]), [1.0, 0.5, 0.0, 0.0], atol=1e-6)
    one = S.linear_onecycle_schedule(100, 1.0)   # 0.04 -> 1.0 at 30, -> 0.04 at 85, -> 4e-6 at 100
    np.testing.assert_allclose(_values(one, [0, 30, 85, 100]), [0.04, 1.0, 0.04, 4e-6], rtol=1e-4)
    one = S.cosine_onecycle_schedule(100, 1.0)
    np.testing.assert_allclose(_values(one, [0, 30, 100]), [0.04, 1.0, 4e-6], rtol=1e-4)
    assert float(_values(one, [15])[0]) == pytest.approx(0.04 + (1.0 - 0.04) / 2, rel=1e-5)   # halfway on the cosine


def test_schedules_jit_and_vmap():
    s = S.warmup_cosine_decay_schedule(0.0, 1.0, 4, 20)
    counts = jnp.arange(25)
    np.testing.assert_allclose(np.asarray(ec.jit(ec.vmap(s))(counts)), _values(s, range(25)), rtol=1e-5, atol=1e-6)


def test_invalid_schedule_arguments():
    with pytest.raises(ValueError, match="decay_steps"):
        S.cosine_decay_schedule(1.0, 0)
    with pytest.raises(ValueError, match="non-negative"):
        S.piecewise_constant_schedule(1.0, {3: -1.0})
    with pytest.raises(ValueError, match="interpolate_type"):
        S.piecewise_interpolate_schedule("cubic", 1.0)
    with pytest.raises(ValueError, match="boundaries"):
        S.join_schedules([S.constant_schedule(1.0)] * 3, [5])
