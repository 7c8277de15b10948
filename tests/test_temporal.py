"""The temporal cost (cost/temporal.py): its formula, its gradient, and its place in J."""

from __future__ import annotations

import dataclasses

import torch

from helpers import tiny_state_dict
from impasto.config import StyleConfig
from impasto.cost.objective import Objective
from impasto.cost.temporal import Anchor
from impasto.engine import budget, pyramid
from impasto.network import registry, vgg


def rand(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64)


def test_cost_is_gamma_over_d_times_the_weighted_squares():
    target = torch.zeros(3, 2, 2, dtype=torch.float64)
    image = torch.zeros(3, 2, 2, dtype=torch.float64)
    image[:, 0, 0] = 0.5  # reliable pixel, off by 0.5 in all three channels
    image[:, 1, 1] = 1.0  # unreliable pixel: ignored
    weights = torch.tensor([[[1.0, 1.0], [1.0, 0.0]]], dtype=torch.float64)
    anchor = Anchor(target, weights, weight=24.0)
    assert float(anchor.cost(image)) == 24.0 * (3 * 0.25) / 12


def test_gradient_is_two_gamma_c_diff_over_d():
    target, image = rand(3, 5, 7, seed=1), rand(3, 5, 7, seed=2)
    weights = rand(1, 5, 7, seed=3)
    anchor = Anchor(target, weights, weight=3.0)
    x = image.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(anchor.cost(x), x)
    torch.testing.assert_close(grad, 2 * 3.0 * weights * (image - target) / image.numel())
    assert torch.autograd.gradcheck(anchor.cost, (x,))


def test_anchor_at_another_scale_keeps_its_weight_and_averages_reliability():
    weights = torch.zeros(1, 4, 4)
    weights[:, :2, :] = 1.0
    anchor = Anchor(torch.rand(3, 4, 4), weights, 5.0).at(2, 2)
    assert anchor.weight == 5.0 and anchor.target.shape == (3, 2, 2)
    torch.testing.assert_close(anchor.reliability, torch.tensor([[[1.0, 1.0], [0.0, 0.0]]]))


def tiny_net(config):
    spec = registry.NETWORKS[config.network]
    layers = config.content_layers + config.style_layers
    return vgg.VGGFeatures(tiny_state_dict(spec.arch), spec.arch, spec.convention, layers).double()


def test_objective_adds_the_temporal_term_whole_and_tiled_alike():
    config = StyleConfig(tv_weight=0.5, precision="fp32")  # exact: no bf16 on any CPU
    net = tiny_net(config)
    objective = Objective(net, config)
    h, w = 200, 180
    content, image = rand(3, h, w, seed=4), rand(3, h, w, seed=5)
    targets = objective.prepare(content, [rand(3, 120, 100, seed=6)], [[1.0]])
    plain_terms, plain_grad = objective.value_and_grad(image, targets)
    anchor = Anchor(rand(3, h, w, seed=7), rand(1, h, w, seed=8), weight=50.0)
    anchored = dataclasses.replace(targets, anchor=anchor)
    terms, grad = objective.value_and_grad(image, anchored)
    x = image.clone().requires_grad_(True)
    (anchor_grad,) = torch.autograd.grad(anchor.cost(x), x)
    torch.testing.assert_close(terms["temporal"], anchor.cost(image))
    torch.testing.assert_close(terms["total"], plain_terms["total"] + anchor.cost(image))
    torch.testing.assert_close(grad, plain_grad + anchor_grad)
    tiles = pyramid.tiles_for(net, h, w, 100)
    tiled_terms, tiled_grad = objective.value_and_grad(image, anchored, tiles)
    torch.testing.assert_close(tiled_terms["total"], terms["total"], rtol=1e-10, atol=0)
    torch.testing.assert_close(tiled_grad, grad, rtol=1e-9, atol=1e-12 * float(grad.abs().max()))


def test_a_strong_anchor_holds_the_picture_where_reliable(tiny_network):
    # Layer weights pinned (256:64:16:4:1 scaled to sum to 1, the earlier default): on the
    # tiny random network the default's 341x stronger style cost outpulls the anchor within
    # 15 steps; average pooling pinned too (the default until 2026-12-03: max pooling's sparser
    # gradient moves the tiny network's picture faster). The real-weights tier checks the
    # default on a real clip (test_video_e2e).
    config = StyleConfig(
        pooling="avg",
        size=48,
        min_size=0,
        iterations=15,
        smooth_steps=0,
        init="content",
        content_weight=1.0,  # the default until 2026-12-05, which the anchor's 100 was set against
        precision="fp32",
        style_layer_weights=tuple(w / 341 for w in (256, 64, 16, 4, 1)),
    )
    content = rand(3, 36, 48, seed=9).float()
    style = rand(3, 40, 40, seed=10).float()
    free = pyramid.stylize(content, style, config)
    previous = rand(3, 36, 48, seed=11).float()
    weights = torch.zeros(1, 36, 48)
    weights[:, :, :24] = 1.0  # hold the left half only
    plan = budget.estimate_run((36, 48), [(40, 40)], config)  # the planned path a clip takes
    anchor = Anchor(previous, weights, 100.0)
    held = pyramid.paint(content, [style], config, plan, anchor=anchor)
    left, right = (slice(None), slice(None), slice(0, 24)), (slice(None), slice(None), slice(24))
    assert float((held - previous)[left].abs().mean()) < 0.25 * float(
        (free - previous)[left].abs().mean()
    )
    # the unreliable half answers to the content and style costs alone: it still moves from
    # the content at least half as far as in the free run (a much stiffer anchor freezes it
    # too, as L-BFGS takes one step size for all pixels: hence a moderate default weight)
    moved_free = float((free - content)[right].abs().mean())
    assert float((held - content)[right].abs().mean()) > 0.5 * moved_free
