"""How the command line speaks: one line per message on stderr, options as the user types them.

Exit status: 0 done, 1 the optimisation diverged, 2 bad input or usage, 3 out of memory,
4 an internal error (a bug: please report it), 130 interrupted by Ctrl-C, 143 by SIGTERM.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import reprlib
import shutil
import sys
from collections.abc import Callable, Sequence

from ...config import StyleConfig, VideoConfig, check_threads
from ...errors import ConfigError, ImpastoError

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_USAGE = 2
EXIT_MEMORY = 3
EXIT_BUG = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
DRAW_INTERVAL = 0.1  # seconds between redraws of a progress bar on a terminal


def say(message: str) -> None:
    """One line on stderr: newlines in a message would break the one-line promise."""
    print(f"impasto: {' '.join(message.strip().splitlines())}", file=sys.stderr, flush=True)


def fail(error: ImpastoError) -> int:
    say(f"error: {cli_words(error)}")
    return EXIT_USAGE


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# Library words that are not StyleConfig fields but have a command-line form.
_EXTRA_FIELDS = ("quality", "masks", "init_image", "start", "duration", "fps")
_EXTRA_FLAGS = {"masks": "--mask", "init_image": "--init"}


def cli_words(error: ImpastoError) -> str:
    """Speak of options as the user typed them: ``size must be > 0`` -> ``--size must be > 0``.

    The library names its fields (``max_memory``); only the command line knows them as flags.
    """
    text = str(error)
    if not isinstance(error, ConfigError):
        return text
    fields = dataclasses.fields(StyleConfig) + dataclasses.fields(VideoConfig)
    names = [f.name for f in fields] + list(_EXTRA_FIELDS)
    for name in names:
        # Names with "_" are unambiguous anywhere; plain words ("size") only as the subject.
        pattern = rf"\b{name}\b" if "_" in name else rf"^{name}\b"
        text = re.sub(pattern, _EXTRA_FLAGS.get(name, flag(name)), text)
    return text


def bad_value(text: str, expected: str) -> argparse.ArgumentTypeError:
    """An option's value refused in one short line: a number thousands of digits long said by
    its length (``int()`` reads at most 4300, ``float()`` makes 310 infinite), anything else
    quoted, cut to a readable length."""
    digits = text.strip().lstrip("+-")
    if digits.isdigit() and len(digits) > 300:
        return argparse.ArgumentTypeError(
            f"got a number of {len(digits)} digits; none is that large"
        )
    return argparse.ArgumentTypeError(f"expected {expected}, got {_QUOTE.repr(text)}")


_QUOTE = reprlib.Repr()
_QUOTE.maxstring = 60


def thread_count(name: str = "threads") -> Callable[[str], int]:
    """The argparse type of every option that sets CPU threads (``config.check_threads``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise bad_value(text, "a whole number") from None
        try:
            return check_threads(value, name)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e).removeprefix(f"{name} ")) from None

    return parse


def clock(seconds: float) -> str:
    """m:ss or h:mm:ss, for the progress bar where width must not jump around."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def num(value: float) -> str:
    return f"{value:.3g}"


def hw(size: Sequence[int]) -> str:
    """(height, width) -> 'WxH', the order people read image sizes in."""
    return f"{size[1]}x{size[0]}"


class TerminalLine:
    """One line of stderr redrawn in place (a progress bar), cut to the terminal's width."""

    def __init__(self) -> None:
        self.drawn = 0  # characters on screen

    def draw(self, text: str) -> None:
        text = text[: shutil.get_terminal_size().columns - 1]
        sys.stderr.write("\r" + text + " " * max(0, self.drawn - len(text)))
        sys.stderr.flush()
        self.drawn = len(text)

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r" + " " * self.drawn + "\r")
            sys.stderr.flush()
            self.drawn = 0
