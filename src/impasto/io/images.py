"""Read and write image files as float tensors.

Every failure a user can cause (a missing, corrupt, huge or unsupported file, a bad output
path) raises `ImageError` with one line that names the file, so the CLI can print it as is.
Tensors are channels-first float32 in 0..1: rgb (3, H, W), alpha (1, H, W).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps, TiffImagePlugin, UnidentifiedImageError

from ..config import MAX_PIXELS  # default limit on width x height: larger files are refused
from ..errors import ImageError  # before decoding (bomb guard), as tensors and frames are

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")
SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")

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


def input_source(path: str | os.PathLike) -> Path | bytes:
    """A regular file as its path (a decoder reads what it needs); a pipe, a device or
    standard input (``"-"``) read once, whole, as its bytes: at most ``MAX_STREAM_BYTES``.
    ImageError naming it when it cannot be read."""
    name = str(path)
    file = Path(path)
    if name == STDIN:
        return _read_stream(sys.stdin.buffer, "standard input")
    try:
        if file.is_dir():
            raise _error(name, "is a folder, not an image file")
        info = file.stat()
    except FileNotFoundError:
        raise _error(name, "file not found; check the path") from None
    except PermissionError:
        raise _error(name, "permission denied; check the file's permissions") from None
    except OSError as e:
        raise _error(name, f"cannot read file ({e.strerror or e})") from None
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


def _tile_rawmode(tile: ImageFile._Tile) -> str | None:
    """PNG tiles hold the rawmode itself, TIFF/BMP/JPEG tiles a tuple starting with it."""
    raw = tile.args if isinstance(tile.args, str) else (tile.args or (None,))[0]
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


def _with_rawmode(tile: ImageFile._Tile, rawmode: str) -> ImageFile._Tile:
    args = rawmode if isinstance(tile.args, str) else (rawmode, *(tile.args or ())[1:])
    return tile._replace(args=args)


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


# --------------------------------------------------------------------------------- saving


def check_output_path(path: str | os.PathLike, overwrite: bool = False, *, bits: int = 8) -> Path:
    """Fail now, not after a long run, if ``path`` cannot take the result.

    The folder is proven writable by writing (and removing) a small file in it: permission
    bits lie for root and on some filesystems.
    """
    name = str(path)
    dest = Path(path)
    fmt = SAVE_FORMATS.get(dest.suffix.lower())
    if fmt is None:
        supported = " ".join(SAVE_FORMATS)
        raise _error(name, f"unknown output format '{dest.suffix}'; use one of {supported}")
    if bits not in (8, 16):
        raise _error(name, f"bits must be 8 or 16, not {bits}")
    if bits == 16 and fmt not in SIXTEEN_BIT_FORMATS:
        raise _error(name, "16-bit output needs .png or .tif/.tiff")
    folder = dest.parent
    if folder.exists() and not folder.is_dir():
        raise _error(name, f"'{folder}' is a file, not a folder")
    if not folder.is_dir():
        raise _error(name, f"output folder '{folder}' does not exist; create it first")
    limit = name_max(folder)
    if len(dest.name.encode()) > limit:
        raise _error(
            name, f"file name is {len(dest.name.encode())} bytes, longer than the {limit} "
            "this filesystem allows; choose a shorter name",
        )  # fmt: skip
    if dest.is_dir():
        raise _error(name, "is a folder; give a file name")
    if dest.exists() and not overwrite:
        raise _error(name, "already exists; pass --overwrite to replace it")
    probe_write(folder, name)
    return dest


def name_max(folder: Path) -> int:
    """The longest file name (in bytes) the filesystem of ``folder`` takes."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):
        return 255


def probe_write(folder: Path, name: str) -> None:
    """Prove ``folder`` writable by writing a file there: permission bits lie for root and on
    some filesystems. ImageError naming ``name`` if not."""
    probe = folder / f".impasto-probe-{secrets.token_hex(4)}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise _error(
            name, f"output folder '{folder}' is not writable ({os_error_words(e)})"
        ) from None


def os_error_words(e: OSError) -> str:
    """What an OSError says, in the words of a one-line error ("no space left on the
    device")."""
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    return e.strerror or str(e)


def encode_image(
    rgb: torch.Tensor,
    alpha: torch.Tensor | None = None,
    *,
    fmt: str = "PNG",
    quality: int = 95,
    bits: int = 8,
) -> bytes:
    """The file's bytes, encoded in memory (so an encoder never meets a full disk)."""
    if fmt == "JPEG":
        alpha = None  # JPEG has no alpha channel
    pixels = _to_integers(rgb, alpha, bits)
    if bits == 16:
        return _png16_bytes(pixels) if fmt == "PNG" else _tiff16_bytes(pixels)
    buffer = BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **_save_options(fmt, quality))
    return buffer.getvalue()


def save_image(
    path: str | os.PathLike,
    rgb: torch.Tensor,
    alpha: torch.Tensor | None = None,
    *,
    quality: int = 95,
    bits: int = 8,
    overwrite: bool = False,
) -> Path:
    """Write atomically: the file appears complete or not at all, even on Ctrl-C."""
    dest = check_output_path(path, overwrite, bits=bits)
    if not 1 <= quality <= 100:
        raise _error(str(path), f"quality must be between 1 and 100, not {quality}")
    fmt = SAVE_FORMATS[dest.suffix.lower()]
    data = encode_image(rgb, alpha, fmt=fmt, quality=quality, bits=bits)
    write_atomic(dest, data)
    return dest


def _to_integers(rgb: torch.Tensor, alpha: torch.Tensor | None, bits: int) -> np.ndarray:
    """(3, H, W) [+ (1, H, W)] floats -> (H, W, 3 or 4) uint8/uint16, clamped and rounded."""
    rgb = rgb.squeeze(0) if rgb.dim() == 4 else rgb
    if rgb.dim() != 3 or rgb.shape[0] != 3:
        raise ValueError(f"rgb must have shape (3, H, W), got {tuple(rgb.shape)}")
    planes = rgb
    if alpha is not None:
        alpha = alpha.reshape(1, *alpha.shape[-2:])
        if alpha.shape[-2:] != rgb.shape[-2:]:
            raise ValueError(f"alpha {tuple(alpha.shape)} does not match rgb {tuple(rgb.shape)}")
        planes = torch.cat([rgb, alpha.to(rgb.dtype)])
    top = 2**bits - 1
    values = torch.nan_to_num(planes.detach().float().cpu(), nan=0.0).clamp(0, 1) * top
    dtype = np.uint16 if bits == 16 else np.uint8
    return np.ascontiguousarray(values.round().permute(1, 2, 0).numpy().astype(dtype))


def _save_options(fmt: str, quality: int) -> dict:
    if fmt == "JPEG":  # full-resolution colour: painted detail suffers from 4:2:0
        return {"quality": quality, "subsampling": 0 if quality >= 90 else 2}
    if fmt == "WEBP":  # quality 100 means "keep every pixel": WebP's lossless mode
        # exact: keep the colour under transparent pixels, so lossless really is lossless
        return {"quality": quality, "lossless": quality == 100, "exact": quality == 100}
    if fmt == "TIFF":
        return {"compression": "tiff_adobe_deflate"}
    return {}


def write_atomic(dest: Path, data: bytes) -> None:
    """Write to a hidden temp file beside dest, fsync, rename; remove the temp on any error.

    The file is whole or absent, even after a kill. ImageError naming ``dest`` when the
    system refuses (a full disk says so)."""
    name = str(dest)
    tmp = dest.with_name(f".impasto-{secrets.token_hex(4)}.tmp")  # short: any name fits
    try:
        # os.open with 0o666 lets the umask decide permissions, as for any new file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise _error(name, f"cannot write ({os_error_words(e)})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise _error(name, f"cannot write ({os_error_words(e)})") from None
        raise


def _png16_bytes(pixels: np.ndarray) -> bytes:
    """16-bit RGB(A) PNG: Pillow cannot write one, but the format is only a few chunks."""
    height, width, channels = pixels.shape
    rows = pixels.astype(">u2").view(np.uint8).reshape(height, -1)
    step = 2 * channels
    filtered = rows.copy()
    filtered[:, step:] -= rows[:, :-step]  # filter 1 ("Sub"): wraps modulo 256 as PNG wants
    scanlines = np.hstack([np.ones((height, 1), np.uint8), filtered]).tobytes()
    colour_type = 6 if channels == 4 else 2
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(scanlines, 6)),
            _png_chunk(b"IEND", b""),
        ]
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _tiff16_bytes(pixels: np.ndarray, *, compress: bool = True) -> bytes:
    """16-bit RGB(A) little-endian TIFF, deflate with horizontal predictor, 64-row strips."""
    height, width, channels = pixels.shape
    samples = pixels.astype("<u2")
    if compress:  # predictor 2: each sample stored as the difference from its left neighbour
        samples[:, 1:] -= pixels[:, :-1].astype("<u2")
    strips = [samples[y : y + 64].tobytes() for y in range(0, height, 64)]
    if compress:
        strips = [zlib.compress(s, 6) for s in strips]
    offsets = np.cumsum([8] + [len(s) for s in strips[:-1]]).tolist()
    tags = [
        (256, 4, [width]),
        (257, 4, [height]),
        (258, 3, [16] * channels),
        (259, 3, [8 if compress else 1]),
        (262, 3, [2]),  # RGB
        (273, 4, offsets),
        (277, 3, [channels]),
        (278, 4, [64]),
        (279, 4, [len(s) for s in strips]),
        (284, 3, [1]),  # interleaved samples
        (317, 3, [2 if compress else 1]),
    ]
    if channels == 4:
        tags.append((338, 3, [2]))  # the fourth sample is unassociated alpha
    return _tiff_file(b"".join(strips), tags)


def _tiff_file(data: bytes, tags: list[tuple[int, int, list[int]]]) -> bytes:
    """Header, image data at offset 8, long tag values, then the one directory (IFD)."""
    extra = b""
    entries = b""
    base = 8 + len(data) + len(data) % 2
    for tag, kind, values in tags:
        packed = struct.pack(f"<{len(values)}{'H' if kind == 3 else 'I'}", *values)
        if len(packed) <= 4:
            field = packed.ljust(4, b"\0")
        else:
            field = struct.pack("<I", base + len(extra))
            extra += packed + b"\0" * (len(packed) % 2)
        entries += struct.pack("<HHI", tag, kind, len(values)) + field
    ifd_offset = base + len(extra)
    directory = struct.pack("<H", len(tags)) + entries + struct.pack("<I", 0)
    padding = b"\0" * (len(data) % 2)
    return b"II*\x00" + struct.pack("<I", ifd_offset) + data + padding + extra + directory


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
