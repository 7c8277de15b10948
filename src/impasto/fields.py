"""One parser from what a user types to a config field's value.

The command line's options, a batch manifest's cells (CSV text or JSON values) and the web
page's settings all go through ``parse``, so the same value gives the same result, and the
same words when it is refused. A field's kind (a number, a list of them, a few words) comes
from its type in ``config.py``: ``Literal[...]`` types give the choices. No torch here.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import reprlib
import typing
from dataclasses import dataclass
from typing import Any

from .config import StyleConfig, choices, unwrap_optional
from .errors import ConfigError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
LIST_SEPARATOR = ","  # between the items of a list typed as text
MAX_DIGITS = 300  # a number typed longer than this is said by its length, not quoted


@dataclass(frozen=True)
class Kind:
    """What a field holds, as its type says."""

    name: str
    item: type  # int, float, str or bool: the value's type, or each item's
    many: bool  # a tuple of items
    optional: bool  # None is a value: "the default"
    choices: tuple[str, ...] | None  # the words a str field may hold
    default: Any
    help: str


class BadValue(ConfigError):
    """A value that is not of its field's kind: ``NAME must be ..., got ...``.

    ``problem`` is the words after the name (argparse puts the option's name before them)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name} {problem}")
        self.name, self.problem = name, problem


@functools.cache
def kinds(config_class: type = StyleConfig) -> dict[str, Kind]:
    """The kind of every field of a config dataclass, in field order."""
    hints = typing.get_type_hints(config_class)
    words = choices(config_class)
    found = {}
    for f in dataclasses.fields(config_class):
        inner, optional = unwrap_optional(hints[f.name])
        many = typing.get_origin(inner) is tuple
        item = typing.get_args(inner)[0] if many else inner
        if f.name in words:
            item = str
        if item not in (int, float, str, bool):
            raise TypeError(f"{config_class.__name__}.{f.name}: no text form for {hints[f.name]}")
        help_text = f.metadata.get("help", "")
        found[f.name] = Kind(f.name, item, many, optional, words.get(f.name), f.default, help_text)
    return found


def parse(kind: Kind, raw: Any) -> Any:
    """``raw`` as the field's value: text (an option, a CSV cell, a form's field) or a JSON
    value (a number, true or false, a list, null). Nothing or blank text is None for an
    optional field; a list may be text with commas. BadValue in the field's name if not."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if kind.optional:
            return None
        if not kind.many:
            raise BadValue(kind.name, "needs a value")
        raw = ()
    if not kind.many:
        return _scalar(kind, raw)
    if isinstance(raw, str):
        parts: list[Any] = raw.split(LIST_SEPARATOR)
    elif isinstance(raw, (list, tuple)):
        parts = list(raw)
    else:
        raise BadValue(kind.name, f"must be a list of {_plural(kind)}, got {short(raw)}")
    try:
        values = tuple(_scalar(kind, p) for p in parts if not isinstance(p, str) or p.strip())
    except BadValue as e:
        if not e.problem.startswith("must be "):
            raise
        expected = e.problem.split(", got ")[0].removeprefix("must be ")
        problem = f"must be a list of {_plural(kind, expected)}, got {short(raw)}"
        raise BadValue(kind.name, problem) from None
    return None if kind.optional and not values else values


def parse_field(name: str, raw: Any, config_class: type = StyleConfig) -> Any:
    """``parse`` for the field called ``name``; ConfigError for a name the config has not."""
    kind = kinds(config_class).get(name)
    if kind is None:
        raise ConfigError(f"unknown setting {name!r}")
    return parse(kind, raw)


def _scalar(kind: Kind, value: Any) -> Any:
    if isinstance(value, (list, tuple, dict)) or value is None:
        raise BadValue(kind.name, f"must be {_expected(kind)}, got {short(value)}")
    text = value.strip() if isinstance(value, str) else None
    if kind.item is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in TRUE + FALSE:
            return text.lower() in TRUE
        raise BadValue(kind.name, f"must be true or false, got {short(value)}")
    if kind.item is str:
        word = text if text is not None else str(value)
        if kind.choices is not None and word not in kind.choices:
            raise BadValue(kind.name, f"must be {_expected(kind)}, got {word!r}")
        return word
    if isinstance(value, bool):  # JSON's true is no number
        raise BadValue(kind.name, f"must be {_expected(kind)}, got {short(value)}")
    if text is not None and (digits := len(text.lstrip("+-"))) > MAX_DIGITS:
        if text.lstrip("+-").isdigit():  # int() reads at most 4300, float() makes 310 inf
            raise BadValue(kind.name, f"got a number of {digits} digits; none is that large")
    if kind.item is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(text) if text is not None else _whole(value)
        except ValueError:
            raise BadValue(kind.name, f"must be a whole number, got {short(value)}") from None
    try:
        number = float(text) if text is not None else float(value)
    except (TypeError, ValueError):
        raise BadValue(kind.name, f"must be a number, got {short(value)}") from None
    if not math.isfinite(number):
        raise BadValue(kind.name, f"must be a finite number, got {short(value)}")
    return number


def _whole(value: Any) -> int:
    if isinstance(value, int):
        return value
    raise ValueError(value)


def _expected(kind: Kind) -> str:
    if kind.choices is not None:
        return f"one of {', '.join(kind.choices)}"
    return {int: "a whole number", float: "a number", bool: "true or false"}.get(kind.item, "text")


def _plural(kind: Kind, expected: str | None = None) -> str:
    words = expected or _expected(kind)
    plural = {"a whole number": "whole numbers", "a number": "numbers", "text": "names"}
    return plural.get(words, words.removeprefix("a ") + "s")


def short(value: Any) -> str:
    """A value as a message quotes it: repr, cut to a readable length."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80


def as_text(value: Any) -> str:
    """A value as a user would type it: 0.5, relu1_1,relu2_1, on, not set."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(as_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def split_init(value: Any, modes: tuple[str, ...]) -> tuple[str | None, str | None]:
    """A start as a user names it: one of ``modes`` (a field value), or else a picture's file:
    (mode, None) or (None, the text as a path)."""
    text = str(value).strip()
    return (text, None) if text in modes else (None, text)
