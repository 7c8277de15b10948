"""Remake docs/img/blend_scale.png: several styles blended, and the style scale.

    python -m docs.make_blend_scale    # 5 runs of about half a minute on a 2-core CPU

Tübingen with The Starry Night and The Scream blended 1:0, 1:1 and 0:1, then The Starry
Night at --style-scale 0.5 and 2 (smaller and bigger strokes); 256 px, real default network.
"""

from __future__ import annotations

from pathlib import Path

from docs.strips import example_inputs, save_strip
from impasto.config import StyleConfig
from impasto.engine.pyramid import stylize
from impasto.io.images import load_image
from impasto.ops.resize import output_size, resize_to

ROOT = Path(__file__).resolve().parents[1]
SIZE = 256
RUNS = [
    ("blend 1:0", {"style_blend": (1.0, 0.0)}),
    ("blend 1:1", {"style_blend": (1.0, 1.0)}),
    ("blend 0:1", {"style_blend": (0.0, 1.0)}),
    ("style scale 0.5", {"style_scale": 0.5, "single": True}),
    ("style scale 2", {"style_scale": 2.0, "single": True}),
]


def main() -> None:
    content, starry, network = example_inputs()
    scream = load_image(ROOT / "examples" / "the_scream.jpg").rgb
    panels = [("content", resize_to(content, *output_size(*content.shape[-2:], SIZE)))]
    for label, settings in RUNS:
        settings = dict(settings)
        styles = [starry] if settings.pop("single", False) else [starry, scream]
        config = StyleConfig(size=SIZE, **settings)
        panels.append((label, stylize(content, styles, config, network=network)))
    save_strip(panels, ROOT / "docs" / "img" / "blend_scale.png")


if __name__ == "__main__":
    main()
