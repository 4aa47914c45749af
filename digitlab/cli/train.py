"""`python -m digitlab train --model NAME [settings]`: train a zoo model (cached by its
settings), with a progress bar on a terminal; `train --arch spec.json [settings]` trains a
network of one's own (digitlab.zoo.arch), checked before TensorFlow is imported."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from digitlab.cli.arch import read_spec
from digitlab.cli.common import Commands, print_json
from digitlab.zoo.config import TrainConfig, recipe
from digitlab.zoo.knobs import KNOBS, Knob
from digitlab.zoo.registry import CUSTOM, ZOO

if TYPE_CHECKING:
    from digitlab.training.progress import ProgressEvent


def add_train_parser(commands: Commands) -> None:
    """Add the `train` command to the CLI's subparsers: --model, a flag per knob, --preset."""
    train = commands.add_parser("train", help="train a zoo model (cached by its settings)")
    which = train.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", choices=[*ZOO, CUSTOM], help="custom: with a --preset")
    which.add_argument(
        "--arch", metavar="SPEC_JSON", help="a network of your own: its spec file (`arch show`)"
    )
    for knob in KNOBS:
        _add_knob(train, knob)
    train.add_argument(
        "--preset",
        default="default",
        help="a named recipe (digitnet has 'long'; models have 'tutorial', custom the tutorial "
        "networks); options override it",
    )
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument(
        "--ship",
        action="store_true",
        help="also copy the run into assets/models/NAME (maintainers: the shipped models)",
    )
    train.set_defaults(run=cmd_train)


def _add_knob(train: argparse.ArgumentParser, knob: Knob) -> None:
    """A knob's flag, parsed onto the knob's field; None when not given (the recipe's)."""
    flag, field = knob.option, knob.field
    if knob.kind is bool:
        action = argparse.BooleanOptionalAction if knob.negatable else "store_true"
        train.add_argument(flag, dest=field, action=action, default=None, help=knob.help)
    elif knob.choices:
        train.add_argument(flag, dest=field, choices=knob.choices, help=knob.help)
    else:
        # The name argparse would show for the flag itself: --lr LR, not --lr LEARNING_RATE.
        metavar = flag.removeprefix("--").replace("-", "_").upper()
        train.add_argument(flag, dest=field, type=knob.kind, metavar=metavar, help=knob.help)


def knob_values(args: argparse.Namespace) -> dict[str, Any]:
    """The knobs given on the command line, by TrainConfig field."""
    given = {knob.field: getattr(args, knob.field) for knob in KNOBS}
    return {field: value for field, value in given.items() if value is not None}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The model's recipe (`--preset`) with the knobs given on the command line; with
    --arch, a custom network of that spec (ConfigError or ArchError: it can't work)."""
    if args.arch:
        return recipe(CUSTOM, args.preset, arch=read_spec(args.arch), **knob_values(args))
    return recipe(args.model, args.preset, **knob_values(args))


class _TerminalProgress:
    """A one-line progress bar on stderr, redrawn in place; silent when not a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(event.fraction * width)
        metrics = "  ".join(f"{name} {value:.4f}" for name, value in event.metrics.items())
        sys.stderr.write(
            f"\repoch {event.epoch}/{event.epochs} [{'#' * filled}{'.' * (width - filled)}] "
            f"{metrics[:80]:<80}"
        )
        if event.kind == "epoch":
            sys.stderr.write("\n")
        sys.stderr.flush()


def _shipped_evaluation(run, evaluation: dict) -> dict:
    """The evaluation a shipped model carries: with a classifier that learnt to abstain,
    its per-style figures too (the Evaluate page shows them without measuring)."""
    if not run.config.not_digits:
        return evaluation
    from digitlab.analysis import styles

    return {**evaluation, styles.STYLES: styles.run_report(run)}


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or find the cached run), optionally ship it, and print the summary."""
    config = config_from_args(args)  # a bad spec or setting stops here, before TensorFlow
    from digitlab import store
    from digitlab.training import train

    result = train.train(config, on_progress=_TerminalProgress())
    if args.ship and result.run is not None:
        from digitlab.analysis.evaluate import evaluate_run

        store.ship(result.run, _shipped_evaluation(result.run, evaluate_run(result.run).to_json()))
    summary = {
        "model": config.model,
        "status": result.status,
        "message": result.message,
        "run": result.run.id if result.run else None,
        "config_key": config.key(),
        "seconds": round(result.elapsed_s, 2),
        "metrics": result.run.metrics if result.run else None,
        "path": str(result.run.path) if result.run else None,
    }
    if args.json:
        print_json(summary)
    else:
        print(f"{config.model}: {result.status}. {result.message}")
        for name, value in (summary["metrics"] or {}).items():
            print(f"  {name}: {value}")
    return 0 if result.run is not None else 1
