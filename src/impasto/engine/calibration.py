"""How fast this machine evaluates the cost, learnt here instead of measured elsewhere.

The same 2-core machine kind has run one evaluation at 512 px in 0.6 s (a Xeon with AVX-512)
and in 2.4 s (an EPYC with AVX2 only), so a constant cannot give an honest estimate. Nor is
the time proportional to the pixels: on a Xeon with AMX one pixel cost 5.5 us at 181 px and
3.4 us at 512 px (small pictures pay fixed costs and run small kernels), so a rate learnt at
one size overestimated the larger scales by 40 %. A ``Speed`` is therefore a power law,
``seconds * (pixels / REFERENCE_PIXELS) ** exponent``, growing in proportion to the pixels
beyond the largest size it was measured at. It is stored per machine in the cache folder,
keyed by the CPU, the thread count, torch, the precision and the network:

* the first time on a machine, a timed probe (two real optimiser steps at the default run's
  first and last sizes, each after a warm-up step; 3 to 5 s on a Xeon with AMX) fits it
  before the run is estimated;
* after every run of a job (``jobs.run``), the time per evaluation at each of its scales big
  enough to tell is fitted and blended in, so the estimate keeps learning.

Only jobs write the store (``learn``, ``learn_from_times``), on a front end's behalf:
``stylize`` reads it for its time left and never writes it. Nothing here may stop a run: an
unreadable or unwritable store is ignored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import devices
from ..config import StyleConfig
from ..errors import ImpastoError
from ..files import write_atomic
from ..network import precision
from ..network.layers import WIDTHS
from ..network.store import cache_dir

FILE_NAME = "speed.json"
REFERENCE_PIXELS = 256 * 256
# The default run's first and last scales (4:3): the sizes whose ratio the ETA after the first
# scale depends on, and far enough apart that timing noise moves the exponent little.
PROBE_SIZES = ((136, 181), (384, 512))
PROBE_STEPS = 2  # timed after a warm-up step at each size; their median counts
# Weight of the newest measurement against what was stored. A run slower than the store
# knows has most often shared the machine (another torch process, a browser, a build): it
# teaches a quarter. A faster one shows what the machine does when it is free: seven tenths.
# With one weight of a half, a day of runs beside other processes had taught "about 4 min" for
# a 37 s run, and idle runs took four to come within a fifth; now two do.
FASTER_LEARNING, SLOWER_LEARNING = 0.7, 0.25
MIN_EXPONENT, MAX_EXPONENT = 0.5, 1.0
# Scales smaller than this teach nothing: below it fixed costs dominate and vary (a 96x72
# evaluation cost 9.7 us per pixel, a 512x384 one 3.4 us), and a few thumbnails (the web
# page's 64 px previews) had taught a 512 px estimate of 4 min for a 34 s run.
MIN_LEARNING_PIXELS = 150 * 150
MIN_LEARNING_EVALUATIONS = 4  # timed evaluations a scale needs to count


@dataclass(frozen=True)
class Speed:
    """Seconds of one evaluation (forward and backward) as a function of its pixels."""

    seconds: float  # at REFERENCE_PIXELS
    exponent: float = 0.85  # how time grows with the pixels, up to ``largest``
    largest: float = 4 * REFERENCE_PIXELS  # pixels measured up to; linear beyond

    def evaluation(self, pixels: float) -> float:
        """Estimated seconds of one evaluation of ``pixels`` pixels."""
        within = min(pixels, self.largest)
        return (
            self.seconds
            * (within / REFERENCE_PIXELS) ** self.exponent
            * max(1.0, pixels / self.largest)
        )

    def as_json(self) -> dict[str, float]:
        return dataclasses.asdict(self)


# One thread of a Xeon with AVX-512 BF16 (2026-11); divided by the threads when nothing is known.
FALLBACK = Speed(seconds=0.43)
# Any GPU before its probe: a guess between a laptop's and a data centre's (a job probes it).
GPU_FALLBACK = Speed(seconds=0.02)


def fit(points: Sequence[tuple[float, float]], exponent: float = FALLBACK.exponent) -> Speed:
    """The Speed through ``(pixels, seconds)`` points: a least-squares line in log-log.

    With one size only, ``exponent`` is kept and only the level is fitted.
    """
    xs = [math.log(p / REFERENCE_PIXELS) for p, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    if spread > 1e-6:
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / spread
        exponent = min(MAX_EXPONENT, max(MIN_EXPONENT, slope))
    level = my - exponent * mx
    return Speed(math.exp(level), exponent, max(p for p, _ in points))


def key(config: StyleConfig, width: int = WIDTHS[0], threads: int | None = None) -> str:
    """Where a rate is stored: one entry per CPU and threads (or GPU), torch, precision and
    network.

    ``width`` is the network's first convolution width, so that a narrow test network never
    teaches the estimate for the real one. A GPU's entry names its model and device type in
    place of the CPU and its threads (which barely move a GPU's time); the CPU's entries are
    as they were before there were devices, so a store carries over.
    """
    device = devices.resolve(config.device)
    if device.type == "cpu":
        where = (devices.cpu_model(), f"{threads or torch.get_num_threads()} threads")
    else:
        where = (devices.about(device).name, device.type)
    return "|".join(
        (
            *where,
            f"torch {torch.__version__}",
            precision.resolve(config.precision, device=device),
            f"{config.network} {config.pooling} {width}",
        )
    )


def _path() -> Path:
    return cache_dir() / FILE_NAME


def _read() -> dict[str, Speed]:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: speed for k, v in data.items() if (speed := _speed(v)) is not None}


def _speed(value) -> Speed | None:
    """A stored Speed, or None for anything else (an older store's bare rates included)."""
    if not isinstance(value, dict):
        return None
    try:
        speed = Speed(**{f.name: float(value[f.name]) for f in dataclasses.fields(Speed)})
    except (KeyError, TypeError, ValueError):
        return None
    return speed if _valid(speed) else None


def _valid(speed: Speed) -> bool:
    numbers = (speed.seconds, speed.exponent, speed.largest)
    return all(math.isfinite(n) and n > 0 for n in numbers)


def stored(config: StyleConfig, width: int = WIDTHS[0]) -> Speed | None:
    """The stored Speed for this machine and config, or None."""
    return _read().get(key(config, width))


def speed(config: StyleConfig) -> Speed:
    """This machine's Speed: stored, else the fallback per thread."""
    known = stored(config)
    if known is not None:
        return known
    if devices.resolve(config.device).type != "cpu":
        return GPU_FALLBACK
    threads = max(1, torch.get_num_threads())
    return dataclasses.replace(FALLBACK, seconds=FALLBACK.seconds / threads)


def record(config: StyleConfig, measured: Speed, width: int = WIDTHS[0]) -> Speed:
    """Blend ``measured`` into the store; returns the new Speed."""
    if not _valid(measured):
        return speed(config)
    data = _read()
    name = key(config, width)
    old = data.get(name)
    new = measured
    if old is not None:
        # The level blends geometrically, at the reference size (so the exponent's change
        # does not shift it); a slower run teaches less than a faster one (above).
        weight = SLOWER_LEARNING if measured.seconds > old.seconds else FASTER_LEARNING
        seconds = math.exp(
            weight * math.log(measured.seconds) + (1 - weight) * math.log(old.seconds)
        )
        exponent = weight * measured.exponent + (1 - weight) * old.exponent
        new = Speed(seconds, exponent, max(measured.largest, old.largest))
    data[name] = new
    text = json.dumps({k: v.as_json() for k, v in data.items()}, indent=1, sort_keys=True)
    try:
        _path().parent.mkdir(parents=True, exist_ok=True)
        write_atomic(_path(), text.encode())
    except (OSError, ImpastoError):  # an unwritable store costs the estimate, never the run
        pass
    return new


def learn_from_run(
    config: StyleConfig, scales: Sequence[tuple[float, int, float]], width: int = WIDTHS[0]
) -> Speed | None:
    """Teach the store what a run's scales took: ``(pixels, evaluations, seconds)`` each,
    the seconds those evaluations took. Scales too small or too short to tell are left out;
    with one size left, the stored exponent is kept. Returns the new Speed, or None."""
    points = [
        (pixels, seconds / count)
        for pixels, count, seconds in scales
        if pixels >= MIN_LEARNING_PIXELS and count >= MIN_LEARNING_EVALUATIONS and seconds > 0
    ]
    if not points:
        return None
    prior = stored(config, width)
    measured = fit(points, (prior or FALLBACK).exponent)
    return record(config, measured, width)


def learn_from_times(
    config: StyleConfig,
    plans: Sequence[Any],
    times: Mapping[int, tuple[float, float, int]],
    width: int = WIDTHS[0],
) -> Speed | None:
    """``learn_from_run`` from a run's ``progress.ScaleTimes`` (scale index -> first and last
    report, reports) and its scales' plans (``budget.ScalePlan``: height, width, tile). Tiled
    scales are left out: their time is not one evaluation of the whole picture."""
    scales = [
        (plan.height * plan.width, int(count) - 1, last - first)
        for index, (first, last, count) in sorted(times.items())
        if not (plan := plans[index]).tile
    ]
    return learn_from_run(config, scales, width)


def network_width(net: torch.nn.Module) -> int:
    """The first convolution's width: 64 for the real VGGs, less for the tests' tiny ones."""
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            return int(module.out_channels)
    return WIDTHS[0]


def probe(
    net: torch.nn.Module,
    config: StyleConfig,
    sizes: Sequence[tuple[int, int]] = PROBE_SIZES,
    steps: int = PROBE_STEPS,
) -> Speed:
    """Time ``steps`` real optimiser steps at each of ``sizes`` and fit a Speed.

    A step is what a run's scale repeats: the spectral basis, one evaluation of the cost and
    L-BFGS's update, timed after a warm-up step (it picks kernels and allocates); the median
    step counts, since a noisy machine's single steps vary by a third. Bare evaluations grew
    more slowly with the pixels than a run's steps (exponent 0.72 against 0.85 on a Xeon with
    AMX: the basis's FFTs and L-BFGS's vectors are linear in the pixels), so a probe of bare
    evaluations predicted the 512 px scale a fifth short.
    """
    from ..cost.objective import Objective
    from .optimise import SpectralBasis, minimise

    objective = Objective(net, config)  # type: ignore[arg-type]
    generator = torch.Generator().manual_seed(0)  # on the CPU: the same pictures everywhere
    device = devices.resolve(config.device)

    def timed_steps(picture: torch.Tensor, targets) -> float:
        ends: list[float] = []

        def evaluate(x: torch.Tensor) -> tuple[float, torch.Tensor]:
            terms, grad = objective.value_and_grad(x, targets)
            return float(terms["total"]), grad

        def after(_: torch.Tensor) -> None:
            ends.append(time.perf_counter())

        basis = None
        if config.smooth_steps:
            basis = SpectralBasis(picture.shape, config.smooth_steps, picture.device)
        minimise(picture, evaluate, steps + 1, method=config.optimizer, basis=basis, after=after)
        return statistics.median(b - a for a, b in zip(ends, ends[1:]))

    points = []
    for height, width in sizes:
        picture, style = torch.rand(2, 3, height, width, generator=generator).to(device)
        targets = objective.prepare(picture, [style], [[1.0]])
        points.append((height * width, timed_steps(picture, targets)))
    return fit(points)


def learn(net: torch.nn.Module, config: StyleConfig) -> Speed:
    """This machine's Speed for ``net``: stored, else probed now and stored."""
    width = network_width(net)
    known = stored(config, width)
    if known is not None:
        return known
    return record(config, probe(net, config), width)
