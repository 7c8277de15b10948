"""What single units see: their receptive fields, and the image patches that excite them
most (Zeiler & Fergus 2013: the nine patches per unit of "What are deep ConvNets learning?")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..config import (
    PATCH_SIZE,
)
from ..errors import ConfigError
from ..network import layers
from ..network.layers import layer_names
from ..network.vgg import VGGFeatures, device_of
from .networks import shrink, sub_network

SEPARATION = 0.5  # chosen patches of one unit and image lie this many fields apart, at least
OUTSIDE = 0.5  # grey shown where a receptive field hangs over the image border
# ---------------------------------------------------------------- receptive fields


def receptive_field(arch: str, layer: str) -> tuple[int, int, int]:
    """(size, stride, offset) in input pixels of one unit of ``layer`` in ``arch``.

    Unit (y, x) sees the square of side ``size`` whose top-left pixel is
    (offset + y * stride, offset + x * stride); offset is <= 0 because fields hang over the
    border (padding). E.g. vgg16 relu1_1: (3, 1, -1); relu3_1: (24, 4, -10).
    """
    return layers.receptive_field(layer_names(arch), layer)


def _box(field: tuple[int, int, int], y: int, x: int, height: int, width: int):
    size, stride, offset = field
    top, left = offset + y * stride, offset + x * stride
    return max(top, 0), max(left, 0), min(top + size, height), min(left + size, width)


def patch_box(
    arch: str, layer: str, y: int, x: int, height: int, width: int
) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) pixels, end exclusive, that unit (y, x) of ``layer`` sees,
    clipped to an image of ``height`` x ``width``."""
    return _box(receptive_field(arch, layer), y, x, height, width)


# ---------------------------------------------------------------- top patches


@dataclass(frozen=True)
class Patch:
    """Where one unit fired: image index, position in the activation map, value, pixel box."""

    image: int
    y: int
    x: int
    activation: float
    box: tuple[int, int, int, int]  # (top, left, bottom, right) in the shrunk image, clipped


@dataclass
class UnitPatches:
    """The patches that excite one unit most, strongest first, with their pixels."""

    layer: str
    unit: int
    field: int  # receptive field side in pixels
    patches: list[Patch]
    crops: list[torch.Tensor]  # (3, field, field) each: the whole field, grey outside the image


def _separated_maxima(act: torch.Tensor, k: int, radius: int):
    """Greedy top-k per channel of (C, h, w), each pick ruling out cells closer than ``radius``.

    Returns values, ys, xs, each (C, k); values are -inf where the map ran out of cells. Only the
    top k (2 radius - 1)^2 cells can be picked (each pick rules out at most that many), so the
    greedy loop runs on those alone.
    """
    c, h, w = act.shape
    n = min(h * w, k * (2 * radius - 1) ** 2)
    values, pos = act.reshape(c, h * w).topk(n, dim=1)
    ys, xs = pos // w, pos % w
    alive = torch.isfinite(values)
    picked = []
    for _ in range(k):
        first = alive.byte().argmax(1, keepdim=True)  # the strongest cell still allowed
        ok = alive.gather(1, first)
        y, x = ys.gather(1, first), xs.gather(1, first)
        picked.append((values.gather(1, first).masked_fill(~ok, -math.inf), y, x))
        alive &= ~((ys - y).abs().lt(radius) & (xs - x).abs().lt(radius))
    return (torch.cat(t, 1) for t in zip(*picked))


def _inside(act: torch.Tensor, field: tuple[int, int, int], height: int, width: int):
    """``act`` with -inf where a unit's field hangs over the border (if any unit's does not).

    Departure from a plain argmax: with padding, many units fire hardest at the border, which
    shows the padding rather than what they detect in a picture.
    """
    size, stride, offset = field
    out = act.clone()
    for dim, extent in ((1, height), (2, width)):
        start = offset + stride * torch.arange(act.shape[dim], device=act.device)
        bad = (start < 0) | (start + size > extent)
        if not bad.all():
            out.index_fill_(dim, bad.nonzero().flatten(), -math.inf)
    return out


def _merge(best, new, k: int):
    """Keep the k largest of two (values, image, y, x) candidate sets, each of shape (C, n)."""
    if best is None:
        joined = new
    else:
        joined = [torch.cat(pair, 1) for pair in zip(best, new)]
    order = joined[0].topk(min(k, joined[0].shape[1]), dim=1).indices
    return [t.gather(1, order) for t in joined]


def _crop(image: torch.Tensor, field: tuple[int, int, int], y: int, x: int) -> torch.Tensor:
    """The unit's whole field (3, size, size), grey where it hangs over the border, so the unit
    sits at the centre of every crop."""
    size, stride, offset = field
    top, left = offset + y * stride, offset + x * stride
    crop = torch.full((3, size, size), OUTSIDE, device=image.device)
    t, lf, b, r = _box(field, y, x, *image.shape[-2:])
    crop[:, t - top : b - top, lf - left : r - left] = image[:, t:b, lf:r]
    return crop


def _check_units(units: Sequence[int], channels: int, layer: str) -> None:
    bad = [u for u in units if not 0 <= u < channels]
    if bad:
        raise ConfigError(f"{layer} has units 0..{channels - 1}; got {', '.join(map(str, bad))}")


def top_patches(
    net: VGGFeatures,
    images: Sequence[torch.Tensor],
    layer: str,
    units: Sequence[int] | None = None,
    n_units: int = 8,
    per_unit: int = 9,
    size: int = PATCH_SIZE,
    separation: float = SEPARATION,
    inside: bool = True,
) -> list[UnitPatches]:
    """The ``per_unit`` patches of ``images`` that excite each unit of ``layer`` most.

    ``units`` picks channels; by default the ``n_units`` most active ones (largest mean of their
    top activations), skipping a unit whose patches mostly coincide with a stronger chosen one's.
    Each image (3, H, W) in 0..1 is first shrunk to a long side of ``size``; boxes refer to that
    shrunk image. One image is in memory at a time, so ``images`` may be a lazy sequence over a
    whole folder; only the images holding chosen patches are read a second time, for the crops.

    Near-duplicates: a unit's patches from one image have field centres at least ``separation``
    fields apart (greedy non-maximum suppression), so the nine are not nine shifts of the one
    strongest spot, while one striking image may still give several. ``inside`` keeps to
    positions whose whole field lies in the image (when the image is larger than a field).
    """
    if per_unit < 1 or n_units < 1 or (units is not None and len(units) == 0):
        raise ConfigError(f"need at least one unit and one patch (got {n_units}, {per_unit})")
    if len(images) == 0:
        raise ConfigError("no images to search for patches")
    sub = sub_network(net, [layer])
    device = device_of(sub)
    field = layers.receptive_field(sub.names, layer)
    radius = max(1, math.ceil(separation * field[0] / field[1]))
    best = None
    with torch.no_grad():
        for index in range(len(images)):
            image = shrink(images[index], size)
            act = sub(image.to(device))[layer][0].cpu()  # the search is cheap: on the CPU
            if best is None and units is not None:
                _check_units(units, act.shape[0], layer)
            if units is not None:
                act = act[list(units)]
            if inside:
                act = _inside(act, field, *image.shape[-2:])
            values, ys, xs = _separated_maxima(act, per_unit, radius)
            best = _merge(best, [values, torch.full_like(ys, index), ys, xs], per_unit)
    assert best is not None  # images is not empty
    if units is None:
        units = _distinct_units(best, n_units, radius)
        best = [t[units] for t in best]
    return _collect(images, size, layer, field, list(units), best)


def _distinct_units(best, n: int, radius: int) -> list[int]:
    """The n most active channels, passing over one whose patches mostly sit where a stronger
    chosen channel's do (it would show the same thing again)."""
    values, image_ix, ys, xs = best
    score = values.nan_to_num(neginf=0.0).clamp_min(0).mean(1)
    chosen: list[int] = []
    passed: list[int] = []
    for unit in score.argsort(descending=True).tolist():
        if len(chosen) == n:
            break
        same = torch.zeros(values.shape[1], dtype=torch.bool, device=values.device)
        for other in chosen:
            same |= (
                (image_ix[unit, :, None] == image_ix[other, None, :])
                & (ys[unit, :, None] - ys[other, None, :]).abs().lt(radius)
                & (xs[unit, :, None] - xs[other, None, :]).abs().lt(radius)
            ).any(1)
        (passed if 2 * int(same.sum()) > values.shape[1] else chosen).append(unit)
    return chosen + passed[: n - len(chosen)]


def _collect(images, size, layer, field, units, best) -> list[UnitPatches]:
    """Patches and crops of the kept candidates: the second pass over the images."""
    values, image_ix, ys, xs = (t.tolist() for t in best)
    picks = [
        [(i, y, x, v) for v, i, y, x in zip(*row) if math.isfinite(v)]
        for row in zip(values, image_ix, ys, xs)
    ]
    crops: dict[tuple[int, int, int], torch.Tensor] = {}
    boxes: dict[tuple[int, int, int], tuple[int, int, int, int]] = {}
    for index in sorted({p[0] for row in picks for p in row}):
        image = shrink(images[index], size)
        for i, y, x, _ in (p for row in picks for p in row if p[0] == index):
            crops[(i, y, x)] = _crop(image, field, y, x)
            boxes[(i, y, x)] = _box(field, y, x, *image.shape[-2:])
    return [
        UnitPatches(
            layer,
            unit,
            field[0],
            [Patch(i, y, x, v, boxes[(i, y, x)]) for i, y, x, v in row],
            [crops[(i, y, x)] for i, y, x, _ in row],
        )
        for unit, row in zip(units, picks)
    ]
