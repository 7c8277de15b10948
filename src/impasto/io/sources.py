"""Each input read once: a pipe or a device can be read only once, and a job may name one
twice (a content that is also a style, the same painting twice, a link to it)."""

from __future__ import annotations

import os
from pathlib import Path

from .images import STDIN, LoadedImage, input_source, load_image


class Sources:
    """``input_source`` once a file: a pipe or device named twice (a content that is also a
    style, or a link to it) is read once, where a second reading would wait for good for a
    writer that wrote once. One for each job: it keeps the bytes of the pipes it read."""

    def __init__(self) -> None:
        self._read: dict[str, Path | bytes] = {}

    def source(self, path: str | os.PathLike) -> Path | bytes:
        name = str(path)
        key = name if name == STDIN else os.path.realpath(path)
        if key not in self._read:
            self._read[key] = input_source(path)
        return self._read[key]

    def load(self, path: str | os.PathLike) -> LoadedImage:
        """``load_image(path)`` from the file's one source."""
        return load_image(path, source=self.source(path))
