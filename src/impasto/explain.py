"""What the network sees: top patches per unit, style matrices, single-layer reconstructions.

The seeds open with "What are deep ConvNets learning?" (Zeiler & Fergus 2013: the nine patches
that excite a unit most) and Gatys et al. 2015, Fig. 1 (images reconstructed from one layer's
activations, and from the Gram matrices of growing sets of layers). These functions show both with
the very network that stylises. They return the data and pictures as (3, H, W) tensors in 0..1
and never print; ``explain_cli.py`` turns them into files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from . import losses
from .config import STYLE_LAYERS, StyleConfig
from .errors import ConfigError
from .features import VGGFeatures, layer_names
from .image import resize_long_side, resize_to
from .stylize import Progress, stylize

PATCH_SIZE = 512  # long side the images are shrunk to before their patches are searched
SEPARATION = 0.5  # chosen patches of one unit and image lie this many fields apart, at least
BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
OUTSIDE = 0.5  # grey shown where a receptive field hangs over the image border

# ---------------------------------------------------------------- receptive fields


def _field(names: Sequence[str], layer: str) -> tuple[int, int, int]:
    """(size, stride, offset) of ``layer`` from the layer list up to it; see receptive_field."""
    if layer not in names:
        raise ConfigError(f"layer {layer!r} is not in this network (it has up to {names[-1]})")
    size, jump, centre = 1, 1, 0.0  # centre: of unit 0's field, in input pixels
    for name in names[: list(names).index(layer) + 1]:
        if name.startswith("conv"):  # 3x3, padding 1: one more neighbour each side
            size += 2 * jump
        elif name.startswith("pool"):  # 2x2, stride 2: the field grows by one step
            size += jump
            centre += jump / 2
            jump *= 2
    return size, jump, int(centre - (size - 1) / 2)


def receptive_field(arch: str, layer: str) -> tuple[int, int, int]:
    """(size, stride, offset) in input pixels of one unit of ``layer`` in ``arch``.

    Unit (y, x) sees the square of side ``size`` whose top-left pixel is
    (offset + y * stride, offset + x * stride); offset is <= 0 because fields hang over the
    border (padding). E.g. vgg16 relu1_1: (3, 1, -1); relu3_1: (24, 4, -8).
    """
    return _field(layer_names(arch), layer)


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


# ---------------------------------------------------------------- networks


def _arch(net: VGGFeatures) -> str:
    # VGGFeatures keeps its layer list, not its name; the lists part at conv3_4 (vgg19 only).
    return "vgg19" if "conv3_4" in net.names else "vgg16"


def _sub_network(net: VGGFeatures, layers: Sequence[str]) -> VGGFeatures:
    """The same weights, returning ``layers`` and stopping at the deepest of them.

    Lets one network built for relu5_1 explain relu1_1 without paying for the layers below.
    """
    for layer in layers:
        if layer not in net.names:
            raise ConfigError(
                f"layer {layer!r} is deeper than this network was built for (up to {net.names[-1]})"
            )
    if tuple(layers) == net.layers:
        return net
    state = {}
    for name, conv in net.convs.items():
        state[f"{name}.weight"], state[f"{name}.bias"] = conv.weight, conv.bias
    pooling = "max" if net.pool is F.max_pool2d else "avg"
    return VGGFeatures(state, _arch(net), net.convention, layers, pooling)


def _shrink(image: torch.Tensor, size: int) -> torch.Tensor:
    """``image`` with its long side at most ``size`` (never enlarged)."""
    return resize_long_side(image, size) if max(image.shape[-2:]) > size else image


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
        start = offset + stride * torch.arange(act.shape[dim])
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
    crop = torch.full((3, size, size), OUTSIDE)
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
    strongest spot, while one striking image may still give several. ``inside`` keeps to units
    whose whole field lies in the image (when the image is larger than a field).
    """
    if per_unit < 1 or n_units < 1:
        raise ConfigError(f"need at least one unit and one patch (got {n_units}, {per_unit})")
    if len(images) == 0:
        raise ConfigError("no images to search for patches")
    sub = _sub_network(net, [layer])
    field = _field(sub.names, layer)
    radius = max(1, math.ceil(separation * field[0] / field[1]))
    best = None
    with torch.no_grad():
        for index in range(len(images)):
            image = _shrink(images[index], size)
            act = sub(image)[layer][0]
            if best is None and units is not None:
                _check_units(units, act.shape[0], layer)
            if units is not None:
                act = act[list(units)]
            if inside:
                act = _inside(act, field, *image.shape[-2:])
            values, ys, xs = _separated_maxima(act, per_unit, radius)
            best = _merge(best, [values, torch.full_like(ys, index), ys, xs], per_unit)
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
        same = torch.zeros(values.shape[1], dtype=torch.bool)
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
        image = _shrink(images[index], size)
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


# ---------------------------------------------------------------- drawing helpers


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow < 10.1 or no FreeType: the small bitmap font
        return ImageFont.load_default()


def _to_pil(image: torch.Tensor) -> Image.Image:
    array = image.detach().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(np.ascontiguousarray(array))


def _from_pil(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def _fit(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Resize to a cell: blocky when enlarging tiny fields a lot, so pixels stay visible."""
    h, w = image.shape[-2:]
    if height >= 3 * h and width >= 3 * w:
        return F.interpolate(image[None], size=(height, width), mode="nearest")[0]
    return resize_to(image, height, width)


def _text_width(draw: ImageDraw.ImageDraw, text: str, font) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


# ---------------------------------------------------------------- units grid


def units_grid(rows: Sequence[UnitPatches], cell: int = 64, gap: int = 3) -> torch.Tensor:
    """One picture: a row per unit with its patches (strongest left), labelled on the left.

    Every field is scaled to ``cell`` pixels, so the label's field size tells how much of the
    image a unit sees; a blank line separates layers.
    """
    if not rows:
        raise ConfigError("no units to draw")
    font, small = _font(14), _font(11)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = [(f"{r.layer} unit {r.unit}", f"field {r.field} px") for r in rows]
    label_w = max(_text_width(probe, t, font) for t, _ in labels) + 12
    per_row = max(len(r.crops) for r in rows)
    breaks = sum(a.layer != b.layer for a, b in zip(rows, rows[1:]))
    width = label_w + per_row * (cell + gap) + gap
    height = gap + len(rows) * (cell + gap) + breaks * cell // 3
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    top = gap
    for i, (row, (title, note)) in enumerate(zip(rows, labels)):
        if i and row.layer != rows[i - 1].layer:
            top += cell // 3
        draw.text((6, top + cell // 2 - 15), title, fill=INK, font=font)
        draw.text((6, top + cell // 2 + 3), note, fill=(90, 90, 90), font=small)
        for j, crop in enumerate(row.crops):
            canvas.paste(_to_pil(_fit(crop, cell, cell)), (label_w + j * (cell + gap), top))
        top += cell + gap
    return _from_pil(canvas)


# ---------------------------------------------------------------- style matrices

GAP = 14
BAR_WIDTH = 64
STYLE_SIZE = 512  # long side of the style image, as stylize's default output size
# Colour maps as anchor colours, interpolated: viridis (0..max) and blue-white-red (-1..1).
SEQUENTIAL = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
DIVERGING = ((33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43))


@dataclass
class StyleMatrices:
    """The style statistics of one layer, for the ``channels`` shown (strongest first)."""

    layer: str
    channels: list[int]  # channel indices, in display order
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
    sub = _sub_network(net, [layer])
    with torch.no_grad():
        act = sub(_shrink(style, size))[layer]
    gram = losses.style_matrix(act, "gram")[0]
    correlation = losses.style_matrix(act, "correlation")[0]
    channels = gram.diagonal().argsort(descending=True)[:max_channels]
    channels = channels[_spectral_order(correlation[channels[:, None], channels[None, :]])]
    index = channels[:, None], channels[None, :]
    return StyleMatrices(layer, channels.tolist(), act.shape[1], gram[index], correlation[index])


def _colour(values: torch.Tensor, anchors, low: float, high: float) -> torch.Tensor:
    """(h, w) values -> (3, h, w) colours by linear interpolation between anchor colours."""
    table = torch.tensor(anchors, dtype=torch.float32) / 255.0
    t = ((values - low) / max(high - low, 1e-12)).clamp(0, 1) * (len(anchors) - 1)
    i = t.floor().long().clamp(max=len(anchors) - 2)
    f = (t - i).unsqueeze(-1)
    return (table[i] * (1 - f) + table[i + 1] * f).permute(2, 0, 1)


def _heatmap(matrix, anchors, low, high, side: int) -> Image.Image:
    cells = _colour(matrix, anchors, low, high)
    return _to_pil(F.interpolate(cells[None], size=(side, side), mode="nearest")[0])


def _colour_bar(anchors, labels: Sequence[str], height: int, font) -> Image.Image:
    """A vertical bar, top = high, with ``labels`` spread from top to bottom beside it."""
    ramp = torch.linspace(1, 0, height)[:, None].expand(height, 12)
    out = Image.new("RGB", (BAR_WIDTH, height + 12), BACKGROUND)
    out.paste(_to_pil(_colour(ramp, anchors, 0.0, 1.0)), (0, 6))
    draw = ImageDraw.Draw(out)
    for k, text in enumerate(labels):
        y = 6 + round(k * (height - 1) / (len(labels) - 1))
        draw.line((12, y, 15, y), fill=INK)
        draw.text((17, y), text, fill=INK, font=font, anchor="lm")
    return out


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _spectral_order(correlation: torch.Tensor) -> torch.Tensor:
    """An order that puts channels which fire together next to each other, so blocks show.

    Sorts by the Fiedler vector of the graph whose edge weights are the positive correlations.
    """
    weights = correlation.clamp_min(0).double()
    weights.fill_diagonal_(0)
    laplacian = torch.diag(weights.sum(1)) - weights
    _, vectors = torch.linalg.eigh(laplacian)
    return vectors[:, 1].argsort()


def _style_row(stats: StyleMatrices, side: int) -> Image.Image:
    """Gram heat map + bar | correlation heat map + bar, with titles."""
    font, small = _font(14), _font(11)
    # sqrt: the diagonal dwarfs the rest; on a square-root scale the off-diagonal shows too.
    peak = float(stats.gram.max().clamp_min(1e-12))
    gram = _heatmap(stats.gram.clamp_min(0).div(peak).sqrt(), SEQUENTIAL, 0.0, 1.0, side)
    ticks = [_number(peak * q * q) for q in (1, 0.75, 0.5, 0.25, 0)]
    corr = _heatmap(stats.correlation, DIVERGING, -1.0, 1.0, side)
    shown = f"{len(stats.channels)} of {stats.total} channels"
    panels = [
        (gram, f"{stats.layer}: Gram matrix G/(HW)", f"{shown}, square-root colour scale"),
        (_colour_bar(SEQUENTIAL, ticks, side, small), "", ""),
        (corr, f"{stats.layer}: channel correlation", "which channels fire together"),
        (_colour_bar(DIVERGING, ["1", "0.5", "0", "-0.5", "-1"], side, small), "", ""),
    ]
    head = 40
    width = sum(p.width for p, _, _ in panels) + GAP * len(panels)
    canvas = Image.new("RGB", (width, side + head + GAP), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    x = 0
    for panel, title, note in panels:
        canvas.paste(panel, (x, head - (panel.height - side) // 2))
        draw.text((x, 4), title, fill=INK, font=font)
        draw.text((x, 22), note, fill=(90, 90, 90), font=small)
        x += panel.width + (4 if title else GAP)
    return canvas


def style_heatmaps(
    net: VGGFeatures,
    style: torch.Tensor,
    layers: str | Sequence[str],
    max_channels: int = 64,
    size: int = STYLE_SIZE,
    side: int = 320,
) -> torch.Tensor:
    """What "style" is for ``style``: the painting, then per layer the Gram matrix and the
    channel correlations as heat maps ``side`` pixels square, with colour bars and titles."""
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise ConfigError("no layers to show")
    rows = [_style_row(style_matrices(net, style, la, max_channels, size), side) for la in layers]
    h, w = style.shape[-2:]
    thumb_w = max(1, round(w * side / h)) if h >= w else side
    thumb = _to_pil(resize_to(style, max(1, round(h * thumb_w / w)), thumb_w))
    width = GAP + thumb.width + 2 * GAP + max(r.width for r in rows)
    height = max(sum(r.height for r in rows), thumb.height + 40 + GAP) + GAP
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, GAP + 4), "style image", fill=INK, font=_font(14))
    canvas.paste(thumb, (GAP, GAP + 40))
    top = GAP
    for row in rows:
        canvas.paste(row, (thumb.width + 3 * GAP, top))
        top += row.height
    return _from_pil(canvas)


# ---------------------------------------------------------------- reconstructions

RECONSTRUCT_SIZE = 192
RECONSTRUCT_ITERATIONS = 120
ProgressCallback = Callable[[Progress], None]


def _config(size: int, iterations: int, seed: int, coarse: bool, **kw) -> StyleConfig:
    """Noise start and L-BFGS, as in Gatys et al. Fig. 1; ``coarse`` adds two smaller scales.

    Coarse to fine costs about what ``iterations`` at full size do (the final scale gets 45% of
    them, each coarser one 1.5 times more at half the pixels): 96->136->192 px reached a lower
    content cost than 400 single-scale iterations at 192 px, and the layout reads much better.
    """
    if coarse:
        final = max(1, round(0.45 * iterations))
        return StyleConfig(
            size=size, iterations=final, min_size=size // 2, init="noise", seed=seed, **kw
        )
    return StyleConfig(size=size, iterations=iterations, min_size=0, init="noise", seed=seed, **kw)


def reconstruct_content(
    net: VGGFeatures,
    content: torch.Tensor,
    layer: str,
    iterations: int = RECONSTRUCT_ITERATIONS,
    size: int = RECONSTRUCT_SIZE,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> torch.Tensor:
    """An image (3, h, w) in 0..1 whose ``layer`` activations match those of ``content``.

    Starts from noise and runs L-BFGS on the content cost alone, coarse to fine up to a long
    side of ``size``. Shallow layers give back the photo; deep ones keep the layout and lose
    the exact pixels and colours. Departure from Gatys et al.: they optimise at one size; the
    coarse start converges further in the same time, at the price of a smoother image.
    """
    config = _config(
        size,
        iterations,
        seed,
        True,
        content_layers=(layer,),
        style_layers=(layer,),  # must not be empty; weight 0, so it only sets the depth
        style_weight=0.0,
    )
    return stylize(
        content, [content], config, network=_sub_network(net, [layer]), progress=progress
    )


def reconstruct_style(
    net: VGGFeatures,
    style: torch.Tensor,
    layers: Sequence[str],
    iterations: int = RECONSTRUCT_ITERATIONS,
    size: int = RECONSTRUCT_SIZE,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    like: torch.Tensor | None = None,
) -> torch.Tensor:
    """A texture (3, h, w) in 0..1 whose Gram matrices at ``layers`` match those of ``style``.

    Starts from noise and runs L-BFGS on the style cost alone, at one size: a coarse start
    would print its own large blobs into textures from shallow layers, which do not constrain
    large scales, and hide how the texture grows with depth. The output has the shape of
    ``like`` (default: the style image) at a long side of ``size``; the style image is seen at
    that size too, as in a stylisation.
    """
    layers = tuple(layers)
    if not layers:
        raise ConfigError("no style layers to reconstruct from")
    config = _config(
        size,
        iterations,
        seed,
        content_layers=(),
        content_weight=0.0,
        style_layers=layers,
        style_weight=1.0,
    )
    canvas = style if like is None else like
    return stylize(canvas, [style], config, network=_sub_network(net, layers), progress=progress)


@dataclass
class Reconstructions:
    """Gatys et al. Fig. 1 data: content from each layer alone, style from growing sets."""

    layers: tuple[str, ...]
    content: list[torch.Tensor]  # content[i]: from layers[i] alone, (3, h, w) in 0..1
    style: list[torch.Tensor]  # style[i]: from the Gram matrices of layers[: i + 1]


def reconstruct_layers(
    net: VGGFeatures,
    content: torch.Tensor,
    style: torch.Tensor,
    layers: Sequence[str] = STYLE_LAYERS,
    iterations: int = RECONSTRUCT_ITERATIONS,
    size: int = RECONSTRUCT_SIZE,
    seed: int = 0,
    progress: Callable[[str, Progress], None] | None = None,
) -> Reconstructions:
    """Both rows of Fig. 1; ``progress`` hears which reconstruction is running, e.g.
    ``"content from relu3_1 (3/10)"``, with stylize's Progress."""
    layers = tuple(layers)
    if not layers:
        raise ConfigError("no layers to reconstruct from")
    total = 2 * len(layers)
    done = 0

    def report(label: str) -> ProgressCallback | None:
        nonlocal done
        done += 1
        text = f"{label} ({done}/{total})"
        return None if progress is None else (lambda p: progress(text, p))

    rows = Reconstructions(layers, [], [])
    for layer in layers:
        cb = report(f"content from {layer}")
        rows.content.append(reconstruct_content(net, content, layer, iterations, size, seed, cb))
    for i, layer in enumerate(layers):
        cb = report(f"style from {layers[0]}..{layer}" if i else f"style from {layer}")
        rows.style.append(
            reconstruct_style(net, style, layers[: i + 1], iterations, size, seed, cb, content)
        )
    return rows


def layers_figure(
    content: torch.Tensor, style: torch.Tensor, rows: Reconstructions, cell: int = 192
) -> torch.Tensor:
    """Fig. 1 of Gatys et al. as one picture: the inputs, then content reconstructions from
    each layer (detail fades with depth) and style reconstructions from growing sets of layers
    (the texture grows in scale). Every picture is ``cell`` pixels high."""
    font, small = _font(14), _font(12)
    width = lambda im: max(1, round(im.shape[-1] * cell / im.shape[-2]))  # noqa: E731
    first = max(width(content), width(style))
    step = max(width(im) for im in rows.content + rows.style)
    head, gap = 44, GAP
    canvas = Image.new(
        "RGB",
        (gap + first + 2 * gap + len(rows.layers) * (step + gap), 2 * (head + cell + gap)),
        BACKGROUND,
    )
    draw = ImageDraw.Draw(canvas)
    titles = (
        "Content reconstructions: an image with the same activations in one layer",
        "Style reconstructions: an image with the same Gram matrices in these layers",
    )
    inputs = (("content image", content), ("style image", style))
    for r, (title, (name, source), images) in enumerate(
        zip(titles, inputs, (rows.content, rows.style))
    ):
        top = r * (head + cell + gap)
        draw.text((gap, top + 4), title, fill=INK, font=font)
        labels = [name] + [
            layer if r == 0 or i == 0 else f"+ {layer}" for i, layer in enumerate(rows.layers)
        ]
        pictures = [source] + list(images)
        x = gap
        for k, (label, picture) in enumerate(zip(labels, pictures)):
            draw.text((x, top + head - 18), label, fill=INK, font=small)
            canvas.paste(_to_pil(resize_to(picture, cell, width(picture))), (x, top + head))
            x += (first + 2 * gap) if k == 0 else (step + gap)
    return _from_pil(canvas)
