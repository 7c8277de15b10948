"""Remake docs/img/strength.png and docs/img/representations.png (Tübingen x The Starry Night).

    python -m docs.make_controls    # 9 runs of about half a minute on a 2-core CPU

The default settings at 256 px, one torch thread, and the real default network; each strip
has the content first, then one picture per --strength or --style-representation value.
"""

from __future__ import annotations

from pathlib import Path

from docs.strips import example_inputs, save_strip
from impasto.config import StyleConfig
from impasto.engine.pyramid import stylize
from impasto.ops.resize import output_size, resize_to

ROOT = Path(__file__).resolve().parents[1]
SIZE = 256
STRIPS = {
    "strength": [("strength", v) for v in (0.25, 0.5, 0.75, 1.0, 2.0)],
    "representations": [
        ("style_representation", v) for v in ("gram", "covariance", "correlation", "w2")
    ],
}


def main() -> None:
    content, style, network = example_inputs()
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
