"""On a real GPU (``-m gpu``; skipped without one): the same costs and gradients as the CPU,
tiles as the whole, the pictures back on the CPU, out of memory as one line, every front end's
path. benchmarks/device_check.sh runs these on a machine with an NVIDIA GPU.
"""

from __future__ import annotations

import pytest
import torch
from test_devices import RUNS, run_inputs, write_png

import impasto
from impasto import devices
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.cost.objective import Objective
from impasto.engine.pyramid import tiles_for
from impasto.errors import ConfigError

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


@pytest.fixture
def exact_gpu():
    """fp32 convolutions and products without TF32, so the GPU's sums match the CPU's."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _objective(device: str, **settings) -> tuple[Objective, StyleConfig]:
    config = StyleConfig(precision="fp32", device=device, **settings)
    return Objective(impasto.load_network(config), config), config


def test_auto_is_the_gpu_and_the_network_goes_there(tiny_network):
    assert devices.resolve("auto").type == "cuda"
    net = impasto.load_network(StyleConfig())
    assert next(net.parameters()).device.type == "cuda"


def test_cost_and_gradient_on_the_gpu_are_the_cpus(tiny_network, exact_gpu):
    content, style = torch.rand(3, 48, 64), torch.rand(3, 40, 40)
    picture = torch.rand(3, 48, 64)
    out = {}
    for device in ("cpu", "cuda"):
        objective, _ = _objective(device, structure_weight=20.0)
        here = [t.to(device) for t in (content, style, picture)]
        targets = objective.prepare(here[0], [here[1]], [[1.0]])
        terms, grad = objective.value_and_grad(here[2], targets)
        out[device] = (float(terms["total"]), grad.cpu())
    (cpu_cost, cpu_grad), (gpu_cost, gpu_grad) = out["cpu"], out["cuda"]
    assert gpu_cost == pytest.approx(cpu_cost, rel=1e-4)
    assert torch.allclose(gpu_grad, cpu_grad, rtol=1e-3, atol=1e-6 * cpu_grad.abs().max())


def test_tiles_on_the_gpu_add_up_to_the_whole(tiny_network, exact_gpu):
    objective, _ = _objective("cuda")
    content, style, picture = (torch.rand(3, 72, 96, device="cuda") for _ in range(3))
    tiles = tiles_for(objective.net, 72, 96, 32)
    assert tiles is not None and len(tiles) > 1
    whole_t = objective.prepare(content, [style], [[1.0]])
    tiled_t = objective.prepare(content, [style], [[1.0]], tiles=tiles)
    whole, whole_grad = objective.value_and_grad(picture, whole_t)
    tiled, tiled_grad = objective.value_and_grad(picture, tiled_t, tiles)
    assert float(tiled["total"]) == pytest.approx(float(whole["total"]), rel=1e-4)
    assert torch.allclose(tiled_grad, whole_grad, rtol=1e-3, atol=1e-6 * whole_grad.abs().max())


@pytest.mark.parametrize("settings", RUNS.values(), ids=RUNS.keys())
def test_every_kind_of_run_paints_on_the_gpu_and_returns_to_the_cpu(tiny_network, settings):
    content, styles, masks, config = run_inputs(settings, device="cuda")
    seen = []
    picture = impasto.stylize(
        content.cuda(), styles, config, masks=masks, progress=lambda p: seen.append(p.image())
    )
    assert picture.device.type == "cpu" and picture.shape == (3, 40, 52)
    assert bool(torch.isfinite(picture).all()) and seen and seen[-1].device.type == "cpu"


def test_bf16_is_the_default_on_ampere_and_newer(tiny_network):
    from impasto.network import precision

    major, _ = torch.cuda.get_device_capability()
    expected = "bf16" if major >= 8 else "fp32"
    assert precision.resolve("auto", device=devices.resolve("cuda")) == expected


def test_out_of_gpu_memory_is_one_line(tiny_network):
    """The plan says it fits (a 1000 GB budget); the card says otherwise."""
    torch.cuda.empty_cache()
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(256e6 / total)
    try:
        config = StyleConfig(size=4096, iterations=1, min_size=0, max_memory=1000, device="cuda")
        with pytest.raises(ConfigError, match=r"cuda:0 \(.*\) ran out of memory at 4096x"):
            impasto.stylize(torch.rand(3, 1024, 1024), torch.rand(3, 64, 64), config)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()


def test_the_command_line_paints_on_cuda_and_says_so(tiny_network, tmp_path, capsys):
    content = write_png(tmp_path / "c.png", 40, 30, 0)
    style = write_png(tmp_path / "s.png", 32, 32, 1)
    out = tmp_path / "out.png"
    argv = [content, style, "-o", out, "--size", "40", "--iterations", "2", "--device", "cuda"]
    assert main([str(a) for a in argv]) == 0
    err = capsys.readouterr().err
    assert out.exists() and "; device cuda:0 (" in err, err


def test_a_clip_frame_is_carried_on_the_gpu_as_on_the_cpu(tiny_network):
    pytest.importorskip("cv2")
    from impasto.jobs import frames

    first, second, painted = torch.rand(3, 48, 64), torch.rand(3, 48, 64), torch.rand(3, 48, 64)
    maturity = torch.rand(1, 48, 64)
    cpu = frames.carry(first, second, painted, maturity)
    gpu = frames.carry(*(t.cuda() for t in (first, second, painted, maturity)))
    assert gpu.image.device.type == "cuda"
    # The check is a threshold on float64 sums: a pixel on its edge may fall either way.
    assert (gpu.reliability.cpu() != cpu.reliability).float().mean() < 1e-3
    assert torch.allclose(gpu.image.cpu(), cpu.image, atol=1e-4)


def test_explain_runs_on_the_gpu(tiny_network, exact_gpu):
    from impasto import explain

    image = torch.rand(3, 40, 48)
    found = {}
    for device in ("cpu", "cuda"):
        net = explain.network_for(StyleConfig(device=device), ["relu2_1"])
        found[device] = explain.style_matrices(net, image, "relu2_1", max_channels=4, size=48)
        picture = explain.reconstruct_content(net, image, "relu2_1", iterations=2, size=24)
        assert picture.device.type == "cpu"
    cpu, gpu = found["cpu"], found["cuda"]
    assert set(gpu.channels) == set(cpu.channels)  # their order follows near-equal values

    def energy(m) -> dict[int, float]:
        return dict(zip(m.channels, m.gram.diagonal().tolist()))

    for channel, value in energy(cpu).items():
        assert energy(gpu)[channel] == pytest.approx(value, rel=1e-4)
