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
    from ...config import DEFAULT_NETWORK
    from ...jobs import weights

    for spec, path, cached in weights.status():
        default = " (default)" if spec.name == DEFAULT_NETWORK else ""
        print(f"{spec.name}{default}: {spec.description}")
        if path is None:
            print(f"    not cached; {_how_to_get(spec)}")
        elif cached:
            print(f"    cached: {path}")
        else:
            print(f"    found (torch hub cache): {path}")
    print(f"cache folder: {weights.cache_dir()} (set IMPASTO_HOME to move it)")


def _how_to_get(spec: Any) -> str:
    if spec.package is not None:
        return f"run: impasto weights fetch {spec.name} (source: {spec.source})"
    return f"source: {spec.source}; run: impasto weights fetch {spec.name} --from FILE"


def _fetch(args: argparse.Namespace) -> int:
    from ...jobs import weights

    if args.source is None and not args.force and weights.is_cached(args.name):
        print(f"{args.name} is already cached: {weights.cached_path(args.name)} (--force to redo)")
        return EXIT_OK
    path = weights.fetch(args.name, source=args.source, on_progress=say)
    print(f"fetched {args.name}: {path}")
    return EXIT_OK
