"""Training jobs: one queue per server, each job trained in a process of its own.

Sessions submit configs; `DIGITLAB_TRAIN_WORKERS` jobs run at once (by default one on a
machine with two cores or fewer, else half the cores), the rest wait in order. A job runs
in a spawned child (`python -m digitlab.training.worker`), so the server never imports the training
stack for it, and a crash or an out-of-memory kill in training takes only that child down.
The child streams its progress; Stop kills it at once, in any phase, and the store's
atomic writes make that safe. With `DIGITLAB_RAY_ADDRESS` set, jobs run as Ray tasks on
that cluster instead (digitlab.training.cluster).
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from digitlab import store
from digitlab.zoo.config import TrainConfig

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINISHED = (DONE, STOPPED, FAILED)
WORKERS_ENV = "DIGITLAB_TRAIN_WORKERS"
STOPPED_MESSAGE = "Stopped on request. Nothing was saved and the previous model is kept."
KILLED_MESSAGE = (
    "Training was killed from outside (out of memory, or by the system) and nothing was "
    "saved. Try fewer training images or a smaller batch."
)
POLL_SECONDS = 0.05  # how often a running job's stop request is checked


@dataclass
class Job:
    """A training run requested by one session."""

    id: int
    config: TrainConfig
    owner: str | None = None  # the browser session that asked for it
    fine_tune: dict[str, Any] | None = (
        None  # a fine-tune: {"base_run": id} (digitlab.training.finetune)
    )
    status: str = QUEUED
    message: str = ""
    cached: bool = False
    phase: str = ""  # what the run is doing now: loading data, building, training, ...
    batches: list[dict[str, Any]] = field(default_factory=list)  # per-batch train metrics
    epochs: list[dict[str, Any]] = field(default_factory=list)  # per-epoch train + val
    fraction: float = 0.0
    elapsed_s: float = 0.0
    run: store.Run | None = None  # the stored run, once done
    pid: int | None = None  # the training process, while it runs locally
    stop_requested: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def seconds_left(self) -> float | None:
        """Estimated from the pace so far; None until there is a pace to go by."""
        if self.status != RUNNING or self.fraction <= 0:
            return None
        return self.elapsed_s * (1 - self.fraction) / self.fraction

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy of the job's state, safe to read from another thread."""
        with self.lock:
            return {
                "id": self.id,
                "model": self.config.model,
                "run_id": self.run.id if self.run else None,
                "run": self.run.describe() if self.run else None,
                "status": self.status,
                "phase": self.phase,
                "message": self.message,
                "cached": self.cached,
                "batches": list(self.batches),
                "epochs": list(self.epochs),
                "fraction": self.fraction,
                "elapsed_s": self.elapsed_s,
                "seconds_left": self.seconds_left,
            }

    def record(self, event: dict[str, Any]) -> None:
        """Keep one progress event (a train.ProgressEvent as a dict)."""
        with self.lock:
            steps, epochs = event["steps"], event["epochs"]
            self.fraction = ((event["epoch"] - 1) * steps + event["batch"]) / (epochs * steps)
            self.elapsed_s = event["elapsed_s"]
            # Position on the epoch axis: epoch 2, batch 50 of 100 -> 1.5.
            position = event["epoch"] - 1 + event["batch"] / steps
            row = {"position": position, "epoch": event["epoch"], **event["metrics"]}
            (self.batches if event["kind"] == "batch" else self.epochs).append(row)

    def enter_phase(self, name: str) -> None:
        with self.lock:
            self.phase = name

    def finish(self, status: str, message: str, run: store.Run | None = None) -> None:
        with self.lock:
            self.status, self.message, self.run = status, message, run
            if status == DONE:
                self.fraction = 1.0


class Runner(Protocol):
    """Runs one job to its end, updating it as it goes; obeys `job.stop_requested`."""

    def run(self, job: Job, root: Path | None) -> None: ...


def worker_count() -> int:
    """How many jobs train at once: $DIGITLAB_TRAIN_WORKERS, else 1 on 2 cores or fewer,
    else half the cores."""
    configured = os.environ.get(WORKERS_ENV, "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(f"{WORKERS_ENV} must be a whole number of at least 1: {configured!r}")
        return int(configured)
    cores = os.cpu_count() or 1
    return 1 if cores <= 2 else cores // 2


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


def _read_events(stream, job: Job, outcome: dict[str, Any]) -> None:
    for line in stream:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        kind = event.pop("event", None)
        if kind == "progress":
            job.record(event)
        elif kind == "phase":
            job.enter_phase(event["phase"])
        elif kind in ("result", "error"):
            outcome[kind] = event


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


def default_runner() -> Runner:
    """Ray when DIGITLAB_RAY_ADDRESS names a cluster, else a local process per job."""
    from digitlab.training import cluster

    if cluster.address():
        return cluster.RayRunner(cluster.address())
    return ProcessRunner()


class JobQueue:
    """Runs submitted jobs in order, `workers` at a time, each through the runner."""

    def __init__(self, root=None, workers: int | None = None, runner: Runner | None = None):
        self._root = root  # the model store; None = the default store directory
        self._runner = runner or default_runner()
        self._waiting: deque[Job] = deque()
        self._jobs: dict[int, Job] = {}
        self._running: list[Job] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self.workers = workers or worker_count()
        for index in range(self.workers):
            threading.Thread(target=self._work, name=f"digitlab-jobs-{index}", daemon=True).start()
        atexit.register(self.shutdown)  # no child outlives the server

    def submit(
        self, config: TrainConfig, owner: str | None = None, fine_tune: dict | None = None
    ) -> Job:
        """Queue a training run for a session; a config trained before is done at once.
        With `fine_tune` ({"base_run": id}) it fine-tunes that run on the owner's drawings
        instead (`config` is then the base run's, named in the progress only)."""
        with self._lock:
            job = Job(next(self._ids), config, owner, fine_tune)
            self._jobs[job.id] = job
            cached = None if fine_tune else store.find_by_config(config, self._root)
            if cached is not None:
                job.status, job.cached, job.run, job.fraction = DONE, True, cached, 1.0
                job.message = f"Trained before with exactly these settings: {cached.describe()}."
                job.epochs = _history_rows(cached.history or {})
                return job
            self._waiting.append(job)
            self._wake.notify()
            return job

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int:
        """0 while running, 1.. while waiting (1 = next), -1 once finished."""
        with self._lock:
            if job in self._running:
                return 0
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return -1

    def stop(self, job: Job) -> None:
        """Ask a job to stop: a waiting one is dropped, a running one is ended at once."""
        with self._lock:
            job.stop_requested.set()
            if job in self._waiting:
                self._waiting.remove(job)
                job.status, job.message = STOPPED, "Stopped before it started."

    def shutdown(self, timeout: float = 10.0) -> None:
        """Drop waiting jobs, stop the running ones and wait (bounded) for them to end."""
        with self._lock:
            for job in list(self._waiting):
                job.stop_requested.set()
                job.status, job.message = STOPPED, "Stopped: the server shut down."
            self._waiting.clear()
            running = list(self._running)
        for job in running:
            job.stop_requested.set()
        deadline = time.monotonic() + timeout
        while any(not job.finished for job in running) and time.monotonic() < deadline:
            time.sleep(0.05)

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._running) or bool(self._waiting)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting:
                    self._wake.wait()
                job = self._waiting.popleft()
                self._running.append(job)
                job.status = RUNNING
            # A fine-tune reads this machine's drawings: it never goes to a cluster.
            runner = ProcessRunner() if job.fine_tune else self._runner
            try:
                runner.run(job, self._root)
            except Exception as error:  # the runner itself failed: say so, keep serving
                job.finish(FAILED, f"Training could not run: {error}")
            finally:
                with self._lock:
                    self._running.remove(job)


def _history_rows(history: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Per-epoch rows from a stored Keras history (for showing a cached run's curves)."""
    count = len(history.get("loss", []))
    return [
        {"epoch": i + 1, **{name: values[i] for name, values in history.items()}}
        for i in range(count)
    ]
