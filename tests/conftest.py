"""Fixtures: a tiny random network instead of real weights, and an empty weights cache."""

from __future__ import annotations

import pytest
import torch

from helpers import tiny_network as _tiny


@pytest.fixture
def tiny_network(monkeypatch, tmp_path):
    """Every network is a random narrow VGG; the weights cache is an empty temporary folder.

    One torch thread: the tiny convolutions gain nothing from more, and lose a lot when other
    processes share the CPU. Returns the list of load_features calls (their keyword arguments).
    """
    from impasto import jobs
    from impasto.engine import pyramid
    from impasto.network import store, vgg

    calls: list[dict] = []

    def load_features(network, layers, pooling="avg", weights_path=None, on_progress=None):
        calls.append({"network": network, "weights_path": weights_path})
        if weights_path is not None:  # a --weights file is still read and validated for real
            store.load_weights(network, weights_path)
        return _tiny(network, layers, pooling)

    for module in (vgg, pyramid, jobs):
        monkeypatch.setattr(module, "load_features", load_features)
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
