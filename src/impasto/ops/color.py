"""Keeping the content's colours (Gatys, Bethge, Hertzmann & Shechtman 2017, section 5).

Pure tensor functions on pictures of shape (3, H, W) with values in 0..1 (RGB), plus the two
steps ``stylize`` wraps around its optimisation: ``prepare`` (before) and ``finish`` (after).

Colour space: BT.601 YUV, Y = 0.299 R + 0.587 G + 0.114 B (the luma the paper's YIQ also uses);
U and V are scaled differences B - Y and R - Y, zero for every grey.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

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
    return torch.einsum("ij,jhw->ihw", matrix.to(image.dtype), image)


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
    """Mean (3, 1) and covariance (3, 3) of the pixels of (3, H, W), in float64."""
    pixels = image.reshape(3, -1).double()
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
    eye = torch.eye(3, dtype=torch.float64)
    transform = _sqrt_sym(cov_c, 0.5) @ _sqrt_sym(cov_s + eps * eye, -0.5)
    pixels = style.reshape(3, -1).double()
    moved = transform @ (pixels - mu_s) + mu_c
    return moved.reshape(style.shape).to(style.dtype)


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
