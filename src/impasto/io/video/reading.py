"""Reading a clip: open, probe, seek and decode the frames of a span, as tensors."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import stat
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ...errors import ImageError
from ...files import stat_input
from ..images import MAX_PIXELS
from .span import _REORDER, _SLACK, _TRUNCATED, VideoInfo, _av, _error, _seconds, _Span, _span

if TYPE_CHECKING:
    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

# --------------------------------------------------------------------------------- reading


def _check_file(file: Path, name: str) -> None:
    info = stat_input(file, name, "a video file")
    if not stat.S_ISREG(info.st_mode):  # a clip is read more than once: counted, painted
        raise _error(name, "is a pipe or a device, not a file; save the clip to a file first")
    if info.st_size == 0:
        raise _error(name, "empty file (0 bytes)")


def _open_input(file: Path, name: str) -> InputContainer:
    """Open a file FFmpeg can demux, or say in one line why not."""
    _check_file(file, name)
    av = _av(name)
    try:
        # The decoders' own limit from the start: opening may decode a frame to learn the
        # size where a header leaves it to the frames (PNG in QuickTime, say).
        limit = {"max_pixels": str(MAX_PIXELS)}
        container: InputContainer = av.open(str(file), metadata_errors="replace", options=limit)
    except av.error.PermissionError:
        raise _error(name, "permission denied; check the file's permissions") from None
    except (av.FFmpegError, OSError, ValueError):
        raise _error(name, "not a video FFmpeg can read (unknown format, or damaged)") from None
    return container


class _Clip:
    """An open video file: its first real video stream and what its header says."""

    def __init__(self, file: Path, name: str) -> None:
        self.file, self.name = file, name
        self.container = _open_input(file, name)
        try:
            self.stream = self._video_stream()
        except BaseException:
            self.container.close()
            raise
        container, stream = self.container, self.stream
        self.time_base = stream.time_base or Fraction(1, 90000)
        origin = container.start_time
        self.origin = Fraction(origin, 1_000_000) if origin is not None else Fraction(0)
        self.rate = next((r for r in (stream.average_rate, stream.guessed_rate) if r), None)
        self.step = 1 / self.rate if self.rate else Fraction(1, 25)  # a frame's time on screen
        self.stream_end: Fraction | None = None  # when the last frame leaves the screen
        if stream.duration:  # the stream's own length: MP4 and AVI headers have it exactly
            first = stream.start_time if stream.start_time is not None else 0
            self.stream_end = self.time(first + stream.duration)
        self.end = self.stream_end
        if self.end is None and container.duration:  # the whole file's: includes audio
            self.end = Fraction(container.duration, 1_000_000)
        self.has_audio = any(s.codec_context is not None for s in container.streams.audio)

    def _video_stream(self) -> VideoStream:
        av = _av(self.name)
        container, name = self.container, self.name
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            raise _error(name, "is a still image, not a video")
        cover = av.stream.Disposition.attached_pic  # album art in a music file is no video
        streams = [s for s in container.streams.video if not s.disposition & cover]
        if not streams:
            only = " (only audio)" if container.streams.audio else ""
            raise _error(name, f"has no video stream{only}")
        stream: VideoStream = streams[0]
        context = stream.codec_context
        if context is None:
            raise _error(
                name, "its video codec cannot be decoded by this FFmpeg; convert it to H.264 first"
            )
        if context.width * context.height > MAX_PIXELS:  # as its header says: none decoded
            raise _too_large(name, context.width, context.height)
        # The decoder itself refuses a larger frame before it allocates it (a header may lie,
        # and frames may grow midway): a 2 MB file can hold a frame of several GB.
        context.options = {**context.options, "max_pixels": str(MAX_PIXELS)}
        return stream

    def reopen(self) -> None:
        """Back to the first frame the slow, sure way: for a seek that went too far."""
        self.container.close()
        self.container = _open_input(self.file, self.name)
        self.stream = self._video_stream()

    def close(self) -> None:
        self.container.close()

    def time(self, pts: int) -> Fraction:
        return pts * self.time_base - self.origin

    def truncated(self, end: Fraction) -> ImageError | None:
        """An error if the frames stopped at `end` well before the stream's header said."""
        if self.stream_end is None or end >= self.stream_end - 2 * self.step - _TRUNCATED:
            return None
        return _error(
            self.name,
            f"truncated or damaged: the video stops at {_seconds(end)} s but its header says "
            f"{_seconds(self.stream_end)} s",
        )


def _seek(clip: _Clip, seconds: Fraction) -> None:
    """Jump to the keyframe at or before `seconds`, so a late start skips decoding the rest."""
    av = _av(clip.name)
    target = math.floor((seconds + clip.origin) / clip.time_base)
    with contextlib.suppress(av.FFmpegError):  # an unseekable file is read from the top
        clip.container.seek(target, stream=clip.stream)


def _decoded(clip: _Clip, start: Fraction) -> Iterator[tuple[Fraction, VideoFrame]]:
    """(time, frame) in display order, from the last frame at or before `start` onwards."""
    av = _av(clip.name)
    seeked = start > 0
    if seeked:
        _seek(clip, start)
    last: Fraction | None = None
    gone = Fraction(0)  # when the last frame decoded leaves the screen
    try:
        for frame in clip.container.decode(clip.stream):
            pts = frame.pts
            now = clip.time(pts) if pts is not None else gone  # no timestamp: the next slot
            if last is None and seeked and now > start + _SLACK:  # the seek overshot
                clip.reopen()
                yield from _decoded(clip, Fraction(0))
                return
            last = now
            gone = now + (frame.duration * clip.time_base if frame.duration else clip.step)
            if frame.width * frame.height > MAX_PIXELS:  # a decoder that ignored max_pixels
                raise _too_large(clip.name, frame.width, frame.height)
            yield now, frame
    except av.FFmpegError as e:
        where = "at the start" if last is None else f"after {_seconds(last)} s"
        if e.errno == errno.EINVAL:  # what max_pixels says, among other damage
            raise _error(
                clip.name,
                f"a frame {where} cannot be decoded: larger than {MAX_PIXELS} pixels (the "
                f"limit), or damaged ({e.strerror or e})",
            ) from None
        raise _error(
            clip.name, f"corrupt or truncated video data {where} ({e.strerror or e})"
        ) from None
    if (error := clip.truncated(gone)) is not None:
        raise error


def _too_large(name: str, width: int, height: int) -> ImageError:
    """A picture's words (``images``), for a video's frames."""
    return _error(
        name,
        f"frames are too large ({width}x{height} = {width * height} pixels, the limit is "
        f"{MAX_PIXELS}); shrink the video first",
    )


def _span_frames(clip: _Clip, span: _Span) -> Iterator[tuple[Fraction, VideoFrame]]:
    """(time frame k is shown, frame) for the span: the clip's own frames, or resampled."""
    if span.fps is None:
        for now, frame in _decoded(clip, span.start):
            if span.end is not None and now >= span.end - _SLACK:
                return
            if now >= span.start - _SLACK:
                yield now, frame
        return
    step = 1 / span.fps
    due = span.start  # when output frame k is shown: start + k / fps
    shown: tuple[Fraction, VideoFrame] | None = None
    gone = Fraction(0)
    for now, frame in _decoded(clip, span.start):
        while shown is not None and due < now - _SLACK:  # `shown` is on screen at `due`
            if span.end is not None and due >= span.end - _SLACK:
                return
            yield due, shown[1]
            due += step
        shown = (now, frame)
        gone = now + (frame.duration * clip.time_base if frame.duration else clip.step)
    if shown is None:
        return
    if span.end is not None:
        gone = min(gone, span.end)
    while due < gone - _SLACK:  # the last frame stays on screen for its duration
        yield due, shown[1]
        due += step


def _no_frames(clip: _Clip, span: _Span) -> ImageError:
    until = "the end" if span.end is None else f"{_seconds(span.end)} s"
    length = "" if clip.end is None else f" (the clip is {_seconds(clip.end)} s long)"
    return _error(clip.name, f"has no frames between {_seconds(span.start)} s and {until}{length}")


def _turns(frame: VideoFrame) -> int:
    """Quarter turns counterclockwise that the display matrix asks for (phones set it)."""
    try:
        degrees = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return round(degrees / 90) % 4 if degrees and math.isfinite(degrees) else 0


def _tensor(frame: VideoFrame) -> torch.Tensor:
    """RGB (3, H, W) float32 in 0..1, upright; colour matrix and range from the frame's tags."""
    rgb = torch.from_numpy(frame.to_ndarray(format="rgb24")).permute(2, 0, 1)  # a fresh array
    turns = _turns(frame)
    if turns:
        rgb = torch.rot90(rgb, turns, dims=(1, 2))
    return rgb.contiguous().float().div_(255.0)


def _packets(clip: _Clip, span: _Span, seek: bool = True) -> tuple[int, Fraction]:
    """(frames timed in the span, when the last one read leaves the screen), from packets.

    Reading packets is only I/O, no decoding: it gives exact counts even when the rate
    varies. Packets arrive in decoding order, a few out of display order, hence the margin.
    """
    av = _av(clip.name)
    clip.reopen()
    seeked = seek and span.start > 0
    if seeked:
        _seek(clip, span.start)
    count, past, first = 0, 0, True
    gone = Fraction(0)
    try:
        for packet in clip.container.demux(clip.stream):
            if packet.pts is None or packet.size == 0 or packet.is_discard:
                continue
            now = clip.time(packet.pts)
            if first and seeked and now > span.start + _SLACK:  # the seek overshot
                return _packets(clip, span, seek=False)
            first = False
            length = packet.duration * clip.time_base if packet.duration else clip.step
            gone = max(gone, now + length)
            if span.end is not None and now >= span.end - _SLACK:
                past += 1
                if past > _REORDER:
                    break
            elif now >= span.start - _SLACK:
                count += 1
    except av.FFmpegError as e:
        raise _error(clip.name, f"corrupt or truncated video data ({e.strerror or e})") from None
    return count, gone


def probe(
    path: str | os.PathLike,
    start: float = 0.0,
    duration: float | None = None,
    fps: float | Fraction | None = None,
) -> VideoInfo:
    """Check a video and a span of it before any long job: one frame decoded, packets read.

    Decoding the span's first frame proves the codec works and gives the picture's size
    after rotation; reading the span's packets (no decoding) counts its frames exactly and
    catches a truncated file.
    """
    span = _span(start, duration, fps)
    name = str(path)
    clip = _Clip(Path(path), name)
    try:
        first_item = next(_span_frames(clip, span), None)
        if first_item is None:
            raise _no_frames(clip, span)
        first, frame = first_item
        height, width = frame.height, frame.width
        if _turns(frame) % 2:
            width, height = height, width
        count, gone = _packets(clip, span)
        if span.end is None or gone < span.end:
            if (error := clip.truncated(gone)) is not None:
                raise error
        end = gone if span.end is None else min(span.end, gone)
        shown_from = first
        if span.fps is not None:  # frame k at start + k / fps, while before the end
            shown_from = span.start
            count = math.ceil((end - _SLACK - span.start) * span.fps)
        return VideoInfo(
            path=Path(path),
            width=width,
            height=height,
            fps=span.fps or clip.rate or Fraction(25),
            frames=max(1, count),
            start=float(shown_from),
            duration=float(max(end - shown_from, Fraction(0))),
            has_audio=clip.has_audio,
        )
    finally:
        clip.close()


def read_frames(
    path: str | os.PathLike,
    start: float = 0.0,
    duration: float | None = None,
    fps: float | Fraction | None = None,
) -> Iterator[torch.Tensor]:
    """RGB (3, H, W) float32 frames of the span [start, start + duration), decoded lazily.

    Without `fps`: every frame whose timestamp lies in the span. With `fps`: frame k is the
    one on screen at start + k / fps (the last whose timestamp is at or before it), so
    frames are dropped or repeated as the rates differ: pass `fps` for a variable-rate clip
    (phones make them), so that frames written at one rate keep time with the audio.
    Timestamps within 1 ms of a boundary count as on it (Matroska rounds them to the
    millisecond). Decoding starts at the keyframe before `start`, not at the top of the file.
    The file is opened now, so a bad one fails here; an empty span fails at the first frame.
    """
    span = _span(start, duration, fps)
    clip = _Clip(Path(path), str(path))  # now, so a bad file fails at the call
    return _tensors(clip, span)


def _tensors(clip: _Clip, span: _Span) -> Iterator[torch.Tensor]:
    try:
        count = 0
        for _, frame in _span_frames(clip, span):
            count += 1
            yield _tensor(frame)
        if count == 0:
            raise _no_frames(clip, span)
    finally:
        clip.close()
