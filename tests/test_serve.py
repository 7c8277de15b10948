"""``impasto serve`` as a command: its help, the missing extra, the address, the warning, Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest

import browsing
from helpers import ROOT


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=ROOT,
    )


def _loaded_after(argv: list[str]) -> str:
    code = (
        "import sys\n"
        "from impasto.apps.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "names = ('torch', 'starlette', 'uvicorn', 'impasto.apps.web.app',\n"
        "         'impasto.apps.web.server')\n"
        "print('LOADED', sorted(n for n in names if n in sys.modules))\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_help_imports_neither_torch_nor_the_web_server():
    text = _loaded_after(["--help"])
    assert "LOADED []" in text and "impasto serve [--port N]" in text


def test_serve_help_does_not_start_or_import_the_web_server():
    text = _loaded_after(["serve", "--help"])
    assert "--port N" in text and "--host H" in text and "--open" in text
    loaded = text.split("LOADED", 1)[1]
    assert "starlette" not in loaded and "uvicorn" not in loaded and "apps.web." not in loaded


def test_without_the_web_extra_serve_says_how_to_install_it():
    # Hide the extra's modules from the import system, as in a core-only install.
    code = (
        "import sys, importlib.abc\n"
        "class Hide(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('starlette', 'uvicorn', 'python_multipart'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from impasto.apps.main import main\n"
        "sys.exit(main(['serve']))\n"
    )
    result = _python(code)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'impasto[web]'" in lines[0], result.stderr


def _serve(tmp_path, *args: str) -> tuple[subprocess.Popen, str]:
    """``impasto serve --port 0 ARGS`` and the address it printed."""
    return browsing.start_serve(tmp_path, *args)


@pytest.mark.parametrize(
    "stop, host", [(signal.SIGINT, "127.0.0.1"), (signal.SIGTERM, "0.0.0.0")], ids=["int", "term"]
)
def test_serve_prints_its_address_and_cleans_up_when_stopped(tmp_path, stop, host):
    pytest.importorskip("starlette", reason="the web extra is not installed")
    process, url = _serve(tmp_path, *(["--host", host] if host != "127.0.0.1" else []))
    try:
        assert url.startswith(f"http://{host}:")
        page = url.replace("0.0.0.0", "127.0.0.1")
        with urllib.request.urlopen(page, timeout=30) as response:
            assert b"<title>impasto" in response.read()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("impasto-serve-")]
    finally:
        process.send_signal(stop)
        code = process.wait(30)
    stderr = process.stderr.read()
    assert code == 0 and "stopped; temporary files removed" in stderr, stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("impasto-serve-")]
    # another address than loopback only with --host, and then with a warning
    warned = "warning: listening on 0.0.0.0" in stderr and "no password" in stderr
    assert warned == (host == "0.0.0.0")


def test_a_port_in_use_is_one_line_and_status_2():
    pytest.importorskip("starlette", reason="the web extra is not installed")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "impasto", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"cannot listen on 127.0.0.1 port {port}" in result.stderr


@pytest.mark.parametrize(
    "name, words",
    [
        ("cuda", "impasto: error: --device cuda is not available: "),
        ("tpu", "impasto serve: error: argument --device: must be auto, cpu, cuda, cuda:N or mps"),
    ],
)
def test_a_device_that_is_not_there_is_one_line_and_nothing_is_served(tmp_path, name, words):
    pytest.importorskip("starlette", reason="the web extra is not installed")
    if name == "cuda":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA GPU")
    result = subprocess.run(
        [sys.executable, "-m", "impasto", "serve", "--port", "0", "--device", name],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(words), result.stderr
    assert "serving on" not in result.stdout and list(tmp_path.iterdir()) == []  # not started
