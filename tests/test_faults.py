"""Faults: a training process killed with SIGKILL leaves a store that still works."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from digitlab import store
from digitlab.zoo.config import TrainConfig

from helpers import TINY, new_app

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 180  # start-up, TensorFlow's import and 60,000 images, on a busy machine


def wait_until_training(process: subprocess.Popen, root: Path) -> None:
    """Wait until the process is into its epochs: its TensorBoard writer has made its file.

    train() makes the run's logs folder (named after the process) before loading any data,
    and Keras's callbacks make the event file in its train/ folder as fit() begins.
    """
    deadline = time.monotonic() + START_TIMEOUT_S
    pattern = f"{process.pid}-*/train/events.out.tfevents.*"
    while not list((root / store.LOGS_TEMP_FOLDER).glob(pattern)):
        assert process.poll() is None, f"the run ended (exit {process.returncode}) before training"
        assert time.monotonic() < deadline, f"no training began within {START_TIMEOUT_S} s"
        time.sleep(0.1)


def test_sigkill_in_the_middle_of_training_leaves_no_half_written_model(
    mnist, private_store, trained_once
):
    before = trained_once.copy(TINY)
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
    try:
        wait_until_training(process, private_store)  # past start-up, into the epochs
        assert process.poll() is None, "the run ended before it could be killed"
    finally:
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
