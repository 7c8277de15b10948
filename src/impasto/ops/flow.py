"""Optical flow between frames, warping along it, and where it can be trusted.

Ruder, Dosovitskiy & Brox (2016) paint a clip frame by frame, each frame starting from the
previous painted frame carried along the motion and pulled towards it where the motion is
reliable. This module is that geometry, on (C, H, W) float tensors:

- ``optical_flow(a, b)``: where each pixel of ``a`` went in ``b`` (OpenCV's DIS flow);
- ``warp(image, flow)``: ``image`` sampled at ``p + flow(p)`` (bilinear);
- ``reliability(backward, forward)``: 1 where the flow is consistent both ways and away from
  motion boundaries, 0 where the check fails (occluded or disoccluded pixels).

A flow is (2, H, W) in pixels, x (columns) first: pixel (y, x) of ``a`` lies at
(y + flow[1], x + flow[0]) in ``b``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .. import devices
from ..errors import ConfigError

# Ruder et al.'s thresholds (section 3.1), in pixels at the size the flow was computed.
CONSISTENCY_RELATIVE = 0.01
CONSISTENCY_ABSOLUTE = 0.5
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002


def _grey_uint8(image: torch.Tensor):
    """(3, H, W) or (1, H, W) in 0..1 -> (H, W) uint8 numpy, the luma DIS works on."""
    if image.shape[0] == 3:
        r, g, b = image.double()
        image = (0.299 * r + 0.587 * g + 0.114 * b)[None]
    return (image[0].clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def optical_flow(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The flow from frame ``a`` to frame ``b`` (both (3, H, W) in 0..1): (2, H, W) float32.

    DIS (Kroeger et al. 2016) at OpenCV's "medium" preset: dense, a few milliseconds at the
    sizes impasto paints video at, and good at the large smooth motions of a camera pan.
    """
    try:
        import cv2
    except ImportError:
        raise ConfigError(
            "video needs OpenCV for optical flow: pip install 'impasto[video]'"
        ) from None
    if a.shape != b.shape:
        raise ValueError(f"frames differ in size: {tuple(a.shape)} and {tuple(b.shape)}")
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    flow = dis.calc(_grey_uint8(a.cpu()), _grey_uint8(b.cpu()), None)  # (H, W, 2): dx, dy
    return torch.from_numpy(flow).permute(2, 0, 1).contiguous().float().to(a.device)


def _grid(flow: torch.Tensor) -> torch.Tensor:
    """Sampling positions p + flow(p) as grid_sample's (1, H, W, 2) in -1..1 (corner pixels)."""
    height, width = flow.shape[-2:]
    ys = torch.arange(height, dtype=flow.dtype, device=flow.device)[:, None].expand(height, width)
    xs = torch.arange(width, dtype=flow.dtype, device=flow.device)[None, :].expand(height, width)
    gx = (xs + flow[0]) * (2.0 / max(width - 1, 1)) - 1.0
    gy = (ys + flow[1]) * (2.0 / max(height - 1, 1)) - 1.0
    return torch.stack([gx, gy], dim=-1)[None]


def warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """``image`` (C, H, W) sampled at p + flow(p); positions outside take the edge.

    With the backward flow of frame t (from t to t-1), this carries the painted frame t-1 onto
    frame t's pixels. An integer flow moves pixels exactly. ``mode="bicubic"`` blurs less at
    fractional positions (a painting carried over many frames keeps its strokes) but may
    overshoot: clamp its result.
    """
    if image.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"image {tuple(image.shape)} and flow {tuple(flow.shape)} differ")
    out = F.grid_sample(
        image[None].float(),
        _grid(flow.float()),
        mode=mode,
        padding_mode="border",
        align_corners=True,
    )
    return out[0]


def inside(flow: torch.Tensor) -> torch.Tensor:
    """(H, W) bool: p + flow(p) lies within the frame (else the pixel came from outside it)."""
    height, width = flow.shape[-2:]
    ys = torch.arange(height, dtype=flow.dtype, device=flow.device)[:, None]
    xs = torch.arange(width, dtype=flow.dtype, device=flow.device)[None, :]
    x, y = xs + flow[0], ys + flow[1]
    return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def _gradient_norm2(flow: torch.Tensor) -> torch.Tensor:
    """|grad u|^2 + |grad v|^2 per pixel, by central differences (one-sided at the edges)."""
    total = torch.zeros(flow.shape[-2:], dtype=flow.dtype, device=flow.device)
    for channel in flow:
        gy, gx = torch.gradient(channel)
        total += gx.square() + gy.square()
    return total


def reliability(backward: torch.Tensor, forward: torch.Tensor) -> torch.Tensor:
    """Per-pixel weight (H, W) in {0, 1} for carrying frame t-1 onto frame t.

    ``backward`` is the flow from t to t-1, ``forward`` from t-1 to t. As Ruder et al.:
    following the backward flow and then the forward one should come back to the start,
    |w~ + w|^2 <= 0.01 (|w~|^2 + |w|^2) + 0.5 with w~ the forward flow at p + w(p); else the
    pixel was hidden in frame t-1 (disoccluded). Pixels on motion boundaries,
    |grad w|^2 > 0.01 |w|^2 + 0.002, and those whose source lies outside the frame get 0 too.
    """
    if backward.shape != forward.shape or backward.shape[0] != 2:
        raise ValueError(f"flows must both be (2, H, W), got {tuple(backward.shape)}")
    exact = devices.exact_dtype(backward.device)
    back, fwd = backward.to(exact), forward.to(exact)
    carried = warp(fwd, back).to(exact)
    round_trip = (carried + back).square().sum(0)
    spread = carried.square().sum(0) + back.square().sum(0)
    consistent = round_trip <= CONSISTENCY_RELATIVE * spread + CONSISTENCY_ABSOLUTE
    boundary = _gradient_norm2(back) > (
        BOUNDARY_RELATIVE * back.square().sum(0) + BOUNDARY_ABSOLUTE
    )
    return (consistent & ~boundary & inside(back)).float()


def resize_flow(flow: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """A flow at another size: the field resampled and its vectors scaled with it."""
    if tuple(flow.shape[-2:]) == (height, width):
        return flow
    h0, w0 = flow.shape[-2:]
    out = F.interpolate(flow[None], size=(height, width), mode="bilinear", align_corners=True)[0]
    out[0] *= (width - 1) / max(w0 - 1, 1)
    out[1] *= (height - 1) / max(h0 - 1, 1)
    return out
