"""impasto video against hostile files and settings (issue 32): giant frames, absurd frame
rates, pipes, a full disk. Each is one line and exit status 2 (before any work where it can
be known then), with nothing half-written left behind, and a clip said to be written is one
that decodes. Frames are painted with a tiny random network.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import threading
import zlib
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("av")
pytest.importorskip("cv2")

import helpers  # noqa: E402
from helpers import CLI_CHILD, EXAMPLES, pan_clip  # noqa: E402
from impasto.config import StyleConfig  # noqa: E402
from impasto.io import video  # noqa: E402
from impasto.jobs import clip  # noqa: E402

STYLE = EXAMPLES / "starry_night.jpg"
FAST = ["--size", "40", "--min-size", "32", "--iterations", "2", "--frame-iterations", "2"]


@pytest.fixture
def clip_file(tmp_path: Path) -> Path:
    return pan_clip(tmp_path / "pan.mp4", frames=4)


def test_a_piped_style_is_read_once(tiny_network, clip_file, tmp_path):
    """The style's bytes make the job's key and its picture from one reading: a pipe
    whose writer wrote it once is not waited on a second time."""
    fifo = tmp_path / "style.jpg"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(STYLE.read_bytes())

    threading.Thread(target=write, daemon=True).start()
    spec = clip.VideoSpec(clip_file, (fifo,), StyleConfig(size=40), output=tmp_path / "o.mp4")
    prepared: list[clip.VideoJob] = []
    reader = threading.Thread(target=lambda: prepared.append(clip.prepare(spec)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():  # waiting for a second writer: give it an empty one, then fail
        open(fifo, "wb").close()
        reader.join(timeout=10)
    assert prepared, "the style was read twice (the second reading waited for a writer)"
    assert prepared[0].styles[0].shape[0] == 3


def test_a_piped_style_named_twice_is_read_once(tiny_network, clip_file, tmp_path):
    """The same pipe as two styles (blended with itself): one reading, not a second one
    that waits for good for a writer that wrote once."""
    fifo = tmp_path / "style.jpg"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(STYLE.read_bytes())

    threading.Thread(target=write, daemon=True).start()
    spec = clip.VideoSpec(clip_file, (fifo, fifo), StyleConfig(size=40), output=tmp_path / "o.mp4")
    prepared: list[clip.VideoJob] = []
    reader = threading.Thread(target=lambda: prepared.append(clip.prepare(spec)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():
        open(fifo, "wb").close()
        reader.join(timeout=10)
    assert prepared, "the style was read twice (the second reading waited for a writer)"
    assert len(prepared[0].styles) == 2


# ----------------------------------------------------------- frames too large (item 9)


def flat_jpeg(width: int, height: int) -> bytes:
    """A valid grey JPEG of any size in a few bits a block (every 8x8 block mid-grey): a
    12000 x 12000 picture in 1.7 MB."""
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, "JPEG", quality=90)  # standard Huffman tables
    data = buffer.getvalue()
    scan = data.find(b"\xff\xda")
    head = bytearray(data[: scan + 2 + struct.unpack(">H", data[scan + 2 : scan + 4])[0]])
    frame = head.find(b"\xff\xc0")
    struct.pack_into(">HH", head, frame + 5, height, width)
    bits = 6 * ((width + 7) // 8) * ((height + 7) // 8)  # DC 0 ("00") then EOB ("1010")
    body = (b"\x28\xa2\x8a" * (bits // 24 + 1))[: (bits + 7) // 8]  # 001010 repeated
    return bytes(head) + body + b"\xff\xd9"


def mjpeg_clip(path: Path, sizes: list[tuple[int, int]], header: tuple[int, int]) -> Path:
    """Motion JPEG in Matroska, one frame a second of each size; ``header`` the stream's."""
    import av

    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width, stream.height = header
        stream.pix_fmt = "yuvj444p"
        for k, size in enumerate(sizes):
            packet = av.Packet(flat_jpeg(*size))
            packet.stream, packet.pts, packet.dts = stream, k, k
            packet.time_base = Fraction(1, 1)
            container.mux(packet)
    return path


def _peak_growth(tmp_path: Path, argv: list) -> tuple[subprocess.CompletedProcess, float]:
    """``impasto ARGV`` in its own process (a tiny network); its stderr, and how many MB its
    peak resident memory grew while the command ran (everything imported before)."""
    record = tmp_path / "rss.txt"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "IMPASTO_HOME": str(tmp_path / "home"),
           "IMPASTO_TEST_RSS": str(record)}  # fmt: skip
    done = subprocess.run([sys.executable, str(CLI_CHILD), *map(str, argv)], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    before, after = map(int, record.read_text().split())
    return done, (after - before) / 1024


GIANT = (12000, 12000)  # 144 megapixels: 3.1 GB at its peak when decoded and converted


@pytest.mark.parametrize("header", [GIANT, (64, 48)], ids=["header says so", "header lies"])
def test_a_giant_frame_is_refused_before_it_is_decoded(tmp_path, header):
    """A 1.7 MB clip of one 12000 x 12000 frame: refused in one line (exit 2) as a picture
    over 100 megapixels is, and the frame is never decoded: the process's peak memory grows
    by less than the frame itself would take (144 MB grey; 432 MB as RGB)."""
    giant = mjpeg_clip(tmp_path / "giant.mkv", [GIANT], header)
    assert giant.stat().st_size < 2_000_000
    done, grown = _peak_growth(tmp_path, ["video", giant, STYLE, "-o", tmp_path / "o.mp4", *FAST])
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"{giant}: " in lines[0], lines[0]  # the decoders' limit refuses it at the open:
    assert "larger than 100000000 pixels (the limit)" in lines[0]  # no size is known then
    assert grown < 100, f"peak memory grew by {grown:.0f} MB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["giant.mkv", "rss.txt"]


def test_a_giant_frame_midway_is_refused_before_it_is_decoded(tmp_path):
    """Frames that grow midway (the header and the first frames small): the decoder refuses
    the giant one before allocating it. Painting the two small frames takes memory of its
    own, so the peak is compared with the same clip whose third frame is small too. The
    first run on a machine also measures its speed (some 50 MB more, which made the test
    fail one time in two): a run before both does it for them."""
    small = (64, 48)
    plain = mjpeg_clip(tmp_path / "plain.mkv", [small, small, small], small)
    done, _ = _peak_growth(tmp_path, ["video", plain, STYLE, "-o", tmp_path / "w.mp4", *FAST])
    assert done.returncode == 0, done.stderr
    grows = mjpeg_clip(tmp_path / "grows.mkv", [small, small, GIANT], small)
    done, grown = _peak_growth(tmp_path, ["video", grows, STYLE, "-o", tmp_path / "o.mp4",
                                          *FAST, "-q"])  # fmt: skip
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"{grows}: a frame after 1.0 s cannot be decoded: larger than 100000000" in lines[0]
    done, baseline = _peak_growth(tmp_path, ["video", plain, STYLE, "-o", tmp_path / "p.mp4",
                                             *FAST, "-q"])  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert grown < baseline + 50, f"peak memory grew by {grown:.0f} MB, {baseline:.0f} without"


def flat_png(width: int, height: int) -> bytes:
    """A valid black RGB PNG of any size, compressed a row at a time: 12000 x 12000 in
    0.4 MB, 432 MB once decoded."""
    deflate = zlib.compressobj(9)
    row = bytes(1 + 3 * width)  # filter byte 0, then black pixels
    data = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def png_clip(path: Path, sizes: list[tuple[int, int]], header: tuple[int, int]) -> Path:
    """PNG frames in QuickTime, one a second of each size; ``header`` the stream's."""
    import av

    with av.open(str(path), "w", format="mov") as container:
        stream = container.add_stream("png", rate=1)
        stream.width, stream.height = header
        stream.pix_fmt = "rgb24"
        for k, size in enumerate(sizes):
            packet = av.Packet(flat_png(*size))
            packet.stream, packet.pts, packet.dts = stream, k, k
            packet.time_base = Fraction(1, 1)
            container.mux(packet)
    return path


@pytest.mark.parametrize("header", [GIANT, (64, 48)], ids=["header says so", "header lies"])
def test_a_giant_frame_of_a_codec_ffmpeg_decodes_to_learn_its_size_is_never_decoded(
    tmp_path, header
):
    """FFmpeg decodes the first frame while it opens a file whose header leaves the size to
    the frames (PNG in QuickTime, among others): the decoders' limit goes in at the open, or
    the 12000 x 12000 frame was decoded (432 MB) before the size was known and refused."""
    giant = png_clip(tmp_path / "giant.mov", [GIANT], header)
    assert giant.stat().st_size < 2_000_000
    done, grown = _peak_growth(tmp_path, ["video", giant, STYLE, "-o", tmp_path / "o.mp4", *FAST])
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f"{giant}: " in lines[0], lines[0]
    assert "frames are too large" in lines[0] or "larger than 100000000 pixels" in lines[0]
    assert grown < 100, f"peak memory grew by {grown:.0f} MB"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["giant.mov", "rss.txt"]


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_clip_that_is_a_pipe_or_a_device_is_said_so(tmp_path, capsys, kind):
    """A clip is read more than once (probed, counted, painted): a pipe or a device is
    refused in one line that says what it is (it said 'empty file (0 bytes)')."""
    source = tmp_path / "clip.mp4"
    if kind == "fifo":
        os.mkfifo(source)  # no writer: only looked at, never opened
    else:
        source = Path("/dev/zero")
    code, err = _run(capsys, "video", source, STYLE, "-o", tmp_path / "o.mp4", *FAST)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert f"{source}: is a pipe or a device, not a file" in lines[0], lines[0]
    assert not (tmp_path / "o.mp4").exists()


# ----------------------------------------------------------- a full disk (item 13)


def _run(capsys, *argv) -> tuple[int, str]:
    from impasto.apps.main import main

    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_a_full_disk_at_the_first_write_is_one_line_and_leaves_nothing(
    tiny_network, clip_file, tmp_path, capsys, full_disk
):
    out = tmp_path / "out"
    out.mkdir()
    full_disk(out)
    code, err = _run(capsys, "video", clip_file, STYLE, "-o", out / "o.mp4", *FAST, "-q")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "cannot write (no space left on the device)" in lines[0]
    assert list(out.iterdir()) == []  # no frames folder, no temporary file


def test_a_disk_full_after_two_frames_keeps_them_and_the_same_command_goes_on(
    tiny_network, clip_file, tmp_path, capsys, full_disk
):
    """clip.json, frame 1, frame 2 and its maturity fit; frame 3's maturity does not: one
    line, the finished frames kept (whole), and with room again the same command resumes."""
    out = tmp_path / "out"
    out.mkdir()
    full_disk(out, after=4)
    argv = ["video", clip_file, STYLE, "-o", out / "o.mp4", *FAST, "-q"]
    code, err = _run(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "cannot write (no space left on the device)" in lines[0]
    assert "the 2 frames finished are kept" in lines[0]
    (work,) = out.iterdir()
    assert sorted(p.name for p in work.iterdir()) == [
        "clip.json", "frame_000001.png", "frame_000002.png", "maturity_000002.png"
    ]  # fmt: skip
    full_disk(out, after=1000)
    code, err = _run(capsys, *argv[:-1])
    assert code == 0 and "resuming after frame 2" in err, err
    assert video.probe(out / "o.mp4").frames == 4 and list(out.iterdir()) == [out / "o.mp4"]


def test_a_clip_on_a_really_full_disk_is_one_line_and_leaves_nothing(clip_file, tmp_path):
    """The same on a real full filesystem (a tmpfs, where the system lends one)."""
    out = tmp_path / "out"
    status, err, left = helpers.on_a_full_disk(
        out, ["video", clip_file, STYLE, "-o", out / "o.mp4", *FAST, "-q"],
        env_home=tmp_path / "home",
    )  # fmt: skip
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1, err
    assert "no space left on the device" in lines[0] and left == []


# ----------------------------------------------------------- absurd frame rates (item 14)


@pytest.mark.parametrize("fps", ["1e6", "1e12", "177827.94", "1001", "1e-7", "0.001"])
def test_an_absurd_frame_rate_is_refused_before_any_work(
    tiny_network, clip_file, tmp_path, capsys, fps
):
    """Rates no clip is written at (encoders fail, overflow, or write what players refuse)
    are an option's error: one line, exit 2, nothing painted."""
    out = tmp_path / "out"
    out.mkdir()
    code, err = _run(capsys, "video", clip_file, STYLE, "-o", out / "o.mp4", "--fps", fps,
                     "--duration", "0.00002", *FAST)  # fmt: skip
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "fps must be >= 0.01" in lines[0] or "fps must be at most 1000" in lines[0]
    assert tiny_network == [] and list(out.iterdir()) == []


def test_a_clip_of_an_absurd_frame_rate_needs_fps(tiny_network, tmp_path, capsys):
    """A clip whose own rate is beyond what is written: refused before any work, with the
    way out; with --fps it is painted."""
    fast = pan_clip(tmp_path / "fast.mp4", frames=4, fps=2000)
    code, err = _run(capsys, "video", fast, STYLE, "-o", tmp_path / "o.mp4", *FAST)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert f"{fast}: its frame rate is 2000 fps" in lines[0] and "give --fps" in lines[0]
    assert tiny_network == [] and not (tmp_path / "o.mp4").exists()
    spec = clip.VideoSpec(fast, (STYLE,), StyleConfig(size=40), output=tmp_path / "o.mp4", fps=25)
    assert clip.prepare(spec).frames == 1


def test_a_stopped_run_says_it_wrote_a_clip_only_if_it_decodes(
    tiny_network, clip_file, tmp_path, capsys, monkeypatch
):
    """The clip so far is read back before it is said to be written: an encoder that wrote
    one that does not decode (here its video packets lost) leaves no file, and the line
    says so; the frames are kept."""
    from impasto.io.video import writing
    from impasto.jobs import frames as painter

    real_paint, real_encode = painter.paint_frame, writing._encode
    calls: list[int] = []

    def stop_at_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_paint(*args, **kwargs)

    def losing_video(container, *args):
        class Lossy:  # the container, but the video's packets never reach the file
            def __getattr__(self, name):
                return getattr(container, name)

            def mux(self, packets):
                packets = packets if isinstance(packets, list) else [packets]
                container.mux([p for p in packets if p.stream.type != "video"])

        return real_encode(Lossy(), *args)

    monkeypatch.setattr(painter, "paint_frame", stop_at_third)
    monkeypatch.setattr(writing, "_encode", losing_video)
    out = tmp_path / "o.mp4"
    code, err = _run(capsys, "video", clip_file, STYLE, "-o", out, *FAST, "-q")
    lines = err.strip().splitlines()
    assert code == 130 and len(lines) == 1, err
    assert "could not write the clip so far" in lines[0] and "does not decode" in lines[0]
    assert "wrote" not in lines[0] and not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [
        ".o.mp4.impasto-frames"
    ]  # the frames kept; no temporary file
