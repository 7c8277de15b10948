"""The figure and benchmark scripts (docs/, benchmarks/) run from a fresh clone: as modules
(``python -m docs.make_regions``), with no ``sys.path`` edits, and reading nothing outside
the repository (the images they need ship with it, credits beside them)."""

from __future__ import annotations

import subprocess
import sys

from helpers import ROOT

SCRIPTS = sorted(
    p
    for folder in ("docs", "benchmarks")
    for p in (ROOT / folder).rglob("*.py")
    if p.name != "__init__.py"
)


def test_no_script_edits_sys_path_or_reads_outside_the_repository():
    for path in SCRIPTS:
        text = path.read_text()
        assert "sys.path.insert" not in text, path
        assert '"shared"' not in text and "../shared" not in text, path


def test_every_script_imports_as_a_module_from_the_root():
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in SCRIPTS]
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    done = subprocess.run(
        [sys.executable, "-c", code, *modules], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_the_quality_benchmarks_images_are_in_the_repository():
    import importlib.util

    spec = importlib.util.spec_from_file_location("run", ROOT / "benchmarks/quality/run.py")
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    for name in [*run.PHOTOS.values(), *run.PAINTINGS.values(), *run.REFERENCES.values()]:
        assert (ROOT / "benchmarks" / "quality" / "images" / name).is_file(), name
