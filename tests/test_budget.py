"""Memory and time planning: what runs whole, what is tiled, and the error for what cannot fit."""

from __future__ import annotations

import pytest

from impasto import budget, stylize
from impasto.budget import GB
from impasto.config import StyleConfig
from impasto.errors import ConfigError


def test_small_pictures_run_whole_with_full_history():
    plan = budget.plan_scale(384, 512, 8 * GB)
    assert plan.tile == 0 and plan.history == budget.HISTORY
    assert plan.memory < 1.5 * GB


def test_2048_fits_8_gb_and_4096_fits_20_gb_by_shortening_history_then_tiling():
    p2048 = budget.plan_scale(1536, 2048, 8 * GB)
    assert p2048.memory <= 8 * GB and p2048.tile > 0
    p4096 = budget.plan_scale(3072, 4096, 20 * GB)
    assert p4096.memory <= 20 * GB and p4096.tile > 0
    assert budget.MIN_HISTORY <= p4096.history < budget.HISTORY
    # Whole and with full history, both would need far more.
    assert budget.memory(1536, 2048, 0, budget.HISTORY) > 10 * GB
    assert budget.memory(3072, 4096, 0, budget.HISTORY) > 30 * GB


def test_more_memory_means_fewer_or_no_tiles():
    tight = budget.plan_scale(1536, 2048, 6 * GB)
    roomy = budget.plan_scale(1536, 2048, 16 * GB)
    assert tight.tile > 0 and roomy.tile == 0
    assert roomy.seconds_per_evaluation < tight.seconds_per_evaluation  # tiles cost time


def test_a_forced_tile_is_used():
    plan = budget.plan_scale(600, 800, 8 * GB, tile=256)
    assert plan.tile == 256
    assert plan.memory < budget.plan_scale(600, 800, 8 * GB).memory


def test_memory_grows_with_pixels_and_history():
    assert budget.memory(1000, 1000, 0, 10) < budget.memory(1000, 1000, 0, 50)
    assert budget.memory(1000, 1000, 0, 10) < budget.memory(2000, 1000, 0, 10)
    assert budget.memory(2000, 2000, 512, 10) < budget.memory(2000, 2000, 0, 10)


def test_too_big_names_the_largest_size_that_fits():
    config = StyleConfig(size=20000, max_memory=4)
    with pytest.raises(ConfigError) as info:
        stylize.estimate((768, 1024), config)
    message = str(info.value)
    assert "needs about" in message and "4.0 GB budget" in message
    largest = int(message.split("largest size that fits is about ")[1].split()[0])
    assert 1000 < largest < 20000
    # That size does fit, and a clearly bigger one does not.
    stylize.estimate((768, 1024), StyleConfig(size=largest, max_memory=4))
    with pytest.raises(ConfigError):
        stylize.estimate((768, 1024), StyleConfig(size=int(largest * 1.2), max_memory=4))


def test_estimate_adds_up_the_scales():
    config = StyleConfig(size=512)
    est = stylize.estimate((768, 1024), config)
    assert [(s.height, s.width) for s in est.scales][-1] == (384, 512)
    per_scale = [
        s.seconds_per_evaluation * sc.iterations
        for s, sc in zip(est.scales, stylize.plan_for(config))
    ]
    assert est.seconds == pytest.approx(sum(per_scale))
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
    import torch

    from impasto.objective import Objective

    histories, tilings = [], []
    real_lbfgs, real_vg = stylize.lbfgs, Objective.value_and_grad

    def lbfgs(x, iterations, history=50):
        histories.append(history)
        return real_lbfgs(x, iterations, history)

    def value_and_grad(self, image, targets, tiles=None):
        tilings.append(None if tiles is None else len(tiles))
        return real_vg(self, image, targets, tiles)

    monkeypatch.setattr(stylize, "lbfgs", lbfgs)
    monkeypatch.setattr(Objective, "value_and_grad", value_and_grad)
    monkeypatch.setattr(budget, "HISTORY_SHARE", 1e-6)  # no room for history
    monkeypatch.setattr(budget, "EVAL_BYTES_PER_PIXEL", 4e4)  # as if the network were huge
    g = torch.Generator().manual_seed(0)
    content, style = torch.rand(3, 300, 400, generator=g), torch.rand(3, 100, 100, generator=g)
    config = StyleConfig(size=400, min_size=0, iterations=2, max_memory=5)
    stylize.stylize(content, style, config)
    assert histories == [budget.MIN_HISTORY]
    assert tilings and all(n is not None and n > 1 for n in tilings)
