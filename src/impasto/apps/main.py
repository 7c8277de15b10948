"""``impasto``: the console script, which picks the front end by its first word.

``impasto CONTENT STYLE...`` paints a picture (``cli``); ``impasto weights`` and ``impasto
explain`` are the command line's too; ``impasto serve`` is the web page (``web``), ``impasto
batch`` many pictures (``batch``) and ``impasto video`` a clip (``video``). Each front end is
a ``main(argv) -> int`` of its own, imported only when its word is given, so that ``--help``
answers at once and without torch. This is the only module that reaches more than one front
end; the front ends never reach each other (import-linter keeps them independent).
"""

from __future__ import annotations

import sys

COMMANDS = ("weights", "explain", "serve", "batch", "video")


def main(argv: list[str] | None = None) -> int:
    """Run ``impasto ARGV`` and return its exit status (the console script exits with it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command, rest = (argv[0], argv[1:]) if argv else ("", [])
    if command == "weights":
        from .cli.weights import main as weights

        return weights(rest)
    if command == "explain":
        from .cli.explain import main as explain

        return explain(rest)
    if command == "serve":
        from .web.main import main as serve

        return serve(rest)
    if command == "batch":
        from .batch.main import main as batch

        return batch(rest)
    if command == "video":
        from .video.main import main as video

        return video(rest)
    from .cli.main import main as paint

    return paint(argv)
