"""Cutting a big picture into overlapping tiles whose features are exactly the whole's.

A tile is a *core* (the positions it owns) plus a *halo* of at least the network's receptive
radius, so every feature the tile owns sees the same pixels it would see in the whole picture.
Cores start on the deepest pooling grid (``VGGFeatures.align``) so tiles pool like the whole.
Each position of each layer is owned by exactly one tile; sums over owned positions (content
cost, style moments) therefore add up to the whole picture's, and so do their gradients.
"""

from __future__ import annotations

import math
from collections import Counter
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


def _step(length: int, core: int, align: int) -> int:
    """The distance between core boundaries along one axis (a multiple of ``align``)."""
    core = max(align, core // align * align)
    count = -(-length // core)
    # Spread the cores evenly (on the grid) rather than leaving a sliver at the end.
    return -(-length // (count * align)) * align


def _cuts(length: int, core: int, align: int) -> list[int]:
    """Core boundaries along one axis: multiples of ``align``, cores at most ``core`` long."""
    return list(range(0, length, _step(length, core, align))) + [length]


def crop_lengths(length: int, core: int, halo: int, align: int) -> Counter[int]:
    """How many of ``plan_tiles``'s crops have each length along one axis, by arithmetic: the
    memory budget asks this of sizes that would have millions of tiles, and lists none."""
    halo = math.ceil(halo / align) * align
    step = _step(length, core, align)
    count = -(-length // step)
    edge = halo // step + 2  # crops this close to an end may be cut short by it
    ends = range(count) if count <= 2 * edge else [*range(edge), *range(count - edge, count)]
    lengths: Counter[int] = Counter()
    for k in ends:
        top, bottom = k * step, min(length, (k + 1) * step)
        lengths[min(length, bottom + halo) - max(0, top - halo)] += 1
    if count > 2 * edge:  # the rest, in the middle, are a whole core and both halos
        lengths[step + 2 * halo] += count - 2 * edge
    return lengths


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
