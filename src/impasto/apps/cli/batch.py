"""``impasto batch``: the command line's shell around ``impasto.apps.batch`` (options in,
one line per job and an exit status out)."""

from __future__ import annotations

import argparse
import sys

from ...errors import ImpastoError
from . import options
from .messages import (
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

# A failed job's kind -> the exit status the single-picture command gives for it.
EXIT_FOR_KIND = {
    "diverged": EXIT_DIVERGED,
    "input": EXIT_USAGE,
    "memory": EXIT_MEMORY,
    "worker": EXIT_MEMORY,  # a worker killed under a job: most often the kernel's OOM killer
    "bug": EXIT_BUG,
}


def run(args: argparse.Namespace) -> int:
    from ..batch import driver

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
