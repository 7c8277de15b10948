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
