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


class SpectralBasis:
    """Pixels as Fourier coefficients scaled down at fine periods: a preconditioner.

    The cost's gradient with respect to the pixels is nearly white (ReLUs and strided pooling
    give every layer's pull a large share at periods of 2 to 5 px), so a few L-BFGS steps on the
    raw pixels paint a fine ripple into flat regions. Optimising ``z`` with
    ``x = irfft2(scale * z)`` instead multiplies each frequency's step by ``scale**2``:
    ``scale = 1 / sqrt(1 + (period * f)**2)`` leaves features larger than ``period`` px almost
    as they were and slows the finer ones. Any picture can still be reached (the map is
    invertible); only the path there changes.
    """

    def __init__(
        self, shape: torch.Size | tuple[int, ...], period: float, device: torch.device | None = None
    ) -> None:
        height, width = shape[-2], shape[-1]
        fy = torch.fft.fftfreq(height, device=device)[:, None]
        fx = torch.fft.rfftfreq(width, device=device)[None, :]
        frequency = (fy.square() + fx.square()).sqrt()
        self.shape = (height, width)
        self.scale = (1.0 + (period * frequency).square()).rsqrt()
        # The half spectrum stands for both halves of every column but the first (and the
        # last, for even widths): 1/sqrt(2) there makes the map exactly length-preserving,
        # so that a step moves each frequency by scale**2 and nothing else.
        halves = torch.full((fx.shape[-1],), 0.5**0.5, device=device)
        halves[0] = 1.0
        if width % 2 == 0:
            halves[-1] = 1.0
        self.weights = self.scale * halves

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.fft.rfft2(x.detach().float(), norm="ortho") / self.weights
        return torch.view_as_real(z).contiguous()

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        spectrum = torch.view_as_complex(z) * self.weights
        return torch.fft.irfft2(spectrum, s=self.shape, norm="ortho")


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
    basis: SpectralBasis | None = None,
) -> torch.Tensor:
    """The best of ``iterations`` evaluations of ``evaluate`` from ``start``.

    ``evaluate(x)`` returns (cost, dcost/dx). ``clamp`` keeps pictures in 0..1 (Adam's
    iterates are clamped after each step; the best iterate is stored clamped). ``best``, if
    given, is updated as the run goes, so a caller can save it if the run is interrupted;
    ``after(x)`` is called after each evaluation once ``best`` has seen it (progress reports,
    and the place to stop a run: whatever it raises ends the minimisation).
    ``basis`` optimises in that basis instead of over the raw pixels (``SpectralBasis``);
    ``evaluate``, ``best`` and ``after`` still see pixels.
    Raises ``Diverged`` when the cost stops being finite.
    """
    best = best or BestIterate(start)
    if iterations == 0:
        return best.image
    x = (start.detach().clone() if basis is None else basis.encode(start)).requires_grad_(True)

    def closure() -> torch.Tensor:
        if basis is None:
            pixels = x.detach()
        else:
            with torch.enable_grad():
                z = x.detach().requires_grad_(True)
                decoded = basis.decode(z)
            pixels = decoded.detach()
        loss, grad = evaluate(pixels)
        if not math.isfinite(loss):
            raise Diverged("the cost became NaN or infinite")
        best.offer(pixels, loss, clamp)
        if after is not None:
            after(pixels)
        if basis is not None:
            (grad,) = torch.autograd.grad(decoded, z, grad.contiguous())
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
                    if basis is None:
                        x.clamp_(0, 1)
                    else:
                        x.copy_(basis.encode(basis.decode(x).clamp(0, 1)))
        closure()  # the final step's result is a candidate for the best too
    else:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    return best.image
