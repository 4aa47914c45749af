"""Faults: a training process killed with SIGKILL leaves a store that still works."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from digitlab import store
from digitlab.training.train import train
from digitlab.zoo.config import TrainConfig

from helpers import new_app

ROOT = Path(__file__).resolve().parents[1]


def test_sigkill_in_the_middle_of_training_leaves_no_half_written_model(mnist, private_store):
    before = train(TrainConfig(model="tiny20", epochs=1, train_samples=500)).run
    env = {**os.environ, "DIGITLAB_STORE_DIR": str(private_store)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digitlab",
            "train",
            "--model",
            "mlp_small",
            "--epochs",
            "50",
            "--samples",
            "60000",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(12)  # past start-up, into the epochs
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    runs = store.list_runs(include_shipped=False)
    assert [run.id for run in runs] == [before.id]  # nothing new, nothing partial
    for run in runs:
        run.load()  # every listed model loads
    assert store.find_by_config(TrainConfig(model="mlp_small", epochs=50)) is None

    app = new_app("mlp_small").run()
    assert not app.exception and not app.error
    assert any(": shipped" in caption.value for caption in app.caption)
