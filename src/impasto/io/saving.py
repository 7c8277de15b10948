"""Write pictures: check an output path before a long run, encode in memory, save atomically.

Every failure a user can cause (a bad output path, an unwritable folder, a full disk) raises
`ImageError` with one line that names the file. 16-bit PNG and TIFF are ``wide.py``'s.
"""

from __future__ import annotations

import os
import secrets
from io import BytesIO
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..errors import ImageError
from ..files import os_error_words, write_atomic
from .wide import png16_bytes, tiff16_bytes

SAVE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".webp": "WEBP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")


def _error(name: str, problem: str) -> ImageError:
    return ImageError(f"{name}: {problem}")


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
        return png16_bytes(pixels) if fmt == "PNG" else tiff16_bytes(pixels)
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


def to_pil(rgb: torch.Tensor, alpha: torch.Tensor | None = None) -> Image.Image:
    """(3, H, W) in 0..1, with an optional (1, H, W) alpha, as an 8-bit RGB(A) Pillow image."""
    return Image.fromarray(_to_integers(rgb, alpha, 8))
