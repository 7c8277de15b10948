"""``impasto video`` with a tiny random network: the job, the frame loop, resuming, the CLI.

Clips are made in the test (``helpers.pan_clip``: a picture panned 2 px a frame). The real
weights run in ``test_video_e2e.py``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

pytest.importorskip("av")
pytest.importorskip("cv2")

from helpers import EXAMPLES, pan_clip  # noqa: E402
from impasto.apps.main import main  # noqa: E402
from impasto.config import StyleConfig, VideoConfig  # noqa: E402
from impasto.errors import ConfigError, ImageError  # noqa: E402
from impasto.io import video  # noqa: E402
from impasto.jobs import clip  # noqa: E402
from impasto.jobs import frames as painter  # noqa: E402
from impasto.jobs.eta import FrameClock  # noqa: E402

STYLE = EXAMPLES / "starry_night.jpg"
FAST = ["--size", "40", "--min-size", "32", "--iterations", "2", "--frame-iterations", "2"]


def small_config() -> StyleConfig:
    return StyleConfig(size=40, min_size=32, iterations=2)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def clip_file(tmp_path) -> Path:
    return pan_clip(tmp_path / "pan.mp4", frames=5, audio=True)


# ------------------------------------------------------------------------------- the ETA


def test_clock_counts_the_first_frame_apart_until_measured():
    clock = FrameClock(frames=10, first=30.0, later=5.0)
    assert clock.seconds_left() == 30.0 + 9 * 5.0
    assert clock.seconds_left(current=0.5) == 15.0 + 9 * 5.0


def test_clock_scales_later_frames_by_the_first_frames_error():
    clock = FrameClock(frames=10, first=30.0, later=5.0)
    clock.record(1, 60.0)  # this machine is twice as slow as estimated
    assert clock.seconds_left() == 9 * 10.0


def test_clock_uses_measured_later_frames_once_there_are_some():
    clock = FrameClock(frames=10, first=30.0, later=5.0)
    clock.record(1, 60.0)
    clock.record(2, 4.0)
    clock.record(3, 6.0)
    assert clock.seconds_left() == 7 * 5.0
    assert clock.seconds_left(current=0.5) == 6.5 * 5.0
    clock.record(10, 5.0)
    assert clock.seconds_left() == 0.0


def test_a_resumed_clock_starts_with_later_frames():
    clock = FrameClock(frames=10, first=30.0, later=5.0, done=4)
    assert clock.seconds_left() == 6 * 5.0


def test_a_new_region_is_held_more_each_frame_until_settled():
    reliable = torch.tensor([[[1.0, 1.0, 0.0]]])
    carried = painter.Carried(torch.zeros(3, 1, 3), reliable, torch.tensor([[[0.0, 1.0, 1.0]]]))
    torch.testing.assert_close(carried.hold, torch.tensor([[[0.0, 1.0, 0.0]]]))
    step = 1 / painter.RAMP_FRAMES
    torch.testing.assert_close(carried.next_maturity(), torch.tensor([[[step, 1.0, 0.0]]]))
    for _ in range(painter.RAMP_FRAMES + 2):
        carried = dataclasses.replace(carried, maturity=carried.next_maturity())
    torch.testing.assert_close(carried.hold, torch.tensor([[[1.0, 1.0, 0.0]]]))


# ------------------------------------------------------------------------------- the job


def test_prepare_plans_frames_estimates_and_names(tiny_network, clip_file, tmp_path):
    spec = clip.VideoSpec(
        clip_file, (STYLE,), small_config(), VideoConfig(frame_iterations=1), tmp_path / "out.mp4"
    )
    job = clip.prepare(spec)
    assert job.frames == 5 and job.frame_hw == (30, 40) and job.info.has_audio
    assert job.later_config.schedule == "40:1"
    assert job.first.seconds > job.later.seconds > 0
    assert job.seconds() == pytest.approx(job.first.seconds + 4 * job.later.seconds)
    assert clip.output_path(dataclasses.replace(spec, output=None)).name == "pan_starry_night.mp4"
    assert clip.output_path(dataclasses.replace(spec, output=tmp_path)) == (
        tmp_path / "pan_starry_night.mp4"
    )


def test_the_key_follows_settings_and_contents(clip_file, tmp_path):
    spec = clip.VideoSpec(clip_file, (STYLE,), small_config())
    hw = (30, 40)
    base = clip.job_key(spec, clip_file, [STYLE], hw)
    assert clip.job_key(spec, clip_file, [STYLE], hw) == base
    stronger = dataclasses.replace(spec, video=VideoConfig(temporal_weight=10.0))
    assert clip.job_key(stronger, clip_file, [STYLE], hw) != base
    other = pan_clip(tmp_path / "other.mp4", frames=5, seed=3)
    assert clip.job_key(spec, other, [STYLE], hw) != base


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"output": "STYLE"}, "is the style image of this run"),
        ({"output": "CLIP"}, "is the clip of this run"),
        ({"output": "out.gif"}, "out.gif"),
        ({"start": 30.0}, "no frames"),
        ({"config": StyleConfig(schedule="40:2")}, "--frame-iterations"),
    ],
)
def test_bad_jobs_are_refused_before_any_work(tiny_network, clip_file, tmp_path, change, fragment):
    if change.get("output") == "STYLE":
        change["output"] = STYLE
    elif change.get("output") == "CLIP":
        change["output"] = clip_file
    elif "output" in change:
        change["output"] = tmp_path / change["output"]
    spec = clip.VideoSpec(clip_file, (STYLE,), small_config(), output=tmp_path / "o.mp4")
    with pytest.raises((ImageError, ConfigError)) as caught:
        clip.prepare(dataclasses.replace(spec, **change))
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert tiny_network == []  # refused before the network loaded


# ------------------------------------------------------------------------------- the loop


def test_later_frames_start_from_the_carried_frame_and_hold_it(tiny_network, clip_file, tmp_path):
    spec = clip.VideoSpec(clip_file, (STYLE,), small_config(), output=tmp_path / "o.mp4")
    job = clip.prepare(spec)
    from impasto import jobs

    net = jobs.load_network(job.config)
    frames = [f for f in video.read_frames(clip_file)]
    from impasto.ops.resize import resize_to

    a, b = (resize_to(f, *job.frame_hw) for f in frames[:2])
    first = painter.paint_frame(job, a, None, net)
    carried = painter.carry(a, b, first)
    assert float(carried.reliability.mean()) > 0.6  # a pan: most pixels are seen in both
    held = painter.paint_frame(job, b, carried, net)
    loose = VideoConfig(temporal_weight=0.0)  # the same start and iterations, no temporal cost
    free = painter.paint_frame(
        dataclasses.replace(job, spec=dataclasses.replace(spec, video=loose)), b, carried, net
    )
    trusted = carried.reliability.bool().expand(3, -1, -1)
    error_held = float((held - carried.image)[trusted].abs().mean())
    error_free = float((free - carried.image)[trusted].abs().mean())
    assert error_held < 0.5 * error_free
    # where the flow is not trusted, the start is frame b in the painting's colours
    untrusted = ~trusted
    if bool(untrusted.any()):
        assert float((held - carried.image)[untrusted].abs().mean()) > error_held


def test_clip_resumes_after_a_stop_without_repainting(
    tiny_network, clip_file, tmp_path, monkeypatch
):
    out = tmp_path / "o.mp4"
    spec = clip.VideoSpec(clip_file, (STYLE,), small_config(), output=out)
    job = clip.prepare(spec)
    from impasto import jobs

    net = jobs.load_network(job.config)
    painted: list[int] = []
    real = painter.paint_frame

    def counting(job, frame, carried, network, progress=None, cancel=None):
        painted.append(len(painted) + 1)
        if len(painted) == 3:
            raise KeyboardInterrupt
        return real(job, frame, carried, network, progress, cancel)

    monkeypatch.setattr(painter, "paint_frame", counting)
    with pytest.raises(KeyboardInterrupt):
        painter.paint_clip(job, net)
    assert job.work.open() == 2
    again = clip.prepare(spec)
    assert again.resumable == 2
    painted.clear()
    monkeypatch.setattr(
        painter, "paint_frame", lambda *a, **k: (painted.append(1), real(*a, **k))[1]
    )
    assert painter.paint_clip(again, net) == 5
    assert len(painted) == 3  # frames 3, 4 and 5 only
    painter.write_clip(again, 5)
    assert video.probe(out).frames == 5


# ------------------------------------------------------------------------------- the CLI


def test_cli_writes_the_clip_with_audio_and_removes_its_work(
    tiny_network, clip_file, tmp_path, capsys
):
    out = tmp_path / "o.mp4"
    code, stdout, err = run(capsys, "video", clip_file, STYLE, "-o", out, *FAST)
    assert code == 0, err
    info = video.probe(out)
    assert (info.frames, info.width, info.height, info.has_audio) == (5, 40, 30, True)
    assert "wrote" in stdout and "5 frames" in stdout
    assert "estimate: about" in err and "clip: 5 frames of 40x30" in err
    assert not any(p.name.endswith(".impasto-frames") for p in tmp_path.iterdir())


def test_cli_png_frames_and_resampled_span(tiny_network, clip_file, tmp_path, capsys):
    out = tmp_path / "frames"
    code, _, err = run(
        capsys, "video", clip_file, STYLE, "-o", out, "--start", "0.2", "--fps", "3", *FAST
    )
    assert code == 0, err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["frame_000001.png", "frame_000002.png"]  # 0.2 s..0.83 s at 3 fps


def test_ctrl_c_writes_the_clip_so_far_and_the_same_command_resumes(
    tiny_network, clip_file, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "o.mp4"
    real = painter.paint_frame
    calls = []

    def stop_at_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(painter, "paint_frame", stop_at_third)
    code, _, err = run(capsys, "video", clip_file, STYLE, "-o", out, *FAST)
    assert code == 130
    assert "wrote the 2 frames so far" in err.splitlines()[-1]
    assert video.probe(out).frames == 2
    monkeypatch.setattr(painter, "paint_frame", real)
    code, stdout, err = run(capsys, "video", clip_file, STYLE, "-o", out, *FAST)
    assert code == 0, err
    assert "resuming after frame 2" in err
    assert video.probe(out).frames == 5


def test_an_existing_output_is_kept_without_overwrite(tiny_network, clip_file, tmp_path, capsys):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"someone's film")
    code, _, err = run(capsys, "video", clip_file, STYLE, "-o", out, *FAST)
    assert code == 2 and "already exists" in err and out.read_bytes() == b"someone's film"


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "missing.mp4", "missing.mp4"),
        (lambda d: (d / "notes.mp4").write_text("hello") and d / "notes.mp4", "notes.mp4"),
        (lambda d: EXAMPLES / "tubingen.jpg", "tubingen.jpg"),
    ],
)
def test_bad_clips_give_one_line_and_exit_2(tiny_network, tmp_path, capsys, make, fragment):
    bad = make(tmp_path)
    code, stdout, err = run(capsys, "video", bad, STYLE, "-o", tmp_path / "o.mp4", *FAST)
    lines = err.strip().splitlines()
    assert code == 2 and stdout == "" and len(lines) == 1
    assert lines[0].startswith("impasto: error: ") and fragment in lines[0]
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--fps", "1e-9", "--fps must be >= 0.01"),
        ("--fps", "1e300", "--fps must be at most 1000"),
        ("--start", "1e30", "--start must be at most"),
        ("--duration", "1e300", "--duration must be at most"),
        ("--temporal-weight", "1e300", "--temporal-weight must be at most"),
        ("--frame-iterations", str(10**30), "--frame-iterations must be at most"),
        ("--seed", str(2**64), "--seed must be at most"),
    ],
)
def test_numbers_beyond_a_clips_range_are_one_line_and_exit_2(
    tiny_network, clip_file, tmp_path, capsys, option, value, fragment
):
    """--fps 1e-9 divided by zero, 1e300 painted frames for ever, --start 1e30 overflowed
    FFmpeg's seek: each was an internal error (exit 4) or a hang."""
    out = tmp_path / "o.mp4"
    code, stdout, err = run(capsys, "video", clip_file, STYLE, "-o", out, *FAST, option, value)
    lines = err.strip().splitlines()
    assert code == 2 and stdout == "" and len(lines) == 1, err
    assert lines[0].startswith("impasto: error: ") and fragment in lines[0], lines[0]
    assert not out.exists() and tiny_network == []


def test_video_help_names_the_options(capsys):
    code, stdout, _ = run(capsys, "video", "--help")
    assert code == 0
    for option in ("--start", "--duration", "--fps", "--temporal-weight", "--frame-iterations"):
        assert option in stdout
    assert "long side of every frame in pixels (default: 256)" in " ".join(stdout.split())


def test_terminal_bar_redraws_one_line_and_leaves_it_clean(capsys):
    from impasto.apps.video.display import FrameBar

    bar = FrameBar(tty=True, quiet=False)
    for frame in (1, 2):
        bar(painter.FrameProgress(frame, 4, True, 1.0, 10.0 * frame, 20.0, 10.0))
    bar.finish()
    err = capsys.readouterr().err
    assert "\n" not in err and "frame 2/4" in err and "~0:20 left" in err
    assert err.endswith("\r") and err.split("\r")[-2].strip() == ""  # the line is blanked
