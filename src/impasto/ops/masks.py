"""Region masks as tensors: colour maps to labels, soft edges, shares that sum to at most 1.

Pure functions on (3, H, W) colour maps and (R, H, W) masks in 0..1; ``io/masks.py`` reads
the files a user draws and hands them here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..errors import ConfigError

PALETTE: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("red", (1.0, 0.0, 0.0)),
    ("green", (0.0, 1.0, 0.0)),
    ("blue", (0.0, 0.0, 1.0)),
    ("yellow", (1.0, 1.0, 0.0)),
    ("cyan", (0.0, 1.0, 1.0)),
    ("magenta", (1.0, 0.0, 1.0)),
)
"""The colour of style 1, 2, ... in a colour map."""

UNSTYLED: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("black", (0.0, 0.0, 0.0)),
    ("white", (1.0, 1.0, 1.0)),
)
"""Colours that keep the content in a colour map (white too: the paper of a paint program)."""

GREY_TOLERANCE = 0.1
"""A file is greyscale when no pixel's channels differ by more than this (JPEG noise)."""

STRAY_SHARE = 0.001
"""A colour map may hold this share of pixels clearly of an unused style colour (noise)."""

CLEAR_DISTANCE = 0.1
"""A pixel is clearly of a colour within this squared distance (RGB in 0..1); edge blends
between two colours, such as the olive between red and green, are farther from every one."""

ASPECT_TOLERANCE = 0.02
"""A mask of another size is resized when its aspect ratio is within 2% of the content's."""

SOFTNESS = 0.01
"""Sigma of the edge blur, as a share of the long side."""

_WORKING_SIGMA = 3.0  # blur at a size where sigma is this many pixels, then scale up


def is_greyscale(rgb: torch.Tensor) -> bool:
    """Whether every pixel of (3, H, W) has R = G = B, give or take ``GREY_TOLERANCE``."""
    spread = rgb.amax(0) - rgb.amin(0)
    return bool((spread <= GREY_TOLERANCE).all())


def colour_labels(rgb: torch.Tensor, n_styles: int, name: str = "mask") -> torch.Tensor:
    """One-hot masks (n_styles, H, W) from a colour map (3, H, W): the nearest colour wins.

    Ties go to the unstyled colours. A style colour beyond ``n_styles`` is an error when more
    than a few pixels (``STRAY_SHARE``) are clearly of it; blends along edges that happen to
    be nearest to it go to the nearest colour in use.
    """
    if n_styles > len(PALETTE):
        raise ConfigError(
            f"{name}: a colour map labels at most {len(PALETTE)} styles, but {n_styles} style "
            "images are given; give one greyscale mask per style image instead"
        )
    colours = [c for _, c in UNSTYLED + PALETTE]
    label, distance = _nearest(rgb, colours)
    clear = distance < CLEAR_DISTANCE
    first_unused = len(UNSTYLED) + n_styles
    for index in range(first_unused, len(colours)):
        share = float(((label == index) & clear).float().mean())
        if share > STRAY_SHARE:
            colour = PALETTE[index - len(UNSTYLED)][0]
            raise ConfigError(
                f"{name}: {colour} ({share:.1%} of the map) marks style {index - 1}, but only "
                f"{n_styles} style image{'s are' if n_styles > 1 else ' is'} given"
            )
    label, _ = _nearest(rgb, colours[:first_unused])
    return torch.stack([label == i for i in range(len(UNSTYLED), first_unused)]).to(rgb.dtype)


def _nearest(
    rgb: torch.Tensor, colours: Sequence[tuple[float, float, float]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Index (H, W) of the colour nearest each pixel (the first wins a tie), and the squared
    distance to it. A loop, not one (colours, 3, H, W) tensor: big maps stay small in memory.
    """
    best = torch.full(rgb.shape[-2:], math.inf, device=rgb.device)
    label = torch.zeros(rgb.shape[-2:], dtype=torch.long, device=rgb.device)
    for index, colour in enumerate(colours):
        colour_t = torch.tensor(colour, dtype=rgb.dtype, device=rgb.device)[:, None, None]
        distance = (rgb - colour_t).pow(2).sum(0)
        closer = distance < best
        best = torch.where(closer, distance, best)
        label[closer] = index
    return label, best


def gaussian_blur(masks: torch.Tensor, sigma: float) -> torch.Tensor:
    """(R, H, W) blurred with a Gaussian of ``sigma`` pixels; edges extend the border values."""
    if sigma <= 0:
        return masks
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=masks.dtype, device=masks.device)
    kernel = torch.exp(-(x**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    out = masks[:, None]
    for shape in ((1, 1, 1, -1), (1, 1, -1, 1)):  # rows, then columns
        k = kernel.reshape(shape)
        pad = (radius, radius, 0, 0) if shape[-1] == -1 else (0, 0, radius, radius)
        out = F.conv2d(F.pad(out, pad, mode="replicate"), k)
    return out[:, 0]


def soften(masks: torch.Tensor, sigma: float, size_hw: tuple[int, int]) -> torch.Tensor:
    """Masks (R, h, w) resized to ``size_hw`` with edges blurred by ``sigma`` output pixels.

    A wide blur is done at a reduced size (where sigma is a few pixels) and scaled up: the
    result is smooth, so nothing is lost, and a big picture costs no more than a small one.
    """
    height, width = size_hw
    shrink = max(1.0, sigma / _WORKING_SIGMA)
    work = (max(1, round(height / shrink)), max(1, round(width / shrink)))
    small = gaussian_blur(_resize(masks, work), sigma * max(work) / max(height, width))
    return _resize(small, size_hw).clamp(0, 1)


def _resize(masks: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    if tuple(masks.shape[-2:]) == tuple(size_hw):
        return masks
    shrinking = size_hw[0] < masks.shape[-2] or size_hw[1] < masks.shape[-1]
    mode = "area" if shrinking else "bilinear"
    extra = {} if shrinking else {"align_corners": False}
    return F.interpolate(masks[None], size=size_hw, mode=mode, **extra)[0]


def normalise(masks: torch.Tensor) -> torch.Tensor:
    """Scale each position's masks down where they sum to more than 1 (R, H, W)."""
    total = masks.sum(0, keepdim=True)
    return masks / total.clamp_min(1.0)
