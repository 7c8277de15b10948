"""The batch's driver: plan the jobs, skip what is done, hand out the rest, write every file.

Workers (local processes or Ray tasks) only paint; the driver alone writes into the output
folder: each picture and its sidecar atomically, and the summary after every job, so that a
kill at any moment leaves only whole files, and the summary tells what finished. Ctrl-C or
SIGTERM stops the batch cleanly: no new job starts, the running ones are interrupted (and
write nothing), the summary is written, and a re-run paints what is left. A second Ctrl-C
stops at once. A file that cannot be written (a full disk) stops the batch the same way, and
is its one line of error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ...config import StyleConfig
from ...errors import ConfigError, ImpastoError
from ...files import write_atomic
from ...io.images import SAVE_FORMATS, SIXTEEN_BIT_FORMATS, read_input
from . import manifest, outputs
from . import plan as planning
from .sidecar import (
    Summary,
    done_sidecar,
    is_sidecar_of,
    legacy_sidecar_path,
    sidecar,
    sidecar_path,
    write_json,
)
from .worker import Task

POLL = 0.2  # seconds between looks at the workers and at the stop flag


@dataclass(frozen=True)
class Request:
    """A batch as the user asked for it."""

    output: str
    contents: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    manifest: str | None = None
    config: StyleConfig = field(default_factory=StyleConfig)
    init: str | None = None  # an init image for every job (the manifest may set its own)
    pairs: bool = False
    overwrite: bool = False
    workers: int | None = None  # local: default 1 on the CPU, one per GPU on CUDA
    cores: int | None = None  # default: every core this process may use
    ray: str | None = None  # a Ray cluster's address
    cpus_per_job: int = 1  # with Ray
    contact_sheet: bool = False
    fmt: str = "png"
    quality: int = 95
    bits: int = 8


@dataclass
class Report:
    counts: dict[str, int]
    failures: list[tuple[str, str, str]]  # name, kind, one-line error
    stopped: str | None  # None, "interrupted" (SIGINT) or "terminated" (SIGTERM)
    summary: Path
    sheet: Path | None = None


class Executor(Protocol):
    @property
    def capacity(self) -> int: ...  # jobs to hand out at once
    @property
    def running(self) -> int: ...  # jobs handed out and not yet back

    def describe(self) -> str: ...
    def submit(self, ident: str, task: Task, inputs: list[tuple[str, bytes]]) -> None: ...
    def results(self, timeout: float) -> list[tuple[str, dict[str, Any]]]: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


class Stop:
    """Ctrl-C and SIGTERM as a flag the driver looks at; a second one stops at once."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.reason is not None:
            raise KeyboardInterrupt
        self.reason = "terminated" if signum == signal.SIGTERM else "interrupted"

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stop]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in before:
            signal.signal(s, self._on_signal)
        try:
            yield self
        finally:
            for s, handler in before.items():
                signal.signal(s, handler)


def check(request: Request) -> None:
    """Everything about the request that needs no file: fail before any work."""
    if f".{request.fmt}" not in SAVE_FORMATS:
        raise ConfigError(f"format must be one of {', '.join(planning.FORMATS)}, got {request.fmt}")
    if request.bits == 16 and SAVE_FORMATS[f".{request.fmt}"] not in SIXTEEN_BIT_FORMATS:
        raise ConfigError("16-bit output needs format png or tif")
    if not 1 <= request.quality <= 100:
        raise ConfigError(f"quality must be between 1 and 100, got {request.quality}")
    if request.manifest is not None and (request.contents or request.styles):
        raise ConfigError("give either a manifest or contents and styles, not both")
    if request.manifest is None and not request.contents:
        raise ConfigError("nothing to paint: give CONTENT files or folders, or --manifest FILE")
    if request.manifest is None and not request.styles:
        raise ConfigError("no styles: give --styles FILE|FOLDER ...")
    if request.ray is not None and request.workers not in (None, 1):
        raise ConfigError("--workers is for local runs; with --ray use --cpus-per-job")


def output_folder(name: str) -> Path:
    if name == "-":
        raise ConfigError("a batch writes many pictures: -o must be a folder, not - (stdout)")
    folder = Path(name).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: is a file; the batch's output must be a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{folder}: cannot create the output folder ({e.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{folder}: the output folder is not writable")
    return folder


def make_plan(request: Request) -> planning.Plan:
    """The job list, read before the output folder is made (a bad manifest makes nothing)."""
    grid = None
    if request.manifest is not None:
        jobs = manifest.read_manifest(request.manifest, request.config)
    else:
        jobs, grid = planning.grid_jobs(
            request.contents, request.styles, request.config, pairs=request.pairs, init=request.init
        )
    planning.check_devices(jobs, request.config.device, _device_check(request))
    folder = output_folder(request.output)
    output = planning.Output(folder, request.fmt, request.quality, request.bits)
    return planning.plan(jobs, output, grid)


def _device_check(request: Request) -> Callable[[str], object]:
    """How a job's device is checked before anything is written: resolved on this machine;
    with Ray, only what needs no cluster (its GPUs are counted once it is reached)."""
    if request.ray is not None:
        from .ray_runner import check_device

        return check_device
    from ... import devices

    return devices.resolve


def executor(
    request: Request,
    painter: Callable[..., dict[str, Any]] | None = None,
    devices: Sequence[str] = (),
) -> Executor:
    """The Ray pool or the local one; ``devices``: the devices of the jobs to paint (Ray asks
    the cluster for a GPU for those that need one)."""
    from . import worker

    paint = painter or worker.paint
    if request.ray is not None:
        from .ray_runner import RayPool

        names = tuple(devices) or (request.config.device,)
        return RayPool(request.ray, request.cpus_per_job, paint, names)
    from .local import LocalPool, layout

    shape = layout(request.config.device, request.workers, request.cores)
    return LocalPool(shape.workers, shape.threads, paint, shape.gpus)


def run(
    request: Request,
    say: Callable[[str], None] = lambda _line: None,
    painter: Callable[..., dict[str, Any]] | None = None,
) -> Report:
    """Paint the batch; ``say`` gets one line per event. ``painter`` replaces worker.paint
    (tests give a tiny network)."""
    check(request)
    if request.ray is not None:
        from .ray_runner import import_ray

        import_ray()  # a missing extra is said before anything is read
    else:
        from .local import layout

        layout(request.config.device, request.workers, request.cores)  # a missing GPU too
    batch = make_plan(request)
    folder = batch.output.folder
    todo: deque[planning.Planned] = deque()
    done: dict[str, Path] = {}  # job -> the sidecar saying it is done
    for entry in batch.jobs:
        if entry.error is not None:
            continue
        side = None if request.overwrite else done_sidecar(folder, entry)
        if side is not None:
            done[entry.name] = side
        else:
            todo.append(entry)
    outputs.check(
        batch,
        todo,
        overwrite=request.overwrite,
        manifest=request.manifest,
        contact_sheet=request.contact_sheet,
    )
    pool = executor(request, painter, sorted({entry.job.config.device for entry in todo}))
    summary = Summary(folder, batch.jobs, pool.describe())
    for entry in batch.jobs:
        if entry.error is not None:
            summary.set(entry.name, "failed", kind="input", error=entry.error)
        elif entry.name in done:
            summary.set(entry.name, "skipped", sidecar=done[entry.name].name)
    counts = summary.counts()
    say(
        f"{len(batch.jobs)} job(s): {len(todo)} to paint, {counts['skipped']} done before"
        + (f", {counts['failed']} with unreadable inputs" if counts["failed"] else "")
        + (f", {batch.duplicates} duplicate(s) dropped" if batch.duplicates else "")
        + f"; {pool.describe()}; output {folder}"
    )
    for entry in batch.jobs:
        if entry.error is not None:
            say(f"failed {entry.name}: {entry.error}")
    by_name = {entry.name: entry for entry in batch.jobs}
    stop = Stop()
    total = len(todo)
    finished = 0
    cancelled = False
    failure: ImpastoError | None = None
    try:
        with stop.installed():
            summary.write()
            while todo or pool.running:
                if stop.reason is not None and not cancelled:
                    cancelled = True
                    todo.clear()  # their rows stay "pending"
                    pool.cancel()
                    say(f"{stop.reason}: stopping the running job(s); nothing half-written")
                while todo and pool.running < pool.capacity:
                    entry = todo.popleft()
                    try:
                        inputs = _inputs(entry)
                    except ImpastoError as e:
                        finished += 1
                        result = {"status": "failed", "kind": "input", "error": str(e)}
                        _record(entry, result, summary, folder, say, f"[{finished}/{total}]")
                        continue
                    pool.submit(entry.name, _task(entry, request, batch.output), inputs)
                for name, result in pool.results(POLL):
                    finished += result.get("status") != "interrupted"
                    _record(by_name[name], result, summary, folder, say, f"[{finished}/{total}]")
                    summary.write()
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting for the running jobs
        stop.reason = stop.reason or "interrupted"
        pool.cancel()
    except ImpastoError as e:  # the output folder takes no more files (a full disk): stop
        failure = e
        pool.cancel()
        raise
    finally:
        pool.close()
        summary.stopped = stop.reason
        try:
            summary.write(finished=stop.reason is None and failure is None)
        except ImpastoError:
            if failure is None:
                raise  # else the same disk said it already: one line is enough
    statuses = {name: row["status"] for name, row in summary.rows.items()}
    sheet = None
    if request.contact_sheet and stop.reason is None:
        from .sheet import contact_sheet

        sheet = contact_sheet(batch, statuses)
    failures = [
        (name, row.get("kind", "input"), row.get("error", ""))
        for name, row in summary.rows.items()
        if row["status"] == "failed"
    ]
    return Report(summary.counts(), failures, stop.reason, summary.path, sheet)


def _task(entry: planning.Planned, request: Request, output: planning.Output) -> Task:
    job = entry.job
    threads = request.cpus_per_job if request.ray is not None else 0
    return Task(
        name=entry.name,
        config=job.config,
        content=str(job.content),
        styles=tuple(str(p) for p in entry.style_files),
        init=str(job.init) if job.init else None,
        masks=tuple(str(p) for p in job.masks),
        fmt=planning.file_format(job, output),
        quality=output.quality,
        bits=output.bits,
        threads=threads,
    )


def _inputs(entry: planning.Planned) -> list[tuple[str, bytes]]:
    """Each input's bytes: a pipe's or device's as read at planning (once), a file's read now.
    The bytes hashed at planning are the ones painted, unless the file changed in between
    (then the picture's sidecar says the hash it was planned with; the next run will see the
    change and paint it again)."""
    names = [str(p) for p in entry.inputs()]
    return [(n, entry.streams[n] if n in entry.streams else read_input(n)) for n in names]


def _record(
    entry: planning.Planned,
    result: dict[str, Any],
    summary: Summary,
    folder: Path,
    say: Callable[[str], None],
    count: str,
) -> None:
    status = result.get("status")
    if status == "done":
        try:
            _write_done(folder, entry, result)
        except ImpastoError as e:  # the folder, not the job: the next picture would fail too
            summary.set(entry.name, "failed", kind="input", error=str(e))
            raise
        seconds = result.get("seconds") or 0.0
        summary.set(entry.name, "done", seconds=seconds, sidecar=sidecar_path(folder, entry).name)
        say(f"{count} done {entry.name} in {seconds:.1f} s")
    elif status == "failed":
        kind, error = result.get("kind", "bug"), result.get("error", "failed")
        summary.set(entry.name, "failed", kind=kind, error=error)
        say(f"{count} failed {entry.name}: {error}")
    else:
        summary.set(entry.name, "interrupted")


def _write_done(folder: Path, entry: planning.Planned, result: dict[str, Any]) -> None:
    """The picture and its sidecar, each atomically. A new picture's sidecar goes first: a
    kill between the two leaves a sidecar without its picture, painted again by the next run.
    A picture replaced (--overwrite) goes first: a kill between leaves it beside its old
    sidecar, which vouches for it only if it had the same key. An earlier batch's
    ``NAME.json`` of this output goes once both are written."""
    picture, side = folder / entry.name, sidecar_path(folder, entry)
    record = sidecar(entry, result)
    if os.path.lexists(picture):
        write_atomic(picture, result["image"])
        write_json(side, record)
    else:
        write_json(side, record)
        try:
            write_atomic(picture, result["image"])
        except BaseException:
            side.unlink(missing_ok=True)  # no sidecar without its picture
            raise
    legacy = legacy_sidecar_path(folder, entry)
    if is_sidecar_of(legacy, entry.name):
        legacy.unlink(missing_ok=True)
