"""A contact sheet: every result of the batch as a thumbnail on one PNG.

A grid batch is laid out as its grid (a row per content, a column per style); any other
batch row by row. Each thumbnail has its output's name under it; a job without a picture
(failed, or not painted yet) is a grey tile saying so.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from ...files import write_atomic
from .plan import Plan

SHEET_NAME = "contact-sheet.png"
_MARK = "impasto"  # a PNG text chunk: this file is a batch's contact sheet
THUMB = 160  # px, the long side of a thumbnail
CAPTION = 14  # px under each thumbnail
GAP = 6
MAX_COLUMNS = 6


def contact_sheet(plan: Plan, statuses: dict[str, str]) -> Path:
    """Write the sheet into the output folder (atomically) and return its path."""
    names = [entry.name for entry in plan.jobs]
    if plan.grid is not None and len(plan.grid[0]) * len(plan.grid[1]) == len(names):
        columns = len(plan.grid[1])
    else:
        columns = min(MAX_COLUMNS, max(1, math.ceil(math.sqrt(len(names)))))
    rows = max(1, math.ceil(len(names) / columns))
    cell_w, cell_h = THUMB + GAP, THUMB + CAPTION + GAP
    sheet = Image.new("RGB", (columns * cell_w + GAP, rows * cell_h + GAP), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, name in enumerate(names):
        x = GAP + (index % columns) * cell_w
        y = GAP + (index // columns) * cell_h
        thumb = _thumbnail(plan.output.folder / name, statuses.get(name, "pending"))
        sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y + (THUMB - thumb.height) // 2))
        draw.text((x, y + THUMB + 1), _fit(name, draw, font), fill="black", font=font)
    path = plan.output.folder / SHEET_NAME
    buffer = io.BytesIO()
    mark = PngImagePlugin.PngInfo()
    mark.add_text(_MARK, "contact sheet")  # so that the next batch knows it may replace it
    sheet.save(buffer, format="PNG", pnginfo=mark)
    write_atomic(path, buffer.getvalue())
    return path


def is_sheet(path: Path) -> bool:
    """Whether ``path`` holds a contact sheet a batch drew (which the next one replaces)."""
    try:
        with Image.open(path) as image:
            return getattr(image, "text", {}).get(_MARK) == "contact sheet"
    except (OSError, ValueError, SyntaxError):
        return False


def _thumbnail(path: Path, status: str) -> Image.Image:
    if status in ("done", "skipped"):
        try:
            with Image.open(path) as image:
                image.thumbnail((THUMB, THUMB))
                return image.convert("RGB")
        except OSError:
            status = "unreadable"
    tile = Image.new("RGB", (THUMB, THUMB), (200, 200, 200))
    ImageDraw.Draw(tile).text((8, THUMB // 2 - 6), status, fill=(90, 0, 0))
    return tile


def _fit(text: str, draw: ImageDraw.ImageDraw, font) -> str:
    """The caption, cut with '...' to the thumbnail's width."""
    if draw.textlength(text, font=font) <= THUMB:
        return text
    while text and draw.textlength(text + "...", font=font) > THUMB:
        text = text[:-1]
    return text + "..."
