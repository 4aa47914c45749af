"""`python -m digitlab models`: the zoo, the run answering for each model, its accuracy."""

from __future__ import annotations

import argparse

from digitlab.cli.common import Commands, print_json
from digitlab.zoo.registry import ZOO


def add_models_parser(commands: Commands) -> None:
    """Add the `models` command to the CLI's subparsers."""
    models = commands.add_parser("models", help="list the zoo, what is trained, test accuracy")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    """List the zoo with the run that answers for each by default and its test accuracy."""
    from digitlab import store

    rows = []
    for name, run in store.default_runs().items():
        spec = ZOO[name]
        rows.append(
            {
                "name": name,
                "title": spec.title,
                "source": spec.source,
                "task": spec.task,
                "available": "none" if run is None else "shipped" if run.shipped else "promoted",
                "run": run.id if run else None,
                "test_accuracy": run.accuracy if run else None,
            }
        )
    if args.json:
        print_json(rows)
        return 0
    print(f"{'model':<12} {'default':<16} {'test acc':>8}  description")
    for row in rows:
        accuracy = "-" if row["test_accuracy"] is None else f"{row['test_accuracy']:.2%}"
        default = row["available"] if row["available"] != "promoted" else f"run {row['run']}"
        print(f"{row['name']:<12} {default:<16} {accuracy:>8}  {row['title']} ({row['source']})")
    return 0
