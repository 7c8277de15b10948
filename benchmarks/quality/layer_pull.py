"""How hard each style layer pulls on the pixels: the norm of lambda_l dJ_style^l/dpixels, and
how much of that pull lies at fine periods (2..5 px), at the start of a run (the content image)
and at a painted picture.

The default layer weights were chosen so that the layers "balance their pull on the pixels";
this measures whether they do, per pair, for any weighting given on the command line.

    python -m benchmarks.quality.layer_pull --size 256 --weights 256,64,16,4,1 --weights 1,1,1,1,1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.quality import run as bench  # the pairs and image paths

HERE = Path(__file__).resolve().parent


def fine_share(grad, low: float = 2.0, high: float = 5.0) -> float:
    """Share of the gradient's power at periods between ``low`` and ``high`` px."""
    import torch

    g = grad.float().mean(0)  # luminance-like: the channels' mean
    g = g - g.mean()
    power = torch.fft.rfft2(g).abs().pow(2)
    h, w = g.shape
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    f = (fy**2 + fx**2).sqrt()
    band = (f >= 1 / high) & (f <= 1 / low)
    return float(power[band].sum() / power.sum().clamp_min(1e-30))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--pairs", type=int, default=len(bench.PAIRS))
    p.add_argument("--weights", action="append", help="comma-separated lambda_l (repeatable)")
    p.add_argument("--picture", action="append", default=[], help="also at these pictures")
    args = p.parse_args(argv)
    import torch

    import impasto
    from impasto.cost.objective import Objective
    from impasto.network.vgg import load_network
    from impasto.ops.resize import resize_long_side

    torch.set_num_threads(1)
    layers = impasto.StyleConfig().style_layers
    config = impasto.StyleConfig(size=args.size, content_weight=0.0, tv_weight=0.0)
    net = load_network(config, layers=config.content_layers + layers)
    print(f"{'pair':<28} {'layer':<8} {'|grad| (lambda=1)':>18} {'fine share':>10}")
    totals: dict[str, list[float]] = {name: [] for name in layers}
    for photo_name, painting_name in bench.PAIRS[: args.pairs]:
        photo = resize_long_side(
            impasto.load_image(bench.IMAGES / bench.PHOTOS[photo_name]).rgb, args.size
        )
        painting = impasto.load_image(bench.IMAGES / bench.PAINTINGS[painting_name]).rgb
        painting = resize_long_side(painting, args.size)
        for name in layers:
            one = impasto.StyleConfig(
                size=args.size, content_weight=0.0, tv_weight=0.0, style_layers=(name,),
                style_layer_weights=(1.0,), content_layers=config.content_layers,
            )  # fmt: skip
            objective = Objective(net, one)
            targets = objective.prepare(photo, [painting], [[1.0]])
            _, grad = objective.value_and_grad(photo, targets)
            norm = float(grad.norm())
            totals[name].append(norm)
            print(
                f"{bench.pair_name(photo_name, painting_name):<28} {name:<8} {norm:>18.4g} "
                f"{fine_share(grad):>10.3f}",
                flush=True,
            )
    print()
    mean = {name: sum(v) / len(v) for name, v in totals.items()}
    for spec in args.weights or ["256,64,16,4,1", "1,1,1,1,1"]:
        w = [float(x) for x in spec.split(",")]
        pulls = [wi / sum(w) * mean[name] for wi, name in zip(w, layers)]
        share = ", ".join(f"{name} {pl / sum(pulls):.2f}" for name, pl in zip(layers, pulls))
        print(f"weights {spec:<16} share of the pull: {share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
