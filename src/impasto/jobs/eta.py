"""Time left over the frames of a clip: estimates first, measurements as soon as there are any.

The first frame runs the whole coarse-to-fine schedule and every later frame a short one at the
output size, so the two are counted apart. Before a later frame has finished, its time is the
estimate scaled by how far the first frame's measured time was from its own estimate (the same
machine's error); after, the mean of the later frames measured so far.
"""

from __future__ import annotations


class FrameClock:
    """Seconds left in a clip of ``frames`` frames, ``done`` of them finished already."""

    def __init__(self, frames: int, first: float, later: float, done: int = 0) -> None:
        self.frames = frames
        self.first_estimate = first
        self.later_estimate = later
        self.done = done
        self.first_measured: float | None = None
        self.later_times: list[float] = []

    def record(self, index: int, seconds: float) -> None:
        """Frame ``index`` (1-based) took ``seconds``."""
        self.done = max(self.done, index)
        if index == 1:
            self.first_measured = seconds
        else:
            self.later_times.append(seconds)

    def later_frame(self) -> float:
        """The expected time of one later frame."""
        if self.later_times:
            recent = self.later_times[-20:]  # follows a machine that speeds up or slows down
            return sum(recent) / len(recent)
        if self.first_measured is not None and self.first_estimate > 0:
            return self.later_estimate * self.first_measured / self.first_estimate
        return self.later_estimate

    def seconds_left(self, current: float = 0.0) -> float:
        """Time left, with ``current`` (0..1) of the frame after the last finished one done."""
        remaining = self.frames - self.done
        if remaining <= 0:
            return 0.0
        if self.done == 0:
            first = self.first_estimate * (1 - current)
            return first + (remaining - 1) * self.later_frame()
        return (remaining - current) * self.later_frame()
