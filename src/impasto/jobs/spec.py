"""What a job is, as a user says it: files and settings, and where the pictures go.

Nothing is read here but names and folders: ``JobSpec`` is checked and decoded by
``picture.prepare``. The output names (``default_output``, ``numbered``) and the rule that no
output is an input (``refuse_inputs``) are every front end's: the command line's, the web
page's, a batch's and a clip's.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import StyleConfig
from ..engine.pyramid import as_config
from ..engine.schedule import Scale
from ..errors import ConfigError, ImageError
from ..io import images
from ..ranges import is_whole

PathLike = str | os.PathLike
STDOUT = "-"  # as an output: standard output
STEM_LIMIT = 60  # characters of each name in a default output name, so that it always fits


@dataclass(frozen=True)
class JobSpec:
    """What to paint, as a user would say it: files and settings, nothing loaded yet.

    ``output`` is a file, a folder (the default name goes inside it) or None (the default
    name in the current folder). ``styles`` may name folders: each image in one is a style.
    ``snapshot_every`` > 0 reserves OUT_NNNN files for pictures taken every that many steps.
    """

    content: PathLike
    styles: tuple[PathLike, ...]
    config: StyleConfig = field(default_factory=StyleConfig)
    output: PathLike | None = None
    init: PathLike | None = None
    masks: tuple[PathLike, ...] = ()
    overwrite: bool = False
    quality: int = 95
    bits: int = 8
    snapshot_every: int = 0


def expand_styles(items: Sequence[PathLike]) -> list[Path]:
    """Each style as given, a folder replaced by its images (sorted)."""
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        paths.extend(images.list_images(path) if path.is_dir() else [path])
    return paths


def _stem(item: PathLike) -> str:
    path = Path(item)
    stem = path.stem or path.resolve().name or "picture"
    return stem[:STEM_LIMIT]


def default_output(content: PathLike, styles: Sequence[PathLike]) -> str:
    """CONTENT_STYLE.png; several styles joined by '+', at most three named, each name cut to
    ``STEM_LIMIT`` characters so the name fits any filesystem."""
    stems = [_stem(s) for s in styles]
    named = "+".join(stems[:3]) + (f"+{len(stems) - 3}more" if len(stems) > 3 else "")
    return f"{_stem(content)}_{named}.png"


def output_path(spec: JobSpec) -> Path:
    """Where the picture goes: ``spec.output``, or the default name (inside it, if a folder).

    ``"-"`` is standard output (a PNG).
    """
    if spec.output is not None and str(spec.output) == STDOUT:
        return Path(STDOUT)
    name = default_output(spec.content, spec.styles)
    if spec.output is None:
        return Path(name)
    out = Path(spec.output).expanduser()
    try:
        is_folder = out.is_dir()
    except OSError:  # e.g. a name too long for the filesystem: check_output_path says so
        is_folder = False
    return out / name if is_folder else out


def numbered(out: Path, step: int) -> Path:
    """OUT with the step before the extension: out.png -> out_0050.png."""
    return out.with_name(f"{out.stem}_{step:04d}{out.suffix}")


def refuse_inputs(outputs: Sequence[Path], inputs: Mapping[str, Sequence[PathLike]]) -> None:
    """No output may be an input (the same file, also through a link), overwrite or not.

    ``inputs`` maps a role ("content", "style image", ...) to its files. Each path is looked
    at once, so a batch's thousands of outputs and inputs cost a stat each, not one a pair.
    """
    by_file: dict[tuple[int, int], tuple[str, PathLike]] = {}  # inputs that are there
    by_name: dict[str, tuple[str, PathLike]] = {}  # every input, by its real path
    by_name_absent: dict[str, tuple[str, PathLike]] = {}  # inputs that are not there
    for role, paths in inputs.items():
        for path in paths:
            real = os.path.realpath(path)
            by_name.setdefault(real, (role, path))
            identity = _identity(Path(path))
            if identity is None:
                by_name_absent.setdefault(real, (role, path))
            else:
                by_file.setdefault(identity, (role, path))
    for out in outputs:
        identity = _identity(out)
        real = os.path.realpath(out)
        if identity is None:  # not there (yet): it would be the input its name leads to
            found = by_name.get(real)
        else:
            found = by_file.get(identity) or by_name_absent.get(real)
        if found is not None:
            role, path = found
            raise ImageError(
                f"{out}: is the {role} of this run ({path}); an input is never "
                "overwritten, choose another output name"
            )


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file a path leads to (links followed); None if there is none."""
    try:
        info = path.stat()
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def snapshot_paths(spec: JobSpec, out: Path, plan: Sequence[Scale]) -> list[Path]:
    """The OUT_NNNN files ``snapshot_every`` will write over this plan."""
    if spec.snapshot_every <= 0:
        return []
    steps = sum(s.iterations for s in plan)
    return [numbered(out, k) for k in range(spec.snapshot_every, steps + 1, spec.snapshot_every)]


def _path(value: Any, what: str) -> None:
    """A file's path as the system takes it, or ConfigError naming ``what``."""
    if not isinstance(value, (str, os.PathLike)) or not isinstance(os.fspath(value), str):
        kind = type(value).__name__
        raise ConfigError(f"{what} must be a file's path (str or os.PathLike), got {kind}")
    if "\0" in os.fspath(value):
        raise ConfigError(f"{what} holds a NUL byte (\\0)")


def _paths(value: Any, what: str, each: str) -> tuple[PathLike, ...]:
    """One path, or a sequence of them, as a tuple (one path is one file, not its letters)."""
    if isinstance(value, (str, os.PathLike)):
        value = (value,)
    if not isinstance(value, Sequence):
        raise ConfigError(f"{what} must be files' paths, got {type(value).__name__}")
    for number, item in enumerate(value, start=1):
        _path(item, f"{each} {number}")
    return tuple(value)


def checked(spec: JobSpec) -> JobSpec:
    """The spec with every field of its type, or one ConfigError naming the field: the door
    of ``impasto.jobs`` for callers who build specs by hand (one path is one style, and a
    dict is a config, as ``stylize`` takes them)."""
    _path(spec.content, "content")
    for name in ("output", "init"):
        if getattr(spec, name) is not None:
            _path(getattr(spec, name), name)
    styles = _paths(spec.styles, "styles", "style")
    masks = _paths(spec.masks, "masks", "mask")
    if not (is_whole(spec.quality) and 1 <= spec.quality <= 100):
        raise ConfigError(f"quality must be a whole number from 1 to 100, got {spec.quality!r}")
    if not (is_whole(spec.bits) and spec.bits in (8, 16)):
        raise ConfigError(f"bits must be 8 or 16, got {spec.bits!r}")
    if not (is_whole(spec.snapshot_every) and spec.snapshot_every >= 0):
        raise ConfigError(
            f"snapshot_every must be a whole number >= 0, got {spec.snapshot_every!r}"
        )
    if not isinstance(spec.overwrite, bool):
        raise ConfigError(f"overwrite must be True or False, got {spec.overwrite!r}")
    config = as_config(spec.config)
    return dataclasses.replace(spec, styles=styles, masks=masks, config=config)
