"""Minimise a cost over the pixels and keep the best iterate: the loop every run shares.

Painting, and the reconstructions of ``explain``, both hand in a function that returns the
cost and its gradient at a picture; this module runs L-BFGS or Adam over it and remembers the
lowest-cost picture seen, which is what is returned (and what Ctrl-C saves).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Evaluate = Callable[[torch.Tensor], tuple[float, torch.Tensor]]
METHODS = ("lbfgs", "adam")


class Diverged(FloatingPointError):
    """The cost became NaN or infinite."""


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


class BestIterate:
    """The lowest-cost picture seen so far (readable while a run is being interrupted)."""

    def __init__(self, image: torch.Tensor) -> None:
        self.image = image.detach().clone()
        self.loss = math.inf

    def offer(self, x: torch.Tensor, loss: float, clamp: bool) -> None:
        if loss < self.loss:
            self.loss = loss
            self.image = x.detach().clamp(0, 1) if clamp else x.detach().clone()


def minimise(
    start: torch.Tensor,
    evaluate: Evaluate,
    iterations: int,
    *,
    method: str = "lbfgs",
    history: int = 50,
    learning_rate: float = 0.02,
    clamp: bool = True,
    best: BestIterate | None = None,
    after: Callable[[torch.Tensor], None] | None = None,
) -> torch.Tensor:
    """The best of ``iterations`` evaluations of ``evaluate`` from ``start``.

    ``evaluate(x)`` returns (cost, dcost/dx). ``clamp`` keeps pictures in 0..1 (Adam's
    iterates are clamped after each step; the best iterate is stored clamped). ``best``, if
    given, is updated as the run goes, so a caller can save it if the run is interrupted;
    ``after(x)`` is called after each evaluation once ``best`` has seen it (progress reports,
    and the place to stop a run: whatever it raises ends the minimisation).
    Raises ``Diverged`` when the cost stops being finite.
    """
    x = start.detach().clone().requires_grad_(True)
    best = best or BestIterate(x)
    if iterations == 0:
        return best.image

    def closure() -> torch.Tensor:
        loss, grad = evaluate(x)
        if not math.isfinite(loss):
            raise Diverged("the cost became NaN or infinite")
        best.offer(x, loss, clamp)
        if after is not None:
            after(x)
        # L-BFGS flattens the gradient with .view(): a channels-last one (from the network's
        # memory format) must be made contiguous first.
        x.grad = grad.contiguous()
        return torch.tensor(loss, dtype=torch.float64)

    if method == "lbfgs":
        lbfgs(x, iterations, history).step(closure)
    elif method == "adam":
        optimizer = torch.optim.Adam([x], lr=learning_rate)
        for _ in range(iterations):
            closure()
            optimizer.step()
            if clamp:
                with torch.no_grad():
                    x.clamp_(0, 1)
        closure()  # the final step's result is a candidate for the best too
    else:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    return best.image
