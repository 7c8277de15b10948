"""The cost functions against the course notes' formulas, computed independently (numpy, loops).

Activations are (N, C, H, W): the rows of a Gram matrix are channels, its sum runs over the
nH x nW positions.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from impasto.cost import losses


def rand(*shape: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def gram_by_loops(a: np.ndarray) -> np.ndarray:
    """G_kk' = sum_ij a_ijk a_ijk' for every sample, one position at a time."""
    n, c, h, w = a.shape
    g = np.zeros((n, c, c))
    for b, i, j in itertools.product(range(n), range(h), range(w)):
        v = a[b, :, i, j].astype(np.float64)
        g[b] += np.outer(v, v)
    return g


# ------------------------------------------------------------------------------- gram


def test_gram_matrix_seed_004_example():
    """M = [[19,20],[9,8]] with rows as channels and columns as positions: M M^T."""
    m = torch.tensor([[19.0, 20.0], [9.0, 8.0]])
    activation = m.reshape(1, 2, 1, 2)  # N=1, C=2 (rows of M), H=1, W=2 (columns of M)
    assert activation[0, :, 0, 0].tolist() == [19.0, 9.0]  # one position = one column of M
    g = losses.gram_matrix(activation)
    assert g.shape == (1, 2, 2)
    assert g[0].tolist() == [[761.0, 331.0], [331.0, 145.0]]


def test_gram_matrix_layout_channels_are_rows():
    """The same numbers with the channels as M's columns give M^T M: the layout matters."""
    m = torch.tensor([[19.0, 20.0], [9.0, 8.0]])
    activation = m.reshape(1, 2, 1, 2).permute(0, 3, 2, 1)  # channel k = column k of M
    assert losses.gram_matrix(activation)[0].tolist() == [[442.0, 452.0], [452.0, 464.0]]


@pytest.mark.parametrize("shape", [(1, 3, 4, 5), (2, 4, 3, 3), (1, 1, 1, 1), (3, 2, 1, 7)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_matrix_matches_loop_over_positions(shape, channels_last):
    a = rand(*shape, seed=sum(shape))
    if channels_last:
        a = a.contiguous(memory_format=torch.channels_last)
    expected = gram_by_loops(a.numpy())
    g = losses.gram_matrix(a)
    assert g.shape == (shape[0], shape[1], shape[1])
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_gram_matrix_float32_channels_last_equals_contiguous():
    a = rand(2, 5, 6, 7, seed=3, dtype=torch.float32)
    g_cl = losses.gram_matrix(a.contiguous(memory_format=torch.channels_last))
    np.testing.assert_allclose(g_cl.numpy(), gram_by_loops(a.numpy()), rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(g_cl, losses.gram_matrix(a))


def test_gram_matrix_is_symmetric_positive_semidefinite():
    g = losses.gram_matrix(rand(1, 6, 3, 2, seed=5))[0]
    assert torch.equal(g, g.T)
    assert torch.linalg.eigvalsh(g).min() > -1e-10


# ----------------------------------------------------------------------- style_matrix


def flat_channels(a: torch.Tensor, sample: int) -> np.ndarray:
    """(C, H*W) for one sample: rows are channels, as numpy.cov expects by default."""
    c = a.shape[1]
    return a[sample].reshape(c, -1).numpy()


def test_style_matrix_gram_is_gram_over_positions():
    a = rand(2, 4, 3, 5, seed=1)
    expected = gram_by_loops(a.numpy()) / (3 * 5)
    np.testing.assert_allclose(losses.style_matrix(a, "gram").numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(losses.style_matrix(a).numpy(), expected, rtol=1e-12)


def test_style_matrix_gram_does_not_grow_with_image_size():
    """Tiling a picture 2x2 quadruples the raw Gram matrix but leaves the mean unchanged."""
    a = rand(1, 3, 4, 5, seed=2)
    tiled = a.repeat(1, 1, 2, 2)
    torch.testing.assert_close(losses.gram_matrix(tiled), 4 * losses.gram_matrix(a))
    torch.testing.assert_close(losses.style_matrix(tiled), losses.style_matrix(a))


@pytest.mark.parametrize("channels_last", [False, True])
def test_style_matrix_covariance_is_numpy_cov(channels_last):
    a = rand(2, 4, 5, 6, seed=4) * 3 + 1.5
    if channels_last:
        a = a.contiguous(memory_format=torch.channels_last)
    cov = losses.style_matrix(a, "covariance")
    for b in range(2):
        expected = np.cov(flat_channels(a, b), bias=True)  # the population form
        np.testing.assert_allclose(cov[b].numpy(), expected, rtol=1e-6)


def test_style_matrix_covariance_seed_004_formula():
    """c = 1/n sum (x - mean x)(y - mean y) on two channels, by hand.

    Deck 004 writes 1/(n-1); the matrix the style cost matches, and so the one ``explain``
    draws, is the population (1/n) form, which a blend of styles needs (``moments.py``).
    """
    x = [1.0, 2.0, 4.0, 7.0]
    y = [2.0, 1.0, 0.0, 5.0]
    a = torch.tensor([x, y], dtype=torch.float64).reshape(1, 2, 2, 2)
    mx, my = sum(x) / 4, sum(y) / 4
    cxy = sum((xi - mx) * (yi - my) for xi, yi in zip(x, y)) / 4
    cxx = sum((xi - mx) ** 2 for xi in x) / 4
    cov = losses.style_matrix(a, "covariance")[0]
    assert cov[0, 1].item() == pytest.approx(cxy)
    assert cov[1, 0].item() == pytest.approx(cxy)
    assert cov[0, 0].item() == pytest.approx(cxx)
    r = losses.style_matrix(a, "correlation")[0, 0, 1].item()
    cyy = sum((yi - my) ** 2 for yi in y) / 4
    assert r == pytest.approx(cxy / (cxx * cyy) ** 0.5)


def test_style_matrix_correlation_is_numpy_corrcoef():
    a = rand(2, 5, 4, 4, seed=6) * torch.arange(1, 6, dtype=torch.float64).view(1, 5, 1, 1)
    corr = losses.style_matrix(a, "correlation")
    for b in range(2):
        np.testing.assert_allclose(corr[b].numpy(), np.corrcoef(flat_channels(a, b)), rtol=1e-10)
    diag = corr.diagonal(dim1=1, dim2=2)
    torch.testing.assert_close(diag, torch.ones_like(diag))


def test_style_matrix_correlation_ignores_channel_scale_and_offset():
    a = rand(1, 3, 4, 4, seed=7)
    scaled = a * torch.tensor([2.0, 0.5, 7.0], dtype=torch.float64).view(1, 3, 1, 1) + 3.0
    torch.testing.assert_close(
        losses.style_matrix(scaled, "correlation"), losses.style_matrix(a, "correlation")
    )


def test_style_matrix_unknown_kind():
    with pytest.raises(ValueError, match="unknown style representation 'gramm'"):
        losses.style_matrix(rand(1, 2, 2, 2), "gramm")


# ----------------------------------------------------------------------------- costs


def test_content_cost_seed_is_half_squared_distance():
    n_c, n_h, n_w = 3, 4, 5
    ac = rand(1, n_c, n_h, n_w, seed=10)
    ag = rand(1, n_c, n_h, n_w, seed=11)
    c, g = ac.numpy(), ag.numpy()
    total = 0.0
    for k, i, j in itertools.product(range(n_c), range(n_h), range(n_w)):
        total += (c[0, k, i, j] - g[0, k, i, j]) ** 2
    assert losses.content_cost_seed(ac, ag).item() == pytest.approx(0.5 * total, rel=1e-12)
    assert losses.content_cost_seed(ac, ac).item() == 0.0


def test_content_cost_mse_is_mean_over_nh_nw_nc():
    n_c, n_h, n_w = 3, 4, 5
    ac = rand(1, n_c, n_h, n_w, seed=12)
    ag = rand(1, n_c, n_h, n_w, seed=13)
    total = float(((ac.numpy() - ag.numpy()) ** 2).sum())
    expected = total / (n_h * n_w * n_c)
    assert losses.content_cost_mse(ac, ag).item() == pytest.approx(expected, rel=1e-12)
    # The two content forms differ by the factor 2 / n.
    seed = losses.content_cost_seed(ac, ag).item()
    assert seed == pytest.approx(expected * n_h * n_w * n_c / 2, rel=1e-12)


def test_style_cost_seed_formula():
    """J_style^l = 1/(2 nH nW nC)^2 sum_kk' (G(S)_kk' - G(G)_kk')^2 on raw Gram matrices."""
    n_c, n_h, n_w = 4, 3, 5
    a_s = rand(1, n_c, n_h, n_w, seed=14)
    a_g = rand(1, n_c, n_h, n_w, seed=15)
    g_s, g_g = gram_by_loops(a_s.numpy()), gram_by_loops(a_g.numpy())
    squared = sum(
        (g_s[0, k, kk] - g_g[0, k, kk]) ** 2 for k, kk in itertools.product(range(n_c), repeat=2)
    )
    expected = squared / (4 * n_c**2 * (n_h * n_w) ** 2)
    cost = losses.style_cost_seed(torch.from_numpy(g_s), torch.from_numpy(g_g), a_g.shape)
    assert cost.item() == pytest.approx(expected, rel=1e-12)


def test_style_cost_seed_uses_shape_as_n_c_n_h_n_w():
    """The shape is (N, nC, nH, nW): swapping nC and nH changes the normaliser."""
    g_s = torch.eye(2, dtype=torch.float64)[None]
    g_g = torch.zeros(1, 2, 2, dtype=torch.float64)
    # ||G_S - G_G||_F^2 = 2; (2 * nH * nW * nC)^2 = (2 * 3 * 5 * 2)^2 = 3600
    assert losses.style_cost_seed(g_s, g_g, (1, 2, 3, 5)).item() == pytest.approx(2 / 3600)
    assert losses.style_cost_seed(g_s, g_g, torch.Size([1, 2, 3, 5])).item() == pytest.approx(
        2 / 3600
    )


def test_relative_cost():
    t = rand(1, 3, 4, 4, seed=16)
    c = rand(1, 3, 4, 4, seed=17)
    tn, cn = t.numpy(), c.numpy()
    expected = ((cn - tn) ** 2).sum() / (tn**2).sum()
    assert losses.relative_cost(t, c).item() == pytest.approx(expected, rel=1e-12)
    assert losses.relative_cost(t, t).item() == 0.0
    assert losses.relative_cost(t, torch.zeros_like(t)).item() == pytest.approx(1.0)
    # Dimensionless: scaling target and current together leaves it unchanged.
    assert losses.relative_cost(7 * t, 7 * c).item() == pytest.approx(expected, rel=1e-12)


def test_relative_cost_zero_target_stays_finite():
    cost = losses.relative_cost(torch.zeros(2, 2), torch.ones(2, 2))
    assert torch.isfinite(cost) and cost.item() > 0


# ------------------------------------------------------------------- total variation


def tv_by_loops(img: np.ndarray) -> float:
    """Mean squared vertical difference + mean squared horizontal difference."""
    *lead, h, w = img.shape
    flat = img.reshape(-1, h, w)
    dy = [(p[i + 1, j] - p[i, j]) ** 2 for p in flat for i in range(h - 1) for j in range(w)]
    dx = [(p[i, j + 1] - p[i, j]) ** 2 for p in flat for i in range(h) for j in range(w - 1)]
    return sum(dy) / len(dy) + sum(dx) / len(dx)


def test_total_variation_of_a_ramp():
    """I(y, x) = 0.1 x + 0.05 y: every horizontal step is 0.1 and every vertical one 0.05."""
    h, w = 6, 9
    y, x = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    img = (0.1 * x + 0.05 * y).expand(3, h, w)
    assert losses.total_variation(img).item() == pytest.approx(0.1**2 + 0.05**2, rel=1e-12)
    # A mean: a bigger ramp with the same slopes costs the same.
    big = (0.1 * torch.arange(30.0) + 0.05 * torch.arange(20.0)[:, None]).expand(1, 3, 20, 30)
    assert losses.total_variation(big).item() == pytest.approx(0.0125, rel=1e-5)


def test_total_variation_of_constant_image_is_zero():
    assert losses.total_variation(torch.full((1, 3, 5, 7), 0.3)).item() == 0.0
    assert losses.total_variation(torch.full((3, 5, 7), 0.8)).item() == 0.0


def test_total_variation_matches_loops_and_accepts_chw():
    img = torch.rand(2, 3, 5, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert losses.total_variation(img).item() == pytest.approx(tv_by_loops(img.numpy()), rel=1e-12)
    one = img[:1]
    assert losses.total_variation(one[0]).item() == pytest.approx(
        losses.total_variation(one).item(), rel=1e-12
    )


# ------------------------------------------------------------------------- gradients


def _req(t: torch.Tensor) -> torch.Tensor:
    return t.clone().requires_grad_(True)


@pytest.mark.parametrize(
    ("name", "fn", "make"),
    [
        ("gram", losses.gram_matrix, lambda: (rand(1, 3, 2, 3, seed=20),)),
        ("style gram", lambda a: losses.style_matrix(a, "gram"), lambda: (rand(1, 3, 2, 3),)),
        (
            "style covariance",
            lambda a: losses.style_matrix(a, "covariance"),
            lambda: (rand(1, 3, 2, 3, seed=21),),
        ),
        (
            "style correlation",
            lambda a: losses.style_matrix(a, "correlation"),
            lambda: (rand(1, 3, 2, 3, seed=22),),
        ),
        (
            "content seed",
            losses.content_cost_seed,
            lambda: (rand(1, 2, 3, 3, seed=23), rand(1, 2, 3, 3, seed=24)),
        ),
        (
            "content mse",
            losses.content_cost_mse,
            lambda: (rand(1, 2, 3, 3, seed=25), rand(1, 2, 3, 3, seed=26)),
        ),
        (
            "style seed",
            lambda s, g: losses.style_cost_seed(s, g, (1, 3, 2, 2)),
            lambda: (rand(1, 3, 3, seed=27), rand(1, 3, 3, seed=28)),
        ),
        (
            "relative",
            losses.relative_cost,
            lambda: (rand(1, 2, 3, 3, seed=29), rand(1, 2, 3, 3, seed=30)),
        ),
        ("total variation", losses.total_variation, lambda: (rand(1, 3, 4, 5, seed=31),)),
    ],
)
def test_gradcheck(name, fn, make):
    inputs = tuple(_req(t) for t in make())
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6), name


def test_gradient_of_seed_content_cost_is_difference():
    """d/dG 1/2 ||C - G||^2 = G - C: the image is pulled towards the content."""
    c = rand(1, 2, 3, 3, seed=40)
    g = _req(rand(1, 2, 3, 3, seed=41))
    losses.content_cost_seed(c, g).backward()
    torch.testing.assert_close(g.grad, (g - c).detach())


def test_gram_gradient_through_channels_last_activation():
    """The autograd path of the channels-last view gives the analytic gradient 2 a^T-ish."""
    a = _req(rand(1, 3, 2, 2, seed=42).contiguous(memory_format=torch.channels_last))
    losses.gram_matrix(a).sum().backward()
    # d/da_k(p) sum_{k,k'} sum_p a_k(p) a_k'(p) = 2 sum_k' a_k'(p)
    expected = 2 * a.detach().sum(dim=1, keepdim=True).expand_as(a)
    torch.testing.assert_close(a.grad, expected)
