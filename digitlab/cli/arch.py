"""`python -m digitlab arch show NAME | check FILE`: a network as its architecture spec.

`show` prints a zoo model's spec (or a tutorial preset's) as JSON, to start editing from;
`check` reads a spec file and prints its summary (each layer's output shape, parameters and
forward FLOPs), or the one line that says which layer can't work and why (exit 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from digitlab.cli.common import Commands, print_json
from digitlab.zoo import arch
from digitlab.zoo.config import presets, recipe
from digitlab.zoo.networks import ZOO_SPECS
from digitlab.zoo.registry import CUSTOM


def add_arch_parser(commands: Commands) -> None:
    """Add the `arch` command to the CLI's subparsers."""
    parser = commands.add_parser("arch", help="show a zoo network's spec, or check a spec file")
    parser.add_argument("action", choices=("show", "check"))
    parser.add_argument("name", help="show: a zoo model or a custom preset; check: a JSON file")
    parser.add_argument("--json", action="store_true", help="check: print the summary as JSON")
    parser.set_defaults(run=cmd_arch)


def named_spec(name: str) -> dict[str, Any]:
    """A zoo model's spec, or a custom preset's (`train --model custom --preset NAME`)."""
    if name in ZOO_SPECS:
        return ZOO_SPECS[name]
    if name in presets(CUSTOM) and name != "default":
        return arch.loads(recipe(CUSTOM, name).arch)
    known = [*ZOO_SPECS, *(p for p in presets(CUSTOM) if p != "default")]
    raise arch.ArchError(f"no network named {name!r}; choose one of {', '.join(known)}.")


def read_spec(path: str) -> str:
    """A spec file's canonical JSON, checked (ArchError: the layer that can't work, and why)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise arch.ArchError(f"cannot read the spec file {path}: {error}") from None
    spec = arch.loads(text)
    arch.check(spec)
    return arch.dumps(spec)


def summary(network: arch.Architecture) -> dict[str, Any]:
    """A checked network's summary as JSON: its rows and totals."""
    rows = [
        {
            "position": row.position,
            "type": row.kind,
            "output_shape": list(row.output_shape),
            "params": row.params,
            "flops": row.flops,
        }
        for row in network.rows()
    ]
    totals = {"params": network.params, "flops": network.flops, "task": network.task}
    return {"input": list(network.input_shape), "layers": rows, **totals}


def cmd_arch(args: argparse.Namespace) -> int:
    if args.action == "show":
        print(arch.pretty(named_spec(args.name)))
        return 0
    network = arch.parse(read_spec(args.name))
    if args.json:
        print_json(summary(network))
        return 0
    print(f"{'layer':<7} {'type':<23} {'output':>12} {'params':>10} {'FLOPs':>12}")
    for row in network.rows():
        shape = "x".join(map(str, row.output_shape))
        print(f"{row.position:<7} {row.kind:<23} {shape:>12} {row.params:>10,} {row.flops:>12,}")
    print(f"{network.task}: {network.params:,} parameters, {network.flops:,} FLOPs per image")
    return 0
