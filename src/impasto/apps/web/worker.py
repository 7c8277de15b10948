"""The one painting worker: a queue of paintings, painted one at a time in a thread.

A CPU has no room for two paintings at once, so one thread takes them in order. Each is a
job of ``impasto.jobs``: prepared when it is asked for (so bad settings are refused at once,
with the estimate), then let go; a waiting painting keeps only its ``JobSpec`` (paths and
settings), and is prepared again, its pictures decoded, when its turn comes. The queue holds
at most ``max_queue`` paintings (``limits.MAX_QUEUE``); past it a request is told the server
is busy. Of the ended paintings the latest ``max_ended`` are kept (``limits.MAX_ENDED``),
with their results. Each is painted with a ``CancelToken`` and a progress callback that publishes
events and, every few steps, a JPEG of the current picture. A cancelled painting keeps the
best picture so far as its result, marked cancelled.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import jobs
from ...config import StyleConfig
from ...errors import ConfigError, ImpastoError, first_line
from ...jobs import Cancelled, CancelToken, Progress, rough_duration
from ...ops.resize import size_of
from . import settings
from .events import Events, jsonable
from .limits import MAX_ENDED, MAX_QUEUE

PREVIEW_EVERY = 5  # steps between pictures sent to the page (and the first of every scale)
QUEUED, PAINTING, DONE, CANCELLED, FAILED = "queued", "painting", "done", "cancelled", "failed"
GB = 1024**3


@dataclass(frozen=True)
class Order:
    """A checked request: the job's spec, what the page shows, and what a touch-up needs."""

    spec: jobs.JobSpec
    title: str  # "tubingen.jpg × starry_night.jpg"
    start: str  # what it starts from, in the page's words
    estimate: dict[str, Any]  # for the page (``worker.estimate_of``)
    planned: jobs.Estimate  # for a later touch-up's plan
    inputs: dict[str, Any] = field(default_factory=dict)  # the ids it paints: content, styles, mask
    touch_up_of: str | None = None  # the result it touches up
    origin: str | None = None  # the first run of a touch-up (of a touch-up ...)


class Busy(Exception):
    """The queue is full: the request is refused, nothing is kept."""


class Painting:
    """One asked-for painting, from the queue to its result.

    It holds its job (with its decoded pictures) only while it is painted: waiting, it keeps
    the spec, and when it ends, what the page shows and the result file.
    """

    def __init__(self, painting_id: str, order: Order) -> None:
        self.id = painting_id
        self.title = order.title  # "tubingen.jpg × starry_night.jpg"
        self.spec = order.spec
        self.job: jobs.Job | None = None  # while it is painted
        self.start = order.start  # what it starts from, as the page says it
        self.config: StyleConfig = order.spec.config
        self.out = Path(str(order.spec.output))
        self.estimate = order.estimate
        self.planned = order.planned  # the plan (timed on this machine once it has run)
        self.inputs = order.inputs  # picture ids: content, styles, mask
        self.touch_up_of = order.touch_up_of
        self.origin = order.origin
        self.state = QUEUED
        self.token = CancelToken()
        self.progress: dict[str, Any] | None = None
        self.preview: bytes | None = None
        self.error: str | None = None
        self.elapsed = 0.0

    @property
    def has_result(self) -> bool:
        return self.state in (DONE, CANCELLED) and self.out.exists()

    def public(self) -> dict[str, Any]:
        """What the page is told, as strict JSON; whatever the painting holds, this answers
        (a bug here shows as the painting's one-line error, not as a failed state request)."""
        try:
            return jsonable(self._public())
        except Exception as e:
            return {
                "id": self.id,
                "title": str(self.title),
                "state": FAILED,
                "settings": {},
                "start": "",
                "width": None,
                "height": None,
                "estimate": None,
                "progress": None,
                "error": f"internal error: {type(e).__name__}: {first_line(e)} (a bug)",
                "elapsed": 0,
                "result": None,
                "inputs": {},
                "touch_up_of": None,
                "origin": None,
            }

    def _public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "state": self.state,
            "settings": settings.changed(self.config),
            "start": self.start,
            "width": self.estimate["width"],
            "height": self.estimate["height"],
            "estimate": self.estimate,
            "progress": self.progress,
            "error": self.error,
            "elapsed": round(self.elapsed, 2),
            "result": result_links(self.id) if self.has_result else None,
            "inputs": self.inputs,
            "touch_up_of": self.touch_up_of,
            "origin": self.origin,
        }


def estimate_of(job: jobs.Job) -> dict[str, Any]:
    """What the page shows before a start: time, memory, and the plan of scales."""
    e = job.estimate
    h, w = job.final_hw
    return {
        "text": e.describe().removeprefix("estimate: "),
        "seconds": e.seconds,
        "time": rough_duration(e.seconds),
        "memory_gb": round(e.memory / GB, 2),
        "budget_gb": round(e.budget / GB, 2),
        "scales": [s.size for s in job.plan],
        "iterations": [s.iterations for s in job.plan],
        "width": w,
        "height": h,
    }


def result_links(painting_id: str) -> dict[str, str]:
    return {ext: f"/api/results/{painting_id}.{ext}" for ext in ("png", "jpg", "webp")}


class Worker:
    """Paints the queue in order in one thread; every change is published to ``events``."""

    def __init__(
        self,
        results: Path,
        events: Events,
        preview_every: int = PREVIEW_EVERY,
        max_queue: int = MAX_QUEUE,
        max_ended: int = MAX_ENDED,
    ):
        self.results = results
        self.max_queue = max_queue
        self.max_ended = max_ended
        self.results.mkdir(parents=True, exist_ok=True)
        self.events = events
        self.preview_every = max(1, preview_every)
        self._paintings: dict[str, Painting] = {}  # in the order asked for
        self._queue: list[str] = []
        self._ended: list[str] = []  # in the order they ended
        self._current: Painting | None = None
        self._wake = threading.Condition()
        self._stopping = False
        self._network: Any = None
        self._network_key: tuple | None = None
        self._thread = threading.Thread(target=self._loop, name="impasto-painter", daemon=True)

    # ------------------------------------------------------------------ asked from requests

    def start(self) -> None:
        self._thread.start()

    def output_for(self, painting_id: str) -> Path:
        return self.results / f"{painting_id}.png"

    def busy(self) -> str | None:
        """Why a painting cannot be queued now (one line), or None."""
        with self._wake:
            if len(self._queue) < self.max_queue:
                return None
            return (
                f"busy: {len(self._queue)} paintings are waiting already, the most this server "
                "keeps; try again when one has finished"
            )

    def submit(self, painting_id: str, order: Order) -> Painting:
        """Queue a prepared (so checked) order; ``Busy`` if the queue is full, ConfigError if
        the result it starts from (a touch-up's too) was forgotten since it was checked
        (``max_ended``)."""
        painting = Painting(painting_id, order)
        with self._wake:
            if (why := self.busy()) is not None:
                raise Busy(why)
            init = order.spec.init
            if init is not None and not Path(init).exists():  # forgotten meanwhile
                gone = "touch up: no such finished picture" if order.touch_up_of else None
                raise ConfigError(gone or "init: no such result")
            self._paintings[painting_id] = painting
            self._queue.append(painting_id)
            self.events.publish("queued", painting=painting.public(), queue=list(self._queue))
            self._wake.notify()
        return painting

    def get(self, painting_id: str) -> Painting | None:
        with self._wake:
            return self._paintings.get(painting_id)

    def cancel(self, painting_id: str) -> bool:
        """Take a waiting painting off the queue, or stop the one being painted."""
        with self._wake:
            painting = self._paintings.get(painting_id)
            if painting is None or painting.state not in (QUEUED, PAINTING):
                return False
            painting.token.cancel()
            if painting.state == QUEUED:
                self._queue.remove(painting_id)
                painting.state, painting.job = CANCELLED, None
                self.events.publish(
                    "cancelled", painting=painting.public(), queue=list(self._queue)
                )
                self._forget_ended(painting)
        return True

    def _forget_ended(self, painting: Painting) -> None:
        """``painting`` has ended: past ``max_ended`` ended paintings, forget those that
        ended first and remove their results, but one that a painting still to come starts
        from (its ``spec.init``, the picture a touch-up touches up) and the first run of a
        touch-up still kept (a touch-up of it is planned from that run): requests without
        end keep no more. Called with the lock held."""
        self._ended.append(painting.id)
        coming = [p for p in self._paintings.values() if p.state in (QUEUED, PAINTING)]
        starts = {Path(p.spec.init) for p in coming if p.spec.init is not None}
        needed = {p.touch_up_of for p in coming} | {p.origin for p in self._paintings.values()}
        for ident in self._ended[: max(0, len(self._ended) - self.max_ended)]:
            old = self._paintings[ident]
            if old.out not in starts and old.id not in needed:
                self._ended.remove(ident)
                del self._paintings[ident]
                old.out.unlink(missing_ok=True)

    def state(self) -> dict[str, Any]:
        with self._wake:
            return {
                "paintings": [p.public() for p in self._paintings.values()],
                "queue": list(self._queue),
                "current": self._current.id if self._current else None,
            }

    def paths_in_use(self) -> set[Path]:
        """The files the paintings still to come paint from: content, styles, strokes, start."""
        with self._wake:
            specs = [p.spec for p in self._paintings.values() if p.state in (QUEUED, PAINTING)]
        inits = [s.init for s in specs if s.init is not None]
        return {Path(f) for f in [*(s.content for s in specs), *inits]} | {
            Path(f) for s in specs for f in (*s.styles, *s.masks)
        }

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel everything and wait for the thread (the server is stopping)."""
        with self._wake:
            self._stopping = True
            for painting in self._paintings.values():
                painting.token.cancel()
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # ------------------------------------------------------------------ the painting thread

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                painting = self._paintings[self._queue.pop(0)]
                painting.state = PAINTING
                self._current = painting
                self.events.publish("started", painting=painting.public(), queue=list(self._queue))
            try:
                self._paint(painting)
            finally:
                with self._wake:
                    self._current, painting.job = None, None
                    if not self._queue:  # idle: hold no painting's memory (engine/heap.py)
                        jobs.release_memory()
                    self.events.publish(
                        painting.state, painting=painting.public(), queue=list(self._queue)
                    )
                    self._forget_ended(painting)

    def _paint(self, painting: Painting) -> None:
        start = time.perf_counter()
        job = None
        try:
            job = painting.job = jobs.prepare(painting.spec)  # its pictures, decoded now
            jobs.tune_process()  # from the first painting on, freed memory stays for the next
            network = self._network_for(job)
            job = jobs.calibrate(job, network)  # the first painting here times the machine
            painting.planned = job.estimate
            result = jobs.run(job, network, self._reporter(painting), painting.token)
            jobs.save(job, result)
            painting.state = DONE
        except Cancelled as e:
            try:
                assert job is not None  # only the run is cancelled
                jobs.save(job, e.image)
                painting.state = CANCELLED
            except ImpastoError as error:
                painting.state, painting.error = FAILED, f"cancelled; not saved: {error}"
        except ImpastoError as e:
            painting.state, painting.error = FAILED, first_line(e)
        except FloatingPointError:
            painting.state = FAILED
            painting.error = (
                "the optimisation diverged (the cost became NaN or infinite); try a lower "
                "style weight, content weight or tv weight"
            )
        except MemoryError:
            painting.state, painting.error = FAILED, "out of memory; try a smaller size"
        except Exception as e:  # a bug: said on the page, and the worker goes on
            painting.state = FAILED
            painting.error = f"internal error: {type(e).__name__}: {first_line(e)} (a bug)"
        finally:
            painting.elapsed = time.perf_counter() - start

    def _network_for(self, job: jobs.Job) -> Any:
        """The job's network, kept for the next painting that needs the same one."""
        c = job.config
        key = (c.network, c.content_layers + c.style_layers, c.pooling, c.weights, c.device)
        if key != self._network_key:
            self._network, self._network_key = None, None  # free the old one first
            self._network, self._network_key = jobs.load_network(c), key
        return self._network

    def _reporter(self, painting: Painting):
        def report(p: Progress) -> None:
            info = {
                "step": p.step,
                "steps": p.steps,
                "scale": p.scale,
                "scales": p.scales,
                "iteration": p.iteration,
                "iterations": p.iterations,
                "width": p.size[1],
                "height": p.size[0],
                "elapsed": round(p.elapsed, 2),
                "seconds_left": round(p.seconds_left, 1),
                "fraction": round(p.fraction, 4),
                "losses": {k: round(v, 5) for k, v in p.losses.items()},
                "preview": None,
            }
            if p.iteration == 1 or p.step % self.preview_every == 0 or p.step == p.steps:
                picture = p.image()
                painting.preview = jobs.encode_picture(picture, None, "JPEG", quality=88)
                h, w = size_of(picture)
                info["preview"] = f"/api/paintings/{painting.id}/preview.jpg?step={p.step}"
                info["preview_width"], info["preview_height"] = w, h
            elif painting.progress is not None:
                info["preview"] = painting.progress.get("preview")
            painting.progress = info
            self.events.publish("progress", painting=painting.id, progress=info)

        return report
