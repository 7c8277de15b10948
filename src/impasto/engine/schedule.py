"""The coarse-to-fine plan: which sizes to optimise at, and how many iterations at each.

Most iterations happen where pixels are cheap: each coarser scale has half the pixels of the
next one (a factor sqrt(2) on each side) and gets ``growth`` times its iterations, so the
whole plan costs about as much as ``iterations / (1 - growth / 2)`` final-size iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import PRESETS, StyleConfig
from ..errors import ConfigError
from ..ops.resize import output_size
from ..ranges import parse_schedule


@dataclass(frozen=True)
class Scale:
    """One stage of the plan: the long side in pixels and the iterations spent there."""

    size: int
    iterations: int


MAX_GROWTH_STEPS = 4


GROWTH = 1.2  # measured: 1.5 spent a third of the run on coarse scales that had converged


def plan(size: int, min_size: int, iterations: int, growth: float = GROWTH) -> list[Scale]:
    """Long sides from ``min_size`` up to ``size`` by factors of about sqrt(2).

    ``iterations`` is the count at the final size; each coarser scale gets ``growth`` times the
    next finer one, up to ``growth**MAX_GROWTH_STEPS`` times (83 for 40): by then a coarse
    scale has converged, and a 4096 px plan would not spend most of its iterations on thumbnails.
    ``min_size`` of 0, or not below ``size``, gives a single scale.
    """
    if size < 1 or iterations < 1:
        raise ConfigError(f"size and iterations must be positive (got {size}, {iterations})")
    if min_size <= 0 or min_size >= size:
        return [Scale(size, iterations)]
    steps = max(1, round(2 * math.log2(size / min_size)))
    sizes = [round(size / 2 ** (k / 2)) for k in range(steps, -1, -1)]
    sizes[0] = max(sizes[0], 1)
    return [
        Scale(s, max(1, round(iterations * growth ** min(len(sizes) - 1 - k, MAX_GROWTH_STEPS))))
        for k, s in enumerate(sizes)
    ]


def parse(text: str) -> list[Scale]:
    """Parse an explicit plan such as ``"128:150,256:80,512:30"`` (long side:iterations);
    ``ranges.parse_schedule`` makes the checks, the same as a StyleConfig's."""
    return [Scale(size, iters) for size, iters in parse_schedule(text)]


def describe(scales: list[Scale]) -> str:
    """One line such as ``128px x150 -> 256px x80 -> 512px x30``."""
    return " -> ".join(f"{s.size}px x{s.iterations}" for s in scales)


def plan_for(config: StyleConfig) -> list[Scale]:
    """The schedule a config asks for: explicit, or planned from size, min_size, iterations
    and the preset's multiplier."""
    if config.schedule:
        return parse(config.schedule)
    iterations = max(1, round(config.iterations * PRESETS[config.preset]))
    return plan(config.size, config.min_size, iterations)


MIN_SIDE = 16
"""The shortest side worth optimising: below it, the smoothing term and the deeper layers see
almost nothing, and a 1-pixel side has no neighbours at all."""


def fit(scales: list[Scale], content_hw: tuple[int, int]) -> list[Scale]:
    """The plan for a content of this shape: coarse scales whose short side would fall below
    ``MIN_SIDE`` are dropped (their iterations go nowhere useful); a too-small output is a
    ConfigError naming the size it would have."""
    final = output_size(*content_hw, scales[-1].size)
    if min(final) < MIN_SIDE:
        raise ConfigError(
            f"size {scales[-1].size} gives a {final[1]}x{final[0]} px picture for this "
            f"{content_hw[1]}x{content_hw[0]} content; its short side must be at least "
            f"{MIN_SIDE} px (raise size, or crop the content)"
        )
    return [s for s in scales[:-1] if min(output_size(*content_hw, s.size)) >= MIN_SIDE] + [
        scales[-1]
    ]
