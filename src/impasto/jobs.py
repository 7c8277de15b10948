"""A job: which files to paint, how, and where the picture goes; checked and planned once.

Every front end (the command line, and later the web page, video and batch) paints through
this module, so each gets the same checks in the same order: everything cheap first (the
config, the network's layers, the output path, that no output is an input), then the images are
decoded, then the run is planned (schedule, tiles, time and memory) before the network loads.

    job = prepare(JobSpec("photo.jpg", ("painting.jpg",), StyleConfig(size=512)))
    picture = run(job, progress=..., cancel=...)
    save(job, picture)

A finished job can be touched up (``touch_up``): a new spec that paints once more at the output
size only, from the finished picture, with a new strength, colour mode or masks.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .config import StyleConfig, is_whole
from .engine import budget, calibration, pyramid
from .engine.progress import CancelToken, ProgressCallback
from .engine.schedule import Scale
from .errors import ConfigError, ImageError
from .io import images, masks
from .io.sources import Sources
from .network.vgg import VGGFeatures, load_features
from .ops.resize import output_size, resize_to, size_of

PathLike = str | os.PathLike
STDOUT = "-"  # as an output: standard output
STEM_LIMIT = 60  # characters of each name in a default output name, so that it always fits


@dataclass(frozen=True)
class JobSpec:
    """What to paint, as a user would say it: files and settings, nothing loaded yet.

    ``output`` is a file, a folder (the default name goes inside it) or None (the default
    name in the current folder). ``styles`` may name folders: each image in one is a style.
    ``snapshot_every`` > 0 reserves OUT_NNNN files for pictures taken every that many steps.
    """

    content: PathLike
    styles: tuple[PathLike, ...]
    config: StyleConfig = field(default_factory=StyleConfig)
    output: PathLike | None = None
    init: PathLike | None = None
    masks: tuple[PathLike, ...] = ()
    overwrite: bool = False
    quality: int = 95
    bits: int = 8
    snapshot_every: int = 0


@dataclass
class Job:
    """A checked, decoded and planned job, ready to run."""

    spec: JobSpec
    out: Path
    content: images.LoadedImage
    style_paths: list[Path]
    styles: list[torch.Tensor]
    init_image: torch.Tensor | None
    masks: torch.Tensor | None  # (R, H, W) at the content's size, see io/masks.py
    estimate: budget.Estimate  # time, peak memory and tiling of every scale

    @property
    def config(self) -> StyleConfig:
        return self.spec.config

    @property
    def plan(self) -> list[Scale]:
        return list(self.estimate.plan)

    @property
    def final_hw(self) -> tuple[int, int]:
        return output_size(*size_of(self.content.rgb), self.plan[-1].size)


def expand_styles(items: Sequence[PathLike]) -> list[Path]:
    """Each style as given, a folder replaced by its images (sorted)."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        paths.extend(images.list_images(path) if path.is_dir() else [path])
    return paths


def _stem(item: PathLike) -> str:
    path = Path(item)
    stem = path.stem or path.resolve().name or "picture"
    return stem[:STEM_LIMIT]


def default_output(content: PathLike, styles: Sequence[PathLike]) -> str:
    """CONTENT_STYLE.png; several styles joined by '+', at most three named, each name cut to
    ``STEM_LIMIT`` characters so the name fits any filesystem."""
    stems = [_stem(s) for s in styles]
    named = "+".join(stems[:3]) + (f"+{len(stems) - 3}more" if len(stems) > 3 else "")
    return f"{_stem(content)}_{named}.png"


def output_path(spec: JobSpec) -> Path:
    """Where the picture goes: ``spec.output``, or the default name (inside it, if a folder).

    ``"-"`` is standard output (a PNG).
    """
    if spec.output is not None and str(spec.output) == STDOUT:
        return Path(STDOUT)
    name = default_output(spec.content, spec.styles)
    if spec.output is None:
        return Path(name)
    out = Path(spec.output).expanduser()
    try:
        is_folder = out.is_dir()
    except OSError:  # e.g. a name too long for the filesystem: check_output_path says so
        is_folder = False
    return out / name if is_folder else out


def numbered(out: Path, step: int) -> Path:
    """OUT with the step before the extension: out.png -> out_0050.png."""
    return out.with_name(f"{out.stem}_{step:04d}{out.suffix}")


def refuse_inputs(outputs: Sequence[Path], inputs: Mapping[str, Sequence[PathLike]]) -> None:
    """No output may be an input (the same file, also through a link), overwrite or not.

    ``inputs`` maps a role ("content", "style image", ...) to its files. Each path is looked
    at once, so a batch's thousands of outputs and inputs cost a stat each, not one a pair.
    """
    by_file: dict[tuple[int, int], tuple[str, PathLike]] = {}  # inputs that are there
    by_name: dict[str, tuple[str, PathLike]] = {}  # every input, by its real path
    by_name_absent: dict[str, tuple[str, PathLike]] = {}  # inputs that are not there
    for role, paths in inputs.items():
        for path in paths:
            real = os.path.realpath(path)
            by_name.setdefault(real, (role, path))
            identity = _identity(Path(path))
            if identity is None:
                by_name_absent.setdefault(real, (role, path))
            else:
                by_file.setdefault(identity, (role, path))
    for out in outputs:
        identity = _identity(out)
        real = os.path.realpath(out)
        if identity is None:  # not there (yet): it would be the input its name leads to
            found = by_name.get(real)
        else:
            found = by_file.get(identity) or by_name_absent.get(real)
        if found is not None:
            role, path = found
            raise ImageError(
                f"{out}: is the {role} of this run ({path}); an input is never "
                "overwritten, choose another output name"
            )


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file a path leads to (links followed); None if there is none."""
    try:
        info = path.stat()
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def snapshot_paths(spec: JobSpec, out: Path, plan: Sequence[Scale]) -> list[Path]:
    """The OUT_NNNN files ``snapshot_every`` will write over this plan."""
    if spec.snapshot_every <= 0:
        return []
    steps = sum(s.iterations for s in plan)
    return [numbered(out, k) for k in range(spec.snapshot_every, steps + 1, spec.snapshot_every)]


def _path(value: Any, what: str) -> None:
    """A file's path as the system takes it, or ConfigError naming ``what``."""
    if not isinstance(value, (str, os.PathLike)) or not isinstance(os.fspath(value), str):
        kind = type(value).__name__
        raise ConfigError(f"{what} must be a file's path (str or os.PathLike), got {kind}")
    if "\0" in os.fspath(value):
        raise ConfigError(f"{what} holds a NUL byte (\\0)")


def _paths(value: Any, what: str, each: str) -> tuple[PathLike, ...]:
    """One path, or a sequence of them, as a tuple (one path is one file, not its letters)."""
    if isinstance(value, (str, os.PathLike)):
        value = (value,)
    if not isinstance(value, Sequence):
        raise ConfigError(f"{what} must be files' paths, got {type(value).__name__}")
    for number, item in enumerate(value, start=1):
        _path(item, f"{each} {number}")
    return tuple(value)


def checked(spec: JobSpec) -> JobSpec:
    """The spec with every field of its type, or one ConfigError naming the field: the door
    of ``impasto.jobs`` for callers who build specs by hand (one path is one style, and a
    dict is a config, as ``stylize`` takes them)."""
    _path(spec.content, "content")
    for name in ("output", "init"):
        if getattr(spec, name) is not None:
            _path(getattr(spec, name), name)
    styles = _paths(spec.styles, "styles", "style")
    masks = _paths(spec.masks, "masks", "mask")
    if not (is_whole(spec.quality) and 1 <= spec.quality <= 100):
        raise ConfigError(f"quality must be a whole number from 1 to 100, got {spec.quality!r}")
    if not (is_whole(spec.bits) and spec.bits in (8, 16)):
        raise ConfigError(f"bits must be 8 or 16, got {spec.bits!r}")
    if not (is_whole(spec.snapshot_every) and spec.snapshot_every >= 0):
        raise ConfigError(
            f"snapshot_every must be a whole number >= 0, got {spec.snapshot_every!r}"
        )
    if not isinstance(spec.overwrite, bool):
        raise ConfigError(f"overwrite must be True or False, got {spec.overwrite!r}")
    config = pyramid.as_config(spec.config)
    return dataclasses.replace(spec, styles=styles, masks=masks, config=config)


def prepare(spec: JobSpec) -> Job:
    """Check everything cheap, decode the images, plan the run; ImpastoError on any problem."""
    spec = checked(spec)
    config = spec.config
    style_paths = expand_styles(spec.styles)
    if not style_paths:
        raise ConfigError("at least one style image is needed")
    config.blend(len(style_paths))
    if spec.masks:
        masks.check_count(len(spec.masks), len(style_paths))
        if config.loss_form == "seed":
            raise ConfigError("masks cannot be used with loss_form seed (use the relative form)")
    out = output_path(spec)
    if str(out) == STDOUT and spec.snapshot_every:
        raise ConfigError("snapshots need an output file, not standard output")
    inputs: dict[str, Sequence[PathLike]] = {
        "content": [spec.content],
        "style image": style_paths,
        "mask": spec.masks,
        "init image": [spec.init] if spec.init is not None else [],
    }
    if str(out) != STDOUT:
        refuse_inputs([out], inputs)
        images.check_output_path(out, spec.overwrite, bits=spec.bits)
    sources = Sources()  # a pipe named twice is read once
    content = sources.load(spec.content)
    hw = size_of(content.rgb)
    styles = [sources.load(p).rgb for p in style_paths]
    estimate = budget.estimate_run(hw, [size_of(s) for s in styles], config)
    snapshots = snapshot_paths(spec, out, estimate.plan)
    for path in snapshots:
        images.check_output_path(path, spec.overwrite, bits=spec.bits)
    refuse_inputs(snapshots, inputs)
    region_masks = None
    if spec.masks:
        region_masks = masks.load_masks(spec.masks, len(style_paths), hw, sources=sources)
    init_image = sources.load(spec.init).rgb if spec.init is not None else None
    return Job(spec, out, content, style_paths, styles, init_image, region_masks, estimate)


def load_network(job: Job, on_progress=None) -> VGGFeatures:
    """The job's network with its weights (fetched into the cache the first time)."""
    return network_for(job.config, on_progress)


def network_for(config: StyleConfig, on_progress=None) -> VGGFeatures:
    """The network a config paints with, its weights fetched into the cache the first time."""
    return load_features(
        config.network,
        config.content_layers + config.style_layers,
        config.pooling,
        config.weights,
        on_progress=on_progress,
    )


def calibrate(job: Job, network: VGGFeatures) -> Job:
    """The job with its time estimate at this machine's measured speed.

    The first run on a machine (CPU, threads, torch, precision, network, pooling) times a few
    optimiser steps at two sizes first, 3 to 5 s; later runs use what earlier runs
    measured.
    """
    speed = calibration.learn(network, job.config)
    if speed == job.estimate.speed:
        return job
    styles_hw = [size_of(s) for s in job.styles]
    estimate = budget.estimate_run(size_of(job.content.rgb), styles_hw, job.config, speed)
    return dataclasses.replace(job, estimate=estimate)


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


def run(
    job: Job,
    network: VGGFeatures | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Paint the job; (3, h, w) in 0..1. Raises ``Cancelled`` with the best picture so far."""
    torch.manual_seed(job.config.seed)
    return pyramid.stylize(
        job.content.rgb,
        job.styles,
        job.config,
        network=network or load_network(job),
        init_image=job.init_image,
        masks=job.masks,
        progress=progress,
        cancel=cancel,
        estimate=job.estimate,
    )


def save(job: Job, rgb: torch.Tensor, path: Path | None = None) -> Path:
    """Write the picture atomically to ``path`` (default: the job's output), with the content's
    alpha (if any) resized to it."""
    alpha = job.content.alpha
    if alpha is not None:
        alpha = resize_to(alpha, *rgb.shape[-2:])
    spec = job.spec
    destination = path or job.out
    if str(destination) == STDOUT:
        data = images.encode_image(rgb, alpha, fmt="PNG", bits=spec.bits)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return destination
    return images.save_image(
        destination, rgb, alpha, quality=spec.quality, bits=spec.bits, overwrite=spec.overwrite
    )
