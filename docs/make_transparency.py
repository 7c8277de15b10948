"""Remake docs/img/transparency.png: an RGBA content keeps its alpha through the CLI.

    python -m docs.make_transparency    # one run of about 20 s on a 2-core CPU

Chelsea the cat cut out with a soft round alpha, painted as The Scream at 256 px by the
`impasto` command; both shown over a checkerboard so the transparency is visible.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from impasto.apps.main import main as impasto

ROOT = Path(__file__).resolve().parents[1]


def checkerboard(size: tuple[int, int], cell: int = 12) -> Image.Image:
    w, h = size
    y, x = np.mgrid[:h, :w]
    board = np.where((x // cell + y // cell) % 2, 200, 255).astype(np.uint8)
    return Image.fromarray(board).convert("RGBA")


def main() -> None:
    cat = Image.open(ROOT / "examples" / "chelsea.png").convert("RGB")
    w, h = cat.size
    y, x = np.mgrid[:h, :w]
    r = np.hypot((x - w / 2) / (0.45 * w), (y - h / 2) / (0.48 * h))
    alpha = (np.clip((1.0 - r) / 0.08, 0, 1) * 255).astype(np.uint8)  # a soft-edged oval
    rgba = cat.copy()
    rgba.putalpha(Image.fromarray(alpha))
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "chelsea_rgba.png", Path(tmp) / "out.png"
        rgba.save(src)
        style = ROOT / "examples" / "the_scream.jpg"
        code = impasto([str(src), str(style), "-o", str(out), "--size", "256", "-q"])
        assert code == 0
        painted = Image.open(out).convert("RGBA")
    small = rgba.resize(painted.size, Image.LANCZOS)
    strip = Image.new("RGBA", (painted.width * 2 + 4, painted.height), "white")
    for i, picture in enumerate((small, painted)):
        strip.paste(
            Image.alpha_composite(checkerboard(picture.size), picture), (i * (picture.width + 4), 0)
        )
    target = ROOT / "docs" / "img" / "transparency.png"
    strip.convert("RGB").save(target, optimize=True)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
