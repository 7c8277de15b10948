"""The README example on a GPU and on the CPU in one run: times, peak GPU memory, and whether
the two pictures are equally good by measures no run optimises (issue 36).

Five paintings of Tübingen in The Starry Night's style, at the README's settings, through
``impasto.jobs`` as the command line paints: the default on the GPU and on the CPU, and the
noise start (``--init noise``) with seeds 0 and 1 on the CPU and seed 0 on the GPU. The two
CPU seeds give the noise: two equally good pictures differ by that much. The GPU's pictures
pass when each of their distances is within that noise (or 0.01, whichever is larger) of the
CPU's picture from the same start and seed.

Distances are independent of the painting network: from the pixels always (an edge map
against the photo's for content; colour and edge-strength distributions against the
painting's for style), and from EfficientNet-Lite0 where ``benchmarks/quality``'s
requirements are installed (a GPU machine with no registry has none: run
``python -m benchmarks.device_check --measure FOLDER`` on the pictures it wrote).

    python -m benchmarks.device_check OUT_FOLDER            # paints; needs a CUDA GPU
    python -m benchmarks.device_check --measure OUT_FOLDER  # distances of pictures painted
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "examples" / "tubingen.jpg"
STYLE = ROOT / "examples" / "starry_night.jpg"
# (name, device, start, seed); the first two are the README example itself
RUNS = (
    ("gpu", "cuda", "palette", 0),
    ("cpu", "cpu", "palette", 0),
    ("cpu-noise-0", "cpu", "noise", 0),
    ("cpu-noise-1", "cpu", "noise", 1),
    ("gpu-noise-0", "cuda", "noise", 0),
)
PAIRS = (("gpu", "cpu"), ("gpu-noise-0", "cpu-noise-0"))
NOISE = ("cpu-noise-0", "cpu-noise-1")
FLOOR = 0.01  # the least difference called noise: distances are given to 3 digits
MEASURE_SIDE = 512


# ----------------------------------------------------------------------- the pixels' measures


def _load(path: Path, long_side: int = MEASURE_SIDE) -> torch.Tensor:
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
        scale = long_side / max(rgb.size)
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        data = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8)
    return data.view(rgb.height, rgb.width, 3).permute(2, 0, 1).float() / 255


def _edges(rgb: torch.Tensor) -> list[torch.Tensor]:
    """Sobel edge strength of the luminance at 1, 1/2 and 1/4 of the size."""
    y = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])[None, None]
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])[None, None]
    out = []
    for _ in range(3):
        gx = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), kx)
        gy = F.conv2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), kx.transpose(-1, -2))
        out.append((gx.square() + gy.square()).sqrt()[0, 0])
        y = F.avg_pool2d(y, 2)
    return out


def content_distance_pixels(picture: torch.Tensor, photo: torch.Tensor) -> float:
    """How far the picture's edges are from the photo's: ||E(G) - E(C)|| / ||E(C)||, mean
    over three scales."""
    pairs = zip(_edges(picture), _edges(photo))
    return sum(float((g - c).norm() / c.norm()) for g, c in pairs) / 3


def _w1(a: torch.Tensor, b: torch.Tensor, points: int = 1024) -> float:
    """1-D Wasserstein-1 distance between two samples, by their quantiles."""
    q = torch.linspace(0, 1, points)
    return float((torch.quantile(a, q) - torch.quantile(b, q)).abs().mean())


def style_distance_pixels(picture: torch.Tensor, painting: torch.Tensor) -> float:
    """How far the picture's colours and edge strengths are from the painting's: the sliced
    Wasserstein-1 distance of the RGB pixels (32 fixed directions) plus the W1 distance of
    the edge strengths at three scales, each relative to the painting's own spread."""
    generator = torch.Generator().manual_seed(0)
    directions = F.normalize(torch.randn(32, 3, generator=generator), dim=1)
    pixels_g = directions @ _sample(picture.reshape(3, -1), generator)
    pixels_s = directions @ _sample(painting.reshape(3, -1), generator)
    colour = sum(_w1(g, s) / float(s.std()) for g, s in zip(pixels_g, pixels_s)) / 32
    edges = [
        _w1(_sample(g.reshape(1, -1), generator)[0], _sample(s.reshape(1, -1), generator)[0])
        / float(s.std())
        for g, s in zip(_edges(picture), _edges(painting))
    ]
    return colour + sum(edges) / 3


def _sample(values: torch.Tensor, generator: torch.Generator, n: int = 100_000) -> torch.Tensor:
    """At most ``n`` columns of (C, N), drawn without replacement (quantile's size limit)."""
    if values.shape[1] <= n:
        return values
    return values[:, torch.randperm(values.shape[1], generator=generator)[:n]]


def _lite0():
    """EfficientNet-Lite0 and the quality benchmark's distances, or None where not installed."""
    try:
        from benchmarks.quality import measures

        return measures, measures.LiteFeatures()
    except Exception:  # not installed: the pixels' measures stand alone
        return None


def measure(folder: Path) -> dict[str, dict[str, float]]:
    """Each picture's distances: content to the photo, style to the painting."""
    photo, painting = _load(CONTENT), _load(STYLE)
    lite = _lite0()
    found: dict[str, dict[str, float]] = {}
    for name, *_ in RUNS:
        path = folder / f"{name}.png"
        if not path.exists():
            continue
        picture = _load(path)
        row = {
            "content px": content_distance_pixels(picture, photo),
            "style px": style_distance_pixels(picture, painting),
        }
        if lite is not None:
            measures, net = lite
            with torch.no_grad():
                row["content lite0"] = measures.content_distance(net, picture, photo)
                row["style lite0"] = measures.style_distance(net, picture, painting)
        found[name] = row
    return found


def verdict(found: dict[str, dict[str, float]]) -> list[str]:
    """One line per compared distance; those that fail start with FAIL."""
    lines = []
    if not all(name in found for name in NOISE):
        return ["FAIL: the two CPU seeds' pictures are missing"]
    for key in found[NOISE[0]]:
        noise = max(abs(found[NOISE[0]][key] - found[NOISE[1]][key]), FLOOR)
        for gpu, cpu in PAIRS:
            if gpu not in found or cpu not in found:
                lines.append(f"FAIL: {gpu} or {cpu} is missing")
                continue
            gap = abs(found[gpu][key] - found[cpu][key])
            word = "ok  " if gap <= noise else "FAIL"
            lines.append(f"{word} {key:14s} {gpu} - {cpu}: {gap:.4f} (noise {noise:.4f})")
    return lines


# ----------------------------------------------------------------------- the paintings


def paint(name: str, device: str, init: str, seed: int, folder: Path) -> dict[str, object]:
    """One painting as the command line does it, timed; the GPU's peak memory."""
    from impasto import devices, jobs
    from impasto.config import StyleConfig
    from impasto.network import precision

    config = StyleConfig(device=device, init=init, seed=seed)
    out = folder / f"{name}.png"
    began = time.perf_counter()
    job = jobs.prepare(jobs.JobSpec(CONTENT, (STYLE,), config, output=out, overwrite=True))
    network = jobs.load_network(config)
    job = jobs.calibrate(job, network)
    gpu = device != "cpu"
    if gpu:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    picture = jobs.run(job, network)
    painted = time.perf_counter() - started
    jobs.save(job, picture)
    row: dict[str, object] = {
        "name": name,
        "device": job.estimate.device,
        "precision": precision.resolve(config.precision, device=devices.resolve(device)),
        "seconds painting": round(painted, 2),
        "seconds in all": round(time.perf_counter() - began, 2),
    }
    if gpu:
        row["peak GPU memory GB"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the pictures and results go")
    parser.add_argument(
        "--measure", action="store_true", help="only measure the pictures already there"
    )
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    rows = []
    if not args.measure:
        if not torch.cuda.is_available():
            print("device_check: no CUDA GPU here (torch.cuda.is_available() is False)")
            return 2
        print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}", flush=True)
        rows = [paint(*run, args.folder) for run in RUNS]
        times = {r["name"]: r["seconds painting"] for r in rows}
        print(
            f"README example: GPU {times['gpu']} s, CPU {times['cpu']} s "
            f"({times['cpu'] / times['gpu']:.1f}x)",  # type: ignore[operator]
            flush=True,
        )
    found = measure(args.folder)
    for name, row in found.items():
        print(f"{name:12s} " + "  ".join(f"{k} {v:.4f}" for k, v in row.items()))
    lines = verdict(found)
    print("\n".join(lines))
    (args.folder / "device_check.json").write_text(
        json.dumps({"runs": rows, "distances": found, "verdict": lines}, indent=1)
    )
    return 1 if any(line.startswith("FAIL") for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
