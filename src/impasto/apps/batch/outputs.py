"""Every file a batch will write into its output folder, checked before any job is painted.

No file the batch writes (a picture, its sidecar, the summary, the contact sheet) may be an
input of the batch, also through a link, with or without --overwrite: the single command's
rule, by its own check (``jobs.refuse_inputs``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ...errors import ImageError
from ...jobs import refuse_inputs
from .plan import Plan, Planned
from .sheet import SHEET_NAME
from .sidecar import SUMMARY_NAME, sidecar_path


def check(
    batch: Plan, *, manifest: str | os.PathLike | None = None, contact_sheet: bool = False
) -> None:
    """ImageError (one line naming the file, and the manifest's row) if the batch would
    write over one of its inputs."""
    folder = batch.output.folder
    inputs = _inputs(batch, manifest)
    for entry in batch.jobs:
        try:
            refuse_inputs([folder / entry.name, sidecar_path(folder, entry)], inputs)
        except ImageError as e:
            raise _at(entry, str(e)) from None
    summary, sheet = folder / SUMMARY_NAME, folder / SHEET_NAME
    refuse_inputs([summary, *([sheet] if contact_sheet else [])], inputs)


def _inputs(batch: Plan, manifest: str | os.PathLike | None) -> dict[str, Sequence[Path]]:
    jobs = [entry.job for entry in batch.jobs]
    return {
        "content": [job.content for job in jobs],
        "style image": [path for entry in batch.jobs for path in entry.style_files],
        "init image": [job.init for job in jobs if job.init is not None],
        "mask": [path for job in jobs for path in job.masks],
        "manifest": [Path(manifest)] if manifest is not None else [],
    }


def _at(entry: Planned, message: str) -> ImageError:
    where = entry.job.where
    return ImageError(f"{where}: {message}" if where else message)
