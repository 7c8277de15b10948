"""The job list of a batch: contents × styles (grid or pairs) or a manifest, and their names.

A job's output name is ``CONTENT_STYLE_KEY.ext`` (``jobs.default_output``'s readable part and
the first 8 hex digits of its key). The key is the sha256 of everything that decides the
picture: the full config (but the device, which paints the same picture), the sha256 of
every input file, the output format, quality and bits. So a re-run finds the same names, a
changed setting or picture gets a new name, and two contents of the same name in different
folders never collide (unless they are the same bytes: then they are the same job, painted
once). The jobs of a manifest come from ``manifest``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...config import StyleConfig
from ...errors import ConfigError, ImpastoError
from ...io import images
from ...io.images import SAVE_FORMATS, list_images

KEY_DIGITS = 8  # hex digits of the key in an output name
KEY_VERSION = 1  # bump if what goes into the key changes
FORMATS = tuple(ext.lstrip(".") for ext in SAVE_FORMATS)
MAX_JOBS = 100_000  # jobs in one batch: each holds some 1.4 KB before anything is painted
RESERVED = {"contact-sheet": "its contact sheet", "batch-summary": "its summary"}
"""File names (their stems, in any case, with any extension) the batch keeps for itself."""


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
    streams: dict[str, bytes] = field(default_factory=dict)  # pipes and devices: read once

    def inputs(self) -> list[Path]:
        """Every input file of the job: content, styles, init, masks."""
        job = self.job
        return [job.content, *self.style_files, *([job.init] if job.init else []), *job.masks]

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
    count = len(content_paths) if pairs else len(content_paths) * len(style_paths)
    if count > MAX_JOBS:  # before they are made: two folders of 10,000 make 100 million
        raise ConfigError(
            f"{len(content_paths)} contents x {len(style_paths)} styles make {count} jobs, more "
            f"than the {MAX_JOBS} a batch takes; split it"
        )
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


def read_input(path: Path, digests: dict[str, str], streams: dict[str, bytes]) -> None:
    """Hash one input into ``digests``, read whole by the readers' one limit
    (``images.MAX_STREAM_BYTES``); a pipe or device is read only here, its bytes kept in
    ``streams`` for painting. ImpastoError (one line naming it) when it cannot be read."""
    source = images.input_source(path)
    data = source if isinstance(source, bytes) else images.read_input(source)
    digests[str(path)] = hashlib.sha256(data).hexdigest()
    if isinstance(source, bytes):
        streams[str(path)] = data


def check_devices(jobs: Sequence[BatchJob], device: str, check: Callable[[str], object]) -> None:
    """``check`` every device the jobs name (the batch's ``device``, or a manifest row's own):
    on this machine ``devices.resolve`` (a GPU that is not there), with Ray what Ray can give.
    Its one line names the row whose device it is, before anything is read or written."""
    seen: set[str] = set()
    for job in jobs:
        name = job.config.device
        if name in seen:
            continue
        seen.add(name)
        try:
            check(name)
        except ConfigError as e:
            if name == device or not job.where:
                raise
            raise ConfigError(f"{job.where}: {e}") from None


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

    config = config_dict(job.config)
    # Where it paints is not what it paints: a batch resumed on a GPU (or begun before there
    # were devices) finds the pictures it painted on the CPU under the same names.
    config.pop("device", None)
    record = {
        "version": KEY_VERSION,
        "config": config,
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


def reserved(name: str) -> str | None:
    """What the batch keeps the file name ``name`` for, or None when a job may take it."""
    return RESERVED.get(Path(name).stem.lower())


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
    streams: dict[str, bytes] = {}
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
                    read_input(path, digests, streams)
                except ImpastoError as e:
                    errors[name] = str(e)
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
        names = [str(p) for p in inputs]
        used = {n: digests[n] for n in names if n in digests}
        kept = {n: streams[n] for n in names if n in streams}
        entry = Planned(job, key, out_name, used, style_files, error, kept)
        seen[out_name] = entry
        planned.append(entry)
    return Plan(planned, output, grid, duplicates)
