"""Remake docs/img/preserve_color.png: Tübingen x The Starry Night with each --preserve-color mode.

    python -m docs.make_preserve_color    # about 4 runs of a minute on a 2-core CPU

The default settings at 256 px, one torch thread, and the real default network.
"""

from __future__ import annotations

from pathlib import Path

from docs.strips import example_inputs, save_strip
from impasto.config import StyleConfig
from impasto.engine.pyramid import stylize
from impasto.ops import color
from impasto.ops.resize import output_size, resize_to

ROOT = Path(__file__).resolve().parents[1]
SIZE = 256
MODES = ("none", "luminance", "histogram", "yuv")


def main() -> None:
    content, style, network = example_inputs()
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
    save_strip(panels, ROOT / "docs" / "img" / "preserve_color.png")


if __name__ == "__main__":
    main()
