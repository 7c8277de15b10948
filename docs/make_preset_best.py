"""Remake docs/img/preset_best.png: the README picture with the defaults and with
``--preset best`` (3x the iterations at every scale), beside jcjohnson/neural-style's.

    python -m docs.make_preset_best    # two runs at 512 px (about 5 minutes, 2 threads)

What a longer run buys: more of the painting, less of the photo (benchmarks/RESULTS.md has
the independent measures over several pairs). Prints each run's seconds.
"""

from __future__ import annotations

from pathlib import Path

import torch

from docs.strips import REFERENCE, example_inputs, painted, save_strip
from impasto.config import StyleConfig
from impasto.io.images import load_image
from impasto.ops.resize import resize_to

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    content, style, network = example_inputs()
    torch.set_num_threads(2)
    panels = [
        painted(label, content, style, network, StyleConfig(preset=preset))
        for label, preset in (
            ("default", "balanced"),
            ("--preset best (3x the iterations)", "best"),
        )
    ]
    height, width = panels[0][1].shape[-2:]
    panels.append(("jcjohnson/neural-style", resize_to(load_image(REFERENCE).rgb, height, width)))
    save_strip(panels, ROOT / "docs" / "img" / "preset_best.png")


if __name__ == "__main__":
    main()
