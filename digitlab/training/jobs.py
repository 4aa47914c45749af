"""Training jobs: one queue per server, each job run by the runner the server chose.

Sessions submit configs; `DIGITLAB_TRAIN_WORKERS` jobs run at once (by default one on a
machine with two cores or fewer, else half the cores), the rest wait in order. The server
hands the queue its runner (runners.default_runner: Ray when DIGITLAB_RAY_ADDRESS names a
cluster, else a local child process per job); without one, jobs run in local processes.
"""

from __future__ import annotations

import atexit
import itertools
import os
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from digitlab import store
from digitlab.store.limits import check_one_job, check_room_for_run
from digitlab.training.job import DONE, FAILED, RUNNING, STOPPED, Job, Runner
from digitlab.training.runners import ProcessRunner
from digitlab.zoo.config import TrainConfig

WORKERS_ENV = "DIGITLAB_TRAIN_WORKERS"


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


class JobQueue:
    """Runs submitted jobs in order, `workers` at a time, each through `runner` (a local
    process per job when None)."""

    def __init__(
        self, root: Path | None = None, workers: int | None = None, runner: Runner | None = None
    ) -> None:
        self._root = root  # the model store; None = the default store directory
        self._runner = runner or ProcessRunner()
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
        self,
        config: TrainConfig,
        owner: str | None = None,
        fine_tune: dict | None = None,
        in_search: bool = False,
    ) -> Job:
        """Queue a training run for a workspace; a config trained before is done at once.
        With `fine_tune` ({"base_run": id}) it fine-tunes that run on the owner's drawings
        instead (`config` is then the base run's, named in the progress only).

        A workspace at its limit of runs is refused (limits.LimitError), and so is a second
        job while one of its own waits or runs, unless it is a search's trial (`in_search`:
        the search itself is the workspace's one, and a reload finds the search, not it)."""
        check_room_for_run(owner, self._root)
        with self._lock:
            if not in_search:
                check_one_job(owner, len(self.active(owner, locked=True)))
            job = Job(next(self._ids), config, owner, fine_tune, in_search=in_search)
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

    def active(self, owner: str | None, locked: bool = False) -> list[Job]:
        """A workspace's jobs that wait or run (`locked`: the caller holds the queue's lock)."""
        if not locked:
            with self._lock:
                return self.active(owner, locked=True)
        return [job for job in self._jobs.values() if job.owner == owner and not job.finished]

    def check_can_start(self, owner: str | None) -> None:
        """Refuse (limits.LimitError) a search for a workspace at its limit of runs, or with
        a job or search of its own already going."""
        check_room_for_run(owner, self._root)
        check_one_job(owner, len(self.active(owner)))

    def resume(self, owner: str, fine_tune: bool) -> Job | None:
        """A workspace's newest training job (or fine-tune) still to show after a reload: one
        that waits or runs, or ended with no session told yet."""
        with self._lock:
            owned = [job for job in self._jobs.values() if job.owner == owner]
        for job in sorted(owned, key=lambda job: job.id, reverse=True):
            if bool(job.fine_tune) == fine_tune and not (job.in_search or job.announced):
                return job
        return None

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
