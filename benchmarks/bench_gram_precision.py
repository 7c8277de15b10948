"""One evaluation with the Gram products in float32 (as before 2026-12-03) against bfloat16,
interleaved in one process on the same machine, with the gradients' difference.

    python -m benchmarks.bench_gram_precision [THREADS] [HEIGHT WIDTH]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

from impasto.config import StyleConfig
from impasto.cost.objective import Objective
from impasto.io.images import load_image
from impasto.network.vgg import load_network
from impasto.ops.resize import resize_to

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def main() -> None:
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    h, w = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (384, 512)
    config = StyleConfig(precision="bf16")
    net = load_network(config)
    content = resize_to(load_image(EXAMPLES / "tubingen.jpg").rgb, h, w)
    style = resize_to(load_image(EXAMPLES / "starry_night.jpg").rgb, h, w)
    new, old = Objective(net, config), Objective(net, config)
    old.bf16_layers = frozenset()  # every activation widened to float32 before its Gram matrix
    t_new = new.prepare(content, [style], [[1.0]])
    t_old = old.prepare(content, [style], [[1.0]])
    x = content + 0.05 * torch.randn_like(content)
    _, g_old = old.value_and_grad(x, t_old)
    _, g_new = new.value_and_grad(x, t_new)
    print(f"gradient difference {float((g_old - g_new).norm() / g_old.norm()):.2e} (relative)")
    before, after, forward = [], [], []
    for _ in range(8):
        start = time.perf_counter()
        old.value_and_grad(x, t_old)
        before.append(time.perf_counter() - start)
        start = time.perf_counter()
        new.value_and_grad(x, t_new)
        after.append(time.perf_counter() - start)
    with torch.no_grad():
        for _ in range(5):
            start = time.perf_counter()
            new.features(x[None])
            forward.append(time.perf_counter() - start)
    b, a, f = (statistics.median(v) for v in (before, after, forward))
    print(
        f"{h}x{w}, {torch.get_num_threads()} thread(s): float32 Grams {b:.3f} s, bfloat16 "
        f"{a:.3f} s, ratio {a / b:.2f}; eval/forward {b / f:.2f} -> {a / f:.2f}"
    )


if __name__ == "__main__":
    main()
