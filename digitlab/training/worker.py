"""One training run in a process of its own: `python -m digitlab.training.worker`.

It reads one request (a JSON object: config, owner, store, and for a fine-tune the run to
start from) from stdin, trains, stores the run, and streams what happens as JSON lines on
stdout: `phase` events (loading data, building, training, testing, saving), `progress`
events after every batch and epoch, and one final `result`. Everything else the libraries
print goes to stderr. The server reads the lines; to stop a run it kills the process, which
a store's atomic writes make safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

# The lowest priority: a run uses the cores the server, its drawings and the browsers
# beside it leave idle (at 10, one drawing of nine took 1,035 ms beside an mlp_small run
# on this 2-core machine; the promise is under a second).
WORKER_NICENESS = 19


class Reporter:
    """Writes protocol lines to the real stdout, whatever the libraries do with sys.stdout."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def send(self, kind: str, /, **fields: Any) -> None:
        self.stream.write(json.dumps({"event": kind, **fields}) + "\n")
        self.stream.flush()

    def phase(self, name: str) -> None:
        self.send("phase", phase=name)

    def progress(self, event) -> None:
        from digitlab.training.progress import event_fields

        self.send("progress", **event_fields(event))


def run_request(request: dict[str, Any], reporter: Reporter) -> None:
    """Train the requested config and report its result (the import of TF counts as building)."""
    reporter.phase("starting")
    from digitlab.training import train
    from digitlab.zoo.config import TrainConfig

    config = TrainConfig.from_dict(request["config"])
    root = Path(request["store"]) if request.get("store") else None
    if request.get("fine_tune"):  # the owner's drawings, read from the store by this process
        from digitlab.training import finetune

        result = finetune.fine_tune(
            request["fine_tune"]["base_run"],
            request.get("owner"),
            root,
            on_progress=reporter.progress,
            on_phase=reporter.phase,
        )
    else:
        result = train.train(
            config,
            on_progress=reporter.progress,
            on_phase=reporter.phase,
            root=root,
            owner=request.get("owner"),
        )
    reporter.send(
        "result",
        status=result.status,
        message=result.message,
        run_id=result.run.id if result.run else None,
        elapsed_s=result.elapsed_s,
    )


def main() -> int:
    reporter = Reporter(sys.stdout)
    sys.stdout = sys.stderr  # keep stray prints out of the protocol
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    request = json.loads(sys.stdin.readline())
    try:
        run_request(request, reporter)
    except Exception as error:  # DataError, StoreError, anything: one plain line back
        reporter.send("error", message=f"{type(error).__name__}: {error}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
