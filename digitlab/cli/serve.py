"""`python -m digitlab serve`: the HTTP API (digitlab.serve) from the command line."""

from __future__ import annotations

import argparse

from digitlab.cli.common import Commands


def add_serve_parser(commands: Commands) -> None:
    """Add the `serve` command to the CLI's subparsers."""
    serve = commands.add_parser("serve", help="HTTP API: POST /predict, GET /models, /health")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes, each with its models")
    serve.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from digitlab.serve import run

    run(args.host, args.port, args.workers)
    return 0
