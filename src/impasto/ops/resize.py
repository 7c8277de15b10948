"""Resizing pictures and masks: bicubic, antialiased when shrinking, kept in 0..1.

Tensors are (C, H, W) or (N, C, H, W) floats. ``output_size`` is the one rule for the size of
a picture with a given long side, used by the plan, the estimate and every front end.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def output_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(height, width) with the given long side and the same aspect ratio (sides >= 1)."""
    if long_side < 1:
        raise ValueError(f"long_side must be at least 1, got {long_side}")
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def size_of(img: torch.Tensor) -> tuple[int, int]:
    """(height, width) of a (..., H, W) tensor, as plain ints."""
    return int(img.shape[-2]), int(img.shape[-1])


def resize_long_side(img: torch.Tensor, long_side: int) -> torch.Tensor:
    """Scale so the longer side is ``long_side`` px, keeping the aspect ratio."""
    return resize_to(img, *output_size(*size_of(img), long_side))


def resize_to(img: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Bicubic resize of (C, H, W) or (N, C, H, W), antialiased when shrinking, kept in 0..1."""
    if img.dim() not in (3, 4):
        raise ValueError(f"expected (C, H, W) or (N, C, H, W), got {tuple(img.shape)}")
    if height < 1 or width < 1:
        raise ValueError(f"size must be at least 1x1, got {height}x{width}")
    if not img.is_floating_point():
        raise ValueError(f"expected a float tensor, got {img.dtype}")
    if tuple(img.shape[-2:]) == (height, width):
        return img
    batch = img if img.dim() == 4 else img.unsqueeze(0)
    shrinking = height < batch.shape[-2] or width < batch.shape[-1]
    out = F.interpolate(
        batch, size=(height, width), mode="bicubic", align_corners=False, antialias=shrinking
    )
    out = out.clamp(0.0, 1.0)  # bicubic overshoots at edges
    return out if img.dim() == 4 else out.squeeze(0)
