"""Remake docs/img/sky_ripple.png: the sky of Tübingen × The Starry Night at 512 px, enlarged 2x,
as steps on raw pixels (the default until 2026-12-02), with average pooling (the default until
2026-12-03), with max pooling (the default until 2026-12-05), with the current defaults
(content weight 200, the palette start), and as jcjohnson/neural-style painted it.

    python -m benchmarks.quality.run --pair tubingen-starry_night \
        --configs previous,avg_pool,max_before_1205,default
    python -m docs.make_sky_ripple benchmarks/quality/out/pictures
"""

from __future__ import annotations

import sys
from pathlib import Path

from docs.strips import REFERENCE, save_strip
from impasto.io.images import load_image
from impasto.ops.resize import resize_to

ROOT = Path(__file__).resolve().parents[1]
BOX = (0, 0, 256, 160)  # left, top, right, bottom: the sky above the trees and the town


def main() -> None:
    pictures = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "benchmarks/quality/out/pictures"
    panels = []
    for label, path in (
        ("raw-pixel steps", pictures / "tubingen-starry_night__previous.png"),
        ("average pooling", pictures / "tubingen-starry_night__avg_pool.png"),
        ("max pooling", pictures / "tubingen-starry_night__max_before_1205.png"),
        ("default", pictures / "tubingen-starry_night__default.png"),
        ("jcjohnson/neural-style", REFERENCE),
    ):
        rgb = resize_to(load_image(path).rgb, 384, 512)
        left, top, right, bottom = BOX
        crop = rgb[:, top:bottom, left:right]
        panels.append((label, resize_to(crop, 2 * (bottom - top), 2 * (right - left))))
    save_strip(panels, ROOT / "docs" / "img" / "sky_ripple.png")
    print("wrote docs/img/sky_ripple.png")


if __name__ == "__main__":
    main()
