"""A touch-up: a finished job painted again at its output size only, from its picture.

Instead of a whole new coarse-to-fine run, one scale of ``touch_up_iterations`` at the
finished picture's size, with a new strength, colour mode or masks: about a quarter of the
first run's time (``TOUCH_UP_SHARE``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ..engine import budget
from ..errors import ConfigError
from .spec import STDOUT, JobSpec, PathLike, output_path

TOUCH_UP_SHARE = 0.25
"""A touch-up's iterations at the output size, as a share of its run's planned evaluation time:
at most a third of the run's time, with room for what it computes once (targets, colours)."""

TOUCH_UP_KEEPS = ("size", "min_size", "iterations", "preset", "schedule")
"""Fields a touch-up cannot change: it paints at the finished picture's size, on its own plan."""


def touch_up_iterations(estimate: budget.Estimate) -> int:
    """Iterations at the output size that cost ``TOUCH_UP_SHARE`` of the planned run's time
    (the estimate's evaluations at every scale and its style passes); at least 1."""
    final = estimate.scales[-1].seconds_per_evaluation
    if final <= 0:
        return 1
    return max(1, int(TOUCH_UP_SHARE * estimate.seconds / final))


def touch_up(
    spec: JobSpec,
    estimate: budget.Estimate,
    picture: PathLike,
    changes: Mapping[str, Any] | None = None,
    *,
    masks: Sequence[PathLike] | None = None,
    output: PathLike | None = None,
) -> JobSpec:
    """The job that touches up ``picture``, a finished result of ``spec`` (as ``estimate``
    planned it): the same inputs with ``changes`` to the config (strength, colour mode, ...)
    and ``masks`` (None: the same ones; ``()``: none), painted again at the output size only,
    one scale of ``touch_up_iterations`` starting from ``picture``, instead of a whole new
    coarse-to-fine run. ``output`` defaults to the run's output with ``_touchup`` added.

    Touching up a touch-up: pass the first run's spec and estimate and the newer picture, so
    that each takes the same share of the first run's time. ConfigError for a change of a
    ``TOUCH_UP_KEEPS`` field (that is a new run).
    """
    changes = dict(changes or {})
    for name in TOUCH_UP_KEEPS:
        if name in changes:
            raise ConfigError(
                f"a touch-up paints at the finished picture's size on its own plan; {name} "
                "cannot change (start a new run for that)"
            )
    if not estimate.plan:
        raise ConfigError("a touch-up needs the finished run's plan (estimate.plan is empty)")
    size = estimate.plan[-1].size
    schedule = f"{size}:{touch_up_iterations(estimate)}"
    try:
        config = dataclasses.replace(spec.config, **changes, schedule=schedule)
    except TypeError as e:  # a name StyleConfig does not have
        raise ConfigError(f"touch-up: {e}") from None
    if output is None:
        out = output_path(spec)
        output = out if str(out) == STDOUT else out.with_name(f"{out.stem}_touchup{out.suffix}")
    return dataclasses.replace(
        spec,
        config=config,
        init=picture,
        masks=spec.masks if masks is None else tuple(masks),
        output=output,
    )
