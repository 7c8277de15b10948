"""Screen (issue 11): random integer shifts of the picture at each evaluation ("jitter").

Strided pooling puts every layer's gradient on a 2/4/8/16 px grid; shifting the picture by a
random offset at each evaluation moves the grid, the classic remedy for the aliasing that may
paint fine ripple. Each evaluation sees the crop of the picture at a random offset in 0..S px
on each axis (the content target is the content's features over the same crop; the style
targets are statistics, which a crop does not move).

The jittered objective replaces impasto's for the whole process: *every* configuration named
in one run is jittered (``max_jitS`` is the default, max pooling, under that name), so compare
against a plain ``run.py`` run. Measured on 2026-12-04 and not adopted (benchmarks/RESULTS.md):

    JITTER=2 python -m benchmarks.quality.screen_jitter --configs max_jit2 --threads 2 \
        --pair tubingen-starry_night --no-reference --out /tmp/jitter2
"""

from __future__ import annotations

import dataclasses
import os
import random
import sys

import torch

import impasto.engine.pyramid as pyramid
from benchmarks.quality import run
from impasto.cost import losses
from impasto.cost.objective import Objective

SHIFT = int(os.environ.get("JITTER", "2"))


class JitterObjective(Objective):
    """The objective at a random crop of the picture, a new one at every evaluation."""

    def prepare(self, content, *args, **kwargs):
        targets = super().prepare(content, *args, **kwargs)
        self._content, self._crops, self._rng = content, {}, random.Random(0)
        return targets

    def _at(self, targets, dy: int, dx: int):
        if (dy, dx) not in self._crops:
            h, w = self._content.shape[-2:]
            crop = self._content[:, dy : h - SHIFT + dy, dx : w - SHIFT + dx]
            with torch.no_grad():
                feats = self.features(crop.unsqueeze(0))
            content = {n: feats[n] for n in self.config.content_layers}
            norms = {n: float(t.pow(2).sum().clamp_min(losses.EPS)) for n, t in content.items()}
            self._crops[dy, dx] = content, norms
        content, norms = self._crops[dy, dx]
        return dataclasses.replace(targets, content=content, content_norm=norms)

    def value_and_grad(self, image, targets, tiles=None):
        if tiles is not None or SHIFT == 0:
            return super().value_and_grad(image, targets, tiles)
        dy, dx = self._rng.randint(0, SHIFT), self._rng.randint(0, SHIFT)
        h, w = image.shape[-2:]
        rows, cols = slice(dy, h - SHIFT + dy), slice(dx, w - SHIFT + dx)
        x = image.detach()[:, rows, cols].requires_grad_(True)
        terms = self(x, self._at(targets, dy, dx))
        (grad_crop,) = torch.autograd.grad(terms["total"], x)
        grad = image.new_zeros(image.shape)
        grad[:, rows, cols] = grad_crop
        return {k: v.detach() for k, v in terms.items()}, grad


pyramid.Objective = JitterObjective  # type: ignore[misc]
run.CONFIGS[f"max_jit{SHIFT}"] = {"pooling": "max"}

if __name__ == "__main__":
    sys.exit(run.main())
