"""Every default of a stylisation run, in one frozen dataclass validated on creation.

No torch here: the command line imports this to build ``--help`` and must answer at once.

The CLI builds its options from these fields (name, default and the ``help`` metadata), so the
defaults live here and nowhere else.
"""

from __future__ import annotations

import decimal
import numbers
import os
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError

INITS = ("palette", "recolor", "content", "noise")  # the default first
OPTIMIZERS = ("lbfgs", "adam")
LOSS_FORMS = ("relative", "seed")
PRESERVE_COLORS = ("none", "luminance", "histogram", "yuv")
PRECISIONS = ("auto", "fp32", "bf16")
BLOCK_WEIGHTS = (256.0, 64.0, 16.0, 4.0, 1.0)  # default style-layer weight of each VGG block
PRESETS = {"fast": 0.5, "balanced": 1.0, "best": 3.0}  # preset -> iterations multiplier
REPRESENTATIONS = ("gram", "covariance", "correlation", "w2")  # see cost/moments.py
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

# The ranges every front end refuses alike (the command line, manifests, the web page, the API):
# values beyond them are no picture anyone wants, and would fail deep in torch, the encoders
# or the arithmetic (an int too large for a float) instead of as one line here.
MAX_SIZE = 2**31 - 1  # px: the longest side a PNG (and PIL) can hold; the memory budget
# then judges a size long before this, with the largest size that fits (engine/budget.py)
MAX_PIXELS = 100_000_000  # width x height of any picture: a file, a frame or a tensor
MAX_ITERATIONS = 1_000_000  # per scale
MAX_WEIGHT = 1e12  # any cost weight: a blend of them, times each other, stays finite
MAX_STRENGTH = 1000.0
MAX_STYLE_SCALE = 1000.0
MAX_LEARNING_RATE = 100.0  # pixels are in 0..1
MAX_MEMORY_GB = 10_000.0  # 10 TB: more than any one machine has
SEEDS = (-(2**63), 2**64 - 1)  # what torch.manual_seed takes
THREADS_PER_CORE = 4  # --threads (and batch --cores) at most this many times the cores
MAX_SECONDS = 1e7  # a clip's --start and --duration: about 16 weeks, longer than any clip
FPS_RANGE = (0.01, 1000.0)  # a clip's --fps: beyond it encoders fail or players refuse


def unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """A field's type hint ``X | None`` -> (X, True); anything else -> (hint, False).

    Every front end that builds its controls from the fields (options, manifest columns, the
    web page's settings) reads the types through this.
    """
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


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
    style_representation: str = _opt(
        "gram",
        "style statistics: gram (default), covariance, correlation, or w2 "
        "(mean and covariance, Wasserstein-2 distance)",
        choices=REPRESENTATIONS,
    )
    style_scale: float = _opt(
        1.0, "style image size relative to the output: >1 gives bigger brush strokes"
    )
    preserve_color: str = _opt(
        "none",
        "keep the content's colours: luminance (style on brightness only), histogram (recolour "
        "the style to the content's colours first) or yuv (put the content's colours back after)",
        choices=PRESERVE_COLORS,
    )
    loss_form: str = _opt(
        "relative",
        "relative: costs divided by their targets' size (resolution-independent); "
        "seed: the course notes' exact 1/2||.||^2 and 1/(2 nH nW nC)^2 formulas",
        choices=LOSS_FORMS,
    )
    init: str = _opt(
        "palette",
        "start from the content in the paintings' palette, brightness by brightness (palette), "
        "the content moved linearly to the paintings' colours (recolor, the default until "
        "2026-12-05), the content itself, noise, or an image file",
    )
    optimizer: str = _opt("lbfgs", "lbfgs or adam", choices=OPTIMIZERS)
    smooth_steps: float = _opt(
        8.0,
        "precondition the optimiser so that its steps favour features larger than this many "
        "pixels (Fourier basis; stops a fine ripple in flat regions); 0 = steps on raw pixels",
    )
    learning_rate: float = _opt(0.02, "Adam step size (pixels in 0..1); L-BFGS ignores it")
    iterations: int = _opt(40, "iterations at the final size; each coarser size gets 1.2x more")
    preset: str = _opt(
        "balanced",
        "speed against quality: fast (half the iterations), balanced, or best (3x the "
        "iterations at every scale, about 3x the time); an explicit schedule ignores it",
        choices=tuple(PRESETS),
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
    precision: str = _opt(
        "auto",
        "network precision: auto (bf16 where the CPU has AVX-512 BF16 or AMX, else fp32), "
        "fp32, or bf16 (about 1.6x faster with those instructions, slower without)",
        choices=PRECISIONS,
    )
    pooling: str = _opt(
        "max",
        "pooling in the network: max (as it was trained, and as the reference tool paints) or "
        "avg (Gatys et al.'s choice; a little less style on every benchmark pair)",
        choices=("avg", "max"),
    )
    network: str = _opt("vgg16-hed", "network: vgg16-hed (default), vgg16, vgg19")
    weights: str | None = _opt(
        None, "weights file for the network (default: the cache; see `impasto weights`)"
    )
    seed: int = _opt(0, "random seed; the same seed and inputs give the same picture")

    def __post_init__(self) -> None:
        for name in ("size", "iterations", "learning_rate"):
            _positive(name, getattr(self, name))
        for name, low, high in _RANGES:
            in_range(name, getattr(self, name), low, high)
        _positive("style_scale", self.style_scale)
        if not is_whole(self.seed):
            raise ConfigError(f"seed must be a whole number, got {self.seed!r}")
        in_range("seed", self.seed, *SEEDS)
        if self.schedule is not None:
            parse_schedule(self.schedule)
        if self.init not in INITS:
            raise ConfigError(
                f"init must be one of {', '.join(INITS)}, got {self.init!r} "
                "(to start from an image, pass it to stylize() as init_image)"
            )
        for name, allowed in (
            ("loss_form", LOSS_FORMS),
            ("optimizer", OPTIMIZERS),
            ("pooling", ("avg", "max")),
            ("style_representation", REPRESENTATIONS),
            ("preserve_color", PRESERVE_COLORS),
            ("precision", PRECISIONS),
            ("preset", tuple(PRESETS)),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )
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
            _check_weights("style layer weights", weights)
        if self.loss_form == "seed" and self.style_representation != "gram":
            raise ConfigError("the seed loss form uses the Gram matrix only")
        if self.loss_form == "seed" and self.strength < 1:
            raise ConfigError("strength below 1 needs the relative loss form")
        if self.style_blend is not None:
            _check_weights("style blend weights", self.style_blend)
        if not self.structure_scales:
            raise ConfigError("structure_scales is empty")
        for scale in self.structure_scales:
            in_range("structure_scales", scale, 0, MAX_SIZE)
            _positive("structure_scales", scale)

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


def shown(value: Any) -> str:
    """A number as a message shows it: short even when it has 300 digits."""
    if _is_number(value) and abs(value) >= 1e15:
        try:
            return format(decimal.Decimal(value), ".3g")
        except (ValueError, TypeError, decimal.InvalidOperation):
            pass
    return str(value)


def _is_number(value: Any) -> bool:
    """A real number; True and False are not, though Python counts them as 1 and 0."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_whole(value: Any) -> bool:
    """A whole number; True and False are not."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def in_range(name: str, value: Any, low: float, high: float) -> None:
    """``low <= value <= high`` (so never NaN nor infinite), or ConfigError naming ``name``."""
    if not _is_number(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not value >= low:  # "not >=" also catches NaN
        raise ConfigError(f"{name} must be >= {_bound(low)}, got {shown(value)}")
    if not value <= high:
        raise ConfigError(f"{name} must be at most {_bound(high)}, got {shown(value)}")


def _bound(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_weights(what: str, weights: tuple[float, ...]) -> None:
    """Not empty, each a number in 0..MAX_WEIGHT (not NaN), not all zero."""
    if (odd := next((w for w in weights if not _is_number(w)), None)) is not None:
        raise ConfigError(f"{what} must be numbers, got {odd!r}")
    if not weights or not all(_is_number(w) and w >= 0 for w in weights):
        raise ConfigError(f"{what} must be >= 0 and not all zero")
    if not all(w <= MAX_WEIGHT for w in weights):
        worst = max(weights)
        raise ConfigError(f"{what} must be at most {MAX_WEIGHT:g} each, got {shown(worst)}")
    if not sum(weights) > 0:
        raise ConfigError(f"{what} must be >= 0 and not all zero")


def parse_schedule(text: str) -> list[tuple[int, int]]:
    """An explicit plan such as ``"128:150,256:80,512:30"`` as (long side, iterations) pairs,
    checked: sizes 1..MAX_SIZE, counts 0..MAX_ITERATIONS, from small to large sizes."""
    if not isinstance(text, str):
        raise ConfigError(f"schedule must be text such as 128:150,256:80, got {text!r}")
    scales = []
    for part in text.split(","):
        try:
            size, iters = (int(v) for v in part.strip().split(":"))
        except ValueError:
            raise ConfigError(
                f"bad schedule entry {part.strip()[:40]!r}; expected SIZE:ITERATIONS, "
                "e.g. 128:150,256:80,512:30"
            ) from None
        if size < 1 or iters < 0:
            raise ConfigError(
                f"bad schedule entry {part.strip()!r}; sizes must be > 0 and counts >= 0"
            )
        if size > MAX_SIZE or iters > MAX_ITERATIONS:
            raise ConfigError(
                f"bad schedule entry {shown(size)}:{shown(iters)}; sizes must be at most "
                f"{MAX_SIZE} and counts at most {MAX_ITERATIONS}"
            )
        scales.append((size, iters))
    if any(b[0] < a[0] for a, b in zip(scales, scales[1:])):
        raise ConfigError(f"schedule {text!r} must go from small to large sizes")
    return scales


def check_threads(value: Any, name: str = "threads") -> int:
    """A count of CPU threads (``threads``, batch ``cores``): 1 up to ``THREADS_PER_CORE``
    times this machine's cores. More only makes threads wait for each other, and thousands
    hang the process."""
    cores = os.cpu_count() or 1
    limit = THREADS_PER_CORE * cores
    if not is_whole(value):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    if value > limit:
        raise ConfigError(
            f"{name} must be at most {limit} ({THREADS_PER_CORE} x the {cores} cores of this "
            f"machine), got {shown(value)}"
        )
    return int(value)


def check_span(start: Any, duration: Any, fps: Any) -> None:
    """A clip's span: ``start`` and ``duration`` (None: to the end) in seconds, ``fps`` (None:
    the clip's own rate); ConfigError in the library's words."""
    in_range("start", start, 0, MAX_SECONDS)
    if duration is not None:
        in_range("duration", duration, 0, MAX_SECONDS)
        if not duration > 0:
            raise ConfigError(f"duration must be more than 0 s, not {duration} s")
    if fps is not None:
        in_range("fps", fps, *FPS_RANGE)


def _block(layer: str) -> int:
    """The VGG block a layer belongs to: relu3_1 -> 3 (names are checked elsewhere)."""
    digits = "".join(ch for ch in layer.split("_")[0] if ch.isdigit())
    return int(digits) if digits else 1


def _positive(name: str, value: Any) -> None:
    if not _is_number(value):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not value > 0:  # "not >" also catches NaN
        raise ConfigError(f"{name} must be > 0, got {value}")


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
        _positive("frame_iterations", self.frame_iterations)
