"""Hyperparameter search: Optuna's ask-and-tell loop over DigitLab's job queue.

Each trial is one training job, submitted to the same `JobQueue` (and so the same workers,
or Ray in cluster mode) as any run. Optuna samples the settings (`study.ask`, ranges in
`digitlab.training.search_space`), the job streams its epochs, each epoch's validation score is
reported to Optuna, and a trial that Optuna's median pruner judges hopeless is stopped
through the queue: like any stopped job it stores nothing, so a pruned trial is a row of
the table but not a run. A finished trial is a stored run with its curves, owned by
whoever started the search.

A `Search` runs in a background thread; `snapshot()` is what a page or a terminal shows,
`stop()` ends the whole search (no new trial, the running ones stopped at once).
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digitlab.training.job import DONE, FAILED, RUNNING, STOPPED, Job
from digitlab.training.jobs import JobQueue
from digitlab.training.search_space import (
    MAX_TRIALS,
    SearchError,
    SearchSettings,
    SearchSpace,
    expected_seconds,
    sample,
    seconds_per_trial,
)

__all__ = ["MAX_TRIALS", "Search", "SearchError", "SearchSettings", "SearchSpace"]

POLL_SECONDS = 0.2  # how often running trials' epochs are read
PRUNED = "pruned"  # a trial's status beside the job's own (queued, running, done, ...)
# How a search ends.
FINISHED, OUT_OF_TIME = "finished", "out of time"
SEARCHING = "running"


@dataclass
class TrialRecord:
    """One trial as the table shows it."""

    number: int
    settings: dict[str, Any]
    job: Job
    status: str = "queued"  # the job's status, or "pruned"
    score: float | None = None  # the objective at its last epoch
    started: float | None = None  # monotonic time it began running
    seconds: float = 0.0
    reported: int = 0  # epochs already told to Optuna
    pruned: bool = False  # Optuna asked to stop it
    status_final: bool = False  # its job has ended
    optuna_trial: Any = field(default=None, repr=False)

    def row(self) -> dict[str, Any]:
        run = self.job.run
        message = self.job.message
        if self.status == PRUNED:
            message = (
                f"Pruned after {self.reported} epoch(s): its score was below the median of "
                "earlier trials at that epoch. A pruned trial stores nothing, so it is not a run."
            )
        return {
            "trial": self.number + 1,
            **self.settings,
            "status": self.status,
            "score": self.score,
            "test_accuracy": run.accuracy if run else None,
            "seconds": round(self.seconds, 1),
            "pruned": self.status == PRUNED,
            "run": run.id if run else None,
            "epochs": len(self.job.epochs),
            "message": message,
        }


class Search:
    """One search, run in a background thread; read it with `snapshot()`, end it with `stop()`."""

    def __init__(
        self,
        settings: SearchSettings,
        queue: JobQueue,
        owner: str | None = None,
        root: Path | None = None,
    ) -> None:
        self.settings, self.owner = settings, owner  # owner: the session its runs belong to
        self._queue, self._root = queue, root
        # Several trials at once only where the queue has several workers (a cluster).
        self.parallel = max(1, min(queue.workers, settings.trials))
        self._per_trial = seconds_per_trial(settings.base, root)
        self.expected_s = expected_seconds(settings, self.parallel, root)
        self.status, self.message = SEARCHING, ""
        self._records: list[TrialRecord] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._started = self._ended = None
        self._thread = threading.Thread(target=self._run, name="digitlab-search", daemon=True)

    def start(self) -> Search:
        """Begin; refused (limits.LimitError) when the workspace has a job or search going, or
        no room for more runs."""
        self._queue.check_can_start(self.owner)
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the whole search: no new trial, the running ones stopped at once."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the search has ended (or the timeout passed); True if it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self.status != SEARCHING

    def _run(self) -> None:
        import optuna  # late: listing pages and the CLI's other commands don't pay for it

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the table says what happened
        study = optuna.create_study(
            direction="maximize" if self.settings.maximize else "minimize",
            sampler=optuna.samplers.TPESampler(seed=self.settings.seed),
            # Stop a trial whose score after an epoch is below the median of earlier
            # trials at that epoch, once two trials have finished to compare with.
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2),
        )
        budget = self.settings.budget_s
        deadline = self._started + budget if budget else float("inf")
        active: list[TrialRecord] = []
        ending = None
        try:
            while True:
                if ending is None and self._stop.is_set():
                    ending = STOPPED
                elif ending is None and time.monotonic() >= deadline:
                    ending = OUT_OF_TIME
                if ending is not None:
                    for record in active:
                        self._queue.stop(record.job)
                while (
                    ending is None
                    and len(active) < self.parallel
                    and self._asked() < (self.settings.trials)
                ):
                    active.append(self._ask(study))
                if not active:
                    break
                time.sleep(POLL_SECONDS)
                active = [record for record in active if not self._follow(study, record)]
            self._end(ending or FINISHED)
        except Exception as error:  # say it in the table's status line; stop our jobs
            for record in active:
                self._queue.stop(record.job)
            self._end(FAILED, f"The search failed: {error}")

    def _asked(self) -> int:
        with self._lock:
            return len(self._records)

    def _ask(self, study) -> TrialRecord:
        trial = study.ask()
        settings = sample(trial, self.settings)
        config = self.settings.base.replace(**settings)
        job = self._queue.submit(config, owner=self.owner, in_search=True)
        record = TrialRecord(trial.number, settings, job, optuna_trial=trial)
        with self._lock:
            self._records.append(record)
        return record

    def _follow(self, study, record: TrialRecord) -> bool:
        """Report a trial's new epochs to Optuna and prune it if told to; True once its job
        has ended and Optuna knows how."""
        from optuna.trial import TrialState

        job, trial = record.job, record.optuna_trial
        ended = job.finished  # read before the epochs, so none arrive after the last look
        progress = job.snapshot()
        for row in progress["epochs"][record.reported :]:
            record.reported += 1
            score = row.get(self.settings.objective)
            if score is None:
                continue
            trial.report(score, row["epoch"])
            with self._lock:
                record.score = score
            last = row["epoch"] >= job.config.epochs  # about to be stored: let it finish
            if not (ended or last or record.pruned) and trial.should_prune():
                record.pruned = True
                self._queue.stop(job)
        now = time.monotonic()
        with self._lock:
            if progress["status"] == RUNNING and record.started is None:
                record.started = now
            if record.started is not None and not record.status_final:
                record.seconds = now - record.started
            # A pruned job that managed to finish anyway is a run like any other.
            pruned = record.pruned and progress["status"] != DONE
            record.status = PRUNED if pruned else progress["status"]
            record.status_final = ended
        if not ended:
            return False
        if record.status == DONE and record.score is not None:
            study.tell(trial, record.score)
        elif record.status == PRUNED:
            study.tell(trial, state=TrialState.PRUNED)
        else:  # failed, or stopped by the search's Stop or its deadline
            study.tell(trial, state=TrialState.FAIL)
        return True

    def _end(self, status: str, message: str = "") -> None:
        with self._lock:
            self._ended = time.monotonic()
            count = len(self._records)
        best = self.best()
        found = f" Best: trial {best['trial']}, run {best['run']}." if best else ""
        budget = self.settings.budget_s or 0
        messages = {
            FINISHED: f"Finished {count} trials.",
            STOPPED: f"Stopped on request after {count} trials.",
            OUT_OF_TIME: f"The time budget ({budget:g} s) ran out after {count} trials.",
        }
        self.message = message or messages[status] + found
        self.status = status

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            return [record.row() for record in self._records]

    def best(self) -> dict[str, Any] | None:
        """The finished trial with the best score (its run can be used at once)."""
        done = [row for row in self.rows() if row["status"] == DONE and row["run"] is not None]
        if not done:
            return None
        pick = max if self.settings.maximize else min
        return pick(done, key=lambda row: row["score"])

    def snapshot(self) -> dict[str, Any]:
        """Everything a page or terminal shows, consistent and safe to read from any thread."""
        rows = self.rows()
        now = time.monotonic()
        start = self._started or now
        elapsed = (self._ended or now) - start
        # Cached trials (0 s) say nothing about the pace.
        finished_seconds = [
            row["seconds"] for row in rows if row["status"] == DONE and row["seconds"]
        ]
        per_trial = statistics.mean(finished_seconds) if finished_seconds else self._per_trial
        if self.finished:
            expected = elapsed
        else:
            ended = sum(1 for row in rows if row["status"] in (DONE, PRUNED, STOPPED, FAILED))
            running = [row["seconds"] for row in rows if row["status"] == RUNNING]
            work = (self.settings.trials - ended) * per_trial - sum(running)
            expected = elapsed + max(0.0, work) / self.parallel
            if self.settings.budget_s:
                expected = min(expected, self.settings.budget_s)
        return {
            "status": self.status,
            "message": self.message,
            "model": self.settings.base.model,
            "objective": self.settings.objective,
            "searched": self.settings.searched,
            "trials": self.settings.trials,
            "budget_s": self.settings.budget_s,
            "elapsed_s": round(elapsed, 1),
            "expected_s": round(expected, 1),
            "rows": rows,
            "best": self.best(),
        }
