"""impasto video end to end with the real vgg16-hed weights at a tiny size: the command in its
own process on a panned clip with audio, stopped by Ctrl-C after some frames and resumed by
the same command; and the painted clip holds still where per-frame painting flickers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("av")
pytest.importorskip("cv2")

from helpers import EXAMPLES, pan_clip  # noqa: E402
from impasto.io import video  # noqa: E402
from impasto.ops import flow  # noqa: E402
from impasto.ops.resize import resize_to  # noqa: E402

pytestmark = pytest.mark.weights

STYLE = EXAMPLES / "starry_night.jpg"
PAINTING = ["--size", "64", "--min-size", "0", "--iterations", "30", "--frame-iterations", "12"]


def _video(args: list, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "impasto", "video", *map(str, args)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log, "wb"))


def test_stopped_clip_is_written_so_far_and_the_same_command_resumes(tmp_path):
    source = pan_clip(tmp_path / "pan.mp4", frames=8, hw=(48, 64), fps=8, audio=True)
    out = tmp_path / "painted.mp4"
    args = [source, STYLE, "-o", out, *PAINTING]
    work = tmp_path / ".painted.mp4.impasto-frames"
    log = tmp_path / "first.log"
    process = _video(args, log)
    deadline = time.monotonic() + 300
    while not (work / "frame_000003.png").exists():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "no third frame in 5 minutes"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130, log.read_text()
    last = log.read_text().strip().splitlines()[-1]
    assert "frames so far" in last and str(out) in last
    so_far = video.probe(out)
    assert 3 <= so_far.frames < 8 and so_far.has_audio

    log = tmp_path / "second.log"
    assert _video(args, log).wait(timeout=600) == 0, log.read_text()
    assert f"resuming after frame {so_far.frames}" in log.read_text()
    info = video.probe(out)
    assert (info.frames, info.width, info.height, info.has_audio) == (8, 64, 48, True)
    assert abs(info.duration - 1.0) < 0.05 and not work.exists()
    frames = list(video.read_frames(out))
    inputs = [resize_to(f, 48, 64) for f in video.read_frames(source)]
    assert float((frames[0] - inputs[0]).abs().mean()) > 0.08  # painted, not copied


def temporal_error(painted, inputs) -> float:
    """Mean |frame t - frame t-1 carried by the flow| over reliable pixels (Ruder's measure)."""
    errors = []
    for t in range(1, len(painted)):
        back = flow.optical_flow(inputs[t], inputs[t - 1])
        weights = flow.reliability(back, flow.optical_flow(inputs[t - 1], inputs[t]))
        carried = flow.warp(painted[t - 1], back)
        difference = (painted[t] - carried).abs().mean(0)
        errors.append(float((difference * weights).sum() / weights.sum()))
    return sum(errors) / len(errors)


def test_painted_clip_flickers_far_less_than_frames_painted_alone(tmp_path):
    source = pan_clip(tmp_path / "pan.mp4", frames=5, hw=(48, 64), fps=8, seed=4)
    steady, alone = tmp_path / "steady", tmp_path / "alone"
    for out, extra in ((steady, []), (alone, ["--per-frame"])):
        log = tmp_path / f"{out.name}.log"
        assert _video([source, STYLE, "-o", out, *PAINTING, *extra], log).wait(600) == 0, (
            log.read_text()
        )
    inputs = [resize_to(f, 48, 64) for f in video.read_frames(source)]

    def frames(folder: Path):
        from impasto.io import images

        return [images.load_image(p).rgb for p in sorted(folder.glob("frame_*.png"))]

    assert temporal_error(frames(steady), inputs) < 0.5 * temporal_error(frames(alone), inputs)
