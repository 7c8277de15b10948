"""The README example with today's defaults against the defaults of before 2026-12-05.

Issue 35 changed the defaults (content weight 200, the palette start) and allows them at most
1.1x the old default's time. Each run is the `impasto` command itself in a fresh process, the
two alternated (old, new, old, new, ...) so that a machine's drift falls on both; the median
of each and their ratio are printed with the CPU that ran them.

    python -m benchmarks.bench_defaults --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_machine import cpu  # the model and its vector extensions

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = [str(ROOT / "examples" / "tubingen.jpg"), str(ROOT / "examples" / "starry_night.jpg")]
RUNS = {
    "before 2026-12-05": ["--content-weight", "1", "--init", "recolor"],
    "today": [],
}


def one(extra: list[str], out: Path, threads: int) -> float:
    cmd = [sys.executable, "-m", "impasto", *EXAMPLE, "-o", str(out), "--overwrite", "-q"]
    cmd += ["--threads", str(threads), *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    print(f"CPU: {cpu()}; {args.threads} threads; {time.strftime('%Y-%m-%d %H:%M %Z')}")
    times: dict[str, list[float]] = {name: [] for name in RUNS}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            for name, extra in RUNS.items():
                seconds = one(extra, Path(tmp) / f"{i}.png", args.threads)
                times[name].append(seconds)
                print(f"  {name:<18} run {i + 1}: {seconds:6.1f} s", flush=True)
    medians = {name: statistics.median(t) for name, t in times.items()}
    old, new = medians["before 2026-12-05"], medians["today"]
    print("| defaults | runs (s) | median s |")
    print("| --- | --- | ---: |")
    for name, t in times.items():
        print(f"| {name} | {', '.join(f'{x:.1f}' for x in t)} | {medians[name]:.1f} |")
    print(f"today / before: {new / old:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
