"""The command line: `python -m digitlab models | train | predict`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from digitlab.config import OPTIMIZERS, REGRESSION_LOSSES, ConfigError, TrainConfig, recipe
from digitlab.export import FORMATS
from digitlab.models import DEFAULT_MODEL, ZOO


def _print_json(value) -> None:
    print(json.dumps(value), flush=True)


def cmd_models(args: argparse.Namespace) -> int:
    """List the zoo with what is shipped or trained and its test accuracy."""
    from digitlab import store

    rows = []
    for name, spec in ZOO.items():
        found = store.candidates(name)
        best = found[0] if found else None
        rows.append(
            {
                "name": name,
                "title": spec.title,
                "source": spec.source,
                "task": spec.task,
                "available": "trained"
                if best and not best.shipped
                else "shipped"
                if best
                else "none",
                "test_accuracy": best.metrics.get("accuracy") if best else None,
            }
        )
    if args.json:
        _print_json(rows)
        return 0
    print(f"{'model':<12} {'status':<8} {'test acc':>8}  description")
    for row in rows:
        accuracy = "-" if row["test_accuracy"] is None else f"{row['test_accuracy']:.2%}"
        print(
            f"{row['name']:<12} {row['available']:<8} {accuracy:>8}  "
            f"{row['title']} ({row['source']})"
        )
    return 0


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
    from digitlab import store, train

    config = _config_from_args(args)
    root, folder = (store.SHIPPED_DIR, config.model) if args.ship else (None, None)
    result = train.train(config, on_progress=_TerminalProgress(), root=root, folder=folder)
    summary = {
        "model": config.model,
        "status": result.status,
        "message": result.message,
        "config_key": config.key(),
        "seconds": round(result.elapsed_s, 2),
        "metrics": result.entry.metrics if result.entry else None,
        "path": str(result.entry.path) if result.entry else None,
    }
    if args.json:
        _print_json(summary)
    else:
        print(f"{config.model}: {result.status}. {result.message}")
        for name, value in (summary["metrics"] or {}).items():
            if name != "saved_at":
                print(f"  {name}: {value}")
    return 0 if result.entry is not None else 1


def cmd_predict(args: argparse.Namespace) -> int:
    from digitlab import store
    from digitlab.predict import Predictor
    from digitlab.preprocess import ImageError, load_image

    entry, model, warnings = store.load_preferred(args.model)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    predictor = Predictor(model, ZOO[args.model])
    failed = False
    for path in args.images:
        line = {
            "path": path,
            "label": None,
            "probabilities": None,
            "abstained": False,
            "error": None,
        }
        try:
            prediction = predictor.predict_image(
                load_image(Path(path), name=path), args.temperature
            )
            line.update(prediction.to_json())
        except (ImageError, OSError) as error:
            failed = True
            line["error"] = str(error)
        if args.json:
            _print_json(line)
        elif line["error"]:
            print(f"{path}: error: {line['error']}")
        elif line["abstained"]:
            print(f"{path}: no digit found (blank image)")
        else:
            confidence = (
                "" if line["probabilities"] is None else f" ({max(line['probabilities']):.1%})"
            )
            print(f"{path}: {line['label']}{confidence}")
    return 2 if failed else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from digitlab.evaluate import evaluate_model, evaluation_summary_table

    evaluation = evaluate_model(args.model)
    if args.json:
        _print_json(evaluation.to_json())
    else:
        print(evaluation_summary_table(evaluation))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from digitlab import export, store

    try:
        if not args.report:
            if not (args.format and args.out):
                raise export.ExportError("give --format and --out (or --report)")
            out = export.check_target(args.format, Path(args.out))  # refuse before loading
        entry, model, warnings = store.load_preferred(args.model)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if args.report:
            result = export.report(entry)
            if args.json:
                _print_json(result)
            else:
                print(export.report_table(result))
            return 0
        path = export.export_model(entry, args.format, out, model)
    except export.ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.model}: wrote {args.format} to {path} ({export.size_bytes(path):,} bytes)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from digitlab.serve import run

    run(args.host, args.port, args.workers)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from digitlab.bench import main as bench_main

    return bench_main(args.quick, args.json, args.pendigits)


def _positive_temperature(text: str) -> float:
    value = float(text)
    if not 0.1 <= value <= 10:
        raise argparse.ArgumentTypeError("temperature must be between 0.1 and 10")
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
    train.add_argument("--schedule", choices=("constant", "cosine"))
    train.add_argument(
        "--preset",
        default="default",
        help="a named recipe (digitnet has 'long'); options override it",
    )
    train.add_argument("--json", action="store_true", help="print one JSON object")
    train.add_argument(
        "--ship",
        action="store_true",
        help="store into assets/models/NAME (maintainers: the shipped models)",
    )
    train.set_defaults(run=cmd_train)

    predict = commands.add_parser("predict", help="predict the digit in image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--model", default=DEFAULT_MODEL, choices=list(ZOO))
    predict.add_argument("--temperature", type=_positive_temperature, default=1.0)
    predict.add_argument("--json", action="store_true", help="one JSON object per image")
    predict.set_defaults(run=cmd_predict)

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class scores, calibration")
    evaluate.add_argument("--model", default=DEFAULT_MODEL, choices=list(ZOO))
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=cmd_evaluate)

    export = commands.add_parser("export", help="export a model, or measure every format")
    export.add_argument("--model", default=DEFAULT_MODEL, choices=list(ZOO))
    export.add_argument("--format", choices=list(FORMATS))
    export.add_argument("--out", help="the file (a new folder for savedmodel) to write")
    export.add_argument("--report", action="store_true", help="size, accuracy, latency table")
    export.add_argument("--json", action="store_true", help="the report as one JSON object")
    export.set_defaults(run=cmd_export)

    serve = commands.add_parser("serve", help="HTTP API: POST /predict, GET /models, /health")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes, each with its models")
    serve.set_defaults(run=cmd_serve)

    bench = commands.add_parser("bench", help="train and predict against the Keras reference")
    bench.add_argument("--quick", action="store_true", help="small sizes: runs in seconds")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--pendigits", type=Path, help="pen-written digits file (UNIPEN)")
    bench.set_defaults(run=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # DataError, StoreError: one clear line, not a traceback
        from digitlab.data import DataError
        from digitlab.store import StoreError

        if isinstance(error, DataError | StoreError):
            print(f"error: {error}", file=sys.stderr)
            return 1
        raise
