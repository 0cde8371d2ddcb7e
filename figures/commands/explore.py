"""``rmt explore``: serve the live page of :mod:`rmt.figures.explore` (optional extra ``[explore]``)."""

from __future__ import annotations

import argparse
import importlib.util
import socket
import sys
from pathlib import Path

from rmt.figures.cli import UsageError


def register(groups) -> None:
    p = groups["root"].add_parser(
        "explore", help="a live web page: descent curves, shift phase diagrams, learning curves",
        description="Serve a local page whose curves redraw from the exact theory as the controls move, with "
        "simulation points from an rmt simulate --db store overlaid and exports to PNG, CSV and the equivalent "
        "command line. Needs the extra: pip install 'rmt-asymptotics[explore]'. Binds to 127.0.0.1 unless --host "
        "says otherwise; stop it with Ctrl-C.")
    p.add_argument("--port", type=int, default=8050, metavar="P", help="TCP port (default 8050)")
    p.add_argument("--host", default="127.0.0.1", metavar="H", help="address to bind (default 127.0.0.1)")
    p.add_argument("--db", default=None, metavar="FILE", help="SQLite store of rmt simulate to overlay and write to")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be an integer in [1, 65535], got {args.port}")
    if args.db is not None:
        db = Path(args.db)
        if db.is_dir():
            raise UsageError(f"--db must be a file, got the directory {args.db!r}")
        if not db.parent.resolve().is_dir():
            raise UsageError(f"--db: the folder of {args.db!r} does not exist")
    if importlib.util.find_spec("dash") is None:
        raise UsageError("rmt explore needs the optional extra: pip install 'rmt-asymptotics[explore]'")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((args.host, args.port))
        except OSError as exc:
            raise UsageError(f"--port {args.port} on --host {args.host} cannot be used: {exc.strerror}") from None
    from rmt.figures.explore import serve

    print(f"rmt explore: http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    try:
        serve(args.host, args.port, args.db, open_browser=not args.no_browser)
    except KeyboardInterrupt:
        return 130
    return 0
