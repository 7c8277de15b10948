"""``impasto.paint``: pictures in, a picture out, in one call, for a notebook.

Files, Pillow images or tensors in; a Pillow image out (RGBA when the content has alpha),
which a notebook shows as it is. Like ``stylize`` it changes nothing outside its result.

    import impasto
    impasto.paint("photo.jpg", "starry_night.jpg", size=256)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import torch
from PIL import Image

from ..config import StyleConfig
from ..engine.progress import CancelToken, ProgressCallback
from ..engine.pyramid import as_config, stylize
from ..errors import ConfigError
from ..io import images
from ..io import masks as mask_files
from ..io.sources import Sources
from ..network.vgg import VGGFeatures
from .picture import fit_alpha

Picture = str | os.PathLike | Image.Image | torch.Tensor
"""A file's path, a Pillow image, or a (3, H, W) tensor in 0..1 (what ``stylize`` takes)."""


def paint(
    content: Picture,
    styles: Picture | Sequence[Picture],
    config: StyleConfig | None = None,
    *,
    masks: torch.Tensor | str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    init: Picture | None = None,
    network: VGGFeatures | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    **settings: Any,
) -> Image.Image:
    """Paint ``content`` in the style of ``styles`` and return the picture as a Pillow image.

    ``settings`` change the config's fields by name (``size=256, strength=0.5``); ``masks``
    are mask files (read as ``--mask`` reads them) or a tensor; the rest is as for
    ``stylize``, which this calls. The content's alpha (if any) comes back with it.
    """
    try:
        config = dataclasses.replace(as_config(config or StyleConfig()), **settings)
    except TypeError as e:  # a name StyleConfig does not have
        raise ConfigError(f"paint: {e}") from None
    sources = Sources()  # a pipe named twice (a content that is also a style) is read once
    rgb, alpha = _picture(content, sources)
    given: Sequence[Picture] = styles if isinstance(styles, (list, tuple)) else [styles]  # type: ignore[list-item]
    style_list = [_picture(s, sources)[0] for s in given]
    if masks is not None and not isinstance(masks, torch.Tensor):
        hw = (int(rgb.shape[-2]), int(rgb.shape[-1]))
        masks = mask_files.load_masks(masks, len(style_list), hw, sources=sources)
    start = None if init is None else _picture(init, sources)[0]
    picture = stylize(
        rgb, style_list, config, network=network, init_image=start, masks=masks,
        progress=progress, cancel=cancel,
    )  # fmt: skip
    return images.to_pil(picture, fit_alpha(alpha, picture))


def _picture(value: Picture, sources: Sources) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(value, Image.Image):
        return images.from_pil(value)
    if isinstance(value, (str, os.PathLike)):
        loaded = sources.load(value)
        return loaded.rgb, loaded.alpha
    return value, None  # a tensor (or an array): stylize checks it
