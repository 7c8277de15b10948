"""Read video files as frames and write frames as video files, with PyAV (FFmpeg inside).

Every failure a user can cause raises `ImageError` with one line that names the file, as for
images. Times are seconds from the clip's start (its container's first timestamp), kept as
exact fractions inside so that a frame on a boundary is never lost to rounding. Frames are
RGB (3, H, W) float32 in 0..1. PyAV is optional: it is imported only when a video is touched.

``span`` (spans, rates, what a clip holds), ``reading`` (probe, seek, decode), ``writing``
(H.264 or a folder of PNG frames, atomically) and ``audio`` (the span's audio under them).
"""

from .reading import probe, read_frames
from .span import MAX_FPS, MIN_FPS, VIDEO_SUFFIXES, AudioSpan, VideoInfo, check_rate
from .writing import check_video_output, write_video

__all__ = [
    "MAX_FPS", "MIN_FPS", "VIDEO_SUFFIXES", "AudioSpan", "VideoInfo", "check_rate",
    "check_video_output", "probe", "read_frames", "write_video",
]  # fmt: skip
