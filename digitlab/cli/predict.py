"""`python -m digitlab predict IMAGE...`: the digit in each image file, one line each."""

from __future__ import annotations

import argparse
from pathlib import Path

from digitlab.cli.common import Commands, add_run_choice, chosen_run, print_json


def add_predict_parser(commands: Commands) -> None:
    """Add the `predict` command to the CLI's subparsers."""
    predict = commands.add_parser("predict", help="predict the digit in image files")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    add_run_choice(predict)
    predict.add_argument("--temperature", type=_temperature, default=1.0)
    predict.add_argument("--json", action="store_true", help="one JSON object per image")
    predict.set_defaults(run=cmd_predict)


def _temperature(text: str) -> float:
    """A temperature within the predictor's bounds (argparse's `type`)."""
    from digitlab.inference.predict import MAX_TEMPERATURE, MIN_TEMPERATURE

    value = float(text)
    if not MIN_TEMPERATURE <= value <= MAX_TEMPERATURE:
        raise argparse.ArgumentTypeError(
            f"temperature must be between {MIN_TEMPERATURE:g} and {MAX_TEMPERATURE:g}"
        )
    return value


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict each image; an unreadable one gets an error line and exit status 2."""
    from digitlab.data.decode import ImageError, load_image
    from digitlab.inference.predict import load_predictor, prediction_line

    predictor = load_predictor(chosen_run(args))
    failed = False
    for path in args.images:
        try:
            image = load_image(Path(path), name=path)
            line = prediction_line(path, predictor.predict_image(image, args.temperature))
        except (ImageError, OSError) as error:
            failed = True
            line = prediction_line(path, None, str(error))
        if args.json:
            print_json(line)
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
