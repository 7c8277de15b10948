"""impasto batch against hostile files and folders (issue 32): bad input is one line and exit
status 2 before anything is painted; no input and no file already there is overwritten
(without --overwrite); nothing half-written is left, in the output folder or the temporary
one. The real command line paints with a tiny random network (the worker's painter replaced).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image

import helpers
from impasto.apps.batch import plan, worker
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.io import images

FAST = ["--size", "24", "--min-size", "0", "--iterations", "2", "-q"]
CHILD = Path(__file__).parent / "cli_child.py"
LIMIT = 1 << 20  # the readers' limit in these tests: 1 MB instead of 1 GB


@pytest.fixture
def pics(tmp_path: Path) -> dict[str, Path]:
    return helpers.batch_pictures(tmp_path)


@pytest.fixture
def tiny(monkeypatch) -> None:
    """``impasto batch`` in this process hands its workers the tiny network's painter."""
    monkeypatch.setattr(worker, "paint", helpers.tiny_paint)


def batch(capsys, *argv) -> tuple[int, str]:
    code = main(["batch", *map(str, argv)])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("impasto: ") and "Traceback" not in err, err
    return lines[0]


def files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def child(args: list[str], timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    """``impasto batch ARGS`` in its own process (``cli_child.py``), killed after ``timeout``
    seconds: a batch that hangs fails the test instead of hanging it."""
    environ = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    return subprocess.run(
        [sys.executable, str(CHILD), "batch", *args], capture_output=True, text=True,
        timeout=timeout, env=environ,
    )  # fmt: skip


# ------------------------------------------------------------------ endless inputs (item 8)


def _feed(fifo: Path, data: bytes) -> threading.Thread:
    """A writer that gives ``data`` to the FIFO once (a pipe can be read only once)."""

    def write() -> None:
        try:
            with open(fifo, "wb") as pipe:
                pipe.write(data)
        except BrokenPipeError:  # the reader stopped at its limit
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_manifest_larger_than_the_limit_is_one_line(pics, capsys, monkeypatch):
    """A manifest is read by the readers' one limit (1 GB; 1 MB here): a pipe giving more
    is refused at the limit, before anything is painted."""
    monkeypatch.setattr(images, "MAX_STREAM_BYTES", LIMIT)
    fifo = pics["root"] / "jobs.csv"
    os.mkfifo(fifo)
    rows = f"{pics['photo']},{pics['style']}\n".encode()
    writer = _feed(fifo, b"content,style\n" + rows * (2 * LIMIT // len(rows)))
    code, err = batch(capsys, "--manifest", fifo, "-o", pics["out"], *FAST)
    writer.join(timeout=30)
    line = one_line(err)
    assert code == 2 and f"{fifo}: more than 1 MB, the limit for one input" in line, err
    assert files(pics["out"]) == {}


def test_dev_zero_as_a_manifest_stops_at_the_limit(pics):
    """/dev/zero never ends: read by the limit, not until memory runs out (the process may
    use 1 GB more than it needs to import, so a reader without a limit fails here)."""
    result = child(["--manifest", "/dev/zero", "-o", str(pics["out"]), *FAST], timeout=120,
                   IMPASTO_TEST_LIMIT=str(LIMIT), IMPASTO_TEST_MEMORY=str(1 << 30))  # fmt: skip
    line = one_line(result.stderr)
    assert result.returncode == 2, result.stderr
    assert "/dev/zero: more than 1 MB, the limit for one input" in line
    assert files(pics["out"]) == {}


def test_a_pipe_is_read_once_and_dev_zero_as_a_content_stops_at_the_limit(pics):
    """A FIFO content is hashed and painted from one reading (its writer writes it once);
    /dev/zero as a content is one failed job at the limit, not an endless hash."""
    fifo = pics["root"] / "piped.png"
    os.mkfifo(fifo)
    writer = _feed(fifo, pics["photo"].read_bytes())
    result = child([str(fifo), "/dev/zero", "--styles", str(pics["style"]), "-o",
                    str(pics["out"]), *FAST], IMPASTO_TEST_LIMIT=str(LIMIT))  # fmt: skip
    writer.join(timeout=30)
    assert result.returncode == 2, result.stderr  # the one bad input
    failed = [line for line in result.stderr.splitlines() if "failed " in line]
    assert len(failed) == 1 and "/dev/zero: more than 1 MB, the limit for one input" in failed[0]
    (painted,) = [n for n in files(pics["out"]) if n.endswith(".png")]
    assert painted.startswith("piped_paint_") and Image.open(pics["out"] / painted).size == (24, 16)


# ------------------------------------------------------------------ manifests (item 12)

DEEP = 100_000  # deeper than any recursion limit

BAD_MANIFESTS = [
    # a NUL byte in any cell, CSV or JSON: no path or value holds one
    ("jobs.csv", "content,style\n{photo}\0,{style}\n", "content holds a NUL byte"),
    ("jobs.csv", "content,style,output\n{photo},{style},a\0.png\n", "output holds a NUL byte"),
    ("jobs.csv", "content,style,init\n{photo},{style},{other}\0\n", "init holds a NUL byte"),
    ("jobs.csv", "content,style,network\n{photo},{style},vgg16\0\n", "network holds a NUL"),
    ("jobs.json", '[{"content": "{photo}\\u0000", "style": "{style}"}]', "content holds a NUL"),
    ("jobs.json", '[{"content": "{photo}", "style": ["{style}", "x\\u0000"]}]', "style holds"),
    ("jobs.json", '[{"content": "{photo}", "style": "{style}", "mask": "m\\u0000.png"}]', "mask"),
    ("jobs.json", '[{"content": "{photo}", "style": "{style}", "output": "\\u0000.png"}]', "NUL"),
    # nesting: deeper than the parser goes, or lists and objects where a cell is text
    ("jobs.json", "[" * DEEP + "]" * DEEP, "nested too deeply"),
    ("jobs.json", '{"jobs": [{"content": ' + "[" * DEEP + "]" * DEEP + "}]}", "nested too deep"),
    ("jobs.json", '[{"content": "{photo}", "style": [["{style}"]]}]', "style holds a list"),
    ("jobs.json", '[{"content": {"path": "{photo}"}, "style": "{style}"}]', "content holds an ob"),
    ("jobs.json", '[{"content": "{photo}", "style": "{style}", "size": [[64]]}]', "size holds"),
    # a column named twice, as CSV's header or as a JSON object's key
    ("jobs.csv", "content,style,size,size\n{photo},{style},32,64\n", "column size twice"),
    ("jobs.csv", "content,style,styles\n{photo},{style},{style}\n", "column style twice"),
    ("jobs.csv", "content,style,Style-Weight,style_weight\n{photo},{style},1,2\n", "twice"),
    ("jobs.csv", "content,style,\n{photo},{style},64\n", "cell 3 is under no column name"),
    ("jobs.json", '[{"content": "{photo}", "style": "{style}", "size": 32, "size": 64}]', "twice"),
    ("jobs.json", '{"jobs": [], "jobs": [{"content": "{photo}", "style": "{style}"}]}', "twice"),
    # a number longer than Python's int() reads (4300 digits): was a ValueError, exit 4
    ("jobs.json", '[{"content": "{photo}", "style": "{style}", "size": ' + "9" * 5000 + "}]",
     "holds a number of 5000 digits; none is that large"),
    ("jobs.json", '[{"content": "{photo}", "style": "{style}", "seed": -' + "1" * 4301 + "}]",
     "holds a number of 4301 digits"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "fragment"), BAD_MANIFESTS, ids=range(len(BAD_MANIFESTS)))
def test_a_bad_manifest_is_one_line_exit_2_before_anything(
    tiny, pics, capsys, name, text, fragment
):
    manifest = pics["root"] / name
    for key in ("photo", "other", "style"):
        text = text.replace("{" + key + "}", str(pics[key]))
    manifest.write_bytes(text.encode())
    code, err = batch(capsys, "--manifest", manifest, "-o", pics["out"], *FAST)
    line = one_line(err)
    assert code == 2, err
    assert str(manifest) in line and fragment in line, line
    assert len(line) < 400, line
    assert not pics["out"].exists()  # nothing painted, not even the folder made


@pytest.mark.parametrize("kind", ["grid", "csv", "json"])
def test_more_jobs_than_a_batch_takes_are_refused_before_any_is_made(
    pics, capsys, monkeypatch, kind
):
    """A job held some 1.4 KB before anything was painted: two folders of 10,000 pictures
    made 100 million jobs (140 GB), a 1 GB manifest 30 million. Past plan.MAX_JOBS (three
    here) one line, before the jobs are made and the output folder is."""
    monkeypatch.setattr(plan, "MAX_JOBS", 3)
    if kind == "grid":
        argv = [pics["photo"], pics["other"], "--styles", pics["style"], pics["photo"]]
        words = "2 contents x 2 styles make 4 jobs, more than the 3 a batch takes"
    else:
        manifest = pics["root"] / f"jobs.{kind}"
        rows = [{"content": str(pics["photo"]), "style": str(pics["style"]), "size": 24 + k}
                for k in range(4)]  # fmt: skip
        if kind == "csv":
            lines = [f"{r['content']},{r['style']},{r['size']}" for r in rows]
            manifest.write_text("\n".join(["content,style,size", *lines]) + "\n")
        else:
            manifest.write_text(json.dumps(rows))
        argv = ["--manifest", manifest]
        words = f"{manifest}: more than 3 jobs, the most a batch takes"
    code, err = batch(capsys, *argv, "-o", pics["out"], *FAST)
    assert code == 2 and words in one_line(err), err
    assert not pics["out"].exists()


def test_a_manifest_that_is_a_folder_is_said_so(pics, capsys):
    """It said 'is a folder, not an image file'."""
    folder = pics["root"] / "jobs.csv"
    folder.mkdir()
    code, err = batch(capsys, "--manifest", folder, "-o", pics["out"], *FAST)
    assert code == 2 and f"{folder}: is a folder; a manifest is a CSV or JSON file" in one_line(err)
    assert not pics["out"].exists()


# ------------------------------------------------------------ outputs that are inputs (item 1)


def _manifest(pics, rows: list[str], header: str = "content,style,output") -> Path:
    manifest = pics["root"] / "jobs.csv"
    text = "\n".join([header, *rows]) + "\n"
    for key in ("photo", "other", "style", "moved"):
        text = text.replace("{" + key + "}", str(pics.get(key, "")))
    manifest.write_text(text)
    return manifest


# (how the output folder holds an input, which input, the manifest's header and rows, the
# role said). "move": the input itself lies in the output folder (as {moved}); "symlink",
# "hardlink": out/NAME links to it, NAME being the output of the last row.
INPUT_OUTPUTS = [
    ("move", "photo", "content,style,output", ["{moved},{style},photo.png"], "content"),
    ("move", "style", "content,style,output", ["{photo},{moved},paint.png"], "style image"),
    ("symlink", "photo", "content,style,output", ["{photo},{style},photo.png"], "content"),
    ("hardlink", "photo", "content,style,output", ["{photo},{style},photo.png"], "content"),
    ("hardlink", "style", "content,style,output", ["{photo},{style},paint.png"], "style image"),
    # another row's input: no output may be any input of the batch
    ("symlink", "other", "content,style,output", ["{other},{style},", "{photo},{style},o.png"],
     "content"),
    ("move", "other", "content,style,output,init",
     ["{photo},{style},a.png,{moved}", "{photo},{style},other.png,"], "init image"),
    ("move", "other", "content,style,output,mask",
     ["{photo},{style},a.png,{moved}", "{photo},{style},other.png,"], "mask"),
]  # fmt: skip


@pytest.mark.parametrize("overwrite", [False, True], ids=["", "overwrite"])
@pytest.mark.parametrize(
    ("kind", "which", "header", "rows", "role"), INPUT_OUTPUTS, ids=range(len(INPUT_OUTPUTS))
)
def test_an_output_that_is_an_input_is_refused(
    tiny, pics, capsys, kind, which, header, rows, role, overwrite
):
    """A row's output in the output folder that is an input of the batch (the file itself,
    or a symbolic or hard link to it) is refused before anything is painted, as the single
    command refuses it, with or without --overwrite."""
    out, target = pics["out"], pics[which]
    out.mkdir()
    if kind == "move":
        linked = pics["moved"] = out / target.name
        target.rename(linked)
    else:
        linked = out / rows[-1].split(",")[2]
        if kind == "symlink":
            linked.symlink_to(target)
        else:
            os.link(target, linked)
    manifest = _manifest(pics, rows, header)
    before = files(pics["root"])
    code, err = batch(capsys, "--manifest", manifest, "-o", out, *FAST,
                      *(["--overwrite"] if overwrite else []))  # fmt: skip
    line = one_line(err)
    assert code == 2 and f"is the {role} of this run" in line, err
    assert f"{manifest}:" in line and "an input is never overwritten" in line
    assert files(pics["root"]) == before  # nothing painted, every input as it was


def test_a_manifest_in_the_output_folder_is_never_written_over(tiny, pics, capsys):
    """The manifest is an input too: an output named like it (any format sniffed by its
    text) is refused."""
    pics["out"].mkdir()
    manifest = pics["out"] / "jobs.png"  # a CSV manifest under an odd name
    manifest.write_text(f"content,style,output\n{pics['photo']},{pics['style']},jobs.png\n")
    code, err = batch(capsys, "--manifest", manifest, "-o", pics["out"], *FAST, "--overwrite")
    assert code == 2 and "is the manifest of this run" in one_line(err), err
    assert manifest.read_text().startswith("content,style,output")


# ------------------------------------------------------------ files already there (item 2)


def _summary(out: Path) -> dict:
    import json

    return json.loads((out / "batch-summary.json").read_text())


def test_an_existing_file_is_replaced_only_with_overwrite(tiny, pics, capsys):
    """A row's output that is someone's file is kept without --overwrite (one line, exit 2,
    nothing written), and replaced with it, as a single picture's."""
    out = pics["out"]
    out.mkdir()
    (out / "keep.png").write_bytes(b"someone's picture")
    manifest = _manifest(pics, ["{photo},{style},keep.png", "{other},{style},new.png"])
    code, err = batch(capsys, "--manifest", manifest, "-o", out, *FAST)
    line = one_line(err)
    assert code == 2 and f"{manifest}:2: {out / 'keep.png'}: already exists" in line, err
    assert "pass --overwrite to replace it" in line
    assert files(out) == {"keep.png": b"someone's picture"}  # nothing painted
    code, err = batch(capsys, "--manifest", manifest, "-o", out, *FAST, "--overwrite")
    assert code == 0, err
    assert Image.open(out / "keep.png").size == (24, 16)


def test_a_picture_without_its_sidecar_is_not_painted_over(tiny, pics, capsys):
    """A finished job is skipped (resumed); a file under a job's name that no sidecar vouches
    for (not a finished job of this batch) is kept, also in a grid batch."""
    out = pics["out"]
    args = [pics["photo"], "--styles", pics["style"], "-o", out, *FAST]
    assert batch(capsys, *args)[0] == 0
    (name,) = [n for n in files(out) if n.endswith(".png")]
    painted = (out / name).read_bytes()
    assert batch(capsys, *args)[0] == 0  # resumed: done before, skipped
    assert _summary(out)["counts"]["skipped"] == 1 and (out / name).read_bytes() == painted
    (out / f"{name}.json").unlink()
    code, err = batch(capsys, *args)
    assert code == 2 and f"{out / name}: already exists and is not a finished job" in err
    assert (out / name).read_bytes() == painted


@pytest.mark.parametrize(
    ("name", "why", "sheet"),
    [
        ("x.png.json", "is not the batch's sidecar of x.png", False),
        ("batch-summary.json", "is not a batch's summary", False),
        ("contact-sheet.png", "is not a batch's contact sheet", True),
    ],
)
def test_a_file_the_batch_would_write_beside_is_kept_unless_its_own(
    tiny, pics, capsys, name, why, sheet
):
    """The sidecar, summary and contact sheet replace only the batch's own files (an earlier
    batch's); someone's file of that name needs --overwrite."""
    out = pics["out"]
    out.mkdir()
    (out / name).write_bytes(b"someone's notes")
    manifest = _manifest(pics, ["{photo},{style},x.png"])
    argv = ["--manifest", manifest, "-o", out, *FAST, *(["--contact-sheet"] if sheet else [])]
    code, err = batch(capsys, *argv)
    assert code == 2 and f"{out / name}: already exists and {why}" in one_line(err), err
    assert files(out) == {name: b"someone's notes"}
    (out / name).unlink()
    assert batch(capsys, *argv)[0] == 0  # its own files, as a re-run finds them: replaced
    assert batch(capsys, *argv, "--overwrite")[0] == 0


@pytest.mark.parametrize("overwrite", [False, True], ids=["", "overwrite"])
@pytest.mark.parametrize(
    ("name", "what"),
    [
        ("x.png", "is a folder; give a file name"),
        ("x.png.json", "is a folder, where the batch writes the sidecar of x.png"),
        ("batch-summary.json", "is a folder, where the batch writes its summary"),
        ("contact-sheet.png", "is a folder, where the batch writes its contact sheet"),
    ],
)
def test_a_folder_where_the_batch_writes_a_file_is_refused_before_painting(
    tiny, pics, capsys, name, what, overwrite
):
    """A folder named like a picture, its sidecar, the summary or the contact sheet: one
    line before anything is painted, as the single command says it, with --overwrite too
    (the picture was painted, then 'cannot write (Is a directory)'), and the folder kept."""
    out = pics["out"]
    (out / name).mkdir(parents=True)
    (out / name / "kept.txt").write_text("someone's")
    manifest = _manifest(pics, ["{photo},{style},x.png"])
    argv = ["--manifest", manifest, "-o", out, *FAST, "--contact-sheet"]
    code, err = batch(capsys, *argv, *(["--overwrite"] if overwrite else []))
    assert code == 2 and f"{out / name}: {what}" in one_line(err), err
    assert files(out) == {f"{name}/kept.txt": b"someone's"}  # not even the summary


# ------------------------------------------------------------ names that collide (item 3)


def test_outputs_of_one_stem_have_their_own_sidecars_and_both_resume(tiny, pics, capsys):
    """a.png and a.jpg each get a sidecar (a.png.json, a.jpg.json): a re-run skips both."""
    out = pics["out"]
    manifest = _manifest(pics, ["{photo},{style},a.png", "{other},{style},a.jpg"])
    assert batch(capsys, "--manifest", manifest, "-o", out, *FAST)[0] == 0
    stamps = {n: (out / n).stat().st_mtime_ns for n in ("a.png", "a.jpg")}
    assert batch(capsys, "--manifest", manifest, "-o", out, *FAST)[0] == 0
    assert _summary(out)["counts"]["skipped"] == 2
    assert stamps == {n: (out / n).stat().st_mtime_ns for n in ("a.png", "a.jpg")}
    assert {n for n in files(out) if n.endswith(".json")} == {
        "a.png.json", "a.jpg.json", "batch-summary.json"
    }  # fmt: skip


@pytest.mark.parametrize(
    "name", ["contact-sheet.png", "Contact-Sheet.JPG", "batch-summary.png", "batch-summary.webp"]
)
def test_the_batch_s_own_names_are_refused_as_outputs(tiny, pics, capsys, name):
    manifest = _manifest(pics, ["{photo},{style},a.png", "{other},{style}," + name])
    code, err = batch(capsys, "--manifest", manifest, "-o", pics["out"], *FAST, "--contact-sheet")
    line = one_line(err)
    assert code == 2 and f"{manifest}:3: output '{name}' is a name the batch keeps" in line
    assert not pics["out"].exists()


def test_a_sidecar_of_an_earlier_version_still_resumes(tiny, pics, capsys):
    """Batches before 2026-12-05 wrote a.json beside a.png: its job is still skipped, and a
    repaint (--overwrite) leaves the new sidecar only."""
    out = pics["out"]
    manifest = _manifest(pics, ["{photo},{style},a.png"])
    assert batch(capsys, "--manifest", manifest, "-o", out, *FAST)[0] == 0
    (out / "a.png.json").rename(out / "a.json")
    stamp = (out / "a.png").stat().st_mtime_ns
    assert batch(capsys, "--manifest", manifest, "-o", out, *FAST)[0] == 0
    assert _summary(out)["counts"]["skipped"] == 1 and (out / "a.png").stat().st_mtime_ns == stamp
    assert batch(capsys, "--manifest", manifest, "-o", out, *FAST, "--overwrite")[0] == 0
    assert (out / "a.png.json").is_file() and not (out / "a.json").exists()


# ------------------------------------------------------------ a full disk (item 13)


def test_a_full_disk_at_the_first_summary_is_one_line_and_leaves_nothing(
    tiny, pics, capsys, full_disk
):
    full_disk(pics["out"])
    pics["out"].mkdir()
    code, err = batch(capsys, pics["photo"], "--styles", pics["style"], "-o", pics["out"], *FAST)
    line = one_line(err)
    assert code == 2, err
    assert f"{pics['out'] / 'batch-summary.json'}: cannot write (no space left" in line
    assert files(pics["out"]) == {}  # no temporary file either


def test_a_disk_full_after_the_first_job_stops_the_batch_and_a_rerun_resumes(
    tiny, pics, capsys, full_disk
):
    """The summary, the first job's sidecar and picture, the summary again fit; the second
    job's sidecar does not: the batch stops with that one line and leaves whole files only,
    and once there is room again the same command paints what is left."""
    out = pics["out"]
    out.mkdir()
    full_disk(out, after=4)
    args = [pics["photo"], pics["other"], "--styles", pics["style"], "-o", out, *FAST]
    code, err = batch(capsys, *args)
    line = one_line(err)
    assert code == 2 and ": cannot write (no space left on the device)" in line, err
    left = files(out)
    (first,) = [n for n in left if n.endswith(".png")]
    assert sorted(left) == sorted([first, f"{first}.json", "batch-summary.json"])
    assert ".png.json: cannot write" in line  # the second job's sidecar, written first
    full_disk(out, after=1000)
    assert batch(capsys, *args)[0] == 0
    assert _summary(out)["counts"] == {
        "done": 1, "skipped": 1, "failed": 0, "interrupted": 0, "pending": 0
    }  # fmt: skip


def test_a_batch_on_a_really_full_disk_is_one_line_and_leaves_nothing(pics, tmp_path):
    """The same on a real full filesystem (a tmpfs, where the system lends one)."""
    status, err, left = helpers.on_a_full_disk(
        pics["out"], ["batch", pics["photo"], "--styles", pics["style"], "-o", pics["out"],
                      *FAST], env_home=tmp_path / "home")  # fmt: skip
    line = one_line(err)
    assert status == 2 and "cannot write (no space left on the device)" in line, err
    assert left == []


def test_a_name_too_long_with_its_sidecar_is_refused_before_painting(tiny, pics, capsys):
    name = "x" * 250 + ".png"  # fits; its sidecar's name (.png.json) does not
    manifest = _manifest(pics, ["{photo},{style}," + name])
    code, err = batch(capsys, "--manifest", manifest, "-o", pics["out"], *FAST)
    line = one_line(err)
    assert code == 2 and "longer than the 255 this filesystem allows" in line, err
    assert files(pics["out"]) == {}


# ------------------------------------------------------------ temporary folders (item 4)


def _job_folders(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("impasto-job-*"))


def test_a_driver_killed_outright_leaves_no_job_folder_behind(pics, tmp_path):
    """kill -9 of the driver while a job runs: its worker removes the job's copy of the
    inputs as it ends, and the next batch finds none to clean."""
    import time

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, str(CHILD), "batch", str(pics["photo"]), "--styles",
            str(pics["style"]), "-o", str(pics["out"]), "--size", "32", "--min-size", "0",
            "--iterations", "3000", "-q"]  # fmt: skip
    driver = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not _job_folders(tmp) and time.monotonic() < deadline:
            assert driver.poll() is None, driver.communicate()[1]
            time.sleep(0.05)
        assert _job_folders(tmp), "no job started"
        driver.kill()
        driver.wait()
        deadline = time.monotonic() + 30
        while _job_folders(tmp) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _job_folders(tmp) == []
    finally:
        driver.kill()
        driver.wait()
    again = subprocess.run(argv[:-7] + ["--size", "24", "--min-size", "0", "--iterations", "2",
                                        "-q"], env=env, timeout=240)  # fmt: skip
    assert again.returncode == 0 and _job_folders(tmp) == []


def test_a_job_folder_of_a_dead_process_is_removed_and_a_live_one_kept(pics, tmp_path):
    """A worker killed outright (the out-of-memory killer) cannot clean up: the next batch's
    first job removes its folder (its process gone, its lock free), never one that a live
    process holds: another batch's, here or in another PID namespace (locked)."""
    import fcntl

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip

    def job_folder(name: str, lock: bool) -> Path:
        folder = tmp / f"impasto-job-{name}"
        folder.mkdir()
        (folder / "photo.png").write_bytes(b"a copy of an input")
        owner = open(folder / ".owner", "w")  # noqa: SIM115
        if lock:
            fcntl.flock(owner, fcntl.LOCK_EX)
            held.append(owner)
        else:
            owner.close()
        return folder

    held: list = []
    stale = job_folder(f"{gone}-a1b2c3", lock=False)
    live = job_folder(f"{os.getpid()}-d4e5f6", lock=True)
    elsewhere = job_folder(f"{gone}-g7h8i9", lock=True)  # a PID of another namespace
    env = {**os.environ, "TMPDIR": str(tmp), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(CHILD), "batch", str(pics["photo"]), "--styles",
         str(pics["style"]), "-o", str(pics["out"]), *FAST], env=env, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0
    assert not stale.exists()
    assert (live / "photo.png").is_file() and (elsewhere / "photo.png").is_file()
    for owner in held:
        owner.close()


def test_a_full_temporary_disk_is_a_failed_job_not_a_bug(pics, tmp_path, monkeypatch):
    """The worker copies the inputs into the temporary folder: when they do not fit, the job
    fails with the folder and the reason, as a bad input (exit status 2), and leaves no
    folder behind."""
    import errno
    import tempfile

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    real = Path.write_bytes

    def full(path: Path, data: bytes) -> int:
        if str(path).startswith(str(tmp)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    names = [str(pics["photo"]), str(pics["style"])]
    task = worker.Task("x.png", StyleConfig(size=24), names[0], (names[1],), None, (),
                       "png", 95, 8, 1)  # fmt: skip
    result = worker.paint(task, *(Path(n).read_bytes() for n in names))
    assert (result["status"], result["kind"]) == ("failed", "input"), result
    assert result["error"].startswith(f"{tmp}{os.sep}impasto-job-{os.getpid()}-")
    assert result["error"].endswith(": cannot copy the inputs there (no space left on the device)")
    assert list(tmp.iterdir()) == []
