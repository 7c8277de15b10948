"""The cost J = alpha J_content + beta sum_l lambda_l J_style^l + tv TV, and its gradient.

For video, a frame's targets may carry an ``Anchor``: J gains Ruder et al.'s temporal cost.

Content costs are sums over positions and style costs are functions of sums over positions
(``moments.py``), so the same cost can be evaluated on the whole picture at once (autograd
through everything) or tile by tile (``tiling.py``) for pictures too big for memory:

1. a forward pass over the tiles, without gradients, adds up each style layer's moments;
2. the style cost and its gradient with respect to those global moments are computed;
3. a forward and backward pass per tile of  <dJ/dmoments, tile's moments> + its content cost
   gives exactly that tile's share of dJ/dpixels.

Both paths give the same value and gradient (tests/test_objective.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .. import devices
from ..config import StyleConfig
from ..errors import ConfigError
from ..network import precision
from ..network.layers import layer_stride
from ..network.vgg import VGGFeatures, device_of
from . import losses, moments
from .moments import Moments, StyleTarget
from .structure import Structure
from .temporal import Anchor
from .tiling import Tile


def layer_size(height: int, width: int, stride: int) -> tuple[int, int]:
    """The feature map size of a layer at ``stride`` (pooling rounds up)."""
    return -(-height // stride), -(-width // stride)


@dataclass
class Targets:
    """What the picture is pulled towards at one scale.

    ``content``: feature maps of the content image; ``content_norm``: the divisor of each
    content cost. ``style``: per style layer, the target of every region. ``masks``: per style
    layer, each region's weight at every position (None: one region, the whole picture);
    ``shares``: each region's share of the picture, per style layer.
    """

    content: dict[str, torch.Tensor]
    content_norm: dict[str, float]
    style: dict[str, StyleTarget]
    masks: dict[str, torch.Tensor | None]
    shares: dict[str, torch.Tensor]
    seed_style: dict[str, torch.Tensor] | None = None  # raw Gram targets for the seed form
    anchor: Anchor | None = None  # video: the previous frame, warped (``temporal.py``)
    structure: Structure | None = None  # the photo's edges (``structure.py``)


class Objective:
    """J for one network and config; ``prepare`` makes a scale's targets, then evaluate."""

    def __init__(self, net: VGGFeatures, config: StyleConfig) -> None:
        self.net = net
        self.config = config
        self.layer_weights = config.layer_weights()
        self.seed_form = config.loss_form == "seed"
        self.kind = config.style_representation
        self.device = device_of(net)
        centred = self.kind in moments.CENTRED
        self.sum_dtype = devices.exact_dtype(self.device) if centred else None
        self.bf16 = precision.resolve(config.precision, device=self.device) == "bf16"
        # The Gram products were a fifth of a bf16 evaluation in float32 (benchmarks/). Their
        # bfloat16 inputs are already rounded by the network; only the Gram matrix's own
        # rounding (about 0.2 %) is added. Centred statistics (float64) and the seed form's
        # exact formulas keep float32 inputs, as do content layers.
        low = self.bf16 and self.sum_dtype is None and not self.seed_form
        self.bf16_layers = (
            frozenset(config.style_layers) - set(config.content_layers) if low else frozenset()
        )
        # Strength below 1 moves the style targets towards the content's own statistics (see
        # ``prepare``); above 1 it pulls harder towards the style.
        self.strength = config.strength
        self.style_weight = config.style_weight * max(config.strength, 1.0)
        self.tv_weight = config.tv_weight * min(config.strength, 1.0)

    def features(self, batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """The network's activations: float32 whatever precision the network ran in, but for
        ``bf16_layers``.

        ``precision="bf16"`` runs the convolutions in bfloat16 (about 1.5x faster on a CPU
        with AVX-512 BF16, measured in benchmarks/); the costs and statistics stay float32,
        except that Gram-only style layers (``bf16_layers``) stay bfloat16 so that their Gram
        products run in bfloat16 too (``moments`` widens the sums to float32 after them).
        """
        if not self.bf16:
            return self.net(batch)
        with torch.autocast(batch.device.type, dtype=torch.bfloat16):
            feats = self.net(batch)
        return {n: a if n in self.bf16_layers else a.float() for n, a in feats.items()}

    # -- targets -----------------------------------------------------------------------------

    def _sweep(self, image: torch.Tensor, tiles: Sequence[Tile] | None):
        """(owned features, global box) per tile without gradients; one piece if untiled."""
        with torch.no_grad():
            if tiles is None:
                yield self.features(image.unsqueeze(0)), None
                return
            for tile in tiles:
                top, bottom, left, right = tile.crop
                feats = self.features(image[None, :, top:bottom, left:right])
                yield {n: _own(a, tile, n) for n, a in feats.items()}, tile

    def _accumulate(self, sums: dict[str, Moments], feats: dict[str, torch.Tensor]) -> None:
        """Add one piece's (unmasked) style-layer moments to ``sums``."""
        for name in self.config.style_layers:
            part = moments.moments(feats[name], dtype=self.sum_dtype)
            sums[name] = part if name not in sums else sums[name] + part

    def layer_masks(
        self, regions: torch.Tensor | None, height: int, width: int
    ) -> dict[str, torch.Tensor | None]:
        """Each region's weight at each position of each style layer (area-averaged)."""
        if regions is None:
            return {name: None for name in self.config.style_layers}
        out: dict[str, torch.Tensor | None] = {}
        for name in self.config.style_layers:
            size = layer_size(height, width, layer_stride(name))
            out[name] = F.interpolate(regions[None].float(), size=size, mode="area")[0]
        return out

    def prepare(
        self,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        region_blends: Sequence[Sequence[float]],
        regions: torch.Tensor | None = None,
        tiles: Sequence[Tile] | None = None,
        style_tiles: Sequence[Sequence[Tile] | None] | None = None,
    ) -> Targets:
        """Targets at one scale. ``regions`` (R,H,W) at the content's size weighs each region;
        region r takes the mixture of the styles with weights ``region_blends[r]``.
        """
        config = self.config
        if self.seed_form and (regions is not None or self.kind != "gram"):
            raise ConfigError("the seed loss form supports only the Gram matrix and no regions")
        height, width = content.shape[-2:]
        content_t: dict[str, torch.Tensor] = {}
        own: dict[str, Moments] = {}  # the content's own style statistics
        for feats, tile in self._sweep(content, tiles):
            self._accumulate(own, feats)
            for name in config.content_layers:
                if tile is None:
                    content_t[name] = feats[name]
                    continue
                if name not in content_t:
                    c = feats[name].shape[1]
                    content_t[name] = feats[name].new_zeros(
                        1, c, *layer_size(height, width, layer_stride(name))
                    )
                rows, cols = tile.global_owned(layer_stride(name))
                content_t[name][:, :, rows, cols] = feats[name]
        norms = {n: float(t.pow(2).sum().clamp_min(losses.EPS)) for n, t in content_t.items()}

        per_style: list[dict[str, Moments]] = []
        style_tiles = style_tiles or [None] * len(styles)
        for style, s_tiles in zip(styles, style_tiles):
            sums: dict[str, Moments] = {}
            for feats, _ in self._sweep(style, s_tiles):
                self._accumulate(sums, feats)
            per_style.append(sums)

        masks = self.layer_masks(regions, height, width)
        style_t: dict[str, StyleTarget] = {}
        shares: dict[str, torch.Tensor] = {}
        seed_t: dict[str, torch.Tensor] = {}
        mix = min(self.strength, 1.0)
        for name in config.style_layers:
            rows = []
            for blend in region_blends:
                total = sum(blend)
                parts = [(mix * w / total, s[name]) for w, s in zip(blend, per_style) if w > 0]
                if mix < 1:
                    # Strength s < 1: the target is the mixture of s style and (1 - s) of the
                    # content's own statistics, so 0 is the content, 1/2 halfway, at any size.
                    parts.append((1 - mix, own[name]))
                rows.append(moments.blend(parts))
            stacked = Moments(
                *(torch.cat(x) for x in zip(*((r.count, r.total, r.outer) for r in rows)))
            )
            style_t[name] = StyleTarget.from_moments(stacked, self.kind)
            mask = masks[name]
            shares[name] = content.new_ones(1) if mask is None else mask.flatten(1).mean(1)
            if self.seed_form:
                blend = region_blends[0]
                outers = [w * s[name].outer[0] for w, s in zip(blend, per_style) if w]
                seed_t[name] = torch.stack(outers).sum(0)
        structure = None
        if config.structure_weight > 0 and not self.seed_form:
            structure = Structure.of(content, config.structure_scales, config.structure_weight)
        return Targets(
            content_t, norms, style_t, masks, shares, seed_t or None, structure=structure
        )

    # -- the cost ----------------------------------------------------------------------------

    def content_cost(self, feats: dict[str, torch.Tensor], targets: Targets, tile=None):
        """alpha J_content over the positions in ``feats`` (all, or a tile's owned ones)."""
        total = None
        for name, target in targets.content.items():
            if tile is not None:
                rows, cols = tile.global_owned(layer_stride(name))
                target = target[:, :, rows, cols]
            if self.seed_form:
                cost = losses.content_cost_seed(target, feats[name])
            else:
                cost = (feats[name] - target).pow(2).sum() / targets.content_norm[name]
            total = cost if total is None else total + cost
        if total is None:
            return None
        if not self.seed_form:
            total = total / len(targets.content)
        return self.config.content_weight * total

    def style_cost(self, sums: dict[str, Moments], targets: Targets) -> torch.Tensor:
        """beta sum_l lambda_l J_style^l from each style layer's moments over the picture."""
        total = None
        for name, m in sums.items():
            if self.seed_form:
                # The notes' 1/(2 nH nW nC)^2 ||G(S) - G(G)||^2 with raw Gram matrices.
                shape = (1, m.total.shape[1], float(m.count[0]), 1)  # nH nW = positions
                assert targets.seed_style is not None
                cost = losses.style_cost_seed(targets.seed_style[name], m.outer[0], shape)
            else:
                distance = moments.relative_distance(m, targets.style[name])
                cost = (targets.shares[name].to(distance.dtype) * distance).sum()
            cost = self.layer_weights[name] * cost
            total = cost if total is None else total + cost
        assert total is not None  # style_layers is never empty (config)
        return self.style_weight * total

    def _style_sums(self, feats, targets: Targets, tile: Tile | None) -> dict[str, Moments]:
        out = {}
        for name in self.config.style_layers:
            mask = targets.masks[name]
            if mask is not None and tile is not None:
                rows, cols = tile.global_owned(layer_stride(name))
                mask = mask[:, rows, cols]
            out[name] = moments.moments(feats[name], mask, self.sum_dtype)
        return out

    def _terms(self, image, content, style, targets: Targets) -> dict[str, torch.Tensor]:
        zero = image.new_zeros(())
        tv = self.tv_weight * losses.total_variation(image) if self.tv_weight else zero
        terms = {
            "content": zero if content is None else content,
            "style": style,
            "tv": tv,
        }
        terms["total"] = terms["content"] + terms["style"] + terms["tv"]
        if targets.structure is not None:
            terms["structure"] = targets.structure.cost(image)
            terms["total"] = terms["total"] + terms["structure"]
        anchor = targets.anchor
        if anchor is not None:
            terms["temporal"] = anchor.cost(image)
            terms["total"] = terms["total"] + terms["temporal"]
        return terms

    def __call__(self, image: torch.Tensor, targets: Targets) -> dict[str, torch.Tensor]:
        """The weighted terms and their total for the whole picture, differentiable."""
        feats = self.features(image.unsqueeze(0))
        content = self.content_cost(feats, targets)
        style = self.style_cost(self._style_sums(feats, targets, None), targets)
        return self._terms(image, content, style, targets)

    def value_and_grad(
        self, image: torch.Tensor, targets: Targets, tiles: Sequence[Tile] | None = None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """The terms (detached) and dJ/dimage, whole or tile by tile."""
        if tiles is None:
            x = image.detach().requires_grad_(True)
            terms = self(x, targets)
            (grad,) = torch.autograd.grad(terms["total"], x)
            return {k: v.detach() for k, v in terms.items()}, grad
        return self._tiled(image.detach(), targets, tiles)

    def _tiled(self, image, targets: Targets, tiles: Sequence[Tile]):
        # 1. Global style moments, without gradients.
        sums: dict[str, Moments] = {}
        for feats, tile in self._sweep(image, tiles):
            for name, part in self._style_sums(feats, targets, tile).items():
                sums[name] = part if name not in sums else sums[name] + part
        # 2. The style cost and its gradient with respect to the moments.
        leaves = {
            n: Moments(m.count, m.total.requires_grad_(True), m.outer.requires_grad_(True))
            for n, m in sums.items()
        }
        style = self.style_cost(leaves, targets)
        flat = [t for m in leaves.values() for t in (m.total, m.outer)]
        grads = iter(torch.autograd.grad(style, flat, allow_unused=True))
        pull = {n: (next(grads), next(grads)) for n in leaves}  # None: a sum the cost ignores
        # 3. Per tile: the surrogate <dJ/dmoments, moments> plus the content cost, backwards.
        grad = torch.zeros_like(image)
        content = None
        for tile in tiles:
            top, bottom, left, right = tile.crop
            crop = image[:, top:bottom, left:right].clone().requires_grad_(True)
            feats = self.features(crop.unsqueeze(0))
            owned = {n: _own(a, tile, n) for n, a in feats.items()}
            surrogate = crop.new_zeros(())
            for name, m in self._style_sums(owned, targets, tile).items():
                for g, value in zip(pull[name], (m.total, m.outer)):
                    if g is not None:
                        surrogate = surrogate + (g * value).sum()
            part = self.content_cost(owned, targets, tile)
            if part is not None:
                surrogate = surrogate + part
                content = part.detach() if content is None else content + part.detach()
            surrogate.backward()
            grad[:, top:bottom, left:right] += crop.grad
            del feats, owned, surrogate
        x = image.requires_grad_(True)
        terms = self._terms(x, content, style.detach(), targets)
        pixel_terms = [
            t for k in ("tv", "structure", "temporal") if (t := terms.get(k)) is not None
        ]
        pixel_terms = [t for t in pixel_terms if t.requires_grad]
        if pixel_terms:
            grad += torch.autograd.grad(torch.stack(pixel_terms).sum(), x)[0]
        return {k: v.detach() for k, v in terms.items()}, grad


def _own(activation: torch.Tensor, tile: Tile, name: str) -> torch.Tensor:
    rows, cols = tile.owned(layer_stride(name))
    return activation[:, :, rows, cols]
