"""Test helpers (imported by tests; fixtures live in conftest.py): pictures, tiny networks."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"  # the photos and paintings the project ships
DATA = Path(__file__).resolve().parent / "data"  # odd files for the image tests


def picture(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth random picture in 0..1 (noise upsampled), more like a photo than pure noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, h // 6), max(2, w // 6), generator=g)
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear")
    return (0.8 * smooth + 0.2 * torch.rand(1, 3, h, w, generator=g))[0].clamp(0, 1)


@functools.cache
def tiny_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """VGG layer names with at most 8 channels: the same code paths, a fraction of the work."""
    from impasto.network import layers

    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in layers.conv_shapes(arch).items():
        small = tuple(d if d == 3 or i > 1 else min(d, 8) for i, d in enumerate(shape))
        state[key] = torch.randn(small, generator=generator) * 0.2
    return state


def tiny_weights(network: str) -> dict[str, torch.Tensor]:
    """Random narrow weights standing in for ``network``'s (its architecture's layers)."""
    from impasto.network import registry

    return tiny_state_dict(registry.NETWORKS[network].arch)


def tiny_network(network: str, layers, pooling: str = "avg"):
    """A random narrow VGG standing in for ``network`` (its architecture and convention)."""
    from impasto.network import registry, vgg

    spec = registry.NETWORKS[network]
    return vgg.VGGFeatures(tiny_weights(network), spec.arch, spec.convention, layers, pooling)


def tiny_paint(task, *blobs):
    """The batch worker's ``paint`` with a tiny random network and no weights file: importable
    by name, so batch tests can hand it to worker processes (which see no monkeypatching)."""
    from impasto.apps.batch import worker

    def network(job):
        config = job.config
        layers = config.content_layers + config.style_layers
        return tiny_network(config.network, layers, config.pooling), "tiny-" + config.network

    worker._network = network
    return worker.paint(task, *blobs)


def gpu_tiny_paint(task, *blobs):
    """``tiny_paint`` with the tiny network on the job's device, as ``load_network`` puts the
    real one (a run refuses a network on another device than its config names)."""
    from impasto import devices
    from impasto.apps.batch import worker

    def network(job):
        config = job.config
        layers = config.content_layers + config.style_layers
        net = tiny_network(config.network, layers, config.pooling)
        return net.to(devices.resolve(config.device)), "tiny-" + config.network

    worker._network = network
    return worker.paint(task, *blobs)


def dying_paint(task, *blobs):
    """A batch painter whose process dies: always for a task named ``always-die*``, and on the
    first try for ``die-once*`` (it leaves ``CONTENT.died`` behind to know); else done."""
    import os

    marker = Path(task.content).with_suffix(".died")
    if task.name.startswith("always-die") or (
        task.name.startswith("die-once") and not marker.exists()
    ):
        marker.touch()
        os._exit(9)
    return {"status": "done", "image": b"picture", "pid": os.getpid()}


def slow_tiny_paint(task, *blobs):
    """``tiny_paint`` after a second's wait (as if loading): every job lasts long enough for
    a stop to find it running, whatever the machine's speed; the run itself still checks the
    stop flag at every step."""
    import time

    time.sleep(1.0)
    return tiny_paint(task, *blobs)


def pan_clip(
    path: Path,
    frames: int = 6,
    hw: tuple[int, int] = (48, 64),
    fps: int = 6,
    step: int = 2,
    audio: bool = False,
    seed: int = 0,
) -> Path:
    """A small H.264 clip of a picture panned ``step`` px right per frame (the true flow),
    with a 440 Hz tone as AAC if ``audio``; made with PyAV, so a test needs no video file."""
    import av
    import numpy as np

    height, width = hw
    scene = picture(height, width + step * frames, seed)
    pixels = (scene.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=44100)
            sound.layout = "mono"
        for k in range(frames):
            window = np.ascontiguousarray(
                pixels[:, step * (frames - k) : step * (frames - k) + width]
            )
            container.mux(stream.encode(av.VideoFrame.from_ndarray(window, format="rgb24")))
        container.mux(stream.encode())
        if sound is not None:
            rate, samples = 44100, int(44100 * frames / fps)
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)
            for begin in range(0, samples, 1024):
                chunk = tone[None, begin : begin + 1024]
                frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                frame.sample_rate = rate
                container.mux(sound.encode(frame))
            container.mux(sound.encode())
    return path


CLI_CHILD = Path(__file__).resolve().parent / "cli_child.py"


def on_a_full_disk(
    folder: Path, argv: list, env_home: Path, timeout: float = 240
) -> tuple[int, str, list[str]]:
    """``impasto ARGV`` (``cli_child.py``: a tiny network) with ``folder`` a tmpfs of 64 kB
    filled to the brim, mounted for it alone (a user and mount namespace of its own), and
    ``env_home`` its cache folder (IMPASTO_HOME). Returns
    its exit status, its stderr and what it left in ``folder``. Skips the test where the
    system lends no namespace."""
    import os
    import subprocess
    import sys

    import pytest

    script = (
        'dir=$1; shift; mount -t tmpfs -o size=64k tmpfs "$dir" || exit 97; '
        'cat /dev/zero > "$dir/.filler" 2>/dev/null; "$@"; status=$?; rm -f "$dir/.filler"; '
        'echo "left:$(ls -A "$dir" | tr "\\n" " ")"; exit $status'
    )
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "IMPASTO_HOME": str(env_home)}
    command = ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), sys.executable,
               str(CLI_CHILD), *map(str, argv)]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except FileNotFoundError:
        pytest.skip("no unshare here to mount a small disk")
    if done.returncode == 97 or "left:" not in done.stdout:
        pytest.skip(f"no user namespace with a tmpfs here ({done.stderr.strip()[:200]})")
    left = done.stdout.rsplit("left:", 1)[1].split()
    return done.returncode, done.stderr, left


def write_picture(path: Path, seed: int, size: tuple[int, int] = (30, 20)) -> Path:
    """A small seeded picture (``size`` is width, height) saved as a PNG; folders made."""
    from PIL import Image

    rgb = picture(size[1], size[0], seed)
    pixels = (rgb.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def batch_pictures(root: Path) -> dict[str, Path]:
    """Two photos and a painting in folders of their own, and a batch's output folder."""
    return {
        "photo": write_picture(root / "in" / "photo.png", 1),
        "other": write_picture(root / "in" / "other.png", 2),
        "style": write_picture(root / "art" / "paint.png", 11),
        "out": root / "out",
        "root": root,
    }
