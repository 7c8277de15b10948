"""Memory and time estimates, so that a big picture is planned to fit instead of killed.

At each scale impasto needs the network's working memory for one forward and backward pass
(proportional to the pixels it sees at once) plus a few whole-picture vectors (the picture,
its gradient, L-BFGS's history of steps and gradients, the content's features). When that
exceeds the budget, the history is shortened first (it costs only memory) and then the picture
is evaluated in tiles (``tiling.py``), which costs some time but no quality. The constants are
measured on the reference machine (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import torch

from .errors import ConfigError
from .tiling import plan_tiles

GB = 1e9
BASE_BYTES = 0.6 * GB  # Python, torch, the network's weights, the style targets
EVAL_BYTES_PER_PIXEL = 2200  # one forward+backward of VGG-16 to relu5_1 (measured 2050)
PICTURE_BYTES_PER_PIXEL = 12  # one float32 RGB picture
CONTENT_BYTES_PER_PIXEL = 32  # relu4_2's 512 channels at 1/64 of the pixels, float32
WHOLE_PICTURES = 12  # picture, gradient, best so far, L-BFGS's working vectors, copies
HISTORY, MIN_HISTORY = 50, 5
HISTORY_SHARE = 0.25  # of the budget, at most, for L-BFGS's history
DEFAULT_CAP = 8.0  # GB: the default budget never exceeds what an ordinary laptop can spare
TILE_CORES = (1536, 1024, 768, 512, 384, 256)
HALO, ALIGN = 112, 16  # the widest receptive radius (VGG-19 to relu5_1: 100 px) on the pooling grid
SECONDS_PER_PIXEL = 3.3e-6  # one evaluation, 2 threads: measured 0.59 s at 512 px, 2.6 s at 1024
# Tiled, each crop pixel costs 1.75 times as much: the extra forward pass that sums the style
# statistics, and big crops run slower per pixel (measured 20 s for 2048 px in 2 tiles).
TILED_COST = 1.75


def available_memory() -> float:
    """Bytes the system can give this process now (MemAvailable), or its total RAM."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return DEFAULT_CAP * GB


def budget_bytes(max_memory: float) -> float:
    """The memory budget: as asked (GB), else the smaller of 8 GB and what is free."""
    if max_memory > 0:
        return max_memory * GB
    return min(DEFAULT_CAP * GB, 0.9 * available_memory())


@dataclass(frozen=True)
class ScalePlan:
    """How one scale is evaluated: ``tile`` core size (0 = whole), L-BFGS ``history``."""

    height: int
    width: int
    tile: int
    history: int
    memory: float  # bytes, estimated peak
    seconds_per_evaluation: float


def _crop_pixels(height: int, width: int, tile: int) -> tuple[int, int]:
    """(largest crop, sum of crops) in pixels for a tiling, or the whole picture."""
    if not tile or max(height, width) <= tile:
        return height * width, height * width
    tiles = plan_tiles(height, width, tile, HALO, ALIGN)
    areas = [(t.crop[1] - t.crop[0]) * (t.crop[3] - t.crop[2]) for t in tiles]
    return max(areas), sum(areas)


def memory(height: int, width: int, tile: int, history: int) -> float:
    """Estimated peak bytes of a scale evaluated with this tiling and history."""
    pixels = height * width
    largest, _ = _crop_pixels(height, width, tile)
    whole = PICTURE_BYTES_PER_PIXEL * pixels * (WHOLE_PICTURES + 2 * history)
    return BASE_BYTES + EVAL_BYTES_PER_PIXEL * largest + whole + CONTENT_BYTES_PER_PIXEL * pixels


def seconds_per_evaluation(height: int, width: int, tile: int, threads: int) -> float:
    """Estimated time of one cost-and-gradient evaluation."""
    largest, total = _crop_pixels(height, width, tile)
    tiled = total != height * width or largest != total
    work = total * TILED_COST if tiled else total
    return work * SECONDS_PER_PIXEL * 2 / max(1, threads)  # measured with 2 threads


def plan_scale(height: int, width: int, budget: float, tile: int = 0) -> ScalePlan:
    """The fastest way to evaluate a (height, width) picture within ``budget`` bytes.

    ``tile`` > 0 forces tiles of that size. Raises ConfigError when nothing fits.
    """
    threads = torch.get_num_threads()
    pixels = height * width
    room = HISTORY_SHARE * budget / (2 * PICTURE_BYTES_PER_PIXEL * pixels)
    history = int(max(MIN_HISTORY, min(HISTORY, room)))
    candidates = [tile] if tile else [0, *(c for c in TILE_CORES if c < max(height, width))]
    for core in candidates:
        need = memory(height, width, core, history)
        if need <= budget:
            seconds = seconds_per_evaluation(height, width, core, threads)
            return ScalePlan(height, width, core, history, need, seconds)
    smallest = minimum_memory(height, width)
    raise ConfigError(
        f"a {width}x{height} picture needs about {smallest / GB:.1f} GB, more than the "
        f"{budget / GB:.1f} GB budget"
    )


def minimum_memory(height: int, width: int) -> float:
    """The least memory a (height, width) picture can run in: smallest tiles, shortest history."""
    return memory(height, width, TILE_CORES[-1], MIN_HISTORY)


@dataclass(frozen=True)
class Estimate:
    scales: list[ScalePlan]
    seconds: float
    memory: float  # bytes, the largest scale's peak
    budget: float

    def describe(self) -> str:
        tiled = [s for s in self.scales if s.tile]
        tiles = ""
        if tiled:
            first = tiled[0]
            tiles = f"; tiles of {first.tile} px from {max(first.height, first.width)} px up"
        return (
            f"estimate: about {_duration(self.seconds)}, peak memory about "
            f"{self.memory / GB:.1f} GB of {self.budget / GB:.1f} GB{tiles}"
        )


def estimate(sizes: list[tuple[int, int, int]], budget: float, tile: int = 0) -> Estimate:
    """Plan every scale ``(height, width, iterations)`` and add up time and peak memory."""
    plans = [plan_scale(h, w, budget, tile) for h, w, _ in sizes]
    seconds = sum(p.seconds_per_evaluation * n for p, (_, _, n) in zip(plans, sizes))
    return Estimate(plans, seconds, max(p.memory for p in plans), budget)


def largest_size(aspect: float, budget: float) -> int:
    """The largest long side (pixels) whose final scale fits ``budget`` (aspect = h / w)."""
    low, high = 64, 64
    while _fits(high, aspect, budget):
        low, high = high, high * 2
        if high > 1 << 17:
            return high
    while high - low > 16:
        mid = (low + high) // 2
        low, high = (mid, high) if _fits(mid, aspect, budget) else (low, mid)
    return low


def _fits(long_side: int, aspect: float, budget: float) -> bool:
    h, w = _hw(long_side, aspect)
    try:
        plan_scale(h, w, budget)
    except ConfigError:
        return False
    return True


def _hw(long_side: int, aspect: float) -> tuple[int, int]:
    if aspect <= 1:
        return max(1, round(long_side * aspect)), long_side
    return long_side, max(1, round(long_side / aspect))


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, math.ceil(seconds / 5) * 5)} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"
