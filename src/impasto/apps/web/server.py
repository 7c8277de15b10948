"""Serve the app with uvicorn on a socket bound first, so the real address (also of
``--port 0``) is known and printed before the first request, and stop it cleanly.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import uvicorn

from .app import create_app
from .guard import LOOPBACK_HOSTS
from .serving import Serving
from .sockets import address, bind

if TYPE_CHECKING:
    import torch

__all__ = ["address", "bind", "make_server", "serve"]


class _Server(uvicorn.Server):
    """uvicorn, telling the app first when it is asked to stop: open event streams end at
    once instead of holding the shutdown up."""

    def __init__(self, config: uvicorn.Config, serving: Serving) -> None:
        super().__init__(config)
        self.serving = serving

    def handle_exit(self, sig, frame) -> None:  # type: ignore[no-untyped-def]
        self.serving.stopping.set()
        super().handle_exit(sig, frame)


def make_server(
    sock: socket.socket,
    serving: Serving | None = None,
    on_started: Callable[[], None] | None = None,
    device: torch.device | None = None,
) -> uvicorn.Server:
    """A uvicorn server for the app; ``run(sockets=[sock])`` serves until it is told to stop.
    Without ``serving``, the app's state is made from the socket and ``device`` (None: auto)."""
    if serving is None:
        loopback = sock.getsockname()[0] in LOOPBACK_HOSTS
        serving = Serving(loopback_only=loopback, device=device)
    config = uvicorn.Config(
        create_app(serving), log_level="warning", timeout_graceful_shutdown=3, lifespan="on"
    )
    server = _Server(config, serving)
    if on_started is not None:
        original = server.startup

        async def startup(sockets=None) -> None:  # type: ignore[no-untyped-def]
            await original(sockets=sockets)
            on_started()

        server.startup = startup  # type: ignore[method-assign]
    return server


def serve(
    sock: socket.socket,
    serving: Serving | None = None,
    on_started: Callable[[], None] | None = None,
    device: torch.device | None = None,
) -> None:
    """Run until Ctrl-C or SIGTERM; the worker stops and the temporary files go on the way out.
    On loopback, the server answers only to loopback names (guard.py)."""
    make_server(sock, serving, on_started, device).run(sockets=[sock])
