"""The structure cost (``cost/structure.py``) against an independent computation: Gaussian
blurs by loops over pixels with mirrored borders, in numpy, on small tensors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from impasto.config import StyleConfig
from impasto.cost import structure
from impasto.cost.structure import Structure
from impasto.errors import ConfigError


def rand(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def blur_by_loops(image: np.ndarray, sigma: float) -> np.ndarray:
    """exp(-t^2 / 2 sigma^2) over |t| <= ceil(3 sigma), cut to the picture and renormalised,
    rows then columns, each pixel's neighbours mirrored at the border (d c b | a b c d)."""
    radius = math.ceil(3 * sigma)
    c, h, w = image.shape
    out = image.astype(np.float64)
    for axis, n in ((1, h), (2, w)):
        r = min(radius, n - 1)
        weights = np.array([math.exp(-0.5 * (t / sigma) ** 2) for t in range(-r, r + 1)])
        weights /= weights.sum()
        result = np.zeros_like(out)
        for i in range(n):
            for k, t in enumerate(range(-r, r + 1)):
                j = i + t
                j = -j if j < 0 else (2 * (n - 1) - j if j > n - 1 else j)
                if axis == 1:
                    result[:, i, :] += weights[k] * out[:, j, :]
                else:
                    result[:, :, i] += weights[k] * out[:, :, j]
        out = result
    return out


def test_gaussian_kernel_is_the_normalised_gaussian():
    k = structure.gaussian_kernel(1.3)
    t = np.arange(-4, 5)  # ceil(3.9) = 4
    expected = np.exp(-0.5 * (t / 1.3) ** 2)
    np.testing.assert_allclose(k.numpy(), expected / expected.sum(), rtol=1e-12)


@pytest.mark.parametrize(
    ("shape", "sigma"), [((3, 7, 9), 1.2), ((1, 5, 30), 2.5), ((2, 4, 4), 3.0)]
)
def test_blur_matches_loops_with_mirrored_borders(shape, sigma):
    x = rand(*shape, seed=sum(shape))
    np.testing.assert_allclose(
        structure.blur(x, sigma).numpy(), blur_by_loops(x.numpy(), sigma), rtol=1e-10, atol=1e-12
    )


def test_band_is_the_difference_of_two_blurs_and_zero_on_a_flat_picture():
    x = rand(3, 12, 16, seed=1)
    expected = blur_by_loops(x.numpy(), 1.0) - blur_by_loops(x.numpy(), 2.0)
    np.testing.assert_allclose(structure.band(x, 1.0).numpy(), expected, atol=1e-12)
    flat = torch.full((3, 12, 16), 0.4, dtype=torch.float64)
    assert float(structure.band(flat, 1.0).abs().max()) < 1e-12


def test_cost_is_the_mean_relative_band_distance():
    content, image = rand(3, 24, 32, seed=2), rand(3, 24, 32, seed=3)
    cost = Structure.of(content, (2.0, 8.0), weight=7.0)
    sigmas = (2.0 * 32 / 512, 8.0 * 32 / 512)  # the scales follow the long side
    assert cost.sigmas == pytest.approx(sigmas)
    terms = []
    for s in sigmas:
        want = blur_by_loops(content.numpy(), s) - blur_by_loops(content.numpy(), 2 * s)
        got = blur_by_loops(image.numpy(), s) - blur_by_loops(image.numpy(), 2 * s)
        terms.append(((got - want) ** 2).sum() / (want**2).sum())
    assert float(cost.cost(image)) == pytest.approx(7.0 * np.mean(terms), rel=1e-9)
    assert float(cost.cost(content)) == pytest.approx(0.0, abs=1e-12)


def test_cost_has_the_gradient_of_its_formula():
    content = rand(3, 10, 12, seed=4)
    image = rand(3, 10, 12, seed=5).requires_grad_(True)
    cost = Structure.of(content, (40.0, 90.0), weight=3.0)
    assert torch.autograd.gradcheck(cost.cost, (image,))


def test_one_weight_means_the_same_at_two_sizes():
    """A picture and its photo, both twice the size: about the same cost (the scales follow
    the size and each term is relative)."""
    g = torch.Generator().manual_seed(6)
    coarse = torch.nn.functional.interpolate(
        torch.rand(1, 3, 8, 12, generator=g, dtype=torch.float64), size=(48, 64), mode="bicubic"
    )[0]
    noise = torch.randn(3, 48, 64, generator=g, dtype=torch.float64)
    small = Structure.of(coarse, (8.0, 32.0), 1.0).cost(coarse + 0.05 * noise)
    big = torch.nn.functional.interpolate(coarse[None], size=(96, 128), mode="bicubic")[0]
    noise2 = torch.nn.functional.interpolate(noise[None], size=(96, 128), mode="nearest")[0]
    large = Structure.of(big, (8.0, 32.0), 1.0).cost(big + 0.05 * noise2)
    assert float(large) == pytest.approx(float(small), rel=0.35)


@pytest.mark.parametrize("scales", [(), (0.0,), (float("nan"),), (-1.0,), (1e30,)])
def test_bad_scales_are_refused(scales):
    with pytest.raises(ConfigError, match="structure_scales"):
        StyleConfig(structure_scales=scales)


def test_off_by_default_and_on_with_a_weight(tiny_network):
    from impasto.cost.objective import Objective
    from impasto.network.vgg import load_network

    layers = {"content_layers": ("relu2_2",), "style_layers": ("relu1_1", "relu2_1")}
    net = load_network(StyleConfig(**layers))
    content, style, image = (
        rand(3, 32, 32, seed=7),
        rand(3, 32, 32, seed=8),
        rand(3, 32, 32, seed=9),
    )
    off = Objective(net, StyleConfig(precision="fp32", **layers))
    assert off.prepare(content.float(), [style.float()], [[1.0]]).structure is None
    on = Objective(net, StyleConfig(precision="fp32", structure_weight=4.0, **layers))
    targets = on.prepare(content.float(), [style.float()], [[1.0]])
    terms = on(image.float(), targets)
    expected = Structure.of(content.float(), (2.0, 8.0), 4.0).cost(image.float())
    torch.testing.assert_close(terms["structure"], expected)
    total = terms["content"] + terms["style"] + terms["tv"] + terms["structure"]
    torch.testing.assert_close(terms["total"], total)
