"""explain: receptive fields, top patches (checked by brute force), style matrices,
reconstructions, pictures, and the ``impasto explain`` commands, on a tiny random VGG-16."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from impasto import explain
from impasto.apps.cli import explain as explain_cli
from impasto.apps.main import main
from impasto.cost import losses
from impasto.errors import ConfigError
from impasto.io.images import load_image, save_image
from impasto.network import layers, vgg
from impasto.network.vgg import VGGFeatures

# Receptive field sides of VGG-16 (3x3 convs, 2x2/2 pools), as published for the architecture.
VGG16_FIELDS = {
    "conv1_1": 3, "relu1_2": 5, "pool1": 6, "relu2_1": 10, "relu2_2": 14, "pool2": 16,
    "relu3_1": 24, "relu3_3": 40, "pool3": 44, "relu4_1": 60, "relu4_3": 92, "pool4": 100,
    "relu5_1": 132, "relu5_3": 196, "pool5": 212,
}  # fmt: skip


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny convolutions gain nothing from threads and lose a lot when others share the CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _state() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        key: torch.randn(shape, generator=generator) * 0.05
        for key, shape in layers.conv_shapes("vgg16").items()
    }


STATE = _state()


def _net(*layers: str, pooling: str = "avg") -> VGGFeatures:
    return VGGFeatures(STATE, "vgg16", "caffe", layers, pooling)


@pytest.fixture(scope="module")
def net() -> VGGFeatures:
    return _net("relu3_1")


def _smooth(height: int, width: int, seed: int) -> torch.Tensor:
    """A random picture with edges and blobs at several scales, in 0..1."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, height // 8 + 1, width // 8 + 1, generator=generator)
    fine = torch.rand(1, 3, height, width, generator=generator)
    up = F.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    return (0.7 * up + 0.3 * fine)[0]


IMAGES = [_smooth(40, 52, 1), _smooth(48, 48, 2), _smooth(36, 60, 3)]


# ---------------------------------------------------------------- receptive fields


@pytest.mark.parametrize(("layer", "size"), VGG16_FIELDS.items())
def test_receptive_field_sizes_are_vgg16s(layer: str, size: int) -> None:
    assert explain.receptive_field("vgg16", layer)[0] == size


def test_receptive_field_stride_and_offset() -> None:
    assert explain.receptive_field("vgg16", "relu1_1") == (3, 1, -1)
    assert explain.receptive_field("vgg16", "relu2_1") == (10, 2, -4)
    assert explain.receptive_field("vgg16", "relu5_1")[1] == 16
    assert explain.receptive_field("vgg19", "relu5_1")[0] == 156  # conv3_4, conv4_4 on top


@pytest.mark.parametrize("layer", ["relu1_2", "pool1", "relu2_1", "pool2", "relu3_1"])
def test_the_box_holds_exactly_the_pixels_a_unit_depends_on(layer: str) -> None:
    """Gradient check: pixels with a nonzero gradient of one unit lie inside its box, and for
    a unit whose field is inside the image they fill the box (so the box is not too big)."""
    sub = _net(layer)
    height, width = 64, 56
    image = torch.rand(3, height, width, requires_grad=True)
    act = sub(image)[layer][0]
    size, stride, offset = explain.receptive_field("vgg16", layer)
    middle = (-offset + stride - 1) // stride  # first unit whose field starts inside
    units = [(0, 0), (act.shape[1] - 1, act.shape[2] - 1), (middle, middle)]
    for y, x in units:
        (grad,) = torch.autograd.grad(act[:, y, x].sum(), image, retain_graph=True)
        rows, cols = grad.abs().sum(0).nonzero(as_tuple=True)
        top, left, bottom, right = explain.patch_box("vgg16", layer, y, x, height, width)
        assert 0 <= top < bottom <= height and 0 <= left < right <= width
        assert top <= int(rows.min()) and int(rows.max()) < bottom
        assert left <= int(cols.min()) and int(cols.max()) < right
        if (y, x) == (middle, middle):
            assert (bottom - top, right - left) == (size, size)
            assert (int(rows.min()), int(rows.max()) + 1) == (top, bottom)
            assert (int(cols.min()), int(cols.max()) + 1) == (left, right)


# ---------------------------------------------------------------- top patches


def _brute_force(net, images, layer, unit, per_unit, radius) -> list[tuple]:
    """The same rule in plain loops: per image, greedy picks in order of activation among
    positions whose whole field is inside, each at least ``radius`` cells from earlier picks;
    then the strongest ``per_unit`` over all images."""
    size, stride, offset = explain.receptive_field("vgg16", layer)
    found = []
    for index, image in enumerate(images):
        act = net(image)[layer][0, unit]
        height, width = image.shape[-2:]
        cells = [
            (float(act[y, x]), y, x)
            for y in range(act.shape[0])
            for x in range(act.shape[1])
            if offset + y * stride >= 0
            and offset + y * stride + size <= height
            and offset + x * stride >= 0
            and offset + x * stride + size <= width
        ]
        picks: list[tuple[int, int]] = []
        for value, y, x in sorted(cells, reverse=True):
            if all(max(abs(y - py), abs(x - px)) >= radius for py, px in picks):
                picks.append((y, x))
                found.append((value, index, y, x))
            if len(picks) == per_unit:
                break
    return sorted(found, reverse=True)[:per_unit]


@pytest.mark.parametrize("layer", ["relu1_1", "relu2_1", "relu3_1"])
def test_patches_are_the_units_strongest_activations(net, layer: str) -> None:
    rows = explain.top_patches(net, IMAGES, layer, units=[0, 5, 11], per_unit=6)
    assert [r.unit for r in rows] == [0, 5, 11]
    size, stride, _ = explain.receptive_field("vgg16", layer)
    radius = max(1, -(-size // (2 * stride)))
    sub = _net(layer)
    with torch.no_grad():
        maps = [sub(image)[layer][0] for image in IMAGES]
    for row in rows:
        expected = _brute_force(sub, IMAGES, layer, row.unit, 6, radius)
        got = [p.activation for p in row.patches]
        assert got == pytest.approx([e[0] for e in expected], rel=1e-5)
        assert got == sorted(got, reverse=True)
        for patch in row.patches:
            assert float(maps[patch.image][row.unit, patch.y, patch.x]) == patch.activation


def test_the_first_patch_is_the_argmax_over_all_images(net) -> None:
    (row,) = explain.top_patches(net, IMAGES, "relu2_1", units=[7], inside=False)
    sub = _net("relu2_1")
    with torch.no_grad():
        best = max(float(sub(image)["relu2_1"][0, 7].max()) for image in IMAGES)
    assert row.patches[0].activation == best


def test_patches_lie_inside_the_image_and_crops_show_them(net) -> None:
    rows = explain.top_patches(net, IMAGES, "relu3_1", n_units=3, per_unit=9)
    for row in rows:
        assert len(row.patches) == len(row.crops) == 9
        for patch, crop in zip(row.patches, row.crops):
            top, left, bottom, right = patch.box
            height, width = IMAGES[patch.image].shape[-2:]
            assert 0 <= top < bottom <= height and 0 <= left < right <= width
            assert (bottom - top, right - left) == (24, 24)  # whole field inside
            assert torch.equal(crop, IMAGES[patch.image][:, top:bottom, left:right])


def test_fields_over_the_border_are_grey_outside() -> None:
    tiny = [_smooth(20, 20, 4)]  # smaller than a relu3_1 field: border units are allowed
    (row,) = explain.top_patches(_net("relu3_1"), tiny, "relu3_1", units=[2], per_unit=2)
    patch, crop = row.patches[0], row.crops[0]
    size, stride, offset = explain.receptive_field("vgg16", "relu3_1")
    top, left = offset + patch.y * stride, offset + patch.x * stride
    t, lf, b, r = patch.box
    assert crop.shape == (3, size, size)
    assert torch.equal(crop[:, t - top : b - top, lf - left : r - left], tiny[0][:, t:b, lf:r])
    assert (crop == explain.units.OUTSIDE).float().mean() > 0.2


def test_patches_of_one_image_keep_apart(net) -> None:
    rows = explain.top_patches(net, IMAGES, "relu2_1", n_units=4, per_unit=9)
    for row in rows:
        for i, a in enumerate(row.patches):
            for b in row.patches[i + 1 :]:
                if a.image == b.image:
                    assert max(abs(a.y - b.y), abs(a.x - b.x)) >= 3  # ceil(0.5 * 10 / 2)


def test_default_units_start_with_the_most_active(net) -> None:
    rows = explain.top_patches(net, IMAGES, "relu2_1", n_units=3, per_unit=4)
    assert len({r.unit for r in rows}) == 3
    everything = explain.top_patches(net, IMAGES, "relu2_1", units=range(128), per_unit=4)
    score = {r.unit: sum(max(p.activation, 0) for p in r.patches) for r in everything}
    assert rows[0].unit == max(score, key=score.get)


class Counting(Sequence):
    """A lazy image list that counts reads, as a folder of photos would be read."""

    def __init__(self, images: list[torch.Tensor]) -> None:
        self.images, self.reads = images, [0] * len(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        self.reads[index] += 1
        return self.images[index]


def test_each_image_is_read_once_plus_once_for_its_crops(net) -> None:
    images = Counting(IMAGES + [_smooth(40, 40, 6)])
    rows = explain.top_patches(net, images, "relu1_1", units=[3], per_unit=2)
    used = {p.image for p in rows[0].patches}
    assert images.reads == [1 + (i in used) for i in range(len(images))]
    assert images.reads.count(1) >= 2


def test_large_images_are_shrunk_first(net) -> None:
    big = [_smooth(120, 80, 5)]
    (row,) = explain.top_patches(net, big, "relu1_1", units=[0], size=60)
    assert all(p.box[2] <= 60 and p.box[3] <= 40 for p in row.patches)


def test_bad_units_and_layers_are_config_errors(net) -> None:
    with pytest.raises(ConfigError, match="units 0..63"):
        explain.top_patches(net, IMAGES, "relu1_1", units=[64])
    with pytest.raises(ConfigError, match="deeper"):
        explain.top_patches(net, IMAGES, "relu4_1")
    with pytest.raises(ConfigError, match="no images"):
        explain.top_patches(net, [], "relu1_1")


def test_units_grid_has_a_row_per_unit(net) -> None:
    rows = explain.top_patches(net, IMAGES, "relu1_1", n_units=2)
    rows += explain.top_patches(net, IMAGES, "relu2_1", n_units=3)
    grid = explain.units_grid(rows, cell=32, gap=3)
    assert grid.shape[0] == 3
    assert grid.shape[1] == 3 + 5 * (32 + 3) + 32 // 3  # one break between the two layers
    assert grid.shape[2] > 9 * (32 + 3)
    assert 0 <= float(grid.min()) and float(grid.max()) <= 1


# ---------------------------------------------------------------- style matrices


def test_style_matrices_are_the_top_channels_of_the_gram_matrix(net) -> None:
    stats = explain.style_matrices(net, IMAGES[0], "relu2_1", max_channels=16)
    with torch.no_grad():
        act = _net("relu2_1")(IMAGES[0])["relu2_1"]
    gram = losses.style_matrix(act, "gram")[0]
    assert set(stats.channels) == set(gram.diagonal().topk(16).indices.tolist())
    index = torch.tensor(stats.channels)
    assert torch.allclose(stats.gram, gram[index][:, index])
    assert torch.allclose(stats.correlation.diagonal(), torch.ones(16), atol=1e-4)
    assert torch.allclose(stats.correlation, stats.correlation.T, atol=1e-5)
    assert stats.total == 128


def test_style_heatmaps_stack_a_row_per_layer(net) -> None:
    one = explain.style_heatmaps(net, IMAGES[1], "relu1_1", max_channels=8, side=64)
    two = explain.style_heatmaps(net, IMAGES[1], ["relu1_1", "relu3_1"], max_channels=8, side=64)
    assert one.shape[0] == two.shape[0] == 3
    assert two.shape[1] > one.shape[1] >= 64
    assert 0 <= float(two.min()) and float(two.max()) <= 1


# ---------------------------------------------------------------- reconstructions


def test_content_reconstruction_reduces_its_cost(net) -> None:
    steps: list[explain.Step] = []
    out = explain.reconstruct_content(net, IMAGES[0], "relu2_1", 8, 32, progress=steps.append)
    assert out.shape == (3, 25, 32)
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    assert [s.step for s in steps] == list(range(1, steps[-1].steps + 1))
    assert steps[0].size != steps[-1].size  # coarse to fine
    assert min(s.loss for s in steps) < 0.5 * steps[0].loss


def test_style_reconstruction_reduces_its_cost_and_takes_the_given_shape(net) -> None:
    steps: list[explain.Step] = []
    out = explain.reconstruct_style(
        net, IMAGES[2], ["relu1_1", "relu2_1"], 12, 32, progress=steps.append, like=IMAGES[1]
    )
    assert out.shape == (3, 32, 32)
    assert {s.size for s in steps} == {(32, 32)}
    assert min(s.loss for s in steps) < 0.5 * steps[0].loss


def test_reconstructions_depend_on_the_seed_only(net) -> None:
    a = explain.reconstruct_style(net, IMAGES[2], ["relu1_1"], 3, 24, seed=1)
    b = explain.reconstruct_style(net, IMAGES[2], ["relu1_1"], 3, 24, seed=1)
    c = explain.reconstruct_style(net, IMAGES[2], ["relu1_1"], 3, 24, seed=2)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_layers_figure_shows_both_rows(net) -> None:
    seen: list[str] = []
    rows = explain.reconstruct_layers(
        net,
        IMAGES[0],
        IMAGES[2],
        ["relu1_1", "relu2_1"],
        2,
        24,
        progress=lambda label, step: seen.append(label),
    )
    assert list(dict.fromkeys(seen)) == [
        "content from relu1_1 (1/4)",
        "content from relu2_1 (2/4)",
        "style from relu1_1 (3/4)",
        "style from relu1_1..relu2_1 (4/4)",
    ]
    assert {tuple(im.shape) for im in rows.content + rows.style} == {(3, 18, 24)}
    figure = explain.layers_figure(IMAGES[0], IMAGES[2], rows)
    assert figure.shape[0] == 3 and figure.shape[1] == 2 * (44 + 18 + explain.figures.GAP)
    assert figure.shape[2] > 3 * 24


# ---------------------------------------------------------------- command line


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """explain_cli with the tiny random network, run from an empty folder."""

    monkeypatch.setattr(vgg, "_state_dict", lambda network, path=None, on_progress=None: STATE)
    monkeypatch.chdir(tmp_path)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, image in enumerate(IMAGES):
        save_image(photos / f"p{i}.png", image)
    return tmp_path


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["explain", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_units_command_writes_the_grid(cli, capsys) -> None:
    status, out, err = _run(capsys, "units", "photos", "--layer", "relu1_1,relu2_1", "--units", "2")
    assert (status, err) == (0, "")
    assert out == "wrote explain_units_relu1_1-relu2_1.png\n"
    grid = load_image(cli / "explain_units_relu1_1-relu2_1.png").rgb
    assert grid.shape[1] == 30 + 3 + 4 * (64 + 3) + 64 // 3  # title, rows, one layer break


def test_units_command_takes_files_and_unit_indices(cli, capsys) -> None:
    argv = ["units", "photos/p0.png", "photos/p1.png", "--unit-indices", "1,4", "-o", "u.png"]
    assert _run(capsys, *argv)[:2] == (0, "wrote u.png\n")


def test_style_and_layers_commands_write_pictures(cli, capsys) -> None:
    status, out, _ = _run(capsys, "style", "photos/p1.png", "--channels", "8", "--size", "48")
    assert (status, out) == (0, "wrote explain_style_relu2_1.png\n")
    argv = ["layers", "photos/p0.png", "photos/p2.png", "--layer", "relu1_1,relu2_1"]
    status, out, _ = _run(capsys, *argv, "--size", "24", "--iterations", "2")
    assert (status, out) == (0, "wrote explain_layers.png\n")
    assert (cli / "explain_layers.png").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["units", "missing.png"], "missing.png"),
        (["units", "photos", "--layer", "relu9_1"], "unknown layer 'relu9_1'"),
        (["units", "photos", "--unit-indices", "3,999"], "units 0..255; got 999"),
        (["units", "photos", "--units", "0"], "--units must be at least 1"),
        (["style", "photos/p0.png", "-o", "out.bmp"], "unknown output format"),
        (["style", "photos/p0.png", "--channels", "1"], "--channels must be at least 2"),
        (["layers", "photos/p0.png", "photos/p1.png", "--iterations", "0"], "--iterations"),
        (["units", "empty"], "no image files"),
        # numbers beyond what torch or memory take: overflows, hangs, gigabytes (issue 32)
        (["layers", "photos/p0.png", "photos/p1.png", "--seed", str(2**64)], "--seed must be"),
        (["layers", "photos/p0.png", "photos/p1.png", "--size", str(10**21)], "--size must be"),
        (["layers", "photos/p0.png", "photos/p1.png", "--iterations", str(10**21)], "at most"),
        (["units", "photos", "--patches", str(10**12)], "--patches must be at most 100"),
        (["units", "photos", "--cell", str(10**11)], "--cell must be at most 1024"),
    ],
)
def test_bad_input_is_one_line_on_stderr(cli, capsys, argv, message) -> None:
    (cli / "empty").mkdir()
    status, out, err = _run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("impasto: error: ") and err.count("\n") == 1
    assert message in err


def test_an_existing_output_is_kept_without_overwrite(cli, capsys) -> None:
    Path("s.png").write_bytes(b"mine")
    status, _, err = _run(capsys, "style", "photos/p0.png", "-o", "s.png")
    assert status == 2 and "--overwrite" in err
    assert Path("s.png").read_bytes() == b"mine"
    assert _run(capsys, "style", "photos/p0.png", "-o", "s.png", "--overwrite")[0] == 0


def test_the_explain_parser_takes_its_subcommands() -> None:
    args = explain_cli.parser().parse_args(["layers", "c.jpg", "s.jpg", "--size", "128"])
    assert (args.explain_command, args.size, args.pooling) == ("layers", 128, "avg")
    assert args.layer == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


# ---------------------------------------------------------------- real weights


@pytest.mark.weights
def test_real_network_first_units_see_edges_and_give_back_the_photo() -> None:
    """vgg16-hed on the shipped Tübingen photo: the patches relu1_1 likes most are edges (a
    luminance spread of ~0.48 against ~0.12 for random 3x3 patches, measured), and the photo
    comes back from relu1_1 alone (mean error ~0.004)."""
    from impasto.network.vgg import load_network
    from impasto.ops.resize import resize_long_side

    photo = load_image(Path(__file__).resolve().parents[1] / "examples" / "tubingen.jpg").rgb
    net = load_network(layers=["relu2_1"])
    rows = explain.top_patches(net, [photo], "relu1_1", n_units=6, size=128)
    luma = torch.tensor([0.299, 0.587, 0.114])
    spreads = [torch.tensordot(luma, crop, 1).aminmax() for row in rows for crop in row.crops]
    assert sum(float(high - low) for low, high in spreads) / len(spreads) > 0.3
    out = explain.reconstruct_content(net, photo, "relu1_1", 30, 48)
    assert float((out - resize_long_side(photo, 48)).abs().mean()) < 0.02
