"""files.py: atomic writes, file hashes and the one-line words of OS errors."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from impasto.errors import ImageError
from impasto.files import os_error_words, replace_folder, sha256_file, write_atomic


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(b"impasto" * 500_000)
    assert sha256_file(path) == hashlib.sha256(b"impasto" * 500_000).hexdigest()


def test_write_atomic_takes_bytes_or_a_writer(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.bin", b"abc")
    write_atomic(tmp_path / "b.bin", lambda f: f.write(b"xyz"))
    assert (tmp_path / "a.bin").read_bytes() == b"abc"
    assert (tmp_path / "b.bin").read_bytes() == b"xyz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "kept.json"
    target.write_bytes(b"old")

    def fail(_file) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ImageError, match="kept.json: cannot write \\(no space left on the"):
        write_atomic(target, fail)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.json"]


def test_os_error_words() -> None:
    assert os_error_words(OSError(errno.ENOSPC, "x")) == "no space left on the device"
    assert os_error_words(OSError(errno.EACCES, "Permission denied")) == "Permission denied"


def test_replace_folder_swaps_a_whole_folder(tmp_path: Path) -> None:
    old, new = tmp_path / "frames", tmp_path / "new"
    old.mkdir()
    (old / "a").write_text("old")
    new.mkdir()
    (new / "b").write_text("new")
    replace_folder(new, old)
    assert [p.name for p in old.iterdir()] == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
