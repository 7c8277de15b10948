"""``impasto video``: the command line's shell around ``impasto.apps.video``.

Prepare (every check before any work), say the plan and the estimate, paint frame by frame
with a bar over the frames, write the clip. A stop (Ctrl-C, SIGTERM) writes the clip so far
and keeps the finished frames, so the same command resumes.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import TYPE_CHECKING

from ...config import INITS, VideoConfig
from ...errors import ConfigError, ImpastoError
from . import options
from .messages import (
    DRAW_INTERVAL,
    EXIT_DIVERGED,
    EXIT_OK,
    EXIT_USAGE,
    TerminalLine,
    cli_words,
    clock,
    hw,
    say,
)

if TYPE_CHECKING:
    from ..video.clip import VideoJob, VideoSpec
    from ..video.painter import FrameProgress


def video_spec(args: argparse.Namespace) -> VideoSpec:
    from ..video.clip import VideoSpec

    config, init_path = options.config_from_args(args)
    if init_path is not None:
        raise ConfigError(f"init must be one of {', '.join(INITS)} for a clip, not a file")
    fields = dataclasses.fields(VideoConfig)
    settings = VideoConfig(**{f.name: getattr(args, f.name) for f in fields})
    return VideoSpec(
        clip=args.clip,
        styles=tuple(args.styles),
        config=config,
        video=settings,
        output=args.output,
        start=args.start,
        duration=args.duration,
        fps=args.fps,
        overwrite=args.overwrite,
    )


def run(args: argparse.Namespace, signals) -> int:
    import torch

    from ... import jobs
    from ...engine.progress import Cancelled, duration, rough_duration
    from ..video import clip, painter

    began = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    job = clip.prepare(video_spec(args))
    network = jobs.network_for(job.config, on_progress=None if args.quiet else say)
    job = clip.calibrate(job, network)
    if not args.quiet:
        _announce(job, rough_duration)
    bar = _FrameBar(tty=sys.stderr.isatty(), quiet=args.quiet)
    frames = 0
    try:
        frames = painter.paint_clip(job, network, bar)
    except (Cancelled, KeyboardInterrupt):
        bar.finish()
        return _write_so_far(job, signals)
    except FloatingPointError:
        bar.finish()
        say(
            "error: the optimisation diverged (the cost became NaN or infinite); try a lower "
            "--style-weight or --temporal-weight; the frames so far are kept, nothing written"
        )
        return EXIT_DIVERGED
    except ImpastoError as e:  # a frame that cannot be read, or written (a full disk)
        bar.finish()
        return _failed(job, e)
    except BaseException:
        bar.finish()
        raise
    bar.finish()
    try:
        with signals.held_off():
            painter.write_clip(job, frames)
    except ImpastoError as e:
        return _failed(job, e)
    job.work.remove()
    if not args.quiet:
        took = duration(time.perf_counter() - began)
        print(
            f"wrote {job.out} ({frames} frames, {hw(job.frame_hw)}, {float(job.info.fps):g} fps)"
            f" in {took}",
            flush=True,
        )
    if signals.held is not None:
        say("stopped after the clip was written")
        return signals.stopped_status()
    return EXIT_OK


def _failed(job: VideoJob, error: ImpastoError) -> int:
    """One line; the finished frames stay for the same command to go on from, and a work
    folder without any is removed (nothing left behind)."""
    kept = job.work.remove_if_empty()
    more = f"; the {kept} frames finished are kept, to go on from" if kept else ""
    say(f"error: {cli_words(error)}{more}")
    return EXIT_USAGE


def _write_so_far(job: VideoJob, signals) -> int:
    """After a stop: the finished frames as a clip (so far) to the output; they stay on disk."""
    from ...network.store import sha256_file
    from ..video import painter

    done = job.work.remove_if_empty()
    if done == 0:
        say("interrupted before the first frame was finished; nothing written")
        return signals.stopped_status()
    try:
        with signals.held_off():
            painter.write_clip(job, done)
            job.work.note_partial(sha256_file(job.out))
    except ImpastoError as e:
        say(f"interrupted; could not write the clip so far: {e}; the {done} frames are kept")
        return signals.stopped_status()
    say(
        f"interrupted: wrote the {done} frames so far to {job.out}; run the same command "
        "again to go on from there"
    )
    return signals.stopped_status()


def _announce(job: VideoJob, rough) -> None:
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


class _FrameBar:
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
