"""Progress on the terminal: a redrawn bar on a terminal, one plain line per scale otherwise.

The time left comes from the engine (``Progress.seconds_left``, learnt from this run's own
speed), so every front end shows the same ETA.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

from ...jobs import Progress, duration
from ..shell.messages import DRAW_INTERVAL, TerminalLine, clock, hw, num


class Display:
    """Shows each Progress; ``finish()`` reports the last scale and leaves a clean line."""

    def __init__(self, *, tty: bool, verbose: bool, quiet: bool) -> None:
        self.tty, self.verbose, self.quiet = tty, verbose, quiet
        self.last: Progress | None = None
        self.best: dict[str, float] = {}
        self.scale_start = 0.0  # elapsed seconds when the current scale began
        self.line = TerminalLine()
        self.last_draw = -math.inf

    def __call__(self, p: Progress) -> None:
        if self.last is not None and p.scale != self.last.scale:
            self._scale_done(self.last)
            self.scale_start = self.last.elapsed
            self.best = {}
        if not self.best or p.losses["total"] < self.best["total"]:
            self.best = dict(p.losses)
        self.last = p
        now = time.perf_counter()
        if self.tty and not self.quiet and now - self.last_draw >= DRAW_INTERVAL:
            self.last_draw = now
            self._draw(self.bar(p))

    def finish(self) -> None:
        """Report the last scale (if it ended) and leave the terminal line clean."""
        last = self.last
        if last is not None and last.iteration >= last.iterations:
            self._scale_done(last)
        self._clear()
        self.last = None

    def bar(self, p: Progress) -> str:
        """Most important first: the end is cut off on a narrow terminal."""
        filled = round(p.fraction * 10)
        losses = p.losses
        return (
            f"{p.fraction:4.0%} [{'#' * filled}{'.' * (10 - filled)}] {clock(p.elapsed)}, "
            f"~{clock(p.seconds_left)} left | scale {p.scale}/{p.scales} {hw(p.size)} "
            f"it {p.iteration}/{p.iterations} | loss {num(losses['total'])} "
            f"(content {num(losses['content'])}, style {num(losses['style'])})"
        )

    def scale_line(self, p: Progress) -> str:
        """``scale 2/4 256x192: 58 iterations in 8.1 s, loss 0.61; 14.0 s so far, ~40 s left``."""
        took = duration(p.elapsed - self.scale_start)
        line = (
            f"scale {p.scale}/{p.scales} {hw(p.size)}: {p.iterations} iterations in {took}, "
            f"loss {num(self.best['total'])}"
        )
        if self.verbose:
            parts = ", ".join(f"{k} {num(v)}" for k, v in self.best.items() if k != "total")
            line += f" ({parts})"
        line += f"; {duration(p.elapsed)} so far"
        if p.scale < p.scales:
            line += f", ~{duration(p.seconds_left)} left"
        return line

    def _scale_done(self, p: Progress) -> None:
        if self.quiet or (self.tty and not self.verbose):
            return
        self._clear()
        print(self.scale_line(p), file=sys.stderr, flush=True)

    def _draw(self, text: str) -> None:
        self.line.draw(text)

    def _clear(self) -> None:
        self.line.clear()


def both(*callbacks: Callable[[Progress], None] | None) -> Callable[[Progress], None]:
    """One progress callback calling each of ``callbacks`` that is not None."""
    active = [c for c in callbacks if c is not None]

    def call(p: Progress) -> None:
        for callback in active:
            callback(p)

    return call
