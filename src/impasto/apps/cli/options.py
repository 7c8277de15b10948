"""The picture command's options: ``impasto CONTENT STYLE... [-o OUT] [options]``.

The painting options are built from ``StyleConfig``'s fields (``shell.options``), so a new
field appears here without edits. Nothing here imports torch: ``--help`` and ``--version``
answer at once.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..shell import options
from ..shell.options import add_config_options

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
    parser = options.parser(
        "impasto",
        usage="impasto CONTENT STYLE [STYLE ...] [-o OUT] [options]",
        description="Paint CONTENT in the style of one or more STYLE images\n"
        "(Gatys, Ecker & Bethge 2015), on the CPU or a GPU.",
        epilog=_EPILOG,
    )
    parser.add_argument("content", metavar="CONTENT", help="the picture to repaint")
    parser.add_argument(
        "styles", nargs="+", metavar="STYLE", help="style image(s) or folder(s) of them"
    )
    _add_output_options(parser.add_argument_group("output"))
    painting = parser.add_argument_group("painting")
    add_config_options(painting)
    _add_mask_option(painting)
    options.add_running(parser.add_argument_group("running"))
    return parser


def _add_output_options(group: Any) -> None:
    group.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file (.png .jpg .jpeg .webp .tif .tiff) or folder "
        "(default: CONTENT_STYLE.png in the current folder)",
    )
    options.add_overwrite(group)
    options.add_quality_and_bits(group)
    group.add_argument(
        "--save-every",
        type=options.whole(1),
        metavar="N",
        help="every N steps also write the current picture, at the size being worked on, "
        "to OUT with _NNNN (the step) before the extension (default: off)",
    )


def _add_mask_option(group: Any) -> None:
    group.add_argument(
        "--mask",
        nargs="+",
        metavar="FILE",
        dest="masks",
        help="where to paint, in images of the content's shape: one greyscale mask (white: "
        "styled, black: kept as the content, grey: partly), one colour map (style 1 red, 2 "
        "green, 3 blue, 4 yellow, 5 cyan, 6 magenta; black or white: kept), or one greyscale "
        "mask per style; edges are softened (default: style everywhere)",
    )
