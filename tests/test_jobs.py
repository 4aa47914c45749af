"""The job queue: a process per run, a visible queue, Stop at once, failures said plainly.

The queue's order (one at a time, waiting turns, dropping a waiting job, several workers)
is checked with a runner that trains nothing; what needs a real training process (Stop in
each phase, a killed process, one that errors, one that diverges) runs one.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from digitlab import store
from digitlab.store.limits import LimitError
from digitlab.training.job import DONE, FAILED, QUEUED, RUNNING, STOPPED, STOPPED_MESSAGE, Job
from digitlab.training.jobs import JobQueue, worker_count
from digitlab.zoo.config import TrainConfig

from helpers import REPO_ROOT, TINY


def wait_for(predicate, timeout=120.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class HeldRunner:
    """A runner for the queue's order alone: no process and no training. A job "runs" until
    the test lets it finish (`finish`) or the queue asks it to stop; `log` keeps each
    job's start and end in the order they happened."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []
        self._finish: set[int] = set()
        self._lock = threading.Lock()

    def finish(self, job: Job) -> None:
        with self._lock:
            self._finish.add(job.id)

    def run(self, job: Job, root) -> None:
        with self._lock:
            self.log.append(("start", job.id))
        while not job.stop_requested.is_set():
            with self._lock:
                if job.id in self._finish:
                    break
            time.sleep(0.005)
        with self._lock:
            self.log.append(("end", job.id))
        if job.stop_requested.is_set():
            job.finish(STOPPED, STOPPED_MESSAGE)
        else:
            job.finish(DONE, "finished by the test")


def test_jobs_run_one_at_a_time_and_the_second_waits_its_turn(private_store):
    runner = HeldRunner()
    queue = JobQueue(root=private_store, workers=1, runner=runner)
    long = queue.submit(TrainConfig(model="mlp_small", epochs=20, train_samples=20000))
    short = queue.submit(TINY)
    runner.finish(short)  # it may end as soon as it runs
    assert wait_for(lambda: long.status == RUNNING)
    assert short.status == QUEUED and queue.position(short) == 1 and queue.position(long) == 0
    queue.stop(long)
    assert wait_for(lambda: short.status == DONE)
    assert long.stop_requested.is_set() and long.status == STOPPED and "Stopped" in long.message
    assert runner.log == [("start", long.id), ("end", long.id), ("start", short.id),
                          ("end", short.id)]  # fmt: skip
    assert wait_for(lambda: not queue.busy)
    assert queue.position(short) == queue.position(long) == -1


def test_a_config_trained_before_finishes_at_once_from_the_cache(private_store, trained_once):
    first = trained_once.copy(TINY)  # trained once this session, stored here
    runner = HeldRunner()
    queue = JobQueue(root=private_store, workers=1, runner=runner)
    again = queue.submit(TINY)
    assert again.status == DONE and again.cached and "Trained before" in again.message
    assert again.run.id == first.id
    assert [row["epoch"] for row in again.epochs] == [1]
    assert runner.log == []  # it never reached a runner


def test_stopping_a_waiting_job_drops_it(private_store):
    runner = HeldRunner()
    queue = JobQueue(root=private_store, workers=1, runner=runner)
    running = queue.submit(TrainConfig(model="mlp_small", epochs=20, train_samples=20000, seed=1))
    waiting = queue.submit(TrainConfig(model="mlp", epochs=1, train_samples=500))
    assert wait_for(lambda: running.status == RUNNING)
    queue.stop(waiting)
    assert waiting.status == STOPPED and queue.position(waiting) == -1
    queue.stop(running)
    assert wait_for(lambda: running.finished)
    assert runner.log == [("start", running.id), ("end", running.id)]  # never ran


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
    assert store.list_runs(include_shipped=False, root=root) == []
    assert list((root / store.RUNS_FOLDER).iterdir()) == []  # no folder, half-written or not


@pytest.mark.timed
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
    """Also the one job here trained to its end in a process: its progress streams back,
    and its run is stored as the asking session's."""
    queue = JobQueue(root=private_store, workers=1)
    doomed = queue.submit(LONG)
    assert wait_for(lambda: doomed.phase == "training" and doomed.pid is not None)
    os.kill(doomed.pid, signal.SIGKILL)  # what the out-of-memory killer does
    assert wait_for(lambda: doomed.finished)
    assert doomed.status == FAILED and "killed from outside" in doomed.message
    assert_store_is_clean(private_store)

    after = queue.submit(TINY.replace(seed=9), "me")
    assert wait_for(lambda: after.finished) and after.status == DONE, after.message
    snapshot = after.snapshot()
    assert snapshot["batches"] and snapshot["epochs"] and not after.cached
    # The run belongs to the session that asked for it.
    assert after.run.owner == "me" and snapshot["run_id"] == after.run.id
    assert after.run.id in [run.id for run in store.list_runs(visible_to="me")]
    assert after.run.id not in [run.id for run in store.list_runs(visible_to="someone else")]


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


def test_the_number_of_workers_comes_from_the_environment(private_store, monkeypatch):
    monkeypatch.setenv("DIGITLAB_TRAIN_WORKERS", "2")
    assert worker_count() == 2
    runner = HeldRunner()
    queue = JobQueue(root=private_store, runner=runner)
    assert queue.workers == 2
    first, second = queue.submit(LONG), queue.submit(LONG.replace(seed=4))
    assert wait_for(lambda: first.status == RUNNING and second.status == RUNNING)
    assert queue.position(first) == queue.position(second) == 0
    assert sorted(runner.log) == [("start", first.id), ("start", second.id)]  # side by side
    queue.stop(first)
    queue.stop(second)
    assert wait_for(lambda: first.finished and second.finished, timeout=10)
    monkeypatch.setenv("DIGITLAB_TRAIN_WORKERS", "zero")
    with pytest.raises(ValueError, match="DIGITLAB_TRAIN_WORKERS"):
        worker_count()
    monkeypatch.delenv("DIGITLAB_TRAIN_WORKERS")
    assert worker_count() == (1 if (os.cpu_count() or 1) <= 2 else (os.cpu_count() or 1) // 2)


def test_the_time_left_goes_by_the_pace_after_the_first_batch():
    """The first batch also traces the model: 3 s of it would make a 15 s run's first
    estimate several times too long. 100 batches; the first done at 3 s, then 0.1 s each."""
    job = Job(id=1, config=TINY, status=RUNNING)

    def batch(number: int) -> None:
        elapsed = 3.0 + 0.1 * (number - 1)
        event = {"kind": "batch", "epoch": 1, "batch": number, "steps": 100, "epochs": 1}
        job.record({**event, "elapsed_s": elapsed, "metrics": {"loss": 1.0}})

    batch(1)
    assert job.seconds_left is None  # no pace yet
    batch(2)
    assert job.seconds_left is None  # one batch is no pace either
    batch(11)
    assert job.seconds_left == pytest.approx(0.1 * 89)  # 89 batches at 0.1 s, not ~20 s


def test_one_job_per_workspace_and_a_reload_finds_it_again(private_store):
    runner = HeldRunner()
    queue = JobQueue(root=private_store, workers=1, runner=runner)
    mine = queue.submit(TrainConfig(model="mlp_small", epochs=20, seed=2), owner="mine")
    with pytest.raises(LimitError, match="already has a training job or search"):
        queue.submit(TINY, owner="mine")
    with pytest.raises(LimitError, match="one at a time"):
        queue.check_can_start("mine")  # a search, likewise
    theirs = queue.submit(TINY.replace(seed=3), owner="theirs")  # another workspace queues
    assert queue.resume("mine", fine_tune=False) is mine  # a reload finds its job
    assert queue.resume("mine", fine_tune=True) is None and queue.resume("nobody", False) is None
    assert not mine.take_end()  # nothing to act on while it runs
    runner.finish(mine)
    assert wait_for(lambda: mine.finished)
    assert queue.resume("mine", fine_tune=False) is mine  # ended, nobody told yet
    assert mine.take_end() and not mine.take_end()  # one session acts on its end, once
    assert queue.resume("mine", fine_tune=False) is None
    queue.stop(theirs)
