"""A clip's work folder: each finished frame on disk, so that a stopped run resumes.

It lies beside the output (``.OUT.impasto-frames``) and holds ``clip.json`` (the key of the
job: inputs' contents and every setting) and ``frame_000001.png``... in 16 bits, so that the
next frame starts from the painted frame as it was, not a rounded copy. A folder left by a
different job (another key) is emptied first: its frames belong to other settings.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import torch

from ..errors import ImageError
from ..files import os_error_words, write_atomic
from ..io import images

MANIFEST = "clip.json"
SUFFIX = ".impasto-frames"


def folder_for(out: Path) -> Path:
    """Where the frames of the clip that goes to ``out`` are kept while it is painted."""
    return out.parent / f".{out.name}{SUFFIX}"


class WorkFolder:
    """Finished frames of one job (``key``), numbered from 1."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key

    def _manifest(self) -> dict:
        try:
            return json.loads((self.path / MANIFEST).read_text())
        except (OSError, ValueError):
            return {}

    def _write_manifest(self, data: dict) -> None:
        write_atomic(self.path / MANIFEST, json.dumps(data, indent=1).encode())

    def matches(self) -> bool:
        """Whether a folder of this job's frames is on disk already."""
        return self._manifest().get("key") == self.key

    def open(self) -> int:
        """Make the folder ready; the number of frames finished already (1..n, in order).
        ImageError if it cannot be written (a full disk), and no folder of no frames left."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            why = os_error_words(e)
            raise ImageError(f"{self.path}: cannot make the work folder ({why})") from None
        if not self.matches():
            for pattern in ("frame_*.png", "maturity_*.png"):
                for old in self.path.glob(pattern):
                    old.unlink()
            try:
                self._write_manifest({"key": self.key})
            except ImageError:
                self.remove_if_empty()
                raise
        return self.finished()

    def finished(self) -> int:
        """How many frames are done: 1..n, in order (a gap ends the count)."""
        done = 0
        while self.frame_path(done + 1).exists():
            done += 1
        return done

    def frame_path(self, index: int) -> Path:
        return self.path / f"frame_{index:06d}.png"

    def maturity_path(self, index: int) -> Path:
        return self.path / f"maturity_{index:06d}.png"

    def save(self, index: int, rgb: torch.Tensor, maturity: torch.Tensor | None = None) -> None:
        """Frame ``index``, and how settled each of its pixels is (``painter.Carried``): the
        maturity first, so that a frame on disk always has its own."""
        if maturity is not None:
            grey = maturity.expand(3, -1, -1)
            images.save_image(self.maturity_path(index), grey, None, bits=16, overwrite=True)
        else:
            self.maturity_path(index).unlink(missing_ok=True)
        try:
            images.save_image(self.frame_path(index), rgb, None, bits=16, overwrite=True)
        except BaseException:
            self.maturity_path(index).unlink(missing_ok=True)  # no maturity without its frame
            raise

    def load(self, index: int) -> torch.Tensor:
        return images.load_image(self.frame_path(index)).rgb

    def load_maturity(self, index: int) -> torch.Tensor | None:
        """Frame ``index``'s maturity; None (all settled) for a frame painted on its own."""
        path = self.maturity_path(index)
        return images.load_image(path).rgb[:1] if path.exists() else None

    def note_partial(self, digest: str) -> None:
        """Record that the output now holds the clip so far, with this sha256."""
        self._write_manifest({**self._manifest(), "partial": digest})

    def partial(self) -> str | None:
        """The sha256 of the clip-so-far this job wrote to its output, if it did."""
        manifest = self._manifest()
        return manifest.get("partial") if manifest.get("key") == self.key else None

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            shutil.rmtree(self.path)

    def remove_if_empty(self) -> int:
        """Remove the folder if it holds no finished frame (nothing to resume from); the
        number of finished frames."""
        done = self.finished() if self.path.is_dir() else 0
        if done == 0:
            self.remove()
        return done
