"""The default network's weights cut to what a painting runs, for a machine with no registry.

A GPU machine lent for ``benchmarks/device_check.sh`` reaches no package index, so impasto
cannot fetch its weights there, and what travels to it is at most 64 MiB: the working tree
plus what the call names. The converted vgg16-hed weights are 56 MiB; the default painting
runs them only up to relu5_1 (content relu4_2, style relu1_1..relu5_1), whose convolutions are
38 MiB. ``pack`` keeps those; ``unpack`` writes a cache file from them in which conv5_2 and
conv5_3, which no default painting runs, are zeros, so every picture is the real one.

    python -m benchmarks.device_weights pack .device/vgg16-hed-relu5_1.pt   # here
    IMPASTO_HOME=/tmp/w python -m benchmarks.device_weights unpack .device/vgg16-hed-relu5_1.pt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from impasto.network import layers, registry, store, weightfile

NETWORK = "vgg16-hed"
DEEPEST = "conv5_1"  # the last convolution before relu5_1


def _kept(arch: str) -> list[str]:
    names = layers.layer_names(arch)
    convs = [n for n in names[: names.index(DEEPEST) + 1] if n.startswith("conv")]
    return [f"{n}.{part}" for n in convs for part in ("weight", "bias")]


def pack(target: Path) -> None:
    spec = registry.spec(NETWORK)
    state = store.load_weights(NETWORK)
    kept = {key: state[key].contiguous() for key in _kept(spec.arch)}
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(kept, target)
    print(f"wrote {target} ({target.stat().st_size / 2**20:.1f} MiB): {len(kept) // 2} convs")


def unpack(source: Path) -> Path:
    spec = registry.spec(NETWORK)
    kept = torch.load(source, map_location="cpu", weights_only=True)
    state = {
        key: kept[key] if key in kept else torch.zeros(shape)
        for key, shape in layers.conv_shapes(spec.arch).items()
    }
    origin = f"{source.name}: convolutions up to {DEEPEST}, the rest zeros (never run)"
    target = store.cached_path(NETWORK)
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save(weightfile.cache_record(spec, state, origin), target)
    store.load_weights(NETWORK, fetch_missing=False)  # reads back and checks, as a run will
    print(f"wrote {target}")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("pack", "unpack"))
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.action == "pack":
        pack(args.file)
    else:
        unpack(args.file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
