"""Pictures reconstructed from one layer's activations, and from the Gram matrices of
growing sets of layers (Gatys et al. 2015, Fig. 1), from noise with L-BFGS, coarse to fine."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from ..config import (
    RECONSTRUCT_ITERATIONS,
    RECONSTRUCT_SIZE,
    STYLE_LAYERS,
)
from ..cost import losses
from ..engine import schedule
from ..engine.optimise import Diverged, minimise
from ..errors import ConfigError
from ..network.vgg import VGGFeatures, device_of
from ..ops.resize import resize_long_side, resize_to
from .networks import sub_network

# ---------------------------------------------------------------- reconstructions


@dataclass(frozen=True)
class Step:
    """One evaluation of a reconstruction's cost: for progress displays, and to check descent."""

    step: int  # 1-based, over all scales
    steps: int
    loss: float
    size: tuple[int, int]  # (height, width) being optimised


StepCallback = Callable[[Step], None]
Cost = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def _lbfgs(net, cost: Cost, image: torch.Tensor, iterations: int, report) -> torch.Tensor:
    """Minimise ``cost(net(image))`` over the pixels with L-BFGS; the best iterate, unclamped.

    The optimiser painting uses (``engine/optimise.py``): one call of ``iterations``
    evaluations, no line search.
    """

    def evaluate(x: torch.Tensor) -> tuple[float, torch.Tensor]:
        x = x.detach().requires_grad_(True)
        loss = cost(net(x[None]))
        (grad,) = torch.autograd.grad(loss, x)
        value = float(loss.detach())
        report(value, tuple(x.shape[-2:]))
        return value, grad

    try:
        return minimise(image, evaluate, iterations, clamp=False)
    except Diverged:
        raise FloatingPointError("the reconstruction's cost became NaN or infinite") from None


def _reconstruct(net, source, targets, cost, plan, seed, progress, like=None) -> torch.Tensor:
    """From seeded uniform noise (as in the seeds), through the (size, iterations) plan.

    ``targets(features)`` picks what to match from the source's features at each size; the
    image has the shape of ``like`` (default: the source) and is plainly resized between
    sizes. Returns (3, h, w) in 0..1.
    """
    steps, done = sum(n for _, n in plan), 0

    def report(loss: float, size: tuple[int, int]) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(Step(done, steps, loss, size))

    image = None
    generator = torch.Generator().manual_seed(seed)  # the CPU's: the same noise on any device
    source = source.to(device_of(net))
    for size, iterations in plan:
        with torch.no_grad():
            wanted = targets(net(resize_long_side(source, size)[None]))
        shape = resize_long_side(source if like is None else like, size).shape
        if image is None:
            image = torch.rand(shape, generator=generator).to(source.device)
        else:
            image = resize_to(image.clamp(0, 1), *shape[-2:])
        image = _lbfgs(net, functools.partial(cost, wanted=wanted), image, iterations, report)
    assert image is not None  # the plan is never empty
    return image.clamp(0, 1).cpu()


def _check_plan(size: int, iterations: int) -> None:
    if size < 8 or iterations < 1:
        raise ConfigError(f"need size >= 8 and iterations >= 1, got {size} and {iterations}")


def reconstruct_content(
    net: VGGFeatures,
    content: torch.Tensor,
    layer: str,
    iterations: int = RECONSTRUCT_ITERATIONS,
    size: int = RECONSTRUCT_SIZE,
    seed: int = 0,
    progress: StepCallback | None = None,
) -> torch.Tensor:
    """An image (3, h, w) in 0..1 whose ``layer`` activations match those of ``content``.

    Minimises the relative content cost alone from noise with L-BFGS, coarse to fine up to a
    long side of ``size``. Shallow layers give back the photo; deep ones keep the layout and
    lose the exact pixels and colours. Departure from Gatys et al. (one size): ``iterations``
    at the final size after 1.5x and 2.25x as many at 1/sqrt2 and 1/2 of it (the plan of
    schedule.py, about 2.3 times the cost). At 192 px, 96->136->192 reached a lower cost than
    400 single-size iterations, and the layout reads much better.
    """
    _check_plan(size, iterations)
    sub = sub_network(net, [layer])
    plan = [(s.size, s.iterations) for s in schedule.plan(size, size // 2, iterations)]

    def cost(feats, wanted):
        return losses.relative_cost(wanted, feats[layer])

    return _reconstruct(sub, content, lambda f: f[layer], cost, plan, seed, progress)


def reconstruct_style(
    net: VGGFeatures,
    style: torch.Tensor,
    layers: Sequence[str],
    iterations: int = RECONSTRUCT_ITERATIONS,
    size: int = RECONSTRUCT_SIZE,
    seed: int = 0,
    progress: StepCallback | None = None,
    like: torch.Tensor | None = None,
) -> torch.Tensor:
    """A texture (3, h, w) in 0..1 whose Gram matrices at ``layers`` match those of ``style``.

    Minimises the relative style cost alone (layers weighed equally, as in Gatys et al.) from
    noise with L-BFGS, at one size: the style image and the texture, shaped like ``like``
    (default: the style), both have a long side of ``size``. No coarse start here: it would
    print its own large blobs into textures from shallow layers, which do not constrain large
    scales, and hide how texture grows with depth.
    """
    _check_plan(size, iterations)
    layers = tuple(dict.fromkeys(layers))
    if not layers:
        raise ConfigError("no style layers to reconstruct from")
    sub = sub_network(net, layers)

    def grams(feats):
        return {name: losses.style_matrix(feats[name], "gram") for name in layers}

    def cost(feats, wanted):
        current = grams(feats)
        return sum(losses.relative_cost(wanted[n], current[n]) for n in layers) / len(layers)

    return _reconstruct(sub, style, grams, cost, [(size, iterations)], seed, progress, like)


@dataclass
class Reconstructions:
    """Gatys et al. Fig. 1 data: content from each layer alone, style from growing sets."""

    layers: tuple[str, ...]
    content: list[torch.Tensor]  # content[i]: from layers[i] alone, (3, h, w) in 0..1
    style: list[torch.Tensor]  # style[i]: from the Gram matrices of layers[: i + 1]


def reconstruct_layers(
    net: VGGFeatures,
    content: torch.Tensor,
    style: torch.Tensor,
    layers: Sequence[str] = STYLE_LAYERS,
    iterations: int = RECONSTRUCT_ITERATIONS,
    size: int = RECONSTRUCT_SIZE,
    seed: int = 0,
    progress: Callable[[str, Step], None] | None = None,
) -> Reconstructions:
    """Both rows of Fig. 1, every picture shaped like ``content``. ``progress`` hears which
    picture is being made, e.g. ``"content from relu3_1 (3/10)"``, with each Step of it."""
    layers = tuple(dict.fromkeys(layers))
    if not layers:
        raise ConfigError("no layers to reconstruct from")
    labels = [f"content from {layer}" for layer in layers]
    labels += [f"style from {layers[0]}" + (f"..{la}" if i else "") for i, la in enumerate(layers)]
    callbacks = [
        None if progress is None else _labelled(progress, f"{label} ({k}/{len(labels)})")
        for k, label in enumerate(labels, start=1)
    ]
    rows = Reconstructions(layers, [], [])
    for i, layer in enumerate(layers):
        rows.content.append(
            reconstruct_content(net, content, layer, iterations, size, seed, callbacks[i])
        )
    for i in range(len(layers)):
        cb = callbacks[len(layers) + i]
        rows.style.append(
            reconstruct_style(net, style, layers[: i + 1], iterations, size, seed, cb, content)
        )
    return rows


def _labelled(progress: Callable[[str, Step], None], label: str) -> StepCallback:
    return lambda step: progress(label, step)
