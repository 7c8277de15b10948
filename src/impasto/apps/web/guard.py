"""Only this machine's own page may use the server: requests made for other web sites are refused.

A page on any web site can make the browser send requests to 127.0.0.1. Two checks stop that
from painting, uploading or reading here: on loopback, the Host header must name loopback (so
a DNS name that a site points at 127.0.0.1 gets nothing), and a request that changes anything
and says which page sent it (Origin) must come from this server's own address.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def hostname(host: str) -> str:
    """'127.0.0.1:8765' -> '127.0.0.1'; '[::1]:8765' -> '::1'."""
    return urlsplit(f"//{host}").hostname or ""


class SameOrigin:
    """ASGI middleware: the two checks above, each refusal one line of JSON."""

    def __init__(self, app: ASGIApp, loopback_only: bool) -> None:
        self.app = app
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self.problem(scope)
            if problem is not None:
                await _refuse(send, *problem)
                return
        await self.app(scope, receive, send)

    def problem(self, scope: Scope) -> tuple[int, str] | None:
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.loopback_only and hostname(host) not in LOOPBACK_HOSTS:
            return 421, f"this server answers only as 127.0.0.1 or localhost, not as {host!r}"
        origin = headers.get("origin")
        if scope["method"] not in SAFE_METHODS and origin is not None:
            if urlsplit(origin).netloc != host:
                return 403, "requests from other web pages are refused"
        return None


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
