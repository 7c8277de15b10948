"""Memory and time estimates, so that a big picture is planned to fit instead of killed.

At each scale impasto needs the network's working memory for one forward and backward pass
(proportional to the pixels it sees at once) plus a few whole-picture vectors (the picture,
its gradient, L-BFGS's history of steps and gradients, the content's features). When that
exceeds the budget, the history is shortened first (it costs only memory) and then the picture
is evaluated in tiles (``tiling.py``), which costs some time but no quality. The constants are
measured on the reference machine (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import devices
from ..config import StyleConfig
from ..cost.tiling import crop_lengths
from ..errors import ConfigError
from ..network import layers, registry
from ..ops.resize import output_size
from ..ranges import MAX_SIZE
from . import calibration
from .progress import rough_duration
from .schedule import fit, plan_for

if TYPE_CHECKING:
    import torch

GB = 1e9
BASE_BYTES = 0.6 * GB  # Python, torch, the network's weights, the style targets
# one forward+backward of VGG-16 to relu5_1: measured 2050 with average pooling; max pooling
# (the default since 2026-12-03) keeps its indices for the backward, about 300 more (1024 px)
EVAL_BYTES_PER_PIXEL = 2500
PICTURE_BYTES_PER_PIXEL = 12  # one float32 RGB picture
CONTENT_BYTES_PER_PIXEL = 32  # relu4_2's 512 channels at 1/64 of the pixels, float32
WHOLE_PICTURES = 12  # picture, gradient, best so far, L-BFGS's working vectors, copies
HISTORY, MIN_HISTORY = 50, 5
HISTORY_SHARE = 0.25  # of the budget, at most, for L-BFGS's history
DEFAULT_CAP = 8.0  # GB: the default budget never exceeds what an ordinary laptop can spare
TILE_CORES = (1536, 1024, 768, 512, 384, 256)
FORWARD_BYTES_PER_PIXEL = 800  # a forward pass without gradients (style targets), measured 700
STYLE_PASS_COST = 1 / 3  # a style image's forward pass, per pixel, against one evaluation
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


def budget_bytes(max_memory: float, device: torch.device | None = None) -> float:
    """The memory budget: as asked (GB), else the smaller of 8 GB and what is free; on a GPU,
    nine tenths of what is free on it (a GPU's memory is there to be used)."""
    if max_memory > 0:
        return max_memory * GB
    free = None if device is None else devices.free_memory(device)
    if free is not None:
        return 0.9 * free
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


@dataclass(frozen=True)
class Geometry:
    """What tiling needs of the network: the margin each tile sees, the grid tiles start on."""

    halo: int  # the receptive radius of the deepest layer used, in pixels
    align: int  # the deepest pooling stride

    @classmethod
    def of(cls, network: str, names: Sequence[str]) -> Geometry:
        """The geometry of a registered network run up to the deepest of ``names``."""
        up_to = layers.layers_up_to(registry.spec(network).arch, names)
        return cls(layers.receptive_radius(up_to), layers.alignment(up_to))


def _crop_areas(height: int, width: int, tile: int, geometry: Geometry) -> list[tuple[int, int]]:
    """(pixels of a crop, how many crops that size) for a tiling, or the whole picture.

    By arithmetic over the two axes, never a list of the tiles: a size the budget refuses may
    have billions of them."""
    if not tile or max(height, width) <= tile:
        return [(height * width, 1)]
    rows, cols = (crop_lengths(n, tile, geometry.halo, geometry.align) for n in (height, width))
    return [(r * c, nr * nc) for r, nr in rows.items() for c, nc in cols.items()]


def _crop_pixels(height: int, width: int, tile: int, geometry: Geometry) -> tuple[int, int]:
    """(largest crop, sum of crops) in pixels for a tiling, or the whole picture."""
    areas = _crop_areas(height, width, tile, geometry)
    return max(a for a, _ in areas), sum(a * n for a, n in areas)


def memory(
    height: int,
    width: int,
    tile: int,
    history: int,
    geometry: Geometry,
    styles: Sequence[tuple[int, int]] = (),
) -> float:
    """Estimated peak bytes of a scale evaluated with this tiling and history.

    ``styles`` are the (height, width) of the style images at this scale: each is held as a
    picture, and its statistics come from a forward pass (tiled like the content).
    """
    pixels = height * width
    largest, _ = _crop_pixels(height, width, tile, geometry)
    style_crops = [_crop_pixels(h, w, tile, geometry)[0] for h, w in styles]
    passes = max(
        EVAL_BYTES_PER_PIXEL * largest, FORWARD_BYTES_PER_PIXEL * max(style_crops, default=0)
    )
    whole = PICTURE_BYTES_PER_PIXEL * pixels * (WHOLE_PICTURES + 2 * history)
    held = PICTURE_BYTES_PER_PIXEL * sum(h * w for h, w in styles)
    return BASE_BYTES + passes + whole + held + CONTENT_BYTES_PER_PIXEL * pixels


def seconds_per_evaluation(
    height: int, width: int, tile: int, speed: calibration.Speed, geometry: Geometry
) -> float:
    """Estimated time of one cost-and-gradient evaluation at this machine's ``speed``."""
    areas = _crop_areas(height, width, tile, geometry)
    seconds = sum(speed.evaluation(a) * n for a, n in areas)
    return seconds * TILED_COST if sum(n for _, n in areas) > 1 else seconds


def plan_scale(
    height: int,
    width: int,
    budget: float,
    geometry: Geometry,
    tile: int = 0,
    styles: Sequence[tuple[int, int]] = (),
    speed: calibration.Speed = calibration.FALLBACK,
) -> ScalePlan:
    """The fastest way to evaluate a (height, width) picture within ``budget`` bytes.

    ``tile`` > 0 forces tiles of that size; ``speed`` is how fast this machine evaluates
    (``calibration.speed``). Raises ConfigError when nothing fits.
    """
    pixels = height * width
    room = HISTORY_SHARE * budget / (2 * PICTURE_BYTES_PER_PIXEL * pixels)
    history = int(max(MIN_HISTORY, min(HISTORY, room)))
    longest = max([height, width] + [max(s) for s in styles])
    candidates = [tile] if tile else [0, *(c for c in TILE_CORES if c < longest)]
    for core in candidates:
        need = memory(height, width, core, history, geometry, styles)
        if need <= budget:
            seconds = seconds_per_evaluation(height, width, core, speed, geometry)
            return ScalePlan(height, width, core, history, need, seconds)
    smallest = minimum_memory(height, width, geometry, styles)
    raise ConfigError(
        f"a {width}x{height} picture needs about {_gb(smallest)} GB, more than the "
        f"{budget / GB:.1f} GB budget"
    )


def minimum_memory(
    height: int, width: int, geometry: Geometry, styles: Sequence[tuple[int, int]] = ()
) -> float:
    """The least memory a (height, width) picture can run in: smallest tiles, shortest history."""
    return memory(height, width, TILE_CORES[-1], MIN_HISTORY, geometry, styles)


@dataclass(frozen=True)
class Estimate:
    """A run planned before it starts: each scale's evaluation plan, time and peak memory."""

    scales: list[ScalePlan]
    seconds: float
    memory: float  # bytes, the largest scale's peak
    budget: float
    plan: tuple = ()  # the schedule's Scales, fitted to the content (set by estimate_run)
    speed: calibration.Speed = calibration.FALLBACK  # the machine's speed it assumed
    learnt: bool = False  # whether that speed was measured on this machine
    device: str = ""  # where it paints, its name and memory (``devices.About.describe``)

    def describe(self) -> str:
        tiled = [s for s in self.scales if s.tile]
        tiles = ""
        if tiled:
            first = tiled[0]
            tiles = f"; tiles of {first.tile} px from {max(first.height, first.width)} px up"
        on = f"; device {self.device}" if self.device else ""
        return (
            f"estimate: about {rough_duration(self.seconds)}"
            f"{' on this machine' if self.learnt else ' (speed not yet measured here)'}"
            f", peak memory about "
            f"{self.memory / GB:.1f} GB of {self.budget / GB:.1f} GB{tiles}{on}"
        )


def estimate(
    sizes: list[tuple[int, int, int]],
    budget: float,
    geometry: Geometry,
    tile: int = 0,
    styles: Sequence[Sequence[tuple[int, int]]] | None = None,
    speed: calibration.Speed = calibration.FALLBACK,
) -> Estimate:
    """Plan every scale ``(height, width, iterations)`` and add up time and peak memory.

    ``styles[k]`` lists the style images' sizes at scale k (their forward passes, once per
    scale, are counted at a third of an evaluation of their size); ``speed`` as in
    ``plan_scale``.
    """
    styles = styles or [()] * len(sizes)
    plans = [
        plan_scale(h, w, budget, geometry, tile, st, speed) for (h, w, _), st in zip(sizes, styles)
    ]
    seconds = sum(p.seconds_per_evaluation * n for p, (_, _, n) in zip(plans, sizes))
    seconds += sum(speed.evaluation(h * w) for st in styles for h, w in st) * STYLE_PASS_COST
    return Estimate(plans, seconds, max(p.memory for p in plans), budget, speed=speed)


def style_sizes(
    styles_hw: Sequence[tuple[int, int]], long_side: int, style_scale: float
) -> list[tuple[int, int]]:
    """The sizes the style images are resized to at a scale of ``long_side`` pixels."""
    style_long = max(1, round(long_side * style_scale))
    return [output_size(h, w, style_long) for h, w in styles_hw]


def estimate_run(
    content_hw: tuple[int, int],
    styles_hw: Sequence[tuple[int, int]],
    config: StyleConfig,
    speed: calibration.Speed | None = None,
) -> Estimate:
    """Time and peak memory of a run, or ConfigError naming the largest size that fits.

    ``speed`` defaults to what this machine has shown (``calibration.speed``).
    """
    device = devices.resolve(config.device)
    learnt = speed is not None or calibration.stored(config) is not None
    speed = calibration.speed(config) if speed is None else speed
    limit = budget_bytes(config.max_memory, device)
    plan = fit(plan_for(config), content_hw)
    geometry = Geometry.of(config.network, config.content_layers + config.style_layers)
    sizes = [(*output_size(*content_hw, s.size), s.iterations) for s in plan]
    styles = [style_sizes(styles_hw, s.size, config.style_scale) for s in plan]
    try:
        return dataclasses.replace(
            estimate(sizes, limit, geometry, config.tile, styles, speed),
            plan=tuple(plan),
            learnt=learnt,
            device=devices.about(device).describe(),
        )
    except ConfigError:
        pass
    height, width = max(sizes, key=lambda s: s[0] * s[1])[:2]
    need = minimum_memory(height, width, geometry, styles[-1])
    if memory(height, width, TILE_CORES[-1], MIN_HISTORY, geometry) <= limit:
        h, w = max(styles[-1], key=lambda s: s[0] * s[1])
        raise ConfigError(
            f"style_scale {config.style_scale:g} makes a style image {w}x{h} px, which needs "
            f"about {_gb(need)} GB, more than the {limit / GB:.1f} GB budget; lower style_scale"
        )
    fit_styles = (styles_hw, config.style_scale)
    largest = largest_size(content_hw[0] / content_hw[1], limit, geometry, fit_styles)
    if largest < MIN_FIT and largest_size(content_hw[0] / content_hw[1], limit, geometry):
        raise ConfigError(
            f"style_scale {config.style_scale:g} makes the style images too large for the "
            f"{limit / GB:.1f} GB budget at any size; lower style_scale"
        )
    if largest < MIN_FIT:
        raise ConfigError(
            f"max_memory {limit / GB:.2g} GB is less than impasto needs for any picture "
            f"(about {minimum_memory(MIN_FIT, MIN_FIT, geometry) / GB:.1f} GB); raise max_memory"
        )
    raise ConfigError(
        f"a {width}x{height} picture needs about {_gb(need)} GB, more than the "
        f"{limit / GB:.1f} GB budget; the largest size that fits is about "
        f"{largest} px (or raise max_memory)"
    )


def out_of_memory(
    height: int, width: int, estimate: Estimate, config: StyleConfig, device: torch.device
) -> ConfigError:
    """The one line for a device that ran out of memory although the plan fitted (a GPU's
    convolutions may take more working memory than the CPU's measured here): tiling within
    half the budget, or the largest size that fits in that."""
    half = estimate.budget / 2
    geometry = Geometry.of(config.network, config.content_layers + config.style_layers)
    largest = largest_size(height / width, half, geometry)
    return ConfigError(
        f"{devices.about(device).describe()} ran out of memory at {width}x{height} px (the "
        f"plan expected {estimate.memory / GB:.1f} GB of {estimate.budget / GB:.1f} GB); "
        f"--max-memory {half / GB:.3g} tiles it smaller, or the largest size that fits in "
        f"that is about {largest} px"
    )


MIN_FIT = 64  # long side below which "the largest size that fits" is no help


def largest_size(
    aspect: float,
    budget: float,
    geometry: Geometry,
    styles: tuple[Sequence[tuple[int, int]], float] = ((), 1.0),
) -> int:
    """The largest long side (pixels) whose final scale fits ``budget`` (aspect = h / w),
    with ``styles`` (their sizes, style_scale) resized to go with it."""
    fits = functools.partial(_fits, aspect=aspect, budget=budget, geometry=geometry, styles=styles)
    if not fits(MIN_FIT):
        return 0
    low, high = MIN_FIT, MIN_FIT
    while fits(high):
        low, high = high, high * 2
        if high > MAX_SIZE:
            return MAX_SIZE
    while high - low > 16:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def _gb(size: float) -> str:
    """Bytes as GB in a message: 7.1, or 2.34e+11 for a size no machine has."""
    return f"{size / GB:.1f}" if size < 1e5 * GB else f"{size / GB:.3g}"


def _fits(long_side: int, *, aspect: float, budget: float, geometry: Geometry, styles) -> bool:
    h, w = _hw(long_side, aspect)
    try:
        plan_scale(h, w, budget, geometry, styles=style_sizes(styles[0], long_side, styles[1]))
    except ConfigError:
        return False
    return True


def _hw(long_side: int, aspect: float) -> tuple[int, int]:
    if aspect <= 1:
        return max(1, round(long_side * aspect)), long_side
    return long_side, max(1, round(long_side / aspect))
