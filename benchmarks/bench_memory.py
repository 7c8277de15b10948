"""Peak memory of big pictures: runs the CLI in a fresh process and reads its peak RSS.

    python -m benchmarks.bench_memory --size 2048 --schedule 1448:3,2048:30
    python -m benchmarks.bench_memory --size 4096 --schedule 2896:2,4096:8

The final scale must run more iterations than L-BFGS keeps in its history (the estimate line
says how many) so that the history is full when the peak is measured. Prints the CLI's
estimate, then the measured peak RSS and wall time; the picture goes to benchmarks/out/.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--schedule", required=True)
    parser.add_argument("--content", default=str(ROOT / "examples" / "tubingen.jpg"))
    parser.add_argument("--style", default=str(ROOT / "examples" / "starry_night.jpg"))
    parser.add_argument("extra", nargs="*", help="more impasto options, after --")
    args = parser.parse_args()
    out = ROOT / "benchmarks" / "out" / f"memory_{args.size}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "impasto",
        args.content,
        args.style,
        "-o",
        str(out),
        "--overwrite",
        "--size",
        str(args.size),
        "--schedule",
        args.schedule,
        *args.extra,
    ]
    print(" ".join(command[2:]), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    estimate = [line for line in done.stderr.splitlines() if line.startswith("estimate:")]
    print("\n".join(estimate) or done.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB -> GiB
    print(
        f"exit {done.returncode}; peak RSS {peak:.2f} GiB ({peak * 1.074:.2f} GB); "
        f"wall {wall / 60:.1f} min"
    )


if __name__ == "__main__":
    main()
