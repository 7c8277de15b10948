"""Tests for impasto.image: real files in, clear one-line errors out, lossless where promised."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import DATA, EXAMPLES
from impasto.errors import ImageError
from impasto.io import wide
from impasto.io.images import (
    MAX_PIXELS,
    LoadedImage,
    check_output_path,
    list_images,
    load_image,
    save_image,
)
from impasto.ops.resize import resize_long_side, resize_to

RNG = np.random.default_rng(1234)


# ------------------------------------------------------------------------------- helpers


def expect_error(path: Path | str, fragment: str, call, *args, **kwargs) -> str:
    """The call raises ImageError: one line, starting with the path as given, saying fragment."""
    with pytest.raises(ImageError) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    assert fragment in message, message
    return message


def random_rgb(height: int = 12, width: int = 17, mode: str = "RGB") -> Image.Image:
    channels = len(mode)
    return Image.fromarray(RNG.integers(0, 256, (height, width, channels), dtype=np.uint8), mode)


def as_uint(tensor: torch.Tensor, bits: int = 8) -> np.ndarray:
    """(C, H, W) floats in 0..1 -> (H, W, C) integers, for comparing with Pillow arrays."""
    top = 2**bits - 1
    values = np.rint(tensor.permute(1, 2, 0).numpy() * top)
    return values.astype(np.uint16 if bits == 16 else np.uint8)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size its (empty) data does not hold."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def png16_all_filters(samples: np.ndarray, colour_type: int) -> bytes:
    """16-bit PNG using every PNG row filter in turn (as other tools write them)."""
    height, width, channels = samples.shape
    step = 2 * channels
    rows = samples.astype(">u2").view(np.uint8).reshape(height, -1).astype(int)
    out = bytearray()
    prev = np.zeros(rows.shape[1], int)
    for y, row in enumerate(rows):
        kind = y % 5
        out.append(kind)
        for x in range(row.size):
            a = row[x - step] if x >= step else 0
            b, c = prev[x], (prev[x - step] if x >= step else 0)
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            out.append((row[x] - [0, a, b, (a + b) // 2, paeth][kind]) & 255)
        prev = row
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(bytes(out)))
        + png_chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- shared files


@pytest.mark.parametrize("name", ["camera.png", "chessboard_GRAY.png"])
def test_grey_files_become_three_equal_channels(name: str) -> None:
    loaded = load_image(DATA / name)
    with Image.open(DATA / name) as im:
        expected = np.asarray(im.convert("L"))
    assert loaded.rgb.shape == (3, *expected.shape)
    assert loaded.rgb.dtype == torch.float32
    assert loaded.alpha is None and loaded.bits == 8
    assert torch.equal(loaded.rgb[0], loaded.rgb[2])
    assert np.array_equal(as_uint(loaded.rgb[:1])[..., 0], expected)


def test_animated_gif_gives_first_frame() -> None:
    path = DATA / "no_time_for_that_tiny.gif"
    loaded = load_image(path)
    with Image.open(path) as im:
        assert im.n_frames > 1
        first = np.asarray(im.convert("RGB"))
    assert loaded.rgb.shape == (3, 25, 14)
    assert np.array_equal(as_uint(loaded.rgb), first)


def test_float64_multipage_tiff_is_a_clear_error() -> None:
    # Written by tifffile: 2 pages of 10x10 planar RGB, 64-bit IEEE floats, which Pillow
    # has no mode for ("cannot identify image file").
    path = DATA / "multipage_rgb.tif"
    message = expect_error(path, "64-bit floating-point", load_image, path)
    assert "convert it" in message


def test_content_images_load_and_list() -> None:
    found = list_images(EXAMPLES)
    assert [p.name for p in found] == sorted(p.name for p in found)
    assert {p.suffix for p in found} <= {".jpg", ".png"} and len(found) >= 5
    for path in found:
        loaded = load_image(path)
        assert loaded.rgb.shape[0] == 3 and loaded.rgb.shape[1] > 100
        assert 0.0 <= loaded.rgb.min() and loaded.rgb.max() <= 1.0
        assert loaded.path == path


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("suffix", "options", "exact"),
    [
        (".png", {}, True),
        (".bmp", {}, True),
        (".tif", {}, True),
        (".webp", {"lossless": True}, True),
        (".jpg", {"quality": 95}, False),
    ],
)
def test_read_each_format(tmp_path: Path, suffix: str, options: dict, exact: bool) -> None:
    source = random_rgb() if exact else Image.new("RGB", (17, 12), (200, 40, 90))
    path = tmp_path / f"pic{suffix}"
    source.save(path, **options)
    loaded = load_image(path)
    assert isinstance(loaded, LoadedImage)
    assert loaded.rgb.shape == (3, 12, 17) and loaded.bits == 8 and loaded.alpha is None
    got = as_uint(loaded.rgb).astype(int)
    want = np.asarray(source).astype(int)
    assert np.array_equal(got, want) if exact else np.abs(got - want).max() <= 3


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:5, :5] = (255, 0, 0)  # red top-left corner as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "phone.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.rgb.shape == (3, 40, 20)
    assert loaded.rgb[0, 0, -1] > 0.8 and loaded.rgb[0, 0, 0] < 0.2  # now top-right


def test_palette_with_transparency_gives_alpha(tmp_path: Path) -> None:
    im = Image.new("P", (6, 4), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    im.putpixel((0, 0), 0)
    path = tmp_path / "pal.png"
    im.save(path, transparency=0)
    loaded = load_image(path)
    assert loaded.alpha is not None and loaded.alpha.shape == (1, 4, 6)
    assert loaded.alpha[0, 0, 0] == 0.0 and loaded.alpha[0, 1, 1] == 1.0
    assert loaded.rgb[:, 1, 1].tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize(("mode", "key"), [("L", 7), ("RGB", (9, 9, 9))])
def test_colour_key_transparency_gives_alpha(tmp_path: Path, mode: str, key) -> None:
    im = Image.new(mode, (4, 3), 50 if mode == "L" else (1, 2, 3))
    im.putpixel((0, 0), key)
    path = tmp_path / "key.png"
    im.save(path, transparency=key)
    alpha = load_image(path).alpha
    assert alpha is not None and alpha[0, 0, 0] == 0.0 and alpha[0, 2, 3] == 1.0


def test_palette_without_transparency_has_no_alpha(tmp_path: Path) -> None:
    path = tmp_path / "pal.gif"
    random_rgb().convert("P").save(path)
    assert load_image(path).alpha is None


def test_grey_with_alpha(tmp_path: Path) -> None:
    grey = RNG.integers(0, 256, (5, 7), dtype=np.uint8)
    alpha = RNG.integers(0, 255, (5, 7), dtype=np.uint8)
    path = tmp_path / "la.png"
    Image.fromarray(np.stack([grey, alpha], -1), "LA").save(path)
    loaded = load_image(path)
    assert np.array_equal(as_uint(loaded.rgb)[..., 1], grey)
    assert np.array_equal(as_uint(loaded.alpha)[..., 0], alpha)


def test_fully_opaque_alpha_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "opaque.png"
    random_rgb().convert("RGBA").save(path)
    assert load_image(path).alpha is None


def test_cmyk_and_bilevel(tmp_path: Path) -> None:
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 6), (0, 255, 255, 0)).save(cmyk, quality=95)
    red = load_image(cmyk).rgb[:, 3, 4]
    assert red[0] > 0.9 and red[1] < 0.1 and red[2] < 0.1
    bilevel = tmp_path / "one.tif"
    Image.new("1", (8, 6), 1).save(bilevel)
    assert load_image(bilevel).rgb.min() == 1.0


def test_16bit_grey_png_is_read_without_loss(tmp_path: Path) -> None:
    values = RNG.integers(0, 65536, (9, 11), dtype=np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    loaded = load_image(path)
    assert loaded.bits == 16
    assert np.array_equal(as_uint(loaded.rgb, 16)[..., 0], values)


def test_float_grey_tiff(tmp_path: Path) -> None:
    values = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "float.tif"
    Image.fromarray(values, "F").save(path)
    loaded = load_image(path)
    assert torch.allclose(loaded.rgb[0], torch.from_numpy(values), atol=1e-4)


@pytest.mark.parametrize(("channels", "colour_type"), [(3, 2), (4, 6), (2, 4)])
def test_16bit_png_from_other_tools_is_lossless(
    tmp_path: Path, channels: int, colour_type: int
) -> None:
    """Pillow alone would keep only the high byte of 16-bit colour; every row filter is used."""
    samples = RNG.integers(0, 65536, (10, 7, channels), dtype=np.uint16)
    samples[..., -1] |= 0 if channels == 3 else 1  # never fully opaque, so alpha is kept
    samples[0, 0, -1] = 0
    path = tmp_path / "deep.png"
    path.write_bytes(png16_all_filters(samples, colour_type))
    loaded = load_image(path)
    assert loaded.bits == 16
    planes = loaded.rgb if loaded.alpha is None else torch.cat([loaded.rgb, loaded.alpha])
    if channels == 2:
        planes = planes[[0, 3]]
    assert np.array_equal(as_uint(planes, 16), samples)


# --------------------------------------------------------------------------- read errors


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jpg"
    expect_error(path, "not found", load_image, path)


def test_directory(tmp_path: Path) -> None:
    expect_error(tmp_path, "folder", load_image, tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    expect_error(path, "empty file", load_image, path)


def test_text_file_named_png(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n" * 20)
    expect_error(path, "not an image file", load_image, str(path))


def test_relative_path_is_reported_as_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("tubingen.jpg").write_bytes(b"\xff\xd8\xff" + b"garbage" * 10)
    expect_error("tubingen.jpg", "corrupt JPEG", load_image, "tubingen.jpg")


def test_heic_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "IMG_0001.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(40))
    expect_error(path, "export it as JPEG or PNG", load_image, path)


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_truncated_file(tmp_path: Path, suffix: str) -> None:
    whole = tmp_path / f"whole{suffix}"
    random_rgb(64, 64).save(whole)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    expect_error(cut, "truncated or corrupt", load_image, cut)


def test_zero_size_header(tmp_path: Path) -> None:
    path = tmp_path / "zero.png"
    path.write_bytes(png_header_only(0, 5))
    expect_error(path, "zero size", load_image, path)


def test_max_pixels_is_checked_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    random_rgb(4, 4).save(path)
    expect_error(path, "too large", load_image, path, max_pixels=10)
    assert load_image(path, max_pixels=16).rgb.shape == (3, 4, 4)


@pytest.mark.parametrize("size", [(12_000, 9_000), (100_000, 100_000)])
def test_bomb_header_is_refused(tmp_path: Path, size: tuple[int, int]) -> None:
    """Over our limit; the second is over Pillow's own hard limit too."""
    assert size[0] * size[1] > MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(*size))
    expect_error(path, "too large", load_image, path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads all")
def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "locked.png"
    random_rgb().save(path)
    path.chmod(0)
    expect_error(path, "permission denied", load_image, path)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff", ".webp"])
def test_save_lossless_round_trip_with_alpha(tmp_path: Path, suffix: str) -> None:
    generator = torch.Generator().manual_seed(7)
    rgb = torch.rand(3, 9, 13, generator=generator)
    alpha = torch.rand(1, 9, 13, generator=generator)
    path = tmp_path / f"out{suffix}"
    quality = 100 if suffix == ".webp" else 95  # quality 100 selects lossless WebP
    assert save_image(path, rgb, alpha, quality=quality) == path
    loaded = load_image(path)
    assert loaded.alpha is not None
    assert np.array_equal(as_uint(loaded.rgb), as_uint(rgb))
    assert np.array_equal(as_uint(loaded.alpha), as_uint(alpha))


def test_lossy_webp_keeps_alpha(tmp_path: Path) -> None:
    path = tmp_path / "out.webp"
    alpha = torch.zeros(1, 8, 8)
    alpha[:, :, 4:] = 1.0
    save_image(path, torch.full((3, 8, 8), 0.5), alpha, quality=80)
    loaded = load_image(path)
    assert loaded.alpha is not None
    assert loaded.alpha[0, :, :4].max() < 0.05 and loaded.alpha[0, :, 4:].min() > 0.95


@pytest.mark.parametrize("suffix", [".jpg", ".jpeg"])
def test_save_jpeg_drops_alpha(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out{suffix}"
    save_image(path, torch.full((3, 8, 8), 0.25), torch.zeros(1, 8, 8), quality=90)
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.mode == "RGB"
    assert torch.allclose(load_image(path).rgb, torch.full((3, 8, 8), 0.25), atol=2 / 255)


def test_save_rounds_and_clamps(tmp_path: Path) -> None:
    rgb = torch.tensor([[[10.6 / 255, 10.4 / 255, -0.5, 1.5, float("nan")]]]).expand(3, 1, 5)
    path = tmp_path / "round.png"
    save_image(path, rgb)
    with Image.open(path) as im:
        assert np.asarray(im)[0, :, 0].tolist() == [11, 10, 0, 255, 0]


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_save_16bit_is_lossless(tmp_path: Path, suffix: str, with_alpha: bool) -> None:
    values = RNG.integers(0, 65536, (4, 70, 9), dtype=np.uint16)
    values[3, 0, 0] = 0  # keep alpha from being fully opaque
    planes = torch.from_numpy(values.astype(np.float32) / 65535)
    rgb, alpha = planes[:3], (planes[3:] if with_alpha else None)
    path = tmp_path / f"deep{suffix}"
    save_image(path, rgb, alpha, bits=16)
    loaded = load_image(path)
    assert loaded.bits == 16 and (loaded.alpha is not None) == with_alpha
    assert np.array_equal(as_uint(loaded.rgb, 16), values[:3].transpose(1, 2, 0))
    if with_alpha:
        assert np.array_equal(as_uint(loaded.alpha, 16)[..., 0], values[3])


def test_uncompressed_16bit_tiff_reads_without_loss(tmp_path: Path) -> None:
    """Uncompressed TIFF takes Pillow's raw decoder, not libtiff: a different byte order path."""
    values = RNG.integers(0, 65536, (5, 6, 3), dtype=np.uint16)
    path = tmp_path / "raw.tif"
    path.write_bytes(wide.tiff16_bytes(values, compress=False))
    assert np.array_equal(as_uint(load_image(path).rgb, 16), values)


@pytest.mark.parametrize("suffix", [".jpg", ".webp"])
def test_16bit_only_for_png_and_tiff(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"deep{suffix}"
    expect_error(path, "16-bit", save_image, path, torch.rand(3, 4, 4), bits=16)
    assert not path.exists()


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "out.bmp"
    message = expect_error(path, "unknown output format", save_image, path, torch.rand(3, 4, 4))
    for suffix in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"):
        assert suffix in message


def test_missing_output_folder(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "out.png"
    message = expect_error(path, "does not exist", save_image, path, torch.rand(3, 4, 4))
    assert str(tmp_path / "no" / "such") in message


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    path.write_bytes(b"precious")
    expect_error(path, "--overwrite", save_image, path, torch.rand(3, 4, 4))
    expect_error(path, "already exists", check_output_path, path)
    assert path.read_bytes() == b"precious"
    save_image(path, torch.rand(3, 4, 4), overwrite=True)
    assert load_image(path).rgb.shape == (3, 4, 4)


def test_output_path_that_is_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "looks_like.png"
    path.mkdir()
    expect_error(path, "is a folder", check_output_path, path, overwrite=True)


def test_check_output_path_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "later.tiff"
    assert check_output_path(str(path), bits=16) == path
    assert list(tmp_path.iterdir()) == []


def test_new_file_gets_normal_permissions(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    save_image(path, torch.rand(3, 4, 4))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def interrupt(*args, **kwargs) -> None:
    raise KeyboardInterrupt


def test_interrupted_save_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    real_save = Image.Image.save

    def save_half_then_interrupt(self, fp, *args, **kwargs) -> None:
        buffer = io.BytesIO()
        real_save(self, buffer, *args, **kwargs)
        fp.write(buffer.getvalue()[:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", save_half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_image(tmp_path / "out.png", torch.rand(3, 32, 32))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bits", [8, 16])
def test_interrupted_overwrite_keeps_the_old_file(tmp_path: Path, monkeypatch, bits: int) -> None:
    path = tmp_path / "out.png"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_image(path, torch.rand(3, 8, 8), bits=bits, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert path.read_bytes() == b"old"


def test_write_failure_is_an_image_error(tmp_path: Path, monkeypatch) -> None:
    def disk_full(*args, **kwargs) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    path = tmp_path / "out.jpg"
    expect_error(path, "no space left on the device", save_image, path, torch.rand(3, 8, 8))
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- resizing


def test_resize_long_side_keeps_aspect_and_range() -> None:
    img = (torch.rand(3, 100, 50) > 0.5).float()  # hard edges make bicubic overshoot
    small = resize_long_side(img, 40)
    assert small.shape == (3, 40, 20)
    big = resize_long_side(img, 300)
    assert big.shape == (3, 300, 150)
    for out in (small, big):
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_resize_handles_batches_and_thin_images() -> None:
    assert resize_long_side(torch.rand(2, 3, 10, 20), 5).shape == (2, 3, 2, 5)
    assert resize_long_side(torch.rand(3, 1000, 2), 10).shape == (3, 10, 1)
    assert resize_to(torch.rand(1, 7, 9), 4, 30).shape == (1, 4, 30)


def test_resize_antialiases_when_shrinking() -> None:
    checker = (torch.arange(64)[:, None] + torch.arange(64)[None, :]) % 2
    out = resize_to(checker.float().expand(3, 64, 64), 8, 8)
    assert torch.allclose(out, torch.full_like(out, 0.5), atol=0.05)


def test_resize_same_size_is_unchanged() -> None:
    img = torch.rand(3, 5, 6)
    assert torch.equal(resize_to(img, 5, 6), img)


def test_resize_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        resize_long_side(torch.rand(3, 4, 4), 0)
    with pytest.raises(ValueError):
        resize_to(torch.rand(4, 4), 2, 2)


# --------------------------------------------------------------------------- folders


def test_list_images_sorted_by_extension(tmp_path: Path) -> None:
    for name in ["b.PNG", "a.jpg", "c.webp", "notes.txt", ".hidden.jpg", "d.tiff"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "c.webp", "d.tiff"]


def test_list_images_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    expect_error(tmp_path, "no image files", list_images, tmp_path)
    missing = tmp_path / "gone"
    expect_error(missing, "not found", list_images, missing)
    expect_error(tmp_path / "notes.txt", "not a folder", list_images, tmp_path / "notes.txt")
