"""impasto batch --ray against a real Ray cluster on this machine, bound to loopback: two
worker slots (one CPU each), the real weights at a tiny size, one worker killed mid-run."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import EXAMPLES
from impasto.apps.batch import plan, sidecar
from impasto.files import sha256_file

pytestmark = pytest.mark.ray

RAY = Path(sys.executable).with_name("ray")
CONTENTS = [EXAMPLES / "tubingen.jpg", EXAMPLES / "chelsea.png"]
STYLES = [EXAMPLES / "starry_night.jpg", EXAMPLES / "the_scream.jpg"]
PAINTING = ["--size", "64", "--min-size", "0", "--iterations", "15"]


def _environment() -> dict[str, str]:
    # Ray otherwise takes the machine's outward address for its node; this keeps every one
    # of its connections on 127.0.0.1 (the single-machine mode Ray uses on macOS/Windows).
    return {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """``ray start --head`` on loopback with 2 CPUs and no GPU (so that ``auto`` is the CPU on
    any machine); ``ray stop --force`` afterwards.

    Started as a script starts it in the background (``ray start ... &``), where the shell
    makes every process of the cluster ignore SIGINT: Ray's cancel must still stop a task.
    """
    pytest.importorskip("ray")
    port = _free_port()
    start = [
        str(RAY), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
        "--num-cpus=2", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats",
    ]  # fmt: skip
    try:
        result = subprocess.run(
            start, env=_environment(), capture_output=True, text=True, timeout=180,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(RAY), "stop", "--force"], capture_output=True, timeout=120)


def _tasks_running() -> list[int]:
    """Processes whose title says they run impasto's task (Ray names them ray::paint_on_ray)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"ray::paint"):
            pids.append(int(entry.name))
    return pids


def _done_lines(log: Path) -> list[str]:
    return re.findall(r"\] done (\S+) in", log.read_text())


def test_batch_on_ray_survives_a_killed_worker_and_writes_each_picture_once(cluster, tmp_path):
    out = tmp_path / "out"
    log = tmp_path / "log"
    command = [
        sys.executable, "-m", "impasto", "batch", *map(str, CONTENTS),
        "--styles", *map(str, STYLES), "-o", str(out), *PAINTING, "--ray", cluster,
    ]  # fmt: skip
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            command, env=_environment(), stdout=subprocess.DEVNULL, stderr=stderr
        )
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and process.poll() is None and time.monotonic() < deadline:
        running = _tasks_running()
        if running:
            killed = running[0]
            os.kill(killed, signal.SIGKILL)  # a worker dies in the middle of its job
        time.sleep(0.05)
    status = process.wait(timeout=600)
    text = log.read_text()
    assert killed is not None, "no Ray task was seen running: " + text
    assert status == 0, text
    done = _done_lines(log)
    pictures = sorted(p.name for p in out.glob("*.png"))
    assert len(pictures) == 4 and sorted(done) == pictures  # each written once, by the driver
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    from impasto.network import store, weightfile

    digest = weightfile.state_digest(store.load_weights("vgg16-hed"))
    pids = set()
    for name in pictures:
        record = json.loads((out / f"{name}.json").read_text())
        assert record["status"] == "done" and record["key"][: plan.KEY_DIGITS] in name
        assert record["content"]["sha256"] == sha256_file(Path(record["content"]["path"]))
        assert [s["sha256"] for s in record["styles"]] == [
            sha256_file(Path(s["path"])) for s in record["styles"]
        ]
        assert record["weights_sha256"] == digest
        assert record["machine"]["threads"] == 1  # the task's one CPU
        assert max(record["size"]) == 64
        pids.add(record["machine"]["pid"])
    assert killed not in pids  # the killed worker's job was painted again by another
    summary = json.loads((out / sidecar.SUMMARY_NAME).read_text())
    assert summary["counts"]["done"] == 4 and summary["finished"] is True
    assert summary["runner"].startswith(f"Ray cluster at {cluster} (2 CPUs)")

    # The same batch again: everything is done, nothing is sent to the cluster.
    again = subprocess.run(command, env=_environment(), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "0 to paint, 4 done before" in again.stderr


def test_ctrl_c_cancels_the_ray_tasks_and_keeps_only_whole_pictures(cluster, tmp_path):
    # Jobs of a few seconds each, so that some are still running when the stop comes; they
    # must end at once, not finish (the cluster's workers ignore SIGINT, see ``cluster``).
    out = tmp_path / "out"
    log = tmp_path / "log"
    command = [
        sys.executable, "-m", "impasto", "batch", *map(str, CONTENTS),
        "--styles", *map(str, STYLES), "-o", str(out), "--size", "64", "--min-size", "0",
        "--iterations", "150", "--ray", cluster,
    ]  # fmt: skip
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            command, env=_environment(), stdout=subprocess.DEVNULL, stderr=stderr
        )
    deadline = time.monotonic() + 300
    while not _done_lines(log) and process.poll() is None:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 130, log.read_text()
    done = _done_lines(log)
    assert 1 <= len(done) < 4
    assert sorted(p.name for p in out.glob("*.png")) == sorted(done)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    summary = json.loads((out / sidecar.SUMMARY_NAME).read_text())
    assert summary["stopped"] == "interrupted" and summary["counts"]["failed"] == 0
    assert summary["counts"]["done"] == len(done)
    assert summary["counts"]["interrupted"] + summary["counts"]["pending"] == 4 - len(done)
    assert summary["counts"]["interrupted"] >= 1  # stopped jobs say so
    deadline = time.monotonic() + 60
    while _tasks_running() and time.monotonic() < deadline:  # the cancelled tasks end
        time.sleep(0.2)
    assert not _tasks_running()
