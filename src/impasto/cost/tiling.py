"""Cutting a big picture into overlapping tiles whose features are exactly the whole's.

A tile is a *core* (the positions it owns) plus a *halo* of at least the network's receptive
radius, so every feature the tile owns sees the same pixels it would see in the whole picture.
Cores start on the deepest pooling grid (``VGGFeatures.align``) so tiles pool like the whole.
Each position of each layer is owned by exactly one tile; sums over owned positions (content
cost, style moments) therefore add up to the whole picture's, and so do their gradients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Tile:
    """Pixel boxes as (top, bottom, left, right): ``crop`` is what the network sees."""

    crop: tuple[int, int, int, int]
    core: tuple[int, int, int, int]

    def owned(self, stride: int) -> tuple[slice, slice]:
        """The positions this tile owns in the crop's feature map at ``stride``."""
        top, _, left, _ = self.crop
        ct, cb, cl, cr = self.core
        rows = slice((ct - top) // stride, math.ceil((cb - top) / stride))
        cols = slice((cl - left) // stride, math.ceil((cr - left) / stride))
        return rows, cols

    def global_owned(self, stride: int) -> tuple[slice, slice]:
        """The same positions in the whole picture's feature map."""
        ct, cb, cl, cr = self.core
        return (
            slice(ct // stride, math.ceil(cb / stride)),
            slice(cl // stride, math.ceil(cr / stride)),
        )


def _cuts(length: int, core: int, align: int) -> list[int]:
    """Core boundaries along one axis: multiples of ``align``, cores at most ``core`` long."""
    core = max(align, core // align * align)
    count = math.ceil(length / core)
    # Spread the cores evenly (on the grid) rather than leaving a sliver at the end.
    step = math.ceil(length / count / align) * align
    cuts = list(range(0, length, step)) + [length]
    return cuts


def plan_tiles(height: int, width: int, core: int, halo: int, align: int) -> list[Tile]:
    """Tiles covering a (height, width) picture with cores of at most ``core`` pixels a side.

    ``halo`` is rounded up to ``align`` so that crops start on the pooling grid too.
    """
    halo = math.ceil(halo / align) * align
    rows, cols = _cuts(height, core, align), _cuts(width, core, align)
    tiles = []
    for top, bottom in zip(rows, rows[1:]):
        for left, right in zip(cols, cols[1:]):
            crop = (max(0, top - halo), min(height, bottom + halo)) + (
                max(0, left - halo),
                min(width, right + halo),
            )
            tiles.append(Tile(crop, (top, bottom, left, right)))
    return tiles
