"""How every command runs: its errors as one line and an exit status, Ctrl-C and SIGTERM.

Each front end's ``main(argv)`` hands its work to ``command``: an ``ImpastoError`` is one
line and status 2, out of memory one line and status 3, a bug one line and status 4 (the
traceback with ``IMPASTO_DEBUG=1``), Ctrl-C 130 and SIGTERM 143. ``Signals`` turns SIGTERM
into what Ctrl-C does (so temporary files are cleaned up and the best picture is saved) and
can hold both off while a file is being written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator

from ...errors import ImpastoError, first_line
from .messages import (
    EXIT_BUG,
    EXIT_INTERRUPTED,
    EXIT_MEMORY,
    EXIT_TERMINATED,
    fail,
    say,
)
from .options import parse


class Signals:
    """SIGTERM handled like Ctrl-C, and a way to hold both off while a file is written."""

    def __init__(self) -> None:
        self.terminated = False
        self.held: int | None = None  # a signal that arrived while held off
        self._holding = False

    def _on_term(self, signum: int, frame: object) -> None:
        self.terminated = True
        self._on_signal(signum, frame)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self._holding:
            self.held = signum
            return
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach only the main thread; nothing to install
            return
        before = signal.signal(signal.SIGTERM, self._on_term), signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, before[0])
            signal.signal(signal.SIGINT, before[1])

    @contextlib.contextmanager
    def held_off(self) -> Iterator[None]:
        """Finish what is inside (a save) before a Ctrl-C or SIGTERM takes effect."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def stopped_status(self) -> int:
        return EXIT_TERMINATED if self.terminated else EXIT_INTERRUPTED


def main_of(
    argv: list[str] | None,
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace, Signals], int],
) -> int:
    """A front end's ``main(argv)``: parse (--help, --version and usage errors are their own
    exit status), then ``run(args, signals)`` as a ``command``."""
    args = parse(parser, list(argv or []))
    if isinstance(args, int):
        return args
    return command(lambda signals: run(args, signals))


def command(work: Callable[[Signals], int]) -> int:
    """Run a command's ``work`` with the signals installed; its exit status, every error as
    one line (see the module)."""
    signals = Signals()
    with signals.installed():
        try:
            return work(signals)
        except ImpastoError as e:
            return fail(e)
        except KeyboardInterrupt:
            say("interrupted; nothing written")
            return signals.stopped_status()
        except MemoryError:
            return _out_of_memory("the system refused more memory")
        except RuntimeError as e:
            if "can't allocate memory" in str(e) or "not enough memory" in str(e):
                return _out_of_memory(first_line(e))
            return _bug(e)
        except Exception as e:  # a bug: still one line, and the traceback on request
            return _bug(e)


def _out_of_memory(detail: str) -> int:
    say(
        f"error: out of memory ({detail}); nothing written; try a smaller --size or a lower "
        "--max-memory, which makes impasto tile the picture"
    )
    return EXIT_MEMORY


def _bug(error: Exception) -> int:
    if os.environ.get("IMPASTO_DEBUG"):
        raise error
    say(
        f"internal error: {type(error).__name__}: {first_line(error)} (a bug; please report "
        "it; IMPASTO_DEBUG=1 shows the traceback)"
    )
    return EXIT_BUG
