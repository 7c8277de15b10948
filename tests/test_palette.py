"""The palette start (``--init palette``, ``ops.color.match_palette``): the photo in the
painting's colours, brightness class by brightness class, on small hand-made pictures.
"""

from __future__ import annotations

import pytest
import torch

from impasto.config import StyleConfig
from impasto.engine import pyramid
from impasto.ops import color


def rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def test_a_palette_that_is_the_photo_changes_nothing():
    photo = rand(3, 20, 30, seed=1)
    torch.testing.assert_close(color.match_palette(photo, photo), photo, rtol=0, atol=1e-12)


def test_the_brightest_part_takes_the_paintings_brightest_colours():
    """A photo with a bright blue sky over a dark street; a painting whose bright half is
    orange and dark half is dark blue: the sky comes out orange, the street dark blue."""
    g = torch.Generator().manual_seed(2)
    photo = torch.empty(3, 20, 20, dtype=torch.float64)
    photo[:, :10] = torch.tensor([0.35, 0.6, 0.95]).view(3, 1, 1)  # sky: the brighter half
    photo[:, 10:] = torch.tensor([0.2, 0.2, 0.22]).view(3, 1, 1)
    photo += 0.02 * torch.rand(3, 20, 20, generator=g, dtype=torch.float64)
    orange, navy = torch.tensor([0.95, 0.55, 0.15]), torch.tensor([0.05, 0.1, 0.3])
    painting = torch.cat(
        [orange.view(3, 1, 1).expand(3, 8, 16), navy.view(3, 1, 1).expand(3, 8, 16)], 1
    )
    painting = painting.double() + 0.03 * torch.rand(3, 16, 16, generator=g, dtype=torch.float64)
    out = color.match_palette(photo, painting, bins=8)
    sky, street = out[:, :10].mean((1, 2)), out[:, 10:].mean((1, 2))
    assert (sky - orange.double()).abs().max() < 0.08  # the two are 1.0 apart
    assert (street - navy.double()).abs().max() < 0.08
    linear = color.match_color(photo, painting)  # one map for all: the sky is not orange
    assert (linear[:, :10].mean((1, 2)) - orange.double()).abs().max() > 0.2


def test_colours_that_differ_at_one_brightness_still_differ():
    """Green eyes in brown fur of the same luminance keep apart, in the same direction."""
    brown = torch.tensor([0.55, 0.4, 0.25], dtype=torch.float64)
    green = torch.tensor([0.3, 0.5, 0.2], dtype=torch.float64)
    green = green * (luma(brown.view(3, 1, 1)) / luma(green.view(3, 1, 1))).view(1)
    photo = brown.view(3, 1, 1).repeat(1, 16, 16)
    photo[:, 6:10, 6:10] = green.view(3, 1, 1)
    photo += 0.2 * torch.linspace(0, 1, 16, dtype=torch.float64).view(1, 1, 16)  # a ramp
    painting = rand(3, 24, 24, seed=3)
    out = color.match_palette(photo, painting, bins=4)
    inside, outside = out[:, 6:10, 7], out[:, [2, 13], 7]
    before = photo[:, 6:10, 7].mean(1) - photo[:, [2, 13], 7].mean(1)
    after = inside.mean(1) - outside.mean(1)
    assert float(after.norm()) > 0.2 * float(before.norm())
    assert float(torch.dot(after, before)) > 0


def test_equal_pixels_stay_equal():
    """A flat region (many equal luminances) is one class position: no speckle."""
    photo = rand(3, 20, 20, seed=4)
    photo[:, :8] = 0.7  # a white wall, 160 equal pixels
    out = color.match_palette(photo, rand(3, 30, 30, seed=5), bins=32)
    wall = out[:, :8].reshape(3, -1)
    assert float((wall - wall[:, :1]).abs().max()) == 0.0


@pytest.mark.parametrize(("photo", "painting"), [((3, 1, 1), (3, 5, 5)), ((3, 4, 4), (3, 1, 1))])
def test_tiny_pictures_give_finite_colours(photo, painting):
    out = color.match_palette(rand(*photo, seed=6), rand(*painting, seed=7))
    assert out.shape == photo and torch.isfinite(out).all()


def test_the_default_start_is_the_palette_start_and_strength_moves_it():
    photo, painting = rand(3, 12, 16, seed=8), rand(3, 10, 10, seed=9)
    assert StyleConfig().init == "palette"
    full = pyramid.initial_image(StyleConfig(), photo, None, [painting])
    torch.testing.assert_close(full, color.match_palette(photo, painting).clamp(0, 1))
    half = pyramid.initial_image(StyleConfig(strength=0.5), photo, None, [painting])
    torch.testing.assert_close(half, 0.5 * photo + 0.5 * full)
    linear = pyramid.initial_image(StyleConfig(init="recolor"), photo, None, [painting])
    torch.testing.assert_close(linear, color.match_color(photo, painting).clamp(0, 1))
