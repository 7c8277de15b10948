"""The frozen VGG feature extractor: named layers (``relu4_2``), input convention, truncation.

The network is built from a canonical state dict (keys ``conv{block}_{i}.weight``/``.bias``,
see ``convert.py``) and stops at the deepest layer any loss asks for, so the rest of VGG is never
run. It takes RGB images in 0..1 and applies the network's own input convention inside.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import skip_init

from .. import devices
from ..config import POOLINGS, StyleConfig
from ..errors import ConfigError
from . import registry
from .layers import alignment, layers_up_to, receptive_radius

# Caffe-trained VGG (and HED, fine-tuned from it): BGR, 0..255, minus the ImageNet mean.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# torchvision-trained VGG: RGB, 0..1, normalised per channel.
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)


class VGGFeatures(nn.Module):
    """VGG convolutions up to the deepest requested layer, returning named activations.

    Departure from Gatys et al.: the first convolution pads by replicating the border instead
    of with zeros, which removes the dark or bright frame that zero padding paints at the edges.
    They preferred average pooling; the default here is max, as the network was trained and as
    ``StyleConfig.pooling`` paints (it matched the paintings better by a network no run
    optimises, benchmarks/quality); explain's pictures use avg (``config.EXPLAIN_POOLING``).
    """

    def __init__(
        self,
        state_dict: Mapping[str, torch.Tensor],
        arch: str,
        convention: str,
        layers: Iterable[str],
        pooling: str = "max",
    ) -> None:
        super().__init__()
        self.layers = tuple(dict.fromkeys(layers))
        if not self.layers:
            raise ConfigError("no layers requested from the network")
        if pooling not in POOLINGS:
            raise ConfigError(f"unknown pooling {pooling!r}; choose from {', '.join(POOLINGS)}")
        if convention not in ("caffe", "torchvision"):
            raise ConfigError(f"unknown input convention {convention!r}")
        self.arch, self.pooling, self.convention = arch, pooling, convention
        self.names = layers_up_to(arch, self.layers)
        # Tiles must start on the deepest pooling grid so that every tile pools like the whole.
        self.align = alignment(self.names)
        self.radius = receptive_radius(self.names)
        self.convs = nn.ModuleDict()
        for name in self.names:
            if name.startswith("conv"):
                self.convs[name] = _conv(state_dict[f"{name}.weight"], state_dict[f"{name}.bias"])
        # conv1_1 gets replicate padding applied by hand in forward().
        self.convs["conv1_1"].padding = (0, 0)  # type: ignore[assignment]
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
        self.to(memory_format=torch.channels_last)  # type: ignore[call-overload]

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """RGB 0..1 (N,3,H,W) -> the network's input convention."""
        x = (image - self.mean) * self.scale  # type: ignore[operator]
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


def device_of(net: nn.Module) -> torch.device:
    """The device a network's weights are on (the CPU for one that holds none)."""
    for tensor in itertools.chain(net.parameters(), net.buffers()):
        return tensor.device
    return torch.device("cpu")


def _conv(weight: torch.Tensor, bias: torch.Tensor) -> nn.Conv2d:
    """A 3x3 convolution holding these weights, built without drawing from torch's global
    random generator (``skip_init``), so that loading a network never changes a seeded run."""
    weight = weight.detach().float()
    conv = skip_init(nn.Conv2d, weight.shape[1], weight.shape[0], 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias.detach().float())
    return conv


_STATE_DICTS: dict[tuple[str, str | None], dict[str, torch.Tensor]] = {}


def load_network(
    config: StyleConfig | None = None,
    *,
    layers: Iterable[str] | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> VGGFeatures:
    """The network ``stylize(network=...)`` paints with: ``config.network`` with its weights
    (``config.weights``, else the cache's, fetched there the first time), ``config.pooling``,
    up to the deepest of ``layers`` (default: the config's content and style layers).

    The one way impasto builds a network: a front end, a job, ``stylize`` without a network
    and ``explain`` all call this, on ``config.device`` (``auto``: a GPU if there is one).
    The weights are read once per process (``_state_dict``).
    ``on_progress`` gets a line for each step of a first fetch (download, verify, convert).
    """
    config = config or StyleConfig()
    spec = registry.spec(config.network)
    wanted = config.content_layers + config.style_layers if layers is None else layers
    device = devices.resolve(config.device)  # a missing device before the weights are read
    state = _state_dict(config.network, config.weights, on_progress)
    return VGGFeatures(state, spec.arch, spec.convention, wanted, config.pooling).to(device)


def _state_dict(
    network: str, weights_path: str | None = None, on_progress=None
) -> dict[str, torch.Tensor]:
    """The canonical weights of ``network`` (from ``weights_path``, else the cache), read once
    per process."""
    from . import store  # late: only needed when real weights are used

    key = (network, None if weights_path is None else str(weights_path))
    if key not in _STATE_DICTS:
        _STATE_DICTS[key] = store.load_weights(network, weights_path, on_progress=on_progress)
    return _STATE_DICTS[key]


_DIGESTS: dict[tuple[str, str | None], str] = {}


def weights_digest(network: str, weights_path: str | None = None) -> str:
    """sha256 (``weightfile.state_digest``) of the weights ``load_network`` paints with, computed
    once per process; a record of which weights made a picture."""
    from . import weightfile

    key = (network, None if weights_path is None else str(weights_path))
    if key not in _DIGESTS:
        _DIGESTS[key] = weightfile.state_digest(_state_dict(network, weights_path))
    return _DIGESTS[key]
