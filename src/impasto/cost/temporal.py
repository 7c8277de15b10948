"""The temporal cost of Ruder, Dosovitskiy & Brox (2016): stay where the last frame was.

L_temporal(x) = gamma / D * sum_k c_k (x_k - w_k)^2 over the D = C H W values of the picture,
with w the previous painted frame warped onto this one (``ops/flow.warp``) and c in 0..1 its
reliability per pixel (``ops/flow.reliability``): 0 where the flow cannot be trusted, so those
pixels answer to the content and style costs alone. Without it each frame's optimisation
finds its own strokes, and the clip flickers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..ops.resize import resize_to


@dataclass(frozen=True)
class Anchor:
    """A picture to stay close to, where ``reliability`` (1, H, W) says, with weight gamma."""

    target: torch.Tensor  # (3, H, W) in 0..1
    reliability: torch.Tensor  # (1, H, W) in 0..1
    weight: float

    def __post_init__(self) -> None:
        if self.target.dim() != 3 or self.reliability.dim() != 3:
            raise ValueError("an anchor's target is (3, H, W) and its reliability (1, H, W)")
        if self.target.shape[-2:] != self.reliability.shape[-2:]:
            raise ValueError(
                f"target {tuple(self.target.shape)} and reliability "
                f"{tuple(self.reliability.shape)} differ in size"
            )

    def to(self, device: torch.device) -> Anchor:
        """The same anchor on ``device``."""
        return Anchor(self.target.to(device), self.reliability.to(device), self.weight)

    def at(self, height: int, width: int) -> Anchor:
        """The same anchor at another scale of the pyramid."""
        if tuple(self.target.shape[-2:]) == (height, width):
            return self
        weights = torch.nn.functional.interpolate(
            self.reliability[None].float(), size=(height, width), mode="area"
        )[0]
        return Anchor(resize_to(self.target, height, width), weights, self.weight)

    def cost(self, image: torch.Tensor) -> torch.Tensor:
        """gamma / D sum c (x - w)^2: differentiable in ``image`` (3, H, W)."""
        if image.shape != self.target.shape:
            raise ValueError(f"image {tuple(image.shape)} is not {tuple(self.target.shape)}")
        squared = (image - self.target).square() * self.reliability
        return self.weight * squared.sum() / image.numel()
