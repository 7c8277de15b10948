"""Keeping the content's colours: the colour maths on small tensors, then --preserve-color
through stylize() and the CLI with the tiny random network, and once with the real store.

The pipeline tests paint a warm (orange) content with a cold (blue) style: a mode that keeps
the content's colours gives a picture whose chroma statistics (mean and spread of U and V) sit
at the content's, far from the style's; plain style transfer (``none``) pulls them the other way.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import EXAMPLES, picture
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.engine import pyramid
from impasto.engine.progress import Cancelled, Progress
from impasto.errors import ConfigError
from impasto.io.images import load_image
from impasto.ops import color
from impasto.ops.resize import output_size, resize_to

MODES = ("luminance", "histogram", "yuv")
LAYERS = {"content_layers": ("relu2_2",), "style_layers": ("relu1_1", "relu2_1", "relu3_1")}


def random_image(*shape: int, seed: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def tinted(image: torch.Tensor, rgb: tuple[float, float, float]) -> torch.Tensor:
    """The picture's brightness pattern in one hue, with a little of its own colour left."""
    hue = torch.tensor(rgb, dtype=image.dtype).view(3, 1, 1)
    return (0.3 * image + 1.1 * color.luminance(image) * hue).clamp(0, 1)


def chroma_stats(rgb: torch.Tensor) -> torch.Tensor:
    """Mean and standard deviation of U and V: four numbers that describe the colours."""
    uv = color.rgb_to_yuv(rgb.double())[1:].reshape(2, -1)
    return torch.cat([uv.mean(1), uv.std(1)])


def chroma_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((chroma_stats(a) - chroma_stats(b)).norm())


def mean_cov(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = image.reshape(3, -1).double()
    return pixels.mean(1), torch.cov(pixels, correction=0)


# --------------------------------------------------------------------------- YUV


def test_rgb_yuv_round_trip():
    rgb = random_image(3, 5, 7, seed=0)
    yuv = color.rgb_to_yuv(rgb)
    torch.testing.assert_close(color.yuv_to_rgb(yuv), rgb, rtol=0, atol=1e-12)
    rgb32 = rgb.float()
    torch.testing.assert_close(color.yuv_to_rgb(color.rgb_to_yuv(rgb32)), rgb32, rtol=0, atol=1e-6)


def test_yuv_of_known_colours():
    # columns: black, white, mid grey, red, green, blue
    rgb = torch.tensor(
        [[0, 1, 0.5, 1, 0, 0], [0, 1, 0.5, 0, 1, 0], [0, 1, 0.5, 0, 0, 1]], dtype=torch.float64
    ).view(3, 1, 6)
    y, u, v = color.rgb_to_yuv(rgb)[:, 0]
    torch.testing.assert_close(y, torch.tensor([0, 1, 0.5, 0.299, 0.587, 0.114]).double())
    torch.testing.assert_close(u[:3], torch.zeros(3).double(), rtol=0, atol=1e-12)  # greys
    torch.testing.assert_close(v[:3], torch.zeros(3).double(), rtol=0, atol=1e-12)
    assert u[5].item() == pytest.approx(0.436) and v[3].item() == pytest.approx(0.615)
    assert color.luminance(rgb).shape == (1, 1, 6)
    grey = color.grey(rgb)
    assert grey.shape == rgb.shape
    assert torch.equal(grey[0], grey[1]) and torch.equal(grey[1], grey[2])
    torch.testing.assert_close(color.luminance(grey), color.luminance(rgb))


# -------------------------------------------------------------------- matching


def test_match_luminance_gives_the_contents_mean_and_spread():
    content = random_image(3, 9, 11, seed=1) * 0.5 + 0.4  # bright, narrow
    style = random_image(3, 7, 6, seed=2) * 0.9  # darker, wider
    y = color.match_luminance(style, content)
    y_c = color.luminance(content)
    assert y.shape == (1, 7, 6)
    assert y.mean().item() == pytest.approx(y_c.mean().item(), abs=1e-9)
    assert y.std().item() == pytest.approx(y_c.std().item(), abs=1e-9)
    # A linear map of the style's own luminance: the pattern is kept.
    corr = np.corrcoef(y.flatten().numpy(), color.luminance(style).flatten().numpy())[0, 1]
    assert corr == pytest.approx(1.0)


def test_match_color_gives_the_contents_mean_and_covariance():
    g = torch.Generator().manual_seed(3)
    mix = torch.tensor([[1.0, 0.4, 0.1], [0.2, 0.8, 0.3], [0.0, 0.5, 0.6]], dtype=torch.float64)
    content = (mix @ torch.rand(3, 120, generator=g, dtype=torch.float64)).view(3, 10, 12) * 0.6
    style = torch.rand(3, 9, 8, generator=g, dtype=torch.float64) ** 2
    mu_c, cov_c = mean_cov(content)
    assert (mean_cov(style)[1] - cov_c).abs().max() > 0.01  # they really differ
    moved = color.match_color(style, content)
    mu, cov = mean_cov(moved)
    assert moved.shape == style.shape
    torch.testing.assert_close(mu, mu_c, rtol=0, atol=1e-4)
    torch.testing.assert_close(cov, cov_c, rtol=0, atol=1e-4)
    # Float32 pictures too.
    mu32, cov32 = mean_cov(color.match_color(style.float(), content.float()))
    torch.testing.assert_close(mu32, mu_c, rtol=0, atol=1e-4)
    torch.testing.assert_close(cov32, cov_c, rtol=0, atol=1e-4)


def test_match_color_does_not_depend_on_channel_order():
    """The reason for the symmetric square root over Cholesky (see match_color)."""
    content = random_image(3, 8, 8, seed=4) ** 3
    style = random_image(3, 6, 9, seed=5)
    expected = color.match_color(style, content)
    for order in itertools.permutations(range(3)):
        p = list(order)
        torch.testing.assert_close(color.match_color(style[p], content[p]), expected[p])


def test_match_color_with_a_grey_style_stays_finite():
    style = color.grey(random_image(3, 6, 6, seed=6))  # no spread in U and V at all
    content = random_image(3, 6, 6, seed=7)
    moved = color.match_color(style, content)
    assert torch.isfinite(moved).all()
    torch.testing.assert_close(mean_cov(moved)[0], mean_cov(content)[0])


# ------------------------------------------------------------------ recombination


def test_combine_keeps_y_of_one_and_uv_of_the_other():
    # Colours near mid grey, so that no recombined pixel leaves the RGB cube (no clamping).
    luma = 0.3 + 0.4 * random_image(3, 6, 8, seed=8)
    chroma = 0.4 + 0.2 * random_image(3, 6, 8, seed=9)
    out = color.combine(luma, chroma)
    yuv = color.rgb_to_yuv(out)
    torch.testing.assert_close(yuv[:1], color.luminance(luma))
    torch.testing.assert_close(yuv[1:], color.rgb_to_yuv(chroma)[1:])


def test_combine_resizes_the_chroma_and_clamps():
    luma = random_image(3, 6, 8, seed=10)
    chroma = tinted(random_image(3, 12, 16, seed=11), (1.0, 0.2, 0.0))  # saturated
    out = color.combine(luma, chroma)
    assert out.shape == (3, 6, 8)
    assert out.min() >= 0 and out.max() <= 1


def test_prepare_and_finish_per_mode():
    content = random_image(3, 10, 12, seed=12).float() * 0.5 + 0.3
    styles = [random_image(3, 8, 8, seed=13).float() * 0.8, random_image(3, 9, 7, seed=14).float()]
    init = random_image(3, 5, 5, seed=15).float()

    c, s, i = color.prepare("luminance", content, styles, init)
    for picture_ in (c, *s, i):
        assert torch.equal(picture_[0], picture_[1]) and torch.equal(picture_[1], picture_[2])
    torch.testing.assert_close(c, color.grey(content))
    torch.testing.assert_close(i, color.grey(init))
    y_c = color.luminance(content)
    for grey_style in s:  # stays in 0..1 here, so the match is exact
        assert grey_style[0].mean().item() == pytest.approx(y_c.mean().item(), abs=1e-5)
        assert grey_style[0].std().item() == pytest.approx(y_c.std().item(), abs=1e-5)

    c, s, i = color.prepare("histogram", content, styles, init)
    assert c is content and i is init
    for moved in s:
        assert moved.min() >= 0 and moved.max() <= 1
        torch.testing.assert_close(mean_cov(moved)[0], mean_cov(content)[0], rtol=0, atol=0.02)

    for mode in ("none", "yuv"):
        c, s, i = color.prepare(mode, content, styles, init)
        assert c is content and i is init and all(a is b for a, b in zip(s, styles))

    result = random_image(3, 5, 6, seed=16).float()
    assert color.finish("none", result, content) is result
    assert color.finish("histogram", result, content) is result
    for mode in ("luminance", "yuv"):
        expected = color.combine(result, content)
        torch.testing.assert_close(color.finish(mode, result, content), expected)


# ---------------------------------------------------------------- through stylize()


@pytest.fixture
def warm() -> torch.Tensor:
    return tinted(picture(30, 45, seed=1), (1.0, 0.55, 0.2))


@pytest.fixture
def cold() -> torch.Tensor:
    return tinted(picture(40, 32, seed=2), (0.2, 0.45, 1.0))


COLOR_RUN = {"size": 48, "min_size": 32, "iterations": 10, **LAYERS}


@pytest.mark.parametrize("mode", MODES)
def test_mode_keeps_the_contents_colours(tiny_network, warm, cold, mode):
    assert chroma_distance(warm, cold) > 0.3  # measured 0.41
    out = pyramid.stylize(warm, cold, StyleConfig(**COLOR_RUN, preserve_color=mode))
    assert out.shape == (3, *output_size(30, 45, 48))
    assert out.min() >= 0 and out.max() <= 1
    to_content, to_style = chroma_distance(out, warm), chroma_distance(out, cold)
    assert to_content < 0.1 * to_style, (to_content, to_style)  # measured < 0.01 vs 0.41
    # It still painted: the brightness is not simply the content's.
    y_out = color.luminance(out)
    assert (y_out - color.luminance(resize_to(warm, *out.shape[-2:]))).abs().mean() > 0.01


def test_none_lets_the_style_recolour(tiny_network, warm, cold):
    """The control: without preserve_color the same run moves the colours towards the style's."""
    out = pyramid.stylize(warm, cold, StyleConfig(**COLOR_RUN))
    to_content, to_style = chroma_distance(out, warm), chroma_distance(out, cold)
    assert to_style < to_content, (to_content, to_style)  # measured 0.20 vs 0.29
    assert to_content > 0.1


def test_luminance_progress_and_interrupt_show_the_recoloured_picture(tiny_network, warm, cold):
    config = StyleConfig(**COLOR_RUN, preserve_color="luminance", init="recolor")
    records: list[Progress] = []

    def progress(p: Progress) -> None:
        p.snapshot = p.image()
        records.append(p)
        if p.step == 15:  # into the second scale
            raise KeyboardInterrupt

    with pytest.raises(Cancelled) as info:
        pyramid.stylize(warm, cold, config, progress=progress)
    first = records[0].snapshot  # the start: the content, grey then recoloured: itself
    torch.testing.assert_close(first, resize_to(warm, *first.shape[-2:]), rtol=0, atol=0.02)
    for p in records:
        assert p.snapshot.shape == (3, *p.size)
        assert chroma_distance(p.snapshot, warm) < 0.02
    image = info.value.image
    assert image.shape == (3, *output_size(30, 45, 48))
    assert chroma_distance(image, warm) < 0.02 < 0.3 < chroma_distance(image, cold)


def test_luminance_turns_the_init_image_grey(tiny_network, warm, cold, monkeypatch):
    seen: list[torch.Tensor] = []
    core = pyramid._Painting.__call__

    def spy(self, content, styles, init_image):
        seen.append(init_image)
        return core(self, content, styles, init_image)

    monkeypatch.setattr(pyramid._Painting, "__call__", spy)
    init = tinted(picture(20, 30, seed=9), (0.1, 1.0, 0.3))  # green
    config = StyleConfig(schedule="40:0", **LAYERS, preserve_color="luminance")
    out = pyramid.stylize(warm, cold, config, init_image=init)
    torch.testing.assert_close(seen[0], color.grey(init))  # the optimisation starts grey
    # No iterations: the init's brightness with the content's colours.
    hw = output_size(30, 45, 40)
    expected = color.combine(resize_to(color.grey(init), *hw), resize_to(warm, *hw))
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


def test_unknown_mode_is_refused():
    with pytest.raises(ConfigError, match=r"preserve_color must be one of none, luminance, "):
        StyleConfig(preserve_color="sepia")


# ----------------------------------------------------------------------------- the CLI


def write(path: Path, rgb: torch.Tensor, mode: str = "RGB") -> Path:
    pixels = (rgb.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    if mode == "RGBA":  # left half transparent
        alpha = np.full(pixels.shape[:2] + (1,), 255, np.uint8)
        alpha[:, : pixels.shape[1] // 2] = 0
        pixels = np.concatenate([pixels, alpha], axis=2)
    Image.fromarray(pixels, mode).save(path)
    return path


def test_cli_option_with_alpha(tiny_network, warm, cold, tmp_path, capsys):
    content = write(tmp_path / "warm.png", warm, "RGBA")
    style = write(tmp_path / "cold.png", cold)
    out = tmp_path / "out.png"
    argv = [content, style, "-o", out, "--size", "48", "--min-size", "32", "--iterations", "4"]
    code = main([str(a) for a in argv] + ["--preserve-color", "histogram", "-q"])
    assert code == 0, capsys.readouterr().err
    with Image.open(out) as im:
        assert im.mode == "RGBA" and im.size == (48, 32)
        alpha = np.asarray(im)[..., 3]
    assert alpha[:, :22].max() < 20 and alpha[:, 26:].min() > 235
    result = load_image(out).rgb
    assert chroma_distance(result, warm) < 0.1 * chroma_distance(result, cold)


def test_cli_refuses_an_unknown_mode(tiny_network, tmp_path, capsys):
    code = main(["a.png", "b.png", "--preserve-color", "sepia"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--preserve-color" in err and "must be one of" in err and "'sepia'" in err, err
    assert "luminance" in err


# ------------------------------------------------------------------ real weights, once


@pytest.mark.weights
def test_luminance_with_real_weights(tmp_path, capsys):
    content = EXAMPLES / "tubingen.jpg"
    style = EXAMPLES / "starry_night.jpg"
    out = tmp_path / "tubingen_starry_luminance.png"
    argv = [content, style, "-o", out, "--size", "128", "--min-size", "96", "--iterations", "8"]
    code = main([str(a) for a in argv] + ["--preserve-color", "luminance", "--threads", "1"])
    assert code == 0, capsys.readouterr().err
    assert out.is_file()
    result = load_image(out).rgb
    assert result.shape == (3, 96, 128)
    photo = resize_to(load_image(content).rgb, 96, 128)
    painting = load_image(style).rgb
    to_content, to_style = chroma_distance(result, photo), chroma_distance(result, painting)
    assert to_content < 0.2 * to_style, (to_content, to_style)
    # Painted, not copied: the brightness changed.
    assert (color.luminance(result) - color.luminance(photo)).abs().mean() > 0.02
