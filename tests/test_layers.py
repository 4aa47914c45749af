"""The package's architecture, kept true: layers import only downward, and nothing cycles.

Every import counts, the ones inside functions too: a late import that points upward is
still an upward dependency, only hidden.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "digitlab"

# Bottom up: a unit may import only units of a lower rank (and its own modules).
RANKS = {
    "core": 0,
    "zoo": 1,
    "data": 2,
    "store": 3,
    "inference": 4,
    "training": 5,
    "analysis": 6,
    "serve": 7,
    "bench": 7,
    "cli": 8,
    "ui": 8,
    "__main__": 9,
}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that this module imports, anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            # `from package import module` imports the module; anything else, the module `base`
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            targets = [name for name in submodules if name in known] or [base]
        else:
            continue
        found |= {target for target in targets if target in known and target != name}
    return found


def unit(name: str) -> str | None:
    """The layer a module belongs to: its sub-package, or a top-level module's own name."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None  # None: the package root (digitlab/__init__)


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def test_every_module_belongs_to_a_ranked_layer():
    unranked = {unit(name) for name in modules()} - set(RANKS) - {None}
    assert not unranked, f"add these to RANKS (or move them into a layer): {unranked}"


def test_layers_import_only_downward():
    upward = []
    for name, targets in import_graph().items():
        for target in targets:
            source_unit, target_unit = unit(name), unit(target)
            if None in (source_unit, target_unit) or source_unit == target_unit:
                continue
            if RANKS[target_unit] >= RANKS[source_unit]:
                upward.append(f"{name} -> {target}")
    assert not upward, "imports that do not point down:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    graph = import_graph()
    cycles = []
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_a_late_upward_import(tmp_path):
    """The walk reads imports inside functions too (a cycle's usual hiding place)."""
    late = tmp_path / "late.py"
    late.write_text("def f():\n    from digitlab.ui import state\n", encoding="utf-8")
    assert imported("digitlab.core.late", late, {"digitlab.ui.state"}) == {"digitlab.ui.state"}


def test_no_module_is_over_400_lines():
    long = {
        str(path.relative_to(REPO_ROOT)): lines
        for path in [*PACKAGE.rglob("*.py"), *(REPO_ROOT / "tests").rglob("*.py")]
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these (over {MAX_LINES} lines): {long}"
