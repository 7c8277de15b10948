"""Remake docs/img/preserve_color.png: Tübingen x The Starry Night with each --preserve-color mode.

    python docs/make_preserve_color.py    # about 4 runs of a minute on a 2-core CPU

The default settings at 256 px, one torch thread, and the real default network.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image, ImageDraw

from impasto import color, features
from impasto.config import StyleConfig
from impasto.image import load_image, resize_to
from impasto.stylize import output_size, stylize

ROOT = Path(__file__).resolve().parents[1]
SIZE = 256
MODES = ("none", "luminance", "histogram", "yuv")
LABEL_HEIGHT = 18


def to_pil(rgb: torch.Tensor) -> Image.Image:
    pixels = (rgb.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(pixels)


def main() -> None:
    torch.set_num_threads(1)
    content = load_image(ROOT / "examples" / "tubingen.jpg").rgb
    style = load_image(ROOT / "examples" / "starry_night.jpg").rgb
    base = StyleConfig(size=SIZE)
    network = features.load_features(
        base.network, base.content_layers + base.style_layers, base.pooling
    )
    hw = output_size(*content.shape[-2:], SIZE)
    panels = [("content", resize_to(content, *hw))]
    style_width = round(hw[0] * style.shape[-1] / style.shape[-2])  # the same height
    panels.append(("style", resize_to(style, hw[0], style_width)))
    for mode in MODES:
        config = StyleConfig(size=SIZE, preserve_color=mode)
        result = stylize(content, style, config, network=network)
        panels.append((mode, result))
        u, v = color.rgb_to_yuv(result)[1:].reshape(2, -1).mean(1).tolist()
        print(f"{mode}: mean U {u:+.3f} V {v:+.3f}", flush=True)
    width = sum(p.shape[-1] for _, p in panels) + 4 * (len(panels) - 1)
    strip = Image.new("RGB", (width, hw[0] + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(strip)
    x = 0
    for label, picture in panels:
        strip.paste(to_pil(picture), (x, LABEL_HEIGHT))
        draw.text((x + 4, 3), label, fill="black")
        x += picture.shape[-1] + 4
    out = ROOT / "docs" / "img" / "preserve_color.png"
    strip.save(out, optimize=True)
    print(f"wrote {out} ({strip.width}x{strip.height})")


if __name__ == "__main__":
    main()
