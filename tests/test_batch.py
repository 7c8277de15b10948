"""impasto batch, the fast tier: manifests, names, skip-if-done, sidecars, the local scheduler
(real worker processes painting with a tiny random network), stops and resumes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

import helpers
from impasto import __version__
from impasto.apps.batch import driver, local, plan, sidecar, worker
from impasto.apps.batch.manifest import read_manifest
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.errors import ConfigError
from impasto.files import sha256_file

TINY = StyleConfig(size=24, min_size=0, iterations=3)


def _image(path: Path, seed: int, size=(30, 20)) -> Path:
    rgb = helpers.picture(size[1], size[0], seed)
    pixels = (rgb.permute(1, 2, 0).numpy() * 255).round().astype("uint8")
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def pics(tmp_path):
    """Two contents and two styles in their own folders."""
    return {
        "contents": [_image(tmp_path / "in" / f"photo{i}.png", i) for i in (1, 2)],
        "styles": [_image(tmp_path / "art" / f"paint{i}.png", 10 + i) for i in (1, 2)],
        "out": tmp_path / "out",
    }


def _output(folder: Path, **kw) -> plan.Output:
    folder.mkdir(parents=True, exist_ok=True)
    return plan.Output(folder, **kw)


# ------------------------------------------------------------------------ manifests


def test_csv_manifest_rows_override_the_base_config_and_paths_are_relative_to_it(tmp_path):
    _image(tmp_path / "m" / "a.png", 1)
    manifest = tmp_path / "m" / "jobs.csv"
    manifest.write_text(
        "content,style,size,style-weight,content_layers,output,init\n"
        "a.png,s1.jpg;s2.jpg,64,,relu3_1,mine.jpg,noise\n"
        "# a comment\n"
        "\n"
        "/abs/b.png,s1.jpg,,5,,,\n"
    )
    base = StyleConfig(size=32, style_weight=7)
    first, second = read_manifest(manifest, base)
    folder = tmp_path / "m"
    assert first.content == folder / "a.png"
    assert first.styles == (folder / "s1.jpg", folder / "s2.jpg")
    assert (first.config.size, first.config.style_weight) == (64, 7)  # empty cell: the base
    assert first.config.content_layers == ("relu3_1",)
    assert first.config.init == "noise" and first.init is None
    assert first.output == "mine.jpg" and first.where == f"{manifest}:2"
    assert second.content == Path("/abs/b.png") and second.where == f"{manifest}:5"
    assert (second.config.size, second.config.style_weight) == (32, 5.0)
    assert second.output is None


def test_json_manifest_takes_native_values_lists_and_an_init_file(tmp_path):
    manifest = tmp_path / "jobs.json"
    manifest.write_text(
        json.dumps(
            {
                "jobs": [
                    {"content": "a.png", "style": ["s1.png", "s2.png"], "size": 48.0},
                    {"content": "b.png", "styles": "s1.png", "init": "start.png",
                     "style_blend": [2, 1], "preserve_color": "luminance"},
                ]
            }
        )
    )  # fmt: skip
    first, second = read_manifest(manifest, StyleConfig())
    assert first.styles == (tmp_path / "s1.png", tmp_path / "s2.png")
    assert first.config.size == 48 and isinstance(first.config.size, int)
    assert second.init == tmp_path / "start.png" and second.config.init == StyleConfig().init
    assert second.config.style_blend == (2.0, 1.0)
    assert second.config.preserve_color == "luminance"
    assert second.where == f"{manifest}: job 2"


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("a.csv", "content,style,colour\nx.png,y.png,red\n", ":2: unknown column 'colour'"),
        ("a.csv", "content,style,size\nx.png,y.png,big\n", ":2: size must be a whole number"),
        ("a.csv", "content,style,size\nx.png,y.png,0\n", ":2: size must be > 0, got 0"),
        ("a.csv", "content,style,strength\nx.png,y.png,nan\n", "strength must be a finite"),
        ("a.csv", "content,style\nx.png,\n", ":2: no style"),
        ("a.csv", "style\ny.png\n", ":1: the header row must name the columns"),
        ("a.csv", "content,style,output\nx.png,y.png,sub/o.png\n", "output must be a file name"),
        ("a.csv", "content,style,output\nx.png,y.png,o.gif\n", "has no known extension"),
        ("a.csv", "content,style\nx.png,y.png,z\n", ":2: 3 cells for 2 columns"),
        ("a.csv", "", "empty manifest"),
        ("a.csv", "content,style\n", "lists no jobs"),
        ("a.json", '[{"content": "x.png", "style": "y.png",', ":1: not valid JSON"),
        ("a.json", '{"content": "x.png"}', "expected a list of jobs"),
        ("a.json", '[{"content": "x.png", "style": "y.png"}, 3]', "job 2: expected an object"),
        (
            "a.json",
            '[{"content": "x.png", "style": "y.png", "size": true}]',
            "size must be a whole number, got True",
        ),
        ("a.json", '[{"content": ["a.png", "b.png"], "style": "y.png"}]', "one content per job"),
    ],
)
def test_manifest_errors_are_one_line_naming_the_file_and_row(tmp_path, name, text, expected):
    manifest = tmp_path / name
    manifest.write_text(text)
    with pytest.raises(ConfigError) as caught:
        read_manifest(manifest, StyleConfig())
    message = str(caught.value)
    assert expected in message and str(manifest) in message and "\n" not in message


def test_a_missing_manifest_says_so(tmp_path):
    with pytest.raises(ConfigError, match="manifest not found"):
        read_manifest(tmp_path / "nope.csv", StyleConfig())


# ------------------------------------------------------------------------ the job list and names


def test_grid_is_every_content_with_every_style_and_folders_expand(pics):
    jobs, grid = plan.grid_jobs([pics["contents"][0].parent], [pics["styles"][0].parent], TINY)
    pairs = [(j.content.name, j.styles[0].name) for j in jobs]
    assert pairs == [
        ("photo1.png", "paint1.png"),
        ("photo1.png", "paint2.png"),
        ("photo2.png", "paint1.png"),
        ("photo2.png", "paint2.png"),
    ]
    assert grid is not None and [p.name for p in grid[1]] == ["paint1.png", "paint2.png"]


def test_pairs_take_the_ith_style_and_need_as_many(pics):
    jobs, grid = plan.grid_jobs(pics["contents"], pics["styles"], TINY, pairs=True)
    assert [(j.content.name, j.styles[0].name) for j in jobs] == [
        ("photo1.png", "paint1.png"),
        ("photo2.png", "paint2.png"),
    ]
    assert grid is None
    with pytest.raises(ConfigError, match="2 contents, 1 styles"):
        plan.grid_jobs(pics["contents"], pics["styles"][:1], TINY, pairs=True)


def test_names_are_readable_deterministic_and_follow_settings_and_pictures(pics, tmp_path):
    output = _output(pics["out"])
    jobs, grid = plan.grid_jobs(pics["contents"], pics["styles"], TINY)
    names = [e.name for e in plan.plan(jobs, output, grid).jobs]
    assert names == [e.name for e in plan.plan(jobs, output, grid).jobs]  # deterministic
    first = names[0]
    assert first.startswith("photo1_paint1_") and first.endswith(".png")
    assert len(first) == len("photo1_paint1_") + plan.KEY_DIGITS + len(".png")
    assert len(set(names)) == 4
    # another setting, another format: other names; the same settings again: the same name
    stronger = [plan.BatchJob(j.content, j.styles, StyleConfig(size=24, min_size=0,
                iterations=3, style_weight=50)) for j in jobs]  # fmt: skip
    assert plan.plan(stronger, output).jobs[0].name != first
    as_jpeg = plan.plan(jobs, plan.Output(output.folder, fmt="jpg")).jobs[0].name
    assert as_jpeg.endswith(".jpg") and Path(as_jpeg).stem != Path(first).stem
    assert (
        plan.plan([plan.BatchJob(jobs[0].content, jobs[0].styles, TINY)], output).jobs[0].name
        == first
    )
    # a changed picture is another job, and a content of the same name elsewhere too
    _image(pics["contents"][0], 99)
    assert plan.plan(jobs, output).jobs[0].name != first
    changed = plan.plan(jobs, output).jobs[0].name
    twin = _image(tmp_path / "elsewhere" / "photo1.png", 5)
    same_name = plan.plan([plan.BatchJob(twin, jobs[0].styles, TINY)], output).jobs[0].name
    assert same_name.startswith("photo1_paint1_") and same_name not in (names[0], changed)
    copy = tmp_path / "copy" / "photo1.png"  # the same bytes elsewhere: the same picture
    copy.parent.mkdir()
    copy.write_bytes(twin.read_bytes())
    assert plan.plan([plan.BatchJob(copy, jobs[0].styles, TINY)], output).jobs[0].name == same_name


def test_duplicates_are_painted_once_and_a_chosen_name_is_kept(pics):
    content, style = pics["contents"][0], pics["styles"][0]
    job = plan.BatchJob(content, (style,), TINY)
    named = plan.BatchJob(content, (style,), TINY, output="chosen.webp")
    result = plan.plan([job, job, named], _output(pics["out"]))
    assert [e.name for e in result.jobs][1:] == ["chosen.webp"] and result.duplicates == 1
    clash = plan.BatchJob(pics["contents"][1], (style,), TINY, output="chosen.webp")
    with pytest.raises(ConfigError, match="also given to another job"):
        plan.plan([named, clash], _output(pics["out"]))


def test_unreadable_inputs_are_a_failed_job_not_a_failed_plan(pics, tmp_path):
    missing = plan.BatchJob(tmp_path / "gone.png", (pics["styles"][0],), TINY)
    good = plan.BatchJob(pics["contents"][0], (pics["styles"][0],), TINY)
    bad, fine = plan.plan([missing, good], _output(pics["out"])).jobs
    assert bad.error == f"{tmp_path / 'gone.png'}: file not found; check the path"
    assert bad.name.startswith("gone_paint1_") and fine.error is None


# ------------------------------------------------------------------------ sidecars, skipping


def _result(**extra):
    return {
        "status": "done",
        "image": b"PNG",
        "size": [24, 16],
        "steps": 3,
        "losses": {"content": 0.5, "style": 1.5, "tv": 0.1, "total": 2.1},
        "seconds": 1.25,
        "network": "vgg16-hed",
        "weights_sha256": "ab" * 32,
        "machine": {"host": "h", "cpu": "c", "threads": 1, "pid": 7},
        **extra,
    }


def test_sidecar_records_what_reproduces_the_picture(pics):
    style = pics["styles"][0]
    job = plan.BatchJob(pics["contents"][0], (style.parent,), TINY, where="jobs.csv:3")
    entry = plan.plan([job], _output(pics["out"])).jobs[0]
    record = sidecar.sidecar(entry, _result())
    assert record["status"] == "done" and record["key"] == entry.key
    assert record["output"] == entry.name and record["source"] == "jobs.csv:3"
    assert record["content"] == {
        "path": str(pics["contents"][0]),
        "sha256": sha256_file(pics["contents"][0]),
    }
    assert [s["path"] for s in record["styles"]] == [str(p) for p in pics["styles"]]
    assert record["styles"][1]["sha256"] == sha256_file(pics["styles"][1])
    assert record["config"] == plan.config_dict(TINY) and record["config"]["size"] == 24
    assert StyleConfig(**{k: tuple(v) if isinstance(v, list) else v
                          for k, v in record["config"].items()}) == TINY  # fmt: skip
    assert record["impasto"] == __version__
    assert (record["network"], record["weights_sha256"]) == ("vgg16-hed", "ab" * 32)
    assert record["losses"]["total"] == 2.1 and record["seconds"] == 1.25
    assert record["machine"]["threads"] == 1 and record["size"] == [24, 16]
    assert "image" not in record
    json.dumps(record)  # all of it is JSON


def test_done_needs_the_picture_and_a_done_sidecar_with_the_same_key(pics):
    folder = pics["out"]
    entry = plan.plan(
        [plan.BatchJob(pics["contents"][0], (pics["styles"][0],), TINY)], _output(folder)
    ).jobs[0]
    side = sidecar.sidecar_path(folder, entry)
    record = sidecar.sidecar(entry, _result())
    assert not sidecar.is_done(folder, entry)
    sidecar.write_json(side, record)
    assert not sidecar.is_done(folder, entry)  # a sidecar without its picture
    (folder / entry.name).write_bytes(b"png")
    assert sidecar.is_done(folder, entry)
    for change in ({"status": "partial"}, {"key": "0" * 64}):
        sidecar.write_json(side, {**record, **change})
        assert not sidecar.is_done(folder, entry)
    side.write_text("{not json")
    assert not sidecar.is_done(folder, entry)
    side.unlink()
    assert not sidecar.is_done(folder, entry)  # a picture without its sidecar


def test_atomic_write_leaves_no_temp_file_when_it_fails(tmp_path):
    target = tmp_path / "a.json"
    sidecar.write_json(target, {"a": 1})
    with pytest.raises(TypeError):
        sidecar.write_json(target, {"a": object()})
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


# ------------------------------------------------------------------------ cores


@pytest.mark.parametrize("workers, cores, threads", [(1, 2, 2), (2, 2, 1), (2, 5, 2), (3, 3, 1)])
def test_threads_per_worker_divide_the_cores(workers, cores, threads):
    assert local.threads_per_worker(workers, cores) == threads
    assert local.threads_per_worker(workers, cores) * workers <= cores


def test_more_workers_than_cores_is_refused():
    with pytest.raises(ConfigError, match="3 workers need at least 3 cores"):
        local.threads_per_worker(3, 2)


# ------------------------------------------------------------------------ running


def _request(pics, **kw) -> driver.Request:
    values = dict(
        output=str(pics["out"]),
        contents=tuple(map(str, pics["contents"])),
        styles=tuple(map(str, pics["styles"])),
        config=TINY,
        workers=2,
        cores=2,
    )
    return driver.Request(**{**values, **kw})  # type: ignore[arg-type]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_grid_in_two_workers_writes_pictures_sidecars_and_summary_then_skips(pics):
    """Two good contents and a broken one, two styles: the broken one fails alone with its
    one line; the rest are painted in two worker processes of one thread each."""
    bad = pics["contents"][0].parent / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    request = _request(pics, contents=(str(bad.parent),), contact_sheet=True)
    lines: list[str] = []
    report = driver.run(request, lines.append, helpers.tiny_paint)
    assert report.stopped is None
    assert (report.counts["done"], report.counts["failed"]) == (4, 2)
    for name, kind, error in report.failures:
        assert name.startswith("broken_") and kind == "input"
        assert error.startswith(f"{bad}: ") and "\n" not in error and "impasto-job" not in error
    folder = pics["out"]
    assert not [n for n in _files(folder) if n.startswith("broken_")]
    pictures = [n for n in _files(folder) if n.startswith("photo") and n.endswith(".png")]
    assert len(pictures) == 4
    for name in pictures:
        with Image.open(folder / name) as im:
            assert max(im.size) == 24
        record = json.loads((folder / f"{name}.json").read_text())
        assert record["status"] == "done" and record["output"] == name
        assert record["key"][: plan.KEY_DIGITS] in name
        assert record["weights_sha256"] == "tiny-vgg16-hed"
        assert record["machine"]["threads"] == 1  # 2 cores / 2 workers: never oversubscribed
        assert record["machine"]["pid"] != os.getpid()  # painted in a worker process
        assert set(record["losses"]) == {"content", "style", "tv", "total"}
    summary = json.loads((folder / sidecar.SUMMARY_NAME).read_text())
    assert summary["counts"]["done"] == 4 and summary["finished"] is True
    assert "2 local worker(s), 1 thread(s) each" in summary["runner"]
    failed = [row for row in summary["jobs"] if row["status"] == "failed"]
    assert [row["error"] for row in failed] == [error for _, _, error in report.failures]
    assert report.sheet == folder / "contact-sheet.png"
    with Image.open(report.sheet) as sheet:
        assert sheet.size[0] > 2 * 160  # two columns: the styles
    assert sum("] done " in line for line in lines) == 4
    assert sum("failed broken_" in line for line in lines) == 2
    assert not [n for n in _files(folder) if n.startswith(".")]  # no temp files
    # --overwrite paints every job again (a plain re-run skips them: see the Ctrl-C test);
    # one worker gets all the cores.
    first = {n: json.loads((folder / f"{n}.json").read_text()) for n in pictures}
    redo = dataclasses.replace(request, overwrite=True, workers=1)
    again = driver.run(redo, painter=helpers.tiny_paint)
    assert (again.counts["skipped"], again.counts["done"], again.counts["failed"]) == (0, 4, 2)
    for name in pictures:
        record = json.loads((folder / f"{name}.json").read_text())
        assert record["machine"]["threads"] == 2 and record["key"] == first[name]["key"]
        assert record["machine"]["pid"] not in {r["machine"]["pid"] for r in first.values()}


def test_ctrl_c_stops_running_jobs_writes_nothing_partial_and_a_rerun_resumes(pics):
    """Tiny jobs of a second or more; Ctrl-C after the first is done: the running ones are
    interrupted and leave no file (the batch keeps no best-so-far picture), the summary says
    what finished, and a re-run paints only the rest."""
    slow = StyleConfig(size=32, min_size=0, iterations=20)
    request = _request(pics, config=slow)
    folder = pics["out"]
    summary_path = folder / sidecar.SUMMARY_NAME

    def interrupt_after_the_first() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            record = sidecar.read_json(summary_path)
            if record and record["counts"]["done"] >= 1:
                break
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    killer = threading.Thread(target=interrupt_after_the_first)
    killer.start()
    report = driver.run(request, painter=helpers.slow_tiny_paint)
    killer.join()
    assert report.stopped == "interrupted"
    done = report.counts["done"]
    assert 1 <= done < 4 and report.counts["interrupted"] >= 1 and not report.failures
    pictures = [n for n in _files(folder) if n.startswith("photo") and n.endswith(".png")]
    assert len(pictures) == done  # nothing half-written, no best-so-far picture
    assert all((folder / f"{n}.json").is_file() for n in pictures)
    assert not [n for n in _files(folder) if n.startswith(".")]
    summary = json.loads(summary_path.read_text())
    assert summary["stopped"] == "interrupted" and summary["finished"] is False
    assert summary["counts"]["done"] == done
    assert {r["output"] for r in summary["jobs"] if r["status"] == "done"} == set(pictures)
    stamps = {n: (folder / n).stat().st_mtime_ns for n in pictures}
    rest = driver.run(request, painter=helpers.slow_tiny_paint)
    assert (rest.counts["skipped"], rest.counts["done"]) == (done, 4 - done)
    assert stamps == {n: (folder / n).stat().st_mtime_ns for n in pictures}  # none twice


# ------------------------------------------------------------------------ the command line


def test_cli_usage_errors_exit_2_with_one_line(pics, capsys):
    assert main(["batch", "-o", str(pics["out"]), str(pics["contents"][0])]) == 2
    assert "no styles" in capsys.readouterr().err
    status = main(["batch", "-o", str(pics["out"]), "--workers", "3", "--cores", "2",
                   str(pics["contents"][0]), "--styles", str(pics["styles"][0])])  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err
    assert "3 workers need at least 3 cores" in err and len(err.strip().splitlines()) == 1
    manifest = pics["out"].parent / "m.csv"
    manifest.write_text("content,style,size\na.png,b.png,-4\n")
    assert main(["batch", "--manifest", str(manifest), "-o", str(pics["out"])]) == 2
    assert "m.csv:2: size must be > 0" in capsys.readouterr().err  # its column


def test_ray_without_the_extra_says_how_to_install_it(pics, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    argv = ["batch", str(pics["contents"][0]), "--styles", str(pics["styles"][0]),
            "-o", str(pics["out"]), "--ray", "127.0.0.1:1"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'impasto[ray]'" in err and len(err.splitlines()) == 1
    assert not pics["out"].exists()  # said before anything was read or made


def _help_imports(argv: list[str]) -> tuple[str, str]:
    code = (
        "import sys\nfrom impasto.apps.main import main\n"
        f"status = main({argv!r})\n"
        "print(status, 'torch' in sys.modules, 'ray' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return result.stdout, result.stdout.strip().splitlines()[-1]


def test_help_needs_no_ray_and_the_main_help_no_torch():
    printed, loaded = _help_imports(["--help"])
    assert loaded == "0 False False" and "impasto batch --help" in printed
    printed, loaded = _help_imports(["batch", "--help"])
    # (torch comes with the subcommands' parser: `explain` reads its defaults from torch code)
    assert loaded.startswith("0 ") and loaded.endswith(" False")
    assert "--manifest FILE" in printed and "--style-weight" in printed


def test_exit_status_is_the_most_serious_failure(monkeypatch, pics):
    from impasto.apps.batch import main as cli_batch

    def fake(kinds):
        failures = [(f"n{i}", k, "e") for i, k in enumerate(kinds)]
        counts = dict(done=1, skipped=0, failed=len(kinds), interrupted=0, pending=0)
        return lambda request, say: driver.Report(counts, failures, None, Path("s.json"))

    argv = ["batch", str(pics["contents"][0]), "--styles", "x.png", "-o", str(pics["out"])]
    for kinds, status in ((["input"], 2), (["diverged", "memory"], 3), (["bug", "input"], 4)):
        monkeypatch.setattr(driver, "run", fake(kinds))
        assert main(argv) == status
    monkeypatch.setattr(driver, "run", fake([]))
    assert main(argv) == 0
    assert cli_batch.EXIT_FOR_KIND["worker"] == 3


def test_worker_reports_a_cancelled_run_as_interrupted(pics, tiny_network, monkeypatch):
    class Stopped:
        def is_set(self) -> bool:
            return True

    def network(job):
        config = job.config
        layers = config.content_layers + config.style_layers
        return helpers.tiny_network(config.network, layers), "tiny"

    monkeypatch.setattr(worker, "_network", network)
    monkeypatch.setattr(worker, "_cancel", worker._EventToken(Stopped()))
    names = [str(pics["contents"][0]), str(pics["styles"][0])]
    task = worker.Task("x.png", TINY, names[0], (names[1],), None, (), "png", 95, 8, 1)
    blobs = [Path(n).read_bytes() for n in names]
    assert worker.paint(task, *blobs) == {"status": "interrupted"}
    monkeypatch.setattr(worker, "_cancel", None)
    done = worker.paint(task, *blobs)
    assert done["status"] == "done" and done["image"].startswith(b"\x89PNG")


def test_a_dead_worker_costs_one_retry_then_the_job_fails(tmp_path):
    def task(name: str) -> worker.Task:
        content = tmp_path / f"{name}.png"
        return worker.Task(name, TINY, str(content), (), None, (), "png", 95, 8, 1)

    pool = local.LocalPool(1, 1, helpers.dying_paint)
    try:
        results = []
        for name in ("die-once", "always-die"):
            pool.submit(name, task(name), [])
            deadline = time.monotonic() + 120
            while pool.running and time.monotonic() < deadline:
                results.extend(pool.results(0.2))
        (first, once), (second, always) = results
        assert first == "die-once" and once["status"] == "done"  # painted by a fresh worker
        assert (tmp_path / "die-once.died").exists()
        assert second == "always-die" and always["status"] == "failed"
        assert always["kind"] == "worker" and "died twice" in always["error"]
    finally:
        pool.close()


def test_stop_turns_the_first_signal_into_a_flag_and_the_second_into_an_interrupt():
    stop = driver.Stop()
    with stop.installed():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)
        assert stop.reason == "terminated"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
    assert signal.getsignal(signal.SIGTERM) is not stop._on_signal  # put back


def test_an_unreachable_ray_cluster_is_one_line_at_once(pics, capsys):
    pytest.importorskip("ray")
    import socket

    with socket.socket() as s:  # a loopback port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["batch", str(pics["contents"][0]), "--styles", str(pics["styles"][0]),
            "-o", str(pics["out"]), "--ray", f"127.0.0.1:{port}"]  # fmt: skip
    start = time.monotonic()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in err
    assert len(err.splitlines()) == 1 and time.monotonic() - start < 60


def test_a_manifest_batch_paints_each_row_with_its_own_settings(pics):
    manifest = pics["out"].parent / "jobs.json"
    rows = [
        {"content": "in/photo1.png", "style": "art/paint1.png", "size": 28},
        {"content": "in/photo2.png", "style": ["art/paint1.png", "art/paint2.png"],
         "style_blend": "2,1", "output": "blend.jpg"},
    ]  # fmt: skip
    manifest.write_text(json.dumps(rows))
    request = driver.Request(output=str(pics["out"]), manifest=str(manifest), config=TINY)
    report = driver.run(request, painter=helpers.tiny_paint)
    assert report.counts["done"] == 2 and not report.failures, report.failures
    folder = pics["out"]
    (small,) = [n for n in _files(folder) if n.startswith("photo1_paint1_") and n.endswith(".png")]
    with Image.open(folder / small) as im:
        assert max(im.size) == 28
    with Image.open(folder / "blend.jpg") as im:
        assert im.format == "JPEG" and max(im.size) == 24  # the base size; its own format
    record = json.loads((folder / "blend.jpg.json").read_text())
    assert record["config"]["style_blend"] == [2.0, 1.0] and len(record["styles"]) == 2
    assert record["source"] == f"{manifest}: job 2"
    assert record["machine"]["threads"] == local.available_cores()  # one worker, every core


def test_the_first_job_on_a_machine_fetches_the_weights_and_the_others_wait(tmp_path, monkeypatch):
    """Four jobs start at once on an empty cache: one fetch, under the machine-wide lock."""
    from impasto import jobs
    from impasto.network import store

    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path / "cache"))
    fetches: list[str] = []

    def fetch(name, **kw):
        fetches.append(name)
        time.sleep(0.3)  # a download takes a while; the others must wait, not fetch too
        path = store.cached_path(name)
        path.write_bytes(b"weights")
        return path

    monkeypatch.setattr(store, "fetch", fetch)
    monkeypatch.setattr(jobs, "load_network", lambda config: "network")
    monkeypatch.setattr(jobs, "weights_digest", lambda config: "digest")

    class Job:
        config = TINY

    results: list[tuple] = []
    threads = [
        threading.Thread(target=lambda: results.append(worker._network(Job()))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fetches == ["vgg16-hed"] and results == [("network", "digest")] * 4
    assert (tmp_path / "cache" / ".fetch.lock").exists()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().split()[3] == str(pid):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_workers_end_when_their_driver_is_killed_outright(pics, tmp_path):
    """SIGKILL leaves the driver no chance to stop its workers: they notice and end."""
    script = tmp_path / "drive.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(helpers.__file__).parent)!r})\n"
        "import helpers\n"
        "from impasto.apps.batch import driver\n"
        "from impasto.config import StyleConfig\n"
        "if __name__ == '__main__':\n"
        f"    request = driver.Request(output={str(pics['out'])!r}, "
        f"contents=({str(pics['contents'][0])!r},), styles=({str(pics['styles'][0])!r},), "
        "config=StyleConfig(size=24, min_size=0, iterations=3), workers=2, cores=2)\n"
        "    driver.run(request, painter=helpers.slow_tiny_paint)\n"
    )
    process = subprocess.Popen([sys.executable, str(script)])
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:  # a worker and the tracker
            workers = _children(process.pid)
            time.sleep(0.1)
        assert workers, "no worker process started"
        time.sleep(0.5)
        process.kill()
        process.wait()
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in workers if _alive(p)]
    finally:
        process.kill()
        for pid in [*_children(process.pid), *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
