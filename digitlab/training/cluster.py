"""Training jobs on a Ray cluster, when `DIGITLAB_RAY_ADDRESS` names one.

Each job becomes one Ray task: it trains on whichever worker Ray picks (the worker needs
only MNIST, which it finds or downloads as any machine does) and returns the model's bytes,
its curves, test metrics and TensorBoard logs; the server stores the run as usual, so the
store stays on the server. Progress flows back through a Ray queue; Stop cancels the task.
Ray is optional (requirements-ray.txt): without it, jobs run as local processes
(digitlab.training.runners, which also chooses between the two).

This scales many users' runs over many machines; `tf.distribute` (digitlab.training.train) scales
one run over several GPUs. They combine: a Ray task on a multi-GPU worker mirrors its run.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

from digitlab import store
from digitlab.training.job import DONE, FAILED, STOPPED, STOPPED_MESSAGE, Job
from digitlab.zoo.config import TrainConfig

RAY_ENV = "DIGITLAB_RAY_ADDRESS"
WAIT_SECONDS = 0.2  # how often the server drains progress and checks for Stop


def address() -> str | None:
    """The Ray cluster to train on (`auto`, `ray://head:10001`, ...), or None for local."""
    return os.environ.get(RAY_ENV, "").strip() or None


def _train_on_worker(config_dict: dict[str, Any], events) -> dict[str, Any]:
    """The Ray task: train without storing; send progress to `events`; return the result,
    its TensorBoard logs as the bytes of a zip (the worker may be another machine)."""
    from digitlab.training import train
    from digitlab.training.progress import event_fields

    def send(kind: str, /, **fields: Any) -> None:
        events.put({"event": kind, **fields})

    with tempfile.TemporaryDirectory() as scratch:
        logs = Path(scratch) / "logs"
        logs.mkdir()
        trained = train.train_model(
            TrainConfig.from_dict(config_dict),
            on_progress=lambda event: send("progress", **event_fields(event)),
            on_phase=lambda name: send("phase", phase=name),
            logs=logs,
        )
        archive = shutil.make_archive(str(Path(scratch) / "logs"), "zip", logs)
        logs_zip = Path(archive).read_bytes()
    return {
        "logs": logs_zip,
        "status": trained.status,
        "message": trained.message,
        "model": train.model_bytes(trained.model) if trained.model is not None else None,
        "history": trained.history,
        "batches": trained.batches,
        "metrics": trained.metrics,
        "seconds": trained.seconds,
    }


class RayRunner:
    """Runs each job as a Ray task (a job.Runner); connects to the cluster on first use."""

    def __init__(self, cluster_address: str, **init_options: Any) -> None:
        self.address = cluster_address
        self.init_options = init_options
        self._task = None
        self._lock = threading.Lock()

    def _remote_task(self):
        import ray

        with self._lock:
            if self._task is None:
                if not ray.is_initialized():
                    package_root = str(Path(__file__).resolve().parents[2])
                    ray.init(
                        address=self.address,
                        runtime_env={"env_vars": {"PYTHONPATH": package_root}},
                        ignore_reinit_error=True,
                        **self.init_options,
                    )
                self._task = ray.remote(_train_on_worker)
        return self._task

    def run(self, job: Job, root: Path | None) -> None:
        import ray
        from ray.util.queue import Queue

        task = self._remote_task()
        events = Queue()
        reference = task.remote(job.config.to_dict(), events)
        started = time.perf_counter()
        while True:
            ready, _ = ray.wait([reference], timeout=WAIT_SECONDS)
            _drain(events, job)
            if job.stop_requested.is_set():
                ray.cancel(reference, force=True)
                job.finish(STOPPED, STOPPED_MESSAGE)
                return
            if ready:
                break
        try:
            outcome = ray.get(reference)
        except Exception as error:  # the task died: a worker lost, out of memory, an error
            job.finish(FAILED, f"Training failed on the cluster: {error}")
            return
        _drain(events, job)
        if outcome["status"] != "trained":
            job.finish(STOPPED if outcome["status"] == "stopped" else FAILED, outcome["message"])
            return
        job.enter_phase("saving")
        logs = store.new_logs_dir(root)  # the task's logs, unpacked here to move in with the run
        with zipfile.ZipFile(io.BytesIO(outcome["logs"])) as archive:
            archive.extractall(logs)
        run = store.save_run(
            outcome["model"],
            job.config,
            outcome["history"],
            outcome["metrics"],
            seconds=round(time.perf_counter() - started, 2),
            batches=outcome["batches"],
            owner=job.owner,
            root=root,
            logs=logs,
        )
        job.finish(DONE, store.stored_message(run, " on the Ray cluster"), run)


def _drain(events, job: Job) -> None:
    """Hand every event waiting in the queue to the job."""
    while not events.empty():
        event = events.get_nowait()
        job.follow(event.pop("event"), event)
