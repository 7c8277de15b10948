"""The web page's API (``impasto serve``), over HTTP against a real uvicorn server in a thread.

Tiny random networks and tiny pictures: what is tested is the serving, not the painting.
Needs the web extra and httpx (the ``browser`` extra); skipped without them.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")
pytest.importorskip(
    "python_multipart", reason="the web extra is not installed: pip install -e '.[web]'"
)
httpx = pytest.importorskip("httpx", reason="httpx is not installed: pip install -e '.[browser]'")

from PIL import Image  # noqa: E402

from helpers import EXAMPLES, picture  # noqa: E402
from impasto.apps.web import server as web_server  # noqa: E402
from impasto.apps.web.serving import Serving  # noqa: E402
from impasto.errors import ImageError  # noqa: E402
from impasto.io import images  # noqa: E402

MAX_BYTES = 200_000
MAX_PIXELS = 1_000_000
WAIT = 60.0  # seconds any one expected event may take (the CPU is shared)


def png_bytes(h: int, w: int, seed: int) -> bytes:
    return images.encode_image(picture(h, w, seed), fmt="PNG")


def until(condition, what: str, timeout: float = WAIT):
    """Poll ``condition`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """A real server on a free loopback port, with an HTTP client and an event reader."""

    def __init__(self, folder: Path, **options) -> None:
        self.serving = Serving(
            folder=folder,
            max_bytes=MAX_BYTES,
            max_pixels=MAX_PIXELS,
            preview_every=1,
            examples=EXAMPLES,
            **options,
        )
        self.folder = folder
        sock = web_server.bind("127.0.0.1", 0)
        self.url = web_server.address(sock)
        self.server = web_server.make_server(sock, self.serving)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]})
        self.thread.start()
        until(lambda: self.server.started, "the server to start")
        self.client = httpx.Client(base_url=self.url, timeout=WAIT)
        self.events: list[dict] = []
        self._reader = threading.Thread(target=self._read_events, daemon=True)
        self._reader.start()
        until(lambda: self.events, "the first event (the state)")

    def _read_events(self) -> None:
        with httpx.Client(base_url=self.url, timeout=None) as client:
            with client.stream("GET", "/api/events") as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        self.events.append(json.loads(line[6:]))

    def stop(self) -> None:
        self.client.close()
        self.server.handle_exit(2, None)  # as Ctrl-C does
        self.thread.join(30)
        assert not self.thread.is_alive(), "the server did not stop"

    # conveniences
    def upload(self, data: bytes, name: str = "photo.png") -> httpx.Response:
        return self.client.post("/api/pictures", files={"file": (name, data, "image/png")})

    def picture_id(self, h: int, w: int, seed: int, name: str) -> str:
        response = self.upload(png_bytes(h, w, seed), name)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def paint(self, content: str, styles: list[str], **settings) -> httpx.Response:
        body = {"content": content, "styles": styles, "settings": settings}
        return self.client.post("/api/paintings", json=body)

    def of(self, painting_id: str) -> list[dict]:
        """The events about one painting, in the order they came."""
        return [
            e
            for e in self.events
            if e.get("painting") == painting_id
            or (isinstance(e.get("painting"), dict) and e["painting"]["id"] == painting_id)
        ]

    def ended(self, painting_id: str) -> dict | None:
        for e in self.of(painting_id):
            if e["type"] in ("done", "cancelled", "failed"):
                return e
        return None


@pytest.fixture
def pair(web):
    """A photo and a painting, uploaded."""
    return web.picture_id(24, 32, 1, "photo.png"), web.picture_id(32, 32, 2, "painting.png")


# ----------------------------------------------------------------------------- uploads


def test_the_page_and_its_assets_are_served_from_the_package(web):
    page = web.client.get("/")
    assert page.status_code == 200 and "<title>impasto" in page.text
    from impasto.apps.web.app import STATIC

    assets = sorted(p.name for p in STATIC.iterdir() if p.suffix in (".js", ".css"))
    assert {"app.js", "brush.js", "compare.js", "style.css"} <= set(assets)
    for asset in assets:
        response = web.client.get(f"/static/{asset}")
        assert response.status_code == 200
        if asset.endswith(".js"):  # modules load only with a script's media type
            assert response.headers["content-type"].split(";")[0] in (
                "text/javascript",
                "application/javascript",
            )
            # nothing is loaded from elsewhere
            assert "http" not in response.text.replace("HTTP ", ""), asset
            for line in response.text.splitlines():
                if line.startswith("import "):
                    assert ' from "./' in line, line
    # nothing is loaded from elsewhere: every src/href on the page is local
    for marker in ('src="http', 'href="http', "//cdn", "fonts.googleapis"):
        assert marker not in page.text


def test_an_upload_is_stored_under_a_random_id_with_a_thumbnail(web):
    response = web.upload(png_bytes(40, 60, 0), "my holiday.png")
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "my holiday.png" and (body["width"], body["height"]) == (60, 40)
    assert "holiday" not in body["id"] and len(body["id"]) >= 16
    assert "path" not in body and str(web.folder) not in response.text
    stored = list((web.folder / "pictures").iterdir())
    assert [p.name for p in stored] == [body["id"]]
    thumb = web.client.get(body["thumbnail"])
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (60, 40)  # small ones are not enlarged


def _truncated_png() -> bytes:
    data = png_bytes(64, 64, 3)
    return data[: len(data) // 2]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _huge_declared_png() -> bytes:
    """A valid PNG header declaring 40000 x 40000 pixels, and almost no data (a bomb)."""
    header = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "data, status, words",
    [
        (b"hello, this is text\n" * 10, 400, "not an image file"),
        (_truncated_png(), 400, ""),
        (_huge_declared_png(), 400, "image is too large"),
    ],
    ids=["not-an-image", "truncated", "huge-declared-size"],
)
def test_a_bad_upload_gets_the_command_lines_one_line_error(web, tmp_path, data, status, words):
    response = web.upload(data, "bad.png")
    assert response.status_code == status
    message = response.json()["error"]
    # The very message the command line prints for the same file, with the user's name in it.
    same = tmp_path / "bad.png"
    same.write_bytes(data)
    with pytest.raises(ImageError) as cli:
        images.load_image(same, max_pixels=MAX_PIXELS)
    assert message == str(cli.value).replace(str(same), "bad.png")
    assert message.startswith("bad.png: ") and words in message and "\n" not in message
    assert str(web.folder) not in message
    assert list((web.folder / "pictures").iterdir()) == []  # nothing refused is kept


def test_an_upload_over_the_byte_limit_is_refused_before_it_is_read(web):
    response = web.upload(b"\x89PNG" + b"\x00" * (MAX_BYTES + 80_000), "big.png")
    assert response.status_code == 413
    assert "too large" in response.json()["error"]
    assert list((web.folder / "pictures").iterdir()) == []


def test_an_upload_just_over_the_limit_is_refused_after_parsing(web):
    response = web.upload(b"\x89PNG" + b"\x00" * (MAX_BYTES + 10), "big.png")
    assert response.status_code == 413
    assert response.json()["error"].startswith("big.png: file is too large")


def test_examples_are_named_from_the_servers_own_list_never_by_path(web):
    names = [e["name"] for e in web.client.get("/api/examples").json()["examples"]]
    assert "tubingen.jpg" in names and "CREDITS.md" not in names
    used = web.client.post("/api/examples/tubingen.jpg")
    assert used.status_code == 201 and used.json()["width"] == 1024
    for name in ("..%2Fpyproject.toml", "masks%2Ftubingen_sky.png", "CREDITS.md"):
        assert web.client.post(f"/api/examples/{name}").status_code == 404


# ----------------------------------------------------------------------------- settings


def test_the_page_gets_every_setting_but_paths_with_its_default(web):
    import dataclasses

    from impasto.config import INITS, StyleConfig

    body = web.client.get("/api/fields").json()
    shown = {f["name"]: f for f in body["fields"]}
    fields = {f.name: f for f in dataclasses.fields(StyleConfig)}
    # a path; the start is its own control; the device is the server's (below)
    assert set(shown) == set(fields) - {"weights", "init", "device"}
    for name, f in shown.items():
        assert f["default"] == (
            list(fields[name].default)
            if isinstance(fields[name].default, tuple)
            else fields[name].default
        )
        assert f["help"] == fields[name].metadata["help"]
    assert shown["preserve_color"]["choices"] == ["none", "luminance", "histogram", "yuv"]
    assert shown["size"]["main"] and not shown["tile"]["main"]
    assert body["inits"] == list(INITS)


def test_the_page_is_told_the_device_the_server_paints_on(web):
    import torch

    from impasto import devices

    device = web.client.get("/api/fields").json()["device"]
    expected = devices.resolve("auto")  # the server's default; cpu on a machine without a GPU
    assert device == {"name": str(expected), "text": devices.about(expected).describe()}
    assert device["text"].startswith(f"{device['name']} (")
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert device["name"] == "cpu"


def test_the_estimate_comes_from_the_prepared_job(web, pair):
    body = {
        "content": pair[0],
        "styles": [pair[1]],
        "settings": {"size": 32, "schedule": "24:3,32:2"},
    }
    estimate = web.client.post("/api/estimate", json=body).json()
    assert estimate["scales"] == [24, 32] and estimate["iterations"] == [3, 2]
    assert (estimate["width"], estimate["height"]) == (32, 24)
    assert (
        estimate["seconds"] > 0 and estimate["memory_gb"] > 0 and "peak memory" in estimate["text"]
    )


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"size": 0}, "size must be > 0"),
        ({"strength": -1}, "strength must be >= 0"),
        ({"preserve_color": "sepia"}, "preserve_color must be one of"),
        ({"size": "big"}, "size must be a whole number"),
        ({"weights": "/etc/passwd"}, "unknown setting 'weights'"),
        ({"device": "cpu"}, "unknown setting 'device'"),  # the server's (impasto serve --device)
        # numbers beyond what torch or the encoders take: refused before anything is queued
        ({"seed": 2**64}, "seed must be at most 18446744073709551615"),
        ({"seed": -(2**63) - 1}, "seed must be >= -9223372036854775808"),
        ({"max_memory": 1e300}, "max_memory must be at most"),
        ({"size": 1e300}, "size must be at most"),
        ({"size": 10**30}, "size must be at most"),
        ({"iterations": 10**30}, "iterations must be at most"),
        ({"tile": 10**30}, "tile must be at most"),
        ({"style_scale": 1e300}, "style_scale must be at most"),
        ({"learning_rate": 1e300}, "learning_rate must be at most"),
        ({"strength": 1e300}, "strength must be at most"),
        ({"schedule": f"64:5,{10**21}:5"}, "sizes must be at most"),
        # JSON's true and false are no numbers (they were taken as 1 and 0)
        ({"size": True}, "size must be a whole number, got True"),
        ({"seed": True}, "seed must be a whole number, got True"),
        ({"tile": True}, "tile must be a whole number, got True"),
        ({"strength": True}, "strength must be a number, got True"),
        ({"max_memory": False}, "max_memory must be a number, got False"),
        ({"style_layer_weights": [True, 1, 1, 1, 1]}, "must be a list of numbers, got [True"),
    ],
)
def test_bad_settings_are_refused_in_one_line(web, pair, settings, words):
    body = {"content": pair[0], "styles": [pair[1]], "settings": settings}
    for endpoint in ("/api/estimate", "/api/paintings"):
        response = web.client.post(endpoint, json=body)
        assert response.status_code == 400 and words in response.json()["error"]
    assert web.client.get("/api/state").json()["paintings"] == []


@pytest.mark.parametrize(
    "body, words",
    [
        ([1, 2], "must be a JSON object"),
        ({"content": None, "styles": []}, "choose a photo first"),
        ({"settings": ["size", 64]}, "settings must be an object"),
        ({"blend": {"a": 1}}, "style_blend must be a list"),
        ({"init": "sepia"}, "init must be one of palette, recolor"),
        ({"blend": [1e308, 1e308]}, "style blend weights must be at most"),
        ({"blend": ["inf", 1]}, "style_blend must be a list of finite numbers"),
        ({"blend": [True, 1]}, "style_blend must be a list of numbers, got [True, 1]"),
    ],
)
def test_malformed_requests_get_one_line_not_a_crash(web, pair, body, words):
    if isinstance(body, dict) and "content" not in body:
        other = web.picture_id(32, 32, 6, "other.png")
        body = {"content": pair[0], "styles": [pair[1], other], **body}
    response = web.client.post("/api/paintings", json=body)
    assert response.status_code == 400 and words in response.json()["error"], response.text
    assert web.client.post("/api/paintings", content=b"{not json").status_code == 400


def test_unknown_ids_are_refused(web, pair):
    assert web.paint("nope", [pair[1]]).status_code == 400
    assert web.paint(pair[0], ["nope"]).status_code == 400
    body = {"content": pair[0], "styles": [pair[1]], "init": "result:nope"}
    assert "no such result" in web.client.post("/api/paintings", json=body).json()["error"]
    assert web.client.get("/api/results/nope.png").status_code == 404
    assert web.client.post("/api/paintings/nope/cancel").status_code == 404


# ----------------------------------------------------------------------------- paintings


def test_a_painting_reports_progress_in_order_and_its_result_downloads(web, pair):
    response = web.paint(*[pair[0]], [pair[1]], size=32, schedule="24:3,32:3", optimizer="adam")
    assert response.status_code == 202 and response.json()["state"] == "queued"
    painting_id = response.json()["id"]
    end = until(lambda: web.ended(painting_id), "the painting to end")
    assert end["type"] == "done", end
    events = web.of(painting_id)
    kinds = [e["type"] for e in events]
    assert kinds[:2] == ["queued", "started"] and kinds[-1] == "done"
    progress = [e["progress"] for e in events if e["type"] == "progress"]
    assert set(kinds[2:-1]) == {"progress"} and len(progress) == progress[0]["steps"]
    assert [p["step"] for p in progress] == list(range(1, len(progress) + 1))
    assert [p["scale"] for p in progress] == sorted(p["scale"] for p in progress)
    fractions = [p["fraction"] for p in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs)
    # every step sent a picture (preview_every=1) at the size being worked on
    first, last = progress[0], progress[-1]
    assert (first["width"], last["width"]) == (24, 32)
    preview = web.client.get(last["preview"])
    assert Image.open(io.BytesIO(preview.content)).size == (32, 24)

    result = end["painting"]["result"]
    png = web.client.get(result["png"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert 'filename="photo_painting.png"' in png.headers["content-disposition"]
    with Image.open(io.BytesIO(png.content)) as im:
        assert im.format == "PNG" and im.size == (32, 24)
    for ext, fmt in (("jpg", "JPEG"), ("webp", "WEBP")):
        with Image.open(io.BytesIO(web.client.get(result[ext]).content)) as im:
            assert im.format == fmt and im.size == (32, 24)
    settings = end["painting"]["settings"]
    assert settings == {"size": 32, "schedule": "24:3,32:3", "optimizer": "adam"}  # not defaults
    assert web.serving.worker.get(painting_id).config.device == web.serving.device != "auto"
    assert web.serving.worker.get(painting_id).job is None  # its decoded pictures let go


def test_an_idle_server_gives_its_painting_memory_back(web, pair, monkeypatch):
    from impasto import jobs

    calls = []
    monkeypatch.setattr(jobs, "release_memory", lambda: calls.append(web.serving.worker.state()))
    first = web.paint(pair[0], [pair[1]], size=32, schedule="32:2", optimizer="adam").json()["id"]
    until(lambda: web.ended(first), "the painting to end")
    assert len(calls) == 1  # once the queue was empty, before it said "done"
    assert calls[0]["current"] is None and calls[0]["queue"] == []


def _long(web, content: str, style: str) -> str:
    """A painting that goes on until it is cancelled."""
    response = web.paint(content, [style], size=32, schedule="32:100000", optimizer="adam")
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_cancel_keeps_the_best_picture_so_far(web, pair):
    painting_id = _long(web, *pair)
    until(lambda: len(web.of(painting_id)) >= 6, "a few steps")
    assert web.client.post(f"/api/paintings/{painting_id}/cancel").status_code == 200
    end = until(lambda: web.ended(painting_id), "the painting to stop")
    assert end["type"] == "cancelled"
    png = web.client.get(end["painting"]["result"]["png"])
    assert "_cancelled.png" in png.headers["content-disposition"]
    with Image.open(io.BytesIO(png.content)) as im:
        assert im.size == (32, 24)
    assert web.client.post(f"/api/paintings/{painting_id}/cancel").status_code == 409


def test_one_painting_at_a_time_the_others_wait_in_order(web, pair):
    first = _long(web, *pair)
    until(lambda: any(e["type"] == "started" for e in web.of(first)), "the first to start")
    second = web.paint(pair[0], [pair[1]], size=24, schedule="24:2").json()["id"]
    third = web.paint(pair[0], [pair[1]], size=24, schedule="24:2").json()["id"]
    state = web.client.get("/api/state").json()
    assert state["current"] == first and state["queue"] == [second, third]
    states = {p["id"]: p["state"] for p in state["paintings"]}
    assert states == {first: "painting", second: "queued", third: "queued"}
    # a waiting painting leaves the queue without a result
    assert web.client.post(f"/api/paintings/{second}/cancel").status_code == 200
    assert web.client.get("/api/state").json()["queue"] == [third]
    assert until(lambda: web.ended(second), "its event")["painting"]["result"] is None
    web.client.post(f"/api/paintings/{first}/cancel")
    end = until(lambda: web.ended(third), "the third to end")
    assert end["type"] == "done"
    starts = [e["painting"]["id"] for e in web.events if e["type"] == "started"]
    assert starts == [first, third]
    assert not any(e["type"] == "progress" for e in web.of(second))


def test_a_result_can_be_the_start_of_the_next_painting(web, pair):
    done = web.paint(pair[0], [pair[1]], size=24, schedule="24:2").json()["id"]
    until(lambda: web.ended(done), "the first painting")
    body = {
        "content": pair[0],
        "styles": [pair[1]],
        "init": f"result:{done}",
        "settings": {"size": 24, "schedule": "24:2"},
    }
    again = web.client.post("/api/paintings", json=body)
    assert again.status_code == 202
    assert again.json()["start"] == "the result photo.png × painting.png"
    assert until(lambda: web.ended(again.json()["id"]), "the refinement")["type"] == "done"


def test_several_paintings_blend_with_weights(web, pair):
    other = web.picture_id(32, 32, 5, "other.png")
    body = {"content": pair[0], "styles": [pair[1], other], "blend": [3, 1]}
    body["settings"] = {"size": 24, "schedule": "24:2"}
    response = web.client.post("/api/paintings", json=body)
    assert response.status_code == 202
    assert response.json()["settings"]["style_blend"] == [3.0, 1.0]
    assert response.json()["title"] == "photo.png × painting.png + other.png"
    body["blend"] = [0, 0]
    assert "not all zero" in web.client.post("/api/paintings", json=body).json()["error"]


def test_the_server_removes_its_temporary_files_when_it_stops(tiny_network, tmp_path):
    running = Running(tmp_path / "serve")
    content = running.picture_id(24, 32, 1, "photo.png")
    style = running.picture_id(32, 32, 2, "painting.png")
    painting_id = _long(running, content, style)
    until(lambda: len(running.of(painting_id)) >= 4, "a few steps")
    assert any((tmp_path / "serve" / "pictures").iterdir())
    running.stop()  # also while a painting runs and an event stream is open
    assert not (tmp_path / "serve").exists()


def test_other_web_sites_cannot_use_the_server(web, pair):
    # DNS rebinding: a name that points at 127.0.0.1 is not this server's name
    assert web.client.get("/api/state", headers={"Host": "evil.example"}).status_code == 421
    # a page elsewhere may send a form here; it is refused
    body = {"content": pair[0], "styles": [pair[1]], "settings": {"size": 24}}
    refused = web.client.post(
        "/api/paintings", json=body, headers={"Origin": "http://evil.example"}
    )
    assert refused.status_code == 403 and "other web pages" in refused.json()["error"]
    assert web.client.get("/api/state").json()["paintings"] == []
    # this server's own page may
    own = web.url.rstrip("/")
    assert web.client.post("/api/estimate", json=body, headers={"Origin": own}).status_code == 200


def test_the_event_log_says_when_a_reader_is_too_far_behind():
    from impasto.apps.web.events import Events

    events = Events(keep=3)
    for k in range(5):
        events.publish("progress", step=k + 1)
    assert [e["step"] for e in events.since(2)] == [3, 4, 5]
    assert events.since(1) is None  # event 2 is gone: start again from the whole state
    assert events.since(5) == []


# ------------------------------------------------------------------ limits (issue 32)


def test_a_body_over_its_limit_is_refused_from_its_length_and_while_it_streams(web, pair):
    """A painting request is a few hundred bytes; a 200 MB one was parsed whole."""
    padding = b"x" * (3 * 64 * 1024)
    body = b'{"content": "%s", "styles": ["%s"], "pad": "%s"}' % (*map(str.encode, pair), padding)
    for endpoint in ("/api/paintings", "/api/estimate", "/api/paintings/x/cancel"):
        told = web.client.post(endpoint, content=body)  # with its Content-Length
        assert told.status_code == 413, told.text
        assert "the request is too large" in told.json()["error"]
        if endpoint.endswith("cancel"):
            continue  # reads no body: one sent without a length is never read

        def chunks():  # no Content-Length: refused once it is past the limit
            for k in range(0, len(body), 8192):
                yield body[k : k + 8192]

        streamed = web.client.post(endpoint, content=chunks())
        assert streamed.status_code == 413, streamed.text
        assert "the request is too large" in streamed.json()["error"]
    assert web.client.get("/api/state").json()["paintings"] == []
    small = web.client.post("/api/estimate", json={"content": pair[0], "styles": [pair[1]]})
    assert small.status_code == 200  # the server goes on


def test_json_nested_too_deep_is_not_json_rather_than_a_crash(web):
    response = web.client.post("/api/paintings", content=b"[" * 30_000 + b"]" * 30_000)
    assert response.status_code == 400 and response.json()["error"] == "the request is not JSON"


def test_the_queue_has_an_end_and_past_it_the_server_says_it_is_busy(web, pair):
    first = _long(web, *pair)
    until(lambda: any(e["type"] == "started" for e in web.of(first)), "the first to start")
    room = getattr(web.serving.worker, "max_queue", 8)  # limits.MAX_QUEUE, in the README
    waiting = [web.paint(pair[0], [pair[1]], size=24, schedule="24:2") for _ in range(room)]
    assert [r.status_code for r in waiting] == [202] * room
    refused = web.paint(pair[0], [pair[1]], size=24, schedule="24:2")
    assert refused.status_code == 503 and refused.headers["retry-after"]
    message = refused.json()["error"]
    assert message.startswith(f"busy: {room} paintings are waiting") and "\n" not in message
    state = web.client.get("/api/state").json()
    assert len(state["queue"]) == room and len(state["paintings"]) == room + 1
    web.client.post(f"/api/paintings/{waiting[0].json()['id']}/cancel")
    assert web.paint(pair[0], [pair[1]], size=24, schedule="24:2").status_code == 202
    web.client.post(f"/api/paintings/{first}/cancel")


def test_ended_paintings_past_the_limit_are_forgotten_with_their_results(tiny_network, tmp_path):
    """A queue filled and cancelled again and again kept every painting (its state, preview
    and result file) for good: the state and the temporary folder grew with each request.
    Past ``max_ended`` ended paintings the oldest go, results and all, except a result that
    is the start of a painting still to come."""
    web = Running(tmp_path / "serve", max_ended=3)
    try:
        photo, style = web.picture_id(24, 32, 1, "photo.png"), web.picture_id(32, 32, 2, "p.png")
        first = web.paint(photo, [style], size=24, schedule="24:2").json()["id"]
        until(lambda: web.ended(first), "the first painting")
        body = {"content": photo, "styles": [style], "init": f"result:{first}"}
        body["settings"] = {"size": 32, "schedule": "32:100000", "optimizer": "adam"}
        refining = web.client.post("/api/paintings", json=body).json()["id"]
        until(lambda: any(e["type"] == "started" for e in web.of(refining)), "it to start")
        for _round in range(3):  # the queue filled, then cancelled
            waiting = [web.paint(photo, [style], size=24, schedule="24:2") for _ in range(3)]
            for answer in waiting:
                web.client.post(f"/api/paintings/{answer.json()['id']}/cancel")
        last = [answer.json()["id"] for answer in waiting]
        state = web.client.get("/api/state").json()
        kept = [p["id"] for p in state["paintings"]]
        assert kept == [first, refining, *last]  # and the start of the one going on
        assert web.client.get(f"/api/results/{first}.png").status_code == 200
        web.client.post(f"/api/paintings/{refining}/cancel")
        until(lambda: web.ended(refining), "the refinement to stop")
        state = web.client.get("/api/state").json()
        assert [p["id"] for p in state["paintings"]] == [refining, *last[1:]]
        assert web.client.get(f"/api/results/{first}.png").status_code == 404
        assert sorted(p.name for p in (tmp_path / "serve" / "results").iterdir()) == [
            f"{refining}.png"
        ]  # fmt: skip
    finally:
        web.stop()


def test_pictures_past_the_limit_are_forgotten_but_those_a_painting_needs(tiny_network, tmp_path):
    """Every upload was kept for good, its file and its thumbnail: past ``max_pictures`` the
    oldest go, but not a picture that a painting still to come paints from."""
    web = Running(tmp_path / "serve", max_pictures=3)
    try:
        photo, style = web.picture_id(24, 32, 1, "photo.png"), web.picture_id(32, 32, 2, "p.png")
        painting = _long(web, photo, style)
        until(lambda: any(e["type"] == "started" for e in web.of(painting)), "it to start")
        later = [web.picture_id(24, 32, 3 + k, f"u{k}.png") for k in range(4)]
        folder = tmp_path / "serve" / "pictures"
        assert sorted(p.name for p in folder.iterdir()) == sorted([photo, style, later[-1]])
        for gone in later[:-1]:
            assert web.client.get(f"/api/pictures/{gone}/thumbnail.jpg").status_code == 404
        web.client.post(f"/api/paintings/{painting}/cancel")
        until(lambda: web.ended(painting), "it to stop")
        web.picture_id(24, 32, 9, "last.png")
        assert len(list(folder.iterdir())) == 3
        assert web.paint(photo, [style]).json()["error"].startswith("choose a photo first")
    finally:
        web.stop()


def _tensors_held(thing, depth: int = 5) -> int:
    """How many tensors ``thing`` reaches through its attributes and containers."""
    import torch

    if isinstance(thing, torch.Tensor):
        return 1
    if depth == 0 or isinstance(thing, (str, bytes, int, float, Path)) or thing is None:
        return 0
    if isinstance(thing, dict):
        items = list(thing.values())
    elif isinstance(thing, (list, tuple)):
        items = list(thing)
    elif hasattr(thing, "__dict__"):
        items = list(vars(thing).values())
    else:
        return 0
    return sum(_tensors_held(item, depth - 1) for item in items)


def test_a_waiting_painting_holds_its_spec_not_its_decoded_pictures(web, pair):
    first = _long(web, *pair)
    until(lambda: any(e["type"] == "started" for e in web.of(first)), "the first to start")
    waiting = web.paint(pair[0], [pair[1]], size=24, schedule="24:2").json()["id"]
    painting = web.serving.worker.get(waiting)
    assert painting.state == "queued" and _tensors_held(painting) == 0
    assert _tensors_held(web.serving.worker.get(first)) > 0  # the one painted holds its job
    web.client.post(f"/api/paintings/{first}/cancel")
    end = until(lambda: web.ended(waiting), "the waiting one, prepared when its turn came")
    assert end["type"] == "done", end


def test_pictures_are_decoded_one_at_a_time(web, pair, monkeypatch):
    """Six uploads of a legal 49-megapixel PNG at once added 5.4 GB."""
    from impasto.io import images as loader

    real, running, most = loader.load_image, [0], [0]
    lock = threading.Lock()

    def slow_load(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.2)
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(loader, "load_image", slow_load)
    data = png_bytes(40, 60, 7)
    request = {"content": pair[0], "styles": [pair[1]], "settings": {"size": 24}}
    answers: list[int] = []

    def upload():
        answers.append(web.upload(data, "again.png").status_code)

    def estimate():
        answers.append(web.client.post("/api/estimate", json=request).status_code)

    threads = [threading.Thread(target=f) for f in [upload] * 6 + [estimate] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert sorted(answers) == [200] * 2 + [201] * 6
    assert most[0] == 1


def test_the_state_answers_whatever_a_painting_holds(web, pair, monkeypatch):
    """A max_memory of 1e300 was queued, and from then on the state answered 500 for good."""
    from impasto.apps.web import settings as page_settings

    def strict(text: str):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))

    painting_id = _long(web, *pair)
    painting = web.serving.worker.get(painting_id)
    painting.estimate = {**painting.estimate, "seconds": float("inf"), "budget_gb": float("nan")}
    painting.progress = {"losses": {"total": float("nan")}, "seconds_left": float("inf")}
    answer = web.client.get("/api/state")
    assert answer.status_code == 200, answer.text
    shown = {p["id"]: p for p in strict(answer.text)["paintings"]}[painting_id]
    assert shown["estimate"]["seconds"] is None and shown["progress"]["losses"]["total"] is None

    def broken(config):
        raise RuntimeError("a value no page can show\nsecond line")

    monkeypatch.setattr(page_settings, "changed", broken)
    answer = web.client.get("/api/state")
    assert answer.status_code == 200, answer.text
    shown = {p["id"]: p for p in strict(answer.text)["paintings"]}[painting_id]
    assert shown["state"] == "failed"
    assert shown["error"] == "internal error: RuntimeError: a value no page can show (a bug)"
    monkeypatch.undo()
    web.client.post(f"/api/paintings/{painting_id}/cancel")
    assert until(lambda: web.ended(painting_id), "the cancel")["type"] == "cancelled"
    assert web.client.get("/api/state").status_code == 200


def test_events_carry_no_value_that_strict_json_refuses():
    from impasto.apps.web.events import Events

    event = Events().publish("progress", losses={"total": float("nan")}, left=float("inf"))
    assert event["losses"]["total"] is None and event["left"] is None
    json.dumps(event, allow_nan=False)


def test_the_bundled_examples_are_the_packages_own():
    """They ship in the package (a wheel install shows them too), credits beside them."""
    import impasto
    from impasto.apps.web import examples

    package = Path(impasto.__file__).resolve().parent
    assert examples.FOLDER == package / "examples" and (examples.FOLDER / "CREDITS.md").is_file()
    names = {e["name"] for e in examples.Examples(examples.FOLDER).public()}
    assert {"tubingen.jpg", "starry_night.jpg", "the_scream.jpg"} <= names
