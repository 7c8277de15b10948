"""The VGG feature extractor: layer names, truncation, shapes, input conventions, and the two
weight layouts (torchvision state dict, HED's Keras HDF5) giving the same network.

The reference network here is written from scratch with plain torch modules, and the input
conventions from the published numbers, so a mistake in ``vgg.py`` can't hide in both.
"""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from impasto.config import StyleConfig
from impasto.errors import ConfigError
from impasto.network import convert, layers, store, vgg
from impasto.network.vgg import VGGFeatures

VGG16 = (2, 2, 3, 3, 3)
VGG19 = (2, 2, 4, 4, 4)
FULL_WIDTHS = (64, 128, 256, 512, 512)
# torchvision's vgg16().features indices of the 13 convolutions (a ReLU after each conv and a
# max-pool after each block: 0 conv1_1, 1 relu, 2 conv1_2, 3 relu, 4 pool, 5 conv2_1, ...)
TORCHVISION_VGG16_CONVS = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def conv_names(blocks) -> list[str]:
    return [f"conv{b}_{i}" for b, n in enumerate(blocks, start=1) for i in range(1, n + 1)]


def random_state(blocks=VGG16, widths=(4, 5, 6, 7, 8), seed=0) -> dict[str, torch.Tensor]:
    """A canonical state dict with He-scaled random weights and the given block widths."""
    generator = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    width_in = 3
    for b, (n, width) in enumerate(zip(blocks, widths), start=1):
        for i in range(1, n + 1):
            std = math.sqrt(2.0 / (9 * width_in))
            state[f"conv{b}_{i}.weight"] = torch.randn(width, width_in, 3, 3, generator=generator)
            state[f"conv{b}_{i}.weight"] *= std
            state[f"conv{b}_{i}.bias"] = torch.randn(width, generator=generator) * 0.1
            width_in = width
    return state


def random_image(h: int, w: int, seed: int = 0, n: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------- reference


def reference_preprocess(image: torch.Tensor, convention: str) -> torch.Tensor:
    """RGB in 0..1 to the network's input, written from the published constants."""
    if convention == "caffe":
        bgr = image[:, [2, 1, 0]] * 255.0
        return bgr - torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN_RGB).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD_RGB).view(1, 3, 1, 1)
    return (image - mean) / std


def reference_features(state, blocks, convention, image, pooling="max") -> dict:
    """Every named layer from a plain nn.Conv2d stack (float64, contiguous)."""
    x = reference_preprocess(image.double(), convention)
    pool = nn.AvgPool2d(2, ceil_mode=True) if pooling == "avg" else nn.MaxPool2d(2, ceil_mode=True)
    out = {}
    for b, n in enumerate(blocks, start=1):
        for i in range(1, n + 1):
            name = f"conv{b}_{i}"
            weight = state[f"{name}.weight"].double()
            first = (b, i) == (1, 1)
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=0 if first else 1)
            conv = conv.double()
            with torch.no_grad():
                conv.weight.copy_(weight)
                conv.bias.copy_(state[f"{name}.bias"].double())
                x = conv(F.pad(x, (1, 1, 1, 1), mode="replicate") if first else x)
            out[name] = x
            x = torch.relu(x)
            out[f"relu{b}_{i}"] = x
        x = pool(x)
        out[f"pool{b}"] = x
    return out


def assert_features_close(got: torch.Tensor, want: torch.Tensor, name: str) -> None:
    assert got.shape == want.shape, name
    scale = want.abs().max().item() + 1e-6
    error = (got.double() - want).abs().max().item()
    assert error <= 2e-5 * scale, f"{name}: max error {error} for values up to {scale}"


# ---------------------------------------------------------------------- layer names


def test_layer_names_vgg16():
    names = layers.layer_names("vgg16")
    assert len(names) == 31  # 13 conv + 13 relu + 5 pool, the length of torchvision's features
    assert names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names[-3:] == ["conv5_3", "relu5_3", "pool5"]
    assert [n for n in names if n.startswith("conv")] == conv_names(VGG16)
    # Same order as torchvision's vgg16().features: relu4_2 is module 20, relu5_1 is 25.
    assert names.index("relu4_2") == 20
    assert names.index("relu5_1") == 25
    assert [names.index(n) for n in conv_names(VGG16)] == list(TORCHVISION_VGG16_CONVS)
    assert "relu3_4" not in names


def test_layer_names_vgg19():
    names = layers.layer_names("vgg19")
    assert len(names) == 37  # 16 conv + 16 relu + 5 pool
    assert [n for n in names if n.startswith("relu")] == [
        f"relu{b}_{i}" for b, n in enumerate(VGG19, start=1) for i in range(1, n + 1)
    ]
    # torchvision vgg19().features: relu4_2 is module 22 (Gatys et al.'s content layer).
    assert names.index("relu4_2") == 22
    assert names.index("relu3_4") == 17
    assert names.index("pool5") == 36
    assert [n for n in names if n.startswith("pool")] == [f"pool{b}" for b in range(1, 6)]


@pytest.mark.parametrize(
    ("arch", "layer"),
    [("vgg16", "relu3_4"), ("vgg16", "relu6_1"), ("vgg19", "conv5_5"), ("vgg19", "Relu1_1")],
)
def test_check_layers_rejects_unknown_names(arch, layer):
    with pytest.raises(ConfigError, match=f"unknown layer '{layer}' for {arch}") as info:
        layers.check_layers(arch, ["relu1_1", layer])
    assert "relu4_2" in str(info.value)  # the message lists what is available


def test_check_layers_accepts_every_known_name():
    layers.check_layers("vgg19", layers.layer_names("vgg19"))
    layers.check_layers("vgg16", ["relu1_1", "conv4_2", "pool3"])


def test_vgg_features_validates_arguments():
    state = random_state()
    with pytest.raises(ConfigError, match="unknown layer 'relu9_9'"):
        VGGFeatures(state, "vgg16", "caffe", ["relu9_9"])
    with pytest.raises(ConfigError, match="no layers"):
        VGGFeatures(state, "vgg16", "caffe", [])
    with pytest.raises(ConfigError, match="unknown pooling 'min'"):
        VGGFeatures(state, "vgg16", "caffe", ["relu1_1"], pooling="min")
    with pytest.raises(ConfigError, match="unknown input convention 'bgr'"):
        VGGFeatures(state, "vgg16", "bgr", ["relu1_1"])


def test_an_unknown_network_is_refused_with_the_settings():
    with pytest.raises(ConfigError, match="network must be one of vgg16-hed, vgg16, vgg19"):
        vgg.load_network(StyleConfig(network="vgg11"))


# ----------------------------------------------------------------------- truncation


def test_truncated_at_deepest_requested_layer():
    net = VGGFeatures(random_state(), "vgg16", "caffe", ["relu2_1", "relu1_1", "relu2_1"])
    assert net.layers == ("relu2_1", "relu1_1")  # duplicates dropped, order kept
    assert list(net.convs) == ["conv1_1", "conv1_2", "conv2_1"]
    assert (
        net.names == layers.layer_names("vgg16")[: layers.layer_names("vgg16").index("relu2_1") + 1]
    )
    out = net(random_image(16, 16))
    assert set(out) == {"relu1_1", "relu2_1"}


def test_truncated_network_never_reads_deeper_weights():
    """Only conv1_1..conv3_1 are given: enough for relu3_1, and nothing else is looked up."""
    state = {k: v for k, v in random_state().items() if k.split(".")[0] <= "conv3_1"}
    assert "conv3_2.weight" not in state
    net = VGGFeatures(state, "vgg16", "torchvision", ["relu3_1", "pool2"])
    assert list(net.convs) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]
    with pytest.raises(KeyError):
        VGGFeatures(state, "vgg16", "torchvision", ["relu3_2"])


def test_deepest_layer_wins_regardless_of_order():
    net = VGGFeatures(random_state(VGG19), "vgg19", "caffe", ["relu5_1", "relu1_1", "relu3_4"])
    assert list(net.convs)[-1] == "conv5_1"
    assert len(net.convs) == 2 + 2 + 4 + 4 + 1


def test_network_is_frozen():
    net = VGGFeatures(random_state(), "vgg16", "caffe", ["relu2_2"])
    assert not net.training
    assert all(not p.requires_grad for p in net.parameters())
    # ... but gradients still flow to the image.
    image = random_image(12, 10).requires_grad_(True)
    net(image)["relu2_2"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_weights_are_copied_not_shared():
    state = random_state()
    net = VGGFeatures(state, "vgg16", "caffe", ["relu1_1"])
    before = net(random_image(8, 8))["relu1_1"].clone()
    state["conv1_1.weight"].zero_()
    assert torch.equal(net(random_image(8, 8))["relu1_1"], before)


# -------------------------------------------------------------------------- shapes


def test_output_shapes_37x50_with_ceil_mode_pooling():
    widths = (4, 5, 6, 7, 8)
    names = layers.layer_names("vgg16")
    net = VGGFeatures(random_state(widths=widths), "vgg16", "caffe", names)
    out = net(random_image(37, 50))
    # ceil-mode pooling: 37x50 -> 19x25 -> 10x13 -> 5x7 -> 3x4 -> 2x2
    sizes = [(37, 50), (19, 25), (10, 13), (5, 7), (3, 4), (2, 2)]
    for name in names:
        block = int(name[4] if name.startswith("pool") else name[-3])
        if name.startswith("pool"):
            expected = (1, widths[block - 1], *sizes[block])
        else:
            expected = (1, widths[block - 1], *sizes[block - 1])
        assert tuple(out[name].shape) == expected, name


def test_accepts_chw_and_batches():
    net = VGGFeatures(random_state(), "vgg16", "torchvision", ["relu2_1"])
    images = random_image(13, 11, n=2)
    batch = net(images)["relu2_1"]
    assert batch.shape == (2, 5, 7, 6)
    single = net(images[1])["relu2_1"]
    torch.testing.assert_close(single, batch[1:], rtol=1e-5, atol=1e-5)


# ------------------------------------------------------- against a plain reference


@pytest.mark.parametrize("convention", ["caffe", "torchvision"])
@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_matches_plain_torch_reference(convention, pooling):
    state = random_state(seed=3)
    names = layers.layer_names("vgg16")
    net = VGGFeatures(state, "vgg16", convention, names, pooling=pooling)
    image = random_image(23, 30, seed=5)
    got = net(image)
    want = reference_features(state, VGG16, convention, image, pooling)
    for name in names:
        assert_features_close(got[name], want[name], name)


def test_matches_reference_vgg19():
    state = random_state(VGG19, seed=4)
    layers = ["relu1_1", "relu3_4", "relu4_2", "pool5"]
    net = VGGFeatures(state, "vgg19", "caffe", layers)
    image = random_image(33, 18, seed=6)
    want = reference_features(state, VGG19, "caffe", image)
    got = net(image)
    for name in layers:
        assert_features_close(got[name], want[name], name)


def test_preprocess_conventions():
    """Caffe: BGR 0..255 minus the mean; torchvision: RGB normalised by mean and std."""
    net_caffe = VGGFeatures(random_state(), "vgg16", "caffe", ["relu1_1"])
    net_tv = VGGFeatures(random_state(), "vgg16", "torchvision", ["relu1_1"])
    pixel = torch.tensor([0.2, 0.5, 0.9]).view(1, 3, 1, 1)  # R, G, B
    caffe = net_caffe.preprocess(pixel).flatten().tolist()
    assert caffe == pytest.approx(
        [0.9 * 255 - 103.939, 0.5 * 255 - 116.779, 0.2 * 255 - 123.68], abs=1e-3
    )
    tv = net_tv.preprocess(pixel).flatten().tolist()
    assert tv == pytest.approx(
        [(0.2 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.9 - 0.406) / 0.225], abs=1e-5
    )


def test_conventions_differ():
    """The convention is applied: the same weights see different inputs."""
    state = random_state()
    image = random_image(10, 10)
    a = VGGFeatures(state, "vgg16", "caffe", ["relu1_1"])(image)["relu1_1"]
    b = VGGFeatures(state, "vgg16", "torchvision", ["relu1_1"])(image)["relu1_1"]
    assert not torch.allclose(a, b)


def test_replicate_padding_on_first_conv_only():
    """A constant image gives constant conv1_1 output (no zero-padded frame)."""
    net = VGGFeatures(random_state(), "vgg16", "caffe", ["conv1_1", "conv1_2"])
    out = net(torch.full((1, 3, 9, 11), 0.4))
    first = out["conv1_1"]
    torch.testing.assert_close(first, first[:, :, :1, :1].expand_as(first), rtol=1e-5, atol=1e-4)
    # conv1_2 pads with zeros, so its border differs from its interior.
    second = out["conv1_2"]
    assert not torch.allclose(second[:, :, 0, 5], second[:, :, 4, 5], atol=1e-3)


def test_max_and_avg_pooling_differ_after_first_pool():
    state = random_state()
    image = random_image(20, 20, seed=2)
    layers = ["relu1_2", "pool1", "relu2_1"]
    avg = VGGFeatures(state, "vgg16", "caffe", layers, pooling="avg")(image)
    mx = VGGFeatures(state, "vgg16", "caffe", layers, pooling="max")(image)
    assert torch.equal(avg["relu1_2"], mx["relu1_2"])
    assert (mx["pool1"] >= avg["pool1"] - 1e-4).all()  # max of a window >= its mean
    assert not torch.allclose(avg["pool1"], mx["pool1"])
    assert not torch.allclose(avg["relu2_1"], mx["relu2_1"])
    # Average pooling of relu1_2 by hand, window by window.
    r = avg["relu1_2"][0].double()
    by_hand = torch.stack(
        [
            torch.stack([r[:, i : i + 2, j : j + 2].mean(dim=(1, 2)) for j in range(0, 20, 2)], -1)
            for i in range(0, 20, 2)
        ],
        -2,
    )
    torch.testing.assert_close(avg["pool1"][0].double(), by_hand, rtol=1e-5, atol=1e-5)


# -------------------------------------------- the same weights in both file layouts


@pytest.fixture(scope="module")
def full_vgg16() -> dict[str, torch.Tensor]:
    """Random full-size VGG-16 weights in the canonical layout (~59 MB)."""
    state = random_state(VGG16, FULL_WIDTHS, seed=11)
    assert {k: tuple(v.shape) for k, v in state.items()} == layers.conv_shapes("vgg16")
    return state


def write_torchvision(state, path) -> None:
    """torchvision's vgg16 state dict: features.N.* plus a classifier that must be ignored."""
    tv = {}
    for name, index in zip(conv_names(VGG16), TORCHVISION_VGG16_CONVS):
        tv[f"features.{index}.weight"] = state[f"{name}.weight"].clone()
        tv[f"features.{index}.bias"] = state[f"{name}.bias"].clone()
    tv["classifier.6.weight"] = torch.zeros(10, 4)
    tv["classifier.6.bias"] = torch.zeros(10)
    torch.save(tv, path)


def write_hed_h5(state, path) -> None:
    """HED's Keras layout: block{b}/layers/conv2d{,_1,_2}/vars/{0: kernel (3,3,in,out), 1: bias}."""
    with h5py.File(path, "w") as h5:
        for b, n in enumerate(VGG16, start=1):
            for i in range(1, n + 1):
                layer = "conv2d" if i == 1 else f"conv2d_{i - 1}"
                group = h5.create_group(f"block{b}/layers/{layer}/vars")
                w = state[f"conv{b}_{i}.weight"].numpy()  # (out, in, kh, kw)
                group["0"] = np.ascontiguousarray(w.transpose(2, 3, 1, 0))  # (kh, kw, in, out)
                group["1"] = state[f"conv{b}_{i}.bias"].numpy()
        # A side output as in the real file, which the loader must skip.
        h5.create_dataset("dsn1/layers/conv2d/vars/0", data=np.zeros((1, 1, 64, 1), np.float32))


@pytest.fixture(scope="module")
def weight_files(full_vgg16, tmp_path_factory):
    root = tmp_path_factory.mktemp("layouts")
    pth, h5 = root / "vgg16-random.pth", root / "hed-random.weights.h5"
    write_torchvision(full_vgg16, pth)
    write_hed_h5(full_vgg16, h5)
    return {"pth": pth, "h5": h5}


def assert_same_state(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        assert a[key].dtype == b[key].dtype == torch.float32, key
        assert torch.equal(a[key], b[key]), key


def test_both_layouts_load_to_the_same_canonical_weights(full_vgg16, weight_files):
    from_pth = store.load_weights("vgg16", weight_files["pth"])
    from_h5 = store.load_weights("vgg16-hed", weight_files["h5"])
    direct_tv = convert.from_torchvision(
        torch.load(weight_files["pth"], weights_only=True), "vgg16"
    )
    direct_h5 = convert.from_hed_h5(weight_files["h5"])
    assert list(from_pth) == list(layers.conv_shapes("vgg16"))
    for loaded in (from_h5, direct_tv, direct_h5):
        assert_same_state(from_pth, loaded)
    assert_same_state(from_pth, full_vgg16)


@pytest.mark.parametrize("convention", ["caffe", "torchvision"])
def test_both_layouts_give_the_same_features(weight_files, convention):
    layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
    image = random_image(20, 28, seed=9)
    nets = [
        VGGFeatures(store.load_weights("vgg16", weight_files["pth"]), "vgg16", convention, layers),
        VGGFeatures(convert.from_hed_h5(weight_files["h5"]), "vgg16", convention, layers),
    ]
    a, b = (net(image) for net in nets)
    for name in layers:
        assert torch.equal(a[name], b[name]), name
        assert a[name].abs().max() > 0, name  # not trivially equal


def test_full_size_network_matches_reference(full_vgg16):
    layers = ["relu1_2", "relu3_1", "relu4_2", "relu5_1"]
    image = random_image(18, 22, seed=10)
    got = VGGFeatures(full_vgg16, "vgg16", "caffe", layers)(image)
    want = reference_features(full_vgg16, VGG16, "caffe", image)
    for name in layers:
        assert_features_close(got[name], want[name], name)
