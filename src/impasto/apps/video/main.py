"""``impasto video``: paint a clip frame by frame without flicker (Ruder et al. 2016).

Prepare (every check before any work), say the plan and the estimate, paint frame by frame
with a bar over the frames, write the clip. A stop (Ctrl-C, SIGTERM) writes the clip so far
and keeps the finished frames, so the same command resumes. The clip's job (what to paint,
the frame loop with the temporal cost, the work folder) is ``impasto.jobs.clip`` and
``impasto.jobs.frames``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import TYPE_CHECKING

from ...config import INITS, VIDEO_SIZE, VideoConfig
from ...errors import ConfigError, ImpastoError
from ..shell import options
from ..shell.messages import EXIT_DIVERGED, EXIT_OK, EXIT_USAGE, cli_words, hw, say
from ..shell.running import Signals, main_of
from . import display

if TYPE_CHECKING:
    from ...jobs import VideoJob, VideoSpec

_VIDEO_EPILOG = f"""\
The first frame is painted as a picture; every later frame starts from the previous painted
frame carried along the optical flow (OpenCV's DIS) and a temporal cost holds it there
wherever the motion is reliable (Ruder, Dosovitskiy & Brox 2016), so strokes move with the
scene instead of flickering. Frames are painted at --size {VIDEO_SIZE} unless told otherwise.

Finished frames are kept beside the output in .OUT.impasto-frames/: run the same command
again after a stop and it resumes where it stopped. Ctrl-C or SIGTERM writes the clip so far
to OUT. The audio of the span is kept. OUT ending in .mp4, .mov or .mkv is H.264; a name
without a suffix (or an empty folder) gets PNG frames. Needs pip install 'impasto[video]'.

Exit status as for pictures: 0 done, 2 bad input or usage, 130 or 143 stopped (the clip so
far written).

Examples:
  impasto video clip.mp4 starry_night.jpg -o clip_starry.mp4
  impasto video clip.mp4 the_scream.jpg -o out.mp4 --start 3 --duration 4 --fps 12
"""


def parser() -> argparse.ArgumentParser:
    made = options.parser(
        "impasto video",
        usage="impasto video CLIP STYLE [STYLE ...] [-o OUT.mp4] [options]",
        description="Paint a video clip in the style of one or more STYLE images.",
        epilog=_VIDEO_EPILOG,
    )
    made.add_argument("clip", metavar="CLIP", help="the video to paint (what FFmpeg reads)")
    made.add_argument(
        "styles", nargs="+", metavar="STYLE", help="style image(s) or folder(s) of them"
    )
    out = made.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="OUT.mp4 (.mov .mkv), or a folder for PNG frames (default: CLIP_STYLE.mp4)",
    )
    options.add_overwrite(out)
    span = made.add_argument_group("which frames")
    span.add_argument(
        "--start",
        type=options.number,
        default=0.0,
        metavar="S",
        help="seconds into the clip to start at (default: 0)",
    )
    span.add_argument(
        "--duration",
        type=options.number,
        metavar="S",
        help="seconds to paint (default: to the end)",
    )
    span.add_argument(
        "--fps",
        type=options.number,
        metavar="N",
        help="frames per second to paint, resampled, 0.01 to 1000 (default: the clip's own)",
    )
    options.add_config_options(made.add_argument_group("video"), VideoConfig)
    frames = {"size": (VIDEO_SIZE, "long side of every frame in pixels")}  # smaller pictures
    options.add_config_options(made.add_argument_group("painting (every frame)"), defaults=frames)
    options.add_running(made.add_argument_group("running"))
    return made


def main(argv: list[str] | None = None) -> int:
    """``impasto video CLIP STYLE... [-o OUT]``: 0 done, 2 bad input, 130/143 stopped."""
    return main_of(argv, parser(), run)


def video_spec(args: argparse.Namespace) -> VideoSpec:
    from ...jobs import VideoSpec

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


def run(args: argparse.Namespace, signals: Signals) -> int:
    from ... import jobs
    from ...jobs import Cancelled, clip, duration, rough_duration
    from ...jobs import frames as loop

    began = time.perf_counter()
    jobs.tune_process(args.threads)
    job = clip.prepare(video_spec(args))
    network = jobs.load_network(job.config, on_progress=None if args.quiet else say)
    job = clip.calibrate(job, network)
    if not args.quiet:
        display.announce(job, rough_duration)
    bar = display.FrameBar(tty=sys.stderr.isatty(), quiet=args.quiet)
    frames = 0
    try:
        frames = loop.paint_clip(job, network, bar)
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
            loop.write_clip(job, frames)
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


def _write_so_far(job: VideoJob, signals: Signals) -> int:
    """After a stop: the finished frames as a clip (so far) to the output; they stay on disk."""
    from ...files import sha256_file
    from ...jobs import frames

    done = job.work.remove_if_empty()
    if done == 0:
        say("interrupted before the first frame was finished; nothing written")
        return signals.stopped_status()
    try:
        with signals.held_off():
            frames.write_clip(job, done)
            job.work.note_partial(sha256_file(job.out))
    except ImpastoError as e:
        say(f"interrupted; could not write the clip so far: {e}; the {done} frames are kept")
        return signals.stopped_status()
    say(
        f"interrupted: wrote the {done} frames so far to {job.out}; run the same command "
        "again to go on from there"
    )
    return signals.stopped_status()
