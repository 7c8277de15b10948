"""What the network sees, as data: top patches per unit, style matrices, reconstructions.

The seeds open with "What are deep ConvNets learning?" (Zeiler & Fergus 2013: the nine patches
that excite a unit most) and Gatys et al. 2015, Fig. 1 (images reconstructed from one layer's
activations, and from the Gram matrices of growing sets of layers). These functions compute
both with the very network that stylises and return tensors; ``figures.py`` draws them and
``apps/cli/explain.py`` writes them to files.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import (
    PATCH_SIZE,
    RECONSTRUCT_ITERATIONS,
    RECONSTRUCT_SIZE,
    STYLE_LAYERS,
    STYLE_SIZE,
    StyleConfig,
)
from ..cost import losses
from ..engine import schedule
from ..engine.optimise import Diverged, minimise
from ..errors import ConfigError
from ..network import layers, registry
from ..network.layers import check_layers, layer_names
from ..network.vgg import VGGFeatures, load_network
from ..ops.resize import resize_long_side, resize_to

SEPARATION = 0.5  # chosen patches of one unit and image lie this many fields apart, at least
OUTSIDE = 0.5  # grey shown where a receptive field hangs over the image border
# ---------------------------------------------------------------- receptive fields


def receptive_field(arch: str, layer: str) -> tuple[int, int, int]:
    """(size, stride, offset) in input pixels of one unit of ``layer`` in ``arch``.

    Unit (y, x) sees the square of side ``size`` whose top-left pixel is
    (offset + y * stride, offset + x * stride); offset is <= 0 because fields hang over the
    border (padding). E.g. vgg16 relu1_1: (3, 1, -1); relu3_1: (24, 4, -10).
    """
    return layers.receptive_field(layer_names(arch), layer)


def _box(field: tuple[int, int, int], y: int, x: int, height: int, width: int):
    size, stride, offset = field
    top, left = offset + y * stride, offset + x * stride
    return max(top, 0), max(left, 0), min(top + size, height), min(left + size, width)


def patch_box(
    arch: str, layer: str, y: int, x: int, height: int, width: int
) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) pixels, end exclusive, that unit (y, x) of ``layer`` sees,
    clipped to an image of ``height`` x ``width``."""
    return _box(receptive_field(arch, layer), y, x, height, width)


# ---------------------------------------------------------------- networks


def network_for(
    config: StyleConfig, layers: Sequence[str], on_progress: Callable[[str], None] | None = None
) -> VGGFeatures:
    """``config``'s network (its name, weights and pooling) up to the deepest of ``layers``,
    their names checked first for a clear message: the network the pictures look into."""
    arch = registry.spec(config.network).arch
    check_layers(arch, layers)
    deepest = max(layers, key=layer_names(arch).index)
    return load_network(config, layers=[deepest], on_progress=on_progress)


def _arch(net: VGGFeatures) -> str:
    # VGGFeatures keeps its layer list, not its name; the lists part at conv3_4 (vgg19 only).
    return "vgg19" if "conv3_4" in net.names else "vgg16"


def _sub_network(net: VGGFeatures, layers: Sequence[str]) -> VGGFeatures:
    """The same weights, returning ``layers`` and stopping at the deepest of them.

    Lets one network built for relu5_1 explain relu1_1 without running the deeper layers.
    """
    check_layers(_arch(net), layers)
    for layer in layers:
        if layer not in net.names:
            raise ConfigError(
                f"layer {layer!r} is deeper than this network was built for (up to {net.names[-1]})"
            )
    if tuple(layers) == net.layers:
        return net
    state: dict[str, torch.Tensor] = {}
    for name, conv in net.convs.items():
        state[f"{name}.weight"] = conv.weight  # type: ignore[assignment]
        state[f"{name}.bias"] = conv.bias  # type: ignore[assignment]
    pooling = "max" if net.pool is F.max_pool2d else "avg"
    return VGGFeatures(state, _arch(net), net.convention, layers, pooling)


def _shrink(image: torch.Tensor, size: int) -> torch.Tensor:
    """``image`` with its long side at most ``size`` (never enlarged)."""
    return resize_long_side(image, size) if max(image.shape[-2:]) > size else image


# ---------------------------------------------------------------- top patches


@dataclass(frozen=True)
class Patch:
    """Where one unit fired: image index, position in the activation map, value, pixel box."""

    image: int
    y: int
    x: int
    activation: float
    box: tuple[int, int, int, int]  # (top, left, bottom, right) in the shrunk image, clipped


@dataclass
class UnitPatches:
    """The patches that excite one unit most, strongest first, with their pixels."""

    layer: str
    unit: int
    field: int  # receptive field side in pixels
    patches: list[Patch]
    crops: list[torch.Tensor]  # (3, field, field) each: the whole field, grey outside the image


def _separated_maxima(act: torch.Tensor, k: int, radius: int):
    """Greedy top-k per channel of (C, h, w), each pick ruling out cells closer than ``radius``.

    Returns values, ys, xs, each (C, k); values are -inf where the map ran out of cells. Only the
    top k (2 radius - 1)^2 cells can be picked (each pick rules out at most that many), so the
    greedy loop runs on those alone.
    """
    c, h, w = act.shape
    n = min(h * w, k * (2 * radius - 1) ** 2)
    values, pos = act.reshape(c, h * w).topk(n, dim=1)
    ys, xs = pos // w, pos % w
    alive = torch.isfinite(values)
    picked = []
    for _ in range(k):
        first = alive.byte().argmax(1, keepdim=True)  # the strongest cell still allowed
        ok = alive.gather(1, first)
        y, x = ys.gather(1, first), xs.gather(1, first)
        picked.append((values.gather(1, first).masked_fill(~ok, -math.inf), y, x))
        alive &= ~((ys - y).abs().lt(radius) & (xs - x).abs().lt(radius))
    return (torch.cat(t, 1) for t in zip(*picked))


def _inside(act: torch.Tensor, field: tuple[int, int, int], height: int, width: int):
    """``act`` with -inf where a unit's field hangs over the border (if any unit's does not).

    Departure from a plain argmax: with padding, many units fire hardest at the border, which
    shows the padding rather than what they detect in a picture.
    """
    size, stride, offset = field
    out = act.clone()
    for dim, extent in ((1, height), (2, width)):
        start = offset + stride * torch.arange(act.shape[dim])
        bad = (start < 0) | (start + size > extent)
        if not bad.all():
            out.index_fill_(dim, bad.nonzero().flatten(), -math.inf)
    return out


def _merge(best, new, k: int):
    """Keep the k largest of two (values, image, y, x) candidate sets, each of shape (C, n)."""
    if best is None:
        joined = new
    else:
        joined = [torch.cat(pair, 1) for pair in zip(best, new)]
    order = joined[0].topk(min(k, joined[0].shape[1]), dim=1).indices
    return [t.gather(1, order) for t in joined]


def _crop(image: torch.Tensor, field: tuple[int, int, int], y: int, x: int) -> torch.Tensor:
    """The unit's whole field (3, size, size), grey where it hangs over the border, so the unit
    sits at the centre of every crop."""
    size, stride, offset = field
    top, left = offset + y * stride, offset + x * stride
    crop = torch.full((3, size, size), OUTSIDE)
    t, lf, b, r = _box(field, y, x, *image.shape[-2:])
    crop[:, t - top : b - top, lf - left : r - left] = image[:, t:b, lf:r]
    return crop


def _check_units(units: Sequence[int], channels: int, layer: str) -> None:
    bad = [u for u in units if not 0 <= u < channels]
    if bad:
        raise ConfigError(f"{layer} has units 0..{channels - 1}; got {', '.join(map(str, bad))}")


def top_patches(
    net: VGGFeatures,
    images: Sequence[torch.Tensor],
    layer: str,
    units: Sequence[int] | None = None,
    n_units: int = 8,
    per_unit: int = 9,
    size: int = PATCH_SIZE,
    separation: float = SEPARATION,
    inside: bool = True,
) -> list[UnitPatches]:
    """The ``per_unit`` patches of ``images`` that excite each unit of ``layer`` most.

    ``units`` picks channels; by default the ``n_units`` most active ones (largest mean of their
    top activations), skipping a unit whose patches mostly coincide with a stronger chosen one's.
    Each image (3, H, W) in 0..1 is first shrunk to a long side of ``size``; boxes refer to that
    shrunk image. One image is in memory at a time, so ``images`` may be a lazy sequence over a
    whole folder; only the images holding chosen patches are read a second time, for the crops.

    Near-duplicates: a unit's patches from one image have field centres at least ``separation``
    fields apart (greedy non-maximum suppression), so the nine are not nine shifts of the one
    strongest spot, while one striking image may still give several. ``inside`` keeps to
    positions whose whole field lies in the image (when the image is larger than a field).
    """
    if per_unit < 1 or n_units < 1 or (units is not None and len(units) == 0):
        raise ConfigError(f"need at least one unit and one patch (got {n_units}, {per_unit})")
    if len(images) == 0:
        raise ConfigError("no images to search for patches")
    sub = _sub_network(net, [layer])
    field = layers.receptive_field(sub.names, layer)
    radius = max(1, math.ceil(separation * field[0] / field[1]))
    best = None
    with torch.no_grad():
        for index in range(len(images)):
            image = _shrink(images[index], size)
            act = sub(image)[layer][0]
            if best is None and units is not None:
                _check_units(units, act.shape[0], layer)
            if units is not None:
                act = act[list(units)]
            if inside:
                act = _inside(act, field, *image.shape[-2:])
            values, ys, xs = _separated_maxima(act, per_unit, radius)
            best = _merge(best, [values, torch.full_like(ys, index), ys, xs], per_unit)
    assert best is not None  # images is not empty
    if units is None:
        units = _distinct_units(best, n_units, radius)
        best = [t[units] for t in best]
    return _collect(images, size, layer, field, list(units), best)


def _distinct_units(best, n: int, radius: int) -> list[int]:
    """The n most active channels, passing over one whose patches mostly sit where a stronger
    chosen channel's do (it would show the same thing again)."""
    values, image_ix, ys, xs = best
    score = values.nan_to_num(neginf=0.0).clamp_min(0).mean(1)
    chosen: list[int] = []
    passed: list[int] = []
    for unit in score.argsort(descending=True).tolist():
        if len(chosen) == n:
            break
        same = torch.zeros(values.shape[1], dtype=torch.bool)
        for other in chosen:
            same |= (
                (image_ix[unit, :, None] == image_ix[other, None, :])
                & (ys[unit, :, None] - ys[other, None, :]).abs().lt(radius)
                & (xs[unit, :, None] - xs[other, None, :]).abs().lt(radius)
            ).any(1)
        (passed if 2 * int(same.sum()) > values.shape[1] else chosen).append(unit)
    return chosen + passed[: n - len(chosen)]


def _collect(images, size, layer, field, units, best) -> list[UnitPatches]:
    """Patches and crops of the kept candidates: the second pass over the images."""
    values, image_ix, ys, xs = (t.tolist() for t in best)
    picks = [
        [(i, y, x, v) for v, i, y, x in zip(*row) if math.isfinite(v)]
        for row in zip(values, image_ix, ys, xs)
    ]
    crops: dict[tuple[int, int, int], torch.Tensor] = {}
    boxes: dict[tuple[int, int, int], tuple[int, int, int, int]] = {}
    for index in sorted({p[0] for row in picks for p in row}):
        image = _shrink(images[index], size)
        for i, y, x, _ in (p for row in picks for p in row if p[0] == index):
            crops[(i, y, x)] = _crop(image, field, y, x)
            boxes[(i, y, x)] = _box(field, y, x, *image.shape[-2:])
    return [
        UnitPatches(
            layer,
            unit,
            field[0],
            [Patch(i, y, x, v, boxes[(i, y, x)]) for i, y, x, v in row],
            [crops[(i, y, x)] for i, y, x, _ in row],
        )
        for unit, row in zip(units, picks)
    ]


# ---------------------------------------------------------------- style matrices


# Colour maps as anchor colours, interpolated: viridis (0..max) and blue-white-red (-1..1).
@dataclass
class StyleMatrices:
    """The style statistics of one layer, for the ``channels`` shown (the strongest ones)."""

    layer: str
    channels: list[int]  # channel indices, in display order: families together
    total: int  # channels the layer has
    gram: torch.Tensor  # (k, k) Gram per position, G / (nH nW): what impasto's style cost matches
    correlation: torch.Tensor  # (k, k) in -1..1: which channels fire together


def style_matrices(
    net: VGGFeatures,
    style: torch.Tensor,
    layer: str,
    max_channels: int = 64,
    size: int = STYLE_SIZE,
) -> StyleMatrices:
    """Gram and correlation matrices of ``style`` (3, H, W) at ``layer``, top channels only.

    The ``max_channels`` channels of most energy (the Gram diagonal, mean squared activation) are
    kept, so 512-channel layers stay readable, and ordered so that channels which fire together
    sit together: the blocks along the diagonal are families of features the painting combines.
    """
    if max_channels < 2:
        raise ConfigError(f"max_channels must be at least 2, got {max_channels}")
    sub = _sub_network(net, [layer])
    with torch.no_grad():
        act = sub(_shrink(style, size))[layer]
    gram = losses.style_matrix(act, "gram")[0]
    correlation = losses.style_matrix(act, "correlation")[0]
    channels = gram.diagonal().argsort(descending=True)[:max_channels]
    channels = channels[_spectral_order(correlation[channels[:, None], channels[None, :]])]
    index = channels[:, None], channels[None, :]
    return StyleMatrices(layer, channels.tolist(), act.shape[1], gram[index], correlation[index])


def _spectral_order(correlation: torch.Tensor) -> torch.Tensor:
    """An order that puts channels which fire together next to each other, so blocks show.

    Sorts by the Fiedler vector of the graph whose edge weights are the positive correlations.
    """
    weights = correlation.clamp_min(0).double()
    weights.fill_diagonal_(0)
    laplacian = torch.diag(weights.sum(1)) - weights
    _, vectors = torch.linalg.eigh(laplacian)
    return vectors[:, 1].argsort()


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
    generator = torch.Generator().manual_seed(seed)
    for size, iterations in plan:
        with torch.no_grad():
            wanted = targets(net(resize_long_side(source, size)[None]))
        shape = resize_long_side(source if like is None else like, size).shape
        if image is None:
            image = torch.rand(shape, generator=generator)
        else:
            image = resize_to(image.clamp(0, 1), *shape[-2:])
        image = _lbfgs(net, functools.partial(cost, wanted=wanted), image, iterations, report)
    assert image is not None  # the plan is never empty
    return image.clamp(0, 1)


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
    sub = _sub_network(net, [layer])
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
    sub = _sub_network(net, layers)

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
