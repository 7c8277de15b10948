"""The example photos and paintings the package ships (``impasto/examples``), by name.

The page may pick one by its name from this list, which the server made itself; a name not in
it is refused, so no request can name a path. The folder is package data, so a wheel install
shows them too; a folder without them gives an empty list, and the page shows no examples.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ...io import images
from ...ops.resize import output_size, resize_to, size_of
from .uploads import THUMB

FOLDER = Path(__file__).resolve().parents[2] / "examples"  # impasto/apps/web -> impasto


class Examples:
    def __init__(self, folder: Path) -> None:
        try:
            # CREDITS.md marks the project's own folder (not some other "examples")
            ours = (folder / "CREDITS.md").is_file()
            found = images.list_images(folder) if ours else []
        except Exception:
            found = []
        self._paths = {p.name: p for p in found}
        self._thumbs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def public(self) -> list[dict[str, str]]:
        return [
            {"name": name, "thumbnail": f"/api/examples/{name}/thumbnail.jpg"}
            for name in sorted(self._paths)
        ]

    def path(self, name: str) -> Path | None:
        return self._paths.get(name)

    def thumbnail(self, name: str) -> bytes:
        with self._lock:
            if name in self._thumbs:
                return self._thumbs[name]
        rgb = images.load_image(self._paths[name]).rgb
        h, w = size_of(rgb)
        data = images.encode_image(resize_to(rgb, *output_size(h, w, THUMB)), fmt="JPEG")
        with self._lock:
            self._thumbs[name] = data
        return data
