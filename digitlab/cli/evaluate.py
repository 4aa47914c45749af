"""`python -m digitlab evaluate`: a run's accuracy, per-class scores and calibration."""

from __future__ import annotations

import argparse

from digitlab.cli.common import Commands, add_run_choice, chosen_run, print_json


def add_evaluate_parser(commands: Commands) -> None:
    """Add the `evaluate` command to the CLI's subparsers."""
    evaluate = commands.add_parser("evaluate", help="accuracy, per-class scores, calibration")
    add_run_choice(evaluate)
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(run=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate the chosen run on MNIST test (cached) and print the summary."""
    from digitlab.analysis.evaluate import evaluate_run, evaluation_summary_table

    evaluation = evaluate_run(chosen_run(args))
    if args.json:
        print_json(evaluation.to_json())
    else:
        print(evaluation_summary_table(evaluation))
    return 0
