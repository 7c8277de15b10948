"""The optimisation loop: the spectral preconditioner's exact algebra, and runs through it."""

from __future__ import annotations

import pytest
import torch

from impasto.config import StyleConfig
from impasto.engine.optimise import SpectralBasis, minimise
from impasto.errors import ConfigError


@pytest.mark.parametrize("shape", [(3, 16, 16), (3, 17, 24), (1, 9, 31)])
def test_the_basis_is_invertible(shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
    basis = SpectralBasis(shape, 6.0)
    assert torch.allclose(basis.decode(basis.encode(x)), x, atol=1e-5)


def test_the_scale_is_one_at_zero_frequency_and_falls_as_one_over_period_f():
    basis = SpectralBasis((3, 32, 32), 8.0)
    assert basis.scale[0, 0] == 1.0
    # the (0, 8) coefficient is a period of 4 px: 1 / sqrt(1 + (8/4)^2)
    assert float(basis.scale[0, 8]) == pytest.approx(1 / 5**0.5)
    assert float(basis.scale.min()) < float(basis.scale[0, 1]) < 1.0


def test_a_step_through_the_basis_damps_fine_periods():
    """A gradient holding a 2 px and a 32 px wave in equal measure: the first step moves the
    picture mostly along the coarse one (by scale**2 per frequency)."""
    h = w = 32
    cols = torch.arange(w, dtype=torch.float32)
    fine = torch.cos(torch.pi * cols).expand(1, h, w)  # period 2 px
    coarse = torch.cos(2 * torch.pi * cols / 32).expand(1, h, w)
    gradient = fine + coarse
    basis = SpectralBasis((1, h, w), 8.0)
    z = basis.encode(torch.zeros(1, h, w)).requires_grad_(True)
    (gz,) = torch.autograd.grad(basis.decode(z), z, gradient)
    with torch.no_grad():
        step = basis.decode(z - gz)
    along_fine = float((step * fine).sum() / fine.square().sum())
    along_coarse = float((step * coarse).sum() / coarse.square().sum())
    assert along_coarse == pytest.approx(-1 / (1 + (8 / 32) ** 2), rel=1e-4)
    assert along_fine == pytest.approx(-1 / (1 + (8 / 2) ** 2), rel=1e-3)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_minimise_through_the_basis_reaches_the_minimum_and_reports_pixels(method):
    target = torch.rand(3, 12, 20, generator=torch.Generator().manual_seed(2))
    seen: list[torch.Tensor] = []

    def evaluate(x):
        seen.append(x)
        return float((x - target).square().sum()), 2 * (x - target)

    start = torch.full_like(target, 0.5)
    out = minimise(
        start,
        evaluate,
        60 if method == "lbfgs" else 300,
        method=method,
        learning_rate=0.05,
        basis=SpectralBasis(target.shape, 4.0),
    )
    assert seen[0].shape == target.shape and torch.allclose(seen[0], start, atol=1e-6)
    assert float((out - target).abs().max()) < 0.02
    assert out.min() >= 0 and out.max() <= 1


def test_smooth_steps_is_validated():
    with pytest.raises(ConfigError, match="smooth_steps"):
        StyleConfig(smooth_steps=-1)
    assert StyleConfig(smooth_steps=0).smooth_steps == 0
