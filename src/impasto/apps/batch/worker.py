"""One job, painted where it is sent: a local worker process or a Ray task on any machine.

The input files arrive as bytes and the picture leaves as bytes (encoded in the output's
format), so a worker needs no shared folder and never writes into the output folder: the
driver writes every file. Inside, the job is an ordinary ``impasto.jobs`` job (the same checks
as the command line's), painted from a temporary copy of its inputs under their own names.

``paint`` never raises for a job's own problems: it returns a result whose ``status`` is
``done``, ``failed`` (with ``kind`` input, memory, diverged or bug, and a one-line ``error``)
or ``interrupted``.

The temporary copy is a folder ``impasto-job-PID-*`` in the system's temporary folder, locked
by its process while the job runs. A process killed outright (the driver with ``kill -9``, a
worker by the kernel's out-of-memory killer) cannot remove it: a worker whose driver is gone
removes its job's folder before it ends, and every worker's first job removes the folders of
processes that are gone (unlocked, their PID not running). Another batch's live folder is
locked, and kept.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import files
from ...config import StyleConfig
from ...errors import ImpastoError, first_line
from ...files import os_error_words
from ...jobs import Cancelled, CancelToken

DIVERGED = (
    "the optimisation diverged (the cost became NaN or infinite); try a lower style_weight, "
    "content_weight or tv_weight"
)


@dataclass(frozen=True)
class Task:
    """What a worker needs besides the input bytes (given in the order of ``files()``)."""

    name: str  # the output's file name, for messages
    config: StyleConfig
    content: str  # each input as the user named it
    styles: tuple[str, ...]
    init: str | None
    masks: tuple[str, ...]
    fmt: str  # png, jpg, ...
    quality: int
    bits: int
    threads: int  # torch threads for the job (0: leave as they are)

    def files(self) -> list[str]:
        return [self.content, *self.styles, *([self.init] if self.init else []), *self.masks]


class _EventToken(CancelToken):
    """A CancelToken that follows a flag shared with the driver (a multiprocessing Event)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self._shared = event

    @property
    def cancelled(self) -> bool:
        return bool(self._shared.is_set())


_cancel: CancelToken | None = None


def init_process(threads: int, cancel_event: Any, driver: int, gpus: Any = None) -> None:
    """A local worker process's start: its share of the cores, the driver's stop flag, and
    with ``gpus`` (a queue of CUDA indices, one per worker) its own GPU, made the current
    one before anything touches CUDA, so that ``cuda`` and ``auto`` paint there.

    Ctrl-C reaches every process of the terminal's group, and a service manager's SIGTERM
    every process of the service; the driver alone decides what happens, through the flag,
    so the workers ignore both (a worker whose driver is gone ends after its job).
    """
    global _cancel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(driver,), daemon=True).start()
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    if gpus is not None:
        torch.cuda.set_device(gpus.get(timeout=60))
    _cancel = _EventToken(cancel_event)


def _end_with(driver: int, every: float = 1.0) -> None:
    """A local worker whose driver is gone (killed outright, so it could not stop it) ends:
    nobody would write its picture, and it would hold its cores for nothing. It removes its
    job's temporary folder first: nothing else would (an exit this abrupt runs no cleanup)."""
    while os.getppid() == driver:
        time.sleep(every)
    if _folder is not None:
        shutil.rmtree(_folder, ignore_errors=True)
    os._exit(1)


JOB_FOLDER = "impasto-job-"  # then the owner's PID, "-", and a random part
_folder: Path | None = None  # the job folder of this process's running job
_cleaned = False  # whether this process has removed stale job folders yet


@contextlib.contextmanager
def job_folder() -> Iterator[Path]:
    """A temporary folder for one job, locked by this process until the job ends (then
    removed); the first in each process removes the folders of processes that are gone."""
    global _folder, _cleaned
    if not _cleaned:
        _cleaned = True
        remove_stale()
    path = Path(tempfile.mkdtemp(prefix=f"{JOB_FOLDER}{os.getpid()}-"))
    lock = os.open(path / _OWNER, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        files.lock(lock, blocking=True)
        _folder = path
        yield path
    finally:
        _folder = None
        shutil.rmtree(path, ignore_errors=True)
        os.close(lock)  # closing releases the lock


def remove_stale(root: Path | None = None) -> None:
    """Remove the job folders in ``root`` (the temporary folder) whose process is gone: not
    locked, and their PID not running. A folder being made is its PID's, which runs."""
    root = Path(root or tempfile.gettempdir())
    try:
        folders = [p for p in root.glob(f"{JOB_FOLDER}*") if p.is_dir() and not p.is_symlink()]
    except OSError:
        return
    for folder in folders:
        pid = folder.name[len(JOB_FOLDER) :].split("-", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue  # an older impasto's (no PID in the name), or a live process's
        try:
            lock = os.open(folder / _OWNER, os.O_RDWR)
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)  # killed before it locked
            continue
        try:
            if files.lock(lock, blocking=False):  # else locked: its owner lives (elsewhere)
                shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(lock)


_OWNER = ".owner"  # the file in a job folder its process holds locked


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: it runs
        return True
    return True


def paint(task: Task, *blobs: bytes) -> dict[str, Any]:
    """Paint the task from its inputs' bytes; the result as a plain dict (see the module)."""
    start = time.perf_counter()
    try:
        import torch

        if task.threads:
            torch.set_num_threads(task.threads)
        with contextlib.ExitStack() as stack:
            tmp: Path | None = None
            try:
                tmp = stack.enter_context(job_folder())
                local = _materialise(tmp, task.files(), blobs)
            except OSError as e:  # the temporary folder's disk is full, say
                where = tmp or e.filename or "the temporary folder"
                return _failed(
                    "input", f"{where}: cannot copy the inputs there ({os_error_words(e)})"
                )
            try:
                result = _paint(task, local, tmp)
            except ImpastoError as e:
                return _failed("input", _own_names(first_line(e), local, task.files()))
    except (Cancelled, KeyboardInterrupt):  # the driver's stop; a Ray cancel while loading
        return {"status": "interrupted"}
    except FloatingPointError:
        return _failed("diverged", DIVERGED)
    except MemoryError:
        return _failed("memory", "out of memory (the system refused more memory)")
    except RuntimeError as e:
        if _out_of_memory(e):
            return _failed("memory", f"out of memory ({first_line(e)})")
        return _failed("bug", f"internal error: RuntimeError: {first_line(e)}")
    except Exception as e:
        return _failed("bug", f"internal error: {type(e).__name__}: {first_line(e)}")
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def _out_of_memory(error: RuntimeError) -> bool:
    """The CPU's allocator refusing, or a GPU out of memory outside the run (which words its
    own: a ConfigError), e.g. while the network is moved there."""
    from ... import devices

    text = str(error)
    allocator = "can't allocate memory" in text or "not enough memory" in text
    return allocator or devices.is_out_of_memory(error)


def _failed(kind: str, error: str) -> dict[str, Any]:
    return {"status": "failed", "kind": kind, "error": error, "machine": machine()}


def _materialise(folder: Path, names: list[str], blobs: tuple[bytes, ...]) -> list[Path]:
    """Each input's bytes in its own subfolder under its own name (errors name the file)."""
    if len(names) != len(blobs):
        raise ValueError(f"{len(names)} input names for {len(blobs)} inputs")
    paths = []
    for index, (name, data) in enumerate(zip(names, blobs)):
        sub = folder / str(index)
        sub.mkdir()
        path = sub / (Path(name).name or "input")
        path.write_bytes(data)
        paths.append(path)
    return paths


def _own_names(message: str, local: list[Path], names: list[str]) -> str:
    """An error about a temporary copy, told about the user's file."""
    for path, name in sorted(zip(local, names), key=lambda pair: -len(str(pair[0]))):
        message = message.replace(str(path), name)
    return message


def _paint(task: Task, local: list[Path], tmp: Path) -> dict[str, Any]:
    from ... import jobs

    n_styles = len(task.styles)
    rest = local[1 + n_styles :]
    init = rest[0] if task.init else None
    masks = tuple(rest[1:] if task.init else rest)
    spec = jobs.JobSpec(
        content=local[0],
        styles=tuple(local[1 : 1 + n_styles]),
        config=task.config,
        output=tmp / f"picture.{task.fmt}",
        init=init,
        masks=masks,
        quality=task.quality,
        bits=task.bits,
    )
    job = jobs.prepare(spec)
    jobs.tune_process()
    network, digest = _network(job)
    last: list[Any] = []

    def keep(progress: Any) -> None:
        last[:] = [progress]

    rgb = jobs.run(job, network, progress=keep, cancel=_cancel)
    data = jobs.encode(job, rgb)
    final = last[-1] if last else None
    return {
        "status": "done",
        "device": painted_on(task.config.device),
        "image": data,
        "size": [int(rgb.shape[-1]), int(rgb.shape[-2])],
        "steps": final.step if final else 0,
        "losses": {k: float(v) for k, v in final.losses.items()} if final else {},
        "network": task.config.network,
        "weights_sha256": digest,
        "machine": machine(),
    }


def _network(job: Any) -> tuple[Any, str]:
    """The job's network and its weights' sha256. The first job on a machine fetches the
    weights into the normal cache (``jobs.fetch_once``: the other workers wait for it)."""
    from ... import jobs

    jobs.fetch_once(job.config)
    return jobs.load_network(job.config), jobs.weights_digest(job.config)


def painted_on(device: str) -> str:
    """The device a job on ``device`` painted on, as its sidecar says it: ``cuda:1 (NVIDIA
    H100 80GB HBM3, 79.1 GB)``, ``cpu (AMD EPYC 7B13)`` (resolved here, in the worker, where
    ``cuda`` is the worker's own GPU: its pinned one, or the one Ray gave it)."""
    from ... import devices

    return devices.about(devices.resolve(device)).describe()


_machine: dict[str, Any] | None = None


def machine() -> dict[str, Any]:
    """Where a job ran: host, CPU, threads, process, Python and torch versions."""
    global _machine
    import torch

    from ... import jobs

    if _machine is None:
        _machine = {
            "host": socket.gethostname(),
            "cpu": jobs.cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "system": f"{platform.system()} {platform.machine()}",
        }
    return {**_machine, "threads": torch.get_num_threads(), "pid": os.getpid()}
