"""The picture command: ``impasto CONTENT STYLE... [-o OUT] [options]``.

A run is a job (``impasto.jobs``): prepared (checked, decoded, planned) once, announced,
painted, saved. torch is imported only when the command runs, so ``--help`` and ``--version``
answer at once. Ctrl-C and SIGTERM stop a run and save the best picture so far; a save in
progress is always finished first.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from ...errors import ImpastoError
from ..shell.messages import EXIT_DIVERGED, EXIT_OK, hw, say
from ..shell.options import config_from_args
from ..shell.running import Signals, main_of
from . import options

if TYPE_CHECKING:
    import torch

    from ...jobs import Job, JobSpec, Progress


def main(argv: list[str] | None = None) -> int:
    """``impasto CONTENT STYLE... [-o OUT] [options]``: paint one picture; its exit status."""
    return main_of(sys.argv[1:] if argv is None else argv, options.stylize_parser(), _run_stylize)


def job_spec(args: argparse.Namespace) -> JobSpec:
    """The job the options describe."""
    from ...jobs import JobSpec

    config, init_path = config_from_args(args)
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


def _run_stylize(args: argparse.Namespace, signals: Signals) -> int:
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


def _save_stopped(job: Job, best: torch.Tensor, signals: Signals) -> int:

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

    def __init__(self, job: Job, signals: Signals) -> None:
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
