"""What runs a training job: a local child process per job, or a Ray task when
`DIGITLAB_RAY_ADDRESS` names a cluster (digitlab.training.cluster).

A local job runs in a spawned child (`python -m digitlab.training.worker`), so the server
never imports the training stack for it, and a crash or an out-of-memory kill in training
takes only that child down. The child streams its progress; Stop kills it at once, in any
phase, and the store's atomic writes make that safe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from digitlab import store
from digitlab.training import cluster
from digitlab.training.job import DONE, FAILED, STOPPED, STOPPED_MESSAGE, Job, Runner

KILLED_MESSAGE = (
    "Training was killed from outside (out of memory, or by the system) and nothing was "
    "saved. Try fewer training images or a smaller batch."
)
POLL_SECONDS = 0.05  # how often a running job's stop request is checked


def default_runner() -> Runner:
    """Ray when DIGITLAB_RAY_ADDRESS names a cluster, else a local process per job: the
    server's choice, handed to its queue (JobQueue(runner=...))."""
    address = cluster.address()
    return cluster.RayRunner(address) if address else ProcessRunner()


def _worker_env() -> dict[str, str]:
    """The child's environment: the package importable however the server was started."""
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root, os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}


class ProcessRunner:
    """Trains each job in a spawned `python -m digitlab.training.worker` child."""

    def run(self, job: Job, root: Path | None) -> None:
        request = {"config": job.config.to_dict(), "owner": job.owner, "store": root and str(root)}
        if job.fine_tune is not None:
            request["fine_tune"] = job.fine_tune
        with tempfile.TemporaryFile("w+") as errors:
            child = subprocess.Popen(
                [sys.executable, "-m", "digitlab.training.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=_worker_env(),
            )
            job.pid = child.pid
            child.stdin.write(json.dumps(request) + "\n")
            child.stdin.close()
            outcome: dict[str, Any] = {}
            reader = threading.Thread(
                target=_read_events, args=(child.stdout, job, outcome), daemon=True
            )
            reader.start()
            while child.poll() is None:
                if job.stop_requested.is_set():
                    child.kill()  # at once, whatever phase it is in
                    break
                time.sleep(POLL_SECONDS)
            child.wait()
            reader.join(timeout=5)
            errors.seek(0)
            error_tail = errors.read()[-2000:]
        if "result" not in outcome:
            # A killed save may have left a folder behind: remove it now, not at next start.
            store.reconcile(root)
        _conclude(job, outcome, child.returncode, error_tail, root)


def _read_events(stream: IO[str], job: Job, outcome: dict[str, Any]) -> None:
    """Hand the child's progress and phases to the job; keep its result or error."""
    for line in stream:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = event.pop("event", None)
        if kind in ("result", "error"):
            outcome[kind] = event
        else:
            job.follow(kind, event)


def _conclude(
    job: Job, outcome: dict[str, Any], returncode: int, error_tail: str, root: Path | None
) -> None:
    """Say how a job ended, from what its worker reported and how it exited."""
    result = outcome.get("result")
    if result is not None:
        if result["status"] in ("trained", "cached"):
            job.cached = result["status"] == "cached"
            job.finish(DONE, result["message"], store.get_run(result["run_id"], root))
        elif result["status"] == "stopped":
            job.finish(STOPPED, STOPPED_MESSAGE)
        else:
            job.finish(FAILED, result["message"])
    elif job.stop_requested.is_set():
        job.finish(STOPPED, STOPPED_MESSAGE)
    elif "error" in outcome:
        job.finish(FAILED, f"Training failed: {outcome['error']['message']}")
    elif returncode < 0:
        job.finish(FAILED, KILLED_MESSAGE)
    else:
        last = (error_tail.strip().splitlines() or ["no message"])[-1]
        job.finish(FAILED, f"Training failed (exit code {returncode}): {last}")
