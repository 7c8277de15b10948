"""A clip to paint: its files and settings, checked and planned before any frame is painted.

Everything cheap is checked first, in the image command's order: the settings, the output
(its container, its folder, that it is not an input, that it may be replaced), then the video
is probed and the paintings decoded, then the time is estimated (first frame, then each
later one) so that the front end can say how long it will take before it starts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .. import devices
from ..config import StyleConfig, VideoConfig
from ..engine import budget, calibration
from ..errors import ConfigError
from ..files import sha256_file
from ..io import images, video
from ..io.sources import Sources
from ..network.vgg import VGGFeatures
from ..ops.resize import output_size, size_of
from ..ranges import check_span
from .spec import default_output as picture_output
from .spec import expand_styles, refuse_inputs
from .workdir import WorkFolder, folder_for

PathLike = str | os.PathLike


@dataclass(frozen=True)
class VideoSpec:
    """What to paint, as a user says it. ``output`` None: CLIP_STYLE.mp4 here; a folder: that
    name inside it; a name without a suffix: a folder of PNG frames."""

    clip: PathLike
    styles: tuple[PathLike, ...]
    config: StyleConfig = field(default_factory=StyleConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    output: PathLike | None = None
    start: float = 0.0
    duration: float | None = None
    fps: float | None = None  # resample to this rate (default: the clip's own)
    overwrite: bool = False

    def __post_init__(self) -> None:
        check_span(self.start, self.duration, self.fps)


@dataclass
class VideoJob:
    """A checked and planned clip, ready to paint."""

    spec: VideoSpec
    out: Path
    info: video.VideoInfo
    style_paths: list[Path]
    styles: list[torch.Tensor]
    frame_hw: tuple[int, int]  # (height, width) of every painted frame
    first: budget.Estimate  # the first frame: the whole schedule
    later: budget.Estimate  # each later frame: a short run at the output size
    work: WorkFolder
    resumable: int = 0  # frames finished by an earlier run of this same job
    may_replace: bool = False  # the output may be replaced: --overwrite, or our own clip so far

    @property
    def config(self) -> StyleConfig:
        return self.spec.config

    @property
    def later_config(self) -> StyleConfig:
        return later_config(self.config, self.spec.video, self.frame_hw)

    @property
    def frames(self) -> int:
        return self.info.frames

    def seconds(self) -> float:
        """The estimated time of the frames still to paint."""
        todo = self.frames - self.resumable
        if todo <= 0:
            return 0.0
        if self.spec.video.per_frame:
            return todo * self.first.seconds
        first = self.first.seconds if self.resumable == 0 else self.later.seconds
        return first + (todo - 1) * self.later.seconds


def later_config(config: StyleConfig, settings: VideoConfig, hw: tuple[int, int]) -> StyleConfig:
    """The settings of every frame after the first: one scale, at the output size."""
    return dataclasses.replace(config, schedule=f"{max(hw)}:{settings.frame_iterations}")


def default_output(clip: PathLike, styles: Sequence[PathLike]) -> str:
    return str(Path(picture_output(clip, styles)).with_suffix(".mp4"))


def output_path(spec: VideoSpec) -> Path:
    name = default_output(spec.clip, spec.styles)
    if spec.output is None:
        return Path(name)
    out = Path(spec.output).expanduser()
    if out.is_dir() and not _is_frame_folder(out):
        return out / name
    return out


def _is_frame_folder(path: Path) -> bool:
    """An existing folder given as the output is a folder of frames if it holds some, or is
    empty; any other folder is where the default name goes."""
    return path.is_dir() and (not any(path.iterdir()) or any(path.glob("frame_*.png")))


def job_key(spec: VideoSpec, clip: Path, styles: Sequence[Path | bytes], hw) -> str:
    """The same inputs (by content) and settings give the same key: the work folder's.

    ``styles``: each style's file, or its bytes where it was read already (a pipe)."""
    settings = {
        "clip": sha256_file(clip),
        "styles": [_digest(s) for s in styles],
        "config": dataclasses.asdict(spec.config),
        "video": dataclasses.asdict(spec.video),
        "span": [spec.start, spec.duration, spec.fps],
        "size": list(hw),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def _digest(item: Path | bytes) -> str:
    return hashlib.sha256(item).hexdigest() if isinstance(item, bytes) else sha256_file(item)


def prepare(spec: VideoSpec) -> VideoJob:
    """Check everything cheap, probe the clip, decode the paintings, plan; ImpastoError if not."""
    config = spec.config
    if config.schedule:
        raise ConfigError("--schedule is for pictures; a clip's frames use --frame-iterations")
    devices.resolve(config.device)  # a device that is not there, before the clip is read
    style_paths = expand_styles(spec.styles)
    if not style_paths:
        raise ConfigError("at least one style image is needed")
    config.blend(len(style_paths))
    clip = Path(spec.clip)
    out = output_path(spec)
    refuse_inputs([out], {"clip": [clip], "style image": style_paths})
    info = video.probe(clip, spec.start, spec.duration, spec.fps)
    video.check_rate(clip, info.fps)  # the clip's own (--fps was checked as an option)
    hw = output_size(info.height, info.width, config.size)
    reader = Sources()  # a pipe is read once, here, even if named twice
    sources = [reader.source(p) for p in style_paths]
    work = WorkFolder(folder_for(out), job_key(spec, clip, sources, hw))
    resuming = work.matches()
    overwrite = spec.overwrite or _ours(out, work)
    video.check_video_output(out, overwrite)
    styles = [images.load_image(p, source=s).rgb for p, s in zip(style_paths, sources)]
    styles_hw = [size_of(s) for s in styles]
    first = budget.estimate_run((info.height, info.width), styles_hw, config)
    later = budget.estimate_run(
        (info.height, info.width), styles_hw, later_config(config, spec.video, hw)
    )
    done = work.finished() if resuming else 0
    return VideoJob(spec, out, info, style_paths, styles, hw, first, later, work, done, overwrite)


def _ours(out: Path, work: WorkFolder) -> bool:
    """Whether ``out`` is the clip-so-far that an interrupted run of this job wrote there."""
    digest = work.partial()
    if digest is None or not out.is_file():
        return False
    return sha256_file(out) == digest


def calibrate(job: VideoJob, network: VGGFeatures) -> VideoJob:
    """The job's estimates at this machine's measured speed (``picture.calibrate``'s way)."""
    speed = calibration.learn(network, job.config)
    if speed == job.first.speed:
        return job
    styles_hw = [size_of(s) for s in job.styles]
    content_hw = (job.info.height, job.info.width)
    return dataclasses.replace(
        job,
        first=budget.estimate_run(content_hw, styles_hw, job.config, speed),
        later=budget.estimate_run(content_hw, styles_hw, job.later_config, speed),
    )
