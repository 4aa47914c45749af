"""The job queue: a process per run, a visible queue, Stop at once, failures said plainly."""

import os
import signal
import subprocess
import sys
import time

import pytest

from digitlab.training.job import DONE, FAILED, QUEUED, RUNNING, STOPPED
from digitlab.training.jobs import JobQueue, worker_count
from digitlab.zoo.config import TrainConfig

from helpers import REPO_ROOT


def wait_for(predicate, timeout=120.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_jobs_run_one_at_a_time_and_the_second_waits_its_turn(mnist, private_store):
    queue = JobQueue(root=private_store)
    long = queue.submit(TrainConfig(model="mlp_small", epochs=20, train_samples=20000))
    short = queue.submit(TrainConfig(model="tiny20", epochs=1, train_samples=500))
    assert wait_for(lambda: long.status == RUNNING)
    assert short.status == QUEUED and queue.position(short) == 1 and queue.position(long) == 0
    assert wait_for(lambda: len(long.snapshot()["batches"]) > 0)
    queue.stop(long)
    assert wait_for(lambda: short.status == DONE)
    assert long.status == STOPPED and "Stopped" in long.message
    assert short.snapshot()["epochs"] and short.run is not None and not short.cached


def test_a_config_trained_before_finishes_at_once_from_the_cache(mnist, private_store):
    queue = JobQueue(root=private_store)
    config = TrainConfig(model="tiny20", epochs=1, train_samples=500, seed=5)
    first = queue.submit(config)
    assert wait_for(lambda: first.finished)
    again = queue.submit(config)
    assert again.status == DONE and again.cached and "Trained before" in again.message
    assert again.run.id == first.run.id
    assert [row["epoch"] for row in again.epochs] == [1]


def test_stopping_a_waiting_job_drops_it(mnist, private_store):
    queue = JobQueue(root=private_store)
    running = queue.submit(TrainConfig(model="mlp_small", epochs=20, train_samples=20000, seed=1))
    waiting = queue.submit(TrainConfig(model="mlp", epochs=1, train_samples=500))
    queue.stop(waiting)
    assert waiting.status == STOPPED and queue.position(waiting) == -1
    queue.stop(running)
    assert wait_for(lambda: running.finished)


def test_a_run_belongs_to_the_session_that_asked_for_it(mnist, private_store):
    from digitlab import store

    queue = JobQueue(root=private_store)
    job = queue.submit(TrainConfig(model="tiny20", epochs=1, train_samples=500, seed=8), "me")
    assert wait_for(lambda: job.finished) and job.status == DONE
    assert job.run.owner == "me" and job.snapshot()["run_id"] == job.run.id
    assert job.run.id in [run.id for run in store.list_runs(visible_to="me")]
    assert job.run.id not in [run.id for run in store.list_runs(visible_to="someone else")]


def test_a_failing_run_reports_its_error(mnist, private_store):
    queue = JobQueue(root=private_store)
    job = queue.submit(
        TrainConfig(
            model="regression", epochs=2, train_samples=2000, optimizer="sgd", learning_rate=1.0
        )
    )
    assert wait_for(lambda: job.finished)
    assert job.status == FAILED and "diverged" in job.message


# --- a process per job ------------------------------------------------------------------------

LONG = TrainConfig(model="mlp_small", epochs=30, train_samples=60000, seed=3)


def assert_store_is_clean(root) -> None:
    from digitlab import store

    assert store.list_runs(include_shipped=False, root=root) == []
    assert list((root / store.RUNS_FOLDER).iterdir()) == []  # no folder, half-written or not


@pytest.mark.parametrize("phase", ["loading data", "training"])
def test_stop_ends_a_job_within_a_second_in_any_phase(mnist, private_store, phase):
    queue = JobQueue(root=private_store)
    job = queue.submit(LONG)
    assert wait_for(lambda: job.phase == phase, timeout=120, interval=0.005)
    asked = time.monotonic()
    queue.stop(job)
    assert wait_for(lambda: job.finished, timeout=5, interval=0.005)
    assert time.monotonic() - asked < 1.0
    assert job.status == STOPPED and "Nothing was saved" in job.message
    assert_store_is_clean(private_store)


def test_a_killed_training_process_fails_plainly_and_the_queue_goes_on(mnist, private_store):
    queue = JobQueue(root=private_store)
    doomed = queue.submit(LONG)
    assert wait_for(lambda: doomed.phase == "training" and doomed.pid is not None)
    os.kill(doomed.pid, signal.SIGKILL)  # what the out-of-memory killer does
    assert wait_for(lambda: doomed.finished)
    assert doomed.status == FAILED and "killed from outside" in doomed.message
    assert_store_is_clean(private_store)
    after = queue.submit(TrainConfig(model="tiny20", epochs=1, train_samples=500, seed=9))
    assert wait_for(lambda: after.finished) and after.status == DONE


def test_a_training_process_that_errors_fails_with_its_message(
    private_store, tmp_path, monkeypatch
):
    broken = tmp_path / "mnist"
    broken.mkdir()
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # fmt: skip
        (broken / name).write_bytes(b"not an IDX file")
    monkeypatch.setenv("DIGITLAB_DATA_DIR", str(broken))  # the child inherits it
    queue = JobQueue(root=private_store)
    job = queue.submit(TrainConfig(model="tiny20", epochs=1, train_samples=500))
    assert wait_for(lambda: job.finished)
    assert job.status == FAILED and "DataError" in job.message and "IDX" in job.message


def test_the_server_side_never_imports_the_training_stack(mnist, private_store):
    code = """
import sys, time
from digitlab.zoo.config import TrainConfig
from digitlab.training.jobs import JobQueue
queue = JobQueue()
job = queue.submit(TrainConfig(model="tiny20", epochs=1, train_samples=500))
while not job.finished:
    time.sleep(0.1)
print(job.status, [m for m in ("tensorflow", "keras") if m in sys.modules])
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "DIGITLAB_STORE_DIR": str(private_store)})  # fmt: skip
    assert done.stdout.split() == ["done", "[]"], done.stderr[-2000:]


def test_the_number_of_workers_comes_from_the_environment(mnist, private_store, monkeypatch):
    monkeypatch.setenv("DIGITLAB_TRAIN_WORKERS", "2")
    assert worker_count() == 2
    queue = JobQueue(root=private_store)
    first, second = queue.submit(LONG), queue.submit(LONG.replace(seed=4))
    assert wait_for(lambda: first.status == RUNNING and second.status == RUNNING)
    assert queue.position(first) == queue.position(second) == 0
    queue.stop(first)
    queue.stop(second)
    assert wait_for(lambda: first.finished and second.finished, timeout=10)
    monkeypatch.setenv("DIGITLAB_TRAIN_WORKERS", "zero")
    with pytest.raises(ValueError, match="DIGITLAB_TRAIN_WORKERS"):
        worker_count()
    monkeypatch.delenv("DIGITLAB_TRAIN_WORKERS")
    assert worker_count() == (1 if (os.cpu_count() or 1) <= 2 else (os.cpu_count() or 1) // 2)
