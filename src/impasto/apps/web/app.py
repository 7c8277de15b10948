"""The routes: the page, uploads, estimates, paintings, their events, results.

Everything the page can name is a random id (a picture, a painting, a result) or a bundled
example's name from the server's own list; no endpoint reads or writes a path a user gives.
Errors are one line, in the library's words, as JSON ``{"error": ...}``. What a request and
the server may hold (bodies, decodes at once, the queue) is in ``limits.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ... import jobs
from ...config import INITS
from ...errors import ConfigError, ImageError, ImpastoError, first_line
from . import limits, orders, settings, uploads
from .events import jsonable
from .guard import SameOrigin
from .serving import UPLOAD, Serving
from .worker import CANCELLED, Busy

STATIC = Path(__file__).resolve().parent / "static"
HEARTBEAT = 15.0  # seconds between keep-alive comments on an idle event stream
POLL = 0.1  # seconds between looks at the event log
MEDIA = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
FORMATS = {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}


def _error(message: str, status: int = 400) -> JSONResponse:
    headers = {"Retry-After": "60"} if status == 503 else None
    return JSONResponse({"error": " ".join(message.split())}, status_code=status, headers=headers)


def create_app(serving: Serving | None = None) -> Starlette:
    """The ASGI app; its worker starts and its temporary files go with the app's lifespan."""
    serving = serving or Serving()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        serving.start()
        try:
            yield
        finally:
            await run_in_threadpool(serving.stop)

    routes = [
        Route("/", _page),
        Route("/api/fields", _fields),
        Route("/api/state", _state),
        Route("/api/events", _events),
        Route("/api/examples", _examples),
        Route("/api/examples/{name}/thumbnail.jpg", _example_thumbnail),
        Route("/api/examples/{name}", _use_example, methods=["POST"]),
        Route(UPLOAD, _upload, methods=["POST"]),
        Route("/api/pictures/{id}/thumbnail.jpg", _thumbnail),
        Route("/api/pictures/{id}/view.jpg", _view),
        Route("/api/estimate", _estimate, methods=["POST"]),
        Route("/api/paintings", _paint, methods=["POST"]),
        Route("/api/paintings/{id}/cancel", _cancel, methods=["POST"]),
        Route("/api/paintings/{id}/touch-up", _touch_up, methods=["POST"]),
        Route("/api/paintings/{id}/preview.jpg", _preview),
        Route("/api/results/{id}.{ext}", _result),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SameOrigin, loopback_only=serving.loopback_only),
        Middleware(limits.BodyLimit, limit=serving.body_limit),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={Exception: _bug},
    )
    app.state.serving = serving
    return app


async def _bug(request: Request, error: Exception) -> Response:
    """A bug is still one line on the page (the server logs the traceback)."""
    return _error(f"internal error: {type(error).__name__}: {first_line(error)} (a bug)", 500)


def _serving(request: Request) -> Serving:
    return request.app.state.serving


# ------------------------------------------------------------------------------- the page


async def _page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})


async def _fields(request: Request) -> Response:
    """The settings' controls, the start modes, and the device every painting here runs on
    (the server's: the page says where it paints)."""
    serving = _serving(request)
    device = {"name": serving.device, "text": serving.device_text}
    return JSONResponse({"fields": settings.fields(), "inits": list(INITS), "device": device})


async def _state(request: Request) -> Response:
    return JSONResponse(jsonable(_serving(request).worker.state()))


async def _events(request: Request) -> Response:
    """Server-sent events: the whole state first, then every event as it happens."""
    serving = _serving(request)

    def whole_state() -> tuple[int, str]:
        seq = serving.events.last
        state = jsonable({"seq": seq, "type": "state", **serving.worker.state()})
        return seq, f"id: {seq}\ndata: {json.dumps(state)}\n\n"

    async def stream() -> AsyncIterator[str]:
        seq, state = whole_state()
        yield "retry: 1000\n" + state
        idle = 0.0
        while not serving.stopping.is_set():
            new = serving.events.since(seq)
            if new is None:  # too far behind: the whole state again
                seq, state = whole_state()
                yield state
                continue
            for event in new:
                seq = event["seq"]
                yield f"id: {seq}\ndata: {json.dumps(event)}\n\n"
            if new:
                idle = 0.0
                continue
            await asyncio.sleep(POLL)
            idle += POLL
            if idle >= HEARTBEAT:
                idle = 0.0
                yield ": still here\n\n"

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


# ------------------------------------------------------------------------------- pictures


async def _upload(request: Request) -> Response:
    """One picture as multipart ``file``, written to disk as it arrives (never whole in
    memory), then checked by the loader the command line uses, one picture at a time."""
    serving = _serving(request)
    store = serving.store
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return _error("an upload needs a Content-Length", 411)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except limits.BodyTooLarge:
        raise
    except Exception as e:  # a malformed form: say what the parser said
        return _error(f"upload: not a valid form ({first_line(e)})")
    try:
        file = form.get("file")
        if file is None or isinstance(file, str):
            return _error("upload: no file in the form (expected a part named 'file')")
        path, name = store.new_path(), file.filename
        size = await run_in_threadpool(uploads.copy_limited, file.file, path, store.max_bytes)
    finally:
        await form.close()
    if size > store.max_bytes:
        path.unlink(missing_ok=True)
        return _error(str(store.too_big(uploads.shown_name(name), size)), 413)
    try:
        picture = await serving.decode(store.adopt, path, name)
    except ImageError as e:
        return _error(first_line(e))
    store.trim()
    return JSONResponse(picture.public(), status_code=201)


async def _thumbnail(request: Request) -> Response:
    picture = _serving(request).store.get(request.path_params["id"])
    if picture is None:
        return _error("no such picture", 404)
    return Response(picture.thumbnail, media_type="image/jpeg")


async def _view(request: Request) -> Response:
    """The picture as the page shows it large (``uploads.VIEW`` px a side at most)."""
    picture = _serving(request).store.get(request.path_params["id"])
    if picture is None:
        return _error("no such picture", 404)
    return FileResponse(picture.view, media_type="image/jpeg")


async def _examples(request: Request) -> Response:
    return JSONResponse({"examples": _serving(request).examples.public()})


async def _example_thumbnail(request: Request) -> Response:
    examples = _serving(request).examples
    name = request.path_params["name"]
    if examples.path(name) is None:
        return _error("no such example", 404)
    data = await _serving(request).decode(examples.thumbnail, name)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})


async def _use_example(request: Request) -> Response:
    """A bundled example, by its name in the server's own list, added as a picture."""
    serving = _serving(request)
    path = serving.examples.path(request.path_params["name"])
    if path is None:
        return _error("no such example", 404)
    try:
        picture = await serving.decode(serving.store.add_file, path, path.name)
    except ImpastoError as e:
        return _error(first_line(e))
    serving.store.trim()
    return JSONResponse(picture.public(), status_code=201)


# ------------------------------------------------------------------------------- paintings


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested too deep: not ours
        raise ConfigError("the request is not JSON") from None
    if not isinstance(body, dict):
        raise ConfigError("the request must be a JSON object")
    return body


async def _estimate(request: Request) -> Response:
    """Time on this machine and memory, before a start (``jobs.prepare``'s estimate)."""
    serving = _serving(request)
    try:
        body = await _json(request)
        order = await serving.decode(orders.prepare, serving, body, "estimate-" + uploads.new_id())
    except ImpastoError as e:
        return _error(first_line(e))
    return JSONResponse(jsonable(order.estimate))


async def _paint(request: Request) -> Response:
    """Check and estimate a painting now (its pictures decoded, then let go), queue its spec;
    HTTP 503 when the queue is full (checked first, and again as it joins)."""
    return await _queue(request, orders.prepare)


async def _touch_up(request: Request) -> Response:
    """Paint a finished picture again at its size with a new strength, colour mode or
    strokes (``orders.touch_up``); queued like any painting."""
    base_id = request.path_params["id"]
    if _serving(request).worker.get(base_id) is None:
        return _error("no such painting", 404)

    def order(serving: Serving, body: dict[str, Any], painting_id: str) -> orders.Order:
        return orders.touch_up(serving, base_id, body, painting_id)

    return await _queue(request, order)


async def _queue(
    request: Request, make: Callable[[Serving, dict[str, Any], str], orders.Order]
) -> Response:
    """Queue the order ``make`` checks (in a decoding thread: it decodes the pictures)."""
    serving = _serving(request)
    if (busy := serving.worker.busy()) is not None:
        return _error(busy, 503)
    painting_id = uploads.new_id()
    try:
        body = await _json(request)
        order = await serving.decode(make, serving, body, painting_id)
        # its pictures still kept: an upload meanwhile may have forgotten one (Store.trim)
        orders.still_kept(serving, order)
        painting = serving.worker.submit(painting_id, order)
    except ImpastoError as e:
        return _error(first_line(e))
    except Busy as e:
        return _error(str(e), 503)
    return JSONResponse(painting.public(), status_code=202)


async def _cancel(request: Request) -> Response:
    worker = _serving(request).worker
    painting_id = request.path_params["id"]
    if worker.get(painting_id) is None:
        return _error("no such painting", 404)
    if not worker.cancel(painting_id):
        return _error("that painting has already ended", 409)
    return JSONResponse({"id": painting_id, "cancelling": True})


async def _preview(request: Request) -> Response:
    painting = _serving(request).worker.get(request.path_params["id"])
    if painting is None or painting.preview is None:
        return _error("no picture yet", 404)
    return Response(
        painting.preview, media_type="image/jpeg", headers={"Cache-Control": "no-store"}
    )


async def _result(request: Request) -> Response:
    """A finished (or cancelled) picture as PNG, JPEG or WebP, named after its inputs."""
    painting = _serving(request).worker.get(request.path_params["id"])
    ext = request.path_params["ext"]
    if ext not in MEDIA:
        return _error("download as png, jpg or webp", 404)
    if painting is None or not painting.has_result:
        return _error("no such result", 404)
    name = _download_name(painting.title, painting.state == CANCELLED, ext)
    if painting.touch_up_of is not None:
        name = name.replace(f".{ext}", f"_touchup.{ext}")
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if ext == "png":
        return FileResponse(painting.out, media_type=MEDIA[ext], headers=disposition)
    data = await _serving(request).decode(jobs.encode_file, painting.out, FORMATS[ext], 92)
    return Response(data, media_type=MEDIA[ext], headers=disposition)


def _download_name(title: str, cancelled: bool, ext: str) -> str:
    """'tubingen.jpg × starry_night.jpg' -> 'tubingen_starry_night.png' (ASCII, short)."""
    parts = [re.sub(r"\.[A-Za-z0-9]+$", "", p.strip()) for p in re.split("[×+]", title)]
    stem = "_".join(re.sub(r"[^A-Za-z0-9-]+", "-", p).strip("-") for p in parts if p)
    stem = (stem or "impasto")[:100] + ("_cancelled" if cancelled else "")
    return f"{stem}.{ext}"
