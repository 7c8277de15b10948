"""What a run tells its front end while it works, how it is stopped, and how long is left.

``Progress`` is handed to a callback after every evaluation of the cost; ``CancelToken`` lets a
web request or a batch scheduler stop a run from another thread; ``Cancelled`` carries the
best picture so far out of a stopped run; ``TimeLeft`` turns work done into an ETA.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch


@dataclass
class Progress:
    """What a front end needs to show after each evaluation of the cost."""

    scale: int  # 1-based index of the current scale
    scales: int
    size: tuple[int, int]  # (height, width) being optimised
    iteration: int  # within this scale
    iterations: int
    step: int  # over the whole run, for a single progress bar
    steps: int
    losses: dict[str, float]  # weighted content, style, tv, and total
    elapsed: float  # seconds since the run started
    seconds_left: float  # estimated, from the time the run has taken so far (``TimeLeft``)
    fraction: float  # of the run's work done, 0..1 (steps weighted by their cost)
    _image: Callable[[], torch.Tensor] = field(repr=False, default=None)  # type: ignore[assignment]

    def image(self) -> torch.Tensor:
        """The current picture, (3, H, W) in 0..1 (a copy, at the current scale)."""
        return self._image()


ProgressCallback = Callable[[Progress], None]


class Cancelled(Exception):
    """A run stopped before its end; ``image`` is the best picture so far at the output size.

    ``reason`` is ``"cancelled"`` (a ``CancelToken``) or ``"interrupted"`` (Ctrl-C, or a
    SIGTERM that a front end turned into one).
    """

    def __init__(self, image: torch.Tensor, reason: str = "cancelled") -> None:
        super().__init__(reason)
        self.image = image
        self.reason = reason


class CancelToken:
    """Thread-safe flag a run checks at every evaluation; ``cancel()`` from anywhere stops it."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class ScaleTimes:
    """A progress callback that notes, for each scale (0-based), the elapsed seconds at its
    first and at its last report and how many reports it made: the time between a scale's
    first and last report is evaluations only (no targets, no resizing), what
    ``calibration.learn_from_times`` teaches the machine's speed store."""

    def __init__(self) -> None:
        self.scales: dict[int, tuple[float, float, int]] = {}

    def __call__(self, p: Progress) -> None:
        first, _, count = self.scales.get(p.scale - 1, (p.elapsed, p.elapsed, 0))
        self.scales[p.scale - 1] = (first, p.elapsed, count + 1)


class TimeLeft:
    """Seconds left of a run whose steps cost different amounts (``costs[k]`` per step of
    scale k, in any unit: predicted seconds or pixels), learnt from the time taken so far.

    The rate (seconds per unit of cost) is measured on the current scale once it has a few
    steps, since that is the best guide to the steps that follow. At the start of a scale the
    rate of the scale before is kept: the whole run's average would also count the one-off
    work between scales (loading, style targets) as if every step had it, and overestimate.
    Cost units cancel out, so a prediction made for another machine still gives the right
    proportions between scales.
    """

    def __init__(self, costs: Sequence[float], steps: Sequence[int]) -> None:
        self.costs = list(costs)
        self.steps = list(steps)
        self.total = sum(c * n for c, n in zip(self.costs, self.steps))
        self._scale = -1  # the scale seen last
        self._scale_start = 0.0  # elapsed at its first step
        self._rate: float | None = None  # seconds per cost unit, measured on a whole scale

    def work_done(self, scale: int, iteration: int) -> float:
        """Cost units of all steps up to ``iteration`` (1-based) of 0-based ``scale``."""
        before = sum(c * n for c, n in zip(self.costs[:scale], self.steps[:scale]))
        return before + min(iteration, self.steps[scale]) * self.costs[scale]

    def fraction(self, scale: int, iteration: int) -> float:
        return min(1.0, self.work_done(scale, iteration) / max(self.total, 1e-12))

    def seconds_left(self, scale: int, iteration: int, elapsed: float) -> float:
        """Estimated seconds after step ``iteration`` of ``scale``, ``elapsed`` into the run."""
        if scale != self._scale:
            # The first report of a new scale: its start is the end of its first step.
            self._scale, self._scale_start = scale, elapsed
        done = self.work_done(scale, iteration)
        if iteration >= 3:
            steps = iteration - 1  # those since the scale's first report
            self._rate = (elapsed - self._scale_start) / (steps * self.costs[scale])
        rate = self._rate if self._rate is not None else elapsed / max(done, 1e-12)
        return max(0.0, self.total - done) * rate


def duration(seconds: float) -> str:
    """12.3 s, 4 min 05 s, 1 h 02 min: precise when short, readable when long."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def rough_duration(seconds: float) -> str:
    """An estimate's duration, as precise as an estimate is: 45 s, 12 min, 1.5 h."""
    if seconds < 90:
        return f"{max(1, math.ceil(seconds / 5) * 5)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
