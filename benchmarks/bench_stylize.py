"""Time impasto's default run against a single-scale L-BFGS baseline, and the network's GFLOP/s.

Each stylisation runs in a fresh process (so load time and peak RSS are honest) and prints one
JSON line; this script collects them and prints a Markdown table for benchmarks/RESULTS.md.

    python -m benchmarks.bench_stylize --repeats 3 --baseline-iterations 500
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "tubingen.jpg"
STYLE = ROOT / "examples" / "starry_night.jpg"


def child(args: argparse.Namespace) -> None:
    """Run one stylisation from scratch in this process and print a JSON line."""
    start = time.perf_counter()
    import torch

    from impasto import jobs
    from impasto.config import StyleConfig
    from impasto.engine.pyramid import stylize
    from impasto.io.images import load_image, save_image

    jobs.tune_process()  # as the command line runs: freed memory kept in the heap
    config = StyleConfig(**json.loads(args.config))
    last = {}

    def progress(p) -> None:
        last.update(p.losses, scale=p.scale, scales=p.scales)

    image = stylize(load_image(CONTENT).rgb, [load_image(STYLE).rgb], config, progress=progress)
    seconds = time.perf_counter() - start
    if args.save:
        save_image(args.save, image, overwrite=True)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": rss_mb,
                "losses": last,
                "threads": torch.get_num_threads(),
            }
        )
    )


def run_child(config: dict, save: str | None) -> dict:
    cmd = [sys.executable, "-m", __spec__.name, "--child", "--config", json.dumps(config)]
    if save:
        cmd += ["--save", save]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def throughput() -> dict:
    """GFLOP/s of the network's forward+backward at 512x384 and of one big matmul."""
    import torch

    from impasto.config import StyleConfig
    from impasto.network.vgg import load_network

    config = StyleConfig()
    net = load_network(config)
    x = torch.rand(1, 3, 384, 512, requires_grad=True)
    flops, h, w = 0, 384, 512
    for name in net.names:
        if name.startswith("conv"):
            conv = net.convs[name]
            flops += 2 * 9 * conv.in_channels * conv.out_channels * h * w
        elif name.startswith("pool"):
            h, w = (h + 1) // 2, (w + 1) // 2
    # backward to the input costs about as much as the forward pass (weights are frozen)
    flops *= 2

    def step() -> None:
        feats = net(x)
        sum(f.square().mean() for f in feats.values()).backward()

    rate = _rate(step, flops)
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    mm = _rate(lambda: a @ b, 2 * 4096**3)
    return {"network_gflops": rate, "matmul_gflops": mm, "ratio": rate / mm}


def _rate(fn, flops: float, repeats: int = 5) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return flops / statistics.median(times) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--config", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--save", default=None, help="(child) save the picture here")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-iterations", type=int, default=500)
    parser.add_argument("--no-baseline", action="store_true", help="skip the slow baseline")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out"))
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    Path(args.out).mkdir(parents=True, exist_ok=True)
    runs = {
        "default (multi-scale)": ({}, args.repeats),
        "--precision bf16": ({"precision": "bf16"}, args.repeats),
    }
    if not args.no_baseline:
        runs[f"baseline: single-scale L-BFGS x{args.baseline_iterations}"] = (
            {"min_size": 0, "iterations": args.baseline_iterations},
            1,
        )
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{platform.python_version()}, date {time.strftime('%Y-%m-%d')}"
    )
    print(json.dumps(throughput()))
    print("| run | runs | median s | peak RSS MB | final style | final content | total |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, (config, repeats) in runs.items():
        results = []
        for i in range(repeats):
            name = "baseline" if "iterations" in config else config.get("precision", "default")
            results.append(run_child(config, str(Path(args.out) / f"{name}_{i}.png")))
        losses = results[-1]["losses"]
        print(
            f"| {label} | {repeats} | {statistics.median(r['seconds'] for r in results):.1f} "
            f"| {max(r['peak_rss_mb'] for r in results):.0f} | {losses['style']:.4f} "
            f"| {losses['content']:.4f} | {losses['total']:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
