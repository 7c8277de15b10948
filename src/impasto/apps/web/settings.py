"""The painting settings as the page shows them (from StyleConfig's fields) and back again.

The page's controls are built from the same fields as the command line's options: name,
default, help and choices, so a new field appears on the page without edits. Values come back
as JSON and become a ``StyleConfig``, whose own checks give the ranges and the messages.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from ...config import INITS, StyleConfig, unwrap_optional
from ...errors import ConfigError
from ...network.registry import NETWORKS

# Not settable from the page: a weights file is a path on the server (no endpoint reads a
# path a user names), and the start image is chosen as a result or an upload, not typed.
HIDDEN = ("weights", "init")
DEFAULT_INIT = StyleConfig().init  # the page's "start from" when a request names none
# The controls shown first; the rest go under "more".
MAIN = ("size", "strength", "preserve_color", "style_scale", "style_representation", "preset")
# What a touch-up may change besides the strokes (anything else is a new painting).
TOUCH_UPS = ("strength", "preserve_color")


def _kind(hint: Any) -> tuple[str, bool]:
    """A field's type as the page knows it: int, float, str, bool, ints, floats, strs."""
    hint, optional = unwrap_optional(hint)
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        return {int: "ints", float: "floats", str: "strs"}[item], optional
    return {int: "int", float: "float", str: "str", bool: "bool"}[hint], optional


def fields() -> list[dict[str, Any]]:
    """Every settable field: name, kind, default, help, choices, and whether it is a main one."""
    hints = typing.get_type_hints(StyleConfig)
    described = []
    for f in dataclasses.fields(StyleConfig):
        if f.name in HIDDEN:
            continue
        kind, optional = _kind(hints[f.name])
        choices = f.metadata.get("choices")
        if f.name == "network":
            choices = tuple(NETWORKS)
        described.append(
            {
                "name": f.name,
                "kind": kind,
                "optional": optional,
                "default": f.default,
                "help": f.metadata.get("help", ""),
                "choices": list(choices) if choices else None,
                "main": f.name in MAIN,
            }
        )
    return described


def _value(name: str, kind: str, optional: bool, raw: Any) -> Any:
    """One JSON value as the field's type; ConfigError in the library's words if it is not."""
    if raw is None or raw == "":
        if optional:
            return None
        raise ConfigError(f"{name} needs a value")
    try:
        if kind in _LISTS:
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            if kind != "strs" and any(isinstance(v, bool) for v in items):
                raise ValueError(raw)  # true is no number, though int(True) is 1
            cast = {"ints": int, "floats": float, "strs": str}[kind]
            values = tuple(cast(str(v).strip()) for v in items if str(v).strip())
            return None if optional and not values else values
        if isinstance(raw, bool) != (kind == "bool"):  # true is no number, 1 no answer
            raise ValueError(raw)
        if kind == "bool":
            return raw
        if kind == "int":
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError(raw)
            return int(raw)
        if kind == "float":
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(raw)
            return value
        return str(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be {_WHAT.get(kind, 'text')}, got {raw!r}") from None


_LISTS = ("ints", "floats", "strs")
_WHAT = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "ints": "a list of whole numbers",
    "floats": "a list of numbers",
    "strs": "a list of names",
}


def config_from(values: dict[str, Any], init: str = DEFAULT_INIT) -> StyleConfig:
    """A checked StyleConfig from the page's values (missing ones keep their defaults)."""
    if not isinstance(values, dict):
        raise ConfigError("settings must be an object of field names and values")
    known = {d["name"]: d for d in fields()}
    kwargs: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in known:
            raise ConfigError(f"unknown setting {name!r}")
        d = known[name]
        kwargs[name] = _value(name, d["kind"], d["optional"], raw)
    if init not in INITS:
        raise ConfigError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    return StyleConfig(**kwargs, init=init)


def touch_up_changes(values: Any) -> dict[str, Any]:
    """The page's touch-up settings (``TOUCH_UPS`` only) as checked field values."""
    if not isinstance(values, dict):
        raise ConfigError("settings must be an object of field names and values")
    known = {d["name"]: d for d in fields()}
    changes: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in TOUCH_UPS:
            raise ConfigError(
                f"a touch-up changes the strength, the colour mode or the strokes; {name!r} "
                "needs a new painting"
            )
        d = known[name]
        changes[name] = _value(name, d["kind"], d["optional"], raw)
    StyleConfig(**changes)  # their ranges and choices, in the config's own words
    return changes


def changed(config: StyleConfig) -> dict[str, Any]:
    """The fields that differ from the defaults: a result's settings, short."""
    default = StyleConfig()
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(StyleConfig)
        if getattr(config, f.name) != getattr(default, f.name)
    }
