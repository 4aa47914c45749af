"""`python -m digitlab drawings list | export`: every session's saved drawings, from the
command line (which sees them all: it runs on the machine that keeps them)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from digitlab.cli.common import Commands, print_json


def add_drawings_parser(commands: Commands) -> None:
    """Add the `drawings` command to the CLI's subparsers."""
    from digitlab.store.drawings_export import FORMATS

    parser = commands.add_parser("drawings", help="list or export the drawings people saved")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one line per drawing (every session's)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=cmd_list)
    export = actions.add_parser("export", help="a ZIP of PNGs + labels.csv, or an .npz")
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument(
        "--format", choices=FORMATS, help="default: from the file name (.npz), else zip"
    )
    export.set_defaults(run=cmd_export)


def cmd_list(args: argparse.Namespace) -> int:
    from digitlab.store import drawings

    rows = [
        {
            "id": d.id,
            "label": d.label,
            "predicted": d.predicted,
            "run": d.run_id,
            "session": d.owner,
            "created_at": d.created_at,
            "strokes": d.strokes is not None,
        }
        for d in drawings.list_drawings()
    ]
    if args.json:
        print_json(rows)
        return 0
    print(f"{'id':>5} {'label':<12} {'model said':<12} {'run':<10} session")
    for row in rows:
        said = "-" if row["predicted"] is None else drawings.label_name(row["predicted"])
        label = drawings.label_name(row["label"])
        print(f"{row['id']:>5} {label:<12} {said:<12} {row['run'] or '-':<10} {row['session']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from digitlab.store import drawings, drawings_export
    from digitlab.store.drawings import DrawingError

    found = drawings.list_drawings()
    try:
        out = drawings_export.write(found, Path(args.out), args.format)
    except DrawingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    fmt = drawings_export.format_for(out, args.format)
    print(f"Wrote {len(found)} drawings to {out} ({fmt}).")
    return 0
