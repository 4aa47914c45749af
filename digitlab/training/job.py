"""One training job: what a session asked for, its state as it runs, and how it ended.

A job is run by a Runner: a local child process (runners.ProcessRunner) or a Ray task
(cluster.RayRunner); the queue (digitlab.training.jobs) hands jobs to one. Nothing here
imports TensorFlow: the server reads jobs while the training runs elsewhere.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from digitlab import store
from digitlab.zoo.config import TrainConfig

QUEUED, RUNNING, DONE, STOPPED, FAILED = "queued", "running", "done", "stopped", "failed"
FINISHED = (DONE, STOPPED, FAILED)
STOPPED_MESSAGE = "Stopped on request. Nothing was saved and the previous model is kept."
PACE_FRACTION = 0.03  # of the run done since the first batch before a time left is guessed


@dataclass
class Job:
    """A training run requested by one session."""

    id: int
    config: TrainConfig
    owner: str | None = None  # the browser session that asked for it
    fine_tune: dict[str, Any] | None = (
        None  # a fine-tune: {"base_run": id} (digitlab.training.finetune)
    )
    in_search: bool = False  # a trial of a search (digitlab.training.search)
    status: str = QUEUED
    message: str = ""
    cached: bool = False
    phase: str = ""  # what the run is doing now: loading data, building, training, ...
    batches: list[dict[str, Any]] = field(default_factory=list)  # per-batch train metrics
    epochs: list[dict[str, Any]] = field(default_factory=list)  # per-epoch train + val
    fraction: float = 0.0
    elapsed_s: float = 0.0
    # (elapsed_s, fraction) at the first batch: the pace is measured from there, since the
    # first batch also traces the model (seconds) and would make the estimate several times
    # too long ("about 88 s left" for a 15 s run).
    pace_from: tuple[float, float] | None = None
    run: store.Run | None = None  # the stored run, once done
    pid: int | None = None  # the training process, while it runs locally
    announced: bool = False  # a session of its workspace has acted on its end (see take_end)
    stop_requested: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def seconds_left(self) -> float | None:
        """Estimated from the pace since the first batch; None until there is a pace to go by
        (PACE_FRACTION of the run done since)."""
        if self.status != RUNNING or self.pace_from is None:
            return None
        started_s, started_fraction = self.pace_from
        done = self.fraction - started_fraction
        if done < PACE_FRACTION:
            return None
        return (self.elapsed_s - started_s) * (1 - self.fraction) / done

    def take_end(self) -> bool:
        """True for the first caller only, once the job has ended: whichever session of the
        workspace sees the end first (after a reload, in another tab) acts on it, once."""
        with self.lock:
            if not self.finished or self.announced:
                return False
            self.announced = True
            return True

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
        """Keep one progress event (a progress.ProgressEvent as a dict)."""
        with self.lock:
            steps, epochs = event["steps"], event["epochs"]
            self.fraction = ((event["epoch"] - 1) * steps + event["batch"]) / (epochs * steps)
            self.elapsed_s = event["elapsed_s"]
            if self.pace_from is None:
                self.pace_from = (self.elapsed_s, self.fraction)
            # Position on the epoch axis: epoch 2, batch 50 of 100 -> 1.5.
            position = event["epoch"] - 1 + event["batch"] / steps
            row = {"position": position, "epoch": event["epoch"], **event["metrics"]}
            (self.batches if event["kind"] == "batch" else self.epochs).append(row)

    def enter_phase(self, name: str) -> None:
        with self.lock:
            self.phase = name

    def follow(self, kind: str | None, event: dict[str, Any]) -> None:
        """Keep what the trainer reports as it goes: a `progress` event or a `phase` begun
        (a worker's line or a Ray task's message, its "event" field popped as `kind`)."""
        if kind == "progress":
            self.record(event)
        elif kind == "phase":
            self.enter_phase(event["phase"])

    def finish(self, status: str, message: str, run: store.Run | None = None) -> None:
        with self.lock:
            self.status, self.message, self.run = status, message, run
            if status == DONE:
                self.fraction = 1.0


class Runner(Protocol):
    """Runs one job to its end, updating it as it goes; obeys `job.stop_requested`."""

    def run(self, job: Job, root: Path | None) -> None: ...
