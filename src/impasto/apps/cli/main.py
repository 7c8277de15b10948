"""The command line: ``impasto CONTENT STYLE... -o OUT`` and ``impasto weights|explain|batch``.

The only code that prints or exits. A run is a job (``impasto.jobs``): prepared (checked,
decoded, planned) once, announced, painted, saved. torch is imported only when a command runs,
so ``--help`` and ``--version`` answer at once. Ctrl-C and SIGTERM stop a run and save the best
picture so far; a save in progress is always finished first.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...errors import ImpastoError, first_line
from . import batch, explain, options, serve, video, weights
from .messages import (
    EXIT_BUG,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_MEMORY,
    EXIT_OK,
    EXIT_TERMINATED,
    fail,
    hw,
    say,
)

if TYPE_CHECKING:
    import torch

    from ...jobs import Job, JobSpec, Progress


class _Signals:
    """SIGTERM handled like Ctrl-C (so temporary files are cleaned up and the best picture
    is saved), and a way to hold both off while a file is being written."""

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


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit status (the console script exits with it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    signals = _Signals()
    with signals.installed():
        try:
            return _dispatch(argv, signals)
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


def _dispatch(argv: list[str], signals: _Signals) -> int:
    if argv and argv[0] in options.COMMANDS:
        args = options.parse(options.command_parser(), argv)
        if isinstance(args, int):
            return args
        if args.command == "video":
            return video.run(args, signals)
        runs = {
            "weights": weights.run,
            "explain": explain.run,
            "serve": serve.run,
            "batch": batch.run,
        }
        return runs[args.command](args)
    args = options.parse(options.stylize_parser(), argv)
    return args if isinstance(args, int) else _run_stylize(args, signals)


def job_spec(args: argparse.Namespace) -> JobSpec:
    """The job the options describe."""
    from ...jobs import JobSpec

    config, init_path = options.config_from_args(args)
    return JobSpec(
        content=args.content,
        styles=tuple(args.styles),
        config=config,
        output=args.output,
        init=init_path,
        masks=tuple(args.masks or ()),
        overwrite=args.overwrite,
        quality=args.quality,
        bits=args.bits,
        snapshot_every=args.save_every or 0,
    )


def _run_stylize(args: argparse.Namespace, signals: _Signals) -> int:
    from ... import jobs
    from ...jobs import Cancelled, duration
    from .display import Display, both

    start = time.perf_counter()
    jobs.tune_process(args.threads)
    job = jobs.prepare(job_spec(args))
    network = jobs.load_network(job.config, on_progress=None if args.quiet else say)
    job = jobs.calibrate(job, network)
    if not args.quiet:
        _announce(job, args.verbose)
    display = Display(tty=sys.stderr.isatty(), verbose=args.verbose, quiet=args.quiet)
    snapshots = _Snapshots(job, signals) if job.spec.snapshot_every else None
    try:
        result = jobs.run(job, network, progress=both(display, snapshots))
    except Cancelled as e:
        display.finish()
        return _save_stopped(job, e.image, signals)
    except FloatingPointError:  # Diverged, or a callback's
        display.finish()
        say(
            "error: the optimisation diverged (the cost became NaN or infinite); try lower "
            "--style-weight, --content-weight or --tv-weight, or --optimizer adam with a lower "
            "--learning-rate; nothing written"
        )
        return EXIT_DIVERGED
    except BaseException:
        display.finish()  # a clean line for whatever is printed next
        raise
    display.finish()
    with signals.held_off():
        _save(job, result)
    if not args.quiet:
        took = duration(time.perf_counter() - start)
        print(f"wrote {_where(job)} ({hw(result.shape[-2:])}) in {took}", flush=True)
    if signals.held is not None:
        say("stopped after the picture was written")
        return signals.stopped_status()
    return EXIT_OK


def _save(job: Job, picture: torch.Tensor) -> None:
    """The picture to the job's output: a file (atomically), or standard output (a PNG)."""
    from ... import jobs

    if str(job.out) != jobs.STDOUT:
        jobs.save(job, picture)
        return
    sys.stdout.buffer.write(jobs.encode(job, picture))
    sys.stdout.buffer.flush()


def _where(job: Job) -> str:
    return "standard output" if str(job.out) == "-" else str(job.out)


def _save_stopped(job: Job, best: torch.Tensor, signals: _Signals) -> int:

    try:
        with signals.held_off():
            _save(job, best)
    except ImpastoError as e:
        say(f"interrupted; could not save the best image so far: {e}")
        return signals.stopped_status()
    say(f"interrupted: wrote best image so far to {_where(job)}")
    return signals.stopped_status()


def _announce(job: Job, verbose: bool) -> None:
    """The plan and the output size, before the (long) run starts."""
    from ...jobs import describe_plan
    from ...ops.resize import output_size, size_of

    say_plain = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    say_plain(f"plan: {describe_plan(job.plan)}; output {hw(job.final_hw)} -> {_where(job)}")
    say_plain(job.estimate.describe())
    if not verbose:
        return
    config = job.config
    content_hw = size_of(job.content.rgb)
    for i, scale in enumerate(job.plan, start=1):
        size = hw(output_size(*content_hw, scale.size))
        say_plain(f"  scale {i}/{len(job.plan)}: {size}, {scale.iterations} iterations")
    say_plain(
        f"  network {config.network} ({config.weights or 'cache'}), {len(job.styles)} style "
        f"image(s), optimizer {config.optimizer}, seed {config.seed}"
    )


class _Snapshots:
    """--save-every: the current picture, every N steps, to OUT_NNNN.ext (atomically)."""

    def __init__(self, job: Job, signals: _Signals) -> None:
        self.job, self.signals = job, signals
        self.warned = False

    def __call__(self, p: Progress) -> None:
        from ... import jobs

        if p.step % self.job.spec.snapshot_every:
            return
        path = jobs.numbered(self.job.out, p.step)
        try:
            with self.signals.held_off():
                jobs.save(self.job, p.image(), path)
        except ImpastoError as e:
            if not self.warned:  # a full disk should not cost the run; say it once
                say(f"warning: {e}; the run goes on")
                self.warned = True
        if self.signals.held is not None:
            raise KeyboardInterrupt  # arrived during the snapshot: stop now that it is written
