"""CI: the installed wheel (not the checkout) is whole: its files, the README example at a
small size, and ``impasto serve``'s page with its bundled examples.

Run with the wheel's own virtual environment, from outside the checkout (so that nothing is
imported from it): ``VENV/bin/python wheel_check.py WHEEL EXAMPLES_FOLDER``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

SHIPPED = (
    "impasto/py.typed",
    "impasto/apps/web/static/index.html",
    "impasto/apps/web/static/app.js",
    "impasto/apps/web/static/style.css",
    "impasto/examples/CREDITS.md",
    "impasto/examples/tubingen.jpg",
    "impasto/examples/starry_night.jpg",
)


def check_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in SHIPPED if n not in names]
    assert not missing, f"not in the wheel: {missing}"
    static = sorted(n for n in names if n.startswith("impasto/apps/web/static/"))
    print(f"wheel: {len(names)} files; static {len(static)}; examples and py.typed shipped")


def check_installed() -> Path:
    import impasto

    where = Path(impasto.__file__).resolve()
    assert "site-packages" in where.parts, f"impasto imported from {where}, not the wheel"
    return where.parent


def run_readme_example(examples: Path, folder: Path) -> None:
    """The README's command, at a small size (the weights fetched into the cache once)."""
    out = folder / "tubingen_starry.png"
    command = [
        str(Path(sys.executable).with_name("impasto")), str(examples / "tubingen.jpg"),
        str(examples / "starry_night.jpg"), "-o", str(out), "--size", "96", "-q",
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=1200)
    from PIL import Image

    with Image.open(out) as im:
        assert im.size == (96, 72), im.size
    import impasto  # and from Python, in one call

    picture = impasto.paint(examples / "tubingen.jpg", examples / "starry_night.jpg", size=48)
    assert max(picture.size) == 48
    print(f"README example: {out.name} {im.size[0]}x{im.size[1]}; impasto.paint too")


def check_serve() -> None:
    """``impasto serve`` from the wheel: the page, its scripts, and its bundled examples."""
    serve = subprocess.Popen(
        [str(Path(sys.executable).with_name("impasto")), "serve", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline()  # "impasto: serving on http://127.0.0.1:PORT/ ..."
        url = next(w for w in line.split() if w.startswith("http://")).rstrip("/")
        page = urllib.request.urlopen(f"{url}/", timeout=60).read().decode()
        assert "<script" in page, page[:200]
        script = urllib.request.urlopen(f"{url}/static/app.js", timeout=60).read()
        assert len(script) > 1000
        listed = json.load(urllib.request.urlopen(f"{url}/api/examples", timeout=60))
        names = {e["name"] for e in listed["examples"]}
        assert {"tubingen.jpg", "starry_night.jpg"} <= names, names
        thumb = urllib.request.urlopen(f"{url}/api/examples/tubingen.jpg/thumbnail.jpg")
        assert thumb.read(3) == b"\xff\xd8\xff"  # a JPEG
        print(f"serve: the page, app.js and {len(names)} bundled examples at {url}")
    finally:
        serve.terminate()
        serve.wait(timeout=60)


if __name__ == "__main__":
    wheel, examples = Path(sys.argv[1]), Path(sys.argv[2])
    check_files(wheel)
    print(f"installed: {check_installed()}")
    with tempfile.TemporaryDirectory() as folder:
        run_readme_example(examples, Path(folder))
    check_serve()
