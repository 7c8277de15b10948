"""``impasto batch``: the command line of ``impasto.apps.batch`` (options in, one line per job
and an exit status out)."""

from __future__ import annotations

import argparse
import sys

from ...errors import ImpastoError
from ..shell import options
from ..shell.messages import (
    EXIT_BUG,
    EXIT_DIVERGED,
    EXIT_INTERRUPTED,
    EXIT_MEMORY,
    EXIT_OK,
    EXIT_TERMINATED,
    EXIT_USAGE,
    cli_words,
    say,
)
from ..shell.running import main_of

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


def parser() -> argparse.ArgumentParser:
    made = options.parser(
        "impasto batch",
        usage="impasto batch [CONTENT ...] --styles STYLE ... -o OUTDIR [options]\n"
        "       impasto batch --manifest FILE -o OUTDIR [options]",
        description="Paint many pictures, skipping those already done, on this machine or\n"
        "a Ray cluster.",
        epilog=_BATCH_EPILOG,
    )
    made.add_argument(
        "contents", nargs="*", metavar="CONTENT", help="content images or folders of them"
    )
    jobs = made.add_argument_group("jobs")
    jobs.add_argument(
        "--styles",
        nargs="+",
        metavar="STYLE",
        help="style images or folders of them (each image one style)",
    )
    jobs.add_argument(
        "--manifest",
        metavar="FILE",
        help="a CSV or JSON file with one job a row, instead of CONTENT and --styles",
    )
    jobs.add_argument(
        "--pairs",
        action="store_true",
        help="the i-th content with the i-th style, instead of every content with every style "
        "(default: off)",
    )
    out = made.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        required=True,
        help="folder for the pictures, sidecars and summary (created if need be)",
    )
    options.add_overwrite(out, "paint every job again, even those done")
    out.add_argument(
        "--format",
        default="png",
        choices=("png", "jpg", "webp", "tif"),
        help="picture format (default: png)",
    )
    options.add_quality_and_bits(out)
    out.add_argument(
        "--contact-sheet",
        action="store_true",
        help="also write OUTDIR/contact-sheet.png with every result (default: off)",
    )
    where = made.add_argument_group("running")
    where.add_argument(
        "--workers",
        type=options.whole(1),
        metavar="N",
        help="jobs at once on this machine, each with cores/N threads (default: 1); with "
        "--device cuda (or auto on a machine with CUDA) one per GPU (default: every GPU)",
    )
    where.add_argument(
        "--cores",
        type=options.thread_count("cores"),
        metavar="N",
        help="cores to divide among the workers, at most 4 x this machine's "
        "(default: all this process may use)",
    )
    where.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run each job as a task on the Ray cluster at ADDRESS (HOST:PORT, or auto); "
        "needs pip install 'impasto[ray]' (default: local)",
    )
    where.add_argument(
        "--cpus-per-job",
        type=options.whole(1),
        default=1,
        metavar="N",
        help="with --ray: CPUs (and torch threads) each job asks for (default: 1)",
    )
    options.add_quiet(where, "print only failures")
    painting = made.add_argument_group("painting (every job; a manifest may override)")
    options.add_config_options(painting)
    return made


def main(argv: list[str] | None = None) -> int:
    """``impasto batch ...``: 0 every job done or skipped, else the most serious failure."""
    return main_of(argv, parser(), lambda args, _signals: run(args))


# A failed job's kind -> the exit status the single-picture command gives for it.
EXIT_FOR_KIND = {
    "diverged": EXIT_DIVERGED,
    "input": EXIT_USAGE,
    "memory": EXIT_MEMORY,
    "worker": EXIT_MEMORY,  # a worker killed under a job: most often the kernel's OOM killer
    "bug": EXIT_BUG,
}


def run(args: argparse.Namespace) -> int:
    from . import driver

    config, init_path = options.config_from_args(args)
    request = driver.Request(
        output=args.output,
        contents=tuple(args.contents),
        styles=tuple(args.styles or ()),
        manifest=args.manifest,
        config=config,
        init=init_path,
        pairs=args.pairs,
        overwrite=args.overwrite,
        workers=args.workers,
        cores=args.cores,
        ray=args.ray,
        cpus_per_job=args.cpus_per_job,
        contact_sheet=args.contact_sheet,
        fmt=args.format,
        quality=args.quality,
        bits=args.bits,
    )
    quiet = args.quiet

    def tell(line: str) -> None:
        if not quiet or "failed " in line:
            say(line)

    try:
        report = driver.run(request, tell)
    except ImpastoError as e:
        say(f"error: {cli_words(e)}")
        return EXIT_USAGE
    counts = report.counts
    parts = [f"{counts[k]} {k}" for k in ("done", "skipped", "failed", "interrupted", "pending")]
    if not quiet or report.failures or report.stopped:
        say(f"batch: {', '.join(p for p in parts if not p.startswith('0 '))}; {report.summary}")
    if report.sheet is not None and not quiet:
        print(f"wrote {report.sheet}", file=sys.stderr, flush=True)
    if report.stopped is not None:
        return EXIT_TERMINATED if report.stopped == "terminated" else EXIT_INTERRUPTED
    if report.failures:
        return max(EXIT_FOR_KIND.get(kind, EXIT_BUG) for _, kind, _ in report.failures)
    return EXIT_OK
