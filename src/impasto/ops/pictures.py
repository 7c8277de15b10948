"""The checks at the library's public door: what a picture and a mask tensor must be.

A picture is (3, H, W) float32 in 0..1; masks are (R, H, W) in 0..1. What is unambiguous is
converted (a batch of one, a grey (1, H, W) picture, float64, uint8 in 0..255, a single 2-D
mask); anything else is refused with one ``ConfigError`` that says what was given and what is
expected, instead of a torch error deep inside the run or a silently wrong picture.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..ranges import MAX_PIXELS


def _tensor(value: Any, what: str) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":  # objects, text, dates: torch takes none of them
            raise ConfigError(f"{what} must hold numbers, got a numpy array of {value.dtype}")
        _check_pixels(value.shape, what)
        value = torch.from_numpy(np.ascontiguousarray(value))
    if not isinstance(value, torch.Tensor):
        raise ConfigError(f"{what} must be a torch tensor, got {type(value).__name__}")
    _check_storage(value, what)
    _check_pixels(tuple(value.shape), what)
    if value.numel() == 0:
        raise ConfigError(f"{what} is empty (shape {tuple(value.shape)})")
    if value.dtype == torch.uint8:
        return value.float() / 255.0
    if value.dtype == torch.bool:
        return value.float()
    if not value.is_floating_point():
        raise ConfigError(f"{what} must hold floats in 0..1 (or uint8), got {value.dtype}")
    return value.detach().float()


def _check_storage(value: torch.Tensor, what: str) -> None:
    """A dense tensor of real numbers on a device with memory (any: a run moves its pictures
    to the device it paints on)."""
    if value.is_nested:
        raise ConfigError(f"{what} is a nested tensor; pass one picture as a (3, H, W) tensor")
    if value.is_meta:
        raise ConfigError(f"{what} is on the meta device: it has a shape but no pixels")
    if value.layout != torch.strided:
        raise ConfigError(f"{what} is a {value.layout} tensor; pass tensor.to_dense()")
    if value.is_quantized:
        raise ConfigError(f"{what} is quantized ({value.dtype}); pass tensor.dequantize()")
    if value.is_complex():
        raise ConfigError(f"{what} holds complex numbers ({value.dtype}); pass its real part")


def _check_pixels(shape: tuple[int, ...], what: str) -> None:
    """At most ``MAX_PIXELS`` (H x W), as a file may hold: checked before any copy, since a
    view of one pixel (``expand``, ``broadcast_to``) may say it has billions."""
    if len(shape) >= 2 and shape[-2] * shape[-1] > MAX_PIXELS:
        height, width = shape[-2:]
        raise ConfigError(
            f"{what} is {width}x{height} pixels, more than the {MAX_PIXELS} pixels a picture "
            "may have; resize it first"
        )


def _in_unit_range(value: torch.Tensor, what: str) -> None:
    if not bool(torch.isfinite(value).all()):
        raise ConfigError(f"{what} holds NaN or infinite values")
    low, high = float(value.min()), float(value.max())
    if low < -1e-3 or high > 1 + 1e-3:
        hint = "; divide by 255" if high > 1.5 and high <= 255.5 and low >= 0 else ""
        raise ConfigError(f"{what} must hold values in 0..1, got {low:g}..{high:g}{hint}")


def as_picture(value: Any, what: str = "picture") -> torch.Tensor:
    """``value`` as a (3, H, W) float32 tensor in 0..1, or ConfigError naming ``what``."""
    t = _tensor(value, what)
    if t.dim() == 4 and t.shape[0] == 1:
        t = t[0]  # a batch of one
    if t.dim() != 3:
        raise ConfigError(f"{what} must have shape (3, H, W), got {tuple(t.shape)}")
    if t.shape[0] == 1:
        t = t.expand(3, -1, -1)  # grey
    elif t.shape[0] != 3:
        hint = ""
        if t.shape[-1] in (1, 3, 4):
            hint = " (channels last? use tensor.permute(2, 0, 1))"
        elif t.shape[0] == 4:
            hint = " (RGBA? drop the alpha channel: tensor[:3])"
        raise ConfigError(f"{what} must have shape (3, H, W), got {tuple(t.shape)}{hint}")
    _in_unit_range(t, what)
    return t.clamp(0, 1).contiguous()


def as_masks(value: Any, what: str = "masks") -> torch.Tensor:
    """``value`` as (R, H, W) float32 masks in 0..1; a single (H, W) mask becomes R = 1."""
    t = _tensor(value, what)
    if t.dim() == 2:
        t = t[None]
    if t.dim() != 3:
        raise ConfigError(f"{what} must have shape (R, H, W) or (H, W), got {tuple(t.shape)}")
    _in_unit_range(t, what)
    return t.clamp(0, 1).contiguous()
