"""What every part of a clip's reading and writing shares: the span asked for (exact
fractions of seconds), frame rates, what a clip holds, and the one-line errors."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError, ImageError
from ...ranges import FPS_RANGE, in_range

if TYPE_CHECKING:
    pass


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
"""The frame rates a clip is written at (``ranges.FPS_RANGE``): beyond them encoders fail, or
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
