"""`python -m digitlab runs list | show | delete | promote`: the trained runs."""

from __future__ import annotations

import argparse

from digitlab.cli.common import Commands, print_json, run_row
from digitlab.zoo.registry import ANSWERING


def add_runs_parser(commands: Commands) -> None:
    """Add the `runs` command to the CLI's subparsers."""
    runs = commands.add_parser("runs", help="list, show, delete or promote trained runs")
    runs.add_argument("action", choices=("list", "show", "delete", "promote"))
    runs.add_argument("id", nargs="?", help="a run id: a number, or a zoo name for a shipped run")
    runs.add_argument("--model", choices=list(ANSWERING), help="list: only runs of this model")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(run=cmd_runs)


def _list(args: argparse.Namespace) -> int:
    import time

    from digitlab import store

    rows = [run_row(run) for run in store.list_runs(args.model)]
    promoted = store.promoted()
    for row in rows:
        row["default"] = promoted.get(row["model"], row["model"]) == row["id"]
    if args.json:
        print_json(rows)
        return 0
    header = f"{'id':<10} {'model':<11} {'test acc':>8} {'seconds':>8}  {'when':<16}"
    print(f"{header}  recipe and changes")
    for row in rows:
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.2%}"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created_at"]))
        changes = ", ".join(f"{k}={v}" for k, v in row["changed"].items())
        changed = f"{row['recipe']}: {changes}" if changes else f"{row['recipe']}, as it is"
        mark = "*" if row["default"] else ""
        print(
            f"{row['id'] + mark:<10} {row['model']:<11} {accuracy:>8} "
            f"{row['seconds']:>8.1f}  {when:<16}  {changed}"
        )
    print("* the server's default for its model (shipped, or promoted with `runs promote`)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from digitlab import store

    run = store.get_run(args.id, with_history=True)
    row = {**run_row(run), "config": run.config.to_dict(), "metrics": run.metrics}
    row["history"] = store.curves(run)[0]
    if args.json:
        print_json(row)
    else:
        for key, value in row.items():
            print(f"{key}: {value}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    """List, show, delete or promote runs."""
    from digitlab import store

    if args.action == "list":
        return _list(args)
    if args.id is None:
        raise store.StoreError(f"runs {args.action} needs a run id (see `runs list`).")
    if args.action == "show":
        return _show(args)
    if args.action == "delete":
        run = store.delete_run(args.id)
        message = f"Deleted run {run.id} ({run.model})."
    else:
        run = store.promote(args.id)
        message = f"{run.model} now answers with {run.describe()} by default, for new sessions."
    if args.json:
        print_json({"id": run.id, "model": run.model, "action": args.action})
    else:
        print(message)
    return 0
