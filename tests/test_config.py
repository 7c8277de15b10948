"""StyleConfig: every invalid value is refused with a ConfigError on creation.

Defaults are still being tuned, so nothing here depends on their values, only on their validity.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from impasto import config as config_module
from impasto import ranges
from impasto.config import StyleConfig, config_fields
from impasto.errors import ConfigError, ImpastoError

NAN = float("nan")


def test_defaults_are_valid():
    c = StyleConfig()
    assert c.size > 0 and c.iterations > 0
    assert c.optimizer in config_module.OPTIMIZERS
    assert c.loss_form in config_module.LOSS_FORMS
    assert c.style_layers and all(w > 0 for w in c.layer_weights().values())


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"size": 0}, "size must be > 0"),
        ({"size": -3}, "size must be > 0"),
        ({"iterations": 0}, "iterations must be > 0"),
        ({"content_weight": -1.0}, "content_weight must be >= 0"),
        ({"style_weight": -0.5}, "style_weight must be >= 0"),
        ({"tv_weight": -1e-3}, "tv_weight must be >= 0"),
        ({"style_scale": -1.0}, "style_scale must be >= 0"),
        ({"style_scale": 0.0}, "style_scale must be > 0"),
        ({"learning_rate": 0.0}, "learning_rate must be > 0"),
        ({"learning_rate": -0.1}, "learning_rate must be > 0"),
        ({"min_size": -1}, "min_size must be >= 0"),
        ({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam, got 'sgd'"),
        ({"loss_form": "mse"}, "loss_form must be one of relative, seed, got 'mse'"),
        ({"pooling": "min"}, "pooling must be one of avg, max, got 'min'"),
        (
            {"preserve_color": "sepia"},
            "preserve_color must be one of none, luminance, histogram, yuv, got 'sepia'",
        ),
        ({"style_layers": ()}, "style_layers is empty"),
        ({"content_layers": ()}, "content_layers is empty but content_weight > 0"),
        (
            {"style_layers": ("relu1_1", "relu2_1"), "style_layer_weights": (1.0,)},
            "1 style layer weights given for 2 style layers (relu1_1, relu2_1)",
        ),
        (
            {"style_layers": ("relu1_1",), "style_layer_weights": (0.5, 0.5)},
            "2 style layer weights given for 1 style layers",
        ),
        (
            {"style_layers": ("relu1_1", "relu2_1"), "style_layer_weights": (1.0, -0.1)},
            "style layer weights must be >= 0",
        ),
        (
            {"style_layers": ("relu1_1", "relu2_1"), "style_layer_weights": (0.0, 0.0)},
            "not all zero",
        ),
        ({"style_blend": ()}, "style blend weights"),
        ({"style_blend": (1.0, -1.0)}, "style blend weights must be >= 0"),
        ({"style_blend": (0.0, 0.0)}, "style blend weights must be >= 0 and not all zero"),
    ],
)
def test_invalid_values_raise_config_error(kwargs, words):
    with pytest.raises(ConfigError) as info:
        StyleConfig(**kwargs)
    assert words in str(info.value)
    assert isinstance(info.value, ImpastoError)
    assert "\n" not in str(info.value)


def test_empty_content_layers_allowed_without_content_weight():
    c = StyleConfig(content_layers=(), content_weight=0.0)
    assert c.content_layers == ()


def test_zero_weights_are_valid():
    StyleConfig(content_weight=0.0, style_weight=0.0, tv_weight=0.0, min_size=0)


def test_replace_validates_again():
    c = StyleConfig()
    with pytest.raises(ConfigError, match="size must be > 0"):
        dataclasses.replace(c, size=0)
    assert dataclasses.replace(c, size=64).size == 64


@pytest.mark.parametrize(
    "name", ["content_weight", "style_weight", "tv_weight", "style_scale", "learning_rate"]
)
def test_nan_is_refused(name):
    with pytest.raises(ConfigError):
        StyleConfig(**{name: NAN})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"style_layers": ("relu1_1", "relu2_1"), "style_layer_weights": (1.0, NAN)},
        {"style_blend": (1.0, NAN)},
    ],
)
def test_nan_in_weight_lists_is_refused(kwargs):
    with pytest.raises(ConfigError):
        StyleConfig(**kwargs)


# -------------------------------------------------------------------- layer weights


def test_layer_weights_default_is_the_same_as_giving_its_numbers():
    """The relative form's default is used as is: typing it in paints the same picture."""
    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1", "relu3_3")
    default = StyleConfig(style_layers=layers).layer_weights()
    given = StyleConfig(style_layers=layers, style_layer_weights=(256, 64, 16, 4, 1, 16))
    assert default == given.layer_weights()


def test_layer_weights_seed_default_sums_to_one():
    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
    w = StyleConfig(style_layers=layers, loss_form="seed").layer_weights()
    assert list(w) == list(layers)
    assert math.fsum(w.values()) == pytest.approx(1.0)


def test_layer_weights_seed_form_default_equal():
    """The course notes weigh the style layers equally."""
    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    w = StyleConfig(style_layers=layers, loss_form="seed").layer_weights()
    assert list(w.values()) == pytest.approx([0.2] * 5)


def test_layer_weights_as_given():
    c = StyleConfig(style_layers=("relu1_1", "relu3_1"), style_layer_weights=(2.0, 0.5))
    assert c.layer_weights() == {"relu1_1": 2.0, "relu3_1": 0.5}


# --------------------------------------------------------------------------- blend


def test_blend_default_equal():
    assert StyleConfig().blend(1) == [1.0]
    assert StyleConfig().blend(4) == pytest.approx([0.25] * 4)


def test_blend_normalised_to_sum_to_one():
    assert StyleConfig(style_blend=(1.0, 3.0)).blend(2) == pytest.approx([0.25, 0.75])
    assert StyleConfig(style_blend=(2.0, 0.0, 2.0)).blend(3) == pytest.approx([0.5, 0.0, 0.5])
    assert StyleConfig(style_blend=(5.0,)).blend(1) == [1.0]


def test_blend_count_must_match_styles():
    with pytest.raises(ConfigError, match="2 blend weights given for 3 style images"):
        StyleConfig(style_blend=(1.0, 1.0)).blend(3)


# ---------------------------------------------------------------------------- frozen


def test_frozen():
    c = StyleConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.size = 64  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.style_weight = 0.0  # type: ignore[misc]


def test_equal_configs_compare_and_hash_equal():
    a = StyleConfig(size=64, style_layers=("relu1_1",))
    b = StyleConfig(size=64, style_layers=("relu1_1",))
    assert a == b and hash(a) == hash(b)
    assert a != dataclasses.replace(a, seed=1)


def test_config_fields_have_help():
    names = [f.name for f in config_fields()]
    assert names == [f.name for f in dataclasses.fields(StyleConfig)]
    for f in config_fields():
        assert f.metadata.get("help"), f.name
    choices = config_module.choices(StyleConfig)  # from the fields' Literal types
    assert choices["optimizer"] == config_module.OPTIMIZERS == ("lbfgs", "adam")
    assert choices["loss_form"] == config_module.LOSS_FORMS
    assert choices["network"] == config_module.NETWORKS
    assert tuple(config_module.PRESETS) == choices["preset"]
    assert "size" not in choices and "schedule" not in choices


def test_the_networks_are_the_registrys():
    from impasto.network import registry

    assert tuple(registry.NETWORKS) == config_module.NETWORKS
    assert registry.DEFAULT_NETWORK == StyleConfig().network


# --------------------------------------------------------- numbers beyond what anything takes

INF = float("inf")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"size": 10**30}, "size must be at most 2147483647, got 1.00e+30"),
        ({"size": 2**31}, "size must be at most 2147483647"),
        ({"min_size": 10**30}, "min_size must be at most"),
        ({"tile": 10**30}, "tile must be at most"),
        ({"iterations": 10**30}, "iterations must be at most 1000000"),
        ({"content_weight": 1e300}, "content_weight must be at most 1e+12"),
        ({"style_weight": INF}, "style_weight must be at most"),
        ({"tv_weight": 1e308}, "tv_weight must be at most"),
        ({"strength": 1e300}, "strength must be at most"),
        ({"style_scale": 1e300}, "style_scale must be at most"),
        ({"style_scale": INF}, "style_scale must be at most"),
        ({"smooth_steps": 1e300}, "smooth_steps must be at most"),
        ({"learning_rate": INF}, "learning_rate must be at most"),
        ({"max_memory": 1e300}, "max_memory must be at most"),
        ({"max_memory": INF}, "max_memory must be at most"),
        ({"max_memory": NAN}, "max_memory must be >= 0"),
        ({"seed": 2**64}, "seed must be at most 18446744073709551615"),
        ({"seed": -(2**63) - 1}, "seed must be >= -9223372036854775808"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"size": "512"}, "size must be a number"),
        ({"style_blend": (1e308, 1e308)}, "style blend weights must be at most 1e+12 each"),
        ({"style_blend": (1.0, INF)}, "style blend weights must be at most"),
        (
            {"style_layers": ("relu1_1", "relu2_1"), "style_layer_weights": (1e300, 1.0)},
            "style layer weights must be at most",
        ),
        ({"schedule": "64:5,10000000000000:5"}, "sizes must be at most 2147483647"),
        ({"schedule": "64:10000000"}, "counts at most 1000000"),
        ({"schedule": "64:5,32:5"}, "from small to large"),
        ({"schedule": "big"}, "expected SIZE:ITERATIONS"),
        # true and false are no numbers (Python counts them as 1 and 0): a size of True
        # painted a 1-pixel picture, a tile of True 7 hours of 1-pixel tiles
        ({"size": True}, "size must be a number, got True"),
        ({"tile": True}, "tile must be a number, got True"),
        ({"strength": False}, "strength must be a number, got False"),
        ({"max_memory": True}, "max_memory must be a number, got True"),
        ({"style_scale": True}, "style_scale must be a number, got True"),
        ({"style_blend": (True, 1.0)}, "style blend weights must be numbers, got True"),
        (
            {"style_layers": ("relu1_1", "relu2_1"), "style_layer_weights": (1.0, False)},
            "style layer weights must be numbers, got False",
        ),
    ],
)
def test_numbers_beyond_their_range_are_one_short_line(kwargs, words):
    with pytest.raises(ConfigError) as info:
        StyleConfig(**kwargs)
    message = str(info.value)
    assert words in message and "\n" not in message and len(message) < 200, message


def test_the_ends_of_each_range_are_accepted():
    top = ranges.MAX_SIZE
    StyleConfig(size=top, min_size=top, tile=top, smooth_steps=top)
    StyleConfig(seed=2**64 - 1)
    StyleConfig(seed=-(2**63))
    StyleConfig(iterations=ranges.MAX_ITERATIONS, max_memory=ranges.MAX_MEMORY_GB)
    StyleConfig(style_blend=(ranges.MAX_WEIGHT,) * 2, style_weight=ranges.MAX_WEIGHT)
    StyleConfig(schedule=f"64:5,{top}:{ranges.MAX_ITERATIONS}")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"temporal_weight": 1e300}, "temporal_weight must be at most"),
        ({"temporal_weight": NAN}, "temporal_weight must be >= 0"),
        ({"frame_iterations": 10**30}, "frame_iterations must be at most"),
        ({"frame_iterations": 0}, "frame_iterations must be > 0"),
        ({"temporal_weight": True}, "temporal_weight must be a number, got True"),
        ({"frame_iterations": True}, "frame_iterations must be a number, got True"),
    ],
)
def test_video_settings_beyond_their_range(kwargs, words):
    from impasto.config import VideoConfig

    with pytest.raises(ConfigError, match=words):
        VideoConfig(**kwargs)
