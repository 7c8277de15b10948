"""The painting settings as the page shows them (from StyleConfig's fields) and back again.

The page's controls are built from the same fields as the command line's options: name,
default, help and choices, so a new field appears on the page without edits. Values come back
as JSON and become a ``StyleConfig``, whose own checks give the ranges and the messages.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ... import fields as values
from ...config import StyleConfig
from ...errors import ConfigError

# Not settable from the page: a weights file is a path on the server (no endpoint reads a
# path a user names), the start image is chosen as a result or an upload, not typed, and the
# device is the server's (``impasto serve --device``): one device paints every request.
HIDDEN = ("weights", "init", "device")
DEFAULT_INIT = StyleConfig().init  # the page's "start from" when a request names none
# The controls shown first; the rest go under "more".
MAIN = ("size", "strength", "preserve_color", "style_scale", "style_representation", "preset")
# What a touch-up may change besides the strokes (anything else is a new painting).
TOUCH_UPS = ("strength", "preserve_color")


def fields() -> list[dict[str, Any]]:
    """Every settable field: name, kind, default, help, choices, and whether it is a main one.

    The kind is what the page draws: int, float, str, bool, or ints, floats, strs for lists."""
    return [
        {
            "name": kind.name,
            "kind": kind.item.__name__ + ("s" if kind.many else ""),
            "optional": kind.optional,
            "default": kind.default,
            "help": kind.help,
            "choices": list(kind.choices) if kind.choices else None,
            "main": kind.name in MAIN,
        }
        for kind in values.kinds().values()
        if kind.name not in HIDDEN
    ]


def _settable(name: str) -> values.Kind:
    kind = values.kinds().get(name)
    if kind is None or name in HIDDEN:
        raise ConfigError(f"unknown setting {name!r}")
    return kind


def config_from(settings: dict[str, Any], init: str = DEFAULT_INIT, *, device: str) -> StyleConfig:
    """A checked StyleConfig from the page's values (missing ones keep their defaults), painted
    on the server's ``device`` (required: no request may fall back to another one)."""
    if not isinstance(settings, dict):
        raise ConfigError("settings must be an object of field names and values")
    kwargs = {name: values.parse(_settable(name), raw) for name, raw in settings.items()}
    return StyleConfig(**kwargs, init=values.parse(values.kinds()["init"], init), device=device)


def touch_up_changes(settings: Any) -> dict[str, Any]:
    """The page's touch-up settings (``TOUCH_UPS`` only) as checked field values."""
    if not isinstance(settings, dict):
        raise ConfigError("settings must be an object of field names and values")
    changes: dict[str, Any] = {}
    for name, raw in settings.items():
        kind = _settable(name)  # a hidden one (the device) is no page's, new painting or not
        if name not in TOUCH_UPS:
            raise ConfigError(
                f"a touch-up changes the strength, the colour mode or the strokes; {name!r} "
                "needs a new painting"
            )
        changes[name] = values.parse(kind, raw)
    StyleConfig(**changes)  # their ranges and choices, in the config's own words
    return changes


def changed(config: StyleConfig) -> dict[str, Any]:
    """The fields that differ from the defaults: a result's settings, short (not the device:
    the server's, the same for every result, and said once on the page)."""
    default = StyleConfig()
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(StyleConfig)
        if f.name != "device" and getattr(config, f.name) != getattr(default, f.name)
    }
