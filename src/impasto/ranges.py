"""The ranges every front end refuses alike, and the checks that say so in one short line.

The command line, manifests, the web page and the API refuse the same values with the same
words: values beyond these ranges are no picture anyone wants, and would fail deep in torch,
the encoders or the arithmetic (an int too large for a float) instead of as one line here.
No torch here: the command line imports this to build ``--help``.
"""

from __future__ import annotations

import decimal
import numbers
import os
from typing import Any

from .errors import ConfigError

MAX_SIZE = 2**31 - 1  # px: the longest side a PNG (and PIL) can hold; the memory budget
# then judges a size long before this, with the largest size that fits (engine/budget.py)
MAX_PIXELS = 100_000_000  # width x height of any picture: a file, a frame or a tensor
MAX_ITERATIONS = 1_000_000  # per scale
MAX_WEIGHT = 1e12  # any cost weight: a blend of them, times each other, stays finite
MAX_STRENGTH = 1000.0
MAX_STYLE_SCALE = 1000.0
MAX_LEARNING_RATE = 100.0  # pixels are in 0..1
MAX_MEMORY_GB = 10_000.0  # 10 TB: more than any one machine has
SEEDS = (-(2**63), 2**64 - 1)  # what torch.manual_seed takes
THREADS_PER_CORE = 4  # --threads (and batch --cores) at most this many times the cores
MAX_SECONDS = 1e7  # a clip's --start and --duration: about 16 weeks, longer than any clip
FPS_RANGE = (0.01, 1000.0)  # a clip's --fps: beyond it encoders fail or players refuse


def shown(value: Any) -> str:
    """A number as a message shows it: short even when it has 300 digits."""
    if is_number(value) and abs(value) >= 1e15:
        try:
            return format(decimal.Decimal(value), ".3g")
        except (ValueError, TypeError, decimal.InvalidOperation):
            pass
    return str(value)


def is_number(value: Any) -> bool:
    """A real number; True and False are not, though Python counts them as 1 and 0."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_whole(value: Any) -> bool:
    """A whole number; True and False are not."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def in_range(name: str, value: Any, low: float, high: float) -> None:
    """``low <= value <= high`` (so never NaN nor infinite), or ConfigError naming ``name``."""
    if not is_number(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not value >= low:  # "not >=" also catches NaN
        raise ConfigError(f"{name} must be >= {_bound(low)}, got {shown(value)}")
    if not value <= high:
        raise ConfigError(f"{name} must be at most {_bound(high)}, got {shown(value)}")


def positive(name: str, value: Any) -> None:
    """``value > 0`` (so not NaN), or ConfigError naming ``name``."""
    if not is_number(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not value > 0:  # "not >" also catches NaN
        raise ConfigError(f"{name} must be > 0, got {value}")


def _bound(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def check_weights(what: str, weights: tuple[float, ...]) -> None:
    """Not empty, each a number in 0..MAX_WEIGHT (not NaN), not all zero."""
    if (odd := next((w for w in weights if not is_number(w)), None)) is not None:
        raise ConfigError(f"{what} must be numbers, got {odd!r}")
    if not weights or not all(is_number(w) and w >= 0 for w in weights):
        raise ConfigError(f"{what} must be >= 0 and not all zero")
    if not all(w <= MAX_WEIGHT for w in weights):
        worst = max(weights)
        raise ConfigError(f"{what} must be at most {MAX_WEIGHT:g} each, got {shown(worst)}")
    if not sum(weights) > 0:
        raise ConfigError(f"{what} must be >= 0 and not all zero")


def parse_schedule(text: str) -> list[tuple[int, int]]:
    """An explicit plan such as ``"128:150,256:80,512:30"`` as (long side, iterations) pairs,
    checked: sizes 1..MAX_SIZE, counts 0..MAX_ITERATIONS, from small to large sizes."""
    if not isinstance(text, str):
        raise ConfigError(f"schedule must be text such as 128:150,256:80, got {text!r}")
    scales = []
    for part in text.split(","):
        try:
            size, iters = (int(v) for v in part.strip().split(":"))
        except ValueError:
            raise ConfigError(
                f"bad schedule entry {part.strip()[:40]!r}; expected SIZE:ITERATIONS, "
                "e.g. 128:150,256:80,512:30"
            ) from None
        if size < 1 or iters < 0:
            raise ConfigError(
                f"bad schedule entry {part.strip()!r}; sizes must be > 0 and counts >= 0"
            )
        if size > MAX_SIZE or iters > MAX_ITERATIONS:
            raise ConfigError(
                f"bad schedule entry {shown(size)}:{shown(iters)}; sizes must be at most "
                f"{MAX_SIZE} and counts at most {MAX_ITERATIONS}"
            )
        scales.append((size, iters))
    if any(b[0] < a[0] for a, b in zip(scales, scales[1:])):
        raise ConfigError(f"schedule {text!r} must go from small to large sizes")
    return scales


def check_threads(value: Any, name: str = "threads") -> int:
    """A count of CPU threads (``threads``, batch ``cores``): 1 up to ``THREADS_PER_CORE``
    times this machine's cores. More only makes threads wait for each other, and thousands
    hang the process."""
    cores = os.cpu_count() or 1
    limit = THREADS_PER_CORE * cores
    if not is_whole(value):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    if value > limit:
        raise ConfigError(
            f"{name} must be at most {limit} ({THREADS_PER_CORE} x the {cores} cores of this "
            f"machine), got {shown(value)}"
        )
    return int(value)


def check_span(start: Any, duration: Any, fps: Any) -> None:
    """A clip's span: ``start`` and ``duration`` (None: to the end) in seconds, ``fps`` (None:
    the clip's own rate); ConfigError in the library's words."""
    in_range("start", start, 0, MAX_SECONDS)
    if duration is not None:
        in_range("duration", duration, 0, MAX_SECONDS)
        if not duration > 0:
            raise ConfigError(f"duration must be more than 0 s, not {duration} s")
    if fps is not None:
        in_range("fps", fps, *FPS_RANGE)
