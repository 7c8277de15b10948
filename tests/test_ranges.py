"""ranges.py: the ranges every front end refuses alike, in one short line."""

from __future__ import annotations

import pytest

from impasto import ranges
from impasto.errors import ConfigError

NAN = float("nan")


@pytest.mark.parametrize(
    ("span", "words"),
    [
        ((1e30, None, None), "start must be at most"),
        ((-1.0, None, None), "start must be >= 0"),
        ((0.0, 0.0, None), "duration must be more than 0"),
        ((0.0, 1e300, None), "duration must be at most"),
        ((0.0, None, 1e-9), "fps must be >= 0.01"),
        ((0.0, None, 1e300), "fps must be at most 1000"),
        ((0.0, None, NAN), "fps must be >= 0.01"),
        ((True, None, None), "start must be a number, got True"),
        ((0.0, True, None), "duration must be a number, got True"),
        ((0.0, None, True), "fps must be a number, got True"),
    ],
)
def test_a_clips_span_beyond_its_range(span, words):
    with pytest.raises(ConfigError, match=words):
        ranges.check_span(*span)
    ranges.check_span(3.0, 2.0, 12.0)


def test_threads_are_at_most_four_times_the_cores(monkeypatch):
    monkeypatch.setattr(ranges.os, "cpu_count", lambda: 2)
    assert ranges.check_threads(8) == 8
    for bad, words in ((9, "at most 8 (4 x the 2 cores"), (0, "at least 1"), (10**30, "at most")):
        with pytest.raises(ConfigError, match=words.replace("(", r"\(")):
            ranges.check_threads(bad)
    with pytest.raises(ConfigError, match="cores must be at most"):
        ranges.check_threads(10_000, "cores")
