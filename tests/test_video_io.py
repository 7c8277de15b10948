"""impasto.io.video on tiny clips made here with PyAV: frames out in order, files in whole.

Each clip is 64x48 at 12 fps, frame i a solid colour from COLOURS, so a frame read back
says which one it is even through H.264's losses. Bad files give one line naming the file.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

av = pytest.importorskip("av")

from impasto.errors import ConfigError, ImageError  # noqa: E402
from impasto.io.video import (  # noqa: E402
    AudioSpan,
    check_video_output,
    probe,
    read_frames,
    reading,  # noqa: E402
    write_video,
)

W, H, FPS = 64, 48, 12
COLOURS = [
    (220, 40, 40), (40, 220, 40), (40, 40, 220), (220, 220, 40), (220, 40, 220), (40, 220, 220),
    (128, 128, 128), (240, 240, 240), (20, 20, 20), (220, 128, 40), (128, 40, 220), (40, 128, 90),
]  # fmt: skip
SAMPLE_RATE = 44100


# ------------------------------------------------------------------------------- helpers


def solid(index: int, w: int = W, h: int = H) -> np.ndarray:
    pixels = np.empty((h, w, 3), np.uint8)
    pixels[:] = COLOURS[index % len(COLOURS)]
    return pixels


def make_clip(
    path: Path,
    frames: int = 12,
    *,
    rate: int | Fraction = FPS,
    audio: bool = False,
    rotation: int | None = None,
    marker: bool = False,
    gop: int | None = None,
    fmt: str | None = None,
) -> Path:
    """Frame i is COLOURS[i % 12]; the audio is silent for 0.5 s, then a 440 Hz tone."""
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream("libx264", rate=rate, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        if gop is not None:
            stream.gop_size = gop
        if rotation is not None:
            stream.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=SAMPLE_RATE) if audio else None
        if sound is not None:
            sound.layout = "mono"
        for i in range(frames):
            pixels = solid(i)
            if marker:
                pixels[:8, :8] = 255
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None:
            total = round(SAMPLE_RATE * frames / rate)
            t = np.arange(total)
            wave = np.where(
                t >= SAMPLE_RATE // 2, 0.5 * np.sin(2 * np.pi * 440 * t / SAMPLE_RATE), 0
            )
            for at in range(0, total, 1024):
                chunk = wave[at : at + 1024].astype(np.float32)[None]
                piece = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                piece.sample_rate, piece.pts = SAMPLE_RATE, at
                container.mux(sound.encode(piece))
            container.mux(sound.encode(None))
    return path


def which(frame: torch.Tensor) -> int:
    """The index of the colour a frame shows; it must be close to that colour."""
    assert frame.dtype == torch.float32 and frame.shape[0] == 3
    mean = frame.mean(dim=(1, 2))
    palette = torch.tensor(COLOURS, dtype=torch.float32) / 255
    index = int((palette - mean).abs().sum(dim=1).argmin())
    assert float((frame - palette[index][:, None, None]).abs().mean()) < 0.05
    return index


def indices(frames) -> list[int]:
    return [which(f) for f in frames]


def tensors(count: int, w: int = W, h: int = H) -> list[torch.Tensor]:
    return [torch.from_numpy(solid(i, w, h)).permute(2, 0, 1).float() / 255 for i in range(count)]


def audio_of(path: Path) -> np.ndarray:
    """Every decoded sample of the first audio stream, mono float."""
    with av.open(str(path)) as container:
        chunks = [f.to_ndarray().mean(axis=0) for f in container.decode(audio=0)]
    return np.concatenate(chunks)


def expect_error(path: Path | str, fragment: str, call, *args, **kwargs) -> str:
    """The call raises ImageError: one line, starting with the path as given, saying fragment."""
    with pytest.raises(ImageError) as info:
        list_or_call = call(*args, **kwargs)
        if hasattr(list_or_call, "__next__"):
            list(list_or_call)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message, message
    assert fragment in message, message
    return message


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "plain": make_clip(folder / "plain.mp4"),
        "sound": make_clip(folder / "sound.mp4", audio=True),
        "long": make_clip(folder / "long.mp4", frames=36, gop=12),
        "turned": make_clip(folder / "turned.mp4", rotation=90, marker=True),
        "ntsc": make_clip(folder / "ntsc.mkv", rate=Fraction(30000, 1001), fmt="matroska"),
    }


# ------------------------------------------------------------------------------- reading


def test_probe_says_size_rate_frames_and_audio(clips):
    info = probe(clips["plain"])
    assert (info.width, info.height, info.fps, info.frames) == (W, H, Fraction(12), 12)
    assert (info.start, info.duration, info.has_audio) == (0.0, 1.0, False)
    assert info.path == clips["plain"]
    assert probe(clips["sound"]).has_audio is True


def test_frames_come_in_order_as_rgb_floats(clips):
    frames = list(read_frames(clips["plain"]))
    assert len(frames) == 12
    assert all(f.shape == (3, H, W) and f.is_contiguous() for f in frames)
    assert all(0 <= float(f.min()) and float(f.max()) <= 1 for f in frames)
    assert indices(frames) == list(range(12))


def test_start_and_duration_cut_the_frames_timed_in_the_span(clips):
    # frame i is at i/12 s: [0.25, 0.75) holds frames 3..8; [0.3, 0.8) holds 4..9
    assert indices(read_frames(clips["plain"], start=0.25, duration=0.5)) == [3, 4, 5, 6, 7, 8]
    assert indices(read_frames(clips["plain"], start=0.3, duration=0.5)) == [4, 5, 6, 7, 8, 9]
    assert indices(read_frames(clips["plain"], start=0.9)) == [11]
    info = probe(clips["plain"], start=0.3, duration=0.5)
    # start is when frame 0 is on screen: the first frame after 0.3 s, at 4/12 s
    assert info.frames == 5 + 1 and info.start == pytest.approx(1 / 3)
    assert info.duration == pytest.approx(0.8 - 1 / 3)


def test_a_late_start_seeks_instead_of_decoding_from_the_top(clips, monkeypatch):
    decoded = []
    real = reading._decoded

    def counting(clip, start):
        for item in real(clip, start):
            decoded.append(item[0])
            yield item

    monkeypatch.setattr(reading, "_decoded", counting)
    frames = list(read_frames(clips["long"], start=2.0))
    assert indices(frames) == list(range(12))  # frames 24..35
    # from a keyframe at most a second (the GOP) before 2.0 s, not from 0
    assert 1 <= decoded[0] <= 2 and len(decoded) <= 24


def test_a_seek_that_overshoots_falls_back_to_the_top(clips, monkeypatch):
    real = reading._seek
    monkeypatch.setattr(reading, "_seek", lambda clip, s: real(clip, s + Fraction(3, 2)))
    assert indices(read_frames(clips["long"], start=1.25, duration=0.25)) == [3, 4, 5]
    assert probe(clips["long"], start=1.25, duration=0.25).frames == 3


def test_fps_resamples_to_the_frame_on_screen(clips):
    # output k shows the last input i with i/12 <= k/fps
    assert indices(read_frames(clips["plain"], fps=10)) == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert indices(read_frames(clips["plain"], fps=24)) == [i // 2 for i in range(24)]
    assert indices(read_frames(clips["plain"], fps=12)) == list(range(12))
    assert indices(read_frames(clips["plain"], start=0.3, duration=0.5, fps=10)) == [3, 4, 6, 7, 8]
    info = probe(clips["plain"], fps=10)
    assert (info.fps, info.frames, info.duration) == (Fraction(10), 10, 1.0)
    assert probe(clips["plain"], fps=24).frames == 24
    assert probe(clips["plain"], start=0.3, duration=0.5, fps=10).frames == 5


def test_millisecond_timestamps_do_not_drop_or_repeat_frames(clips):
    # Matroska keeps 1 ms steps: 1001/30000 s becomes 33 ms, 67 ms, 100 ms ...
    info = probe(clips["ntsc"])
    assert (info.fps, info.frames) == (Fraction(30000, 1001), 12)
    assert indices(read_frames(clips["ntsc"])) == list(range(12))
    assert indices(read_frames(clips["ntsc"], fps=Fraction(30000, 1001))) == list(range(12))


def test_rotation_metadata_is_applied(clips):
    info = probe(clips["turned"])
    assert (info.width, info.height) == (H, W)
    frame = next(read_frames(clips["turned"]))
    assert frame.shape == (3, W, H)
    # stored top-left, turned 90 degrees counterclockwise for display: bottom-left
    assert float(frame[:, -6:, :6].mean()) > 0.95
    assert float(frame[:, :6, :6].mean()) < 0.95


# ------------------------------------------------------------------------------- bad input


def test_bad_files_say_what_is_wrong_in_one_line(clips, tmp_path):
    data = clips["plain"].read_bytes()
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 20)
    cut = tmp_path / "cut.mp4"  # the index (moov) comes last, and is lost
    cut.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    still = tmp_path / "still.png"
    from PIL import Image

    Image.new("RGB", (20, 10), "red").save(still)
    odd_codec = tmp_path / "odd_codec.mp4"  # the sample entry names a codec nobody knows
    odd_codec.write_bytes(data.replace(b"avc1", b"qqq1"))
    for path, fragment in [
        (tmp_path / "missing.mp4", "file not found"),
        (tmp_path, "is a folder"),
        (empty, "empty file"),
        (text, "not a video FFmpeg can read"),
        (cut, "not a video FFmpeg can read"),
        (still, "is a still image, not a video"),
        (odd_codec, "codec cannot be decoded"),
    ]:
        expect_error(path, fragment, probe, path)
        expect_error(path, fragment, read_frames, path)


def test_audio_only_files_have_no_video_stream(tmp_path):
    for name, codec, fmt in [("tone.m4a", "aac", "fltp"), ("tone.wav", "pcm_s16le", "s16")]:
        path = tmp_path / name
        with av.open(str(path), "w") as container:
            stream = container.add_stream(codec, rate=8000)
            stream.layout = "mono"
            samples = np.zeros((1, 8000), np.float32 if fmt == "fltp" else np.int16)
            frame = av.AudioFrame.from_ndarray(samples, format=fmt, layout="mono")
            frame.sample_rate, frame.pts = 8000, 0
            container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
        expect_error(path, "has no video stream (only audio)", probe, path)


def test_a_truncated_file_is_refused_before_the_work_and_while_reading(tmp_path):
    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        noise = np.random.default_rng(0)
        for i in range(48):  # noise: every frame big, so a cut loses many of them
            frame = av.VideoFrame.from_ndarray(noise.integers(0, 255, (H, W, 3), np.uint8))
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"  # the index is at the front, half the frames' data is gone
    cut.write_bytes(data[: len(data) // 2])
    expect_error(cut, "truncated", probe, cut)
    expect_error(cut, "truncated", read_frames, cut)


def test_a_span_without_frames_is_refused(clips):
    path = clips["plain"]
    message = expect_error(path, "has no frames between 12.0 s and the end", probe, path, 12.0)
    assert "(the clip is 1.0 s long)" in message
    expect_error(path, "has no frames between 12.0 s", read_frames, path, 12.0)
    # 0.01..0.06 s holds no timestamp (frames at 0 and 0.083 s); resampled, frame 0 is on screen
    expect_error(path, "between 0.01 s and 0.06 s", probe, path, 0.01, 0.05)
    assert probe(path, 0.01, 0.05, fps=12).frames == 1


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"start": -1.0}, "start must be 0 s or later"),
        ({"duration": 0.0}, "duration must be more than 0 s"),
        ({"duration": -2.0}, "duration must be more than 0 s"),
        ({"fps": 0.0}, "fps must be >= 0.01, got 0"),
        ({"fps": float("nan")}, "fps must be >= 0.01, got nan"),
    ],
)
def test_bad_option_values_are_config_errors(clips, options, fragment):
    with pytest.raises(ConfigError, match=fragment):
        probe(clips["plain"], **options)
    with pytest.raises(ConfigError, match=fragment):
        list(read_frames(clips["plain"], **options))


def test_without_pyav_the_message_says_how_to_install_it(clips, monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # `import av` now raises ImportError
    expect_error(clips["plain"], "pip install 'impasto[video]'", probe, clips["plain"])


# ------------------------------------------------------------------------------- writing


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_written_video_reads_back_the_same(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    assert write_video(out, tensors(12), 12) == out
    info = probe(out)
    assert (info.width, info.height, info.fps, info.frames, info.has_audio) == (W, H, 12, 12, False)
    assert indices(read_frames(out)) == list(range(12))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")


def test_fractional_rates_survive_the_round_trip(tmp_path):
    out = tmp_path / "ntsc.mp4"
    write_video(out, tensors(6), Fraction(30000, 1001))
    assert probe(out).fps == Fraction(30000, 1001)
    write_video(out, tensors(6), 29.97, overwrite=True)  # a float becomes the fraction it means
    assert probe(out).fps == Fraction(2997, 100)


def test_odd_sizes_are_padded_to_even(tmp_path):
    out = tmp_path / "odd.mp4"
    write_video(out, tensors(3, w=33, h=21), 12)
    info = probe(out)
    assert (info.width, info.height) == (34, 22)
    assert indices(read_frames(out)) == [0, 1, 2]  # the added edge has the frame's colour


def test_audio_of_the_span_is_kept_trimmed_and_in_sync(clips, tmp_path):
    source = clips["sound"]  # silent until 0.5 s, then a tone
    info = probe(source, start=0.25, duration=0.5)
    out = tmp_path / "with_sound.mp4"
    span = AudioSpan(source, info.start, info.duration)
    write_video(out, read_frames(source, 0.25, 0.5), info.fps, audio_from=span)
    assert probe(out).has_audio and probe(out).frames == 6
    samples = audio_of(out)
    assert len(samples) / SAMPLE_RATE == pytest.approx(0.5, abs=0.1)
    loud = np.flatnonzero(np.abs(samples) > 0.25)
    assert loud[0] / SAMPLE_RATE == pytest.approx(0.25, abs=0.03)  # 0.5 s in the source
    with av.open(str(out)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]


def test_audio_from_a_silent_file_adds_no_audio_stream(clips, tmp_path):
    out = tmp_path / "silent.mp4"
    write_video(out, tensors(4), 12, audio_from=AudioSpan(clips["plain"], 0.0, 1.0))
    assert probe(out).has_audio is False


def failing_after(count: int, error: BaseException):
    yield from tensors(count)
    raise error


@pytest.mark.parametrize("error", [RuntimeError("the network died"), KeyboardInterrupt()])
@pytest.mark.parametrize("name", ["out.mp4", "frames"])
def test_an_interrupted_write_leaves_nothing_behind(clips, tmp_path, error, name):
    folder = tmp_path / "results"
    folder.mkdir()
    out = folder / name
    span = AudioSpan(clips["sound"], 0.0, 1.0)
    with pytest.raises(type(error)):
        write_video(out, failing_after(3, error), 12, audio_from=span)
    assert list(folder.iterdir()) == []


def test_an_existing_output_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    expect_error(out, "already exists; pass --overwrite to replace it", check_video_output, out)
    expect_error(out, "already exists", write_video, out, tensors(2), 12)
    assert out.read_bytes() == b"precious"
    write_video(out, tensors(2), 12, overwrite=True)
    assert probe(out).frames == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_folder_gets_png_frames(tmp_path):
    out = tmp_path / "frames"
    write_video(out, tensors(3), 12)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["frame_000001.png", "frame_000002.png", "frame_000003.png"]
    from PIL import Image

    with Image.open(out / "frame_000002.png") as im:
        assert (im.mode, im.size) == ("RGB", (W, H))
        assert np.asarray(im)[0, 0].tolist() == list(COLOURS[1])  # PNG: lossless
    expect_error(out, "not empty; pass --overwrite", write_video, out, tensors(1), 12)
    write_video(out, tensors(1), 12, overwrite=True)  # a folder of frames may be replaced
    assert [p.name for p in out.iterdir()] == ["frame_000001.png"]
    (out / "notes.txt").write_text("mine")
    expect_error(
        out, "holds files other than frames", write_video, out, tensors(1), 12, overwrite=True
    )
    assert (out / "notes.txt").exists()
    empty = tmp_path / "empty.mp4"  # an existing folder is a folder, whatever its name
    empty.mkdir()
    write_video(empty, tensors(2), 12)
    assert len(list(empty.iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.mp4", "frames"]


def test_output_names_are_checked_before_any_work(tmp_path):
    expect_error(
        tmp_path / "out.avi",
        "unknown video format '.avi'",
        check_video_output,
        tmp_path / "out.avi",
    )
    missing = tmp_path / "nowhere" / "out.mp4"
    expect_error(missing, "does not exist; create it first", check_video_output, missing)
    file = tmp_path / "frames"
    file.write_text("a file without a suffix")
    expect_error(file, "is a file", check_video_output, file, overwrite=True)
    assert check_video_output(tmp_path / "new.mkv") == tmp_path / "new.mkv"
    with pytest.raises(ConfigError, match="quality"):
        write_video(tmp_path / "q.mp4", tensors(1), 12, quality=60)
    with pytest.raises(ConfigError, match="fps"):
        write_video(tmp_path / "q.mp4", tensors(1), 0)
    with pytest.raises(ValueError, match="no frames"):
        write_video(tmp_path / "q.mp4", [], 12)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
