"""Every default of a stylisation run, in one frozen dataclass validated on creation.

No torch here: the command line imports this to build ``--help`` and must answer at once.

The CLI builds its options from these fields (name, default and the ``help`` metadata), so the
defaults live here and nowhere else.
"""

from __future__ import annotations

import functools
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from .devices import check_name
from .errors import ConfigError
from .ranges import (
    MAX_ITERATIONS,
    MAX_LEARNING_RATE,
    MAX_MEMORY_GB,
    MAX_SIZE,
    MAX_STRENGTH,
    MAX_STYLE_SCALE,
    MAX_WEIGHT,
    SEEDS,
    check_weights,
    in_range,
    is_whole,
    parse_schedule,
    positive,
)

# The choices of a field are its type: every front end reads them from there (``choices``).
Init = Literal["palette", "recolor", "content", "noise"]  # the default first
Optimizer = Literal["lbfgs", "adam"]
LossForm = Literal["relative", "seed"]
PreserveColor = Literal["none", "luminance", "histogram", "yuv"]
Precision = Literal["auto", "fp32", "bf16"]
Representation = Literal["gram", "covariance", "correlation", "w2"]  # see cost/moments.py
Pooling = Literal["avg", "max"]
Preset = Literal["fast", "balanced", "best"]
Network = Literal["vgg16-hed", "vgg16", "vgg19"]  # the default first; network/registry.py

INITS: tuple[str, ...] = typing.get_args(Init)
OPTIMIZERS: tuple[str, ...] = typing.get_args(Optimizer)
LOSS_FORMS: tuple[str, ...] = typing.get_args(LossForm)
PRESERVE_COLORS: tuple[str, ...] = typing.get_args(PreserveColor)
PRECISIONS: tuple[str, ...] = typing.get_args(Precision)
REPRESENTATIONS: tuple[str, ...] = typing.get_args(Representation)
POOLINGS: tuple[str, ...] = typing.get_args(Pooling)
NETWORKS: tuple[str, ...] = typing.get_args(Network)
DEFAULT_NETWORK = NETWORKS[0]
DEFAULT_DEVICE = "auto"  # an NVIDIA GPU, else an Apple GPU, else the CPU (devices.py)
BLOCK_WEIGHTS = (256.0, 64.0, 16.0, 4.0, 1.0)  # default style-layer weight of each VGG block
PRESETS = {"fast": 0.5, "balanced": 1.0, "best": 3.0}  # preset -> iterations multiplier
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """A field's type hint ``X | None`` -> (X, True); anything else -> (hint, False)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def literal_choices(hint: Any) -> tuple[str, ...] | None:
    """The values a ``Literal[...]`` type (or ``Literal[...] | None``) allows; None for others."""
    inner, _ = unwrap_optional(hint)
    return typing.get_args(inner) if typing.get_origin(inner) is Literal else None


@functools.cache
def choices(config_class: type) -> dict[str, tuple[str, ...]]:
    """Each field of a config dataclass that is one of a few words, and those words."""
    hints = typing.get_type_hints(config_class)
    found = {f.name: literal_choices(hints[f.name]) for f in fields(config_class)}
    return {name: allowed for name, allowed in found.items() if allowed is not None}


def _opt(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class StyleConfig:
    """How to paint: sizes, loss weights, layers, optimiser and schedule."""

    size: int = _opt(512, "long side of the output in pixels")
    content_weight: float = _opt(
        200.0, "weight alpha of the content cost (relative: the same at every size)"
    )
    style_weight: float = _opt(
        100.0, "weight beta of the style cost (relative losses: the same at every size)"
    )
    tv_weight: float = _opt(
        3.0, "total-variation weight: smooths pixel noise (mean squared neighbour difference)"
    )
    structure_weight: float = _opt(
        0.0,
        "weight of the structure cost: the photo's edges as band-passed pixels (after Li et "
        "al. 2017); keeps outlines of buildings and machines inside the strokes (try 30-100)",
    )
    structure_scales: tuple[float, ...] = _opt(
        (2, 8), "scales of the structure cost's edges, in px of a 512 px picture"
    )
    content_layers: tuple[str, ...] = _opt(("relu4_2",), "layers for the content cost")
    style_layers: tuple[str, ...] = _opt(STYLE_LAYERS, "layers for the style cost")
    style_layer_weights: tuple[float, ...] | None = _opt(
        None, "weight lambda_l per style layer (default: 256:64:16:4:1 by block, used as given)"
    )
    style_blend: tuple[float, ...] | None = _opt(
        None, "blend weight per style image (default: equal); normalised to sum to 1"
    )
    strength: float = _opt(
        1.0,
        "how much style: 0 keeps the content, 1 is full style, more is stronger (below 1 "
        "the style targets mix in the content's own statistics); the same at every size",
    )
    style_representation: Representation = _opt(
        "gram",
        "style statistics: gram (default), covariance, correlation, or w2 "
        "(mean and covariance, Wasserstein-2 distance)",
    )
    style_scale: float = _opt(
        1.0, "style image size relative to the output: >1 gives bigger brush strokes"
    )
    preserve_color: PreserveColor = _opt(
        "none",
        "keep the content's colours: luminance (style on brightness only), histogram (recolour "
        "the style to the content's colours first) or yuv (put the content's colours back after)",
    )
    loss_form: LossForm = _opt(
        "relative",
        "relative: costs divided by their targets' size (resolution-independent); "
        "seed: the course notes' exact 1/2||.||^2 and 1/(2 nH nW nC)^2 formulas",
    )
    init: Init = _opt(
        "palette",
        "start from the content in the paintings' palette, brightness by brightness (palette), "
        "the content moved linearly to the paintings' colours (recolor, the default until "
        "2026-12-05), the content itself, noise, or an image file",
    )
    optimizer: Optimizer = _opt("lbfgs", "lbfgs or adam")
    smooth_steps: float = _opt(
        8.0,
        "precondition the optimiser so that its steps favour features larger than this many "
        "pixels (Fourier basis; stops a fine ripple in flat regions); 0 = steps on raw pixels",
    )
    learning_rate: float = _opt(0.02, "Adam step size (pixels in 0..1); L-BFGS ignores it")
    iterations: int = _opt(40, "iterations at the final size; each coarser size gets 1.2x more")
    preset: Preset = _opt(
        "balanced",
        "speed against quality: fast (half the iterations), balanced, or best (3x the "
        "iterations at every scale, about 3x the time); an explicit schedule ignores it",
    )
    min_size: int = _opt(181, "long side of the first, coarsest scale; 0 = single scale")
    schedule: str | None = _opt(
        None, "explicit plan SIZE:ITERS,... (e.g. 128:150,256:80,512:30), overrides the above"
    )
    tile: int = _opt(
        0,
        "evaluate pictures larger than this many pixels a side in overlapping tiles, "
        "to save memory (0: only when the memory budget needs it)",
    )
    max_memory: float = _opt(
        0.0,
        "memory budget in GB; bigger pictures are tiled to fit (0: the smaller of 8 GB and "
        "what is free)",
    )
    precision: Precision = _opt(
        "auto",
        "network precision: auto (bf16 where the CPU has AVX-512 BF16 or AMX, or the GPU is "
        "an NVIDIA Ampere or newer; else fp32), fp32, or bf16 (about 1.6x faster with those "
        "instructions, slower without)",
    )
    device: str = _opt(
        DEFAULT_DEVICE,
        "where to paint: auto (an NVIDIA GPU, else an Apple GPU, else the CPU), cpu, cuda, "
        "cuda:N or mps; a device that is not there is refused before any work",
    )
    pooling: Pooling = _opt(
        "max",
        "pooling in the network: max (as it was trained, and as the reference tool paints) or "
        "avg (Gatys et al.'s choice; a little less style on every benchmark pair)",
    )
    network: Network = _opt("vgg16-hed", "network: vgg16-hed (default), vgg16, vgg19")
    weights: str | None = _opt(
        None, "weights file for the network (default: the cache; see `impasto weights`)"
    )
    seed: int = _opt(0, "random seed; the same seed and inputs give the same picture")

    def __post_init__(self) -> None:
        for name in ("size", "iterations", "learning_rate"):
            positive(name, getattr(self, name))
        for name, low, high in _RANGES:
            in_range(name, getattr(self, name), low, high)
        positive("style_scale", self.style_scale)
        if not is_whole(self.seed):
            raise ConfigError(f"seed must be a whole number, got {self.seed!r}")
        in_range("seed", self.seed, *SEEDS)
        if self.schedule is not None:
            parse_schedule(self.schedule)
        check_choices(self)
        object.__setattr__(self, "device", check_name(self.device))
        if not self.content_layers and self.content_weight > 0:
            raise ConfigError("content_layers is empty but content_weight > 0")
        if not self.style_layers:
            raise ConfigError("style_layers is empty")
        for name in ("content_layers", "style_layers"):
            layers = getattr(self, name)
            if len(set(layers)) != len(layers):
                raise ConfigError(f"{name} names a layer twice: {', '.join(layers)}")
        weights = self.style_layer_weights
        if weights is not None and len(weights) != len(self.style_layers):
            raise ConfigError(
                f"{len(weights)} style layer weights given for {len(self.style_layers)} "
                f"style layers ({', '.join(self.style_layers)})"
            )
        if weights is not None:
            check_weights("style layer weights", weights)
        if self.loss_form == "seed" and self.style_representation != "gram":
            raise ConfigError("the seed loss form uses the Gram matrix only")
        if self.loss_form == "seed" and self.strength < 1:
            raise ConfigError("strength below 1 needs the relative loss form")
        if self.style_blend is not None:
            check_weights("style blend weights", self.style_blend)
        if not self.structure_scales:
            raise ConfigError("structure_scales is empty")
        for scale in self.structure_scales:
            in_range("structure_scales", scale, 0, MAX_SIZE)
            positive("structure_scales", scale)

    def layer_weights(self) -> dict[str, float]:
        """lambda_l for each style layer: as given, else the default (``BLOCK_WEIGHTS``), as is.

        The seed form weighs the layers equally, summing to 1, as the course notes do. The
        relative form departs from Gatys et al.: with relative costs relu5_1 pulls on the
        pixels some 70x harder than relu1_1 per unit of weight, so equal weights let the deep
        layers dominate; each block gets a quarter of the weight of the block before it
        (256:64:16:4:1, as crowsonkb/style-transfer-pytorch does). Until 2026-12-02 these were
        scaled to sum to 1: a style cost 341x weaker than the same numbers given by hand, too
        weak against the content cost, and flat skies kept a fine ripple. Used as given they
        leave no more fine ripple than the painting's own on 9 of 9 benchmark pairs, with the
        independent style distance lower (benchmarks/RESULTS.md), and typing the default in
        paints the same picture.
        """
        if self.style_layer_weights is not None:
            return dict(zip(self.style_layers, self.style_layer_weights))
        if self.loss_form == "seed":
            return {name: 1 / len(self.style_layers) for name in self.style_layers}
        last = len(BLOCK_WEIGHTS)
        return {name: BLOCK_WEIGHTS[min(_block(name), last) - 1] for name in self.style_layers}

    def blend(self, n_styles: int) -> list[float]:
        """Blend weight of each style image, normalised to sum to 1."""
        weights = self.style_blend or (1.0,) * n_styles
        if len(weights) != n_styles:
            raise ConfigError(f"{len(weights)} blend weights given for {n_styles} style images")
        total = sum(weights)
        return [w / total for w in weights]


# (field, lowest, highest) of every number of StyleConfig; "> 0" is checked on its own
_RANGES = (
    ("size", 0, MAX_SIZE),
    ("iterations", 0, MAX_ITERATIONS),
    ("min_size", 0, MAX_SIZE),
    ("tile", 0, MAX_SIZE),
    ("content_weight", 0, MAX_WEIGHT),
    ("style_weight", 0, MAX_WEIGHT),
    ("tv_weight", 0, MAX_WEIGHT),
    ("structure_weight", 0, MAX_WEIGHT),
    ("strength", 0, MAX_STRENGTH),
    ("style_scale", 0, MAX_STYLE_SCALE),
    ("smooth_steps", 0, MAX_SIZE),
    ("learning_rate", 0, MAX_LEARNING_RATE),
    ("max_memory", 0, MAX_MEMORY_GB),
)


def _block(layer: str) -> int:
    """The VGG block a layer belongs to: relu3_1 -> 3 (names are checked elsewhere)."""
    digits = "".join(ch for ch in layer.split("_")[0] if ch.isdigit())
    return int(digits) if digits else 1


def check_choices(config: StyleConfig | VideoConfig) -> None:
    """Each field typed as a few words holds one of them, or ConfigError in the field's name."""
    kind: type = type(config)
    for name, allowed in choices(kind).items():
        value = getattr(config, name)
        if value not in allowed:
            hint = ""
            if name == "init":
                hint = " (to start from an image, pass it to stylize() as init_image)"
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}{hint}")


def config_fields():
    """The dataclass fields, for front ends that build their options from them."""
    return fields(StyleConfig)


VIDEO_SIZE = 256  # the long side `impasto video` paints at unless --size says otherwise


@dataclass(frozen=True)
class VideoConfig:
    """How to paint a clip beyond how to paint one frame (Ruder, Dosovitskiy & Brox 2016).

    The first frame is painted as a picture (``StyleConfig``); every later frame starts from
    the previous painted frame carried along the optical flow and runs a short optimisation at
    the output size with the temporal cost pulling it towards that start where the flow is
    reliable.
    """

    temporal_weight: float = _opt(
        341000.0,
        "weight gamma of the temporal cost: how strongly each frame keeps the previous "
        "painted frame where the motion is reliable (0: only the start is carried over)",
    )
    frame_iterations: int = _opt(
        20, "iterations for each frame after the first, at the output size"
    )
    per_frame: bool = _opt(
        False,
        "paint every frame on its own with the full schedule, no flow (flickers; slower; "
        "for comparison)",
    )

    def __post_init__(self) -> None:
        in_range("temporal_weight", self.temporal_weight, 0, MAX_WEIGHT)
        in_range("frame_iterations", self.frame_iterations, 0, MAX_ITERATIONS)
        positive("frame_iterations", self.frame_iterations)


# `impasto explain` (explain/): the defaults of its command and its functions alike.
EXPLAIN_POOLING: Pooling = "avg"  # as Gatys et al. made their Fig. 1; a painting's is max
PATCH_SIZE = 512  # long side the images are shrunk to before their patches are searched
STYLE_SIZE = 512  # long side of the style image, as stylize's default output size
RECONSTRUCT_SIZE = 192  # long side of a reconstruction
RECONSTRUCT_ITERATIONS = 100  # L-BFGS iterations of a reconstruction at full size
