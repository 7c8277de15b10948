"""impasto batch end to end, with the real vgg16-hed weights at a tiny size: the command line
in its own process, a 2 x 2 grid in two workers interrupted by Ctrl-C and resumed, and one
bad input among good ones."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from helpers import EXAMPLES
from impasto.apps.batch import plan, sidecar
from impasto.files import sha256_file

pytestmark = pytest.mark.weights

CONTENTS = [EXAMPLES / "tubingen.jpg", EXAMPLES / "chelsea.png"]
STYLES = [EXAMPLES / "starry_night.jpg", EXAMPLES / "the_scream.jpg"]
PAINTING = ["--size", "48", "--min-size", "0", "--iterations", "20"]


def _batch(args: list[str], log: Path) -> subprocess.Popen:
    """``impasto batch ...`` in a session of its own (so Ctrl-C can go to its whole group)."""
    command = [sys.executable, "-m", "impasto", "batch", *args]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), start_new_session=True
    )


def _done_lines(log: Path) -> list[str]:
    return re.findall(r"\] done (\S+) in", log.read_text())


def _pictures(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.png") if p.name != "contact-sheet.png")


def _check_outputs(folder: Path) -> None:
    """Every picture whole, with a done sidecar of its key and inputs; no temp file."""
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]
    for name in _pictures(folder):
        record = json.loads((folder / f"{name}.json").read_text())
        assert record["status"] == "done" and record["output"] == name
        assert record["key"][: plan.KEY_DIGITS] in name
        assert record["content"]["sha256"] == sha256_file(Path(record["content"]["path"]))
        assert len(record["weights_sha256"]) == 64 and record["network"] == "vgg16-hed"
        assert max(record["size"]) == 48
        with Image.open(folder / name) as im:
            im.load()
            assert max(im.size) == 48


def test_grid_interrupted_by_ctrl_c_then_resumed_paints_each_job_once(tmp_path):
    for path in CONTENTS + STYLES:
        if not path.is_file():
            pytest.skip(f"example image missing: {path}")
    out = tmp_path / "out"
    args = [*map(str, CONTENTS), "--styles", *map(str, STYLES), "-o", str(out)]
    args += [*PAINTING, "--workers", "2"]
    first_log = tmp_path / "first.log"
    process = _batch(args, first_log)
    deadline = time.monotonic() + 300
    while not _done_lines(first_log) and process.poll() is None:
        assert time.monotonic() < deadline, first_log.read_text()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole group
    assert process.wait(timeout=120) == 130, first_log.read_text()
    first_done = _done_lines(first_log)
    assert 1 <= len(first_done) < 4, first_log.read_text()
    assert "interrupted: stopping the running job(s)" in first_log.read_text()
    assert _pictures(out) == sorted(first_done)  # nothing partial, no best-so-far picture
    _check_outputs(out)
    summary = json.loads((out / sidecar.SUMMARY_NAME).read_text())
    assert summary["stopped"] == "interrupted" and summary["counts"]["done"] == len(first_done)
    stamps = {n: (out / n).stat().st_mtime_ns for n in first_done}

    second_log = tmp_path / "second.log"
    assert _batch(args, second_log).wait(timeout=600) == 0, second_log.read_text()
    second_done = _done_lines(second_log)
    assert f"{4 - len(second_done)} done before" in second_log.read_text()
    assert sorted(first_done + second_done) == _pictures(out)  # each job painted once
    assert len(_pictures(out)) == 4
    assert stamps == {n: (out / n).stat().st_mtime_ns for n in first_done}
    _check_outputs(out)
    summary = json.loads((out / sidecar.SUMMARY_NAME).read_text())
    assert summary["counts"] == {
        "done": len(second_done), "skipped": len(first_done), "failed": 0,
        "interrupted": 0, "pending": 0,
    }  # fmt: skip
    assert summary["finished"] is True and summary["stopped"] is None


def test_one_bad_input_among_good_ones_fails_alone(tmp_path):
    contents = tmp_path / "photos"
    contents.mkdir()
    for path in CONTENTS:
        shutil.copy(path, contents / path.name)
    broken = contents / "broken.jpg"
    broken.write_bytes(CONTENTS[0].read_bytes()[:300])  # a truncated JPEG
    out = tmp_path / "out"
    log = tmp_path / "log"
    args = [str(contents), "--styles", str(STYLES[0]), "-o", str(out), *PAINTING]
    assert _batch(args, log).wait(timeout=600) == 2, log.read_text()
    text = log.read_text()
    failed = [line for line in text.splitlines() if "failed broken_" in line]
    assert len(failed) == 1 and f"{broken}: " in failed[0], text
    assert "Traceback" not in text
    assert len(_pictures(out)) == 2 and not list(out.glob("broken_*"))
    _check_outputs(out)
    summary = json.loads((out / sidecar.SUMMARY_NAME).read_text())
    assert (summary["counts"]["done"], summary["counts"]["failed"]) == (2, 1)
    (row,) = [r for r in summary["jobs"] if r["status"] == "failed"]
    assert row["kind"] == "input" and row["error"].startswith(f"{broken}: ")
