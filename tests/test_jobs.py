"""The background job queue: one run at a time, a visible queue, stop, cached configs."""

import time

from digitlab.config import TrainConfig
from digitlab.jobs import DONE, FAILED, QUEUED, RUNNING, STOPPED, JobQueue


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
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
    assert short.snapshot()["epochs"] and short.entry is not None and not short.cached


def test_a_config_trained_before_finishes_at_once_from_the_cache(mnist, private_store):
    queue = JobQueue(root=private_store)
    config = TrainConfig(model="tiny20", epochs=1, train_samples=500, seed=5)
    first = queue.submit(config)
    assert wait_for(lambda: first.finished)
    again = queue.submit(config)
    assert again.status == DONE and again.cached and "cache" in again.message
    assert [row["epoch"] for row in again.epochs] == [1]


def test_stopping_a_waiting_job_drops_it(mnist, private_store):
    queue = JobQueue(root=private_store)
    running = queue.submit(TrainConfig(model="mlp_small", epochs=20, train_samples=20000, seed=1))
    waiting = queue.submit(TrainConfig(model="mlp", epochs=1, train_samples=500))
    queue.stop(waiting)
    assert waiting.status == STOPPED and queue.position(waiting) == -1
    queue.stop(running)
    assert wait_for(lambda: running.finished)


def test_a_failing_run_reports_its_error(mnist, private_store):
    queue = JobQueue(root=private_store)
    job = queue.submit(
        TrainConfig(
            model="regression", epochs=2, train_samples=2000, optimizer="sgd", learning_rate=1.0
        )
    )
    assert wait_for(lambda: job.finished)
    assert job.status == FAILED and "diverged" in job.message
