"""One evaluation at 512 px against the forward pass, with this CPU's kernels and AVX2's (issue 12).

Convolutions and matrix products run in oneDNN, which keeps its own best kernels; ReLU and
its backward, max pooling, sums and adds are ATen's, chosen once when torch loads
(``ATEN_CPU_CAPABILITY``). Each measurement is a fresh process, alternating the two settings
so that a drifting host moves them alike. ``ONEDNN_MAX_CPU_ISA=AVX2`` with ATen's AVX2 build
runs the kernels an AVX2-only CPU would (not its caches or clocks): where an AVX-512 machine is
all there is, that is the nearest look at the evaluation / forward ratio there.

    python -m benchmarks.bench_kernels [--rounds 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.bench_machine import cpu

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time, torch
torch.set_num_threads({threads})
from impasto.config import StyleConfig
from impasto.cost.objective import Objective
from impasto.io.images import load_image
from impasto.network.vgg import load_network
from impasto.ops.resize import resize_to
config = StyleConfig(precision="{precision}")
net = load_network(config)
content = resize_to(load_image("{root}/examples/tubingen.jpg").rgb, 384, 512)
style = resize_to(load_image("{root}/examples/starry_night.jpg").rgb, 384, 512)
objective = Objective(net, config)
targets = objective.prepare(content, [style], [[1.0]])
def best(f, n=4):
    f()
    times = []
    for _ in range(n):
        start = time.perf_counter(); f(); times.append(time.perf_counter() - start)
    return min(times)
with torch.no_grad():
    forward = best(lambda: objective.features(content[None]))
evaluation = best(lambda: objective.value_and_grad(content, targets))
print(json.dumps({{"capability": torch.backends.cpu.get_cpu_capability(),
                  "forward": forward, "evaluation": evaluation}}))
"""


# name -> environment; the emulation limits oneDNN and ATen to AVX2 as on an AVX2-only CPU
SETTINGS = {
    "native": {},
    "ATen AVX2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "AVX2 emulated": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}


def measure(setting: str, precision: str, threads: int) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA")
    }
    env.update(SETTINGS[setting])
    code = CHILD.format(threads=threads, precision=precision, root=ROOT)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"# {cpu()} · {args.threads} threads")
    print()
    print(
        "| precision | round | setting | ATen kernels | forward s | evaluation s "
        "| evaluation / forward |"
    )
    print("| --- " * 7 + "|")
    for precision in ("bf16", "fp32"):
        for k in range(args.rounds):
            for setting in SETTINGS:
                if precision == "bf16" and setting == "AVX2 emulated":
                    continue  # bf16 is emulated there; auto picks fp32 on such CPUs
                r = measure(setting, precision, args.threads)
                print(
                    f"| {precision} | {k + 1} | {setting} | {r['capability']} | "
                    f"{r['forward']:.3f} | {r['evaluation']:.3f} | "
                    f"{r['evaluation'] / r['forward']:.2f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
