"""Keeping the content's colours (Gatys, Bethge, Hertzmann & Shechtman 2017, section 5).

Pure tensor functions on pictures of shape (3, H, W) with values in 0..1 (RGB), plus the two
steps ``stylize`` wraps around its optimisation: ``prepare`` (before) and ``finish`` (after).

Colour space: BT.601 YUV, Y = 0.299 R + 0.587 G + 0.114 B (the luma the paper's YIQ also uses);
U and V are scaled differences B - Y and R - Y, zero for every grey.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .. import devices
from .resize import resize_to

# BT.601: Y = KR R + (1 - KR - KB) G + KB B; U and V are B - Y and R - Y scaled to +-0.436
# and +-0.615, so every grey has U = V = 0 exactly.
_KR, _KB = 0.299, 0.114
_RGB_TO_YUV = torch.tensor(
    [
        [_KR, 1 - _KR - _KB, _KB],
        [-_KR * 0.436 / (1 - _KB), -(1 - _KR - _KB) * 0.436 / (1 - _KB), 0.436],
        [0.615, -(1 - _KR - _KB) * 0.615 / (1 - _KR), -_KB * 0.615 / (1 - _KR)],
    ],
    dtype=torch.float64,
)
# The exact inverse, so that rgb -> yuv -> rgb is the identity up to float rounding.
_YUV_TO_RGB = torch.linalg.inv(_RGB_TO_YUV)


def _apply(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """Multiply the 3-vector of every pixel of (3, H, W) by ``matrix``, in the image's dtype."""
    return torch.einsum("ij,jhw->ihw", matrix.to(image.device, image.dtype), image)


def rgb_to_yuv(rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) RGB in 0..1 -> YUV: Y in 0..1, U in +-0.436, V in +-0.615."""
    return _apply(_RGB_TO_YUV, rgb)


def yuv_to_rgb(yuv: torch.Tensor) -> torch.Tensor:
    """The inverse of ``rgb_to_yuv`` (not clamped: a YUV triple may lie outside the RGB cube)."""
    return _apply(_YUV_TO_RGB, yuv)


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) -> (1, H, W): the Y channel."""
    return rgb_to_yuv(rgb)[:1]


def grey(rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) -> (3, H, W) with Y in every channel: what the network sees in luminance mode."""
    return _three(luminance(rgb))


def _three(y: torch.Tensor) -> torch.Tensor:
    """(1, H, W) -> (3, H, W): the same plane three times, as a grey RGB picture."""
    return y.expand(3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The style's Y, shifted and scaled to the content's Y mean and standard deviation.

    (1, H, W), not clamped. As Gatys et al. 2017 do: L_S' = sigma_C / sigma_S (L_S - mu_S) + mu_C,
    so that a dark painting does not darken a bright photo, nor a bright one wash it out.
    """
    y_s, y_c = luminance(style), luminance(content)
    spread = y_c.std() / y_s.std().clamp_min(1e-6)  # a flat style stays flat
    return (y_s - y_s.mean()) * spread + y_c.mean()


def _mean_cov(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (3, 1) and covariance (3, 3) of the pixels of (3, H, W), in float64 (on the CPU
    for a device without it)."""
    pixels = image.reshape(3, -1).to(*devices.exact(image.device))
    mean = pixels.mean(dim=1, keepdim=True)
    centred = pixels - mean
    return mean, centred @ centred.T / pixels.shape[1]


def _sqrt_sym(matrix: torch.Tensor, power: float) -> torch.Tensor:
    """matrix ** power for a symmetric positive semi-definite 3x3 (eigenvalues floored)."""
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(1e-12) ** power) @ vectors.T


def match_color(style: torch.Tensor, content: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The style with its colours moved linearly to the content's mean and covariance.

    x' = A (x - mu_S) + mu_C with A = Sigma_C^(1/2) Sigma_S^(-1/2) from symmetric (eigen)
    square roots: the "image analogies" colour transfer that Gatys et al. 2017 compare with
    Cholesky factors. We take it because it treats the three channels alike: the Cholesky
    factor is triangular, so its result depends on which channel comes first (permute RGB and
    the picture changes); the symmetric root's does not. ``eps`` is added to the style's
    covariance so that a nearly grey style (no spread in some colour direction) does not blow
    up. (3, H, W), not clamped.
    """
    mu_s, cov_s = _mean_cov(style)
    mu_c, cov_c = _mean_cov(content)
    where, exact = devices.exact(style.device)
    eye = torch.eye(3, dtype=exact, device=where)
    transform = _sqrt_sym(cov_c.to(where), 0.5) @ _sqrt_sym(cov_s + eps * eye, -0.5)
    pixels = style.reshape(3, -1).to(where, exact)
    moved = transform @ (pixels - mu_s) + mu_c.to(where)
    return moved.reshape(style.shape).to(style.device, style.dtype)


def match_palette(content: torch.Tensor, palette: torch.Tensor, bins: int = 32) -> torch.Tensor:
    """The content in the palette's colours, brightness by brightness.

    Departs from Gatys et al., whose start is noise or the photo. A single linear colour map
    (``match_color``) sends a blue sky to whatever the painting's colour covariance makes of
    blue (a grey-green under The Scream); the optimiser then paints strokes over that and keeps
    its layout. Here each pixel is moved within its brightness class instead: the content's
    and the palette's pixels are ranked by luminance and cut into ``bins`` classes of equal
    count, and a pixel of the content's k-th class gets the palette's k-th class mean plus its
    own deviation from its class's mean, scaled by the ratio of the two classes' spreads (per
    RGB channel, at most 4x). So the brightest part of the photo takes the colours of the
    brightest part of the painting (The Scream's orange sky), the darkest its darkest, and
    colours that differ within one brightness (green eyes in brown fur) still differ. Class
    statistics are interpolated along the rank, and equal luminances share one rank, so equal
    pixels stay equal and no edge appears between classes. (3, H, W) in 0..1, not clamped;
    ``palette`` holds 3-channel pixels of any shape.
    """
    pixels = content.reshape(3, -1).to(*devices.exact(content.device))
    theirs = palette.reshape(3, -1).to(pixels.device, pixels.dtype)
    bins = max(1, min(bins, pixels.shape[1], theirs.shape[1]))
    mean_s, spread_s = _class_stats(theirs, bins)
    mean_c, spread_c = _class_stats(pixels, bins)
    gain = (spread_s / spread_c.clamp_min(1e-3)).clamp(max=4.0)
    # mid-ranks of the luminance (ties share one) in 0..1, then a position among the classes
    y = _RGB_TO_YUV[0].to(pixels.device) @ pixels
    values, inverse, counts = torch.unique(y, return_inverse=True, return_counts=True)
    below = torch.cumsum(counts, 0) - counts
    rank = ((below + counts / 2) / y.numel())[inverse]
    position = (rank * bins - 0.5).clamp(0, bins - 1)
    low = position.floor().long().clamp(max=bins - 1)
    high = (low + 1).clamp(max=bins - 1)
    t = (position - low)[None]

    def at(stat: torch.Tensor) -> torch.Tensor:
        return stat[:, low] * (1 - t) + stat[:, high] * t

    moved = at(mean_s) + at(gain) * (pixels - at(mean_c))
    return moved.reshape(content.shape).to(content.device, content.dtype)


def _class_stats(pixels: torch.Tensor, bins: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation (3, bins) of each brightness class of (3, N) pixels."""
    luma = _RGB_TO_YUV[0].to(pixels.device, pixels.dtype) @ pixels
    ranked = pixels[:, torch.argsort(luma, stable=True)]
    parts = torch.tensor_split(ranked, bins, dim=1)
    means = torch.stack([p.mean(1) for p in parts], 1)
    spreads = torch.stack([p.std(1, unbiased=False) for p in parts], 1)
    return means, spreads


def combine(luma: torch.Tensor, chroma: torch.Tensor) -> torch.Tensor:
    """Y of ``luma`` with U, V of ``chroma`` (resized to ``luma``'s size), as RGB in 0..1."""
    chroma = resize_to(chroma, *luma.shape[-2:])
    yuv = torch.cat([luminance(luma), rgb_to_yuv(chroma)[1:]])
    return yuv_to_rgb(yuv).clamp(0, 1)


def prepare(
    mode: str,
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    init_image: torch.Tensor | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor | None]:
    """The content, styles and initial image the optimisation should see under ``mode``.

    luminance: all grey, each style's brightness matched to the content's first; histogram:
    each style recoloured to the content's colour statistics; none, yuv: unchanged.
    """
    styles = list(styles)
    if mode == "luminance":
        styles = [_three(match_luminance(s, content).clamp(0, 1)) for s in styles]
        init_image = None if init_image is None else grey(init_image)
        return grey(content), styles, init_image
    if mode == "histogram":
        return content, [match_color(s, content).clamp(0, 1) for s in styles], init_image
    return content, styles, init_image


def finish(mode: str, image: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The optimised picture as the user should get it: recoloured from the content if asked."""
    if mode in ("luminance", "yuv"):
        return combine(image, content)
    return image
