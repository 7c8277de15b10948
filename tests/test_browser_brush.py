"""The brush, before and after, and touch-ups in a real browser (chromium under Playwright) on
a real ``impasto serve`` with the real weights at a small size.

Strokes are drawn through real pointer events: a mouse for The Starry Night's red, a pen for
The Scream's green, a finger for the eraser. The picture must follow them (each region nearer
its own painting than the other, in colour and texture; erased and unbrushed parts the photo,
as ``--mask`` promises), the command line must paint the same picture from the map the page
downloads, and a touch-up at a lower strength must paint one scale at the output size and
move towards the photo. ``IMPASTO_SCREENSHOT=1`` saves the README's screenshots.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from browsing import SCREENSHOTS, WAIT_MS, chromium, own_home, screenshots, serve
from helpers import EXAMPLES
from impasto.io.images import load_image
from impasto.ops.resize import resize_to

pytestmark = pytest.mark.browser

PHOTO, STARRY, SCREAM = (
    EXAMPLES / n for n in ("tubingen.jpg", "starry_night.jpg", "the_scream.jpg")
)
# Vertical strokes at these shares of the width, down to half the height (their round ends
# reach about 0.63); the picture is judged inside each band, above TOP (away from the softened
# edges), and below BOTTOM, where nothing was brushed.
# The eraser keeps the tree on the left: red and green then cover alike sky and houses.
ERASED_X, GREEN_X, RED_X = (0.08, 0.22), (0.45, 0.55), (0.78, 0.92)
ERASED_JUDGED, GREEN_JUDGED, RED_JUDGED = (0.0, 0.27), (0.40, 0.60), (0.73, 1.0)
TOP, BOTTOM = 0.55, 0.72
BRUSH = 20  # % of the long side: each stroke is 0.2 of the width
# Settings; a bigger picture for the README's screenshots.
SIZE, SCHEDULE = (256, "128:24,256:16") if screenshots() else (96, "48:24,96:16")
TOUCH_UP_STRENGTH = 0.3


@pytest.fixture
def served(tmp_path):
    """``impasto serve`` with one thread (the command line's picture below is compared
    exactly) and weights of its own."""
    env = own_home(tmp_path / "home")
    with serve(tmp_path, "--threads", "1", env=env) as url:
        yield url, env


@pytest.fixture
def page(served):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(served[0])
        page.wait_for_selector("body[data-ready=yes]")
        yield page
        assert errors == []


# ------------------------------------------------------------------------ drawing


def _canvas(page) -> dict:
    return page.locator("#brush-canvas").bounding_box()


def _at(box: dict, x: float, y: float) -> tuple[float, float]:
    return box["x"] + x * box["width"], box["y"] + y * box["height"]


def _line(x: float, steps: int = 8) -> list[tuple[float, float]]:
    """A vertical stroke at ``x`` from the top to half the height."""
    return [(x, 0.03 + 0.47 * k / steps) for k in range(steps + 1)]


def mouse_stroke(page, points) -> None:
    box = _canvas(page)
    page.mouse.move(*_at(box, *points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*_at(box, *point))
    page.mouse.up()


def pen_stroke(page, points) -> None:
    """A pen's stroke, as the browser gets it from a tablet (CDP input, pointerType pen)."""
    cdp, box = page.context.new_cdp_session(page), _canvas(page)
    kinds = ["mousePressed"] + ["mouseMoved"] * (len(points) - 2) + ["mouseReleased"]
    for kind, point in zip(kinds, points):
        x, y = _at(box, *point)
        cdp.send(
            "Input.dispatchMouseEvent",
            {
                "type": kind,
                "x": x,
                "y": y,
                "button": "left",
                "buttons": 0 if kind == "mouseReleased" else 1,
                "clickCount": 1,
                "pointerType": "pen",
            },
        )
    cdp.detach()


def finger_stroke(page, points) -> None:
    """A finger's stroke on a touch screen (CDP touch input)."""
    cdp, box = page.context.new_cdp_session(page), _canvas(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    kinds = ["touchStart"] + ["touchMove"] * (len(points) - 1)
    for kind, point in zip(kinds, points):
        x, y = _at(box, *point)
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _set_range(page, selector: str, value: float) -> None:
    page.locator(selector).evaluate(
        "(e, v) => { e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); "
        "e.dispatchEvent(new Event('change', {bubbles: true})); }",
        value,
    )


def _settings(page, **values) -> None:
    if not page.locator("#more").evaluate("e => e.open"):
        page.click("#more summary")
    for name, value in values.items():
        page.fill(f"#field-{name}", str(value))
        page.dispatch_event(f"#field-{name}", "change")


# ------------------------------------------------------------------------ measuring


def _picture(page, path: str) -> np.ndarray:
    """A picture the server gives, (H, W, 3) floats in 0..1."""
    data = page.request.get(page.url.rstrip("/") + path).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64) / 255


def _tensor_hwc(tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).double().numpy()


def _photo(h: int, w: int) -> np.ndarray:
    """The photo as a run keeps it: the content resized to the output size."""
    return _tensor_hwc(resize_to(load_image(PHOTO).rgb, h, w))


def _painting(path, long_side: int) -> np.ndarray:
    """A painting as the run sees it: resized to the output's long side (style scale 1)."""
    rgb = load_image(path).rgb
    h, w = rgb.shape[-2:]
    scale = long_side / max(h, w)
    return _tensor_hwc(resize_to(rgb, round(h * scale), round(w * scale)))


def _band(picture: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    """The part of a band above ``TOP``: where it was brushed, away from its edges."""
    h, w = picture.shape[:2]
    return picture[: round(TOP * h), round(band[0] * w) : round(band[1] * w)]


def _unbrushed(picture: np.ndarray) -> np.ndarray:
    return picture[round(BOTTOM * picture.shape[0]) :]


def _colour(pixels: np.ndarray) -> np.ndarray:
    """Colour statistics: each channel's mean and standard deviation."""
    flat = pixels.reshape(-1, 3)
    return np.concatenate([flat.mean(0), flat.std(0)])


def _texture(pixels: np.ndarray, bins: int = 8) -> np.ndarray:
    """Texture statistics: how the brightness's edges run (their strength's share in each of
    ``bins`` directions: the strokes' directions) and how strong they are on average. Shares,
    not amounts: a picture may have less of its painting's texture, not another one's."""
    grey = pixels.mean(2)
    across, down = np.diff(grey, axis=1)[:-1], np.diff(grey, axis=0)[:, :-1]
    strength = np.hypot(across, down)
    direction = np.mod(np.arctan2(down, across), np.pi) / np.pi * bins
    index = np.minimum(direction.astype(int), bins - 1).ravel()
    shares = np.bincount(index, weights=strength.ravel(), minlength=bins) / strength.sum()
    return np.append(shares, 5 * strength.mean())


def _nearer(region: np.ndarray, own: np.ndarray, other: np.ndarray, stat) -> tuple[float, float]:
    """Distances of a region's statistics to its own painting's and to the other's."""
    mine = stat(region)
    return float(np.linalg.norm(mine - stat(own))), float(np.linalg.norm(mine - stat(other)))


# ------------------------------------------------------------------------ the test


def test_strokes_paint_each_painting_where_it_is_brushed_and_touch_up(page, served, tmp_path):
    url, env = served
    page.set_input_files("#content-input", str(PHOTO))
    page.wait_for_selector("#content-thumb img")
    page.set_input_files("#style-input", [str(STARRY), str(SCREAM)])
    page.wait_for_selector("#style-list li:nth-child(2) .swatch")
    page.wait_for_selector("#brush-card:not([hidden])")
    page.wait_for_function("document.getElementById('brush-photo').complete")
    # one colour a painting, in order, beside its thumbnail; and the eraser
    swatches = page.locator("#style-list .swatch")
    assert [swatches.nth(i).get_attribute("title") for i in range(2)] == [
        "brush colour: red",
        "brush colour: green",
    ]
    assert page.locator("#brush-tools .tool").count() == 3
    _set_range(page, "#brush-size", BRUSH)
    assert page.text_content("#brush-note").startswith("No strokes: the whole picture is painted")

    swatches.nth(0).click()  # The Starry Night's red, with a mouse
    for x in RED_X + ERASED_X:
        mouse_stroke(page, _line(x))
    page.click("#brush-tools .tool[data-tool='2']")  # The Scream's green, with a pen
    for x in GREEN_X:
        pen_stroke(page, _line(x))
    page.click("#brush-tools .tool[data-tool='eraser']")  # the left band, by finger
    for x in ERASED_X:
        finger_stroke(page, _line(x))
    # undo and redo: a stray stroke comes and goes
    mouse_stroke(page, [(0.3, 0.8), (0.9, 0.8)])
    page.click("#brush-undo")
    assert page.is_enabled("#brush-redo")
    page.click("#brush-redo")
    page.click("#brush-undo")
    assert "the rest (and what is erased) keeps the photo" in page.text_content("#brush-note")
    _set_range(page, "#brush-opacity", 0.55)
    assert page.locator("#brush-canvas").evaluate("c => getComputedStyle(c).opacity") == "0.55"

    # the map, downloaded for the command line: red, green and black bands
    with page.expect_download() as info:
        page.click("#brush-download")
    strokes = tmp_path / "strokes.png"
    info.value.save_as(strokes)
    colour_map = np.asarray(Image.open(strokes).convert("RGB"))
    assert colour_map.shape == (768, 1024, 3)
    colours = {tuple(c) for c in colour_map.reshape(-1, 3)}
    assert colours == {(0, 0, 0), (255, 0, 0), (0, 255, 0)}
    for band, colour in ((RED_JUDGED, (255, 0, 0)), (GREEN_JUDGED, (0, 255, 0))):
        assert (_band(colour_map, band) == colour).all()
    assert (_band(colour_map, ERASED_JUDGED) == 0).all()
    assert (_unbrushed(colour_map) == 0).all()

    _settings(page, size=SIZE, schedule=SCHEDULE)
    page.click("#more summary")
    if screenshots():
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / "serve_brush.png"))
    _bad_strokes_are_said_on_the_page(page)

    # paint; the picture follows the strokes
    page.click("#start")
    first_id = page.wait_for_selector("#results li.result.done").get_attribute("data-id")
    first = _state(page, first_id)
    assert first["inputs"]["mask"] is not None
    painted = _picture(page, first["result"]["png"])
    h, w = painted.shape[:2]
    assert (w, h) == (SIZE, SIZE * 3 // 4)
    photo = _photo(h, w)
    starry, scream = _painting(STARRY, SIZE), _painting(SCREAM, SIZE)
    red, green = _band(painted, RED_JUDGED), _band(painted, GREEN_JUDGED)
    for stat, share in ((_colour, 0.5), (_texture, 0.75)):
        own, other = _nearer(red, starry, scream, stat)
        assert own < share * other, (stat.__name__, "red: The Starry Night", own, other)
        own, other = _nearer(green, scream, starry, stat)
        assert own < share * other, (stat.__name__, "green: The Scream", own, other)
    # erased, and never brushed: the photo, as --mask keeps it (8-bit rounding)
    erased = np.abs(_band(painted, ERASED_JUDGED) - _band(photo, ERASED_JUDGED))
    unbrushed = np.abs(_unbrushed(painted) - _unbrushed(photo))
    for kept in (erased, unbrushed):
        assert kept.mean() < 0.003 and kept.max() < 0.01, (kept.mean(), kept.max())

    # the command line paints the same picture from the downloaded map
    out = tmp_path / "cli.png"
    argv = [PHOTO, STARRY, SCREAM, "--mask", strokes, "--size", SIZE, "--schedule", SCHEDULE]
    command = [sys.executable, "-m", "impasto", *map(str, argv), "--threads", "1", "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.asarray(Image.open(out).convert("RGB")) / 255, painted)

    # before and after: the photo left of the line, the picture right of it; at full size
    page.click(f"#results li[data-id='{first_id}'] button.compare")
    page.wait_for_selector("#compare:not([hidden])")
    assert not page.is_visible("#pair")  # only a touch-up is shown beside its first
    assert page.get_attribute("#wipe-after", "src") == first["result"]["png"]
    view = f"/api/pictures/{first['inputs']['content']}/view.jpg"
    assert page.get_attribute("#wipe-before", "src") == view
    _set_range(page, "#wipe-slider", 30)
    clip = page.locator("#wipe-before").evaluate("e => e.style.clipPath")
    assert clip == "inset(0px 70% 0px 0px)"
    page.check("#full-size")
    assert page.locator("#wipe").evaluate("e => e.getBoundingClientRect().width") == SIZE
    page.uncheck("#full-size")
    _set_range(page, "#wipe-slider", 50)
    page.wait_for_function("document.getElementById('wipe-after').complete")
    if screenshots():
        page.locator("#compare").screenshot(path=str(SCREENSHOTS / "serve_compare.png"))

    # touch up at a lower strength: one scale at the output size, from the picture
    _settings(page, strength=TOUCH_UP_STRENGTH)
    page.click("#more summary")
    page.click("#touch-up")
    touch_id = page.wait_for_selector("#results li.result.touch-up.done").get_attribute("data-id")
    page.wait_for_selector(f"#compare[data-id='{touch_id}'] #pair:not([hidden])")
    touch = _state(page, touch_id)
    assert touch["touch_up_of"] == first_id and touch["inputs"] == first["inputs"]
    iterations = touch["estimate"]["iterations"]
    assert touch["estimate"]["scales"] == [SIZE] and len(iterations) == 1
    assert 1 <= iterations[0] <= sum(first["estimate"]["iterations"]) / 3
    assert touch["settings"]["schedule"] == f"{SIZE}:{iterations[0]}"
    assert touch["settings"]["strength"] == TOUCH_UP_STRENGTH
    assert page.get_attribute("#pair-first", "src") == first["result"]["png"]
    # shown beside the first, in the list as in the comparison
    cards = page.locator("#results li.result")
    assert [cards.nth(i).get_attribute("data-id") for i in range(2)] == [first_id, touch_id]
    touched = _picture(page, touch["result"]["png"])
    assert touched.shape == painted.shape
    for band in (RED_JUDGED, GREEN_JUDGED):  # nearer the photo where it was painted
        before = np.abs(_band(painted, band) - _band(photo, band)).mean()
        after = np.abs(_band(touched, band) - _band(photo, band)).mean()
        assert after < 0.95 * before, (band, before, after)
    kept = np.abs(_band(touched, ERASED_JUDGED) - _band(photo, ERASED_JUDGED))
    assert kept.mean() < 0.003 and np.abs(_unbrushed(touched) - _unbrushed(photo)).mean() < 0.003
    page.wait_for_function("document.getElementById('pair-second').complete")
    if screenshots():
        page.locator("#compare").screenshot(path=str(SCREENSHOTS / "serve_touchup.png"))
    _usable(page, 1280, 800)
    _usable(page, 768, 1024)


def _state(page, painting_id: str) -> dict:
    state = page.request.get(page.url.rstrip("/") + "/api/state").json()
    return next(p for p in state["paintings"] if p["id"] == painting_id)


def _usable(page, width: int, height: int) -> None:
    """At this window size nothing spills sideways, and the drawing and the comparison each
    fit in the window with their tools."""
    page.set_viewport_size({"width": width, "height": height})
    overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, (width, overflow)
    for selector in ("#brush-stage", "#brush-tools", "#brush-download", "#wipe", "#touch-up"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, selector, box)
        assert box["height"] <= height, (height, selector, box)


def _bad_strokes_are_said_on_the_page(page) -> None:
    """Strokes that cannot be painted: one line on the page, nothing queued; undo mends."""
    note, message = "#brush-note", "#message"
    # only the eraser left
    page.click("#brush-clear")
    page.click("#brush-tools .tool[data-tool='eraser']")
    mouse_stroke(page, _line(0.5))
    assert "keep the whole photo" in page.text_content(note)
    page.click("#start")
    page.wait_for_selector(f"{message}:has-text('the strokes keep the whole photo')")
    page.click("#brush-undo")
    page.click("#brush-undo")  # the clear, taken back: the strokes are there again
    assert "the rest (and what is erased) keeps the photo" in page.text_content(note)
    # a colour for a painting that was removed
    page.click("#examples-card summary")
    page.click("#examples li:has-text('woman-with-hat') >> text=painting")
    page.wait_for_selector("#brush-tools .tool[data-tool='3']")
    page.click("#brush-tools .tool[data-tool='3']")
    mouse_stroke(page, [(0.5, 0.4), (0.5, 0.6)])
    page.click("#style-list li:nth-child(3) button[title=remove]")
    page.wait_for_selector(f"{note}:has-text('for a painting that was removed')")
    page.click("#start")
    page.wait_for_selector(f"{message}:has-text('for a painting that was removed')")
    page.click("#brush-download")  # no map of them either
    page.click("#brush-undo")
    assert "the rest (and what is erased) keeps the photo" in page.text_content(note)
    page.click("#examples-card summary")
    state = page.request.get(page.url.rstrip("/") + "/api/state").json()
    assert state["paintings"] == []  # nothing was queued
