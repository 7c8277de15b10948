"""The coarse-to-fine run: targets, initial image, one scale after another.

Gatys et al. minimise J = alpha J_content + beta J_style over the pixels of G. impasto does the
same, at a sequence of growing sizes (``engine/schedule.py``): each scale starts from the previous
result, upsampled, so most iterations happen where pixels are cheap.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import torch

from .. import devices
from ..config import StyleConfig
from ..cost.objective import Objective, Targets
from ..cost.temporal import Anchor
from ..cost.tiling import Tile, plan_tiles
from ..errors import ConfigError
from ..network import vgg
from ..network.vgg import VGGFeatures
from ..ops import color
from ..ops.pictures import as_masks, as_picture
from ..ops.resize import output_size, resize_to, size_of
from . import budget, schedule
from .optimise import BestIterate, SpectralBasis, minimise
from .progress import Cancelled, CancelToken, Progress, ProgressCallback, TimeLeft


def initial_image(
    config: StyleConfig,
    content: torch.Tensor,
    init_image: torch.Tensor | None,
    styles: Sequence[torch.Tensor] = (),
    region_blends: Sequence[Sequence[float]] = ((1.0,),),
    masks: torch.Tensor | None = None,
) -> torch.Tensor:
    """Start from the content in its paintings' colours (default), the content itself, seeded
    uniform noise as in the notes, or an image.

    ``palette`` gives the content the colours of the pooled pixels of the paintings each
    region blends brightness class by brightness class (``color.match_palette``); ``recolor``
    moves it linearly to their colour mean and covariance (``region_blends[r]``, placed by
    ``masks``, R x H x W);
    where the masks leave the content alone, it keeps its own colours; below strength 1 the
    colours move that share of the way.
    """
    if init_image is not None:
        return resize_to(init_image, *content.shape[-2:])
    if config.init == "noise":
        generator = torch.Generator().manual_seed(config.seed)  # the CPU's: same on any device
        return torch.rand(content.shape, generator=generator).to(content.device)
    if config.init not in ("palette", "recolor") or not styles:
        return content.clone()
    recoloured = []
    for blend in region_blends:
        painted = [s for s, w in zip(styles, blend) if w > 0] or list(styles)
        palette = torch.cat([s.reshape(3, 1, -1) for s in painted], dim=-1)
        if config.init == "palette":
            moved = color.match_palette(content, palette).clamp(0, 1)
        else:
            moved = color.match_color(content, palette).clamp(0, 1)
        # Below strength 1 the style targets keep part of the content's statistics: so do
        # the colours of the start.
        recoloured.append(torch.lerp(content, moved, min(config.strength, 1.0)))
    if masks is None:
        return recoloured[0]
    weights = masks if len(recoloured) == masks.shape[0] else masks.sum(0, keepdim=True)
    weights = weights.clamp(0, 1)
    total = weights.sum(0)
    weights = weights / total.clamp_min(1.0)  # overlapping masks share their pixels
    image = content * (1 - total.clamp(0, 1))
    for r, picture in enumerate(recoloured):
        image = image + weights[r] * picture
    return image


def _upsample(image: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Carry a coarse result up to the size of ``content``, restoring the content's detail.

    A plain upsampling is blurry: windows and edges finer than the coarse scale are gone, and
    the few iterations at the fine scale cannot paint them back. Adding the band of detail
    that the coarse scale could not hold (the content minus its own blurred copy) starts the
    fine scale with sharp content under the coarse strokes.
    """
    small = image.shape[-2:]
    detail = content - resize_to(resize_to(content, *small), *content.shape[-2:])
    return (resize_to(image, *content.shape[-2:]) + detail).clamp(0, 1)


class _Stop(Exception):
    """A CancelToken was set: unwinds the optimiser, then becomes ``Cancelled``."""


class _Run:
    """State shared by the scales of one run: progress counters, ETA, the best image so far."""

    def __init__(
        self,
        plan: list[schedule.Scale],
        estimate: budget.Estimate,
        config: StyleConfig,
        callback: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> None:
        self.plan = plan
        self.callback = callback
        self.cancel = cancel
        # Adam makes one extra evaluation per scale to score its final step.
        extra = 1 if config.optimizer == "adam" else 0
        counts = [s.iterations + extra if s.iterations else 0 for s in plan]
        self.steps = sum(counts)
        self.time_left = TimeLeft([p.seconds_per_evaluation for p in estimate.scales], counts)
        self.step = 0
        self.start = time.perf_counter()
        self.best: BestIterate | None = None

    def report(self, index: int, image: torch.Tensor, iteration: int, terms) -> None:
        self.step += 1
        elapsed = time.perf_counter() - self.start
        if self.cancel is not None and self.cancel.cancelled:
            raise _Stop("cancelled")
        if self.callback is None:
            return
        self.callback(
            Progress(
                scale=index + 1,
                scales=len(self.plan),
                size=size_of(image),
                iteration=iteration,
                iterations=self.plan[index].iterations,
                step=self.step,
                steps=self.steps,
                losses={k: float(v.detach()) for k, v in terms.items()},
                elapsed=elapsed,
                seconds_left=self.time_left.seconds_left(index, iteration, elapsed),
                fraction=self.time_left.fraction(index, iteration),
                _image=lambda: image.detach().clamp(0, 1).clone(),
            )
        )


def _optimise_scale(
    objective: Objective,
    targets: Targets,
    image: torch.Tensor,
    iterations: int,
    run: _Run,
    index: int,
    tiles: list[Tile] | None = None,
    history: int = 50,
) -> torch.Tensor:
    """Minimise the objective from ``image`` for ``iterations``; return the best iterate."""
    config = objective.config
    run.best = BestIterate(image)
    count = 0
    terms: dict[str, torch.Tensor] = {}

    def evaluate(x: torch.Tensor) -> tuple[float, torch.Tensor]:
        nonlocal terms
        terms, grad = objective.value_and_grad(x, targets, tiles)
        return float(terms["total"]), grad

    def report(x: torch.Tensor) -> None:
        nonlocal count
        count += 1
        run.report(index, x, count, terms)

    return minimise(
        image,
        evaluate,
        iterations,
        method=config.optimizer,
        history=history,
        learning_rate=config.learning_rate,
        best=run.best,
        after=report,
        basis=(
            SpectralBasis(image.shape, config.smooth_steps, image.device)
            if config.smooth_steps
            else None
        ),
    )


def _region_blends(
    masks: torch.Tensor | None, blend: list[float], n_styles: int
) -> list[list[float]]:
    """The style mixture of each region: one mask per style, or one mask for the blend."""
    if masks is None or masks.shape[0] == 1:
        return [blend]
    if masks.shape[0] != n_styles:
        raise ConfigError(f"{masks.shape[0]} masks given for {n_styles} style images")
    return [[1.0 if i == r else 0.0 for i in range(n_styles)] for r in range(n_styles)]


def _keep_content(
    image: torch.Tensor, content: torch.Tensor, masks: torch.Tensor | None
) -> torch.Tensor:
    """Put back the content's pixels in the share where the masks sum to less than 1.

    Departs from Gatys et al. (2017), whose unmasked pixels answer only to the content cost.
    Alone, that cost lets an unstyled region drift from the photo: total variation blurs it,
    the deep content layer does not hold its colours, and strokes spread across the boundary
    as far as the network sees. Mixing with the masks' (soft) sum keeps the photo exactly
    where no style was asked for, blends across soft edges, and makes grey mean "partly".
    """
    if masks is None:
        return image
    keep = resize_to(masks, *image.shape[-2:]).sum(0, keepdim=True).clamp(0, 1)
    return (content + keep * (image - content)).clamp(0, 1)


def tiles_for(net: VGGFeatures, height: int, width: int, tile: int) -> list[Tile] | None:
    """Tiles for a picture of this size, or None when it is evaluated whole."""
    if not tile or max(height, width) <= tile:
        return None
    return plan_tiles(height, width, tile, net.radius, net.align)


def as_config(value: Any) -> StyleConfig:
    """A StyleConfig, or a dict of its fields, as a StyleConfig; else one ConfigError."""
    if isinstance(value, dict):
        names = {f.name for f in dataclasses.fields(StyleConfig)}
        if (odd := next((k for k in value if k not in names), None)) is not None:
            raise ConfigError(f"config has no setting {odd!r} (see StyleConfig's fields)")
        value = StyleConfig(**value)
    if not isinstance(value, StyleConfig):
        raise ConfigError(f"config must be a StyleConfig, got {type(value).__name__}")
    return value


def stylize(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor] | torch.Tensor,
    config: StyleConfig | None = None,
    *,
    network: VGGFeatures | None = None,
    init_image: torch.Tensor | None = None,
    masks: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Paint ``content`` (3,H,W in 0..1) in the style of ``styles``; return (3,h,w) in 0..1.

    ``masks`` (R,H,W in 0..1, any size) confines style to regions: one mask per style image
    gives each style its region; a single mask places the blend of all styles. Where the masks
    sum to less than 1 the picture keeps that share of the content's pixels (0: the content).
    ``network`` defaults to ``load_network(config)`` (the config's network, its weights from
    the cache, fetched there the first time). ``cancel.cancel()`` (from any thread) or Ctrl-C
    stops the run with ``Cancelled``, which carries the best picture so far at the output
    size. ``config.device`` says where it paints (``auto``: a GPU if there is one); the
    inputs may be on any device, and the pictures come back on the CPU.
    ``config.preserve_color`` recolours the inputs before the optimisation and its
    pictures after (``ops/color.py``): the result, ``Cancelled.image`` and
    ``Progress.image()`` alike.

    Nothing outside the result changes: the machine's speed store is read (for the time
    left), never written; the allocator, torch's random generator and its threads are left as
    they are; nothing is printed. A front end opts into those through ``impasto.jobs``.
    """
    config = as_config(config or StyleConfig())
    content = as_picture(content, "content")
    if isinstance(styles, torch.Tensor):
        styles = [styles]
    styles = [as_picture(s, f"style {i + 1}") for i, s in enumerate(styles)]
    if not styles:
        raise ConfigError("at least one style image is needed")
    init_image = None if init_image is None else as_picture(init_image, "init_image")
    masks = None if masks is None else as_masks(masks)
    run_device(config, network)  # a missing device, or a network elsewhere, before planning
    shapes = [size_of(s) for s in styles]
    plan = budget.estimate_run(size_of(content), shapes, config)
    return paint(
        content, styles, config, plan, network=network, init_image=init_image, masks=masks,
        progress=progress, cancel=cancel,
    )  # fmt: skip


def paint(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: StyleConfig,
    plan: budget.Estimate,
    *,
    network: VGGFeatures | None = None,
    init_image: torch.Tensor | None = None,
    masks: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    anchor: Anchor | None = None,
) -> torch.Tensor:
    """``stylize`` as a job runs it: pictures already checked (``as_picture``), the run already
    planned (``plan``: ``budget.estimate_run``, timed on this machine), and ``anchor`` (video)
    adding the temporal cost towards a picture at the output size (``cost/temporal.py``).

    The run happens on ``config.device`` (with a ``network`` and ``auto``: the network's);
    the pictures it gives back (the result, ``Cancelled.image``, ``Progress.image()``) are on
    the CPU whatever painted them, ready to save.
    """
    device = run_device(config, network)

    def here(tensor: torch.Tensor | None) -> torch.Tensor | None:
        return None if tensor is None else tensor.to(device)

    if progress is not None and device.type != "cpu":
        progress = _on_cpu(progress)
    try:
        image = _paint_on(
            content.to(device), [s.to(device) for s in styles], config, plan, network=network,
            init_image=here(init_image), masks=here(masks), progress=progress, cancel=cancel,
            anchor=None if anchor is None else anchor.to(device),
        )  # fmt: skip
    except Cancelled as e:
        raise Cancelled(e.image.cpu(), e.reason) from None
    return image.cpu()


def _on_cpu(progress: ProgressCallback) -> ProgressCallback:
    """Reports whose picture comes to the CPU (a GPU's is copied only when one is asked for)."""

    def report(p: Progress) -> None:
        progress(dataclasses.replace(p, _image=lambda: p.image().cpu()))

    return report


def run_device(config: StyleConfig, network: VGGFeatures | None = None) -> torch.device:
    """The device a run paints on: ``config.device``; given a ``network`` and ``auto``, the
    network's. A network on another device than the one named is a ConfigError."""
    if network is None:
        return devices.resolve(config.device)
    where = vgg.device_of(network)
    if config.device == "auto":
        return where
    device = devices.resolve(config.device)
    if (where.type, where.index or 0) != (device.type, device.index or 0):
        raise ConfigError(
            f"the network is on {where} but config.device is {config.device}: build it with "
            "load_network(config), which puts it there"
        )
    return device


def _paint_on(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: StyleConfig,
    plan: budget.Estimate,
    *,
    network: VGGFeatures | None,
    init_image: torch.Tensor | None,
    masks: torch.Tensor | None,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    anchor: Anchor | None,
) -> torch.Tensor:
    """``paint`` with every picture on the device already."""
    run = _Painting(config, network, plan, masks, progress, cancel, anchor)
    mode = config.preserve_color
    if mode == "none":
        return run(content, styles, init_image)
    if anchor is not None:  # the anchor is a picture too: seen as the optimisation sees it
        target = color.prepare(mode, content, styles, anchor.target)[2]
        assert target is not None
        run.anchor = dataclasses.replace(anchor, target=target)

    def finish(image: torch.Tensor) -> torch.Tensor:
        return color.finish(mode, image, content)

    if progress is not None:
        run.progress = lambda p: progress(dataclasses.replace(p, _image=lambda: finish(p.image())))
    content_in, styles_in, init_in = color.prepare(mode, content, styles, init_image)
    try:
        image = run(content_in, styles_in, init_in)
    except Cancelled as e:
        raise Cancelled(finish(e.image), e.reason) from None
    return finish(image)


@dataclasses.dataclass
class _Painting:
    """One run's settings; called with the pictures the optimisation should see."""

    config: StyleConfig
    network: VGGFeatures | None
    estimate: budget.Estimate
    masks: torch.Tensor | None
    progress: ProgressCallback | None
    cancel: CancelToken | None
    anchor: Anchor | None = None

    def __call__(
        self,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        init_image: torch.Tensor | None,
    ) -> torch.Tensor:
        config, masks = self.config, self.masks
        region_blends = _region_blends(masks, config.blend(len(styles)), len(styles))
        plan = list(self.estimate.plan)
        final_hw = output_size(*size_of(content), plan[-1].size)
        if config.strength == 0:
            return resize_to(content, *final_hw).clamp(0, 1)  # no style: the content itself
        net = self.network or vgg.load_network(config)
        objective = Objective(net, config)
        plans = self.estimate.scales
        run = _Run(plan, self.estimate, config, self.progress, self.cancel)
        image: torch.Tensor | None = None
        try:
            for index, scale in enumerate(plan):
                hw = (plans[index].height, plans[index].width)  # as planned, and budgeted
                content_s = resize_to(content, *hw)
                shapes = budget.style_sizes(
                    [size_of(s) for s in styles], scale.size, config.style_scale
                )
                styles_s = [resize_to(s, *shape) for s, shape in zip(styles, shapes)]
                masks_s = None if masks is None else resize_to(masks, *hw).clamp(0, 1)
                tiles = tiles_for(net, hw[0], hw[1], plans[index].tile)
                style_tiles = [tiles_for(net, *size_of(s), plans[index].tile) for s in styles_s]
                targets = objective.prepare(
                    content_s, styles_s, region_blends, masks_s, tiles, style_tiles
                )
                if self.anchor is not None:
                    targets = dataclasses.replace(targets, anchor=self.anchor.at(*hw))
                if image is None:
                    image = initial_image(
                        config, content_s, init_image, styles_s, region_blends, masks_s
                    )
                else:
                    image = _upsample(image, content_s)
                image = _optimise_scale(
                    objective, targets, image, scale.iterations, run, index, tiles,
                    plans[index].history,
                )  # fmt: skip
                image = _keep_content(image, content_s, masks_s)
        except (KeyboardInterrupt, _Stop) as stop:
            best = run.best.image if run.best is not None else content
            final_content = resize_to(content, *final_hw)
            best = _keep_content(resize_to(best, *final_hw), final_content, masks)
            reason = str(stop) if isinstance(stop, _Stop) else "interrupted"
            raise Cancelled(best, reason) from None
        except RuntimeError as error:  # torch.OutOfMemoryError is one
            if not devices.is_out_of_memory(error):
                raise
            height, width = max(((p.height, p.width) for p in plans), key=lambda s: s[0] * s[1])
            device = vgg.device_of(net)
            raise budget.out_of_memory(height, width, self.estimate, config, device) from None
        assert image is not None
        return image.clamp(0, 1)
