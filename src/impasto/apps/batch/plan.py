"""The job list of a batch: contents × styles (grid or pairs) or a manifest, and their names.

A job's output name is ``CONTENT_STYLE_KEY.ext`` (``jobs.default_output``'s readable part and
the first 8 hex digits of its key). The key is the sha256 of everything that decides the
picture: the full config, the sha256 of every input file, the output format, quality and
bits. So a re-run finds the same names, a changed setting or picture gets a new name, and two
contents of the same name in different folders never collide (unless they are the same bytes:
then they are the same job, painted once).

A manifest is CSV (a header row, one job a row) or JSON (a list of objects, or an object with
a ``"jobs"`` list). Its columns: ``content`` and ``style`` (several styles, blended, separated
by ``;``; a folder is all its images, blended, as in ``impasto CONTENT STYLE``), optionally
``output`` (a file name in the output folder instead of the generated one), ``init``
(``content``, ``noise`` or a file), ``mask`` (files separated by ``;``) and any field of
``StyleConfig`` (``size``, ``style_weight`` or ``style-weight``, ...). An empty cell keeps the
batch's own value. Relative paths are relative to the manifest's folder.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import math
import os
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import INITS, StyleConfig, unwrap_optional
from ...errors import ConfigError, ImpastoError
from ...io.images import SAVE_FORMATS, list_images

KEY_DIGITS = 8  # hex digits of the key in an output name
KEY_VERSION = 1  # bump if what goes into the key changes
LIST_SEPARATOR = ";"  # between several styles or masks in one manifest cell
FORMATS = tuple(ext.lstrip(".") for ext in SAVE_FORMATS)


@dataclass(frozen=True)
class BatchJob:
    """One picture to paint: its inputs and settings, as given (nothing read yet)."""

    content: Path
    styles: tuple[Path, ...]
    config: StyleConfig
    init: Path | None = None
    masks: tuple[Path, ...] = ()
    output: str | None = None  # a file name chosen in the manifest, else generated
    where: str = ""  # where it came from, for messages: "jobs.csv:3" or ""


@dataclass(frozen=True)
class Output:
    """How every picture of the batch is written."""

    folder: Path
    fmt: str = "png"  # an extension of SAVE_FORMATS without the dot
    quality: int = 95
    bits: int = 8


@dataclass
class Planned:
    """A job with its key and output name; ``error`` when its inputs cannot even be read."""

    job: BatchJob
    key: str
    name: str
    digests: dict[str, str]  # input path -> sha256
    style_files: list[Path]  # the styles, folders expanded to their images
    error: str | None = None

    @property
    def stem(self) -> str:
        return Path(self.name).stem


@dataclass
class Plan:
    jobs: list[Planned]
    output: Output
    grid: tuple[list[Path], list[Path]] | None = None  # contents, styles: for the contact sheet
    duplicates: int = 0  # jobs given twice (same name), painted once


# ------------------------------------------------------------------------ inputs


def expand_images(items: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given, each folder replaced by its images (sorted)."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        paths.extend(list_images(path) if path.is_dir() else [path])
    return paths


def grid_jobs(
    contents: Sequence[str | os.PathLike],
    styles: Sequence[str | os.PathLike],
    config: StyleConfig,
    *,
    pairs: bool = False,
    init: str | os.PathLike | None = None,
) -> tuple[list[BatchJob], tuple[list[Path], list[Path]] | None]:
    """Every content with every style (grid), or the i-th content with the i-th style (pairs).

    Returns the jobs, and (contents, styles) when they form a grid.
    """
    content_paths = expand_images(contents)
    style_paths = expand_images(styles)
    if not content_paths:
        raise ConfigError("no content images given")
    if not style_paths:
        raise ConfigError("no style images given (--styles FILE|FOLDER ...)")
    start = Path(init) if init is not None else None
    if pairs:
        if len(content_paths) != len(style_paths):
            raise ConfigError(
                f"pairs need as many styles as contents: {len(content_paths)} contents, "
                f"{len(style_paths)} styles"
            )
        return [
            BatchJob(c, (s,), config, init=start) for c, s in zip(content_paths, style_paths)
        ], None
    jobs = [BatchJob(c, (s,), config, init=start) for c in content_paths for s in style_paths]
    return jobs, (content_paths, style_paths)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unreadable(path: Path, error: OSError) -> str:
    """The one line a missing or unreadable input gets, in load_image's words."""
    if isinstance(error, FileNotFoundError):
        return f"{path}: file not found; check the path"
    if isinstance(error, IsADirectoryError):
        return f"{path}: is a folder, not an image file"
    if isinstance(error, PermissionError):
        return f"{path}: permission denied; check the file's permissions"
    return f"{path}: cannot read file ({error.strerror or error})"


# ------------------------------------------------------------------------ keys and names


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def config_dict(config: StyleConfig) -> dict[str, Any]:
    """The config as JSON-ready values (tuples as lists), field order kept."""
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def job_key(
    job: BatchJob, style_files: Sequence[Path], digests: dict[str, str], output: Output
) -> str:
    """sha256 of everything that decides the picture (see the module's doc).

    ``style_files`` are the job's style images (its folders expanded); ``digests`` maps each
    input's path to its sha256 (an unreadable one is keyed by its path).
    """

    fmt = file_format(job, output)

    def ids(paths: Iterable[Path]) -> list[str]:
        return [digests.get(str(p), f"unread:{p}") for p in paths]

    record = {
        "version": KEY_VERSION,
        "config": config_dict(job.config),
        "content": ids([job.content]),
        "styles": ids(style_files),
        "init": ids([job.init]) if job.init else None,
        "masks": ids(job.masks),
        "format": fmt,
        "quality": output.quality if fmt in ("jpg", "jpeg", "webp") else None,
        "bits": output.bits,
    }
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_format(job: BatchJob, output: Output) -> str:
    """The extension the job's picture is written in: its chosen name's, else the batch's."""
    return Path(job.output).suffix[1:].lower() if job.output else output.fmt


def output_name(job: BatchJob, key: str, output: Output) -> str:
    """The job's file name: as the manifest chose it, else CONTENT_STYLE_KEY.ext."""
    if job.output:
        return job.output
    from ...jobs import default_output  # CONTENT_STYLE1+STYLE2, each cut to a safe length

    readable = Path(default_output(job.content, [Path(s) for s in job.styles])).stem
    return f"{readable}_{key[:KEY_DIGITS]}.{output.fmt}"


def plan(
    jobs: Sequence[BatchJob],
    output: Output,
    grid: tuple[list[Path], list[Path]] | None = None,
) -> Plan:
    """Read every input once (its sha256), give each job its key and name; drop duplicates.

    A job whose inputs cannot be read stays in the plan with its one-line ``error``.
    """
    digests: dict[str, str] = {}
    errors: dict[str, str] = {}
    planned: list[Planned] = []
    seen: dict[str, Planned] = {}
    duplicates = 0
    for job in jobs:
        error = None
        try:
            style_files = expand_images(job.styles)
        except ImpastoError as e:  # a style folder without images, say
            style_files, error = list(job.styles), str(e)
        inputs = [job.content, *style_files, *([job.init] if job.init else []), *job.masks]
        for path in inputs:
            name = str(path)
            if name not in digests and name not in errors:
                try:
                    digests[name] = sha256_file(path)
                except OSError as e:
                    errors[name] = unreadable(path, e)
            error = error or errors.get(name)
        key = job_key(job, style_files, digests, output)
        out_name = output_name(job, key, output)
        if out_name in seen:
            if seen[out_name].key != key:
                raise ConfigError(
                    f"{job.where or out_name}: output name {out_name} is also given to another "
                    "job with different settings"
                )
            duplicates += 1
            continue
        used = {str(p): digests[str(p)] for p in inputs if str(p) in digests}
        entry = Planned(job, key, out_name, used, style_files, error)
        seen[out_name] = entry
        planned.append(entry)
    return Plan(planned, output, grid, duplicates)


# ------------------------------------------------------------------------ manifests

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
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{file}: manifest not found; check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{file}: cannot read the manifest ({e})") from None
    rows = _json_rows(file, text) if _is_json(file, text) else _csv_rows(file, text)
    if not rows:
        raise ConfigError(f"{file}: the manifest lists no jobs")
    folder = file.parent
    return [_job(where, row, base, folder) for where, row in rows]


def _is_json(file: Path, text: str) -> bool:
    if file.suffix.lower() == ".json":
        return True
    if file.suffix.lower() == ".csv":
        return False
    return text.lstrip()[:1] in ("[", "{")


def _json_rows(file: Path, text: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{file}:{e.lineno}: not valid JSON ({e.msg})") from None
    if isinstance(data, dict) and "jobs" in data:
        data = data["jobs"]
    if not isinstance(data, list):
        raise ConfigError(f'{file}: expected a list of jobs, or an object with a "jobs" list')
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
            f"{','.join(names)}"
        )
    rows = []
    try:
        for cells in reader:
            where = f"{file}:{reader.line_num}"
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue  # blank lines and comments
            if len(cells) > len(names):
                raise ConfigError(f"{where}: {len(cells)} cells for {len(names)} columns")
            rows.append((where, {n: c for n, c in zip(names, cells) if n and c.strip()}))
    except csv.Error as e:
        raise ConfigError(f"{file}:{reader.line_num}: {e}") from None
    return rows


def _job(where: str, row: dict[str, Any], base: StyleConfig, folder: Path) -> BatchJob:
    values: dict[str, Any] = {}
    for raw, value in row.items():
        name = _column(str(raw))
        if name not in _JOB_FIELDS and name not in _CONFIG_FIELDS:
            raise ConfigError(f"{where}: unknown column {raw!r} (known: {_known_columns()})")
        if name in values:
            raise ConfigError(f"{where}: {name} is given twice")
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
        mode = str(values.pop("init")).strip()
        if mode in INITS:
            values["init"] = mode
        else:
            init = _paths(where, "init", mode, folder)[0]
    changes = {name: _value(where, name, value) for name, value in values.items()}
    try:
        config = dataclasses.replace(base, **changes)
    except ImpastoError as e:
        raise ConfigError(f"{where}: {e}") from None
    return BatchJob(content[0], tuple(styles), config, init, tuple(masks), output, where)


def _paths(where: str, name: str, value: Any, folder: Path) -> list[Path]:
    items = value if isinstance(value, list) else str(value).split(LIST_SEPARATOR)
    paths = [Path(str(v).strip()).expanduser() for v in items if str(v).strip()]
    if not paths:
        raise ConfigError(f"{where}: {name} is empty")
    return [p if p.is_absolute() else folder / p for p in paths]


def _output_name(where: str, name: str) -> str:
    if not name or Path(name).name != name or name in (".", ".."):
        raise ConfigError(f"{where}: output must be a file name (no folder), got {name!r}")
    if Path(name).suffix.lower() not in SAVE_FORMATS:
        raise ConfigError(
            f"{where}: output {name!r} has no known extension ({' '.join(SAVE_FORMATS)})"
        )
    return name


def _value(where: str, name: str, value: Any) -> Any:
    """A manifest cell (text, or a JSON value) as the config field's type."""
    hint = typing.get_type_hints(StyleConfig)[name]
    inner, optional = unwrap_optional(hint)
    try:
        if isinstance(value, str) and not value.strip():
            if optional:
                return None
            raise ValueError("is empty")
        if typing.get_origin(inner) is tuple:
            item = typing.get_args(inner)[0]
            parts = value if isinstance(value, list) else str(value).split(",")
            return tuple(_scalar(item, p) for p in parts if str(p).strip())
        return _scalar(inner, value)
    except ValueError as e:
        raise ConfigError(f"{where}: {name} {e}") from None


def _scalar(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expects true or false, got {value!r}")
    if isinstance(value, bool) or isinstance(value, (list, dict)):
        raise ValueError(f"expects a {kind.__name__}, got {value!r}")
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"expects a whole number, got {value!r}") from None
    if kind is float:
        try:
            number = float(str(value).strip())
        except ValueError:
            raise ValueError(f"expects a number, got {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"expects a finite number, got {value!r}")
        return number
    return str(value).strip()
