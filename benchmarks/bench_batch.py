"""impasto batch's throughput: 8 small jobs with 1 and 2 local workers and on a Ray cluster.

Each mode paints the same 8 jobs (2 contents x 2 styles x 2 seeds, a JSON manifest) into a
fresh folder with the real default weights, as ``impasto batch`` in its own process, so each
time includes starting the workers and loading the network, as a user sees it. The figures
are jobs a minute and the ratio to 1 worker (the same machine, the same run). Ray: a cluster
of this machine alone, bound to loopback (``ray start --head --num-cpus CORES``), 1 CPU a job;
started and stopped by this script. Only run it for figures on an otherwise idle machine
(``top -bn1``): other processes on the cores change the ratios.

    python -m benchmarks.bench_batch                     # 8 jobs at 128 px, 20 iterations
    python -m benchmarks.bench_batch --size 48 --iterations 5 --modes 1,2   # a quick check
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_machine import cpu  # the model and its vector extensions

ROOT = Path(__file__).resolve().parents[1]

CONTENTS = [ROOT / "examples" / "tubingen.jpg", ROOT / "examples" / "chelsea.png"]
STYLES = [ROOT / "examples" / "starry_night.jpg", ROOT / "examples" / "the_scream.jpg"]
SEEDS = (0, 1)
RAY = Path(sys.executable).with_name("ray")
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # keeps Ray on 127.0.0.1


def manifest(folder: Path) -> Path:
    jobs = [
        {"content": str(c), "style": str(s), "seed": seed}
        for c in CONTENTS
        for s in STYLES
        for seed in SEEDS
    ]
    path = folder / "jobs.json"
    path.write_text(json.dumps(jobs, indent=1))
    return path


def run_batch(jobs: Path, out: Path, painting: list[str], extra: list[str], env) -> float:
    command = [sys.executable, "-m", "impasto", "batch", "--manifest", str(jobs), "-o", str(out)]
    start = time.perf_counter()
    result = subprocess.run(
        [*command, *painting, *extra, "-q"], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"impasto batch {' '.join(extra)} failed: {result.stderr.strip()}")
    summary = json.loads((out / "batch-summary.json").read_text())
    if summary["counts"]["done"] != len(CONTENTS) * len(STYLES) * len(SEEDS):
        raise SystemExit(f"not every job was painted: {summary['counts']}")
    return seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_cluster(cores: int, env) -> str:
    port = free_port()
    command = [
        str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
        f"--num-cpus={cores}", "--include-dashboard=false", "--disable-usage-stats",
    ]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, env=env)
    return f"127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--modes", default="1,2,ray", help="comma-separated: 1, 2 (workers), ray")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    cores = len(os.sched_getaffinity(0))
    painting = ["--size", str(args.size), "--min-size", "0", "--iterations", str(args.iterations)]
    env = {**os.environ, **LOOPBACK}
    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="impasto-bench-batch-") as tmp:
        folder = Path(tmp)
        jobs = manifest(folder)
        # warm the weights cache and the disk cache, so the first mode is not charged for it
        run_batch(jobs, folder / "warm", ["--size", "32", "--min-size", "0", "--iterations",
                  "1"], ["--workers", "1"], env)  # fmt: skip
        for mode in modes:
            out = folder / f"out-{mode}"
            if mode == "ray":
                address = ray_cluster(cores, env)
                try:
                    times[mode] = run_batch(jobs, out, painting, ["--ray", address], env)
                finally:
                    subprocess.run([str(RAY), "stop", "--force"], capture_output=True)
            else:
                times[mode] = run_batch(jobs, out, painting, ["--workers", mode], env)
    import torch

    n = len(CONTENTS) * len(STYLES) * len(SEEDS)
    base = times.get("1")
    names = {"1": "local, 1 worker", "2": "local, 2 workers", "ray": "Ray, 1 CPU a task"}
    day = datetime.date.today().isoformat()
    print(f"## {day} · {cpu()}, {cores} cores · Python {platform.python_version()}, "
          f"torch {torch.__version__}\n")  # fmt: skip
    print(f"{n} jobs at {args.size} px, {args.iterations} iterations, single scale; each time")
    print("is one `impasto batch` process: workers started and network loaded included.\n")
    print("| mode | threads a job | seconds | jobs a minute | throughput / 1 worker |")
    print("| --- | --- | --- | --- | --- |")
    for mode, seconds in times.items():
        threads = cores if mode == "1" else 1 if mode == "ray" else max(1, cores // int(mode))
        ratio = f"{base / seconds:.2f}" if base else "-"
        label = names.get(mode, f"local, {mode} workers")
        print(f"| {label} | {threads} | {seconds:.1f} | {60 * n / seconds:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
