"""Region masks: reading what users draw (greyscale, colour maps, one file per style), soft edges,
clear errors, and what the picture looks like: unstyled parts stay the photo, each region takes
its own style. The pipeline tests use the tiny random network; one CLI run uses the real store.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.engine import pyramid
from impasto.engine.progress import Cancelled, Progress
from impasto.errors import ConfigError, ImageError
from impasto.io.images import load_image
from impasto.io.masks import load_masks
from impasto.ops import masks as ops_masks
from impasto.ops.resize import resize_to

RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
BLACK, WHITE, GREY = (0, 0, 0), (255, 255, 255), (128, 128, 128)


def save(path: Path, pixels: np.ndarray, **options) -> Path:
    """Write (H, W) or (H, W, C) uint8 pixels; the mode follows from the channels."""
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(path, **options)
    return path


def stripes(colours, height: int = 30, width_each: int = 20) -> np.ndarray:
    """Vertical stripes of the given RGB colours, left to right: (H, W, 3) uint8."""
    return np.concatenate(
        [np.broadcast_to(np.array(c, np.uint8), (height, width_each, 3)) for c in colours], 1
    )


def picture(h: int, w: int, seed: int, tint=(1.0, 1.0, 1.0)) -> torch.Tensor:
    """A smooth random picture (3, h, w) in 0..1, optionally tinted."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, max(2, h // 6), max(2, w // 6), generator=g)
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear")
    rgb = (0.8 * smooth + 0.2 * torch.rand(1, 3, h, w, generator=g))[0]
    return (rgb * torch.tensor(tint)[:, None, None]).clamp(0, 1)


# ------------------------------------------------------------------------- reading masks


def test_colour_map_pixels_go_to_the_nearest_palette_colour():
    # A red and a green that a JPEG or an antialiased brush would make, black, white, a grey.
    rgb = torch.tensor(
        [[0.85, 0.1, 0.12], [0.1, 0.8, 0.2], [0.05, 0.0, 0.1], [0.95, 1.0, 0.9], [0.5, 0.5, 0.5]]
    ).T[:, None, :]  # (3, 1, 5)
    labels = ops_masks.colour_labels(rgb, n_styles=2)
    assert labels.shape == (2, 1, 5)
    assert labels[0, 0].tolist() == [1, 0, 0, 0, 0]  # style 1: red
    assert labels[1, 0].tolist() == [0, 1, 0, 0, 0]  # style 2: green
    # black, white and grey keep the content


def test_palette_order_is_the_documented_one():
    names = [name for name, _ in ops_masks.PALETTE]
    assert names == ["red", "green", "blue", "yellow", "cyan", "magenta"]
    pixels = stripes([RED, GREEN, BLUE, YELLOW, (0, 255, 255), (255, 0, 255)], 1, 1)
    rgb = torch.from_numpy(pixels).permute(2, 0, 1).float() / 255
    assert torch.equal(ops_masks.colour_labels(rgb, 6)[:, 0], torch.eye(6))


def test_jpeg_colour_map_labels_its_regions(tmp_path):
    path = save(tmp_path / "map.jpg", stripes([RED, BLACK, GREEN, WHITE]), quality=70)
    masks = load_masks(path, 2, (30, 80), softness=0)
    assert masks.shape == (2, 30, 80)
    middle = masks[:, 15]  # one row: stripes of 20 px, judged away from their edges
    assert masks.min() == 0 and masks.max() == 1
    assert middle[0, 3:17].eq(1).all() and middle[0, 23:].eq(0).all()
    assert middle[1, 43:57].eq(1).all() and middle[1, :37].eq(0).all()
    assert middle[:, 63:].eq(0).all()  # white: unstyled


@pytest.mark.parametrize("kind", ["L", "LA", "RGB", "RGB jpeg"])
def test_greyscale_files_are_recognised_as_such(tmp_path, kind):
    grey = np.tile(np.linspace(0, 255, 40).astype(np.uint8), (30, 1))
    if kind == "L":
        path = save(tmp_path / "m.png", grey)
    elif kind == "LA":
        path = save(tmp_path / "m.png", np.stack([grey, np.full_like(grey, 255)], -1))
    else:
        rgb = np.repeat(grey[..., None], 3, -1)
        path = save(tmp_path / ("m.jpg" if "jpeg" in kind else "m.png"), rgb, quality=60)
    assert ops_masks.is_greyscale(load_image(path).rgb)
    masks = load_masks(path, 3, (30, 40), softness=0)
    assert masks.shape == (1, 30, 40)  # one mask: the blend of all three styles
    torch.testing.assert_close(masks[0, 0], torch.linspace(0, 1, 40), atol=0.03, rtol=0)


def test_a_colour_map_is_not_greyscale(tmp_path):
    path = save(tmp_path / "map.png", stripes([BLACK, RED]))
    assert not ops_masks.is_greyscale(load_image(path).rgb)


def test_one_greyscale_file_per_style(tmp_path):
    left = np.zeros((30, 40), np.uint8)
    left[:, :20] = 255
    paths = [save(tmp_path / "a.png", left), save(tmp_path / "b.png", 255 - left)]
    masks = load_masks(paths, 2, (30, 40), softness=0)
    assert masks.shape == (2, 30, 40)
    assert masks[0, :, :20].eq(1).all() and masks[0, :, 20:].eq(0).all()
    assert masks[1, :, 20:].eq(1).all() and masks[1, :, :20].eq(0).all()


def test_transparent_pixels_are_unstyled(tmp_path):
    pixels = np.full((30, 40, 2), 255, np.uint8)
    pixels[:, :20, 1] = 0  # left half transparent, white underneath
    masks = load_masks(save(tmp_path / "m.png", pixels), 1, (30, 40), softness=0)
    assert masks[0, :, :20].eq(0).all() and masks[0, :, 20:].eq(1).all()


# -------------------------------------------------------------------------- soft edges


def test_blur_keeps_sums_at_most_one_and_makes_edges_soft(tmp_path):
    a = np.zeros((60, 80), np.uint8)
    a[:, :50] = 255
    b = np.zeros((60, 80), np.uint8)
    b[:, 30:] = 255  # overlaps a in columns 30..49: the sum there would be 2
    masks = load_masks([save(tmp_path / "a.png", a), save(tmp_path / "b.png", b)], 2, (60, 80))
    assert float(masks.sum(0).max()) <= 1 + 1e-6
    assert masks.min() >= 0
    # The left edge of b (column 30) is soft: values strictly between 0 and 1 on either side...
    row = masks[1, 30]
    assert 0 < row[28] < row[29] < row[30] < row[31] < 1
    # ... and far from any edge the masks are untouched.
    assert float(masks[0, :, :20].min()) > 0.999 and float(masks[1, :, :20].max()) < 1e-3


def test_sigma_is_a_share_of_the_long_side():
    step = torch.zeros(1, 50, 400)
    step[:, :, 200:] = 1
    soft = ops_masks.soften(step, 0.01 * 400, (50, 400))[0, 25]
    # A Gaussian of sigma 4 px: 0.5 at the edge, ~0.16 and ~0.84 one sigma away.
    assert abs(float(soft[196]) - 0.16) < 0.04 and abs(float(soft[203]) - 0.84) < 0.04
    assert float(soft[185]) < 0.01 and float(soft[215]) > 0.99


def test_wide_blur_at_reduced_size_matches_the_direct_blur():
    g = torch.Generator().manual_seed(0)
    masks = (torch.rand(2, 12, 16, generator=g) > 0.5).float()
    masks = torch.nn.functional.interpolate(masks[None], size=(120, 160), mode="nearest")[0]
    direct = ops_masks.gaussian_blur(masks, 9.0)
    error = (ops_masks.soften(masks, 9.0, (120, 160)) - direct).abs()
    assert error[:, 5:-5, 5:-5].max() < 0.03 and error.max() < 0.05  # the corners differ most


# ------------------------------------------------------------------------------ errors


def test_wrong_number_of_files(tmp_path):
    paths = [save(tmp_path / f"{i}.png", np.zeros((30, 40), np.uint8)) for i in range(2)]
    with pytest.raises(ConfigError, match="2 mask files given for 3 style images"):
        load_masks(paths, 3, (30, 40))
    with pytest.raises(ConfigError, match="no mask file"):
        load_masks([], 1, (30, 40))


def test_a_colour_map_among_several_files_is_refused(tmp_path):
    grey = save(tmp_path / "grey.png", np.zeros((30, 40), np.uint8))
    colour = save(tmp_path / "colour.png", stripes([RED, GREEN]))
    with pytest.raises(ImageError, match=r"colour\.png: a colour map must be the only"):
        load_masks([grey, colour], 2, (30, 40))


def test_colour_of_a_style_that_is_not_given(tmp_path):
    path = save(tmp_path / "map.png", stripes([RED, GREEN, YELLOW]))
    with pytest.raises(ConfigError, match=r"map\.png: yellow .* style 4, but only 2 style"):
        load_masks(path, 2, (30, 60))


def test_edge_blends_of_other_colours_are_tolerated(tmp_path):
    # Red meeting green through a seam of olive (nearer yellow than red or green, as a blend
    # in linear light would be): not a "style 4" region, however long the seam.
    pixels = stripes([RED, GREEN], 30, 10)
    pixels[:, 9:11] = (180, 180, 0)
    masks = load_masks(save(tmp_path / "map.png", pixels), 2, (30, 20), softness=0)
    assert masks.sum(0).eq(1).all()  # each seam pixel goes to red or green


def test_more_styles_than_the_palette_has(tmp_path):
    path = save(tmp_path / "map.png", stripes([RED, GREEN]))
    with pytest.raises(ConfigError, match="at most 6 styles, but 7"):
        load_masks(path, 7, (30, 40))


def test_aspect_ratio_must_match_the_content(tmp_path):
    path = save(tmp_path / "square.png", np.zeros((40, 40), np.uint8))
    with pytest.raises(ImageError) as info:
        load_masks(path, 1, (300, 400))
    message = str(info.value)
    assert "square.png" in message and "40x40" in message and "400x300" in message
    assert "\n" not in message
    # Within 2%: resized to the content's size.
    near = save(tmp_path / "near.png", np.full((31, 41), 255, np.uint8))
    assert load_masks(near, 1, (300, 400)).shape == (1, 300, 400)


def test_unreadable_file_is_named(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_text("not a picture")
    with pytest.raises(ImageError, match=r"junk\.png"):
        load_masks(junk, 1, (30, 40))


def test_load_masks_is_part_of_the_api():
    import impasto

    assert impasto.load_masks is load_masks


# ----------------------------------------------------------------- what the picture shows

FAST = StyleConfig(size=48, min_size=32, iterations=15)
H, W = 36, 48


def left_right_change(result: torch.Tensor, content: torch.Tensor) -> tuple[float, float]:
    """Mean absolute difference from the content in the left and in the right half."""
    diff = (result - resize_to(content, *result.shape[-2:])).abs().mean(0)
    half = diff.shape[1] // 2
    return float(diff[:, :half].mean()), float(diff[:, half:].mean())


def test_unstyled_half_stays_the_content(tiny_network, tmp_path):
    content = picture(H, W, seed=1)
    style = picture(40, 40, seed=2, tint=(0.2, 0.3, 1.0))
    mask = np.full((H, W), 255, np.uint8)
    mask[:, : W // 2] = 0  # left half: "no style"
    masks = load_masks(save(tmp_path / "mask.png", mask), 1, (H, W))
    plain = left_right_change(pyramid.stylize(content, style, FAST), content)
    masked = left_right_change(pyramid.stylize(content, style, FAST, masks=masks), content)
    assert plain[0] > 0.05 and plain[1] > 0.05, plain  # without a mask both halves change
    assert masked[1] > 0.05, masked
    assert masked[0] < masked[1] / 20, masked  # with it, the left half keeps the content


def test_grey_mask_paints_partly(tiny_network):
    content = picture(H, W, seed=1)
    style = picture(40, 40, seed=2, tint=(0.2, 0.3, 1.0))
    full = pyramid.stylize(content, style, FAST, masks=torch.ones(1, H, W))
    half = pyramid.stylize(content, style, FAST, masks=torch.full((1, H, W), 0.5))
    full_change = (full - content).abs().mean()
    half_change = (half - content).abs().mean()
    assert 0.3 * full_change < half_change < 0.7 * full_change


def tilt(rgb: torch.Tensor) -> torch.Tensor:
    """Mean blue minus mean red of (3, H, W): positive is bluer."""
    return rgb[2].mean() - rgb[0].mean()


def test_each_region_of_a_colour_map_takes_its_own_style(tiny_network, tmp_path):
    content = picture(H, W, seed=1) * 0.5 + 0.25
    blue = picture(40, 40, seed=2, tint=(0.2, 0.3, 1.0))
    red = picture(40, 40, seed=3, tint=(1.0, 0.3, 0.2))
    path = save(tmp_path / "map.png", stripes([RED, GREEN], H, W // 2))
    masks = load_masks(path, 2, (H, W))

    # Start from the content itself (a recoloured start would tilt the halves by itself), with
    # steps on raw pixels: in 15 steps at 48 px the Fourier basis leaves the halves' tilts
    # unequal (0.01 and 0.14) though both go the same way.
    config = dataclasses.replace(FAST, init="content", smooth_steps=0)

    def tilts(masks):
        result = pyramid.stylize(content, [blue, red], config, masks=masks)
        left, right = slice(0, W // 2), slice(W // 2, W)
        return [float(tilt(result[:, :, s]) - tilt(content[:, :, s])) for s in (left, right)]

    left, right = tilts(masks)
    assert left > 0 > right and left - right > 0.15, (left, right)  # measured 0.08, -0.24
    # Blended everywhere (no map), both halves go the same way.
    left, right = tilts(None)
    assert abs(left - right) < 0.05, (left, right)


def test_interrupted_picture_keeps_the_content_where_unstyled(tiny_network):
    content = picture(H, W, seed=1)
    style = picture(40, 40, seed=2, tint=(0.2, 0.3, 1.0))
    masks = torch.ones(1, H, W)
    masks[:, :, : W // 2] = 0

    def interrupt(p: Progress) -> None:
        if p.step == 5:
            raise KeyboardInterrupt

    with pytest.raises(Cancelled) as info:
        pyramid.stylize(content, style, FAST, masks=masks, progress=interrupt)
    left, right = left_right_change(info.value.image, content)
    assert left < 0.002 and right > 0.02, (left, right)


# ------------------------------------------------------------------------------ the CLI


def cli_pics(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    (tmp_path / "out").mkdir()
    return {
        "content": save(tmp_path / "content.png", rng.integers(0, 256, (30, 40, 3))),
        "style": save(tmp_path / "style.png", rng.integers(0, 256, (32, 32, 3))),
        "style2": save(tmp_path / "style2.png", rng.integers(0, 256, (32, 32, 3))),
        "out": tmp_path / "out",
    }


CLI_FAST = ["--size", "40", "--min-size", "0", "--iterations", "3", "-q"]


def test_cli_mask_reaches_stylize(tiny_network, tmp_path, monkeypatch, capsys):
    pics = cli_pics(tmp_path)
    seen = {}
    real = pyramid.paint

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(pyramid, "paint", spy)
    mask = save(tmp_path / "mask.png", np.full((15, 20), 255, np.uint8))  # half size: resized
    out = pics["out"] / "r.png"
    code = main([str(a) for a in (pics["content"], pics["style"], "--mask", mask, "-o", out)])
    assert code == 0, capsys.readouterr().err
    assert seen["masks"].shape == (1, 30, 40) and out.is_file()


def test_cli_colour_map_for_two_styles(tiny_network, tmp_path, monkeypatch, capsys):
    pics = cli_pics(tmp_path)
    path = save(tmp_path / "map.png", stripes([RED, GREEN], 30, 20))
    out = pics["out"] / "r.png"
    argv = [pics["content"], pics["style"], pics["style2"], "--mask", path, "-o", out]
    assert main([str(a) for a in argv + CLI_FAST]) == 0, capsys.readouterr().err
    assert Image.open(out).size == (40, 30)


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("missing", ["nope.png", "not found"]),
        ("aspect", ["square.png", "10x10", "40x30"]),
        ("count", ["2 mask files given for 1 style image;"]),
        ("colour", ["map.png", "yellow", "style 4"]),
        ("seed", ["--mask", "--loss-form seed"]),
        ("black", ["black.png", "black everywhere", "nothing would be painted"]),
    ],
)
def test_cli_bad_mask_is_one_line_exit_2_nothing_written(
    case, fragments, tiny_network, tmp_path, capsys
):
    pics = cli_pics(tmp_path)
    square = save(tmp_path / "square.png", np.zeros((10, 10), np.uint8))
    colour = save(tmp_path / "map.png", stripes([RED, YELLOW], 30, 20))
    black = save(tmp_path / "black.png", np.zeros((30, 40), np.uint8))  # an inverted mask
    masks = {
        "missing": [tmp_path / "nope.png"],
        "aspect": [square],
        "count": [square, square],
        "colour": [colour],
        "seed": [square, "--loss-form", "seed"],
        "black": [black],
    }[case]
    before = sorted(tmp_path.rglob("*"))
    out = pics["out"] / "r.png"
    code = main([str(a) for a in (pics["content"], pics["style"], "-o", out, "--mask", *masks)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("impasto: error:"), captured.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert sorted(tmp_path.rglob("*")) == before
    assert tiny_network == []  # refused before the network loads


def test_cli_help_describes_masks(capsys):
    assert main(["--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--mask FILE [FILE ...]" in text
    assert "1 red, 2 green, 3 blue, 4 yellow, 5 cyan, 6 magenta" in text


# ------------------------------------------------------------------------ real weights

TUBINGEN = Path(__file__).resolve().parents[1] / "examples" / "tubingen.jpg"
STARRY = Path(__file__).resolve().parents[1] / "examples" / "starry_night.jpg"


@pytest.mark.weights
def test_cli_with_real_weights_keeps_the_unstyled_half(tmp_path, capsys):
    mask = np.full((768, 1024), 255, np.uint8)
    mask[384:] = 0  # the lower half (river and bank) stays the photo
    mask_path = save(tmp_path / "lower.png", mask)
    out = tmp_path / "out.png"
    argv = [TUBINGEN, STARRY, "--mask", mask_path, "-o", out, "--size", 128, "--iterations", 5]
    code = main([str(a) for a in [*argv, "-q"]])
    assert code == 0, capsys.readouterr().err
    result = torch.from_numpy(np.array(Image.open(out).convert("RGB"))).permute(2, 0, 1)
    result = result.float() / 255
    content = resize_to(load_image(TUBINGEN).rgb, *result.shape[-2:])
    diff = (result - content).abs().mean(0)
    assert result.shape[-2:] == (96, 128)
    top, bottom = float(diff[:40].mean()), float(diff[56:].mean())  # away from the seam
    assert bottom < 0.01 and top > 0.05, (top, bottom)


def test_recolor_start_gives_each_region_its_paintings_colours():
    from impasto.config import StyleConfig
    from impasto.engine.pyramid import initial_image
    from impasto.ops.color import match_color

    content = torch.rand(3, 8, 12, generator=torch.Generator().manual_seed(0))
    red = torch.zeros(3, 6, 6)
    red[0] = torch.linspace(0.5, 1, 36).reshape(6, 6)
    blue = torch.zeros(3, 6, 6)
    blue[2] = torch.linspace(0.2, 0.6, 36).reshape(6, 6)
    masks = torch.zeros(2, 8, 12)
    masks[0, :, :4] = 1  # left: red; right: blue; the middle third: no style
    masks[1, :, 8:] = 1
    start = initial_image(
        StyleConfig(init="recolor"), content, None, [red, blue], [[1.0, 0.0], [0.0, 1.0]], masks
    )
    torch.testing.assert_close(start[:, :, 4:8], content[:, :, 4:8])
    torch.testing.assert_close(start[:, :, :4], match_color(content, red).clamp(0, 1)[:, :, :4])
    torch.testing.assert_close(start[:, :, 8:], match_color(content, blue).clamp(0, 1)[:, :, 8:])
    assert start[0, :, :4].mean() > 0.5 and start[2, :, 8:].mean() > 0.2


def test_recolor_start_moves_a_strength_share_of_the_way():
    from impasto.config import StyleConfig
    from impasto.engine.pyramid import initial_image
    from impasto.ops.color import match_color

    content = torch.rand(3, 8, 12, generator=torch.Generator().manual_seed(0))
    style = torch.rand(3, 6, 6, generator=torch.Generator().manual_seed(1)) * 0.3
    full = match_color(content, style).clamp(0, 1)
    quarter = initial_image(StyleConfig(strength=0.25, init="recolor"), content, None, [style])
    torch.testing.assert_close(quarter, content + 0.25 * (full - content))
    strong = initial_image(StyleConfig(strength=2.0, init="recolor"), content, None, [style])
    torch.testing.assert_close(strong, full)
