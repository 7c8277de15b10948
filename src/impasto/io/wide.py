"""16-bit PNG and TIFF, encoded by hand: Pillow cannot write 16 bits a channel in colour,
but each format is only a few chunks (PNG) or a header and one directory (TIFF)."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def png16_bytes(pixels: np.ndarray) -> bytes:
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


def tiff16_bytes(pixels: np.ndarray, *, compress: bool = True) -> bytes:
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
