"""Jobs across machines: each job one Ray task asking for its CPU count as resources.

The driver connects to a running cluster (``ray start --head`` on one machine, ``ray start
--address HEAD:PORT`` on the others, impasto installed on each). Every input file is put into
Ray's object store once and sent as bytes; each task returns its picture as bytes and the
driver writes it, so no machine needs the others' folders. The weights are fetched and
verified once per machine by impasto's normal cache (the first task on a machine fetches,
the others wait for it). A worker that dies has its task retried elsewhere by Ray
(``max_retries``); a job's own failure (a bad input) is a result, never retried. A stop
cancels the tasks: a running one is interrupted at its next step, a waiting one never runs.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
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
        self, address: str, cpus: int, paint: Callable[..., Result] = worker.paint
    ) -> None:
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
        self.cluster_cpus = int(ray.cluster_resources().get("CPU", 0))
        if self.cluster_cpus < cpus:
            ray.shutdown()
            raise ConfigError(
                f"each job asks for {cpus} CPUs but the Ray cluster at {address} has "
                f"{self.cluster_cpus}"
            )
        self._paint = paint
        self._remote = ray.remote(num_cpus=cpus, max_retries=RETRIES)(paint_on_ray)
        self._refs: dict[Any, str] = {}
        self._blobs: dict[str, Any] = {}  # input name -> its object in the store
        self._stopped_at: float | None = None

    def describe(self) -> str:
        return f"Ray cluster at {self.address} ({self.cluster_cpus} CPUs), {self.cpus} CPU(s) a job"

    @property
    def capacity(self) -> int:
        """Tasks in flight: twice what the cluster runs at once, so no CPU waits for work."""
        return max(1, self.cluster_cpus // self.cpus) * 2

    @property
    def running(self) -> int:
        return len(self._refs)

    def submit(self, ident: str, task: Any, inputs: list[tuple[str, bytes]]) -> None:
        refs = []
        for name, data in inputs:
            if name not in self._blobs:
                self._blobs[name] = self.ray.put(data)
            refs.append(self._blobs[name])
        self._refs[self._remote.remote(self._paint, task, *refs)] = ident

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
