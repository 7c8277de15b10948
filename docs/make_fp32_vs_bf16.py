"""Remake docs/img/fp32_vs_bf16.png: the README picture painted in float32 and in bfloat16.

    python -m docs.make_fp32_vs_bf16    # two default runs at 512 px (a few minutes, 2 threads)

The default settings but ``precision``, the real default network. bfloat16 rounds every
activation, so the strokes fall differently; the picture should look the same. Prints the
mean absolute pixel difference between the two and each run's seconds.
"""

from __future__ import annotations

from pathlib import Path

import torch

from docs.strips import example_inputs, painted, save_strip
from impasto.config import StyleConfig

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    content, style, network = example_inputs()
    torch.set_num_threads(2)
    panels = [
        painted(precision, content, style, network, StyleConfig(precision=precision))
        for precision in ("fp32", "bf16")
    ]
    difference = (panels[0][1] - panels[1][1]).abs().mean().item()
    print(f"mean absolute pixel difference fp32 - bf16: {difference:.3f}")
    save_strip(panels, ROOT / "docs" / "img" / "fp32_vs_bf16.png")
    print("wrote docs/img/fp32_vs_bf16.png")


if __name__ == "__main__":
    main()
