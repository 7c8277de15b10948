"""Side-by-side labelled strips of pictures, for the README's example images."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
# jcjohnson/neural-style's Tübingen × The Starry Night (benchmarks/quality/images/CREDITS.md)
REFERENCE = (
    ROOT / "benchmarks" / "quality" / "images" / "reference" / "tubingen_starry_jcjohnson.png"
)
LABEL_HEIGHT = 18
GAP = 4


def example_inputs():
    """Tübingen, The Starry Night and the default network, on one torch thread."""
    from impasto.config import StyleConfig
    from impasto.io.images import load_image
    from impasto.network.vgg import load_network

    torch.set_num_threads(1)
    content = load_image(ROOT / "examples" / "tubingen.jpg").rgb
    style = load_image(ROOT / "examples" / "starry_night.jpg").rgb
    base = StyleConfig()
    return content, style, load_network(base)


def painted(label: str, content, style, network, config) -> tuple[str, torch.Tensor]:
    """A labelled panel: ``stylize`` with ``config``; prints its seconds (this CPU's)."""
    from impasto.engine.pyramid import stylize

    start = time.perf_counter()
    result = stylize(content, style, config, network=network)
    print(f"{label}: {time.perf_counter() - start:.1f} s", flush=True)
    return label, result


def to_pil(rgb: torch.Tensor) -> Image.Image:
    """(3,H,W) in 0..1 -> an 8-bit PIL image."""
    pixels = (rgb.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(pixels)


def _row(panels: list[tuple[str, torch.Tensor]]) -> Image.Image:
    """The pictures left to right, each with its label above, all the first's height."""
    height = panels[0][1].shape[-2]
    width = sum(p.shape[-1] for _, p in panels) + GAP * (len(panels) - 1)
    strip = Image.new("RGB", (width, height + LABEL_HEIGHT), "white")
    draw = ImageDraw.Draw(strip)
    x = 0
    for label, picture in panels:
        strip.paste(to_pil(picture), (x, LABEL_HEIGHT))
        draw.text((x + 4, 3), label, fill="black")
        x += picture.shape[-1] + GAP
    return strip


def save_strip(panels: list[tuple[str, torch.Tensor]], out: Path) -> None:
    """Write one labelled row of pictures."""
    save_rows([panels], out)


def save_rows(rows: list[list[tuple[str, torch.Tensor]]], out: Path) -> None:
    """Write labelled rows of pictures, one under the other."""
    images = [_row(panels) for panels in rows]
    grid = Image.new(
        "RGB",
        (max(i.width for i in images), sum(i.height for i in images) + GAP * (len(images) - 1)),
        "white",
    )
    y = 0
    for image in images:
        grid.paste(image, (0, y))
        y += image.height + GAP
    grid.save(out, optimize=True)
    print(f"wrote {out} ({grid.width}x{grid.height})", flush=True)
