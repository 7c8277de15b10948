"""Read image files as float tensors: decoding, EXIF, alpha, 16 bits, pipes, size guards.

Every failure a user can cause (a missing, corrupt, huge or unsupported file) raises
`ImageError` with one line that names the file, so the CLI can print it as is. Tensors are
channels-first float32 in 0..1: rgb (3, H, W), alpha (1, H, W). Writing is ``saving.py``
(its names are here too, so that ``io.images`` is the one place to look).
"""

from __future__ import annotations

import os
import stat
import struct
import sys
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from PIL import Image, ImageOps, TiffImagePlugin, UnidentifiedImageError

from ..errors import ImageError
from ..files import os_error_words, stat_input
from ..ranges import MAX_PIXELS  # width x height: larger files are refused before decoding
from .saving import (
    SAVE_FORMATS,
    SIXTEEN_BIT_FORMATS,
    check_output_path,
    encode_image,
    name_max,
    probe_write,
    save_image,
    to_pil,
)

__all__ = [
    "IMAGE_EXTENSIONS", "MAX_PIXELS", "MAX_STREAM_BYTES", "SAVE_FORMATS", "SIXTEEN_BIT_FORMATS",
    "STDIN", "LoadedImage", "check_output_path", "encode_image", "from_pil", "input_source",
    "list_images", "load_image", "name_max", "probe_write", "read_input", "save_image",
    "to_pil",
]  # fmt: skip

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")

_READABLE = "JPEG, PNG, WebP, TIFF, BMP or GIF"
# Pillow reads 16-bit colour as 8-bit by unpacking only the high byte of each sample. Decoding
# the same file again with the opposite byte order yields the low bytes, so two passes give
# the full 16 bits using Pillow's own PNG/TIFF decoders (filters, compression, interlace).
_NATIVE_SWAP = "B" if sys.byteorder == "little" else "L"
_BYTE_SWAP = {"B": "L", "L": "B", "N": _NATIVE_SWAP}
_WIDE_RAWMODES = ("RGB;16", "RGBA;16", "RGBX;16")
_GREY_ALPHA_16 = "LA;16B"  # 16-bit grey+alpha PNG: decoded as raw bytes in one pass
_MAGIC = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"BM", "BMP"),
    (b"RIFF", "WebP"),
)


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors with == has no single truth
class LoadedImage:
    """A decoded image file, EXIF orientation already applied."""

    rgb: torch.Tensor  # (3, H, W) float32 in 0..1
    alpha: torch.Tensor | None  # (1, H, W) float32 in 0..1; None when fully opaque
    path: Path
    bits: int  # 8 or 16: the precision the file held


def _error(name: str, problem: str) -> ImageError:
    return ImageError(f"{name}: {problem}")


# --------------------------------------------------------------------------------- loading


STDIN = "-"
"""The name that reads an image from standard input."""

MAX_STREAM_BYTES = 1 << 30
"""The most bytes of one input that are read whole: a pipe, a device or standard input, a
manifest, and every input of a batch (its workers get the bytes); more is refused."""


def load_image(
    path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS, source: Path | bytes | None = None
) -> LoadedImage:
    """Decode an image file fully (so corruption surfaces here, not mid-run) into tensors.

    ``path`` may also be a pipe (``<(cat a.png)``, a FIFO) or ``"-"`` for standard input:
    those are read into memory first, since decoding needs to seek. ``source`` is what
    ``input_source(path)`` gave, for a caller that has read the input already (a pipe can be
    read only once).
    """
    name = str(path)
    file = Path(path)
    if source is None:
        source = input_source(path)
    with _open(source, name, max_pixels) as im:
        rawmode = _rawmode(im)
        if rawmode == _GREY_ALPHA_16:
            array, bits = _grey_alpha_16(_decode(im, name, "RGBA")), 16
        elif rawmode is not None and (low := _low_byte_rawmode(rawmode)) is not None:
            high = np.asarray(_decode(im, name))
            with _open(source, name, max_pixels) as again:
                array = _join_bytes(high, np.asarray(_decode(again, name, low)))
            bits = 16
        else:
            array, bits = _to_array(_decode(im, name))
    rgb, alpha = _split_channels(array, bits)
    return LoadedImage(rgb=rgb, alpha=alpha, path=file, bits=bits)


def from_pil(im: Image.Image) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A Pillow image already open (a notebook's) as ``load_image`` reads a file: (rgb, alpha),
    EXIF orientation applied, any mode converted."""
    if not isinstance(im, Image.Image):
        raise ImageError(f"expected a PIL image, got {type(im).__name__}")
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # a broken EXIF block should not cost the picture
        pass
    return _split_channels(*_to_array(im))


def input_source(path: str | os.PathLike) -> Path | bytes:
    """A regular file as its path (a decoder reads what it needs); a pipe, a device or
    standard input (``"-"``) read once, whole, as its bytes: at most ``MAX_STREAM_BYTES``.
    ImageError naming it when it cannot be read."""
    name = str(path)
    file = Path(path)
    if name == STDIN:
        return _read_stream(sys.stdin.buffer, "standard input")
    info = stat_input(file, name, "an image file")
    if stat.S_ISREG(info.st_mode):
        if info.st_size == 0:
            raise _error(name, "empty file (0 bytes)")
        return file
    try:
        with open(file, "rb") as stream:
            return _read_stream(stream, name)
    except OSError as e:
        raise _error(name, f"cannot read ({e.strerror or e})") from None


def read_input(path: str | os.PathLike) -> bytes:
    """The whole of an input as bytes, read once (a pipe or device as ``input_source`` reads
    it); a regular file larger than ``MAX_STREAM_BYTES`` is refused before it is read."""
    source = input_source(path)
    if isinstance(source, bytes):
        return source
    name = str(path)
    try:
        with open(source, "rb") as file:
            if os.fstat(file.fileno()).st_size > MAX_STREAM_BYTES:
                raise _too_big(name)
            return _read_stream(file, name)  # stops at the limit if the file grows meanwhile
    except OSError as e:
        raise _error(name, f"cannot read ({os_error_words(e)})") from None


def _read_stream(stream: BinaryIO, name: str) -> bytes:
    data = stream.read(MAX_STREAM_BYTES + 1)
    if not data:
        raise _error(name, "nothing to read (0 bytes)")
    if len(data) > MAX_STREAM_BYTES:
        raise _too_big(name)
    return data


def _too_big(name: str) -> ImageError:
    return _error(name, f"more than {MAX_STREAM_BYTES >> 20} MB, the limit for one input")


def _open(source: Path | bytes, name: str, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and refuse absurd sizes before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check below is the policy; Pillow's warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(BytesIO(source) if isinstance(source, bytes) else source)
    except Image.DecompressionBombError:
        raise _error(
            name, f"image is too large (over {max_pixels} pixels, the limit); shrink it first"
        ) from None
    except UnidentifiedImageError:
        raise _error(name, _why_unidentified(source)) from None
    except PermissionError:
        raise _error(name, "permission denied; check the file's permissions") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as e:
        raise _error(name, f"corrupt image header ({e})") from None
    width, height = im.size
    if width == 0 or height == 0:
        im.close()
        raise _error(name, f"image has zero size ({width}x{height} pixels)")
    if width * height > max_pixels:
        im.close()
        raise _error(
            name,
            f"image is too large ({width}x{height} = {width * height} pixels, the limit is "
            f"{max_pixels}); shrink it first",
        )
    return im


def _why_unidentified(source: Path | bytes) -> str:
    """Say more than 'cannot identify' for the cases a user can act on."""
    if isinstance(source, bytes):
        head = source[:32]
    else:
        with open(source, "rb") as f:
            head = f.read(32)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        if width == 0 or height == 0:
            return f"image has zero size ({width}x{height} pixels)"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _tiff_problem(source)
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1"):
        return "HEIC/HEIF images cannot be read; export it as JPEG or PNG"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return f"corrupt {kind} file (its header is damaged)"
    return f"not an image file, or a format that cannot be read (use {_READABLE})"


def _tiff_problem(source: Path | bytes) -> str:
    """Name the sample layout of a TIFF Pillow cannot decode (e.g. 64-bit float pages)."""
    try:
        with BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as f:
            ifd = TiffImagePlugin.ImageFileDirectory_v2(f.read(8))
            f.seek(ifd.next)
            ifd.load(f)
        bits = ifd.get(258, (1,))
        kind = {2: "signed integer", 3: "floating-point"}.get(ifd.get(339, (1,))[0], "integer")
    except Exception:  # any parse failure just means the header is damaged
        return "corrupt TIFF header"
    return (
        f"TIFF with {bits[0]}-bit {kind} samples ({len(bits)} a pixel), which cannot be read; "
        "convert it to an 8- or 16-bit PNG or TIFF"
    )


def _rawmode(im: Image.Image) -> str | None:
    """How the file's samples are unpacked, when every tile agrees (None otherwise)."""
    modes = {_tile_rawmode(t) for t in im.tile}  # type: ignore[attr-defined]
    return modes.pop() if len(modes) == 1 else None


def _tile_rawmode(tile: tuple[Any, ...]) -> str | None:
    """PNG tiles hold the rawmode itself, TIFF/BMP/JPEG tiles a tuple starting with it (a
    tile is (decoder, extents, offset, args), a named tuple in newer Pillow)."""
    args = tile[3]
    raw = args if isinstance(args, str) else (args or (None,))[0]
    return raw if isinstance(raw, str) else None


def _low_byte_rawmode(rawmode: str) -> str | None:
    """The rawmode that unpacks the low bytes of 16-bit colour samples, if there is one."""
    if rawmode[:-1] in _WIDE_RAWMODES and rawmode[-1] in _BYTE_SWAP:
        return rawmode[:-1] + _BYTE_SWAP[rawmode[-1]]
    return None


def _decode(im: Image.Image, name: str, rawmode: str | None = None) -> Image.Image:
    """Decode every pixel now (so truncation is caught), optionally with another rawmode."""
    if rawmode is not None:
        im.tile = [_with_rawmode(t, rawmode) for t in im.tile]  # type: ignore[attr-defined]
    try:
        im.load()
    except MemoryError:
        raise _error(name, "not enough memory to decode this image") from None
    except Exception as e:  # Pillow's decoders raise many types for damaged data
        raise _error(name, f"truncated or corrupt image file ({e})") from None
    try:
        return ImageOps.exif_transpose(im)
    except Exception:  # a broken EXIF block should not cost the picture
        return im


def _with_rawmode(tile: tuple[Any, ...], rawmode: str) -> tuple[Any, ...]:
    """The tile with another rawmode; of the same kind (Pillow's named tuple, or a tuple)."""
    old = tile[3]
    args = rawmode if isinstance(old, str) else (rawmode, *(old or ())[1:])
    replace = getattr(tile, "_replace", None)  # a named tuple's public method
    return replace(args=args) if replace is not None else (*tile[:3], args, *tile[4:])


def _join_bytes(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    return high.astype(np.uint16) << 8 | low.astype(np.uint16)


def _grey_alpha_16(raw: Image.Image) -> np.ndarray:
    """Bytes (L hi, L lo, A hi, A lo) of each pixel -> uint16 (H, W, 2)."""
    b = np.asarray(raw).astype(np.uint16)
    return np.stack([b[..., 0] << 8 | b[..., 1], b[..., 2] << 8 | b[..., 3]], axis=-1)


def _to_array(im: Image.Image) -> tuple[np.ndarray, int]:
    """Any Pillow mode -> (H, W, C) array with C in 1..4 and the bits it holds."""
    if im.mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), 16
    if im.mode == "I":
        return np.clip(np.asarray(im), 0, 65535).astype(np.uint16), 16
    if im.mode == "F":
        return _float_to_16(np.asarray(im)), 16
    if "transparency" in im.info or im.mode in ("PA", "RGBa", "La"):
        im = im.convert("RGBA")
    elif im.mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGB")  # 1, P, CMYK, YCbCr, LAB, HSV, RGBX
    return np.asarray(im), 8


def _float_to_16(values: np.ndarray) -> np.ndarray:
    """Float grey has no fixed range: 0..1, 0..255 and 0..65535 all occur in the wild."""
    values = np.nan_to_num(values.astype(np.float64))
    peak = values.max(initial=0.0)
    scale = 65535.0 if peak <= 1.0 else 257.0 if peak <= 255.0 else 1.0
    return np.clip(np.rint(values * scale), 0, 65535).astype(np.uint16)


def _split_channels(array: np.ndarray, bits: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(H, W[, C]) integers -> rgb (3, H, W) and alpha (1, H, W) or None, floats in 0..1."""
    if array.ndim == 2:
        array = array[..., None]
    scaled = torch.from_numpy(array.astype(np.float32)).permute(2, 0, 1) / (2**bits - 1)
    colour, alpha = (scaled[:-1], scaled[-1:]) if array.shape[-1] in (2, 4) else (scaled, None)
    rgb = colour.expand(3, -1, -1) if colour.shape[0] == 1 else colour
    if alpha is not None and bool((alpha >= 1.0).all()):
        alpha = None
    return rgb.contiguous(), None if alpha is None else alpha.contiguous()


# --------------------------------------------------------------------------------- folders


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in `folder`, by extension, sorted; hidden files are skipped."""
    name = str(folder)
    root = Path(folder)
    if not root.exists():
        raise _error(name, "folder not found; check the path")
    if not root.is_dir():
        raise _error(name, "is a file, not a folder")
    try:
        found = [
            p
            for p in root.iterdir()
            if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".") and p.is_file()
        ]
    except PermissionError:
        raise _error(name, "permission denied; check the folder's permissions") from None
    if not found:
        raise _error(name, f"no image files ({' '.join(IMAGE_EXTENSIONS)}) in this folder")
    return sorted(found)
