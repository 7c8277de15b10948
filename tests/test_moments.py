"""Style statistics from sums over positions: exact values on small tensors, masks, tiles, W2."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from impasto.cost import losses, moments
from impasto.cost.moments import Moments, StyleTarget


def activations(c=4, h=5, w=6, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, c, h, w, generator=g, dtype=torch.float64) * 3


def test_sums_are_count_features_and_outer_products():
    a = activations()
    m = moments.moments(a)
    f = a[0].reshape(4, -1).numpy()  # (C, positions)
    assert m.count.tolist() == [30.0]
    np.testing.assert_allclose(m.total[0].numpy(), f.sum(1))
    np.testing.assert_allclose(m.outer[0].numpy(), f @ f.T)


def test_seed_004_example_gram():
    """Deck 004's worked example: rows [19, 20] and [9, 8] give [[761, 331], [331, 145]]."""
    a = torch.tensor([[19.0, 20.0], [9.0, 8.0]]).reshape(1, 2, 1, 2)
    assert moments.moments(a).outer[0].tolist() == [[761.0, 331.0], [331.0, 145.0]]


@pytest.mark.parametrize("kind", ["gram", "correlation"])
def test_matrices_match_the_per_position_style_matrix(kind):
    a = activations(seed=1)
    got = moments.matrix(moments.moments(a), kind)
    torch.testing.assert_close(got, losses.style_matrix(a, kind))


def test_covariance_is_the_population_covariance():
    a = activations(seed=2)
    f = a[0].reshape(4, -1).numpy()
    got = moments.matrix(moments.moments(a), "covariance")[0].numpy()
    np.testing.assert_allclose(got, np.cov(f, bias=True))
    # The matrix explain draws is the very one the cost matches.
    np.testing.assert_allclose(got, losses.style_matrix(a, "covariance")[0].numpy(), rtol=1e-6)


def test_correlation_has_unit_diagonal_and_matches_numpy():
    a = activations(seed=3)
    got = moments.matrix(moments.moments(a), "correlation")[0].numpy()
    np.testing.assert_allclose(got, np.corrcoef(a[0].reshape(4, -1).numpy()), atol=1e-12)


def test_masks_weigh_positions_per_region():
    a = activations(seed=4)
    left = torch.zeros(5, 6, dtype=torch.float64)
    left[:, :3] = 1.0
    half = torch.full((5, 6), 0.5, dtype=torch.float64)
    m = moments.moments(a, torch.stack([left, half]))
    only_left = moments.moments(a[:, :, :, :3])
    torch.testing.assert_close(m.count, torch.tensor([15.0, 15.0], dtype=torch.float64))
    torch.testing.assert_close(m.outer[0], only_left.outer[0])
    torch.testing.assert_close(m.outer[1], 0.5 * moments.moments(a).outer[0])


def test_tiles_add_up_to_the_whole():
    a = activations(h=7, w=9, seed=5)
    parts = moments.moments(a[:, :, :3]) + moments.moments(a[:, :, 3:])
    whole = moments.moments(a)
    for x, y in zip(
        (parts.count, parts.total, parts.outer), (whole.count, whole.total, whole.outer)
    ):
        torch.testing.assert_close(x, y)


def test_blend_is_the_mixture_of_the_parts():
    a, b = activations(seed=6), activations(h=3, w=3, seed=7)
    mix = moments.blend([(1.0, moments.moments(a)), (3.0, moments.moments(b))])
    fa, fb = a[0].reshape(4, -1), b[0].reshape(4, -1)
    torch.testing.assert_close(mix.total[0], 0.25 * fa.mean(1) + 0.75 * fb.mean(1))
    torch.testing.assert_close(mix.outer[0], 0.25 * fa @ fa.T / 30 + 0.75 * fb @ fb.T / 9)
    # A weight of 1:0 is the first part alone.
    solo = moments.blend([(1.0, moments.moments(a))])
    torch.testing.assert_close(moments.matrix(solo, "gram"), losses.style_matrix(a, "gram"))


def test_sqrtm_squares_back_and_has_the_right_gradient():
    g = torch.Generator().manual_seed(8)
    x = torch.rand(5, 5, generator=g, dtype=torch.float64)
    spd = x @ x.T + 0.5 * torch.eye(5, dtype=torch.float64)
    root = moments.sqrtm(spd)
    torch.testing.assert_close(root @ root, spd)
    torch.testing.assert_close(root, root.T)
    sym = spd.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda m: moments.sqrtm((m + m.T) / 2), (sym,))


def test_wasserstein2_closed_form_for_diagonal_covariances():
    """For commuting covariances W2^2 = ||m_a - m_b||^2 + sum (sqrt a_i - sqrt b_i)^2."""
    ma, mb = torch.tensor([1.0, 2.0, 0.0]), torch.tensor([0.0, 2.0, 3.0])
    va, vb = torch.tensor([4.0, 1.0, 9.0]), torch.tensor([1.0, 1.0, 4.0])
    got = moments.wasserstein2(
        ma.double(), torch.diag(va).double(), mb.double(), torch.diag(vb).double()
    )
    expected = 1 + 9 + (2 - 1) ** 2 + 0 + (3 - 2) ** 2
    assert float(got) == pytest.approx(expected, rel=1e-10)


def test_wasserstein2_is_zero_for_equal_and_positive_for_different():
    g = torch.Generator().manual_seed(9)
    x = torch.rand(4, 4, generator=g, dtype=torch.float64)
    cov = x @ x.T + 0.1 * torch.eye(4, dtype=torch.float64)
    mean = torch.rand(4, generator=g, dtype=torch.float64)
    assert float(moments.wasserstein2(mean, cov, mean, cov)) == pytest.approx(0, abs=1e-9)
    assert float(moments.wasserstein2(mean, 2 * cov, mean, cov)) > 0.01


@pytest.mark.parametrize("kind", ["gram", "covariance", "correlation", "w2"])
def test_relative_distance_is_zero_at_the_target_and_unit_free(kind):
    a, b = activations(seed=10), activations(seed=11)
    target = StyleTarget.from_moments(moments.moments(a), kind)
    assert float(moments.relative_distance(moments.moments(a), target)[0]) == pytest.approx(
        0, abs=1e-6
    )
    d = float(moments.relative_distance(moments.moments(b), target)[0])
    assert d > 1e-3
    # Scaling both activations by 10 leaves every relative distance unchanged.
    scaled = StyleTarget.from_moments(moments.moments(10 * a), kind)
    d10 = float(moments.relative_distance(moments.moments(10 * b), scaled)[0])
    assert d10 == pytest.approx(d, rel=1e-3)


def test_relative_gram_distance_is_the_relative_cost():
    a, b = activations(seed=12), activations(seed=13)
    target = StyleTarget.from_moments(moments.moments(a), "gram")
    got = moments.relative_distance(moments.moments(b), target)[0]
    expected = losses.relative_cost(losses.style_matrix(a), losses.style_matrix(b))
    torch.testing.assert_close(got, expected)


def test_w2_distance_matches_its_formula():
    a, b = activations(seed=14), activations(seed=15)
    target = StyleTarget.from_moments(moments.moments(a), "w2")
    fa, fb = (x[0].reshape(4, -1).numpy() for x in (a, b))
    ca, cb = np.cov(fa, bias=True), np.cov(fb, bias=True)
    ridge = float(target.ridge)
    ca, cb = ca + ridge * np.eye(4), cb + ridge * np.eye(4)

    def sqrtm(m):
        vals, vecs = np.linalg.eigh(m)
        return vecs @ np.diag(np.sqrt(np.clip(vals, 0, None))) @ vecs.T

    ra = sqrtm(ca)
    w2 = ((fb.mean(1) - fa.mean(1)) ** 2).sum() + np.trace(ca + cb - 2 * sqrtm(ra @ cb @ ra))
    scale = (fa.mean(1) ** 2).sum() + np.trace(np.cov(fa, bias=True))
    got = float(moments.relative_distance(moments.moments(b), target)[0])
    assert got == pytest.approx(w2 / scale, rel=1e-8)


def test_moments_detach_and_normalise():
    m = Moments(torch.tensor([4.0]), torch.tensor([[8.0]]), torch.tensor([[[20.0]]]))
    n = m.normalised()
    assert (
        n.count.tolist() == [1.0] and n.total.tolist() == [[2.0]] and n.outer.tolist() == [[[5.0]]]
    )


def test_float64_sums_keep_a_small_covariance_under_a_large_mean():
    """Covariance is E[ff^T] - mean mean^T: in float32 that difference drowns in rounding."""
    g = torch.Generator().manual_seed(16)
    a = (1000.0 + torch.randn(1, 3, 40, 40, generator=g, dtype=torch.float64)).float()
    exact = np.cov(a[0].reshape(3, -1).double().numpy(), bias=True)
    single = moments.matrix(moments.moments(a), "covariance")[0].double().numpy()
    double = moments.matrix(moments.moments(a, dtype=torch.float64), "covariance")[0].numpy()
    np.testing.assert_allclose(double, exact, rtol=1e-6, atol=1e-6)
    assert np.abs(single - exact).max() > 0.01  # what float32 sums would give


def test_outer_sum_gradient_is_exact():
    a = activations(c=3, h=4, w=5, seed=17).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: moments.moments(x).outer, (a,))
    # and equals what autograd gives for the plain product
    g = torch.rand(1, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(18))
    (fast,) = torch.autograd.grad((moments.moments(a).outer * g).sum(), a)
    f = a.permute(0, 2, 3, 1).reshape(20, 3)
    (plain,) = torch.autograd.grad(((f.T @ f) * g[0]).sum(), a)
    torch.testing.assert_close(fast, plain)


def test_bf16_activations_give_float32_sums_within_one_rounding():
    """bfloat16 products (fast), float32 sums: off by at most the Gram matrix's own rounding."""
    a = torch.rand(1, 8, 30, 40, generator=torch.Generator().manual_seed(3)).bfloat16()
    a.requires_grad_(True)
    m = moments.moments(a)
    exact = moments.moments(a.detach().double())  # the same (already rounded) values
    assert m.outer.dtype == m.total.dtype == m.count.dtype == torch.float32
    torch.testing.assert_close(m.outer.double(), exact.outer, rtol=2**-8, atol=0)
    torch.testing.assert_close(m.total.double(), exact.total, rtol=2**-8, atol=0)
    assert float(m.count) == 30 * 40
    m.outer.sum().backward()  # d/da sum(F^T F) = 2 * (row sums of F) per position, as bf16
    assert a.grad is not None and a.grad.dtype == torch.bfloat16
    expected = 2 * a.detach().double().sum(1, keepdim=True).expand_as(a)
    torch.testing.assert_close(a.grad.double(), expected, rtol=2**-7, atol=0)
