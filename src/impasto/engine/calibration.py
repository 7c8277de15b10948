"""How fast this machine evaluates the cost, learnt here instead of measured elsewhere.

The same 2-core machine kind has run one evaluation at 512 px in 0.6 s (a Xeon with AVX-512)
and in 2.4 s (an EPYC with AVX2 only), so a constant cannot give an honest estimate. The rate
(seconds per pixel of one forward and backward pass) is stored per machine in the cache
folder, keyed by the CPU, the thread count, torch, the precision and the network:

* the first time on a machine, a timed probe (one evaluation at 256x256 after a warm-up,
  about a second) measures it before the run is estimated;
* after every run big enough to tell (``MIN_LEARNING_UNITS``), the rate the run actually
  achieved is blended in, so the estimate keeps learning.

Nothing here may stop a run: an unreadable or unwritable store is ignored.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from pathlib import Path

import torch

from ..config import StyleConfig
from ..network import precision
from ..network.layers import WIDTHS
from ..network.store import cache_dir

FILE_NAME = "speed.json"
FALLBACK = 6.6e-6  # seconds per pixel at one thread (a Xeon with AVX-512 BF16, 2026-11)
PROBE_SIZE = 256
LEARNING = 0.5  # weight of the newest measurement against what was stored
# Runs with fewer pixel evaluations than this teach nothing: their fixed costs (the targets,
# Python, small kernels) weigh several times more per pixel, and a few thumbnails (the web
# page's 64 px previews, 256 px strips) had taught a 512 px estimate of 4 min for a 34 s run.
MIN_LEARNING_UNITS = 20 * PROBE_SIZE * PROBE_SIZE


def cpu_model() -> str:
    """The CPU's model name (Linux), or the platform's word for it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "Hardware"):
                return value.strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def key(config: StyleConfig, width: int = WIDTHS[0], threads: int | None = None) -> str:
    """Where a rate is stored: one entry per CPU, threads, torch, precision and network.

    ``width`` is the network's first convolution width, so that a narrow test network never
    teaches the estimate for the real one.
    """
    threads = threads or torch.get_num_threads()
    return "|".join(
        (
            cpu_model(),
            f"{threads} threads",
            f"torch {torch.__version__}",
            precision.resolve(config.precision),
            f"{config.network} {config.pooling} {width}",
        )
    )


def _path() -> Path:
    return cache_dir() / FILE_NAME


def _read() -> dict[str, float]:
    try:
        data = json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if _valid(v)}


def _valid(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def stored(config: StyleConfig, width: int = WIDTHS[0]) -> float | None:
    """The stored rate for this machine and config, in seconds per pixel, or None."""
    return _read().get(key(config, width))


def rate(config: StyleConfig) -> float:
    """Seconds per pixel of one evaluation here: stored, else the fallback per thread."""
    known = stored(config)
    if known is not None:
        return known
    return FALLBACK / max(1, torch.get_num_threads())


def record(config: StyleConfig, measured: float, width: int = WIDTHS[0]) -> float:
    """Blend ``measured`` (seconds per pixel) into the store; returns the new rate."""
    if not _valid(measured):
        return rate(config)
    data = _read()
    name = key(config, width)
    old = data.get(name)
    # Geometric blend: a run slowed by a neighbour and a fast one pull equally far.
    new = (
        measured
        if old is None
        else math.exp(LEARNING * math.log(measured) + (1 - LEARNING) * math.log(old))
    )
    data[name] = new
    try:
        folder = _path().parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".speed-", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, _path())
    except OSError:
        pass
    return new


def network_width(net: torch.nn.Module) -> int:
    """The first convolution's width: 64 for the real VGGs, less for the tests' tiny ones."""
    for module in net.modules():
        if isinstance(module, torch.nn.Conv2d):
            return int(module.out_channels)
    return WIDTHS[0]


def probe(net: torch.nn.Module, config: StyleConfig, size: int = PROBE_SIZE) -> float:
    """Time one forward and backward pass at ``size`` x ``size`` (after a warm-up); s/pixel."""
    from ..cost.objective import Objective

    objective = Objective(net, config)  # type: ignore[arg-type]
    picture = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))

    def once() -> float:
        x = picture.clone().requires_grad_(True)
        start = time.perf_counter()
        feats = objective.features(x)
        total = torch.stack([f.float().square().mean() for f in feats.values()]).sum()
        (grad,) = torch.autograd.grad(total, x)
        float(grad.sum())
        return time.perf_counter() - start

    once()  # warm-up: the first pass picks kernels and allocates
    return once() / (size * size)


def learn(net: torch.nn.Module, config: StyleConfig) -> float:
    """This machine's rate for ``net``: stored, else probed now and stored."""
    width = network_width(net)
    known = stored(config, width)
    if known is not None:
        return known
    return record(config, probe(net, config), width)
