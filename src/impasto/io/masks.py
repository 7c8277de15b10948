"""Region masks from image files: where each style goes, and where the picture stays the photo.

``load_masks`` turns what a user draws into the (R, H, W) masks ``stylize(masks=...)`` takes:

* **one greyscale file**: white is styled (the blend of all styles), black keeps the content,
  grey is in between; R = 1.
* **one colour map**: each pixel goes to the nearest colour of ``PALETTE`` (style 1 red,
  2 green, 3 blue, 4 yellow, 5 cyan, 6 magenta) or of ``UNSTYLED`` (black, white: the content
  is kept), so antialiased or JPEG-compressed maps work; R = the number of styles.
* **several greyscale files**: one per style image, in the same order; R = their number.

Transparent pixels count as black (unstyled). The masks are then blurred a little (a Gaussian
with sigma ``SOFTNESS`` of the long side) so that regions meet softly, and scaled down wherever
they sum to more than 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from ..errors import ConfigError, ImageError, PaintsNowhere
from ..ops.masks import ASPECT_TOLERANCE, SOFTNESS, colour_labels, is_greyscale, normalise, soften
from .images import LoadedImage
from .sources import Sources

PathLike = str | os.PathLike


def load_masks(
    paths: PathLike | Sequence[PathLike],
    n_styles: int,
    size_hw: tuple[int, int],
    *,
    softness: float = SOFTNESS,
    sources: Sources | None = None,
) -> torch.Tensor:
    """Masks (R, H, W) in 0..1 at ``size_hw`` (the content's size) from mask files.

    One greyscale file gives R = 1 (the blend of all styles); one colour map or one greyscale
    file per style gives R = ``n_styles``. Raises ``ImageError`` (naming the file) for a file
    that cannot be read or has the wrong shape, ``ConfigError`` for the wrong number of files
    or of colours. ``sources``: the job's (``io.sources``), so that each file is read
    once.
    """
    paths = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    if n_styles < 1:
        raise ConfigError("at least one style image is needed")
    check_count(len(paths), n_styles)
    height, width = size_hw
    planes = []
    sources = sources or Sources()
    for path in paths:
        rgb = _read(sources.load(path), path, size_hw)
        if is_greyscale(rgb):
            planes.append(rgb.mean(0, keepdim=True))
        elif len(paths) > 1:
            raise ImageError(
                f"{path}: a colour map must be the only mask file; with one mask per style "
                "image, each must be greyscale (white: styled, black: unstyled)"
            )
        else:
            planes.append(colour_labels(rgb, n_styles, str(path)))
    masks = torch.cat(planes)
    if not bool(masks.gt(0).any()):
        named = str(paths[0]) if len(paths) == 1 else "the masks"
        raise PaintsNowhere(
            f"{named}: black everywhere, so nothing would be painted: white (or a painting's "
            "colour in a colour map) marks where to paint"
        )
    masks = soften(masks, softness * max(height, width), (height, width))
    return normalise(masks)


def check_count(n_files: int, n_styles: int) -> None:
    """One mask file, or one per style image; else ``ConfigError``."""
    if n_files == 0:
        raise ConfigError("no mask file given")
    if n_files > 1 and n_files != n_styles:
        raise ConfigError(
            f"{n_files} mask files given for {n_styles} style image"
            f"{'s' if n_styles > 1 else ''}; give one mask file, or one greyscale mask per "
            "style image"
        )


def _read(loaded: LoadedImage, path: PathLike, size_hw: tuple[int, int]) -> torch.Tensor:
    """The file's colour (3, h, w), transparent pixels black, checked against the content."""
    rgb = loaded.rgb if loaded.alpha is None else loaded.rgb * loaded.alpha
    h, w = rgb.shape[-2:]
    height, width = size_hw
    if abs((w / h) / (width / height) - 1) > ASPECT_TOLERANCE:
        raise ImageError(
            f"{path}: the mask is {w}x{h} but the content is {width}x{height}; a mask must "
            "have the content's shape (the same aspect ratio)"
        )
    return rgb
