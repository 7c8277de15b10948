"""The options every command line shares, defined once: parsers, the painting options built
from the config's fields, and the groups several commands take (threads, quality, bits).

A config field becomes an option (name, kind, default and the ``help`` metadata) whose text is
read by ``impasto.fields`` (the one parser every front end uses), so a new field appears on
every command without edits. Nothing here imports torch: ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from ... import __version__, devices, fields
from ...config import DEFAULT_DEVICE, INITS, StyleConfig
from ...errors import ConfigError
from ...fields import Kind
from ...ranges import check_threads, shown
from .messages import EXIT_USAGE, flag


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, like every other impasto error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


class Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30)


def parser(prog: str, **kwargs: Any) -> Parser:
    """A command's parser: one-line usage errors, help laid out alike, ``--version``."""
    made = Parser(prog=prog, formatter_class=Formatter, **kwargs)
    made.add_argument("--version", action="version", version=f"impasto {__version__}")
    return made


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed arguments, or the exit status of --help, --version or a usage error."""
    try:
        return parser.parse_args(argv)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else EXIT_USAGE


# --------------------------------------------------------------------- values of options


def _parser(kind: Kind) -> Callable[[str], Any]:
    """The argparse type of a field: ``fields.parse``, its words after the option's name."""

    def parse(text: str) -> Any:
        try:
            return fields.parse(kind, text)
        except fields.BadValue as e:
            raise argparse.ArgumentTypeError(e.problem) from None

    parse.__name__ = kind.name  # what argparse names in its own messages
    return parse


number = _parser(Kind("number", float, False, False, None, None, ""))
"""A number of an option that is no config field (a clip's --start), by the fields' rule."""


def whole(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number in low..high."""
    read = _parser(Kind("number", int, False, False, None, None, ""))

    def parse(text: str) -> int:
        value = read(text)
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {shown(value)}")
        return value

    return parse


def thread_count(name: str = "threads") -> Callable[[str], int]:
    """The argparse type of every option that sets CPU threads (``ranges.check_threads``)."""
    read = _parser(Kind(name, int, False, False, None, None, ""))

    def parse(text: str) -> int:
        try:
            return check_threads(read(text), name)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"{name} ")) from None

    return parse


# --------------------------------------------------------------------- the config's fields

_METAVARS = {int: "N", float: "X"}


def _option(kind: Kind, default: Any, help_text: str) -> dict[str, Any]:
    """add_argument keywords for one config field (bool fields are handled by the caller)."""
    help_text = help_text.replace("%", "%%")
    if "(default" not in help_text:  # the help may say it in words: "(default: equal)"
        help_text += f" (default: {fields.as_text(default)})".replace("%", "%%")
    if kind.name == "init":  # a mode, or a picture to start from (config_from_args)
        kind, metavar = dataclasses.replace(kind, choices=None), "MODE|FILE"
    elif kind.choices is not None:
        metavar = "{" + ",".join(kind.choices) + "}"
    elif kind.many:
        metavar = f"{_METAVARS.get(kind.item, 'NAME')},..."
    else:
        metavar = _METAVARS.get(kind.item, kind.name.upper())
    return {
        "dest": kind.name,
        "default": default,
        "help": help_text.strip(),
        "type": _parser(kind),
        "metavar": metavar,
    }


def add_config_options(
    group: Any,
    config_class: type = StyleConfig,
    defaults: Mapping[str, tuple[Any, str]] | None = None,
) -> None:
    """One option per dataclass field: ``content_weight`` -> ``--content-weight``.

    ``defaults`` gives a command's own default of a field, with its help (a clip's frames are
    painted smaller than a picture)."""
    for kind in fields.kinds(config_class).values():
        default, help_text = (defaults or {}).get(kind.name, (kind.default, kind.help))
        if kind.item is bool and not kind.many:
            _add_flag_pair(group, kind)
        else:
            group.add_argument(flag(kind.name), **_option(kind, default, help_text))


def _add_flag_pair(group: Any, kind: Kind) -> None:
    """``--x`` / ``--no-x``, written out (BooleanOptionalAction's help differs by Python)."""
    help_text = kind.help.replace("%", "%%")
    off = flag(kind.name).replace("--", "--no-", 1)
    help_text += f" ({off} to turn off; default: {fields.as_text(kind.default)})"
    group.add_argument(flag(kind.name), dest=kind.name, action="store_true", help=help_text)
    group.add_argument(off, dest=kind.name, action="store_false", help=argparse.SUPPRESS)
    group.set_defaults(**{kind.name: kind.default})


def config_from_args(args: argparse.Namespace) -> tuple[StyleConfig, str | None]:
    """The config, and the init image's path when --init names a file instead of a mode."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(StyleConfig)}
    mode, init_path = fields.split_init(values["init"], INITS)
    values["init"] = mode or "content"
    return StyleConfig(**values), init_path


# --------------------------------------------------------------------- shared groups


def add_threads(group: Any) -> None:
    group.add_argument(
        "--threads",
        type=thread_count(),
        metavar="N",
        help="CPU threads for torch, at most 4 x the cores (default: torch's own choice)",
    )


def device_name(text: str) -> str:
    """The argparse type of ``--device``: a device's name, checked without torch (whether the
    device is there is asked when the command starts, ``devices.resolve``)."""
    try:
        return devices.check_name(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("device ")) from None


def add_device(group: Any, what: str) -> None:
    """--device for the commands that take no other painting option (``serve``, ``explain``);
    the painting commands have it as the config's field, in the same words."""
    group.add_argument(
        "--device",
        type=device_name,
        default=DEFAULT_DEVICE,
        metavar="NAME",
        help=f"{what}: auto (an NVIDIA GPU, else an Apple GPU, else the CPU), cpu, cuda, "
        f"cuda:N or mps (default: {DEFAULT_DEVICE})",
    )


def add_overwrite(group: Any, what: str = "replace OUT if it exists") -> None:
    group.add_argument("--overwrite", action="store_true", help=f"{what} (default: off)")


def add_quality_and_bits(group: Any) -> None:
    """--quality and --bits: how a picture is encoded (PNG, JPEG, WebP or TIFF)."""
    group.add_argument(
        "--quality",
        type=whole(1, 100),
        default=95,
        metavar="Q",
        help="JPEG/WebP quality 1..100; WebP 100 is lossless (default: 95)",
    )
    group.add_argument(
        "--bits",
        type=int,
        choices=(8, 16),
        default=8,
        help="bits per channel; 16 needs PNG or TIFF (default: 8)",
    )


def add_quiet(group: Any, what: str = "print nothing but errors") -> None:
    group.add_argument("-q", "--quiet", action="store_true", help=f"{what} (default: off)")


def add_running(group: Any) -> None:
    """-q, -v and --threads: how a painting command talks and how many threads it takes."""
    add_quiet(group)
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print the schedule and the losses of every scale (default: off)",
    )
    add_threads(group)
