"""`python -m digitlab styles`: a run per way of writing a digit and per device, on the
held-out writers only (digitlab.analysis.styles)."""

from __future__ import annotations

import argparse

from digitlab.cli.common import Commands, add_run_choice, chosen_run, print_json


def add_styles_parser(commands: Commands) -> None:
    """Add the `styles` command to the CLI's subparsers."""
    parser = commands.add_parser(
        "styles", help="accuracy and refusals per writing style and per device, held out"
    )
    add_run_choice(parser)
    parser.add_argument("--seed", type=int, default=0, help="which styled drawings")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=cmd_styles)


def cmd_styles(args: argparse.Namespace) -> int:
    """Score the chosen run on the style and device sets and print the two tables."""
    from digitlab.analysis.evaluate import outputs_fn
    from digitlab.analysis.styles import report_lines, styles_report
    from digitlab.inference.predict import abstain_threshold

    run = chosen_run(args)
    outputs_of = outputs_fn(run, run.load())
    report = styles_report(outputs_of, abstain_threshold(run), args.seed)
    report["run"] = run.id
    if args.json:
        print_json(report)
    else:
        print(f"run {run.id} ({run.model})")
        print("\n".join(report_lines(report)))
    return 0
