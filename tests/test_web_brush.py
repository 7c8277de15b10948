"""The web page's brush and touch-ups over HTTP (a real uvicorn server in a thread, tiny
networks): the strokes' colour map is read by ``--mask``'s loader and paints what the command
line paints; bad strokes are one line before anything is queued; a touch-up is planned by
``jobs.touch_up``. The browser side is in test_browser.py.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the web extra is not installed: pip install -e '.[web]'")
pytest.importorskip("httpx", reason="httpx is not installed: pip install -e '.[browser]'")

from PIL import Image  # noqa: E402
from test_web import png_bytes, until  # noqa: E402

from impasto import jobs  # noqa: E402
from impasto.apps.main import main  # noqa: E402
from impasto.io import images  # noqa: E402

RED, GREEN, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 0)
FAST = {"size": 32, "schedule": "24:3,32:4", "optimizer": "adam"}


def colour_map(h: int, w: int, *colours) -> bytes:
    """A PNG of vertical stripes of ``colours`` (RGB), as the page's brush makes them."""
    pixels = np.zeros((h, w, 3), np.uint8)
    edges = np.linspace(0, w, len(colours) + 1).round().astype(int)
    for colour, a, b in zip(colours, edges[:-1], edges[1:]):
        pixels[:, a:b] = colour
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def three(web):
    """A photo and two paintings, uploaded: their ids."""
    return (
        web.picture_id(24, 32, 1, "photo.png"),
        web.picture_id(32, 32, 2, "one.png"),
        web.picture_id(32, 32, 3, "two.png"),
    )


def _map_id(web, data: bytes) -> str:
    response = web.upload(data, "strokes.png")
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _painted(web, body: dict, path: str = "/api/paintings") -> dict:
    response = web.client.post(path, json=body)
    assert response.status_code == 202, response.text
    end = until(lambda: web.ended(response.json()["id"]), "the painting to end")
    assert end["type"] == "done", end
    return end["painting"]


def _pixels(web, painting: dict) -> np.ndarray:
    data = web.client.get(painting["result"]["png"]).content
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.int16)


def test_strokes_paint_what_the_command_line_paints_from_the_same_map(web, three, tmp_path):
    data = colour_map(48, 64, RED, BLACK, GREEN)  # twice the photo's size: resized as --mask
    mask = _map_id(web, data)
    body = {"content": three[0], "styles": list(three[1:]), "mask": mask, "settings": FAST}
    painting = _painted(web, body)
    assert painting["inputs"]["mask"] == mask
    job = web.serving.worker.get(painting["id"])
    assert job.spec.masks == (web.serving.store.get(mask).path,)  # --mask's own loader
    from_page = _pixels(web, painting)
    # the same files and settings on the command line
    files = {}
    for name, ident in (("photo", three[0]), ("one", three[1]), ("two", three[2])):
        files[name] = tmp_path / f"{name}.png"
        files[name].write_bytes(web.serving.store.get(ident).path.read_bytes())
    (tmp_path / "strokes.png").write_bytes(data)
    out = tmp_path / "cli.png"
    argv = [files["photo"], files["one"], files["two"], "--mask", tmp_path / "strokes.png"]
    argv += ["--size", "32", "--schedule", "24:3,32:4", "--optimizer", "adam", "-o", out]
    assert main([str(a) for a in argv]) == 0
    from_cli = np.asarray(Image.open(out).convert("RGB"), np.int16)
    np.testing.assert_array_equal(from_page, from_cli)
    # the black stripe keeps the photo (away from its softened edges)
    photo = images.load_image(files["photo"]).rgb.mul(255).round().permute(1, 2, 0).numpy()
    middle = slice(13, 19)
    assert np.abs(from_page[:, middle] - photo[:, middle]).max() <= 1


@pytest.mark.parametrize(
    "colours, size, words",
    [
        ((BLACK,), (24, 32), "the strokes keep the whole photo"),
        ((RED, (0, 0, 255)), (24, 32), "the strokes: blue (50.0% of the map) marks style 3"),
        ((RED,), (32, 32), "the strokes: the mask is 32x32 but the content is 32x24"),
    ],
    ids=["all-eraser", "a-removed-painting", "another-shape"],
)
def test_bad_strokes_are_one_line_before_anything_is_queued(web, three, colours, size, words):
    mask = _map_id(web, colour_map(*size, *colours))
    body = {"content": three[0], "styles": list(three[1:]), "mask": mask, "settings": FAST}
    for endpoint in ("/api/estimate", "/api/paintings"):
        response = web.client.post(endpoint, json=body)
        assert response.status_code == 400, response.text
        message = response.json()["error"]
        assert message.startswith(words), message
        assert str(web.folder) not in message and "\n" not in message
    assert web.client.get("/api/state").json()["paintings"] == []
    body["mask"] = "nope"
    assert "strokes: no such picture" in web.client.post("/api/paintings", json=body).text


def test_a_touch_up_paints_the_output_size_only_from_the_finished_picture(web, three):
    body = {"content": three[0], "styles": [three[1]], "settings": FAST}
    first = _painted(web, body)
    origin = web.serving.worker.get(first["id"])
    touched = _painted(
        web, {"settings": {"strength": 0.3}}, f"/api/paintings/{first['id']}/touch-up"
    )
    iterations = jobs.touch_up_iterations(origin.planned)
    assert touched["estimate"]["scales"] == [32]
    assert touched["estimate"]["iterations"] == [iterations]
    assert touched["touch_up_of"] == touched["origin"] == first["id"]
    assert (touched["width"], touched["height"]) == (first["width"], first["height"])
    assert touched["settings"]["strength"] == 0.3 and touched["title"] == first["title"]
    assert touched["start"] == f"the result {first['title']}"
    progress = [e["progress"] for e in web.of(touched["id"]) if e["type"] == "progress"]
    assert {(p["scale"], p["scales"], p["width"]) for p in progress} == {(1, 1, 32)}
    painting = web.serving.worker.get(touched["id"])
    assert painting.spec.init == origin.out
    assert painting.config.device == origin.config.device == web.serving.device  # the server's
    png = web.client.get(touched["result"]["png"])
    assert 'filename="photo_one_touchup.png"' in png.headers["content-disposition"]
    # a touch-up of the touch-up: from its picture, on the first run's plan
    strokes = _map_id(web, colour_map(24, 32, RED))
    again = _painted(
        web,
        {"settings": {"preserve_color": "luminance"}, "mask": strokes},
        f"/api/paintings/{touched['id']}/touch-up",
    )
    assert again["touch_up_of"] == touched["id"] and again["origin"] == first["id"]
    assert again["estimate"]["iterations"] == [iterations]
    assert web.serving.worker.get(again["id"]).spec.init == painting.out


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"settings": {"size": 64}}, 400, "a touch-up changes the strength, the colour mode"),
        ({"settings": {"device": "cpu"}}, 400, "unknown setting 'device'"),
        ({"settings": {"strength": -1}}, 400, "strength must be >= 0"),
        ({"settings": {"preserve_color": "sepia"}}, 400, "preserve_color must be one of"),
        ({"mask": "nope"}, 400, "strokes: no such picture"),
    ],
)
def test_bad_touch_ups_are_one_line(web, three, body, status, words):
    first = _painted(web, {"content": three[0], "styles": [three[1]], "settings": FAST})
    response = web.client.post(f"/api/paintings/{first['id']}/touch-up", json=body)
    assert response.status_code == status and words in response.json()["error"], response.text
    assert len(web.client.get("/api/state").json()["paintings"]) == 1


def test_only_a_finished_picture_can_be_touched_up(web, three):
    assert web.client.post("/api/paintings/nope/touch-up", json={}).status_code == 404
    long = {"content": three[0], "styles": [three[1]]}
    long["settings"] = {"size": 32, "schedule": "32:100000", "optimizer": "adam"}
    running = web.client.post("/api/paintings", json=long).json()["id"]
    refused = web.client.post(f"/api/paintings/{running}/touch-up", json={})
    assert refused.status_code == 400 and "no such finished picture" in refused.json()["error"]
    web.client.post(f"/api/paintings/{running}/cancel")
    until(lambda: web.ended(running), "the cancel")


def test_a_picture_has_a_large_view_for_the_brush_and_the_comparison(web):
    response = web.upload(png_bytes(40, 60, 0), "photo.png")
    view = web.client.get(response.json()["view"])
    assert view.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(view.content)).size == (60, 40)  # small ones are not enlarged
    big = web.client.post("/api/examples/tubingen.jpg").json()
    with Image.open(io.BytesIO(web.client.get(big["view"]).content)) as im:
        assert im.size == (1024, 768)
    assert web.client.get("/api/pictures/nope/view.jpg").status_code == 404


# ------------------------------------------------ touch-ups and the server's limits (issue 32)


def _ids(web) -> list[str]:
    return [p["id"] for p in web.client.get("/api/state").json()["paintings"]]


def test_past_the_limit_a_touch_up_keeps_what_it_is_painted_from(tiny_network, tmp_path):
    """Past ``max_ended`` the oldest ended paintings go, but not the picture a waiting
    touch-up touches up, nor the first run of a touch-up still kept: a touch-up of a touch-up
    is planned from it. Once no touch-up of it is kept, it goes like any other."""
    from test_web import Running, _long

    web = Running(tmp_path / "serve", max_ended=2)
    try:
        photo, style = web.picture_id(24, 32, 1, "photo.png"), web.picture_id(32, 32, 2, "a.png")
        first = _painted(web, {"content": photo, "styles": [style], "settings": FAST})
        touched = _painted(
            web, {"settings": {"strength": 0.3}}, f"/api/paintings/{first['id']}/touch-up"
        )
        long = _long(web, photo, style)
        until(lambda: any(e["type"] == "started" for e in web.of(long)), "it to start")
        body = {"settings": {"strength": 0.5}, "mask": _map_id(web, colour_map(24, 32, RED))}
        waiting = web.client.post(f"/api/paintings/{touched['id']}/touch-up", json=body)
        assert waiting.status_code == 202, waiting.text
        waiting_id = waiting.json()["id"]

        def ended_past_the_limit(count: int) -> list[str]:
            cancelled = [web.paint(photo, [style], **FAST).json()["id"] for _ in range(count)]
            for ident in cancelled:
                web.client.post(f"/api/paintings/{ident}/cancel")
            return cancelled

        cancelled = ended_past_the_limit(4)
        assert _ids(web) == [first["id"], touched["id"], long, waiting_id, *cancelled[-2:]]
        for kept in (first, touched):
            assert web.client.get(kept["result"]["png"]).status_code == 200
        web.client.post(f"/api/paintings/{long}/cancel")
        assert until(lambda: web.ended(waiting_id), "the touch-up")["type"] == "done"
        assert first["id"] in _ids(web) and touched["id"] not in _ids(web)
        third = _painted(
            web, {"settings": {"strength": 0.2}}, f"/api/paintings/{waiting_id}/touch-up"
        )
        planned = web.serving.worker.get(first["id"]).planned
        assert third["origin"] == first["id"]
        assert third["estimate"]["iterations"] == [jobs.touch_up_iterations(planned)]
        last = ended_past_the_limit(3)
        until(lambda: all(web.ended(ident) for ident in last), "them to end")
        kept = _ids(web)  # the first run went with the last touch-up of it
        assert len(kept) == 2 and set(kept) <= set(last)
        assert {p.stem for p in (tmp_path / "serve" / "results").iterdir()} <= set(kept)
    finally:
        web.stop()


def test_the_pictures_a_waiting_touch_up_paints_from_are_kept(tiny_network, tmp_path):
    """Past ``max_pictures`` the oldest pictures go, with their large views, but not the photo,
    paintings and strokes of a touch-up still to come."""
    from test_web import Running, _long

    web = Running(tmp_path / "serve", max_pictures=3)
    try:
        photo, style = web.picture_id(24, 32, 1, "photo.png"), web.picture_id(32, 32, 2, "a.png")
        first = _painted(web, {"content": photo, "styles": [style], "settings": FAST})
        long = _long(web, photo, style)
        until(lambda: any(e["type"] == "started" for e in web.of(long)), "it to start")
        strokes = _map_id(web, colour_map(24, 32, RED, BLACK))
        body = {"settings": {"strength": 0.5}, "mask": strokes}
        waiting = web.client.post(f"/api/paintings/{first['id']}/touch-up", json=body)
        assert waiting.status_code == 202, waiting.text
        later = [web.picture_id(24, 32, 3 + k, f"u{k}.png") for k in range(3)]
        kept = sorted([photo, style, strokes, later[-1]])
        assert sorted(p.name for p in (tmp_path / "serve" / "pictures").iterdir()) == kept
        views = sorted(p.name for p in (tmp_path / "serve" / "pictures-views").iterdir())
        assert views == [f"{ident}.jpg" for ident in kept]
        web.client.post(f"/api/paintings/{long}/cancel")
        end = until(lambda: web.ended(waiting.json()["id"]), "the touch-up")
        assert end["type"] == "done", end
    finally:
        web.stop()


def test_a_touch_up_whose_photo_was_forgotten_is_one_line(tiny_network, tmp_path):
    from test_web import Running

    web = Running(tmp_path / "serve", max_pictures=2)
    try:
        photo, style = web.picture_id(24, 32, 1, "photo.png"), web.picture_id(32, 32, 2, "a.png")
        first = _painted(web, {"content": photo, "styles": [style], "settings": FAST})
        web.picture_id(24, 32, 3, "later.png")  # the photo goes: no painting to come needs it
        response = web.client.post(f"/api/paintings/{first['id']}/touch-up", json={})
        message = response.json()["error"]
        assert response.status_code == 400
        assert message.startswith("touch up: its photo is no longer kept"), message
        assert str(web.folder) not in message
        assert _ids(web) == [first["id"]]
    finally:
        web.stop()


@pytest.mark.parametrize(
    "kind, words",
    [
        ("painting", "choose a photo first (content: no such picture)"),
        ("touch-up", "touch up: its photo is no longer kept"),
        ("touch-up of a forgotten result", "touch up: no such finished picture"),
    ],
)
def test_what_is_forgotten_while_a_request_is_checked_is_one_line(
    web, three, monkeypatch, kind, words
):
    """An upload (or an ending painting) may forget a picture (or a result) while a request is
    decoded: it is checked again as it joins the queue, never a queued painting whose file is
    gone."""
    from impasto.apps.web import orders

    body: dict = {"content": three[0], "styles": [three[1]], "settings": FAST}
    path, name = "/api/paintings", "prepare"
    if kind != "painting":
        first = _painted(web, body)
        path, name = f"/api/paintings/{first['id']}/touch-up", "touch_up"
        body = {"settings": {"strength": 0.3}}
    make = getattr(orders, name)

    def then_forgotten(serving, *args):
        order = make(serving, *args)
        if kind == "touch-up of a forgotten result":
            serving.worker.get(first["id"]).out.unlink()
        else:  # as an upload meanwhile does, with nothing queued that needs them
            serving.store.max_pictures = 1
            serving.store.trim()
        return order

    monkeypatch.setattr(orders, name, then_forgotten)
    before = _ids(web)
    response = web.client.post(path, json=body)
    message = response.json()["error"]
    assert response.status_code == 400 and message.startswith(words), message
    assert str(web.folder) not in message
    assert _ids(web) == before
