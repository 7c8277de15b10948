"""Jobs on this machine: N worker processes, each with its share of the cores.

Never oversubscribed: each worker runs one job at a time with ``cores // N`` torch threads,
and at most N jobs are handed out at once. The workers are spawned processes (a crash or an
out-of-memory kill costs one process, never the driver) that keep their network between jobs.
A stop sets a flag that every worker's run checks at each evaluation: running jobs end with
``interrupted`` within a step. If a worker process dies, the pool is rebuilt and the jobs that
were running are given once more; a job that kills its worker twice has failed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ...errors import ConfigError
from . import worker

ATTEMPTS = 2  # a job is given to a fresh worker once more if its worker died
Result = dict[str, Any]
Painter = Callable[..., Result]


def available_cores() -> int:
    """Cores this process may use (its CPU affinity, which containers and taskset set)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """torch threads for each of ``workers`` processes: ``cores // workers``, at least one each.

    More workers than cores would oversubscribe the CPU: refused.
    """
    cores = available_cores() if cores is None else cores
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if cores < 1:
        raise ConfigError(f"cores must be at least 1, got {cores}")
    if workers > cores:
        raise ConfigError(
            f"{workers} workers need at least {workers} cores, this machine gives {cores}; "
            "use fewer workers"
        )
    return cores // workers


class LocalPool:
    """Runs tasks in ``workers`` spawned processes; the driver polls ``results``."""

    def __init__(self, workers: int, threads: int, paint: Painter = worker.paint) -> None:
        self.workers, self.threads, self.paint = workers, threads, paint
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._futures: dict[Future, tuple[str, Any, list[bytes], int]] = {}
        self._ended: list[tuple[str, Result]] = []  # cancelled before they started
        self._pool = self._new_pool()

    def describe(self) -> str:
        return f"{self.workers} local worker(s), {self.threads} thread(s) each"

    @property
    def capacity(self) -> int:
        return self.workers

    @property
    def running(self) -> int:
        return len(self._futures) + len(self._ended)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers,
            mp_context=self._context,
            initializer=worker.init_process,
            initargs=(self.threads, self._stop, os.getpid()),
        )

    def submit(self, ident: str, task: Any, inputs: list[tuple[str, bytes]]) -> None:
        blobs = [data for _, data in inputs]
        self._start(ident, task, blobs, 1)

    def _start(self, ident: str, task: Any, blobs: list[bytes], attempt: int) -> None:
        future = self._pool.submit(self.paint, task, *blobs)
        self._futures[future] = (ident, task, blobs, attempt)

    def results(self, timeout: float) -> list[tuple[str, Result]]:
        """The jobs that ended within ``timeout`` seconds, with their results."""
        out, self._ended = self._ended, []
        if not self._futures:
            return out
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        broken = False
        for future in done:
            ident, task, blobs, attempt = self._futures.pop(future)
            try:
                out.append((ident, future.result()))
            except BrokenProcessPool:
                broken = True
                self._futures[future] = (ident, task, blobs, attempt)
            except Exception as e:  # the call itself failed (e.g. a task that cannot pickle)
                out.append((ident, _failure("bug", f"internal error: {type(e).__name__}: {e}")))
        if broken:
            out.extend(self._rebuild())
        return out

    def _rebuild(self) -> list[tuple[str, Result]]:
        """A worker died and took the pool with it: start a new pool, retry the lost jobs."""
        lost = list(self._futures.values())
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        out = []
        for ident, task, blobs, attempt in lost:
            if self._stop.is_set():
                out.append((ident, {"status": "interrupted"}))
            elif attempt >= ATTEMPTS:
                error = "its worker process died twice (killed, or out of memory)"
                out.append((ident, _failure("worker", error)))
            else:
                self._start(ident, task, blobs, attempt + 1)
        return out

    def cancel(self) -> None:
        """Stop every running job (each ends as ``interrupted`` at its next step)."""
        self._stop.set()
        for future in list(self._futures):
            if future.cancel():  # not started yet
                ident = self._futures.pop(future)[0]
                self._ended.append((ident, {"status": "interrupted"}))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _failure(kind: str, error: str) -> Result:
    return {"status": "failed", "kind": kind, "error": error}
