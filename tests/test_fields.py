"""fields.py: one parser from text (an option, a manifest cell, the web page's settings) to a
StyleConfig field's value, with the same result and the same words everywhere."""

from __future__ import annotations

import pytest

from impasto import fields
from impasto.apps.batch.manifest import read_manifest
from impasto.apps.main import main
from impasto.config import StyleConfig, VideoConfig
from impasto.errors import ConfigError


def parse(name: str, raw):
    return fields.parse_field(name, raw)


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("size", "512", 512),
        ("size", " 512 ", 512),
        ("size", 512, 512),
        ("size", 512.0, 512),  # a JSON number that is whole
        ("strength", "0.5", 0.5),
        ("strength", 2, 2.0),
        ("style_blend", "1,2", (1.0, 2.0)),
        ("style_blend", [1, "2"], (1.0, 2.0)),
        ("style_blend", "", None),  # optional: the default
        ("style_layers", "relu1_1, relu2_1,", ("relu1_1", "relu2_1")),
        ("content_layers", "", ()),  # a list that is not optional: empty
        ("schedule", "", None),
        ("preserve_color", " luminance ", "luminance"),
        ("network", "vgg19", "vgg19"),
    ],
)
def test_values_as_their_fields_type(name, raw, value):
    assert parse(name, raw) == value


def test_a_bool_field_takes_json_and_words():
    kind = fields.kinds(VideoConfig)["per_frame"]
    assert [fields.parse(kind, v) for v in (True, "yes", "on", "1", False, "no", "0")] == [
        True, True, True, True, False, False, False,
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="per_frame must be true or false, got 'maybe'"):
        fields.parse(kind, "maybe")


@pytest.mark.parametrize(
    ("name", "raw", "words"),
    [
        ("size", "big", "size must be a whole number, got 'big'"),
        ("size", 1.5, "size must be a whole number, got 1.5"),
        ("size", True, "size must be a whole number, got True"),
        ("size", [512], "size must be a whole number, got [512]"),
        ("size", None, "size needs a value"),
        ("strength", "x", "strength must be a number, got 'x'"),
        ("strength", "inf", "strength must be a finite number, got 'inf'"),
        ("strength", "nan", "strength must be a finite number, got 'nan'"),
        ("style_blend", "1,inf", "style_blend must be a list of finite numbers, got '1,inf'"),
        ("style_blend", ["inf", 1], "style_blend must be a list of finite numbers"),
        ("style_blend", {"a": 1}, "style_blend must be a list of numbers, got {'a': 1}"),
        ("style_blend", "1,x", "style_blend must be a list of numbers, got '1,x'"),
        ("preserve_color", "sepia", "preserve_color must be one of none, luminance, histogram"),
        ("network", "alexnet", "network must be one of vgg16-hed, vgg16, vgg19, got 'alexnet'"),
    ],
)
def test_refusals_name_the_field_and_what_it_takes(name, raw, words):
    with pytest.raises(ConfigError) as info:
        parse(name, raw)
    assert words in str(info.value)


def test_choices_come_from_the_fields_types():
    kinds = fields.kinds()
    assert kinds["optimizer"].choices == ("lbfgs", "adam")
    assert kinds["pooling"].choices == ("avg", "max")
    assert kinds["size"].choices is None and kinds["size"].item is int
    assert [k.name for k in kinds.values()] == list(StyleConfig.__dataclass_fields__)


# The same text, refused by the command line, a manifest and the web page in the same words.
SAME = [
    ("size", "big", "must be a whole number, got 'big'"),
    ("strength", "inf", "must be a finite number, got 'inf'"),
    ("style_weight", "nan", "must be a finite number, got 'nan'"),
    ("style_blend", "1,inf", "must be a list of finite numbers, got '1,inf'"),
    ("style_layer_weights", "1,x", "must be a list of numbers, got '1,x'"),
    ("preserve_color", "sepia", "must be one of none, luminance, histogram, yuv, got 'sepia'"),
    ("optimizer", "sgd", "must be one of lbfgs, adam, got 'sgd'"),
]


@pytest.mark.parametrize(("name", "text", "words"), SAME)
def test_every_front_end_says_the_same(tmp_path, capsys, name, text, words):
    from impasto.apps.web import settings

    flag = "--" + name.replace("_", "-")
    assert main(["c.png", "s.png", flag, text]) == 2
    assert f"argument {flag}: {words}" in capsys.readouterr().err
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f'content,style,{name}\nc.png,s.png,"{text}"\n')
    with pytest.raises(ConfigError) as info:
        read_manifest(manifest, StyleConfig())
    assert str(info.value) == f"{manifest}:2: {name} {words}"
    with pytest.raises(ConfigError) as info:
        settings.config_from({name: text}, device="cpu")
    assert str(info.value) == f"{name} {words}"
