"""A picture's job: checked, decoded and planned once, then run, encoded and saved.

Every front end paints through here, so each gets the same checks in the same order:
everything cheap first (the config, the network's layers, the output path, that no output is
an input), then the images are decoded, then the run is planned (schedule, tiles, time and
memory) before the network loads.

    job = prepare(JobSpec("photo.jpg", ("painting.jpg",), StyleConfig(size=512)))
    picture = run(job, progress=..., cancel=...)
    save(job, picture)

Unlike ``stylize``, a job acts for a front end: ``calibrate`` and ``run`` teach the machine's
speed store (``engine/calibration.py``) what they measured.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from .. import devices, files
from ..config import StyleConfig
from ..cost.temporal import Anchor
from ..engine import budget, calibration, pyramid
from ..engine.progress import CancelToken, Progress, ProgressCallback, ScaleTimes
from ..engine.schedule import Scale
from ..errors import ConfigError
from ..io import images, masks
from ..io.sources import Sources
from ..network.vgg import VGGFeatures, load_network
from ..ops.pictures import as_masks, as_picture
from ..ops.resize import output_size, resize_to, size_of
from .spec import (
    STDOUT,
    JobSpec,
    checked,
    expand_styles,
    output_path,
    refuse_inputs,
    snapshot_paths,
)
from .spec import PathLike as PathLike


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


def prepare(spec: JobSpec) -> Job:
    """Check everything cheap, decode the images, plan the run; ImpastoError on any problem."""
    spec = checked(spec)
    config = spec.config
    devices.resolve(config.device)  # a device that is not there, before any work
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


def run(
    job: Job,
    network: VGGFeatures | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Paint the job; (3, h, w) in 0..1. Raises ``Cancelled`` with the best picture so far.

    Unlike ``stylize``, a finished run teaches the machine's speed store (``calibration``)
    what its scales took, so that the next estimate is closer: jobs do that for front ends."""
    return paint(
        job.content.rgb, job.styles, job.config, job.estimate, network,
        init_image=job.init_image, masks=job.masks, progress=progress, cancel=cancel,
    )  # fmt: skip


def paint(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: StyleConfig,
    plan: budget.Estimate,
    network: VGGFeatures | None = None,
    *,
    init_image: torch.Tensor | None = None,
    masks: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    anchor: Anchor | None = None,
) -> torch.Tensor:
    """Paint pictures as a job does (``run``, and every frame of a clip): as planned
    (``plan``), then teach the speed store what each scale took. ``anchor``: the temporal cost
    of a clip's frame (``cost/temporal.py``)."""
    net = network or load_network(config)
    times = ScaleTimes()

    def report(p: Progress) -> None:
        times(p)
        if progress is not None:
            progress(p)

    picture = pyramid.paint(
        as_picture(content, "content"), [as_picture(s, "style") for s in styles], config, plan,
        network=net, init_image=None if init_image is None else as_picture(init_image, "init"),
        masks=None if masks is None else as_masks(masks), progress=report, cancel=cancel,
        anchor=anchor,
    )  # fmt: skip
    width = calibration.network_width(net)
    calibration.learn_from_times(config, plan.scales, times.scales, width)
    return picture


def encode(job: Job, rgb: torch.Tensor, fmt: str | None = None) -> bytes:
    """The picture as the bytes of its file, with the content's alpha (if any) resized to it:
    in ``fmt`` (PNG, JPEG, WEBP, TIFF; default: the output's, PNG for standard output), at
    the job's quality and bits. The one encoder of painted pictures."""
    if fmt is None:
        fmt = images.SAVE_FORMATS.get(job.out.suffix.lower(), "PNG")
    spec = job.spec
    return encode_picture(rgb, job.content.alpha, fmt, spec.quality, spec.bits)


def encode_picture(
    rgb: torch.Tensor, alpha: torch.Tensor | None, fmt: str, quality: int = 95, bits: int = 8
) -> bytes:
    """``rgb`` (3, h, w) with ``alpha`` (1, H, W, any size: resized to it) as a file's bytes."""
    return images.encode_image(rgb, fit_alpha(alpha, rgb), fmt=fmt, quality=quality, bits=bits)


def fit_alpha(alpha: torch.Tensor | None, rgb: torch.Tensor) -> torch.Tensor | None:
    """The content's alpha (1, H, W) at the painted picture's size: the picture keeps it."""
    return None if alpha is None else resize_to(alpha, *rgb.shape[-2:])


def encode_file(path: PathLike, fmt: str, quality: int = 95) -> bytes:
    """A finished picture's file (with its alpha) as the bytes of another format: the web
    page's downloads of a PNG result as JPEG or WebP."""
    picture = images.load_image(path)
    return encode_picture(picture.rgb, picture.alpha, fmt, quality)


def save(job: Job, rgb: torch.Tensor, path: Path | None = None) -> Path:
    """Write the picture atomically to ``path`` (default: the job's output file), with the
    content's alpha. Standard output is the front end's to write (``encode``)."""
    destination = path or job.out
    if str(destination) == STDOUT:
        raise ValueError("save writes files; write encode(job, picture) to standard output")
    spec = job.spec
    dest = images.check_output_path(destination, spec.overwrite, bits=spec.bits)
    fmt = images.SAVE_FORMATS[dest.suffix.lower()]
    files.write_atomic(dest, encode(job, rgb, fmt))
    return dest
