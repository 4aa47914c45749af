"""`python -m digitlab train --model NAME [settings]`: train a zoo model (cached by its
settings), with a progress bar on a terminal."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from digitlab.cli.common import Commands, print_json
from digitlab.zoo.config import OPTIMIZERS, REGRESSION_LOSSES, SCHEDULES, TrainConfig, recipe
from digitlab.zoo.registry import ZOO

if TYPE_CHECKING:
    from digitlab.training.train import ProgressEvent

# Config fields whose flag is the field's name in dashes: (type, help). A boolean gets
# --name and --no-name.
_MORE_TRAIN_FLAGS: dict[str, tuple[type, str]] = {
    "momentum": (float, "SGD's momentum (0.9)"),
    "nesterov": (bool, "SGD with Nesterov momentum"),
    "beta_1": (float, "Adam's beta_1"),
    "beta_2": (float, "Adam's beta_2"),
    "l2": (float, "L2 weight decay on every Conv2D and Dense kernel"),
    "width": (float, "every hidden layer's units and filters times this (0.25-4; 1: as designed)"),
    "clip_norm": (float, "clip each gradient to this norm (0: off)"),
    "clip_value": (float, "clip each gradient element to +-this (0: off)"),
    "label_smoothing": (float, "classifiers: aim at 1 - s for the true digit"),
    "huber_delta": (float, "regression with --loss huber: its delta"),
    "step_epochs": (int, "--schedule step: every this many epochs ..."),
    "step_factor": (float, "... multiply the learning rate by this"),
    "plateau_factor": (float, "--reduce-lr: multiply the learning rate by this ..."),
    "plateau_patience": (int, "... after this many epochs without a better val loss ..."),
    "plateau_min_lr": (float, "... never going below this"),
    "keep_best": (bool, "store the best validation epoch's weights, not the last"),
    "clean_epochs": (int, "with --augment: the last N epochs train on undistorted digits"),
    "steps_per_execution": (int, "batches per call into TensorFlow"),
    "pen_digits": (bool, "also train on real pen-written digits (the training writers)"),
    "not_digits": (bool, "also train on not-a-digit drawings and learn to abstain"),
}


def add_train_parser(commands: Commands) -> None:
    """Add the `train` command to the CLI's subparsers."""
    train = commands.add_parser("train", help="train a zoo model (cached by its settings)")
    train.add_argument("--model", required=True, choices=list(ZOO))
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--optimizer", choices=OPTIMIZERS)
    train.add_argument("--dropout", type=float)
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--patience", type=int, help="early-stopping patience in epochs")
    train.add_argument("--reduce-lr", action="store_true", help="reduce LR on plateau")
    train.add_argument("--validation-split", type=float)
    train.add_argument("--samples", type=int, help="train on the first N images only")
    train.add_argument("--seed", type=int)
    train.add_argument("--loss", choices=REGRESSION_LOSSES, help="regression loss")
    train.add_argument("--schedule", choices=SCHEDULES)
    for field, (kind, help_text) in _MORE_TRAIN_FLAGS.items():
        flag = "--" + field.replace("_", "-")
        if kind is bool:
            train.add_argument(flag, action=argparse.BooleanOptionalAction, help=help_text)
        else:
            train.add_argument(flag, type=kind, help=help_text)
    train.add_argument(
        "--preset",
        default="default",
        help="a named recipe (digitnet has 'long'); options override it",
    )
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument(
        "--ship",
        action="store_true",
        help="also copy the run into assets/models/NAME (maintainers: the shipped models)",
    )
    train.set_defaults(run=cmd_train)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The model's recipe (`--preset`) with the settings given on the command line."""
    changes = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "optimizer": args.optimizer,
        "dropout": args.dropout,
        "augment": args.augment,
        "early_stopping_patience": args.patience,
        "reduce_lr_on_plateau": args.reduce_lr or None,
        "validation_split": args.validation_split,
        "train_samples": args.samples,
        "seed": args.seed,
        "loss": args.loss,
        "schedule": args.schedule,
    }
    changes.update({field: getattr(args, field) for field in _MORE_TRAIN_FLAGS})
    chosen = {key: value for key, value in changes.items() if value is not None}
    return recipe(args.model, args.preset, **chosen)


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


def cmd_train(args: argparse.Namespace) -> int:
    """Train (or find the cached run), optionally ship it, and print the summary."""
    from digitlab import store
    from digitlab.training import train

    config = config_from_args(args)
    result = train.train(config, on_progress=_TerminalProgress())
    if args.ship and result.run is not None:
        from digitlab.analysis.evaluate import evaluate_run

        store.ship(result.run, evaluate_run(result.run).to_json())
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
