"""The command line: `python -m digitlab models | train | arch | runs | predict | ...`."""

# One module per command, each adding its parser with `add_..._parser(commands)`; the
# modules import TensorFlow only inside their commands, so `--help` and `models` stay fast.

from __future__ import annotations

import argparse
import sys

from digitlab.cli.arch import add_arch_parser
from digitlab.cli.bench import add_bench_parser
from digitlab.cli.drawings import add_drawings_parser
from digitlab.cli.ensemble import add_ensemble_parser
from digitlab.cli.evaluate import add_evaluate_parser
from digitlab.cli.export import add_export_parser
from digitlab.cli.models import add_models_parser
from digitlab.cli.predict import add_predict_parser
from digitlab.cli.runs import add_runs_parser
from digitlab.cli.search import add_search_parser
from digitlab.cli.serve import add_serve_parser
from digitlab.cli.styles import add_styles_parser
from digitlab.cli.train import add_train_parser
from digitlab.cli.workspaces import add_workspaces_parser
from digitlab.core.errors import UserError
from digitlab.zoo.arch import ArchError
from digitlab.zoo.config import ConfigError

# In the order `--help` lists the commands.
_COMMANDS = (
    add_models_parser,
    add_train_parser,
    add_arch_parser,
    add_runs_parser,
    add_predict_parser,
    add_evaluate_parser,
    add_export_parser,
    add_ensemble_parser,
    add_serve_parser,
    add_bench_parser,
    add_search_parser,
    add_drawings_parser,
    add_styles_parser,
    add_workspaces_parser,
)


def build_parser() -> argparse.ArgumentParser:
    """The `python -m digitlab` parser with every command; each sets its handler as `run`."""
    parser = argparse.ArgumentParser(prog="python -m digitlab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for add_parser in _COMMANDS:
        add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user's mistake is one line on stderr, not a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ConfigError, ArchError) as error:  # a setting out of range, a spec that can't
        # work: a usage error, as argparse's
        print(f"error: {error}", file=sys.stderr)
        return 2
    except UserError as error:  # a missing run, MNIST not found...: one clear line
        print(f"error: {error}", file=sys.stderr)
        return 1
