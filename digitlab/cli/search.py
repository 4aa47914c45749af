"""`python -m digitlab search`: a hyperparameter search from the command line.

Trials train through a job queue of this process (a child process each, or Ray tasks when
DIGITLAB_RAY_ADDRESS is set), as the app's do; their runs belong to the command line.
"""

from __future__ import annotations

import argparse
import sys

from digitlab.cli.common import Commands, print_json
from digitlab.zoo.config import presets, recipe
from digitlab.zoo.registry import DEFAULT_MODEL, ZOO

# The table's short column names for the searched settings.
_SHORT = {
    "learning_rate": "lr",
    "dropout": "dropout",
    "batch_size": "batch",
    "l2": "l2",
    "optimizer": "optim",
    "width": "width",
}


def add_search_parser(commands: Commands) -> None:
    """Add the `search` command to the CLI's subparsers."""
    search = commands.add_parser(
        "search", help="hyperparameter search with Optuna: each trial is a run"
    )
    search.add_argument("--model", default=DEFAULT_MODEL, choices=list(ZOO))
    search.add_argument(
        "--preset", help="the recipe the trials start from (default: quick where it exists)"
    )
    search.add_argument("--trials", type=int, default=10, help="how many (at most 50)")
    search.add_argument("--budget", type=float, help="seconds: no new trial after this")
    search.add_argument("--epochs", type=int, help="epochs per trial")
    search.add_argument("--samples", type=int, help="train on the first N images only")
    search.add_argument("--validation-split", type=float)
    pair = {"nargs": 2, "type": float, "metavar": ("LOW", "HIGH")}
    search.add_argument("--lr", **pair, default=(1e-4, 1e-2), help="learning rate, log scale")
    search.add_argument("--dropout", **pair, default=(0.0, 0.5), help="models that have one")
    search.add_argument("--l2", **pair, help="L2 weight decay (log scale when LOW > 0)")
    search.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 128, 256])
    search.add_argument("--optimizers", nargs="+", help="choose among these too")
    search.add_argument(
        "--widths", nargs="+", type=float, help="hidden-layer size multipliers, e.g. 0.5 1 2"
    )
    search.add_argument("--seed", type=int, default=0, help="the sampler's seed")
    search.add_argument("--json", action="store_true", help="print one JSON object at the end")
    search.set_defaults(run=cmd_search)


def _settings(args: argparse.Namespace):
    from digitlab.training.search import SearchSettings, SearchSpace

    preset = args.preset or ("quick" if "quick" in presets(args.model) else "default")
    changes = {
        "epochs": args.epochs,
        "train_samples": args.samples,
        "validation_split": args.validation_split,
    }
    base = recipe(args.model, preset, **{k: v for k, v in changes.items() if v is not None})
    space = SearchSpace(
        learning_rate=tuple(args.lr),
        dropout=tuple(args.dropout),
        batch_sizes=tuple(args.batch_sizes),
        l2=tuple(args.l2) if args.l2 else None,
        optimizers=tuple(args.optimizers or ()),
        widths=tuple(args.widths or ()),
    )
    return SearchSettings(base, space, args.trials, args.budget, args.seed)


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def format_table(snapshot: dict) -> str:
    """The trials as a plain-text table: settings, score, test accuracy, seconds, run."""
    names = snapshot["searched"]
    header = ["trial", *(_SHORT[name] for name in names), "status", "score", "test acc"]
    header += ["seconds", "run"]
    lines = [header]
    for row in snapshot["rows"]:
        accuracy = row["test_accuracy"]
        lines.append(
            [
                str(row["trial"]),
                *(_cell(row.get(name)) for name in names),
                row["status"],
                "-" if row["score"] is None else f"{row['score']:.4f}",
                "-" if accuracy is None else f"{accuracy:.2%}",
                f"{row['seconds']:.1f}",
                _cell(row["run"]),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.rjust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    )


def cmd_search(args: argparse.Namespace) -> int:
    from digitlab.training.jobs import JobQueue
    from digitlab.training.runners import default_runner
    from digitlab.training.search import Search

    settings = _settings(args)  # a SearchError (a ConfigError) is one line from cli.main
    search = Search(settings, JobQueue(runner=default_runner()))
    say = (lambda text: None) if args.json else print
    say(
        f"Searching {', '.join(settings.searched)} of {settings.base.model} over "
        f"{settings.trials} trials of {settings.base.epochs} epoch(s): about "
        f"{search.expected_s:.0f} s expected."
    )
    search.start()
    shown = 0
    try:
        while True:
            ended = search.wait(1.0)
            rows = search.snapshot()["rows"]
            finished = [row for row in rows if row["status"] not in ("queued", "running")]
            for row in finished[shown:]:
                score = "-" if row["score"] is None else f"{row['score']:.4f}"
                say(f"  trial {row['trial']}: {row['status']}, {settings.objective} {score}")
            shown = len(finished)
            if ended:
                break
    except KeyboardInterrupt:  # Ctrl-C stops the whole search, as the page's Stop does
        search.stop()
        search.wait()
    snapshot = search.snapshot()
    if args.json:
        print_json(snapshot)
    else:
        print(format_table(snapshot))
        print(f"{snapshot['message']} ({snapshot['elapsed_s']:.0f} s)")
        if best := snapshot["best"]:
            print(
                f"Use the best: python -m digitlab predict --run {best['run']} IMAGE, "
                f"or make it the default with `runs promote {best['run']}`."
            )
    sys.stdout.flush()
    return 0 if snapshot["best"] else 1
