"""The optimisation: targets, initial image, one scale, and the coarse-to-fine pyramid.

Gatys et al. minimise J = alpha J_content + beta J_style over the pixels of G. impasto does the
same, at a sequence of growing sizes (``schedule.py``): each scale starts from the previous
result, upsampled, so most iterations happen where pixels are cheap.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from . import budget, color, schedule
from .config import StyleConfig
from .errors import ConfigError
from .features import VGGFeatures, load_features
from .image import resize_to
from .objective import Objective, Targets
from .tiling import Tile, plan_tiles


@dataclass
class Progress:
    """What a front end needs to show after each evaluation of the cost."""

    scale: int  # 1-based index of the current scale
    scales: int
    size: tuple[int, int]  # (height, width) being optimised
    iteration: int  # within this scale
    iterations: int
    step: int  # over the whole run, for a single progress bar
    steps: int
    losses: dict[str, float]  # weighted content, style, tv, and total
    elapsed: float  # seconds since the run started
    _image: Callable[[], torch.Tensor] = field(repr=False, default=None)

    def image(self) -> torch.Tensor:
        """The current picture, (3, H, W) in 0..1 (a copy, at the current scale)."""
        return self._image()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``image`` is the best picture so far at the output size."""

    def __init__(self, image: torch.Tensor) -> None:
        super().__init__("interrupted")
        self.image = image


ProgressCallback = Callable[[Progress], None]


def output_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(height, width) with the given long side and the same aspect ratio."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def plan_for(config: StyleConfig) -> list[schedule.Scale]:
    """The schedule this config asks for (explicit, or planned from size and min_size)."""
    if config.schedule:
        return schedule.parse(config.schedule)
    return schedule.plan(config.size, config.min_size, config.iterations)


def _initial_image(
    config: StyleConfig, content: torch.Tensor, init_image: torch.Tensor | None
) -> torch.Tensor:
    """Start from the content (default), seeded uniform noise as in the notes, or an image."""
    if init_image is not None:
        return resize_to(init_image, *content.shape[-2:])
    if config.init == "noise":
        generator = torch.Generator().manual_seed(config.seed)
        return torch.rand(content.shape, generator=generator)
    return content.clone()


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


class _Run:
    """State shared by the scales of one run: progress counters, the best image so far."""

    def __init__(
        self, plan: list[schedule.Scale], config: StyleConfig, callback: ProgressCallback | None
    ) -> None:
        self.plan = plan
        self.callback = callback
        # Adam makes one extra evaluation per scale to score its final step.
        extra = 1 if config.optimizer == "adam" else 0
        self.steps = sum(s.iterations + extra for s in plan if s.iterations)
        self.step = 0
        self.start = time.perf_counter()
        self.best: torch.Tensor | None = None

    def report(self, index: int, image: torch.Tensor, iteration: int, terms) -> None:
        self.step += 1
        if self.callback is None:
            return
        self.callback(
            Progress(
                scale=index + 1,
                scales=len(self.plan),
                size=tuple(image.shape[-2:]),
                iteration=iteration,
                iterations=self.plan[index].iterations,
                step=self.step,
                steps=self.steps,
                losses={k: float(v.detach()) for k, v in terms.items()},
                elapsed=time.perf_counter() - self.start,
                _image=lambda: image.detach().clamp(0, 1).clone(),
            )
        )


def lbfgs(x: torch.Tensor, iterations: int, history: int = 50) -> torch.optim.LBFGS:
    """L-BFGS over the pixels ``x`` for one ``step()`` of exactly ``iterations`` evaluations.

    No line search, as in the reference tools: the curvature estimate makes the step size
    right after the first iteration, and every evaluation is one forward and backward pass.
    """
    return torch.optim.LBFGS(
        [x],
        lr=1.0,
        max_iter=iterations,
        max_eval=iterations,
        history_size=history,
        tolerance_grad=0.0,
        tolerance_change=0.0,
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
    x = image.detach().clone().requires_grad_(True)
    best_loss = math.inf
    run.best = x.detach().clone()
    count = 0

    def evaluate() -> torch.Tensor:
        """The total cost at ``x``, with ``x.grad`` set to its gradient."""
        nonlocal best_loss, count
        terms, grad = objective.value_and_grad(x, targets, tiles)
        loss_value = float(terms["total"])
        if not math.isfinite(loss_value):
            raise FloatingPointError("the cost became NaN or infinite")
        if loss_value < best_loss:
            best_loss = loss_value
            run.best = x.detach().clamp(0, 1)
        count += 1
        run.report(index, x, count, terms)
        x.grad = grad
        return terms["total"]

    if iterations == 0:
        return run.best
    if config.optimizer == "lbfgs":
        lbfgs(x, iterations, history).step(evaluate)
    else:
        optimizer = torch.optim.Adam([x], lr=config.learning_rate)
        for _ in range(iterations):
            evaluate()
            optimizer.step()
            with torch.no_grad():
                x.clamp_(0, 1)
        evaluate()  # the final step's result is a candidate for the best too
    return run.best


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


def scale_sizes(content_hw: tuple[int, int], plan: list[schedule.Scale]):
    """(height, width, iterations) of every scale of ``plan`` for a content of this size."""
    return [(*output_size(*content_hw, s.size), s.iterations) for s in plan]


def estimate(content_hw: tuple[int, int], config: StyleConfig) -> budget.Estimate:
    """Time and peak memory of a run, or ConfigError naming the largest size that fits."""
    limit = budget.budget_bytes(config.max_memory)
    sizes = scale_sizes(content_hw, plan_for(config))
    try:
        return budget.estimate(sizes, limit, config.tile)
    except ConfigError:
        height, width = max(sizes, key=lambda s: s[0] * s[1])[:2]
        need = budget.minimum_memory(height, width) / budget.GB
        largest = budget.largest_size(content_hw[0] / content_hw[1], limit)
        raise ConfigError(
            f"a {width}x{height} picture needs about {need:.1f} GB, more than the "
            f"{limit / budget.GB:.1f} GB budget; the largest size that fits is about "
            f"{largest} px (or raise --max-memory)"
        ) from None


def stylize(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor] | torch.Tensor,
    config: StyleConfig | None = None,
    *,
    network: VGGFeatures | None = None,
    init_image: torch.Tensor | None = None,
    masks: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
) -> torch.Tensor:
    """Paint ``content`` (3,H,W in 0..1) in the style of ``styles``; return (3,h,w) in 0..1.

    ``masks`` (R,H,W in 0..1, any size) confines style to regions: one mask per style image
    gives each style its region; a single mask places the blend of all styles. Where the masks
    sum to less than 1 the picture keeps that share of the content's pixels (0: the content).
    ``network`` defaults to the config's network with its cached weights (``weights.py``).
    Ctrl-C raises ``Interrupted`` carrying the best picture so far at the output size.
    ``config.preserve_color`` recolours the inputs before the optimisation and its pictures
    after (``color.py``): the result, ``Interrupted.image`` and ``Progress.image()`` alike.
    """
    config = config or StyleConfig()
    if isinstance(styles, torch.Tensor):
        styles = [styles]
    if not styles:
        raise ConfigError("at least one style image is needed")
    mode = config.preserve_color
    if mode == "none":
        return _stylize(content, styles, config, network, init_image, masks, progress)

    def finish(image: torch.Tensor) -> torch.Tensor:
        return color.finish(mode, image, content)

    def recoloured(p: Progress) -> None:
        progress(dataclasses.replace(p, _image=lambda: finish(p.image())))

    content_in, styles_in, init_in = color.prepare(mode, content, styles, init_image)
    callback = None if progress is None else recoloured
    try:
        image = _stylize(content_in, styles_in, config, network, init_in, masks, callback)
    except Interrupted as e:
        raise Interrupted(finish(e.image)) from None
    return finish(image)


def _stylize(
    content: torch.Tensor,
    styles: Sequence[torch.Tensor],
    config: StyleConfig,
    network: VGGFeatures | None,
    init_image: torch.Tensor | None,
    masks: torch.Tensor | None,
    progress: ProgressCallback | None,
) -> torch.Tensor:
    """The optimisation itself, on the pictures exactly as given."""
    region_blends = _region_blends(masks, config.blend(len(styles)), len(styles))
    plan = plan_for(config)
    final_hw = output_size(*content.shape[-2:], plan[-1].size)
    if config.strength == 0:
        return resize_to(content, *final_hw).clamp(0, 1)  # no style: the content itself
    net = network or load_features(
        config.network,
        config.content_layers + config.style_layers,
        config.pooling,
        config.weights,
    )
    objective = Objective(net, config)
    plans = estimate(tuple(content.shape[-2:]), config).scales
    run = _Run(plan, config, progress)
    image: torch.Tensor | None = None
    try:
        for index, scale in enumerate(plan):
            hw = output_size(*content.shape[-2:], scale.size)
            content_s = resize_to(content, *hw)
            style_long = max(1, round(scale.size * config.style_scale))
            styles_s = [resize_to(s, *output_size(*s.shape[-2:], style_long)) for s in styles]
            masks_s = None if masks is None else resize_to(masks, *hw).clamp(0, 1)
            tiles = tiles_for(net, *hw, plans[index].tile)
            style_tiles = [tiles_for(net, *s.shape[-2:], plans[index].tile) for s in styles_s]
            targets = objective.prepare(
                content_s, styles_s, region_blends, masks_s, tiles, style_tiles
            )
            if image is None:
                image = _initial_image(config, content_s, init_image)
            else:
                image = _upsample(image, content_s)
            image = _optimise_scale(
                objective,
                targets,
                image,
                scale.iterations,
                run,
                index,
                tiles,
                plans[index].history,
            )
            image = _keep_content(image, content_s, masks_s)
    except KeyboardInterrupt:
        best = run.best if run.best is not None else content
        best = _keep_content(resize_to(best, *final_hw), resize_to(content, *final_hw), masks)
        raise Interrupted(best) from None
    return image.clamp(0, 1)
