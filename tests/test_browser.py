"""The web page in a real browser: Debian's chromium, driven by Playwright, on a real
``impasto serve`` subprocess with the real default weights at 64-128 px.

Its own tier (``pytest -m browser``; ``.ci/run`` installs chromium and the extras first).
Outside CI it skips when chromium or the extras are missing; in CI (``CI`` set) it fails.
``IMPASTO_SCREENSHOT=1`` also saves the screenshot the README shows (docs/img/serve.png).
The brush, before and after, and touch-ups are in test_browser_brush.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from browsing import SCREENSHOTS, WAIT_MS, chromium, own_home, screenshots, serve
from helpers import EXAMPLES
from impasto import devices

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path):
    """A real ``impasto serve --port 0`` with weights of its own: yields its address."""
    with serve(tmp_path, env=own_home(tmp_path / "home")) as url:
        yield url


@pytest.fixture
def browser():
    with chromium() as browser:
        yield browser


# The displayed picture, summed in the page: changes when the picture changes.
# null while the picture on show is still loading (a 0 x 0 canvas cannot be read): the test
# waits for a value rather than evaluating once, which raced the page's refresh now and then
PIXELS = """() => {
  const img = document.getElementById("live");
  if (!img.complete || img.naturalWidth === 0) return null;
  const c = document.createElement("canvas");
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext("2d"); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 0; i < d.length; i += 1) s = (s * 31 + d[i]) % 1000000007;
  return [img.getAttribute("src"), s, c.width];
}"""


# The painting under way (not ``done``) has its picture on show and its bar moving.
CURRENT_SHOWN = """done => {
  const now = document.getElementById("now").dataset.id;
  const live = document.getElementById("live");
  return now && now !== done && live.dataset.painting === now && live.complete
    && Number(document.getElementById("bar").dataset.fraction) > 0;
}"""


def _open_with_photo_and_painting(page, served: str) -> None:
    """The page, with Tübingen and The Starry Night uploaded through its own file inputs."""
    page.goto(served)
    page.wait_for_selector("body[data-ready=yes]")
    page.set_input_files("#content-input", str(EXAMPLES / "tubingen.jpg"))
    page.wait_for_selector("#content-thumb img")
    page.set_input_files("#style-input", str(EXAMPLES / "starry_night.jpg"))
    page.wait_for_selector("#style-list li img")


def _settings(page, size: int, schedule: str) -> None:
    page.fill("#field-size", str(size))
    page.fill("#field-schedule", schedule)
    page.dispatch_event("#field-schedule", "change")


def test_paint_watch_cancel_finish_and_download_in_a_browser(served, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(served) else outside.append(r.url))
    page.set_default_timeout(WAIT_MS)
    # two images uploaded by the page's own file inputs, then a second painting for a blend
    _open_with_photo_and_painting(page, served)
    # where it paints: the server's device (auto: cpu without a GPU), in a line of its own
    expected = devices.about(devices.resolve("auto")).describe()
    assert page.text_content("#device") == f"Painting on {expected}"
    assert page.is_visible("#device")
    page.click("#examples-card summary")
    page.click("#examples li:has-text('the_scream.jpg') >> text=painting")
    page.wait_for_selector("#style-list li:nth-child(2) input.blend")
    assert page.locator("#style-list input.blend").count() == 2  # a slider each

    # a bad upload: the loader's one line on the page
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    page.set_input_files("#style-input", str(bad))
    page.wait_for_selector("#message:has-text('notes.png: not an image file')")

    page.click("#more summary")
    _settings(page, 64, "64:12")
    page.wait_for_selector("#estimate:has-text('Output 64×48 px in 1 scale')")
    assert "About" in page.text_content("#estimate")

    # 1: a short painting that finishes; its PNG downloads
    page.click("#start")
    first = page.wait_for_selector("#results li.result.done").get_attribute("data-id")
    with page.expect_download() as info:
        page.click(f"#results li[data-id='{first}'] a.download-png")
    data = Path(info.value.path()).read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG" and im.size == (64, 48)
        im.load()

    # 2: a long one, watched as it improves; 3 waits behind it in the queue
    _settings(page, 128, "128:2000")
    page.click("#start")
    page.wait_for_function(CURRENT_SHOWN, arg=first)
    before = page.wait_for_function(PIXELS).json_value()
    fraction = float(page.get_attribute("#bar", "data-fraction"))
    page.wait_for_function(
        "src => document.getElementById('live').getAttribute('src') !== src", arg=before[0]
    )
    page.wait_for_function(
        "f => Number(document.getElementById('bar').dataset.fraction) > f", arg=fraction
    )
    after = page.wait_for_function(PIXELS).json_value()
    assert after[1] != before[1] and after[2] == 128  # a new picture, at the size worked on
    assert "Scale 1 of 1 (128×96 px)" in page.text_content("#status")
    assert "left" in page.text_content("#status")
    # 3 refines the first result: "use as start"
    page.click(f"#results li[data-id='{first}'] >> text=use as start")
    assert page.input_value("#init") == f"result:{first}"
    _settings(page, 64, "64:12")
    page.click("#start")
    page.wait_for_selector("#queue li[data-id]")
    assert page.locator("#queue li[data-id]").count() == 1
    page.click("#more summary")  # closed again, for a shorter screenshot
    page.wait_for_timeout(1500)  # a few more steps for the picture
    page.screenshot(path=str(tmp_path / "serve.png"), full_page=True)
    if screenshots():
        page.screenshot(path=str(SCREENSHOTS / "serve.png"), full_page=True)

    page.click("#cancel")
    page.wait_for_selector("#results li.result.cancelled img")
    # 3 starts by itself when 2 is cancelled, and finishes
    page.wait_for_function("document.querySelectorAll('#results li.result.done').length === 2")
    assert page.locator("#queue li[data-id]").count() == 0
    third = page.locator("#results li.result.done").first  # the newest first
    assert "from the result tubingen.jpg" in third.text_content()
    cancelled = page.locator("#results li.result.cancelled img")
    assert cancelled.evaluate("img => img.naturalWidth") == 128  # best so far, at full size
    assert errors == [] and outside == []


def test_a_late_estimate_keeps_an_upload_error_on_the_page(served, browser, tmp_path):
    """The estimate is held back until a bad upload has said its line; when it then
    returns, the line stays (an estimate clears only the message it showed itself)."""
    page = browser.new_page()
    page.set_default_timeout(WAIT_MS)
    held: list = []
    page.route("**/api/estimate", lambda route: held.append(route))  # answered below
    _open_with_photo_and_painting(page, served)
    for _ in range(100):  # the estimate is asked for 250 ms after the painting is added
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "no estimate was asked for"
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    page.set_input_files("#style-input", str(bad))
    page.wait_for_selector("#message:has-text('notes.png: not an image file')")
    for route in held:
        route.continue_()
    page.wait_for_selector("#estimate:has-text('Output')")
    assert "notes.png: not an image file" in page.text_content("#message")
