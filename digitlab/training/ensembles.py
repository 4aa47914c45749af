"""Making an ensemble: 2 to 5 trained runs averaged into one model, measured, and stored as
a run of model "ensemble" (what it is and how it answers: `digitlab.inference.ensemble`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from digitlab import store
from digitlab.core.child import run_in_child
from digitlab.data import mnist as data
from digitlab.data.batch import model_batch
from digitlab.inference.ensemble import (
    INPUT_SIZE,
    MEMBERS_FOLDER,
    EnsembleError,
    check_members,
    pooled_logits,
)
from digitlab.inference.metrics import model_outputs
from digitlab.zoo.config import TrainConfig
from digitlab.zoo.registry import ENSEMBLE


def _test_accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(outputs).argmax(axis=-1) == labels).mean())


def _abstention(model, runs: list[store.Run]) -> dict[str, float]:
    """A threshold when a member learnt to abstain, chosen as training chooses one."""
    if not any(run.metrics.get("abstain_below") is not None for run in runs):
        return {}
    from digitlab.training.train import abstention_threshold  # TensorFlow: the child only

    return abstention_threshold(model, TrainConfig(model=runs[0].model))


def make_ensemble(
    run_ids: list[str], owner: str | None = None, root: Path | None = None
) -> store.Run:
    """Build, measure and store the ensemble of these runs; returns its new run.

    Its MNIST test accuracy, each member's beside it, and how often all members agree are
    recorded with it. Needs TensorFlow: the app calls it through `make_in_child`.
    """
    from digitlab.zoo import builders as models

    started = time.perf_counter()
    runs = [store.get_run(run_id, root) for run_id in run_ids]
    check_members(runs)
    loaded = [run.load() for run in runs]
    for index, member in enumerate(loaded):
        member.name = f"member_{index}"  # two runs of one architecture share a name
    model = models.build_ensemble(loaded)
    mnist = data.load_mnist()
    images, labels = model_batch(mnist.x_test, INPUT_SIZE), mnist.y_test.astype(np.int64)
    member_logits = np.stack([model_outputs(member, images) for member in loaded], axis=1)
    said = member_logits.argmax(axis=-1)
    metrics = {
        "accuracy": _test_accuracy(pooled_logits(member_logits), labels),
        "members": [
            {"id": run.id, "model": run.model, "accuracy": _test_accuracy(logits, labels)}
            for run, logits in zip(runs, member_logits.transpose(1, 0, 2), strict=True)
        ],
        "all_agree": float((said == said[:, :1]).all(axis=1).mean()),
        **_abstention(model, runs),
    }
    files = {f"{MEMBERS_FOLDER}/{i}.keras": run.model_file for i, run in enumerate(runs)}
    return store.save_run(
        model,
        TrainConfig(model=ENSEMBLE),
        {},
        metrics,
        seconds=time.perf_counter() - started,
        owner=owner,
        root=root,
        extra_files=files,
    )


def make_in_child(run_ids: list[str], owner: str | None = None) -> store.Run:
    """`make_ensemble` in a fresh process, so the app's server never loads TensorFlow."""
    run_id = run_in_child(_make_in_child_task, ",".join(run_ids), owner or "", error=EnsembleError)
    return store.get_run(run_id)


def _make_in_child_task(run_ids: str, owner: str) -> str:
    return make_ensemble(run_ids.split(","), owner or None).id
