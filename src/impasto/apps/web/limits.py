"""What one request, and the server as a whole, may hold: bodies, decodes at once, the queue.

A decoded picture costs 12 bytes a pixel (float32 RGB) and more while it is decoded: a legal
49-megapixel PNG of 48 KB on disk takes about 1 GB. So pictures are decoded one at a time
(uploads, estimates, painting requests, downloads in another format), a waiting painting keeps
its files' paths, not their pixels, the queue of paintings has an end, and so has the list of
ended paintings (their results are files in the server's temporary folder) and of pictures.
Every request
body is refused past its route's limit: from its Content-Length before it is read, and, sent
without one, as soon as it streams past it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_BYTES = 64 * 1024  # a painting request or an estimate: ids and settings, < 1 KB
DECODES = 1  # pictures decoded at once for requests (the painting about to start adds one)
MAX_QUEUE = 8  # paintings waiting behind the one being painted
MAX_ENDED = 100  # ended paintings kept, with their results; past it the oldest are forgotten
MAX_PICTURES = 100  # uploads and examples kept; past it the oldest not painted from go

Limit = Callable[[Scope], tuple[int, Callable[[int], str]]]  # scope -> (bytes, message)


def too_large(limit: int) -> Callable[[int], str]:
    """The one-line refusal of a body over ``limit`` bytes (any route but uploads)."""
    return lambda size: (
        f"the request is too large (over {limit // 1024} KB); a painting request is a few "
        "hundred bytes of ids and settings"
    )


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body streams past its limit; the middleware answers."""


class BodyLimit:
    """ASGI middleware: each request's body at most ``limit(scope)`` bytes, else HTTP 413."""

    def __init__(self, app: ASGIApp, limit: Limit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, message = self.limit(scope)
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await refuse(send, 413, message(int(length)))
            return
        received, started = 0, False

        async def limited() -> Message:
            nonlocal received
            event = await receive()
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return event

        async def watched(event: Message) -> None:
            nonlocal started
            started = started or event["type"] == "http.response.start"
            await send(event)

        try:
            await self.app(scope, limited, watched)
        except BodyTooLarge:
            if not started:
                await refuse(send, 413, message(received))


async def refuse(send: Send, status: int, message: str) -> None:
    """One line of JSON, ``{"error": ...}``, as every answer of the page's API that fails."""
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
