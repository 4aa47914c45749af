"""`python -m digitlab workspaces list | prune`: the operator's view of people's workspaces
(what each keeps, when it was last opened) and the removal of those nobody opens any more."""

from __future__ import annotations

import argparse
import time

from digitlab.cli.common import Commands, print_json


def add_workspaces_parser(commands: Commands) -> None:
    """Add the `workspaces` command to the CLI's subparsers."""
    parser = commands.add_parser("workspaces", help="list or prune people's workspaces")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="runs, drawings, bytes and last visit of each")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_list)
    prune = actions.add_parser(
        "prune", help="remove workspaces nobody opened for some days, with their runs and drawings"
    )
    prune.add_argument(
        "--unused-days", type=float, required=True, help="not opened for this many days"
    )
    prune.add_argument("--json", action="store_true", help="print JSON")
    prune.set_defaults(run=cmd_prune)


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def _print(uses, as_json: bool) -> None:
    if as_json:
        print_json([use.__dict__ for use in uses])
        return
    print(f"{'workspace':<34} {'runs':>5} {'drawings':>9} {'MB':>8}  last seen")
    for use in uses:
        # A workspace no key opens: a browser session's rows from before workspaces.
        name = use.id if use.opens else f"{use.id} (old session)"
        line = f"{name:<34} {use.runs:>5} {use.drawings:>9} {use.bytes / 1e6:>8.1f}"
        print(f"{line}  {_when(use.last_seen)}")


def cmd_list(args: argparse.Namespace) -> int:
    from digitlab.store.workspace_admin import list_workspaces

    _print(list_workspaces(), args.json)
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from digitlab.core.errors import UserError
    from digitlab.store.workspace_admin import prune

    if args.unused_days < 0:
        raise UserError("--unused-days is a number of days, 0 or more.")
    removed = prune(args.unused_days)
    if not args.json:
        print(f"Removed {len(removed)} workspaces not opened for {args.unused_days:g} days.")
    _print(removed, args.json)
    return 0
