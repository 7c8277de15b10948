"""A clip's painting on the terminal: the plan and estimate first, then a bar over the
frames (redrawn on a terminal, a line every 10 % otherwise)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..shell.messages import DRAW_INTERVAL, TerminalLine, clock, hw

if TYPE_CHECKING:
    from ...jobs import FrameProgress, VideoJob


def announce(job: VideoJob, rough: Callable[[float], str]) -> None:
    info = job.info
    say_plain = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    seconds = f"{info.duration:.1f} s"
    say_plain(
        f"clip: {info.frames} frames of {hw(job.frame_hw)} at {float(info.fps):g} fps "
        f"({seconds}{', with audio' if info.has_audio else ''}) -> {job.out}"
    )
    if job.resumable:
        say_plain(f"resuming after frame {job.resumable} (finished by an earlier run)")
    speed = "on this machine" if job.first.learnt else "(speed not yet measured here)"
    if job.spec.video.per_frame:
        each = f"each frame about {rough(job.first.seconds)}"
    else:
        each = (
            f"the first frame about {rough(job.first.seconds)}, "
            f"then about {rough(job.later.seconds)} a frame"
        )
    say_plain(f"estimate: about {rough(job.seconds())} {speed} ({each})")


class FrameBar:
    """A bar over the frames, redrawn on a terminal; a line every 10 % otherwise."""

    def __init__(self, *, tty: bool, quiet: bool) -> None:
        self.tty, self.quiet = tty, quiet
        self.line = TerminalLine()
        self.last_draw = 0.0
        self.last_tenth = -1

    def __call__(self, p: FrameProgress) -> None:
        if self.quiet:
            return
        whole = (p.frame - 1 + p.fraction) / max(p.frames, 1)
        text = (
            f"{whole:4.0%} frame {p.frame}/{p.frames} | {clock(p.elapsed)} elapsed, "
            f"~{clock(p.seconds_left)} left"
        )
        if not self.tty:
            tenth = int(whole * 10)
            if p.finished and (tenth > self.last_tenth or p.frame == p.frames):
                self.last_tenth = tenth
                print(f"impasto: {text}", file=sys.stderr, flush=True)
            return
        now = time.perf_counter()
        if p.finished or now - self.last_draw >= DRAW_INTERVAL:
            self.last_draw = now
            self.line.draw(text)

    def finish(self) -> None:
        self.line.clear()
