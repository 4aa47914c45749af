"""`python -m digitlab export`: a run in another format, or every format measured."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digitlab.analysis.export import FORMATS
from digitlab.cli.common import Commands, add_run_choice, chosen_run, print_json


def add_export_parser(commands: Commands) -> None:
    """Add the `export` command to the CLI's subparsers."""
    export = commands.add_parser("export", help="export a model, or measure every format")
    add_run_choice(export)
    export.add_argument("--format", choices=list(FORMATS))
    export.add_argument("--out", help="the file (a new folder for savedmodel) to write")
    export.add_argument("--report", action="store_true", help="size, accuracy, latency table")
    export.add_argument("--json", action="store_true", help="the report as one JSON object")
    export.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the chosen run in one format, or print the report; a bad target exits 2."""
    from digitlab.analysis import export

    try:
        if not args.report:
            if not (args.format and args.out):
                raise export.ExportError("give --format and --out (or --report)")
            out = export.check_target(args.format, Path(args.out))  # refuse before loading
        run = chosen_run(args)
        if args.report:
            result = export.report(run)
            if args.json:
                print_json(result)
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
