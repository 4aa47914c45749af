"""Background training jobs: one at a time per process, the rest wait in a queue.

The web app's sessions share one `JobQueue` (one server, one CPU budget). A worker thread
runs the jobs in order; sessions read a job's progress from `Job.snapshot()` while it runs
and may ask it to stop.
"""

from __future__ import annotations

import atexit
import itertools
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from digitlab import store
from digitlab.config import TrainConfig

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINISHED = (DONE, STOPPED, FAILED)


@dataclass
class Job:
    """A training run requested by one session."""

    id: int
    config: TrainConfig
    status: str = QUEUED
    message: str = ""
    cached: bool = False
    batches: list[dict[str, Any]] = field(default_factory=list)  # per-batch train metrics
    epochs: list[dict[str, Any]] = field(default_factory=list)  # per-epoch train + val
    fraction: float = 0.0
    elapsed_s: float = 0.0
    entry: store.StoredModel | None = None
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
                "status": self.status,
                "message": self.message,
                "cached": self.cached,
                "batches": list(self.batches),
                "epochs": list(self.epochs),
                "fraction": self.fraction,
                "elapsed_s": self.elapsed_s,
                "seconds_left": self.seconds_left,
            }

    def record(self, event) -> None:
        """Keep one ProgressEvent (called from the training thread)."""
        with self.lock:
            self.fraction = event.fraction
            self.elapsed_s = event.elapsed_s
            # Position on the epoch axis: epoch 2, batch 50 of 100 -> 1.5.
            position = event.epoch - 1 + event.batch / event.steps
            row = {"position": position, "epoch": event.epoch, **event.metrics}
            (self.batches if event.kind == "batch" else self.epochs).append(row)


class JobQueue:
    """Runs submitted jobs one after another on a single worker thread."""

    def __init__(self, root=None) -> None:
        self._root = root  # the model store; None = the default store directory
        self._waiting: deque[Job] = deque()
        self._jobs: dict[int, Job] = {}
        self._running: Job | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._worker = threading.Thread(target=self._work, name="digitlab-trainer", daemon=True)
        self._worker.start()
        # A training step cut off by interpreter exit aborts the process: stop cleanly first.
        atexit.register(self.shutdown)

    def submit(self, config: TrainConfig) -> Job:
        """Queue a training run; a config trained before finishes at once from the store."""
        with self._lock:
            job = Job(next(self._ids), config)
            self._jobs[job.id] = job
            cached = store.find(config, self._root)
            if cached is not None:
                job.status, job.cached, job.entry, job.fraction = DONE, True, cached, 1.0
                job.message = "Trained before with exactly these settings: loaded from the cache."
                job.epochs = _history_rows(cached.history)
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
            if job is self._running:
                return 0
            try:
                return self._waiting.index(job) + 1
            except ValueError:
                return -1

    def stop(self, job: Job) -> None:
        """Ask a job to stop: a waiting one is dropped, a running one stops within a batch."""
        with self._lock:
            job.stop_requested.set()
            if job in self._waiting:
                self._waiting.remove(job)
                job.status, job.message = STOPPED, "Stopped before it started."

    def shutdown(self, timeout: float = 30.0) -> None:
        """Drop waiting jobs, stop the running one and wait (bounded) for it to end."""
        with self._lock:
            for job in list(self._waiting):
                job.stop_requested.set()
                job.status, job.message = STOPPED, "Stopped: the server shut down."
            self._waiting.clear()
            running = self._running
        if running is not None:
            running.stop_requested.set()
            deadline = time.monotonic() + timeout
            while not running.finished and time.monotonic() < deadline:
                time.sleep(0.05)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running is not None or bool(self._waiting)

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting:
                    self._wake.wait()
                job = self._running = self._waiting.popleft()
                job.status = RUNNING
            try:
                self._run(job)
            finally:
                with self._lock:
                    self._running = None

    def _run(self, job: Job) -> None:
        from digitlab import train  # late import: TensorFlow loads only when training starts

        started = time.perf_counter()
        try:
            result = train.train(
                job.config,
                on_progress=job.record,
                should_stop=job.stop_requested.is_set,
                root=self._root,
            )
        except Exception as error:  # any failure is shown to the user, never lost
            with job.lock:
                job.status, job.message = FAILED, f"Training failed: {error}"
            return
        with job.lock:
            job.elapsed_s = time.perf_counter() - started
            job.entry = result.entry
            job.message = result.message
            job.cached = result.status == train.CACHED
            if result.status in (train.TRAINED, train.CACHED):
                job.status, job.fraction = DONE, 1.0
            elif result.status == train.STOPPED:
                job.status = STOPPED
            else:
                job.status = FAILED


def _history_rows(history: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Per-epoch rows from a stored Keras history (for showing a cached run's curves)."""
    count = len(history.get("loss", []))
    return [
        {"epoch": i + 1, **{name: values[i] for name, values in history.items()}}
        for i in range(count)
    ]
