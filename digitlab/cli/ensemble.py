"""`python -m digitlab ensemble ID...`: 2 to 5 runs averaged into one, stored as a run."""

from __future__ import annotations

import argparse

from digitlab.cli.common import Commands, print_json, run_row


def add_ensemble_parser(commands: Commands) -> None:
    """Add the `ensemble` command to the CLI's subparsers."""
    ensemble = commands.add_parser("ensemble", help="average 2 to 5 runs into one model")
    ensemble.add_argument("ids", nargs="+", metavar="ID", help="run ids (see `runs list`)")
    ensemble.add_argument("--json", action="store_true", help="print one JSON object")
    ensemble.set_defaults(run=cmd_ensemble)


def cmd_ensemble(args: argparse.Namespace) -> int:
    """Make an ensemble of 2 to 5 runs: stored as a run, measured on MNIST test."""
    from digitlab.inference.ensemble import members
    from digitlab.training.ensembles import make_ensemble

    run = make_ensemble(args.ids)
    row = {**run_row(run), "members": members(run), "all_agree": run.metrics["all_agree"]}
    if args.json:
        print_json(row)
        return 0
    print(f"Ensemble run {run.id}: {run.accuracy:.2%} on MNIST test.")
    for member in row["members"]:
        print(f"  member {member['id']:<10} {member['model']:<10} {member['accuracy']:.2%}")
    print(f"All members agree on {row['all_agree']:.2%} of the test images.")
    return 0
