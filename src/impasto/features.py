"""The frozen VGG feature extractor: named layers (``relu4_2``), input convention, truncation.

The network is built from a canonical state dict (keys ``conv{block}_{i}.weight``/``.bias``,
see ``weights.py``) and stops at the deepest layer any loss asks for, so the rest of VGG is never
run. It takes RGB images in 0..1 and applies the network's own input convention inside.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError

BLOCKS: dict[str, tuple[int, ...]] = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}

# Caffe-trained VGG (and HED, fine-tuned from it): BGR, 0..255, minus the ImageNet mean.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# torchvision-trained VGG: RGB, 0..1, normalised per channel.
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
POOLINGS = ("avg", "max")


def layer_names(arch: str) -> list[str]:
    """All layer names of ``arch`` in order: conv1_1, relu1_1, conv1_2, ..., pool5."""
    names: list[str] = []
    for block, convs in enumerate(BLOCKS[arch], start=1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


def layer_stride(name: str) -> int:
    """How many input pixels one position of a layer steps over: relu3_1 -> 4, pool3 -> 8."""
    block = int(name[4] if name.startswith("pool") else name.split("_")[0][-1])
    return 2 ** (block if name.startswith("pool") else block - 1)


def receptive_radius(names: Iterable[str]) -> int:
    """Pixels beyond which the input cannot change the last of ``names`` (an upper bound).

    Each 3x3 convolution reaches one position further, each 2x2 pooling at most one more.
    """
    return sum(layer_stride(n) for n in names if not n.startswith("relu"))


def check_layers(arch: str, layers: Iterable[str]) -> None:
    """Raise ConfigError naming any layer that ``arch`` does not have."""
    known = layer_names(arch)
    for layer in layers:
        if layer not in known:
            relus = ", ".join(n for n in known if n.startswith("relu"))
            raise ConfigError(f"unknown layer {layer!r} for {arch}; choose from {relus}")


class VGGFeatures(nn.Module):
    """VGG convolutions up to the deepest requested layer, returning named activations.

    Departures from Gatys et al.: average pooling is the default (they report it gives
    slightly better results), and the first convolution pads by replicating the border instead
    of with zeros, which removes the dark or bright frame that zero padding paints at the edges.
    """

    def __init__(
        self,
        state_dict: Mapping[str, torch.Tensor],
        arch: str,
        convention: str,
        layers: Iterable[str],
        pooling: str = "avg",
    ) -> None:
        super().__init__()
        self.layers = tuple(dict.fromkeys(layers))
        if not self.layers:
            raise ConfigError("no layers requested from the network")
        check_layers(arch, self.layers)
        if pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLINGS)}")
        if convention not in ("caffe", "torchvision"):
            raise ConfigError(f"unknown input convention {convention!r}")
        self.arch, self.pooling, self.convention = arch, pooling, convention
        names = layer_names(arch)
        self.names = names[: max(names.index(n) for n in self.layers) + 1]
        # Tiles must start on the deepest pooling grid so that every tile pools like the whole.
        self.align = max(layer_stride(n) for n in self.names)
        self.radius = receptive_radius(self.names)
        self.convs = nn.ModuleDict()
        for name in self.names:
            if name.startswith("conv"):
                weight = state_dict[f"{name}.weight"].detach().float()
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
                conv.weight.data.copy_(weight)
                conv.bias.data.copy_(state_dict[f"{name}.bias"].detach().float())
                self.convs[name] = conv
        # conv1_1 gets replicate padding applied by hand in forward().
        self.convs["conv1_1"].padding = (0, 0)
        self.pool = F.avg_pool2d if pooling == "avg" else F.max_pool2d
        if convention == "caffe":
            mean = torch.tensor(CAFFE_MEAN_BGR[::-1]) / 255.0  # as RGB in 0..1
            scale = torch.full((3,), 255.0)
        else:
            mean = torch.tensor(TORCHVISION_MEAN)
            scale = 1.0 / torch.tensor(TORCHVISION_STD)
        self.register_buffer("mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", scale.view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()
        # Channels-last lets oneDNN pick its fastest CPU convolutions (~1.4x here; benchmarks/).
        self.to(memory_format=torch.channels_last)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0..1 (N,3,H,W) -> the network's input convention."""
        x = (image - self.mean) * self.scale
        if self.convention == "caffe":
            x = x.flip(1)  # RGB -> BGR
        return x

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """Activations of the requested layers for RGB images in 0..1, shape (N,3,H,W)."""
        if image.dim() == 3:
            image = image.unsqueeze(0)
        x = self.preprocess(image).contiguous(memory_format=torch.channels_last)
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        wanted = set(self.layers)
        out: dict[str, torch.Tensor] = {}
        for name in self.names:
            if name.startswith("conv"):
                x = self.convs[name](x)
            elif name.startswith("relu"):
                x = F.relu(x)
            else:
                x = self.pool(x, 2, ceil_mode=True)
            if name in wanted:
                out[name] = x
        return out


_STATE_DICTS: dict[tuple[str, str | None], dict[str, torch.Tensor]] = {}


def load_features(
    network: str,
    layers: Iterable[str],
    pooling: str = "avg",
    weights_path: str | None = None,
    on_progress=None,
) -> VGGFeatures:
    """A feature extractor for a registered network, its weights read once per process."""
    from . import weights  # late: only needed when real weights are used

    if network not in weights.NETWORKS:
        raise ConfigError(f"unknown network {network!r}; choose from {', '.join(weights.NETWORKS)}")
    spec = weights.NETWORKS[network]
    key = (network, None if weights_path is None else str(weights_path))
    if key not in _STATE_DICTS:
        _STATE_DICTS[key] = weights.load_weights(network, weights_path, on_progress=on_progress)
    return VGGFeatures(_STATE_DICTS[key], spec.arch, spec.convention, layers, pooling)
