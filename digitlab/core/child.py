"""Work that needs TensorFlow, run in a fresh Python process for a process that must not
load it (the app's server) or must get its memory back (the TFLite converter leaks).

A plain subprocess rather than multiprocessing: under Streamlit, `__main__` is the app
script, which a spawned multiprocessing child would run again. The child prints one JSON
line: the task's result, or the message of the error a user should read.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# Task name -> "module:function"; named, not imported, so this module imports nothing heavy.
TASKS = {
    "write": "digitlab.analysis.export:_write_in_child",
    "measure": "digitlab.analysis.export:_measure_in_child",
    "ensemble": "digitlab.inference.ensemble:_make_in_child_task",
}


class ChildError(RuntimeError):
    """The child process failed, or its task refused with a message for the user."""


def run_in_child(task: str, *args: str, error: type[Exception] = ChildError) -> Any:
    """Run one of `TASKS` in a fresh process and return its result (JSON-able); `error`
    is what a failure is raised as, so callers keep their own exception type."""
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root, os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
    code = "import sys; from digitlab.core.child import _child_main; _child_main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, task, *args], capture_output=True, text=True, env=env
    )
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise error(f"The {task} process failed (exit code {done.returncode}): {last}") from None
    if "error" in answer:
        raise error(answer["error"])
    return answer["result"]


def _user_errors() -> tuple[type[Exception], ...]:
    """The errors whose message is meant for a user (the rest are bugs: let them show)."""
    from digitlab.analysis.export import ExportError
    from digitlab.data.mnist import DataError
    from digitlab.inference.ensemble import EnsembleError
    from digitlab.store import StoreError

    return (DataError, EnsembleError, ExportError, StoreError)


def _child_main(argv: list[str]) -> None:
    """The child's side of `run_in_child`: one JSON line on stdout, all else on stderr."""
    task, *args = argv
    module, function = TASKS[task].split(":")
    result_stream, sys.stdout = sys.stdout, sys.stderr  # converters print; keep them apart
    try:
        answer = {"result": getattr(importlib.import_module(module), function)(*args)}
    except _user_errors() as error:
        answer = {"error": str(error)}
    result_stream.write(json.dumps(answer) + "\n")
    result_stream.flush()
