"""Uploaded pictures: checked by the command line's own loader, stored under random ids.

Each upload is written to the server's temporary folder as ``<id>`` (never a name the user
chose), then decoded by ``impasto.io.images.load_image`` with the same size and
decompression-bomb guards as the command line; a file it refuses is removed and its one-line
error comes back with the temporary path replaced by the name the user uploaded.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ...errors import ImageError
from ...io import images
from ...ops.resize import output_size, resize_to, size_of
from .limits import MAX_PICTURES

MAX_BYTES = 50 * 1024 * 1024  # per upload
MAX_PIXELS = 50_000_000  # width x height, checked from the header before decoding
THUMB = 192  # long side of a thumbnail, px
VIEW = 1280  # long side of a picture as the page shows it large (the brush, before and after)
NAME_LIMIT = 80  # characters of a user's file name shown back
CHUNK = 1024 * 1024  # bytes copied at a time


def _mb(size: int) -> str:
    return f"{size / 2**20:.3g} MB"


def new_id() -> str:
    """A random id: results and uploads are addressed by these, never by paths."""
    return secrets.token_urlsafe(12)


def copy_limited(source: BinaryIO, path: Path, limit: int) -> int:
    """Copy ``source`` to ``path`` a megabyte at a time, stopping once past ``limit`` bytes;
    the bytes written. An upload never sits whole in memory."""
    written = 0
    with open(path, "wb") as out:
        while written <= limit and (chunk := source.read(CHUNK)):
            out.write(chunk)
            written += len(chunk)
    return written


def shown_name(filename: str | None) -> str:
    """The user's file name as it may be shown: the last part only, printable, short."""
    name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "upload"
    return name[:NAME_LIMIT]


@dataclass(frozen=True)
class Picture:
    """A stored, decoded input: where it lives on the server and what the page may see."""

    id: str
    name: str  # the user's file name (shown only)
    path: Path  # server side; never sent to the page
    width: int
    height: int
    thumbnail: bytes  # JPEG
    view: Path  # a JPEG of at most VIEW px a side, as the browser shows it large

    def public(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "thumbnail": f"/api/pictures/{self.id}/thumbnail.jpg",
            "view": f"/api/pictures/{self.id}/view.jpg",
        }


class Store:
    """The pictures of this server run, in ``folder`` (removed by whoever made the folder):
    the latest ``max_pictures``, and any that ``in_use()`` (the files paintings still to
    come paint from) names."""

    def __init__(
        self,
        folder: Path,
        max_bytes: int = MAX_BYTES,
        max_pixels: int = MAX_PIXELS,
        max_pictures: int = MAX_PICTURES,
        in_use: Callable[[], set[Path]] = set,
    ):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        # Views beside the pictures, not among them: that folder holds only what was sent.
        self.views = folder.with_name(folder.name + "-views")
        self.views.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.max_pictures = max_pictures
        self.in_use = in_use
        self._pictures: dict[str, Picture] = {}
        self._lock = threading.Lock()

    def too_big(self, name: str, size: int) -> ImageError:
        return ImageError(
            f"{name}: file is too large ({_mb(size)}, the limit is {_mb(self.max_bytes)}); "
            "shrink it first"
        )

    def new_path(self) -> Path:
        """Where the next picture's file goes: a random id in the folder (see ``adopt``)."""
        return self.folder / new_id()

    def add(self, data: bytes, filename: str | None, *, upload: bool = True) -> Picture:
        """Store and check one upload; ImageError (one line, the user's name) if refused."""
        name = shown_name(filename)
        if upload and len(data) > self.max_bytes:
            raise self.too_big(name, len(data))
        path = self.new_path()
        path.write_bytes(data)
        return self.adopt(path, filename)

    def adopt(self, path: Path, filename: str | None) -> Picture:
        """Check and keep the file written at ``path`` (from ``new_path``): decoded once for
        its size, thumbnail and view (the browser may not decode the file itself: TIFF, 16
        bits, EXIF turns), then only its path is kept. A file refused is removed."""
        name = shown_name(filename)
        try:
            loaded = images.load_image(path, max_pixels=self.max_pixels)
        except ImageError as e:
            path.unlink(missing_ok=True)
            raise ImageError(str(e).replace(str(path), name, 1)) from None
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        height, width = size_of(loaded.rgb)
        view = self.views / f"{path.name}.jpg"
        large = resize_to(loaded.rgb, *output_size(height, width, min(VIEW, max(height, width))))
        del loaded  # the decoded picture goes before the next one comes
        view.write_bytes(images.encode_image(large, fmt="JPEG", quality=90))
        small = resize_to(large, *output_size(height, width, min(THUMB, max(height, width))))
        thumb = images.encode_image(small, fmt="JPEG", quality=85)
        picture = Picture(path.name, name, path, width, height, thumb, view)
        with self._lock:
            self._pictures[picture.id] = picture
        return picture

    def trim(self) -> None:
        """Forget the oldest pictures past ``max_pictures`` (uploads without end keep no
        more) and remove their files, but those ``in_use()``. The app calls it from its
        event loop, where a painting request checks its pictures again as it joins the queue."""
        used = self.in_use()
        with self._lock:
            extra = len(self._pictures) - self.max_pictures
            for old in [p for p in self._pictures.values() if p.path not in used][:-1]:
                if extra <= 0:
                    break
                del self._pictures[old.id]
                old.path.unlink(missing_ok=True)
                old.view.unlink(missing_ok=True)
                extra -= 1

    def add_file(self, source: Path, name: str) -> Picture:
        """A file the server itself chose (a bundled example): the same checks but the
        upload's byte limit."""
        return self.add(source.read_bytes(), name, upload=False)

    def get(self, picture_id: str) -> Picture | None:
        with self._lock:
            return self._pictures.get(picture_id)

    def keeps(self, path: str | os.PathLike[str]) -> bool:
        """Whether ``path`` is the file of a picture still kept (``trim`` forgets them)."""
        picture = self.get(Path(path).name)
        return picture is not None and picture.path == Path(path)
