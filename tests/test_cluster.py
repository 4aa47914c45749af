"""One real training job through a local Ray instance (DIGITLAB_RAY_ADDRESS mode)."""

from __future__ import annotations

import time

import pytest

from digitlab import store
from digitlab.analysis import weights
from digitlab.training import cluster
from digitlab.training.job import DONE
from digitlab.training.jobs import JobQueue
from digitlab.training.runners import default_runner
from digitlab.zoo.config import TrainConfig

ray = pytest.importorskip(
    "ray", reason="Ray is not installed (pip install -r requirements-ray.txt)"
)


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance of one CPU started by this test, shut down after it."""
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_the_address_chooses_ray(monkeypatch):
    monkeypatch.delenv(cluster.RAY_ENV, raising=False)
    assert cluster.address() is None and type(default_runner()).__name__ == "ProcessRunner"
    monkeypatch.setenv(cluster.RAY_ENV, "auto")
    assert isinstance(default_runner(), cluster.RayRunner)


def test_a_job_trains_as_a_ray_task_and_is_stored_on_the_server(mnist, local_ray, private_store):
    queue = JobQueue(root=private_store, workers=1, runner=cluster.RayRunner("auto"))
    job = queue.submit(TrainConfig(model="tiny20", epochs=2, train_samples=600), owner="me")
    deadline = time.monotonic() + 240
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.status == DONE, job.message
    assert "on the Ray cluster" in job.message
    snapshot = job.snapshot()
    assert [row["epoch"] for row in snapshot["epochs"]] == [1, 2]  # progress came back
    assert snapshot["batches"] and "loss" in snapshot["batches"][-1]
    run = store.get_run(job.run.id, private_store)
    assert run.owner == "me" and 0 < run.accuracy <= 1
    assert run.load().count_params() > 0  # the bytes the task returned are a whole model
    assert weights.has_logs(run)  # its TensorBoard logs came back with it
    log = weights.read_log(weights.logs_dir(run))
    assert len(log.scalars["train"]["epoch_loss"]) == 2 and log.histograms
    history, batches = store.curves(run, private_store)
    assert len(history["loss"]) == 2 and batches


def test_stop_cancels_the_ray_task(mnist, local_ray, private_store):
    queue = JobQueue(root=private_store, workers=1, runner=cluster.RayRunner("auto"))
    job = queue.submit(TrainConfig(model="mlp_small", epochs=30, train_samples=60000))
    deadline = time.monotonic() + 240
    while not job.snapshot()["batches"] and time.monotonic() < deadline:
        time.sleep(0.2)
    queue.stop(job)
    deadline = time.monotonic() + 10
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status == "stopped"
    assert store.list_runs(include_shipped=False, root=private_store) == []
