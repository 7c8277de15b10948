"""Read video files as frames and write frames as video files, with PyAV (FFmpeg inside).

Every failure a user can cause raises `ImageError` with one line that names the file, as for
images. Times are seconds from the clip's start (its container's first timestamp), kept as
exact fractions inside so that a frame on a boundary is never lost to rounding. Frames are
RGB (3, H, W) float32 in 0..1. PyAV is optional: it is imported only when a video is touched.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import math
import os
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..config import FPS_RANGE, in_range
from ..errors import ConfigError, ImageError
from .images import MAX_PIXELS, encode_image, os_error_words, probe_write

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import InputContainer, OutputContainer
    from av.packet import Packet
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")
_MUXERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
_FRAME_NAME = "frame_{:06d}.png"
_EXACT = 1_000_000  # user times and rates become fractions with denominators up to this
_BT709 = 1  # FFmpeg's code for BT.709 primaries, transfer and matrix alike
_LIMITED_RANGE = 1  # "MPEG" range, what players expect from H.264
_SLACK = Fraction(1, 1000)  # timestamps this close count as equal: Matroska rounds to 1 ms
_REORDER = 16  # packets past the span's end read before stopping: H.264's reordering depth
_TRUNCATED = Fraction(1, 10)  # frames ending this much (+ 2 frames) early mean a cut file


@dataclass(frozen=True)
class VideoInfo:
    """What `read_frames` will yield for one span of one file, known before decoding it."""

    path: Path
    width: int  # of the frames read_frames yields: rotation metadata already applied
    height: int
    fps: Fraction  # the rate of those frames: the clip's own, or the one asked for
    frames: int  # how many: counted from the file's packets, so exact even at a variable rate
    start: float  # seconds at which frame 0 is on screen (pass on to AudioSpan for sync)
    duration: float  # seconds from `start` to the span's end (or the clip's, if sooner)
    has_audio: bool  # an audio stream FFmpeg can decode


@dataclass(frozen=True)
class AudioSpan:
    """The stretch of a file's audio to put under the frames: frame 0 shows `start`."""

    path: Path
    start: float
    seconds: float


def _error(name: str, problem: str) -> ImageError:
    return ImageError(f"{name}: {problem}")


def _seconds(value: Fraction | float) -> str:
    """12 -> '12.0', 1.25 -> '1.25': short, but never in scientific notation."""
    text = f"{float(value):.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _av(name: str) -> Any:
    """The `av` module, imported on first use: PyAV is an optional dependency."""
    try:
        import av
    except ImportError:
        raise _error(name, "video needs PyAV: pip install 'impasto[video]'") from None
    return av


# --------------------------------------------------------------------------------- options


@dataclass(frozen=True)
class _Span:
    start: Fraction
    end: Fraction | None  # None: to the end of the clip
    fps: Fraction | None  # None: the clip's own frames


def _span(start: float, duration: float | None, fps: float | Fraction | None) -> _Span:
    """Check the option values (ConfigError: they are options, not files) and make them exact."""
    if not math.isfinite(start) or start < 0:
        raise ConfigError(f"start must be 0 s or later, not {start} s")
    begin = Fraction(start).limit_denominator(_EXACT)
    end = None
    if duration is not None:
        if not math.isfinite(duration) or duration <= 0:
            raise ConfigError(f"duration must be more than 0 s, not {duration} s")
        end = begin + Fraction(duration).limit_denominator(_EXACT)
    return _Span(begin, end, None if fps is None else _rate(fps))


MIN_FPS, MAX_FPS = (Fraction(x).limit_denominator(1000) for x in FPS_RANGE)
"""The frame rates a clip is written at (``config.FPS_RANGE``): beyond them encoders fail, or
write files that players refuse (a 1e9 fps H.264), and the counts of frames stop making sense."""


def _rate(fps: float | Fraction) -> Fraction:
    in_range("fps", float(fps), *FPS_RANGE)
    return fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(_EXACT)


def check_rate(path: str | os.PathLike, fps: Fraction) -> None:
    """ImageError naming the clip if its own frame rate is one no clip is written at."""
    if not MIN_FPS <= fps <= MAX_FPS:
        raise _error(
            str(path),
            f"its frame rate is {float(fps):g} fps, which no clip is written at (the limits "
            f"are {float(MIN_FPS):g} and {float(MAX_FPS):g}); give --fps",
        )


# --------------------------------------------------------------------------------- reading


def _check_file(file: Path, name: str) -> None:
    try:
        if file.is_dir():
            raise _error(name, "is a folder, not a video file")
        info = file.stat()
    except FileNotFoundError:
        raise _error(name, "file not found; check the path") from None
    except PermissionError:
        raise _error(name, "permission denied; check the file's permissions") from None
    except OSError as e:
        raise _error(name, f"cannot read file ({e.strerror or e})") from None
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


# --------------------------------------------------------------------------------- writing


def _is_folder_output(dest: Path) -> bool:
    return dest.is_dir() or not dest.suffix


def check_video_output(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Fail now, not after a long run, if `out` cannot take the result.

    A name ending in .mp4, .mov or .mkv is a video file; a name without a suffix, or an
    existing folder, is a folder of PNG frames. Replacing a folder is allowed only when it
    holds nothing but frames, so that --overwrite never deletes anything else.
    """
    name = str(out)
    dest = Path(out)
    folder_output = _is_folder_output(dest)
    if not folder_output and dest.suffix.lower() not in VIDEO_SUFFIXES:
        raise _error(
            name,
            f"unknown video format '{dest.suffix}'; use one of {' '.join(VIDEO_SUFFIXES)}, "
            "or a name without a suffix for a folder of PNG frames",
        )
    parent = dest.parent
    if parent.exists() and not parent.is_dir():
        raise _error(name, f"'{parent}' is a file, not a folder")
    if not parent.is_dir():
        raise _error(name, f"output folder '{parent}' does not exist; create it first")
    if folder_output:
        _check_frames_folder(dest, name, overwrite)
    elif dest.exists() and not overwrite:
        raise _error(name, "already exists; pass --overwrite to replace it")
    probe_write(parent, name)
    return dest


def _check_frames_folder(dest: Path, name: str, overwrite: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise _error(name, "is a file; give a folder name, or a name ending in .mp4")
    try:
        inside = list(dest.iterdir()) if dest.is_dir() else []
    except OSError as e:
        raise _error(name, f"cannot list this folder ({e.strerror or e})") from None
    if not inside:
        return
    if not overwrite:
        raise _error(name, "already exists and is not empty; pass --overwrite to replace it")
    others = [p for p in inside if not (p.name.startswith("frame_") and p.suffix == ".png")]
    if others:
        raise _error(
            name,
            f"holds files other than frames (such as '{others[0].name}'); "
            "--overwrite replaces only a folder of frames: choose another name",
        )


def write_video(
    out: str | os.PathLike,
    frames: Iterable[torch.Tensor],
    fps: Fraction | float,
    *,
    audio_from: AudioSpan | None = None,
    overwrite: bool = False,
    quality: int = 18,
) -> Path:
    """Write frames as H.264 in an MP4/MOV/MKV (by suffix), or as a folder of PNG frames.

    The video is libx264, yuv420p, BT.709, crf=`quality` (0 best .. 51 worst), preset
    medium. A frame of odd width or height gains one column or row copied from its edge,
    since 4:2:0 needs even sizes: nothing painted is cropped. With `audio_from`, that span
    of the file's audio (if it has any) is re-encoded as AAC under the frames. A folder
    gets `frame_000001.png`... (8-bit) and no audio.

    Everything is written under a temporary name beside `out` and renamed into place only
    when complete, so `out` never holds half a video; on any error or Ctrl-C the temporary
    file or folder is removed.
    """
    dest = check_video_output(out, overwrite)
    rate = _rate(fps)
    if not 0 <= quality <= 51:
        raise ConfigError(f"quality must be between 0 and 51 (x264's crf), not {quality}")
    if _is_folder_output(dest):
        _write_frames_folder(dest, frames)
    else:
        _write_movie(dest, frames, rate, audio_from, quality)
    return dest


def _frames_checked(frames: Iterable[torch.Tensor], name: str) -> Iterator[torch.Tensor]:
    """(3, H, W) frames, all of one size: a video cannot change size midway."""
    size: tuple[int, int] | None = None
    count = 0
    for count, frame in enumerate(frames, 1):
        rgb = frame.squeeze(0) if frame.dim() == 4 else frame
        if rgb.dim() != 3 or rgb.shape[0] != 3:
            raise ValueError(f"{name}: frame {count} has shape {tuple(frame.shape)}, not (3, H, W)")
        if size is None:
            size = (rgb.shape[1], rgb.shape[2])
        elif (rgb.shape[1], rgb.shape[2]) != size:
            raise ValueError(
                f"{name}: frame {count} is {rgb.shape[2]}x{rgb.shape[1]}, "
                f"frame 1 was {size[1]}x{size[0]}"
            )
        yield rgb
    if count == 0:
        raise ValueError(f"{name}: no frames to write")


def _write_frames_folder(dest: Path, frames: Iterable[torch.Tensor]) -> None:
    name = str(dest)
    tmp = dest.with_name(f".impasto-{secrets.token_hex(4)}.tmp")
    try:
        os.mkdir(tmp)
    except OSError as e:
        raise _error(name, f"cannot write ({os_error_words(e)})") from None
    try:
        for number, rgb in enumerate(_frames_checked(frames, name), 1):
            _write_file(tmp / _FRAME_NAME.format(number), encode_image(rgb, fmt="PNG"))
        _replace_folder(tmp, dest)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise _error(name, f"cannot write ({os_error_words(e)})") from None
        raise


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _replace_folder(tmp: Path, dest: Path) -> None:
    """Rename the finished folder into place; an old one is moved aside, then deleted."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = dest.with_name(f".impasto-{secrets.token_hex(4)}.old")
    os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_movie(
    dest: Path,
    frames: Iterable[torch.Tensor],
    rate: Fraction,
    audio_from: AudioSpan | None,
    quality: int,
) -> None:
    name = str(dest)
    av = _av(name)
    audio = _AudioSource(audio_from) if audio_from is not None else None
    tmp = dest.with_name(f".impasto-{secrets.token_hex(4)}.tmp")
    try:
        suffix = dest.suffix.lower()
        options = {"movflags": "+faststart"} if suffix in (".mp4", ".mov") else {}
        container: OutputContainer = av.open(str(tmp), "w", format=_MUXERS[suffix], options=options)
        try:
            count = _encode(container, frames, rate, quality, audio, name)
        except BaseException:
            with contextlib.suppress(Exception):
                container.close()
            raise
        container.close()  # writes the index (moved to the front of an MP4 for streaming)
        _check_decodes(tmp, count, name)  # only a clip that plays is said to be written
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, av.FFmpegError) and e.errno != errno.ENOSPC:
            raise _error(name, f"cannot encode the video ({e.strerror or e})") from None
        if isinstance(e, OSError):  # FFmpeg's full disk is an OSError too
            raise _error(name, f"cannot write ({os_error_words(e)})") from None
        raise
    finally:
        if audio is not None:
            audio.close()


def _check_decodes(path: Path, frames: int, name: str) -> None:
    """ImageError naming the clip unless the file at ``path`` decodes to ``frames`` frames."""
    av = _av(name)
    try:
        with av.open(str(path)) as written:
            decoded = sum(1 for _ in written.decode(written.streams.video[0]))
    except (av.FFmpegError, IndexError):
        raise _error(name, "the clip encoded does not decode; nothing written") from None
    if decoded != frames:
        raise _error(
            name, f"the clip encoded decodes to {decoded} of its {frames} frames; nothing written"
        )


def _encode(
    container: OutputContainer,
    frames: Iterable[torch.Tensor],
    rate: Fraction,
    quality: int,
    audio: _AudioSource | None,
    name: str,
) -> int:
    """Encode every frame, muxing audio packets as their time comes (interleaved); the
    number of frames."""
    av = _av(name)
    from av.video.reformatter import ColorRange, Colorspace

    pictures = (_even(_to_uint8(rgb)) for rgb in _frames_checked(frames, name))
    first = next(pictures)  # its size makes the stream; video is stream 0, audio stream 1
    stream = _video_stream(container, rate, quality, first.shape[1], first.shape[0])
    feed = _AudioFeed(audio.packets(container) if audio is not None else None)
    for count, pixels in enumerate(itertools.chain([first], pictures), 1):
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame = frame.reformat(
            format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
        )
        frame.pts = count - 1
        container.mux(stream.encode(frame))
        feed.mux_until(container, count / rate)
    container.mux(stream.encode(None))
    feed.mux_until(container, None)
    return count


def _video_stream(
    container: OutputContainer, rate: Fraction, quality: int, width: int, height: int
) -> VideoStream:
    options = {"crf": str(quality), "preset": "medium"}
    stream: VideoStream = container.add_stream("libx264", rate=rate, options=options)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    context = stream.codec_context
    context.colorspace = context.color_primaries = context.color_trc = _BT709
    context.color_range = _LIMITED_RANGE
    return stream


def _to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """(3, H, W) floats -> (H, W, 3) uint8, clamped and rounded (NaN is black)."""
    values = torch.nan_to_num(rgb.detach().float().cpu(), nan=0.0).clamp(0, 1) * 255
    return np.ascontiguousarray(values.round().to(torch.uint8).permute(1, 2, 0).numpy())


def _even(pixels: np.ndarray) -> np.ndarray:
    """Odd sizes grow by one edge row or column: H.264 in 4:2:0 needs even sizes."""
    height, width = pixels.shape[:2]
    if height % 2 == 0 and width % 2 == 0:
        return pixels
    return np.pad(pixels, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


# --------------------------------------------------------------------------------- audio


class _AudioSource:
    """The first decodable audio stream of a file (or none), cut to a span for re-encoding."""

    def __init__(self, span: AudioSpan) -> None:
        self.name = str(span.path)
        if not (math.isfinite(span.start) and span.start >= 0):
            raise ConfigError(f"audio start must be 0 s or later, not {span.start} s")
        if not (math.isfinite(span.seconds) and span.seconds > 0):
            raise ConfigError(f"audio length must be more than 0 s, not {span.seconds} s")
        self.start = Fraction(span.start).limit_denominator(_EXACT)
        self.end = self.start + Fraction(span.seconds).limit_denominator(_EXACT)
        self.container = _open_input(Path(span.path), self.name)
        streams = [s for s in self.container.streams.audio if s.codec_context is not None]
        self.stream: AudioStream | None = streams[0] if streams else None
        origin = self.container.start_time
        self.origin = Fraction(origin, 1_000_000) if origin is not None else Fraction(0)

    def close(self) -> None:
        self.container.close()

    def packets(self, container: OutputContainer) -> Iterator[Packet] | None:
        """Add an AAC stream to `container` and return its packets, made lazily."""
        if self.stream is None:
            return None
        channels = self.stream.codec_context.layout.nb_channels
        layout = "mono" if channels == 1 else "stereo"
        source_rate = self.stream.codec_context.sample_rate
        rate = source_rate if source_rate in _AAC_RATES else 48000
        out: AudioStream = container.add_stream("aac", rate=rate)
        out.layout = layout
        out.bit_rate = 96_000 if layout == "mono" else 192_000
        return self._encoded(out, layout, rate)

    def _encoded(self, out: AudioStream, layout: str, rate: int) -> Iterator[Packet]:
        """AAC packets; pts count samples, so the encoder sees one unbroken clock."""
        av = _av(self.name)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate, frame_size=1024)
        written: int | None = None  # pts of the next sample: audio that starts late stays late
        for piece in itertools.chain(self._trimmed(), [None]):
            if written is None and piece is not None:
                written = round(Fraction(piece.pts or 0, piece.sample_rate) * rate)
            for frame in resampler.resample(piece):
                frame.pts, frame.time_base = written or 0, Fraction(1, rate)
                written = (written or 0) + frame.samples
                yield from out.encode(frame)
        yield from out.encode(None)

    def _trimmed(self) -> Iterator[AudioFrame]:
        """Decoded audio cut to the span; each piece's pts in samples from the span's start."""
        av = _av(self.name)
        stream = self.stream
        assert stream is not None
        start, end = self.start, self.end
        time_base = stream.time_base or Fraction(1, stream.codec_context.sample_rate)
        if start > 0:  # from a little earlier: AAC needs the frame before to decode cleanly
            target = math.floor(
                (max(Fraction(0), start - Fraction(1, 2)) + self.origin) / time_base
            )
            with contextlib.suppress(av.FFmpegError):
                self.container.seek(target, stream=stream)
        position: Fraction | None = None  # when the next decoded sample plays
        try:
            for frame in self.container.decode(stream):
                rate = frame.sample_rate
                if position is None:
                    pts = frame.pts
                    position = start if pts is None else pts * time_base - self.origin
                first = max(0, math.ceil((start - position) * rate))
                stop = min(frame.samples, math.ceil((end - position) * rate))
                if stop > first:
                    piece = _slice(av, frame, first, stop)
                    piece.pts = round((position + Fraction(first, rate) - start) * rate)
                    piece.time_base = Fraction(1, rate)
                    yield piece
                position += Fraction(frame.samples, rate)
                if position >= end:
                    return
        except av.FFmpegError as e:
            raise _error(self.name, f"corrupt audio data ({e.strerror or e})") from None


def _slice(av: Any, frame: AudioFrame, first: int, stop: int) -> AudioFrame:
    """Samples first..stop of an audio frame, as a new frame in the same format."""
    if first == 0 and stop == frame.samples:
        return frame
    data = frame.to_ndarray()
    channels = 1 if frame.format.is_planar else frame.layout.nb_channels
    part = np.ascontiguousarray(data[:, first * channels : stop * channels])
    piece: AudioFrame = av.AudioFrame.from_ndarray(part, format=frame.format, layout=frame.layout)
    piece.sample_rate = frame.sample_rate
    return piece


class _AudioFeed:
    """Audio packets muxed as the video reaches their time, so the streams interleave."""

    def __init__(self, packets: Iterator[Packet] | None) -> None:
        self.packets = packets
        self.pending: Packet | None = None

    def mux_until(self, container: OutputContainer, seconds: Fraction | None) -> None:
        if self.packets is None:
            return
        while True:
            if self.pending is None:
                self.pending = next(self.packets, None)
                if self.pending is None:
                    self.packets = None
                    return
            packet = self.pending
            if seconds is not None and packet.pts is not None:
                if packet.pts * packet.time_base > seconds:
                    return
            container.mux(packet)
            self.pending = None
