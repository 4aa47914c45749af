"""The command line: `python -m digitlab models | train | runs | predict | evaluate | ...`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitlab.analysis.export import FORMATS
from digitlab.cli.drawings import add_drawings_parser
from digitlab.cli.search import add_search_parser
from digitlab.core.errors import UserError
from digitlab.zoo.config import (
    OPTIMIZERS,
    REGRESSION_LOSSES,
    SCHEDULES,
    ConfigError,
    TrainConfig,
    recipe,
)
from digitlab.zoo.registry import ANSWERING, DEFAULT_MODEL, ZOO


def _print_json(value) -> None:
    print(json.dumps(value), flush=True)


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
        _print_json(rows)
        return 0
    print(f"{'model':<12} {'default':<16} {'test acc':>8}  description")
    for row in rows:
        accuracy = "-" if row["test_accuracy"] is None else f"{row['test_accuracy']:.2%}"
        default = row["available"] if row["available"] != "promoted" else f"run {row['run']}"
        print(f"{row['name']:<12} {default:<16} {accuracy:>8}  {row['title']} ({row['source']})")
    return 0


def _chosen_run(args: argparse.Namespace):
    """`--run ID` if given, else the server's default run of `--model`."""
    from digitlab import store

    if args.run_id:
        return store.get_run(args.run_id)
    return store.default_run(args.model)


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


def _config_from_args(args: argparse.Namespace) -> TrainConfig:
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

    def __call__(self, event) -> None:
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
    from digitlab import store
    from digitlab.training import train

    config = _config_from_args(args)
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
        _print_json(summary)
    else:
        print(f"{config.model}: {result.status}. {result.message}")
        for name, value in (summary["metrics"] or {}).items():
            print(f"  {name}: {value}")
    return 0 if result.run is not None else 1


def cmd_predict(args: argparse.Namespace) -> int:
    from digitlab.data.preprocess import ImageError, load_image
    from digitlab.inference.predict import load_predictor, prediction_line

    predictor = load_predictor(_chosen_run(args))
    failed = False
    for path in args.images:
        try:
            image = load_image(Path(path), name=path)
            line = prediction_line(path, predictor.predict_image(image, args.temperature))
        except (ImageError, OSError) as error:
            failed = True
            line = prediction_line(path, None, str(error))
        if args.json:
            _print_json(line)
        elif line["error"]:
            print(f"{path}: error: {line['error']}")
        elif line["reason"] == "blank":
            print(f"{path}: no digit found (blank image)")
        elif line["abstained"]:
            print(f"{path}: not a digit, the model abstains ({max(line['probabilities']):.1%})")
        else:
            confidence = (
                "" if line["probabilities"] is None else f" ({max(line['probabilities']):.1%})"
            )
            print(f"{path}: {line['label']}{confidence}")
    return 2 if failed else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from digitlab.analysis.evaluate import evaluate_run, evaluation_summary_table

    evaluation = evaluate_run(_chosen_run(args))
    if args.json:
        _print_json(evaluation.to_json())
    else:
        print(evaluation_summary_table(evaluation))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from digitlab.analysis import export

    try:
        if not args.report:
            if not (args.format and args.out):
                raise export.ExportError("give --format and --out (or --report)")
            out = export.check_target(args.format, Path(args.out))  # refuse before loading
        run = _chosen_run(args)
        if args.report:
            result = export.report(run)
            if args.json:
                _print_json(result)
            else:
                print(export.report_table(result))
            return 0
        path = export.export_model(run, args.format, out)
    except export.ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = export.size_bytes(path)
    print(f"{run.model} ({run.describe()}): wrote {args.format} to {path} ({size:,} bytes)")
    return 0


def _run_row(run) -> dict:
    """A run as `runs list --json` and `runs show --json` print it."""
    from digitlab.zoo.config import differences

    return {
        "id": run.id,
        "model": run.model,
        "shipped": run.shipped,
        "owner": run.owner,
        "changed": differences(run.config),
        "accuracy": run.accuracy,
        "seconds": run.seconds,
        "size_bytes": run.size_bytes,
        "created_at": run.created_at,
    }


def cmd_runs(args: argparse.Namespace) -> int:
    """List, show, delete or promote runs."""
    import time

    from digitlab import store

    if args.action == "list":
        runs = store.list_runs(args.model)
        rows = [_run_row(run) for run in runs]
        promoted = store.promoted()
        for row in rows:
            row["default"] = promoted.get(row["model"], row["model"]) == row["id"]
        if args.json:
            _print_json(rows)
            return 0
        print(f"{'id':<10} {'model':<11} {'test acc':>8} {'seconds':>8}  {'when':<16}  changed")
        for row in rows:
            accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.2%}"
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created_at"]))
            changed = ", ".join(f"{k}={v}" for k, v in row["changed"].items()) or "-"
            mark = "*" if row["default"] else ""
            print(
                f"{row['id'] + mark:<10} {row['model']:<11} {accuracy:>8} "
                f"{row['seconds']:>8.1f}  {when:<16}  {changed}"
            )
        print("* the server's default for its model (shipped, or promoted with `runs promote`)")
        return 0
    if args.id is None:
        raise store.StoreError(f"runs {args.action} needs a run id (see `runs list`).")
    if args.action == "show":
        run = store.get_run(args.id, with_history=True)
        row = {**_run_row(run), "config": run.config.to_dict(), "metrics": run.metrics}
        row["history"] = store.curves(run)[0]
        if args.json:
            _print_json(row)
        else:
            for key, value in row.items():
                print(f"{key}: {value}")
        return 0
    if args.action == "delete":
        run = store.delete_run(args.id)
        message = f"Deleted run {run.id} ({run.model})."
    else:
        run = store.promote(args.id)
        message = f"{run.model} now answers with {run.describe()} by default, for new sessions."
    if args.json:
        _print_json({"id": run.id, "model": run.model, "action": args.action})
    else:
        print(message)
    return 0


def cmd_ensemble(args: argparse.Namespace) -> int:
    """Make an ensemble of 2 to 5 runs: stored as a run, measured on MNIST test."""
    from digitlab.inference.ensemble import members
    from digitlab.training.ensembles import make_ensemble

    run = make_ensemble(args.ids)
    row = {**_run_row(run), "members": members(run), "all_agree": run.metrics["all_agree"]}
    if args.json:
        _print_json(row)
        return 0
    print(f"Ensemble run {run.id}: {run.accuracy:.2%} on MNIST test.")
    for member in row["members"]:
        print(f"  member {member['id']:<10} {member['model']:<10} {member['accuracy']:.2%}")
    print(f"All members agree on {row['all_agree']:.2%} of the test images.")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from digitlab.serve import run

    run(args.host, args.port, args.workers)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from digitlab.bench import main as bench_main

    return bench_main(args.quick, args.json)


def _positive_temperature(text: str) -> float:
    from digitlab.inference.predict import MAX_TEMPERATURE, MIN_TEMPERATURE

    value = float(text)
    if not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        raise argparse.ArgumentTypeError(
            f"temperature must be between {MIN_TEMPERATURE:g} and {MAX_TEMPERATURE:g}"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m digitlab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    models = commands.add_parser("models", help="list the zoo, what is trained, test accuracy")
    models.add_argument("--json", action="store_true")
    models.set_defaults(run=cmd_models)

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

    runs = commands.add_parser("runs", help="list, show, delete or promote trained runs")
    runs.add_argument("action", choices=("list", "show", "delete", "promote"))
    runs.add_argument("id", nargs="?", help="a run id: a number, or a zoo name for a shipped run")
    runs.add_argument("--model", choices=list(ANSWERING), help="list: only runs of this model")
    runs.add_argument("--json", action="store_true", help="print JSON")
    runs.set_defaults(run=cmd_runs)

    run_help = "a run id (see `runs list`) instead of the model's default run"
    predict = commands.add_parser("predict", help="predict the digit in image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", default=DEFAULT_MODEL, choices=list(ANSWERING))
    predict.add_argument("--run", dest="run_id", help=run_help)
    predict.add_argument("--temperature", type=_positive_temperature, default=1.0)
    predict.add_argument("--json", action="store_true", help="one JSON object per image")
    predict.set_defaults(run=cmd_predict)

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class scores, calibration")
    evaluate.add_argument("--model", default=DEFAULT_MODEL, choices=list(ANSWERING))
    evaluate.add_argument("--run", dest="run_id", help=run_help)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=cmd_evaluate)

    export = commands.add_parser("export", help="export a model, or measure every format")
    export.add_argument("--model", default=DEFAULT_MODEL, choices=list(ANSWERING))
    export.add_argument("--run", dest="run_id", help=run_help)
    export.add_argument("--format", choices=list(FORMATS))
    export.add_argument("--out", help="the file (a new folder for savedmodel) to write")
    export.add_argument("--report", action="store_true", help="size, accuracy, latency table")
    export.add_argument("--json", action="store_true", help="the report as one JSON object")
    export.set_defaults(run=cmd_export)

    ensemble = commands.add_parser("ensemble", help="average 2 to 5 runs into one model")
    ensemble.add_argument("ids", nargs="+", metavar="ID", help="run ids (see `runs list`)")
    ensemble.add_argument("--json", action="store_true", help="print one JSON object")
    ensemble.set_defaults(run=cmd_ensemble)

    serve = commands.add_parser("serve", help="HTTP API: POST /predict, GET /models, /health")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes, each with its models")
    serve.set_defaults(run=cmd_serve)

    bench = commands.add_parser("bench", help="train and predict against the Keras reference")
    bench.add_argument("--quick", action="store_true", help="small sizes: runs in seconds")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(run=cmd_bench)

    add_search_parser(commands)  # digitlab/search_cli.py
    add_drawings_parser(commands)  # digitlab/drawings_cli.py
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except UserError as error:  # a missing run, MNIST not found...: one clear line
        print(f"error: {error}", file=sys.stderr)
        return 1
