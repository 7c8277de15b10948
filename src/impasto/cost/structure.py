"""The structure cost: the photo's edges, measured on the pixels (after Li et al. 2017).

Li, Xu, Nie & Zhao, "Laplacian-Steered Neural Style Transfer" (2017): the content cost on
deep features does not see the photo's fine structure (window frames, cables, outlines), so
strokes wash it away. They add the distance between the Laplacians of the photo and of the
picture, each taken after p x p average pooling. impasto takes the same idea with two
departures, each measured on the benchmark pairs (``benchmarks/RESULTS.md``):

* the band-pass is a difference of Gaussians, D_s(x) = G_s * x - G_2s * x, instead of a
  Laplacian of a pooled picture: pooling in p x p blocks let the optimiser move whole blocks,
  and the pictures showed their grid;
* each term is divided by its target's size (impasto's relative costs), and the scales s are
  given for a 512 px picture and follow the picture's long side, so one weight means the same
  at every scale of the coarse-to-fine plan:

    J_structure = mean over s of ||D_s(G) - D_s(C)||^2 / ||D_s(C)||^2

over the three colour channels. Off by default (``structure_weight`` 0): it keeps outlines
on photos of buildings and machines, and on furry or soft photos it keeps texture the
painting does not have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import devices

EPS = 1e-8
REFERENCE_SIDE = 512  # the scales are given in pixels of a picture this long


def gaussian_kernel(sigma: float, device: torch.device | None = None) -> torch.Tensor:
    """The normalised 1-D Gaussian of standard deviation ``sigma``, radius ceil(3 sigma)."""
    radius = max(1, int(-(-3 * sigma // 1)))
    exact = torch.float64 if device is None else devices.exact_dtype(device)
    t = torch.arange(-radius, radius + 1, dtype=exact, device=device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (C,H,W), reflected at the borders (the picture's edge is
    not an edge); the kernel is cut to the picture where it is wider."""
    x = image.unsqueeze(0)
    c = x.shape[1]
    full = gaussian_kernel(sigma, x.device).to(x.dtype)
    middle = len(full) // 2
    for axis in (2, 3):
        radius = min(middle, x.shape[axis] - 1)
        if radius == 0:
            continue
        kernel = full[middle - radius : middle + radius + 1]
        kernel = kernel / kernel.sum()
        if axis == 2:
            pad, weight = (0, 0, radius, radius), kernel.view(1, 1, -1, 1)
        else:
            pad, weight = (radius, radius, 0, 0), kernel.view(1, 1, 1, -1)
        x = F.conv2d(F.pad(x, pad, mode="reflect"), weight.expand(c, -1, -1, -1), groups=c)
    return x[0]


def band(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Difference of Gaussians G_sigma - G_2sigma of (C,H,W): its edges at scale ``sigma``."""
    return blur(image, sigma) - blur(image, 2 * sigma)


def scaled(sigma: float, height: int, width: int) -> float:
    """A scale given for a 512 px picture, at this picture's size."""
    return sigma * max(height, width) / REFERENCE_SIDE


@dataclass(frozen=True)
class Structure:
    """The photo's edges at one scale of the plan, and the weight of the cost towards them."""

    sigmas: tuple[float, ...]
    targets: tuple[torch.Tensor, ...]
    norms: tuple[float, ...]
    weight: float

    @classmethod
    def of(cls, content: torch.Tensor, scales: Sequence[float], weight: float) -> Structure:
        """Targets from the content (3,H,W in 0..1) for scales given at 512 px."""
        height, width = content.shape[-2:]
        sigmas = tuple(scaled(s, height, width) for s in scales)
        targets = tuple(band(content, s) for s in sigmas)
        norms = tuple(float(t.pow(2).sum().clamp_min(EPS)) for t in targets)
        return cls(sigmas, targets, norms, weight)

    def cost(self, image: torch.Tensor) -> torch.Tensor:
        """weight x the mean over scales of the relative band distance; differentiable."""
        total = image.new_zeros(())
        for sigma, target, norm in zip(self.sigmas, self.targets, self.norms):
            total = total + (band(image, sigma) - target).pow(2).sum() / norm
        return self.weight * total / max(1, len(self.sigmas))
