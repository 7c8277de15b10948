"""The network the explain pictures look into, and the same weights cut to fewer layers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..config import (
    StyleConfig,
)
from ..errors import ConfigError
from ..network import registry
from ..network.layers import check_layers, layer_names
from ..network.vgg import VGGFeatures, device_of, load_network
from ..ops.resize import resize_long_side

# ---------------------------------------------------------------- networks


def network_for(
    config: StyleConfig, layers: Sequence[str], on_progress: Callable[[str], None] | None = None
) -> VGGFeatures:
    """``config``'s network (its name, weights and pooling) up to the deepest of ``layers``,
    their names checked first for a clear message: the network the pictures look into."""
    arch = registry.spec(config.network).arch
    check_layers(arch, layers)
    deepest = max(layers, key=layer_names(arch).index)
    return load_network(config, layers=[deepest], on_progress=on_progress)


def _arch(net: VGGFeatures) -> str:
    # VGGFeatures keeps its layer list, not its name; the lists part at conv3_4 (vgg19 only).
    return "vgg19" if "conv3_4" in net.names else "vgg16"


def sub_network(net: VGGFeatures, layers: Sequence[str]) -> VGGFeatures:
    """The same weights, returning ``layers`` and stopping at the deepest of them.

    Lets one network built for relu5_1 explain relu1_1 without running the deeper layers.
    """
    check_layers(_arch(net), layers)
    for layer in layers:
        if layer not in net.names:
            raise ConfigError(
                f"layer {layer!r} is deeper than this network was built for (up to {net.names[-1]})"
            )
    if tuple(layers) == net.layers:
        return net
    state: dict[str, torch.Tensor] = {}
    for name, conv in net.convs.items():
        state[f"{name}.weight"] = conv.weight  # type: ignore[assignment]
        state[f"{name}.bias"] = conv.bias  # type: ignore[assignment]
    pooling = "max" if net.pool is F.max_pool2d else "avg"
    return VGGFeatures(state, _arch(net), net.convention, layers, pooling).to(device_of(net))


def shrink(image: torch.Tensor, size: int) -> torch.Tensor:
    """``image`` with its long side at most ``size`` (never enlarged)."""
    return resize_long_side(image, size) if max(image.shape[-2:]) > size else image
