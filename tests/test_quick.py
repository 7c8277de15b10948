"""impasto.paint: files, Pillow images or tensors in, a Pillow image out, in one call."""

from __future__ import annotations

import pytest
from PIL import Image

import impasto
from helpers import EXAMPLES
from impasto.errors import ConfigError

FAST = {"size": 32, "min_size": 0, "iterations": 3}


def test_paint_from_paths_gives_a_pillow_image(tiny_network):
    picture = impasto.paint(EXAMPLES / "tubingen.jpg", str(EXAMPLES / "starry_night.jpg"), **FAST)
    assert isinstance(picture, Image.Image)
    assert picture.mode == "RGB" and max(picture.size) == 32


def test_paint_from_pillow_images_keeps_the_contents_alpha(tiny_network):
    content = Image.open(EXAMPLES / "tubingen.jpg").convert("RGBA")
    content.putalpha(128)
    styles = [Image.open(EXAMPLES / "starry_night.jpg"), Image.open(EXAMPLES / "the_scream.jpg")]
    picture = impasto.paint(content, styles, impasto.StyleConfig(**FAST), strength=0.5)
    assert picture.mode == "RGBA" and max(picture.size) == 32
    assert picture.getchannel("A").getextrema() == (128, 128)


def test_paint_refuses_an_unknown_setting(tiny_network):
    with pytest.raises(ConfigError, match="colour"):
        impasto.paint(EXAMPLES / "tubingen.jpg", EXAMPLES / "starry_night.jpg", colour="red")
