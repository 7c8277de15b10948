"""The ETA's arithmetic (TimeLeft) and the duration formats."""

from __future__ import annotations

import pytest

from impasto.engine.progress import TimeLeft, duration, rough_duration


def test_work_and_fraction_are_weighted_by_each_scales_cost():
    eta = TimeLeft([1.0, 4.0], [10, 5])  # 10 + 20 units in all
    assert eta.total == 30
    assert eta.work_done(0, 5) == 5 and eta.work_done(1, 2) == 18
    assert eta.fraction(1, 5) == 1.0 and eta.fraction(0, 3) == pytest.approx(0.1)


def test_before_a_scale_has_three_steps_the_run_so_far_sets_the_rate():
    eta = TimeLeft([1.0, 4.0], [10, 5])
    assert eta.seconds_left(0, 1, elapsed=2.0) == pytest.approx(29 * 2.0)  # 2 s per unit


def test_the_current_scale_sets_the_rate_then_carries_into_the_next():
    eta = TimeLeft([1.0, 4.0], [10, 5])
    eta.seconds_left(0, 1, elapsed=5.0)  # a slow start (loading): not a rate
    for i in range(2, 11):
        left = eta.seconds_left(0, i, elapsed=5.0 + 0.5 * (i - 1))  # 0.5 s per step since
    assert left == pytest.approx(20 * 0.5)  # 5 steps of 4 units at 0.5 s per unit
    # The next scale's first report comes after one-off work between the scales (targets):
    # the rate measured on the scale before still holds, the run's average would not.
    assert eta.seconds_left(1, 1, elapsed=20.0) == pytest.approx(16 * 0.5)


def test_durations():
    assert duration(12.34) == "12.3 s" and duration(245) == "4 min 05 s"
    assert duration(3720) == "1 h 02 min"
    assert rough_duration(42) == "45 s" and rough_duration(600) == "10 min"
    assert rough_duration(7200) == "2.0 h"
