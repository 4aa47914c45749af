"""`python -m digitlab bench`: training and prediction timed against the Keras reference."""

from __future__ import annotations

import argparse

from digitlab.cli.common import Commands


def add_bench_parser(commands: Commands) -> None:
    """Add the `bench` command to the CLI's subparsers."""
    bench = commands.add_parser("bench", help="train and predict against the Keras reference")
    bench.add_argument("--quick", action="store_true", help="small sizes: runs in seconds")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(run=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark (digitlab.bench); its exit status is the command's."""
    from digitlab.bench import main as bench_main

    return bench_main(args.quick, args.json)
