"""Remake docs/img/strength.png and docs/img/representations.png (Tübingen x The Starry Night).

    python docs/make_controls.py    # 9 runs of about half a minute on a 2-core CPU

The default settings at 256 px, one torch thread, and the real default network; each strip
has the content first, then one picture per --strength or --style-representation value.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from impasto import features
from impasto.config import StyleConfig
from impasto.image import load_image, resize_to
from impasto.stylize import output_size, stylize

ROOT = Path(__file__).resolve().parents[1]
SIZE = 256
LABEL_HEIGHT = 18
STRIPS = {
    "strength": [("strength", v) for v in (0.25, 0.5, 0.75, 1.0, 2.0)],
    "representations": [
        ("style_representation", v) for v in ("gram", "covariance", "correlation", "w2")
    ],
}


def to_pil(rgb: torch.Tensor) -> Image.Image:
    pixels = (rgb.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(pixels)


def save_strip(panels: list[tuple[str, torch.Tensor]], out: Path) -> None:
    height = panels[0][1].shape[-2]
    width = sum(p.shape[-1] for _, p in panels) + 4 * (len(panels) - 1)
    strip = Image.new("RGB", (width, height + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(strip)
    x = 0
    for label, picture in panels:
        strip.paste(to_pil(picture), (x, LABEL_HEIGHT))
        draw.text((x + 4, 3), label, fill="black")
        x += picture.shape[-1] + 4
    strip.save(out, optimize=True)
    print(f"wrote {out} ({strip.width}x{strip.height})", flush=True)


def main() -> None:
    torch.set_num_threads(1)
    content = load_image(ROOT / "examples" / "tubingen.jpg").rgb
    style = load_image(ROOT / "examples" / "starry_night.jpg").rgb
    base = StyleConfig(size=SIZE)
    network = features.load_features(
        base.network, base.content_layers + base.style_layers, base.pooling
    )
    hw = output_size(*content.shape[-2:], SIZE)
    for name, settings in STRIPS.items():
        panels = [("content", resize_to(content, *hw))]
        for field, value in settings:
            config = StyleConfig(size=SIZE, **{field: value})
            panels.append(
                (
                    f"{field.split('_')[-1]} {value}",
                    stylize(content, style, config, network=network),
                )
            )
        save_strip(panels, ROOT / "docs" / "img" / f"{name}.png")


if __name__ == "__main__":
    main()
