"""Memory and time planning: what runs whole, what is tiled, and the error for what cannot fit."""

from __future__ import annotations

import pytest
import torch

from impasto.config import StyleConfig
from impasto.engine import budget, optimise, pyramid, schedule
from impasto.engine.budget import GB
from impasto.errors import ConfigError

VGG16 = budget.Geometry.of("vgg16-hed", ("relu5_1",))  # the default network to relu5_1


def test_small_pictures_run_whole_with_full_history():
    plan = budget.plan_scale(384, 512, 8 * GB, VGG16)
    assert plan.tile == 0 and plan.history == budget.HISTORY
    assert plan.memory < 1.5 * GB


def test_2048_fits_8_gb_and_4096_fits_20_gb_by_shortening_history_then_tiling():
    p2048 = budget.plan_scale(1536, 2048, 8 * GB, VGG16)
    assert p2048.memory <= 8 * GB and p2048.tile > 0
    p4096 = budget.plan_scale(3072, 4096, 20 * GB, VGG16)
    assert p4096.memory <= 20 * GB and p4096.tile > 0
    assert budget.MIN_HISTORY <= p4096.history < budget.HISTORY
    # Whole and with full history, both would need far more.
    assert budget.memory(1536, 2048, 0, budget.HISTORY, VGG16) > 10 * GB
    assert budget.memory(3072, 4096, 0, budget.HISTORY, VGG16) > 30 * GB


def test_more_memory_means_fewer_or_no_tiles():
    tight = budget.plan_scale(1536, 2048, 6 * GB, VGG16)
    roomy = budget.plan_scale(1536, 2048, 16 * GB, VGG16)
    assert tight.tile > 0 and roomy.tile == 0
    assert roomy.seconds_per_evaluation < tight.seconds_per_evaluation  # tiles cost time


def test_a_forced_tile_is_used():
    plan = budget.plan_scale(600, 800, 8 * GB, VGG16, tile=256)
    assert plan.tile == 256
    assert plan.memory < budget.plan_scale(600, 800, 8 * GB, VGG16).memory


def test_memory_grows_with_pixels_and_history():
    assert budget.memory(1000, 1000, 0, 10, VGG16) < budget.memory(1000, 1000, 0, 50, VGG16)
    assert budget.memory(1000, 1000, 0, 10, VGG16) < budget.memory(2000, 1000, 0, 10, VGG16)
    assert budget.memory(2000, 2000, 512, 10, VGG16) < budget.memory(2000, 2000, 0, 10, VGG16)


def test_too_big_names_the_largest_size_that_fits():
    config = StyleConfig(size=20000, max_memory=4)
    with pytest.raises(ConfigError) as info:
        budget.estimate_run((768, 1024), [(600, 800)], config)
    message = str(info.value)
    assert "needs about" in message and "4.0 GB budget" in message
    largest = int(message.split("largest size that fits is about ")[1].split()[0])
    assert 1000 < largest < 20000
    # That size does fit, and a clearly bigger one does not.
    budget.estimate_run((768, 1024), [(600, 800)], StyleConfig(size=largest, max_memory=4))
    with pytest.raises(ConfigError):
        budget.estimate_run(
            (768, 1024), [(600, 800)], StyleConfig(size=int(largest * 1.2), max_memory=4)
        )


def test_estimate_adds_up_the_scales():
    config = StyleConfig(size=512)
    est = budget.estimate_run((768, 1024), [(600, 800)], config)
    assert [(s.height, s.width) for s in est.scales][-1] == (384, 512)
    per_scale = [
        s.seconds_per_evaluation * sc.iterations
        for s, sc in zip(est.scales, schedule.plan_for(config))
    ]
    shapes = [hw for sc in est.plan for hw in budget.style_sizes([(600, 800)], sc.size, 1)]
    style_pass = sum(est.speed.evaluation(h * w) for h, w in shapes) * budget.STYLE_PASS_COST
    assert est.seconds == pytest.approx(sum(per_scale) + style_pass)
    assert list(est.plan) == schedule.plan_for(config)
    assert est.memory == max(s.memory for s in est.scales)
    assert est.describe().startswith("estimate: about ")


def test_default_budget_is_capped_at_8_gb(monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 64 * GB)
    assert budget.budget_bytes(0) == 8 * GB
    monkeypatch.setattr(budget, "available_memory", lambda: 4 * GB)
    assert budget.budget_bytes(0) == pytest.approx(3.6 * GB)
    assert budget.budget_bytes(12) == 12 * GB


def test_negative_budget_is_refused():
    with pytest.raises(ConfigError, match="max_memory"):
        StyleConfig(max_memory=-1)


def test_stylize_uses_the_planned_history_and_tiles(tiny_network, monkeypatch):
    """A tight budget reaches the optimiser: a short L-BFGS history and tiled evaluations."""

    from impasto.cost.objective import Objective

    histories, tilings = [], []
    real_lbfgs, real_vg = optimise.lbfgs, Objective.value_and_grad

    def lbfgs(x, iterations, history=50):
        histories.append(history)
        return real_lbfgs(x, iterations, history)

    def value_and_grad(self, image, targets, tiles=None):
        tilings.append(None if tiles is None else len(tiles))
        return real_vg(self, image, targets, tiles)

    monkeypatch.setattr(optimise, "lbfgs", lbfgs)
    monkeypatch.setattr(Objective, "value_and_grad", value_and_grad)
    monkeypatch.setattr(budget, "HISTORY_SHARE", 1e-6)  # no room for history
    monkeypatch.setattr(budget, "EVAL_BYTES_PER_PIXEL", 4e4)  # as if the network were huge
    g = torch.Generator().manual_seed(0)
    content, style = torch.rand(3, 300, 400, generator=g), torch.rand(3, 100, 100, generator=g)
    config = StyleConfig(size=400, min_size=0, iterations=2, max_memory=5)
    pyramid.stylize(content, style, config)
    assert histories == [budget.MIN_HISTORY]
    assert tilings and all(n is not None and n > 1 for n in tilings)


def test_the_halo_is_the_networks_receptive_radius():
    """The budget's tiles are the engine's: their margin comes from the network's geometry."""
    assert VGG16.halo == 88 and VGG16.align == 16  # 3x3 convs and 2x2 pools up to relu5_1
    vgg19 = budget.Geometry.of("vgg19", ("relu5_1",))
    assert vgg19.halo == 100 and vgg19.align == 16
    assert budget.Geometry.of("vgg16-hed", ("relu3_1",)).halo < VGG16.halo


def test_a_huge_style_scale_is_in_the_budget():
    """The style images are held and run through the network at every scale: they count."""
    small = budget.estimate_run((384, 512), [(600, 800)], StyleConfig(size=512))
    big = budget.estimate_run((384, 512), [(600, 800)], StyleConfig(size=512, style_scale=8))
    assert big.memory > 2 * small.memory and big.seconds > small.seconds
    with pytest.raises(ConfigError, match="style_scale 100 makes a style image 51200x38400"):
        budget.estimate_run((384, 512), [(600, 800)], StyleConfig(size=512, style_scale=100))


def test_a_budget_below_any_picture_says_so():
    with pytest.raises(ConfigError, match="less than impasto needs for any picture"):
        budget.estimate_run((384, 512), [(600, 800)], StyleConfig(max_memory=0.1))


@pytest.mark.parametrize("core", [16, 100, 256, 1536])
@pytest.mark.parametrize("halo", [0, 96, 300])
def test_crop_lengths_count_plan_tiles_crops_without_listing_them(core, halo):
    from collections import Counter

    from impasto.cost import tiling

    for length in (1, 15, 16, 17, 100, 255, 256, 257, 1000, 4097, 10007):
        tiles = tiling.plan_tiles(length, 1, core, halo, 16)  # one column: the rows
        listed = Counter(t.crop[1] - t.crop[0] for t in tiles)
        assert tiling.crop_lengths(length, core, halo, 16) == listed, length


def test_the_budget_of_an_absurd_size_lists_no_tile(monkeypatch):
    """10^9 px a side would be some 10^11 tiles of 256 px: it must be judged by arithmetic."""
    from impasto.cost import tiling

    def listed(*args):
        raise AssertionError("the budget listed tiles")

    monkeypatch.setattr(tiling, "plan_tiles", listed)
    if hasattr(budget, "plan_tiles"):  # imported by name before issue 32
        monkeypatch.setattr(budget, "plan_tiles", listed)
    for config in (StyleConfig(size=10**9), StyleConfig(schedule=f"181:10,{10**9}:5", tile=16)):
        with pytest.raises(ConfigError, match="the largest size that fits is about 5"):
            budget.estimate_run((768, 1024), [(600, 800)], config)
    plan = budget.plan_scale(30_000, 40_000, 1000 * GB, VGG16)  # fits 1 TB, in tiles
    assert plan.tile > 0 and plan.memory <= 1000 * GB


def test_styles_too_large_at_any_size_blame_the_style_scale_not_the_budget():
    config = StyleConfig(size=5_000_000, style_scale=1000, max_memory=8)
    with pytest.raises(ConfigError, match="style_scale 1000 makes the style images too large"):
        budget.estimate_run((768, 1024), [(600, 800)], config)
