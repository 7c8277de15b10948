"""What 'style' is for a painting: the Gram matrix of a layer's channels and their
correlations, for the channels of most energy, families together."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import (
    STYLE_SIZE,
)
from ..cost import losses
from ..errors import ConfigError
from ..network.vgg import VGGFeatures, device_of
from .networks import shrink, sub_network

# ---------------------------------------------------------------- style matrices


# Colour maps as anchor colours, interpolated: viridis (0..max) and blue-white-red (-1..1).
@dataclass
class StyleMatrices:
    """The style statistics of one layer, for the ``channels`` shown (the strongest ones)."""

    layer: str
    channels: list[int]  # channel indices, in display order: families together
    total: int  # channels the layer has
    gram: torch.Tensor  # (k, k) Gram per position, G / (nH nW): what impasto's style cost matches
    correlation: torch.Tensor  # (k, k) in -1..1: which channels fire together


def style_matrices(
    net: VGGFeatures,
    style: torch.Tensor,
    layer: str,
    max_channels: int = 64,
    size: int = STYLE_SIZE,
) -> StyleMatrices:
    """Gram and correlation matrices of ``style`` (3, H, W) at ``layer``, top channels only.

    The ``max_channels`` channels of most energy (the Gram diagonal, mean squared activation) are
    kept, so 512-channel layers stay readable, and ordered so that channels which fire together
    sit together: the blocks along the diagonal are families of features the painting combines.
    """
    if max_channels < 2:
        raise ConfigError(f"max_channels must be at least 2, got {max_channels}")
    sub = sub_network(net, [layer])
    with torch.no_grad():
        act = sub(shrink(style, size).to(device_of(sub)))[layer]
    gram = losses.style_matrix(act, "gram")[0].cpu()
    correlation = losses.style_matrix(act, "correlation")[0].cpu()
    channels = gram.diagonal().argsort(descending=True)[:max_channels]
    channels = channels[_spectral_order(correlation[channels[:, None], channels[None, :]])]
    index = channels[:, None], channels[None, :]
    return StyleMatrices(layer, channels.tolist(), act.shape[1], gram[index], correlation[index])


def _spectral_order(correlation: torch.Tensor) -> torch.Tensor:
    """An order that puts channels which fire together next to each other, so blocks show.

    Sorts by the Fiedler vector of the graph whose edge weights are the positive correlations.
    """
    weights = correlation.clamp_min(0).double()
    weights.fill_diagonal_(0)
    laplacian = torch.diag(weights.sum(1)) - weights
    _, vectors = torch.linalg.eigh(laplacian)
    return vectors[:, 1].argsort()
