"""Jobs across machines: each job one Ray task asking for its CPU count (and a GPU) as resources.

The driver connects to a running cluster (``ray start --head`` on one machine, ``ray start
--address HEAD:PORT`` on the others, impasto installed on each). Every input file is put into
Ray's object store once and sent as bytes; each task returns its picture as bytes and the
driver writes it, so no machine needs the others' folders. The weights are fetched and
verified once per machine by impasto's normal cache (the first task on a machine fetches,
the others wait for it). A worker that dies has its task retried elsewhere by Ray
(``max_retries``); a job's own failure (a bad input) is a result, never retried. A stop
cancels the tasks: a running one is interrupted at its next step, a waiting one never runs.

A job on CUDA asks for one GPU (``remote_options``); Ray then shows its task only that GPU
(``CUDA_VISIBLE_DEVICES``), so ``cuda`` is the GPU Ray gave, and runs each such task in a
fresh worker (its default for GPU tasks: a process keeps the GPU it first used), which loads
the network for its job.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ...errors import ConfigError, first_line
from . import worker

RETRIES = 3  # times Ray gives a task to another worker when its worker dies
FORCE_AFTER = 20.0  # seconds after a stop before tasks that ignore it are killed
INSTALL_HINT = "pip install 'impasto[ray]'"

Result = dict[str, Any]


def import_ray() -> Any:
    """Ray, or a one-line ConfigError saying how to get it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--ray needs Ray, which is not installed; {INSTALL_HINT}") from None
    return ray


def check_device(device: str) -> None:
    """Refuse ``cuda:N`` with Ray: Ray picks each job's GPU and its task sees only that one
    (as ``cuda:0``), so an index names no GPU the batch can choose."""
    if device.startswith("cuda:"):
        raise ConfigError(
            f"device {device}: with --ray, Ray gives each job a GPU of its own; use --device cuda"
        )


def remote_options(
    device: str, cpus: int, cluster_gpus: float = 0, where: str = "the Ray cluster"
) -> dict[str, int]:
    """What a job on ``device`` asks Ray for: its ``cpus``, and one GPU when it paints on CUDA:
    ``cuda``, or ``auto`` on a cluster that has GPUs (as ``auto`` takes the GPU on one
    machine). ``cuda`` on a cluster without GPUs is refused: its tasks would wait forever."""
    check_device(device)
    if device == "cuda" and cluster_gpus < 1:
        raise ConfigError(
            f"device cuda asks for a GPU for each job but {where} has none; start a node with "
            "one (`ray start --num-gpus N`), or use --device cpu"
        )
    gpu = device == "cuda" or (device == "auto" and cluster_gpus >= 1)
    return {"num_cpus": cpus, "num_gpus": int(gpu)}


def task_device(device: str, gpus: int) -> str:
    """The device a job's task paints on: ``auto`` is decided for the cluster (``cuda`` where
    Ray gave the job a GPU, else ``cpu``), not by each machine: Ray leaves a task that asked
    for no GPU every GPU of its machine in sight, unaccounted."""
    if device != "auto":
        return device
    return "cuda" if gpus else "cpu"


def paint_on_ray(paint: Callable[..., Result], task: Any, *blobs: bytes) -> Result:
    """``paint(task, *blobs)`` in a Ray worker, which a stop can interrupt.

    Ray interrupts a running task the way Ctrl-C would, which Python ignores where SIGINT was
    ignored when the process started: a cluster started in the background from a script
    (``ray start ... &``) runs its workers so, and a stopped batch then waited for every
    running job to finish. Here SIGINT raises KeyboardInterrupt again, as in any Python
    program; only Ray sends it (a Ray worker is not in the terminal's process group).
    """
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    return paint(task, *blobs)


class RayPool:
    """Runs tasks on the Ray cluster at ``address``; the driver polls ``results``."""

    def __init__(
        self,
        address: str,
        cpus: int,
        paint: Callable[..., Result] = worker.paint,
        devices: Sequence[str] = ("cpu",),
    ) -> None:
        """``devices``: those of the jobs it will be given (each GPU job asks for a GPU)."""
        ray = self.ray = import_ray()
        if cpus < 1:
            raise ConfigError(f"cpus per job must be at least 1, got {cpus}")
        _reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        except Exception as e:  # ConnectionError, and Ray's own errors
            raise ConfigError(
                f"cannot connect to the Ray cluster at {address} ({first_line(e)}); start one "
                "with `ray start --head` (see the README)"
            ) from None
        self.address, self.cpus = address, cpus
        resources = ray.cluster_resources()
        self.cluster_cpus = int(resources.get("CPU", 0))
        self.cluster_gpus = int(resources.get("GPU", 0))
        if self.cluster_cpus < cpus:
            ray.shutdown()
            raise ConfigError(
                f"each job asks for {cpus} CPUs but the Ray cluster at {address} has "
                f"{self.cluster_cpus}"
            )
        try:
            self._options = {name: self._options_of(name) for name in devices}
        except ConfigError:
            ray.shutdown()
            raise
        self.gpus = any(options["num_gpus"] for options in self._options.values())
        self._paint = paint
        self._remotes: dict[tuple[int, int], Any] = {}  # (CPUs, GPUs) -> the remote function
        self._refs: dict[Any, str] = {}
        self._blobs: dict[str, Any] = {}  # input name -> its object in the store
        self._stopped_at: float | None = None

    def _options_of(self, device: str) -> dict[str, int]:
        where = f"the Ray cluster at {self.address}"
        return remote_options(device, self.cpus, self.cluster_gpus, where)

    def _remote(self, options: dict[str, int]) -> Any:
        """The remote function asking for ``options``: one per resource request, made with
        it (Ray gives GPU tasks a fresh worker only when ``ray.remote`` asks for the GPU)."""
        key = (options["num_cpus"], options["num_gpus"])
        if key not in self._remotes:
            remote = self.ray.remote(**options, max_retries=RETRIES)(paint_on_ray)
            self._remotes[key] = remote
        return self._remotes[key]

    def describe(self) -> str:
        if self.gpus:
            return (
                f"Ray cluster at {self.address} ({self.cluster_cpus} CPUs, {self.cluster_gpus} "
                f"GPUs), {self.cpus} CPU(s) and 1 GPU a job"
            )
        return f"Ray cluster at {self.address} ({self.cluster_cpus} CPUs), {self.cpus} CPU(s) a job"

    @property
    def capacity(self) -> int:
        """Tasks in flight: twice what the cluster runs at once (by its CPUs, or its GPUs when
        the jobs ask for them), so no CPU or GPU waits for work."""
        slots = self.cluster_cpus // self.cpus
        if self.gpus:
            slots = min(slots, self.cluster_gpus)
        return max(1, slots) * 2

    @property
    def running(self) -> int:
        return len(self._refs)

    def submit(self, ident: str, task: Any, inputs: list[tuple[str, bytes]]) -> None:
        refs = []
        for name, data in inputs:
            if name not in self._blobs:
                self._blobs[name] = self.ray.put(data)
            refs.append(self._blobs[name])
        options = self._options.get(task.config.device) or self._options_of(task.config.device)
        device = task_device(task.config.device, options["num_gpus"])
        if device != task.config.device:  # the sidecar keeps the job's own config
            task = dataclasses.replace(task, config=dataclasses.replace(task.config, device=device))
        self._refs[self._remote(options).remote(self._paint, task, *refs)] = ident

    def results(self, timeout: float) -> list[tuple[str, Result]]:
        ray = self.ray
        if not self._refs:
            return []
        if self._stopped_at is not None and time.monotonic() - self._stopped_at > FORCE_AFTER:
            for ref in self._refs:
                ray.cancel(ref, force=True)
            self._stopped_at = float("inf")
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        out = []
        for ref in ready:
            ident = self._refs.pop(ref)
            out.append((ident, self._get(ref)))
        return out

    def _get(self, ref: Any) -> Result:
        exceptions = self.ray.exceptions
        try:
            return self.ray.get(ref)
        except exceptions.TaskCancelledError:
            return {"status": "interrupted"}
        except (exceptions.WorkerCrashedError, exceptions.NodeDiedError) as e:
            return _failure("worker", f"its Ray worker died {RETRIES + 1} times ({first_line(e)})")
        except exceptions.RayError as e:
            if self._stopped_at is not None:
                return {"status": "interrupted"}
            return _failure("bug", f"Ray task failed: {first_line(e)}")

    def cancel(self) -> None:
        if self._stopped_at is None:
            self._stopped_at = time.monotonic()
        for ref in self._refs:
            self.ray.cancel(ref)

    def close(self) -> None:
        self._blobs.clear()
        self.ray.shutdown()


def _reachable(address: str, timeout: float = 5.0) -> None:
    """A HOST:PORT that does not answer is said at once (Ray itself would wait for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", "ray://...": Ray's own business
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address} ({e.strerror or e}); start one with "
            "`ray start --head` (see the README)"
        ) from None


def _failure(kind: str, error: str) -> Result:
    return {"status": "failed", "kind": kind, "error": error}
