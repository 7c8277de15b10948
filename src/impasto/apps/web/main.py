"""``impasto serve``: start the local web page and say where it is.

The web page needs the ``web`` extra; without it this is one line and exit status 2. It binds
to 127.0.0.1 unless ``--host`` says otherwise, and then warns: the page has no password.
Every painting runs on the ``--device`` the server is started with, resolved before the socket
is bound: a device that is not there is one line and exit status 2, with nothing started.
"""

from __future__ import annotations

import argparse
import importlib

from ... import devices
from ..shell import options
from ..shell.messages import EXIT_OK, EXIT_USAGE, fail, say
from ..shell.running import main_of

DEFAULT_PORT = 8765
LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")
NEEDS = ("starlette", "uvicorn", "python_multipart")  # the web extra's modules


def parser() -> argparse.ArgumentParser:
    made = options.parser(
        "impasto serve",
        description="Serve a web page to paint with: pick a photo and paintings, see the\n"
        "picture improve, download the results. One painting at a time; the others wait.\n"
        "Needs the web extra: pip install 'impasto[web]'. Ctrl-C stops it.",
    )
    made.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="N",
        help=f"TCP port; 0 picks a free one (default: {DEFAULT_PORT})",
    )
    made.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="H",
        help="address to listen on; anything but loopback lets other machines use the page, "
        "which has no password (default: 127.0.0.1, this computer only)",
    )
    made.add_argument(
        "--open", action="store_true", help="open the page in the web browser (default: off)"
    )
    options.add_device(made, "where every painting runs, as the page shows")
    options.add_threads(made)
    return made


def main(argv: list[str] | None = None) -> int:
    """``impasto serve [--port N] [--host H] [--open] [--device NAME] [--threads N]``."""
    return main_of(argv, parser(), lambda args, _signals: run(args))


def missing_extra() -> list[str]:
    """The web extra's modules that cannot be imported (imported here: serve needs them)."""
    missing = []
    for name in NEEDS:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def run(args: argparse.Namespace) -> int:
    missing = missing_extra()
    if missing:
        say(
            f"error: impasto serve needs the web extra ({', '.join(missing)} not installed); "
            "install it with: pip install 'impasto[web]'"
        )
        return EXIT_USAGE
    if not 0 <= args.port <= 65535:
        say(f"error: --port must be between 0 and 65535, got {args.port}")
        return EXIT_USAGE
    try:
        device = devices.resolve(args.device)  # before the socket: a missing one starts nothing
    except devices.DeviceMissing as e:
        return fail(e)
    from . import sockets

    try:
        sock = sockets.bind(args.host, args.port)
    except OSError as e:
        say(f"error: cannot listen on {args.host} port {args.port} ({e.strerror or e}); "
            "try another --port (0: any free one)")  # fmt: skip
        return EXIT_USAGE
    from ... import jobs
    from . import server

    jobs.tune_process(args.threads, keep_heap=False)  # the painter asks once it paints
    url = sockets.address(sock)
    if args.host not in LOOPBACK_NAMES:
        say(
            f"warning: listening on {args.host}: anyone who can reach this machine can use "
            "the page, upload pictures and keep its CPU or GPU busy (there is no password)"
        )

    def started() -> None:
        where = devices.about(device).describe()
        print(
            f"impasto: serving on {url} (painting on {where}, one at a time; Ctrl-C stops)",
            flush=True,
        )
        if args.open:
            import webbrowser

            webbrowser.open(url)

    try:
        server.serve(sock, on_started=started, device=device)
    except KeyboardInterrupt:  # uvicorn stopped cleanly, then passed the signal on
        pass
    say("stopped; temporary files removed")
    return EXIT_OK
