"""What the driver writes beside each picture, and the batch's summary: JSON, atomically.

Each finished picture ``NAME.ext`` gets ``NAME.ext.json``: its inputs with their sha256, the
full config, the impasto version, the network and the sha256 of its weights, the final losses,
the time it took, the machine it ran on and the device that painted, so that the picture can be
made again. A job is done (and skipped by the next run) when its picture exists and its sidecar
says ``"status": "done"`` with the same key. The driver writes a new picture's sidecar first,
so a run killed between the two writes leaves a sidecar without its picture, which is painted
again (a picture without a sidecar would be a file the batch may not replace). An interrupted
job writes nothing: the batch never keeps a best-so-far picture, so a file in the folder is
always a finished one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ... import __version__
from ...files import write_atomic
from .plan import Planned, config_dict

SIDECAR_FORMAT = 1
SUMMARY_NAME = "batch-summary.json"


def write_json(path: Path, record: Mapping[str, Any]) -> None:
    """``record`` as JSON, atomically; ImageError naming ``path`` if it cannot be written."""
    write_atomic(path, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode())


def sidecar_path(folder: Path, entry: Planned) -> Path:
    """``NAME.ext.json``: the output's whole name, so that ``a.png`` and ``a.jpg`` each have
    their own."""
    return folder / f"{entry.name}.json"


def legacy_sidecar_path(folder: Path, entry: Planned) -> Path:
    """``NAME.json``, where batches before 2026-12-05 wrote a sidecar (shared by ``a.png``
    and ``a.jpg``, so its ``output`` says whose it is)."""
    return folder / f"{entry.stem}.json"


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing, unreadable or not an object."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def is_done(folder: Path, entry: Planned) -> bool:
    """The picture exists and its sidecar records it as done with the same key."""
    return done_sidecar(folder, entry) is not None


def done_sidecar(folder: Path, entry: Planned) -> Path | None:
    """The sidecar recording the job as done with the same key (an earlier batch's ``NAME.json``
    too, if it names this output), when the picture exists; else None."""
    if not (folder / entry.name).is_file():
        return None
    for path in (sidecar_path(folder, entry), legacy_sidecar_path(folder, entry)):
        record = read_json(path)
        if record is not None and record.get("output", entry.name) == entry.name:
            done = record.get("status") == "done" and record.get("key") == entry.key
            return path if done else None
    return None


def is_sidecar_of(path: Path, name: str) -> bool:
    """Whether ``path`` holds a batch's sidecar of the output ``name`` (whatever its key)."""
    record = read_json(path)
    return record is not None and record.get("output") == name and "key" in record


def is_summary(path: Path) -> bool:
    """Whether ``path`` holds a batch's summary (which each batch replaces with its own)."""
    record = read_json(path)
    return record is not None and isinstance(record.get("jobs"), list) and "runner" in record


def sidecar(entry: Planned, result: Mapping[str, Any]) -> dict[str, Any]:
    """The record of one finished picture; ``result`` is what the worker reported."""
    job = entry.job

    def files(paths) -> list[dict[str, str]]:
        return [{"path": str(p), "sha256": entry.digests.get(str(p), "")} for p in paths]

    return {
        "format": SIDECAR_FORMAT,
        "status": "done",
        "output": entry.name,
        "key": entry.key,
        "content": files([job.content])[0],
        "styles": files(entry.style_files),
        "init": files([job.init])[0] if job.init else None,
        "masks": files(job.masks),
        "config": config_dict(job.config),
        "impasto": __version__,
        "network": result.get("network"),
        "weights_sha256": result.get("weights_sha256"),
        "size": result.get("size"),  # [width, height]
        "steps": result.get("steps"),
        "losses": result.get("losses"),
        "seconds": result.get("seconds"),
        "finished": _now(),
        "machine": result.get("machine"),
        "device": result.get("device"),  # "cuda:0 (NVIDIA ...)", "cpu (...)"
        "source": job.where or None,
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Summary:
    """The batch's manifest of results, rewritten atomically each time a job ends.

    Statuses: ``done`` (painted in this run), ``skipped`` (done by an earlier run), ``failed``
    (with its one-line ``error``), ``interrupted`` (stopped, nothing written) and ``pending``
    (not started, or still running when the batch stopped).
    """

    def __init__(self, folder: Path, entries: list[Planned], runner: str) -> None:
        self.path = folder / SUMMARY_NAME
        self.started = _now()
        self.runner = runner
        self.rows: dict[str, dict[str, Any]] = {
            e.name: {
                "output": e.name,
                "content": str(e.job.content),
                "styles": [str(s) for s in e.job.styles],
                "source": e.job.where or None,
                "status": "pending",
            }
            for e in entries
        }
        self.stopped: str | None = None

    def set(self, name: str, status: str, **extra: Any) -> None:
        row = self.rows[name]
        row["status"] = status
        for key in ("error", "kind", "seconds", "sidecar"):
            row.pop(key, None)
        row.update({k: v for k, v in extra.items() if v is not None})

    def counts(self) -> dict[str, int]:
        counts = {s: 0 for s in ("done", "skipped", "failed", "interrupted", "pending")}
        for row in self.rows.values():
            counts[row["status"]] += 1
        return counts

    def write(self, finished: bool = False) -> None:
        write_json(
            self.path,
            {
                "impasto": __version__,
                "runner": self.runner,
                "started": self.started,
                "updated": _now(),
                "finished": finished,
                "stopped": self.stopped,
                "counts": self.counts(),
                "jobs": list(self.rows.values()),
            },
        )
