"""Fixtures: a tiny random network instead of real weights, and an empty weights cache."""

from __future__ import annotations

import pytest
import torch

from helpers import tiny_weights


@pytest.fixture
def tiny_network(monkeypatch, tmp_path):
    """Every network is a random narrow VGG; the weights cache is an empty temporary folder.

    The one place networks get their weights (``vgg._state_dict``, under ``load_network``)
    gives the tiny ones. One torch thread: the tiny convolutions gain nothing from more, and
    lose a lot when other processes share the CPU. Returns the list of weights loads (their
    network and weights file).
    """
    from impasto.network import store, vgg

    calls: list[dict] = []

    def state_dict(network, weights_path=None, on_progress=None):
        calls.append({"network": network, "weights_path": weights_path})
        if weights_path is not None:  # a --weights file is still read and validated for real
            store.load_weights(network, weights_path)
        return tiny_weights(network)

    monkeypatch.setattr(vgg, "_state_dict", state_dict)
    monkeypatch.setenv("IMPASTO_HOME", str(tmp_path / "impasto-home"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield calls
    torch.set_num_threads(threads)


@pytest.fixture
def full_disk(monkeypatch):
    """``fill(folder, after=0)``: the disk under ``folder`` is full from the ``after + 1``-th
    write of a file there on. A write is refused where a full disk refuses it at the latest:
    when the data is flushed to it (``os.fsync``), with ENOSPC."""
    import errno
    import os

    real = os.fsync

    def fill(folder, after: int = 0) -> None:
        count = 0

        def fsync(fd: int) -> None:
            nonlocal count
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder)):
                count += 1
                if count > after:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            real(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    yield fill


@pytest.fixture
def web(tiny_network, tmp_path):
    """The web page's app with the tiny network, driven over HTTP (``test_web.Running``)."""
    from test_web import Running

    running = Running(tmp_path / "serve")
    yield running
    running.stop()
