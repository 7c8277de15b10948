"""Absurd sizes are refused at once, with little memory, by every front end (issue 32).

Each case runs in a child process whose address space is capped a little above what the run
may take (so a regression fails here instead of taking the machine's memory), and the child's
peak resident memory is read back from the kernel (``os.wait4``, which includes the child's
own workers).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import EXAMPLES, ROOT

MB = 2**20
CAP = 3 * 1024 * MB  # address space of a child: torch maps about 1 GB of it just loaded
PEAK = 1024 * MB  # what a refusal may take at its peak (torch and the decoded inputs: ~350 MB)
HUGE = "1000000000"  # px: 10^9 a side would be some 10^8 GB


def bounded(argv: list[str], tmp_path: Path, timeout: float = 120) -> tuple[int, str, int]:
    """``python -m impasto ARGV`` in a capped child: (exit status, stderr, peak RSS bytes)."""
    err_path = tmp_path / "stderr.txt"
    env = {**os.environ, "IMPASTO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP))

    with open(err_path, "wb") as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "impasto", *argv],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=tmp_path,
            preexec_fn=cap,
        )
        timer = threading.Timer(timeout, child.kill)  # a hang fails, it does not hang the tests
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, err_path.read_text(), usage.ru_maxrss * 1024


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("impasto: error: "), err
    return lines[0]


@pytest.fixture
def style(tmp_path: Path) -> Path:
    path = tmp_path / "style.png"
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


CONTENT = str(EXAMPLES / "tubingen.jpg")


@pytest.mark.parametrize(
    "options",
    [["--size", HUGE], ["--schedule", f"181:69,{HUGE}:40"], ["--size", str(2**31 - 1)]],
    ids=["size", "schedule", "largest-allowed-size"],
)
def test_an_absurd_size_is_the_largest_size_that_fits_at_once(tmp_path, style, options):
    """It listed millions of tiles before it checked the budget: past 3 GB in seconds."""
    code, err, peak = bounded([CONTENT, str(style), "-o", "out.png", *options], tmp_path)
    line = one_line(err)
    assert code == 2 and "the largest size that fits is about" in line, err
    assert peak < PEAK, f"peak {peak / MB:.0f} MB"
    assert not (tmp_path / "out.png").exists()


def test_a_manifest_row_with_an_absurd_size_fails_as_bad_input(tmp_path, style):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text(f"content,style,size\n{CONTENT},{style},{HUGE}\n")
    argv = ["batch", "--manifest", str(manifest), "-o", "out", "-q"]
    code, err, peak = bounded(argv, tmp_path)
    assert code == 2, err
    assert "the largest size that fits is about" in err
    assert peak < PEAK, f"peak {peak / MB:.0f} MB"


def test_the_child_cap_would_catch_a_regression(tmp_path):
    """The cap is real: a child that takes more than it may is stopped, not the machine."""
    code = subprocess.run(
        [sys.executable, "-c", "b = bytearray(4 * 2**30)"],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP)),
        capture_output=True,
        cwd=ROOT,
    ).returncode
    assert code != 0


# ------------------------------------------------------------------ the web page's server

SERVER = """
import sys
sys.path.insert(0, {tests!r})
from helpers import tiny_weights
from impasto.network import vgg
vgg._state_dict = lambda network, path=None, on_progress=None: tiny_weights(network)
from impasto.engine import calibration
calibration.learn = lambda net, config: calibration.Speed(0.1)
from impasto.apps.web import server
from impasto.apps.web.serving import Serving
sock = server.bind('127.0.0.1', 0)
from pathlib import Path
serving = Serving(folder=Path({folder!r}), loopback_only=True)
server.serve(sock, serving, on_started=lambda: print(server.address(sock), flush=True))
"""


class Server:
    """``impasto serve``'s app with a tiny network, in a capped child; its peak RSS on ask."""

    def __init__(self, tmp_path: Path) -> None:
        code = SERVER.format(tests=str(ROOT / "tests"), folder=str(tmp_path / "serve"))
        self.log = tmp_path / "server.log"
        env = {**os.environ, "IMPASTO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
        self.child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=open(self.log, "wb"),  # noqa: SIM115 (the child holds it)
            text=True,
            env=env,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (CAP, CAP)),
        )
        assert self.child.stdout is not None
        url = self.child.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), self.log.read_text()
        self.client = httpx.Client(base_url=url, timeout=120)

    def peak(self) -> int:
        """The server's peak resident memory so far, in bytes (VmHWM)."""
        status = Path(f"/proc/{self.child.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) * 1024

    def upload(self, data: bytes, name: str = "photo.png") -> httpx.Response:
        return self.client.post("/api/pictures", files={"file": (name, data, "image/png")})

    def stop(self) -> None:
        self.client.close()
        self.child.terminate()
        try:
            self.child.wait(30)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait(30)


httpx = pytest.importorskip("httpx", reason="httpx is not installed: pip install -e '.[browser]'")


@pytest.fixture
def web(tmp_path):
    pytest.importorskip("starlette", reason="the web extra is not installed")
    running = Server(tmp_path)
    yield running
    running.stop()


def _png(height: int, width: int) -> bytes:
    """A legal picture of height x width pixels that compresses to a few KB (a sparse grid)."""
    import io

    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[::7, ::5] = 200
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _ids(web: Server) -> tuple[str, str]:
    content = web.upload(_png(48, 64), "photo.png")
    style = web.upload(_png(32, 32), "painting.png")
    assert content.status_code == style.status_code == 201
    return content.json()["id"], style.json()["id"]


def test_a_request_with_an_absurd_size_is_answered_at_once(web):
    """One such request took the server past 4 GB with no answer."""
    content, style = _ids(web)
    before = web.peak()
    body = {"content": content, "styles": [style], "settings": {"size": int(HUGE)}}
    for endpoint in ("/api/estimate", "/api/paintings"):
        answer = web.client.post(endpoint, json=body)
        assert answer.status_code == 400, answer.text
        assert "the largest size that fits is about" in answer.json()["error"]
    assert web.peak() - before < 100 * MB
    assert web.client.get("/api/state").json()["paintings"] == []


MEGAPIXELS = (3000, 4000)  # 12 MP: some 280 MB while it is decoded, 40 KB on disk


def test_concurrent_uploads_of_big_pictures_are_decoded_one_at_a_time(web):
    """Six uploads at once of a legal 49-megapixel PNG added 5.4 GB; here of 12 megapixels,
    they would add some 1.7 GB at once, and add no more than one does."""
    data = _png(*MEGAPIXELS)
    idle = web.peak()
    assert web.upload(data).status_code == 201
    one = web.peak()
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(web.upload(data).status_code))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert answers == [201] * 6
    assert web.peak() - one < (one - idle) / 2, (idle / MB, one / MB, web.peak() / MB)


def test_waiting_paintings_hold_no_decoded_pictures(web):
    """Each waiting painting kept its decoded pictures (140-600 MB each); now its spec."""
    small, style = _ids(web)
    big = web.upload(_png(*MEGAPIXELS), "big.png").json()["id"]
    long = {"content": small, "styles": [style], "settings": {"size": 32, "schedule": "32:100000"}}
    assert web.client.post("/api/paintings", json=long).status_code == 202
    wait = {"content": big, "styles": [style], "settings": {"size": 48, "schedule": "48:2"}}
    for _ in range(3):  # decoded, estimated, let go: the heap settles after a few
        assert web.client.post("/api/paintings", json=wait).status_code == 202
    settled = web.peak()
    for _ in range(4):
        assert web.client.post("/api/paintings", json=wait).status_code == 202
    assert len(web.client.get("/api/state").json()["queue"]) == 7
    held = MEGAPIXELS[0] * MEGAPIXELS[1] * 3 * 4  # one float32 RGB picture: 144 MB
    assert web.peak() - settled < held, (settled / MB, web.peak() / MB)
