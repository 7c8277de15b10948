"""A touch-up's time against its full run's (issue 34): the README example (Tübingen × The
Starry Night, the defaults at 512 px), then ``jobs.touch_up`` of its picture at a lower
strength: one scale at the output size, from that picture. One process, one machine: the
network is loaded once (as the web page's server keeps it) and each run is timed from its
prepared job to its picture (``jobs.run``), after a short warm-up run; preparing (decoding the
pictures) is timed on its own. Prints the CPU and a Markdown table for benchmarks/RESULTS.md.

    IMPASTO_HOME=/tmp/home python -m benchmarks.bench_touchup [--size 512] [--strength 0.5]

(an ``IMPASTO_HOME`` holding a copy of the cached weights keeps the machine's speed store
out of the user's cache.)
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_machine import cpu  # the model and its vector extensions

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "tubingen.jpg"
STYLE = ROOT / "examples" / "starry_night.jpg"


def timed(work):
    start = time.perf_counter()
    value = work()
    return value, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--strength", type=float, default=0.5, help="the touch-up's strength")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its choice)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)

    import torch

    from impasto import jobs
    from impasto.config import StyleConfig
    from impasto.engine.schedule import describe
    from impasto.io.images import load_image
    from impasto.ops.resize import resize_to

    jobs.tune_process(args.threads)  # as the command line runs
    print(f"cpu: {cpu()}", flush=True)
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        flush=True,
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-touchup-"))
    spec = jobs.JobSpec(CONTENT, (STYLE,), StyleConfig(size=args.size), output=folder / "full.png")
    job, prepare_full = timed(lambda: jobs.prepare(spec))
    network, load = timed(lambda: jobs.load_network(job.config))
    job, calibrate = timed(lambda: jobs.calibrate(job, network))
    warm = jobs.JobSpec(CONTENT, (STYLE,), StyleConfig(size=128, schedule="128:5"),
                        output=folder / "warm.png")  # fmt: skip
    jobs.run(jobs.prepare(warm), network)  # first-touch costs out of the timed runs
    full, full_s = timed(lambda: jobs.run(job, network))
    jobs.save(job, full)
    print(f"full run: {describe(job.plan)} in {full_s:.1f} s", flush=True)

    touch_spec = jobs.touch_up(spec, job.estimate, job.out, {"strength": args.strength})
    touch, prepare_touch = timed(lambda: jobs.calibrate(jobs.prepare(touch_spec), network))
    touched, touch_s = timed(lambda: jobs.run(touch, network))
    jobs.save(touch, touched)
    print(f"touch-up: {describe(touch.plan)} in {touch_s:.1f} s", flush=True)

    small = resize_to(load_image(CONTENT).rgb, *full.shape[-2:])
    moved = (float((full - small).abs().mean()), float((touched - small).abs().mean()))
    rows = [
        ("full run (defaults)", job, full_s, prepare_full),
        (f"touch-up (strength {args.strength:g})", touch, touch_s, prepare_touch),
    ]
    lines = [
        f"{CONTENT.name} × {STYLE.name} at {args.size} px; {cpu()}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; network loaded once "
        f"({load:.1f} s), the speed probe before the first run {calibrate:.1f} s",
        "",
        "| run | plan | evaluations | planned s | run s | preparing s | × the full run |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, j, seconds, prepared in rows:
        evaluations = sum(s.iterations for s in j.plan)
        lines.append(
            f"| {name} | {describe(j.plan)} | {evaluations} | {j.estimate.seconds:.1f} "
            f"| {seconds:.1f} | {prepared:.2f} | {seconds / full_s:.2f} |"
        )
    lines += [
        "",
        f"**ratio: touch-up / full run = {touch_s / full_s:.2f}** (run time; with preparing "
        f"{(touch_s + prepare_touch) / (full_s + prepare_full):.2f}; planned "
        f"{touch.estimate.seconds / job.estimate.seconds:.2f}). Mean distance to the photo "
        f"(0..1): full run {moved[0]:.3f}, touch-up {moved[1]:.3f}.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
