"""``impasto explain``: pictures of what the network sees, written to image files.

Three subcommands, each a thin shell around ``impasto.explain``: ``units`` (the patches that excite
units most, Zeiler & Fergus 2013), ``style`` (Gram and correlation heat maps) and ``layers``
(single-layer reconstructions, Gatys et al. 2015 Fig. 1). torch is imported only when a
subcommand runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ...config import (
    DEFAULT_NETWORK,
    EXPLAIN_POOLING,
    NETWORKS,
    PATCH_SIZE,
    POOLINGS,
    RECONSTRUCT_ITERATIONS,
    RECONSTRUCT_SIZE,
    STYLE_LAYERS,
    STYLE_SIZE,
)
from ...errors import ConfigError, ImpastoError
from ...ranges import MAX_ITERATIONS, MAX_SIZE, SEEDS, in_range
from ..shell import options
from ..shell.messages import EXIT_DIVERGED, EXIT_OK, EXIT_USAGE, say
from ..shell.running import main_of

if TYPE_CHECKING:
    import torch

    from ... import explain

DESCRIPTION = "See what the network that stylises sees: unit patches, style matrices, layers."


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected unit numbers like 3,17,42, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("give at least one unit number")
    return values


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def _common(parser: argparse.ArgumentParser, output: str, size: int, size_help: str) -> None:
    parser.add_argument(
        "--size", type=int, default=size, metavar="PX", help=f"{size_help} (default: {size})"
    )
    parser.add_argument(
        "--network",
        default=DEFAULT_NETWORK,
        choices=NETWORKS,
        help=f"network to look into (default: {DEFAULT_NETWORK})",
    )
    parser.add_argument(
        "--weights", metavar="FILE", help="weights file for the network (default: the cache)"
    )
    parser.add_argument(
        "--pooling",
        default=EXPLAIN_POOLING,
        choices=POOLINGS,
        help=f"pooling (default: {EXPLAIN_POOLING}, as Gatys et al.'s figures; a painting "
        "uses max)",
    )
    options.add_device(parser, "where the network runs")
    options.add_threads(parser)
    parser.add_argument(
        "-o", "--output", metavar="OUT", help=f"picture to write (default: {output})"
    )
    options.add_overwrite(parser)


def parser() -> argparse.ArgumentParser:
    """``impasto explain`` with its subcommands units, style and layers."""
    made = options.parser("impasto explain", description=DESCRIPTION)
    commands = made.add_subparsers(dest="explain_command", metavar="WHAT", required=True)

    units = commands.add_parser(
        "units",
        formatter_class=options.Formatter,
        help="the image patches that excite single units most",
        description="For each unit, the patches of IMAGES (its receptive field) that excite "
        "it most, one row per unit (Zeiler & Fergus 2013).",
    )
    units.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    units.add_argument(
        "--layer",
        type=_names,
        default=["relu3_1"],
        metavar="LAYER[,LAYER...]",
        help="layer(s), e.g. relu1_1,relu3_1,relu5_1 (default: relu3_1)",
    )
    units.add_argument(
        "--units", type=int, default=8, metavar="N", help="most active units per layer (default: 8)"
    )
    units.add_argument(
        "--unit-indices",
        type=_int_list,
        metavar="I,J,...",
        help="show these units instead, e.g. 3,17,42 (default: the most active)",
    )
    units.add_argument(
        "--patches", type=int, default=9, metavar="N", help="patches per unit (default: 9)"
    )
    units.add_argument(
        "--cell", type=int, default=64, metavar="PX", help="pixels per patch (default: 64)"
    )
    _common(units, "explain_units_LAYER.png", PATCH_SIZE, "images shrunk to this long side")

    style = commands.add_parser(
        "style",
        formatter_class=options.Formatter,
        help="the style (Gram) matrix and channel correlations as heat maps",
        description="What 'style' is for a painting: the Gram matrix of a layer's channels and "
        "their correlations, as heat maps.",
    )
    style.add_argument("style", metavar="STYLE", help="the style image")
    style.add_argument(
        "--layer",
        type=_names,
        default=["relu2_1"],
        metavar="LAYER[,LAYER...]",
        help="layer(s), e.g. relu1_1,relu3_1 (default: relu2_1)",
    )
    style.add_argument(
        "--channels",
        type=int,
        default=64,
        metavar="N",
        help="channels shown, those of most energy (default: 64)",
    )
    _common(style, "explain_style_LAYER.png", STYLE_SIZE, "style image long side")

    layers = commands.add_parser(
        "layers",
        formatter_class=options.Formatter,
        help="content and style reconstructed from single layers (Gatys et al. Fig. 1)",
        description="Reconstruct CONTENT from each layer alone and STYLE from growing sets of "
        "layers, starting from noise (Gatys et al. 2015, Fig. 1).",
    )
    layers.add_argument("content", metavar="CONTENT", help="the content image")
    layers.add_argument("style", metavar="STYLE", help="the style image")
    layers.add_argument(
        "--layer",
        type=_names,
        default=list(STYLE_LAYERS),
        metavar="LAYER,LAYER...",
        help=f"layers, shallow to deep (default: {','.join(STYLE_LAYERS)})",
    )
    layers.add_argument(
        "--iterations",
        type=int,
        default=RECONSTRUCT_ITERATIONS,
        metavar="N",
        help="L-BFGS iterations per picture at full size; content reconstructions run 2.25x "
        "and 1.5x as many at 1/2 and 1/sqrt2 of it first "
        f"(default: {RECONSTRUCT_ITERATIONS})",
    )
    layers.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed of the starting noise (default: 0)"
    )
    _common(layers, "explain_layers.png", RECONSTRUCT_SIZE, "reconstructions' long side")
    return made


# ---------------------------------------------------------------- running


class _Images(Sequence):
    """Image files read on demand, so a folder of photos never sits in memory at once."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:  # type: ignore[override]
        from ...io.images import load_image

        return load_image(self.paths[index]).rgb


def _image_paths(arguments: Sequence[str]) -> list[Path]:
    """Files as given, folders expanded to their images; each file once."""
    from ...io.images import list_images

    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        paths += list_images(path) if path.is_dir() else [path]
    return list(dict.fromkeys(paths))


# The most of each count a figure may ask for: beyond them a figure is no help, and they
# overflowed an integer or took gigabytes before anything was drawn. Sizes, iterations and
# seeds take the painting's ranges (config.py).
MOST = {"units": 4096, "patches": 100, "cell": 1024, "size": MAX_SIZE, "iterations": MAX_ITERATIONS}


def _positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
        try:
            in_range(name, value, 1, MOST[name])
        except ConfigError as e:
            raise ConfigError(f"--{e}") from None


def _network(args: argparse.Namespace, layers: Sequence[str]):
    """The network up to the deepest of ``layers`` (checked first, for a clear message)."""
    from ... import explain
    from ...config import StyleConfig

    if not layers:
        raise ConfigError("--layer needs at least one layer name")
    say = (lambda line: print(line, file=sys.stderr)) if sys.stderr.isatty() else None
    config = StyleConfig(
        network=args.network, pooling=args.pooling, weights=args.weights, device=args.device
    )
    return explain.network_for(config, layers, on_progress=say)


def _output(args: argparse.Namespace, default: str) -> Path:
    from ...io.images import check_output_path

    return check_output_path(args.output or default, args.overwrite)


def _units(args: argparse.Namespace) -> tuple[Path, torch.Tensor]:
    from ... import explain

    _positive(units=args.units, patches=args.patches, cell=args.cell, size=args.size)
    output = _output(args, f"explain_units_{'-'.join(args.layer)}.png")
    net = _network(args, args.layer)
    images = _Images(_image_paths(args.images))
    rows = []
    for layer in args.layer:
        rows += explain.top_patches(
            net, images, layer, args.unit_indices, args.units, args.patches, args.size
        )
    many = "s" if len(images) > 1 else ""
    title = f"The patches of {len(images)} image{many} that excite each unit most, strongest first"
    return output, explain.units_grid(rows, cell=args.cell, title=title)


def _style(args: argparse.Namespace) -> tuple[Path, torch.Tensor]:
    from ... import explain
    from ...io.images import load_image

    _positive(size=args.size)
    if args.channels < 2:
        raise ConfigError(f"--channels must be at least 2, got {args.channels}")
    output = _output(args, f"explain_style_{'-'.join(args.layer)}.png")
    net = _network(args, args.layer)
    style = load_image(args.style).rgb
    return output, explain.style_heatmaps(net, style, args.layer, args.channels, args.size)


def _layers(args: argparse.Namespace) -> tuple[Path, torch.Tensor]:
    from ... import explain
    from ...io.images import load_image

    _positive(size=args.size, iterations=args.iterations)
    try:
        in_range("seed", args.seed, *SEEDS)
    except ConfigError as e:
        raise ConfigError(f"--{e}") from None
    output = _output(args, "explain_layers.png")
    net = _network(args, args.layer)
    content, style = load_image(args.content).rgb, load_image(args.style).rgb
    progress = _progress() if sys.stderr.isatty() else None
    rows = explain.reconstruct_layers(
        net, content, style, args.layer, args.iterations, args.size, args.seed, progress
    )
    return output, explain.layers_figure(content, style, rows)


def _progress() -> Callable[[str, explain.Step], None]:
    """One updating line on a terminal: which picture, and how far its optimisation is."""

    def show(label: str, step: explain.Step) -> None:
        end = "\n" if step.step >= step.steps else ""
        text = f"\r{label}: step {step.step}/{step.steps}, cost {step.loss:.3g}"
        print(text, end=end, file=sys.stderr, flush=True)

    return show


_RUNNERS = {"units": _units, "style": _style, "layers": _layers}


def main(argv: list[str] | None = None) -> int:
    """``impasto explain WHAT ...``: the picture asked for, written to a file."""
    return main_of(argv, parser(), lambda args, _signals: run(args))


def run(args: argparse.Namespace) -> int:
    """Make and save the picture ``args.explain_command`` asks for: 0 done, 2 bad input,
    1 a reconstruction diverged."""
    from ... import jobs
    from ...io.images import save_image

    try:
        jobs.tune_process(args.threads)
        output, picture = _RUNNERS[args.explain_command](args)
        save_image(output, picture, overwrite=args.overwrite)
    except ImpastoError as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    except FloatingPointError as exc:  # a reconstruction diverged: the main CLI's status 1
        say(f"error: {exc}; try another --seed or fewer --iterations")
        return EXIT_DIVERGED
    print(f"wrote {output}")
    return EXIT_OK
