"""The sha256 of CPU pictures over many kinds of run: two commits give the same lines when a
change leaves every CPU picture as it was, bit for bit (issue 36's device work did).

Pictures (start, optimiser, tiles, statistics, colour modes, strength, structure, regions),
a short clip painted to PNG frames (the flow-carried start and the temporal cost), and
explain's patches, Gram matrices and reconstructions, all with the real default weights at
small sizes. Run it from each commit's checkout, on the same machine, and compare:

    python -m benchmarks.cpu_identity > a.txt   # at one commit
    python -m benchmarks.cpu_identity > b.txt   # at the other
    diff a.txt b.txt && echo identical
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CLIP = ROOT / "tests" / "data" / "no_time_for_that_tiny.gif"
PICTURES = {
    "default, two styles": dict(size=128, iterations=8, min_size=64),
    "noise, adam": dict(size=96, iterations=6, min_size=0, init="noise", optimizer="adam"),
    "tiled": dict(size=160, iterations=4, min_size=0, tile=64),
    "covariance, luminance": dict(
        size=96, iterations=6, min_size=0, style_representation="covariance",
        preserve_color="luminance",
    ),
    "seed form, fp32": dict(size=96, iterations=6, min_size=0, loss_form="seed", precision="fp32"),
    "strength, structure": dict(
        size=96, iterations=6, min_size=0, strength=0.5, structure_weight=50.0
    ),
    "w2, recolor, no basis": dict(
        size=96, iterations=6, min_size=0, style_representation="w2", init="recolor",
        smooth_steps=0,
    ),
}  # fmt: skip


def digest(value: torch.Tensor | bytes) -> str:
    data = value if isinstance(value, bytes) else value.contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def pictures() -> None:
    from impasto import StyleConfig, load_image, load_masks, stylize

    content = load_image(EXAMPLES / "tubingen.jpg").rgb
    starry = load_image(EXAMPLES / "starry_night.jpg").rgb
    scream = load_image(EXAMPLES / "the_scream.jpg").rgb
    for name, settings in PICTURES.items():
        styles = [starry, scream] if "two" in name else [starry]
        print(f"{name}: {digest(stylize(content, styles, StyleConfig(**settings)))}", flush=True)
    masks = load_masks([EXAMPLES / "masks" / "tubingen_sky.png"], 2, tuple(content.shape[-2:]))
    config = StyleConfig(size=96, iterations=5, min_size=0)
    print(f"regions: {digest(stylize(content, [starry, scream], config, masks=masks))}")


def clip() -> None:
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "impasto", "video", str(CLIP), str(EXAMPLES / "starry_night.jpg"),
            "-o", folder, "--size", "64", "--iterations", "4", "--frame-iterations", "3",
            "--duration", "0.5", "--quiet",
        ]  # fmt: skip
        subprocess.run(command, check=True)
        frames = sorted(Path(folder).glob("*.png"))
        joined = b"".join(f.read_bytes() for f in frames)
        print(f"clip, {len(frames)} frames: {digest(joined)}")


def explained() -> None:
    from impasto import StyleConfig, explain, load_image

    image = load_image(EXAMPLES / "tubingen.jpg").rgb
    net = explain.network_for(StyleConfig(pooling="avg"), ["relu3_1"])
    patches = explain.top_patches(net, [image], "relu3_1", n_units=3, per_unit=3, size=128)
    crops = torch.stack([crop for unit in patches for crop in unit.crops])
    print(f"explain patches: {digest(crops)}")
    style = explain.style_matrices(net, image, "relu3_1", max_channels=8, size=128)
    print(f"explain style: {digest(style.gram)} {digest(style.correlation)}")
    picture = explain.reconstruct_content(net, image, "relu3_1", iterations=5, size=64)
    print(f"explain reconstruction: {digest(picture)}")


if __name__ == "__main__":
    pictures()
    clip()
    explained()
