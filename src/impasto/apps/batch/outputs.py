"""Every file a batch will write into its output folder, checked before any job is painted.

No file the batch writes (a picture, its sidecar, the summary, the contact sheet) may be an
input of the batch, also through a link, with or without --overwrite: the single command's
rule, by its own check (``jobs.refuse_inputs``). A file already there is replaced only with
--overwrite, as for one picture, unless it is the batch's own: a sidecar of the same output,
an earlier batch's summary or contact sheet (a finished job is skipped, never repainted). The
names of the batch's own files are kept for them (``plan.reserved``): no job may take one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ...errors import ImageError
from ...io.images import name_max
from ...jobs import refuse_inputs
from .plan import Plan, Planned
from .sheet import SHEET_NAME, is_sheet
from .sidecar import SUMMARY_NAME, is_sidecar_of, is_summary, sidecar_path


def check(
    batch: Plan,
    todo: Iterable[Planned],
    *,
    overwrite: bool,
    manifest: str | os.PathLike | None = None,
    contact_sheet: bool = False,
) -> None:
    """ImageError (one line naming the file, and the manifest's row) if the batch would
    write over one of its inputs, or over a file already there that is not its own and
    ``overwrite`` is off, or a name the filesystem cannot take. ``todo``: the jobs that will
    be painted."""
    folder = batch.output.folder
    inputs = _inputs(batch, manifest)
    limit = name_max(folder)
    for entry in batch.jobs:
        side = sidecar_path(folder, entry)
        if len(side.name.encode()) > limit:
            raise _at(entry, f"{folder / entry.name}: {_too_long(side.name, limit)}")
        try:
            refuse_inputs([folder / entry.name, side], inputs)
            _not_a_folder(folder / entry.name, "")
            _not_a_folder(side, f"the sidecar of {entry.name}")
        except ImageError as e:
            raise _at(entry, str(e)) from None
    summary, sheet = folder / SUMMARY_NAME, folder / SHEET_NAME
    refuse_inputs([summary, *([sheet] if contact_sheet else [])], inputs)
    _not_a_folder(summary, "its summary")
    if contact_sheet:
        _not_a_folder(sheet, "its contact sheet")
    if overwrite:
        return
    for entry in todo:
        picture, side = folder / entry.name, sidecar_path(folder, entry)
        if os.path.lexists(picture):
            raise _at(entry, _taken(picture, "is not a finished job of this batch"))
        if os.path.lexists(side) and not is_sidecar_of(side, entry.name):
            raise _at(entry, _taken(side, f"is not the batch's sidecar of {entry.name}"))
    if os.path.lexists(summary) and not is_summary(summary):
        raise ImageError(_taken(summary, "is not a batch's summary"))
    if contact_sheet and os.path.lexists(sheet) and not _own_sheet(sheet, summary):
        raise ImageError(_taken(sheet, "is not a batch's contact sheet"))


def _not_a_folder(path: Path, what: str) -> None:
    """A folder where the batch writes a file is no file to replace, --overwrite or not:
    the single command's words for a picture, ``what`` the batch writes there otherwise."""
    if path.is_dir():
        where = f", where the batch writes {what}" if what else "; give a file name"
        raise ImageError(f"{path}: is a folder{where}")


def _inputs(batch: Plan, manifest: str | os.PathLike | None) -> dict[str, Sequence[Path]]:
    jobs = [entry.job for entry in batch.jobs]
    return {
        "content": [job.content for job in jobs],
        "style image": [path for entry in batch.jobs for path in entry.style_files],
        "init image": [job.init for job in jobs if job.init is not None],
        "mask": [path for job in jobs for path in job.masks],
        "manifest": [Path(manifest)] if manifest is not None else [],
    }


def _own_sheet(sheet: Path, summary: Path) -> bool:
    """A contact sheet the batch drew: marked so, or (drawn before the mark) beside a
    batch's summary."""
    return is_sheet(sheet) or is_summary(summary)


def _too_long(sidecar: str, limit: int) -> str:
    return (
        f"with its sidecar's .json the file name is {len(sidecar.encode())} bytes, longer than "
        f"the {limit} this filesystem allows; choose a shorter name"
    )


def _taken(path: Path, why: str) -> str:
    return f"{path}: already exists and {why}; pass --overwrite to replace it"


def _at(entry: Planned, message: str) -> ImageError:
    where = entry.job.where
    return ImageError(f"{where}: {message}" if where else message)
