"""Make the README's regions example: the masks in examples/masks/ and docs/img/regions.png.

    python -m docs.make_regions      # about a minute on a 2-core CPU

The sky of Tübingen is found by its colour (blue, in the upper part, connected to the top
edge), cleaned up a little, and drawn as two masks: a greyscale one (white: the sky) and a
colour map (red: the sky, style 1; green: the town, style 2). The greyscale mask paints only
the sky, in the style of The Starry Night; the colour map paints the sky as The Scream and the
town as The Starry Night. Both are painted with the commands the README shows, at 256 px,
then set side by side:
content | greyscale mask | result | colour map | result.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from impasto.apps.main import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
MASKS = EXAMPLES / "masks"
OUT = ROOT / "docs" / "img" / "regions.png"
SIZE = 256
GAP = 4  # white pixels between the panels


def find_sky(rgb: np.ndarray) -> np.ndarray:
    """Boolean (H, W): blue pixels in the upper 62% that connect to the top edge."""
    r, b = rgb[..., 0], rgb[..., 2]
    height = rgb.shape[0]
    sky = (b - r > 0.2) & (b > 0.5)
    sky[int(0.62 * height) :] = False
    # Fill the gaps between twigs and drop specks: a 9 px box average, thresholded.
    t = torch.from_numpy(sky.astype(np.float32))[None, None]
    t = (F.avg_pool2d(F.pad(t, (4, 4, 4, 4), mode="replicate"), 9, 1) > 0.5).float()
    # Keep what connects to the top edge (not the blue of the river's reflections).
    reached = torch.zeros_like(t)
    reached[..., 0, :] = t[..., 0, :]
    while True:
        grown = torch.maximum(reached, F.max_pool2d(reached, 3, 1, 1)) * t
        if torch.equal(grown, reached):
            return reached[0, 0].bool().numpy()
        reached = grown


def write_masks() -> tuple[Path, Path]:
    rgb = np.asarray(Image.open(EXAMPLES / "tubingen.jpg").convert("RGB"), np.float32) / 255
    sky = find_sky(rgb)
    MASKS.mkdir(exist_ok=True)
    grey = MASKS / "tubingen_sky.png"
    Image.fromarray(np.where(sky, 255, 0).astype(np.uint8)).save(grey, optimize=True)
    colours = np.where(sky[..., None], [255, 0, 0], [0, 255, 0]).astype(np.uint8)
    colour_map = MASKS / "tubingen_sky_town.png"
    Image.fromarray(colours).save(colour_map, optimize=True)
    return grey, colour_map


def paint(argv: list[str]) -> Image.Image:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.png"
        code = main([*argv, "-o", str(out), "--size", str(SIZE), "-q"])
        if code != 0:
            sys.exit(code)
        return Image.open(out).convert("RGB")


def panel(path: Path, size: tuple[int, int]) -> Image.Image:
    return Image.open(path).convert("RGB").resize(size, Image.Resampling.LANCZOS)


def main_() -> None:
    grey, colour_map = write_masks()
    content, starry = EXAMPLES / "tubingen.jpg", EXAMPLES / "starry_night.jpg"
    scream = EXAMPLES / "the_scream.jpg"
    sky_only = paint([str(content), str(starry), "--mask", str(grey)])
    two = paint([str(content), str(scream), str(starry), "--mask", str(colour_map)])
    size = sky_only.size
    panels = [panel(content, size), panel(grey, size), sky_only, panel(colour_map, size), two]
    strip = Image.new("RGB", (len(panels) * (size[0] + GAP) - GAP, size[1]), "white")
    for i, im in enumerate(panels):
        strip.paste(im, (i * (size[0] + GAP), 0))
    strip.save(OUT, optimize=True)
    for path in (OUT, grey, colour_map):
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main_()
