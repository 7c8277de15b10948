"""Pure tensor functions for the costs of neural style transfer.

Two families live here:

* the course notes' formulas, exactly (``*_seed``): J_content = 1/2 ||a(C) - a(G)||^2 and
  J_style^l = 1/(2 nH nW nC)^2 ||G(S) - G(G)||_F^2 with the raw Gram matrix;
* impasto's default, *relative* costs: the Gram matrix averaged over positions, and every cost
  divided by the size of its target. Departure from Gatys et al.: this makes a content weight
  and a style weight mean the same at every resolution and for every layer, so the multi-scale
  schedule keeps one balance throughout and style and content images may differ in size.

Activations are (N, C, H, W); Gram-like matrices are (N, C, C).
"""

from __future__ import annotations

import torch

from . import moments

EPS = 1e-8


def _flatten(a: torch.Tensor) -> torch.Tensor:
    """(N,C,H,W) -> (N, H*W, C); a free view for channels-last tensors."""
    n, c, h, w = a.shape
    return a.permute(0, 2, 3, 1).reshape(n, h * w, c)


def gram_matrix(a: torch.Tensor) -> torch.Tensor:
    """G_kk' = sum_ij a_ijk a_ijk' (seed 000), shape (N, C, C)."""
    m = _flatten(a)
    return m.transpose(1, 2) @ m


def style_matrix(a: torch.Tensor, kind: str = "gram") -> torch.Tensor:
    """Per-position style statistics of activations (N, C, H, W), shape (N, C, C).

    ``gram``: G / (nH nW), the mean of outer products (so it does not grow with image size);
    ``covariance``: the same after removing each channel's mean (deck 004; the population
    1/n form that the style cost matches, see ``moments.py``); ``correlation``: covariance
    scaled to unit diagonal. The very matrices the painting's cost compares, so that
    ``explain style`` draws what is matched.
    """
    return torch.cat([moments.matrix(moments.moments(x[None]), kind) for x in a])


def content_cost_seed(a_content: torch.Tensor, a_generated: torch.Tensor) -> torch.Tensor:
    """J_content = 1/2 ||a(C) - a(G)||^2 (seeds 002/003)."""
    return 0.5 * (a_content - a_generated).pow(2).sum()


def content_cost_mse(a_content: torch.Tensor, a_generated: torch.Tensor) -> torch.Tensor:
    """1/n sum (F_C - F_G)^2, the mean-squared-error form (seed 004)."""
    return (a_content - a_generated).pow(2).mean()


def style_cost_seed(gram_style: torch.Tensor, gram_generated: torch.Tensor, shape) -> torch.Tensor:
    """J_style^l = 1/(2 nH nW nC)^2 ||G(S) - G(G)||_F^2 for raw Gram matrices (seed 000).

    ``shape`` is the (N, nC, nH, nW) shape of the generated image's activations.
    """
    _, n_c, n_h, n_w = shape
    return (gram_style - gram_generated).pow(2).sum() / (2 * n_h * n_w * n_c) ** 2


def relative_cost(target: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
    """||current - target||^2 / ||target||^2: the cost impasto uses for content and style."""
    return (current - target).pow(2).sum() / target.pow(2).sum().clamp_min(EPS)


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between neighbouring pixels, for (N,C,H,W) or (C,H,W).

    A mean, not a sum, so its weight does not depend on the image size.
    """
    dy = image[..., 1:, :] - image[..., :-1, :]
    dx = image[..., :, 1:] - image[..., :, :-1]
    return dy.pow(2).mean() + dx.pow(2).mean()
