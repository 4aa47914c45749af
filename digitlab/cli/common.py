"""What several commands share: printing JSON, choosing a run with --model/--run, and a
run as one row of JSON."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from digitlab.zoo.config import closest_recipe, differences
from digitlab.zoo.registry import ANSWERING, DEFAULT_MODEL

if TYPE_CHECKING:
    from digitlab.store.run import Run

# What `ArgumentParser.add_subparsers` returns: each command module adds its parser to it.
Commands = argparse._SubParsersAction


def print_json(value: Any) -> None:
    """One JSON document on one line, flushed (scripts read the output line by line)."""
    print(json.dumps(value), flush=True)


def add_run_choice(parser: argparse.ArgumentParser) -> None:
    """`--model NAME` (its default run) or `--run ID` (that run): which run answers."""
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=list(ANSWERING))
    # `run` is the command's handler (set_defaults), so the id goes to `run_id`.
    parser.add_argument(
        "--run",
        dest="run_id",
        help="a run id (see `runs list`) instead of the model's default run",
    )


def chosen_run(args: argparse.Namespace) -> Run:
    """`--run ID` if given, else the server's default run of `--model`."""
    from digitlab import store

    if args.run_id:
        return store.get_run(args.run_id)
    return store.default_run(args.model)


def run_row(run: Run) -> dict[str, Any]:
    """A run as `runs list --json`, `runs show --json` and `ensemble --json` print it."""
    return {
        "id": run.id,
        "model": run.model,
        "shipped": run.shipped,
        "owner": run.owner,
        "recipe": closest_recipe(run.config)[0],
        "changed": differences(run.config),
        "accuracy": run.accuracy,
        "seconds": run.seconds,
        "size_bytes": run.size_bytes,
        "created_at": run.created_at,
    }
