"""The tiled evaluation of the cost is the whole picture's: value, gradient and final picture.

A tiny random VGG in float64 makes the comparison exact to rounding; a float32 run through
``stylize`` checks that the tiled path paints the same picture as the plain one.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from helpers import tiny_state_dict
from impasto.config import StyleConfig
from impasto.cost import tiling
from impasto.cost.objective import Objective
from impasto.engine import pyramid
from impasto.network import registry, vgg


def rand(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64)


def tiny_net(config: StyleConfig) -> vgg.VGGFeatures:
    spec = registry.NETWORKS[config.network]
    net = vgg.VGGFeatures(
        tiny_state_dict(spec.arch),
        spec.arch,
        spec.convention,
        config.content_layers + config.style_layers,
    )
    return net.double()


CASES = [
    ("relative", "gram", True),
    ("relative", "covariance", True),
    ("relative", "correlation", False),
    ("relative", "w2", True),
    ("seed", "gram", False),
]


@pytest.mark.parametrize(("form", "kind", "masked"), CASES)
def test_tiled_value_and_gradient_equal_the_whole(form, kind, masked):
    config = StyleConfig(
        loss_form=form,
        style_representation=kind,
        tv_weight=0.5,
        structure_weight=5.0 if form == "relative" else 0.0,  # the seed form has none
        precision="fp32",
    )  # fp32 on every CPU: auto picks bf16 where the CPU has it, and this test is exact
    net = tiny_net(config)
    objective = Objective(net, config)
    h, w = 290, 250
    content, image = rand(3, h, w, seed=1), rand(3, h, w, seed=2)
    styles = [rand(3, 200, 230, seed=3), rand(3, 90, 120, seed=4)]
    masks = rand(2, h, w, seed=5) if masked else None
    blends = [[1.0, 0.0], [0.3, 0.7]] if masked else [[0.5, 0.5]]
    tiles = pyramid.tiles_for(net, h, w, 100)
    assert len(tiles) == 12
    whole = objective.prepare(content, styles, blends, masks)
    tiled = objective.prepare(
        content, styles, blends, masks, tiles, [pyramid.tiles_for(net, 200, 230, 100), None]
    )
    for name in config.content_layers:
        torch.testing.assert_close(tiled.content[name], whole.content[name])
    for name in config.style_layers:
        torch.testing.assert_close(tiled.style[name].matrix, whole.style[name].matrix)

    terms_a, grad_a = objective.value_and_grad(image, whole)
    terms_b, grad_b = objective.value_and_grad(image, whole, tiles)
    for key in terms_a:
        torch.testing.assert_close(terms_b[key], terms_a[key], rtol=1e-10, atol=0)
    torch.testing.assert_close(grad_b, grad_a, rtol=1e-9, atol=1e-12 * float(grad_a.abs().max()))
    assert float(terms_a["style"]) > 0 and float(grad_a.abs().max()) > 0
    assert ("structure" in terms_a) == (form == "relative")


def test_tiles_own_every_position_once():
    h, w = 333, 180
    tiles = tiling.plan_tiles(h, w, core=100, halo=80, align=16)
    for stride in (1, 2, 4, 8, 16):
        hits = torch.zeros(-(-h // stride), -(-w // stride), dtype=torch.int32)
        for tile in tiles:
            rows, cols = tile.global_owned(stride)
            hits[rows, cols] += 1
            # The owned part of the crop's feature map has the same shape.
            local_rows, local_cols = tile.owned(stride)
            assert local_rows.stop - local_rows.start == rows.stop - rows.start
            assert local_cols.stop - local_cols.start == cols.stop - cols.start
        assert bool((hits == 1).all()), stride
    for tile in tiles:
        top, bottom, left, right = tile.crop
        assert top % 16 == 0 and left % 16 == 0
        assert tile.core[0] - top in (0, 80) and tile.core[2] - left in (0, 80)
        assert max(tile.core[1] - tile.core[0], tile.core[3] - tile.core[2]) <= 100


def test_halo_covers_the_receptive_field():
    """Changing a pixel just beyond the halo leaves the owned features untouched."""
    config = StyleConfig()
    net = tiny_net(config)
    assert net.align == 16 and net.radius >= 73  # relu5_1 of VGG-16 sees 73 pixels around
    image = rand(3, 64, 400, seed=6)
    feats = net(image.unsqueeze(0))["relu5_1"]
    changed = image.clone()
    changed[:, :, 224 + net.radius + 1 :] = 0.0  # everything past the radius of column 224
    after = net(changed.unsqueeze(0))["relu5_1"]
    torch.testing.assert_close(after[..., : 224 // 16], feats[..., : 224 // 16])


def test_tiled_run_paints_the_same_picture(tiny_network):
    """The fast-in-memory path: a tiled stylisation equals the plain one within rounding."""
    content, style = rand(3, 200, 260, seed=7).float(), rand(3, 150, 150, seed=8).float()
    base = StyleConfig(
        size=260,
        min_size=0,
        iterations=6,
        content_layers=("relu2_2",),
        style_layers=("relu1_1", "relu2_1", "relu3_1"),
        precision="fp32",  # the tiling's arithmetic on every CPU; bf16 tiles: the next test
    )
    plain = pyramid.stylize(content, style, base)
    tiled = pyramid.stylize(content, style, dataclasses.replace(base, tile=96))
    diff = (tiled - plain).abs()
    assert diff.mean() < 1e-3 and diff.max() < 0.05  # L-BFGS amplifies float rounding a bit
    assert (plain - content).abs().mean() > 0.01  # and the picture did change


def test_bf16_tiles_give_the_whole_pictures_value_and_gradient():
    """In bfloat16 each tile's Gram matrix is rounded on its own; the sum still matches."""
    config = StyleConfig(precision="bf16")
    net = tiny_net(config).float()
    objective = Objective(net, config)
    assert objective.bf16_layers == set(config.style_layers)  # Gram products in bfloat16
    h, w = 290, 250
    content, image = rand(3, h, w, seed=1).float(), rand(3, h, w, seed=2).float()
    style = rand(3, 200, 230, seed=3).float() ** 3  # statistics unlike the noise picture's
    targets = objective.prepare(content, [style], [[1.0]])
    terms_a, grad_a = objective.value_and_grad(image, targets)
    terms_b, grad_b = objective.value_and_grad(image, targets, pyramid.tiles_for(net, h, w, 100))
    assert float(terms_b["total"]) == pytest.approx(float(terms_a["total"]), rel=2**-8)
    cosine = torch.nn.functional.cosine_similarity(grad_a.flatten(), grad_b.flatten(), dim=0)
    assert cosine > 0.999, float(cosine)


@pytest.mark.parametrize(
    ("overrides", "low"),
    [
        ({}, True),
        ({"precision": "fp32"}, False),
        ({"style_representation": "covariance"}, False),  # centred sums stay float64
        ({"loss_form": "seed"}, False),  # the notes' exact formulas
    ],
)
def test_only_gram_style_layers_stay_bf16(overrides, low):
    config = StyleConfig(**{"precision": "bf16", **overrides})
    objective = Objective(tiny_net(config).float(), config)
    expected = set(config.style_layers) - set(config.content_layers) if low else set()
    assert objective.bf16_layers == expected
    image = rand(3, 64, 80, seed=9).float()
    feats = objective.features(image[None])
    for name, a in feats.items():
        assert a.dtype == (torch.bfloat16 if name in expected else torch.float32), name


@pytest.mark.parametrize("kind", ["covariance", "correlation", "w2"])
def test_every_representation_optimises_steadily(tiny_network, kind):
    content, style = rand(3, 40, 48, seed=9).float(), rand(3, 40, 40, seed=10).float()
    config = StyleConfig(
        size=48,
        min_size=0,
        iterations=12,
        style_representation=kind,
        content_layers=("relu2_2",),
        style_layers=("relu1_1", "relu2_1", "relu3_1"),
    )
    totals = []
    pyramid.stylize(content, style, config, progress=lambda p: totals.append(p.losses["total"]))
    assert all(map(math.isfinite, totals))
    assert min(totals) < 0.7 * totals[0]


@pytest.mark.parametrize("real", [False, pytest.param(True, marks=pytest.mark.weights)])
def test_bf16_evaluation_matches_fp32(tiny_network_or_real, real):
    """The bfloat16 fast path: the same cost and nearly the same gradient as float32."""
    net = tiny_network_or_real(real)
    content, image = rand(3, 96, 128, seed=11).float(), rand(3, 96, 128, seed=12).float()
    # A style whose statistics differ from the noise pictures' (as a painting's do): between
    # two noise images the Gram matrices agree to 1e-4, below bfloat16's own rounding.
    style = rand(3, 90, 120, seed=13).float() ** 3
    results = {}
    for precision in ("fp32", "bf16"):
        objective = Objective(net, StyleConfig(precision=precision))
        targets = objective.prepare(content, [style], [[1.0]])
        results[precision] = objective.value_and_grad(image, targets)
    (t32, g32), (t16, g16) = results["fp32"], results["bf16"]
    assert float(t16["total"]) == pytest.approx(float(t32["total"]), rel=0.03)
    cosine = torch.nn.functional.cosine_similarity(g16.flatten(), g32.flatten(), dim=0)
    assert cosine > 0.97, float(cosine)
    assert not torch.equal(g16, g32)  # bfloat16 really ran


@pytest.fixture
def tiny_network_or_real():
    def make(real: bool) -> vgg.VGGFeatures:
        config = StyleConfig()
        layers = config.content_layers + config.style_layers
        if real:
            return vgg.load_network(config)
        spec = registry.NETWORKS[config.network]
        return vgg.VGGFeatures(tiny_state_dict(spec.arch), spec.arch, spec.convention, layers)

    return make
