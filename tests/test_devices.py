"""``--device``: names checked without torch, devices resolved or refused in one line, the
CPU honoured, and every tensor a run makes put on the run's device (checked on the CPU by
watching torch's factories: a GPU run needs no GPU to fail this way).

The tests that need a real GPU are in test_gpu.py (``-m gpu``, benchmarks/device_check.sh).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.overrides import TorchFunctionMode

import impasto
from impasto import devices
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.devices import DeviceMissing
from impasto.engine import calibration
from impasto.errors import ConfigError
from impasto.network import precision

NO_GPU = not torch.cuda.is_available()


def write_png(path: Path, width: int, height: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


# ------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [("auto", "auto"), ("cpu", "cpu"), ("CUDA", "cuda"), ("cuda:1", "cuda:1"), (" mps ", "mps")],
)
def test_device_names_are_checked_and_normalised(name, expected):
    assert devices.check_name(name) == expected
    assert StyleConfig(device=name).device == expected


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "cpu:0", "mps:1", "", None, 0, "xpu"])
def test_other_names_are_refused_in_one_line(name):
    with pytest.raises(ConfigError, match=r"^device must be auto, cpu, cuda, cuda:N or mps"):
        StyleConfig(device=name)


def test_the_default_is_auto():
    assert StyleConfig().device == "auto"


# ------------------------------------------------------------------------------- resolve


def test_cpu_is_the_cpu_even_where_cuda_is_there(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert devices.resolve("cpu") == torch.device("cpu")


def test_auto_takes_cuda_then_mps_then_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(devices, "_mps_available", lambda: True)
    assert devices.resolve("auto") == torch.device("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert devices.resolve("auto") == torch.device("mps")
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    assert devices.resolve("auto") == torch.device("cpu")


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_auto_is_the_cpu_here():
    assert devices.resolve("auto") == torch.device("cpu")


def test_cuda_in_a_torch_without_cuda_says_so(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(DeviceMissing, match=r"device cuda is not available: this torch .* "
                       r"was built without CUDA; install a CUDA build"):  # fmt: skip
        devices.resolve("cuda")


def test_cuda_with_no_gpu_visible_says_so(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceMissing, match=r"device cuda:0 is not available: .* sees no NVIDIA"):
        devices.resolve("cuda:0")


def test_a_gpu_index_beyond_the_machines_is_refused(monkeypatch):
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert devices.resolve("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(DeviceMissing, match=r"cuda:2 is not available: this machine has 2 "
                       r"CUDA GPUs \(cuda:0, cuda:1\)"):  # fmt: skip
        devices.resolve("cuda:2")


def test_mps_where_there_is_none_says_why(monkeypatch):
    monkeypatch.setattr(devices, "_mps_built", lambda: False)
    with pytest.raises(DeviceMissing, match="built without MPS"):
        devices.resolve("mps")
    monkeypatch.setattr(devices, "_mps_built", lambda: True)
    monkeypatch.setattr(devices, "_mps_available", lambda: False)
    with pytest.raises(DeviceMissing, match="MPS needs an Apple Silicon Mac"):
        devices.resolve("mps")


def test_the_cpu_is_described_by_its_model():
    about = devices.about(torch.device("cpu"))
    assert about.describe() == f"cpu ({devices.cpu_model()})"


# ------------------------------------------------------------------------------- precision


@pytest.mark.parametrize(("capability", "expected"), [((8, 0), "bf16"), ((7, 5), "fp32")])
def test_auto_precision_on_a_gpu_follows_its_generation(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    gpu = torch.device("cuda", 0)
    assert precision.resolve("auto", device=gpu) == expected
    assert precision.resolve("fp32", device=gpu) == "fp32"  # as asked, never overruled


def test_auto_precision_on_the_cpu_is_as_before():
    cpu = torch.device("cpu")
    for flags in ({"avx2"}, {"avx512_bf16"}, {"amx_bf16"}):
        assert precision.resolve("auto", flags, device=cpu) == precision.resolve("auto", flags)
    assert precision.resolve("auto", device=torch.device("mps")) == "fp32"


def test_the_speed_store_keeps_gpus_apart_and_the_cpus_key_as_it_was(monkeypatch):
    config = StyleConfig(device="cpu")
    cpu_key = calibration.key(config, threads=2)
    assert cpu_key.split("|")[:2] == [devices.cpu_model(), "2 threads"]
    monkeypatch.setattr(devices, "resolve", lambda name: torch.device("cuda", 0))
    monkeypatch.setattr(
        devices, "about", lambda device: devices.About("cuda:0", "NVIDIA Test 8GB", 8e9)
    )
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 6))
    gpu_key = calibration.key(config, threads=2)
    assert gpu_key.startswith("NVIDIA Test 8GB|cuda|") and gpu_key.split("|")[3] == "bf16"
    assert gpu_key != cpu_key


# ------------------------------------------------------------------------------- the CPU


def test_device_cpu_paints_the_same_picture_as_auto_on_a_cpu(tiny_network):
    if not NO_GPU:
        pytest.skip("auto is a GPU here")
    content, style = torch.rand(3, 40, 48), torch.rand(3, 32, 32)
    common = dict(size=48, iterations=3, min_size=0)
    auto = impasto.stylize(content, style, StyleConfig(**common))
    cpu = impasto.stylize(content, style, StyleConfig(**common, device="cpu"))
    assert torch.equal(auto, cpu) and cpu.device.type == "cpu"


def test_a_network_on_one_device_and_a_config_naming_another_is_refused(tiny_network, monkeypatch):
    net = impasto.load_network(StyleConfig(device="cpu"))
    monkeypatch.setattr(devices, "resolve", lambda name: torch.device("cuda", 0))
    with pytest.raises(ConfigError, match="the network is on cpu but config.device is cuda"):
        impasto.stylize(torch.rand(3, 20, 20), torch.rand(3, 20, 20),
                        StyleConfig(size=20, iterations=1, min_size=0, device="cuda"),
                        network=net)  # fmt: skip


def test_the_cli_honours_device_cpu_and_names_it(tiny_network, tmp_path, capsys):
    content = write_png(tmp_path / "c.png", 40, 30, 0)
    style = write_png(tmp_path / "s.png", 32, 32, 1)
    out = tmp_path / "out.png"
    argv = [content, style, "-o", out, "--size", "40", "--iterations", "2", "--min-size", "0"]
    code = main([str(a) for a in [*argv, "--device", "cpu"]])
    err = capsys.readouterr().err
    assert code == 0 and out.exists()
    assert f"; device cpu ({devices.cpu_model()})" in err, err


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_the_cli_refuses_a_missing_device_before_any_work(tiny_network, tmp_path, capsys, device):
    content = tmp_path / "c.png"
    content.write_bytes(b"not a picture")  # decoding it would be an error of its own
    style = write_png(tmp_path / "s.png", 32, 32, 1)
    out = tmp_path / "out.png"
    code = main([str(content), str(style), "-o", str(out), "--device", device])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1, lines
    assert f"--device {device} is not available" in lines[0], lines
    assert not out.exists() and not tiny_network  # no weights were read


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_explain_refuses_a_missing_device_before_reading_weights(tiny_network, tmp_path, capsys):
    image = write_png(tmp_path / "a.png", 40, 30, 0)
    code = main(["explain", "units", str(image), "--device", "cuda", "-o", str(tmp_path / "u.png")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "cuda is not available" in lines[0], lines
    assert not tiny_network


# ------------------------------------------------------------------------------- factories

# torch's functions that make a tensor from nothing: without ``device=`` they make it on the
# CPU, which a GPU run would then mix with its own (torch's error, deep in a run).
FACTORIES = {
    torch.zeros, torch.ones, torch.full, torch.empty, torch.rand, torch.randn, torch.randint,
    torch.arange, torch.linspace, torch.eye, torch.tensor, torch.as_tensor, torch.from_numpy,
    torch.fft.fftfreq, torch.fft.rfftfreq,
}  # fmt: skip
SOURCE = str(Path(impasto.__file__).parent)
# Made on the CPU on purpose, each with its reason:
ON_PURPOSE = {
    "closure",  # optimise: the cost handed to L-BFGS, which reads it as a Python float
    "__init__",  # VGGFeatures' input constants: buffers, moved with the module by .to()
    "_tensor",  # ops/pictures: a numpy array at the door, moved with the pictures after
}


class _Factories(TorchFunctionMode):
    """Records each tensor impasto's code makes from nothing without naming a device.

    A CPU generator's draw (``generator=``) is allowed: the noise is drawn on the CPU so that
    a seed gives the same start on every device, then moved."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in FACTORIES and "device" not in kwargs and "generator" not in kwargs:
            frame = sys._getframe(1)
            code = frame.f_code
            if code.co_filename.startswith(SOURCE) and code.co_name not in ON_PURPOSE:
                where = code.co_filename.removeprefix(SOURCE)
                self.found.append(f"{where}:{frame.f_lineno} {code.co_name}: {func.__name__}")
        return func(*args, **kwargs)


RUNS = {
    "default": {},
    "noise, adam": {"init": "noise", "optimizer": "adam"},
    "tiled, structure": {"tile": 24, "structure_weight": 30.0},
    "covariance, luminance": {"style_representation": "covariance", "preserve_color": "luminance"},
    "w2, recolor, yuv": {"style_representation": "w2", "init": "recolor", "preserve_color": "yuv"},
    "seed form": {"loss_form": "seed", "precision": "fp32"},
    "strength, histogram": {"strength": 0.5, "preserve_color": "histogram"},
}


def run_inputs(settings: dict, **more) -> tuple:
    """A photo, two paintings, two half-masks (none for the seed form) and the config of a
    short two-scale run with ``settings``."""
    content, styles = torch.rand(3, 40, 52), [torch.rand(3, 32, 32), torch.rand(3, 28, 36)]
    masks = None
    if settings.get("loss_form") != "seed":
        masks = torch.zeros(2, 40, 52)
        masks[0, :, :26], masks[1, :, 26:] = 1, 1
    config = StyleConfig(size=52, iterations=2, min_size=26, **settings, **more)
    return content, styles, masks, config


@pytest.mark.parametrize("settings", RUNS.values(), ids=RUNS.keys())
def test_every_tensor_a_run_makes_names_its_device(tiny_network, settings):
    content, styles, masks, config = run_inputs(settings)
    with _Factories() as watch:
        impasto.stylize(content, styles, config, masks=masks)
    assert watch.found == []


def test_every_tensor_a_clip_frame_and_explain_make_name_their_device(tiny_network):
    from impasto import explain
    from impasto.jobs import frames

    net = explain.network_for(StyleConfig(), ["relu2_1"])
    first, second = torch.rand(3, 24, 32), torch.rand(3, 24, 32)
    with _Factories() as watch:
        frames.carry(first, second, torch.rand(3, 24, 32), torch.rand(1, 24, 32))
        explain.top_patches(net, [first], "relu2_1", n_units=2, per_unit=2, size=32)
        explain.style_matrices(net, first, "relu2_1", max_channels=4, size=32)
        explain.reconstruct_content(net, first, "relu2_1", iterations=2, size=24)
    assert watch.found == []


def test_the_watch_sees_a_tensor_made_without_a_device():
    """The audit above can fail: a factory call from impasto's code without a device is seen."""
    from impasto.engine import optimise

    with _Factories() as watch:
        optimise.SpectralBasis((3, 8, 8), 4.0)  # names its device: nothing
        assert watch.found == []
        code = compile("torch.zeros(3)", str(Path(SOURCE) / "engine" / "made_up.py"), "exec")
        exec(code, {"torch": torch})
    assert watch.found == ["/engine/made_up.py:1 <module>: zeros"]


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_video_refuses_a_missing_device_before_reading_the_clip(tiny_network, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not a video")  # reading it would be an error of its own
    style = write_png(tmp_path / "s.png", 32, 32, 1)
    out = tmp_path / "out.mp4"
    code = main(["video", str(clip), str(style), "-o", str(out), "--device", "cuda"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "--device cuda is not available" in lines[0], lines
    assert not out.exists() and not tiny_network


# ------------------------------------------------------------------------------- mixing

# Ops that may take a tensor of another device: a copy between devices is what they do.
CROSS_DEVICE = {"copy_", "to", "cpu", "new_tensor", "__get__"}


class _Mixing(TorchFunctionMode):
    """A GPU run simulated on the CPU: which tensors would be on the device, and where one
    made elsewhere (a module's constant, a draw from the CPU's generator, a numpy array) would
    meet them in one op, which on a real GPU is torch's "expected all tensors to be on the
    same device" deep inside a run.

    On the device: the run's inputs and the network's weights, and every result of an op with
    a tensor on the device among its arguments, of a factory given ``device=``, or of ``.to``
    a device. 0-dimensional tensors may come from anywhere, as torch allows."""

    def __init__(self, *on_device: torch.Tensor) -> None:
        super().__init__()
        self._device: dict[int, object] = {}
        self.found: list[str] = []
        for tensor in on_device:
            self._mark(tensor)

    def _mark(self, tensor: torch.Tensor) -> None:
        import weakref

        self._device[id(tensor)] = weakref.ref(tensor)

    def _on_device(self, tensor: torch.Tensor) -> bool:
        ref = self._device.get(id(tensor))
        return ref is not None and ref() is tensor  # type: ignore[operator]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        from torch.utils._pytree import tree_flatten

        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        name = getattr(func, "__name__", str(func))
        here = [t for t in tensors if self._on_device(t)]
        elsewhere = [t for t in tensors if not self._on_device(t) and t.dim() > 0]
        if here and elsewhere and name not in CROSS_DEVICE:
            self.found.append(f"{_caller()}: {name}")
        moved = name == "to" and _names_a_device(args[1:], kwargs)
        made_there = func in FACTORIES and "device" in kwargs
        if (here and name != "cpu") or moved or made_there:
            for out in tree_flatten(result)[0]:
                if isinstance(out, torch.Tensor):
                    self._mark(out)
        return result


def _names_a_device(args, kwargs) -> bool:
    values = [*args, kwargs.get("device")]
    return any(isinstance(v, (torch.device, str)) for v in values if v is not None)


def _caller() -> str:
    """The innermost frame of impasto's own code (file:line function)."""
    frame = sys._getframe(2)
    while frame is not None and not frame.f_code.co_filename.startswith(SOURCE):
        frame = frame.f_back
    if frame is None:
        return "?"
    return (
        f"{frame.f_code.co_filename.removeprefix(SOURCE)}:{frame.f_lineno} {frame.f_code.co_name}"
    )


@pytest.mark.parametrize("settings", RUNS.values(), ids=RUNS.keys())
def test_no_tensor_from_elsewhere_meets_the_devices_in_a_run(tiny_network, settings):
    content, styles, masks, config = run_inputs(settings)
    net = impasto.load_network(config)
    weights = [*net.parameters(), *net.buffers()]
    inputs = [content, *styles] + ([] if masks is None else [masks])
    with _Mixing(*inputs, *weights) as watch:
        impasto.stylize(content, styles, config, masks=masks, network=net)
    assert sorted(set(watch.found)) == []


def test_no_tensor_from_elsewhere_meets_the_devices_in_a_clip_frame_or_explain(tiny_network):
    from impasto import explain
    from impasto.cost.temporal import Anchor
    from impasto.engine import budget, pyramid
    from impasto.jobs import frames

    config = StyleConfig(size=32, iterations=2, min_size=0)
    net = impasto.load_network(config)
    first, second, painted = torch.rand(3, 24, 32), torch.rand(3, 24, 32), torch.rand(3, 24, 32)
    style, maturity = torch.rand(3, 32, 32), torch.rand(1, 24, 32)
    weights = [*net.parameters(), *net.buffers()]
    with _Mixing(first, second, painted, style, maturity, *weights) as watch:
        carried = frames.carry(first, second, painted, maturity)
        plan = budget.estimate_run((24, 32), [(32, 32)], config)
        anchor = Anchor(carried.image, carried.hold, 1000.0)
        pyramid.paint(second, [style], config, plan, network=net, init_image=carried.image,
                      anchor=anchor)  # fmt: skip
    assert sorted(set(watch.found)) == []
    small = explain.network_for(StyleConfig(), ["relu2_1"])
    weights = [*small.parameters(), *small.buffers()]
    with _Mixing(first, *weights) as watch:
        explain.top_patches(small, [first], "relu2_1", n_units=2, per_unit=2, size=32)
        explain.style_matrices(small, first, "relu2_1", max_channels=4, size=32)
        explain.reconstruct_content(small, first, "relu2_1", iterations=2, size=24)
    assert sorted(set(watch.found)) == []


def test_the_simulation_sees_a_tensor_from_elsewhere_meet_the_devices():
    """The two tests above can fail: a module's CPU constant in an op with a device's tensor
    is seen (it was: the palette start's luminance weights, before 2026-12-06)."""
    from impasto.ops import color

    picture, palette = torch.rand(3, 8, 8), torch.rand(3, 1, 64)
    with _Mixing(picture, palette) as watch:
        color._RGB_TO_YUV[0] @ picture.reshape(3, -1).double()  # as match_palette did
        color.match_palette(picture, palette)  # as it does now: nothing
    assert watch.found == ["?: matmul"]


def test_no_tensor_from_elsewhere_meets_the_devices_in_the_speed_probe(tiny_network):
    """The first run on a machine (a GPU's first, too) times a probe before it starts."""
    config = StyleConfig()
    net = impasto.load_network(config)
    with _Mixing(*net.parameters(), *net.buffers()) as watch:
        calibration.probe(net, config, sizes=((24, 32), (36, 48)), steps=1)
    assert sorted(set(watch.found)) == []
