"""Jobs on this machine: N worker processes, each with its share of the cores, or one per GPU.

Never oversubscribed: each worker runs one job at a time with ``cores // N`` torch threads,
and at most N jobs are handed out at once. When the batch paints on CUDA, each worker is
pinned to a GPU of its own (``cuda`` and ``auto`` then mean that worker's GPU): two jobs on
one GPU would each plan for all of its free memory. The workers are spawned processes (a crash or an
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
from dataclasses import dataclass
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


def gpu_workers(device: str, gpu_count: int, workers: int | None = None) -> tuple[int, ...]:
    """The CUDA GPU of each local worker when the batch's ``device`` paints on CUDA: every GPU
    for ``cuda`` and ``auto`` (the first ``workers`` of them if given), the one ``cuda:N``
    names; () when it paints on the CPU or MPS (the workers share the cores). More workers than
    GPUs are refused: a GPU shared by two jobs is planned twice over (see the module)."""
    kind, _, index = device.partition(":")
    if kind not in ("cuda", "auto") or (kind == "auto" and gpu_count < 1):
        return ()
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    have = ", ".join(f"cuda:{i}" for i in range(gpu_count))
    if gpu_count < 1:
        raise ConfigError(f"device {device} is not available: this machine has no CUDA GPU")
    if index:
        if int(index) >= gpu_count:
            raise ConfigError(
                f"device {device} is not available: this machine has {gpu_count} CUDA "
                f"GPU(s) ({have})"
            )
        if workers not in (None, 1):
            raise ConfigError(
                f"{workers} workers on device {device}: it is one GPU, for one worker; leave "
                "--workers out, or use --device cuda for one worker per GPU"
            )
        return (int(index),)
    if workers is None:
        return tuple(range(gpu_count))
    if workers > gpu_count:
        raise ConfigError(
            f"{workers} workers on device {device} need {workers} GPUs (one job per GPU), this "
            f"machine has {gpu_count} ({have}); use fewer workers, or --device cpu"
        )
    return tuple(range(workers))


@dataclass(frozen=True)
class Layout:
    """The local pool: how many workers, each one's torch threads, and each one's GPU."""

    workers: int
    threads: int
    gpus: tuple[int, ...] = ()  # each worker's CUDA index; () on the CPU


def layout(device: str, workers: int | None = None, cores: int | None = None) -> Layout:
    """The pool for the batch's ``device`` (the command line's; a manifest's row may name its
    own, painted there by whichever worker takes it). The device is resolved first, so one
    that is not there is refused in one line before anything is read. On the CPU (and MPS),
    ``workers`` (default 1) share the cores exactly as before; on CUDA, one worker per GPU,
    each with its share of the cores for what it does on the CPU (at least one thread)."""
    from ... import devices

    if devices.resolve(device).type == "cuda":
        gpus = gpu_workers(device, _cuda_count(), workers)
        cores = available_cores() if cores is None else cores
        return Layout(len(gpus), max(1, cores // len(gpus)), gpus)
    count = 1 if workers is None else workers
    return Layout(count, threads_per_worker(count, cores))


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


class LocalPool:
    """Runs tasks in ``workers`` spawned processes (pinned to ``gpus``, one each, if given);
    the driver polls ``results``."""

    def __init__(
        self,
        workers: int,
        threads: int,
        paint: Painter = worker.paint,
        gpus: tuple[int, ...] = (),
    ) -> None:
        if gpus and len(gpus) != workers:
            raise ValueError(f"{workers} workers for {len(gpus)} GPUs")
        self.workers, self.threads, self.paint, self.gpus = workers, threads, paint, gpus
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._futures: dict[Future, tuple[str, Any, list[bytes], int]] = {}
        self._ended: list[tuple[str, Result]] = []  # cancelled before they started
        self._pool = self._new_pool()

    def describe(self) -> str:
        if self.gpus:
            names = ", ".join(f"cuda:{i}" for i in self.gpus)
            return f"{self.workers} local worker(s), one per GPU ({names})"
        return f"{self.workers} local worker(s), {self.threads} thread(s) each"

    @property
    def capacity(self) -> int:
        return self.workers

    @property
    def running(self) -> int:
        return len(self._futures) + len(self._ended)

    def _new_pool(self) -> ProcessPoolExecutor:
        """A pool of spawned workers; with GPUs, each takes its own index from a queue as it
        starts (the pool starts at most ``workers`` processes, so each GPU gets one)."""
        gpus = None
        if self.gpus:
            gpus = self._context.Queue()
            for index in self.gpus:
                gpus.put(index)
        return ProcessPoolExecutor(
            self.workers,
            mp_context=self._context,
            initializer=worker.init_process,
            initargs=(self.threads, self._stop, os.getpid(), gpus),
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
