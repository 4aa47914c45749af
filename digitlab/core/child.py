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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from digitlab.core.errors import UserError


class ChildError(RuntimeError):
    """The child process failed, or its task refused with a message for the user."""


def run_in_child(task: Callable[..., Any], *args: str, error: type[Exception] = ChildError) -> Any:
    """Run `task` (a module-level function of text arguments) in a fresh process and return
    its result (JSON-able); `error` is what a failure is raised as, so callers keep their own
    exception type. The child imports the task's module by name: this module imports nothing
    of the caller's."""
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root, os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}
    code = "import sys; from digitlab.core.child import _child_main; _child_main(sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", code, f"{task.__module__}:{task.__qualname__}", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    try:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        name = task.__name__.strip("_")
        raise error(f"The {name} process failed (exit code {done.returncode}): {last}") from None
    if "error" in answer:
        raise error(answer["error"])
    return answer["result"]


def _child_main(argv: list[str]) -> None:
    """The child's side of `run_in_child`: one JSON line on stdout, all else on stderr."""
    task, *args = argv
    module, function = task.split(":")
    result_stream, sys.stdout = sys.stdout, sys.stderr  # converters print; keep them apart
    try:
        answer = {"result": getattr(importlib.import_module(module), function)(*args)}
    except UserError as error:  # meant for a user; anything else is a bug: let it show
        answer = {"error": str(error)}
    result_stream.write(json.dumps(answer) + "\n")
    result_stream.flush()
