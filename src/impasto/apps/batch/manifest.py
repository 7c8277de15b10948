"""A batch's manifest: one job a row, as CSV or JSON.

A manifest is CSV (a header row, one job a row) or JSON (a list of objects, or an object with
a ``"jobs"`` list). Its columns: ``content`` and ``style`` (several styles, blended, separated
by ``;``; a folder is all its images, blended, as in ``impasto CONTENT STYLE``), optionally
``output`` (a file name in the output folder instead of the generated one), ``init``
(``content``, ``noise`` or a file), ``mask`` (files separated by ``;``) and any field of
``StyleConfig`` (``size``, ``style_weight`` or ``style-weight``, ...). An empty cell keeps the
batch's own value. Relative paths are relative to the manifest's folder.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from ... import fields
from ...config import INITS, StyleConfig
from ...errors import ConfigError, ImpastoError
from ...fields import short
from ...io.images import SAVE_FORMATS, read_input
from . import plan
from .plan import BatchJob, reserved

LIST_SEPARATOR = ";"  # between several styles or masks in one manifest cell

_JOB_FIELDS = {"content", "style", "output", "init", "mask"}
_ALIASES = {"styles": "style", "masks": "mask", "out": "output"}
_CONFIG_FIELDS = {f.name: f for f in dataclasses.fields(StyleConfig)}


def _column(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def _known_columns() -> str:
    return ", ".join(sorted(_JOB_FIELDS | set(_CONFIG_FIELDS) - {"init"}))


def read_manifest(path: str | os.PathLike, base: StyleConfig) -> list[BatchJob]:
    """The jobs of a CSV or JSON manifest; ConfigError naming the file and row on any problem.

    ``base`` is the config a row starts from (the command line's painting options).
    """
    file = Path(path)
    if not file.exists():
        raise ConfigError(f"{file}: manifest not found; check the path")
    if file.is_dir():
        raise ConfigError(f"{file}: is a folder; a manifest is a CSV or JSON file")
    empty = file.is_file() and file.stat().st_size == 0  # said below, in a manifest's words
    data = b"" if empty else read_input(file)  # by the readers' one limit: /dev/zero ends
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{file}: cannot read the manifest ({e})") from None
    try:
        rows = _json_rows(file, text) if _is_json(file, text) else _csv_rows(file, text)
        if not rows:
            raise ConfigError(f"{file}: the manifest lists no jobs")
        folder = file.parent
        return [_job(where, row, base, folder) for where, row in rows]
    except RecursionError:  # lists in lists in lists...: no manifest is like that
        raise ConfigError(f"{file}: nested too deeply to be a manifest") from None


def _is_json(file: Path, text: str) -> bool:
    if file.suffix.lower() == ".json":
        return True
    if file.suffix.lower() == ".csv":
        return False
    return text.lstrip()[:1] in ("[", "{")


class _Object(dict):
    """A JSON object that remembers the keys given in it more than once (``json`` keeps the
    last one silently, where a CSV header naming a column twice is refused)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.twice = [k for k, n in collections.Counter(k for k, _ in pairs).items() if n > 1]


class _TooLong(Exception):
    """A JSON number with more digits than ``int()`` reads (``sys.get_int_max_str_digits``)."""


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _TooLong(len(text.lstrip("-"))) from None


def _json_rows(file: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text, object_pairs_hook=_Object, parse_int=_whole)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{file}:{e.lineno}: not valid JSON ({e.msg})") from None
    except _TooLong as e:  # no setting is that large: every range ends long before
        words = f"holds a number of {e.args[0]} digits; none is that large"
        raise ConfigError(f"{file}: {words}") from None
    if isinstance(data, _Object) and "jobs" in data:
        if "jobs" in data.twice:
            raise ConfigError(f'{file}: "jobs" is given twice')
        data = data["jobs"]
    if not isinstance(data, list):
        raise ConfigError(f'{file}: expected a list of jobs, or an object with a "jobs" list')
    _at_most(file, len(data))
    rows = []
    for number, item in enumerate(data, start=1):
        where = f"{file}: job {number}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: expected an object, got {type(item).__name__}")
        rows.append((where, item))
    return rows


def _csv_rows(file: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.reader(text.splitlines())
    try:
        header = next(reader)
    except StopIteration:
        raise ConfigError(f"{file}: empty manifest (expected a header row)") from None
    except csv.Error as e:
        raise ConfigError(f"{file}:1: {e}") from None
    names = [h.strip() for h in header]
    if "content" not in {_column(n) for n in names}:
        raise ConfigError(
            f"{file}:1: the header row must name the columns (content, style, ...), got "
            f"{short(','.join(names))}"
        )
    named: dict[str, str] = {}
    for name in filter(None, names):
        if _column(name) in named:
            raise ConfigError(
                f"{file}:1: the header names the column {_column(name)} twice "
                f"({short(named[_column(name)])} and {short(name)})"
            )
        named[_column(name)] = name
    rows: list[tuple[str, dict[str, Any]]] = []
    try:
        for cells in reader:
            where = f"{file}:{reader.line_num}"
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue  # blank lines and comments
            if len(cells) > len(names):
                raise ConfigError(f"{where}: {len(cells)} cells for {len(names)} columns")
            unnamed = [i for i, c in enumerate(cells, 1) if c.strip() and not names[i - 1]]
            if unnamed:
                raise ConfigError(f"{where}: cell {unnamed[0]} is under no column name")
            _at_most(file, len(rows) + 1)
            rows.append((where, {n: c for n, c in zip(names, cells) if n and c.strip()}))
    except csv.Error as e:
        raise ConfigError(f"{file}:{reader.line_num}: {e}") from None
    return rows


def _at_most(file: Path, jobs: int) -> None:
    if jobs > plan.MAX_JOBS:  # before the jobs are made: each holds some 1.4 KB
        raise ConfigError(
            f"{file}: more than {plan.MAX_JOBS} jobs, the most a batch takes; split it"
        )


def _job(where: str, row: dict[str, Any], base: StyleConfig, folder: Path) -> BatchJob:
    values: dict[str, Any] = {}
    twice = getattr(row, "twice", [])  # a JSON object's key given twice
    if twice:
        raise ConfigError(f"{where}: {short(twice[0])} is given twice")
    for raw, value in row.items():
        name = _column(str(raw))
        if name not in _JOB_FIELDS and name not in _CONFIG_FIELDS:
            raise ConfigError(f"{where}: unknown column {short(raw)} (known: {_known_columns()})")
        if name in values:
            raise ConfigError(f"{where}: {name} is given twice")
        _check_cell(where, name, value)
        values[name] = value
    if "content" not in values:
        raise ConfigError(f"{where}: no content")
    if "style" not in values:
        raise ConfigError(f"{where}: no style")
    content = _paths(where, "content", values.pop("content"), folder)
    if len(content) != 1:
        raise ConfigError(f"{where}: one content per job, got {len(content)}")
    styles = _paths(where, "style", values.pop("style"), folder)
    masks = _paths(where, "mask", values.pop("mask"), folder) if "mask" in values else []
    output = values.pop("output", None)
    if output is not None:
        output = _output_name(where, str(output).strip())
    init = None
    if "init" in values:
        mode, path = fields.split_init(values.pop("init"), INITS)
        if mode is not None:
            values["init"] = mode
        else:
            init = _paths(where, "init", path, folder)[0]
    changes = {name: _value(where, name, value) for name, value in values.items()}
    try:
        config = dataclasses.replace(base, **changes)
    except ImpastoError as e:
        raise ConfigError(f"{where}: {e}") from None
    return BatchJob(content[0], tuple(styles), config, init, tuple(masks), output, where)


def _check_cell(where: str, name: str, value: Any) -> None:
    """What no cell may hold: a NUL byte (no path, name or number holds one; the system
    would refuse it only mid-batch), and lists or objects inside a list."""
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, (list, dict)):
            kind = "a list" if isinstance(item, list) else "an object"
            raise ConfigError(f"{where}: {name} holds {kind}; give text, a number, or a list")
        if isinstance(item, str) and "\0" in item:
            raise ConfigError(f"{where}: {name} holds a NUL byte (\\0)")


def _paths(where: str, name: str, value: Any, folder: Path) -> list[Path]:
    items = value if isinstance(value, list) else str(value).split(LIST_SEPARATOR)
    paths = [Path(str(v).strip()).expanduser() for v in items if str(v).strip()]
    if not paths:
        raise ConfigError(f"{where}: {name} is empty")
    return [p if p.is_absolute() else folder / p for p in paths]


def _output_name(where: str, name: str) -> str:
    if not name or Path(name).name != name or name in (".", ".."):
        raise ConfigError(f"{where}: output must be a file name (no folder), got {short(name)}")
    if (kept := reserved(name)) is not None:
        raise ConfigError(
            f"{where}: output {short(name)} is a name the batch keeps for {kept}; choose another"
        )
    if Path(name).suffix.lower() not in SAVE_FORMATS:
        raise ConfigError(
            f"{where}: output {short(name)} has no known extension ({' '.join(SAVE_FORMATS)})"
        )
    return name


def _value(where: str, name: str, value: Any) -> Any:
    """A manifest cell (text, or a JSON value) as the config field's value."""
    try:
        return fields.parse_field(name, value)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from None
