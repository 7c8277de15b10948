"""The state of one server run: its temporary folder, pictures, painter, events and decoders.

The routes (``app.py``) and the requests' orders (``orders.py``) both reach it; it reaches
neither, so the web page's modules import each other one way only.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.types import Scope

from ... import devices
from . import examples as bundled
from . import limits, uploads
from .events import Events
from .worker import Worker

if TYPE_CHECKING:
    import torch

FORM_OVERHEAD = 64 * 1024  # multipart framing around one file
UPLOAD = "/api/pictures"
T = TypeVar("T")


class Serving:
    """The state of one server run: its temporary folder, pictures, worker and events."""

    def __init__(
        self,
        folder: Path | None = None,
        max_bytes: int = uploads.MAX_BYTES,
        max_pixels: int = uploads.MAX_PIXELS,
        preview_every: int = 5,
        examples: Path | None = None,
        loopback_only: bool = True,
        max_queue: int = limits.MAX_QUEUE,
        max_ended: int = limits.MAX_ENDED,
        max_pictures: int = limits.MAX_PICTURES,
        decodes: int = limits.DECODES,
        max_json: int = limits.MAX_JSON_BYTES,
        device: torch.device | None = None,
    ) -> None:
        # Every painting's device: the server's (``impasto serve --device``; None: auto), not
        # the page's; its name goes into each request's config, its description to the page.
        resolved = device if device is not None else devices.resolve("auto")
        self.device = str(resolved)  # "cpu", "cuda:0", "mps"
        self.device_text = devices.about(resolved).describe()
        self.loopback_only = loopback_only  # answer only to loopback names (see guard.py)
        self.folder = Path(tempfile.mkdtemp(prefix="impasto-serve-")) if folder is None else folder
        self.events = Events()
        self.store = uploads.Store(
            self.folder / "pictures", max_bytes, max_pixels, max_pictures,
            in_use=lambda: self.worker.paths_in_use(),
        )  # fmt: skip
        results = self.folder / "results"
        self.worker = Worker(results, self.events, preview_every, max_queue, max_ended)
        self.examples = bundled.Examples(examples if examples is not None else bundled.FOLDER)
        self.stopping = threading.Event()
        # Threads of their own: at most ``decodes`` at once, and the same threads each time,
        # so that the memory one decode frees is the next one's (glibc keeps an arena per
        # thread: decodes spread over a pool's threads would each keep their own peak).
        self.decoder = ThreadPoolExecutor(decodes, thread_name_prefix="impasto-decode")
        self.max_json = max_json

    async def decode(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in a decoding thread, after the decodes asked for before it: it
        decodes pictures, each worth up to a gigabyte (``limits.py``)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.decoder, functools.partial(work, *args))

    def body_limit(self, scope: Scope) -> tuple[int, Callable[[int], str]]:
        """The most bytes a request's body may have, and the refusal past it."""
        if scope["path"] == UPLOAD:
            return self.store.max_bytes + FORM_OVERHEAD, lambda n: str(
                self.store.too_big("upload", n)
            )
        return self.max_json, limits.too_large(self.max_json)

    def start(self) -> None:
        self.worker.start()

    def stop(self) -> None:
        self.stopping.set()
        self.worker.stop()
        self.decoder.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self.folder, ignore_errors=True)  # uploads, results: this run's only
