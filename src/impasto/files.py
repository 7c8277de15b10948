"""Files written whole or not at all, their hashes, locks, and OS errors in one line's words.

Every writer of impasto (pictures, clips and their frame folders, the weights cache, the speed
store, a batch's sidecars and summary, a clip's work folder) goes through ``write_atomic``:
the data goes to a hidden file beside the destination, is flushed to the disk (``fsync``) and
renamed over it, so a file is whole or absent, even after a kill or on a full disk. No torch
here, and nothing but the standard library.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import ImageError

Writer = Callable[[BinaryIO], object]
"""What writes a file's content into an open binary file (``torch.save``'s way)."""


def os_error_words(e: OSError) -> str:
    """What an OSError says, in the words of a one-line error ("no space left on the
    device")."""
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    return e.strerror or str(e)


def cannot_write(name: str | os.PathLike, e: OSError) -> ImageError:
    """The one line for a file that cannot be written: ``NAME: cannot write (why)``."""
    return ImageError(f"{name}: cannot write ({os_error_words(e)})")


def stat_input(path: Path, name: str, what: str) -> os.stat_result:
    """The status of an input (links followed), or ImageError in the words every reader uses:
    ``NAME: is a folder, not WHAT``, ``file not found``, ``permission denied``."""
    try:
        if path.is_dir():
            raise ImageError(f"{name}: is a folder, not {what}")
        return path.stat()
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found; check the path") from None
    except PermissionError:
        raise ImageError(f"{name}: permission denied; check the file's permissions") from None
    except OSError as e:
        raise ImageError(f"{name}: cannot read file ({e.strerror or e})") from None


def hidden_beside(dest: Path, suffix: str = ".tmp") -> Path:
    """A new hidden name in ``dest``'s folder, short so that it fits any filesystem."""
    return dest.with_name(f".impasto-{secrets.token_hex(4)}{suffix}")


def write_atomic(dest: str | os.PathLike, data: bytes | Writer) -> None:
    """Write ``data`` (bytes, or a function that writes into the open file) to a hidden file
    beside ``dest``, fsync, rename; remove the hidden file on any error.

    The file is whole or absent, even after a kill. ImageError naming ``dest`` when the
    system refuses (a full disk says so)."""
    dest = Path(dest)
    tmp = hidden_beside(dest)
    try:
        # os.open with 0o666 lets the umask decide permissions, as for any new file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise cannot_write(dest, e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                data(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise cannot_write(dest, e) from None
        raise


def write_synced(path: Path, data: bytes) -> None:
    """Write a file that is not in place yet (inside a folder ``replace_folder`` moves)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def sync(path: Path) -> None:
    """Flush a file another library wrote (FFmpeg) to the disk before it is renamed."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def replace_folder(tmp: Path, dest: Path) -> None:
    """Rename the finished folder ``tmp`` into place; an old one is moved aside, then
    deleted."""
    if not dest.exists():
        os.replace(tmp, dest)
        return
    old = hidden_beside(dest, ".old")
    os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        os.replace(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)


def lock(fd: int, *, blocking: bool) -> bool:
    """Lock ``fd`` exclusively (POSIX flock); False if another process holds it (only when
    not ``blocking``). Without flock (Windows) every lock is granted."""
    try:
        import fcntl
    except ImportError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (made if need be), shared by every process
    on this machine, while inside; closing the file releases it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        lock(fd, blocking=True)
        yield
    finally:
        os.close(fd)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks so large weights never sit in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
