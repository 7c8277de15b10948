"""Weights in other layouts -> impasto's canonical state dict.

Every network ends up as a plain ``dict[str, torch.Tensor]`` with keys ``conv{block}_{i}.weight``
(out, in, 3, 3) and ``conv{block}_{i}.bias`` (out,), float32 and contiguous, in the channel order
of the network's own input convention (HED expects BGR; nothing is flipped here). Shapes are
checked against ``layers.conv_shapes``; values must be finite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from ..errors import WeightsError, first_line
from .layers import ARCH_TITLES, BLOCKS, conv_shapes
from .registry import network_for


def torchvision_keys(arch: str) -> dict[str, str]:
    """Canonical key -> torchvision key: each conv is followed by a ReLU, each block by a pool."""
    keys: dict[str, str] = {}
    index = 0
    for block, convs in enumerate(BLOCKS[arch], start=1):
        for i in range(1, convs + 1):
            for kind in ("weight", "bias"):
                keys[f"conv{block}_{i}.{kind}"] = f"features.{index}.{kind}"
            index += 2
        index += 1
    return keys


def _tensor(value: Any) -> torch.Tensor:
    """A float32, contiguous copy that shares nothing with the file it came from."""
    return value.detach().to(torch.float32, copy=True).contiguous()


def _mismatch(state: Mapping[str, Any], wanted: Mapping[str, tuple[int, ...]]) -> str | None:
    """Why ``state`` does not hold ``wanted`` (first problem only), or None if it does."""
    for key, shape in wanted.items():
        value = state.get(key)
        if not isinstance(value, torch.Tensor):
            found = sum(isinstance(v, torch.Tensor) for v in state.values())
            return f"missing {key}; found {found} tensors"
        if tuple(value.shape) != shape:
            return f"{key} has shape {tuple(value.shape)}, expected {shape}"
        if not value.is_floating_point():
            return f"{key} has dtype {value.dtype}, expected floating point"
        if not bool(torch.isfinite(value).all()):
            return f"{key} holds NaN or infinite values (a corrupt file)"
    return None


def other_arch(state: Mapping[str, Any], arch: str, keymap: Callable[[str], dict]) -> str | None:
    """The other architecture ``state`` matches fully, to turn 'missing key' into a useful hint."""
    for other in BLOCKS:
        wanted = {keymap(other)[k]: s for k, s in conv_shapes(other).items()}
        if other != arch and _mismatch(state, wanted) is None:
            return other
    return None


def _arch_error(origin: str, arch: str, problem: str, other: str | None, layout: str) -> str:
    """One-line message for a state dict that is not the expected architecture."""
    if other is not None:
        return (
            f"{origin}: a {ARCH_TITLES[other]} state dict, not {ARCH_TITLES[arch]}; "
            f"load it as network {network_for(other, 'torchvision')}"
        )
    return f"{origin}: not a {ARCH_TITLES[arch]} state dict in {layout} layout ({problem})"


def from_torchvision(
    state_dict: Mapping[str, torch.Tensor], arch: str, *, origin: str = "state dict"
) -> dict[str, torch.Tensor]:
    """Canonical weights from a torchvision ``vgg16``/``vgg19`` state dict (classifier ignored)."""
    keys = torchvision_keys(arch)
    wanted = {keys[k]: shape for k, shape in conv_shapes(arch).items()}
    problem = _mismatch(state_dict, wanted)
    if problem is not None:
        other = other_arch(state_dict, arch, torchvision_keys)
        raise WeightsError(_arch_error(origin, arch, problem, other, "torchvision"))
    return {key: _tensor(state_dict[tv_key]) for key, tv_key in keys.items()}


def from_canonical(state: Mapping[str, Any], arch: str, *, origin: str) -> dict[str, torch.Tensor]:
    """Validate an already canonical state dict and return clean float32 copies."""
    problem = _mismatch(state, conv_shapes(arch))
    if problem is not None:
        other = other_arch(state, arch, lambda a: {k: k for k in conv_shapes(a)})
        raise WeightsError(_arch_error(origin, arch, problem, other, "impasto"))
    return {key: _tensor(state[key]) for key in conv_shapes(arch)}


def _hed_dataset(block: int, i: int, var: int) -> str:
    """HDF5 path of a HED conv variable: Keras names convs conv2d, conv2d_1, conv2d_2."""
    layer = "conv2d" if i == 1 else f"conv2d_{i - 1}"
    return f"block{block}/layers/{layer}/vars/{var}"


def _read_hed(h5: h5py.File, path: Path) -> dict[str, torch.Tensor]:
    """Read and permute HED kernels (kh, kw, in, out) -> (out, in, kh, kw)."""
    out: dict[str, torch.Tensor] = {}
    for key, shape in conv_shapes("vgg16").items():
        name, kind = key.split(".")
        block, i = (int(n) for n in name[4:].split("_"))
        where = _hed_dataset(block, i, 0 if kind == "weight" else 1)
        dataset = h5.get(where)
        if not isinstance(dataset, h5py.Dataset):
            raise WeightsError(f"{path}: not HED weights (missing {where})")
        array = torch.from_numpy(np.asarray(dataset, dtype=np.float32))
        tensor = array.permute(3, 2, 0, 1) if kind == "weight" else array
        if tuple(tensor.shape) != shape:
            raise WeightsError(f"{path}: {dataset.name} has shape {dataset.shape}, not VGG-16's")
        out[key] = tensor.contiguous()
    return out


def from_hed_h5(path: str | Path) -> dict[str, torch.Tensor]:
    """Canonical VGG-16 weights from HED's Keras ``.weights.h5`` (dsn/fuse heads ignored)."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as h5:
            return _read_hed(h5, path)
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable HDF5 file ({first_line(exc)})") from exc
