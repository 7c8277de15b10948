"""A clip's audio under the frames written: the span re-encoded as AAC, in step."""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import ConfigError
from .reading import _open_input
from .span import _AAC_RATES, _EXACT, AudioSpan, _av, _error

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.container import OutputContainer
    from av.packet import Packet

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
