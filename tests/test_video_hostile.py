"""impasto video against hostile files and settings (issue 32): giant frames, absurd frame
rates, pipes, a full disk. Each is one line and exit status 2 (before any work where it can
be known then), with nothing half-written left behind, and a clip said to be written is one
that decodes. Frames are painted with a tiny random network.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

pytest.importorskip("av")
pytest.importorskip("cv2")

from helpers import EXAMPLES, pan_clip  # noqa: E402
from impasto.apps.video import clip  # noqa: E402
from impasto.config import StyleConfig  # noqa: E402

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
