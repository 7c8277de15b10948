"""impasto batch and devices (issue 36): one local worker per GPU, one GPU per Ray job, a
missing device refused in one line before anything is written, the painting device in each
sidecar. The planning is tested as pure functions (no GPU, no Ray); the painting on the CPU
here; a real GPU batch is the one ``gpu`` test (``benchmarks/device_check.sh``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

import helpers
from impasto import devices
from impasto.apps.batch import driver, local, ray_runner, sidecar, worker
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.errors import ConfigError

TINY = StyleConfig(size=24, min_size=0, iterations=2)
CUDA_COUNT = torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.fixture
def pics(tmp_path: Path) -> dict[str, Path]:
    return helpers.batch_pictures(tmp_path)


# ------------------------------------------------------------------------ local: planning


@pytest.mark.parametrize(
    "device, count, workers, gpus",
    [
        ("cpu", 2, None, ()),
        ("cpu", 2, 4, ()),  # the CPU's workers share the cores, whatever the GPUs
        ("mps", 0, None, ()),
        ("auto", 0, 3, ()),  # no CUDA: the CPU, as before
        ("auto", 1, None, (0,)),
        ("auto", 2, None, (0, 1)),
        ("cuda", 1, None, (0,)),
        ("cuda", 2, None, (0, 1)),
        ("cuda", 2, 1, (0,)),
        ("cuda", 2, 2, (0, 1)),
        ("cuda:1", 2, None, (1,)),
        ("cuda:0", 2, 1, (0,)),
    ],
)
def test_one_local_worker_per_gpu(device, count, workers, gpus):
    assert local.gpu_workers(device, count, workers) == gpus


@pytest.mark.parametrize(
    "device, count, workers, words",
    [
        ("cuda", 0, None, "device cuda is not available: this machine has no CUDA GPU"),
        ("cuda:1", 0, None, "device cuda:1 is not available"),
        ("cuda:2", 2, None, "device cuda:2 is not available: this machine has 2 CUDA GPU(s) "
                            "(cuda:0, cuda:1)"),
        ("cuda", 2, 3, "3 workers on device cuda need 3 GPUs (one job per GPU), this machine "
                       "has 2 (cuda:0, cuda:1); use fewer workers, or --device cpu"),
        ("auto", 1, 2, "2 workers on device auto need 2 GPUs"),
        ("cuda:1", 2, 2, "2 workers on device cuda:1: it is one GPU, for one worker"),
    ],
)  # fmt: skip
def test_more_workers_than_gpus_or_a_missing_gpu_is_one_line(device, count, workers, words):
    with pytest.raises(ConfigError) as caught:
        local.gpu_workers(device, count, workers)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_the_layout_of_two_gpus_shares_the_cores_among_their_workers(monkeypatch):
    monkeypatch.setattr(devices, "resolve", lambda name: torch.device("cuda", 0))
    monkeypatch.setattr(local, "_cuda_count", lambda: 2)
    assert local.layout("cuda", None, 8) == local.Layout(2, 4, (0, 1))
    assert local.layout("auto", 1, 8) == local.Layout(1, 8, (0,))
    assert local.layout("cuda:1", None, 1) == local.Layout(1, 1, (1,))
    assert local.layout("cuda", None, 1) == local.Layout(2, 1, (0, 1))  # a thread each at least


def test_the_layout_on_the_cpu_is_as_before():
    """This machine's torch has no CUDA: auto is the CPU, and the workers share the cores."""
    if CUDA_COUNT:
        pytest.skip("auto is a GPU here")
    assert local.layout("auto", None, 2) == local.Layout(1, 2)
    assert local.layout("cpu", 2, 2) == local.Layout(2, 1)
    with pytest.raises(ConfigError, match="3 workers need at least 3 cores"):
        local.layout("cpu", 3, 2)


def test_a_gpu_pool_says_its_gpus():
    pool = local.LocalPool(2, 1, helpers.tiny_paint, gpus=(0, 1))  # starts no process yet
    try:
        assert pool.describe() == "2 local worker(s), one per GPU (cuda:0, cuda:1)"
        assert pool.capacity == 2
    finally:
        pool.close()
    with pytest.raises(ValueError):
        local.LocalPool(2, 1, helpers.tiny_paint, gpus=(0,))


# ------------------------------------------------------------------------ Ray: planning


@pytest.mark.parametrize(
    "device, cluster_gpus, gpus",
    [("cpu", 0, 0), ("cpu", 4, 0), ("mps", 0, 0), ("auto", 0, 0), ("auto", 2, 1), ("cuda", 1, 1)],
)
def test_a_ray_job_asks_for_one_gpu_when_it_paints_on_cuda(device, cluster_gpus, gpus):
    options = ray_runner.remote_options(device, 3, cluster_gpus)
    assert options == {"num_cpus": 3, "num_gpus": gpus}


def test_auto_on_ray_is_the_gpu_ray_gave_else_the_cpu_never_a_gpu_in_sight():
    assert ray_runner.task_device("auto", 1) == "cuda"
    assert ray_runner.task_device("auto", 0) == "cpu"  # not the machine's GPU, unasked for
    assert ray_runner.task_device("cpu", 0) == "cpu"
    assert ray_runner.task_device("cuda", 1) == "cuda"


def test_ray_refuses_cuda_without_gpus_and_a_gpu_index_in_one_line():
    with pytest.raises(ConfigError) as caught:
        ray_runner.remote_options("cuda", 1, 0, "the Ray cluster at 10.0.0.1:6379")
    message = str(caught.value)
    assert "the Ray cluster at 10.0.0.1:6379 has none" in message and "\n" not in message
    with pytest.raises(ConfigError, match="device cuda:1: with --ray, Ray gives each job"):
        ray_runner.remote_options("cuda:1", 1, 4)


def test_a_gpu_index_with_ray_is_refused_before_anything_is_made(pics, capsys):
    pytest.importorskip("ray")
    argv = ["batch", pics["photo"], "--styles", pics["style"], "-o", pics["out"],
            "--ray", "127.0.0.1:1", "--device", "cuda:0"]  # fmt: skip
    assert main(list(map(str, argv))) == 2
    err = capsys.readouterr().err.strip()
    assert "use --device cuda" in err and len(err.splitlines()) == 1
    assert not pics["out"].exists()


# ------------------------------------------------------------------------ the command line


def _missing_devices() -> list[str]:
    """Devices this machine does not have: cuda itself where torch sees no GPU, and always a
    GPU index one past the last."""
    return ([] if CUDA_COUNT else ["cuda"]) + [f"cuda:{CUDA_COUNT}"]


@pytest.mark.parametrize("device", _missing_devices())
def test_a_missing_device_is_one_line_and_exit_2_before_anything_is_made(pics, capsys, device):
    argv = ["batch", pics["photo"], "--styles", pics["style"], "-o", pics["out"],
            "--device", device]  # fmt: skip
    assert main(list(map(str, argv))) == 2
    err = capsys.readouterr().err.strip()
    assert f"device {device} is not available" in err and len(err.splitlines()) == 1
    assert not pics["out"].exists()


def test_a_manifest_row_on_a_missing_device_is_refused_naming_its_row(pics, capsys):
    manifest = pics["out"].parent / "jobs.csv"
    device = _missing_devices()[-1]
    manifest.write_text(f"content,style,device\nin/photo.png,art/paint.png,{device}\n")
    argv = ["batch", "--manifest", manifest, "-o", pics["out"], "--device", "cpu"]
    assert main(list(map(str, argv))) == 2
    err = capsys.readouterr().err.strip()
    assert f"jobs.csv:2: device {device} is not available" in err
    assert len(err.splitlines()) == 1 and not pics["out"].exists()


def test_a_cpu_batch_paints_and_its_sidecars_say_the_cpu(pics, monkeypatch, capsys):
    monkeypatch.setattr(worker, "paint", helpers.tiny_paint)
    argv = ["batch", pics["photo"], "--styles", pics["style"], "-o", pics["out"],
            "--device", "cpu", "--cores", "1", "--size", "24", "--min-size", "0",
            "--iterations", "2"]  # fmt: skip
    assert main(list(map(str, argv))) == 0, capsys.readouterr().err
    (picture,) = pics["out"].glob("*.png")
    record = json.loads(Path(f"{picture}.json").read_text())
    assert record["device"] == devices.about(torch.device("cpu")).describe()
    assert record["machine"]["threads"] == 1
    summary = json.loads((pics["out"] / sidecar.SUMMARY_NAME).read_text())
    assert summary["runner"] == "1 local worker(s), 1 thread(s) each"
    # Where it painted is not what it painted: the same batch on another device (auto here,
    # a GPU elsewhere) finds that picture done, under the same name.
    again = [a for a in argv if a not in ("--device", "cpu")]
    assert main(list(map(str, again))) == 0
    assert "1 done before" in capsys.readouterr().err
    assert list(pics["out"].glob("*.png")) == [picture]


# ------------------------------------------------------------------------ a real GPU


@pytest.mark.gpu
def test_a_gpu_batch_paints_one_job_per_gpu_and_says_so(pics):
    if not CUDA_COUNT:
        pytest.skip("needs a CUDA GPU")
    request = driver.Request(
        output=str(pics["out"]),
        contents=(str(pics["photo"]), str(pics["other"])),
        styles=(str(pics["style"]),),
        config=dataclasses.replace(TINY, device="cuda"),
    )
    report = driver.run(request, painter=helpers.gpu_tiny_paint)
    assert report.counts["done"] == 2 and not report.failures, report.failures
    names = ", ".join(f"cuda:{i}" for i in range(CUDA_COUNT))
    summary = json.loads(report.summary.read_text())
    assert summary["runner"] == f"{CUDA_COUNT} local worker(s), one per GPU ({names})"
    for picture in pics["out"].glob("*.png"):
        record = json.loads(Path(f"{picture}.json").read_text())
        assert record["device"].startswith("cuda:"), record["device"]
        assert record["config"]["device"] == "cuda"


def test_a_gpu_out_of_memory_outside_the_run_is_a_memory_failure(pics, monkeypatch):
    """Moving the network onto a full GPU raises torch's own error, not the run's line."""

    def full(*args):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(worker, "_paint", full)
    names = [str(pics["photo"]), str(pics["style"])]
    task = worker.Task("x.png", TINY, names[0], (names[1],), None, (), "png", 95, 8, 1)
    result = worker.paint(task, *[Path(n).read_bytes() for n in names])
    assert (result["status"], result["kind"]) == ("failed", "memory")
    assert result["error"].startswith("out of memory (CUDA out of memory.")
