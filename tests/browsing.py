"""For the browser tier: a real ``impasto serve`` subprocess and Debian's chromium driven by
Playwright. Outside CI a test skips when chromium or the extras are missing; in CI (``CI``
set) it fails. ``IMPASTO_SCREENSHOT=1`` makes the tests save the README's screenshots.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 180_000  # any one thing the page waits for (a shared CPU, the weights loading)
SCREENSHOTS = ROOT / "docs" / "img"


def screenshots() -> bool:
    """Whether to save the README's screenshots into docs/img (``IMPASTO_SCREENSHOT=1``)."""
    return os.environ.get("IMPASTO_SCREENSHOT", "") not in ("", "0")


def missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}; CI must run the browser test")
    pytest.skip(f"{what} (CI runs this test)")


def own_home(folder: Path) -> dict[str, str]:
    """An ``IMPASTO_HOME`` of its own holding a copy of the cached default weights, so that a
    test that paints never writes the user's cache (its speed store); nothing when they are
    not cached (the server fetches them into the usual cache, as before)."""
    from impasto.network import store

    cached = store.cached_path("vgg16-hed")
    if not cached.is_file():
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(cached, folder / cached.name)
    return {"IMPASTO_HOME": str(folder)}


def start_serve(
    temp: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """``impasto serve --port 0 ARGS`` with its temporary files in ``temp``, and the address
    it printed once it listens."""
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONUNBUFFERED": "1", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "impasto", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))
    reader.start()
    reader.join(120)
    if not line or "serving on http://" not in line[0]:
        process.kill()
        raise AssertionError(f"no address from impasto serve: {line} {process.stderr.read()}")
    return process, line[0].split("serving on ", 1)[1].split()[0]


@contextlib.contextmanager
def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real ``impasto serve --port 0 ARGS``: yields its address; stops it with Ctrl-C after
    and checks that it left no temporary files."""
    for module in ("starlette", "uvicorn", "python_multipart"):
        try:
            __import__(module)
        except ImportError:
            missing(f"the web extra is not installed (no {module}): pip install -e '.[web]'")
    temp = tmp_path / "temp"
    temp.mkdir()
    process, url = start_serve(temp, *args, env=env)
    try:
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        stderr = process.stderr.read()
        assert code == 0, stderr
        assert "stopped; temporary files removed" in stderr
        left = [p.name for p in temp.iterdir() if p.name.startswith("impasto-serve-")]
        assert left == [], "temporary files left behind"


@contextlib.contextmanager
def chromium() -> Iterator:
    """Debian's chromium under Playwright (Playwright's own browsers are not downloaded)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed: pip install -e '.[browser]'")
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
