"""Joining schedules end to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ember.core.numpy as jnp
from ember.optim._src import base


def join_schedules(schedules: Sequence[base.Schedule], boundaries: Sequence[int]) -> base.Schedule:
    """Run ``schedules[0]`` until ``boundaries[0]``, then ``schedules[1]`` (with its step count
    restarted at 0), and so on.

    >>> s = join_schedules([lambda c: 1.0 * c, lambda c: 100.0 + c], [10])
    >>> float(s(5)), float(s(12))
    (5.0, 102.0)
    """
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"join_schedules needs len(schedules) - 1 boundaries, got {len(schedules)} schedules "
                         f"and {len(boundaries)} boundaries")

    def schedule(step: Any) -> Any:
        output = schedules[0](step)
        for boundary, sched in zip(boundaries, schedules[1:]):
            output = jnp.where(step < boundary, output, sched(step - boundary))
        return output

    return schedule
