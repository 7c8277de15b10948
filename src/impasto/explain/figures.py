"""What the network sees, as pictures: the units grid, style heat maps, Gatys et al.'s Fig. 1.

Drawing only (Pillow); the numbers come from ``units``, ``style`` and ``reconstruct``. Every
function returns a (3, H, W) tensor in 0..1.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

from ..config import STYLE_SIZE
from ..errors import ConfigError
from ..network.vgg import VGGFeatures
from ..ops.resize import resize_to
from .reconstruct import Reconstructions
from .style import StyleMatrices, style_matrices
from .units import UnitPatches

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
GAP = 14  # pixels between the panels of a figure

# ---------------------------------------------------------------- drawing helpers


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
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


def units_grid(
    rows: Sequence[UnitPatches], cell: int = 64, gap: int = 3, title: str | None = None
) -> torch.Tensor:
    """One picture: a row per unit with its patches (strongest left), labelled on the left.

    Every field is scaled to ``cell`` pixels, so the label's field size tells how much of the
    image a unit sees; a blank line separates layers; ``title`` goes on top.
    """
    if not rows:
        raise ConfigError("no units to draw")
    font, small = _font(14), _font(11)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    labels = [(f"{r.layer} unit {r.unit}", f"field {r.field} px") for r in rows]
    label_w = max(_text_width(probe, t, font) for t, _ in labels) + 12
    per_row = max(len(r.crops) for r in rows)
    breaks = sum(a.layer != b.layer for a, b in zip(rows, rows[1:]))
    head = 30 if title else 0
    width = label_w + per_row * (cell + gap) + gap
    width = max(width, _text_width(probe, title, font) + 12) if title else width
    height = head + gap + len(rows) * (cell + gap) + breaks * cell // 3
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    if title:
        draw.text((6, 8), title, fill=INK, font=font)
    top = head + gap
    for i, (row, (name, note)) in enumerate(zip(rows, labels)):
        if i and row.layer != rows[i - 1].layer:
            top += cell // 3
        draw.text((6, top + cell // 2 - 15), name, fill=INK, font=font)
        draw.text((6, top + cell // 2 + 3), note, fill=(90, 90, 90), font=small)
        for j, crop in enumerate(row.crops):
            canvas.paste(_to_pil(_fit(crop, cell, cell)), (label_w + j * (cell + gap), top))
        top += cell + gap
    return _from_pil(canvas)


# ---------------------------------------------------------------- style matrices

STYLE_NOTE = (
    "Each square is a pair of channels (features): how strongly the two occur together, "
    "averaged over all positions, so where they occur does not matter. That is style in "
    "Gatys et al.: stylising makes these matrices of the output match the painting's, while "
    "a deeper layer keeps the content's layout."
)
BAR_WIDTH = 64
SEQUENTIAL = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
DIVERGING = ((33, 102, 172), (146, 197, 222), (247, 247, 247), (244, 165, 130), (178, 24, 43))


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
        draw.text((17, y - 7), text, fill=INK, font=font)  # no anchors: bitmap fonts lack them
    return out


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


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
    if height - thumb.height > 180:  # room below the painting: say what the squares mean
        text = "\n".join(textwrap.wrap(STYLE_NOTE, width=thumb.width // 7))
        draw.multiline_text(
            (GAP, 2 * GAP + 40 + thumb.height), text, fill=(60, 60, 60), font=_font(12), spacing=4
        )
    top = GAP
    for row in rows:
        canvas.paste(row, (thumb.width + 3 * GAP, top))
        top += row.height
    return _from_pil(canvas)


# ---------------------------------------------------------------- reconstructions


def layers_figure(
    content: torch.Tensor, style: torch.Tensor, rows: Reconstructions, cell: int | None = None
) -> torch.Tensor:
    """Fig. 1 of Gatys et al. as one picture: the inputs, then content reconstructions from
    each layer (detail fades with depth) and style reconstructions from growing sets of layers
    (the texture grows in scale). Every picture is ``cell`` pixels high (default: as made)."""
    cell = cell or max(im.shape[-2] for im in rows.content + rows.style)
    font, small = _font(14), _font(12)

    def width(im: torch.Tensor) -> int:
        return max(1, round(im.shape[-1] * cell / im.shape[-2]))

    figure = [
        (
            "Content reconstructions: an image with the same activations in one layer",
            [("content image", content), *zip(rows.layers, rows.content)],
        ),
        (
            "Style reconstructions: an image with the same Gram matrices in these layers",
            [("style image", style)]
            + [
                (la if i == 0 else f"+ {la}", im)
                for i, (la, im) in enumerate(zip(rows.layers, rows.style))
            ],
        ),
    ]
    columns = [max(width(a[1]), width(b[1])) for a, b in zip(*(cells for _, cells in figure))]
    head = 44
    total = 2 * GAP + sum(columns) + GAP * len(columns)
    canvas = Image.new("RGB", (total, 2 * (head + cell + GAP)), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for r, (title, cells) in enumerate(figure):
        top = r * (head + cell + GAP)
        draw.text((GAP, top + 4), title, fill=INK, font=font)
        x = GAP
        for k, ((label, picture), column) in enumerate(zip(cells, columns)):
            left = x + (column - width(picture)) // 2
            draw.text((left, top + head - 18), label, fill=INK, font=small)
            canvas.paste(_to_pil(resize_to(picture, cell, width(picture))), (left, top + head))
            x += column + (2 * GAP if k == 0 else GAP)  # inputs stand apart
    return _from_pil(canvas)
