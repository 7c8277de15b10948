"""The frame loop: each frame starts where the last one was, carried along the motion.

For frame t > 1 (Ruder, Dosovitskiy & Brox 2016): the optical flow from t to t-1 and back
(``ops/flow``) carries the painted frame t-1 onto frame t's pixels, and their round trip says
where that can be trusted. The optimisation starts from the carried frame where it can and
from frame t in the paintings' colours where it cannot (disoccluded parts, new things at the
edges), and the temporal cost (``cost/temporal``) holds the trusted pixels near the carried
frame while the content and style costs repaint the rest. The first frame gets the whole
schedule; later frames a short run at the output size. Every finished frame goes to the
work folder before the next one starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..cost.temporal import Anchor
from ..engine import pyramid
from ..engine.progress import CancelToken, Progress
from ..io import video
from ..network.vgg import VGGFeatures, device_of
from ..ops import flow
from ..ops.resize import resize_to
from .clip import VideoJob
from .eta import FrameClock
from .picture import paint


@dataclass(frozen=True)
class FrameProgress:
    """Where a clip's painting is: after every evaluation of the cost, and after every frame."""

    frame: int  # 1-based, the frame being painted (or just finished)
    frames: int
    finished: bool  # this frame is done and on disk
    fraction: float  # of this frame's work done, 0..1
    elapsed: float  # seconds since this run started
    seconds_left: float
    frame_seconds: float  # time spent on this frame so far


RAMP_FRAMES = 4  # frames over which a newly painted region comes to be held fully


@dataclass(frozen=True)
class Carried:
    """The previous painted frame on this frame's pixels, and how far it can be trusted.

    ``maturity`` is how settled each carried pixel's painting is: 1 for what has been painted
    and carried for ``RAMP_FRAMES`` frames, 0 for a region just filled in from the frame
    itself. The temporal cost holds a pixel by reliability x maturity, so a region that has
    just appeared is painted over a few frames, gaining strokes, before it is held; else the
    first, sketchy painting of every disoccluded region would be held for the rest of the clip.
    """

    image: torch.Tensor  # (3, H, W)
    reliability: torch.Tensor  # (1, H, W) in {0, 1}
    maturity: torch.Tensor  # (1, H, W) in 0..1

    @property
    def hold(self) -> torch.Tensor:
        """How strongly the temporal cost holds each pixel: reliability x maturity."""
        return self.reliability * self.maturity

    def next_maturity(self) -> torch.Tensor:
        """This frame's maturity once painted: one step further where carried, 0 where new."""
        return self.reliability * (self.maturity + 1.0 / RAMP_FRAMES).clamp(max=1.0)


def carry(
    previous_in: torch.Tensor,
    frame: torch.Tensor,
    previous_out: torch.Tensor,
    previous_maturity: torch.Tensor | None = None,
) -> Carried:
    """Frame t-1's painting warped onto frame t (both input frames at the painted size)."""
    backward = flow.optical_flow(frame, previous_in)
    forward = flow.optical_flow(previous_in, frame)
    weights = flow.reliability(backward, forward)[None]
    image = flow.warp(previous_out, backward, mode="bicubic").clamp(0, 1)
    if previous_maturity is None:
        maturity = torch.ones_like(weights)
    else:
        maturity = flow.warp(previous_maturity, backward).clamp(0, 1)
    return Carried(image, weights, maturity)


def paint_frame(
    job: VideoJob,
    frame: torch.Tensor,
    carried: Carried | None,
    network: VGGFeatures,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """One frame at ``job.frame_hw``: on its own (the first, or ``per_frame``), else from
    ``carried`` with the temporal cost. Raises ``Cancelled`` as ``stylize`` does."""
    settings = job.spec.video
    if carried is None or settings.per_frame:
        return paint(
            frame, job.styles, job.config, job.first, network, progress=progress, cancel=cancel
        )
    config = job.later_config
    styles = [s.to(frame.device) for s in job.styles]
    fresh = pyramid.initial_image(config, frame, None, styles)
    trusted = carried.reliability
    start = trusted * carried.image + (1 - trusted) * fresh
    anchor = None
    if settings.temporal_weight > 0:
        anchor = Anchor(carried.image, carried.hold, settings.temporal_weight)
    return paint(
        frame, job.styles, config, job.later, network, init_image=start, progress=progress,
        cancel=cancel, anchor=anchor,
    )  # fmt: skip


def paint_clip(
    job: VideoJob,
    network: VGGFeatures,
    on_progress: Callable[[FrameProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> int:
    """Paint every frame not yet in the work folder; the number of frames now there.

    Resumes after the last finished frame (``job.work``); a ``Cancelled`` or Ctrl-C leaves
    the frames finished so far on disk and propagates.
    """
    done = job.work.open()
    info = job.info
    clock = FrameClock(info.frames, job.first.seconds, job.later.seconds, done)
    if job.spec.video.per_frame:
        clock.later_estimate = job.first.seconds
    start = time.perf_counter()
    device = device_of(network)  # the flow's warp and the start are made there too
    previous_in: torch.Tensor | None = None
    previous_out: torch.Tensor | None = None
    maturity: torch.Tensor | None = None
    count = 0
    frames = video.read_frames(info.path, job.spec.start, job.spec.duration, job.spec.fps)
    for index, raw in enumerate(frames, start=1):
        count = index
        frame = resize_to(raw.to(device), *job.frame_hw)
        if index <= done:
            previous_in = frame
            if index == done:
                previous_out = job.work.load(index).to(device)
                maturity = job.work.load_maturity(index)
                maturity = None if maturity is None else maturity.to(device)
            continue
        began = time.perf_counter()

        def tick(p: Progress, index: int = index, began: float = began) -> None:
            if on_progress is None:
                return
            now = time.perf_counter()
            on_progress(
                FrameProgress(
                    index,
                    clock.frames,
                    False,
                    p.fraction,
                    now - start,
                    clock.seconds_left(p.fraction),
                    now - began,
                )  # fmt: skip
            )

        carried = None
        alone = job.spec.video.per_frame
        if previous_in is not None and previous_out is not None and not alone:
            carried = carry(previous_in, frame, previous_out, maturity)
        painted = paint_frame(job, frame, carried, network, tick, cancel)
        maturity = None if carried is None else carried.next_maturity()
        job.work.save(index, painted, None if maturity is None else maturity.cpu())
        seconds = time.perf_counter() - began
        clock.record(index, seconds)
        clock.frames = max(clock.frames, index)  # a variable-rate clip's count is estimated
        if on_progress is not None:
            now = time.perf_counter()
            on_progress(
                FrameProgress(
                    index, clock.frames, True, 1.0, now - start, clock.seconds_left(), seconds
                )
            )
        previous_in, previous_out = frame, painted.to(device)
    return count


def write_clip(job: VideoJob, frames: int) -> None:
    """The first ``frames`` finished frames, with the clip's audio under them, to the output
    (replacing a file there only if the job may: ``--overwrite``, or its own clip so far)."""
    info = job.info
    audio = None
    if info.has_audio:
        audio = video.AudioSpan(info.path, info.start, frames / float(info.fps))
    pictures = (job.work.load(i) for i in range(1, frames + 1))
    video.write_video(job.out, pictures, info.fps, audio_from=audio, overwrite=job.may_replace)
