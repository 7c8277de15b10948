"""Style statistics built from sums over positions, so that regions and tiles simply add up.

Every style representation impasto offers is a function of three sums over a layer's
positions p: the weight  n = sum_p w_p, the features  s = sum_p w_p f_p  and the outer products
S = sum_p w_p f_p f_p^T. Two consequences drive the design:

* a big picture cut into tiles gets exactly the whole picture's statistics by adding the tiles'
  sums, so style stays global when tiling (``tiling.py``);
* weighting positions by a soft mask gives the statistics of one region (Gatys et al. 2017,
  spatial control), one row of sums per region.

Representations (course notes, deck 004, and the mean+covariance distance of later work):
``gram`` (mean outer product, impasto's default), ``covariance`` (centred), ``correlation``
(covariance scaled to unit diagonal) and ``w2`` (the Wasserstein-2 distance between Gaussians
with the two means and covariances).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import devices
from ..config import REPRESENTATIONS  # noqa: F401  (re-exported: the names of the statistics)

EPS = 1e-8
CENTRED = ("covariance", "correlation", "w2")  # summed in float64 (see ``moments``)


@dataclass
class Moments:
    """Sums over positions for R regions: ``count`` (R,), ``total`` (R,C), ``outer`` (R,C,C)."""

    count: torch.Tensor
    total: torch.Tensor
    outer: torch.Tensor

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.count + other.count, self.total + other.total, self.outer + other.outer)

    def scaled(self, factor: float) -> Moments:
        return Moments(self.count * factor, self.total * factor, self.outer * factor)

    def normalised(self) -> Moments:
        """The same statistics per unit weight (count 1): a mean and a second moment."""
        n = self.count.clamp_min(EPS)
        return Moments(
            torch.ones_like(self.count), self.total / n[:, None], self.outer / n[:, None, None]
        )


class _OuterSum(torch.autograd.Function):
    """F^T F for positions-by-channels F, with a backward of one product instead of two.

    Autograd treats the two factors as different tensors and multiplies twice; the gradient
    of a symmetric product is F (G + G^T), a third of the Gram matrices' cost per evaluation.
    """

    @staticmethod
    def forward(ctx, f: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(f)
        return f.T @ f

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (f,) = ctx.saved_tensors
        return f @ (grad + grad.T)


def moments(
    a: torch.Tensor, weights: torch.Tensor | None = None, dtype: torch.dtype | None = None
) -> Moments:
    """Sums of activations ``a`` (1,C,H,W) over positions, one row per region.

    ``weights`` (R,H,W) weighs each position for each region (a soft mask at the layer's size);
    None means one region made of every position with weight 1. ``dtype`` float64 keeps the
    centred statistics exact: a covariance is a small difference of large sums.
    """
    _, c, h, w = a.shape
    f = a.permute(0, 2, 3, 1).reshape(h * w, c)  # a free view for channels-last activations
    if dtype is not None:
        f = f.to(dtype)
    wide = torch.promote_types(f.dtype, torch.float32)  # bfloat16 products, float32 sums
    if weights is None:
        count = f.new_full((1,), float(h * w), dtype=wide)
        total = f.sum(0, keepdim=True).to(wide)  # sums in float32, rounds once (4x faster)
        return Moments(count, total, _OuterSum.apply(f).to(wide).unsqueeze(0))
    f = f.to(wide)
    m = weights.reshape(weights.shape[0], h * w).to(f.dtype)
    outer = torch.stack([f.T @ (f * m_r[:, None]) for m_r in m])
    return Moments(m.sum(1), m @ f, outer)


def blend(parts: list[tuple[float, Moments]]) -> Moments:
    """The normalised moments of a mixture: each part's distribution weighted by its share.

    Blending raw second moments is blending Gram matrices; for covariance and w2 it is the
    covariance of the mixture, which also accounts for the styles' different means.
    """
    total = sum(w for w, _ in parts)
    out: Moments | None = None
    for weight, part in parts:
        term = part.normalised().scaled(weight / total)
        out = term if out is None else out + term
    if out is None:
        raise ValueError("blend needs at least one part")
    return out


def _covariance(m: Moments) -> torch.Tensor:
    """Covariance from sums: E[f f^T] - E[f] E[f]^T.

    The population (1/n) form: deck 004's 1/(n-1) differs by less than 0.1% at any layer size
    used here, and a blend of styles (a mixture) has no sample count to correct with.
    """
    mean = m.total / m.count.clamp_min(EPS)[:, None]
    second = m.outer / m.count.clamp_min(EPS)[:, None, None]
    return second - mean[:, :, None] * mean[:, None, :]


def matrix(m: Moments, kind: str) -> torch.Tensor:
    """The (R,C,C) style matrix of a representation: gram, covariance or correlation."""
    if kind == "gram":
        return m.outer / m.count.clamp_min(EPS)[:, None, None]
    cov = _covariance(m)
    if kind == "covariance":
        return cov
    if kind == "correlation":
        std = cov.diagonal(dim1=1, dim2=2).clamp_min(EPS).sqrt()
        return cov / (std[:, :, None] * std[:, None, :])
    raise ValueError(f"unknown style representation {kind!r}")


class _SqrtmSymmetric(torch.autograd.Function):
    """Square root of symmetric positive semi-definite matrices, with an exact gradient.

    With A = V diag(l) V^T, sqrt(A) = V diag(sqrt l) V^T, and the derivative in the eigenbasis
    divides by sqrt(l_i) + sqrt(l_j) (the Sylvester equation X sqrt(A) + sqrt(A) X = dA).
    """

    @staticmethod
    def forward(ctx, a: torch.Tensor) -> torch.Tensor:
        vals, vecs = torch.linalg.eigh(a.to(*devices.exact(a.device)))
        roots = vals.clamp_min(0).sqrt()
        ctx.save_for_backward(vecs, roots)
        return ((vecs * roots[..., None, :]) @ vecs.transpose(-1, -2)).to(a.device, a.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        vecs, roots = ctx.saved_tensors
        g = vecs.transpose(-1, -2) @ grad.to(vecs.device, vecs.dtype) @ vecs
        g = (g + g.transpose(-1, -2)) / 2
        denom = (roots[..., :, None] + roots[..., None, :]).clamp_min(EPS)
        return (vecs @ (g / denom) @ vecs.transpose(-1, -2)).to(grad.device, grad.dtype)


def sqrtm(a: torch.Tensor) -> torch.Tensor:
    """Matrix square root of symmetric PSD matrices (..., C, C), differentiable."""
    return _SqrtmSymmetric.apply(a)


def wasserstein2(mean_a, cov_a, mean_b, cov_b, sqrt_cov_b=None) -> torch.Tensor:
    """Squared W2 distance between Gaussians N(mean_a, cov_a) and N(mean_b, cov_b), per region.

    ||m_a - m_b||^2 + tr(C_a) + tr(C_b) - 2 tr((C_b^1/2 C_a C_b^1/2)^1/2).
    """
    root_b = sqrtm(cov_b) if sqrt_cov_b is None else sqrt_cov_b
    cross = sqrtm(root_b @ cov_a @ root_b)
    trace = lambda x: x.diagonal(dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    return (mean_a - mean_b).pow(2).sum(-1) + trace(cov_a) + trace(cov_b) - 2 * trace(cross)


@dataclass
class StyleTarget:
    """A style's statistics prepared once per scale for the chosen representation."""

    kind: str
    matrix: torch.Tensor  # (R,C,C): gram/covariance/correlation, or the covariance for w2
    mean: torch.Tensor  # (R,C)
    sqrt_cov: torch.Tensor | None = None  # w2 only
    scale: torch.Tensor | None = None  # (R,): what the distance is divided by
    ridge: torch.Tensor | None = None  # w2 only: (R,1,1) added to both covariances' diagonals

    @classmethod
    def from_moments(cls, m: Moments, kind: str) -> StyleTarget:
        mean = m.total / m.count.clamp_min(EPS)[:, None]
        if kind == "w2":
            cov = _covariance(m)
            trace = cov.diagonal(dim1=1, dim2=2).sum(-1)
            scale = (mean.pow(2).sum(-1) + trace).clamp_min(EPS)
            # A small ridge keeps the square roots' gradients finite for rank-deficient
            # covariances (dead channels, flat regions).
            ridge = (1e-2 * trace / cov.shape[-1]).clamp_min(EPS)[:, None, None]
            cov = cov + ridge * torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
            return cls(kind, cov, mean, sqrtm(cov), scale, ridge)
        mat = matrix(m, kind)
        return cls(kind, mat, mean, None, mat.pow(2).sum((1, 2)).clamp_min(EPS))


def relative_distance(current: Moments, target: StyleTarget) -> torch.Tensor:
    """Distance of the current statistics from the target, divided by the target's size (R,).

    For matrices: ||X - T||_F^2 / ||T||_F^2, impasto's relative cost. For w2: the squared
    Wasserstein-2 distance divided by ||mean||^2 + tr(C) of the target, likewise unit-free.
    """
    assert target.scale is not None
    if target.kind == "w2":
        assert target.ridge is not None
        mean = current.total / current.count.clamp_min(EPS)[:, None]
        eye = torch.eye(mean.shape[-1], dtype=mean.dtype, device=mean.device)
        cov = _covariance(current) + target.ridge * eye
        return wasserstein2(mean, cov, target.mean, target.matrix, target.sqrt_cov) / target.scale
    return (matrix(current, target.kind) - target.matrix).pow(2).sum((1, 2)) / target.scale
