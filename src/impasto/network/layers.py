"""One VGG geometry: blocks, layer names, strides, receptive fields and the weight shapes.

Every other module asks this one: the feature extractor builds itself from ``layer_names``,
the weight converters validate against ``conv_shapes``, the memory budget and the tiler take
their halo from ``receptive_radius`` and their grid from ``layer_stride``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import ConfigError

BLOCKS: dict[str, tuple[int, ...]] = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
WIDTHS: tuple[int, ...] = (64, 128, 256, 512, 512)  # output channels of each block's convs
ARCH_TITLES = {"vgg16": "VGG-16", "vgg19": "VGG-19"}


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


def check_layers(arch: str, layers: Iterable[str]) -> None:
    """Raise ConfigError naming any layer that ``arch`` does not have."""
    known = layer_names(arch)
    for layer in layers:
        if layer not in known:
            relus = ", ".join(n for n in known if n.startswith("relu"))
            raise ConfigError(f"unknown layer {layer!r} for {arch}; choose from {relus}")


def layers_up_to(arch: str, layers: Iterable[str]) -> list[str]:
    """The layer names of ``arch`` from the input to the deepest of ``layers``."""
    names = layer_names(arch)
    wanted = list(layers)
    check_layers(arch, wanted)
    return names[: max(names.index(n) for n in wanted) + 1]


def receptive_radius(names: Iterable[str]) -> int:
    """Pixels beyond which the input cannot change the last of ``names`` (an upper bound).

    Each 3x3 convolution reaches one position further, each 2x2 pooling at most one more.
    """
    return sum(layer_stride(n) for n in names if not n.startswith("relu"))


def alignment(names: Iterable[str]) -> int:
    """The deepest pooling grid of ``names``: tiles must start on it to pool like the whole."""
    return max(layer_stride(n) for n in names)


def receptive_field(names: Sequence[str], layer: str) -> tuple[int, int, int]:
    """(size, stride, offset) in input pixels of one unit of ``layer``, given the layer list.

    Unit (y, x) sees the square of side ``size`` whose top-left pixel is
    (offset + y * stride, offset + x * stride); offset is <= 0 because fields hang over the
    border (padding). E.g. vgg16 relu1_1: (3, 1, -1); relu3_1: (24, 4, -10).
    """
    if layer not in names:
        raise ConfigError(f"layer {layer!r} is not in this network (it has up to {names[-1]})")
    size, jump, centre = 1, 1, 0.0  # centre: of unit 0's field, in input pixels
    for name in names[: list(names).index(layer) + 1]:
        if name.startswith("conv"):  # 3x3, padding 1: one more neighbour each side
            size += 2 * jump
        elif name.startswith("pool"):  # 2x2, stride 2: the field grows by one step
            size += jump
            centre += jump / 2
            jump *= 2
    return size, jump, round(centre - (size - 1) / 2)


def conv_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """Canonical key -> shape for ``arch``; the single source of truth for validation."""
    shapes: dict[str, tuple[int, ...]] = {}
    width_in = 3
    for block, (convs, width) in enumerate(zip(BLOCKS[arch], WIDTHS, strict=True), start=1):
        for i in range(1, convs + 1):
            shapes[f"conv{block}_{i}.weight"] = (width, width_in, 3, 3)
            shapes[f"conv{block}_{i}.bias"] = (width,)
            width_in = width
    return shapes
