"""Writing frames: H.264 in an MP4/MOV/MKV, or a folder of PNG frames, atomically, and
read back before it is said to be written."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ...errors import ConfigError
from ...files import cannot_write, hidden_beside, replace_folder, sync, write_synced
from ..images import encode_image, probe_write
from .audio import _AudioFeed, _AudioSource
from .span import (
    _BT709,
    _FRAME_NAME,
    _LIMITED_RANGE,
    _MUXERS,
    VIDEO_SUFFIXES,
    AudioSpan,
    _av,
    _error,
    _rate,
)

if TYPE_CHECKING:
    from av.container import OutputContainer
    from av.video.stream import VideoStream

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
    tmp = hidden_beside(dest)
    try:
        os.mkdir(tmp)
    except OSError as e:
        raise cannot_write(name, e) from None
    try:
        for number, rgb in enumerate(_frames_checked(frames, name), 1):
            write_synced(tmp / _FRAME_NAME.format(number), encode_image(rgb, fmt="PNG"))
        replace_folder(tmp, dest)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError):
            raise cannot_write(name, e) from None
        raise


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
    tmp = hidden_beside(dest)
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
        sync(tmp)
        os.replace(tmp, dest)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, av.FFmpegError) and e.errno != errno.ENOSPC:
            raise _error(name, f"cannot encode the video ({e.strerror or e})") from None
        if isinstance(e, OSError):  # FFmpeg's full disk is an OSError too
            raise cannot_write(name, e) from None
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
